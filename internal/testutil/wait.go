// Package testutil holds small helpers shared by Cairn's tests: polling for
// a condition with a deadline instead of sleeping, and skipping the slow
// tiers under `go test -short`.
package testutil

import (
	"testing"
	"time"
)

// Poll calls cond until it reports true or timeout has passed, waiting a
// little longer between calls each time (10ms, doubling up to 250ms). It
// returns whether cond held and the last message cond gave, for callers
// that report the failure themselves or go on either way.
func Poll(timeout time.Duration, cond func() (bool, string)) (bool, string) {
	return poll(timeout, 10*time.Millisecond, 250*time.Millisecond, cond)
}

// PollEvery is Poll at a fixed pace: cond is called every interval, for
// loops where the pace matters (looking often enough to catch a moment, or
// not so often as to load the server).
func PollEvery(timeout, interval time.Duration, cond func() (bool, string)) (bool, string) {
	return poll(timeout, interval, interval, cond)
}

// poll calls cond until it holds or timeout passes, pausing first, then
// twice as long each time up to most.
func poll(timeout, first, most time.Duration, cond func() (bool, string)) (bool, string) {
	deadline := time.Now().Add(timeout)
	pause := first
	for {
		ok, msg := cond()
		if ok {
			return true, msg
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false, msg
		}
		time.Sleep(min(pause, left))
		pause = min(2*pause, most)
	}
}

// WaitFor calls cond until it reports true, and fails t (Fatal) with cond's
// last message when timeout passes first. The message says what was seen,
// e.g. "3 log files, want 4", so a timeout explains itself.
func WaitFor(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	if ok, msg := Poll(timeout, cond); !ok {
		t.Fatalf("not so after %v: %s", timeout, msg)
	}
}

// SkipShort skips t under `go test -short` (the edit loop's fast tier);
// why names what makes it slow. The full run (scripts/test) does not pass
// -short, and with CI=true fails on any skip.
func SkipShort(t testing.TB, why string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: " + why)
	}
}

// WaitForEvery is WaitFor at a fixed pace (see PollEvery).
func WaitForEvery(t testing.TB, timeout, interval time.Duration, cond func() (bool, string)) {
	t.Helper()
	if ok, msg := PollEvery(timeout, interval, cond); !ok {
		t.Fatalf("not so after %v: %s", timeout, msg)
	}
}
