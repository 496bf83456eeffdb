package importer

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// HistoryDays is how far back CloudTrail's event history goes.
const HistoryDays = 90

// lookupInterval spaces LookupEvents calls of one account and region:
// CloudTrail allows 2 a second.
const lookupInterval = 500 * time.Millisecond

// HistoryOptions say what --from-cloudtrail pulls.
type HistoryOptions struct {
	// Endpoint is the CloudTrail endpoint URL (AWS's, or another Cairn's).
	Endpoint string
	// Regions are pulled in parallel, each within its own rate limit.
	Regions []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// window is one day of one region's event history: the unit that is
// checkpointed.
type window struct {
	region   string
	from, to time.Time
}

func (w window) name() string {
	return fmt.Sprintf("lookup:%s:%s/%s", w.region, w.from.Format(time.RFC3339), w.to.Format(time.RFC3339))
}

// windows splits [start, end] into UTC days per region. A window that ends
// before its day does (the one holding end) is named by its end, so a later
// run pulls that day again, with what came since.
func windows(regions []string, start, end time.Time) []window {
	var out []window
	for _, r := range regions {
		for d := start.UTC().Truncate(24 * time.Hour); d.Before(end); d = d.Add(24 * time.Hour) {
			w := window{region: r, from: d, to: d.Add(24 * time.Hour)}
			w.from = later(w.from, start)
			if w.to.After(end) {
				w.to = end
			}
			out = append(out, w)
		}
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// ImportHistory pulls the event history of the account the AWS SDK's
// default credentials belong to, window by window and region by region,
// with LookupEvents (paged, 2 calls a second per region, backing off on
// ThrottlingException), and sends the records like ImportArchive. Windows
// the checkpoint holds are skipped.
func ImportHistory(ctx context.Context, h HistoryOptions, o Options) (Result, error) {
	o.defaults()
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	end := now().UTC().Truncate(time.Second)
	start := end.Add(-HistoryDays * 24 * time.Hour)
	if !o.Filter.Start.IsZero() {
		start = later(start, o.Filter.Start.UTC())
	}
	if !o.Filter.End.IsZero() && o.Filter.End.Before(end) {
		end = o.Filter.End.UTC()
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("AWS credentials: %w", err)
	}
	h.Regions = slices.Compact(slices.Sorted(slices.Values(h.Regions)))
	ws := windows(h.Regions, start, end)
	o.Stats.UnitsTotal.Store(int64(len(ws)))
	byRegion := make([][]window, len(h.Regions))
	for _, w := range ws {
		if o.Checkpoint.Done(w.name()) {
			o.Stats.UnitsEarlier.Add(1)
			continue
		}
		i := slices.Index(h.Regions, w.region)
		byRegion[i] = append(byRegion[i], w)
	}
	// One producer a region, each within its region's rate limit.
	return pump(ctx, o, len(h.Regions), func(p *producer, i int) {
		client := cloudtrail.NewFromConfig(cfg, func(co *cloudtrail.Options) {
			co.Region = h.Regions[i]
			if h.Endpoint != "" {
				co.BaseEndpoint = aws.String(h.Endpoint)
			}
			// ThrottlingException is retried with the SDK's backoff, 10
			// attempts whatever AWS_MAX_ATTEMPTS says, and no retry
			// quota, so that a long pull is not ended by its many
			// throttled calls.
			co.RetryMaxAttempts = 10
			co.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = 10
				so.MaxBackoff = 30 * time.Second
				so.RateLimiter = ratelimit.None
			})
		})
		tick := time.NewTicker(lookupInterval)
		defer tick.Stop()
		for _, w := range byRegion[i] {
			u, err := lookupWindow(p.ctx, client, w, tick.C)
			if err != nil {
				p.fail(w.name(), "LookupEventsFailed", err)
				continue
			}
			if !p.emit(u) {
				return
			}
		}
	})
}

// lookupWindow pages through one window's events, one call per tick.
func lookupWindow(ctx context.Context, c *cloudtrail.Client, w window, tick <-chan time.Time) (unit, error) {
	u := unit{name: w.name()}
	in := &cloudtrail.LookupEventsInput{StartTime: aws.Time(w.from), EndTime: aws.Time(w.to), MaxResults: aws.Int32(50)}
	for {
		select {
		case <-tick:
		case <-ctx.Done():
			return unit{}, ctx.Err()
		}
		out, err := c.LookupEvents(ctx, in)
		if err != nil {
			return unit{}, fmt.Errorf("LookupEvents in %s: %w", w.region, err)
		}
		for _, e := range out.Events {
			if e.CloudTrailEvent != nil {
				u.records = append(u.records, []byte(*e.CloudTrailEvent))
			}
		}
		if out.NextToken == nil || *out.NextToken == "" {
			return u, nil
		}
		in.NextToken = out.NextToken
	}
}
