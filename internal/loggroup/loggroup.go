// Package loggroup sends trails' events to their CloudWatch Logs log groups
// (a trail's CloudWatchLogsLogGroupArn), through the stream engine: it lists
// each trail as a stream destination that selects exactly what the trail's
// log files get (trail.Takes) while the trail logs, and resolves the
// configured log groups (log_groups:) to sinks — the CloudWatch Logs API,
// an NDJSON file or an http(s) endpoint taking NDJSON POSTs.
package loggroup

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/stream"
	"github.com/cairn-audit/cairn/internal/trail"
)

// Kinds of log group destinations (stream.Destination.Kind: status, logs,
// metrics).
const (
	KindCloudWatchLogs = "cloudwatch-logs"
	KindFile           = "log-file"
	KindHTTP           = "log-http"
)

// Resolver opens the sink of each configured log group once, on first use,
// and shares it among the trails that name the group.
type Resolver struct {
	groups []config.LogGroup

	mu    sync.Mutex
	sinks map[string]resolved // by normalized log group ARN
	files map[string]*File    // by path: two groups on one file share it
}

type resolved struct {
	sink stream.Sink
	kind string
}

// NewResolver makes the resolver of the configured log groups.
func NewResolver(groups []config.LogGroup) *Resolver {
	return &Resolver{groups: groups, sinks: map[string]resolved{}, files: map[string]*File{}}
}

// normARN drops the ":*" a log group ARN may end with.
func normARN(arn string) string { return strings.TrimSuffix(arn, ":*") }

// Sink returns the sink of the log group arn and its kind. A group that is
// not configured, or whose sink cannot be made, gets a sink that fails with
// the reason, so that it shows in the trail's status.
func (r *Resolver) Sink(arn string) (stream.Sink, string) {
	key := normARN(arn)
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.sinks[key]; ok {
		return s.sink, s.kind
	}
	var g *config.LogGroup
	for i := range r.groups {
		if normARN(r.groups[i].ARN) == key {
			g = &r.groups[i]
			break
		}
	}
	if g == nil {
		return failing{fmt.Errorf("log group %s is not configured under log_groups", arn)}, KindCloudWatchLogs
	}
	sink, kind, err := r.open(g)
	if err != nil {
		sink = failing{err}
	}
	r.sinks[key] = resolved{sink, kind}
	return sink, kind
}

// open makes the sink of one configured log group.
func (r *Resolver) open(g *config.LogGroup) (stream.Sink, string, error) {
	u, err := url.Parse(g.URL)
	if err != nil {
		return nil, KindCloudWatchLogs, fmt.Errorf("log group %s: %w", g.ARN, err)
	}
	switch u.Scheme {
	case config.SchemeCloudWatchLogs:
		cu, err := config.ParseCloudWatchLogsURL(g.URL)
		if err != nil {
			return nil, KindCloudWatchLogs, err
		}
		region, name, err := groupOf(g.ARN)
		if err != nil {
			return nil, KindCloudWatchLogs, err
		}
		if cu.Region != "" {
			region = cu.Region
		}
		s, err := NewCloudWatch(CloudWatchOptions{Group: name, Region: region, Endpoint: cu.Endpoint,
			AccessKeyID: g.AccessKeyID, SecretAccessKey: g.SecretAccessKey})
		return s, KindCloudWatchLogs, err
	case "file":
		rotate, keep := g.RotateBytes, g.KeepFiles
		if rotate == 0 {
			rotate = config.DefaultRotateBytes
		}
		if keep == 0 {
			keep = config.DefaultKeepFiles
		}
		f := r.files[u.Path]
		if f == nil {
			f = NewFile(u.Path, rotate, keep)
			r.files[u.Path] = f
		}
		return f, KindFile, nil
	case "http", "https":
		return NewHTTP(g.URL, normARN(g.ARN)), KindHTTP, nil
	}
	return nil, KindCloudWatchLogs, fmt.Errorf("log group %s: unsupported url scheme %q", g.ARN, u.Scheme)
}

// groupOf reads the region and the group name of a log group ARN,
// arn:<partition>:logs:<region>:<account>:log-group:<name>[:*].
func groupOf(arn string) (region, name string, err error) {
	parts := strings.SplitN(normARN(arn), ":", 7)
	if len(parts) != 7 || parts[2] != "logs" || parts[5] != "log-group" {
		return "", "", fmt.Errorf("%q is not a log group ARN", arn)
	}
	return parts[3], parts[6], nil
}

// Close closes the files the resolver opened.
func (r *Resolver) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, f := range r.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// failing is the sink of a log group that cannot be sent to.
type failing struct{ err error }

func (f failing) Send(context.Context, []*event.Event) error { return f.err }

// none is the sink of a trail that sends nothing (no log group, or not
// logging): the engine never calls it (its destination's Bound is < 0).
type none struct{}

func (none) Send(context.Context, []*event.Event) error { return nil }

// Trails lists the configured trails (the control plane provides it).
type Trails interface {
	All(ctx context.Context) ([]*trail.Trail, error)
}

// Source lists every trail as a stream destination (see Destination).
type Source struct {
	trails Trails
	scope  trail.Scope
	sinks  *Resolver
}

// NewSource makes the source of trails' log group destinations.
func NewSource(trails Trails, scope trail.Scope, sinks *Resolver) *Source {
	return &Source{trails: trails, scope: scope, sinks: sinks}
}

// DestinationID names a trail's log group destination: by ARN and creation,
// so that a trail made again under a deleted one's name starts afresh.
func DestinationID(t *trail.Trail) string { return "cwl/" + t.ARN + "#" + t.ID }

// Destinations implements stream.Source.
func (s *Source) Destinations(ctx context.Context) ([]stream.Destination, error) {
	all, err := s.trails.All(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]stream.Destination, 0, len(all))
	for _, t := range all {
		out = append(out, s.destination(t))
	}
	return out, nil
}

// destination is trail t's log group destination. Every trail is one, so
// that its cursor follows the log even while it has no log group or does
// not log (Bound -1: the cursor stays at the log's end): a log group named
// later gets the events from then on, as CloudTrail sends them, and a
// StartLogging (a new epoch) starts at the log position of the start. A
// stopped trail sends what was recorded before the stop (Bound = StopSeq).
func (s *Source) destination(t *trail.Trail) stream.Destination {
	d := stream.Destination{ID: DestinationID(t), Kind: KindCloudWatchLogs, Epoch: t.LoggingEpoch, Start: t.StartSeq,
		Bound: -1, Sink: none{}}
	if t.CloudWatchLogsLogGroupArn == "" || t.LoggingEpoch == 0 {
		return d
	}
	if !t.IsLogging {
		if t.StopSeq <= t.StartSeq {
			return d
		}
		d.Bound = t.StopSeq
	} else {
		d.Bound = 0
	}
	d.Sink, d.Kind = s.sinks.Sink(t.CloudWatchLogsLogGroupArn)
	sel, err := trail.NewSelection(t, s.scope)
	if err != nil {
		d.Sink = failing{fmt.Errorf("trail %s: selectors: %w", t.ARN, err)}
		return d
	}
	d.Select = sel.Takes
	return d
}

// Streams reports a stream destination's status (the stream engine).
type Streams interface {
	Status(ctx context.Context, id string) (stream.Status, error)
}

// Status adds the CloudWatch Logs fields to what delivery reports of a
// trail, for GetTrailStatus.
type Status struct {
	Delivery trail.StatusSource
	Streams  Streams
}

// DeliveryStatus implements trail.StatusSource.
func (s Status) DeliveryStatus(ctx context.Context, t *trail.Trail, region string) (trail.DeliveryStatus, error) {
	out, err := s.Delivery.DeliveryStatus(ctx, t, region)
	if err != nil || t.CloudWatchLogsLogGroupArn == "" {
		return out, err
	}
	st, err := s.Streams.Status(ctx, DestinationID(t))
	if err != nil {
		return out, err
	}
	out.LatestCloudWatchLogsDeliveryTime = st.LastDelivery
	out.LatestCloudWatchLogsDeliveryError = st.LastError
	return out, nil
}

// Named implements stream.Namer: the log group destinations of account's
// trails that name a log group, each named by its trail and group.
func (s *Source) Named(ctx context.Context, account string) ([]stream.Named, error) {
	all, err := s.trails.All(ctx)
	if err != nil {
		return nil, err
	}
	var out []stream.Named
	for _, t := range all {
		if t.Account != account || t.CloudWatchLogsLogGroupArn == "" {
			continue
		}
		d := s.destination(t)
		out = append(out, stream.Named{ID: d.ID, Kind: d.Kind, Bound: d.Bound,
			Name: "trail " + t.Name + " (" + t.HomeRegion + ") → " + normARN(t.CloudWatchLogsLogGroupArn)})
	}
	return out, nil
}
