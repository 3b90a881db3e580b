//go:build unix && !linux

package pgtest

import "syscall"

// procAttr runs the postmaster as cred in a process group of its own (its
// backends join it, so that Kill and Pause reach them too).
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true}
}
