package ginsession_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionmw/go/adapters/ginsession"
	"github.com/sessionmw/go/adapters/internal/flowtest"
	"github.com/sessionmw/go/sessionmw"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode) // no debug banner on stdout (Examples read it)
	goleak.VerifyTestMain(m)
}

// respond writes a flowtest handler's answer the gin way.
func respond(h func(*sessionmw.SessionManager) (int, string)) gin.HandlerFunc {
	return func(c *gin.Context) {
		code, body := h(ginsession.FromContext(c))
		c.String(code, body)
	}
}

// newApp returns the flowtest application on gin: every route of the
// flow and of flowtest's scenarios, behind the middleware uses.
func newApp(ran *atomic.Int32, writeErr *error, uses ...gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	r.Use(uses...)
	r.POST(flowtest.Login, respond(flowtest.HandleLogin))
	r.GET(flowtest.Profile, respond(flowtest.HandleProfile))
	r.POST(flowtest.Logout, respond(flowtest.HandleLogout))
	r.POST(flowtest.LoginThenFail, func(c *gin.Context) {
		flowtest.HandleLogin(ginsession.FromContext(c))
		_ = c.AbortWithError(http.StatusTeapot, errors.New("after login"))
	})
	r.GET(flowtest.Write, func(c *gin.Context) {
		code, body := flowtest.HandleWrite(ginsession.FromContext(c), ran)
		c.Status(code)
		_, err := c.Writer.WriteString(body)
		*writeErr = err
	})
	r.GET(flowtest.SeenPath, func(c *gin.Context) {
		sid, _ := c.Cookie("sid")
		other, _ := c.Cookie("other")
		c.JSON(http.StatusOK, flowtest.Seen{Sid: sid, Other: other, Subject: c.GetHeader("Session-Subject"),
			Token: c.Query("token"), Keep: c.Query("keep"), XSession: c.GetHeader("X-Session")})
	})
	r.GET(flowtest.Stacked, func(c *gin.Context) {
		c.String(flowtest.HandleStacked(ginsession.FromContext(c), ginsession.FromContextNamed(c, flowtest.StackedName)))
	})
	return r
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Login, profile, logout and a replayed cookie over real HTTP.
func TestFlow(t *testing.T) {
	mw, log := flowtest.NewMiddleware(t)
	flowtest.Run(t, serve(t, newApp(nil, nil, ginsession.New(mw))))
	if s := log.String(); s != "" {
		t.Errorf("unexpected warnings: %s", s)
	}
}

// naive is the obvious adapter: run the middleware around c.Next and
// replace c.Request only. gin's c.JSON and c.String write through
// c.Writer, gin's own writer, so the headers go out before sessionmw
// commits: the session is saved, its cookie never sent.
func naive(mw *sessionmw.Middleware) gin.HandlerFunc {
	return func(c *gin.Context) {
		mw.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
	}
}

// The failure New exists for: with the naive adapter a login answers 200
// without Set-Cookie and logs nothing; with New it sets the cookie.
func TestLoginSetsCookieUnlikeNaiveAdapter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		use     func(*sessionmw.Middleware) gin.HandlerFunc
		cookies int
	}{
		{"naive", naive, 0},
		{"ginsession.New", ginsession.New, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mw, log := flowtest.NewMiddleware(t)
			base := serve(t, newApp(nil, nil, tc.use(mw)))
			code, _, res := flowtest.Do(t, http.DefaultClient, "POST", base+flowtest.Login, "")
			if code != http.StatusOK || len(res.Header["Set-Cookie"]) != tc.cookies {
				t.Errorf("login: %d, Set-Cookie %q; want 200 and %d cookie(s)", code, res.Header["Set-Cookie"], tc.cookies)
			}
			if s := log.String(); s != "" {
				t.Errorf("logged %q; want nothing", s)
			}
		})
	}
}

// Changes after c.JSON follow sessionmw's rule: saved for a session the
// client holds a cookie for, dropped with a warning when they would need
// a cookie the response can no longer carry.
func TestWritesAfterResponse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		loggedIn bool                              // the request carries a session cookie
		late     func(m *sessionmw.SessionManager) // runs after c.JSON
		saved    bool
	}{
		{"existing session: Set is saved", true, func(m *sessionmw.SessionManager) { m.GetSession().Set("late", 1) }, true},
		{"new session: Set is dropped", false, func(m *sessionmw.SessionManager) { m.GetSession().Set("late", 1) }, false},
		{"Login renews the id: dropped", true, func(m *sessionmw.SessionManager) {
			m.GetSession().Set("late", 1)
			_ = m.Login(sessionmw.Identity{Subject: "late"})
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mw, log := flowtest.NewMiddleware(t)
			r := newApp(nil, nil, ginsession.New(mw))
			r.GET("/late", func(c *gin.Context) {
				c.JSON(http.StatusOK, gin.H{"ok": true})
				tc.late(ginsession.FromContext(c))
			})
			r.GET("/read", func(c *gin.Context) {
				n, _ := sessionmw.Get[int](ginsession.FromContext(c).GetSession(), "late")
				c.String(http.StatusOK, "%d", n)
			})
			base := serve(t, r)
			cookie := ""
			if tc.loggedIn {
				_, _, res := flowtest.Do(t, http.DefaultClient, "POST", base+flowtest.Login, "")
				cookie = flowtest.CookiePair(t, res, "sid")
			}
			code, body, res := flowtest.Do(t, http.DefaultClient, "GET", base+"/late", cookie)
			if code != http.StatusOK || body != `{"ok":true}` {
				t.Fatalf("late: %d %q", code, body)
			}
			if sc := res.Header["Set-Cookie"]; len(sc) != 0 {
				t.Errorf("late: Set-Cookie %q after the body was written", sc)
			}
			warned := strings.Contains(log.String(), "session changed after the response was written")
			if warned == tc.saved {
				t.Errorf("warning logged: %v, want %v (log %q)", warned, !tc.saved, log.String())
			}
			if !tc.loggedIn {
				return
			}
			want := map[bool]string{true: "1", false: "0"}[tc.saved]
			if _, body, _ := flowtest.Do(t, http.DefaultClient, "GET", base+"/read", cookie); body != want {
				t.Errorf("value set after the response read back as %s, want %s", body, want)
			}
		})
	}
}

// A failed save replaces the response with a 503 (the handler's write
// reports an error); a failed load stops the chain.
func TestStoreFailures(t *testing.T) {
	store := flowtest.NewFlakyStore(t)
	mw, _ := flowtest.NewMiddleware(t, sessionmw.WithStore(store))
	var ran atomic.Int32
	var writeErr error
	flowtest.RunStoreFailures(t, serve(t, newApp(&ran, &writeErr, ginsession.New(mw))), store, &ran)
	if writeErr == nil {
		t.Error("the handler's write after the failed commit reported no error")
	}
}

func TestErrorResponseCarriesCookie(t *testing.T) {
	mw, _ := flowtest.NewMiddleware(t)
	flowtest.RunErrorAfterLogin(t, serve(t, newApp(nil, nil, ginsession.New(mw))))
}

func TestRequestChangesReachHandlers(t *testing.T) {
	flowtest.RunRequestChanges(t, func(t *testing.T, opts ...sessionmw.Option) string {
		mw, _ := flowtest.NewMiddleware(t, opts...)
		return serve(t, newApp(nil, nil, ginsession.New(mw)))
	})
}

func TestStackedMiddlewares(t *testing.T) {
	user, _ := flowtest.NewMiddleware(t)
	admin, _ := flowtest.NewMiddleware(t, flowtest.StackedOptions...)
	flowtest.RunStacked(t, serve(t, newApp(nil, nil, ginsession.New(user), ginsession.New(admin))))
}

// Outer middleware gets its c.Writer and c.Request back, and reads the
// status of the response, whether the handler or the session middleware
// (a store failure) answered.
func TestOuterMiddlewareGetsWriterBack(t *testing.T) {
	store := flowtest.NewFlakyStore(t)
	mw, _ := flowtest.NewMiddleware(t, sessionmw.WithStore(store))
	var restored bool
	var status int
	outer := func(c *gin.Context) {
		w, req := c.Writer, c.Request
		c.Next()
		restored = c.Writer == w && c.Request == req
		status = c.Writer.Status()
	}
	base := serve(t, newApp(nil, nil, outer, ginsession.New(mw)))
	_, _, res := flowtest.Do(t, http.DefaultClient, "POST", base+flowtest.Login, "")
	if !restored || status != http.StatusOK {
		t.Errorf("handler answered: writer and request restored %v, status %d; want true, 200", restored, status)
	}
	store.FailLoad.Store(true)
	flowtest.Do(t, http.DefaultClient, "GET", base+flowtest.Profile, flowtest.CookiePair(t, res, "sid"))
	if !restored || status != http.StatusServiceUnavailable {
		t.Errorf("middleware answered: writer and request restored %v, status %d; want true, 503", restored, status)
	}
}

// Headers set after c.Status still go out with the cookie (gin sends
// headers late, and so the session commits late); Flush commits, and
// http.ResponseController reaches the connection through Unwrap.
func TestStatusFlushAndResponseController(t *testing.T) {
	mw, _ := flowtest.NewMiddleware(t)
	var deadlineErr error
	r := gin.New()
	r.Use(ginsession.New(mw))
	r.GET("/status", func(c *gin.Context) {
		c.Status(http.StatusAccepted)
		ginsession.FromContext(c).GetSession().Set("k", 1)
		c.Header("Cache-Control", "private")
	})
	r.GET("/stream", func(c *gin.Context) {
		ginsession.FromContext(c).GetSession().Set("k", 1)
		deadlineErr = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(time.Minute))
		c.Writer.WriteHeader(http.StatusOK)
		c.Writer.Flush()
		_, _ = c.Writer.WriteString("streamed")
	})
	base := serve(t, r)

	code, _, res := flowtest.Do(t, http.DefaultClient, "GET", base+"/status", "")
	flowtest.OneCookie(t, res, "sid")
	if code != http.StatusAccepted || res.Header.Get("Cache-Control") != "private" {
		t.Errorf("status: %d, Cache-Control %q; want 202 and the handler's private", code, res.Header.Get("Cache-Control"))
	}
	code, body, res := flowtest.Do(t, http.DefaultClient, "GET", base+"/stream", "")
	flowtest.OneCookie(t, res, "sid")
	if code != http.StatusOK || body != "streamed" || deadlineErr != nil {
		t.Errorf("stream: %d %q, SetWriteDeadline: %v", code, body, deadlineErr)
	}
}
