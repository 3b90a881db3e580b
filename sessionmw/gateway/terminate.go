package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// DefaultTerminationStatus is RequestTermination's status when none is
// given (Kong's request-termination default).
const DefaultTerminationStatus = http.StatusServiceUnavailable

// StaticResponse is a fixed answer (Kong's request-termination config).
type StaticResponse struct {
	// Status is the response status, 100 to 599 (default
	// DefaultTerminationStatus).
	Status int
	// Message is sent as {"message": Message} in JSON. Default: the
	// status text. It excludes Body.
	Message string
	// Body is sent as it is, with ContentType (default
	// "text/plain; charset=utf-8").
	Body        string
	ContentType string
}

func (s StaticResponse) check() (StaticResponse, error) {
	if s.Status == 0 {
		s.Status = DefaultTerminationStatus
	}
	if s.Status < 100 || s.Status > 599 {
		return s, fmt.Errorf("sessionmw: StaticResponse: status %d is not between 100 and 599", s.Status)
	}
	if s.Message != "" && s.Body != "" {
		return s, errors.New("sessionmw: StaticResponse: a message and a body: choose one")
	}
	if s.ContentType != "" && s.Body == "" {
		return s, errors.New("sessionmw: StaticResponse: a content type without a body")
	}
	if !validHeaderValue(s.ContentType) {
		return s, errors.New("sessionmw: StaticResponse: the content type contains a control character")
	}
	if s.Body == "" && s.Message == "" {
		s.Message = http.StatusText(s.Status)
	}
	return s, nil
}

func (s StaticResponse) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	writeMessage(w, s.Status, s.ContentType, s.Message, s.Body)
}

// writeMessage answers with status and body, or {"message": msg} in JSON
// when body is empty.
func writeMessage(w http.ResponseWriter, status int, contentType, msg string, body ...string) {
	var b []byte
	if len(body) > 0 && body[0] != "" {
		b = []byte(body[0])
		if contentType == "" {
			contentType = "text/plain; charset=utf-8"
		}
	} else {
		b, _ = json.Marshal(map[string]string{"message": msg})
		b = append(b, '\n')
		contentType = "application/json; charset=utf-8"
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}

// Respond returns a handler that always answers with resp (a route's
// static response action).
func Respond(resp StaticResponse) (http.Handler, error) {
	return resp.check()
}

// RequestTermination returns Kong's request-termination plugin as
// middleware: it answers with resp instead of calling the next handler.
// With consumer set (an ID or a Username) it terminates only that
// consumer's requests, as decided by a KeyAuth that ran before (Kong's
// plugin configured on a consumer): typically the anonymous consumer, so
// that only sessions and valid keys get through.
func RequestTermination(resp StaticResponse, consumer string) (func(http.Handler) http.Handler, error) {
	resp, err := resp.check()
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if consumer != "" {
				a, ok := AuthFromRequest(r)
				if !ok || (a.Consumer.ID != consumer && a.Consumer.Username != consumer) {
					next.ServeHTTP(w, r)
					return
				}
			}
			resp.ServeHTTP(w, r)
		})
	}, nil
}
