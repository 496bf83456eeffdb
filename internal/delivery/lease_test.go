package delivery

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cairn-audit/cairn/internal/store/sqlite/sqlitetest"
)

// Two engines on one store take turns through the lease: the first to
// claim a trail delivers it and the other keeps off while the lease lasts
// (renewed on every pass); once its holder stops renewing, the lease
// expires and the other takes over, delivering only what is new. Time is
// the bubble's fake clock: the waits are instant and exact.
func TestLeaseBetweenEngines(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := deliveryConfig(t, dir)
	tr := loggingTrail()
	synctest.Test(t, func(t *testing.T) {
		// The store lives in the bubble: its goroutines and channels are
		// the bubble's, and it is closed before the bubble ends.
		st := sqlitetest.Open(t)
		appendNamed(t, st, acctA, "us-east-1", "First1", "First2")
		one := newEngine(st, trailList{tr}, cfg, "one", time.Now)
		two := newEngine(st, trailList{tr}, cfg, "two", time.Now)
		pass := func(e *Engine) {
			t.Helper()
			if err := e.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
		holder := func() string {
			t.Helper()
			s := storedState(t, st, tr)
			if s.Lease == nil {
				return ""
			}
			return s.Lease.Node
		}
		pass(one) // claims the trail, sees the events
		pass(two) // leased to one: does nothing
		if h := holder(); h != "one" {
			t.Fatalf("lease holder %q, want one", h)
		}
		time.Sleep(time.Second)
		pass(two)
		if n := len(objects(t, dir)); n != 0 {
			t.Fatalf("%d files written by the engine without the lease", n)
		}
		pass(one) // due now
		if n := len(objects(t, dir)); n != 1 {
			t.Fatalf("%d files after the holder's pass, want 1", n)
		}
		// one renews on each pass once half the lease has gone: a pass
		// every 6s keeps two off for good.
		for range 3 {
			time.Sleep(6 * time.Second)
			pass(one)
			pass(two)
			if h := holder(); h != "one" {
				t.Fatalf("lease moved to %q while one renewed it", h)
			}
		}
		// one stops (dies): after the lease's time, two takes over.
		appendNamed(t, st, acctA, "eu-west-1", "Second")
		time.Sleep(leaseTTL - time.Second)
		pass(two)
		if h := holder(); h != "one" {
			t.Fatalf("lease taken by %q before it expired", h)
		}
		time.Sleep(time.Second)
		pass(two)
		if h := holder(); h != "two" {
			t.Fatalf("lease holder %q after one stopped renewing, want two", h)
		}
		time.Sleep(time.Second)
		pass(two)
		pass(one) // back, but two holds the lease now
		files := objects(t, dir)
		if len(files) != 2 {
			t.Fatalf("%d files, want the first batch and two's one", len(files))
		}
		var records int
		for _, body := range files {
			records += len(eventNames(t, body))
		}
		if records != 3 {
			t.Errorf("%d records delivered, want 3 (each event once)", records)
		}
	})
}

// Two engines that read the same state and claim at once: the store's
// version check lets exactly one win.
func TestClaimRace(t *testing.T) {
	ctx := context.Background()
	cfg := deliveryConfig(t, t.TempDir())
	st := sqlitetest.Open(t)
	tr := loggingTrail()
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	one := newEngine(st, trailList{tr}, cfg, "one", clock)
	two := newEngine(st, trailList{tr}, cfg, "two", clock)
	key := stateKey(tr)
	s1, v1, err := one.load(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	s2, v2, err := two.load(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, mine, err := one.claim(ctx, key, s1, v1, now); err != nil || !mine {
		t.Fatalf("first claim: mine %v, %v", mine, err)
	}
	if _, mine, err := two.claim(ctx, key, s2, v2, now); err != nil || mine {
		t.Fatalf("second claim on the same version: mine %v, %v; want refused", mine, err)
	}
	// Reloaded, two sees one's lease and keeps off until it expires.
	s2, v2, _ = two.load(ctx, key)
	if _, mine, _ := two.claim(ctx, key, s2, v2, now.Add(leaseTTL-time.Millisecond)); mine {
		t.Error("two claimed before one's lease expired")
	}
	if _, mine, err := two.claim(ctx, key, s2, v2, now.Add(leaseTTL)); err != nil || !mine {
		t.Errorf("two's claim after expiry: mine %v, %v", mine, err)
	}
}
