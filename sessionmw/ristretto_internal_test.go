package sessionmw

import (
	"testing"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// ristretto's OnEvict is called both for sessions evicted to make room and
// for expired ones its cleanup removes; the store tells them apart by the
// session's expiry, and reports nothing once closed (Close clears the
// cache through OnEvict).
func TestRistrettoOnEvictReason(t *testing.T) {
	s, err := NewRistrettoStore(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan Eviction, 4)
	defer s.NotifyEvictions(func(ev Eviction) { got <- ev })()
	now := time.Now().UnixNano()
	for _, tc := range []struct {
		expires int64
		reason  string
	}{{now + int64(time.Hour), "evicted"}, {now - 1, "expired"}} {
		s.onEvict(&ristretto.Item[*ristrettoEntry]{Value: &ristrettoEntry{id: "x", rec: &Record{}, expires: tc.expires}})
		select {
		case ev := <-got:
			if ev.ID != "x" || ev.Reason != tc.reason {
				t.Errorf("reported %q %q, want %q", ev.ID, ev.Reason, tc.reason)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: not reported", tc.reason)
		}
	}
	s.Close()
	s.onEvict(&ristretto.Item[*ristrettoEntry]{Value: &ristrettoEntry{id: "y", rec: &Record{}}})
	select {
	case ev := <-got:
		t.Errorf("reported %q after Close", ev.ID)
	default:
	}
}
