package server

import (
	"net"
	"net/netip"
	"sync"
)

// Defaults of the bounds on requests not yet authenticated, used when the
// Options leave them zero (the same as the config's defaults).
const (
	DefaultUnauthenticatedBodyBytes          = 64 << 20
	DefaultUnauthenticatedBytesPerAddress    = 16 << 20
	DefaultUnauthenticatedRequestsPerAddress = 16
)

// preAuth bounds what requests hold before their signatures are verified,
// so that callers who have proven nothing cannot take the server's memory
// or its ingest slots: per client address, the requests whose bodies are
// being read and the bytes buffered for them; over all addresses, the bytes
// buffered. Beyond a bound a request is refused at once (HTTP 429), not
// queued: a queue would hold goroutines and connections for the callers
// the bound is there to stop, and AWS SDKs retry a ThrottlingException
// with backoff.
type preAuth struct {
	perAddrRequests int
	perAddrBytes    int64
	totalBytes      int64

	mu    sync.Mutex
	used  int64
	addrs map[string]*addrUse // only addresses with a request in hand
}

// addrUse is what one client address holds.
type addrUse struct {
	requests int
	bytes    int64
}

// newPreAuth makes the bounds: requests and bytes per address, bytes in all.
func newPreAuth(perAddrRequests int, perAddrBytes, totalBytes int64) *preAuth {
	return &preAuth{perAddrRequests: perAddrRequests, perAddrBytes: perAddrBytes, totalBytes: totalBytes,
		addrs: map[string]*addrUse{}}
}

// hold is one request's share of the bounds: a request of its address and
// the bytes reserved for its body. A hold is for one goroutine.
type hold struct {
	p        *preAuth
	addr     string
	bytes    int64
	released bool
}

// enter counts a request of addr (a clientKey), or says false when addr
// already has its number of requests in hand.
func (p *preAuth) enter(addr string) (*hold, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.addrs[addr]
	if u == nil {
		u = &addrUse{}
		p.addrs[addr] = u
	}
	if u.requests >= p.perAddrRequests {
		return nil, false
	}
	u.requests++
	return &hold{p: p, addr: addr}, true
}

// reserve makes the bytes h holds n (more or fewer than now), or says
// false and keeps what it holds when that would take its address or all
// addresses beyond their bytes.
func (h *hold) reserve(n int64) bool {
	if h.released {
		return false
	}
	p := h.p
	p.mu.Lock()
	defer p.mu.Unlock()
	delta := n - h.bytes
	u := p.addrs[h.addr]
	if delta > 0 && (u.bytes+delta > p.perAddrBytes || p.used+delta > p.totalBytes) {
		return false
	}
	u.bytes += delta
	p.used += delta
	h.bytes = n
	return true
}

// grow makes the bytes h holds as near want as its address's and all
// addresses' bytes allow, and at least need (need <= want); it returns
// what h holds, or false (keeping what it holds) when not even need fits.
func (h *hold) grow(want, need int64) (int64, bool) {
	if h.released {
		return 0, false
	}
	p := h.p
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.addrs[h.addr]
	avail := h.bytes + min(p.perAddrBytes-u.bytes, p.totalBytes-p.used)
	n := min(want, avail)
	if n < need {
		return h.bytes, false
	}
	u.bytes += n - h.bytes
	p.used += n - h.bytes
	h.bytes = n
	return n, true
}

// release gives back h's request and bytes; later calls do nothing.
func (h *hold) release() {
	if h == nil || h.released {
		return
	}
	h.released = true
	p := h.p
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.addrs[h.addr]
	u.requests--
	u.bytes -= h.bytes
	p.used -= h.bytes
	h.bytes = 0
	if u.requests == 0 {
		delete(p.addrs, h.addr)
	}
}

// inUse returns the bytes held in all and the requests and bytes of addr
// (for tests and metrics).
func (p *preAuth) inUse(addr string) (total int64, requests int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if u := p.addrs[addr]; u != nil {
		requests, bytes = u.requests, u.bytes
	}
	return p.used, requests, bytes
}

// clientKey is the address a request's bounds are counted against: the
// TCP peer's IPv4 address, or the /64 network of its IPv6 address (one
// host commonly has a whole /64 to pick addresses from). Forwarded headers
// are never used: a caller chooses them.
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}
