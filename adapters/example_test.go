package adapters_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/mux"
	"github.com/sessionmw/go/sessionmw"
)

// counter increments "n" in the session and answers it.
func counter(w http.ResponseWriter, r *http.Request) {
	s := sessionmw.FromRequest(r).GetSession()
	n, _ := sessionmw.Get[int](s, "n")
	s.Set("n", n+1)
	fmt.Fprint(w, n+1)
}

// count sends three requests to h's /count, carrying the session cookie,
// and prints each body and how many cookies it set.
func count(h http.Handler) {
	cookie := ""
	for range 3 {
		req := httptest.NewRequest("GET", "/count", nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if c := rec.Result().Cookies(); len(c) == 1 {
			cookie = c[0].Name + "=" + c[0].Value
		}
		fmt.Println(rec.Body.String(), len(rec.Result().Cookies()))
	}
}

// chi takes Middleware.Handler as it is.
func Example_chi() {
	mw, err := sessionmw.New([]byte("an example secret of at least 32 bytes!!"))
	if err != nil {
		panic(err)
	}
	defer mw.Close()

	r := chi.NewRouter()
	r.Use(mw.Handler)
	r.Get("/count", counter)
	count(r)
	// Output:
	// 1 1
	// 2 0
	// 3 0
}

// gorilla/mux takes Middleware.Handler as it is.
func Example_gorillaMux() {
	mw, err := sessionmw.New([]byte("an example secret of at least 32 bytes!!"))
	if err != nil {
		panic(err)
	}
	defer mw.Close()

	r := mux.NewRouter()
	r.Use(mw.Handler)
	r.HandleFunc("/count", counter).Methods("GET")
	count(r)
	// Output:
	// 1 1
	// 2 0
	// 3 0
}
