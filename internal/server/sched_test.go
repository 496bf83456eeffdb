package server

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/sched"
	"github.com/cairn-audit/cairn/internal/store"
)

// heldQuerier holds every lookup until release is closed, so that a test
// can keep a LookupEvents call in flight.
type heldQuerier struct{ release chan struct{} }

func (q heldQuerier) Lookup(ctx context.Context, _ store.Query) (store.Page, error) {
	select {
	case <-q.release:
	case <-ctx.Done():
	}
	return store.Page{}, nil
}

// TestIngestYieldsToLookups: while a LookupEvents call is in flight, a
// batch posted to /v1/events waits at its decoding's yield point, and is
// decoded, stored and acknowledged once the lookup is answered.
func TestIngestYieldsToLookups(t *testing.T) {
	gate := sched.New(time.Hour) // only the lookup's end lets the batch go
	held := heldQuerier{release: make(chan struct{})}
	e := newLimitsEnv(t, Options{Gate: gate, History: history.New(held, 90)})
	var once sync.Once
	release := func() { once.Do(func() { close(held.release) }) }
	t.Cleanup(release) // before the server's cleanup, which waits for the lookup

	lookup := make(chan int, 1)
	go func() {
		resp, _ := e.post(t, "AKIABOBADMIN00000001", "bob-secret", "us-east-1", "/", "LookupEvents", nil, []byte("{}"))
		lookup <- resp.StatusCode
	}()
	waitFor(t, "the lookup to be in flight", func() bool { return gate.InFlight() == 1 })

	rec, _ := json.Marshal(map[string]any{"eventID": "c0ffee00-0000-4000-8000-000000000001", "eventName": "GetObject",
		"eventSource": "s3.amazonaws.com", "awsRegion": "us-east-1", "eventTime": time.Now().UTC().Format(time.RFC3339),
		"userIdentity": map[string]any{"type": "IAMUser", "accountId": "111111111111"}})
	batch := []byte(`{"Records":[` + string(rec) + `]}`)
	type answer struct {
		status int
		body   []byte
	}
	ingested := make(chan answer, 1)
	go func() {
		resp, b := e.post(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "/v1/events", "", nil, batch)
		ingested <- answer{resp.StatusCode, b}
	}()
	waitFor(t, "the batch to step aside", func() bool { return gate.Waiting() == 1 })
	select {
	case a := <-ingested:
		t.Fatalf("the batch was answered (HTTP %d %s) while a lookup was in flight", a.status, a.body)
	default:
	}

	release()
	if status := <-lookup; status != http.StatusOK {
		t.Fatalf("lookup: HTTP %d", status)
	}
	a := <-ingested
	if a.status != http.StatusOK {
		t.Fatalf("ingest: HTTP %d %s", a.status, a.body)
	}
	var res struct{ Accepted int }
	if err := json.Unmarshal(a.body, &res); err != nil || res.Accepted != 1 {
		t.Fatalf("ingest answer %s (%v), want 1 accepted", a.body, err)
	}
	if gate.InFlight() != 0 || gate.Waiting() != 0 {
		t.Fatalf("after both answers: %d lookups in flight, %d waiting", gate.InFlight(), gate.Waiting())
	}
}

// TestIngestWithoutLookupsDoesNotWait: with no lookup in flight a batch
// never waits at the gate.
func TestIngestWithoutLookupsDoesNotWait(t *testing.T) {
	gate := sched.New(time.Hour)
	e := newLimitsEnv(t, Options{Gate: gate})
	resp, b := e.post(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "/v1/events", "", nil, []byte(`{"Records":[]}`))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ingest: HTTP %d %s", resp.StatusCode, b)
	}
}
