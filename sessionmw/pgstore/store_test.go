package pgstore_test

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionmw/go/internal/pgtest"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/pgstore"
	"github.com/sessionmw/go/sessionmw/storetest"
)

// A long, distinctive id, so that a test can tell whether it leaked into
// an error message.
const secretID = "S3CR3T-5e55i0n-1d-0123456789abcdef0123456789abcdef"

// profile is an application type: gob needs it registered.
type profile struct {
	Name  string
	Roles []string
}

func init() { gob.Register(profile{}) }

func e(k string, v any) sessionmw.Entry { return sessionmw.Entry{Key: k, Value: v} }

func as(subject string, created int64) sessionmw.Meta {
	return sessionmw.Meta{Created: created, Issued: created, Saved: created, Subject: subject}
}

var tables atomic.Int64

// newStore returns a migrated Store on srv, on a table of its own (unless
// opts name one), that the test closes.
func newStore(t testing.TB, srv *pgtest.Server, opts ...pgstore.Option) *pgstore.Store {
	t.Helper()
	opts = append([]pgstore.Option{pgstore.WithTable(fmt.Sprintf("t%d", tables.Add(1)))}, opts...)
	s, err := pgstore.New(context.Background(), srv.ConnString(), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// conn returns a plain connection for inspecting what a store wrote.
func conn(t testing.TB, srv *pgtest.Server) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), srv.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// queryInt runs sql, which returns one integer.
func queryInt(t testing.TB, c *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := c.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func mustSave(t testing.TB, s sessionmw.Store, id string, u sessionmw.Update, ttl time.Duration) {
	t.Helper()
	if err := s.Save(context.Background(), id, u, ttl); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

func mustLoad(t testing.TB, s sessionmw.Store, id string) *sessionmw.Record {
	t.Helper()
	r, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return r
}

// TestSharedServer runs the tests that leave the server running on one
// server (starting one costs about a second and a half).
func TestSharedServer(t *testing.T) {
	srv := pgtest.Start(t)
	tests := []struct {
		name string
		fn   func(t *testing.T, srv *pgtest.Server)
	}{
		{"Conformance", testConformance},
		{"RoundTripKeepsTypes", testRoundTrip},
		{"HostileKeysAndIDs", testHostile},
		{"NotText", testNotText},
		{"TTL", testTTL},
		{"ConcurrentStoresDistinctKeys", testConcurrentStores},
		{"Cleaner", testCleaner},
		{"Migrate", testMigrate},
		{"HOTUpdates", testHOTUpdates},
		{"MissingTable", testMissingTable},
		{"UndecodableData", testUndecodable},
		{"EncodeErrorStoresNothing", testEncodeError},
		{"TerminatedConnections", testTerminated},
		{"CanceledContext", testCanceled},
		{"NewErrors", testNewErrors},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, srv) })
	}
}

func testConformance(t *testing.T, srv *pgtest.Server) {
	storetest.Run(t, func(t *testing.T) sessionmw.Store { return newStore(t, srv) })
}

func testRoundTrip(t *testing.T, srv *pgtest.Server) {
	s := newStore(t, srv)
	tests := []struct {
		name  string
		value any
	}{
		{"int", 42},
		{"negative int", -7},
		{"int64", int64(1) << 62},
		{"uint8", uint8(200)},
		{"string", "héllo, wörld"},
		{"string with NUL", "a\x00b"},
		{"invalid UTF-8 string", "\xff\xfe"},
		{"empty string", ""},
		{"bool", true},
		{"float64", 2.5},
		{"strings", []string{"a", "b"}},
		{"bytes", []byte{0, 1, 2, 255}},
		{"map", map[string]any{"n": 1, "nested": map[string]any{"b": false}}},
		{"registered struct", profile{Name: "ana", Roles: []string{"admin"}}},
		{"nil", nil},
	}
	var set []sessionmw.Entry
	for _, tc := range tests {
		set = append(set, e(tc.name, tc.value))
	}
	metas := []struct {
		name string
		meta sessionmw.Meta
	}{
		{"every field", sessionmw.Meta{
			Created: 1700000000123456789, Issued: math.MaxInt64, Saved: -1, Successor: "",
			Subject: "ana@example.com", Credential: "ldap:ana\x00with NUL", Audience: "admin-ui", Remember: "rem-1",
			Groups: []string{"admins", "", "3:x", `"quoted"`, "ünï", "new\nline", "nul\x00"},
		}},
		{"nil groups", sessionmw.Meta{Subject: "s", Groups: nil}},
		{"empty groups", sessionmw.Meta{Subject: "s", Groups: []string{}}}, // not nil: kept apart
		{"zero", sessionmw.Meta{}},
	}
	for i, m := range metas {
		t.Run("meta "+m.name, func(t *testing.T) {
			id := fmt.Sprintf("%s-%d", secretID, i)
			mustSave(t, s, id, sessionmw.Update{Replace: true, Set: set, Meta: m.meta}, time.Hour)
			r := mustLoad(t, s, id)
			if r == nil {
				t.Fatal("Load after Save = nil")
			}
			if !reflect.DeepEqual(r.Meta, m.meta) {
				t.Fatalf("Meta = %#v\nwant %#v", r.Meta, m.meta)
			}
			for _, tc := range tests {
				got, ok := r.Get(tc.name)
				if !ok || reflect.TypeOf(got) != reflect.TypeOf(tc.value) || !reflect.DeepEqual(got, tc.value) {
					t.Errorf("%s: got %#v (%T), want %#v (%T)", tc.name, got, got, tc.value, tc.value)
				}
			}
			if len(r.Values) != len(tests) {
				t.Fatalf("%d values, want %d", len(r.Values), len(tests))
			}
		})
	}
}

// Application keys are bytes, whatever they hold; ids are arbitrary text.
func testHostile(t *testing.T, srv *pgtest.Server) {
	s := newStore(t, srv)
	keys := []string{"", "with space and\nnewline", "ключ", "nul\x00key", "\xff invalid UTF-8", `'; DROP TABLE x; --`, "{}", `"`}
	var set []sessionmw.Entry
	for i, k := range keys {
		set = append(set, e(k, i))
	}
	mustSave(t, s, "h", sessionmw.Update{Replace: true, Set: set}, time.Hour)
	// A delta deleting and setting hostile keys.
	mustSave(t, s, "h", sessionmw.Update{Set: []sessionmw.Entry{e("nul\x00key", 100)}, Delete: []string{"\xff invalid UTF-8", "{}"}}, time.Hour)
	r := mustLoad(t, s, "h")
	want := map[string]any{}
	for i, k := range keys {
		want[k] = i
	}
	want["nul\x00key"] = 100
	delete(want, "\xff invalid UTF-8")
	delete(want, "{}")
	got := map[string]any{}
	for _, e := range r.Values {
		got[e.Key] = e.Value
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("values = %q\nwant %q", got, want)
	}
	for _, id := range []string{"", "*", "a b", "remember:0f8e", "revoked:0f8e", `'"\`, strings.Repeat("i", 4096)} {
		mustSave(t, s, id, sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("id", id)}}, time.Hour)
		if v, _ := mustLoad(t, s, id).Get("id"); v != id {
			t.Errorf("id %.20q: got %.20q", id, v)
		}
	}
}

// Ids, subjects and successors live in text columns, which hold neither
// NUL nor invalid UTF-8: such an id is unknown, and Save refuses it.
func testNotText(t *testing.T, srv *pgtest.Server) {
	s := newStore(t, srv)
	ctx := context.Background()
	for _, id := range []string{"nul\x00id", "\xffbad"} {
		if r, err := s.Load(ctx, id); r != nil || err != nil {
			t.Errorf("Load(%q) = %v, %v; want nil, nil", id, r, err)
		}
		if err := s.Delete(ctx, id); err != nil {
			t.Errorf("Delete(%q) = %v", id, err)
		}
		if got, err := s.SubjectSessions(ctx, id); got != nil || err != nil {
			t.Errorf("SubjectSessions(%q) = %v, %v", id, got, err)
		}
		if err := s.Save(ctx, id, sessionmw.Update{Replace: true}, time.Hour); err == nil || strings.Contains(err.Error(), id) {
			t.Errorf("Save(%q) = %v; want an error without the id", id, err)
		}
	}
	refused := []sessionmw.Meta{
		{Subject: "a\x00b"},
		{Successor: "\xff"},
		{Credential: "\xffnot UTF-8"},
		{Groups: []string{"ok", "\xfe"}},
	}
	for _, m := range refused {
		if err := s.Save(ctx, "m", sessionmw.Update{Replace: true, Meta: m}, time.Hour); err == nil {
			t.Errorf("Save with Meta %#v stored it", m)
		}
	}
	if r := mustLoad(t, s, "m"); r != nil {
		t.Fatalf("a refused Save stored %+v", r)
	}
	// U+FFFD itself is valid text and is kept.
	m := sessionmw.Meta{Credential: "\uFFFD", Groups: []string{"\uFFFD"}}
	mustSave(t, s, "m", sessionmw.Update{Replace: true, Meta: m}, time.Hour)
	if got := mustLoad(t, s, "m").Meta; !reflect.DeepEqual(got, m) {
		t.Fatalf("Meta = %#v, want %#v", got, m)
	}
}

func testTTL(t *testing.T, srv *pgtest.Server) {
	s := newStore(t, srv, pgstore.WithTable("ttl"))
	c := conn(t, srv)
	tests := []struct {
		name string
		ttl  time.Duration
		want time.Duration // expires - now(), within a second
	}{
		{"an hour", time.Hour, time.Hour},
		{"400 days", 400 * 24 * time.Hour, 400 * 24 * time.Hour},
		{"longest TTL", time.Duration(math.MaxInt64), time.Duration(math.MaxInt64).Truncate(time.Microsecond)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprint("s", i)
			mustSave(t, s, id, sessionmw.Update{Replace: true}, tc.ttl)
			left := queryInt(t, c, `SELECT (extract(epoch FROM expires - now()) * 1e6)::bigint FROM ttl WHERE id = $1`, id)
			if d := time.Duration(left) * time.Microsecond; d > tc.want || d < tc.want-time.Second {
				t.Fatalf("expires in %v, want %v", d, tc.want)
			}
		})
	}
	t.Run("non-positive TTL", func(t *testing.T) {
		for _, ttl := range []time.Duration{0, -time.Second} {
			err := s.Save(context.Background(), "np", sessionmw.Update{Replace: true}, ttl)
			if err == nil || !strings.Contains(err.Error(), "TTL") {
				t.Errorf("Save with TTL %v: err = %v, want an error about the TTL", ttl, err)
			}
		}
		if n := queryInt(t, c, `SELECT count(*) FROM ttl WHERE id = 'np'`); n != 0 {
			t.Fatal("a Save with a non-positive TTL stored a row")
		}
	})
	t.Run("a nanosecond rounds up, then expires", func(t *testing.T) {
		mustSave(t, s, "ns", sessionmw.Update{Replace: true}, time.Nanosecond)
		deadline := time.Now().Add(3 * time.Second)
		for mustLoad(t, s, "ns") != nil {
			if time.Now().After(deadline) {
				t.Fatal("a session with a 1ns TTL still loads after 3s")
			}
			time.Sleep(time.Millisecond)
		}
	})
	t.Run("expired rows are not loaded even before the cleaner runs", func(t *testing.T) {
		mustSave(t, s, "old", sessionmw.Update{Replace: true, Meta: as("x", 1)}, time.Hour)
		if _, err := c.Exec(context.Background(), `UPDATE ttl SET expires = now() - interval '1 second' WHERE id = 'old'`); err != nil {
			t.Fatal(err)
		}
		if r := mustLoad(t, s, "old"); r != nil {
			t.Fatalf("expired row loaded: %+v", r)
		}
		if got, _ := s.SubjectSessions(context.Background(), "x"); len(got) != 0 {
			t.Fatalf("expired row listed: %+v", got)
		}
		if err := s.Save(context.Background(), "old", sessionmw.Update{Meta: as("x", 2)}, time.Hour); !errors.Is(err, sessionmw.ErrNotFound) {
			t.Fatalf("delta on an expired row: %v, want ErrNotFound", err)
		}
	})
}

// Several Stores (as several application instances) on one table, each
// with goroutines that increment their own key of one session through
// load and delta save: no increment may be lost.
func testConcurrentStores(t *testing.T, srv *pgtest.Server) {
	const stores, workers, rounds = 3, 8, 40
	first := newStore(t, srv)
	all := []*pgstore.Store{first}
	table := fmt.Sprintf("t%d", tables.Load())
	for range stores - 1 {
		all = append(all, newStore(t, srv, pgstore.WithTable(table)))
	}
	mustSave(t, first, "shared", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("other", "kept")}}, time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, stores*workers)
	for si, s := range all {
		for w := range workers {
			key := fmt.Sprintf("s%d-k%d", si, w)
			wg.Go(func() {
				for range rounds {
					r, err := s.Load(context.Background(), "shared")
					if err != nil || r == nil {
						errs <- fmt.Errorf("%s: Load = %v, %v", key, r, err)
						return
					}
					n, _ := r.Get(key)
					i, _ := n.(int)
					if err := s.Save(context.Background(), "shared", sessionmw.Update{Set: []sessionmw.Entry{e(key, i+1)}}, time.Hour); err != nil {
						errs <- fmt.Errorf("%s: Save: %v", key, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	r := mustLoad(t, first, "shared")
	for si := range all {
		for w := range workers {
			key := fmt.Sprintf("s%d-k%d", si, w)
			if v, _ := r.Get(key); v != rounds {
				t.Errorf("%s = %v, want %d", key, v, rounds)
			}
		}
	}
	if v, _ := r.Get("other"); v != "kept" {
		t.Errorf("a key no delta named = %v, want kept", v)
	}
}

func testCleaner(t *testing.T, srv *pgtest.Server) {
	c := conn(t, srv)
	count := func(table string) int64 { return queryInt(t, c, "SELECT count(*) FROM "+table) }
	expire := func(table string, n int) {
		t.Helper()
		_, err := c.Exec(context.Background(), `INSERT INTO `+table+` (id, keys, vals, meta, subject, successor, created, expires)
SELECT 'expired-' || i, '{}', '{}', '{}', '', '', 0, now() - interval '1 second' FROM generate_series(1, $1) AS i`, n)
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Run("bounded batches", func(t *testing.T) {
		s := newStore(t, srv, pgstore.WithTable("clean_batches"), pgstore.WithCleanupInterval(0), pgstore.WithCleanupBatch(10))
		expire("clean_batches", 25)
		mustSave(t, s, "live", sessionmw.Update{Replace: true}, time.Hour)
		for i, want := range []int64{10, 10, 5, 0} {
			if n, err := pgstore.DeleteBatch(context.Background(), s); err != nil || n != want {
				t.Fatalf("batch %d deleted %d (%v), want %d", i, n, err, want)
			}
		}
		expire("clean_batches", 23)
		if n, err := pgstore.DeleteExpired(context.Background(), s); err != nil || n != 23 {
			t.Fatalf("a cleaning round deleted %d (%v), want all 23 in batches", n, err)
		}
		if n := count("clean_batches"); n != 1 || mustLoad(t, s, "live") == nil {
			t.Fatalf("%d rows left, want the live one only", n)
		}
	})
	t.Run("in the background", func(t *testing.T) {
		s := newStore(t, srv, pgstore.WithTable("clean_bg"), pgstore.WithCleanupInterval(20*time.Millisecond), pgstore.WithCleanupBatch(7))
		mustSave(t, s, "live", sessionmw.Update{Replace: true}, time.Hour)
		expire("clean_bg", 30)
		deadline := time.Now().Add(5 * time.Second)
		for count("clean_bg") != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("%d rows left after 5s, want the live one only", count("clean_bg"))
			}
			time.Sleep(10 * time.Millisecond)
		}
		if mustLoad(t, s, "live") == nil {
			t.Fatal("the cleaner deleted a live session")
		}
		s.Close() // stops the cleaner (goleak checks it is gone)
		expire("clean_bg", 3)
		time.Sleep(100 * time.Millisecond) // five intervals: a cleaner left running would act
		if n := count("clean_bg"); n != 4 {
			t.Fatalf("%d rows after Close, want 4: the cleaner still runs", n)
		}
	})
	t.Run("failures are logged without ids", func(t *testing.T) {
		var logs strings.Builder
		var mu sync.Mutex
		logger := newTestLogger(&mu, &logs)
		s := newStore(t, srv, pgstore.WithTable("clean_fail"), pgstore.WithCleanupInterval(10*time.Millisecond), pgstore.WithLogger(logger))
		if _, err := c.Exec(context.Background(), `DROP TABLE clean_fail`); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			got := logs.String()
			mu.Unlock()
			if strings.Contains(got, "clean_fail") && strings.Contains(got, "Migrate") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no log line about the failed cleaning within 5s: %q", got)
			}
			time.Sleep(10 * time.Millisecond)
		}
		s.Close()
	})
}

func testMigrate(t *testing.T, srv *pgtest.Server) {
	t.Run("documented", func(t *testing.T) {
		doc, err := os.ReadFile("doc.go")
		if err != nil {
			t.Fatal(err)
		}
		space := regexp.MustCompile(`\s+`)
		text := space.ReplaceAllString(strings.ReplaceAll(string(doc), "//", ""), " ")
		for stmt := range strings.SplitSeq(pgstore.Schema(pgstore.DefaultTable), ";") {
			var code []string
			for l := range strings.SplitSeq(stmt, "\n") {
				if !strings.HasPrefix(strings.TrimSpace(l), "--") {
					code = append(code, l)
				}
			}
			want := strings.TrimSpace(space.ReplaceAllString(strings.Join(code, " "), " "))
			if want != "" && !strings.Contains(text, want+";") {
				t.Errorf("doc.go does not show the schema statement\n%s", want)
			}
		}
	})
	t.Run("idempotent and concurrent", func(t *testing.T) {
		s := newStore(t, srv, pgstore.WithTable("mig"))
		mustSave(t, s, "kept", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}}, time.Hour)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			other := newStore(t, srv, pgstore.WithTable("mig")) // migrates too
			wg.Go(func() { errs <- other.Migrate(context.Background()) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if v, _ := mustLoad(t, s, "kept").Get("a"); v != 1 {
			t.Fatalf("a session did not survive Migrate: a = %v", v)
		}
	})
	t.Run("schema-qualified table", func(t *testing.T) {
		srv.Exec(`CREATE SCHEMA IF NOT EXISTS auth`)
		s := newStore(t, srv, pgstore.WithTable("auth.sessions"))
		mustSave(t, s, "id", sessionmw.Update{Replace: true, Meta: as("ana", 1)}, time.Hour)
		c := conn(t, srv)
		if n := queryInt(t, c, `SELECT count(*) FROM pg_indexes WHERE schemaname = 'auth' AND tablename = 'sessions'`); n != 2 {
			t.Fatalf("auth.sessions has %d indexes, want 2 (primary key, subject)", n)
		}
		if got, err := s.SubjectSessions(context.Background(), "ana"); err != nil || len(got) != 1 {
			t.Fatalf("SubjectSessions = %v, %v", got, err)
		}
	})
	t.Run("the subject list uses the index", func(t *testing.T) {
		s := newStore(t, srv, pgstore.WithTable("plan"))
		for i := range 2000 {
			mustSave(t, s, fmt.Sprint(i), sessionmw.Update{Replace: true, Meta: as(fmt.Sprint("user", i%500), int64(i))}, time.Hour)
		}
		c := conn(t, srv)
		if _, err := c.Exec(context.Background(), "ANALYZE plan"); err != nil {
			t.Fatal(err)
		}
		rows, err := c.Query(context.Background(), `EXPLAIN SELECT id, meta FROM plan
WHERE subject = 'user7' AND subject <> '' AND expires > now() ORDER BY created, id`)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		if !strings.Contains(plan, "plan_subject_idx") {
			t.Fatalf("plan does not use the subject index: %s", plan)
		}
	})
}

// A Save that keeps the subject moves no indexed column: PostgreSQL can
// make it a heap-only update, which writes no index entry.
func testHOTUpdates(t *testing.T, srv *pgtest.Server) {
	s := newStore(t, srv, pgstore.WithTable("hot"))
	meta := as("ana", 1)
	mustSave(t, s, "id", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("n", 0)}, Meta: meta}, time.Hour)
	const saves = 200
	for i := range saves {
		mustSave(t, s, "id", sessionmw.Update{Set: []sessionmw.Entry{e("n", i)}, Meta: meta}, time.Hour)
	}
	s.Close() // its backends report their statistics as they exit
	c := conn(t, srv)
	deadline := time.Now().Add(10 * time.Second)
	for {
		upd := queryInt(t, c, `SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'hot'`)
		hot := queryInt(t, c, `SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'hot'`)
		if upd >= saves {
			if hot < upd*9/10 {
				t.Fatalf("%d of %d updates were HOT, want nearly all", hot, upd)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pg_stat_user_tables shows %d updates of %d after 10s", upd, saves)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func testMissingTable(t *testing.T, srv *pgtest.Server) {
	s, err := pgstore.New(context.Background(), srv.ConnString(), pgstore.WithTable("never_migrated"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Load(context.Background(), "id")
	if err == nil || !strings.Contains(err.Error(), "Migrate") || errors.Is(err, sessionmw.ErrStoreUnavailable) {
		t.Fatalf("Load before Migrate: %v; want an error naming Migrate, not unavailability", err)
	}
}

func testUndecodable(t *testing.T, srv *pgtest.Server) {
	s := newStore(t, srv, pgstore.WithTable("undecodable"))
	c := conn(t, srv)
	tests := []struct {
		name       string
		keys, vals string // SQL
		meta       string
		want       string
	}{
		{"unknown encoding", `'{"\\x61"}'`, `'{"\\x00ff"}'`, `{}`, `decode value "a"`},
		{"garbage gob", `'{"\\x61"}'`, `'{"\\x6700ffff"}'`, `{}`, `decode value "a"`},
		{"empty value", `'{"\\x61"}'`, `'{"\\x"}'`, `{}`, `decode value "a"`},
		{"fewer values than keys", `'{"\\x61","\\x62"}'`, `'{"\\x6931"}'`, `{}`, `2 keys but 1 values`},
		{"metadata of the wrong shape", `'{}'`, `'{}'`, `{"Created":"yesterday"}`, `decode metadata`},
		{"metadata not an object", `'{}'`, `'{}'`, `[1,2]`, `decode metadata`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprint(i)
			_, err := c.Exec(context.Background(), `INSERT INTO undecodable VALUES ($1, `+tc.keys+`, `+tc.vals+`, $2, '', '', 0, now() + interval '1 hour')`, id, tc.meta)
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.Load(context.Background(), id)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %+v, %v; want an error containing %q", r, err, tc.want)
			}
			if errors.Is(err, sessionmw.ErrStoreUnavailable) {
				t.Errorf("%v claims the store is unavailable", err)
			}
			var meta string
			if err := c.QueryRow(context.Background(), `SELECT meta::text FROM undecodable WHERE id = $1`, id).Scan(&meta); err != nil || meta != tc.meta {
				t.Fatalf("Load changed the undecodable row: meta %q, %v", meta, err)
			}
		})
	}
	t.Run("unknown metadata fields are ignored", func(t *testing.T) {
		_, err := c.Exec(context.Background(), `INSERT INTO undecodable VALUES ('future', '{}', '{}', '{"Subject":"ana","AddedLater":[1]}', 'ana', '', 0, now() + interval '1 hour')`)
		if err != nil {
			t.Fatal(err)
		}
		if r := mustLoad(t, s, "future"); r.Meta.Subject != "ana" {
			t.Fatalf("Meta = %+v, want Subject ana", r.Meta)
		}
	})
}

func testEncodeError(t *testing.T, srv *pgtest.Server) {
	type unregistered struct{ X int }
	s := newStore(t, srv)
	mustSave(t, s, "id", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("keep", 1)}}, time.Hour)
	err := s.Save(context.Background(), "id", sessionmw.Update{Set: []sessionmw.Entry{e("ok", 2), e("bad", unregistered{1})}}, time.Hour)
	if err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Fatalf("Save of an unregistered type: %v, want an error naming the key", err)
	}
	if r := mustLoad(t, s, "id"); !reflect.DeepEqual(r.Values, []sessionmw.Entry{e("keep", 1)}) {
		t.Fatalf("values after a failed Save = %v, want keep=1 only", r.Values)
	}
}

// A server that terminates the store's connections (pg_terminate_backend:
// SQLSTATE 57P01, as in a shutdown) gives ErrStoreUnavailable, and the
// pool replaces them by itself.
func testTerminated(t *testing.T, srv *pgtest.Server) {
	s := newStore(t, srv)
	mustSave(t, s, "id", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}}, time.Hour)
	srv.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sessionmw' AND pid <> pg_backend_pid()`)
	_, err := s.Load(context.Background(), "id")
	if err != nil && !errors.Is(err, sessionmw.ErrStoreUnavailable) {
		t.Fatalf("Load on a terminated connection: %v, want ErrStoreUnavailable (or a fresh connection)", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := s.Load(context.Background(), "id")
		if err == nil && r != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not recover from terminated connections: %v", err)
		}
	}
}

func testCanceled(t *testing.T, srv *pgtest.Server) {
	s := newStore(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ops := map[string]func() error{
		"load":   func() error { _, err := s.Load(ctx, "id"); return err },
		"save":   func() error { return s.Save(ctx, "id", sessionmw.Update{Replace: true}, time.Hour) },
		"delete": func() error { return s.Delete(ctx, "id") },
		"list":   func() error { _, err := s.SubjectSessions(ctx, "sub"); return err },
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, context.Canceled) || errors.Is(err, sessionmw.ErrStoreUnavailable) {
			t.Errorf("%s with a canceled context: %v; want context.Canceled, not ErrStoreUnavailable", name, err)
		}
	}
}

func testNewErrors(t *testing.T, srv *pgtest.Server) {
	srv.Exec(`DO $$ BEGIN CREATE ROLE app LOGIN PASSWORD 's3cret-pass'; EXCEPTION WHEN duplicate_object THEN NULL; END $$`)
	ctx := context.Background()
	dead := "127.0.0.1:1" // nothing listens on port 1
	tests := []struct {
		name        string
		conn        string
		opts        []pgstore.Option
		want        string // in the message
		unavailable bool
	}{
		{"unparsable", "postgres://app:s3cret-pass@127.0.0.1:port/x", nil, "cannot parse", false},
		{"server down", "postgres://app:s3cret-pass@" + dead + "/postgres?sslmode=disable", nil, dead, true},
		{"no such database", "postgres://postgres:s3cret-pass@" + srv.Addr() + "/nosuchdb?sslmode=disable", nil, "nosuchdb", false},
		{"zero timeout", srv.ConnString(), []pgstore.Option{pgstore.WithTimeout(0)}, "WithTimeout", false},
		{"bad table", srv.ConnString(), []pgstore.Option{pgstore.WithTable(`x"; DROP TABLE y`)}, "WithTable", false},
		{"upper-case table", srv.ConnString(), []pgstore.Option{pgstore.WithTable("Sessions")}, "WithTable", false},
		{"table name too long", srv.ConnString(), []pgstore.Option{pgstore.WithTable(strings.Repeat("t", 52))}, "WithTable", false},
		{"negative interval", srv.ConnString(), []pgstore.Option{pgstore.WithCleanupInterval(-1)}, "WithCleanupInterval", false},
		{"zero batch", srv.ConnString(), []pgstore.Option{pgstore.WithCleanupBatch(0)}, "WithCleanupBatch", false},
		{"nil codec", srv.ConnString(), []pgstore.Option{pgstore.WithCodec(nil)}, "WithCodec", false},
		{"nil logger", srv.ConnString(), []pgstore.Option{pgstore.WithLogger(nil)}, "WithLogger", false},
		{"nil option", srv.ConnString(), []pgstore.Option{nil}, "nil Option", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := pgstore.New(ctx, tc.conn, tc.opts...)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret-pass") {
				t.Errorf("err = %q reveals the password", err)
			}
			if got := errors.Is(err, sessionmw.ErrStoreUnavailable); got != tc.unavailable {
				t.Errorf("errors.Is(ErrStoreUnavailable) = %v, want %v (%v)", got, tc.unavailable, err)
			}
		})
	}
	t.Run("canceled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := pgstore.New(cctx, srv.ConnString()); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("password", func(t *testing.T) {
		s, err := pgstore.New(ctx, "postgres://app:s3cret-pass@"+srv.Addr()+"/postgres?sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = s.Load(ctx, "id") // app may not read the superuser's tables
		if err == nil || strings.Contains(err.Error(), "s3cret-pass") || strings.Contains(err.Error(), "://") {
			t.Fatalf("Load = %v; want an error that names neither the password nor the URL", err)
		}
	})
}

func testClose(t *testing.T, srv *pgtest.Server) {
	check := func(t *testing.T, s *pgstore.Store) {
		t.Helper()
		ctx := context.Background()
		_, lerr := s.Load(ctx, "id")
		serr := s.Save(ctx, "id", sessionmw.Update{Replace: true}, time.Hour)
		derr := s.Delete(ctx, "id")
		_, xerr := s.SubjectSessions(ctx, "subject")
		merr := s.Migrate(ctx)
		for _, err := range []error{lerr, serr, derr, xerr, merr} {
			if !errors.Is(err, sessionmw.ErrStoreClosed) {
				t.Errorf("after Close: %v, want ErrStoreClosed", err)
			}
		}
	}
	t.Run("owned pool", func(t *testing.T) {
		s := newStore(t, srv)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		check(t, s)
	})
	t.Run("caller's pool", func(t *testing.T) {
		pool, err := pgxpool.New(context.Background(), srv.ConnString())
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		s := pgstore.NewFromPool(pool, pgstore.WithTable("from_pool"))
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		mustSave(t, s, "id", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}}, time.Hour)
		if v, _ := mustLoad(t, s, "id").Get("a"); v != 1 {
			t.Fatalf("a = %v, want 1", v)
		}
		s.Close()
		check(t, s)
		if err := pool.Ping(context.Background()); err != nil {
			t.Fatalf("Close closed the caller's pool: %v", err)
		}
	})
	t.Run("NewFromPool panics on misuse", func(t *testing.T) {
		for name, f := range map[string]func(){
			"nil pool":       func() { pgstore.NewFromPool(nil) },
			"invalid option": func() { pgstore.NewFromPool(&pgxpool.Pool{}, pgstore.WithTimeout(-1)) },
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s: no panic", name)
					}
				}()
				f()
			}()
		}
	})
}
