//go:build !linux

package sched

// Background does nothing where threads have no priority of their own
// that Cairn sets (it is for Linux; see background_linux.go).
func Background() error { return nil }
