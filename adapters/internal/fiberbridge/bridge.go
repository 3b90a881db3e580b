package fiberbridge

import (
	"maps"
	"net/http"
	"reflect"
	"slices"

	"github.com/valyala/fasthttp"
)

// Writer is the http.ResponseWriter a net/http middleware writes to in
// place of a fasthttp response. Header returns the fasthttp response's
// headers as an http.Header; Apply copies the changes made to it back.
// WriteHeader and Write replace the response's status and body: only the
// middleware itself writes through a Writer (an error handler, or a
// response it answers alone), while the framework's handlers write to the
// fasthttp response directly.
type Writer struct {
	resp  *fasthttp.Response
	h     http.Header // nil until Header is called
	orig  http.Header // h as built from resp (values shared, never changed)
	wrote bool
}

// Reset points w at resp, forgetting everything else.
func (w *Writer) Reset(resp *fasthttp.Response) {
	*w = Writer{resp: resp}
}

// Header implements http.ResponseWriter.
func (w *Writer) Header() http.Header {
	if w.h == nil {
		w.h = make(http.Header)
		for k, v := range w.resp.Header.All() {
			key := headerKey(k)
			w.h[key] = append(w.h[key], string(v))
		}
		w.orig = maps.Clone(w.h)
	}
	return w.h
}

// headerKey returns the canonical spelling of fasthttp header name k,
// without allocating for the names fasthttp reports for its own fields.
func headerKey(k []byte) string {
	switch string(k) {
	case fasthttp.HeaderContentType:
		return fasthttp.HeaderContentType
	case fasthttp.HeaderContentLength:
		return fasthttp.HeaderContentLength
	case fasthttp.HeaderContentEncoding:
		return fasthttp.HeaderContentEncoding
	case fasthttp.HeaderServer:
		return fasthttp.HeaderServer
	case fasthttp.HeaderSetCookie:
		return fasthttp.HeaderSetCookie
	case fasthttp.HeaderConnection:
		return fasthttp.HeaderConnection
	}
	return http.CanonicalHeaderKey(string(k))
}

// WriteHeader replaces the response with an empty one of status code
// (headers are kept, as in net/http); only the first call counts.
func (w *Writer) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	w.resp.ResetBody()
	w.resp.SetStatusCode(code)
}

// Write appends b to the response body, after WriteHeader(200) if no
// status was written.
func (w *Writer) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	w.resp.AppendBody(b)
	return len(b), nil
}

// Wrote reports whether the middleware wrote a response through w.
func (w *Writer) Wrote() bool { return w.wrote }

// Apply copies the header changes made through Header to the fasthttp
// response: values appended to a key are added, a key whose values
// changed otherwise is replaced, and a deleted key is deleted.
func (w *Writer) Apply() {
	if w.h == nil {
		return
	}
	hdr := &w.resp.Header
	for k, vs := range w.h {
		old := w.orig[k]
		switch {
		case slices.Equal(vs, old):
			continue
		case len(vs) > len(old) && slices.Equal(vs[:len(old)], old):
			vs = vs[len(old):] // only appended to, as Set-Cookie and Vary usually are
		default:
			hdr.Del(k)
		}
		for _, v := range vs {
			hdr.Add(k, v)
		}
	}
	for k := range w.orig {
		if _, ok := w.h[k]; !ok {
			hdr.Del(k)
		}
	}
}

// syncRequest brings the changes a middleware made to the request it got
// (r, converted from req) into the request it passed on (fwd) back to req,
// so that the framework's handlers see them: a removed credential stays
// removed. n is len(r.Header) before the middleware ran.
//
// It relies on how net/http middleware changes a request: on a private
// copy (fwd), cloning Header or URL before changing them. When the header
// map was not cloned, keys may only have been added to it in place.
func syncRequest(req *fasthttp.Request, r, fwd *http.Request, n int) {
	if fwd.RequestURI != r.RequestURI {
		req.SetRequestURI(fwd.RequestURI)
	}
	if sameMap(fwd.Header, r.Header) {
		if len(fwd.Header) == n {
			return
		}
		for k, vs := range fwd.Header {
			if req.Header.Peek(k) == nil {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
		}
		return
	}
	for k := range r.Header {
		if _, ok := fwd.Header[k]; !ok {
			req.Header.Del(k)
		}
	}
	for k, vs := range fwd.Header {
		if slices.Equal(vs, r.Header[k]) {
			continue
		}
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
}

// sameMap reports whether a and b are the same map, not equal ones.
func sameMap(a, b http.Header) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
