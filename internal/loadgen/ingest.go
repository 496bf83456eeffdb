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
	Elapsed     time.Duration `json:"-"`
	ElapsedSec  float64       `json:"elapsed_seconds"`
	Interrupted bool          `json:"interrupted,omitempty"`
	// Aborted says why the run stopped early, if it did.
	Aborted   string     `json:"aborted,omitempty"`
	ClientCPU *ClientCPU `json:"client_cpu,omitempty"`
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
	case c.Clients < 1 || c.Clients > 4096:
		return errors.New("clients must be 1 to 4096")
	case c.Batch < 1:
		return errors.New("batch must be at least 1")
	case c.Total < 0:
		return errors.New("total must not be negative")
	case c.Total == 0 && c.Duration <= 0:
		return errors.New("give a duration or a total")
	case c.Gen.RecordBytes < 0 || c.Gen.RecordBytes > 256<<10:
		return errors.New("record bytes must be 0 to 262144 (CloudTrail's 256 KB event limit)")
	case c.Gen.Spread < 0:
		return errors.New("spread must not be negative")
	}
	return nil
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

// abandonAfter is how many failed requests, with none successful, end a run.
const abandonAfter = 10

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
		Endpoint: c.Endpoint, Clients: c.Clients, Batch: c.Batch, Total: c.Total,
		RecordBytes: c.Gen.RecordBytes, Accounts: append([]string{}, c.Gen.Accounts...),
		Regions: c.Gen.Regions, Spread: jsonDuration(c.Gen.Spread), Timeout: jsonDuration(c.Timeout),
	}}
	if c.Total == 0 {
		rep.Params.Duration = jsonDuration(c.Duration)
	}

	prepStart := time.Now()
	templates := prepare(&c)
	rep.PrepareTime = jsonDuration(time.Since(prepStart))
	rep.Templates = len(templates)
	var bytesBuilt int
	for _, t := range templates {
		rep.RecordsBuilt += t.Len()
		bytesBuilt += t.Size(t.Len()) - len(`{"Records":[]}`) - (t.Len() - 1)
	}
	rep.MeanRecordSize = bytesBuilt / max(rep.RecordsBuilt, 1)

	var (
		claimed, sent, acked, refused, lostEvents, batches, batchesOK, bytesSent atomic.Int64
		errs                                                                     errorTally
		mu                                                                       sync.Mutex
		samples                                                                  = make([]time.Duration, 0, 1024)
	)
	run := rand.Uint64()
	cpu := startCPU()
	start := time.Now()
	rep.Env = currentEnv(start)
	deadline := start.Add(c.Duration)
	// A run whose first requests all fail stops: its numbers would mean
	// nothing, and it would only hammer the server with bad requests.
	var giveUp atomic.Bool
	failedRequest := func() {
		if lostEvents.Load() >= int64(abandonAfter*c.Batch) && batchesOK.Load() == 0 {
			giveUp.Store(true)
		}
	}
	// claim reserves the next batch's size, or 0 when the run is over.
	claim := func() int {
		if ctx.Err() != nil || giveUp.Load() {
			return 0
		}
		if c.Total > 0 {
			end := claimed.Add(int64(c.Batch))
			n := min(int64(c.Batch), c.Total-(end-int64(c.Batch)))
			return int(max(n, 0))
		}
		if !time.Now().Before(deadline) {
			return 0
		}
		return c.Batch
	}

	stopProgress := make(chan struct{})
	var progressDone sync.WaitGroup
	if c.Progress != nil && c.ProgressEvery > 0 {
		progressDone.Go(func() {
			tick := time.NewTicker(c.ProgressEvery)
			defer tick.Stop()
			last, lastAt := int64(0), start
			for {
				select {
				case <-stopProgress:
					return
				case now := <-tick.C:
					a := acked.Load()
					fmt.Fprintf(c.Progress, "[%6.1fs] %s events acknowledged (%s/s over the last %.0fs), %d errors\n",
						now.Sub(start).Seconds(), group(a), groupf(rate(a-last, now.Sub(lastAt))), now.Sub(lastAt).Seconds(), errs.total)
					last, lastAt = a, now
				}
			}
		})
	}

	var wg sync.WaitGroup
	for client := range c.Clients {
		wg.Go(func() {
			ids := NewIDs(run, client)
			r := rand.New(rand.NewPCG(run, uint64(client)))
			signer := v4.NewSigner()
			creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}
			var buf []byte
			var local []time.Duration
			for k := 0; ; k++ {
				n := claim()
				if n == 0 {
					break
				}
				t := templates[(client+k*c.Clients)%len(templates)]
				buf = t.Fill(buf, n, ids, time.Now(), r.Int64())
				sum := sha256.Sum256(buf)
				// A fresh context: a canceled run still hears the answers
				// to the batches it sent.
				req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(buf))
				if err != nil {
					errs.add("request: "+err.Error(), 1)
					lostEvents.Add(int64(n))
					break
				}
				req.Header.Set("Content-Type", "application/json")
				if err := signer.SignHTTP(req.Context(), creds, req, hex.EncodeToString(sum[:]), SigningService, SigningRegion, time.Now()); err != nil {
					errs.add("sign: "+err.Error(), 1)
					lostEvents.Add(int64(n))
					break
				}
				batches.Add(1)
				sent.Add(int64(n))
				bytesSent.Add(int64(len(buf)))
				t0 := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					errs.add("HTTP request failed: "+trimURLError(err), 1)
					lostEvents.Add(int64(n))
					failedRequest()
					time.Sleep(100 * time.Millisecond) // no hot loop against a server that is down
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat := time.Since(t0)
				if err != nil {
					errs.add("reading answer: "+err.Error(), 1)
					lostEvents.Add(int64(n))
					failedRequest()
					continue
				}
				if resp.StatusCode != http.StatusOK {
					errs.add(fmt.Sprintf("HTTP %d %s", resp.StatusCode, apiErrorText(body)), 1)
					lostEvents.Add(int64(n))
					failedRequest()
					continue
				}
				var ans ingestAnswer
				if err := json.Unmarshal(body, &ans); err != nil || ans.Accepted == nil {
					errs.add(fmt.Sprintf("HTTP 200 with an answer that is not {\"accepted\":…}: %.200s", body), 1)
					lostEvents.Add(int64(n))
					failedRequest()
					continue
				}
				batchesOK.Add(1)
				local = append(local, lat)
				acked.Add(int64(*ans.Accepted))
				refused.Add(int64(len(ans.Failed)))
				for _, f := range ans.Failed {
					errs.add("record refused: "+f.ErrorCode+": "+f.ErrorMessage, 1)
				}
				if *ans.Accepted+len(ans.Failed) != n {
					errs.add(fmt.Sprintf("answer counts %d accepted + %d failed for a batch of %d", *ans.Accepted, len(ans.Failed), n), 1)
				}
			}
			mu.Lock()
			samples = append(samples, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	rep.Elapsed = time.Since(start)
	rep.ClientCPU = cpu.stop(rep.Elapsed)
	close(stopProgress)
	progressDone.Wait()

	rep.ElapsedSec = seconds(rep.Elapsed)
	rep.Interrupted = ctx.Err() != nil
	if giveUp.Load() {
		rep.Aborted = fmt.Sprintf("stopped after %d failed requests, with none answered 200", batches.Load())
	}
	rep.Batches, rep.BatchesOK = batches.Load(), batchesOK.Load()
	rep.EventsSent, rep.EventsAcknowledged = sent.Load(), acked.Load()
	rep.EventsRefused, rep.EventsInFailedReqs = refused.Load(), lostEvents.Load()
	rep.BytesSent = bytesSent.Load()
	rep.EventsPerSec = rate(rep.EventsAcknowledged, rep.Elapsed)
	rep.BatchesPerSec = rate(rep.BatchesOK, rep.Elapsed)
	rep.MiBPerSec = rate(rep.BytesSent, rep.Elapsed) / (1 << 20)
	rep.Latency = Summarize(samples)
	rep.Errors = errs.list()
	return rep, nil
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
