package sched

import (
	"context"
	"testing"
	"time"
)

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestYieldWaitsForUrgent: a yield point waits while urgent work is in
// flight and goes on when the last of it ends.
func TestYieldWaitsForUrgent(t *testing.T) {
	g := New(time.Hour) // only the end of the urgent work lets it go
	done1, done2 := g.Urgent(), g.Urgent()
	yielded := make(chan bool)
	go func() { yielded <- g.Yield(context.Background()) }()
	waitFor(t, "the yield to wait", func() bool { return g.Waiting() == 1 })
	done1()
	done1() // a second call does nothing
	if g.InFlight() != 1 {
		t.Fatalf("in flight = %d, want 1", g.InFlight())
	}
	select {
	case <-yielded:
		t.Fatal("the yield went on while urgent work was in flight")
	default:
	}
	done2()
	if !<-yielded {
		t.Error("Yield reported it did not wait")
	}
	if g.Waiting() != 0 || g.InFlight() != 0 {
		t.Errorf("waiting %d, in flight %d after the end", g.Waiting(), g.InFlight())
	}
}

// TestYieldBounded: background work always progresses: a yield waits at
// most the gate's bound, and not after its context ends.
func TestYieldBounded(t *testing.T) {
	g := New(time.Millisecond)
	defer g.Urgent()()
	for range 3 {
		if !g.Yield(context.Background()) {
			t.Fatal("Yield did not wait with urgent work in flight")
		}
	}
	long := New(time.Hour)
	defer long.Urgent()()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if !long.Yield(ctx) {
		t.Fatal("Yield reported no wait")
	}
}

// TestYieldIdle: with nothing urgent (or no gate) a yield does not wait.
func TestYieldIdle(t *testing.T) {
	g := New(time.Hour)
	if g.Yield(context.Background()) {
		t.Error("Yield waited with nothing urgent in flight")
	}
	g.Urgent()()
	if g.Yield(context.Background()) {
		t.Error("Yield waited after the urgent work ended")
	}
	var none *Gate
	if none.Yield(context.Background()) || none.InFlight() != 0 || none.Waiting() != 0 {
		t.Error("a nil gate waited or counted")
	}
	none.Urgent()()
}
