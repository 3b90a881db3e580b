package redisstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/redisstore"
)

// This example needs a server: it uses $REDIS_URL, or redis://localhost:6379.
// It has no Output line, so go test compiles it without running it.
func Example() {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://localhost:6379/0"
	}
	ctx := context.Background()
	store, err := redisstore.New(ctx, url,
		redisstore.WithPrefix("myapp:"),
		redisstore.WithTimeout(500*time.Millisecond),
		redisstore.WithClientCache(time.Minute),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	// Create a session...
	err = store.Save(ctx, "some-session-id", sessionmw.Update{
		Replace: true,
		Set:     []sessionmw.Entry{{Key: "user", Value: 42}},
		Meta:    sessionmw.Meta{Created: time.Now().UnixNano()},
	}, 30*time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	// ...change one key of it, leaving the others as they are...
	err = store.Save(ctx, "some-session-id", sessionmw.Update{
		Set: []sessionmw.Entry{{Key: "theme", Value: "dark"}},
	}, 30*time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	// ...and read it back: the int is still an int.
	rec, err := store.Load(ctx, "some-session-id")
	if err != nil {
		log.Fatal(err)
	}
	user, _ := rec.Get("user")
	fmt.Printf("user %d (%T)\n", user, user)
}

// A Store on a Redis Cluster: the first node's address is enough, the
// client discovers the others.
func ExampleNewCluster() {
	store, err := redisstore.NewCluster(context.Background(), []string{"127.0.0.1:7000"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
}
