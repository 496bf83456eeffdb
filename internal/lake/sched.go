package lake

import (
	"context"
	"sync"
)

// scheduler hands out the engine's running slots to queries fairly across
// accounts, so that one account's heavy queries cannot hold every read
// connection while another account's query waits.
//
// A query waits for a slot (QUEUED) when every slot is taken. When a slot
// frees, it goes to the waiting query of the account with the fewest
// running queries, the longest-waiting first among equals (round robin
// across accounts). An account never holds more than perAccount slots
// (slots-1 when there are two or more), so one account alone always
// leaves a slot for the others.
//
// What starvation remains: running queries are never pre-empted, so when
// enough accounts collude to fill every slot (two accounts with four
// slots: one holding three, the other one) the others' queries stay
// QUEUED until one of those queries ends or reaches query_timeout.
type scheduler struct {
	mu         sync.Mutex
	free       int
	perAccount int
	running    map[string]int
	waiting    []*waiter // in arrival order
}

type waiter struct {
	account string
	granted chan struct{}
}

func newScheduler(slots int) *scheduler {
	if slots < 1 {
		slots = 1
	}
	per := slots
	if slots > 1 {
		per = slots - 1
	}
	return &scheduler{free: slots, perAccount: per, running: map[string]int{}}
}

// acquire waits for a slot for a query of account; release gives it back.
// An error is ctx's: no slot is held then.
func (s *scheduler) acquire(ctx context.Context, account string) (release func(), err error) {
	w := &waiter{account: account, granted: make(chan struct{})}
	s.mu.Lock()
	s.waiting = append(s.waiting, w)
	s.dispatch()
	s.mu.Unlock()
	release = func() {
		s.mu.Lock()
		s.free++
		s.running[account]--
		if s.running[account] == 0 {
			delete(s.running, account)
		}
		s.dispatch()
		s.mu.Unlock()
	}
	select {
	case <-w.granted:
		return release, nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-w.granted: // granted meanwhile: give it back
		s.mu.Unlock()
		release()
		s.mu.Lock()
	default:
		for i, o := range s.waiting {
			if o == w {
				s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
				break
			}
		}
	}
	return nil, ctx.Err()
}

// dispatch grants free slots to waiters (caller holds mu).
func (s *scheduler) dispatch() {
	for s.free > 0 {
		best := -1
		for i, w := range s.waiting {
			n := s.running[w.account]
			if n >= s.perAccount {
				continue
			}
			if best < 0 || n < s.running[s.waiting[best].account] {
				best = i
			}
		}
		if best < 0 {
			return
		}
		w := s.waiting[best]
		s.waiting = append(s.waiting[:best], s.waiting[best+1:]...)
		s.free--
		s.running[w.account]++
		close(w.granted)
	}
}
