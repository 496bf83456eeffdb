package pgtest

import "syscall"

// sysProcAttr runs a PostgreSQL program as cred (nil: as this process) and
// has the kernel stop it (SIGQUIT, PostgreSQL's immediate shutdown) if the
// test process dies without cleaning up.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
}
