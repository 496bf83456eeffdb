package loadgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SigningRegion and SigningService are what ingest requests are signed for.
const (
	SigningRegion  = "us-east-1"
	SigningService = "cloudtrail"
)

// IngestConfig says how to drive POST /v1/events.
type IngestConfig struct {
	// Endpoint is the server's base URL, e.g. http://127.0.0.1:4590.
	Endpoint        string
	AccessKeyID     string
	SecretAccessKey string
	// Clients is how many clients send batches concurrently, each waiting
	// for its answer before sending the next.
	Clients int
	// Batch is the number of records per request.
	Batch int
	// Duration bounds the run when Total is 0: no batch starts after it.
	Duration time.Duration
	// Total, when positive, is exactly how many events to send.
	Total int64
	// Rate, when positive, paces the run at about Rate events a second:
	// batch i starts no sooner than i × Batch/Rate seconds after the
	// first. Without it the clients send as fast as they are answered.
	Rate float64
	// Gen says what the records look like.
	Gen GenOptions
	// Timeout bounds each request; 0 means 2 minutes.
	Timeout time.Duration
	// Progress, if set, receives a progress line every ProgressEvery.
	Progress      io.Writer
	ProgressEvery time.Duration
	// HTTPClient, if set, sends the requests.
	HTTPClient *http.Client
}

// IngestParams are the parameters of an ingest run, as reported.
type IngestParams struct {
	Endpoint    string       `json:"endpoint"`
	Clients     int          `json:"clients"`
	Batch       int          `json:"batch"`
	Duration    jsonDuration `json:"duration,omitempty"`
	Total       int64        `json:"total,omitempty"`
	Rate        float64      `json:"rate,omitempty"`
	RecordBytes int          `json:"record_bytes"`
	Accounts    []string     `json:"accounts"`
	Regions     []string     `json:"regions"`
	Spread      jsonDuration `json:"spread,omitempty"`
	Timeout     jsonDuration `json:"timeout"`
}

// IngestReport is the outcome of an ingest run.
type IngestReport struct {
	Command string       `json:"command"`
	Env     Env          `json:"env"`
	Params  IngestParams `json:"params"`
	// Preparation, before the timed phase.
	Templates      int          `json:"templates"`
	RecordsBuilt   int          `json:"records_prebuilt"`
	MeanRecordSize int          `json:"mean_record_bytes"`
	PrepareTime    jsonDuration `json:"prepare_time"`
	// The timed phase: from the first request to the last answer.
	Phase
	// Requests sent and answered with HTTP 200.
	Batches   int64 `json:"batches"`
	BatchesOK int64 `json:"batches_ok"`
	// Events sent; acknowledged (counted in an HTTP 200 answer's accepted);
	// refused one by one in a 200 answer's failed list; and lost with a
	// request that failed as a whole (non-200 or no answer).
	EventsSent         int64 `json:"events_sent"`
	EventsAcknowledged int64 `json:"events_acknowledged"`
	EventsRefused      int64 `json:"events_refused"`
	EventsInFailedReqs int64 `json:"events_in_failed_requests"`
	BytesSent          int64 `json:"bytes_sent"`
	// Rates over Elapsed.
	EventsPerSec  float64 `json:"events_per_second"`
	BatchesPerSec float64 `json:"batches_per_second"`
	MiBPerSec     float64 `json:"mib_per_second"`
	// Latency of requests answered with HTTP 200: from sending the signed
	// request to reading the whole answer.
	Latency Latency `json:"latency"`
	// Errors counts failed requests and refused records by kind.
	Errors []ErrorCount `json:"errors"`
}

// OK reports whether every event sent was acknowledged.
func (r *IngestReport) OK() bool {
	return r.EventsSent == r.EventsAcknowledged && len(r.Errors) == 0 && r.Aborted == "" &&
		(r.Params.Total == 0 || r.EventsAcknowledged == r.Params.Total)
}

func (c *IngestConfig) check() error {
	switch {
	case c.Endpoint == "":
		return errors.New("no endpoint")
	case c.AccessKeyID == "" || c.SecretAccessKey == "":
		return errors.New("no credentials")
	}
	if c.Rate < 0 {
		return errors.New("rate must not be negative")
	}
	return checkLoad(c.Clients, c.Batch, c.Total, c.Duration, c.Gen)
}

// interval is the time between batch starts that paces the run at Rate
// events a second (0: unpaced).
func (c *IngestConfig) interval() time.Duration {
	if c.Rate <= 0 {
		return 0
	}
	return time.Duration(float64(c.Batch) / c.Rate * float64(time.Second))
}

// newHTTPClient makes a client that keeps a connection per concurrent caller.
func newHTTPClient(conns int, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns + 4,
		MaxIdleConnsPerHost: conns + 4,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// prepare builds the templates the clients send, in parallel.
func prepare(c *IngestConfig) []*Template {
	per := c.Batch * max(c.Gen.RecordBytes, 700)
	n := min(max((64<<20)/per, 1), 64)
	n = max(n, min(c.Clients, 16))
	if c.Total > 0 {
		n = int(min(int64(n), (c.Total+int64(c.Batch)-1)/int64(c.Batch)))
	}
	size := c.Batch
	if c.Total > 0 && c.Total < int64(size) {
		size = int(c.Total)
	}
	out := make([]*Template, n)
	seed := c.Gen.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range min(n, 8) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				o := c.Gen
				o.Seed = seed + uint64(i)*0x9e3779b97f4a7c15 + 1
				out[i] = NewGenerator(o).Template(size)
			}
		})
	}
	wg.Wait()
	return out
}

// ingestAnswer is the 200 answer of POST /v1/events.
type ingestAnswer struct {
	Accepted *int `json:"accepted"`
	Failed   []struct {
		Index        int    `json:"index"`
		ErrorCode    string `json:"errorCode"`
		ErrorMessage string `json:"errorMessage"`
	} `json:"failed"`
}

// RunIngest drives POST /v1/events of a running server as c says. Canceling
// ctx stops new batches; batches in flight are still awaited and counted.
// The error is for a run that could not start; failures during the run are
// in the report.
func RunIngest(ctx context.Context, c IngestConfig) (*IngestReport, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Minute
	}
	if len(c.Gen.Regions) == 0 {
		c.Gen.Regions = []string{"us-east-1"}
	}
	url := strings.TrimRight(c.Endpoint, "/") + "/v1/events"
	hc := c.HTTPClient
	if hc == nil {
		hc = newHTTPClient(c.Clients, c.Timeout)
	}
	rep := &IngestReport{Command: "ingest", Params: IngestParams{
		Endpoint: c.Endpoint, Clients: c.Clients, Batch: c.Batch, Total: c.Total, Rate: c.Rate,
		RecordBytes: c.Gen.RecordBytes, Accounts: append([]string{}, c.Gen.Accounts...),
		Regions: c.Gen.Regions, Spread: jsonDuration(c.Gen.Spread), Timeout: jsonDuration(c.Timeout),
	}}
	if c.Total == 0 {
		rep.Params.Duration = jsonDuration(c.Duration)
	}

	p := prepareTemplates(c.Clients, c.Batch, c.Total, c.Gen)
	rep.Templates, rep.RecordsBuilt, rep.MeanRecordSize, rep.PrepareTime = len(p.templates), p.recordsBuilt, p.meanRecordSize, jsonDuration(p.prepareTime)
	templates := p.templates

	var errs errorTally
	run := rand.Uint64()
	res := load[ingestSample]{
		Workers: c.Clients, Batch: c.Batch, Total: c.Total, Duration: c.Duration,
		Interval: c.interval(),
		Worker: func(client int) func(int64, int) (ingestSample, outcome) {
			return newIngestClient(&c, url, hc, templates, run, client, &errs).send
		},
		Progress: c.Progress, ProgressEvery: c.ProgressEvery, ProgressWhat: "events acknowledged",
		Count:  func(s ingestSample) int64 { return int64(s.accepted) },
		Errors: &errs,
	}.run(ctx)
	rep.Env, rep.Phase = res.Env, res.Phase
	for _, s := range append(res.OK, res.Failed...) {
		if s.sent {
			rep.Batches++
			rep.EventsSent += int64(s.events)
			rep.BytesSent += int64(s.bytes)
		}
	}
	rep.BatchesOK = int64(len(res.OK))
	rep.EventsAcknowledged = sum(res.OK, func(s ingestSample) int64 { return int64(s.accepted) })
	rep.EventsRefused = sum(res.OK, func(s ingestSample) int64 { return int64(s.refused) })
	rep.EventsInFailedReqs = sum(res.Failed, func(s ingestSample) int64 { return int64(s.events) })
	if res.GaveUp {
		rep.Aborted = fmt.Sprintf("stopped after %d failed requests, with none answered 200", rep.Batches)
	}
	rep.EventsPerSec = rate(rep.EventsAcknowledged, rep.Elapsed)
	rep.BatchesPerSec = rate(rep.BatchesOK, rep.Elapsed)
	rep.MiBPerSec = rate(rep.BytesSent, rep.Elapsed) / (1 << 20)
	rep.Latency = latencies(res.OK, func(s ingestSample) time.Duration { return s.lat })
	rep.Errors = errs.list()
	return rep, nil
}

// ingestSample is what one batch of an ingest run did.
type ingestSample struct {
	// sent says the request went out; events and bytes are its records
	// and body.
	sent          bool
	events, bytes int
	// Of an HTTP 200 answer: its latency, and the records it counts
	// accepted and failed.
	lat               time.Duration
	accepted, refused int
}

// ingestClient is one concurrent client of an ingest run.
type ingestClient struct {
	c         *IngestConfig
	url       string
	hc        *http.Client
	templates []*Template
	client, k int
	ids       *IDs
	r         *rand.Rand
	signer    *v4.Signer
	creds     aws.Credentials
	buf       []byte
	errs      *errorTally
}

func newIngestClient(c *IngestConfig, url string, hc *http.Client, templates []*Template, run uint64, client int, errs *errorTally) *ingestClient {
	return &ingestClient{
		c: c, url: url, hc: hc, templates: templates, client: client,
		ids: NewIDs(run, client), r: rand.New(rand.NewPCG(run, uint64(client))), signer: v4.NewSigner(),
		creds: aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}, errs: errs,
	}
}

// send fills the client's next template with n fresh records, signs it,
// posts it and checks the answer. Requests are not retried.
func (ic *ingestClient) send(_ int64, n int) (ingestSample, outcome) {
	s := ingestSample{events: n}
	t := ic.templates[(ic.client+ic.k*ic.c.Clients)%len(ic.templates)]
	ic.k++
	ic.buf = t.Fill(ic.buf, n, ic.ids, time.Now(), ic.r.Int64())
	sum := sha256.Sum256(ic.buf)
	// A fresh context: a canceled run still hears the answers to the
	// batches it sent.
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, ic.url, bytes.NewReader(ic.buf))
	if err != nil {
		ic.errs.add("request: "+err.Error(), 1)
		return s, unitFailed | unitQuit
	}
	req.Header.Set("Content-Type", "application/json")
	if err := ic.signer.SignHTTP(req.Context(), ic.creds, req, hex.EncodeToString(sum[:]), SigningService, SigningRegion, time.Now()); err != nil {
		ic.errs.add("sign: "+err.Error(), 1)
		return s, unitFailed | unitQuit
	}
	s.sent, s.bytes = true, len(ic.buf)
	t0 := time.Now()
	resp, err := ic.hc.Do(req)
	if err != nil {
		ic.errs.add("HTTP request failed: "+trimURLError(err), 1)
		time.Sleep(100 * time.Millisecond) // no hot loop against a server that is down
		return s, unitFailed
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	s.lat = time.Since(t0)
	if err != nil {
		ic.errs.add("reading answer: "+err.Error(), 1)
		return s, unitFailed
	}
	if resp.StatusCode != http.StatusOK {
		ic.errs.add(fmt.Sprintf("HTTP %d %s", resp.StatusCode, apiErrorText(body)), 1)
		return s, unitFailed
	}
	var ans ingestAnswer
	if err := json.Unmarshal(body, &ans); err != nil || ans.Accepted == nil {
		ic.errs.add(fmt.Sprintf("HTTP 200 with an answer that is not {\"accepted\":…}: %.200s", body), 1)
		return s, unitFailed
	}
	s.accepted, s.refused = *ans.Accepted, len(ans.Failed)
	for _, f := range ans.Failed {
		ic.errs.add("record refused: "+f.ErrorCode+": "+f.ErrorMessage, 1)
	}
	if *ans.Accepted+len(ans.Failed) != n {
		ic.errs.add(fmt.Sprintf("answer counts %d accepted + %d failed for a batch of %d", *ans.Accepted, len(ans.Failed), n), 1)
	}
	return s, unitOK
}

// apiErrorText is the code and message of an AWS JSON error body.
func apiErrorText(body []byte) string {
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"Message"`
		Lower   string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Type != "" {
		return e.Type + ": " + e.Message + e.Lower
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func trimURLError(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}

// WriteText prints the report for people.
func (r *IngestReport) WriteText(w io.Writer) {
	p := r.Params
	fmt.Fprintf(w, "cairn-bench ingest\n")
	r.Env.writeText(w)
	fmt.Fprintf(w, "  endpoint    %s\n", p.Endpoint)
	mode := "duration " + time.Duration(p.Duration).String()
	if p.Total > 0 {
		mode = "total " + group(p.Total) + " events"
	}
	accounts := "the caller's account"
	if len(p.Accounts) > 0 {
		accounts = "accounts " + strings.Join(p.Accounts, ",")
	}
	spread := "last minute"
	if p.Spread > 0 {
		spread = "last " + time.Duration(p.Spread).String()
	}
	if p.Rate > 0 {
		mode += ", paced at " + groupf(p.Rate) + " events/s"
	}
	fmt.Fprintf(w, "  load        %d clients, batches of %d, %s, records padded to %d bytes (mean %d)\n",
		p.Clients, p.Batch, mode, p.RecordBytes, r.MeanRecordSize)
	fmt.Fprintf(w, "  data        events of %s in %s, eventTime over the %s\n", accounts, strings.Join(p.Regions, ","), spread)
	fmt.Fprintf(w, "  prepared    %s records in %d batch templates in %s (not timed)\n",
		group(int64(r.RecordsBuilt)), r.Templates, time.Duration(r.PrepareTime).Round(time.Millisecond))
	fmt.Fprintln(w)
	status := ""
	if r.Interrupted {
		status = " (interrupted)"
	}
	if r.Aborted != "" {
		status = " (" + r.Aborted + ")"
	}
	fmt.Fprintf(w, "  elapsed     %.3fs%s\n", r.Elapsed.Seconds(), status)
	fmt.Fprintf(w, "  events      %s acknowledged of %s sent", group(r.EventsAcknowledged), group(r.EventsSent))
	if r.EventsRefused > 0 || r.EventsInFailedReqs > 0 {
		fmt.Fprintf(w, " (%s refused, %s in failed requests)", group(r.EventsRefused), group(r.EventsInFailedReqs))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  throughput  %s events/s acknowledged, %s batches/s, %.1f MiB/s of request bodies\n",
		groupf(r.EventsPerSec), groupf(r.BatchesPerSec), r.MiBPerSec)
	fmt.Fprintf(w, "  requests    %s sent, %s answered 200\n", group(r.Batches), group(r.BatchesOK))
	latencyLine(w, "latency (HTTP 200)", r.Latency)
	r.ClientCPU.writeText(w, r.Env.NumCPU)
	writeErrors(w, r.Errors)
	if r.Params.Total > 0 && r.EventsAcknowledged != r.Params.Total {
		fmt.Fprintf(w, "  INCOMPLETE  %s of the %s events asked for were acknowledged\n", group(r.EventsAcknowledged), group(r.Params.Total))
	}
}

func writeErrors(w io.Writer, errs []ErrorCount) {
	if len(errs) == 0 {
		fmt.Fprintf(w, "  errors      none\n")
		return
	}
	var total int64
	for _, e := range errs {
		total += e.Count
	}
	fmt.Fprintf(w, "  ERRORS      %s\n", group(total))
	for _, e := range errs {
		fmt.Fprintf(w, "    %8s × %s\n", group(e.Count), e.Error)
	}
}
