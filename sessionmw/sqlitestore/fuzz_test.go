package sqlitestore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/sessionmw/go/sessionmw"
)

// FuzzLoad stores arbitrary bytes as a session's metadata and value, as a
// damaged or foreign file might hold, and loads it: Load must return a
// record or an error, never panic, and never blame the store's
// availability for bad data. A record that loads saves back unchanged.
func FuzzLoad(f *testing.F) {
	for _, seed := range []struct {
		meta  string
		value []byte
	}{
		{`{}`, []byte("i42")},
		{`{"Created":1,"Groups":null,"Subject":"a\u0000b"}`, []byte("s\xffhello")},
		{`{"Groups":[]}`, []byte("g\x0c\xff\x81\x02\x01\x02\xff\x82\x00\x01\x0c\x00\x00")},
		{`{"Created":"x"}`, []byte("n")},
		{`[`, []byte{}},
		{"\xff", []byte("d1e400")},
	} {
		f.Add(seed.meta, seed.value)
	}
	path := filepath.Join(f.TempDir(), "fuzz.db")
	s := newStore(f, path)
	raw := rawDB(f, path)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, meta string, value []byte) {
		if _, err := raw.Exec(`INSERT OR REPLACE INTO sessions VALUES ('f', ?, '', '', 0, 9223372036854775807)`, meta); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`INSERT OR REPLACE INTO session_values VALUES ('f', x'6b', ?)`, value); err != nil {
			t.Fatal(err)
		}
		r, err := s.Load(ctx, "f")
		if err != nil {
			if errors.Is(err, sessionmw.ErrStoreUnavailable) {
				t.Fatalf("bad data reported as unavailability: %v", err)
			}
			return
		}
		u := sessionmw.Update{Replace: true, Set: r.Values, Meta: r.Meta}
		if err := s.Save(ctx, "back", u, 3600e9); err != nil {
			if errors.Is(err, sessionmw.ErrStoreUnavailable) {
				t.Fatal(err)
			}
			return // a value the codec decodes but cannot encode
		}
		if back := mustLoad(t, s, "back"); back.Meta.Created != r.Meta.Created || len(back.Values) != len(r.Values) {
			t.Fatalf("saved %+v, loaded back %+v", r, back)
		}
	})
}
