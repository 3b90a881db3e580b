package fiberbridge

import (
	"net/http"
	"slices"
	"testing"

	"github.com/valyala/fasthttp"
)

// Apply turns what was done to Header into the same fasthttp response
// headers, whatever the kind of change.
func TestWriterApply(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(h http.Header)
		want   map[string][]string // every header of the response after Apply
	}{
		{"nothing", func(http.Header) {}, map[string][]string{
			"Set-Cookie": {"theme=dark"}, "Vary": {"Accept"}, "X-Gone": {"1"}}},
		{"appended: Set-Cookie and Vary added to", func(h http.Header) {
			h.Add("Set-Cookie", "sid=1; Path=/")
			h.Add("Vary", "Cookie")
		}, map[string][]string{
			"Set-Cookie": {"theme=dark", "sid=1; Path=/"}, "Vary": {"Accept", "Cookie"}, "X-Gone": {"1"}}},
		{"new key", func(h http.Header) { h["Cache-Control"] = []string{"no-store"} }, map[string][]string{
			"Set-Cookie": {"theme=dark"}, "Vary": {"Accept"}, "X-Gone": {"1"}, "Cache-Control": {"no-store"}}},
		{"replaced", func(h http.Header) { h.Set("Vary", "Cookie") }, map[string][]string{
			"Set-Cookie": {"theme=dark"}, "Vary": {"Cookie"}, "X-Gone": {"1"}}},
		{"deleted", func(h http.Header) { h.Del("X-Gone"); h.Del("Set-Cookie") }, map[string][]string{
			"Vary": {"Accept"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var resp fasthttp.Response
			resp.Header.Set("Vary", "Accept")
			resp.Header.Set("X-Gone", "1")
			resp.Header.Add("Set-Cookie", "theme=dark")
			var w Writer
			w.Reset(&resp)
			tc.change(w.Header())
			w.Apply()
			got := map[string][]string{}
			for k, v := range resp.Header.All() {
				if k := string(k); k != "Content-Type" { // fasthttp's default, always there
					got[k] = append(got[k], string(v))
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("headers %q, want %q", got, tc.want)
			}
			for k, v := range tc.want {
				if !slices.Equal(got[k], v) {
					t.Errorf("%s: %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// WriteHeader and Write replace the handler's response, once.
func TestWriterReplacesResponse(t *testing.T) {
	var resp fasthttp.Response
	resp.SetStatusCode(http.StatusCreated)
	resp.SetBodyString("handler body")
	var w Writer
	w.Reset(&resp)
	w.WriteHeader(http.StatusServiceUnavailable)
	w.WriteHeader(http.StatusOK) // ignored, as in net/http
	_, _ = w.Write([]byte("Service Unavailable"))
	if resp.StatusCode() != http.StatusServiceUnavailable || string(resp.Body()) != "Service Unavailable" || !w.Wrote() {
		t.Errorf("got %d %q, wrote %v", resp.StatusCode(), resp.Body(), w.Wrote())
	}
}
