package gateway

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/sessionmw/go/sessionmw"
)

// MapOption configures MapSessionToHeader.
type MapOption func(*headerMapper)

// MapFromSessionObject reads the session of the middleware configured with
// sessionmw.WithSessionObject(name) (default sessionmw.DefaultSessionObject).
func MapFromSessionObject(name string) MapOption {
	return func(h *headerMapper) { h.object = name }
}

// MapLogger sets where refused values are reported (default: discard).
func MapLogger(l *slog.Logger) MapOption {
	return func(h *headerMapper) {
		if l != nil {
			h.log = l
		}
	}
}

type headerMapper struct {
	headers map[string]string // canonical header name → session key
	object  string
	log     *slog.Logger
}

// MapSessionToHeader returns middleware that copies session values into
// request headers for the next handler, typically an
// httputil.ReverseProxy (the gateway plugin's MapSessionToHeaderMiddleware).
// headers maps a header name to a session key, e.g.
//
//	{"Authorization": "authorization", "X-User-Id": "user_id"}
//
// It must run inside the session middleware. Security: every incoming
// header with one of those names is deleted first, so a client can never
// inject, say, X-User-Id; a missing session key leaves the header absent;
// a value containing a control character (CR, LF, NUL, …) is refused
// (logged, header not set).
// Values are formatted predictably: strings as they are, integers in
// decimal, booleans as true/false, floats in the shortest decimal form,
// and anything else as JSON.
func MapSessionToHeader(headers map[string]string, opts ...MapOption) (func(http.Handler) http.Handler, error) {
	hm := &headerMapper{headers: map[string]string{}, object: sessionmw.DefaultSessionObject, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(hm)
	}
	if len(headers) == 0 {
		return nil, fmt.Errorf("sessionmw: MapSessionToHeader: no headers to map")
	}
	for name, key := range headers {
		if !validHeaderName(name) {
			return nil, fmt.Errorf("sessionmw: MapSessionToHeader: invalid header name %q", name)
		}
		if key == "" {
			return nil, fmt.Errorf("sessionmw: MapSessionToHeader: header %q maps no session key", name)
		}
		hm.headers[http.CanonicalHeaderKey(name)] = key
	}
	return hm.wrap, nil
}

func (hm *headerMapper) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := withOwnHeader(r)
		// Delete every spelling, not only the canonical one: code earlier
		// in the chain may have set a non-canonical key directly.
		for k := range r2.Header {
			if _, mapped := hm.headers[http.CanonicalHeaderKey(k)]; mapped {
				delete(r2.Header, k)
			}
		}
		m := sessionmw.FromRequestNamed(r, hm.object)
		if m.Active() {
			s := m.GetSession()
			for name, key := range hm.headers {
				v, ok := s.Get(key)
				if !ok || v == nil {
					continue
				}
				str := FormatHeaderValue(v)
				if !validHeaderValue(str) {
					hm.log.LogAttrs(r.Context(), slog.LevelWarn, "session value refused as a header: it contains a control character (CR, LF, NUL, …)",
						slog.String("header", name), slog.String("key", key))
					continue
				}
				r2.Header.Set(name, str)
			}
		}
		next.ServeHTTP(w, r2)
	})
}

// withOwnHeader returns a shallow copy of r with a header (never nil) and
// URL of its own, which the next handler may change without touching r.
func withOwnHeader(r *http.Request) *http.Request {
	r2 := *r
	r2.Header = r.Header.Clone()
	if r2.Header == nil {
		r2.Header = http.Header{}
	}
	if r.URL != nil {
		u := *r.URL
		r2.URL = &u
	}
	return &r2
}

// validHeaderValue reports whether v can be sent as a header value: no
// control characters but horizontal tab (RFC 9110 field-value).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// FormatHeaderValue renders a session value as MapSessionToHeader does.
func FormatHeaderValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int8, int16, int32, int64:
		return fmt.Sprintf("%d", x)
	case uint, uint8, uint16, uint32, uint64, uintptr:
		return fmt.Sprintf("%d", x)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case fmt.Stringer:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// validHeaderName reports whether name is an HTTP token (RFC 9110).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		b := name[i]
		if b <= ' ' || b >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, b) >= 0 {
			return false
		}
	}
	return true
}
