package e2e

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// capMetricRE reads the untracked-events counter of Account1 in us-east-1.
var capMetricRE = regexp.MustCompile(`(?m)^cairn_insights_untracked_events_total\{account="111111111111",region="us-east-1"\} (\d+)$`)

// TestInsightsCapDistinctAPIs: an ingest principal sends write calls of
// 300 distinct made-up APIs; with insights.max_apis 20 the server tracks
// 20 (some taken by Cairn's own audit records of the setup) and counts
// the calls of the 280 or more others in
// cairn_insights_untracked_events_total, warning once in its log — its
// memory no longer grows with the names a producer invents.
func TestInsightsCapDistinctAPIs(t *testing.T) {
	srv := insCallRateServer(t, "insights: {settle: 2s, max_apis: 20}")
	now := time.Now().UTC()
	var recs []map[string]any
	for i := range 300 {
		r := Record(fmt.Sprintf("Junk%04d", i), "junk.example.com", "us-east-1", now, map[string]any{"readOnly": false})
		r["eventID"] = dlNewID()
		recs = append(recs, r)
	}
	dlIngest(t, srv, recs...)
	var text string
	if !dlPoll(time.Minute, func() bool {
		text = capMetrics(t, srv)
		m := capMetricRE.FindStringSubmatch(text)
		if m == nil {
			return false
		}
		n, _ := strconv.Atoi(m[1])
		return n >= 280 && n <= 300
	}) {
		t.Fatalf("want 280 to 300 untracked events of Account1 in us-east-1; metrics:\n%s\nserver log:\n%s",
			grepLines(text, "cairn_insights"), dlTail(srv.Log(), 20))
	}
	if n := strings.Count(srv.Log(), "insights.max_apis"); n != 1 {
		t.Errorf("%d warnings of the cap in the log, want 1:\n%s", n, dlTail(srv.Log(), 20))
	}
}

// capMetrics is the text of GET /metrics.
func capMetrics(t testing.TB, srv *Server) string {
	t.Helper()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metricValue is the value of one series of GET /metrics (its name and
// any labels as the text writes them), or 0 when the text has none.
func metricValue(t testing.TB, srv *Server, series string) float64 {
	t.Helper()
	for l := range strings.SplitSeq(capMetrics(t, srv), "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("/metrics: %q: %v", l, err)
			}
			return n
		}
	}
	return 0
}

// grepLines is the lines of text containing s.
func grepLines(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
