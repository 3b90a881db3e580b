//go:build linux

package pgtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// procAttr runs the postmaster as cred, and makes the kernel kill it if
// the test binary dies without running its cleanups (a panic, a -timeout,
// a SIGKILL); its backends then exit when they notice.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
}

// children returns the pids of the processes whose parent is pid.
func children(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var kids []int
	for _, f := range stats {
		if ppid, _, ok := readStat(f); ok && ppid == pid {
			kid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			kids = append(kids, kid)
		}
	}
	return kids
}

// alive reports whether pid exists and is not a zombie (a container's
// init may never reap the orphans of a killed postmaster).
func alive(pid int) bool {
	_, state, ok := readStat("/proc/" + strconv.Itoa(pid) + "/stat")
	return ok && state != 'Z'
}

// readStat returns the parent pid and state in a /proc/PID/stat file:
// "pid (comm) state ppid …", where comm may hold spaces and parentheses.
func readStat(path string) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 2 || len(fields[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(string(fields[1]))
	return ppid, fields[0][0], err == nil
}
