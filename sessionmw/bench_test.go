package sessionmw_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/sessionmw/go/sessionmw"
)

var benchSecret = []byte("0123456789abcdef0123456789abcdef")

func benchMiddleware(b *testing.B, store sessionmw.Store) *sessionmw.Middleware {
	b.Helper()
	mw, err := sessionmw.New(benchSecret, sessionmw.WithStore(store))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { mw.Close() })
	return mw
}

func counterHandler(write bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionmw.FromRequest(r).GetSession()
		n, _ := sessionmw.Get[int](s, "test_counter")
		if write {
			s.Set("test_counter", n+1)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// sessions creates n sessions and returns their Cookie headers.
func sessions(b *testing.B, mw *sessionmw.Middleware, n int) []string {
	b.Helper()
	h := mw.Handler(counterHandler(true))
	out := make([]string, n)
	for i := range out {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		c := rec.Result().Cookies()
		if len(c) != 1 {
			b.Fatal("no session cookie")
		}
		out[i] = c[0].Name + "=" + c[0].Value
	}
	return out
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

func stores(b *testing.B) map[string]func() sessionmw.Store {
	return map[string]func() sessionmw.Store{
		"MemoryIO": func() sessionmw.Store {
			s := sessionmw.NewMemoryIO()
			b.Cleanup(func() { s.Close() })
			return s
		},
		"Ristretto": func() sessionmw.Store {
			s, err := sessionmw.NewRistrettoStore(256 << 20)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
	}
}

func BenchmarkNewVisitor(b *testing.B) {
	for name, mk := range stores(b) {
		b.Run(name, func(b *testing.B) {
			h := benchMiddleware(b, mk()).Handler(counterHandler(true))
			req := httptest.NewRequest("GET", "/", nil)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(&discardWriter{h: http.Header{}}, req)
			}
		})
	}
}

func benchReturning(b *testing.B, write, parallel bool) {
	for name, mk := range stores(b) {
		b.Run(name, func(b *testing.B) {
			mw := benchMiddleware(b, mk())
			n := 1
			if parallel {
				n = 1000
			}
			cookies := sessions(b, mw, n)
			h := mw.Handler(counterHandler(write))
			reqs := make([]*http.Request, n)
			for i, c := range cookies {
				reqs[i] = httptest.NewRequest("GET", "/", nil)
				reqs[i].Header.Set("Cookie", c)
			}
			b.ReportAllocs()
			if !parallel {
				for b.Loop() {
					h.ServeHTTP(&discardWriter{h: http.Header{}}, reqs[0])
				}
				return
			}
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1) % int64(n)
					h.ServeHTTP(&discardWriter{h: http.Header{}}, reqs[i])
				}
			})
		})
	}
}

func BenchmarkReturningRead(b *testing.B)    { benchReturning(b, false, false) }
func BenchmarkReturningWrite(b *testing.B)   { benchReturning(b, true, false) }
func BenchmarkParallelRead(b *testing.B)     { benchReturning(b, false, true) }
func BenchmarkParallelWrite(b *testing.B)    { benchReturning(b, true, true) }
func BenchmarkBareHandler(b *testing.B)      { benchBare(b) }
func BenchmarkMemoryIOLoad(b *testing.B)     { benchLoad(b, 1000) }
func BenchmarkMemoryIOLoad100k(b *testing.B) { benchLoad(b, 100_000) }

func benchBare(b *testing.B) {
	h := counterHandler(false)
	req := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(&discardWriter{h: http.Header{}}, req)
	}
}

func benchLoad(b *testing.B, n int) {
	s := sessionmw.NewMemoryIO()
	defer s.Close()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
		if err := s.Save(b.Context(), ids[i], sessionmw.Update{Replace: true, Set: []sessionmw.Entry{{Key: "test_counter", Value: i}}}, 1<<40); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if r, _ := s.Load(b.Context(), ids[i%n]); r == nil {
			b.Fatal("missing")
		}
		i++
	}
}

// BenchmarkAtRest is ReturningRead and ReturningWrite on MemoryIO with
// each protection of stored data, against none, in one run: the cost of
// encryption at rest (an AES-GCM open per value read, a seal per value
// written, and the sealed metadata) and of hashed ids (an HMAC per
// store call).
func BenchmarkAtRest(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []sessionmw.Option
	}{
		{"plain", nil},
		{"encrypted", []sessionmw.Option{sessionmw.WithEncryptionAtRest(true)}},
		{"hashedIDs", []sessionmw.Option{sessionmw.WithHashedIDs(true)}},
		{"both", []sessionmw.Option{sessionmw.WithEncryptionAtRest(true), sessionmw.WithHashedIDs(true)}},
	} {
		for _, write := range []bool{false, true} {
			op := "Read"
			if write {
				op = "Write"
			}
			b.Run(tc.name+"/"+op, func(b *testing.B) {
				store := sessionmw.NewMemoryIO()
				b.Cleanup(func() { store.Close() })
				mw, err := sessionmw.New(benchSecret, append([]sessionmw.Option{sessionmw.WithStore(store)}, tc.opts...)...)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { mw.Close() })
				req := httptest.NewRequest("GET", "/", nil)
				req.Header.Set("Cookie", sessions(b, mw, 1)[0])
				h := mw.Handler(counterHandler(write))
				b.ReportAllocs()
				for b.Loop() {
					h.ServeHTTP(&discardWriter{h: http.Header{}}, req)
				}
			})
		}
	}
}
