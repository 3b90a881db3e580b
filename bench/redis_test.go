package bench

import (
	"context"
	"testing"
	"time"

	scsredis "github.com/alexedwards/scs/redisstore"
	"github.com/gomodule/redigo/redis"

	"github.com/sessionmw/go/bench/internal/redisserver"
	"github.com/sessionmw/go/sessionmw/redisstore"
)

// redisCacheTTL is how long sessionmw's client-side cache may keep a copy.
const redisCacheTTL = time.Minute

// redisLibs are the Redis-backed contenders on the server at addr. The
// bare baseline is the one of BenchmarkReturningRead/Write.
func redisLibs(addr string) []libMaker {
	url := "redis://" + addr + "/0"
	open := func(tb testing.TB, opts ...redisstore.Option) *redisstore.Store {
		tb.Helper()
		s, err := redisstore.New(context.Background(), url, opts...)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		return s
	}
	return []libMaker{
		{"sessionmw-redis", func(tb testing.TB) *lib {
			return sessionmwLib(tb, "sessionmw-redis", open(tb))
		}},
		{"sessionmw-redis-cache", func(tb testing.TB) *lib {
			// Sessions are created by another instance (its own store,
			// no cache), as behind a load balancer: a Store bypasses its
			// cache for ids it wrote itself during the last second, which
			// would otherwise hide the cache for part of the run.
			l := sessionmwLib(tb, "sessionmw-redis-cache", open(tb, redisstore.WithClientCache(redisCacheTTL)))
			l.seedWrap = sessionmwLib(tb, "sessionmw-redis-writer", open(tb)).wrap
			return l
		}},
		{"scs-redis", func(tb testing.TB) *lib {
			pool := &redis.Pool{
				MaxIdle:     16,
				IdleTimeout: time.Minute,
				Dial:        func() (redis.Conn, error) { return redis.Dial("tcp", addr) },
			}
			tb.Cleanup(func() { pool.Close() })
			l, _ := scsLib("scs-redis", scsredis.New(pool))
			return l
		}},
	}
}

func BenchmarkRedisReturningRead(b *testing.B) {
	benchReturning(b, redisLibs(redisserver.Start(b)), false)
}

func BenchmarkRedisReturningWrite(b *testing.B) {
	benchReturning(b, redisLibs(redisserver.Start(b)), true)
}
