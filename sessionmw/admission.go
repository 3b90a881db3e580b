package sessionmw

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Admission for the in-process stores (MemoryIO, RistrettoStore).
//
// A session that has not proven itself lives on probation, in a bounded
// space whose oldest sessions are evicted when it is full, instead of new
// sessions being refused. A session is proven, and protected from that
// eviction, once any of these holds:
//
//   - it is logged in (Meta.Subject is set);
//   - it was loaded after it was saved: the client came back with its
//     cookie;
//   - it is a renewal's successor (Meta.Created < Meta.Issued: the session
//     is older than its id);
//   - its id is a remember-me token ("remember:…") or a revocation entry
//     ("revoked:…"): evicting a revocation would un-revoke a session.
//
// A superseded record (Meta.Successor set) counts neither as probation
// nor as protected: it lives for a grace period only, and each one stands
// for a successor that is counted.

// admission classes of a stored record.
const (
	classProbation  uint8 = iota + 1 // not proven: evicted oldest first
	classProtected                   // proven: never evicted for a newcomer
	classSuperseded                  // renewed away: frozen, short-lived
)

// revokedPrefix starts the ids of revocation entries (see revocationKey).
const revokedPrefix = "revoked:"

// pinnedID reports ids whose records must never be evicted: remember-me
// tokens and revocation entries.
func pinnedID(id string) bool {
	return strings.HasPrefix(id, rememberPrefix) || strings.HasPrefix(id, revokedPrefix)
}

// admissionClass is the class of a record with metadata m saved under id;
// proven says the id held a live protected record already.
func admissionClass(id string, m *Meta, proven bool) uint8 {
	switch {
	case m.Successor != "":
		return classSuperseded
	case proven || m.Subject != "" || renewal(m) || pinnedID(id):
		return classProtected
	}
	return classProbation
}

// renewal reports a renewal's successor: its session is older than its id.
// Renewal is count-neutral (the old id is superseded right after and
// expires within the grace period), so a full store still takes it.
func renewal(m *Meta) bool { return m.Created < m.Issued }

// ticket is one entry of a probation queue: the key of a session on
// probation and the sequence number it was given when it entered, so that
// a ticket outlived by its session (promoted, deleted, replaced) is
// recognised as stale.
type ticket[K comparable] struct {
	key K
	seq uint32
}

// older reports whether sequence number a was issued before b, allowing
// for wrap-around.
func older(a, b uint32) bool { return int32(a-b) < 0 }

// probQueue is the order sessions entered probation, oldest first, shared
// by a store's shards: eviction takes the oldest session of the whole
// store. Push it under the lock of the session's shard, after storing the
// entry, so that whoever pops the ticket and then takes that lock finds
// the entry. Stale tickets are skipped when popped, and dropped by
// compact.
type probQueue[K comparable] struct {
	mu     sync.Mutex
	q      []ticket[K]
	head   int
	popped uint64 // tickets popped so far
	busy   atomic.Bool
}

func (p *probQueue[K]) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.q) - p.head
}

func (p *probQueue[K]) push(key K, seq uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.head > 0 && p.head >= len(p.q)/2 {
		// Reclaim the popped half before growing.
		n := copy(p.q, p.q[p.head:])
		clear(p.q[n:])
		p.q, p.head = p.q[:n], 0
	}
	p.q = append(p.q, ticket[K]{key, seq})
}

// front returns the oldest ticket's sequence number.
func (p *probQueue[K]) front() (uint32, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.head == len(p.q) {
		return 0, false
	}
	return p.q[p.head].seq, true
}

// pop removes and returns the oldest ticket.
func (p *probQueue[K]) pop() (ticket[K], bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.head == len(p.q) {
		return ticket[K]{}, false
	}
	t := p.q[p.head]
	p.q[p.head] = ticket[K]{} // release a string key
	p.head++
	p.popped++
	if p.head == len(p.q) {
		p.q, p.head = p.q[:0], 0
	}
	return t, true
}

// compact drops the tickets valid rejects. valid is called without the
// queue's lock (it takes shard locks), on a copy, while pushes and pops go
// on; one compaction runs at a time.
func (p *probQueue[K]) compact(valid func(ticket[K]) bool) {
	if !p.busy.CompareAndSwap(false, true) {
		return
	}
	defer p.busy.Store(false)
	p.mu.Lock()
	snap := append([]ticket[K](nil), p.q[p.head:]...)
	start := p.popped
	p.mu.Unlock()

	keep := make([]bool, len(snap))
	for i, t := range snap {
		keep[i] = valid(t)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	gone := int(min(p.popped-start, uint64(len(snap)))) // popped meanwhile
	later := p.q[p.head+len(snap)-gone:]                // pushed meanwhile
	q := make([]ticket[K], 0, len(snap)-gone+len(later)+64)
	for i := gone; i < len(snap); i++ {
		if keep[i] {
			q = append(q, snap[i])
		}
	}
	p.q, p.head = append(q, later...), 0
}

// evictionReason is the Reason reported for a session dropped at now: it
// expired, or it was evicted to make room.
func evictionReason(now, expires int64) string {
	if now >= expires {
		return "expired"
	}
	return "evicted"
}

// evictionBacklog is how many eviction reports a store queues for its
// listeners; when they fall further behind, reports are dropped (and
// counted) rather than holding up the requests that evict.
const evictionBacklog = 4096

// evictions delivers a store's Eviction reports to the functions
// registered with NotifyEvictions, from one goroutine of its own, started
// with the first registration and stopped by close.
type evictions struct {
	listeners atomic.Pointer[[]*evictionListener] // copy on write
	dropped   atomic.Uint64

	mu      sync.Mutex
	queue   chan Eviction
	stop    chan struct{}
	done    chan struct{}
	running bool
	closed  bool
}

type evictionListener struct {
	f       func(Eviction)
	stopped atomic.Bool
}

// register adds f; the returned function removes it. f is not called
// after stop returns, except for a call already under way.
func (n *evictions) register(f func(Eviction)) (stop func()) {
	l := &evictionListener{f: f}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return func() {}
	}
	n.setListeners(append(n.snapshot(), l))
	if !n.running {
		n.running = true
		n.queue = make(chan Eviction, evictionBacklog)
		n.stop = make(chan struct{})
		n.done = make(chan struct{})
		go n.deliver(n.queue, n.stop, n.done)
	}
	return func() {
		if l.stopped.Swap(true) {
			return
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		var keep []*evictionListener
		for _, x := range n.snapshot() {
			if x != l {
				keep = append(keep, x)
			}
		}
		n.setListeners(keep)
	}
}

func (n *evictions) snapshot() []*evictionListener {
	if p := n.listeners.Load(); p != nil {
		return append([]*evictionListener(nil), *p...)
	}
	return nil
}

func (n *evictions) setListeners(ls []*evictionListener) {
	if len(ls) == 0 {
		n.listeners.Store(nil)
		return
	}
	n.listeners.Store(&ls)
}

// active reports whether anyone listens: stores build reports only then.
func (n *evictions) active() bool { return n.listeners.Load() != nil }

// send queues ev for delivery, or drops it when the backlog is full. It
// never blocks, so it may be called from any goroutine holding no lock
// a listener could need.
func (n *evictions) send(ev Eviction) {
	n.mu.Lock()
	q := n.queue
	n.mu.Unlock()
	if q == nil {
		return
	}
	select {
	case q <- ev:
	default:
		n.dropped.Add(1)
	}
}

func (n *evictions) deliver(queue <-chan Eviction, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-stop:
			return
		case ev := <-queue:
			if p := n.listeners.Load(); p != nil {
				for _, l := range *p {
					if !l.stopped.Load() {
						l.f(ev)
					}
				}
			}
		}
	}
}

// close stops delivery and waits for the delivering goroutine to exit;
// undelivered reports are dropped. Later registrations are ignored.
func (n *evictions) close() {
	n.mu.Lock()
	n.closed = true
	running := n.running
	n.running = false
	n.queue = nil
	n.mu.Unlock()
	if running {
		close(n.stop)
		<-n.done
	}
	n.listeners.Store(nil)
}
