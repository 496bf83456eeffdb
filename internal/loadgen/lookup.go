package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"
)

// LookupConfig says how to drive LookupEvents.
type LookupConfig struct {
	// Endpoint is the server's base URL, e.g. http://127.0.0.1:4590.
	Endpoint        string
	AccessKeyID     string
	SecretAccessKey string
	// Region is the region whose event history is looked up.
	Region string
	// Requests is how many timed LookupEvents calls to make.
	Requests int
	// Concurrency is how many calls are in flight at once.
	Concurrency int
	// Timeout bounds each call; 0 means 1 minute.
	Timeout time.Duration
	// Client is ClientSDK (the default) or ClientHTTP.
	Client string
	// Rate, when positive, paces the calls at about Rate a second in all
	// (an open loop: call i is due i/Rate seconds after the start, and its
	// latency counts from then, so a call that starts late because every
	// caller was busy counts its wait). 0: each caller calls again as soon
	// as it is answered.
	Rate float64
}

// LookupParams are the parameters of a lookup run, as reported.
type LookupParams struct {
	Endpoint    string       `json:"endpoint"`
	Region      string       `json:"region"`
	Requests    int          `json:"requests"`
	Concurrency int          `json:"concurrency"`
	Timeout     jsonDuration `json:"timeout"`
	Client      string       `json:"client"`
	Rate        float64      `json:"rate,omitempty"`
}

// QueryStats are the results of one kind of query of the mix.
type QueryStats struct {
	// Query names the kind: the lookup attribute, or "none", with a note
	// for time ranges and second pages.
	Query    string `json:"query"`
	Requests int    `json:"requests"`
	Errors   int    `json:"errors"`
	// Events is how many events the successful calls returned in all;
	// Empty how many of them returned none.
	Events  int64   `json:"events_returned"`
	Empty   int     `json:"empty_answers"`
	Latency Latency `json:"latency"`
}

// LookupReport is the outcome of a lookup run.
type LookupReport struct {
	Command string       `json:"command"`
	Env     Env          `json:"env"`
	Params  LookupParams `json:"params"`
	// Discovery, before the timed phase: the synthetic events found to
	// take EventIds, resource names and second-page tokens from.
	DiscoveryCalls  int          `json:"discovery_calls"`
	DiscoveryEvents int          `json:"discovery_events"`
	DiscoveryTime   jsonDuration `json:"discovery_time"`
	Skipped         []string     `json:"skipped_queries,omitempty"`
	// The timed phase.
	Phase
	Requests      int     `json:"requests"`
	Failed        int     `json:"failed"`
	LookupsPerSec float64 `json:"lookups_per_second"`
	// Latency of successful calls as the aws-sdk-go-v2 client sees them
	// (signing, round trip, decoding).
	Latency Latency      `json:"latency"`
	Queries []QueryStats `json:"queries"`
	Errors  []ErrorCount `json:"errors"`
}

// OK reports whether every call succeeded.
func (r *LookupReport) OK() bool { return r.Failed == 0 && !r.Interrupted && r.Aborted == "" }

// query is one kind of query of the mix.
type query struct {
	name  string
	input func(r *rand.Rand) *cloudtrail.LookupEventsInput
}

func attrInput(k types.LookupAttributeKey, v string) *cloudtrail.LookupEventsInput {
	return &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{{AttributeKey: k, AttributeValue: aws.String(v)}}}
}

func oneOf(r *rand.Rand, values []string) string { return values[r.IntN(len(values))] }

// discovered is what the discovery phase learned about the stored events.
type discovered struct {
	ids, arns, shorts []string
	times             []time.Time
	pageTwo           map[string]*cloudtrail.LookupEventsInput // by query name
}

// NewCloudTrailClient makes an aws-sdk-go-v2 CloudTrail client for a Cairn
// endpoint that does not retry (so that every error and every latency is
// seen) and keeps a connection per concurrent caller.
func NewCloudTrailClient(endpoint, key, secret, region string, conns int, timeout time.Duration) *cloudtrail.Client {
	hc := awshttp.NewBuildableClient().WithTimeout(timeout).WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = conns + 4
		t.MaxIdleConnsPerHost = conns + 4
	})
	return cloudtrail.New(cloudtrail.Options{
		Region:           region,
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, ""),
		RetryMaxAttempts: 1,
		HTTPClient:       plainBodies{hc},
	})
}

// plainBodies works around a race between smithy-go and net/http that fails
// calls answered quickly (aws/aws-sdk-go-v2#1825, #2737): the SDK closes the
// request body as soon as response headers arrive, while the transport may
// still be checking the body for extra bytes through its WriteTo, which
// then returns io.EOF; the transport takes that for a write error and
// closes the connection under the response being read ("use of closed
// network connection"). Hiding WriteTo makes that check read, which sees a
// plain EOF.
type plainBodies struct{ hc cloudtrail.HTTPClient }

func (c plainBodies) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = readOnlyBody{r.Body}
	}
	return c.hc.Do(r)
}

// readOnlyBody has only Read and Close.
type readOnlyBody struct{ io.ReadCloser }

// discover finds synthetic events in the region: their IDs, resources and
// times, and NextTokens to fetch second pages with.
func discover(ctx context.Context, c *cloudtrail.Client, rep *LookupReport) (*discovered, error) {
	d := &discovered{pageTwo: map[string]*cloudtrail.LookupEventsInput{}}
	seen := map[string]bool{}
	call := func(in *cloudtrail.LookupEventsInput) (*cloudtrail.LookupEventsOutput, error) {
		rep.DiscoveryCalls++
		out, err := c.LookupEvents(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("discovery LookupEvents: %w", err)
		}
		return out, nil
	}
	out, err := call(&cloudtrail.LookupEventsInput{})
	if err != nil {
		return nil, err
	}
	if out.NextToken != nil {
		d.pageTwo["none, page 2"] = &cloudtrail.LookupEventsInput{NextToken: out.NextToken}
	}
	for _, src := range universe.EventSources() {
		out, err := call(attrInput(types.LookupAttributeKeyEventSource, src))
		if err != nil {
			return nil, err
		}
		if out.NextToken != nil && d.pageTwo["EventSource, page 2"] == nil {
			in := attrInput(types.LookupAttributeKeyEventSource, src)
			in.NextToken = out.NextToken
			d.pageTwo["EventSource, page 2"] = in
		}
		for _, e := range out.Events {
			id := aws.ToString(e.EventId)
			if seen[id] {
				continue
			}
			seen[id] = true
			rep.DiscoveryEvents++
			d.ids = append(d.ids, id)
			if e.EventTime != nil {
				d.times = append(d.times, *e.EventTime)
			}
			for _, r := range e.Resources {
				if arn := aws.ToString(r.ResourceName); arn != "" && !slices.Contains(d.arns, arn) {
					d.arns = append(d.arns, arn)
					d.shorts = append(d.shorts, shortName(arn))
				}
			}
		}
	}
	if len(d.ids) == 0 {
		return nil, errors.New("found no events of the synthetic services in this region of the caller's account; " +
			"load some first with \"cairn-bench ingest\" (its --regions must include this region)")
	}
	return d, nil
}

// mix is the cycle of queries of a run.
func mix(d *discovered, rep *LookupReport) []query {
	names, sources, users := universe.EventNames(), universe.EventSources(), universe.UserNames()
	keys, rtypes := universe.AccessKeyIDs(), universe.ResourceTypes()
	window := func(r *rand.Rand) (*time.Time, *time.Time) {
		// An hour that ends just after a known event, so it holds data
		// however the events are spread in time.
		end := d.times[r.IntN(len(d.times))].Add(time.Second)
		start := end.Add(-time.Hour)
		return &start, &end
	}
	qs := []query{
		{"none", func(*rand.Rand) *cloudtrail.LookupEventsInput { return &cloudtrail.LookupEventsInput{} }},
		{"EventName", func(r *rand.Rand) *cloudtrail.LookupEventsInput {
			return attrInput(types.LookupAttributeKeyEventName, oneOf(r, names))
		}},
		{"EventSource", func(r *rand.Rand) *cloudtrail.LookupEventsInput {
			return attrInput(types.LookupAttributeKeyEventSource, oneOf(r, sources))
		}},
		{"Username", func(r *rand.Rand) *cloudtrail.LookupEventsInput {
			return attrInput(types.LookupAttributeKeyUsername, oneOf(r, users))
		}},
		{"AccessKeyId", func(r *rand.Rand) *cloudtrail.LookupEventsInput {
			return attrInput(types.LookupAttributeKeyAccessKeyId, oneOf(r, keys))
		}},
		{"ReadOnly", func(r *rand.Rand) *cloudtrail.LookupEventsInput {
			return attrInput(types.LookupAttributeKeyReadOnly, oneOf(r, []string{"true", "false"}))
		}},
		{"ResourceType", func(r *rand.Rand) *cloudtrail.LookupEventsInput {
			return attrInput(types.LookupAttributeKeyResourceType, oneOf(r, rtypes))
		}},
		{"ResourceName (short)", func(r *rand.Rand) *cloudtrail.LookupEventsInput {
			return attrInput(types.LookupAttributeKeyResourceName, oneOf(r, d.shorts))
		}},
		{"ResourceName (ARN)", func(r *rand.Rand) *cloudtrail.LookupEventsInput {
			return attrInput(types.LookupAttributeKeyResourceName, oneOf(r, d.arns))
		}},
		{"EventId", func(r *rand.Rand) *cloudtrail.LookupEventsInput {
			return attrInput(types.LookupAttributeKeyEventId, oneOf(r, d.ids))
		}},
		{"none, 1h window", func(r *rand.Rand) *cloudtrail.LookupEventsInput {
			in := &cloudtrail.LookupEventsInput{}
			in.StartTime, in.EndTime = window(r)
			return in
		}},
		{"EventName, 1h window", func(r *rand.Rand) *cloudtrail.LookupEventsInput {
			in := attrInput(types.LookupAttributeKeyEventName, oneOf(r, names))
			in.StartTime, in.EndTime = window(r)
			return in
		}},
	}
	if len(d.arns) == 0 {
		qs = slices.DeleteFunc(qs, func(q query) bool { return strings.HasPrefix(q.name, "ResourceName") })
		rep.Skipped = append(rep.Skipped, "ResourceName (the events found name no resources)")
	}
	for _, name := range []string{"none, page 2", "EventSource, page 2"} {
		in := d.pageTwo[name]
		if in == nil {
			rep.Skipped = append(rep.Skipped, name+" (no first page had a NextToken)")
			continue
		}
		qs = append(qs, query{name, func(*rand.Rand) *cloudtrail.LookupEventsInput {
			cp := *in
			cp.LookupAttributes = slices.Clone(in.LookupAttributes)
			return &cp
		}})
	}
	return qs
}

// RunLookup drives LookupEvents of a running server as c says: first a few
// untimed discovery calls, then c.Requests timed calls cycling through a mix
// of queries. Canceling ctx stops the run early. The error is for a run
// that could not start (including a failed discovery call); failures of
// timed calls are in the report.
func RunLookup(ctx context.Context, c LookupConfig) (*LookupReport, error) {
	switch {
	case c.Endpoint == "":
		return nil, errors.New("no endpoint")
	case c.AccessKeyID == "" || c.SecretAccessKey == "":
		return nil, errors.New("no credentials")
	case c.Requests < 1:
		return nil, errors.New("requests must be at least 1")
	case c.Concurrency < 1:
		return nil, errors.New("concurrency must be at least 1")
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return nil, errors.New("rate must be a positive number of calls a second, or 0")
	}
	var interval time.Duration
	if c.Rate > 0 {
		interval = max(time.Duration(float64(time.Second)/c.Rate), 1)
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Minute
	}
	if c.Client == "" {
		c.Client = ClientSDK
	}
	rep := &LookupReport{Command: "lookup", Params: LookupParams{Endpoint: c.Endpoint, Region: c.Region,
		Requests: c.Requests, Concurrency: c.Concurrency, Timeout: jsonDuration(c.Timeout), Client: c.Client, Rate: c.Rate}}
	client := NewCloudTrailClient(c.Endpoint, c.AccessKeyID, c.SecretAccessKey, c.Region, c.Concurrency, c.Timeout)
	var newCaller func() lookupCaller // one for each concurrent caller
	switch c.Client {
	case ClientSDK:
		newCaller = func() lookupCaller { return sdkCaller(client) }
	case ClientHTTP:
		h, err := newHTTPLookups(c.Endpoint, c.AccessKeyID, c.SecretAccessKey, c.Region, c.Concurrency, c.Timeout)
		if err != nil {
			return nil, err
		}
		newCaller = h.caller
	default:
		return nil, fmt.Errorf("client must be %q or %q", ClientSDK, ClientHTTP)
	}

	discStart := time.Now()
	d, err := discover(ctx, client, rep)
	if err != nil {
		return nil, err
	}
	rep.DiscoveryTime = jsonDuration(time.Since(discStart))
	qs := mix(d, rep)

	callers := make([]lookupCaller, c.Concurrency)
	for w := range callers {
		callers[w] = newCaller()
	}
	var errs errorTally
	seed := rand.Uint64()
	var start time.Time // the clock's start (Started), before any call
	res := load[callSample]{
		Workers: c.Concurrency, Total: int64(c.Requests), Interval: interval,
		Started: func(t time.Time) { start = t },
		Worker: func(w int) func(int64, int) (callSample, outcome) {
			r, lookup := rand.New(rand.NewPCG(seed, uint64(w))), callers[w]
			return func(i int64, _ int) (callSample, outcome) {
				k := int(i % int64(len(qs)))
				in := qs[k].input(r)
				t0 := time.Now()
				if interval > 0 {
					t0 = start.Add(time.Duration(i) * interval) // when the call was due
				}
				n, err := lookup(context.Background(), in)
				s := callSample{query: k, lat: time.Since(t0), results: n}
				if err != nil {
					errs.add(qs[k].name+": "+lookupErrorText(err), 1)
					return s, unitFailed
				}
				return s, unitOK
			}
		},
	}.run(ctx)
	rep.Env, rep.Phase = res.Env, res.Phase
	if res.GaveUp {
		rep.Aborted = fmt.Sprintf("stopped after %d failed calls, with none successful", len(res.Failed))
	}
	names := make([]string, len(qs))
	for k, q := range qs {
		names[k] = q.name
	}
	rep.Queries, rep.Latency, rep.Requests, rep.Failed = summarizeMix(names, res.OK, res.Failed)
	rep.LookupsPerSec = rate(int64(rep.Requests-rep.Failed), rep.Elapsed)
	rep.Errors = errs.list()
	return rep, nil
}

// callSample is one call of a mix of queries: which query of the mix, its
// latency, and how many results (events, rows) it returned.
type callSample struct {
	query   int
	lat     time.Duration
	results int
}

// summarizeMix gives the statistics of each query of a mix (named by
// names) from the calls that succeeded and failed, and the latency of all
// successful calls, the calls in all and those that failed.
func summarizeMix(names []string, ok, failed []callSample) (queries []QueryStats, all Latency, requests, fails int) {
	stats := make([]QueryStats, len(names))
	lats := make([][]time.Duration, len(names))
	for k, name := range names {
		stats[k].Query = name
	}
	for _, s := range failed {
		stats[s.query].Requests++
		stats[s.query].Errors++
	}
	var every []time.Duration
	for _, s := range ok {
		st := &stats[s.query]
		st.Requests++
		st.Events += int64(s.results)
		if s.results == 0 {
			st.Empty++
		}
		lats[s.query] = append(lats[s.query], s.lat)
		every = append(every, s.lat)
	}
	for k := range stats {
		stats[k].Latency = Summarize(lats[k])
		requests += stats[k].Requests
		fails += stats[k].Errors
	}
	return stats, Summarize(every), requests, fails
}

// lookupErrorText is an SDK error's API code and message, or the error.
func lookupErrorText(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}

// WriteText prints the report for people.
func (r *LookupReport) WriteText(w io.Writer) {
	p := r.Params
	fmt.Fprintf(w, "cairn-bench lookup\n")
	r.Env.writeText(w)
	fmt.Fprintf(w, "  endpoint    %s, region %s\n", p.Endpoint, p.Region)
	via := "aws-sdk-go-v2"
	if p.Client == ClientHTTP {
		via = "net/http, SigV4-signed, answers only scanned (--client http)"
	}
	fmt.Fprintf(w, "  load        %s LookupEvents calls, %d concurrent, through %s (no retries)\n", group(int64(p.Requests)), p.Concurrency, via)
	if p.Rate > 0 {
		fmt.Fprintf(w, "  paced       %s calls/s, an open loop: each latency counts from when the call was due\n", groupf(p.Rate))
	}
	fmt.Fprintf(w, "  discovery   %d calls found %d synthetic events in %s (not timed)\n",
		r.DiscoveryCalls, r.DiscoveryEvents, time.Duration(r.DiscoveryTime).Round(time.Millisecond))
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "  skipped     %s\n", s)
	}
	fmt.Fprintln(w)
	status := ""
	if r.Interrupted {
		status = " (interrupted)"
	}
	if r.Aborted != "" {
		status = " (" + r.Aborted + ")"
	}
	fmt.Fprintf(w, "  elapsed     %.3fs%s\n", r.Elapsed.Seconds(), status)
	fmt.Fprintf(w, "  throughput  %s lookups/s (%s calls, %s failed)\n", groupf(r.LookupsPerSec), group(int64(r.Requests)), group(int64(r.Failed)))
	latencyLine(w, "latency (all)", r.Latency)
	r.ClientCPU.writeText(w, r.Env.NumCPU)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %-22s %6s %6s %9s %7s  %-9s %-9s %-9s %-9s\n", "query", "calls", "errors", "events/call", "empty", "p50", "p90", "p99", "max")
	for _, q := range r.Queries {
		per := 0.0
		if ok := q.Requests - q.Errors; ok > 0 {
			per = float64(q.Events) / float64(ok)
		}
		fmt.Fprintf(w, "  %-22s %6d %6d %11.1f %7d  %-9s %-9s %-9s %-9s\n", q.Query, q.Requests, q.Errors, per, q.Empty,
			fmtDur(q.Latency.P50), fmtDur(q.Latency.P90), fmtDur(q.Latency.P99), fmtDur(q.Latency.Max))
	}
	fmt.Fprintln(w)
	writeErrors(w, r.Errors)
}
