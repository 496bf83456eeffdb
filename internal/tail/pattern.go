package tail

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/cairn-audit/cairn/internal/ebevent"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/eventpattern"
)

// Pattern compiles an EventBridge event pattern into a filter that
// evaluates it against the event's EventBridge envelope (package ebevent:
// source "aws.<service>", detail-type, account, region, resources, and
// the record as detail), so that a pattern written for an EventBridge rule
// or a Cairn webhook selects the same events here. Its error is the
// matcher's, saying where the pattern is wrong.
func Pattern(pattern string) (Filter, error) {
	p, err := eventpattern.Compile(pattern)
	if err != nil {
		return nil, err
	}
	return func(e *Entry) (bool, error) {
		env, err := e.Envelope()
		if err != nil {
			return false, err
		}
		return p.MatchParsed(env), nil
	}, nil
}

// envelopeOf is ev's EventBridge envelope, decoded for the matcher: the
// record is decoded once, as the envelope's detail (not encoded into the
// envelope and decoded again).
func envelopeOf(ev *event.Event) (*eventpattern.Event, error) {
	e, err := ebevent.Build(ev, "")
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(ev.Record))
	dec.UseNumber()
	var detail map[string]any
	if err := dec.Decode(&detail); err != nil {
		return nil, fmt.Errorf("tail: event %s: %w", ev.ID, err)
	}
	resources := make([]any, len(e.Resources))
	for i, r := range e.Resources {
		resources[i] = r
	}
	return eventpattern.EventOf(map[string]any{
		"version":     e.Version,
		"id":          e.ID,
		"detail-type": e.DetailType,
		"source":      e.Source,
		"account":     e.Account,
		"time":        e.Time,
		"region":      e.Region,
		"resources":   resources,
		"detail":      detail,
	}), nil
}
