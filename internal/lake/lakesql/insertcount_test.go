package lakesql

import (
	"context"
	"testing"

	"github.com/cairn-audit/cairn/internal/event"
)

// TestInsertCountCountsOnlyNewEvents: InsertCount says how many events it
// added; events the store holds already are not counted.
func TestInsertCountCountsOnlyNewEvents(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	var evs []*event.Event
	for _, f := range fixture()[:5] {
		evs = append(evs, &event.Event{ID: f.ID, Time: f.time(), Record: f.record(), Account: f.Recipient, Region: f.Region})
	}
	for i, want := range []int64{3, 2, 0} {
		n, err := db.InsertCount(ctx, "s", evs[:3+2*min(i, 1)])
		if err != nil || n != want {
			t.Errorf("insert %d: added %d, %v; want %d", i, n, err, want)
		}
	}
}
