package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/trail"
)

const (
	aliceKey, aliceSecret = "AKIAALICEADMIN000001", "alice-secret"
	ritaKey               = "AKIARITAREADONLY0001"
)

// stubStatus is a delivery engine's status report.
type stubStatus struct {
	s   trail.DeliveryStatus
	err error
}

func (f *stubStatus) DeliveryStatus(context.Context, *trail.Trail, string) (trail.DeliveryStatus, error) {
	return f.s, f.err
}

// newAPIEnv serves a real Server on a real SQLite store, with the directory
// bucket "logs", the administrator alice and the read-only rita, and
// status as what delivery reports.
func newAPIEnv(t *testing.T, status trail.StatusSource) *limitsEnv {
	t.Helper()
	cfg, err := config.Parse("api.yaml", []byte(limitsConfig+`
      - name: rita
        access_keys: [{id: AKIARITAREADONLY0001, secret: rita-secret}]
        policy: read-only
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "buckets", "logs"), 0o700); err != nil {
		t.Fatal(err)
	}
	return serveConfig(t, cfg, Options{Status: status})
}

// as is a typed call's caller: key's principal in us-east-1, from a
// browser-like request.
func (e *limitsEnv) as(t *testing.T, key string) Caller {
	t.Helper()
	p, ok := e.srv.opts.Directory.Principal(key)
	if !ok {
		t.Fatalf("no principal of %s", key)
	}
	r := httptest.NewRequest(http.MethodPost, "/console/trail", nil)
	r.Header.Set("User-Agent", "cairn-console/1 (TestBrowser/1.0)")
	return Caller{Principal: p, Region: "us-east-1", Request: r}
}

// records are the audit records of op's calls, oldest first.
func (e *limitsEnv) records(t *testing.T, op string) []map[string]any {
	t.Helper()
	key := "EventName"
	out, err := e.srv.opts.History.Lookup(context.Background(), "111111111111", "us-east-1",
		history.Input{LookupAttributes: []history.LookupAttribute{{AttributeKey: &key, AttributeValue: &op}}})
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	for i := len(out.Events) - 1; i >= 0; i-- {
		var m map[string]any
		if err := json.Unmarshal([]byte(out.Events[i].CloudTrailEvent), &m); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, m)
	}
	return recs
}

// without is m without the members that differ between any two calls.
func without(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for _, k := range append(keys, "eventID", "requestID", "eventTime", "sourceIPAddress", "userAgent", "tlsDetails") {
		delete(out, k)
	}
	return out
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A typed call runs the operation as the same signed request does: the
// same answer, the same audit record (request parameters, response
// elements, resources, read-only, errors), the same refusals.
func TestTypedCallsAsSignedRequests(t *testing.T) {
	e := newAPIEnv(t, nil)
	ctx := context.Background()
	arn := "arn:aws:cloudtrail:us-east-1:111111111111:trail/audit"
	name, bucketName, multi, valid := "audit", "logs", true, false
	in := trail.CreateTrailInput{Name: &name, S3BucketName: &bucketName, IsMultiRegionTrail: &multi, EnableLogFileValidation: &valid,
		TagsList: []trail.Tag{{Key: ptrTo("team"), Value: ptrTo("sec")}}}
	// The same request, as a signed HTTP request and as a typed call.
	resp, body := e.post(t, aliceKey, aliceSecret, "us-east-1", "/", "CreateTrail", nil, []byte(jsonOf(t, in)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CreateTrail over HTTP: %d %s", resp.StatusCode, body)
	}
	if err := e.srv.DeleteTrail(ctx, e.as(t, aliceKey), NameInput{Name: &arn}); err != nil {
		t.Fatal(err)
	}
	out, err := e.srv.CreateTrail(ctx, e.as(t, aliceKey), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := jsonOf(t, out); got != string(body) {
		t.Errorf("typed CreateTrail answered\n%s\nover HTTP\n%s", got, body)
	}
	recs := e.records(t, "CreateTrail")
	if len(recs) != 2 {
		t.Fatalf("%d CreateTrail records, want 2", len(recs))
	}
	if h, typed := jsonOf(t, without(recs[0])), jsonOf(t, without(recs[1])); h != typed {
		t.Errorf("typed call's record\n%s\nsigned request's\n%s", typed, h)
	}
	if recs[1]["userAgent"] != "cairn-console/1 (TestBrowser/1.0)" || recs[1]["readOnly"] != false ||
		jsonOf(t, recs[1]["resources"]) != `[{"ARN":"`+arn+`","type":"AWS::CloudTrail::Trail"}]` {
		t.Errorf("typed call's record %v", recs[1])
	}

	// Reads: the same answer; recorded as read-only, with no response.
	resp, body = e.post(t, aliceKey, aliceSecret, "us-east-1", "/", "GetTrail", nil, []byte(`{"Name":"audit"}`))
	got, err := e.srv.GetTrail(ctx, e.as(t, aliceKey), NameInput{Name: &name})
	if err != nil || resp.StatusCode != http.StatusOK || jsonOf(t, got) != string(body) {
		t.Errorf("GetTrail: typed %s (%v), over HTTP %d %s", jsonOf(t, got), err, resp.StatusCode, body)
	}
	// Reads are recorded in the background.
	waitFor(t, "the GetTrail records", func() bool { recs = e.records(t, "GetTrail"); return len(recs) == 2 })
	if len(recs) != 2 || jsonOf(t, without(recs[0])) != jsonOf(t, without(recs[1])) || recs[1]["readOnly"] != true ||
		recs[1]["responseElements"] != nil {
		t.Errorf("GetTrail records %v", recs)
	}

	// Refused: the policy's AccessDenied, recorded as CloudTrail does.
	_, err = e.srv.CreateTrail(ctx, e.as(t, ritaKey), in)
	var ae *awsproto.Error
	if !errors.As(err, &ae) || ae.Code != "AccessDeniedException" ||
		!strings.Contains(ae.Message, "user/rita is not authorized to perform: cloudtrail:CreateTrail") {
		t.Fatalf("rita's CreateTrail: %v", err)
	}
	recs = e.records(t, "CreateTrail")
	if last := recs[len(recs)-1]; len(recs) != 3 || last["errorCode"] != "AccessDenied" || last["responseElements"] != nil {
		t.Errorf("refused call's record %v", last)
	}
	// And a region the server does not serve.
	who := e.as(t, aliceKey)
	who.Region = "mars-north-1"
	if _, err := e.srv.DescribeTrails(ctx, who, DescribeTrailsInput{}); !errors.As(err, &ae) || ae.Code != "UnsupportedOperationException" {
		t.Errorf("DescribeTrails in an unserved region: %v", err)
	}
}

func ptrTo[T any](v T) *T { return &v }

// GetTrailStatus adds what delivery reports (in the caller's region) to the
// trail's logging state; a report that cannot be read fails the call.
func TestGetTrailStatusAddsDeliveryStatus(t *testing.T) {
	delivered := time.Date(2026, 11, 26, 10, 1, 0, 0, time.UTC)
	status := &stubStatus{s: trail.DeliveryStatus{LatestDeliveryTime: delivered, LatestDeliveryAttemptTime: delivered,
		LatestDigestDeliveryError: "AccessDenied"}}
	e := newAPIEnv(t, status)
	ctx := context.Background()
	name, bucketName := "main", "logs"
	if _, err := e.srv.CreateTrail(ctx, e.as(t, aliceKey), trail.CreateTrailInput{Name: &name, S3BucketName: &bucketName}); err != nil {
		t.Fatal(err)
	}
	st, err := e.srv.GetTrailStatus(ctx, e.as(t, aliceKey), NameInput{Name: &name})
	if err != nil || st.IsLogging || st.LatestDeliveryTime == nil || st.LatestDeliveryAttemptSucceeded != "2026-11-26T10:01:00Z" ||
		st.LatestDigestDeliveryError != "AccessDenied" || st.LatestNotificationTime != nil || st.LatestNotificationAttemptSucceeded != "" {
		t.Errorf("status: %+v, %v", st, err)
	}
	status.err = errors.New("state unreadable")
	if _, err := e.srv.GetTrailStatus(ctx, e.as(t, aliceKey), NameInput{Name: &name}); err == nil {
		t.Error("GetTrailStatus hid the status source's error")
	}
	resp, body := e.post(t, aliceKey, aliceSecret, "us-east-1", "/", "GetTrailStatus", nil, []byte(`{"Name":"main"}`))
	if typ, _ := errType(t, body); resp.StatusCode != http.StatusInternalServerError || typ != "InternalFailure" {
		t.Errorf("GetTrailStatus over HTTP with an unreadable status: %d %s", resp.StatusCode, body)
	}
}
