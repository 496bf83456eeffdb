package store

import (
	"context"

	"github.com/cairn-audit/cairn/internal/event"
)

// WakeAfter wraps a so that every append that succeeded calls each of wake
// once its events are durable: the log's followers (streams, the live
// tail) then read at once instead of at their next poll.
func WakeAfter(a Appender, wake ...func()) Appender {
	return wakingAppender{a, wake}
}

type wakingAppender struct {
	Appender
	wake []func()
}

func (w wakingAppender) Append(ctx context.Context, evs []*event.Event) ([]AppendResult, error) {
	res, err := w.Appender.Append(ctx, evs)
	if err == nil {
		for _, f := range w.wake {
			f()
		}
	}
	return res, err
}
