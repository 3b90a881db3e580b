// Package redisstore keeps sessionmw sessions in Redis or Valkey, through
// the valkey-go client. It implements [sessionmw.Store] and passes the
// conformance suite in package sessionmw/storetest.
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
// Each session is one Redis hash under the key prefix+id ([DefaultPrefix]
// unless [WithPrefix] says otherwise). Each application value is one field,
// named "v:" followed by the value's key and holding the value as encoded
// by the [Codec]. The middleware's metadata lives in the reserved fields
// "m:created", "m:issued" and "m:saved" (decimal Unix nanoseconds) and
// "m:successor"; no application key can produce a reserved name. Load
// ignores reserved fields it does not know, so that a later version can
// add some.
//
// # Atomic writes and no lost updates
//
// Every Save is one Lua script, run with EVALSHA, that applies the update
// and sets the TTL in one atomic step, so no key ever exists without an
// expiry:
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
// # Client-side caching
//
// [WithClientCache] answers loads from a copy kept in process memory,
// using server-assisted client-side caching: valkey-go speaks RESP3 and
// opts in to CLIENT TRACKING for each cached HGETALL, and the server pushes
// an invalidation to every client holding a copy as soon as the key
// changes, whoever changed it. Another instance's write is therefore seen
// as soon as its invalidation arrives; a Store's own writes are seen at
// once. A cached copy never outlives the key's TTL.
//
// # Errors
//
// Errors name the operation, the server address and a fingerprint of the
// session id (the first 8 hex digits of its SHA-256), never the id itself
// and never a password. Every call runs under context.WithTimeout with the
// per-operation timeout ([DefaultTimeout], or [WithTimeout]). An
// unreachable server, a lost connection, a timeout or a server that is
// loading or failing over gives an error wrapping
// [sessionmw.ErrStoreUnavailable] together with the underlying error, so
// errors.Is works for both; a server out of memory with the noeviction
// policy gives [sessionmw.ErrStoreFull]; a Store used after Close gives
// [sessionmw.ErrStoreClosed]. When the caller's context is canceled, the
// error wraps context.Canceled and not ErrStoreUnavailable. Data that does
// not decode makes Load return an error, and is left as it is.
//
// The client reconnects by itself: once a stopped server is back, calls
// succeed again without a new Store.
//
// # Values
//
// The default [GobCodec] keeps Go types: an int comes back as an int.
// Types of your own must be registered with gob.Register. [WithCodec]
// replaces it.
package redisstore
