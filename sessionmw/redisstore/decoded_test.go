package redisstore

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/sessionmw/go/internal/redistest"
	"github.com/sessionmw/go/sessionmw"
)

func TestDecodedCacheBounded(t *testing.T) {
	c := newDecodedCache(3)
	rec := &sessionmw.Record{}
	for i := range 10 {
		id := fmt.Sprint(i)
		c.put(id, decoded{rec: rec})
		if _, ok := c.get(id); !ok {
			t.Fatalf("%s not kept right after put", id)
		}
		if n := c.size(); n > 3 {
			t.Fatalf("%d sessions kept, limit 3", n)
		}
	}
	c.put("9", decoded{rec: rec}) // replacing needs no room
	if n := c.size(); n != 3 {
		t.Fatalf("%d sessions kept after replacing one, want 3", n)
	}
	c.drop("9")
	if _, ok := c.get("9"); ok || c.size() != 2 {
		t.Fatalf("after drop: kept %v, size %d; want gone, 2", ok, c.size())
	}
}

// openStore returns a Store on srv that the test closes.
func openStore(t *testing.T, srv *redistest.Server, opts ...Option) *Store {
	t.Helper()
	s, err := New(context.Background(), srv.URL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func load(t *testing.T, s *Store, id string) *sessionmw.Record {
	t.Helper()
	r, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return r
}

func save(t *testing.T, s *Store, id string, u sessionmw.Update) {
	t.Helper()
	if err := s.Save(context.Background(), id, u, time.Hour); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

func set(kv ...any) []sessionmw.Entry {
	var es []sessionmw.Entry
	for i := 0; i < len(kv); i += 2 {
		es = append(es, sessionmw.Entry{Key: kv[i].(string), Value: kv[i+1]})
	}
	return es
}

// waitLoad loads id from s until want holds: invalidations are pushed by
// the server asynchronously.
func waitLoad(t *testing.T, s *Store, id, what string, want func(*sessionmw.Record) bool) *sessionmw.Record {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := load(t, s, id)
		if want(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("still loading %+v: %s not seen within 5s", r, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// warm loads id from s until the decoded Record is reused (the first
// loads fill valkey-go's cache and then this one), and returns it.
func warm(t *testing.T, s *Store, id string) *sessionmw.Record {
	t.Helper()
	prev := load(t, s, id)
	for range 10 {
		r := load(t, s, id)
		if r == prev {
			return r
		}
		prev = r
	}
	t.Fatal("cached loads never returned the same decoded Record")
	return nil
}

func valueOf(r *sessionmw.Record, key string) any {
	v, _ := r.Get(key)
	return v
}

func TestLoadReusesDecodedRecord(t *testing.T) {
	srv := redistest.Start(t)
	a := openStore(t, srv, WithPrefix("dr:"))                               // another instance
	b := openStore(t, srv, WithPrefix("dr:"), WithClientCache(time.Minute)) // the one under test
	save(t, a, "id", sessionmw.Update{Replace: true, Set: set("v", 1, "m", map[string]any{"k": "x"}), Meta: sessionmw.Meta{Created: 7}})

	old := warm(t, b, "id")
	snapshot := *old
	snapshot.Values = append([]sessionmw.Entry(nil), old.Values...)
	for range 20 {
		if r := load(t, b, "id"); r != old {
			t.Fatal("a cached load decoded again although the reply had not changed")
		}
	}

	t.Run("another client's write", func(t *testing.T) {
		save(t, a, "id", sessionmw.Update{Set: set("v", 2), Meta: sessionmw.Meta{Created: 7}})
		r := waitLoad(t, b, "id", "a's Save", func(r *sessionmw.Record) bool { return valueOf(r, "v") == 2 })
		if r == old {
			t.Fatal("the new data came in the old Record")
		}
		if !reflect.DeepEqual(*old, snapshot) {
			t.Fatalf("a Record already returned changed: %+v, was %+v", *old, snapshot)
		}
		if got := valueOf(warm(t, b, "id"), "m"); !reflect.DeepEqual(got, map[string]any{"k": "x"}) {
			t.Fatalf("m = %v after reuse, want the saved map", got)
		}
	})
	t.Run("a raw write", func(t *testing.T) {
		warm(t, b, "id")
		if err := a.client.Do(context.Background(), a.client.B().Hset().Key("dr:session:id").FieldValue().FieldValue("m:created", "99").Build()).Error(); err != nil {
			t.Fatal(err)
		}
		waitLoad(t, b, "id", "the HSET", func(r *sessionmw.Record) bool { return r.Meta.Created == 99 })
	})
	t.Run("another client's delete", func(t *testing.T) {
		warm(t, b, "id")
		if err := a.Delete(context.Background(), "id"); err != nil {
			t.Fatal(err)
		}
		waitLoad(t, b, "id", "a's Delete", func(r *sessionmw.Record) bool { return r == nil })
		if _, ok := b.decoded.get("id"); ok {
			t.Fatal("the Record of a session found gone is still kept")
		}
	})
}

// A Store's own Save or Delete forgets the Record it kept, and its next
// Load returns the new data at once.
func TestDecodedForgetsOwnWrites(t *testing.T) {
	srv := redistest.Start(t)
	a := openStore(t, srv, WithPrefix("dw:"))
	b := openStore(t, srv, WithPrefix("dw:"), WithClientCache(time.Minute))
	save(t, a, "id", sessionmw.Update{Replace: true, Set: set("v", 1)})
	warm(t, b, "id")

	save(t, b, "id", sessionmw.Update{Set: set("v", 2)})
	if _, ok := b.decoded.get("id"); ok {
		t.Fatal("Save kept the Record decoded before it")
	}
	if v := valueOf(load(t, b, "id"), "v"); v != 2 {
		t.Fatalf("v = %v right after saving 2", v)
	}

	// Past the own-write window, loads use the caches again.
	time.Sleep(2 * ownWriteWindow)
	if v := valueOf(warm(t, b, "id"), "v"); v != 2 {
		t.Fatalf("v = %v from the caches, want 2", v)
	}
	if err := b.Delete(context.Background(), "id"); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.decoded.get("id"); ok {
		t.Fatal("Delete kept the Record decoded before it")
	}
	if r := load(t, b, "id"); r != nil {
		t.Fatalf("Load right after Delete = %+v, want nil", r)
	}
}

func TestDecodedBoundedInStore(t *testing.T) {
	srv := redistest.Start(t)
	a := openStore(t, srv, WithPrefix("db:"))
	b := openStore(t, srv, WithPrefix("db:"), WithClientCache(time.Minute))
	b.decoded = newDecodedCache(2)
	const n = 6
	for i := range n {
		save(t, a, fmt.Sprint(i), sessionmw.Update{Replace: true, Set: set("i", i)})
	}
	for range 3 {
		for i := range n {
			if v := valueOf(load(t, b, fmt.Sprint(i)), "i"); v != i {
				t.Fatalf("session %d: i = %v", i, v)
			}
			if k := b.decoded.size(); k > 2 {
				t.Fatalf("%d Records kept, limit 2", k)
			}
		}
	}
}

// Two Stores sharing one client, under different prefixes, each load
// their own session of the same id: what one keeps never answers the
// other.
func TestDecodedPerStore(t *testing.T) {
	srv := redistest.Start(t)
	client, err := valkey.NewClient(valkey.ClientOption{InitAddress: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	p := NewFromClient(client, WithPrefix("p:"), WithClientCache(time.Minute))
	q := NewFromClient(client, WithPrefix("q:"), WithClientCache(time.Minute))
	w := openStore(t, srv) // writes both, so that p and q use their caches at once
	for _, s := range []*Store{p, q} {
		wp := NewFromClient(w.client, WithPrefix(s.prefix))
		save(t, wp, "id", sessionmw.Update{Replace: true, Set: set("prefix", s.prefix)})
	}
	for range 20 {
		for _, s := range []*Store{p, q} {
			if v := valueOf(load(t, s, "id"), "prefix"); v != s.prefix {
				t.Fatalf("Store %q loads the session of Store %q", s.prefix, v)
			}
		}
	}
}

// Loads racing with another client's writes never see a mixed Record, and
// see the last write in the end.
func TestDecodedConcurrent(t *testing.T) {
	srv := redistest.Start(t)
	a := openStore(t, srv, WithPrefix("dc:"))
	b := openStore(t, srv, WithPrefix("dc:"), WithClientCache(time.Minute))
	const rounds = 200
	save(t, a, "id", sessionmw.Update{Replace: true, Set: set("x", 0, "y", 0)})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := b.Load(context.Background(), "id")
				if err != nil {
					errs <- err
					return
				}
				if x, y := valueOf(r, "x"), valueOf(r, "y"); x != y {
					errs <- fmt.Errorf("mixed Record: x = %v, y = %v", x, y)
					return
				}
			}
		})
	}
	for i := 1; i <= rounds; i++ {
		save(t, a, "id", sessionmw.Update{Replace: true, Set: set("x", i, "y", i)})
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitLoad(t, b, "id", "the last write", func(r *sessionmw.Record) bool { return valueOf(r, "x") == rounds })
}
