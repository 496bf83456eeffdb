package testutil

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

// WaitFor returns as soon as the condition holds, and Poll reports the last
// message of a condition that never does, once the timeout has passed.
func TestPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		start := time.Now()
		WaitFor(t, time.Minute, func() (bool, string) {
			calls++
			return calls == 4, fmt.Sprintf("call %d", calls)
		})
		if calls != 4 {
			t.Errorf("cond called %d times, want 4", calls)
		}
		if waited := time.Since(start); waited >= time.Second {
			t.Errorf("waited %v for a condition true on the 4th call", waited)
		}
		start = time.Now()
		ok, msg := Poll(5*time.Second, func() (bool, string) { return false, "never" })
		if ok || msg != "never" {
			t.Errorf("Poll = %v, %q; want false, \"never\"", ok, msg)
		}
		if waited := time.Since(start); waited != 5*time.Second {
			t.Errorf("Poll gave up after %v, want exactly the timeout (5s)", waited)
		}
		start, calls = time.Now(), 0
		ok, _ = PollEvery(time.Second, 300*time.Millisecond, func() (bool, string) { calls++; return false, "" })
		if waited := time.Since(start); ok || calls != 5 || waited != time.Second {
			t.Errorf("PollEvery(1s, 300ms): %d calls in %v, want 5 (0, 300, 600, 900ms, 1s) in 1s", calls, waited)
		}
	})
}
