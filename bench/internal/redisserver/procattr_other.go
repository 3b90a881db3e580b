//go:build !linux

package redisserver

import "os/exec"

func setProcAttr(*exec.Cmd) {}
