package stream

import (
	"context"

	"github.com/cairn-audit/cairn/internal/store"
)

// Named is a destination as the account it belongs to sees it, for status
// pages: its ID and kind, what it is, and where it stops.
type Named struct {
	ID   string
	Kind string
	// Name says what the destination is: a trail and its log group, an
	// event bus target's url (without query or user information).
	Name string
	// Bound is the destination's Bound (see Destination).
	Bound int64
}

// Namer is a Source that can say which of its destinations belong to an
// account (the console's Streams page shows an account only its own).
type Namer interface {
	Named(ctx context.Context, account string) ([]Named, error)
}

// View is one destination's status as a status page shows it.
type View struct {
	Named
	Status Status
	// Started reports that the engine has handled the destination (it
	// has a cursor); Behind is then how many log positions it has yet to
	// handle: the log's end (or its Bound) less its cursor.
	Started bool
	Behind  int64
}

// Views reports the destinations of account that the engine's sources name
// (those that are Namers), with their status, in the sources' order.
func (e *Engine) Views(ctx context.Context, account string) ([]View, error) {
	stats, err := e.st.Stats(ctx)
	if err != nil {
		return nil, err
	}
	var out []View
	for _, src := range e.sources {
		n, ok := src.(Namer)
		if !ok {
			continue
		}
		named, err := n.Named(ctx, account)
		if err != nil {
			return nil, err
		}
		for _, d := range named {
			st, version, err := e.load(ctx, d.ID)
			if err != nil {
				return nil, err
			}
			v := View{Named: d, Status: st.status(), Started: version > 0}
			if v.Started {
				v.Behind = behind(d.Bound, st.Cursor, stats.LastSeq)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// Lag reports, by destination kind, how far the destination furthest
// behind is (log positions it has yet to handle), over every destination
// the sources list; a kind with none listed is absent.
func (e *Engine) Lag(ctx context.Context) (map[string]int64, error) {
	stats, err := e.st.Stats(ctx)
	if err != nil {
		return nil, err
	}
	dests, err := e.list(ctx)
	if err != nil {
		return nil, err
	}
	states, err := store.DecodeStates[state](ctx, e.st, statePrefix, "stream state")
	if err != nil {
		return nil, err
	}
	lag := map[string]int64{}
	for _, d := range dests {
		n := int64(0)
		if st := states[stateKey(d.ID)]; st != nil {
			n = behind(d.Bound, st.Cursor, stats.LastSeq)
		}
		lag[d.Kind] = max(lag[d.Kind], n)
	}
	return lag, nil
}

// behind is how many log positions a destination with bound and cursor has
// yet to handle when the log ends at end: none if it takes nothing.
func behind(bound, cursor, end int64) int64 {
	switch {
	case bound < 0:
		return 0
	case bound > 0:
		end = min(end, bound)
	}
	return max(end-cursor, 0)
}

// status is the Status a state document reports.
func (st *state) status() Status {
	return Status{Kind: st.Kind, LastDelivery: st.LastDelivery, LastAttempt: st.LastAttempt, LastError: st.LastError,
		Failures: st.Failures, RetryAt: st.RetryAt, Cursor: st.Cursor, Sent: st.Sent, Dropped: st.Dropped}
}
