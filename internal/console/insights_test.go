package console

import (
	"context"
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/insights"
	"github.com/cairn-audit/cairn/internal/insights/query"
	"github.com/cairn-audit/cairn/internal/server"
)

func (f *fakeAPI) ListInsightsMetricData(_ context.Context, who server.Caller, in query.MetricInput) (server.InsightsMetricOutput, error) {
	if _, err := f.enter("ListInsightsMetricData", who, in); err != nil {
		return server.InsightsMetricOutput{}, err
	}
	code := ""
	if in.ErrorCode != nil {
		code = *in.ErrorCode
	}
	return f.metric[code], nil
}

// insightEvents are the Start and End records of a one-minute call-rate
// Insight of RunInstances at start, as history events (newest first).
func insightEvents(t *testing.T, start time.Time) []history.Event {
	k := insights.Key{Account: "111111111111", Region: "us-east-1", EventSource: "ec2.amazonaws.com", EventName: "RunInstances",
		InsightType: insights.TypeCallRate}
	secret := []byte("console-test-secret")
	shared := insights.SharedEventID(secret, k, insights.Minute(start))
	attrs := []insights.Attribution{{Attribute: "userIdentityArn",
		Insight:  []insights.ValueAverage{{Value: "arn:aws:iam::111111111111:user/mallory", Average: 50}},
		Baseline: []insights.ValueAverage{{Value: "arn:aws:iam::111111111111:user/tester", Average: 0.1}}}}
	var out []history.Event
	for _, st := range []struct {
		state string
		at    time.Time
	}{{"End", start.Add(time.Minute)}, {"Start", start}} {
		tr := insights.Transition{Key: k, State: st.state, SharedEventID: shared, Time: st.at, StartTime: start,
			Statistics: insights.Statistics{Baseline: insights.Average{Average: 0.1}, Insight: insights.Average{Average: 50},
				InsightDuration: 1, BaselineDuration: 10080}, Attributions: attrs}
		tr.EventID = insights.EventID(secret, tr)
		rec := insights.Record(tr)
		var m map[string]any
		if err := json.Unmarshal(rec, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, history.Event{EventId: m["eventID"].(string), EventName: "RunInstances", EventTime: awsproto.Time{Time: st.at},
			EventSource: "ec2.amazonaws.com", CloudTrailEvent: string(rec)})
	}
	return out
}

// TestConsoleInsights: the list pairs an Insight's Start and End; its page
// draws the API's per-minute counts from ListInsightsMetricData (period
// 60, the window around the Insight) with the Insight shaded and the
// baseline as a line, shows the attributions, and links to the events of
// the window; every read is a typed call as the signed-in user.
func TestConsoleInsights(t *testing.T) {
	e := newEnv(t)
	start := e.now.Add(-time.Hour).Truncate(time.Minute)
	e.api.events = insightEvents(t, start)
	e.api.metric = map[string]server.InsightsMetricOutput{"": {Timestamps: []awsproto.Time{{Time: start.Add(-10 * time.Minute)}, {Time: start}},
		Values: []float64{1, 50}}}
	sc, _ := e.login(readerKey, readerSec)
	list := e.get("/console/insights?region=us-east-1", sc).Body.String()
	if n := strings.Count(list, `class="insight-link"`); n != 1 || !strings.Contains(list, "ApiCallRateInsight") ||
		!strings.Contains(list, start.Format("2006-01-02 15:04")) || !strings.Contains(list, start.Add(time.Minute).Format("2006-01-02 15:04")) {
		t.Fatalf("Insights list (%d rows):\n%s", n, list)
	}
	link := insightsLinkRE.FindStringSubmatch(list)
	if link == nil {
		t.Fatalf("no link to the Insight in\n%s", list)
	}
	w := e.get(strings.ReplaceAll(link[1], "&amp;", "&"), sc)
	page := w.Body.String()
	if w.Code != 200 {
		t.Fatalf("Insight page: %d\n%s", w.Code, page)
	}
	in := e.api.last("ListInsightsMetricData")
	var got query.MetricInput
	if err := json.Unmarshal(in.body, &got); err != nil {
		t.Fatal(err)
	}
	if *got.Period != 60 || !got.StartTime.Equal(start.Add(-insightChartBefore)) || !got.EndTime.Equal(start.Add(time.Minute+insightChartAfter)) ||
		*got.EventName != "RunInstances" || in.principal != "rita" || !strings.HasPrefix(in.userAgent, userAgentPrefix) {
		t.Errorf("ListInsightsMetricData call: %s by %s (%s)", in.body, in.principal, in.userAgent)
	}
	for _, want := range []string{`id="insight-chart"`, `class="insight-window"`, `id="insight-baseline-line"`, "arn:aws:iam::111111111111:user/mallory",
		"arn:aws:iam::111111111111:user/tester", `data-attribute="userIdentityArn"`, `<strong id="chart-total">51</strong>`} {
		if !strings.Contains(page, want) {
			t.Errorf("Insight page lacks %s", want)
		}
	}
	if n := strings.Count(page, `class="bar-ok"`); n != 2 {
		t.Errorf("%d bars, want the 2 minutes with calls", n)
	}
	events := eventsLinkRE.FindStringSubmatch(page)
	if events == nil || !strings.Contains(events[1], "attr=EventName") || !strings.Contains(events[1], "readonly=show") || !strings.Contains(events[1], "value=RunInstances") ||
		!strings.Contains(events[1], "start="+strings.ReplaceAll(start.Format(inputTime), ":", "%3A")) {
		t.Errorf("link to the window's events: %v", events)
	}
	// Each IAM user of the attributions links to their events: in the
	// Insight's window, and in the baseline's week before it.
	for user, from := range map[string]time.Time{"mallory": start, "tester": start.Add(-10080 * time.Minute)} {
		m := regexp.MustCompile(`<a class="attr-value" href="([^"]+)">arn:aws:iam::111111111111:user/` + user + `</a>`).FindStringSubmatch(page)
		if m == nil {
			t.Errorf("no link to %s's events", user)
			continue
		}
		u, _ := url.Parse(html.UnescapeString(m[1]))
		if q := u.Query(); u.Path != "/console/events" || q.Get("attr") != "Username" || q.Get("value") != user || q.Get("start") != from.Format(inputTime) ||
			q.Get("readonly") != "show" {
			t.Errorf("%s's events link: %s", user, u)
		}
	}
	if w := e.get("/console/insight?id=nope&region=us-east-1", sc); w.Code != 404 {
		t.Errorf("an unknown Insight: %d", w.Code)
	}
}

var (
	insightsLinkRE = regexp.MustCompile(`href="(/console/insight\?[^"]+)" class="insight-link"`)
	eventsLinkRE   = regexp.MustCompile(`href="([^"]+)" class="button" id="insight-events"`)
)

func TestIAMUserName(t *testing.T) {
	for arn, want := range map[string]string{"arn:aws:iam::111111111111:user/mallory": "mallory",
		"arn:aws:iam::111111111111:user/division/team/ann": "ann", "arn:aws:sts::111111111111:assumed-role/r/s": "",
		"arn:aws:iam::111111111111:user/": "", "user/x": "", "null": ""} {
		if got, ok := iamUserName(arn); got != want || ok != (want != "") {
			t.Errorf("iamUserName(%q) = %q, %v; want %q", arn, got, ok, want)
		}
	}
}
