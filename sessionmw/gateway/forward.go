package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// Defaults of Forward.
const (
	// DefaultForwardTimeout bounds the wait for the upstream's response
	// headers; past it the client gets 504.
	DefaultForwardTimeout = 60 * time.Second
	// DefaultDialTimeout bounds connecting to the upstream; past it the
	// client gets 502.
	DefaultDialTimeout = 5 * time.Second
	// DefaultIdleConns is how many idle connections to the upstream are
	// kept for reuse.
	DefaultIdleConns = 256
)

// ForwardOption configures Forward.
type ForwardOption func(*forward) error

// ForwardTimeout sets how long to wait for the upstream's response
// headers (default DefaultForwardTimeout). It does not bound the body, so
// streams keep working.
func ForwardTimeout(d time.Duration) ForwardOption {
	return func(f *forward) error {
		if d <= 0 {
			return fmt.Errorf("sessionmw: ForwardTimeout: non-positive duration %v", d)
		}
		f.timeout = d
		return nil
	}
}

// ForwardDialTimeout sets how long connecting to the upstream may take
// (default DefaultDialTimeout).
func ForwardDialTimeout(d time.Duration) ForwardOption {
	return func(f *forward) error {
		if d <= 0 {
			return fmt.Errorf("sessionmw: ForwardDialTimeout: non-positive duration %v", d)
		}
		f.dial = d
		return nil
	}
}

// ForwardPreserveHost sends the client's Host header upstream instead of
// the upstream's host (default false; Kong's preserve_host).
func ForwardPreserveHost(on bool) ForwardOption {
	return func(f *forward) error { f.preserveHost = on; return nil }
}

// ForwardLogger sets where upstream failures are logged (default:
// discard).
func ForwardLogger(l *slog.Logger) ForwardOption {
	return func(f *forward) error {
		if l != nil {
			f.log = l
		}
		return nil
	}
}

type forward struct {
	timeout, dial time.Duration
	preserveHost  bool
	log           *slog.Logger
}

// Proxy forwards requests to one upstream; see Forward.
type Proxy struct {
	rp        *httputil.ReverseProxy
	transport *http.Transport
}

// Forward returns a reverse proxy to target, an http or https URL whose
// path prefixes every forwarded path. It sets X-Forwarded-For,
// X-Forwarded-Host and X-Forwarded-Proto from the connection (client-sent
// ones are dropped, never trusted), removes hop-by-hop headers, and
// answers 502 when the upstream cannot be reached and 504 when it does not
// answer in time (ForwardTimeout), with a JSON {"message": …} body.
func Forward(target string, opts ...ForwardOption) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("sessionmw: Forward: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("sessionmw: Forward: %q is not an http(s)://host[:port][/path] URL", target)
	}
	f := &forward{timeout: DefaultForwardTimeout, dial: DefaultDialTimeout, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("sessionmw: Forward: nil option")
		}
		if err := o(f); err != nil {
			return nil, err
		}
	}
	t := &http.Transport{
		Proxy:                 nil, // never an environment proxy: upstreams are addressed directly
		DialContext:           (&net.Dialer{Timeout: f.dial, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          DefaultIdleConns,
		MaxIdleConnsPerHost:   DefaultIdleConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   f.dial,
		ResponseHeaderTimeout: f.timeout,
		ExpectContinueTimeout: time.Second,
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
			if f.preserveHost {
				pr.Out.Host = pr.In.Host
			}
		},
		Transport:  t,
		BufferPool: bufferPool{},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				// The client went away: nobody reads the answer.
				w.WriteHeader(499)
				return
			}
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // *url.Error repeats the URL, query and all
			}
			status, msg := http.StatusBadGateway, "An invalid response was received from the upstream server"
			var ne net.Error
			if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
				status, msg = http.StatusGatewayTimeout, "The upstream server is timing out"
			}
			f.log.LogAttrs(r.Context(), slog.LevelError, "upstream failed",
				slog.String("upstream", u.Host), slog.Int("status", status), slog.String("error", err.Error()))
			writeMessage(w, status, "", msg)
		},
	}
	return &Proxy{rp: rp, transport: t}, nil
}

// bufferPool reuses the proxy's copy buffers; without one
// httputil.ReverseProxy allocates 32 KiB per response.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

// ServeHTTP forwards r.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.rp.ServeHTTP(w, r) }

// Close closes the idle connections to the upstream; requests still in
// flight finish normally.
func (p *Proxy) Close() error {
	p.transport.CloseIdleConnections()
	return nil
}
