package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionmw/go/internal/pgtest"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/pgstore"
)

// TestKill9Outage kills the server (postmaster and backends, SIGKILL)
// while writers increment their own keys of one session, and checks that
// every call then fails fast with ErrStoreUnavailable, without the id in
// the error; that the same Store recovers once the server is back, with
// no restart of its own; and that no acknowledged write was lost.
func TestKill9Outage(t *testing.T) {
	srv := pgtest.Start(t)
	const timeout = 2 * time.Second // the default: failing fast must not depend on it
	s := newStore(t, srv, pgstore.WithTimeout(timeout), pgstore.WithTable("outage"))
	ctx := context.Background()
	// The id is its own subject too: neither may leak.
	mustSave(t, s, secretID, sessionmw.Update{Replace: true, Meta: as(secretID, 1)}, time.Hour)

	const writers = 4
	var acked [writers]atomic.Int64 // last value each writer's Save returned nil for
	var stop atomic.Bool
	var wg sync.WaitGroup
	unexpected := make(chan error, writers)
	for w := range writers {
		key := fmt.Sprint("k", w)
		wg.Go(func() {
			for {
				r, err := s.Load(ctx, secretID)
				if err == nil && r != nil {
					n, _ := r.Get(key)
					i, _ := n.(int)
					err = s.Save(ctx, secretID, sessionmw.Update{Set: []sessionmw.Entry{e(key, i+1)}, Meta: as(secretID, 1)}, time.Hour)
					if err == nil {
						acked[w].Store(int64(i + 1))
						if stop.Load() {
							return // stop after an acknowledged write
						}
						continue
					}
				}
				if err != nil && !errors.Is(err, sessionmw.ErrStoreUnavailable) {
					unexpected <- fmt.Errorf("%s: %v", key, err)
					return
				}
				time.Sleep(2 * time.Millisecond) // the server is down: do not spin
			}
		})
	}
	waitAcks := func(min int64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for w := range writers {
			for acked[w].Load() < min {
				if time.Now().After(deadline) {
					t.Fatalf("writer %d acknowledged %d writes, want %d", w, acked[w].Load(), min)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	waitAcks(20)

	srv.Kill()
	killed := time.Now()
	var atKill [writers]int64
	for w := range writers {
		atKill[w] = acked[w].Load() // acknowledged no later than the kill
	}
	ops := []struct {
		name string
		call func() error
	}{
		{"load", func() error { _, err := s.Load(ctx, secretID); return err }},
		{"save", func() error {
			return s.Save(ctx, secretID, sessionmw.Update{Set: []sessionmw.Entry{e("x", 1)}, Meta: as(secretID, 1)}, time.Hour)
		}},
		{"delete", func() error { return s.Delete(ctx, secretID) }},
		{"list", func() error { _, err := s.SubjectSessions(ctx, secretID); return err }},
	}
	var slowest time.Duration
	for _, op := range ops {
		start := time.Now()
		err := op.call()
		elapsed := time.Since(start)
		slowest = max(slowest, elapsed)
		switch {
		case err == nil:
			t.Fatalf("%s with the server killed: no error", op.name)
		case !errors.Is(err, sessionmw.ErrStoreUnavailable):
			t.Errorf("%s: %v does not wrap ErrStoreUnavailable", op.name, err)
		case !strings.Contains(err.Error(), op.name+" session") || !strings.Contains(err.Error(), srv.Addr()):
			t.Errorf("%s: %q does not name the operation and %s", op.name, err, srv.Addr())
		case strings.Contains(err.Error(), secretID):
			t.Errorf("%s: %q contains the session id", op.name, err)
		}
		// A refused connection fails at once: far below the timeout.
		if elapsed > timeout/4 {
			t.Errorf("%s failed after %v: not fast (timeout %v)", op.name, elapsed, timeout)
		}
	}
	detected := time.Since(killed)

	beforeRestart := time.Now()
	srv.Restart() // same port and data, through crash recovery
	restarted := time.Now()
	var recovered time.Duration
	for {
		r, err := s.Load(ctx, secretID)
		if err == nil && r != nil {
			recovered = time.Since(restarted)
			for w := range writers {
				got, _ := r.Get(fmt.Sprint("k", w))
				if n, _ := got.(int); int64(n) < atKill[w] {
					t.Errorf("k%d = %v after the restart, but %d was acknowledged before the kill", w, got, atKill[w])
				}
			}
			break
		}
		if time.Since(restarted) > 10*time.Second {
			t.Fatalf("the Store did not recover within 10s of the restart: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	waitAcks(atKill[0] + 20) // writers go on through the same Store
	stop.Store(true)
	wg.Wait()
	close(unexpected)
	for err := range unexpected {
		t.Error(err)
	}
	r := mustLoad(t, s, secretID)
	for w := range writers {
		if got, _ := r.Get(fmt.Sprint("k", w)); got != int(acked[w].Load()) {
			t.Errorf("k%d = %v, want %d, the last value acknowledged", w, got, acked[w].Load())
		}
	}
	t.Logf("kill -9: every operation failed with ErrStoreUnavailable within %v after the kill (slowest call %v, timeout %v); "+
		"the server took %v to come back (crash recovery), and the same Store served again %v after that; "+
		"%d writers lost no acknowledged write",
		detected, slowest, timeout, restarted.Sub(beforeRestart), recovered, writers)
}

// TestHungServer freezes the server (SIGSTOP): connections stay open but
// nothing is answered. Every call must give up at the timeout with
// ErrStoreUnavailable and context.DeadlineExceeded, and the Store must
// work again once the server resumes.
func TestHungServer(t *testing.T) {
	srv := pgtest.Start(t)
	const timeout = 300 * time.Millisecond
	s := newStore(t, srv, pgstore.WithTimeout(timeout))
	mustSave(t, s, secretID, sessionmw.Update{Replace: true, Meta: as(secretID, 1)}, time.Hour)
	srv.Pause()
	resumed := false
	defer func() {
		if !resumed {
			srv.Resume()
		}
	}()
	ctx := context.Background()
	ops := []struct {
		name string
		call func() error
	}{
		{"load", func() error { _, err := s.Load(ctx, secretID); return err }},
		{"save", func() error { return s.Save(ctx, secretID, sessionmw.Update{}, time.Hour) }},
		{"delete", func() error { return s.Delete(ctx, secretID) }},
		{"list", func() error { _, err := s.SubjectSessions(ctx, secretID); return err }},
	}
	for _, op := range ops {
		start := time.Now()
		err := op.call()
		if elapsed := time.Since(start); elapsed > timeout+time.Second {
			t.Errorf("%s took %v with a %v timeout", op.name, elapsed, timeout)
		}
		if !errors.Is(err, sessionmw.ErrStoreUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: err = %v, want ErrStoreUnavailable and DeadlineExceeded", op.name, err)
		}
	}
	srv.Resume()
	resumed = true
	deadline := time.Now().Add(5 * time.Second)
	for {
		if r, err := s.Load(ctx, secretID); err == nil && r != nil {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("no recovery within 5s of the resume: %v, %v", r, err)
		}
		time.Sleep(time.Millisecond)
	}
}
