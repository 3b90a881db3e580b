// Package redisstore keeps sessionmw sessions in Redis or Valkey, through
// the valkey-go client. It implements [sessionmw.Store] and
// [sessionmw.SubjectIndex], and passes the conformance suite in package
// sessionmw/storetest.
//
//	store, err := redisstore.New(ctx, "redis://localhost:6379/0")
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//
// [New] takes a redis:// or rediss:// URL, [NewCluster] the addresses of
// Redis Cluster nodes, and [NewFromClient] a valkey.Client the caller
// configured and keeps owning.
//
// # Layout
//
// Each session is one Redis hash under the key prefix+"session:"+id
// (prefix is [DefaultPrefix] unless [WithPrefix] says otherwise). Each
// application value is one field, named "v:" followed by the value's key
// and holding the value as encoded by the [Codec]. The middleware's
// metadata ([sessionmw.Meta]) lives in reserved fields: "m:created",
// "m:issued" and "m:saved" (decimal Unix nanoseconds), "m:successor",
// "m:subject", "m:credential", "m:audience", "m:remember", "m:bind", "m:sealed", "m:deadline" and "m:persist" (as they are),
// and "m:groups", each group as its length in bytes, a colon and its bytes
// ("6:admins3:ops"), which keeps any string exactly. No application key can
// produce a reserved name. Load ignores reserved fields it does not know,
// so that a later version can add some.
//
// The index of a subject's sessions (below) is a sorted set under
// prefix+"subject:"+subject. Neither "session:" nor "subject:" starts the
// other, so no id and no subject, whatever characters it holds (colons,
// braces, anything), can name a key of the other kind.
//
// # Atomic writes and no lost updates
//
// Every Save is one Lua script, run with EVALSHA, that applies the update
// and sets the TTL in one atomic step, so no key ever exists without an
// expiry (a session with a subject also updates its subject's index, see
// below):
//
//   - a delta (Update.Replace false) first checks that the hash exists: if
//     the session expired or a concurrent logout deleted it, the script
//     changes nothing and Save returns an error wrapping
//     [sessionmw.ErrNotFound], so the session is not resurrected;
//     otherwise it HDELs the deleted fields, HSETs the set fields and the
//     metadata, and PEXPIREs the key;
//   - a replacement DELs the key, then HSETs and PEXPIREs it.
//
// A delta touches only the fields it names, so two requests that change
// different keys of one session at the same time both persist. Two that
// change the same key still race: the last write wins.
//
// # Sessions by subject
//
// [Store.SubjectSessions] lists a subject's live sessions (the middleware
// uses it to cap and revoke a user's sessions) without scanning the
// keyspace. Every Save of a session whose Meta.Subject is set also runs,
// in the same round trip, a second script on the subject's index: a
// sorted set whose members are session ids, each scored by the time (Unix
// milliseconds, by the server's clock) until which it must be kept, the
// session's expiry plus a second of slack. A score never goes down, since
// a concurrent Save may have given the session a longer TTL; the script
// also prunes members whose time has passed, and keeps the index key's
// own TTL at least as long as its longest member, so that an index
// expires with its last session.
//
// The index is a separate key and a separate command, not part of the
// session's script, because in a Redis Cluster the two keys are in
// different slots (and a script touching both would fail with CROSSSLOT).
// It is therefore advisory: SubjectSessions prunes the index, reads every
// listed session's metadata in one pipeline (two round trips in all,
// however many sessions), and leaves out, and removes from the index,
// every session that is gone or whose subject is now another. It never
// returns a session that expired or was deleted. The list is ordered by
// Meta.Created, then by id.
//
// Delete takes the id out of its subject's index. A Save that changes a
// session's subject takes it out of the old subject's index, and
// SubjectSessions removes the entries it finds stale, but only while an
// entry's score is still the one read: every Save raises the score, so a
// session saved again meanwhile keeps its entry. If the index update of a
// Save fails, Save returns an error even though the session was stored; a
// later Save indexes it again.
//
// # Client-side caching
//
// [WithClientCache] answers loads from a copy kept in process memory,
// using server-assisted client-side caching: valkey-go speaks RESP3 and
// opts in to CLIENT TRACKING for each cached HGETALL, and the server pushes
// an invalidation to every client holding a copy as soon as the key
// changes, whoever changed it. Another instance's write is therefore seen
// as soon as its invalidation arrives; a Store's own writes are seen at
// once. A cached copy never outlives the key's TTL, nor the cache TTL
// given to WithClientCache, whether or not an invalidation arrives: that
// TTL bounds how long a session revoked through another instance can
// still be accepted by this one. A Load given the same cached reply as
// before returns the Record it decoded then, without decoding the values
// again.
//
// # Errors
//
// Errors name the operation, the server address and a fingerprint of the
// session id or subject (the first 8 hex digits of its SHA-256), never the
// id or subject itself and never a password. Every call runs under
// context.WithTimeout with the per-operation timeout ([DefaultTimeout], or
// [WithTimeout]). An unreachable server, a lost connection, a timeout or a
// server that is loading or failing over gives an error wrapping
// [sessionmw.ErrStoreUnavailable] together with the underlying error, so
// errors.Is works for both; a server out of memory with the noeviction
// policy gives [sessionmw.ErrStoreFull]; a Store used after Close gives
// [sessionmw.ErrStoreClosed]. When the caller's context is canceled, the
// error wraps context.Canceled and not ErrStoreUnavailable. Data that does
// not decode makes Load return an error, and is left as it is.
//
// Failures are fast when they can be: with the server down (connections
// refused, or the host unreachable at once) every call fails within a
// millisecond or so, so a request gets its 503 at once rather than after
// the timeout; a connection broken by a restart is retried once on a new
// one. A server that is slow or paused (it accepts connections but does
// not answer) gets the whole timeout. (This is the retry policy of the
// clients New and NewCluster create; a client given to NewFromClient keeps
// its own, and valkey-go's default retries a read until its deadline.)
//
// The client reconnects by itself: once a stopped server is back, calls
// succeed again without a new Store.
//
// # Memory limits and eviction
//
// Every key the Store writes has a TTL (sessions, and subject indexes,
// which outlive their longest session by a second). What happens when
// Redis reaches maxmemory depends on its maxmemory-policy:
//
//   - noeviction (Redis's default): writes that need memory fail with OOM,
//     which Save reports as [sessionmw.ErrStoreFull] (the middleware answers
//     503): new visitors, logins and saves fail until keys expire, while
//     loads, deletes and so logouts keep working. Nobody is logged out,
//     and nothing is lost silently. Choose it when Redis is sized for the
//     sessions and refusing is better than forgetting, and whenever the
//     same Redis holds revocation entries (cookie storage's revocation
//     store) or remember-me tokens you cannot afford to lose.
//   - volatile-lru (or volatile-lfu): Redis evicts the keys used least
//     recently (least often), among those with a TTL. An evicted session
//     is a logout: its next request starts a fresh session, with no error.
//     Sessions that are read keep being used, so under a flood of new
//     sessions (each written once, never read again) the flood's own keys
//     and idle users' sessions go first; LFU protects returning users
//     better still, since a new key starts with a low count.
//   - volatile-ttl: Redis evicts the keys closest to expiry first: renewal
//     grace records and retired ids (seconds to a minute), then the
//     sessions idle the longest (a session's TTL restarts at each save or
//     touch). A subject's index expires after its sessions, so it is
//     evicted last.
//
// allkeys-* policies evict keys without a TTL as well: keep them for a
// Redis that holds sessions only. Eviction is a logout for the users it
// hits, and more: an evicted remember-me token ends remember-me, and an
// evicted revocation entry un-revokes the session it revoked (cookie
// storage), so keep those on a Redis with noeviction.
//
// The subject index under eviction: an evicted session's entry is pruned
// when SubjectSessions meets it, as after an expiry. An evicted index key
// (any policy but noeviction may pick it) hides its subject's sessions
// from SubjectSessions until their next save indexes them again, so
// [sessionmw.Middleware.RevokeSubject] and per-subject caps miss them
// meanwhile. If you rely on those, use noeviction, or volatile-ttl with
// headroom, and watch Redis's evicted_keys.
//
// # Values
//
// The default [GobCodec] keeps Go types: an int comes back as an int.
// Types of your own must be registered with gob.Register. [WithCodec]
// replaces it.
package redisstore
