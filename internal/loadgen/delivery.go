package loadgen

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// DeliveryPoll is how often the delivery watcher scans the bucket directory.
const DeliveryPoll = 20 * time.Millisecond

// deliveryAPITimeout bounds each trail API call of the setup and cleanup.
const deliveryAPITimeout = 30 * time.Second

// DeliveryConfig says how to measure delivery latency.
type DeliveryConfig struct {
	// Endpoint is the server's base URL, e.g. http://127.0.0.1:4590.
	Endpoint        string
	AccessKeyID     string
	SecretAccessKey string
	// Bucket is the S3BucketName of the trail the run creates.
	Bucket string
	// BucketDir is where the bucket's files are on this machine.
	BucketDir string
	// Probes is how many probe events to send.
	Probes int
	// Interval is the time between probes (0: back to back).
	Interval time.Duration
	// Region is where the trail lives and the probes happen; "" means
	// us-east-1.
	Region string
	// Timeout is how long each probe may take to be delivered (and bounds
	// its ingest request); 0 means 1 minute.
	Timeout time.Duration
	// KeepTrail leaves the trail (logging stopped) instead of deleting it.
	KeepTrail bool
	// HTTPClient, if set, sends the probes.
	HTTPClient *http.Client
}

// DeliveryParams are the parameters of a delivery run, as reported.
type DeliveryParams struct {
	Endpoint  string       `json:"endpoint"`
	Region    string       `json:"region"`
	Bucket    string       `json:"bucket"`
	BucketDir string       `json:"bucket_dir"`
	Probes    int          `json:"probes"`
	Interval  jsonDuration `json:"interval"`
	Timeout   jsonDuration `json:"timeout"`
	Poll      jsonDuration `json:"poll"`
	KeepTrail bool         `json:"keep_trail"`
}

// ProbeResult is what happened to one probe.
type ProbeResult struct {
	N       int    `json:"n"`
	EventID string `json:"event_id"`
	// SentAt is when the request was sent.
	SentAt time.Time `json:"sent_at"`
	// Acknowledged says the server answered 200 with the record accepted.
	Acknowledged bool `json:"acknowledged"`
	// Delivered says it was found within the timeout; LatencyMs is then
	// the time from the 200 answer to the watcher finding its log file.
	Delivered bool     `json:"delivered"`
	LatencyMs *float64 `json:"latency_ms,omitempty"`
	// Late says it was found, but only after the timeout (it counts as lost).
	Late bool `json:"late,omitempty"`
	// Pending says the run was interrupted while it waited for it.
	Pending bool `json:"pending,omitempty"`
	// File is the log file it was first found in, relative to the bucket
	// directory; Copies is how many log files held it.
	File   string `json:"file,omitempty"`
	Copies int    `json:"copies,omitempty"`
	Error  string `json:"error,omitempty"`
}

// DeliveryReport is the outcome of a delivery run.
type DeliveryReport struct {
	Command string         `json:"command"`
	Env     Env            `json:"env"`
	Params  DeliveryParams `json:"params"`
	// The trail the run created, and the directory its files went to.
	Trail     string `json:"trail"`
	TrailARN  string `json:"trail_arn"`
	KeyPrefix string `json:"key_prefix"`
	WatchDir  string `json:"watch_dir"`
	// Cleanup.
	LoggingStopped bool `json:"logging_stopped"`
	TrailDeleted   bool `json:"trail_deleted"`
	// From the first probe to the last probe resolved.
	Elapsed     time.Duration `json:"-"`
	ElapsedSec  float64       `json:"elapsed_seconds"`
	Interrupted bool          `json:"interrupted,omitempty"`
	// Probes sent; acknowledged (HTTP 200, accepted); failed (not
	// acknowledged: not measurable); delivered (found within the timeout);
	// lost (acknowledged, not found within the timeout); late (of the lost,
	// found after their timeout); pending (acknowledged, not found yet when
	// the run was interrupted, before their timeout); duplicated (found in
	// more than one log file).
	Sent         int `json:"sent"`
	Acknowledged int `json:"acknowledged"`
	Failed       int `json:"failed"`
	Delivered    int `json:"delivered"`
	Lost         int `json:"lost"`
	Late         int `json:"late"`
	Pending      int `json:"pending,omitempty"`
	Duplicated   int `json:"duplicated"`
	// Log files the watcher read, and those it could not read.
	FilesRead int `json:"files_read"`
	// Latency of delivered probes: from the 200 answer to the watcher
	// finding the log file that holds the event.
	Latency Latency       `json:"latency"`
	Probes  []ProbeResult `json:"probes"`
	Note    string        `json:"note,omitempty"`
	Errors  []ErrorCount  `json:"errors"`
}

// OK reports whether every probe was acknowledged and delivered, and the
// run cleaned up after itself.
func (r *DeliveryReport) OK() bool {
	return r.Failed == 0 && r.Lost == 0 && r.Delivered == r.Params.Probes && !r.Interrupted && len(r.Errors) == 0
}

// probeState is a probe as the sender and the watcher see it.
type probeState struct {
	name, id string
	sent     time.Time
	acked    time.Time // zero unless acknowledged
	found    time.Time // zero until found
	file     string
	copies   int
	err      string
}

// deliveryRun is the shared state of a run.
type deliveryRun struct {
	mu       sync.Mutex
	probes   []probeState
	prefix   string // eventName prefix of this run's probes
	watchDir string // <bucket dir>/<key prefix>/AWSLogs
	rootDir  string // the bucket dir, for relative names
	seen     map[string]int
	files    int
	errs     errorTally
}

func (c *DeliveryConfig) check() error {
	switch {
	case c.Endpoint == "":
		return errors.New("no endpoint")
	case c.AccessKeyID == "" || c.SecretAccessKey == "":
		return errors.New("no credentials")
	case c.Bucket == "":
		return errors.New("no bucket")
	case c.BucketDir == "":
		return errors.New("no bucket directory")
	case c.Probes < 1 || c.Probes > 100000:
		return errors.New("probes must be 1 to 100000")
	case c.Interval < 0:
		return errors.New("interval must not be negative")
	case c.Timeout < 0:
		return errors.New("timeout must not be negative")
	}
	return nil
}

// RunDelivery measures delivery latency on a running server: it creates a
// trail on c.Bucket under a key prefix of its own, starts logging, sends
// c.Probes probe events c.Interval apart, and watches c.BucketDir for the
// log files that hold them. It stops logging and deletes the trail at the
// end (keeps it, stopped, with KeepTrail), also when ctx is canceled, which
// stops sending and waiting. The error is for a run that could not start;
// what happened to the probes is in the report.
func RunDelivery(ctx context.Context, c DeliveryConfig) (*DeliveryReport, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Timeout == 0 {
		c.Timeout = time.Minute
	}
	bucketDir, err := filepath.Abs(c.BucketDir)
	if err != nil {
		return nil, err
	}
	runID := fmt.Sprintf("%08x", rand.Uint32())
	name := "cairn-bench-delivery-" + runID
	rep := &DeliveryReport{Command: "delivery", Params: DeliveryParams{
		Endpoint: c.Endpoint, Region: c.Region, Bucket: c.Bucket, BucketDir: bucketDir, Probes: c.Probes,
		Interval: jsonDuration(c.Interval), Timeout: jsonDuration(c.Timeout), Poll: jsonDuration(DeliveryPoll),
		KeepTrail: c.KeepTrail,
	}, Trail: name, KeyPrefix: name, WatchDir: filepath.Join(bucketDir, name, "AWSLogs")}

	// A directory bucket must exist before a trail names it.
	if err := os.MkdirAll(bucketDir, 0o755); err != nil {
		return nil, fmt.Errorf("bucket directory: %w", err)
	}
	ct := NewCloudTrailClient(c.Endpoint, c.AccessKeyID, c.SecretAccessKey, c.Region, 1, deliveryAPITimeout)
	// Setup goes on through an interrupt, so that cleanup knows what to undo.
	setupCtx, cancel := context.WithTimeout(context.Background(), deliveryAPITimeout)
	created, err := ct.CreateTrail(setupCtx, &cloudtrail.CreateTrailInput{
		Name: aws.String(name), S3BucketName: aws.String(c.Bucket), S3KeyPrefix: aws.String(name),
		IsMultiRegionTrail: aws.Bool(false), EnableLogFileValidation: aws.Bool(false),
	})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("CreateTrail %s on bucket %s in %s: %s", name, c.Bucket, c.Region, lookupErrorText(err))
	}
	rep.TrailARN = aws.ToString(created.TrailARN)
	if rep.TrailARN == "" {
		rep.TrailARN = name
	}
	var cleaned bool
	cleanup := func() []string {
		if cleaned {
			return nil
		}
		cleaned = true
		var problems []string
		cctx, cancel := context.WithTimeout(context.Background(), 2*deliveryAPITimeout)
		defer cancel()
		if _, err := ct.StopLogging(cctx, &cloudtrail.StopLoggingInput{Name: aws.String(rep.TrailARN)}); err != nil {
			problems = append(problems, "StopLogging "+name+": "+lookupErrorText(err))
		} else {
			rep.LoggingStopped = true
		}
		if !c.KeepTrail {
			if _, err := ct.DeleteTrail(cctx, &cloudtrail.DeleteTrailInput{Name: aws.String(rep.TrailARN)}); err != nil {
				problems = append(problems, "DeleteTrail "+name+": "+lookupErrorText(err))
			} else {
				rep.TrailDeleted = true
			}
		}
		return problems
	}
	setupCtx, cancel = context.WithTimeout(context.Background(), deliveryAPITimeout)
	_, err = ct.StartLogging(setupCtx, &cloudtrail.StartLoggingInput{Name: aws.String(rep.TrailARN)})
	cancel()
	if err != nil {
		err = fmt.Errorf("StartLogging %s: %s", name, lookupErrorText(err))
		if problems := cleanup(); len(problems) > 0 {
			err = fmt.Errorf("%w; cleanup: %s", err, strings.Join(problems, "; "))
		}
		return nil, err
	}

	r := &deliveryRun{
		probes:   make([]probeState, c.Probes),
		prefix:   "CairnBenchProbe-" + runID + "-",
		watchDir: rep.WatchDir,
		rootDir:  bucketDir,
		seen:     map[string]int{},
	}
	ids := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	for i := range r.probes {
		r.probes[i].name = r.prefix + strconv.Itoa(i+1)
		r.probes[i].id = randUUID(ids)
	}

	stopWatch := make(chan struct{})
	var watching sync.WaitGroup
	watching.Go(func() {
		t := time.NewTicker(DeliveryPoll)
		defer t.Stop()
		for {
			r.scan()
			select {
			case <-stopWatch:
				return
			case <-t.C:
			}
		}
	})

	hc := c.HTTPClient
	if hc == nil {
		hc = newHTTPClient(1, c.Timeout)
	}
	url := strings.TrimRight(c.Endpoint, "/") + "/v1/events"
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}
	var end time.Time
	res := load[struct{}]{
		Workers: 1, Total: int64(c.Probes), Interval: c.Interval,
		Worker: func(int) func(int64, int) (struct{}, outcome) {
			return func(i int64, _ int) (struct{}, outcome) {
				r.send(hc, signer, creds, url, c.Region, runID, int(i))
				return struct{}{}, unitOK
			}
		},
		// Wait until every acknowledged probe is found or has had its
		// timeout.
		Drain: func(ctx context.Context) {
			for ctx.Err() == nil && !r.resolved(time.Now(), c.Timeout) {
				select {
				case <-ctx.Done():
				case <-time.After(DeliveryPoll):
				}
			}
			end = time.Now()
		},
	}.run(ctx)
	rep.Env, rep.Sent = res.Env, len(res.OK)
	rep.Elapsed, rep.ElapsedSec, rep.Interrupted = res.Elapsed, res.ElapsedSec, res.Interrupted
	close(stopWatch)
	watching.Wait()
	for _, p := range cleanup() {
		r.errs.add(p, 1)
	}

	rep.FilesRead = r.files
	r.summarize(rep, c.Timeout, end)
	rep.Errors = r.errs.list()
	if rep.Lost > 0 && rep.FilesRead == 0 {
		rep.Note = fmt.Sprintf("no log file appeared under %s: is %s the directory of bucket %s on this machine? "+
			"(a bucket the server's config maps elsewhere, e.g. to S3, is not watched)", rep.WatchDir, bucketDir, c.Bucket)
	}
	return rep, nil
}

// send posts probe i and records when its answer arrived.
func (r *deliveryRun) send(hc *http.Client, signer *v4.Signer, creds aws.Credentials, url, region, runID string, i int) {
	r.mu.Lock()
	p := &r.probes[i]
	name, id := p.name, p.id
	r.mu.Unlock()
	now := time.Now()
	body, err := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"eventVersion":      "1.11",
		"eventTime":         now.UTC().Format("2006-01-02T15:04:05Z"),
		"eventSource":       "cairn-bench.amazonaws.com",
		"eventName":         name,
		"awsRegion":         region,
		"sourceIPAddress":   "192.0.2.1",
		"userAgent":         "cairn-bench-delivery",
		"eventID":           id,
		"eventType":         "AwsApiCall",
		"readOnly":          false,
		"managementEvent":   true,
		"eventCategory":     "Management",
		"requestParameters": map[string]any{"run": runID, "probe": i + 1},
	}}})
	fail := func(msg string) {
		r.errs.add(msg, 1)
		r.mu.Lock()
		r.probes[i].err = msg
		r.mu.Unlock()
	}
	if err != nil {
		fail("request: " + err.Error())
		return
	}
	sum := sha256.Sum256(body)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		fail("request: " + err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if err := signer.SignHTTP(req.Context(), creds, req, hex.EncodeToString(sum[:]), SigningService, SigningRegion, now); err != nil {
		fail("sign: " + err.Error())
		return
	}
	r.mu.Lock()
	r.probes[i].sent = time.Now()
	r.mu.Unlock()
	resp, err := hc.Do(req)
	answered := time.Now() // the 200 answer, if it is one, arrived
	if err != nil {
		fail("HTTP request failed: " + trimURLError(err))
		return
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		fail("reading answer: " + err.Error())
		return
	}
	if resp.StatusCode != http.StatusOK {
		fail(fmt.Sprintf("HTTP %d %s", resp.StatusCode, apiErrorText(b)))
		return
	}
	var ans ingestAnswer
	if err := json.Unmarshal(b, &ans); err != nil || ans.Accepted == nil {
		fail(fmt.Sprintf("HTTP 200 with an answer that is not {\"accepted\":…}: %.200s", b))
		return
	}
	if *ans.Accepted != 1 {
		msg := "probe not accepted"
		for _, f := range ans.Failed {
			msg = "probe refused: " + f.ErrorCode + ": " + f.ErrorMessage
		}
		fail(msg)
		return
	}
	r.mu.Lock()
	r.probes[i].acked = answered
	r.mu.Unlock()
}

// resolved reports whether every probe is settled at now: not
// acknowledged (never sent, or failed), found, or past its timeout.
func (r *deliveryRun) resolved(now time.Time, timeout time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.probes {
		p := &r.probes[i]
		if !p.acked.IsZero() && p.found.IsZero() && now.Before(p.acked.Add(timeout)) {
			return false
		}
	}
	return true
}

// scan reads the log files that appeared under the watched directory since
// the last scan and records the probes of this run in them, as found when
// the scan came upon the file.
func (r *deliveryRun) scan() {
	err := filepath.WalkDir(r.watchDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // not there yet, or gone
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".json.gz") {
			return nil
		}
		r.mu.Lock()
		tries, seen := r.seen[path]
		r.mu.Unlock()
		if seen && tries < 0 {
			return nil // read already
		}
		found := time.Now()
		names, err := readLogFileNames(path)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			// Files appear complete (written aside and renamed into place),
			// so this is not a partial file: retry a few times, then report.
			if tries++; tries >= 5 {
				r.seen[path] = -1
				r.errs.add(fmt.Sprintf("log file %s: %v", r.rel(path), err), 1)
			} else {
				r.seen[path] = tries
			}
			return nil
		}
		r.seen[path] = -1
		r.files++
		for _, rec := range names {
			if !strings.HasPrefix(rec.EventName, r.prefix) {
				continue
			}
			n, err := strconv.Atoi(strings.TrimPrefix(rec.EventName, r.prefix))
			if err != nil || n < 1 || n > len(r.probes) {
				continue
			}
			p := &r.probes[n-1]
			if rec.EventID != p.id {
				r.errs.add(fmt.Sprintf("log file %s holds probe %d with eventID %q, sent as %q", r.rel(path), n, rec.EventID, p.id), 1)
				continue
			}
			p.copies++
			if p.found.IsZero() {
				p.found, p.file = found, r.rel(path)
			}
		}
		return nil
	})
	if err != nil {
		r.errs.add("scanning "+r.watchDir+": "+err.Error(), 1)
	}
}

func (r *deliveryRun) rel(path string) string {
	if rel, err := filepath.Rel(r.rootDir, path); err == nil {
		return filepath.ToSlash(rel)
	}
	return path
}

type logRecordName struct {
	EventName string `json:"eventName"`
	EventID   string `json:"eventID"`
}

// maxLogFileBytes bounds what a log file may inflate to (as cairn verify's
// digest.MaxLogFileBytes): a gzip bomb in the bucket stops there.
const maxLogFileBytes = 1 << 30

// readLogFileNames reads a gzip'd CloudTrail log file and returns the
// eventName and eventID of its records.
func readLogFileNames(path string) ([]logRecordName, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var lf struct {
		Records []logRecordName `json:"Records"`
	}
	// The file is in a bucket: bound what it may inflate to.
	if err := json.NewDecoder(io.LimitReader(zr, maxLogFileBytes)).Decode(&lf); err != nil {
		return nil, fmt.Errorf("not a CloudTrail log file: %w", err)
	}
	return lf.Records, nil
}

// summarize fills the counts, the per-probe results and the latency
// summary of rep from the probes' times; end is when the run stopped
// waiting.
func (r *deliveryRun) summarize(rep *DeliveryReport, timeout time.Duration, end time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var lats []time.Duration
	rep.Probes = make([]ProbeResult, 0, rep.Sent)
	for i := range r.probes[:rep.Sent] {
		p := &r.probes[i]
		pr := ProbeResult{N: i + 1, EventID: p.id, SentAt: p.sent.UTC(), Acknowledged: !p.acked.IsZero(),
			File: p.file, Copies: p.copies, Error: p.err}
		if p.copies > 1 {
			rep.Duplicated++
		}
		switch {
		case p.acked.IsZero():
			rep.Failed++
		case p.found.IsZero() && end.Before(p.acked.Add(timeout)):
			rep.Acknowledged++
			rep.Pending++
			pr.Pending = true
		case p.found.IsZero():
			rep.Acknowledged++
			rep.Lost++
		default:
			rep.Acknowledged++
			lat := p.found.Sub(p.acked)
			if lat > timeout {
				rep.Lost++
				rep.Late++
				pr.Late = true
				break
			}
			rep.Delivered++
			pr.Delivered = true
			ms := float64(lat.Microseconds()) / 1e3
			pr.LatencyMs = &ms
			lats = append(lats, lat)
		}
		rep.Probes = append(rep.Probes, pr)
	}
	rep.Latency = Summarize(lats)
}

// WriteText prints the report for people.
func (r *DeliveryReport) WriteText(w io.Writer) {
	p := r.Params
	fmt.Fprintf(w, "cairn-bench delivery\n")
	r.Env.writeText(w)
	fmt.Fprintf(w, "  endpoint    %s, region %s\n", p.Endpoint, p.Region)
	fmt.Fprintf(w, "  trail       %s: single-region, no log file validation, bucket %s, key prefix %s\n", r.Trail, p.Bucket, r.KeyPrefix)
	fmt.Fprintf(w, "  watching    %s every %s\n", r.WatchDir, time.Duration(p.Poll))
	fmt.Fprintf(w, "  load        %d probes, one every %s, each given %s to be delivered\n", p.Probes, time.Duration(p.Interval), time.Duration(p.Timeout))
	fmt.Fprintf(w, "  note        latency includes the server's wait of up to delivery.flush_interval\n")
	fmt.Fprintf(w, "              (default 5s; the client cannot see the server's setting)\n")
	fmt.Fprintln(w)
	status := ""
	if r.Interrupted {
		status = " (interrupted)"
	}
	fmt.Fprintf(w, "  elapsed     %.3fs%s\n", r.Elapsed.Seconds(), status)
	fmt.Fprintf(w, "  probes      %d sent, %d acknowledged, %d delivered, %d lost", r.Sent, r.Acknowledged, r.Delivered, r.Lost)
	if r.Late > 0 {
		fmt.Fprintf(w, " (%d of them found after the timeout)", r.Late)
	}
	if r.Failed > 0 {
		fmt.Fprintf(w, ", %d not acknowledged", r.Failed)
	}
	if r.Pending > 0 {
		fmt.Fprintf(w, ", %d still awaited when interrupted", r.Pending)
	}
	fmt.Fprintln(w)
	if r.Duplicated > 0 {
		fmt.Fprintf(w, "  DUPLICATES  %d probes were in more than one log file\n", r.Duplicated)
	}
	fmt.Fprintf(w, "  log files   %d read\n", r.FilesRead)
	latencyLine(w, "latency (200 → file)", r.Latency)
	cleanup := "logging stopped"
	if !r.LoggingStopped {
		cleanup = "logging NOT stopped"
	}
	switch {
	case r.TrailDeleted:
		cleanup += ", trail deleted"
	case p.KeepTrail:
		cleanup += ", trail kept (--keep-trail)"
	default:
		cleanup += ", trail NOT deleted"
	}
	fmt.Fprintf(w, "  cleanup     %s; its log files stay in %s\n", cleanup, filepath.Join(p.BucketDir, r.KeyPrefix))
	if r.Note != "" {
		fmt.Fprintf(w, "  NOTE        %s\n", r.Note)
	}
	writeErrors(w, r.Errors)
}
