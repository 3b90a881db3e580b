package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/gateway"
)

var walkthroughConsumers = []gateway.Consumer{
	{ID: "anon-id", Username: "anonymous_users"},
	{ID: "fiona-id", Username: "fiona", CustomID: "f-001", Groups: []string{"admins", "ops"},
		Keys: []gateway.KeyCredential{{ID: "fiona-key", Key: "open_sesame"}, {Key: "second"}}},
}

// upstreamSaw is what an echo upstream received.
type upstreamSaw struct {
	Query   string            `json:"query"`
	Headers map[string]string `json:"headers"`
	Auth    gateway.Auth      `json:"auth"`
}

var echoUpstream = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	saw := upstreamSaw{Query: r.URL.RawQuery, Headers: map[string]string{}}
	for k := range r.Header {
		saw.Headers[k] = strings.Join(r.Header.Values(k), "|")
	}
	saw.Auth, _ = gateway.AuthFromRequest(r)
	json.NewEncoder(w).Encode(saw)
})

func newKongChain(t *testing.T, opts ...gateway.KeyAuthOption) http.Handler {
	t.Helper()
	store := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
	t.Cleanup(func() { store.Close() })
	mw, err := gateway.Kong(fuzzSecret, sessionmw.WithStore(store), sessionmw.WithSecure(false),
		sessionmw.WithAnonymousSubject("anon-id"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mw.Close() })
	ka, err := gateway.KeyAuth(walkthroughConsumers, opts...)
	if err != nil {
		t.Fatal(err)
	}
	term, err := gateway.RequestTermination(gateway.StaticResponse{Status: 403, Message: "So long and thanks for all the fish!"}, "anonymous_users")
	if err != nil {
		t.Fatal(err)
	}
	return mw.Handler(ka(term(echoUpstream)))
}

func do(t *testing.T, h http.Handler, method, target string, hdr http.Header) (*httptest.ResponseRecorder, upstreamSaw) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var saw upstreamSaw
	if rec.Code == 200 && rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &saw); err != nil {
			t.Fatalf("upstream body %q: %v", rec.Body.String(), err)
		}
	}
	return rec, saw
}

func TestKeyAuthRequests(t *testing.T) {
	spoofed := http.Header{
		"X-Consumer-Id": {"admin"}, "x-consumer-username": {"root"}, "X-Anonymous-Consumer": {"false"},
		"X-Authenticated-Groups": {"everyone"}, "X-Credential-Identifier": {"forged"}, "X-Consumer-Custom-Id": {"0"},
	}
	tests := []struct {
		name     string
		target   string
		hdr      http.Header
		opts     []gateway.KeyAuthOption
		status   int
		message  string
		consumer string // X-Consumer-Id upstream
		query    string // the query upstream
		cookie   bool   // a session cookie is set
	}{
		{"no key: anonymous, terminated", "/s", nil, nil, 403, "So long and thanks for all the fish!", "", "", false},
		{"bad key: anonymous, terminated", "/s?apikey=nope", nil, nil, 403, "So long", "", "", false},
		{"key in query", "/s?a=1&apikey=open_sesame&b=%zz", nil, nil, 200, "", "fiona-id", "a=1&b=%zz", true},
		{"key in header", "/s?x=y", http.Header{"Apikey": {"second"}}, nil, 200, "", "fiona-id", "x=y", true},
		{"escaped key name and value", "/s?api%6Bey=open%5Fsesame", nil, nil, 200, "", "fiona-id", "", true},
		{"two keys in the query: refused", "/s?apikey=open_sesame&apikey=second", nil, nil, 403, "So long", "", "", false},
		{"two key headers: refused", "/s", http.Header{"Apikey": {"open_sesame", "second"}}, nil, 403, "So long", "", "", false},
		{"header wins over query", "/s?apikey=nope", http.Header{"Apikey": {"open_sesame"}}, nil, 200, "", "fiona-id", "", true},
		{"spoofed consumer headers removed", "/s?apikey=open_sesame", spoofed, nil, 200, "", "fiona-id", "", true},
		{"query disabled", "/s?apikey=open_sesame", nil, []gateway.KeyAuthOption{gateway.KeyInQuery(false)}, 403, "So long", "", "", false},
		{"header disabled", "/s", http.Header{"Apikey": {"open_sesame"}}, []gateway.KeyAuthOption{gateway.KeyInHeader(false)}, 403, "So long", "", "", false},
		{"other key name", "/s?token=open_sesame", nil, []gateway.KeyAuthOption{gateway.KeyNames("x-api-key", "token")}, 200, "", "fiona-id", "", true},
		{"credentials kept when asked", "/s?apikey=open_sesame&z=1", nil, []gateway.KeyAuthOption{gateway.KeyHideCredentials(false)}, 200, "", "fiona-id", "apikey=open_sesame&z=1", true},
		{"anonymous spoof removed", "/s", http.Header{"X-Consumer-Id": {"fiona-id"}}, nil, 403, "So long", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newKongChain(t, append([]gateway.KeyAuthOption{gateway.KeyAnonymous("anonymous_users")}, tc.opts...)...)
			rec, saw := do(t, h, "GET", tc.target, tc.hdr)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body.String())
			}
			if tc.message != "" && !strings.Contains(rec.Body.String(), tc.message) {
				t.Fatalf("body %q lacks %q", rec.Body.String(), tc.message)
			}
			if got := rec.Header().Get("Set-Cookie") != ""; got != tc.cookie {
				t.Fatalf("Set-Cookie %q, want one: %v", rec.Header().Get("Set-Cookie"), tc.cookie)
			}
			if rec.Code != 200 {
				return
			}
			if saw.Headers["X-Consumer-Id"] != tc.consumer || saw.Query != tc.query {
				t.Fatalf("upstream saw consumer %q query %q, want %q %q", saw.Headers["X-Consumer-Id"], saw.Query, tc.consumer, tc.query)
			}
			want := map[string]string{
				"X-Consumer-Id": "fiona-id", "X-Consumer-Username": "fiona", "X-Consumer-Custom-Id": "f-001",
				"X-Authenticated-Groups": "admins, ops",
			}
			for k, v := range want {
				if saw.Headers[k] != v {
					t.Errorf("upstream %s = %q, want %q", k, saw.Headers[k], v)
				}
			}
			if saw.Headers["X-Anonymous-Consumer"] != "" || saw.Headers["Apikey"] != "" && tc.opts == nil {
				t.Errorf("upstream saw %v", saw.Headers)
			}
			if c := saw.Headers["X-Credential-Identifier"]; c != "fiona-key" && c != "fiona-id:key-2" {
				t.Errorf("credential %q", c)
			}
		})
	}
}

// TestKeyAuthSessionOrKey walks Kong's walkthrough: a key logs in, the
// cookie alone is enough afterwards, logout ends it.
func TestKeyAuthSessionOrKey(t *testing.T) {
	h := newKongChain(t, gateway.KeyAnonymous("anonymous_users"))
	rec, _ := do(t, h, "GET", "/s?apikey=open_sesame", nil)
	cookie, _, _ := strings.Cut(rec.Header().Get("Set-Cookie"), ";")
	if rec.Code != 200 || !strings.HasPrefix(cookie, "session=") {
		t.Fatalf("login: %d %q", rec.Code, cookie)
	}
	rec, saw := do(t, h, "GET", "/s", http.Header{"Cookie": {cookie}, "Apikey": {"bogus"}})
	if rec.Code != 200 || rec.Header().Get("Set-Cookie") != "" || !saw.Auth.FromSession ||
		saw.Headers["X-Credential-Identifier"] != "fiona-key" || saw.Headers["Apikey"] != "" {
		t.Fatalf("cookie alone: %d Set-Cookie %q auth %+v headers %v", rec.Code, rec.Header().Get("Set-Cookie"), saw.Auth, saw.Headers)
	}
	if rec, _ := do(t, h, "DELETE", "/s?session_logout", http.Header{"Cookie": {cookie}}); rec.Code != 200 {
		t.Fatalf("logout: %d", rec.Code)
	}
	if rec, _ := do(t, h, "GET", "/s", http.Header{"Cookie": {cookie}}); rec.Code != 403 {
		t.Fatalf("old cookie after logout: %d", rec.Code)
	}
}

func TestKeyAuthWithoutAnonymous(t *testing.T) {
	ka, err := gateway.KeyAuth(walkthroughConsumers)
	if err != nil {
		t.Fatal(err)
	}
	h := ka(echoUpstream) // no session middleware: keys only
	for _, tc := range []struct{ target, msg string }{
		{"/", "No API key found in request"},
		{"/?apikey=x", "Invalid authentication credentials"},
		{"/?apikey=a&apikey=b", "Duplicate API key found"},
	} {
		rec, _ := do(t, h, "GET", tc.target, nil)
		if rec.Code != 401 || !strings.Contains(rec.Body.String(), tc.msg) || rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %q", tc.target, rec.Code, rec.Body.String())
		}
	}
	if rec, saw := do(t, h, "GET", "/?apikey=open_sesame", nil); rec.Code != 200 || saw.Auth.Consumer.ID != "fiona-id" || rec.Header().Get("Set-Cookie") != "" {
		t.Fatalf("valid key without sessions: %d %+v", rec.Code, saw.Auth)
	}
}

func TestKeyAuthConfigErrors(t *testing.T) {
	tests := []struct {
		name      string
		consumers []gateway.Consumer
		opts      []gateway.KeyAuthOption
		want      string
	}{
		{"no id nor username", []gateway.Consumer{{CustomID: "x"}}, nil, "neither"},
		{"duplicate id", []gateway.Consumer{{ID: "a"}, {ID: "a"}}, nil, "two consumers"},
		{"duplicate username", []gateway.Consumer{{ID: "a", Username: "u"}, {ID: "b", Username: "u"}}, nil, "two consumers"},
		{"duplicate key", []gateway.Consumer{{ID: "a", Keys: []gateway.KeyCredential{{Key: "k"}}}, {ID: "b", Keys: []gateway.KeyCredential{{Key: "k"}}}}, nil, "already"},
		{"empty key", []gateway.Consumer{{ID: "a", Keys: []gateway.KeyCredential{{}}}}, nil, "empty"},
		{"CR in username", []gateway.Consumer{{ID: "a", Username: "x\r\nY: z"}}, nil, "control"},
		{"unknown anonymous", walkthroughConsumers, []gateway.KeyAuthOption{gateway.KeyAnonymous("nobody")}, "nobody"},
		{"anonymous with keys", walkthroughConsumers, []gateway.KeyAuthOption{gateway.KeyAnonymous("fiona")}, "has keys"},
		{"bad key name", nil, []gateway.KeyAuthOption{gateway.KeyNames("api key")}, "header name"},
		{"nowhere to look", nil, []gateway.KeyAuthOption{gateway.KeyInHeader(false), gateway.KeyInQuery(false)}, "neither"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gateway.KeyAuth(tc.consumers, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestStaticResponse(t *testing.T) {
	tests := []struct {
		name   string
		resp   gateway.StaticResponse
		status int
		ctype  string
		body   string
		err    string
	}{
		{"default", gateway.StaticResponse{}, 503, "application/json; charset=utf-8", `{"message":"Service Unavailable"}` + "\n", ""},
		{"message", gateway.StaticResponse{Status: 403, Message: "no"}, 403, "application/json; charset=utf-8", `{"message":"no"}` + "\n", ""},
		{"body", gateway.StaticResponse{Status: 200, Body: "<p>hi</p>", ContentType: "text/html"}, 200, "text/html", "<p>hi</p>", ""},
		{"both", gateway.StaticResponse{Message: "a", Body: "b"}, 0, "", "", "choose one"},
		{"bad status", gateway.StaticResponse{Status: 700}, 0, "", "", "700"},
		{"type without body", gateway.StaticResponse{ContentType: "text/html"}, 0, "", "", "without a body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := gateway.Respond(tc.resp)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if rec.Code != tc.status || rec.Header().Get("Content-Type") != tc.ctype || rec.Body.String() != tc.body {
				t.Fatalf("got %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
			}
		})
	}
}

func TestForward(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path+"?"+r.URL.RawQuery+" xff="+r.Header.Get("X-Forwarded-For")+" host="+r.Header.Get("X-Forwarded-Host")+" proto="+r.Header.Get("X-Forwarded-Proto"))
	}))
	defer up.Close()
	p, err := gateway.Forward(up.URL + "/base")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	req := httptest.NewRequest("GET", "http://gw.example/x?y=1", nil)
	req.RemoteAddr = "192.0.2.7:1234"
	req.Header.Set("X-Forwarded-For", "10.0.0.1") // spoofed
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	if got, want := rec.Body.String(), "/base/x?y=1 xff=192.0.2.7 host=gw.example proto=http"; got != want {
		t.Fatalf("upstream saw %q, want %q", got, want)
	}

	for _, target := range []string{"ftp://x", "http://", "http://u:p@h/", "http://h/?q=1", "/relative", "::"} {
		if _, err := gateway.Forward(target); err == nil {
			t.Errorf("Forward(%q) succeeded", target)
		}
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	p2, _ := gateway.Forward(deadURL)
	defer p2.Close()
	rec = httptest.NewRecorder()
	p2.ServeHTTP(rec, httptest.NewRequest("GET", "/?apikey=secret", nil))
	if rec.Code != http.StatusBadGateway || strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("dead upstream: %d %q", rec.Code, rec.Body.String())
	}
}
