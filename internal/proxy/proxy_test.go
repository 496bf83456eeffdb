package proxy

// Pass-through tests: what the client sends reaches the upstream unchanged
// and what the upstream answers reaches the client unchanged (bodies of any
// size streamed, the Host and the raw path the client signed, encodings),
// and recording never slows or breaks the call.

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
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/cairn-audit/cairn/internal/sigv4"
	"github.com/cairn-audit/cairn/internal/spool"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// Credentials the tests sign with.
const (
	testKey    = "AKIATESTPROXY0000001"
	testSecret = "proxy-test-secret-key-0001"
	testToken  = "FQoGZXIvYXdzEXAMPLESESSIONTOKENvalue0001"
)

// testCreds resolves testKey for sigv4.Verify.
type testCreds struct{}

func (testCreds) SecretFor(k string) (string, bool) { return testSecret, k == testKey }

// memRecorder keeps records in memory. A non-nil block holds every Append
// until it is closed; err makes every Append fail.
type memRecorder struct {
	mu    sync.Mutex
	recs  [][]byte
	block chan struct{}
	err   error
	calls int
}

func (m *memRecorder) Append(records ...[]byte) error {
	if m.block != nil {
		<-m.block
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.err != nil {
		return m.err
	}
	for _, r := range records {
		m.recs = append(m.recs, append([]byte(nil), r...))
	}
	return nil
}

func (m *memRecorder) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.recs)
}

// wait returns the first n records (decoded) once there are n, failing the
// test after 10 s.
func (m *memRecorder) wait(t testing.TB, n int) []map[string]any {
	t.Helper()
	testutil.WaitForEvery(t, 10*time.Second, 5*time.Millisecond, func() (bool, string) {
		have := m.count()
		return have >= n, fmt.Sprintf("the recorder holds %d events, want %d", have, n)
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]map[string]any, n)
	for i := range n {
		if err := json.Unmarshal(m.recs[i], &out[i]); err != nil {
			t.Fatalf("record %d is not JSON: %v\n%s", i, err, m.recs[i])
		}
	}
	return out
}

// raw returns record i as recorded.
func (m *memRecorder) raw(i int) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return string(m.recs[i])
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTestProxy starts a proxy in front of upstream (a URL) and returns its
// URL. opts may change the options before New.
func newTestProxy(t testing.TB, upstream string, rec Recorder, opts func(*Options)) string {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Upstream: u, Recorder: rec}
	if opts != nil {
		opts(&o)
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(p)
	t.Cleanup(func() {
		front.Close() // waits for the handlers
		p.Close()
	})
	return front.URL
}

// plainClient sends requests as they are: no transparent compression, no
// connection reuse surprises between tests.
func plainClient() *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableCompression: true}}
}

// sign signs req with SigV4 for service and region (S3 paths unescaped, as
// the S3 client does). payload is the body's hex SHA-256 or UNSIGNED-PAYLOAD.
func sign(t testing.TB, req *http.Request, payload, service, region string, token string) {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", payload)
	err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" }).SignHTTP(
		context.Background(), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret, SessionToken: token},
		req, payload, service, region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// randomBytes is n deterministic pseudo-random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1, 2, 3})
	r.Read(b)
	return b
}

// TestProxyLargeUploadUnchanged: a 20 MB PutObject streams through byte
// for byte, the upstream verifies the client's signature, and the proxy
// keeps no more than its capture limit of the body.
func TestProxyLargeUploadUnchanged(t *testing.T) {
	const size = 20_000_000
	body := randomBytes(size)
	want := sha(body)

	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := sigv4.Verify(r, nil, testCreds{}, "s3", time.Now()); err != nil {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, "<Error><Code>SignatureDoesNotMatch</Code><Message>%s</Message></Error>", err)
			return
		}
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Test-Received-Sha256", hex.EncodeToString(h.Sum(nil)))
		w.Header().Set("X-Test-Received-Bytes", fmt.Sprint(n))
		w.Header().Set("ETag", `"abc"`)
		w.Header().Set("X-Amz-Request-Id", "REQ-UPLOAD")
	}))
	defer upstream.Close()
	rec := &memRecorder{}
	front := newTestProxy(t, upstream.URL, rec, nil)

	req, _ := http.NewRequest(http.MethodPut, front+"/big-bucket/dir/big.bin", bytes.NewReader(body))
	req.ContentLength = size
	sign(t, req, "UNSIGNED-PAYLOAD", "s3", "us-west-2", "")

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, err := plainClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	evs := rec.wait(t, 1)
	runtime.ReadMemStats(&after)

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT through the proxy: HTTP %d (the upstream could not verify the signature?)", resp.StatusCode)
	}
	if got := resp.Header.Get("X-Test-Received-Sha256"); got != want {
		t.Errorf("upstream received a body with SHA-256 %s, want %s", got, want)
	}
	if got := resp.Header.Get("X-Test-Received-Bytes"); got != fmt.Sprint(size) {
		t.Errorf("upstream received %s bytes, want %d", got, size)
	}
	// Client, proxy and upstream share this process; copying 20 MB through
	// 32 KiB buffers allocates little (the capture's 1 MiB and its copies
	// included); buffering it would allocate at least the 20 MB.
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("a %d-byte upload through the proxy allocated %d bytes in this process", size, alloc)
	if alloc > size*3/4 {
		t.Errorf("a %d-byte upload allocated %d bytes: the body is being buffered, not streamed", size, alloc)
	}
	e := evs[0]
	if e["eventName"] != "PutObject" || e["eventSource"] != "s3.amazonaws.com" || e["eventCategory"] != "Data" {
		t.Errorf("event = %v %v %v, want PutObject s3.amazonaws.com Data", e["eventName"], e["eventSource"], e["eventCategory"])
	}
	if p, _ := e["requestParameters"].(map[string]any); p["bucketName"] != "big-bucket" || p["key"] != "dir/big.bin" {
		t.Errorf("requestParameters = %v, want bucketName big-bucket, key dir/big.bin", e["requestParameters"])
	}
	if n := len(rec.raw(0)); n > 64<<10 {
		t.Errorf("the event of a 20 MB upload is %d bytes", n)
	}
}

// TestProxyCaptureKeepsOnlyTheLimit: the capture passes every byte on and
// keeps only the first MaxCapture bytes.
func TestProxyCaptureKeepsOnlyTheLimit(t *testing.T) {
	const size = 20_000_000
	body := randomBytes(size)
	c := newCapture(io.NopCloser(bytes.NewReader(body)), DefaultMaxCapture, nil)
	h := sha256.New()
	n, err := io.CopyBuffer(h, c, make([]byte, 7919)) // odd reads straddle the limit
	if err != nil || n != size {
		t.Fatalf("copied %d bytes, err %v; want %d", n, err, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha(body) {
		t.Errorf("bytes through the capture differ from the body")
	}
	kept := c.bytes()
	if len(kept) != DefaultMaxCapture || !c.truncated {
		t.Errorf("capture kept %d bytes (truncated %v), want %d (true)", len(kept), c.truncated, DefaultMaxCapture)
	}
	if !bytes.Equal(kept, body[:DefaultMaxCapture]) {
		t.Errorf("capture kept bytes that are not the body's first MiB")
	}
	if c.buf.Cap() > 2*DefaultMaxCapture {
		t.Errorf("capture buffer grew to %d bytes", c.buf.Cap())
	}

	small := newCapture(io.NopCloser(strings.NewReader("hello")), DefaultMaxCapture, nil)
	io.Copy(io.Discard, small)
	if string(small.bytes()) != "hello" || small.truncated {
		t.Errorf("small body: kept %q truncated %v", small.bytes(), small.truncated)
	}
}

// TestProxyLargeDownloadUnchanged: a 20 MB response reaches the client byte
// for byte, with the upstream's headers.
func TestProxyLargeDownloadUnchanged(t *testing.T) {
	const size = 20_000_000
	body := randomBytes(size)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("ETag", `"big-etag"`)
		w.Header().Set("X-Amz-Meta-Owner", "team-a")
		w.Header().Set("Content-Length", fmt.Sprint(size))
		w.Write(body)
	}))
	defer upstream.Close()
	rec := &memRecorder{}
	front := newTestProxy(t, upstream.URL, rec, nil)

	req, _ := http.NewRequest(http.MethodGet, front+"/big-bucket/big.bin", nil)
	sign(t, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", "")
	resp, err := plainClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != sha(body) {
		t.Errorf("client received %d bytes (err %v), not the upstream's %d", n, err, size)
	}
	if resp.ContentLength != size || resp.Header.Get("ETag") != `"big-etag"` || resp.Header.Get("X-Amz-Meta-Owner") != "team-a" {
		t.Errorf("response headers changed: Content-Length %d, %v", resp.ContentLength, resp.Header)
	}
	e := rec.wait(t, 1)[0]
	if e["eventName"] != "GetObject" || e["readOnly"] != true {
		t.Errorf("event %v readOnly %v, want GetObject true", e["eventName"], e["readOnly"])
	}
}

// TestProxyStreamsRequestBody: the upstream gets the first part of a body
// before the client has written the rest.
func TestProxyStreamsRequestBody(t *testing.T) {
	gotFirst := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := make([]byte, 64<<10)
		if _, err := io.ReadFull(r.Body, first); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		close(gotFirst)
		rest, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%d", len(first)+len(rest))
	}))
	defer upstream.Close()
	front := newTestProxy(t, upstream.URL, &memRecorder{}, nil)

	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		if _, err := pw.Write(make([]byte, 64<<10)); err != nil {
			errc <- err
			return
		}
		select {
		case <-gotFirst:
		case <-time.After(10 * time.Second):
			pw.CloseWithError(errors.New("the upstream never saw the first 64 KiB: the proxy buffers request bodies"))
			errc <- nil
			return
		}
		_, err := pw.Write(make([]byte, 1<<20))
		pw.CloseWithError(err)
		errc <- err
	}()
	req, _ := http.NewRequest(http.MethodPut, front+"/stream-bucket/obj", pr)
	resp, err := plainClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if string(b) != fmt.Sprint(64<<10+1<<20) {
		t.Errorf("upstream read %s bytes, want %d", b, 64<<10+1<<20)
	}
}

// TestProxyStreamsResponseBody: the client gets the first part of a
// response before the upstream has written the rest.
func TestProxyStreamsResponseBody(t *testing.T) {
	clientGotFirst := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-clientGotFirst:
			io.WriteString(w, "second\n")
		case <-time.After(10 * time.Second):
			io.WriteString(w, "timeout\n")
		}
	}))
	defer upstream.Close()
	rec := &memRecorder{}
	front := newTestProxy(t, upstream.URL, rec, nil)

	resp, err := plainClient().Get(front + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, len("first\n"))
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first\n" {
		t.Fatalf("first chunk %q, %v", buf, err)
	}
	close(clientGotFirst)
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "second\n" {
		t.Errorf("after the first chunk the client got %q, want %q (the proxy held the response back)", rest, "second\n")
	}
	rec.wait(t, 1)
}

// TestProxyKeepsHostPathAndSignature: a virtual-hosted S3 request reaches
// the upstream with the Host and the exact request target the client
// signed, so the upstream accepts the signature; the event names the
// bucket of the Host.
func TestProxyKeepsHostPathAndSignature(t *testing.T) {
	type seen struct {
		host, uri, verifyErr string
		body                 []byte
	}
	got := make(chan seen, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s := seen{host: r.Host, uri: r.RequestURI, body: b}
		if _, err := sigv4.Verify(r, b, testCreds{}, "s3", time.Now()); err != nil {
			s.verifyErr = err.Error()
		}
		got <- s
		w.Header().Set("ETag", `"e"`)
	}))
	defer upstream.Close()
	rec := &memRecorder{}
	front := newTestProxy(t, upstream.URL, rec, nil)

	const host = "my-bucket.s3.us-west-2.amazonaws.com"
	const target = "/dir/a%20b%2Bc%21%28%29%27%2A~.txt?x-id=PutObject"
	body := []byte("some object bytes")
	req, _ := http.NewRequest(http.MethodPut, front+target, bytes.NewReader(body))
	req.Host = host
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("X-Amz-Meta-Purpose", "host-test")
	sign(t, req, sha(body), "s3", "us-west-2", "")
	resp, err := plainClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s := <-got
	if s.host != host {
		t.Errorf("upstream got Host %q, want the signed %q", s.host, host)
	}
	if s.uri != target {
		t.Errorf("upstream got request target %q, want %q", s.uri, target)
	}
	if s.verifyErr != "" {
		t.Errorf("upstream refused the client's signature: %s", s.verifyErr)
	}
	if !bytes.Equal(s.body, body) {
		t.Errorf("upstream got body %q, want %q", s.body, body)
	}
	e := rec.wait(t, 1)[0]
	p, _ := e["requestParameters"].(map[string]any)
	if e["eventName"] != "PutObject" {
		t.Errorf("eventName %v, want PutObject", e["eventName"])
	}
	if p["bucketName"] != "my-bucket" || p["key"] != "dir/a b+c!()'*~.txt" {
		t.Errorf("requestParameters = %v, want bucketName my-bucket and the decoded key", p)
	}
	if e["awsRegion"] != "us-west-2" {
		t.Errorf("awsRegion %v, want us-west-2 (the signature's scope)", e["awsRegion"])
	}
}

// TestProxyKeepsCompressedResponse: a client that asks for no encoding gets
// the upstream's bytes as they are, also when they are gzip (an S3 object
// stored with Content-Encoding: gzip is served so whatever the request
// says); the proxy must not decompress them on the client's behalf.
func TestProxyKeepsCompressedResponse(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Repeat([]byte(`{"Records":[]}`), 1000))
	zw.Close()
	stored := gz.Bytes()
	sawAcceptEncoding := make(chan string, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAcceptEncoding <- r.Header.Get("Accept-Encoding")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(stored)))
		w.Write(stored)
	}))
	defer upstream.Close()
	front := newTestProxy(t, upstream.URL, &memRecorder{}, nil)

	for _, base := range []string{upstream.URL, front} {
		req, _ := http.NewRequest(http.MethodGet, base+"/logs/file.json.gz", nil)
		resp, err := plainClient().Do(req) // sends no Accept-Encoding
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		via := "direct"
		if base == front {
			via = "through the proxy"
		}
		if ae := <-sawAcceptEncoding; ae != "" {
			t.Errorf("%s: the upstream got Accept-Encoding %q; the client sent none", via, ae)
		}
		if !bytes.Equal(b, stored) || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: client got %d bytes with Content-Encoding %q, want the stored %d gzip bytes",
				via, len(b), resp.Header.Get("Content-Encoding"), len(stored))
		}
	}
}

// TestProxyRecordingNeverBlocksTheCall: a recorder that hangs does not
// hold up calls, and one that fails does not break them.
func TestProxyRecordingNeverBlocksTheCall(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		io.WriteString(w, `{"TableNames":[]}`)
	}))
	defer upstream.Close()
	call := func(front string) int {
		req, _ := http.NewRequest(http.MethodPost, front+"/", strings.NewReader(`{}`))
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		sign(t, req, sha([]byte(`{}`)), "dynamodb", "us-east-1", "")
		resp, err := plainClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	t.Run("hanging recorder", func(t *testing.T) {
		rec := &memRecorder{block: make(chan struct{})}
		front := newTestProxy(t, upstream.URL, rec, nil)
		start := time.Now()
		for i := 0; i < 20; i++ {
			if code := call(front); code != http.StatusOK {
				t.Fatalf("call %d: HTTP %d", i, code)
			}
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("20 calls took %s while the recorder hung", took)
		}
		if n := rec.count(); n != 0 {
			t.Fatalf("%d events recorded while the recorder hung", n)
		}
		close(rec.block)
		rec.wait(t, 20) // nothing was dropped
	})

	t.Run("failing recorder", func(t *testing.T) {
		logs := &syncBuffer{}
		rec := &memRecorder{err: errors.New("disk on fire")}
		front := newTestProxy(t, upstream.URL, rec, func(o *Options) {
			o.Log = slog.New(slog.NewTextHandler(logs, nil))
		})
		for i := 0; i < 5; i++ {
			if code := call(front); code != http.StatusOK {
				t.Fatalf("call %d: HTTP %d with a failing recorder", i, code)
			}
		}
		testutil.PollEvery(10*time.Second, 10*time.Millisecond, func() (bool, string) {
			return strings.Contains(logs.String(), "disk on fire"), ""
		})
		if !strings.Contains(logs.String(), "event not spooled") || !strings.Contains(logs.String(), "disk on fire") {
			t.Errorf("a failed Append is not logged:\n%s", logs)
		}
	})
}

// TestProxySpoolFullKeepsServing: when the spool is full calls still go
// through, and the spool says clearly that it refuses records.
func TestProxySpoolFullKeepsServing(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{}`)
	}))
	defer upstream.Close()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	sp, err := spool.Open(t.TempDir(), spool.Options{MaxBytes: 4 << 10, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	front := newTestProxy(t, upstream.URL, sp, func(o *Options) { o.Log = log })
	for i := 0; i < 30; i++ {
		req, _ := http.NewRequest(http.MethodPost, front+"/", strings.NewReader(`{"QueueName":"q"}`))
		req.Header.Set("X-Amz-Target", "AmazonSQS.CreateQueue")
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		sign(t, req, sha([]byte(`{"QueueName":"q"}`)), "sqs", "us-east-1", "")
		resp, err := plainClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("call %d with a full spool: HTTP %d", i, resp.StatusCode)
		}
	}
	testutil.PollEvery(10*time.Second, 10*time.Millisecond, func() (bool, string) { return sp.Stats().Full, "" })
	st := sp.Stats()
	if !st.Full || st.PendingBytes > 4<<10 {
		t.Errorf("spool stats %+v: want full, at most 4 KiB pending", st)
	}
	if !strings.Contains(logs.String(), "spool full") {
		t.Errorf("no \"spool full\" log line:\n%s", logs)
	}
}

// TestProxyUpstreamDown: the client gets 502 and the call is recorded with
// an error code.
func TestProxyUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	rec := &memRecorder{}
	front := newTestProxy(t, dead, rec, nil)
	body := []byte(`{"QueueName":"orders"}`)
	req, _ := http.NewRequest(http.MethodPost, front+"/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "AmazonSQS.CreateQueue")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	sign(t, req, sha(body), "sqs", "eu-west-1", "")
	resp, err := plainClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("HTTP %d, want 502", resp.StatusCode)
	}
	e := rec.wait(t, 1)[0]
	if e["eventName"] != "CreateQueue" || e["errorCode"] != "ServiceUnavailable" || e["awsRegion"] != "eu-west-1" {
		t.Errorf("event %v errorCode %v region %v, want CreateQueue ServiceUnavailable eu-west-1",
			e["eventName"], e["errorCode"], e["awsRegion"])
	}
	if msg, _ := e["errorMessage"].(string); !strings.Contains(msg, "could not reach") {
		t.Errorf("errorMessage %q", msg)
	}
}

// TestProxyReusesUpstreamConnections: concurrent callers on kept-alive
// connections do not make the proxy open a new upstream connection per
// call (a connection per call costs a TCP handshake each time, and under
// load exhausts ephemeral ports with sockets in TIME_WAIT).
func TestProxyReusesUpstreamConnections(t *testing.T) {
	const workers, perWorker = 8, 50
	var opened atomic.Int64
	upstream := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{}`)
	}))
	upstream.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	upstream.Start()
	defer upstream.Close()
	front := newTestProxy(t, upstream.URL, &memRecorder{}, nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWorker {
				resp, err := client.Get(front + "/b/k")
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if n := opened.Load(); n > 2*workers {
		t.Errorf("%d concurrent clients making %d calls made the proxy open %d upstream connections; want at most %d",
			workers, workers*perWorker, n, 2*workers)
	}
}
