package pgstore_test

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/pgstore"
)

// A middleware whose sessions live in PostgreSQL. The example needs a
// server, so it has no output to check.
func Example() {
	ctx := context.Background()
	store, err := pgstore.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil { // creates the table once
		log.Fatal(err)
	}
	mw, err := sessionmw.New([]byte(os.Getenv("SESSION_SECRET")), sessionmw.WithStore(store))
	if err != nil {
		log.Fatal(err)
	}
	defer mw.Close()
	http.Handle("/", mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionmw.FromRequest(r).GetSession()
		n, _ := sessionmw.Get[int](s, "visits")
		s.Set("visits", n+1)
	})))
}
