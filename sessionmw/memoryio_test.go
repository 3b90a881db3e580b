package sessionmw_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/storetest"
)

func TestMemoryIOConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) sessionmw.Store {
		s := sessionmw.NewMemoryIO()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestRistrettoConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) sessionmw.Store {
		s, err := sessionmw.NewRistrettoStore(64 << 20)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestNewRistrettoStoreRejectsTinyBudget(t *testing.T) {
	if _, err := sessionmw.NewRistrettoStore(100); err == nil {
		t.Fatal("NewRistrettoStore(100) succeeded, want an error")
	}
}

// TestRistrettoBudget fills a small budget: older sessions are evicted
// (documented), every write reported as a success is loadable right after,
// and a session larger than the whole budget is refused with ErrStoreFull.
func TestRistrettoBudget(t *testing.T) {
	s, err := sessionmw.NewRistrettoStore(1 << 16)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	big := make([]byte, 2000)
	for i := range 200 {
		id := fmt.Sprintf("id%d", i)
		err := s.Save(ctx, id, sessionmw.Update{Replace: true, Set: []sessionmw.Entry{{Key: "b", Value: big}}}, time.Hour)
		if err != nil && !errors.Is(err, sessionmw.ErrStoreFull) {
			t.Fatalf("save %d: %v", i, err)
		}
		if err == nil {
			if r, _ := s.Load(ctx, id); r == nil {
				t.Fatalf("save %d reported success but the session is not loadable", i)
			}
		}
	}
	live := 0
	for i := range 200 {
		if r, _ := s.Load(ctx, fmt.Sprintf("id%d", i)); r != nil {
			live++
		}
	}
	if live == 0 || live > (1<<16)/2000 {
		t.Fatalf("%d sessions of 2 KB live in a 64 KiB budget", live)
	}
	huge := make([]byte, 100_000)
	err = s.Save(ctx, "huge", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{{Key: "b", Value: huge}}}, time.Hour)
	if !errors.Is(err, sessionmw.ErrStoreFull) {
		t.Fatalf("session over the whole budget: err = %v, want ErrStoreFull", err)
	}
}

func TestMemoryIOExpiryAndSweep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(time.Minute))
		defer s.Close()
		ctx := context.Background()
		if err := s.Save(ctx, "a", sessionmw.Update{Replace: true}, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(ctx, "b", sessionmw.Update{Replace: true}, time.Hour); err != nil {
			t.Fatal(err)
		}
		time.Sleep(29 * time.Second)
		if r, _ := s.Load(ctx, "a"); r == nil {
			t.Fatal("expired 1 s before its TTL")
		}
		time.Sleep(2 * time.Second)
		if r, _ := s.Load(ctx, "a"); r != nil {
			t.Fatal("still loadable after its TTL")
		}
		if s.Len() != 2 {
			t.Fatalf("Len = %d before the sweep, want 2", s.Len())
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if s.Len() != 1 {
			t.Fatalf("Len = %d after the sweep, want 1", s.Len())
		}
	})
}

// At the cap, a new session pushes out the oldest unproven one instead of
// being refused; existing sessions keep working, and deleting frees a
// slot.
func TestMemoryIOMaxEntries(t *testing.T) {
	s := sessionmw.NewMemoryIO(sessionmw.WithMaxEntries(2), sessionmw.WithProbation(2), sessionmw.WithSweepInterval(0))
	defer s.Close()
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		if err := s.Save(ctx, id, sessionmw.Update{Replace: true}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if r, _ := s.Load(ctx, "a"); r != nil || s.Len() != 2 {
		t.Fatalf("after a third session: the oldest still loads (%v) or Len = %d, want 2", r != nil, s.Len())
	}
	if err := s.Save(ctx, "b", sessionmw.Update{Set: []sessionmw.Entry{{Key: "k", Value: 1}}}, time.Hour); err != nil {
		t.Fatalf("update at the cap: %v", err)
	}
	if err := s.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "d", sessionmw.Update{Replace: true}, time.Hour); err != nil || s.Len() != 2 {
		t.Fatalf("after a delete: %v, Len = %d", err, s.Len())
	}
}

func TestMemoryIOCloseStopsSweeper(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 20 {
		s := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(time.Millisecond))
		s.Close()
		s.Close() // idempotent
		if _, err := s.Load(context.Background(), "x"); !errors.Is(err, sessionmw.ErrStoreClosed) {
			t.Fatalf("Load after Close: err = %v, want ErrStoreClosed", err)
		}
	}
	// Other tests' goroutines may still be winding down: wait for the
	// count to settle rather than compare one instant.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutines: %d before, %d after closing 20 stores", before, after)
	}
}
