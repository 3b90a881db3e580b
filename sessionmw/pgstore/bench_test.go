package pgstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessionmw/go/internal/pgtest"
	"github.com/sessionmw/go/sessionmw"
)

// BenchmarkStore measures each operation against a real server on
// loopback: mostly the round trip, which is what an application pays.
func BenchmarkStore(b *testing.B) {
	srv := pgtest.Start(b)
	s := newStore(b, srv)
	ctx := context.Background()
	meta := sessionmw.Meta{Created: 1, Issued: 1, Saved: 1, Subject: "ana"}
	for _, n := range []int{1, 16} {
		var set []sessionmw.Entry
		for i := range n {
			set = append(set, e(fmt.Sprint("key", i), i))
		}
		id := fmt.Sprint("bench-", n)
		mustSave(b, s, id, sessionmw.Update{Replace: true, Set: set, Meta: meta}, time.Hour)
		b.Run(fmt.Sprintf("Load/values=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r, err := s.Load(ctx, id); err != nil || r == nil {
					b.Fatal(r, err)
				}
			}
		})
		b.Run(fmt.Sprintf("SaveDelta/values=%d", n), func(b *testing.B) {
			u := sessionmw.Update{Set: []sessionmw.Entry{e("key0", 7)}, Meta: meta}
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Save(ctx, id, u, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("SaveReplace/values=%d", n), func(b *testing.B) {
			u := sessionmw.Update{Replace: true, Set: set, Meta: meta}
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Save(ctx, id, u, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("SubjectSessions", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if infos, err := s.SubjectSessions(ctx, "ana"); err != nil || len(infos) != 2 {
				b.Fatal(infos, err)
			}
		}
	})
}
