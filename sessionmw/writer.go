package sessionmw

import (
	"bufio"
	"errors"
	"net"
	"net/http"
)

// errResponseAborted is returned by Write after the session could not be
// saved and the error handler answered the request instead.
var errResponseAborted = errors.New("sessionmw: response replaced by the error handler: the session could not be saved")

// responseWriter saves the session and sets its cookie just before the
// response headers are written, whichever of WriteHeader, Write, Flush or
// Hijack comes first. Unwrap lets http.ResponseController reach the
// underlying writer's other methods (deadlines, full duplex).
//
// It is the request's SessionManager under another method set, so that
// wrapping the writer allocates nothing.
type responseWriter SessionManager

// writer returns the ResponseWriter the middleware hands to the handler.
func (m *SessionManager) writer() *responseWriter { return (*responseWriter)(m) }

// before commits the session once; it reports false if the error handler
// took over the response.
func (w *responseWriter) before() bool {
	if w.failed {
		return false
	}
	if w.wroteHeader {
		return true
	}
	w.wroteHeader = true
	m := (*SessionManager)(w)
	if err := m.commit(); err != nil {
		w.failed = true
		w.mw.fail(w.rw, w.req, err)
		return false
	}
	return true
}

// Header implements http.ResponseWriter.
func (w *responseWriter) Header() http.Header { return w.rw.Header() }

func (w *responseWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols && !w.wroteHeader {
		// Informational responses (103 Early Hints) go out before the
		// final headers; the session is committed with the final ones.
		w.rw.WriteHeader(code)
		return
	}
	if w.before() {
		w.rw.WriteHeader(code)
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.before() {
		return 0, errResponseAborted
	}
	return w.rw.Write(b)
}

// Flush commits the session, then flushes if the underlying writer can.
func (w *responseWriter) Flush() {
	_ = w.FlushError()
}

// FlushError is Flush for http.ResponseController, reporting errors.
func (w *responseWriter) FlushError() error {
	if !w.before() {
		return errResponseAborted
	}
	return http.NewResponseController(w.rw).Flush()
}

// Hijack saves the session (no cookie can be sent on a hijacked
// connection) and hands over the connection.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.before() {
		return nil, nil, errResponseAborted
	}
	return http.NewResponseController(w.rw).Hijack()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.rw }
