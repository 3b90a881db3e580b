package redisstore

import (
	"sync"
	"time"
)

// ownWriteWindow is how long after a Save or Delete through a Store its
// Loads of that id bypass the client-side cache. The server pushes the
// invalidation for a write at the same moment it answers the write, but
// possibly on another connection of the client, whose reader may process
// it a little after the writer has its answer; during that gap the cached
// copy is stale. A second is orders of magnitude more than the gap, and
// costs little: the write has invalidated the cached copy anyway.
const ownWriteWindow = time.Second

// recentWrites remembers the ids a Store wrote during the last one to two
// windows, in two generations, so that its memory is bounded by the write
// rate rather than by the number of sessions.
type recentWrites struct {
	window time.Duration

	mu        sync.Mutex
	start     time.Time // when cur began
	cur, prev map[string]struct{}
}

func newRecentWrites(window time.Duration, now time.Time) *recentWrites {
	return &recentWrites{window: window, start: now, cur: map[string]struct{}{}}
}

// add records a write of id.
func (r *recentWrites) add(id string) { r.addAt(id, time.Now()) }

func (r *recentWrites) addAt(id string, now time.Time) {
	r.mu.Lock()
	r.rotate(now)
	r.cur[id] = struct{}{}
	r.mu.Unlock()
}

// containsAt reports whether id was written within at least the window
// before now.
func (r *recentWrites) containsAt(id string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rotate(now)
	if _, ok := r.cur[id]; ok {
		return true
	}
	_, ok := r.prev[id]
	return ok
}

func (r *recentWrites) rotate(now time.Time) {
	age := now.Sub(r.start)
	if age < r.window {
		return
	}
	if age < 2*r.window {
		r.prev = r.cur
	} else {
		r.prev = nil
	}
	r.cur = make(map[string]struct{}, len(r.prev))
	r.start = now
}
