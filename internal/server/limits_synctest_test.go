package server

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The token bucket on the clock it is given, time.Now in a synctest bubble:
// callers hammering one key from several goroutines get the burst and then
// exactly the rate, however they interleave; another key used at its rate
// is never refused. The bubble's clock makes the waits instant and the
// counts exact.
func TestRateLimiterOverTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newRateLimiter(5, time.Now) // 5 a second, burst 10
		var allowed, other atomic.Int64
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				// Every 100ms for 10s: 100 tries per goroutine.
				for i := range 100 {
					if l.allow("hot") {
						allowed.Add(1)
					}
					if g == 0 && i%2 == 0 && l.allow("cold") {
						other.Add(1)
					}
					time.Sleep(100 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		// The burst, then 5 a second for the 9.9s between the first and
		// last tries: 10 + 49 (a half token is left over).
		if got := allowed.Load(); got != 10+49 {
			t.Errorf("allowed %d of 400 tries in 10s, want 59 (burst 10, then 5/s)", got)
		}
		if got := other.Load(); got != 50 {
			t.Errorf("a key tried every 200ms (at its rate) was allowed %d of 50", got)
		}
	})
}
