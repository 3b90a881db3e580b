package redisstore

import (
	"sync"

	"github.com/valkey-io/valkey-go"

	"github.com/sessionmw/go/sessionmw"
)

// decodedMax bounds the records a Store keeps decoded (see decodedCache).
// A session beyond it is still served from the client-side cache, only
// decoded on every Load. WithClientCache documents the figure.
const decodedMax = 10_000

// decodedCache keeps, for the sessions a Store with client-side caching
// loaded last, the reply each Load decoded and the Record it gave, so that
// a Load given the same reply again by valkey-go's cache returns that
// Record instead of decoding every value again. Records are immutable once
// built, so sharing one between Loads is what sessionmw.Store allows.
//
// A reply is recognised with ==: two valkey.ValkeyMessages are equal when
// they have the same type, length and attributes and point to the same
// memory. The kept copy keeps that memory alive, so it cannot have been
// reused for another reply, and valkey-go never changes a reply once it
// has returned it (the strings its accessors return, which the decoded
// Records hold too, point into it). Equal thus means the same data. A
// cache hit returns the very reply valkey-go stored; any other reply, even
// one with the same content, is decoded again: how valkey-go manages its
// memory can cost speed, never correctness.
//
// The cache holds at most limit sessions, forgetting an arbitrary one to
// make room, and forgets a session as soon as its Store writes it or finds
// it gone.
type decodedCache struct {
	limit int

	mu sync.RWMutex
	m  map[string]decoded // by session id
}

// decoded is what decodedCache keeps for one session.
type decoded struct {
	key   string               // the session's key, to save building it
	reply valkey.ValkeyMessage // what rec was decoded from
	rec   *sessionmw.Record
}

func newDecodedCache(limit int) *decodedCache {
	return &decodedCache{limit: limit, m: make(map[string]decoded)}
}

// get returns what c keeps for id.
func (c *decodedCache) get(id string) (decoded, bool) {
	c.mu.RLock()
	d, ok := c.m[id]
	c.mu.RUnlock()
	return d, ok
}

// put keeps d for id.
func (c *decodedCache) put(id string, d decoded) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; !ok && len(c.m) >= c.limit {
		for old := range c.m { // map order: an arbitrary victim
			delete(c.m, old)
			break
		}
	}
	c.m[id] = d
}

// drop forgets id.
func (c *decodedCache) drop(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// size returns how many sessions c keeps.
func (c *decodedCache) size() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
