package eventbus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"

	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/ebevent"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/eventpattern"
	"github.com/cairn-audit/cairn/internal/stream"
)

// Destination kinds.
const (
	KindEventBridge = "eventbridge"
	KindWebhook     = "webhook"
)

// DestinationID names a target's cursor: stable across restarts and
// reorderings of the config, "eb/<account>/<first 16 hex digits of the
// SHA-256 of the target url>" (the url itself may hold a token).
func DestinationID(account, url string) string {
	h := sha256.Sum256([]byte(url))
	return "eb/" + account + "/" + hex.EncodeToString(h[:8])
}

// Source lists the destinations of the configured event buses; the list is
// built once (the config does not change while the server runs).
type Source struct {
	dests   []stream.Destination
	targets []Target
}

// Target describes one destination for operators: the engine's logs and
// status name destinations by ID only.
type Target struct {
	ID, Kind, Account string
	// URL is the target's url without its query or user information.
	URL string
}

// Targets describes the destinations, in config order.
func (s *Source) Targets() []Target { return s.targets }

// NewSource builds the destinations of cfg.EventBuses. A target seen for
// the first time starts after log position start — the log's end when the
// server starts, so that every event acknowledged once the server listens
// is sent (CloudTrail sends what happens from then on). cfg has been
// validated; an error here is a target that cannot be set up (e.g. no AWS
// credentials to be found).
func NewSource(cfg *config.Config, start int64) (*Source, error) {
	s := &Source{}
	for i, b := range cfg.EventBuses {
		account := cfg.OwnerOf(b.Account)
		sel := selector(account, cfg.BusRegions(b), ebevent.Selection{ReadOnly: b.ReadOnlyEvents, Data: b.DataEvents})
		for k, t := range b.Targets {
			d, err := destination(account, t, sel, start)
			if err != nil {
				return nil, fmt.Errorf("event_buses[%d].targets[%d]: %w", i, k, err)
			}
			s.dests = append(s.dests, d)
			s.targets = append(s.targets, Target{ID: d.ID, Kind: d.Kind, Account: account, URL: describe(t)})
		}
	}
	return s, nil
}

// describe is a target's url as operators see it, with nothing that may
// be a secret: a webhook's without its query or user information; an
// EventBridge target's bus, region and endpoint (its scheme and host).
func describe(t config.EventBusTarget) string {
	if !t.IsEventBridge() {
		return redact(t.URL)
	}
	u, err := config.ParseEventBridgeURL(t.URL)
	if err != nil {
		return "(invalid url)"
	}
	// Written out rather than encoded, to be read: the bus and the region
	// are checked names, the endpoint a scheme and a host.
	s := config.SchemeEventBridge + "://?bus=" + u.Bus
	if u.Region != "" {
		s += "&region=" + u.Region
	}
	if e, err := url.Parse(u.Endpoint); err == nil && u.Endpoint != "" {
		s += "&endpoint=" + (&url.URL{Scheme: e.Scheme, Host: e.Host}).String()
	}
	return s
}

// Destinations returns the event buses' destinations.
func (s *Source) Destinations(context.Context) ([]stream.Destination, error) {
	return s.dests, nil
}

// selector is what a bus takes: its account's events of its regions that
// CloudTrail would send under sel.
func selector(account string, regions []string, sel ebevent.Selection) func(*event.Event) bool {
	return func(ev *event.Event) bool {
		return ev.Account == account && slices.Contains(regions, ev.Region) && sel.Sends(ev)
	}
}

// destination makes one target's destination.
func destination(account string, t config.EventBusTarget, sel func(*event.Event) bool, start int64) (stream.Destination, error) {
	var pattern *eventpattern.Pattern
	if t.Pattern != "" {
		p, err := eventpattern.Compile(t.Pattern)
		if err != nil {
			return stream.Destination{}, err
		}
		pattern = p
	}
	d := stream.Destination{ID: DestinationID(account, t.URL), Start: start, Select: sel}
	if t.IsEventBridge() {
		u, err := config.ParseEventBridgeURL(t.URL)
		if err != nil {
			return stream.Destination{}, err
		}
		sink, err := NewPutEvents(PutEventsOptions{Endpoint: u.Endpoint, Bus: u.Bus, Region: u.Region,
			AccessKeyID: t.AccessKeyID, SecretAccessKey: t.SecretAccessKey,
			SourcePrefix: t.SourcePrefixOrDefault(), Pattern: pattern})
		if err != nil {
			return stream.Destination{}, err
		}
		d.Kind, d.Sink = KindEventBridge, sink
		return d, nil
	}
	d.Kind = KindWebhook
	d.Sink = NewWebhook(WebhookOptions{URL: t.URL, Secret: t.Secret, SourcePrefix: t.SourcePrefixOrDefault(), Pattern: pattern})
	return d, nil
}

// Named implements stream.Namer: the targets of account's event buses, each
// named by its url without query or user information.
func (s *Source) Named(_ context.Context, account string) ([]stream.Named, error) {
	var out []stream.Named
	for _, t := range s.targets {
		if t.Account == account {
			out = append(out, stream.Named{ID: t.ID, Kind: t.Kind, Name: t.URL})
		}
	}
	return out, nil
}
