package lakesql

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// bigEvents: n events with records of ~size bytes, distinct content.
func bigEvents(prefix string, n, size int, t0 time.Time) []*event.Event {
	var evs []*event.Event
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Second)
		pad := strings.Repeat(fmt.Sprintf("%s%d-", prefix, i), size/(len(prefix)+8))
		rec := fmt.Sprintf(`{"eventVersion":"1.11","eventName":"%s%d","sourceIPAddress":"ip-%s-%d","eventTime":%q,"pad":%q}`,
			prefix, i, prefix, i, at.Format(time.RFC3339), pad)
		evs = append(evs, &event.Event{ID: fmt.Sprintf("%s-%06d", prefix, i), Time: at, Record: []byte(rec)})
	}
	return evs
}

// damagedBlocks checks every record of store's blocks against its
// lake_events row (eventName in the record); it describes what is wrong.
func damagedBlocks(t *testing.T, db *DB, store string) string {
	t.Helper()
	rows, err := db.w.Query(`SELECT e.ref, e.event_name, b.data FROM lake_events e JOIN lake_stores s ON s.num = e.store
		JOIN lake_blocks b ON b.id = e.ref >> 8 WHERE s.store = ?`, store)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var ref int64
		var name string
		var data []byte
		if err := rows.Scan(&ref, &name, &data); err != nil {
			t.Fatal(err)
		}
		d, err := decodeAll(data)
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("block %d: %v", ref>>8, err))
		case slotOf(ref) >= len(d.recs) || !strings.Contains(string(d.recs[slotOf(ref)]), `"eventName":"`+name+`"`):
			got := ""
			if slotOf(ref) < len(d.recs) {
				got = string(d.recs[slotOf(ref)])
			}
			bad = append(bad, fmt.Sprintf("block %d slot %d: not %s's record: %.60q", ref>>8, slotOf(ref), name, got))
		}
	}
	if len(bad) == 0 {
		return ""
	}
	return fmt.Sprintf("%d bad: %v", len(bad), bad[:min(5, len(bad))])
}

// TestInsertBesideCanceledInsert: an Insert (the filler, an import) beside
// others whose contexts are cancelled at random moments (a stopped import,
// retention's minute, shutdown) writes blocks that decode to its records:
// a cancelled writer gives the connection back while it may still be
// compressing, and the codec's scratch buffers are shared.
func TestInsertBesideCanceledInsert(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	other := bigEvents("X", 40, 40000, t0)
	m := time.Now()
	if err := db.Insert(ctx, "measure", other); err != nil {
		t.Fatal(err)
	}
	full := time.Since(m)
	r := rand.New(rand.NewPCG(1, 2))
	done := make(chan struct{})
	evs := bigEvents("E", 1500, 1000, t0)
	go func() {
		defer close(done)
		for i := range evs {
			if err := db.Insert(ctx, "s1", evs[i:i+1]); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var wg sync.WaitGroup
loop:
	for round := 0; ; round++ {
		select {
		case <-done:
			break loop
		default:
		}
		cctx, cancel := context.WithCancel(ctx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			db.Insert(cctx, fmt.Sprintf("o%d", round), other)
		}()
		time.Sleep(time.Duration(r.Int64N(int64(full))))
		cancel()
		wg.Wait()
	}
	if bad := damagedBlocks(t, db, "s1"); bad != "" {
		t.Fatalf("blocks of s1 written beside canceled inserts: %s", bad)
	}
}
