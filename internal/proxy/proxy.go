// Package proxy is Cairn's recording reverse proxy: it forwards every
// request to an upstream service unchanged (streaming bodies, the Host the
// client signed) and, after the response, records the call as a CloudTrail
// event in a durable spool that a sender drains to a Cairn server.
package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cairn-audit/cairn/internal/proxy/awsop"
)

// DefaultMaxCapture is how much of each body the proxy keeps for recording;
// the rest streams through unseen.
const DefaultMaxCapture = 1 << 20

// Recorder stores recorded events durably (the spool).
type Recorder interface {
	Append(records ...[]byte) error
}

// Options configure a Proxy.
type Options struct {
	// Upstream is the service the proxy fronts.
	Upstream *url.URL
	// Recorder receives each event.
	Recorder Recorder
	// Account owns events whose caller the server cannot identify; empty
	// leaves them to the account of the proxy's own credentials.
	Account string
	// Region is where unsigned calls are recorded (default us-east-1);
	// GlobalRegion where global services' calls are (default us-east-1).
	Region, GlobalRegion string
	// TrustForwarded takes the caller's address from X-Forwarded-For, as
	// the TrustedProxies proxies in front of this one wrote it (see
	// forwardedFor).
	TrustForwarded bool
	// TrustedProxies is how many proxies in front of this one append to
	// X-Forwarded-For (default 1 when TrustForwarded is set).
	TrustedProxies int
	// HTTP maps a plain HTTP API's routes to operations (optional).
	HTTP *HTTPConfig
	// MaxCapture bounds the bytes of each body kept for recording.
	MaxCapture int
	Log        *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Proxy is an http.Handler. Use New.
type Proxy struct {
	o       Options
	rp      *httputil.ReverseProxy
	pending sync.WaitGroup
}

type ctxKey struct{}

// exchange is what the proxy learns of one call while forwarding it.
type exchange struct {
	start   time.Time
	req     *http.Request
	reqBody *capture
	status  int
	header  http.Header
	resp    *capture
	err     error
	once    sync.Once
}

// New makes the proxy.
func New(o Options) (*Proxy, error) {
	if o.Upstream == nil || o.Upstream.Host == "" {
		return nil, errors.New("proxy: an upstream URL is required")
	}
	if o.Recorder == nil {
		return nil, errors.New("proxy: a recorder is required")
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.GlobalRegion == "" {
		o.GlobalRegion = "us-east-1"
	}
	if o.MaxCapture <= 0 {
		o.MaxCapture = DefaultMaxCapture
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TrustedProxies < 0 {
		return nil, errors.New("proxy: the number of trusted proxies cannot be negative")
	}
	if o.TrustForwarded && o.TrustedProxies == 0 {
		o.TrustedProxies = 1
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{o: o}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(o.Upstream)
			pr.Out.Host = pr.In.Host // the Host the client signed
		},
		FlushInterval: -1, // stream
		// Bodies pass as the service sent them (no transparent gzip), over
		// kept-alive connections.
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DisableCompression:    true,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   128,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.errorHandler,
	}
	return p, nil
}

// ServeHTTP forwards the request and records it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{start: p.o.Now(), req: r}
	if r.Body != nil && r.Body != http.NoBody {
		x.reqBody = newCapture(r.Body, p.o.MaxCapture, nil)
		if needsBodyHash(r) {
			x.reqBody.hash = sha256.New()
		}
		r.Body = x.reqBody
	} else {
		x.reqBody = newCapture(nil, 0, nil)
		x.reqBody.hash = sha256.New()
		x.reqBody.eof = true
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, x))
	p.rp.ServeHTTP(w, r)
	// A response without a body to read (HEAD, 204, 304) is done now.
	if x.resp == nil {
		p.finish(x)
	}
}

// needsBodyHash reports whether checking the request's signature needs the
// SHA-256 of its whole body: it is signed (SigV4 or SigV2, header or
// presigned) and does not name a payload that is not the body's hash
// (UNSIGNED-PAYLOAD, STREAMING-…).
func needsBodyHash(r *http.Request) bool {
	if v := r.Header.Get("X-Amz-Content-Sha256"); v != "" && len(v) != sha256.Size*2 {
		return false
	}
	if strings.HasPrefix(r.Header.Get("Authorization"), "AWS") {
		return true
	}
	q := r.URL.RawQuery
	return strings.Contains(q, "X-Amz-Credential") || strings.Contains(q, "AWSAccessKeyId")
}

func (p *Proxy) modifyResponse(resp *http.Response) error {
	x, _ := resp.Request.Context().Value(ctxKey{}).(*exchange)
	if x == nil {
		return nil
	}
	x.status, x.header = resp.StatusCode, resp.Header.Clone()
	x.resp = newCapture(resp.Body, p.o.MaxCapture, func() { p.finish(x) })
	resp.Body = x.resp
	return nil
}

func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	x, _ := r.Context().Value(ctxKey{}).(*exchange)
	p.o.Log.Warn("proxy: upstream failed", "method", r.Method, "path", r.URL.Path, "err", err)
	w.WriteHeader(http.StatusBadGateway)
	if x != nil {
		x.status, x.err = http.StatusBadGateway, err
	}
}

// finish records the exchange once, in the background: recording never
// holds up the call.
func (p *Proxy) finish(x *exchange) {
	x.once.Do(func() {
		p.pending.Add(1)
		go func() {
			defer p.pending.Done()
			rec, err := p.record(x)
			if err != nil {
				p.o.Log.Error("proxy: event not built", "method", x.req.Method, "path", x.req.URL.Path, "err", err)
				return
			}
			if rec == nil {
				return
			}
			if err := p.o.Recorder.Append(rec); err != nil {
				p.o.Log.Error("proxy: event not spooled", "method", x.req.Method, "path", x.req.URL.Path, "err", err)
			}
		}()
	})
}

// Close waits until every finished call is spooled.
func (p *Proxy) Close() { p.pending.Wait() }

// call turns an exchange into the resolver's view.
func (x *exchange) call() *awsop.Call {
	c := &awsop.Call{Method: x.req.Method, Host: x.req.Host, Path: x.req.URL.EscapedPath(), RawQuery: x.req.URL.RawQuery,
		Header: x.req.Header, Body: x.reqBody.bytes(), BodyTruncated: x.reqBody.truncated, Status: x.status,
		RespHeader: x.header}
	if x.resp != nil {
		c.RespBody, c.RespTruncated = x.resp.bytes(), x.resp.truncated
	}
	var key string
	c.Service, c.Region, key = scope(x.req)
	if c.Service == "" && key != "" && x.req.Header.Get("X-Amz-Target") == "" && x.req.URL.Query().Get("Action") == "" {
		c.Service = "s3" // Signature Version 2 survives only in S3
	}
	return c
}

// sourceIP is the caller's address: the connection's, or with
// TrustForwarded the one the trusted proxies put in X-Forwarded-For.
func (p *Proxy) sourceIP(r *http.Request) string {
	if p.o.TrustForwarded {
		if ip := forwardedFor(r.Header, p.o.TrustedProxies); ip != "" {
			return ip
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// capture passes a body through while keeping its first max bytes and,
// when hash is set, hashing all of it (a request's signature covers the
// whole body, which the proxy does not keep).
type capture struct {
	r         io.ReadCloser
	max       int
	buf       bytes.Buffer
	truncated bool
	hash      hash.Hash
	n         int64
	eof       bool // read to its end
	mu        sync.Mutex
	done      func()
	closed    bool
}

func newCapture(r io.ReadCloser, max int, done func()) *capture {
	return &capture{r: r, max: max, done: done}
}

func (c *capture) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.mu.Lock()
	if n > 0 && c.hash != nil {
		c.hash.Write(b[:n])
	}
	c.n += int64(n)
	if err == io.EOF {
		c.eof = true
	}
	if n > 0 {
		if room := c.max - c.buf.Len(); room > 0 {
			c.buf.Write(b[:min(n, room)])
			if n > room {
				c.truncated = true
			}
		} else {
			c.truncated = true
		}
	}
	c.mu.Unlock()
	return n, err
}

func (c *capture) Close() error {
	var err error
	if c.r != nil {
		err = c.r.Close()
	}
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	c.mu.Unlock()
	if first && c.done != nil {
		c.done()
	}
	return err
}

// sum is the hex SHA-256 and length of the whole body; "" when it was not
// read to its end or not hashed.
func (c *capture) sum() (string, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.eof || c.hash == nil {
		return "", 0
	}
	return hex.EncodeToString(c.hash.Sum(nil)), c.n
}

func (c *capture) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.buf.Bytes()...)
}

// scope reads the SigV4 credential scope: from the Authorization header or
// a presigned URL's X-Amz-Credential.
func scope(r *http.Request) (service, region, accessKeyID string) {
	cred := ""
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "AWS4-HMAC-SHA256") {
		for _, part := range strings.Split(strings.TrimPrefix(a, "AWS4-HMAC-SHA256"), ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "Credential="); ok {
				cred = v
			}
		}
	} else if v := r.URL.Query().Get("X-Amz-Credential"); v != "" {
		cred = v
	} else if k := r.URL.Query().Get("AWSAccessKeyId"); k != "" {
		// A Signature Version 2 presigned URL.
		return "", "", k
	} else if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "AWS ") {
		// Signature version 2: "AWS AKID:signature".
		if k, _, ok := strings.Cut(strings.TrimPrefix(a, "AWS "), ":"); ok {
			return "", "", k
		}
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return "", "", ""
	}
	return parts[3], parts[2], parts[0]
}
