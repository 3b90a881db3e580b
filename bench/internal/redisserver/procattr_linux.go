//go:build linux

package redisserver

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel kill the server if the benchmark binary dies
// without running its cleanups (a panic, a -timeout, a SIGKILL).
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
