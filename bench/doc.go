// Package bench compares sessionmw with alexedwards/scs and
// gorilla/sessions, side by side, in one separate module so that the peers
// never enter the library's go.mod.
//
// The benchmarks are in the test files; bench/run runs them and rewrites
// the tables in ../BENCHMARKS.md, bench/load/run runs the wrk load test,
// and bench/flood/run floods the counter example with new sessions while
// real users keep using it (see package flood). Every contender serves the same counter handler (read "counter",
// optionally store counter+1, answer 204) through its idiomatic API:
//
//   - bare: the handler alone, no sessions (the baseline every overhead is
//     measured from);
//   - floor: the least a signed-cookie, server-side session can cost, written
//     here: r.Cookie, HMAC-SHA256 of the id with pooled hashers and
//     hmac.Equal, one map lookup under an RWMutex, r.WithContext;
//   - sessionmw: this repository's middleware on its MemoryIO store (or
//     redisstore, with and without client-side caching);
//   - scs: alexedwards/scs/v2 LoadAndSave on memstore (or redisstore);
//   - gorilla: gorilla/sessions CookieStore with an authentication key only
//     (signed, not encrypted, like sessionmw's cookie).
package bench
