//go:build !unix

package redistest

// Pause is not supported here: it skips the test.
func (s *Server) Pause() {
	s.tb.Helper()
	s.tb.Skip("redistest: Pause needs SIGSTOP")
}

// Resume is not supported here: it skips the test.
func (s *Server) Resume() {
	s.tb.Helper()
	s.tb.Skip("redistest: Resume needs SIGCONT")
}
