package server

import (
	"context"
	"net/http"
	"testing"

	"github.com/cairn-audit/cairn/internal/trail"
)

// The typed PutInsightSelectors and GetInsightSelectors (the console's)
// answer as the signed requests do, and are recorded.
func TestTypedInsightSelectors(t *testing.T) {
	e := newAPIEnv(t, nil)
	ctx := context.Background()
	name, bucketName := "audit", "logs"
	if _, err := e.srv.CreateTrail(ctx, e.as(t, aliceKey), trail.CreateTrailInput{Name: &name, S3BucketName: &bucketName}); err != nil {
		t.Fatal(err)
	}
	sel := []trail.InsightSelector{{InsightType: ptrTo(trail.InsightAPICallRate)}}
	out, err := e.srv.PutInsightSelectors(ctx, e.as(t, aliceKey), PutInsightSelectorsInput{TrailName: &name, InsightSelectors: &sel})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := e.post(t, aliceKey, aliceSecret, "us-east-1", "/", "PutInsightSelectors", nil,
		[]byte(`{"TrailName":"audit","InsightSelectors":[{"InsightType":"ApiCallRateInsight"}]}`))
	if resp.StatusCode != http.StatusOK || jsonOf(t, out) != string(body) {
		t.Errorf("PutInsightSelectors: typed %s, over HTTP %d %s", jsonOf(t, out), resp.StatusCode, body)
	}
	got, err := e.srv.GetInsightSelectors(ctx, e.as(t, aliceKey), GetInsightSelectorsInput{TrailName: &name})
	resp, body = e.post(t, aliceKey, aliceSecret, "us-east-1", "/", "GetInsightSelectors", nil, []byte(`{"TrailName":"audit"}`))
	if err != nil || resp.StatusCode != http.StatusOK || jsonOf(t, got) != string(body) {
		t.Errorf("GetInsightSelectors: typed %s (%v), over HTTP %d %s", jsonOf(t, got), err, resp.StatusCode, body)
	}
	if recs := e.records(t, "PutInsightSelectors"); len(recs) != 2 || jsonOf(t, without(recs[0])) != jsonOf(t, without(recs[1])) {
		t.Errorf("PutInsightSelectors records %v", recs)
	}
	waitFor(t, "the GetInsightSelectors records", func() bool { return len(e.records(t, "GetInsightSelectors")) == 2 })
}
