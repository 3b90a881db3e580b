package sessionmw

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestParseCanonicalUUID(t *testing.T) {
	for range 1000 {
		u := uuid.New()
		got, ok := parseCanonicalUUID(u.String())
		if !ok || got != u {
			t.Fatalf("parseCanonicalUUID(%s) = %x, %v", u, got, ok)
		}
	}
	u := uuid.New().String()
	for _, id := range []string{
		strings.ToUpper(u), "{" + u + "}", "urn:uuid:" + u, strings.ReplaceAll(u, "-", ""),
		u[:35] + "g", u[:8] + "_" + u[9:], "", "short",
	} {
		if _, ok := parseCanonicalUUID(id); ok {
			t.Errorf("%q parsed as a canonical UUID", id)
		}
	}
}

// Ids that spell the same UUID differently are different sessions.
func TestMemoryIODistinguishesSpellings(t *testing.T) {
	s := NewMemoryIO(WithSweepInterval(0))
	defer s.Close()
	ctx := context.Background()
	lower := uuid.New().String()
	upper := strings.ToUpper(lower)
	if err := s.Save(ctx, lower, Update{Replace: true, Set: []Entry{{Key: "who", Value: "lower"}}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Load(ctx, upper); r != nil {
		t.Fatal("the upper-case spelling loaded the lower-case session")
	}
	if err := s.Save(ctx, upper, Update{Replace: true, Set: []Entry{{Key: "who", Value: "upper"}}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{lower: "lower", upper: "upper"} {
		r, _ := s.Load(ctx, id)
		if v, _ := r.Get("who"); v != want {
			t.Fatalf("%s: %v, want %s", id, v, want)
		}
	}
	if s.Len() != 2 {
		t.Fatalf("Len = %d", s.Len())
	}
}

// parseCanonicalUUID accepts exactly the strings uuid.UUID.String produces,
// and decodes them as uuid.Parse does.
func FuzzParseCanonicalUUID(f *testing.F) {
	u := uuid.New().String()
	for _, s := range []string{u, strings.ToUpper(u), "{" + u + "}", u[:35] + "g", u[:8] + "x" + u[9:], ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseCanonicalUUID(s)
		want, err := uuid.Parse(s)
		canonical := err == nil && want.String() == s
		if ok != canonical {
			t.Fatalf("parseCanonicalUUID(%q) ok = %v, canonical = %v", s, ok, canonical)
		}
		if ok && got != want {
			t.Fatalf("parseCanonicalUUID(%q) = %x, uuid.Parse = %x", s, got, want)
		}
	})
}
