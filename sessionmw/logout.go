package sessionmw

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Logout, as Kong's session plugin does it: a request whose method is one
// of the logout methods, that carries a session, and that has the logout
// argument in its query string or (see WithLogoutBody) its body, destroys
// the session (server side, or through the revocation store in cookie
// storage), expires its cookies, and is answered 200 without reaching the
// next handler.

// Defaults of the logout options (Kong's).
const (
	// DefaultLogoutArg is the query and form argument that asks for logout.
	DefaultLogoutArg = "session_logout"
	// MaxLogoutBody is how much of a form body is read to look for the
	// logout argument. A larger body is not a logout request; it reaches
	// the next handler whole, unread.
	MaxLogoutBody = 64 << 10
)

// DefaultLogoutMethods are the methods that may log out.
var DefaultLogoutMethods = []string{http.MethodPost, http.MethodDelete}

type logoutConfig struct {
	methods  []string
	queryArg string
	postArg  string
	noBody   bool // WithLogoutBody(false): the body is never read
}

func (c *config) enableLogout() *logoutConfig {
	if c.logout == nil {
		c.logout = &logoutConfig{methods: DefaultLogoutMethods, queryArg: DefaultLogoutArg, postArg: DefaultLogoutArg}
	}
	return c.logout
}

// WithLogout turns on logout handling with Kong's defaults: methods POST
// and DELETE, argument "session_logout" in the query or the form body.
func WithLogout() Option {
	return func(c *config) error { c.enableLogout(); return nil }
}

// WithLogoutMethods sets the methods that may log out (Kong's
// logout_methods; GET, POST and DELETE are allowed) and turns logout on.
func WithLogoutMethods(methods ...string) Option {
	return func(c *config) error {
		if len(methods) == 0 {
			return fmt.Errorf("sessionmw: WithLogoutMethods: no methods")
		}
		var ms []string
		for _, m := range methods {
			switch up := strings.ToUpper(m); up {
			case http.MethodGet, http.MethodPost, http.MethodDelete:
				ms = append(ms, up)
			default:
				return fmt.Errorf("sessionmw: WithLogoutMethods: %q is not GET, POST or DELETE", m)
			}
		}
		c.enableLogout().methods = ms
		return nil
	}
}

// WithLogoutQueryArg sets the query argument that asks for logout (Kong's
// logout_query_arg; "" disables the query channel) and turns logout on.
func WithLogoutQueryArg(name string) Option {
	return func(c *config) error {
		if strings.ContainsAny(name, "&=#? ") {
			return fmt.Errorf("sessionmw: WithLogoutQueryArg: invalid name %q", name)
		}
		c.enableLogout().queryArg = name
		return nil
	}
}

// WithLogoutPostArg sets the body argument that asks for logout (Kong's
// logout_post_arg; "" disables the body channel) and turns logout on. See
// WithLogoutBody for which bodies are read.
func WithLogoutPostArg(name string) Option {
	return func(c *config) error {
		if strings.ContainsAny(name, "&=#? ") {
			return fmt.Errorf("sessionmw: WithLogoutPostArg: invalid name %q", name)
		}
		c.enableLogout().postArg = name
		return nil
	}
}

// WithLogoutBody sets whether the request body is read to find the
// logout argument (Kong's read_body_for_logout; default true, false in
// gateway.Kong) and turns logout on. At most MaxLogoutBody bytes of an
// application/x-www-form-urlencoded, multipart/form-data or
// application/json body are read (in JSON, a top-level member named
// after the argument whose value is not false or null asks for logout);
// the next handler still receives the whole body when the request is not
// a logout. With false, only the query argument logs out.
func WithLogoutBody(read bool) Option {
	return func(c *config) error {
		c.enableLogout().noBody = !read
		return nil
	}
}

// isLogout reports whether r asks to log out. It may replace r.Body with
// an equivalent reader when it had to look into the body.
func (lc *logoutConfig) isLogout(r *http.Request) bool {
	if !slices.Contains(lc.methods, r.Method) {
		return false
	}
	if lc.queryArg != "" && r.URL.RawQuery != "" && r.URL.Query().Has(lc.queryArg) {
		return true
	}
	if lc.noBody || lc.postArg == "" || r.Body == nil || r.Body == http.NoBody {
		return false
	}
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return false
	}
	switch ct {
	case "application/x-www-form-urlencoded", "application/json", "multipart/form-data":
	default:
		return false
	}
	if r.ContentLength > MaxLogoutBody {
		return false // too large to be a logout request; leave it unread
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, MaxLogoutBody+1))
	// Whatever was read goes back in front of the rest of the body.
	r.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(buf), r.Body), closer: r.Body}
	if err != nil || len(buf) > MaxLogoutBody {
		return false
	}
	switch ct {
	case "application/json":
		return jsonAsks(buf, lc.postArg)
	case "multipart/form-data":
		return multipartAsks(buf, params["boundary"], lc.postArg)
	}
	form, err := url.ParseQuery(string(buf))
	return err == nil && form.Has(lc.postArg)
}

// jsonAsks reports whether body is a JSON object with a member arg whose
// value is not false or null.
func jsonAsks(body []byte, arg string) bool {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return false
	}
	v, ok := obj[arg]
	if !ok {
		return false
	}
	switch strings.TrimSpace(string(v)) {
	case "false", "null":
		return false
	}
	return true
}

// multipartAsks reports whether a multipart/form-data body has a part
// named arg. Parts are read from memory (the body is at most
// MaxLogoutBody bytes).
func multipartAsks(body []byte, boundary, arg string) bool {
	if boundary == "" {
		return false
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err != nil {
			return false
		}
		if p.FormName() == arg {
			return true
		}
	}
}

type replayBody struct {
	io.Reader
	closer io.Closer
}

func (b *replayBody) Close() error { return b.closer.Close() }

// installLogout answers logout requests on a live session: the session
// is destroyed (with every id of its life) and the request gets 200
// without reaching the next handler.
func installLogout(mw *Middleware, _ [][]byte) error {
	lc := mw.cfg.logout
	if lc == nil {
		return nil
	}
	mw.hooks.resolved = append(mw.hooks.resolved, func(m *SessionManager, r *http.Request) (bool, error) {
		if !m.has(fFound) || !lc.isLogout(r) {
			return false, nil
		}
		if err := m.Destroy(); err != nil {
			return false, err
		}
		m.mw.log.LogAttrs(r.Context(), slog.LevelInfo, "session logged out", slog.String("method", r.Method))
		m.writer().WriteHeader(http.StatusOK)
		return true, nil
	})
	return nil
}
