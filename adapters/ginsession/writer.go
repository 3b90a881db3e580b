package ginsession

import (
	"bufio"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
)

// responseWriter is the gin.ResponseWriter handlers see behind New: what
// puts bytes or a status on the wire goes through w, the session
// middleware's writer, which commits the session first; gin's bookkeeping
// (Status, Size, Written) is read from the writer gin created, which w
// writes to.
type responseWriter struct {
	gin.ResponseWriter                     // gin's own writer: bookkeeping, Header, CloseNotify, Pusher
	w                  http.ResponseWriter // sessionmw's writer, wrapping the same gin writer
}

var _ gin.ResponseWriter = (*responseWriter)(nil)

// WriteHeader records the status, as gin's writer does: gin sends the
// headers with the first byte or at the end of the chain, and the session
// is committed then, so headers and session changes made after c.Status
// still count.
func (rw *responseWriter) WriteHeader(code int) { rw.ResponseWriter.WriteHeader(code) }

// Write commits the session, then writes b.
func (rw *responseWriter) Write(b []byte) (int, error) { return rw.w.Write(b) }

// WriteString is Write for a string.
func (rw *responseWriter) WriteString(s string) (int, error) { return rw.w.Write([]byte(s)) }

// WriteHeaderNow commits the session, then sends the headers.
func (rw *responseWriter) WriteHeaderNow() {
	if !rw.ResponseWriter.Written() {
		// Through the session's writer with the status gin holds: the
		// session is committed, or its error handler answers instead.
		rw.w.WriteHeader(rw.ResponseWriter.Status())
	}
	rw.ResponseWriter.WriteHeaderNow()
}

// Flush commits the session, then flushes.
func (rw *responseWriter) Flush() { _ = http.NewResponseController(rw.w).Flush() }

// Hijack commits the session (no cookie can be sent on a hijacked
// connection), then hands over the connection.
func (rw *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(rw.w).Hijack()
}

// Unwrap returns the session middleware's writer, for
// http.ResponseController.
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.w }
