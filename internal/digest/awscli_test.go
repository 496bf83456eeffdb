package digest

// Tests against the AWS CLI's own validator (awscli/customizations/
// cloudtrail/validation.py, run by python3): what `aws cloudtrail
// validate-logs` accepts is the definition of a correct digest. These tests
// never skip: without python3 and awscli they fail.

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// pythonWithAWSCLI returns python3's path after checking that it can import
// the CLI's validation module and rsa (python-rsa, which the CLI uses).
func pythonWithAWSCLI(t *testing.T) string {
	t.Helper()
	testutil.SkipShort(t, "runs the AWS CLI's validator in Python")
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is required for this test (it runs the AWS CLI's validator): %v", err)
	}
	out, err := exec.Command(py, "-c", "import rsa, awscli.customizations.cloudtrail.validation").CombinedOutput()
	if err != nil {
		t.Fatalf("python3 cannot import the AWS CLI's validator (pip install awscli): %v\n%s", err, out)
	}
	return py
}

// pyKey is a ListPublicKeys entry as the CLI sees it (Value base64 text).
type pyKey struct {
	Fingerprint string
	Value       string
}

func pyKeys(keys []PublicKey) []pyKey {
	out := []pyKey{}
	for _, k := range keys {
		out = append(out, pyKey{Fingerprint: k.Fingerprint, Value: base64.StdEncoding.EncodeToString(k.DER)})
	}
	return out
}

type pyObject struct {
	File     string            `json:"file"`
	Metadata map[string]string `json:"metadata"`
}

type pyScenario struct {
	Name      string                         `json:"name"`
	TrailARN  string                         `json:"trail_arn"`
	Bucket    string                         `json:"bucket"`
	Prefix    string                         `json:"prefix"`
	OrgID     string                         `json:"org_id"`
	AccountID string                         `json:"account_id"`
	Region    string                         `json:"region"`
	Start     string                         `json:"start"`
	End       string                         `json:"end"`
	Keys      []pyKey                        `json:"keys"`
	Buckets   map[string]map[string]pyObject `json:"buckets"`
}

type pyDigestCase struct {
	Name       string   `json:"name"`
	Bucket     string   `json:"bucket"`
	Key        string   `json:"key"`
	Object     pyObject `json:"object"`
	AccountID  string   `json:"account_id"`
	TrailName  string   `json:"trail_name"`
	HomeRegion string   `json:"home_region"`
	Region     string   `json:"region"`
	Keys       []pyKey  `json:"keys"`
}

type pyScenarioResult struct {
	Name                   string
	ValidDigests           int `json:"valid_digests"`
	InvalidDigests         int `json:"invalid_digests"`
	ValidBackfillDigests   int `json:"valid_backfill_digests"`
	InvalidBackfillDigests int `json:"invalid_backfill_digests"`
	ValidLogs              int `json:"valid_logs"`
	InvalidLogs            int `json:"invalid_logs"`
	Stdout, Stderr         string
	Lists                  []struct{ Bucket, Marker, Prefix string }
	KeyCalls               [][]string `json:"key_calls"`
}

type pyDigestResult struct {
	Name     string
	Valid    bool
	Error    string
	End      string
	LogCount int `json:"log_count"`
}

type pySpec struct {
	Root      string         `json:"root"`
	Scenarios []pyScenario   `json:"scenarios"`
	Digests   []pyDigestCase `json:"digests"`
}

type pyResult struct {
	Scenarios []pyScenarioResult
	Digests   []pyDigestResult
}

// writer stores objects as files under root for the Python side.
type writer struct {
	t    *testing.T
	root string
	n    int
}

func (w *writer) object(body []byte, md map[string]string) pyObject {
	w.t.Helper()
	w.n++
	name := strconv.Itoa(w.n)
	if err := os.WriteFile(filepath.Join(w.root, name), body, 0o644); err != nil {
		w.t.Fatal(err)
	}
	if md == nil {
		md = map[string]string{}
	}
	return pyObject{File: name, Metadata: md}
}

func (w *writer) bucket(src *memSource) map[string]pyObject {
	out := map[string]pyObject{}
	for k, o := range src.objs {
		out[k] = w.object(o.body, o.md)
	}
	return out
}

func runPython(t *testing.T, spec pySpec) pyResult {
	t.Helper()
	py := pythonWithAWSCLI(t)
	specPath := filepath.Join(t.TempDir(), "spec.json")
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(specPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join("testdata", "awscli_validate.py"), specPath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	var res pyResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("python output: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	return res
}

// TestAWSCLIValidatorAcceptsDigest: the CLI's digest check
// (_load_and_validate_digest: fetch_digest, required fields, location,
// fingerprint, Sha256RSADigestValidator) accepts each digest Seal wrote,
// and rejects it after a one-byte change of the digest, of the signature,
// or with the key in the wrong encoding.
func TestAWSCLIValidatorAcceptsDigest(t *testing.T) {
	k := testKey(t)
	o := trailOpts("audit", "", k)
	src := newMemSource()
	ds, _ := chain(t, src, k, o, testRegion, t0, 3, standardLogs, nil)
	w := &writer{t: t, root: t.TempDir()}
	keys := pyKeys([]PublicKey{k.Public()})
	var cases []pyDigestCase
	add := func(name string, d Sealed, body []byte, md map[string]string, keys []pyKey) {
		cases = append(cases, pyDigestCase{Name: name, Bucket: o.Bucket, Key: d.File.DigestS3Object, Object: w.object(body, md),
			AccountID: o.Account, TrailName: o.TrailName, HomeRegion: o.HomeRegion, Region: testRegion, Keys: keys})
	}
	for i, d := range ds {
		add(fmt.Sprintf("digest %d", i), d, d.Body, d.Metadata, keys)
	}
	d := ds[2]
	// One byte of the JSON: a digit of the first log file's hash.
	i := bytes.Index(d.JSON, []byte(`"hashValue":"`)) + len(`"hashValue":"`)
	changed := bytes.Clone(d.JSON)
	changed[i] ^= 1 // '0'<->'1', 'a'<->'`' ... still a one-byte change
	if changed[i] < '0' || changed[i] > 'f' || (changed[i] > '9' && changed[i] < 'a') {
		changed[i] = d.JSON[i] ^ 2
	}
	body, err := Gzip(changed)
	if err != nil {
		t.Fatal(err)
	}
	add("one byte of the digest", d, body, d.Metadata, keys)
	md := map[string]string{MetaSignature: flipHex(d.Signature, 17), MetaSignatureAlgorithm: SignatureAlgorithm}
	add("one byte of the signature", d, d.Body, md, keys)
	add("no signature metadata", d, d.Body, map[string]string{MetaSignatureAlgorithm: SignatureAlgorithm}, keys)
	add("unknown key", d, d.Body, d.Metadata, pyKeys([]PublicKey{otherKey(t).Public()}))
	spki, err := x509.MarshalPKIXPublicKey(&k.Private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	add("SubjectPublicKeyInfo key", d, d.Body, d.Metadata, []pyKey{{Fingerprint: k.Fingerprint, Value: base64.StdEncoding.EncodeToString(spki)}})

	res := runPython(t, pySpec{Root: w.root, Digests: cases})
	if len(res.Digests) != len(cases) {
		t.Fatalf("%d results for %d cases", len(res.Digests), len(cases))
	}
	want := map[string]string{
		"one byte of the digest":    "INVALID: signature verification failed",
		"one byte of the signature": "INVALID: signature verification failed",
		"no signature metadata":     "INVALID: signature verification failed",
		"unknown key":               "INVALID: public key not found in region us-east-1 for fingerprint " + k.Fingerprint,
		"SubjectPublicKeyInfo key":  "INVALID: Unable to load PKCS #1 key with fingerprint " + k.Fingerprint,
	}
	for j, r := range res.Digests {
		if j < len(ds) {
			wantEnd := ds[j].File.DigestEndTime.Format("2006-01-02T15:04:05+00:00")
			if !r.Valid || r.End != wantEnd || r.LogCount != len(ds[j].File.LogFiles) {
				t.Errorf("%s: the AWS CLI does not accept it: %+v", r.Name, r)
			}
			continue
		}
		if r.Valid || !strings.HasSuffix(r.Error, "\t"+want[r.Name]) {
			t.Errorf("%s: AWS CLI says valid=%v %q, want %q", r.Name, r.Valid, r.Error, want[r.Name])
		}
	}
}

// cliCase is a bucket snapshot checked by both the CLI and Verify.
type cliCase struct {
	name       string
	src        *memSource
	o          Options // o.Start, o.End, o.Regions[0] are the CLI's arguments
	cli        [4]int  // valid digests (incl. backfill), invalid digests, valid logs, invalid logs
	sameCounts bool    // Verify's counts equal the CLI's
	verifyOK   bool
	cliStderr  string // the CLI reports this (when not "")
}

// cliCases builds the scenarios of TestAWSCLIAgreesWithVerify.
func cliCases(t *testing.T) []cliCase {
	k := testKey(t)
	base := func(prefix, org string) (*memSource, Options, []Sealed, [][]string) {
		src := newMemSource()
		o := trailOpts(prefix, org, k)
		ds, logs := chain(t, src, k, o, testRegion, t0, 3, standardLogs, nil)
		return src, verifyOpts(o, 3), ds, logs
	}
	var cases []cliCase
	{
		src, o, _, _ := base("", "")
		cases = append(cases, cliCase{name: "valid", src: src, o: o, cli: [4]int{3, 0, 5, 0}, sameCounts: true, verifyOK: true})
	}
	{
		_, o, _, _ := base("audit/logs", "o-abc123def4")
		o.Account = "444455556666" // a member account of the organization
		src := newMemSource()
		chain(t, src, k, o, testRegion, t0, 3, standardLogs, nil)
		cases = append(cases, cliCase{name: "organization trail with prefix", src: src, o: o, cli: [4]int{3, 0, 5, 0}, sameCounts: true, verifyOK: true})
	}
	{
		src := newMemSource()
		o := trailOpts("", "", k)
		chain(t, src, k, o, testRegion, t0, 3, func(int) int { return 0 }, nil)
		cases = append(cases, cliCase{name: "empty digests", src: src, o: verifyOpts(o, 3), cli: [4]int{3, 0, 0, 0}, sameCounts: true, verifyOK: true})
	}
	{
		src := newMemSource()
		o := trailOpts("", "", k)
		chain(t, src, k, o, testRegion, t0, 2, standardLogs, nil)
		chain(t, src, k, o, testRegion, t0.Add(5*time.Hour), 2, standardLogs, nil)
		cases = append(cases, cliCase{name: "restarted chain", src: src, o: verifyOpts(o, 7), cli: [4]int{4, 0, 4, 0}, sameCounts: true, verifyOK: true,
			cliStderr: "No log files were delivered by CloudTrail between 2026-11-26T10:17:28Z and 2026-11-26T13:17:28Z"})
	}
	{
		src, o, _, _ := base("", "")
		o.Start, o.End = t0.Add(time.Hour+30*time.Minute), t0.Add(2*time.Hour+10*time.Minute)
		cases = append(cases, cliCase{name: "range", src: src, o: o, cli: [4]int{2, 0, 3, 0}, sameCounts: true, verifyOK: true})
	}
	{
		src, o, ds, _ := base("", "")
		src.del(ds[1].File.DigestS3Object)
		cases = append(cases, cliCase{name: "missing digest", src: src, o: o, cli: [4]int{2, 1, 5, 0}, sameCounts: true,
			cliStderr: s3Path(o.Bucket, ds[1].File.DigestS3Object) + "\tINVALID: not found"})
	}
	{
		src, o, _, logs := base("", "")
		body, _ := Gzip([]byte(`{"Records":[]}`))
		src.put(logs[2][0], body, nil)
		cases = append(cases, cliCase{name: "changed log", src: src, o: o, cli: [4]int{3, 0, 4, 1}, sameCounts: true,
			cliStderr: s3Path(o.Bucket, logs[2][0]) + "\tINVALID: hash value doesn't match"})
	}
	{
		src, o, _, logs := base("", "")
		src.del(logs[0][1])
		cases = append(cases, cliCase{name: "missing log", src: src, o: o, cli: [4]int{3, 0, 4, 1}, sameCounts: true,
			cliStderr: s3Path(o.Bucket, logs[0][1]) + "\tINVALID: not found"})
	}
	{
		src, o, ds, _ := base("", "")
		ob := src.obj(ds[2].File.DigestS3Object)
		ob.md[MetaSignature] = flipHex(ob.md[MetaSignature], 3)
		src.put(ds[2].File.DigestS3Object, ob.body, ob.md)
		cases = append(cases, cliCase{name: "bad signature", src: src, o: o, cli: [4]int{2, 1, 2, 0}, sameCounts: true,
			cliStderr: s3Path(o.Bucket, ds[2].File.DigestS3Object) + "\tINVALID: signature verification failed"})
	}
	{
		src, o, ds, _ := base("", "")
		ob := src.obj(ds[0].File.DigestS3Object)
		src.put(ds[1].File.DigestS3Object, ob.body, ob.md)
		cases = append(cases, cliCase{name: "moved digest", src: src, o: o, cli: [4]int{2, 1, 5, 0}, sameCounts: true,
			cliStderr: s3Path(o.Bucket, ds[1].File.DigestS3Object) + "\tINVALID: has been moved from its original location"})
	}
	{
		src, o, _, _ := base("", "")
		o.Keys = []PublicKey{otherKey(t).Public()}
		cases = append(cases, cliCase{name: "unknown key", src: src, o: o, cli: [4]int{0, 3, 0, 0}, sameCounts: true,
			cliStderr: "INVALID: public key not found in region us-east-1 for fingerprint " + k.Fingerprint})
	}
	{
		// What a Go S3 server sends with Header.Set: X-Amz-Meta-Signature,
		// which botocore turns into Metadata["Signature"].
		src, o, ds, _ := base("", "")
		ob := src.obj(ds[0].File.DigestS3Object)
		src.put(ds[0].File.DigestS3Object, ob.body, map[string]string{"Signature": ob.md[MetaSignature], "Signature-Algorithm": SignatureAlgorithm})
		cases = append(cases, cliCase{name: "metadata keys not lower case", src: src, o: o, cli: [4]int{2, 1, 3, 0}, sameCounts: true,
			cliStderr: s3Path(o.Bucket, ds[0].File.DigestS3Object) + "\tINVALID: signature verification failed"})
	}
	{
		// The CLI in this environment hashes only the first gzip member of
		// a log file: appended records pass. Verify (and newer CLIs) do not.
		src, o, _, logs := base("", "")
		ob := src.obj(logs[0][0])
		extra, _ := Gzip([]byte(`{"Records":[{"eventName":"Hidden"}]}`))
		src.put(logs[0][0], append(ob.body, extra...), nil)
		cases = append(cases, cliCase{name: "log with a second gzip member", src: src, o: o, cli: [4]int{3, 0, 5, 0}})
	}
	{
		// Digest 1 delivered again with other, validly signed, content: the
		// CLI does not check previousDigestHashValue; Verify does.
		src, o, ds, _ := base("", "")
		f := ds[1].File
		f.LogFiles = ds[0].File.LogFiles
		reseal(t, src, k, f, &ds[0])
		cases = append(cases, cliCase{name: "previous digest re-signed", src: src, o: o, cli: [4]int{3, 0, 7, 0}})
	}
	{
		// Linked digests that leave 10 minutes uncovered: the CLI does not
		// compare times; Verify reports a gap (the files are all valid).
		src, o, ds, _ := base("", "")
		f := ds[2].File
		f.DigestStartTime = f.DigestStartTime.Add(10 * time.Minute)
		reseal(t, src, k, f, &ds[1])
		cases = append(cases, cliCase{name: "gap", src: src, o: o, cli: [4]int{3, 0, 5, 0}, sameCounts: true})
	}
	{
		src, o, _, _ := base("", "")
		f := File{AWSAccountID: o.Account, DigestStartTime: t0, DigestEndTime: t0.Add(time.Hour), DigestS3Bucket: o.Bucket}
		f.DigestS3Object = strings.TrimSuffix(DigestKey("", "", o.Account, testRegion, o.TrailName, o.HomeRegion, f.DigestEndTime), ".json.gz") + "_backfill.json.gz"
		d, err := Seal(k, f, nil)
		if err != nil {
			t.Fatal(err)
		}
		src.put(f.DigestS3Object, d.Body, map[string]string{MetaSignature: d.Signature, MetaSignatureAlgorithm: SignatureAlgorithm,
			MetaBackfillTimestamp: "2026-11-26T12:00:00Z"})
		cases = append(cases, cliCase{name: "backfill digest", src: src, o: o, cli: [4]int{4, 0, 5, 0}, sameCounts: true, verifyOK: true})
	}
	return cases
}

// TestAWSCLIAgreesWithVerify runs the CLI's validate-logs code and Verify
// on the same bucket snapshots: the CLI accepts Cairn's chains, and both
// find the same damage (Verify also finds some the CLI does not).
func TestAWSCLIAgreesWithVerify(t *testing.T) {
	cases := cliCases(t)
	w := &writer{t: t, root: t.TempDir()}
	spec := pySpec{Root: w.root}
	for _, c := range cases {
		arn := fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", c.o.HomeRegion, c.o.Account, c.o.TrailName)
		if c.o.OrgID != "" {
			arn = fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", c.o.HomeRegion, "111122223333", c.o.TrailName) // the management account's trail
		}
		spec.Scenarios = append(spec.Scenarios, pyScenario{Name: c.name, TrailARN: arn, Bucket: c.o.Bucket, Prefix: c.o.Prefix,
			OrgID: c.o.OrgID, AccountID: c.o.Account, Region: c.o.Regions[0], Start: formatTime(c.o.Start), End: formatTime(c.o.End),
			Keys: pyKeys(c.o.Keys), Buckets: map[string]map[string]pyObject{c.o.Bucket: w.bucket(c.src)}})
	}
	res := runPython(t, spec)
	if len(res.Scenarios) != len(cases) {
		t.Fatalf("%d results for %d scenarios", len(res.Scenarios), len(cases))
	}
	for i, c := range cases {
		r := res.Scenarios[i]
		t.Run(c.name, func(t *testing.T) {
			cli := [4]int{r.ValidDigests + r.ValidBackfillDigests, r.InvalidDigests + r.InvalidBackfillDigests, r.ValidLogs, r.InvalidLogs}
			if cli != c.cli {
				t.Errorf("AWS CLI counts %v, want %v\nstdout:\n%s\nstderr:\n%s", cli, c.cli, r.Stdout, r.Stderr)
			}
			if c.cliStderr != "" && !strings.Contains(r.Stderr, c.cliStderr) {
				t.Errorf("AWS CLI stderr lacks %q:\n%s", c.cliStderr, r.Stderr)
			}
			if c.cli[1] == 0 && c.cli[3] == 0 && !strings.Contains(r.Stdout, fmt.Sprintf("%d/%d digest files valid", r.ValidDigests, r.ValidDigests)) {
				t.Errorf("AWS CLI stdout:\n%s", r.Stdout)
			}
			// The CLI listed what DigestPrefix says, from the marker of
			// Start-1m, and asked for keys in [Start, End+2h].
			wantPrefix := DigestPrefix(c.o.Prefix, c.o.OrgID, c.o.Account, c.o.Regions[0])
			wantMarker := DigestKey(c.o.Prefix, c.o.OrgID, c.o.Account, c.o.Regions[0], c.o.TrailName, c.o.HomeRegion, c.o.Start.Add(-time.Minute))
			if len(r.Lists) != 1 || r.Lists[0].Prefix != wantPrefix || r.Lists[0].Marker != wantMarker {
				t.Errorf("AWS CLI listed %+v, want prefix %s marker %s", r.Lists, wantPrefix, wantMarker)
			}
			if len(r.KeyCalls) < 1 || r.KeyCalls[0][0] != c.o.Start.Format("2006-01-02T15:04:05+00:00") ||
				r.KeyCalls[0][1] != c.o.End.Add(2*time.Hour).Format("2006-01-02T15:04:05+00:00") {
				t.Errorf("ListPublicKeys calls %v", r.KeyCalls)
			}

			rep := mustVerify(t, c.src, c.o)
			got := [4]int{rep.DigestsValid, rep.DigestsInvalid, rep.LogsValid, rep.LogsInvalid}
			if c.sameCounts && got != cli {
				t.Errorf("Verify counts %v, the AWS CLI's %v\n%s\nCLI stderr:\n%s", got, cli, dumpReport(rep), r.Stderr)
			}
			if rep.OK() != c.verifyOK {
				t.Errorf("Verify OK = %v, want %v\n%s", rep.OK(), c.verifyOK, dumpReport(rep))
			}
		})
	}
}
