package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessionmw/go/internal/redistest"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/redisstore"
)

// benchSizes are the numbers of values in the benchmarked session.
var benchSizes = []int{1, 16}

func benchSession(n int) sessionmw.Update {
	u := sessionmw.Update{Replace: true, Meta: sessionmw.Meta{Created: 1, Issued: 2, Saved: 3}}
	for i := range n {
		u.Set = append(u.Set, sessionmw.Entry{Key: fmt.Sprintf("key%d", i), Value: fmt.Sprintf("value %d", i)})
	}
	return u
}

func BenchmarkLoad(b *testing.B) {
	srv := redistest.Start(b)
	for _, mode := range []struct {
		name string
		opts []redisstore.Option
	}{
		{"NoCache", nil},
		{"ClientCache", []redisstore.Option{redisstore.WithClientCache(time.Minute)}},
	} {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/values=%d", mode.name, n), func(b *testing.B) {
				// Another Store writes, so that the reader's loads are not
				// sent to the server for following its own write.
				ctx := context.Background()
				if err := newStore(b, srv).Save(ctx, "bench", benchSession(n), time.Hour); err != nil {
					b.Fatal(err)
				}
				s := newStore(b, srv, mode.opts...)
				b.ReportAllocs()
				for b.Loop() {
					if r, err := s.Load(ctx, "bench"); err != nil || r == nil {
						b.Fatal(r, err)
					}
				}
			})
		}
	}
}

func BenchmarkSaveDelta(b *testing.B) {
	srv := redistest.Start(b)
	s := newStore(b, srv)
	ctx := context.Background()
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("session=%d/set=1", n), func(b *testing.B) {
			if err := s.Save(ctx, "bench", benchSession(n), time.Hour); err != nil {
				b.Fatal(err)
			}
			u := sessionmw.Update{Set: []sessionmw.Entry{{Key: "key0", Value: "changed"}}, Meta: sessionmw.Meta{Saved: 4}}
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Save(ctx, "bench", u, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSaveWithSubject is BenchmarkSaveDelta for an authenticated
// session, whose Save also updates its subject's index (in the same round
// trip).
func BenchmarkSaveWithSubject(b *testing.B) {
	srv := redistest.Start(b)
	s := newStore(b, srv)
	ctx := context.Background()
	u := benchSession(1)
	u.Meta.Subject = "bench"
	if err := s.Save(ctx, "bench", u, time.Hour); err != nil {
		b.Fatal(err)
	}
	d := sessionmw.Update{Set: []sessionmw.Entry{{Key: "key0", Value: "changed"}}, Meta: sessionmw.Meta{Saved: 4, Subject: "bench"}}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Save(ctx, "bench", d, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSubjectSessions(b *testing.B) {
	srv := redistest.Start(b)
	s := newStore(b, srv)
	ctx := context.Background()
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			subject := fmt.Sprintf("user%d", n)
			for i := range n {
				u := sessionmw.Update{Replace: true, Meta: sessionmw.Meta{Created: int64(i), Subject: subject}}
				if err := s.Save(ctx, fmt.Sprintf("%s-%d", subject, i), u, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if infos, err := s.SubjectSessions(ctx, subject); err != nil || len(infos) != n {
					b.Fatal(len(infos), err)
				}
			}
		})
	}
}
