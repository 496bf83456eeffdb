package console

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// SignInLimits say how the console slows down guessing at its sign-in
// form. Failed sign-ins are counted per access key and address, and per
// address for all keys together: the first FailuresPerKey (per key and
// address) or FailuresPerAddress (per address) failures are answered at
// once; after that each further failure makes the next attempt wait,
// FirstWait at first and twice as long each time, up to MaxWait. A waiting
// attempt is refused without its secret being checked, and the page says
// when to try again. A key's count from an address ends when it signs in
// there; every count ends after MaxWait without failures.
//
// An address's wait holds back only the keys that have failed from that
// address: a key with no failure of its own there is still checked. So
// someone who sprays made-up or other users' keys from an address (or from
// the NAT or proxy many users share) never locks out a user who has not
// failed there: another user's correct key pair from the same address
// signs in at once, and so does the attacked user from another address.
// What the address's wait still bounds is guessing across many keys: once
// the address is waiting, each further key gets one checked attempt there
// until the wait ends, and each failure makes the wait longer.
type SignInLimits struct {
	FailuresPerKey     int
	FailuresPerAddress int
	FirstWait          time.Duration
	MaxWait            time.Duration
}

// DefaultSignInLimits are the limits unless Options say otherwise.
var DefaultSignInLimits = SignInLimits{FailuresPerKey: 5, FailuresPerAddress: 100,
	FirstWait: 30 * time.Second, MaxWait: 15 * time.Minute}

// withDefaults fills the zero fields of l from DefaultSignInLimits.
func (l SignInLimits) withDefaults() SignInLimits {
	d := DefaultSignInLimits
	if l.FailuresPerKey > 0 {
		d.FailuresPerKey = l.FailuresPerKey
	}
	if l.FailuresPerAddress > 0 {
		d.FailuresPerAddress = l.FailuresPerAddress
	}
	if l.FirstWait > 0 {
		d.FirstWait = l.FirstWait
	}
	if l.MaxWait > 0 {
		d.MaxWait = l.MaxWait
	}
	d.MaxWait = max(d.MaxWait, d.FirstWait)
	return d
}

// maxTracked bounds each table of the throttle (key and address pairs;
// addresses). Each entry takes about 200 bytes, so both tables together
// stay under ~40 MB. When a table is full the entry that failed least
// recently is forgotten.
const maxTracked = 100_000

// maxKeyBytes bounds the access key id a pair is named by (AWS's are at
// most 128 characters).
const maxKeyBytes = 128

// throttle keeps the failed sign-ins of one node in memory. It is not
// shared with other nodes: an unauthenticated request must not make the
// server write to the shared store (beyond the ConsoleLogin event of a
// known key), and a node's tables are bounded. With N nodes behind a load
// balancer an attacker gets at most N times the budget.
type throttle struct {
	mu     sync.Mutex
	limits SignInLimits
	pairs  *failureTable
	addrs  *failureTable
}

func newThrottle(l SignInLimits) *throttle {
	l = l.withDefaults()
	return &throttle{limits: l,
		pairs: newFailureTable(l.FailuresPerKey, maxTracked),
		addrs: newFailureTable(l.FailuresPerAddress, maxTracked)}
}

// refusal says why and until when an attempt is refused.
type refusal struct {
	until      time.Time
	perAddress bool // the address as a whole, not only this key from it
}

// outcome is what became of one sign-in attempt.
type outcome struct {
	checked bool // the key pair was checked (ok says how it went)
	ok      bool
	refused *refusal // set when the attempt waits (not checked)
	// slowed is set when this failure started a wait (for the log).
	slowed *refusal
}

// attempt runs check for a sign-in with keyID from address addr, unless
// the key from that address, or the address, must wait. The check and the
// counting happen under one lock, so concurrent attempts cannot pass the
// limits together. check must be quick (it compares with the configured
// secret).
func (t *throttle) attempt(keyID, addr string, now time.Time, check func() bool) outcome {
	pk := pairKey(keyID, addr)
	t.mu.Lock()
	defer t.mu.Unlock()
	if until := t.pairs.waiting(pk, now, t.limits.MaxWait); !until.IsZero() {
		return outcome{refused: &refusal{until: until}}
	}
	if until := t.addrs.waiting(addr, now, t.limits.MaxWait); !until.IsZero() && t.pairs.tracked(pk, now, t.limits.MaxWait) {
		return outcome{refused: &refusal{until: until, perAddress: true}}
	}
	if check() {
		t.pairs.remove(pk)
		return outcome{checked: true, ok: true}
	}
	o := outcome{checked: true}
	if until := t.pairs.fail(pk, now, t.limits); !until.IsZero() {
		o.slowed = &refusal{until: until}
	}
	if until := t.addrs.fail(addr, now, t.limits); !until.IsZero() && o.slowed == nil {
		o.slowed = &refusal{until: until, perAddress: true}
	}
	return o
}

func pairKey(keyID, addr string) string {
	if len(keyID) > maxKeyBytes {
		keyID = keyID[:maxKeyBytes]
	}
	return addr + " " + keyID
}

// addressOf is the address a client's failures are counted under: an IPv4
// address, or the /64 network of an IPv6 address (one host's share, which
// it can fill with as many addresses as it likes).
func addressOf(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// failureTable counts failures per name, least recently failed last.
type failureTable struct {
	free    int
	max     int
	entries map[string]*list.Element
	order   *list.List // of *failures, most recent failure in front
}

type failures struct {
	name  string
	count int
	last  time.Time // the last failure
	until time.Time // attempts wait until then
}

func newFailureTable(free, max int) *failureTable {
	return &failureTable{free: free, max: max, entries: map[string]*list.Element{}, order: list.New()}
}

// forgotten reports whether f's failures are over: no failure and no wait
// for quiet.
func (f *failures) forgotten(now time.Time, quiet time.Duration) bool {
	end := f.last
	if f.until.After(end) {
		end = f.until
	}
	return now.Sub(end) >= quiet
}

// waiting returns until when attempts of name wait, or the zero time.
func (t *failureTable) waiting(name string, now time.Time, quiet time.Duration) time.Time {
	el := t.entries[name]
	if el == nil {
		return time.Time{}
	}
	f := el.Value.(*failures)
	if f.forgotten(now, quiet) {
		t.remove(name)
		return time.Time{}
	}
	if now.Before(f.until) {
		return f.until
	}
	return time.Time{}
}

// tracked reports whether name has failures that are not yet forgotten.
func (t *failureTable) tracked(name string, now time.Time, quiet time.Duration) bool {
	el := t.entries[name]
	if el == nil {
		return false
	}
	if el.Value.(*failures).forgotten(now, quiet) {
		t.remove(name)
		return false
	}
	return true
}

// fail counts a failure of name and returns until when its attempts now
// wait (the zero time while it is within its free failures).
func (t *failureTable) fail(name string, now time.Time, l SignInLimits) time.Time {
	el := t.entries[name]
	var f *failures
	if el != nil {
		f = el.Value.(*failures)
		if f.forgotten(now, l.MaxWait) {
			*f = failures{name: name}
		}
		t.order.MoveToFront(el)
	} else {
		t.evict(now, l.MaxWait)
		f = &failures{name: name}
		t.entries[name] = t.order.PushFront(f)
	}
	f.count++
	f.last = now
	if f.count < t.free {
		return time.Time{}
	}
	f.until = now.Add(backoff(f.count-t.free, l))
	return f.until
}

// backoff is the wait after the n-th failure beyond the free ones:
// FirstWait doubled n times, at most MaxWait.
func backoff(n int, l SignInLimits) time.Duration {
	d := l.FirstWait
	for i := 0; i < n && d < l.MaxWait; i++ {
		d *= 2
	}
	return min(d, l.MaxWait)
}

// evict makes room for one entry: the forgotten entries at the back go
// first; a full table forgets its least recently failed entry.
func (t *failureTable) evict(now time.Time, quiet time.Duration) {
	for t.order.Len() > 0 {
		back := t.order.Back().Value.(*failures)
		if !back.forgotten(now, quiet) && t.order.Len() < t.max {
			return
		}
		t.remove(back.name)
	}
}

func (t *failureTable) remove(name string) {
	if el := t.entries[name]; el != nil {
		t.order.Remove(el)
		delete(t.entries, name)
	}
}

// len is the number of names tracked.
func (t *failureTable) len() int { return len(t.entries) }
