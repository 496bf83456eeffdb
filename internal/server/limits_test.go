package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/ingest"
	"github.com/cairn-audit/cairn/internal/metrics"
	"github.com/cairn-audit/cairn/internal/store/sqlite"
	"github.com/cairn-audit/cairn/internal/testutil"
	"github.com/cairn-audit/cairn/internal/trail"
)

const limitsConfig = `
regions: [us-east-1, us-west-2]
accounts:
  - id: "111111111111"
    users:
      - name: alice
        access_keys: [{id: AKIAALICEADMIN000001, secret: alice-secret}]
        policy: admin
      - name: bob
        access_keys: [{id: AKIABOBADMIN00000001, secret: bob-secret}]
        policy: admin
`

// fakeClock is a settable clock near the real time (SigV4 checks skew).
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type limitsEnv struct {
	srv   *Server
	http  *httptest.Server
	clock *fakeClock
}

// newLimitsEnv serves a real Server on a real SQLite store with o's limits.
func newLimitsEnv(t testing.TB, o Options) *limitsEnv {
	t.Helper()
	cfg, err := config.Parse("limits.yaml", []byte(limitsConfig))
	if err != nil {
		t.Fatal(err)
	}
	return serveConfig(t, cfg, o)
}

// serveConfig serves a real Server on a real SQLite store in a temporary
// directory with cfg's accounts, regions and trail destinations, and the
// rest of o.
func serveConfig(t testing.TB, cfg *config.Config, o Options) *limitsEnv {
	t.Helper()
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New(st)
	ing := ingest.New(st, cfg.Regions, m, log)
	dir := auth.NewDirectory(auth.Options{Partition: cfg.Partition, Accounts: cfg.Accounts})
	clock := &fakeClock{t: time.Now()}
	if o.History == nil {
		o.History = history.New(st, cfg.EventHistoryDays)
	}
	o.Directory, o.Ingest, o.Metrics, o.Log, o.Now = dir, ing, m, log, clock.Now
	owners := trail.OwnersOptions{Ownership: cfg.Ownership(), Buckets: cfg.Buckets, KMSKeys: cfg.KMSKeys, Topics: cfg.Topics}
	o.Trails = trail.NewService(st, trail.Options{OwnersOptions: owners, Partition: cfg.Partition, Regions: cfg.Regions, LogGroups: cfg.LogGroups},
		bucket.NewResolver(bucket.ResolverOptions{DataDir: cfg.DataDir, Buckets: cfg.Buckets}))
	srv := New(o)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		ing.Close()
		st.Close()
	})
	return &limitsEnv{srv: srv, http: hs, clock: clock}
}

// post sends a signed request and returns the response with its body read.
func (e *limitsEnv) post(t *testing.T, key, secret, region, path, target string, body io.Reader, payload []byte) (*http.Response, []byte) {
	t.Helper()
	if body == nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequest(http.MethodPost, e.http.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		req.Header.Set("X-Amz-Target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."+target)
	}
	sum := sha256.Sum256(payload)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "cloudtrail", region, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (e *limitsEnv) call(t *testing.T, key, secret, region, op string) (*http.Response, []byte) {
	t.Helper()
	return e.post(t, key, secret, region, "/", op, nil, []byte("{}"))
}

func errType(t *testing.T, b []byte) (string, string) {
	t.Helper()
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"Message"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body %s: %v", b, err)
	}
	return e.Type, e.Message
}

func wantThrottled(t *testing.T, resp *http.Response, b []byte, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("HTTP %d %s, want %d ThrottlingException", resp.StatusCode, b, status)
	}
	if typ, msg := errType(t, b); typ != "ThrottlingException" || msg != "Rate exceeded" {
		t.Fatalf("error %q %q, want ThrottlingException \"Rate exceeded\"", typ, msg)
	}
	if got := resp.Header.Get("X-Amzn-ErrorType"); got != "ThrottlingException" {
		t.Fatalf("X-Amzn-ErrorType %q", got)
	}
}

func TestRateLimiterTokenBucket(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	if newRateLimiter(0, clock.Now) != nil || newRateLimiter(-1, clock.Now) != nil {
		t.Fatal("a non-positive rate must be unlimited (nil)")
	}
	var unlimited *rateLimiter
	for range 1000 {
		if !unlimited.allow("k") {
			t.Fatal("nil limiter throttled")
		}
	}
	l := newRateLimiter(5, clock.Now)
	n := 0
	for range 40 {
		if l.allow("a") {
			n++
		}
	}
	if n != 10 {
		t.Fatalf("burst allowed %d, want 10 (twice the rate)", n)
	}
	if !l.allow("b") {
		t.Fatal("another key shares the bucket")
	}
	clock.Advance(200 * time.Millisecond)
	if !l.allow("a") || l.allow("a") {
		t.Fatal("200ms at 5/s must refill exactly one token")
	}
	clock.Advance(time.Hour)
	n = 0
	for range 40 {
		if l.allow("a") {
			n++
		}
	}
	if n != 10 {
		t.Fatalf("after an idle hour allowed %d, want the burst of 10", n)
	}
	// A fractional rate still allows one request.
	slow := newRateLimiter(0.25, clock.Now)
	if !slow.allow("a") || slow.allow("a") {
		t.Fatal("rate 0.25 must allow a burst of exactly one")
	}
}

func TestThrottleLookupsPerAccountRegion(t *testing.T) {
	e := newLimitsEnv(t, Options{LookupsPerSecond: 1})
	for i := range 2 {
		if resp, b := e.call(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "LookupEvents"); resp.StatusCode != 200 {
			t.Fatalf("lookup %d: HTTP %d %s", i, resp.StatusCode, b)
		}
	}
	resp, b := e.call(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "LookupEvents")
	wantThrottled(t, resp, b, http.StatusBadRequest)
	// The limit is per account and region: bob shares alice's account.
	resp, b = e.call(t, "AKIABOBADMIN00000001", "bob-secret", "us-east-1", "LookupEvents")
	wantThrottled(t, resp, b, http.StatusBadRequest)
	if resp, b := e.call(t, "AKIAALICEADMIN000001", "alice-secret", "us-west-2", "LookupEvents"); resp.StatusCode != 200 {
		t.Fatalf("other region: HTTP %d %s", resp.StatusCode, b)
	}
	// Other operations are not lookups.
	if resp, b := e.call(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "DescribeTrails"); resp.StatusCode != 200 {
		t.Fatalf("DescribeTrails: HTTP %d %s", resp.StatusCode, b)
	}
	e.clock.Advance(time.Second)
	if resp, b := e.call(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "LookupEvents"); resp.StatusCode != 200 {
		t.Fatalf("after a second: HTTP %d %s", resp.StatusCode, b)
	}
}

func TestThrottleRequestsPerAccessKey(t *testing.T) {
	e := newLimitsEnv(t, Options{RequestsPerSecond: 1})
	for i := range 2 {
		if resp, b := e.call(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "DescribeTrails"); resp.StatusCode != 200 {
			t.Fatalf("call %d: HTTP %d %s", i, resp.StatusCode, b)
		}
	}
	resp, b := e.call(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "ListTrails")
	wantThrottled(t, resp, b, http.StatusBadRequest)
	// Ingest by the throttled key: 429 with Retry-After.
	resp, b = e.post(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "/v1/events", "", nil, []byte(`{"Records":[]}`))
	wantThrottled(t, resp, b, http.StatusTooManyRequests)
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Fatalf("Retry-After %q, want 1", got)
	}
	// Bob's key has its own bucket.
	if resp, b := e.call(t, "AKIABOBADMIN00000001", "bob-secret", "us-east-1", "ListTrails"); resp.StatusCode != 200 {
		t.Fatalf("bob: HTTP %d %s", resp.StatusCode, b)
	}
	e.clock.Advance(time.Second)
	if resp, b := e.call(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "ListTrails"); resp.StatusCode != 200 {
		t.Fatalf("after a second: HTTP %d %s", resp.StatusCode, b)
	}
}

func TestThrottleUnlimitedByDefault(t *testing.T) {
	e := newLimitsEnv(t, Options{})
	if cap(e.srv.ingestSlots) != DefaultMaxInflightIngest {
		t.Fatalf("ingest slots %d, want %d", cap(e.srv.ingestSlots), DefaultMaxInflightIngest)
	}
	for i := range 30 {
		if resp, b := e.call(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "LookupEvents"); resp.StatusCode != 200 {
			t.Fatalf("lookup %d: HTTP %d %s", i, resp.StatusCode, b)
		}
	}
}

func TestIngestInflightLimit(t *testing.T) {
	e := newLimitsEnv(t, Options{MaxInflightIngest: 1})
	payload := []byte(`{"Records":[]}`)
	// A signed request that declares its payload hash is authenticated
	// before its body is read, but takes its ingest slot only once its
	// body is in: while its body trickles in, others are served.
	pr, pw := io.Pipe()
	req := e.declaredRequest(t, "/v1/events", pr, payload)
	done := make(chan int, 1)
	go func() {
		resp, err := e.http.Client().Do(req)
		if err != nil {
			done <- -1
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	if _, err := pw.Write(payload[:1]); err != nil { // the handler is reading the body now
		t.Fatal(err)
	}
	waitFor(t, "the first request to be read", func() bool {
		n, _ := e.srv.inflight.inUse("AKIAALICEADMIN000001", "127.0.0.1")
		return n == 1
	})
	if len(e.srv.ingestSlots) != 0 {
		t.Fatal("a request whose body has not arrived holds an ingest slot")
	}
	if resp, b := e.post(t, "AKIABOBADMIN00000001", "bob-secret", "us-east-1", "/v1/events", "", nil, payload); resp.StatusCode != 200 {
		t.Fatalf("ingest while another's body trickles in: HTTP %d %s", resp.StatusCode, b)
	}
	pw.Write(payload[1:])
	pw.Close()
	if status := <-done; status != http.StatusOK {
		t.Fatalf("the slow signed request: HTTP %d, want 200", status)
	}
	// With every slot taken, ingest is answered 429 with Retry-After.
	e.srv.ingestSlots <- struct{}{}
	resp, b := e.post(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "/v1/events", "", nil, payload)
	wantThrottled(t, resp, b, http.StatusTooManyRequests)
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Fatalf("Retry-After %q, want 1", got)
	}
	<-e.srv.ingestSlots
	// Nothing is kept.
	if resp, b := e.post(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "/v1/events", "", nil, payload); resp.StatusCode != 200 {
		t.Fatalf("after the slot was freed: HTTP %d %s", resp.StatusCode, b)
	}
	if k, a := e.srv.inflight.inUse("AKIAALICEADMIN000001", "127.0.0.1"); k != 0 || a != 0 {
		t.Fatalf("in flight after every answer: key %d, address %d", k, a)
	}
}

// TestInflightPerKeyAndAddress: a key's signed requests whose bodies have
// not arrived hold at most its in-flight places, and an address's at most
// its own; other keys, and other addresses, are served meanwhile.
func TestInflightPerKeyAndAddress(t *testing.T) {
	e := newLimitsEnv(t, Options{MaxInflightPerKey: 2, MaxInflightPerAddress: 3})
	payload := []byte(`{"Records":[]}`)
	// Two bodies, so that the two requests' signatures differ (one
	// signature is in flight once at most).
	slow := func(payload []byte) {
		pr, pw := io.Pipe()
		t.Cleanup(func() { pw.Close() })
		req := e.declaredRequest(t, "/v1/events", pr, payload)
		go func() {
			if resp, err := e.http.Client().Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		pw.Write(payload[:1])
	}
	slow(payload)
	slow([]byte(`{"Records": []}`))
	waitFor(t, "alice's two requests to be read", func() bool {
		n, _ := e.srv.inflight.inUse("AKIAALICEADMIN000001", "127.0.0.1")
		return n == 2
	})
	resp, b := e.post(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "/v1/events", "", nil, payload)
	wantThrottled(t, resp, b, http.StatusTooManyRequests)
	if resp, b := e.post(t, "AKIABOBADMIN00000001", "bob-secret", "us-east-1", "/v1/events", "", nil, payload); resp.StatusCode != 200 {
		t.Fatalf("bob while alice's places are taken: HTTP %d %s", resp.StatusCode, b)
	}
	// The address's third place is bob's; with it taken, the address is full.
	e.srv.inflight.enter("AKIABOBADMIN00000001", "127.0.0.1", "")
	resp, b = e.post(t, "AKIABOBADMIN00000001", "bob-secret", "us-east-1", "/v1/events", "", nil, payload)
	wantThrottled(t, resp, b, http.StatusTooManyRequests)
}

// declaredRequest is a request signed by alice with X-Amz-Content-Sha256
// (the hash of payload), whose body is read from body.
func (e *limitsEnv) declaredRequest(t *testing.T, path string, body io.Reader, payload []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.http.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(payload))
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(payload)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIAALICEADMIN000001", SecretAccessKey: "alice-secret"},
		req, hex.EncodeToString(sum[:]), "cloudtrail", "us-east-1", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

// waitFor polls cond until it holds, failing the test after 30 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) { return cond(), "waiting for " + what })
}

// TestDeclaredVouchesOnlyForItsBody: a request whose signed head declares
// a payload hash proves its key from its address only when its body
// arrives and matches: a replayed head (SigV4 has no nonce) with another
// body, or none, proves nothing.
func TestDeclaredVouchesOnlyForItsBody(t *testing.T) {
	e := newLimitsEnv(t, Options{})
	payload := []byte(`{"Records":[]}`)
	req := e.declaredRequest(t, "/v1/events", bytes.NewReader([]byte(`{"Records":{}}`)), payload)
	resp, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatal("a body that does not match its declared hash was served")
	}
	if e.srv.proven.has("AKIAALICEADMIN000001", "127.0.0.1", time.Now()) {
		t.Fatal("a head whose body did not match its declared hash proved its key")
	}
	req = e.declaredRequest(t, "/v1/events", bytes.NewReader(payload), payload)
	if resp, err = e.http.Client().Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !e.srv.proven.has("AKIAALICEADMIN000001", "127.0.0.1", time.Now()) {
		t.Fatalf("a matching body (HTTP %d) did not prove its key", resp.StatusCode)
	}
}
