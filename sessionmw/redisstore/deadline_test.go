package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"
)

type ctxKey struct{}

func TestLazyDeadlineDeadline(t *testing.T) {
	now := time.Now()
	c := newLazyDeadline(context.Background(), now, time.Second)
	if d, ok := c.Deadline(); !ok || !d.Equal(now.Add(time.Second)) {
		t.Fatalf("Deadline() = %v, %v; want now+1s, true", d, ok)
	}
	if c.ctx != nil {
		t.Fatal("Deadline built the context (and its timer)")
	}
	c.stop()

	// A parent with an earlier deadline keeps it; a later one does not.
	early, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	pd, _ := early.Deadline()
	if d, _ := newLazyDeadline(early, now, time.Hour).Deadline(); !d.Equal(pd) {
		t.Fatalf("Deadline() = %v, want the parent's earlier %v", d, pd)
	}
	late, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if d, _ := newLazyDeadline(late, now, time.Second).Deadline(); !d.Equal(now.Add(time.Second)) {
		t.Fatalf("Deadline() = %v, want now+1s, not the parent's later one", d)
	}
}

func TestLazyDeadlineExpires(t *testing.T) {
	c := newLazyDeadline(context.Background(), time.Now(), 20*time.Millisecond)
	defer c.stop()
	if err := c.Err(); err != nil {
		t.Fatalf("Err() before the deadline = %v", err)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed 5s after a 20ms deadline")
	}
	if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err() = %v, want DeadlineExceeded", err)
	}
	if err := context.Cause(c); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Cause = %v, want DeadlineExceeded", err)
	}
}

// The deadline counts from the time given to newLazyDeadline, not from
// when the context is first waited on.
func TestLazyDeadlineFixedAtStart(t *testing.T) {
	c := newLazyDeadline(context.Background(), time.Now().Add(-time.Second), 500*time.Millisecond)
	defer c.stop()
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed for a deadline already past")
	}
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err() = %v, want DeadlineExceeded", c.Err())
	}
}

func TestLazyDeadlineFollowsParent(t *testing.T) {
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
	c := newLazyDeadline(parent, time.Now(), time.Hour)
	defer c.stop()
	if v := c.Value(ctxKey{}); v != "v" {
		t.Fatalf("Value = %v, want the parent's", v)
	}
	child, cancelChild := context.WithCancel(c) // derived after c is built
	defer cancelChild()
	cancel()
	for _, ctx := range []context.Context{c, child} {
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("canceling the parent did not cancel the context")
		}
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("Err() = %v, want Canceled", ctx.Err())
		}
	}
}

func TestLazyDeadlineStop(t *testing.T) {
	t.Run("after use", func(t *testing.T) {
		c := newLazyDeadline(context.Background(), time.Now(), time.Hour)
		done := c.Done()
		c.stop()
		select {
		case <-done:
		default:
			t.Fatal("stop did not cancel the context")
		}
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err() after stop = %v, want Canceled", c.Err())
		}
	})
	t.Run("before use", func(t *testing.T) {
		c := newLazyDeadline(context.Background(), time.Now(), time.Hour)
		c.stop()
		if c.ctx != nil {
			t.Fatal("stop built the context")
		}
		// Used after stop (by something that kept it): canceled, as a
		// context is after its CancelFunc.
		select {
		case <-c.Done():
		default:
			t.Fatal("Done after stop is not closed")
		}
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err() after stop = %v, want Canceled", c.Err())
		}
	})
}
