// Package eventbus provides the destinations of config event_buses: each
// account's events go, in CloudTrail's EventBridge envelope (package
// ebevent), to EventBridge PutEvents targets and to signed webhooks, each a
// stream destination with its own durable cursor.
package eventbus

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/cairn-audit/cairn/internal/awscreds"
	"github.com/cairn-audit/cairn/internal/ebevent"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/eventpattern"
	"github.com/cairn-audit/cairn/internal/stream"
)

// PutEvents' limits (the EventBridge API reference's).
const (
	// maxEntries is the most entries one PutEvents request takes.
	maxEntries = 10
	// maxRequestBytes bounds the entries of one request, counted as
	// EventBridge counts them (see entrySize).
	maxRequestBytes = 256 * 1024
	// timeBytes is what an entry's Time counts for.
	timeBytes = 14
)

// Client settings (the engine retries a failed Send with its own backoff).
const (
	ebRequestTimeout = 30 * time.Second
	ebDialTimeout    = 5 * time.Second
	ebMaxAttempts    = 3
	// entryRetries is how often failed entries of a request are put again
	// before the Send fails (and the engine retries it later).
	entryRetries = 3
)

// permanentEntryErrors are PutEvents entry errors that no retry cures: the
// entry is dropped and counted.
var permanentEntryErrors = map[string]bool{
	"MalformedDetail": true,
	"InvalidArgument": true,
}

// putEventsAPI is the part of the EventBridge API the sink calls.
type putEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// PutEventsOptions configure NewPutEvents.
type PutEventsOptions struct {
	// Endpoint is the API's base URL; empty means AWS's endpoint.
	Endpoint string
	// Bus is the event bus name or ARN.
	Bus string
	// Region signs every request and picks the bus's region; empty sends
	// each event to the bus of its own region, as CloudTrail does.
	Region string
	// AccessKeyID and SecretAccessKey are the credentials; empty means the
	// AWS SDK's default credential chain.
	AccessKeyID, SecretAccessKey string
	// SourcePrefix replaces "aws." in source ("" keeps it).
	SourcePrefix string
	// Pattern, when set, sends only the envelopes it matches.
	Pattern *eventpattern.Pattern
}

// PutEvents sends envelopes to an EventBridge bus with PutEvents, in
// requests within its limits; entries it reports failed are put again.
type PutEvents struct {
	opts   PutEventsOptions
	newAPI func(region string) putEventsAPI

	mu   sync.Mutex
	apis map[string]putEventsAPI // by region
}

// NewPutEvents makes a PutEvents sink.
func NewPutEvents(o PutEventsOptions) (*PutEvents, error) {
	creds, err := awscreds.Provider(o.Region, o.AccessKeyID, o.SecretAccessKey)
	if err != nil {
		return nil, fmt.Errorf("eventbridge target: %w", err)
	}
	httpClient := awshttp.NewBuildableClient().
		WithTimeout(ebRequestTimeout).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = ebDialTimeout }).
		WithTransportOptions(func(t *http.Transport) { t.ResponseHeaderTimeout = ebRequestTimeout })
	newAPI := func(region string) putEventsAPI {
		opts := eventbridge.Options{Region: region, Credentials: creds, HTTPClient: httpClient,
			RetryMaxAttempts: ebMaxAttempts}
		if o.Endpoint != "" {
			opts.BaseEndpoint = aws.String(o.Endpoint)
		}
		return eventbridge.New(opts)
	}
	return newPutEvents(o, newAPI), nil
}

func newPutEvents(o PutEventsOptions, newAPI func(region string) putEventsAPI) *PutEvents {
	if o.Bus == "" {
		o.Bus = "default"
	}
	return &PutEvents{opts: o, newAPI: newAPI, apis: map[string]putEventsAPI{}}
}

// api returns the client for a region, made once.
func (p *PutEvents) api(region string) putEventsAPI {
	if p.opts.Region != "" {
		region = p.opts.Region
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.apis[region]
	if !ok {
		a = p.newAPI(region)
		p.apis[region] = a
	}
	return a
}

// entrySize is an entry's size as EventBridge counts it against the
// request limit: Time, Source, DetailType, Detail and each resource.
func entrySize(e types.PutEventsRequestEntry) int {
	n := timeBytes + len(aws.ToString(e.Source)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Detail))
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// Send puts the envelopes of evs (those the pattern matches) to the bus.
// An entry over 256 KB is not sent — CloudTrail does not send events over
// 256 KB to EventBridge — and neither is one the API refuses as malformed;
// both are reported in a *stream.DroppedError once the rest are in.
func (p *PutEvents) Send(ctx context.Context, evs []*event.Event) error {
	byRegion := map[string][]types.PutEventsRequestEntry{}
	var regions []string
	var drops stream.Drops
	for _, ev := range evs {
		env, ok, err := envelope(ev, p.opts.SourcePrefix, p.opts.Pattern)
		if err != nil {
			drops.Add(1, "not a readable record")
			continue
		}
		if !ok {
			continue
		}
		e := types.PutEventsRequestEntry{
			Time:         aws.Time(ev.Time),
			Source:       aws.String(env.Source),
			DetailType:   aws.String(env.DetailType),
			Detail:       aws.String(string(env.Detail)),
			Resources:    env.Resources,
			EventBusName: aws.String(p.opts.Bus),
		}
		if entrySize(e) > maxRequestBytes {
			drops.Add(1, "over 256 KB")
			continue
		}
		if byRegion[env.Region] == nil {
			regions = append(regions, env.Region)
		}
		byRegion[env.Region] = append(byRegion[env.Region], e)
	}
	for _, region := range regions {
		api := p.api(region)
		for _, b := range batches(byRegion[region]) {
			if err := p.put(ctx, api, b, &drops); err != nil {
				return err
			}
		}
	}
	return drops.Err("EventBridge does not take them")
}

// batches splits entries into requests of at most maxEntries entries and
// maxRequestBytes bytes, in order.
func batches(entries []types.PutEventsRequestEntry) [][]types.PutEventsRequestEntry {
	var out [][]types.PutEventsRequestEntry
	start, size := 0, 0
	for i, e := range entries {
		n := entrySize(e)
		if i > start && (i-start == maxEntries || size+n > maxRequestBytes) {
			out = append(out, entries[start:i])
			start, size = i, 0
		}
		size += n
	}
	if start < len(entries) {
		out = append(out, entries[start:])
	}
	return out
}

// put sends one request and puts the entries it reports failed again (a
// few times, briefly apart); entries failed for good are dropped.
func (p *PutEvents) put(ctx context.Context, api putEventsAPI, entries []types.PutEventsRequestEntry, drops *stream.Drops) error {
	for attempt := 0; ; attempt++ {
		out, err := api.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			return fmt.Errorf("eventbridge PutEvents: %w", err)
		}
		if out.FailedEntryCount == 0 {
			return nil
		}
		if len(out.Entries) != len(entries) {
			return fmt.Errorf("eventbridge PutEvents: %d entries failed (the answer lists %d results for %d entries)", out.FailedEntryCount, len(out.Entries), len(entries))
		}
		var again []types.PutEventsRequestEntry
		var lastErr string
		for i, r := range out.Entries {
			code := aws.ToString(r.ErrorCode)
			switch {
			case code == "":
			case permanentEntryErrors[code]:
				drops.Add(1, code+": "+aws.ToString(r.ErrorMessage))
			default:
				again = append(again, entries[i])
				lastErr = code + ": " + aws.ToString(r.ErrorMessage)
			}
		}
		if len(again) == 0 {
			return nil
		}
		if attempt >= entryRetries {
			return fmt.Errorf("eventbridge PutEvents: %d of %d entries failed: %s", len(again), len(entries), lastErr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
		}
		entries = again
	}
}

// envelope builds ev's envelope and tells whether the pattern (if any)
// matches it.
func envelope(ev *event.Event, prefix string, pattern *eventpattern.Pattern) (*ebevent.Envelope, bool, error) {
	env, err := ebevent.Build(ev, prefix)
	if err != nil {
		return nil, false, err
	}
	if pattern == nil {
		return env, true, nil
	}
	parsed, err := eventpattern.ParseEvent(env.Marshal())
	if err != nil {
		return nil, false, err
	}
	return env, pattern.MatchParsed(parsed), nil
}
