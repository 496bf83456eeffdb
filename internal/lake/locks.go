package lake

import "sync"

// accountLocks serializes StartQuery per account (its count of queued and
// running queries against the limit), without holding the service's lock
// while the account's queries are listed: one account's StartQuery never
// waits for another's, nor for store changes.
type accountLocks struct {
	mu    sync.Mutex
	locks map[string]*accountLock
}

type accountLock struct {
	sync.Mutex
	users int
}

// lock takes account's lock; the function returned gives it back.
func (a *accountLocks) lock(account string) (unlock func()) {
	a.mu.Lock()
	if a.locks == nil {
		a.locks = map[string]*accountLock{}
	}
	l := a.locks[account]
	if l == nil {
		l = &accountLock{}
		a.locks[account] = l
	}
	l.users++
	a.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		a.mu.Lock()
		if l.users--; l.users == 0 {
			delete(a.locks, account)
		}
		a.mu.Unlock()
	}
}
