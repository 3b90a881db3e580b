package redisstore

import (
	"context"
	"sync"
	"time"
)

// lazyDeadline is context.WithDeadline(parent, d) whose context, timer
// included, is only built when something asks for Done, Err or Value. A
// Load answered from the client-side cache asks for none of them and so
// costs no timer; a call that waits on the server asks for Done first, and
// from then on every method answers from the real context. Either way the
// deadline is fixed when lazyDeadline is created, as with WithDeadline.
type lazyDeadline struct {
	parent   context.Context
	deadline time.Time

	mu      sync.Mutex
	ctx     context.Context // nil until first needed
	cancel  context.CancelFunc
	stopped bool
}

var _ context.Context = (*lazyDeadline)(nil)

// newLazyDeadline bounds parent by now+timeout (or by parent's own
// deadline, if earlier). Call stop when the operation is over.
func newLazyDeadline(parent context.Context, now time.Time, timeout time.Duration) *lazyDeadline {
	d := now.Add(timeout)
	if pd, ok := parent.Deadline(); ok && pd.Before(d) {
		d = pd
	}
	return &lazyDeadline{parent: parent, deadline: d}
}

// Deadline implements context.Context.
func (c *lazyDeadline) Deadline() (time.Time, bool) { return c.deadline, true }

// Done implements context.Context.
func (c *lazyDeadline) Done() <-chan struct{} { return c.built().Done() }

// Err implements context.Context.
func (c *lazyDeadline) Err() error { return c.built().Err() }

// Value implements context.Context. It goes through the built context too,
// so that the context package recognises it as the parent of contexts
// derived from c (and context.Cause sees its cause).
func (c *lazyDeadline) Value(key any) any { return c.built().Value(key) }

// stop is the context's cancel function: it releases the timer, if one was
// built, and cancels c as a CancelFunc would.
func (c *lazyDeadline) stop() {
	c.mu.Lock()
	c.stopped = true
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (c *lazyDeadline) built() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		c.ctx, c.cancel = context.WithDeadline(c.parent, c.deadline)
		if c.stopped {
			c.cancel() // used after stop: canceled, as after a CancelFunc
		}
	}
	return c.ctx
}
