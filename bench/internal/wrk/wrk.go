// Package wrk reads the summary wrk prints at the end of a run.
package wrk

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Summary is what every wrk run reports.
type Summary struct {
	RPS              float64 // Requests/sec
	Requests, Non2xx int
	SocketErrors     string // "" when there were none
}

var (
	reRPS    = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	reReqs   = regexp.MustCompile(`(\d+) requests in`)
	reNon2xx = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSock   = regexp.MustCompile(`Socket errors: (.*)`)
)

// Parse reads the summary in out, wrk's output.
func Parse(out string) (Summary, error) {
	var r Summary
	m := reRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk's output:\n%s", out)
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	if m := reReqs.FindStringSubmatch(out); m != nil {
		r.Requests, _ = strconv.Atoi(m[1])
	}
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.Atoi(m[1])
	}
	if m := reSock.FindStringSubmatch(out); m != nil {
		r.SocketErrors = strings.TrimSpace(m[1])
	}
	return r, nil
}
