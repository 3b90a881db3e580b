package sessionmw_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/internal/values"
	"github.com/sessionmw/go/sessionmw/storetest"
)

// TestOneValueModel: every value type of storetest.ValueTypes comes back
// with its type through the middleware on every store and in cookie
// storage; a value changed in place is not saved anywhere; integers
// convert for Get[T].
func TestOneValueModel(t *testing.T) {
	kinds := append(serverStores(t), storeKind{"CookieStorage", nil})
	for _, kind := range kinds {
		t.Run(kind.name, func(t *testing.T) {
			opt := sessionmw.WithCookieStorage()
			if kind.make != nil {
				opt = sessionmw.WithStore(kind.make(t))
			}
			mw := newMW(t, nil, opt, sessionmw.WithStrictValues(true), sessionmw.WithCookieChunks(8))
			var got map[string]any
			h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := sessionmw.FromRequest(r).GetSession()
				switch r.URL.Path {
				case "/set":
					for k, v := range storetest.ValueTypes {
						s.Set(k, v)
					}
					cart := map[string]int{"a": 1}
					s.Set("cart", cart)
					cart["a"] = 99 // after Set: not the session's
				case "/mutate":
					cart, _ := sessionmw.Get[map[string]int](s, "cart")
					cart["a"]++ // in place, never Set: not saved
					cart2, _ := sessionmw.Get[map[string]int](s, "cart")
					if cart2["a"] != 1 {
						t.Errorf("a Get saw another Get's change in place: %v", cart2)
					}
				case "/get":
					got = map[string]any{}
					for k, v := range s.All() {
						got[k] = v
					}
					if n, ok := sessionmw.Get[int64](s, "int"); !ok || n != -42 {
						t.Errorf("Get[int64] of an int: %v %v", n, ok)
					}
					if n, ok := sessionmw.Get[uint8](s, "int"); ok {
						t.Errorf("Get[uint8] of -42 converted to %v", n)
					}
					if n, ok := sessionmw.Get[int](s, "uint64"); ok {
						t.Errorf("Get[int] of 1<<63 converted to %v", n)
					}
				}
			}))
			b := newBrowser(t, h)
			for _, path := range []string{"/set", "/mutate", "/get"} {
				if rec := b.do("GET", path); rec.Code != http.StatusOK {
					t.Fatalf("%s: status %d %s", path, rec.Code, rec.Body.String())
				}
			}
			for k, want := range storetest.ValueTypes {
				if v, ok := got[k]; !ok || !values.EqualStored(want, v) {
					t.Errorf("%s: got %#v (%T), want %#v (%T)", k, v, v, want, want)
				}
			}
			if cart, _ := got["cart"].(map[string]int); cart["a"] != 1 {
				t.Errorf("cart = %v, want a=1: a change in place was kept", got["cart"])
			}
		})
	}
}

// TestStrictValuesCatchUnstorableValues: in strict mode, Set panics on a
// value that a serialising store would not give back, on MemoryIO too.
func TestStrictValuesCatchUnstorableValues(t *testing.T) {
	type unregistered struct{ N int }
	for name, v := range map[string]any{
		"unregistered struct": unregistered{1},
		"pointer":             &[]int{1},
		"channel":             make(chan int),
	} {
		t.Run(name, func(t *testing.T) {
			mw := newMW(t, nil, sessionmw.WithStrictValues(true))
			var panicked any
			mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer func() { panicked = recover() }()
				sessionmw.FromRequest(r).GetSession().Set("v", v)
			})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			if msg, _ := panicked.(string); !strings.Contains(msg, "cannot be stored on every store") {
				t.Fatalf("Set(%T) in strict mode: panic %v", v, panicked)
			}
		})
	}
}
