package server

import "sync"

// Defaults of the bounds on authenticated requests in flight per access key
// and per client address, used when the Options leave them zero (the same
// as the config's defaults).
const (
	DefaultMaxInflightPerKey     = 16
	DefaultMaxInflightPerAddress = 32
)

// inflight bounds the authenticated requests in flight, from the moment
// their signatures are verified until they are answered, per access key and
// per client address: so that one key, or one address with many keys,
// cannot hold every ingest slot or the memory of many bodies, whose bytes
// it may send as slowly as BodyReadTimeout allows, while every other
// caller waits. Beyond a bound a request is answered 429 at once.
type inflight struct {
	perKey, perAddr int

	mu    sync.Mutex
	keys  map[string]int      // only keys with a request in flight
	addrs map[string]int      // only addresses with a request in flight
	sigs  map[string]struct{} // the signatures of requests in flight
}

// newInflight makes the bounds: requests per access key and per address.
func newInflight(perKey, perAddr int) *inflight {
	return &inflight{perKey: perKey, perAddr: perAddr, keys: map[string]int{}, addrs: map[string]int{},
		sigs: map[string]struct{}{}}
}

// enter counts a request of access key key from addr (a clientKey), signed
// with sig (its signature, or "" to not check it), or says false when
// either already has its number of requests in flight, or a request with
// the same signature is in flight: a client never sends one signature
// twice at once (a retry is signed anew), but whoever captured a signed
// request could replay its head, within the minutes its date is good, to
// hold the key's places while sending no body. leave gives the place
// back; later calls do nothing.
func (f *inflight) enter(key, addr, sig string) (leave func(), ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys[key] >= f.perKey || f.addrs[addr] >= f.perAddr {
		return nil, false
	}
	if sig != "" {
		if _, dup := f.sigs[sig]; dup {
			return nil, false
		}
		f.sigs[sig] = struct{}{}
	}
	f.keys[key]++
	f.addrs[addr]++
	var once sync.Once
	return func() { once.Do(func() { f.leave(key, addr, sig) }) }, true
}

// leave gives back a place of key and addr, and sig's.
func (f *inflight) leave(key, addr, sig string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sigs, sig)
	if f.keys[key]--; f.keys[key] <= 0 {
		delete(f.keys, key)
	}
	if f.addrs[addr]--; f.addrs[addr] <= 0 {
		delete(f.addrs, addr)
	}
}

// inUse returns the requests in flight of key and of addr (for tests).
func (f *inflight) inUse(key, addr string) (keyRequests, addrRequests int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keys[key], f.addrs[addr]
}
