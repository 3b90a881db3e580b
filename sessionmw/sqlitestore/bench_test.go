package sqlitestore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessionmw/go/sessionmw"
)

// BenchmarkStore measures each operation on a file in a temporary
// directory (usually tmpfs or a page-cached disk).
func BenchmarkStore(b *testing.B) {
	s := newStore(b, "")
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
}
