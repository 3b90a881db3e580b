package bench

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionmw/go/internal/pgtest"
	"github.com/sessionmw/go/sessionmw/pgstore"
)

// scsSchema is the table scs's pgxstore expects (from its README).
const scsSchema = `CREATE TABLE IF NOT EXISTS sessions (
	token TEXT PRIMARY KEY,
	data BYTEA NOT NULL,
	expiry TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expiry_idx ON sessions (expiry);`

// pgLibs are the PostgreSQL-backed contenders on the server that connString
// names, each with a pgx pool of pgxpool's default size: sessionmw on
// pgstore, and scs on its pgxstore (the same driver, so that the
// comparison is of the stores).
func pgLibs(connString string) []libMaker {
	return []libMaker{
		{"sessionmw-pg", func(tb testing.TB) *lib {
			s, err := pgstore.New(context.Background(), connString)
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { s.Close() })
			if err := s.Migrate(context.Background()); err != nil {
				tb.Fatal(err)
			}
			return sessionmwLib(tb, "sessionmw-pg", s)
		}},
		{"scs-pg", func(tb testing.TB) *lib {
			pool, err := pgxpool.New(context.Background(), connString)
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(pool.Close)
			if _, err := pool.Exec(context.Background(), scsSchema); err != nil {
				tb.Fatal(err)
			}
			store := pgxstore.NewWithCleanupInterval(pool, 0) // sessionmw's cleaner is idle too: 5 min
			l, _ := scsLib("scs-pg", store)
			return l
		}},
	}
}

func BenchmarkPostgresReturningRead(b *testing.B) {
	benchReturning(b, pgLibs(pgtest.Start(b).ConnString()), false)
}

func BenchmarkPostgresReturningWrite(b *testing.B) {
	benchReturning(b, pgLibs(pgtest.Start(b).ConnString()), true)
}

// TestPostgresRoundTrips sends returning visitors' requests through a
// proxy that counts the round trips each contender makes to PostgreSQL:
// the Sync and Query messages of the wire protocol, after each of which
// the client waits for the server's ReadyForQuery.
func TestPostgresRoundTrips(t *testing.T) {
	srv := pgtest.Start(t)
	proxy := startCountingProxy(t, srv.Addr())
	conn := strings.Replace(srv.ConnString(), srv.Addr(), proxy.addr, 1)
	want := map[string][2]float64{ // read, write
		"sessionmw-pg": {1, 2}, // one SELECT; one SELECT and one UPDATE
		"scs-pg":       {1, 2}, // one SELECT; one SELECT and one upsert of the whole session
	}
	const requests = 200
	for _, mk := range pgLibs(conn) {
		t.Run(mk.name, func(t *testing.T) {
			l := mk.new(t)
			reqs := returningRequests(t, l, 1)
			for _, write := range []bool{false, true} {
				h := l.handler(write, nil)
				for range 3 { // statements prepared, connections open
					rc := *reqs[0]
					h.ServeHTTP(newWriter(), &rc)
				}
				before, sent := proxy.roundTrips.Load(), proxy.bytes.Load()
				for range requests {
					rc := *reqs[0]
					h.ServeHTTP(newWriter(), &rc)
				}
				per := float64(proxy.roundTrips.Load()-before) / requests
				bytes := float64(proxy.bytes.Load()-sent) / requests
				kind := map[bool]string{false: "read", true: "write"}[write]
				t.Logf("%s %s: %.2f round trips, %.0f bytes sent per request", mk.name, kind, per, bytes)
				if w := want[mk.name][btoi(write)]; per != w {
					t.Errorf("%s %s: %.2f round trips per request, want %v", mk.name, kind, per, w)
				}
			}
			// The last write left the counter at 3 + requests + 1.
			check(t, l, reqs[0], false, 1+3+requests, 0)
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// countingProxy forwards TCP connections to a PostgreSQL server and
// counts, in what clients send, the messages that end a round trip.
type countingProxy struct {
	addr       string
	roundTrips atomic.Int64
	bytes      atomic.Int64
}

func startCountingProxy(t *testing.T, target string) *countingProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{addr: l.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, client, server)
			mu.Unlock()
			wg.Go(func() { io.Copy(client, server); client.Close() })
			wg.Go(func() { p.forward(server, client); server.Close() })
		}
	})
	return p
}

// forward copies the client's messages to the server, counting Sync
// ('S') and simple Query ('Q') messages. The first message (the startup
// message) has no type byte.
func (p *countingProxy) forward(server io.Writer, client io.Reader) {
	var hdr [5]byte
	if _, err := io.ReadFull(client, hdr[:4]); err != nil {
		return
	}
	n := int64(binary.BigEndian.Uint32(hdr[:4]))
	if _, err := server.Write(hdr[:4]); err != nil {
		return
	}
	if _, err := io.CopyN(server, client, n-4); err != nil {
		return
	}
	for {
		if _, err := io.ReadFull(client, hdr[:]); err != nil {
			return
		}
		if hdr[0] == 'S' || hdr[0] == 'Q' {
			p.roundTrips.Add(1)
		}
		n := int64(binary.BigEndian.Uint32(hdr[1:]))
		p.bytes.Add(1 + n)
		if _, err := server.Write(hdr[:]); err != nil {
			return
		}
		if _, err := io.CopyN(server, client, n-4); err != nil {
			return
		}
	}
}

// TestPostgresStatementTimes runs write requests of each contender on a
// server with pg_stat_statements and logs, per statement, how long the
// server spent executing it: the part of a request's time that is the
// server's, apart from the round trip and the client. Each request must
// run exactly one read and one write statement.
func TestPostgresStatementTimes(t *testing.T) {
	srv := pgtest.Start(t, "shared_preload_libraries", "pg_stat_statements")
	srv.Exec("CREATE EXTENSION pg_stat_statements")
	const requests = 2000
	for _, mk := range pgLibs(srv.ConnString()) {
		l := mk.new(t)
		reqs := returningRequests(t, l, 1)
		h := l.handler(true, nil)
		for range requests {
			rc := *reqs[0]
			h.ServeHTTP(newWriter(), &rc)
		}
	}
	conn, err := pgx.Connect(context.Background(), srv.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), `SELECT calls, total_exec_time / calls * 1000,
	left(regexp_replace(query, '\s+', ' ', 'g'), 50) FROM pg_stat_statements
	WHERE calls >= $1 ORDER BY query`, requests)
	if err != nil {
		t.Fatal(err)
	}
	type stat struct {
		calls  int64
		micros float64
		query  string
	}
	var stats []stat
	for rows.Next() {
		var s stat
		if err := rows.Scan(&s.calls, &s.micros, &s.query); err != nil {
			t.Fatal(err)
		}
		stats = append(stats, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, s := range stats {
		t.Logf("%5.1f us executing, %d calls: %s", s.micros, s.calls, s.query)
	}
	if len(stats) != 4 { // each contender's SELECT and its write
		t.Fatalf("%d statements ran %d times or more, want 4 (a read and a write per contender)", len(stats), requests)
	}
}
