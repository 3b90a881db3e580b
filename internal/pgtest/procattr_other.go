//go:build unix && !linux

package pgtest

import "syscall"

// procAttr runs the postmaster as cred.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}

// children would list the postmaster's backends; without /proc it finds
// none, and Kill and Pause reach the postmaster only.
func children(int) []int { return nil }

// alive reports whether pid exists.
func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }
