//go:build linux

package child

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel kill cmd if the driver dies without
// stopping it.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
