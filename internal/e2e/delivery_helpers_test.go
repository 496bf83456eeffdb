package e2e

// Helpers of the delivery tests (delivery_*_test.go): the configuration
// with fast delivery, trails that log, events with known eventIDs, reading
// what a trail delivered from a directory bucket or a moto S3 bucket, and
// running `aws cloudtrail validate-logs` and `cairn verify`.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// dlDelivery makes delivery fast enough for tests.
const dlDelivery = `
delivery: {flush_interval: 1s, digest_interval: 2s}
`

// dlOrganization makes every configured account a member of an
// organization managed by Account1.
const dlOrganization = `
organization: {id: o-a1b2c3d4e5, management_account: "111111111111"}
`

const dlOrgID = "o-a1b2c3d4e5"

var dlRegions = []string{"us-east-1", "us-west-2", "eu-west-1"}

// dlConfig is StandardConfig with fast delivery and extra YAML sections.
func dlConfig(extra ...string) string {
	return StandardConfig + dlDelivery + strings.Join(extra, "\n")
}

// dlS3Buckets is a buckets: section mapping each name to the moto bucket of
// the same name, owned by Account1.
func dlS3Buckets(endpoint string, names ...string) string {
	var b strings.Builder
	b.WriteString("\nbuckets:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  - {name: %s, url: %q, access_key_id: testing, secret_access_key: testing, account: %q}\n",
			n, buckettest.S3URL(endpoint, n), Account1)
	}
	return b.String()
}

// dlMkBucket creates the directory bucket name in the server's data dir.
func dlMkBucket(t *testing.T, srv *Server, name string) string {
	t.Helper()
	dir := filepath.Join(srv.DataDir, "buckets", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// dlTrail creates a trail (in c's region), applies more settings and starts
// logging. It returns the trail's ARN.
func dlTrail(t *testing.T, c *cloudtrail.Client, name, bucketName string, more func(*cloudtrail.CreateTrailInput)) string {
	t.Helper()
	ctx := context.Background()
	in := &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucketName)}
	if more != nil {
		more(in)
	}
	out, err := c.CreateTrail(ctx, in)
	if err != nil {
		t.Fatalf("CreateTrail %s: %v", name, err)
	}
	if _, err := c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: out.TrailARN}); err != nil {
		t.Fatalf("StartLogging %s: %v", name, err)
	}
	return aws.ToString(out.TrailARN)
}

func dlMulti(in *cloudtrail.CreateTrailInput) {
	in.IsMultiRegionTrail = aws.Bool(true)
	in.IncludeGlobalServiceEvents = aws.Bool(true)
}

func dlValidation(in *cloudtrail.CreateTrailInput) { in.EnableLogFileValidation = aws.Bool(true) }

// dlAll combines trail settings.
func dlAll(fs ...func(*cloudtrail.CreateTrailInput)) func(*cloudtrail.CreateTrailInput) {
	return func(in *cloudtrail.CreateTrailInput) {
		for _, f := range fs {
			f(in)
		}
	}
}

// dlNewID returns a random UUID-shaped eventID.
func dlNewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// dlEvent is a record of account in region with a fresh eventID.
func dlEvent(name, source, region, account string, extra map[string]any) map[string]any {
	r := Record(name, source, region, time.Now(), extra)
	r["eventID"] = dlNewID()
	r["recipientAccountId"] = account
	return r
}

// dlIngest ingests records as ivan (who may write for both accounts) and
// returns their eventIDs.
func dlIngest(t *testing.T, srv *Server, records ...map[string]any) []string {
	t.Helper()
	res := srv.Ingest(t, IngestKey, IngestSecret, records...)
	if res.Accepted != len(records) || len(res.Failed) != 0 {
		t.Fatalf("ingest: accepted %d of %d: %+v", res.Accepted, len(records), res.Failed)
	}
	return res.EventIDs
}

// dlPost is a SigV4-signed POST that reports failures instead of failing
// the test (for goroutines and for servers that may be down).
func dlPost(url, key, secret, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, url+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "cloudtrail", "us-east-1", time.Now()); err != nil {
		return 0, nil, err
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// dlBucket reads what trails delivered.
type dlBucket interface {
	// Keys lists every object key (sorted).
	Keys(t *testing.T) []string
	// Get returns an object's bytes, or an error wrapping fs.ErrNotExist.
	Get(t *testing.T, key string) ([]byte, error)
	// Put replaces an object's bytes.
	Put(t *testing.T, key string, body []byte)
	// Delete removes an object.
	Delete(t *testing.T, key string)
	// Name is the bucket's name.
	Name() string
}

// dlDir is a directory bucket.
type dlDir struct{ name, dir string }

func (d dlDir) Name() string { return d.name }

func (d dlDir) Keys(t *testing.T) []string {
	t.Helper()
	var keys []string
	err := filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(d.dir, p)
		if e.IsDir() {
			if strings.HasPrefix(rel, ".cairn-") {
				return filepath.SkipDir
			}
			return nil
		}
		keys = append(keys, filepath.ToSlash(rel))
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("listing %s: %v", d.dir, err)
	}
	sort.Strings(keys)
	return keys
}

func (d dlDir) Get(t *testing.T, key string) ([]byte, error) {
	return os.ReadFile(filepath.Join(d.dir, filepath.FromSlash(key)))
}

func (d dlDir) Put(t *testing.T, key string, body []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(d.dir, filepath.FromSlash(key)), body, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (d dlDir) Delete(t *testing.T, key string) {
	t.Helper()
	if err := os.Remove(filepath.Join(d.dir, filepath.FromSlash(key))); err != nil {
		t.Fatal(err)
	}
}

// dlMoto is a bucket of a moto server.
type dlMoto struct{ endpoint, name string }

func (m dlMoto) Name() string { return m.name }

func (m dlMoto) client() *s3.Client { return buckettest.Client(m.endpoint) }

func (m dlMoto) Keys(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var keys []string
	p := s3.NewListObjectsV2Paginator(m.client(), &s3.ListObjectsV2Input{Bucket: aws.String(m.name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("listing moto bucket %s: %v", m.name, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	sort.Strings(keys)
	return keys
}

func (m dlMoto) Get(t *testing.T, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := m.client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(m.name), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w (%w)", key, err, fs.ErrNotExist)
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

func (m dlMoto) Put(t *testing.T, key string, body []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := m.client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(m.name), Key: aws.String(key),
		Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func (m dlMoto) Delete(t *testing.T, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := m.client().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(m.name), Key: aws.String(key)}); err != nil {
		t.Fatalf("delete %s: %v", key, err)
	}
}

func dlIsLogKey(k string) bool    { return strings.Contains(k, "/CloudTrail/") }
func dlIsDigestKey(k string) bool { return strings.Contains(k, "/CloudTrail-Digest/") }

// dlGunzip inflates a gzip object (exactly one member, nothing after it).
func dlGunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	zr.Multistream(false)
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	if rest, _ := io.ReadAll(zr); len(rest) != 0 {
		return nil, errors.New("data after the gzip member")
	}
	return out, nil
}

// dlLogFile is a delivered log file.
type dlLogFile struct {
	Key     string
	Raw     []byte // as stored (gzip)
	JSON    []byte // gunzipped
	Records []map[string]any
}

// dlReadLog reads and decodes one log file, failing the test when it is not
// a gzip'd {"Records":[…]}.
func dlReadLog(t *testing.T, b dlBucket, key string) dlLogFile {
	t.Helper()
	raw, err := b.Get(t, key)
	if err != nil {
		t.Fatalf("log file %s: %v", key, err)
	}
	js, err := dlGunzip(raw)
	if err != nil {
		t.Fatalf("log file %s is not gzip: %v", key, err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil {
		t.Fatalf("log file %s is not a JSON object: %v\n%.500s", key, err, js)
	}
	if len(top) != 1 || top["Records"] == nil {
		t.Fatalf("log file %s: top-level members %v, want only Records", key, slices.Sorted(maps.Keys(top)))
	}
	var recs []map[string]any
	if err := json.Unmarshal(top["Records"], &recs); err != nil {
		t.Fatalf("log file %s: Records is not a list of objects: %v", key, err)
	}
	return dlLogFile{Key: key, Raw: raw, JSON: js, Records: recs}
}

// dlLogs reads every log file of b (under prefix).
func dlLogs(t *testing.T, b dlBucket, prefix string) []dlLogFile {
	t.Helper()
	var out []dlLogFile
	for _, k := range b.Keys(t) {
		if strings.HasPrefix(k, prefix) && dlIsLogKey(k) {
			out = append(out, dlReadLog(t, b, k))
		}
	}
	return out
}

// dlMissing is the ids of which got counts none, in the order of ids.
func dlMissing(ids []string, got map[string]int) []string {
	var missing []string
	for _, id := range ids {
		if got[id] == 0 {
			missing = append(missing, id)
		}
	}
	return missing
}

// dlEventIDs counts the eventIDs in files.
func dlEventIDs(files []dlLogFile) map[string]int {
	m := map[string]int{}
	for _, f := range files {
		for _, r := range f.Records {
			id, _ := r["eventID"].(string)
			m[id]++
		}
	}
	return m
}

// dlWhere maps eventIDs to the keys of the files holding them.
func dlWhere(files []dlLogFile) map[string][]string {
	m := map[string][]string{}
	for _, f := range files {
		for _, r := range f.Records {
			id, _ := r["eventID"].(string)
			m[id] = append(m[id], f.Key)
		}
	}
	return m
}

// dlPoll calls cond every 200ms until it returns true or timeout passes.
func dlPoll(timeout time.Duration, cond func() bool) bool {
	ok, _ := testutil.PollEvery(timeout, 200*time.Millisecond, func() (bool, string) { return cond(), "" })
	return ok
}

// dlWaitDelivered waits until every id is in a log file of b under prefix
// and returns the log files.
func dlWaitDelivered(t *testing.T, srv *Server, b dlBucket, prefix string, ids []string, timeout time.Duration) []dlLogFile {
	t.Helper()
	var files []dlLogFile
	var missing []string
	ok := dlPoll(timeout, func() bool {
		files = dlLogs(t, b, prefix)
		missing = dlMissing(ids, dlEventIDs(files))
		return len(missing) == 0
	})
	if !ok {
		t.Fatalf("after %s, %d of %d events are not delivered to %s/%s (e.g. %v); keys: %v\nserver log:\n%s",
			timeout, len(missing), len(ids), b.Name(), prefix, missing[:min(3, len(missing))], b.Keys(t), dlTail(srv.Log(), 40))
	}
	return files
}

// dlTail is the last n lines of s.
func dlTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// dlDigestTimeRE is the end time in a digest key.
var dlDigestTimeRE = regexp.MustCompile(`_(\d{8}T\d{6}Z)\.json\.gz$`)

// dlDigestKeys lists the digests of b whose key contains part.
func dlDigestKeys(t *testing.T, b dlBucket, part string) []string {
	t.Helper()
	var out []string
	for _, k := range b.Keys(t) {
		if dlIsDigestKey(k) && strings.Contains(k, part) {
			out = append(out, k)
		}
	}
	return out
}

// dlDigestEnd is a digest key's end time.
func dlDigestEnd(key string) time.Time {
	m := dlDigestTimeRE.FindStringSubmatch(key)
	if m == nil {
		return time.Time{}
	}
	at, _ := time.Parse("20060102T150405Z", m[1])
	return at
}

// dlWaitDigests waits until every part (e.g. "/CloudTrail-Digest/us-east-1/")
// has at least n digests that end at or after since.
func dlWaitDigests(t *testing.T, srv *Server, b dlBucket, since time.Time, n int, parts ...string) {
	t.Helper()
	since = since.Truncate(time.Second)
	var short string
	ok := dlPoll(30*time.Second, func() bool {
		for _, p := range parts {
			c := 0
			for _, k := range dlDigestKeys(t, b, p) {
				if !dlDigestEnd(k).Before(since) {
					c++
				}
			}
			if c < n {
				short = p
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("no %d digests under %q ending after %s; keys: %v\nserver log:\n%s", n, short,
			since.Format(time.RFC3339), dlDigestKeys(t, b, ""), dlTail(srv.Log(), 40))
	}
}

// dlDigest is a digest file's JSON.
type dlDigest struct {
	AWSAccountID               string  `json:"awsAccountId"`
	DigestStartTime            string  `json:"digestStartTime"`
	DigestEndTime              string  `json:"digestEndTime"`
	DigestS3Bucket             string  `json:"digestS3Bucket"`
	DigestS3Object             string  `json:"digestS3Object"`
	DigestPublicKeyFingerprint string  `json:"digestPublicKeyFingerprint"`
	PreviousDigestS3Object     *string `json:"previousDigestS3Object"`
	LogFiles                   []struct {
		S3Bucket  string `json:"s3Bucket"`
		S3Object  string `json:"s3Object"`
		HashValue string `json:"hashValue"`
	} `json:"logFiles"`
}

func dlReadDigest(t *testing.T, b dlBucket, key string) dlDigest {
	t.Helper()
	raw, err := b.Get(t, key)
	if err != nil {
		t.Fatalf("digest %s: %v", key, err)
	}
	js, err := dlGunzip(raw)
	if err != nil {
		t.Fatalf("digest %s is not gzip: %v", key, err)
	}
	var d dlDigest
	if err := json.Unmarshal(js, &d); err != nil {
		t.Fatalf("digest %s: %v", key, err)
	}
	return d
}

// dlGzip compresses b.
func dlGzip(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// dlTampered is a log file with one record's eventName changed, gzip'd.
func dlTampered(t *testing.T, f dlLogFile) []byte {
	t.Helper()
	js := bytes.Replace(f.JSON, []byte(`"eventName":"`), []byte(`"eventName":"Tampered`), 1)
	if bytes.Equal(js, f.JSON) {
		t.Fatalf("log file %s has no eventName to change", f.Key)
	}
	return dlGzip(js)
}

// dlValidateLogs runs `aws cloudtrail validate-logs --verbose` for the trail
// and region against Cairn, with S3 at the moto endpoint.
func dlValidateLogs(t *testing.T, srv *Server, motoEndpoint, region, arn string, start time.Time) cliResult {
	t.Helper()
	return runCommand(t, append(awsEnv(t, AdminKey, AdminSecret), "AWS_ENDPOINT_URL_S3="+motoEndpoint), cliAWSBinary(t), "--endpoint-url", srv.URL, "--region", region, "cloudtrail", "validate-logs",
		"--trail-arn", arn, "--start-time", start.UTC().Format(time.RFC3339), "--verbose")
}

// dlVerify runs `cairn verify ARGS...` with the admin's credentials (and
// moto's, for --s3-endpoint).
func dlVerify(t *testing.T, args ...string) cliResult {
	t.Helper()
	return runCommand(t, []string{"CAIRN_ACCESS_KEY_ID=" + AdminKey, "CAIRN_SECRET_ACCESS_KEY=" + AdminSecret,
		"AWS_ACCESS_KEY_ID=" + buckettest.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + buckettest.SecretAccessKey,
		"AWS_EC2_METADATA_DISABLED=true"},
		Binary(t), append([]string{"verify"}, args...)...)
}

// dlStatus is GetTrailStatus of arn, asked in region.
func dlStatus(t *testing.T, srv *Server, region, arn string) *cloudtrail.GetTrailStatusOutput {
	t.Helper()
	out, err := srv.CloudTrail(AdminKey, AdminSecret, region).GetTrailStatus(context.Background(),
		&cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
	if err != nil {
		t.Fatalf("GetTrailStatus %s in %s: %v", arn, region, err)
	}
	return out
}

// dlLogKeyRE is CloudTrail's log file key: [prefix/]AWSLogs/[o-id/]<acct>/
// CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 alnum>.json.gz
var dlLogKeyRE = regexp.MustCompile(`^(?:(.+)/)?AWSLogs/(?:(o-[a-z0-9]{10,32})/)?(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/` +
	`(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_([A-Za-z0-9]{16})\.json\.gz$`)

// dlLogKey is a parsed log file key.
type dlLogKey struct {
	Prefix, OrgID, Account, Region string
	Delivered                      time.Time
}

// dlParseLogKey checks a log file key's layout and returns its parts.
func dlParseLogKey(t *testing.T, key string) (dlLogKey, bool) {
	t.Helper()
	m := dlLogKeyRE.FindStringSubmatch(key)
	if m == nil {
		t.Errorf("log file key %q does not have CloudTrail's layout", key)
		return dlLogKey{}, false
	}
	k := dlLogKey{Prefix: m[1], OrgID: m[2], Account: m[3], Region: m[4]}
	if m[8] != m[3] || m[9] != m[4] {
		t.Errorf("log file key %q: the name's account/region %s/%s differ from the folders' %s/%s", key, m[8], m[9], m[3], m[4])
	}
	at, err := time.Parse("20060102T1504Z", m[10])
	if err != nil {
		t.Errorf("log file key %q: bad time %s: %v", key, m[10], err)
		return k, false
	}
	k.Delivered = at
	if day := m[5] + m[6] + m[7]; day != m[10][:8] {
		t.Errorf("log file key %q: date folders %s differ from the name's date %s", key, day, m[10][:8])
	}
	return k, true
}
