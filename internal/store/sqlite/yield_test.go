package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/sched"
	"github.com/cairn-audit/cairn/internal/store/storetest"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// TestIndexerYieldsToLookups: while a lookup is in flight, the indexer
// waits at its yield point between statements, the events already
// durable and readable (appended); once the lookup ends it indexes them.
func TestIndexerYieldsToLookups(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	gate := sched.New(time.Hour) // only the lookup's end lets the indexer go
	s.YieldTo(gate)
	done := gate.Urgent()
	defer done() // before Close, whose last index transaction yields too

	evs := storetest.SpreadEvents(t, "yield", 200)
	if _, err := s.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	flushed := make(chan struct{})
	go func() {
		s.flushIndex()
		close(flushed)
	}()
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		return gate.Waiting() == 1, "waiting for the indexer to step aside"
	})
	if n := s.pendingCount(); n != len(evs) {
		t.Fatalf("%d events pending while the indexer steps aside, want %d", n, len(evs))
	}
	select {
	case <-flushed:
		t.Fatal("the index was written while a lookup was in flight")
	default:
	}
	done()
	<-flushed
	if n := s.pendingCount(); n != 0 {
		t.Fatalf("%d events still pending after the lookup ended", n)
	}
}
