package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cairn-audit/cairn/internal/loadgen"
)

const benchHelp = `Usage: cairn bench <command> [flags]

Drives a running Cairn server with load through its real APIs, as clients
would use them, and reports what the server sustained: throughput, and
latency percentiles computed exactly from every sample. Reports name the
parameters, the Go version, GOMAXPROCS and the time; --json FILE also writes
them as JSON.

Commands:
  ingest   send SigV4-signed batches of synthetic CloudTrail records to
           POST /v1/events from concurrent clients
  lookup   call LookupEvents through aws-sdk-go-v2 with a mix of queries
           (every lookup attribute, time ranges, second pages)
  delivery create a trail and measure how long acknowledged events take to
           appear in delivered log files in a directory bucket

All sign with the key pair in CAIRN_ACCESS_KEY_ID / CAIRN_SECRET_ACCESS_KEY
(for a quick-start server: set -a; . <data-dir>/admin-credentials; set +a).
The load generator competes with the server for CPU when both run on one
machine; run it elsewhere for the server's own ceiling.

Typical use:
  cairn bench ingest --total 1000000 --spread 720h   # build a history
  cairn bench ingest --clients 8 --duration 60s      # ingest throughput
  cairn bench lookup --requests 5000 --concurrency 8 # lookup latency
  cairn bench delivery --bucket audit-logs \
      --bucket-dir ./cairn-data/buckets/audit-logs   # delivery latency

Run "cairn bench <command> --help" for its flags.
`

const benchIngestHelp = `Usage: cairn bench ingest [flags]

Sends batches of synthetic CloudTrail records to POST /v1/events of a running
server, from --clients concurrent clients that each wait for an answer before
sending their next batch, for --duration or until --total events are sent.

The records look like a real account's management events: IAM users (34
names, 46 access keys), 11 services and 41 event names, three reads for each
write, a few thousand resources, an occasional AccessDenied; each is padded
through requestParameters.benchPadding to --record-bytes. Batch bodies are
built before the timed phase; each send only patches in fresh, unique
eventIDs and eventTimes (now minus up to a minute, or spread over --spread)
and signs the body.

Only acknowledged events count: those an HTTP 200 answer counts in
"accepted". A non-200 answer, a request that got no answer, and a record in
the answer's "failed" list are errors; they are reported, and make the exit
status 1. Latency is of HTTP 200 requests, from sending the signed request
to reading the whole answer. Requests are not retried. Ctrl-C stops sending,
waits for the batches in flight and reports.

Without --accounts, records carry no recipientAccountId and the server files
them under the caller's account (identities and ARNs in them then name
account 123456789012). Records must be in regions the server serves; look
them up in the same account and region ("cairn bench lookup --region").

Flags:
`

const benchLookupHelp = `Usage: cairn bench lookup [flags]

Calls LookupEvents on a running server through aws-sdk-go-v2 (BaseEndpoint
--endpoint, no retries), --requests times with --concurrency calls in
flight, cycling through a mix of queries: no attribute; each of the eight
lookup attributes (EventName, EventSource, Username, AccessKeyId, ReadOnly,
ResourceType, ResourceName both short and as an ARN, EventId); an hour's time
range with and without an attribute; and second pages (NextToken).

The values are those "cairn bench ingest" writes. A few untimed discovery
calls first find stored synthetic events, for EventIds, resource names, time
ranges that hold data and NextTokens; with none in the caller's account and
--region, the run stops. Cairn records each LookupEvents call as an event
itself.

The report gives the overall and per-query p50/p90/p99/max latency (as the
SDK client sees it: signing, round trip, decoding), lookups per second, and
the events each query returned. Any failed call is reported and makes the
exit status 1.

Flags:
`

const benchDeliveryHelp = `Usage: cairn bench delivery --bucket NAME --bucket-dir DIR [flags]

Measures delivery latency: the time from an ingest request being
acknowledged (HTTP 200 from POST /v1/events) to its event being in a log
file the server delivered to a bucket.

Through the trail API (aws-sdk-go-v2), the run creates a single-region trail
cairn-bench-delivery-<random> in --region, without log file validation, on
bucket --bucket with that same name as its S3 key prefix, and starts
logging. It then sends --probes probe events, one every --interval, each a
single signed record in --region with a unique eventName
(CairnBenchProbe-<random>-<n>) and eventID. Probes overlap when delivery is
slower than the interval. A watcher scans
<bucket-dir>/<key prefix>/AWSLogs/ every 20ms, reads each new *.json.gz log
file once, and takes a probe as delivered when it finds the file holding
it. Latency is from the probe's 200 answer to that moment (so it includes
up to 20ms of polling); a probe not found within --timeout of its answer is
lost. At the end the run stops logging and deletes the trail (with
--keep-trail it keeps it, stopped, for inspection); the delivered files stay
in the bucket under the key prefix. Ctrl-C stops sending and waiting, and
still cleans up.

The tool reads the bucket's files directly, so it must run on the server's
machine, with --bucket-dir the directory the bucket resolves to: for a
bucket not listed under buckets: in the config, <data-dir>/buckets/NAME
(created here if missing). Latency includes the server's wait of up to
delivery.flush_interval (default 5s), which the client cannot see.

The report gives the probes sent, acknowledged, delivered and lost, and the
exact p50/p90/p99/max/min/mean latency; --json FILE adds each probe's
latency and log file. The exit status is 1 if a probe was lost or not
acknowledged, or the trail could not be set up or cleaned up.

Flags:
`

func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchHelp)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, benchHelp)
		return 0
	case "ingest":
		return runBenchIngest(args[1:], stdout, stderr)
	case "lookup":
		return runBenchLookup(args[1:], stdout, stderr)
	case "delivery":
		return runBenchDelivery(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "cairn bench: unknown command %q\n\n", args[0])
	fmt.Fprint(stderr, benchHelp)
	return 2
}

func defaultEndpoint() string {
	if e := os.Getenv("CAIRN_ENDPOINT"); e != "" {
		return e
	}
	return "http://127.0.0.1:4590"
}

// parseBenchFlags parses a bench command's flags, which take no arguments;
// done says to return code.
func parseBenchFlags(fs *flag.FlagSet, help string, args []string, stdout, stderr io.Writer) (code int, done bool) {
	if code, ok := parseFlags(fs, args, help, stdout, stderr); !ok {
		return code, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cairn bench %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, true
	}
	return 0, false
}

func benchCredentials(stderr io.Writer, name string) (string, string, bool) {
	id, secret := os.Getenv("CAIRN_ACCESS_KEY_ID"), os.Getenv("CAIRN_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		fmt.Fprintf(stderr, "cairn bench %s: set CAIRN_ACCESS_KEY_ID and CAIRN_SECRET_ACCESS_KEY to a key pair of the server\n"+
			"(for a quick-start server: set -a; . <data-dir>/admin-credentials; set +a)\n", name)
		return "", "", false
	}
	return id, secret, true
}

// benchContext is canceled by the first SIGINT or SIGTERM; a second one
// kills the process as usual.
func benchContext() (context.Context, func()) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func runBenchIngest(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	endpoint := fs.String("endpoint", defaultEndpoint(), "server base `URL` (env CAIRN_ENDPOINT)")
	clients := fs.Int("clients", 4, "concurrent clients, each with one batch in flight")
	batch := fs.Int("batch", 500, "records per request (the server's limit is 1000 by default)")
	duration := fs.Duration("duration", 30*time.Second, "how long to send batches (no batch starts later)")
	total := fs.Int64("total", 0, "send exactly `N` events instead of running for --duration")
	recordBytes := fs.Int("record-bytes", 1024, "size each record is padded to, in `bytes`")
	accounts := fs.String("accounts", "", "comma-separated recipientAccountId `list` to spread records over (the key must be allowed to write for each); default: the caller's account")
	regions := fs.String("regions", "us-east-1", "comma-separated awsRegion `list` to spread records over")
	spread := fs.Duration("spread", 0, "spread eventTime uniformly over this `window` before now, e.g. 720h to load 30 days of history; default: the last minute")
	jsonPath := fs.String("json", "", "also write the report as JSON to `file`")
	timeout := fs.Duration("timeout", 2*time.Minute, "bound on each request")
	progress := fs.Duration("progress", 10*time.Second, "print progress on standard error this often; 0 for never")
	if code, done := parseBenchFlags(fs, benchIngestHelp, args, stdout, stderr); done {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["total"] && set["duration"] {
		fmt.Fprintln(stderr, "cairn bench ingest: give --duration or --total, not both")
		return 2
	}
	if *total < 0 || (set["total"] && *total == 0) {
		fmt.Fprintln(stderr, "cairn bench ingest: --total must be positive")
		return 2
	}
	accts := splitList(*accounts)
	for _, a := range accts {
		if len(a) != 12 || strings.Trim(a, "0123456789") != "" {
			fmt.Fprintf(stderr, "cairn bench ingest: --accounts: %q is not a 12-digit account ID\n", a)
			return 2
		}
	}
	regs := splitList(*regions)
	if len(regs) == 0 {
		fmt.Fprintln(stderr, "cairn bench ingest: --regions is empty")
		return 2
	}
	id, secret, ok := benchCredentials(stderr, "ingest")
	if !ok {
		return 2
	}
	cfg := loadgen.IngestConfig{
		Endpoint: *endpoint, AccessKeyID: id, SecretAccessKey: secret,
		Clients: *clients, Batch: *batch, Duration: *duration, Total: *total,
		Gen:     loadgen.GenOptions{RecordBytes: *recordBytes, Accounts: accts, Regions: regs, Spread: *spread},
		Timeout: *timeout, Progress: stderr, ProgressEvery: *progress,
	}
	if *total > 0 {
		cfg.Duration = 0
	}
	ctx, stop := benchContext()
	defer stop()
	rep, err := loadgen.RunIngest(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "cairn bench ingest: %v\n", err)
		return 2
	}
	rep.WriteText(stdout)
	if *jsonPath != "" {
		if err := loadgen.WriteJSONFile(*jsonPath, rep); err != nil {
			fmt.Fprintf(stderr, "cairn bench ingest: %v\n", err)
			return 1
		}
	}
	if !rep.OK() {
		fmt.Fprintln(stderr, "cairn bench ingest: not every event sent was acknowledged; see the errors above")
		return 1
	}
	return 0
}

func runBenchLookup(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lookup", flag.ContinueOnError)
	endpoint := fs.String("endpoint", defaultEndpoint(), "server base `URL` (env CAIRN_ENDPOINT)")
	requests := fs.Int("requests", 2000, "timed LookupEvents calls to make")
	concurrency := fs.Int("concurrency", 4, "calls in flight at once")
	region := fs.String("region", "us-east-1", "`region` whose event history to look up")
	jsonPath := fs.String("json", "", "also write the report as JSON to `file`")
	timeout := fs.Duration("timeout", time.Minute, "bound on each call")
	if code, done := parseBenchFlags(fs, benchLookupHelp, args, stdout, stderr); done {
		return code
	}
	id, secret, ok := benchCredentials(stderr, "lookup")
	if !ok {
		return 2
	}
	ctx, stop := benchContext()
	defer stop()
	rep, err := loadgen.RunLookup(ctx, loadgen.LookupConfig{
		Endpoint: *endpoint, AccessKeyID: id, SecretAccessKey: secret, Region: *region,
		Requests: *requests, Concurrency: *concurrency, Timeout: *timeout,
	})
	if err != nil {
		fmt.Fprintf(stderr, "cairn bench lookup: %v\n", err)
		return 1
	}
	rep.WriteText(stdout)
	if *jsonPath != "" {
		if err := loadgen.WriteJSONFile(*jsonPath, rep); err != nil {
			fmt.Fprintf(stderr, "cairn bench lookup: %v\n", err)
			return 1
		}
	}
	if !rep.OK() {
		fmt.Fprintf(stderr, "cairn bench lookup: FAILED: %d of %d LookupEvents calls failed; see the errors above\n", rep.Failed, rep.Requests)
		return 1
	}
	return 0
}

func runBenchDelivery(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("delivery", flag.ContinueOnError)
	endpoint := fs.String("endpoint", defaultEndpoint(), "server base `URL` (env CAIRN_ENDPOINT)")
	bucket := fs.String("bucket", "", "S3BucketName of the trail to create (required)")
	bucketDir := fs.String("bucket-dir", "", "`directory` of the bucket's files on this machine, e.g. <data-dir>/buckets/NAME (required)")
	probes := fs.Int("probes", 50, "probe events to send")
	interval := fs.Duration("interval", 500*time.Millisecond, "time between probes")
	region := fs.String("region", "us-east-1", "`region` of the trail and the probe events")
	timeout := fs.Duration("timeout", 60*time.Second, "how long each probe may take to be delivered before it counts as lost")
	jsonPath := fs.String("json", "", "also write the report as JSON to `file`")
	keepTrail := fs.Bool("keep-trail", false, "keep the trail (logging stopped) instead of deleting it")
	if code, done := parseBenchFlags(fs, benchDeliveryHelp, args, stdout, stderr); done {
		return code
	}
	switch {
	case *bucket == "":
		fmt.Fprintln(stderr, "cairn bench delivery: --bucket is required")
		return 2
	case *bucketDir == "":
		fmt.Fprintln(stderr, "cairn bench delivery: --bucket-dir is required")
		return 2
	case *probes < 1:
		fmt.Fprintln(stderr, "cairn bench delivery: --probes must be at least 1")
		return 2
	case *interval < 0:
		fmt.Fprintln(stderr, "cairn bench delivery: --interval must not be negative")
		return 2
	case *timeout <= 0:
		fmt.Fprintln(stderr, "cairn bench delivery: --timeout must be positive")
		return 2
	}
	id, secret, ok := benchCredentials(stderr, "delivery")
	if !ok {
		return 2
	}
	ctx, stop := benchContext()
	defer stop()
	rep, err := loadgen.RunDelivery(ctx, loadgen.DeliveryConfig{
		Endpoint: *endpoint, AccessKeyID: id, SecretAccessKey: secret, Region: *region,
		Bucket: *bucket, BucketDir: *bucketDir, Probes: *probes, Interval: *interval,
		Timeout: *timeout, KeepTrail: *keepTrail,
	})
	if err != nil {
		fmt.Fprintf(stderr, "cairn bench delivery: %v\n", err)
		return 1
	}
	rep.WriteText(stdout)
	if *jsonPath != "" {
		if err := loadgen.WriteJSONFile(*jsonPath, rep); err != nil {
			fmt.Fprintf(stderr, "cairn bench delivery: %v\n", err)
			return 1
		}
	}
	if !rep.OK() {
		why := fmt.Sprintf("%d of %d probes delivered (%d lost, %d not acknowledged)", rep.Delivered, rep.Params.Probes, rep.Lost, rep.Failed)
		if rep.Interrupted {
			why += fmt.Sprintf(", interrupted with %d awaited", rep.Pending)
		}
		if len(rep.Errors) > 0 {
			why += ", with errors"
		}
		fmt.Fprintf(stderr, "cairn bench delivery: FAILED: %s; see the report above\n", why)
		return 1
	}
	return 0
}
