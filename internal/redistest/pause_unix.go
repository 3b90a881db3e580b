//go:build unix

package redistest

import "syscall"

// Pause freezes the server with SIGSTOP: its port stays open and the kernel
// still accepts connections, but nothing is answered, as with a hung
// server, until Resume. Stop kills a paused server as well.
func (s *Server) Pause() {
	s.tb.Helper()
	s.signal(syscall.SIGSTOP)
}

// Resume lets a paused server run again.
func (s *Server) Resume() {
	s.tb.Helper()
	s.signal(syscall.SIGCONT)
}
