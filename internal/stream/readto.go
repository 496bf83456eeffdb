package stream

import (
	"context"

	"github.com/cairn-audit/cairn/internal/store"
)

// ReadTo is the log position every destination has sent past: an event
// numbered above it may yet be sent somewhere, so retention must keep it
// however old its eventTime. A destination that has not started (or has
// started a new epoch) holds its Start; one whose Bound is reached holds
// nothing. With no destination holding anything, it is the log's end as it
// was before the destinations were listed (a destination listed since
// starts at a later position).
func (e *Engine) ReadTo(ctx context.Context) (int64, error) {
	stats, err := e.st.Stats(ctx)
	if err != nil {
		return 0, err
	}
	dests, err := e.list(ctx)
	if err != nil {
		return 0, err
	}
	states, err := store.DecodeStates[state](ctx, e.st, statePrefix, "stream state")
	if err != nil {
		return 0, err
	}
	readTo := stats.LastSeq
	for _, d := range dests {
		pos := d.Start
		if st := states[stateKey(d.ID)]; st != nil && st.Epoch == d.Epoch {
			pos = st.Cursor
		}
		if pos < 0 || d.Bound < 0 || (d.Bound > 0 && pos >= d.Bound) {
			continue // starts at the log's end, or has sent all it takes
		}
		readTo = min(readTo, pos)
	}
	return readTo, nil
}
