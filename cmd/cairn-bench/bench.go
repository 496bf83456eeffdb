// Command cairn-bench is Cairn's load generator: it drives a running Cairn
// server (or a baseline) through its real APIs and reports throughput and
// latency. It is a command of its own, apart from the product: the server
// binary carries neither it nor the baselines' dependencies.
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

	"github.com/cairn-audit/cairn/internal/cli"
	"github.com/cairn-audit/cairn/internal/loadgen"
)

const benchHelp = `Usage: cairn-bench <command> [flags]

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

Baselines, to put those figures next to (the same records, batches and
concurrency as ingest):
  baseline-file      append the batch bodies to one file, fsync per batch:
                     the ceiling of durable appends on this disk
  baseline-postgres  COPY the records into a PostgreSQL table with a JSONB
                     column and indexed lookup columns, then run indexed
                     SELECTs: what a team would build instead
  controlplane       CreateTrail+DeleteTrail cycles and DescribeTrails calls
                     against any CloudTrail endpoint: Cairn or moto_server

ingest, lookup, delivery and controlplane sign with the key pair in
CAIRN_ACCESS_KEY_ID / CAIRN_SECRET_ACCESS_KEY
(for a quick-start server: set -a; . <data-dir>/admin-credentials; set +a).
The load generator competes with the server for CPU when both run on one
machine; run it elsewhere for the server's own ceiling.

Typical use:
  cairn-bench ingest --total 1000000 --spread 720h   # build a history
  cairn-bench ingest --clients 8 --duration 60s      # ingest throughput
  cairn-bench lookup --requests 5000 --concurrency 8 # lookup latency
  cairn-bench delivery --bucket audit-logs \
      --bucket-dir ./cairn-data/buckets/audit-logs   # delivery latency
  cairn-bench baseline-file --dir ./cairn-data --duration 20s
  cairn-bench baseline-postgres --dsn postgres://localhost/bench --duration 20s
  cairn-bench controlplane --bucket-dir ./cairn-data/buckets/cairn-bench-controlplane
  cairn-bench controlplane --endpoint http://127.0.0.1:5000 --create-bucket  # moto

Run "cairn-bench <command> --help" for its flags.
`

const benchIngestHelp = `Usage: cairn-bench ingest [flags]

Sends batches of synthetic CloudTrail records to POST /v1/events of a running
server, from --clients concurrent clients that each wait for an answer before
sending their next batch, for --duration or until --total events are sent.
With --rate the batches are paced to about that many events a second (as long
as the clients keep up): a steady load to measure lookups under.

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
them up in the same account and region ("cairn-bench lookup --region").

Flags:
`

const benchLookupHelp = `Usage: cairn-bench lookup [flags]

Calls LookupEvents on a running server through aws-sdk-go-v2 (BaseEndpoint
--endpoint, no retries), --requests times with --concurrency calls in
flight, cycling through a mix of queries: no attribute; each of the eight
lookup attributes (EventName, EventSource, Username, AccessKeyId, ReadOnly,
ResourceType, ResourceName both short and as an ARN, EventId); an hour's time
range with and without an attribute; and second pages (NextToken).

The values are those "cairn-bench ingest" writes. A few untimed discovery
calls first find stored synthetic events, for EventIds, resource names, time
ranges that hold data and NextTokens; with none in the caller's account and
--region, the run stops. Cairn records each LookupEvents call as an event
itself.

The report gives the overall and per-query p50/p90/p99/max latency (as the
SDK client sees it: signing, round trip, decoding), lookups per second, and
the events each query returned. Any failed call is reported and makes the
exit status 1.

With --client http the timed calls go out through net/http instead, SigV4-
signed by a signer made for this one request, and each answer is only
scanned (its JSON syntax checked outside the text of strings, its events
counted, its NextToken read), not decoded: the SDK spends about 2 ms of
CPU decoding a page of 50 events, which on a machine shared with the
server is time taken from the server. The http client itself uses about
0.15 ms of CPU a call (pages of 50 records of 1 KB, 4 concurrent).

With --rate N the calls are paced at about N a second in all (an open
loop, as callers that do not wait for each other would make them): each
call's latency counts from when it was due, so a call that starts late
because all --concurrency callers were busy counts its wait. Without it,
each caller calls again as soon as it is answered (a closed loop, which
measures the most lookups a second the server gives).

Flags:
`

const benchDeliveryHelp = `Usage: cairn-bench delivery --bucket NAME --bucket-dir DIR [flags]

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

func run(args []string, stdout, stderr io.Writer) int {
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
	case "baseline-file":
		return runBenchBaselineFile(args[1:], stdout, stderr)
	case "baseline-postgres":
		return runBenchBaselinePostgres(args[1:], stdout, stderr)
	case "controlplane":
		return runBenchControlPlane(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "cairn-bench: unknown command %q\n\n", args[0])
	fmt.Fprint(stderr, benchHelp)
	return 2
}

// parseBenchFlags parses a bench command's flags, which take no arguments;
// done says to return code.
func parseBenchFlags(fs *flag.FlagSet, help string, args []string, stdout, stderr io.Writer) (code int, done bool) {
	if code, ok := cli.ParseFlags(fs, args, help, stdout, stderr); !ok {
		return code, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cairn-bench %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, true
	}
	return 0, false
}

func benchCredentials(stderr io.Writer, name string) (string, string, bool) {
	id, secret := os.Getenv("CAIRN_ACCESS_KEY_ID"), os.Getenv("CAIRN_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		fmt.Fprintf(stderr, "cairn-bench %s: set CAIRN_ACCESS_KEY_ID and CAIRN_SECRET_ACCESS_KEY to a key pair of the server\n"+
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

func runBenchIngest(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	endpoint := fs.String("endpoint", cli.DefaultEndpoint(), "server base `URL` (env CAIRN_ENDPOINT)")
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
	rate := fs.Float64("rate", 0, "pace the batches at about `N` events/s in all (a load to measure something else under, e.g. lookups); 0: as fast as answered")
	if code, done := parseBenchFlags(fs, benchIngestHelp, args, stdout, stderr); done {
		return code
	}
	dur, ok := benchDurationOrTotal(fs, stderr, *duration, *total)
	if !ok {
		return 2
	}
	accts := cli.SplitList(*accounts)
	for _, a := range accts {
		if len(a) != 12 || strings.Trim(a, "0123456789") != "" {
			fmt.Fprintf(stderr, "cairn-bench ingest: --accounts: %q is not a 12-digit account ID\n", a)
			return 2
		}
	}
	regs := cli.SplitList(*regions)
	if len(regs) == 0 {
		fmt.Fprintln(stderr, "cairn-bench ingest: --regions is empty")
		return 2
	}
	id, secret, ok := benchCredentials(stderr, "ingest")
	if !ok {
		return 2
	}
	ctx, stop := benchContext()
	defer stop()
	rep, err := loadgen.RunIngest(ctx, loadgen.IngestConfig{
		Endpoint: *endpoint, AccessKeyID: id, SecretAccessKey: secret,
		Clients: *clients, Batch: *batch, Duration: dur, Total: *total, Rate: *rate,
		Gen:     loadgen.GenOptions{RecordBytes: *recordBytes, Accounts: accts, Regions: regs, Spread: *spread},
		Timeout: *timeout, Progress: stderr, ProgressEvery: *progress,
	})
	if err != nil {
		fmt.Fprintf(stderr, "cairn-bench ingest: %v\n", err)
		return 2
	}
	return finish("ingest", rep, *jsonPath, func() string {
		return "not every event sent was acknowledged; see the errors above"
	}, stdout, stderr)
}

func runBenchLookup(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lookup", flag.ContinueOnError)
	endpoint := fs.String("endpoint", cli.DefaultEndpoint(), "server base `URL` (env CAIRN_ENDPOINT)")
	requests := fs.Int("requests", 2000, "timed LookupEvents calls to make")
	concurrency := fs.Int("concurrency", 4, "calls in flight at once")
	region := fs.String("region", "us-east-1", "`region` whose event history to look up")
	jsonPath := fs.String("json", "", "also write the report as JSON to `file`")
	timeout := fs.Duration("timeout", time.Minute, "bound on each call")
	client := fs.String("client", loadgen.ClientSDK, "`kind` of client: sdk (aws-sdk-go-v2) or http (net/http with SigV4; the answer is only scanned, not decoded)")
	rate := fs.Float64("rate", 0, "pace the calls at about `N` a second in all, latency counted from when each was due; 0: each caller calls again as soon as answered")
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
		Requests: *requests, Concurrency: *concurrency, Timeout: *timeout, Client: *client, Rate: *rate,
	})
	if err != nil {
		fmt.Fprintf(stderr, "cairn-bench lookup: %v\n", err)
		return 1
	}
	return finish("lookup", rep, *jsonPath, func() string {
		return fmt.Sprintf("FAILED: %d of %d LookupEvents calls failed; see the errors above", rep.Failed, rep.Requests)
	}, stdout, stderr)
}

func runBenchDelivery(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("delivery", flag.ContinueOnError)
	endpoint := fs.String("endpoint", cli.DefaultEndpoint(), "server base `URL` (env CAIRN_ENDPOINT)")
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
		fmt.Fprintln(stderr, "cairn-bench delivery: --bucket is required")
		return 2
	case *bucketDir == "":
		fmt.Fprintln(stderr, "cairn-bench delivery: --bucket-dir is required")
		return 2
	case *probes < 1:
		fmt.Fprintln(stderr, "cairn-bench delivery: --probes must be at least 1")
		return 2
	case *interval < 0:
		fmt.Fprintln(stderr, "cairn-bench delivery: --interval must not be negative")
		return 2
	case *timeout <= 0:
		fmt.Fprintln(stderr, "cairn-bench delivery: --timeout must be positive")
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
		fmt.Fprintf(stderr, "cairn-bench delivery: %v\n", err)
		return 1
	}
	return finish("delivery", rep, *jsonPath, func() string {
		why := fmt.Sprintf("%d of %d probes delivered (%d lost, %d not acknowledged)", rep.Delivered, rep.Params.Probes, rep.Lost, rep.Failed)
		if rep.Interrupted {
			why += fmt.Sprintf(", interrupted with %d awaited", rep.Pending)
		}
		if len(rep.Errors) > 0 {
			why += ", with errors"
		}
		return fmt.Sprintf("FAILED: %s; see the report above", why)
	}, stdout, stderr)
}

const benchBaselineFileHelp = `Usage: cairn-bench baseline-file --dir DIR [flags]

The limit of durable ingest on a disk: the batch bodies "cairn-bench ingest"
would send (the same generated records, templates and fresh eventIDs and
eventTimes), each followed by a newline, appended by --clients concurrent
clients to one new file in --dir. Each client has its own O_APPEND file
descriptor and no lock: it writes its batch with one write(2), then calls
fsync(2), then goes on to its next batch. There is no group commit, no
parsing, no index and no network: whatever Cairn's ingest reaches is to be
read against this.

Put --dir on the disk the server's data directory is on. The file is named
cairn-baseline-<random>.jsonl and removed at the end unless --keep; a run
writes about (events/s x record size x duration) bytes.

The report has the shape of the ingest report: durable events per second,
MiB/s appended, and the exact percentiles of each batch's write+fsync (and
of each part). A failed write or fsync stops the run and makes the exit
status 1.

Flags:
`

func runBenchBaselineFile(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("baseline-file", flag.ContinueOnError)
	dir := fs.String("dir", "", "`directory` to write the file in, on the disk to measure (required)")
	clients := fs.Int("clients", 4, "concurrent clients, each with one batch in flight")
	batch := fs.Int("batch", 500, "records per batch")
	duration := fs.Duration("duration", 20*time.Second, "how long to write batches (no batch starts later)")
	total := fs.Int64("total", 0, "write exactly `N` events instead of running for --duration")
	recordBytes := fs.Int("record-bytes", 1024, "size each record is padded to, in `bytes`")
	keep := fs.Bool("keep", false, "keep the file instead of removing it")
	jsonPath := fs.String("json", "", "also write the report as JSON to `file`")
	progress := fs.Duration("progress", 10*time.Second, "print progress on standard error this often; 0 for never")
	if code, done := parseBenchFlags(fs, benchBaselineFileHelp, args, stdout, stderr); done {
		return code
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "cairn-bench baseline-file: --dir is required")
		return 2
	}
	dur, ok := benchDurationOrTotal(fs, stderr, *duration, *total)
	if !ok {
		return 2
	}
	ctx, stop := benchContext()
	defer stop()
	rep, err := loadgen.RunFileBaseline(ctx, loadgen.FileBaselineConfig{
		Dir: *dir, Clients: *clients, Batch: *batch, Duration: dur, Total: *total,
		Gen: loadgen.GenOptions{RecordBytes: *recordBytes}, Keep: *keep,
		Progress: stderr, ProgressEvery: *progress,
	})
	if err != nil {
		fmt.Fprintf(stderr, "cairn-bench baseline-file: %v\n", err)
		return 2
	}
	return finish("baseline-file", rep, *jsonPath, func() string {
		return "not every batch written was made durable; see the errors above"
	}, stdout, stderr)
}

// benchDurationOrTotal checks that at most one of --duration and --total
// was given, and returns the duration to run for (0 with --total).
func benchDurationOrTotal(fs *flag.FlagSet, stderr io.Writer, duration time.Duration, total int64) (time.Duration, bool) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case set["total"] && set["duration"]:
		fmt.Fprintf(stderr, "cairn-bench %s: give --duration or --total, not both\n", fs.Name())
		return 0, false
	case total < 0 || (set["total"] && total == 0):
		fmt.Fprintf(stderr, "cairn-bench %s: --total must be positive\n", fs.Name())
		return 0, false
	case total == 0 && duration <= 0:
		fmt.Fprintf(stderr, "cairn-bench %s: --duration must be positive\n", fs.Name())
		return 0, false
	}
	if total > 0 {
		return 0, true
	}
	return duration, true
}

const benchBaselinePostgresHelp = `Usage: cairn-bench baseline-postgres --dsn DSN [flags]

What a team would build instead of Cairn, under the same load: a PostgreSQL
table of the records, loaded with COPY and queried with indexed SELECTs.

The run creates the table cairn_baseline_events (id bigserial primary key,
event_time timestamptz, event_name, event_source, username, access_key text,
read_only bool, resource_name text (the first resource's ARN), record jsonb)
with an index on (event_time DESC) and one on (column, event_time DESC) for
each lookup column. An existing table of that name stops the run, unless
--replace drops it first.

LOAD: --clients connections each take the batch bodies "cairn-bench ingest"
would send (the same generated records and templates, with fresh eventIDs
and eventTimes), parse each record for its columns (encoding/json, as an
ingest service in front of the table would) and load the batch with one
COPY (pgx CopyFrom), which commits as it returns; then the next batch. The
server's synchronous_commit and fsync settings, shown in the report, say
how durable a commit is. Latency is of parse+COPY per batch (and of the COPY
alone). A failed COPY is counted and reported.

Then, not timed: count(*), the table's size with indexes, and ANALYZE.

LOOKUP: --lookups queries "SELECT record FROM cairn_baseline_events WHERE
<column> = $1 ORDER BY event_time DESC LIMIT 50" with --clients connections,
cycling through no condition and event_name, event_source, username,
access_key, read_only and resource_name, with values of the generated
records; each reads every row. The report gives the exact p50/p90/p99/max,
overall and per column.

At the end the table is dropped unless --keep (also after Ctrl-C, which stops
the load or the lookups). The exit status is 1 if a batch was not committed
or a lookup failed.

Flags:
`

func runBenchBaselinePostgres(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("baseline-postgres", flag.ContinueOnError)
	dsn := fs.String("dsn", os.Getenv("CAIRN_BENCH_DSN"), "PostgreSQL connection string or URL, e.g. postgres://user:pw@host:5432/db (env CAIRN_BENCH_DSN; required)")
	clients := fs.Int("clients", 4, "concurrent connections, each with one COPY (then one SELECT) in flight")
	batch := fs.Int("batch", 500, "records per COPY")
	duration := fs.Duration("duration", 20*time.Second, "how long to load batches (no batch starts later)")
	total := fs.Int64("total", 0, "load exactly `N` events instead of running for --duration")
	recordBytes := fs.Int("record-bytes", 1024, "size each record is padded to, in `bytes`")
	spread := fs.Duration("spread", 0, "spread eventTime uniformly over this `window` before now; default: the last minute")
	lookups := fs.Int("lookups", 2000, "indexed SELECTs to run after the load; 0 for none")
	keep := fs.Bool("keep", false, "keep the table instead of dropping it")
	replace := fs.Bool("replace", false, "drop a cairn_baseline_events table left by an earlier run first")
	timeout := fs.Duration("timeout", 2*time.Minute, "bound on each statement")
	jsonPath := fs.String("json", "", "also write the report as JSON to `file`")
	progress := fs.Duration("progress", 10*time.Second, "print load progress on standard error this often; 0 for never")
	if code, done := parseBenchFlags(fs, benchBaselinePostgresHelp, args, stdout, stderr); done {
		return code
	}
	if *dsn == "" {
		fmt.Fprintln(stderr, "cairn-bench baseline-postgres: --dsn is required")
		return 2
	}
	dur, ok := benchDurationOrTotal(fs, stderr, *duration, *total)
	if !ok {
		return 2
	}
	if *lookups < 0 {
		fmt.Fprintln(stderr, "cairn-bench baseline-postgres: --lookups must not be negative")
		return 2
	}
	ctx, stop := benchContext()
	defer stop()
	rep, err := loadgen.RunPostgresBaseline(ctx, loadgen.PostgresBaselineConfig{
		DSN: *dsn, Clients: *clients, Batch: *batch, Duration: dur, Total: *total,
		Gen: loadgen.GenOptions{RecordBytes: *recordBytes, Spread: *spread}, Lookups: *lookups,
		Keep: *keep, Replace: *replace, Timeout: *timeout, Progress: stderr, ProgressEvery: *progress,
	})
	if err != nil {
		fmt.Fprintf(stderr, "cairn-bench baseline-postgres: %v\n", err)
		return 1
	}
	return finish("baseline-postgres", rep, *jsonPath, func() string {
		return "FAILED: not every batch was committed or not every lookup answered; see the report above"
	}, stdout, stderr)
}

const benchControlPlaneHelp = `Usage: cairn-bench controlplane [flags]

Drives the trail API through aws-sdk-go-v2's CloudTrail client (BaseEndpoint
--endpoint, no retries) with --concurrency callers: first --cycles cycles of
CreateTrail and DeleteTrail, each of a new trail name
(cairn-bench-cp-<random>-<n>) on bucket --bucket in --region; then, with
--trails trails created for the purpose (not timed), --describes
DescribeTrails calls. The report gives cycles/s and DescribeTrails/s and the
exact p50/p90/p99/max latency of CreateTrail, DeleteTrail, whole cycles and
DescribeTrails. An untimed CreateTrail+DeleteTrail first checks the
endpoint, key and bucket. Every trail the run creates is deleted at the end;
one that cannot be is reported.

It works against Cairn and against moto_server, for a comparison:
  Cairn: the key pair of CAIRN_ACCESS_KEY_ID / CAIRN_SECRET_ACCESS_KEY; the
    bucket must exist: a bucket configured under buckets:, or a directory
    bucket, <data-dir>/buckets/NAME, which --bucket-dir DIR makes (on the
    server's machine).
  moto_server: any key pair in those variables (e.g. test / test); moto
    serves S3 on the same port, and --create-bucket creates the bucket there
    through the S3 API first.

Any failed call is reported and makes the exit status 1.

Flags:
`

func runBenchControlPlane(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("controlplane", flag.ContinueOnError)
	endpoint := fs.String("endpoint", cli.DefaultEndpoint(), "CloudTrail API base `URL` (env CAIRN_ENDPOINT)")
	region := fs.String("region", "us-east-1", "`region` of the trails")
	bucket := fs.String("bucket", loadgen.DefaultControlPlaneBucket, "S3BucketName of the trails")
	bucketDir := fs.String("bucket-dir", "", "make this `directory` first: the bucket's directory for a Cairn server on this machine, <data-dir>/buckets/NAME")
	createBucket := fs.Bool("create-bucket", false, "create the bucket first through the S3 API at --endpoint (for moto_server)")
	cycles := fs.Int("cycles", 200, "CreateTrail+DeleteTrail cycles")
	describes := fs.Int("describes", 2000, "DescribeTrails calls")
	trails := fs.Int("trails", 3, "trails that exist while DescribeTrails is called")
	concurrency := fs.Int("concurrency", 4, "calls in flight at once")
	timeout := fs.Duration("timeout", time.Minute, "bound on each call")
	jsonPath := fs.String("json", "", "also write the report as JSON to `file`")
	if code, done := parseBenchFlags(fs, benchControlPlaneHelp, args, stdout, stderr); done {
		return code
	}
	switch {
	case *cycles < 0 || *describes < 0 || *trails < 0:
		fmt.Fprintln(stderr, "cairn-bench controlplane: --cycles, --describes and --trails must not be negative")
		return 2
	case *cycles == 0 && *describes == 0:
		fmt.Fprintln(stderr, "cairn-bench controlplane: nothing to do with --cycles 0 and --describes 0")
		return 2
	case *concurrency < 1:
		fmt.Fprintln(stderr, "cairn-bench controlplane: --concurrency must be at least 1")
		return 2
	}
	id, secret, ok := benchCredentials(stderr, "controlplane")
	if !ok {
		return 2
	}
	ctx, stop := benchContext()
	defer stop()
	rep, err := loadgen.RunControlPlane(ctx, loadgen.ControlPlaneConfig{
		Endpoint: *endpoint, AccessKeyID: id, SecretAccessKey: secret, Region: *region,
		Bucket: *bucket, BucketDir: *bucketDir, CreateBucket: *createBucket,
		Cycles: *cycles, Describes: *describes, Trails: *trails, Concurrency: *concurrency, Timeout: *timeout,
	})
	if err != nil {
		fmt.Fprintf(stderr, "cairn-bench controlplane: %v\n", err)
		return 1
	}
	return finish("controlplane", rep, *jsonPath, func() string {
		return "FAILED: not every call succeeded, or a trail was left behind; see the report above"
	}, stdout, stderr)
}

// report is what the report of every command does.
type report interface {
	WriteText(w io.Writer)
	OK() bool
}

// finish prints a run's report and, with --json, writes it to jsonPath.
// The exit status is 0 for a report that is OK; otherwise it prints why
// (failed, called only then) and is 1.
func finish(name string, rep report, jsonPath string, failed func() string, stdout, stderr io.Writer) int {
	rep.WriteText(stdout)
	if jsonPath != "" {
		if err := loadgen.WriteJSONFile(jsonPath, rep); err != nil {
			fmt.Fprintf(stderr, "cairn-bench %s: %v\n", name, err)
			return 1
		}
	}
	if !rep.OK() {
		fmt.Fprintf(stderr, "cairn-bench %s: %s\n", name, failed())
		return 1
	}
	return 0
}
