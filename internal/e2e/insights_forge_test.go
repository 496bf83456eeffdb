package e2e

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// insCallRateServer starts a server with extra configuration and a trail
// that asks for ApiCallRateInsight.
func insCallRateServer(t *testing.T, extra string) *Server {
	t.Helper()
	srv := Start(t, Options{Config: dlConfig(extra)})
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	dlMkBucket(t, srv, "insight-logs")
	arn := dlTrail(t, c, "insights", "insight-logs", nil)
	if _, err := c.PutInsightSelectors(context.Background(), &cloudtrail.PutInsightSelectorsInput{TrailName: aws.String(arn),
		InsightSelectors: []types.InsightSelector{{InsightType: types.InsightTypeApiCallRateInsight}}}); err != nil {
		t.Fatalf("PutInsightSelectors: %v", err)
	}
	return srv
}

// forgeUUID is a UUID made from SHA-256 of public data: how Insights IDs
// were once derived, so anyone could compute them ahead of time.
func forgeUUID(s string) string {
	h := sha256.Sum256([]byte(s))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// forgedInsight is an Insights record as a hostile producer writes it.
func forgedInsight(state, shared, id string, at time.Time, name string) map[string]any {
	return map[string]any{
		"eventVersion": "1.08", "eventTime": at.UTC().Format(time.RFC3339), "awsRegion": "us-east-1",
		"eventID": id, "eventType": "AwsCloudTrailInsight", "recipientAccountId": Account1,
		"sharedEventID": shared, "eventCategory": "Insight",
		"insightDetails": map[string]any{"state": state, "eventSource": "ec2.amazonaws.com", "eventName": name,
			"insightType": "ApiCallRateInsight", "insightContext": map[string]any{
				"statistics": map[string]any{"baseline": map[string]any{"average": 0.1}, "insight": map[string]any{"average": 1},
					"insightDuration": 1, "baselineDuration": 10080},
				"attributions": []any{}}},
	}
}

// TestInsightsIgnoreForgedRecords: an ingest principal of the account
// sends, ahead of a burst, Insights records for the API's coming minutes —
// Starts and an End with the IDs of the public derivation (which would
// open an Insight in the engine, or take the eventIDs of its records) and
// Starts with random IDs. They are accepted and stored as any producer's
// records, but the burst still makes exactly one Start and one End of the
// engine's own, at the burst's minute and the next.
func TestInsightsIgnoreForgedRecords(t *testing.T) {
	t.Parallel()
	srv := insCallRateServer(t, insConfig)
	insBackfill(t, srv, time.Now().UTC())
	now := time.Now().UTC()
	if now.Second() > 40 {
		time.Sleep(now.Truncate(time.Minute).Add(time.Minute).Sub(now))
		now = time.Now().UTC()
	}
	minute := now.Truncate(time.Minute)

	// The forgeries, for the burst's minute and the five after it, sent
	// with the ingest key (dlIngest) before the burst.
	var forged []map[string]any
	for i := range 6 {
		m := minute.Add(time.Duration(i) * time.Minute)
		shared := forgeUUID(fmt.Sprintf("%s|us-east-1|ec2.amazonaws.com|RunInstances|ApiCallRateInsight|%d", Account1, m.Unix()/60))
		forged = append(forged,
			forgedInsight("Start", shared, forgeUUID(shared+"|Start"), m, "RunInstances"),
			forgedInsight("End", shared, forgeUUID(shared+"|End"), m.Add(time.Minute), "RunInstances"),
			forgedInsight("Start", dlNewID(), dlNewID(), m, "RunInstances"))
	}
	forgedIDs := map[string]bool{}
	for _, id := range dlIngest(t, srv, forged...) {
		forgedIDs[id] = true
	}
	dlIngest(t, srv, insBurst(50, "RunInstances", "ec2.amazonaws.com", now.Truncate(time.Second), map[string]any{"readOnly": false})...)

	var mine []insRecord
	poll := func() bool {
		all := insLookup(t, srv)
		mine = mine[:0]
		for _, r := range all {
			if !forgedIDs[r.EventID] {
				mine = append(mine, r)
			}
		}
		return len(mine) >= 2
	}
	if !dlPoll(3*time.Minute, poll) {
		t.Fatalf("want the engine's Start and End beside the forged records, got %d: %v\nserver log:\n%s",
			len(mine), mine, dlTail(srv.Log(), 30))
	}
	if len(mine) != 2 {
		t.Fatalf("want the engine's one Start and one End, got %d records: %v", len(mine), mine)
	}
	end, st := mine[0], mine[1]
	if st.what() != "RunInstances/ApiCallRateInsight/Start" || end.what() != "RunInstances/ApiCallRateInsight/End" {
		t.Fatalf("engine's records %s, %s", st.what(), end.what())
	}
	if st.SharedEventID != end.SharedEventID || st.EventTime != minute.Format(time.RFC3339) ||
		end.EventTime != minute.Add(time.Minute).Format(time.RFC3339) {
		t.Errorf("Start %s at %s, End %s at %s; burst minute %s", st.SharedEventID, st.EventTime, end.SharedEventID, end.EventTime, minute)
	}
	if s := st.InsightDetails.InsightContext.Statistics; s.Insight.Average != 50 {
		t.Errorf("Start statistics %+v, want the burst's 50 calls", s)
	}
}
