package counts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cairn-audit/cairn/internal/store"
)

// lookBack is how many days before each retention edge maintenance visits,
// so that days passed while the server was stopped are still handled.
const lookBack = 7

// maintain runs once per UTC day: days whose end is more than 15 days old
// are summed into 5-minute counts, more than 63 days into hours, and days
// wholly older than 90 days are deleted.
func (c *Counts) maintain(ctx context.Context) error {
	now := c.now().UTC()
	today := now.Unix() / 86400
	if today == c.maintained {
		return nil
	}
	for _, step := range []struct {
		keep time.Duration
		res  int64 // 0: delete
	}{{Retention[60], 300}, {Retention[300], 3600}, {Retention[3600], 0}} {
		// The last day that ends before now - keep.
		last := now.Add(-step.keep).Unix()/86400 - 1
		for day := last - lookBack; day <= last; day++ {
			if err := c.maintainDay(ctx, day, step.res); err != nil {
				return err
			}
		}
	}
	c.maintained = today
	return nil
}

// maintainDay coarsens the documents of day to res (0: deletes them).
func (c *Counts) maintainDay(ctx context.Context, day, res int64) error {
	docs, err := c.st.ListState(ctx, dayPrefix(day))
	if err != nil {
		return fmt.Errorf("insights counts: %w", err)
	}
	for _, sd := range docs {
		if res == 0 {
			if err := c.st.DeleteState(ctx, sd.Key); err != nil {
				return fmt.Errorf("insights counts: %w", err)
			}
			continue
		}
		var d doc
		if err := json.Unmarshal(sd.Doc, &d); err != nil {
			c.log.Warn("insights counts: unreadable document deleted", "key", sd.Key, "err", err)
			_ = c.st.DeleteState(ctx, sd.Key)
			continue
		}
		if d.Res == 0 {
			d.Res = 60
		}
		if d.Res >= res {
			continue
		}
		d.C, d.Res = coarsen(d.C, d.Res, res), res
		b, _ := json.Marshal(d)
		if _, err := c.st.PutState(ctx, sd.Key, b, sd.Version); err != nil && !errors.Is(err, store.ErrConflict) {
			// A conflict is a write of this day meanwhile: next time.
			return fmt.Errorf("insights counts: %w", err)
		}
	}
	return nil
}

// coarsen sums sorted [slot, count] pairs of resolution from into res.
func coarsen(pairs [][2]int64, from, res int64) [][2]int64 {
	var out [][2]int64
	for _, p := range pairs {
		slot := p[0] * from / res
		if n := len(out); n > 0 && out[n-1][0] == slot {
			out[n-1][1] += p[1]
			continue
		}
		out = append(out, [2]int64{slot, p[1]})
	}
	return out
}
