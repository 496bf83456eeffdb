package loggroup

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairn-audit/cairn/internal/awscreds"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/stream"
)

// PutLogEvents' limits (the API reference's), and CloudTrail's own.
const (
	// maxBatchBytes bounds a batch: the messages' UTF-8 bytes plus
	// eventOverhead for each event.
	maxBatchBytes = 1_048_576
	eventOverhead = 26
	// maxBatchEvents bounds the events of a batch.
	maxBatchEvents = 10_000
	// maxBatchSpan bounds the time between a batch's first and last event.
	maxBatchSpan = 24 * time.Hour
	// maxAge and maxAhead: CloudWatch Logs rejects events older than 14
	// days or more than 2 hours in the future.
	maxAge   = 14 * 24 * time.Hour
	maxAhead = 2 * time.Hour
	// maxEventBytes: CloudTrail does not send events over 256 KB to
	// CloudWatch Logs (its quotas page), though the API now takes up to
	// 1 MB.
	maxEventBytes = 256 * 1024
)

// Timeouts and retries of the CloudWatch Logs client (the engine retries
// a failed Send with its own backoff).
const (
	cwlRequestTimeout = 30 * time.Second
	cwlDialTimeout    = 5 * time.Second
	cwlMaxAttempts    = 3
)

// logsAPI is the part of the CloudWatch Logs API the sink calls.
type logsAPI interface {
	CreateLogStream(ctx context.Context, in *cloudwatchlogs.CreateLogStreamInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error)
	PutLogEvents(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error)
}

// CloudWatch sends a trail's events to a CloudWatch Logs log group (AWS's,
// or any server that speaks the API), as CloudTrail does: each event is one
// log event — timestamp the eventTime, message the record — in the stream
// <account>_CloudTrail_<region> of the group, created when missing. The
// group must exist (CloudTrail does not create it either).
type CloudWatch struct {
	api   logsAPI
	group string
	now   func() time.Time

	mu      sync.Mutex
	streams map[string]bool // streams known to exist
}

// CloudWatchOptions configure NewCloudWatch.
type CloudWatchOptions struct {
	// Group is the log group's name.
	Group string
	// Region signs the requests (and picks AWS's endpoint when Endpoint
	// is empty).
	Region string
	// Endpoint is the API's base URL; empty means AWS's.
	Endpoint string
	// AccessKeyID and SecretAccessKey are the credentials; empty means
	// the AWS SDK's default credential chain.
	AccessKeyID, SecretAccessKey string
}

// NewCloudWatch makes the sink for one log group.
func NewCloudWatch(o CloudWatchOptions) (*CloudWatch, error) {
	creds, err := awscreds.Provider(o.Region, o.AccessKeyID, o.SecretAccessKey)
	if err != nil {
		return nil, fmt.Errorf("log group %s: %w", o.Group, err)
	}
	httpClient := awshttp.NewBuildableClient().
		WithTimeout(cwlRequestTimeout).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = cwlDialTimeout }).
		WithTransportOptions(func(t *http.Transport) { t.ResponseHeaderTimeout = cwlRequestTimeout })
	opts := cloudwatchlogs.Options{Region: o.Region, Credentials: creds, HTTPClient: httpClient,
		RetryMaxAttempts: cwlMaxAttempts}
	if o.Endpoint != "" {
		opts.BaseEndpoint = aws.String(o.Endpoint)
	}
	return newCloudWatch(cloudwatchlogs.New(opts), o.Group), nil
}

func newCloudWatch(api logsAPI, group string) *CloudWatch {
	return &CloudWatch{api: api, group: group, now: time.Now, streams: map[string]bool{}}
}

// StreamName is the log stream CloudTrail writes an account's events of a
// region to.
func StreamName(account, region string) string { return account + "_CloudTrail_" + region }

// Send puts evs into their streams, in batches within PutLogEvents' limits.
// Events CloudWatch Logs would never take — records over 256 KB (as
// CloudTrail), events over 14 days old or 2 hours ahead, events the API
// reports rejected (before the group's retention, too) — are left out and
// reported in a *stream.DroppedError once the rest are in.
func (c *CloudWatch) Send(ctx context.Context, evs []*event.Event) error {
	byStream := map[string][]*event.Event{}
	var names []string
	for _, ev := range evs {
		name := StreamName(ev.Account, ev.Region)
		if byStream[name] == nil {
			names = append(names, name)
		}
		byStream[name] = append(byStream[name], ev)
	}
	var drops stream.Drops
	for _, name := range names {
		if err := c.sendStream(ctx, name, byStream[name], &drops); err != nil {
			return err
		}
	}
	return drops.Err("CloudWatch Logs does not take them")
}

// sendStream puts one stream's events.
func (c *CloudWatch) sendStream(ctx context.Context, name string, evs []*event.Event, drops *stream.Drops) error {
	now := c.now()
	logEvents := make([]types.InputLogEvent, 0, len(evs))
	var big, old, ahead int
	for _, ev := range evs {
		switch {
		case len(ev.Record) > maxEventBytes:
			big++
		case ev.Time.Before(now.Add(-maxAge)):
			old++
		case ev.Time.After(now.Add(maxAhead)):
			ahead++
		default:
			logEvents = append(logEvents, types.InputLogEvent{Timestamp: aws.Int64(ev.Time.UnixMilli()), Message: aws.String(string(ev.Record))})
		}
	}
	drops.Add(big, "over 256 KB")
	drops.Add(old, "over 14 days old")
	drops.Add(ahead, "over 2 hours in the future")
	if len(logEvents) == 0 {
		return nil
	}
	// Chronological within a batch; log order among equal times.
	slices.SortStableFunc(logEvents, func(a, b types.InputLogEvent) int { return cmp.Compare(*a.Timestamp, *b.Timestamp) })
	if err := c.ensureStream(ctx, name); err != nil {
		return err
	}
	for _, b := range batches(logEvents) {
		out, err := c.api.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(c.group),
			LogStreamName: aws.String(name), LogEvents: b})
		if err != nil {
			var nf *types.ResourceNotFoundException
			if errors.As(err, &nf) {
				c.forget(name) // deleted since: created again at the retry
			}
			return fmt.Errorf("PutLogEvents to %s/%s: %w", c.group, name, err)
		}
		if r := out.RejectedLogEventsInfo; r != nil {
			drops.Add(rejected(r, len(b)), "rejected by the log group (too old, expired or too new)")
		}
	}
	return nil
}

// rejected counts the events of a batch of n that RejectedLogEventsInfo
// names: those before the (exclusive) too-old and expired end indexes and
// those from the (inclusive) too-new start index.
func rejected(r *types.RejectedLogEventsInfo, n int) int {
	end := 0
	if r.TooOldLogEventEndIndex != nil {
		end = max(end, int(*r.TooOldLogEventEndIndex))
	}
	if r.ExpiredLogEventEndIndex != nil {
		end = max(end, int(*r.ExpiredLogEventEndIndex))
	}
	start := n
	if r.TooNewLogEventStartIndex != nil {
		start = min(start, max(int(*r.TooNewLogEventStartIndex), end))
	}
	return min(end, n) + n - start
}

// batches splits chronologically sorted events into PutLogEvents calls:
// at most maxBatchEvents events and maxBatchBytes bytes each, spanning at
// most maxBatchSpan.
func batches(evs []types.InputLogEvent) [][]types.InputLogEvent {
	var out [][]types.InputLogEvent
	start, size := 0, 0
	for i, ev := range evs {
		n := len(*ev.Message) + eventOverhead
		if i > start && (i-start >= maxBatchEvents || size+n > maxBatchBytes ||
			*ev.Timestamp-*evs[start].Timestamp >= maxBatchSpan.Milliseconds()) {
			out = append(out, evs[start:i])
			start, size = i, 0
		}
		size += n
	}
	return append(out, evs[start:])
}

// ensureStream creates the log stream unless it is known to exist. A
// missing log group is an error: CloudTrail requires the group to exist.
func (c *CloudWatch) ensureStream(ctx context.Context, name string) error {
	c.mu.Lock()
	known := c.streams[name]
	c.mu.Unlock()
	if known {
		return nil
	}
	_, err := c.api.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(c.group), LogStreamName: aws.String(name)})
	var exists *types.ResourceAlreadyExistsException
	var nf *types.ResourceNotFoundException
	switch {
	case err == nil, errors.As(err, &exists):
	case errors.As(err, &nf):
		return fmt.Errorf("log group %s does not exist: %w", c.group, err)
	default:
		return fmt.Errorf("CreateLogStream %s/%s: %w", c.group, name, err)
	}
	c.mu.Lock()
	c.streams[name] = true
	c.mu.Unlock()
	return nil
}

func (c *CloudWatch) forget(name string) {
	c.mu.Lock()
	delete(c.streams, name)
	c.mu.Unlock()
}
