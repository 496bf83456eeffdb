package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/cli"
	"github.com/cairn-audit/cairn/internal/digest"
	"github.com/cairn-audit/cairn/internal/envelope"
	"github.com/cairn-audit/cairn/internal/server"
	"github.com/cairn-audit/cairn/internal/trail"
)

const verifyHelp = `Usage: cairn verify --trail-arn ARN --start-time T [flags]

Validates a trail's delivered log files and digest files like
"aws cloudtrail validate-logs": it walks each region's digest chain from the
newest digest back to --start-time, checks every digest's signature with the
published public keys, the chain's links, and every listed log file's hash,
prints a line per file and a summary, and exits 1 on any problem (a changed,
missing or moved file, a bad signature, a gap in the chain).

Stricter than validate-logs, it takes the accounts and regions to check
from the trail, not from the bucket: every region the server serves for a
multi-region trail (else the home region), every member account for an
organization trail. --regions and --accounts narrow that; a region or
account named there is checked all the same. It fails when
  - a covered account or region has no digest, or its newest digest ends
    more than one digest interval (plus --max-digest-delay) before
    --end-time (or now; or when logging stopped) — once the trail had
    logged that long: newer digests, or a whole region, were deleted;
  - a log file in the checked time is in the bucket but in no digest
    ("not listed in any digest"): it was added.
Digest files inflate to at most 32 MiB and log files to 1 GiB; a larger
one is INVALID (a gzip bomb).

Files a trail encrypted with a KMS key in a directory bucket are decrypted
with the key material of --config or --data-dir (see cairn decrypt).

The trail and its public keys come from the server at --endpoint
(credentials CAIRN_ACCESS_KEY_ID / CAIRN_SECRET_ACCESS_KEY), or from a file
written earlier with --save-public-keys, for a fully offline check with
--public-keys. The files come from --bucket-dir (a directory bucket) or an
S3-compatible endpoint (--s3-endpoint; credentials AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY).

Flags:
`

// keyFile is what --save-public-keys writes and --public-keys reads.
type keyFile struct {
	Trail      server.TrailShape
	OrgID      string `json:",omitempty"`
	PublicKeys []digest.PublicKey
	// Coverage is what the server said about the trail's digest chains;
	// files written before it existed have none (then the accounts and
	// regions are listed from the bucket, as validate-logs does).
	Coverage *trailCoverage `json:",omitempty"`
}

// maxKeyFileBytes bounds a --public-keys file (a few keys: kilobytes).
const maxKeyFileBytes = 16 << 20

// trailCoverage is which digest chains a trail has and since when: the
// server's answer to POST /v1/trail-coverage and GetTrailStatus.
type trailCoverage struct {
	Accounts, Regions     []string
	DigestIntervalSeconds int64
	IsLogging             bool
	StartLoggingTime      *time.Time `json:",omitempty"`
	StopLoggingTime       *time.Time `json:",omitempty"`
	// LoggingKnown says IsLogging and the times were read from the server
	// (the coverage answer or GetTrailStatus). Without them a deleted
	// newest digest cannot be told from a chain that has not begun, so
	// verify refuses to run.
	LoggingKnown bool `json:",omitempty"`
}

// loggingKnown reports whether c says when the trail logged. Key files of
// an older cairn lack LoggingKnown, but have a start time when
// GetTrailStatus answered.
func (c *trailCoverage) loggingKnown() bool {
	return c.LoggingKnown || c.StartLoggingTime != nil
}

// errLoggingUnknown is verify's answer when it cannot learn when the trail
// logged.
var errLoggingUnknown = errors.New("cannot tell when the trail logged (IsLogging, StartLoggingTime, StopLoggingTime), " +
	"so a deleted newest digest would go unnoticed: use a key allowed cloudtrail:GetTrailCoverage on a current server, " +
	"or cloudtrail:GetTrailStatus")

func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	arn := fs.String("trail-arn", "", "the trail's `ARN` (required)")
	startS := fs.String("start-time", "", "check digests from this `time` on (RFC 3339; required)")
	endS := fs.String("end-time", "", "check digests up to this `time` (RFC 3339; default now)")
	endpoint := fs.String("endpoint", cli.DefaultEndpoint(), "the Cairn server `URL` (env CAIRN_ENDPOINT)")
	bucketDir := fs.String("bucket-dir", "", "read the files from this `directory` (a directory bucket)")
	s3Endpoint := fs.String("s3-endpoint", "", "read the files from this S3-compatible `URL`")
	s3Region := fs.String("s3-region", "us-east-1", "the S3 endpoint's `region`")
	pubFile := fs.String("public-keys", "", "read the trail and its public keys from this `file` instead of the server")
	saveFile := fs.String("save-public-keys", "", "write the trail and its public keys to this `file` for later offline checks")
	regionsS := fs.String("regions", "", "comma-separated `regions` to check (default: every region the trail covers)")
	accountsS := fs.String("accounts", "", "comma-separated `accounts` to check (default: every account the trail covers)")
	grace := fs.Duration("max-digest-delay", digest.DefaultDigestGrace, "how late a digest may be after its end `time`")
	verbose := fs.Bool("verbose", false, "print valid files too")
	configPath := fs.String("config", "", "the server's config `file`, for KMS key material of encrypted directory buckets")
	dataDir := fs.String("data-dir", "", "the server's data `directory`, for KMS key material of encrypted directory buckets")
	if code, ok := parseFlags(fs, args, verifyHelp, stdout, stderr); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "cairn verify: "+format+"\n", a...)
		return 2
	}
	if *arn == "" || *startS == "" {
		return fail("--trail-arn and --start-time are required")
	}
	if *grace < 0 {
		return fail("--max-digest-delay must not be negative")
	}
	p, err := trail.ParseARN(*arn)
	if err != nil {
		return fail("%v", err)
	}
	start, err := time.Parse(time.RFC3339, *startS)
	if err != nil {
		return fail("--start-time: %v", err)
	}
	end := time.Now().UTC()
	if *endS != "" {
		if end, err = time.Parse(time.RFC3339, *endS); err != nil {
			return fail("--end-time: %v", err)
		}
	}
	ctx := context.Background()

	var kf keyFile
	if *pubFile != "" {
		b, err := readBounded(*pubFile, maxKeyFileBytes)
		if err != nil {
			return fail("%v", err)
		}
		if err := json.Unmarshal(b, &kf); err != nil {
			return fail("%s: %v", *pubFile, err)
		}
		if kf.Trail.TrailARN != *arn {
			return fail("%s holds trail %s, not %s", *pubFile, kf.Trail.TrailARN, *arn)
		}
	} else if kf, err = fetchTrailKeys(ctx, *endpoint, p, start, end); err != nil {
		return fail("%v", err)
	}

	var b bucket.Bucket
	switch {
	case *bucketDir != "":
		b = bucket.NewDir(kf.Trail.S3BucketName, *bucketDir)
	case *s3Endpoint != "":
		b, err = bucket.NewS3(kf.Trail.S3BucketName, bucket.S3Options{Bucket: kf.Trail.S3BucketName, Endpoint: *s3Endpoint,
			Region: *s3Region, PathStyle: true, AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY")})
		if err != nil {
			return fail("%v", err)
		}
	default:
		return fail("give --bucket-dir or --s3-endpoint: where the trail's files are")
	}
	keys, err := kmsKeys(*configPath, *dataDir)
	if err != nil {
		return fail("%v", err)
	}
	src := bucketSource{b, keys}

	if kf.Trail.IsOrganizationTrail && kf.OrgID == "" {
		kf.OrgID = findOrgID(ctx, src, kf.Trail.S3KeyPrefix)
	}
	if *saveFile != "" {
		out, _ := json.MarshalIndent(kf, "", "  ")
		if err := os.WriteFile(*saveFile, out, 0o644); err != nil {
			return fail("%v", err)
		}
	}
	if kf.Coverage != nil && !kf.Coverage.loggingKnown() {
		return fail("%v; save the keys again with --save-public-keys", errLoggingUnknown)
	}
	if kf.Coverage == nil {
		fmt.Fprintln(stderr, "cairn verify: warning: the trail's accounts and regions are listed from the bucket (the key file is from an older cairn): a deleted region or account goes unnoticed; save the keys again with --save-public-keys")
	}
	accounts := cli.SplitList(*accountsS)
	if len(accounts) == 0 {
		accounts = coveredAccounts(ctx, src, kf, p.Account)
	}
	rule := coverageRule(kf.Coverage, start, end, *grace, time.Now().UTC())
	if !kf.Trail.LogFileValidationEnabled {
		// No chains now: only digests tell when there were, and no final
		// digest is written at a stop.
		rule.LoggingSince, rule.Stopped = time.Time{}, time.Time{}
	}
	total := digest.Report{}
	var chains []digest.Chain
	for _, account := range accounts {
		regions := cli.SplitList(*regionsS)
		if len(regions) == 0 {
			regions = coveredRegions(ctx, src, kf, account)
		}
		if len(regions) == 0 {
			continue
		}
		rep, err := digest.Verify(ctx, src, digest.Options{Bucket: kf.Trail.S3BucketName, Prefix: kf.Trail.S3KeyPrefix,
			OrgID: kf.OrgID, Account: account, TrailName: kf.Trail.Name, HomeRegion: kf.Trail.HomeRegion,
			Regions: regions, Start: start, End: end, Keys: kf.PublicKeys, NewestFrom: rule.Threshold(), Unlisted: true})
		if err != nil {
			return fail("%v", err)
		}
		total.Results = append(total.Results, rep.Results...)
		total.DigestsValid += rep.DigestsValid
		total.DigestsInvalid += rep.DigestsInvalid
		total.LogsValid += rep.LogsValid
		total.LogsInvalid += rep.LogsInvalid
		chains = append(chains, rep.Chains...)
	}
	total.Results = append(total.Results, digest.CheckCoverage(kf.Trail.S3BucketName, kf.Trail.S3KeyPrefix, kf.OrgID, chains, rule)...)
	for _, r := range total.Results {
		if *verbose || r.Status != digest.StatusValid {
			fmt.Fprintln(stdout, r.String())
		}
	}
	digests := total.DigestsValid + total.DigestsInvalid
	fmt.Fprintf(stdout, "\n%d/%d digest files valid\n%d/%d log files valid\n",
		total.DigestsValid, digests, total.LogsValid, total.LogsValid+total.LogsInvalid)
	if n := countStatus(total, digest.StatusUncovered); n > 0 {
		fmt.Fprintf(stdout, "%d account regions without recent digests\n", n)
	}
	if n := countStatus(total, digest.StatusUnlisted); n > 0 {
		fmt.Fprintf(stdout, "%d log files not listed in any digest\n", n)
	}
	if digests == 0 {
		fmt.Fprintf(stdout, "No digest files found for %s between %s and %s.\n", *arn, start.Format(time.RFC3339), end.Format(time.RFC3339))
		return 1
	}
	if !total.OK() {
		return 1
	}
	return 0
}

func countStatus(rep digest.Report, status string) int {
	n := 0
	for _, r := range rep.Results {
		if r.Status == status {
			n++
		}
	}
	return n
}

// coveredAccounts are the accounts whose digests are checked: the server's
// answer when known; else, as validate-logs, those in the bucket.
func coveredAccounts(ctx context.Context, src bucketSource, kf keyFile, account string) []string {
	if kf.Coverage != nil {
		return kf.Coverage.Accounts
	}
	if kf.OrgID != "" {
		return listDirs(ctx, src, awsLogsPrefix(kf.Trail.S3KeyPrefix)+kf.OrgID+"/")
	}
	return []string{account}
}

// coveredRegions are the regions whose digests are checked: the server's
// answer when known; else those in the bucket.
func coveredRegions(ctx context.Context, src bucketSource, kf keyFile, account string) []string {
	if kf.Coverage != nil {
		return kf.Coverage.Regions
	}
	return listDirs(ctx, src, digest.DigestPrefix(kf.Trail.S3KeyPrefix, kf.OrgID, account, ""))
}

// coverageRule says how recent each chain's newest digest must be: one
// digest interval (the server's, else CloudTrail's hour) plus grace before
// the end of the range, not after now, nor after logging stopped. When
// logging stopped within [start, end], at least FinalDigestSlack after it
// started and grace or more before now, the final digest the server writes
// at the stop is required too (rule.Stopped). The server tells only the
// latest start and stop, so an earlier epoch's final digest is not.
func coverageRule(c *trailCoverage, start, end time.Time, grace time.Duration, now time.Time) digest.CoverageRule {
	r := digest.CoverageRule{Due: end, Interval: digest.DefaultDigestInterval, Grace: grace}
	if now.Before(r.Due) {
		r.Due = now
	}
	if c == nil {
		return r
	}
	if c.DigestIntervalSeconds > 0 {
		r.Interval = time.Duration(c.DigestIntervalSeconds) * time.Second
	}
	if c.StartLoggingTime != nil {
		r.LoggingSince = *c.StartLoggingTime
	}
	if !c.IsLogging {
		r.LoggingSince = time.Time{}
		if c.StopLoggingTime != nil && c.StartLoggingTime != nil && c.StopLoggingTime.After(*c.StartLoggingTime) {
			r.LoggingSince = *c.StartLoggingTime
			if c.StopLoggingTime.Before(r.Due) {
				r.Due = *c.StopLoggingTime
			}
			if finalDigestDue(*c.StartLoggingTime, *c.StopLoggingTime, start, end, grace, now) {
				r.Stopped = *c.StopLoggingTime
			}
		}
	}
	return r
}

// finalDigestDue reports whether the final digests of a stop must be in
// the bucket: the stop is in [start, end]; the epoch lasted long enough for
// a delivery pass to begin its chains (a pass runs every 100ms; a trail no
// pass saw logging has no chain and no final digest); and the digests,
// written on the pass after the stop, had grace to arrive.
func finalDigestDue(started, stopped, start, end time.Time, grace time.Duration, now time.Time) bool {
	return !stopped.Before(start) && !stopped.After(end) &&
		stopped.Sub(started) >= digest.FinalDigestSlack && !now.Before(stopped.Add(grace))
}

// fetchTrailKeys reads the trail and every region's public keys from the server.
func fetchTrailKeys(ctx context.Context, endpoint string, p trail.ParsedARN, start, end time.Time) (keyFile, error) {
	id, secret := os.Getenv("CAIRN_ACCESS_KEY_ID"), os.Getenv("CAIRN_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return keyFile{}, errors.New("set CAIRN_ACCESS_KEY_ID and CAIRN_SECRET_ACCESS_KEY to read the trail from the server, or give --public-keys")
	}
	client := func(region string) *cloudtrail.Client {
		return cloudtrail.New(cloudtrail.Options{Region: region, BaseEndpoint: aws.String(endpoint),
			Credentials: credentials.NewStaticCredentialsProvider(id, secret, "")})
	}
	arn := trail.ARN(p.Partition, p.Region, p.Account, p.Name)
	got, err := client(p.Region).GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(arn)})
	if err != nil {
		return keyFile{}, fmt.Errorf("GetTrail: %w", err)
	}
	t := got.Trail
	kf := keyFile{Trail: server.TrailShape{Name: aws.ToString(t.Name), S3BucketName: aws.ToString(t.S3BucketName),
		S3KeyPrefix: aws.ToString(t.S3KeyPrefix), IsMultiRegionTrail: aws.ToBool(t.IsMultiRegionTrail),
		HomeRegion: aws.ToString(t.HomeRegion), TrailARN: aws.ToString(t.TrailARN),
		LogFileValidationEnabled: aws.ToBool(t.LogFileValidationEnabled), IsOrganizationTrail: aws.ToBool(t.IsOrganizationTrail)}}
	cov, orgID, err := fetchCoverage(ctx, endpoint, id, secret, kf.Trail.HomeRegion, arn)
	if err != nil {
		return keyFile{}, err
	}
	kf.Coverage, kf.OrgID = cov, orgID
	// When logging started tells how old a chain must be before a missing
	// digest fails: from the coverage answer, else (an older server) from
	// GetTrailStatus; with neither, verify does not run.
	if !cov.LoggingKnown {
		st, err := client(kf.Trail.HomeRegion).GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
		if err != nil {
			return keyFile{}, fmt.Errorf("%w: the server's coverage answer has no logging state, and GetTrailStatus: %v", errLoggingUnknown, err)
		}
		cov.IsLogging, cov.StartLoggingTime, cov.StopLoggingTime = aws.ToBool(st.IsLogging), st.StartLoggingTime, st.StopLoggingTime
		cov.LoggingKnown = true
	}
	// Keys are per region: a multi-region trail's digests are signed by
	// the keys of each region the server serves.
	regions := cov.Regions
	seen := map[string]bool{}
	for _, r := range regions {
		out, err := client(r).ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{StartTime: aws.Time(start), EndTime: aws.Time(end)})
		if err != nil && r == kf.Trail.HomeRegion {
			return keyFile{}, fmt.Errorf("ListPublicKeys in %s: %w", r, err)
		}
		if err != nil {
			continue // a region the server does not serve
		}
		for _, k := range out.PublicKeyList {
			fp := aws.ToString(k.Fingerprint)
			if !seen[fp] {
				seen[fp] = true
				kf.PublicKeys = append(kf.PublicKeys, digest.PublicKey{Fingerprint: fp, DER: k.Value,
					ValidFrom: aws.ToTime(k.ValidityStartTime), ValidTo: aws.ToTime(k.ValidityEndTime)})
			}
		}
	}
	return kf, nil
}

// fetchCoverage asks the server which accounts and regions the trail has
// digest chains for (POST /v1/trail-coverage, SigV4-signed) and returns
// them with the organization's id.
func fetchCoverage(ctx context.Context, endpoint, id, secret, region, arn string) (*trailCoverage, string, error) {
	body, _ := json.Marshal(map[string]string{"Name": arn})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(endpoint, "/")+"/v1/trail-coverage", bytes.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	sum := sha256.Sum256(body)
	// Declared (and signed), so that the server checks the signature before
	// reading the body, outside the bounds strangers share.
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, req,
		hex.EncodeToString(sum[:]), "cloudtrail", region, time.Now()); err != nil {
		return nil, "", err
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("trail coverage: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, "", fmt.Errorf("trail coverage: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("trail coverage: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	var out struct {
		OrganizationId        string
		Accounts, Regions     []string
		DigestIntervalSeconds int64
		// Servers before the logging state answer without IsLogging.
		IsLogging                         *bool
		StartLoggingTime, StopLoggingTime *float64 // epoch seconds
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, "", fmt.Errorf("trail coverage: %w", err)
	}
	if len(out.Accounts) == 0 || len(out.Regions) == 0 {
		return nil, "", fmt.Errorf("trail coverage: the server names no accounts or regions: %s", b)
	}
	cov := &trailCoverage{Accounts: out.Accounts, Regions: out.Regions, DigestIntervalSeconds: out.DigestIntervalSeconds}
	if out.IsLogging != nil {
		cov.IsLogging, cov.LoggingKnown = *out.IsLogging, true
		cov.StartLoggingTime, cov.StopLoggingTime = epochTime(out.StartLoggingTime), epochTime(out.StopLoggingTime)
	}
	return cov, out.OrganizationId, nil
}

// epochTime turns the API's epoch seconds (millisecond precision) into a
// time; nil stays nil.
func epochTime(sec *float64) *time.Time {
	if sec == nil {
		return nil
	}
	t := time.UnixMilli(int64(math.Round(*sec * 1000))).UTC()
	return &t
}

func awsLogsPrefix(prefix string) string {
	if prefix == "" {
		return "AWSLogs/"
	}
	return strings.TrimSuffix(prefix, "/") + "/AWSLogs/"
}

// listDirs lists the next path segments under prefix.
func listDirs(ctx context.Context, src bucketSource, prefix string) []string {
	keys, err := src.List(ctx, prefix)
	if err != nil {
		return nil
	}
	var out []string
	for _, k := range keys {
		seg, _, ok := strings.Cut(strings.TrimPrefix(k, prefix), "/")
		if ok && seg != "" && !slices.Contains(out, seg) {
			out = append(out, seg)
		}
	}
	slices.Sort(out)
	return out
}

func findOrgID(ctx context.Context, src bucketSource, prefix string) string {
	for _, d := range listDirs(ctx, src, awsLogsPrefix(prefix)) {
		if strings.HasPrefix(d, "o-") {
			return d
		}
	}
	return ""
}

// bucketSource adapts a bucket to digest.Source, opening files sealed for
// a KMS key.
type bucketSource struct {
	b    bucket.Bucket
	keys envelope.Keys
}

func (s bucketSource) List(ctx context.Context, prefix string) ([]string, error) {
	return s.b.List(ctx, prefix)
}

func (s bucketSource) Get(ctx context.Context, key string) ([]byte, map[string]string, error) {
	o, err := s.b.Get(ctx, key)
	if errors.Is(err, bucket.ErrNotFound) {
		return nil, nil, fmt.Errorf("%s: %w", key, digest.ErrNotFound)
	}
	if errors.Is(err, bucket.ErrTooLarge) {
		return nil, nil, fmt.Errorf("%w (%w)", digest.ErrTooLarge, err)
	}
	if err != nil {
		return nil, nil, err
	}
	if envelope.IsSealed(o.Body) {
		plain, err := envelope.Open(s.keys, o.Body)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", key, err)
		}
		o.Body = plain
	}
	return o.Body, o.Metadata, nil
}
