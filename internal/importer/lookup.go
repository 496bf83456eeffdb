package importer

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
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
	st := o.Stats
	ws := windows(h.Regions, start, end)
	st.UnitsTotal.Store(int64(len(ws)))
	byRegion := map[string][]window{}
	for _, w := range ws {
		if o.Checkpoint.Done(w.name()) {
			st.UnitsEarlier.Add(1)
			continue
		}
		byRegion[w.region] = append(byRegion[w.region], w)
	}
	refusals := &Refusals{w: o.Refusals}
	s := &sender{client: o.Client, cp: o.Checkpoint, stats: st, refusals: refusals,
		maxRecords: o.BatchRecords, maxBytes: o.BatchBytes, parallel: o.Parallel, cancel: cancel}
	units := make(chan unit, len(h.Regions))
	var res Result
	var mu sync.Mutex
	var wg sync.WaitGroup
	for region, rws := range byRegion {
		client := cloudtrail.NewFromConfig(cfg, func(co *cloudtrail.Options) {
			co.Region = region
			if h.Endpoint != "" {
				co.BaseEndpoint = aws.String(h.Endpoint)
			}
			co.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = 10
				so.MaxBackoff = 30 * time.Second
			})
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(lookupInterval)
			defer tick.Stop()
			for _, w := range rws {
				u, err := lookupWindow(ctx, client, w, tick.C)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					mu.Lock()
					res.Unreadable++
					mu.Unlock()
					st.UnitsFailed.Add(1)
					refusals.write(refusalLine{File: w.name(), ErrorCode: "LookupEventsFailed", ErrorMessage: err.Error()})
					continue
				}
				select {
				case units <- u:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(units)
	}()
	s.run(ctx, units)
	res.Interrupted = ctx.Err() != nil && s.fatal == nil
	return res, s.fatal
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
