package server

import (
	"sync"
	"time"
)

// provenWindow is how long a client address stays proven for an access
// key after a request of that key from it was verified: the SigV4 window.
const provenWindow = 15 * time.Minute

// provenPerKey bounds the addresses remembered per access key; beyond it
// the one proven longest ago is forgotten.
const provenPerKey = 64

// proven remembers, per access key, the client addresses from which a
// request signed with that key was verified in the last provenWindow. An
// access key id is not a secret: anyone may name it, and a request that
// names it is counted against its share of the bytes read before
// authentication (preAuth). A caller that has shown it holds the key's
// secret from an address is not held to that share there, so that a
// stranger who names the key from elsewhere cannot starve the key's
// owner. The set stays bounded: keys come from the configuration, and
// each keeps at most provenPerKey addresses.
type proven struct {
	mu   sync.Mutex
	keys map[string]map[string]time.Time // key → address → when verified
}

func newProven() *proven { return &proven{keys: map[string]map[string]time.Time{}} }

// vouch records that a request of key from addr (a clientKey) was verified
// at now.
func (v *proven) vouch(key, addr string, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	addrs := v.keys[key]
	if addrs == nil {
		addrs = map[string]time.Time{}
		v.keys[key] = addrs
	}
	if _, ok := addrs[addr]; !ok && len(addrs) >= provenPerKey {
		oldest, at := "", now
		for a, t := range addrs {
			if now.Sub(t) > provenWindow {
				delete(addrs, a)
			} else if !t.After(at) {
				oldest, at = a, t
			}
		}
		if len(addrs) >= provenPerKey {
			delete(addrs, oldest)
		}
	}
	addrs[addr] = now
}

// has says whether a request of key from addr was verified within
// provenWindow of now.
func (v *proven) has(key, addr string, now time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	t, ok := v.keys[key][addr]
	return ok && now.Sub(t) <= provenWindow
}
