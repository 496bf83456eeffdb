package insights

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/store"
)

// keyN is the n-th distinct API of an account and region.
func keyN(region string, n int) Key {
	return Key{Account: testKey.Account, Region: region, EventSource: "junk.example.com", EventName: fmt.Sprintf("Op%07d", n),
		InsightType: TypeCallRate}
}

// TestCapBoundsTrackedAPIs: a producer sending many distinct API names
// makes the detector track at most MaxAPIs keys per account and region;
// the calls of the others are counted as untracked; an API already
// tracked keeps counting; another region has its own cap.
func TestCapBoundsTrackedAPIs(t *testing.T) {
	const maxAPIs = 100
	d := NewDetector(Config{Window: 168 * time.Hour, MaxAPIs: maxAPIs}, t0Minute-1)
	if !d.Observe(testKey, t0, alice) {
		t.Fatal("first API not tracked")
	}
	for i := range 5000 {
		d.Observe(keyN("us-east-1", i), t0.Add(time.Duration(i%50)*time.Second), mallory)
	}
	d.Observe(keyN("eu-west-1", 1), t0, mallory)
	if got := d.Tracked(); got != maxAPIs+1 {
		t.Fatalf("tracked %d keys, want %d (the cap in us-east-1, one in eu-west-1)", got, maxAPIs+1)
	}
	if mem, limit := d.Tracked()*d.BytesPerAPI(), (maxAPIs+1)*d.BytesPerAPI(); mem > limit {
		t.Fatalf("baseline memory %d bytes above the cap's %d", mem, limit)
	}
	un := d.TakeUntracked()
	if n := un[[2]string{testKey.Account, "us-east-1"}]; n != 5000-(maxAPIs-1) || len(un) != 1 {
		t.Fatalf("untracked %v, want %d in us-east-1", un, 5000-(maxAPIs-1))
	}
	if len(d.TakeUntracked()) != 0 {
		t.Fatal("TakeUntracked did not reset")
	}
	if !d.Observe(testKey, t0, alice) || !d.Observe(keyN("us-east-1", 3), t0, alice) {
		t.Fatal("an API tracked before the cap was reached is refused")
	}
	// The checkpoint keeps the cap's accounting.
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	d2, err := UnmarshalDetector(Config{Window: 168 * time.Hour, MaxAPIs: maxAPIs}, b)
	if err != nil {
		t.Fatal(err)
	}
	if d2.Observe(keyN("us-east-1", 999999), t0, mallory) || d2.Tracked() != maxAPIs+1 {
		t.Fatal("a restored detector tracks past the cap")
	}
}

// TestEvictForgetsIdleAPIs: an API with no call left in the window, no
// minute to analyse and no open Insight is forgotten at the next hourly
// sweep, freeing its place; one called within the window, or inside an
// Insight, is kept.
func TestEvictForgetsIdleAPIs(t *testing.T) {
	d := NewDetector(Config{Window: 24 * time.Hour, MinBaseline: time.Hour, MaxAPIs: 3}, t0Minute-1)
	old, recent, bursty := keyN("us-east-1", 1), keyN("us-east-1", 2), keyN("us-east-1", 3)
	for m := t0Minute; m < t0Minute+120; m++ {
		d.observeN(old, time.Unix(m*60, 0), alice, 1)
		d.observeN(bursty, time.Unix(m*60, 0), alice, 1)
		d.Close(m, nil)
	}
	// A day later: recent is called, bursty bursts (an Insight opens).
	day := t0Minute + 24*60 + 60
	d.Close(day-1, nil)
	d.observeN(recent, time.Unix(day*60, 0), alice, 1)
	d.observeN(bursty, time.Unix(day*60, 0), mallory, 500)
	if d.Observe(keyN("us-east-1", 4), time.Unix(day*60, 0), mallory) {
		t.Fatal("a fourth API tracked above the cap of 3")
	}
	trs := d.Close(day, nil)
	if len(trs) != 1 || trs[0].State != "Start" {
		t.Fatalf("want the burst's Start, got %+v", trs)
	}
	// Two hours on, old (last called over a day ago) is gone.
	d.Close(day+120, nil)
	if d.Tracks(old) || !d.Tracks(recent) || !d.Tracks(bursty) {
		t.Fatalf("after the sweep: old %v recent %v bursty %v", d.Tracks(old), d.Tracks(recent), d.Tracks(bursty))
	}
	if !d.Observe(keyN("us-east-1", 4), time.Unix((day+121)*60, 0), mallory) {
		t.Fatal("the place old freed is not reused")
	}
}

// TestEngineReportsUntracked: the engine passes the refused calls on (the
// server's metric) and logs once per account and region an hour.
func TestEngineReportsUntracked(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	c := &clock{t: t0.Add(30 * time.Second)}
	var got uint64
	e := NewEngine(st, fakeTrails{insightTrail(TypeCallRate)}, Options{Window: 168 * time.Hour, Settle: 30 * time.Second,
		Regions: []string{"us-east-1"}, MaxAPIs: 1}, WithClock(c.now), WithNode("n1"),
		WithUntracked(func(a, r string, n uint64) { got += n }))
	appendEvents(t, st, t0.Add(time.Second), 3, alice, "") // testKey: tracked
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, st, t0.Add(2*time.Second), 2, alice, `,"errorCode":"AccessDenied"`) // its error-rate key: refused
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got != 2 || e.det.Tracked() != 1 {
		t.Fatalf("untracked %d (want 2), tracked %d (want 1)", got, e.det.Tracked())
	}
}

// TestCheckpointKeepsBaselines: the packed checkpoint gives back every
// baseline slot; one made with another window starts the baselines afresh.
func TestCheckpointKeepsBaselines(t *testing.T) {
	d := fullDetector(50)
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	d2, err := UnmarshalDetector(d.cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	for k, x := range d.apis {
		y := d2.apis[k]
		if y == nil || fmt.Sprint(y.base.Slots) != fmt.Sprint(x.base.Slots) {
			t.Fatalf("%v: baseline not restored", k)
		}
	}
	d3, err := UnmarshalDetector(Config{Window: 48 * time.Hour}, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range d3.apis {
		if x.base.newest() != -1 {
			t.Fatal("a checkpoint of another window kept its slots")
		}
	}
}

// TestEngineReadToHoldsRetention: retention may purge past the engine's
// checkpoint only: before it (a trail asks for Insights, nothing read
// yet) nothing; after a pass, what it has read; with no trail asking,
// everything (an idle engine holds nothing back).
func TestEngineReadToHoldsRetention(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	c := &clock{t: t0.Add(30 * time.Second)}
	appendEvents(t, st, t0.Add(-48*time.Hour), 5, alice, "")
	idle := newEngine(st, c, fakeTrails{})
	if to, err := idle.ReadTo(ctx); err != nil || to != store.ReadAll {
		t.Fatalf("idle engine: ReadTo %d, %v; want ReadAll", to, err)
	}
	e := newEngine(st, c, fakeTrails{insightTrail(TypeCallRate)})
	if to, err := e.ReadTo(ctx); err != nil || to != 0 {
		t.Fatalf("before the first pass: ReadTo %d, %v; want 0", to, err)
	}
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	c.set(t0.Add(2 * time.Minute)) // a minute closes: the checkpoint is written
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, st, t0.Add(-48*time.Hour), 1, alice, "") // stored after: not read yet
	to, err := e.ReadTo(ctx)
	if err != nil || to != 5 {
		t.Fatalf("after a pass: ReadTo %d, %v; want 5 (the events read, not the one after)", to, err)
	}
}
