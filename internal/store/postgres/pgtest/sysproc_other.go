//go:build !linux

package pgtest

import "syscall"

// sysProcAttr runs a PostgreSQL program as this process's user (running as
// root, which PostgreSQL refuses, is supported on Linux only).
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{}
}
