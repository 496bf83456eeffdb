package digest

// The real `aws cloudtrail validate-logs` command, end to end, against a
// minimal S3 (path style: GetBucketLocation, ListObjects v1, GetObject) and
// CloudTrail (ListPublicKeys) served from memory.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// fakeAWS serves one bucket and one region's public keys.
type fakeAWS struct {
	t      *testing.T
	bucket string
	region string
	src    *memSource
	keys   []PublicKey
	// canonicalMeta sends user metadata as Go's Header.Set would
	// (X-Amz-Meta-Signature) instead of lower case, as S3 does.
	canonicalMeta bool

	mu       sync.Mutex
	requests []string
}

func (f *fakeAWS) log(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, s)
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		f.cloudTrail(w, r, target)
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	switch {
	case r.Method != http.MethodGet || bucket != f.bucket:
		f.log("unexpected " + r.Method + " " + r.URL.String())
		s3Error(w, http.StatusNotFound, "NoSuchBucket")
	case key == "" && q.Has("location"):
		f.log("GetBucketLocation")
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">%s</LocationConstraint>`, f.region)
	case key == "":
		f.log("ListObjects prefix=" + q.Get("prefix") + " marker=" + q.Get("marker"))
		f.list(w, q.Get("prefix"), q.Get("marker"))
	default:
		f.log("GetObject " + key)
		body, md, err := f.src.Get(r.Context(), key)
		if err != nil {
			s3Error(w, http.StatusNotFound, "NoSuchKey")
			return
		}
		h := w.Header()
		for k, v := range md {
			if f.canonicalMeta {
				h.Set("x-amz-meta-"+k, v)
			} else {
				h["x-amz-meta-"+k] = []string{v} // as S3 sends them
			}
		}
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", fmt.Sprint(len(body)))
		h.Set("ETag", `"0123456789abcdef0123456789abcdef"`)
		h.Set("Last-Modified", "Thu, 26 Nov 2026 09:00:00 GMT")
		w.Write(body)
	}
}

func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error><Code>%s</Code><Message>%s</Message></Error>`, code, code)
}

func (f *fakeAWS) list(w http.ResponseWriter, prefix, marker string) {
	type content struct {
		Key          string
		LastModified string
		ETag         string
		Size         int
		StorageClass string
	}
	type result struct {
		XMLName     xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
		Name        string
		Prefix      string
		Marker      string
		MaxKeys     int
		IsTruncated bool
		Contents    []content
	}
	keys, _ := f.src.List(context.Background(), prefix)
	slices.Sort(keys)
	res := result{Name: f.bucket, Prefix: prefix, Marker: marker, MaxKeys: 1000}
	for _, k := range keys {
		if k > marker {
			o := f.src.obj(k)
			res.Contents = append(res.Contents, content{Key: k, LastModified: "2026-11-26T09:00:00.000Z", ETag: `"0123456789abcdef0123456789abcdef"`, Size: len(o.body), StorageClass: "STANDARD"})
		}
	}
	w.Header().Set("Content-Type", "application/xml")
	b, err := xml.Marshal(res)
	if err != nil {
		f.t.Error(err)
	}
	w.Write([]byte(xml.Header))
	w.Write(b)
}

func (f *fakeAWS) cloudTrail(w http.ResponseWriter, r *http.Request, target string) {
	op := target[strings.LastIndex(target, ".")+1:]
	f.log("CloudTrail " + op)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if op != "ListPublicKeys" {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"UnsupportedOperationException","message":"%s"}`, op)
		return
	}
	type key struct {
		Value             string
		ValidityStartTime float64
		ValidityEndTime   float64
		Fingerprint       string
	}
	var list []key
	for _, k := range f.keys {
		list = append(list, key{Value: base64.StdEncoding.EncodeToString(k.DER), ValidityStartTime: float64(k.ValidFrom.Unix()),
			ValidityEndTime: float64(k.ValidTo.Unix()), Fingerprint: k.Fingerprint})
	}
	json.NewEncoder(w).Encode(map[string]any{"PublicKeyList": list})
}

// awsEnv is the environment for the AWS CLI: the machine's AWS settings
// removed, S3 sent to url (validate-logs does not pass --endpoint-url to its
// S3 clients; botocore's AWS_ENDPOINT_URL_S3 reaches them).
func awsEnv(t *testing.T, url string) []string {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte("[default]\ns3 =\n    addressing_style = path\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || strings.EqualFold(name, "http_proxy") || strings.EqualFold(name, "https_proxy") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"AWS_ACCESS_KEY_ID=AKIDCAIRNTEST",
		"AWS_SECRET_ACCESS_KEY=cairn-test-secret",
		"AWS_CONFIG_FILE="+cfg,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "nonexistent-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
		"AWS_PAGER=",
		"AWS_ENDPOINT_URL_S3="+url,
		"NO_PROXY=127.0.0.1,localhost",
		"no_proxy=127.0.0.1,localhost",
	)
}

func TestAWSCLIValidateLogsCommand(t *testing.T) {
	testutil.SkipShort(t, "runs the AWS CLI")
	aws, err := exec.LookPath("aws")
	if err != nil {
		t.Fatalf("the AWS CLI (aws) is required for this test: %v", err)
	}
	k := testKey(t)
	o := trailOpts("audit", "", k)
	src := newMemSource()
	ds, logs := chain(t, src, k, o, testRegion, t0, 3, standardLogs, nil)
	nlogs := 0
	for _, l := range logs {
		nlogs += len(l)
	}

	run := func(t *testing.T, fake *fakeAWS) (stdout, stderr string, code int) {
		srv := httptest.NewServer(fake)
		defer srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, aws, "--endpoint-url", srv.URL, "--region", testRegion, "cloudtrail", "validate-logs",
			"--trail-arn", "arn:aws:cloudtrail:us-east-1:"+o.Account+":trail/"+o.TrailName,
			"--s3-bucket", o.Bucket, "--s3-prefix", o.Prefix,
			"--start-time", formatTime(t0), "--end-time", formatTime(t0.Add(3*time.Hour)), "--verbose")
		cmd.Env = awsEnv(t, srv.URL)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}

	t.Run("valid", func(t *testing.T) {
		fake := &fakeAWS{t: t, bucket: o.Bucket, region: testRegion, src: src, keys: []PublicKey{k.Public()}}
		stdout, stderr, code := run(t, fake)
		if code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s\nrequests: %q", code, stdout, stderr, fake.requests)
		}
		for _, want := range []string{
			fmt.Sprintf("%d/%d digest files valid", len(ds), len(ds)),
			fmt.Sprintf("%d/%d log files valid", nlogs, nlogs),
			"Results found for 2026-11-26T08:17:28Z to 2026-11-26T11:17:28Z:",
			"Digest file\t" + s3Path(o.Bucket, ds[2].File.DigestS3Object) + "\tvalid",
			"Log file\t" + s3Path(o.Bucket, logs[0][0]) + "\tvalid",
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
		marker := DigestKey(o.Prefix, "", o.Account, testRegion, o.TrailName, o.HomeRegion, t0.Add(-time.Minute))
		for _, want := range []string{"CloudTrail ListPublicKeys", "GetBucketLocation",
			"ListObjects prefix=" + DigestPrefix(o.Prefix, "", o.Account, testRegion) + " marker=" + marker} {
			if !slices.Contains(fake.requests, want) {
				t.Errorf("no request %q in %q", want, fake.requests)
			}
		}
	})

	t.Run("metadata headers in Go's canonical case", func(t *testing.T) {
		fake := &fakeAWS{t: t, bucket: o.Bucket, region: testRegion, src: src, keys: []PublicKey{k.Public()}, canonicalMeta: true}
		stdout, stderr, code := run(t, fake)
		if code != 1 || strings.Count(stderr, "INVALID: signature verification failed") != len(ds) {
			t.Errorf("exit %d, want 1 and every digest INVALID\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
}
