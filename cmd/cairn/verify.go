package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/digest"
	"github.com/cairn-audit/cairn/internal/envelope"
	"github.com/cairn-audit/cairn/internal/trail"
)

const verifyHelp = `Usage: cairn verify --trail-arn ARN --start-time T [flags]

Validates a trail's delivered log files and digest files like
"aws cloudtrail validate-logs": it walks each region's digest chain from the
newest digest back to --start-time, checks every digest's signature with the
published public keys, the chain's links, and every listed log file's hash,
prints a line per file and a summary, and exits 1 on any problem (a changed,
missing or moved file, a bad signature, a gap in the chain).

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
	Trail      trail.Shape
	OrgID      string `json:",omitempty"`
	PublicKeys []digest.PublicKey
}

func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	arn := fs.String("trail-arn", "", "the trail's `ARN` (required)")
	startS := fs.String("start-time", "", "check digests from this `time` on (RFC 3339; required)")
	endS := fs.String("end-time", "", "check digests up to this `time` (RFC 3339; default now)")
	endpoint := fs.String("endpoint", defaultEndpoint(), "the Cairn server `URL` (env CAIRN_ENDPOINT)")
	bucketDir := fs.String("bucket-dir", "", "read the files from this `directory` (a directory bucket)")
	s3Endpoint := fs.String("s3-endpoint", "", "read the files from this S3-compatible `URL`")
	s3Region := fs.String("s3-region", "us-east-1", "the S3 endpoint's `region`")
	pubFile := fs.String("public-keys", "", "read the trail and its public keys from this `file` instead of the server")
	saveFile := fs.String("save-public-keys", "", "write the trail and its public keys to this `file` for later offline checks")
	regionsS := fs.String("regions", "", "comma-separated `regions` to check (default: every region with digests)")
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
		b, err := os.ReadFile(*pubFile)
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
	accounts := []string{p.Account}
	if kf.OrgID != "" {
		accounts = listDirs(ctx, src, awsLogsPrefix(kf.Trail.S3KeyPrefix)+kf.OrgID+"/")
	}
	total := digest.Report{}
	digests := 0
	for _, account := range accounts {
		regions := splitList(*regionsS)
		if len(regions) == 0 {
			regions = listDirs(ctx, src, digest.DigestPrefix(kf.Trail.S3KeyPrefix, kf.OrgID, account, ""))
		}
		rep, err := digest.Verify(ctx, src, digest.Options{Bucket: kf.Trail.S3BucketName, Prefix: kf.Trail.S3KeyPrefix,
			OrgID: kf.OrgID, Account: account, TrailName: kf.Trail.Name, HomeRegion: kf.Trail.HomeRegion,
			Regions: regions, Start: start, End: end, Keys: kf.PublicKeys})
		if err != nil {
			return fail("%v", err)
		}
		for _, r := range rep.Results {
			if *verbose || r.Status != digest.StatusValid {
				fmt.Fprintln(stdout, r.String())
			}
		}
		total.Results = append(total.Results, rep.Results...)
		total.DigestsValid += rep.DigestsValid
		total.DigestsInvalid += rep.DigestsInvalid
		total.LogsValid += rep.LogsValid
		total.LogsInvalid += rep.LogsInvalid
		digests += rep.DigestsValid + rep.DigestsInvalid
	}
	fmt.Fprintf(stdout, "\n%d/%d digest files valid\n%d/%d log files valid\n",
		total.DigestsValid, total.DigestsValid+total.DigestsInvalid, total.LogsValid, total.LogsValid+total.LogsInvalid)
	if digests == 0 {
		fmt.Fprintf(stdout, "No digest files found for %s between %s and %s.\n", *arn, start.Format(time.RFC3339), end.Format(time.RFC3339))
		return 1
	}
	if !total.OK() {
		return 1
	}
	return 0
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
	kf := keyFile{Trail: trail.Shape{Name: aws.ToString(t.Name), S3BucketName: aws.ToString(t.S3BucketName),
		S3KeyPrefix: aws.ToString(t.S3KeyPrefix), IsMultiRegionTrail: aws.ToBool(t.IsMultiRegionTrail),
		HomeRegion: aws.ToString(t.HomeRegion), TrailARN: aws.ToString(t.TrailARN),
		LogFileValidationEnabled: aws.ToBool(t.LogFileValidationEnabled), IsOrganizationTrail: aws.ToBool(t.IsOrganizationTrail)}}
	// Keys are per region: a multi-region trail's digests are signed by
	// the keys of each region the server serves.
	regions := []string{kf.Trail.HomeRegion}
	if kf.Trail.IsMultiRegionTrail {
		regions = commercialRegions
	}
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

var commercialRegions = []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-7", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ca-central-1",
	"ca-west-1", "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1",
	"eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1", "sa-east-1", "mx-central-1"}

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
