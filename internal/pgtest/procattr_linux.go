//go:build linux

package pgtest

import "syscall"

// procAttr runs the postmaster as cred in a process group of its own (its
// backends join it, so that Kill and Pause reach them too), and makes the
// kernel kill it if the test binary dies without running its cleanups (a
// panic, a -timeout, a SIGKILL); the backends then exit when they notice.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
