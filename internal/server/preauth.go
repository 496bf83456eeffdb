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
	DefaultUnauthenticatedBytesPerKey        = 8 << 20
	DefaultUnauthenticatedRequestsPerAddress = 16
)

// consoleKey is what console forms are counted against in place of an
// access key: they are read before any key is known, and may then take no
// more from one address than one key may (so strangers at some addresses
// cannot fill the forms of every other). (No access key id has a space.)
const consoleKey = " console"

// preAuth bounds what requests hold before their signatures are verified,
// so that callers who have proven nothing cannot take the server's memory
// or its ingest slots: per client address, the requests whose bodies are
// being read and the bytes buffered for them; per access key the request
// names (checked to be a real key with a current date, see
// sigv4.Verifier.Precheck, but not yet proven) and address, the bytes
// buffered (so a stranger who names a key takes nothing from its owner at
// another address); over all, the bytes buffered.
//
// A request of a key from an address where that key proved itself lately
// (see proven) may use a reserve of the bytes in all (a quarter) that the
// others leave alone, and is counted against its key's bytes from every
// address where it is proven: so strangers can neither starve a key's
// owner nor everyone, short of sharing their address, and one tenant
// proven at many addresses holds at most one key's bytes (of the reserve
// too). Beyond a bound a request is refused at once (HTTP 429), not
// queued: a queue would hold goroutines and connections for the callers
// the bound is there to stop, and AWS SDKs retry a ThrottlingException
// with backoff.
type preAuth struct {
	perAddrRequests int
	perAddrBytes    int64
	perKeyBytes     int64
	totalBytes      int64
	openBytes       int64 // the part of totalBytes requests not proven may use

	// buffers are the buffers bodies grew out of, for the next bodies.
	buffers *bodyBuffers

	mu       sync.Mutex
	used     int64
	requests int                 // requests in hand, of every address
	addrs    map[string]*addrUse // only addresses with a request in hand
	keys     map[string]int64    // bytes by share (see shareOf), only shares holding bytes
}

// shareOf is what a request's bytes are counted against besides its
// address and the total: a request not proven, against the key it names
// from its address, so that strangers who name a key from their addresses
// take nothing of that key's share at any other address (they are bounded
// by their addresses' bytes and the total anyway); a proven request,
// against its key from every address, so that a tenant proven at many
// addresses holds at most one key's bytes, of the reserve too. (No access
// key id or clientKey has a space.)
func shareOf(addr, key string, proven bool) string {
	if proven {
		return key
	}
	return key + " " + addr
}

// addrUse is what one client address holds.
type addrUse struct {
	requests int
	bytes    int64
}

// newPreAuth makes the bounds: requests and bytes per address, bytes per
// key, bytes in all.
func newPreAuth(perAddrRequests int, perAddrBytes, perKeyBytes, totalBytes int64) *preAuth {
	// The reserve leaves the others at least a body of the largest size
	// (which fits an address's and a key's bytes).
	reserve := max(0, min(totalBytes/4, totalBytes-min(perAddrBytes, perKeyBytes)))
	return &preAuth{perAddrRequests: perAddrRequests, perAddrBytes: perAddrBytes, perKeyBytes: perKeyBytes,
		totalBytes: totalBytes, openBytes: totalBytes - reserve, buffers: &bodyBuffers{}, addrs: map[string]*addrUse{}, keys: map[string]int64{}}
}

// hold is one request's share of the bounds: a request of its address and
// the bytes reserved for its body, counted against its address and its
// key. A hold is for one goroutine.
type hold struct {
	p        *preAuth
	addr     string
	share    string // see shareOf
	proven   bool   // key proved itself from addr lately: may use the reserve
	bytes    int64
	released bool
}

// enter counts a request of addr (a clientKey) that names key (an access
// key id, or consoleKey), or says false when addr already has its number
// of requests in hand. proven says that key proved itself from addr lately.
func (p *preAuth) enter(addr, key string, proven bool) (*hold, bool) {
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
	p.requests++
	return &hold{p: p, addr: addr, share: shareOf(addr, key, proven), proven: proven}, true
}

// room is how many more bytes h's address, key and all keys allow; p.mu
// is held.
func (h *hold) room() int64 {
	p := h.p
	addr := p.perAddrBytes - p.addrs[h.addr].bytes
	held := p.keys[h.share]
	all := p.openBytes - p.used
	if h.proven {
		// The reserve is not first come for one key: a key may fill it
		// only to its half, or take from it what leaves the key holding
		// at most half of it.
		half := (p.totalBytes - p.openBytes) / 2
		all = max(min(p.totalBytes-p.used, half-held), all+half)
	}
	return min(addr, p.perKeyBytes-held, all)
}

// add counts delta more bytes for h; p.mu is held.
func (h *hold) add(delta int64) {
	p := h.p
	p.addrs[h.addr].bytes += delta
	p.used += delta
	if p.keys[h.share] += delta; p.keys[h.share] == 0 {
		delete(p.keys, h.share)
	}
	h.bytes += delta
}

// reserve makes the bytes h holds n (more or fewer than now), or says
// false and keeps what it holds when that would take its address, its key
// or all beyond their bytes.
func (h *hold) reserve(n int64) bool {
	if h.released {
		return false
	}
	p := h.p
	p.mu.Lock()
	defer p.mu.Unlock()
	delta := n - h.bytes
	if delta > 0 && delta > h.room() {
		return false
	}
	h.add(delta)
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
	n := min(want, h.bytes+h.room())
	if n < need {
		return h.bytes, false
	}
	h.add(n - h.bytes)
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
	h.add(-h.bytes)
	u := p.addrs[h.addr]
	u.requests--
	p.requests--
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

// usage returns the requests in hand and the bytes they hold, of every
// address (for /metrics).
func (p *preAuth) usage() (requests int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests, p.used
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
