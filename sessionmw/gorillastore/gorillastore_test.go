package gorillastore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/sessions"

	"github.com/sessionmw/go/internal/redistest"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/gorillastore"
	"github.com/sessionmw/go/sessionmw/redisstore"
)

var (
	hashKey = []byte("0123456789abcdef0123456789abcdef")
	oldKey  = []byte("fedcba9876543210fedcba9876543210")
)

func backends(t *testing.T) map[string]sessionmw.Store {
	mem := sessionmw.NewMemoryIO()
	t.Cleanup(func() { mem.Close() })
	ris, err := sessionmw.NewRistrettoStore(16 << 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ris.Close() })
	out := map[string]sessionmw.Store{"MemoryIO": mem, "Ristretto": ris}
	srv := redistest.Start(t)
	rs, err := redisstore.New(context.Background(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	out["Redis"] = rs
	return out
}

// app is ordinary gorilla/sessions code: only the store's constructor differs.
func app(store sessions.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session, err := store.Get(r, "app-session")
		if err != nil && !session.IsNew {
			http.Error(w, err.Error(), 500)
			return
		}
		switch r.URL.Path {
		case "/logout":
			session.Options.MaxAge = -1
		default:
			n, _ := session.Values["n"].(int)
			session.Values["n"] = n + 1
			session.Values["user"] = "fiona"
		}
		if err := sessions.Save(r, w); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		n, _ := session.Values["n"].(int)
		w.Write([]byte(strings.Repeat("|", n)))
	})
}

func TestGorillaAPIOnSessionmwStores(t *testing.T) {
	for name, backend := range backends(t) {
		t.Run(name, func(t *testing.T) {
			store := gorillastore.New(backend, hashKey)
			store.Options.Secure = false
			h := app(store)
			var cookie string
			for want := 1; want <= 3; want++ {
				req := httptest.NewRequest("GET", "/", nil)
				if cookie != "" {
					req.Header.Set("Cookie", cookie)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 || rec.Body.Len() != want {
					t.Fatalf("visit %d: %d %q", want, rec.Code, rec.Body.String())
				}
				sc := rec.Header().Get("Set-Cookie")
				if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") || !strings.Contains(sc, "Max-Age=2592000") {
					t.Fatalf("Set-Cookie %q", sc)
				}
				cookie, _, _ = strings.Cut(sc, ";")
			}
			// Logout through gorilla's MaxAge = -1 deletes the stored session.
			req := httptest.NewRequest("GET", "/logout", nil)
			req.Header.Set("Cookie", cookie)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if !strings.Contains(rec.Header().Get("Set-Cookie"), "Max-Age=0") {
				t.Fatalf("logout cookie %q", rec.Header().Get("Set-Cookie"))
			}
			req = httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", cookie)
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Body.Len() != 1 {
				t.Fatalf("replayed cookie after logout: counter %d, want a new session", rec.Body.Len())
			}
		})
	}
}

func TestGorillaStoreEdgeCases(t *testing.T) {
	mem := sessionmw.NewMemoryIO()
	defer mem.Close()
	store := gorillastore.New(mem, hashKey, nil, oldKey, nil)

	t.Run("tampered cookie gives a new session and an error", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", "app-session=garbage")
		s, err := store.New(req, "app-session")
		if err == nil || !s.IsNew {
			t.Fatalf("err %v, IsNew %v", err, s.IsNew)
		}
	})
	t.Run("rotation: cookies signed with an old key pair still load", func(t *testing.T) {
		old := gorillastore.New(mem, oldKey)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		s, _ := old.New(req, "app-session")
		s.Values["k"] = 42
		if err := old.Save(req, rec, s); err != nil {
			t.Fatal(err)
		}
		req = httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", strings.Split(rec.Header().Get("Set-Cookie"), ";")[0])
		s, err := store.New(req, "app-session")
		if err != nil || s.IsNew || s.Values["k"] != 42 {
			t.Fatalf("err %v, IsNew %v, k %#v (an int must stay an int)", err, s.IsNew, s.Values["k"])
		}
	})
	t.Run("non-string keys are refused", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/", nil)
		s, _ := store.New(req, "app-session")
		s.Values[42] = "x"
		if err := store.Save(req, httptest.NewRecorder(), s); !errors.Is(err, gorillastore.ErrNonStringKey) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown id gives a new session", func(t *testing.T) {
		otherMem := sessionmw.NewMemoryIO()
		defer otherMem.Close()
		other := gorillastore.New(otherMem, hashKey)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		s, _ := other.New(req, "app-session")
		other.Save(req, rec, s)
		req = httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", strings.Split(rec.Header().Get("Set-Cookie"), ";")[0])
		s, err := store.New(req, "app-session")
		if err != nil || !s.IsNew {
			t.Fatalf("err %v, IsNew %v", err, s.IsNew)
		}
	})
}

// TestConcurrentInPlaceMapChanges: 16 concurrent requests change a map
// value in place (session.Values["cart"].(map[string]int)[k]++), as
// gorilla code does. No request shares the stored map with another (no
// data race under -race, no crash), and a change that is not saved is not
// kept, on every store alike.
func TestConcurrentInPlaceMapChanges(t *testing.T) {
	for name, backend := range backends(t) {
		t.Run(name, func(t *testing.T) {
			store := gorillastore.New(backend, hashKey)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := store.Get(r, "s")
				cart, _ := s.Values["cart"].(map[string]int)
				if cart == nil {
					cart = map[string]int{}
					s.Values["cart"] = cart
				}
				cart[r.URL.Query().Get("k")]++
				if r.URL.Query().Has("save") {
					s.Save(r, w)
				}
			})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/?k=a&save", nil))
			cookie := strings.Split(rec.Header().Get("Set-Cookie"), ";")[0]
			var wg sync.WaitGroup
			for i := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req := httptest.NewRequest("GET", fmt.Sprintf("/?k=k%d", i%4), nil)
					req.Header.Set("Cookie", cookie)
					h.ServeHTTP(httptest.NewRecorder(), req)
				}()
			}
			wg.Wait()
			req := httptest.NewRequest("GET", "/?k=probe", nil)
			req.Header.Set("Cookie", cookie)
			var got map[string]int
			s, err := gorillastore.New(backend, hashKey).Get(req, "s")
			if err != nil {
				t.Fatal(err)
			}
			got, _ = s.Values["cart"].(map[string]int)
			if !reflect.DeepEqual(got, map[string]int{"a": 1}) {
				t.Fatalf("stored cart = %v, want only the saved a=1 (changes in place are not saved)", got)
			}
		})
	}
}
