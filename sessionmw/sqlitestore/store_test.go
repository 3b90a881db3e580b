package sqlitestore_test

import (
	"context"
	"database/sql"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/sqlitestore"
	"github.com/sessionmw/go/sessionmw/storetest"
)

// A long, distinctive id, so that a test can tell whether it leaked into
// an error message.
const secretID = "S3CR3T-5e55i0n-1d-0123456789abcdef0123456789abcdef"

type profile struct {
	Name  string
	Roles []string
}

func init() { gob.Register(profile{}) }

func e(k string, v any) sessionmw.Entry { return sessionmw.Entry{Key: k, Value: v} }

func as(subject string, created int64) sessionmw.Meta {
	return sessionmw.Meta{Created: created, Issued: created, Saved: created, Subject: subject}
}

// newStore opens a Store on path (a new file in a temporary directory if
// empty) that the test closes.
func newStore(t testing.TB, path string, opts ...sqlitestore.Option) *sqlitestore.Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "sessions.db")
	}
	s, err := sqlitestore.New(path, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawDB opens path directly, for inspecting and tampering.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func queryInt(t testing.TB, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
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

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) sessionmw.Store { return newStore(t, "") })
}

func TestRoundTripKeepsTypes(t *testing.T) {
	s := newStore(t, "")
	tests := []struct {
		name  string
		value any
	}{
		{"int", 42},
		{"int64", int64(1) << 62},
		{"string with NUL", "a\x00b"},
		{"invalid UTF-8 string", "\xff\xfe"},
		{"empty string", ""},
		{"bool", false},
		{"float64", 2.5},
		{"bytes", []byte{0, 1, 2, 255}},
		{"empty bytes", []byte{}},
		{"map", map[string]any{"n": 1, "nested": map[string]any{"b": false}}},
		{"registered struct", profile{Name: "ana", Roles: []string{"admin"}}},
		{"nil", nil},
	}
	var set []sessionmw.Entry
	for _, tc := range tests {
		set = append(set, e(tc.name, tc.value))
	}
	meta := sessionmw.Meta{
		Created: 1700000000123456789, Issued: math.MaxInt64, Saved: -1,
		Subject: "ana@example.com", Credential: "ldap:ana\x00NUL", Audience: "admin-ui", Remember: "rem-1",
		Groups: []string{"admins", "", `"quoted"`, "ünï", "new\nline"},
	}
	for name, m := range map[string]sessionmw.Meta{"every field": meta, "empty groups": {Groups: []string{}}, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			mustSave(t, s, secretID, sessionmw.Update{Replace: true, Set: set, Meta: m}, time.Hour)
			r := mustLoad(t, s, secretID)
			if !reflect.DeepEqual(r.Meta, m) {
				t.Fatalf("Meta = %#v\nwant %#v", r.Meta, m)
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
	if err := s.Save(context.Background(), "m", sessionmw.Update{Replace: true, Meta: sessionmw.Meta{Groups: []string{"\xff"}}}, time.Hour); err == nil {
		t.Fatal("metadata holding invalid UTF-8 was stored (JSON would alter it)")
	}
}

// Keys and ids are bytes, whatever they hold.
func TestHostileKeysAndIDs(t *testing.T) {
	s := newStore(t, "")
	keys := []string{"", "with space and\nnewline", "ключ", "nul\x00key", "\xff invalid UTF-8", `'; DROP TABLE sessions; --`}
	var set []sessionmw.Entry
	for i, k := range keys {
		set = append(set, e(k, i))
	}
	mustSave(t, s, "h", sessionmw.Update{Replace: true, Set: set}, time.Hour)
	mustSave(t, s, "h", sessionmw.Update{Set: []sessionmw.Entry{e("nul\x00key", 100)}, Delete: []string{"\xff invalid UTF-8", "nul"}}, time.Hour)
	got := map[string]any{}
	for _, e := range mustLoad(t, s, "h").Values {
		got[e.Key] = e.Value
	}
	want := map[string]any{"": 0, "with space and\nnewline": 1, "ключ": 2, "nul\x00key": 100, `'; DROP TABLE sessions; --`: 5}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("values = %q\nwant %q", got, want)
	}
	ids := []string{"", "a b", "remember:0f8e", "nul\x00id", "nul", "\xffbad", strings.Repeat("i", 4096)}
	for _, id := range ids {
		mustSave(t, s, id, sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("id", id)}, Meta: as("sub\x00ject", 1)}, time.Hour)
	}
	for _, id := range ids {
		if v, _ := mustLoad(t, s, id).Get("id"); v != id {
			t.Errorf("id %.20q: got %.20q", id, v)
		}
	}
	infos, err := s.SubjectSessions(context.Background(), "sub\x00ject")
	if err != nil || len(infos) != len(ids) {
		t.Fatalf("SubjectSessions = %d sessions, %v; want %d", len(infos), err, len(ids))
	}
}

func TestTTL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := newStore(t, path)
	raw := rawDB(t, path)
	for _, tc := range []struct {
		name string
		ttl  time.Duration
	}{{"an hour", time.Hour}, {"longest TTL", time.Duration(math.MaxInt64)}} {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now().UnixNano()
			mustSave(t, s, tc.name, sessionmw.Update{Replace: true}, tc.ttl)
			exp := queryInt(t, raw, `SELECT expires FROM sessions WHERE id = ?`, tc.name)
			if exp <= before || (tc.ttl < time.Hour*2 && exp > time.Now().UnixNano()+int64(tc.ttl)) {
				t.Fatalf("expires = %d, want about now + %v (no overflow)", exp, tc.ttl)
			}
		})
	}
	for _, ttl := range []time.Duration{0, -time.Second} {
		if err := s.Save(context.Background(), "np", sessionmw.Update{Replace: true}, ttl); err == nil || !strings.Contains(err.Error(), "TTL") {
			t.Errorf("Save with TTL %v: err = %v, want an error about the TTL", ttl, err)
		}
	}
	if n := queryInt(t, raw, `SELECT count(*) FROM sessions WHERE id = 'np'`); n != 0 {
		t.Fatal("a Save with a non-positive TTL stored a row")
	}
	// Expired but not yet cleaned: never loaded, listed or extended.
	mustSave(t, s, "old", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}, Meta: as("x", 1)}, time.Hour)
	if _, err := raw.Exec(`UPDATE sessions SET expires = 1 WHERE id = 'old'`); err != nil {
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
	// A Replace of an expired row starts afresh: its old values are gone.
	mustSave(t, s, "old", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("b", 2)}}, time.Hour)
	if r := mustLoad(t, s, "old"); !reflect.DeepEqual(r.Values, []sessionmw.Entry{e("b", 2)}) {
		t.Fatalf("after replacing an expired row: %v, want b=2 only", r.Values)
	}
}

// Two Stores on one file (as two processes would) with goroutines that
// each increment their own key of one session: no increment may be lost,
// and no call may fail on the other Store's write lock.
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	stores := []*sqlitestore.Store{newStore(t, path), newStore(t, path)}
	const workers, rounds = 8, 40
	mustSave(t, stores[0], "shared", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("other", "kept")}}, time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for si, s := range stores {
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
	r := mustLoad(t, stores[1], "shared")
	for si := range stores {
		for w := range workers {
			if v, _ := r.Get(fmt.Sprintf("s%d-k%d", si, w)); v != rounds {
				t.Errorf("s%d-k%d = %v, want %d", si, w, v, rounds)
			}
		}
	}
	if v, _ := r.Get("other"); v != "kept" {
		t.Errorf("a key no delta named = %v, want kept", v)
	}
}

func TestWALMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wal.db")
	newStore(t, path)
	var mode string
	if err := rawDB(t, path).QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal (it persists in the file)", mode, err)
	}
}

// A write lock held elsewhere (another process's long transaction) makes
// Saves wait at most the timeout, then fail with ErrStoreUnavailable;
// Loads go on meanwhile (WAL readers do not wait for writers).
func TestLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	const timeout = 200 * time.Millisecond
	s := newStore(t, path, sqlitestore.WithTimeout(timeout))
	mustSave(t, s, secretID, sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}, Meta: as(secretID, 1)}, time.Hour)
	raw := rawDB(t, path)
	ctx := context.Background()
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	for name, op := range map[string]func() error{
		"save": func() error {
			return s.Save(ctx, secretID, sessionmw.Update{Set: []sessionmw.Entry{e("a", 2)}}, time.Hour)
		},
		"delete": func() error { return s.Delete(ctx, secretID) },
	} {
		start := time.Now()
		err := op()
		elapsed := time.Since(start)
		if !errors.Is(err, sessionmw.ErrStoreUnavailable) || strings.Contains(err.Error(), secretID) || !strings.Contains(err.Error(), name+" session") {
			t.Errorf("%s on a locked file: %v; want ErrStoreUnavailable naming the operation, not the id", name, err)
		}
		if elapsed < timeout/2 || elapsed > timeout+time.Second {
			t.Errorf("%s gave up after %v, want about the %v timeout", name, elapsed, timeout)
		}
	}
	if v, _ := mustLoad(t, s, secretID).Get("a"); v != 1 {
		t.Fatalf("Load during the lock: a = %v, want 1", v)
	}
	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, secretID, sessionmw.Update{Set: []sessionmw.Entry{e("a", 3)}}, time.Hour)
	if v, _ := mustLoad(t, s, secretID).Get("a"); v != 3 {
		t.Fatalf("after the lock: a = %v, want 3", v)
	}
}

func TestCleaner(t *testing.T) {
	expire := func(t *testing.T, raw *sql.DB, n int) {
		t.Helper()
		for i := range n {
			id := fmt.Sprintf("expired-%d-%d", time.Now().UnixNano(), i)
			if _, err := raw.Exec(`INSERT INTO sessions VALUES (?, '{}', '', '', 0, 1)`, id); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`INSERT INTO session_values VALUES (?, x'61', x'6931')`, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Run("bounded batches", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "c.db")
		s := newStore(t, path, sqlitestore.WithCleanupInterval(0), sqlitestore.WithCleanupBatch(10))
		raw := rawDB(t, path)
		expire(t, raw, 25)
		mustSave(t, s, "live", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}}, time.Hour)
		for i, want := range []int64{10, 10, 5, 0} {
			if n, err := sqlitestore.DeleteBatch(context.Background(), s); err != nil || n != want {
				t.Fatalf("batch %d deleted %d (%v), want %d", i, n, err, want)
			}
		}
		expire(t, raw, 23)
		if n, err := sqlitestore.DeleteExpired(context.Background(), s); err != nil || n != 23 {
			t.Fatalf("a cleaning round deleted %d (%v), want all 23", n, err)
		}
		if n := queryInt(t, raw, `SELECT count(*) FROM session_values`); n != 1 {
			t.Fatalf("%d values left, want the live session's one (values go with their session)", n)
		}
		if mustLoad(t, s, "live") == nil {
			t.Fatal("the live session was deleted")
		}
	})
	t.Run("in the background until Close", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bg.db")
		s := newStore(t, path, sqlitestore.WithCleanupInterval(20*time.Millisecond), sqlitestore.WithCleanupBatch(7))
		raw := rawDB(t, path)
		mustSave(t, s, "live", sessionmw.Update{Replace: true}, time.Hour)
		expire(t, raw, 30)
		deadline := time.Now().Add(5 * time.Second)
		for queryInt(t, raw, `SELECT count(*) FROM sessions`) != 1 {
			if time.Now().After(deadline) {
				t.Fatal("expired sessions still there after 5s")
			}
			time.Sleep(10 * time.Millisecond)
		}
		s.Close()
		expire(t, raw, 3)
		time.Sleep(100 * time.Millisecond) // five intervals: a cleaner left running would act
		if n := queryInt(t, raw, `SELECT count(*) FROM sessions`); n != 4 {
			t.Fatalf("%d rows after Close, want 4: the cleaner still runs", n)
		}
	})
}

func TestUndecodableData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.db")
	s := newStore(t, path)
	raw := rawDB(t, path)
	tests := []struct {
		name, meta string
		value      []byte
		want       string
	}{
		{"unknown encoding", `{}`, []byte("\x00\xff"), `decode value "a"`},
		{"garbage gob", `{}`, []byte("g\x00\xff\xff"), `decode value "a"`},
		{"empty value", `{}`, []byte{}, `decode value "a"`},
		{"metadata of the wrong shape", `{"Created":"yesterday"}`, []byte("i1"), `decode metadata`},
		{"metadata not JSON", `{`, []byte("i1"), `decode metadata`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprint(i)
			if _, err := raw.Exec(`INSERT INTO sessions VALUES (?, ?, '', '', 0, ?)`, id, tc.meta, math.MaxInt64); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`INSERT INTO session_values VALUES (?, x'61', ?)`, id, tc.value); err != nil {
				t.Fatal(err)
			}
			r, err := s.Load(context.Background(), id)
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, sessionmw.ErrStoreUnavailable) {
				t.Fatalf("Load = %+v, %v; want an error containing %q, not unavailability", r, err, tc.want)
			}
		})
	}
}

func TestCanceledContext(t *testing.T) {
	s := newStore(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, op := range map[string]func() error{
		"load":   func() error { _, err := s.Load(ctx, "id"); return err },
		"save":   func() error { return s.Save(ctx, "id", sessionmw.Update{Replace: true}, time.Hour) },
		"delete": func() error { return s.Delete(ctx, "id") },
		"list":   func() error { _, err := s.SubjectSessions(ctx, "sub"); return err },
	} {
		if err := op(); !errors.Is(err, context.Canceled) || errors.Is(err, sessionmw.ErrStoreUnavailable) {
			t.Errorf("%s with a canceled context: %v; want context.Canceled, not ErrStoreUnavailable", name, err)
		}
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		opts []sqlitestore.Option
		want string
	}{
		{"empty path", "", nil, "want the path of a file"},
		{"memory", ":memory:", nil, "want the path of a file"},
		{"URI", "file:x.db", nil, "want the path of a file"},
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "s.db"), nil, "no/such/dir"},
		{"a directory", dir, nil, dir},
		{"not a database", writeFile(t, filepath.Join(dir, "text.db"), "this is not SQLite, just some text of a reasonable length to fill a header"), nil, "text.db"},
		{"short timeout", filepath.Join(dir, "a.db"), []sqlitestore.Option{sqlitestore.WithTimeout(time.Microsecond)}, "WithTimeout"},
		{"negative interval", filepath.Join(dir, "a.db"), []sqlitestore.Option{sqlitestore.WithCleanupInterval(-1)}, "WithCleanupInterval"},
		{"zero batch", filepath.Join(dir, "a.db"), []sqlitestore.Option{sqlitestore.WithCleanupBatch(0)}, "WithCleanupBatch"},
		{"zero readers", filepath.Join(dir, "a.db"), []sqlitestore.Option{sqlitestore.WithReaders(0)}, "WithReaders"},
		{"nil codec", filepath.Join(dir, "a.db"), []sqlitestore.Option{sqlitestore.WithCodec(nil)}, "WithCodec"},
		{"nil logger", filepath.Join(dir, "a.db"), []sqlitestore.Option{sqlitestore.WithLogger(nil)}, "WithLogger"},
		{"nil option", filepath.Join(dir, "a.db"), []sqlitestore.Option{nil}, "nil Option"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlitestore.New(tc.path, tc.opts...)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %q, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("odd characters in the path", func(t *testing.T) {
		path := filepath.Join(dir, "a ?b#c%20d.db")
		s := newStore(t, path)
		mustSave(t, s, "id", sessionmw.Update{Replace: true}, time.Hour)
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("the file is not where the path says: %v", err)
		}
	})
}

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestClose(t *testing.T) {
	s := newStore(t, "")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := context.Background()
	_, lerr := s.Load(ctx, "id")
	serr := s.Save(ctx, "id", sessionmw.Update{Replace: true}, time.Hour)
	derr := s.Delete(ctx, "id")
	_, xerr := s.SubjectSessions(ctx, "subject")
	for _, err := range []error{lerr, serr, derr, xerr} {
		if !errors.Is(err, sessionmw.ErrStoreClosed) {
			t.Errorf("after Close: %v, want ErrStoreClosed", err)
		}
	}
}

// The schema documented in doc.go is the one New applies.
func TestSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	schema, err := os.ReadFile("schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	space := regexp.MustCompile(`\s+`)
	text := space.ReplaceAllString(strings.ReplaceAll(string(doc), "//", ""), " ")
	var code []string
	for l := range strings.SplitSeq(string(schema), "\n") {
		if !strings.HasPrefix(l, "--") {
			code = append(code, l)
		}
	}
	want := strings.TrimSpace(space.ReplaceAllString(strings.Join(code, " "), " "))
	if !strings.Contains(text, want) {
		t.Fatalf("doc.go does not show schema.sql:\n%s", want)
	}
}
