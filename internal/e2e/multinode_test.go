package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-audit/cairn/internal/store/postgres/pgtest"
)

// TestMultiNodePostgres runs two cairn serve nodes on one PostgreSQL
// database and one bucket: both ingest and answer lookups, a trail made on
// one and started on the other delivers every event exactly once, and when
// one node is killed the other carries its deliveries on.
func TestMultiNodePostgres(t *testing.T) {
	dsn := pgtest.Start(t)
	bucketDir := t.TempDir()
	cfg := StandardConfig + fmt.Sprintf(`
store: {driver: postgres, dsn: %q}
delivery: {flush_interval: 1s, digest_interval: 2s}
buckets:
  - {name: shared-logs, url: "file://%s", account: "111111111111"}
`, dsn, bucketDir)
	a := Start(t, Options{Config: cfg})
	b := Start(t, Options{Config: cfg})
	ca := a.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	cb := b.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	ctx := context.Background()

	// A trail made on one node is started on the other.
	out, err := ca.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("shared"),
		S3BucketName: aws.String("shared-logs"), EnableLogFileValidation: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.TrailARN)
	if _, err := cb.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	st, err := ca.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("shared")})
	if err != nil || !aws.ToBool(st.IsLogging) {
		t.Fatalf("node A does not see node B's StartLogging: %v %v", st, err)
	}

	// Both nodes ingest, concurrently.
	ingest := func(srv *Server, tag string, n int) []string {
		var ids []string
		for i := 0; i < n; i += 20 {
			var recs []map[string]any
			for j := i; j < i+20 && j < n; j++ {
				recs = append(recs, dlEvent(fmt.Sprintf("%s%03d", tag, j), "s3.amazonaws.com", "us-east-1", Account1, nil))
			}
			ids = append(ids, dlIngest(t, srv, recs...)...)
		}
		return ids
	}
	var mu sync.Mutex
	var all []string
	var wg sync.WaitGroup
	for _, p := range []struct {
		srv *Server
		tag string
	}{{a, "FromA"}, {b, "FromB"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := ingest(p.srv, p.tag, 200)
			mu.Lock()
			all = append(all, ids...)
			mu.Unlock()
		}()
	}
	wg.Wait()

	// Either node answers lookups of events ingested on the other.
	for _, c := range []*cloudtrail.Client{ca, cb} {
		for _, name := range []string{"FromA007", "FromB123"} {
			got, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{
				{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String(name)}}})
			if err != nil || len(got.Events) != 1 {
				t.Fatalf("lookup %s: %d events, %v", name, len(got.Events), err)
			}
		}
	}

	bucket := dlDir{name: "shared-logs", dir: bucketDir}
	files := dlWaitDelivered(t, a, bucket, "AWSLogs/", all, time.Minute)
	for id, n := range dlEventIDs(files) {
		if n != 1 {
			t.Fatalf("event %s is in %d log files", id, n)
		}
	}

	// The web console: signed in on one node, signed in on the other (no
	// sticky sessions needed behind a load balancer).
	session := consoleSignIn(t, a, AdminKey, AdminSecret)
	status, body := consoleGet(t, b, "/console/trails?region=us-east-1", session)
	if status != http.StatusOK || !strings.Contains(body, "shared") {
		t.Fatalf("node B's console with node A's session: HTTP %d\n%s", status, dlTail(body, 20))
	}

	// Node A dies; node B takes over its deliveries once A's lease expires.
	a.Kill()
	more := ingest(b, "AfterKill", 60)
	files = dlWaitDelivered(t, b, bucket, "AWSLogs/", append(all, more...), time.Minute)
	seen := dlEventIDs(files)
	for _, id := range append(all, more...) {
		if seen[id] != 1 {
			t.Fatalf("event %s is in %d log files", id, seen[id])
		}
	}

	// One digest chain, unbroken across the change of node.
	covered := dlPoll(time.Minute, func() bool {
		s := dlStatus(t, b, "us-east-1", arn)
		return s.LatestDigestDeliveryTime != nil && s.LatestDeliveryTime != nil &&
			s.LatestDigestDeliveryTime.After(*s.LatestDeliveryTime)
	})
	if !covered {
		t.Fatal("no digest after the last delivery")
	}
	res := dlVerify(t, "--endpoint", b.URL, "--trail-arn", arn, "--start-time",
		time.Now().Add(-10*time.Minute).UTC().Format(time.RFC3339), "--bucket-dir", bucketDir)
	if res.code != 0 {
		t.Fatalf("cairn verify: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
}

var consoleCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// consoleSignIn signs in to srv's web console with a plain HTTP client, as
// a browser does, and returns the session cookie.
func consoleSignIn(t *testing.T, srv *Server, key, secret string) *http.Cookie {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(srv.URL + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := consoleCSRF.FindSubmatch(page)
	if m == nil {
		t.Fatalf("sign-in page without a token:\n%s", page)
	}
	form := url.Values{"csrf": {string(m[1])}, "access_key_id": {key}, "secret_access_key": {secret}, "next": {"/console/trails"}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/console/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "cairn_session" && c.Value != "" {
			return c
		}
	}
	t.Fatalf("sign-in: HTTP %d without a session cookie", resp.StatusCode)
	return nil
}

// consoleGet fetches a console page with a session cookie, without
// following redirects.
func consoleGet(t *testing.T, srv *Server, path string, session *http.Cookie) (int, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	req.AddCookie(session)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
