package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cairn-audit/cairn/internal/cli"
	"github.com/cairn-audit/cairn/internal/importer"
)

const importHelp = `Usage: cairn import --source URL [flags]
       cairn import --from-cloudtrail URL [flags]

Imports an existing CloudTrail archive into a Cairn server through its
ingest API (POST /v1/events), so that the server authorizes, validates and
stores each event once by its eventID: an import run twice stores nothing
twice.

--source reads log files in AWS's layout,
  [prefix/]AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz
from a directory (file:///path) or an S3-compatible bucket
(s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true;
credentials AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else the AWS SDK's
default chain). CloudTrail-Digest/ folders are never imported, and
CloudTrail-Insight/ only with --insights. --accounts, --regions,
--start-time and --end-time choose the folders that are listed and read,
then the records by eventTime (both ends inclusive).

--from-cloudtrail pulls the event history (the last 90 days) of the
account whose AWS credentials are in the environment (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE…) from a CloudTrail
endpoint (https://cloudtrail.us-east-1.amazonaws.com, or another Cairn's
URL) with LookupEvents, region by region (--regions; default AWS_REGION),
within CloudTrail's rate limit of 2 calls a second per account and region.

The records go to --endpoint (env CAIRN_ENDPOINT, default
http://127.0.0.1:4590) signed with CAIRN_ACCESS_KEY_ID /
CAIRN_SECRET_ACCESS_KEY: a key with the ingest policy (or admin) whose
ingest_accounts include every account imported.

--checkpoint FILE makes the import resumable: every file (or event history
window) whose records were all answered by the server is recorded there;
run the same command again after a stop (Ctrl-C) or a crash and it goes
on where it was. Records in flight at a crash are sent again; the server
stores each eventID once. A checkpoint belongs to one archive (or
--from-cloudtrail endpoint) and one --start-time/--end-time: the archive
is the bucket and prefix of an s3:// source (its endpoint, region and
path_style may change, and a trailing slash or /AWSLogs does not matter)
or the directory of a file:// one; --accounts and --regions may change
between runs.

Log files are read and gunzipped as many at a time as there are CPUs;
--parallel batches of at most --batch-size records (and 6 MiB) are in
flight at once. The server's ingest, not the import, usually sets the pace.

Each record the server refuses is listed, with its file, its index in the
file, its eventID, the error code and message, as a JSON line on stderr
(or in --refusals FILE); nothing is dropped silently. The summary at the end
counts files, events, accepted, refused (by reason) and failed. The exit
status is 1 when anything was refused, failed, did not verify, or the
import was stopped; 2 for bad flags.

The import stops at the first batch the server refuses for its key (a
wrong CAIRN_SECRET_ACCESS_KEY, an unknown key, a key without the ingest
policy) or will not take at all, and at the first batch none of whose
--max-attempts attempts is answered (the server is down, or --endpoint is
wrong): only the files of the batches in flight are listed, and the same
command run again resumes from the checkpoint. A batch still throttled or
answered with a 5xx after its attempts is listed and the import goes on.

--verify-digests checks the archive's digest files first (--public-keys
FILE,… are the outputs of "aws cloudtrail list-public-keys --start-time …",
one per region the archive has, as CloudTrail's keys are regional):
their signatures, their chain and each log file's hash. A log file that is
changed, or that no valid digest lists, is reported and NOT imported unless
--force. Digest signatures are S3 object metadata: verify an S3 bucket, or
a directory bucket written by Cairn (a copy made with "aws s3 sync" lost
them).

Flags:
`

func runImport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	source := fs.String("source", "", "the archive `URL`: file:///path or s3://bucket/prefix?endpoint=…&region=…&path_style=true")
	fromCT := fs.String("from-cloudtrail", "", "pull event history with LookupEvents from this CloudTrail endpoint `URL`")
	endpoint := fs.String("endpoint", cli.DefaultEndpoint(), "the Cairn server `URL` to import into (env CAIRN_ENDPOINT)")
	accountsS := fs.String("accounts", "", "comma-separated `accounts` to import (default: all)")
	regionsS := fs.String("regions", "", "comma-separated `regions` to import (default: all)")
	startS := fs.String("start-time", "", "import events from this `time` on (RFC 3339)")
	endS := fs.String("end-time", "", "import events up to this `time` (RFC 3339)")
	cpPath := fs.String("checkpoint", "", "resume from and record progress in this `file`")
	refusalsPath := fs.String("refusals", "", "list refused records in this `file` (JSON lines) instead of stderr")
	parallel := fs.Int("parallel", importer.DefaultParallel, "`batches` in flight at once")
	batchSize := fs.Int("batch-size", importer.DefaultBatchRecords, "`records` per batch, within 6 MiB (the server takes at most 1,000 by default)")
	insights := fs.Bool("insights", false, "also import CloudTrail-Insight/ log files")
	verifyDigests := fs.Bool("verify-digests", false, "check the archive's digest files and import only log files they vouch for")
	pubKeys := fs.String("public-keys", "", "comma-separated `files` \"aws cloudtrail list-public-keys\" wrote, one per region (for --verify-digests)")
	force := fs.Bool("force", false, "with --verify-digests, import log files that failed the check all the same")
	interval := fs.Duration("progress-interval", 0, "how often to print progress when stdout is not a terminal (default 10s)")
	signRegion := fs.String("signing-region", defaultRegion(), "the SigV4 `region` of requests to the Cairn server")
	attempts := fs.Int("max-attempts", importer.DefaultMaxAttempts, "`attempts` of a batch that is throttled, answered with a 5xx or not answered, with backoff; a server that answers none of them stops the import")
	if code, ok := cli.ParseFlags(fs, args, importHelp, stdout, stderr); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "cairn import: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q", fs.Arg(0))
	}
	if (*source == "") == (*fromCT == "") {
		return fail("give either --source or --from-cloudtrail")
	}
	if *verifyDigests && *pubKeys == "" {
		return fail("--verify-digests needs --public-keys FILE (aws cloudtrail list-public-keys > FILE)")
	}
	if (*force || *pubKeys != "") && !*verifyDigests {
		return fail("--force and --public-keys go with --verify-digests")
	}
	if *verifyDigests && *fromCT != "" {
		return fail("--verify-digests checks an archive's digest files; event history has none")
	}
	if *parallel < 1 || *batchSize < 1 || *attempts < 1 {
		return fail("--parallel, --batch-size and --max-attempts must be at least 1")
	}
	var flt importer.Filter
	flt.Accounts, flt.Regions, flt.Insights = cli.SplitList(*accountsS), cli.SplitList(*regionsS), *insights
	var err error
	if *startS != "" {
		if flt.Start, err = time.Parse(time.RFC3339, *startS); err != nil {
			return fail("--start-time: %v", err)
		}
	}
	if *endS != "" {
		if flt.End, err = time.Parse(time.RFC3339, *endS); err != nil {
			return fail("--end-time: %v", err)
		}
	}
	if !flt.Start.IsZero() && !flt.End.IsZero() && flt.End.Before(flt.Start) {
		return fail("--end-time is before --start-time")
	}
	id, secret := os.Getenv("CAIRN_ACCESS_KEY_ID"), os.Getenv("CAIRN_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return fail("set CAIRN_ACCESS_KEY_ID and CAIRN_SECRET_ACCESS_KEY: the Cairn key the events are sent with")
	}
	refusals := stderr
	if *refusalsPath != "" {
		f, err := os.OpenFile(*refusalsPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fail("--refusals: %v", err)
		}
		defer f.Close()
		refusals = f
	}
	var unitName string
	if *fromCT != "" {
		// The checkpoint names the endpoint and the key read with (the
		// account): another account's history is not "done".
		if unitName, err = importer.HistoryID(context.Background(), *fromCT); err != nil {
			return fail("%v", err)
		}
	}
	if *source != "" {
		// The checkpoint names the archive, not the URL's spelling: a
		// trailing slash, a relative path or another endpoint of the same
		// bucket resume the same import.
		if unitName, err = importer.SourceID(*source); err != nil {
			return fail("%v", err)
		}
	}
	scope := flt.Scope()
	if *fromCT != "" {
		scope = "" // windows are named by their bounds
	}
	cp, err := importer.OpenCheckpoint(*cpPath, unitName, scope)
	if err != nil {
		return fail("%v", err)
	}
	defer cp.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first Ctrl-C the import winds down (batches in flight
		// are answered and checkpointed); a second one ends it at once.
		<-ctx.Done()
		stop()
	}()
	client := importer.NewClient(*endpoint, *signRegion, id, secret, *parallel)
	client.MaxAttempts = *attempts
	run := importRun{
		stdout: stdout, stderr: stderr, interval: *interval, refusalsPath: *refusalsPath, endpoint: *endpoint, keyID: id,
		o: importer.Options{Filter: flt, Client: client,
			Checkpoint: cp, Refusals: refusals, Parallel: *parallel, BatchRecords: *batchSize, Force: *force,
			Stats: &importer.Stats{}},
	}
	if *fromCT != "" {
		return run.fromCloudTrail(ctx, *fromCT)
	}
	return run.archive(ctx, *source, *verifyDigests, *pubKeys)
}

// importRun is one cairn import: its options and where it reports.
type importRun struct {
	stdout, stderr io.Writer
	interval       time.Duration
	refusalsPath   string
	// endpoint and keyID are the server and key the records go to (for
	// the advice after a stop).
	endpoint, keyID string
	o               importer.Options
}

// archive imports a --source archive.
func (r *importRun) archive(ctx context.Context, source string, verify bool, keysFile string) int {
	src, err := importer.OpenSource(source)
	if err != nil {
		fmt.Fprintf(r.stderr, "cairn import: %v\n", err)
		return 2
	}
	start := time.Now()
	files, skipped, err := importer.Plan(ctx, src, r.o.Filter)
	if err != nil {
		fmt.Fprintf(r.stderr, "cairn import: %v\n", err)
		return 1
	}
	for _, s := range skipped {
		fmt.Fprintf(r.stderr, "cairn import: skipped %s: %s\n", s.Key, s.Reason)
	}
	fmt.Fprintf(r.stdout, "cairn import: %d log files to import from %s (listed in %s)\n", len(files), source, time.Since(start).Round(time.Millisecond))
	if len(files) == 0 {
		f := r.o.Filter
		fmt.Fprintf(r.stderr, "cairn import: no CloudTrail log files under %sAWSLogs/ of %s\n", src.Prefix, source)
		if len(f.Accounts) == 0 && len(f.Regions) == 0 && f.Start.IsZero() && f.End.IsZero() {
			// Nothing at all: most likely the wrong folder or prefix.
			fmt.Fprintln(r.stderr, "cairn import: --source must name the folder (or bucket prefix) that holds AWSLogs/")
			return 1
		}
	}
	if verify {
		v, err := importer.VerifyDigests(ctx, src, cli.SplitList(keysFile), r.o.Filter, r.stdout)
		if err != nil {
			fmt.Fprintf(r.stderr, "cairn import: --verify-digests: %v\n", err)
			return 1
		}
		r.o.Verified = v.Check
	}
	p := r.progress("files")
	res, err := importer.ImportArchive(ctx, src, files, r.o)
	p.Stop()
	return r.summary(start, res, err, "files")
}

// progress starts the progress display on stdout.
func (r *importRun) progress(what string) *importer.Progress {
	p := &importer.Progress{W: r.stdout, Interval: r.interval, Stats: r.o.Stats, What: what}
	if f, ok := r.stdout.(*os.File); ok && importer.IsTerminal(f) {
		p.TTY = true
		p.Interval = 0
	}
	p.Start()
	return p
}

// summary prints the end of an import and returns its exit status.
func (r *importRun) summary(start time.Time, res importer.Result, err error, what string) int {
	if cerr := r.o.Checkpoint.Close(); cerr != nil {
		fmt.Fprintf(r.stderr, "cairn import: %v\n", cerr)
		if err == nil {
			err = cerr
		}
	}
	s := r.o.Stats
	el := time.Since(start)
	status := "done"
	switch {
	case err != nil:
		status = "stopped: " + err.Error()
	case res.Interrupted:
		status = "interrupted: run the same command again to resume"
	}
	w := r.stdout
	fmt.Fprintf(w, "cairn import: %s\n", status)
	fmt.Fprintf(w, "  %-11s %d of %d imported", what, s.UnitsDone.Load(), s.UnitsTotal.Load())
	if n := s.UnitsEarlier.Load(); n > 0 {
		fmt.Fprintf(w, " (%d more done by an earlier run)", n)
	}
	if n := s.UnitsFailed.Load(); n > 0 {
		fmt.Fprintf(w, ", %d failed", n)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %-11s %d read", "events", s.Events.Load())
	if n := s.Filtered.Load(); n > 0 {
		fmt.Fprintf(w, ", %d outside the time range left out", n)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %-11s %d\n", "accepted", s.Accepted.Load())
	switch {
	case s.DuplicatesKnown.Load():
		fmt.Fprintf(w, "  %-11s %d (already stored; counted in accepted)\n", "duplicates", s.Duplicates.Load())
	case s.Accepted.Load() == 0:
		// Nothing accepted (no batch answered, or every record refused):
		// nothing accepted was stored already either.
		fmt.Fprintf(w, "  %-11s 0\n", "duplicates")
	default:
		fmt.Fprintf(w, "  %-11s not told by this server (a resent event is accepted and stored once)\n", "duplicates")
	}
	where := "listed on stderr"
	if r.refusalsPath != "" {
		where = "listed in " + r.refusalsPath
	}
	fmt.Fprintf(w, "  %-11s %d", "refused", s.Refused.Load())
	if n := s.Refused.Load(); n > 0 {
		fmt.Fprintf(w, " (%s), %s", s.Reasons(), where)
	}
	fmt.Fprintln(w)
	if n := s.Failed.Load(); n > 0 {
		fmt.Fprintf(w, "  %-11s %d records in batches the server did not store (%s); run again to retry\n", "failed", n, where)
	}
	if res.Unverified > 0 {
		fmt.Fprintf(w, "  %-11s %d log files failed the digest check (%s)\n", "unverified", res.Unverified, where)
	}
	if res.Unreadable > 0 {
		fmt.Fprintf(w, "  %-11s %d log files could not be read (%s)\n", "unreadable", res.Unreadable, where)
	}
	acked := s.Accepted.Load() + s.Refused.Load()
	fmt.Fprintf(w, "  %-11s %s", "elapsed", el.Round(time.Millisecond))
	if acked > 0 {
		fmt.Fprintf(w, ", %.0f events/s", float64(acked)/max(el.Seconds(), 1e-3))
	}
	fmt.Fprintf(w, " (%d batches, %d retried)\n", s.Batches.Load(), s.Retries.Load())
	r.advise(err)
	if err != nil || res.Interrupted || s.Refused.Load() > 0 || s.Failed.Load() > 0 || s.UnitsFailed.Load() > 0 ||
		res.Unverified > 0 || res.Unreadable > 0 {
		return 1
	}
	return 0
}

// advise tells, after an import stopped by the server's answer (or its
// silence), what to check before running it again.
func (r *importRun) advise(err error) {
	var be *importer.BatchError
	if !errors.As(err, &be) {
		return
	}
	resume := "run the same command again"
	if r.o.Checkpoint.Path() != "" {
		resume += ": it resumes from the checkpoint " + r.o.Checkpoint.Path()
	}
	switch {
	case be.AuthFailure():
		fmt.Fprintf(r.stderr, "cairn import: the server %s did not take the key %s (%s): check CAIRN_ACCESS_KEY_ID and "+
			"CAIRN_SECRET_ACCESS_KEY (the Cairn key, not the bucket's AWS key), that the key has the ingest policy, and "+
			"--signing-region; then %s\n", r.endpoint, r.keyID, be.Code, resume)
	case be.Unreachable():
		fmt.Fprintf(r.stderr, "cairn import: no answer from %s after %d attempts: check --endpoint (or CAIRN_ENDPOINT) and "+
			"that the server is up; then %s\n", r.endpoint, r.o.Client.MaxAttempts, resume)
	case be.Retryable:
		fmt.Fprintf(r.stderr, "cairn import: the server %s failed batch after batch (%s): check its log (its disk, its store); then %s\n",
			r.endpoint, be.Error(), resume)
	}
}

// fromCloudTrail imports an account's event history from a CloudTrail
// endpoint.
func (r *importRun) fromCloudTrail(ctx context.Context, endpoint string) int {
	regions := r.o.Filter.Regions
	if len(regions) == 0 {
		regions = []string{defaultRegion()}
	}
	if len(r.o.Filter.Accounts) > 0 {
		fmt.Fprintln(r.stderr, "cairn import: --accounts does not apply to --from-cloudtrail: the account is the one of the AWS credentials")
		return 2
	}
	start := time.Now()
	fmt.Fprintf(r.stdout, "cairn import: pulling event history of %v from %s\n", regions, endpoint)
	p := r.progress("days")
	res, err := importer.ImportHistory(ctx, importer.HistoryOptions{Endpoint: endpoint, Regions: regions}, r.o)
	p.Stop()
	return r.summary(start, res, err, "days")
}
