package stream

import (
	"fmt"
	"strings"
)

// Drops counts the events a Sink leaves out for good (its destination will
// never take them), by reason, for the DroppedError it returns. The zero
// Drops is empty.
type Drops struct {
	n       int
	reasons []string       // in the order first seen
	counts  map[string]int // by reason
}

// Add counts n events dropped for reason; n ≤ 0 counts nothing.
func (d *Drops) Add(n int, reason string) {
	if n <= 0 {
		return
	}
	if d.counts == nil {
		d.counts = map[string]int{}
	}
	if _, seen := d.counts[reason]; !seen {
		d.reasons = append(d.reasons, reason)
	}
	d.counts[reason] += n
	d.n += n
}

// Err is nil when nothing was dropped, else a *DroppedError whose Reason
// is what, then each reason with its count in the order first seen, e.g.
// "CloudWatch Logs does not take them: 2 over 256 KB, 1 over 14 days old".
func (d *Drops) Err(what string) error {
	if d.n == 0 {
		return nil
	}
	parts := make([]string, len(d.reasons))
	for i, r := range d.reasons {
		parts[i] = fmt.Sprintf("%d %s", d.counts[r], r)
	}
	return &DroppedError{Count: d.n, Reason: what + ": " + strings.Join(parts, ", ")}
}
