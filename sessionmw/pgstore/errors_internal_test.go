package pgstore

import "testing"

func TestMatchState(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"08006", true},  // connection failure
		{"53300", true},  // too many connections
		{"57P01", true},  // admin shutdown
		{"57P03", true},  // cannot connect now (starting up)
		{"57014", true},  // query canceled
		{"40P01", true},  // deadlock detected
		{"42P01", false}, // undefined table: a mistake, not an outage
		{"28P01", false}, // invalid password
		{"57000", false}, // operator intervention, other than the listed ones
		{"23505", false}, // unique violation
	}
	for _, tc := range tests {
		if got := matchState(tc.code, unavailableStates); got != tc.want {
			t.Errorf("matchState(%s) = %v, want %v", tc.code, got, tc.want)
		}
	}
}
