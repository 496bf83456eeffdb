package tail

import (
	"context"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// WakeAfter is a wrapped so that every append that wrote something calls
// wake once it is durable: the hub then reads the log at once instead of
// at its next poll.
func WakeAfter(a store.Appender, wake func()) store.Appender {
	return wakingAppender{a, wake}
}

type wakingAppender struct {
	store.Appender
	wake func()
}

func (w wakingAppender) Append(ctx context.Context, evs []*event.Event) ([]store.AppendResult, error) {
	res, err := w.Appender.Append(ctx, evs)
	if err == nil {
		w.wake()
	}
	return res, err
}
