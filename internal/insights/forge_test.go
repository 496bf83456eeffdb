package insights

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/event"
)

// legacyUUID is how Insights IDs were once derived: SHA-256 of public
// data, which anyone could compute.
func legacyUUID(s string) string {
	h := sha256.Sum256([]byte(s))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// forgedStarts are the Insights records a hostile producer sends ahead of
// a burst at minute m: Starts (and an End) with the IDs of the public
// derivation, and with random ones.
func forgedStarts(t *testing.T, m int64) []*event.Event {
	t.Helper()
	k := testKey
	shared := legacyUUID(fmt.Sprintf("%s|%s|%s|%s|%s|%d", k.Account, k.Region, k.EventSource, k.EventName, k.InsightType, m))
	var evs []*event.Event
	add := func(shared, id, state string, at int64) {
		tr := Transition{Key: k, State: state, SharedEventID: shared, EventID: id, Time: time.Unix(at*60, 0).UTC(),
			Statistics: Statistics{Insight: Average{1}, InsightDuration: 1}}
		ev, ferr := event.Decode(Record(tr), event.Context{Account: k.Account, Now: tr.Time})
		if ferr != nil {
			t.Fatal(ferr)
		}
		evs = append(evs, ev)
	}
	add(shared, legacyUUID(shared+"|Start"), "Start", m)
	add(shared, legacyUUID(shared+"|End"), "End", m+1)
	for i := range int64(3) {
		add(uuid.NewString(), uuid.NewString(), "Start", m+i)
	}
	return evs
}

// TestEngineIgnoresForgedInsightRecords: Insights records a producer sent
// for an API's coming minutes — with the old, public ID derivation or with
// random IDs — are stored but do not open (or end, or take the IDs of) the
// engine's Insight: the burst still makes exactly one Start and one End,
// whose IDs verify.
func TestEngineIgnoresForgedInsightRecords(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	c := &clock{t: t0.Add(30 * time.Second)}
	trails := fakeTrails{insightTrail(TypeCallRate)}
	storeHistory(t, st, 7, 2)
	e := newEngine(st, c, trails)
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	forged := forgedStarts(t, t0Minute)
	if _, err := st.Append(ctx, forged); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, st, t0.Add(5*time.Second), 60, mallory, "")
	for _, at := range []time.Duration{40 * time.Second, 90 * time.Second, 150 * time.Second, 210 * time.Second} {
		c.set(t0.Add(at))
		if err := e.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var mine []Transition
	for _, tr := range insightRecords(t, st) {
		if verified(e.cfg.Secret, tr) {
			mine = append(mine, tr)
		}
	}
	if len(mine) != 2 || mine[0].State != "Start" || mine[1].State != "End" || mine[0].SharedEventID != mine[1].SharedEventID {
		t.Fatalf("want the engine's one Start and one End, got %+v", mine)
	}
	if !mine[0].Time.Equal(t0) || mine[0].Statistics.Insight.Average != 60 {
		t.Errorf("Start %v %+v", mine[0].Time, mine[0].Statistics)
	}
	for _, f := range forged {
		if f.ID == mine[0].EventID || f.ID == mine[1].EventID {
			t.Errorf("a forged record holds the engine's eventID %s", f.ID)
		}
	}
}

// TestSecretSharedAndKept: the first engine on a store makes the ID
// secret; every later engine (another node, a restart) reads the same
// one, so a record made again has the same IDs.
func TestSecretSharedAndKept(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	a, err := loadSecret(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadSecret(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != secretBytes || string(a) != string(b) {
		t.Fatalf("secret not kept: %x vs %x", a, b)
	}
	other := []byte("another store's secret, 32 bytes")
	if SharedEventID(a, testKey, 7) == SharedEventID(other, testKey, 7) {
		t.Fatal("IDs do not depend on the secret")
	}
}

// TestVerifiedRejectsMovedIDs: a real record's eventID does not verify on
// a record for another minute, API, state or Insight.
func TestVerifiedRejectsMovedIDs(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	tr := Transition{Key: testKey, State: "Start", SharedEventID: SharedEventID(secret, testKey, 100), Time: time.Unix(100*60, 0)}
	tr.EventID = EventID(secret, tr)
	if !verified(secret, tr) {
		t.Fatal("the engine's own record does not verify")
	}
	moves := map[string]func(*Transition){
		"minute": func(x *Transition) { x.Time = x.Time.Add(time.Minute) },
		"api":    func(x *Transition) { x.Key.EventName = "Other" },
		"state":  func(x *Transition) { x.State = "End" },
		"shared": func(x *Transition) { x.SharedEventID = uuid.NewString() },
		"secret": func(x *Transition) { x.EventID = EventID([]byte("x"), *x) },
	}
	for name, move := range moves {
		x := tr
		move(&x)
		if verified(secret, x) {
			t.Errorf("moved %s: still verifies", name)
		}
	}
	if verified(nil, tr) {
		t.Error("verifies without a secret")
	}
}
