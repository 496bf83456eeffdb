package e2e

// The console's event history through headless Chromium: each page view,
// later page and download is ONE recorded LookupEvents call with the filter
// in its requestParameters; the chart's totals are exact (checked against
// the API's own paging over more than 1,000 events, failed ones
// included); read-only events are hidden by default, exactly, with or
// without another attribute; the chart's bars are reachable by keyboard.

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/chromedp/chromedp"
)

// histSeed stores hank's 1,800 events of the last 20 hours (every third
// read-only, every seventh failed) and 300 of others.
func histSeed(t *testing.T, srv *Server, now time.Time) {
	t.Helper()
	var recs []map[string]any
	for i := 0; i < 2100; i++ {
		user := "hank"
		if i >= 1800 {
			user = []string{"ines", "jack"}[i%2]
		}
		extra := map[string]any{"userIdentity": conIdentity(user), "readOnly": i%3 == 0}
		if i%7 == 0 {
			extra["errorCode"], extra["errorMessage"] = "AccessDenied", "Access Denied"
		}
		recs = append(recs, Record([]string{"GetObject", "PutObject", "DeleteObject"}[i%3], "s3.amazonaws.com", "us-east-1",
			now.Add(-time.Duration(60+i*34)*time.Second), extra))
	}
	for i := 0; i < len(recs); i += 300 {
		part := recs[i:min(i+300, len(recs))]
		if res := srv.Ingest(t, AdminKey, AdminSecret, part...); res.Accepted != len(part) {
			t.Fatalf("ingest: %+v", res)
		}
	}
}

// histCount is what the API's own paging finds in a window.
type histCount struct {
	shown, errors, all int
	ids                []string // of the shown events, newest first
}

// histAPICount pages through LookupEvents (aws-sdk-go-v2) over the window
// and counts what the console must show: events not read-only (unless
// showRO), those with an errorCode.
func histAPICount(t *testing.T, sdk *cloudtrail.Client, attrs []types.LookupAttribute, start, end time.Time, showRO bool) histCount {
	t.Helper()
	var c histCount
	for _, e := range lookupAll(t, sdk, &cloudtrail.LookupEventsInput{LookupAttributes: attrs, StartTime: &start, EndTime: &end}) {
		c.all++
		if !showRO && aws.ToString(e.ReadOnly) == "true" {
			continue
		}
		c.shown++
		c.ids = append(c.ids, aws.ToString(e.EventId))
		var r struct {
			ErrorCode string `json:"errorCode"`
		}
		json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &r)
		if r.ErrorCode != "" {
			c.errors++
		}
	}
	return c
}

// histConsoleCalls returns the console's recorded LookupEvents calls,
// newest first, once there are at least want.
func histConsoleCalls(t *testing.T, sdk *cloudtrail.Client, want int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var calls []map[string]any
		for _, e := range lookupAll(t, sdk, &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventName, "LookupEvents")}) {
			var r map[string]any
			if err := json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &r); err != nil {
				t.Fatal(err)
			}
			if ua, _ := r["userAgent"].(string); strings.Contains(ua, "cairn-console") {
				calls = append(calls, r)
			}
		}
		if len(calls) >= want || time.Now().After(deadline) {
			return calls
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// histNewCall checks that exactly one more console LookupEvents call was
// recorded (n were before) and returns its requestParameters as JSON.
func histNewCall(t *testing.T, sdk *cloudtrail.Client, n int, what string) string {
	t.Helper()
	calls := histConsoleCalls(t, sdk, n+1)
	if len(calls) != n+1 {
		t.Fatalf("%s left %d LookupEvents records, want 1", what, len(calls)-n)
	}
	b, _ := json.Marshal(calls[0]["requestParameters"])
	return string(b)
}

func histNum(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func TestConsoleEventHistoryOneRecordAndExactCounts(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	now := time.Now().UTC().Truncate(time.Second)
	histSeed(t, srv, now)
	sdk := srv.CloudTrail(ReaderKey, ReaderSecret, "us-east-1")
	ctx, problems := conBrowser(t)
	text := func(id string) string { return conGet(t, ctx, id, chromedp.Text(chromedp.ID(id))) }
	location := func() *url.URL {
		u, err := url.Parse(conGet(t, ctx, "location", chromedp.Location()))
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	window := func(span time.Duration) (time.Time, time.Time) { // of the page's preset, pinned by at= in its links
		href := conGet(t, ctx, "pinned link", chromedp.AttributeValue(chromedp.ID("download-csv"), "href")).Value
		u, err := url.Parse(href)
		if err != nil {
			t.Fatal(err)
		}
		at, err := strconv.ParseInt(u.Query().Get("at"), 10, 64)
		if err != nil {
			t.Fatalf("no at= in %s", u)
		}
		end := time.Unix(at, 0).UTC()
		return end.Add(-span), end
	}
	rowIDs := chromedp.Evaluate[[]string](`[...document.querySelectorAll("#events a.event-link")].map(a => decodeURIComponent(a.pathname.split("/").pop()))`)
	readOnlyCells := chromedp.Evaluate[[]string](`[...document.querySelectorAll("#events td[data-label='Read-only']")].map(td => td.textContent)`)

	// Signing in opens the event history: one page view, one record.
	conSignIn(t, ctx, srv, AdminKey, AdminSecret)
	if calls := histConsoleCalls(t, sdk, 1); len(calls) != 1 {
		t.Fatalf("the first page view left %d LookupEvents records, want 1", len(calls))
	}
	n := 1

	// hank's events: one record with the filter; the chart's totals are the
	// API's count of every matching event that is not read-only.
	conRun(t, ctx, "hank's events", chromedp.Navigate(srv.URL+"/console/events?attr=Username&value=hank&range=24h"),
		chromedp.WaitVisible(chromedp.ID("chart")))
	params := histNewCall(t, sdk, n, "a page view")
	n++
	for _, want := range []string{`"attributeKey":"Username"`, `"attributeValue":"hank"`, `"hideReadOnly":true`, `"bucketSeconds":`, `"startTime":`, `"endTime":`} {
		if !strings.Contains(params, want) {
			t.Errorf("the page view's requestParameters %s lack %s", params, want)
		}
	}
	start, end := window(24 * time.Hour)
	hank := attr(types.LookupAttributeKeyUsername, "hank")
	want := histAPICount(t, sdk, hank, start, end, false)
	if want.shown <= 1000 || want.errors == 0 || want.all != 1800 {
		t.Fatalf("the API finds %d of hank's events (%d shown, %d failed): the test needs more than 1,000", want.all, want.shown, want.errors)
	}
	if got := text("chart-total"); got != histNum(want.shown) {
		t.Errorf("chart total %s, the API counts %d events that are not read-only", got, want.shown)
	}
	if got := text("chart-errors"); got != histNum(want.errors) {
		t.Errorf("chart errors %s, the API counts %d", got, want.errors)
	}
	if ids := conGet(t, ctx, "rows", rowIDs); !slices.Equal(ids, want.ids[:50]) {
		t.Errorf("first page: %d rows, not the API's 50 newest events that are not read-only", len(ids))
	}
	if cells := conGet(t, ctx, "read-only cells", readOnlyCells); slices.Contains(cells, "true") {
		t.Errorf("a read-only event is listed: %v", cells)
	}

	// Page 2: one record (with the token), the same totals, the next 50.
	conRun(t, ctx, "page 2", chromedp.Click(chromedp.ID("next-page")), conWaitURL("page=2"), chromedp.WaitVisible(chromedp.ID("chart")))
	if params = histNewCall(t, sdk, n, "page 2"); !strings.Contains(params, `"nextToken":`) || !strings.Contains(params, `"attributeValue":"hank"`) {
		t.Errorf("page 2's requestParameters: %s", params)
	}
	n++
	if got := text("chart-total"); got != histNum(want.shown) {
		t.Errorf("page 2's chart total %s, want %d", got, want.shown)
	}
	if ids := conGet(t, ctx, "rows", rowIDs); !slices.Equal(ids, want.ids[50:100]) {
		t.Errorf("page 2 is not the API's next 50 events")
	}

	// The downloads: one record each, every matching event.
	for _, format := range []string{"csv", "json"} {
		body := conGet(t, ctx, "download "+format, chromedp.Evaluate[string](
			`fetch(document.getElementById("download-`+format+`").href).then(r => r.ok ? r.text() : "HTTP " + r.status)`, chromedp.EvalAwaitPromise))
		params := histNewCall(t, sdk, n, "the "+format+" download")
		n++
		if !strings.Contains(params, `"attributeValue":"hank"`) || !strings.Contains(params, `"format":"`+format+`"`) {
			t.Errorf("the %s download's requestParameters: %s", format, params)
		}
		got := 0
		if format == "csv" {
			got = strings.Count(body, "\n") - 1
		} else {
			var doc struct{ Records []json.RawMessage }
			if err := json.Unmarshal([]byte(body), &doc); err != nil {
				t.Fatalf("JSON download: %v: %.200s", err, body)
			}
			got = len(doc.Records)
		}
		if got != want.shown {
			t.Errorf("the %s download has %d events, want %d", format, got, want.shown)
		}
	}

	// Show read-only events: the toggle puts them back, exactly.
	conRun(t, ctx, "show read-only", chromedp.Navigate(srv.URL+"/console/events?attr=Username&value=hank&range=24h"),
		chromedp.WaitVisible(chromedp.ID("readonly")), chromedp.Click(chromedp.ID("readonly")), chromedp.Click(chromedp.ID("apply")),
		conWaitURL("readonly=show"), chromedp.WaitVisible(chromedp.ID("chart")))
	histConsoleCalls(t, sdk, n+2)
	start, end = window(24 * time.Hour)
	if got, want := text("chart-total"), histAPICount(t, sdk, hank, start, end, true); got != histNum(want.all) {
		t.Errorf("with read-only events the chart counts %s, the API %d", got, want.all)
	}

	// Without an attribute: hidden by default, exactly (the console's own
	// LookupEvents records are read-only too).
	// Over 90 days: bars of two local days, counted by the hour from the
	// midnight before the range.
	conRun(t, ctx, "all events", chromedp.Navigate(srv.URL+"/console/events?range=90d"), chromedp.WaitVisible(chromedp.ID("chart")))
	if note := text("readonly-hidden"); !strings.Contains(note, "Read-only events are hidden") {
		t.Errorf("the page does not say read-only events are hidden: %q", note)
	}
	start, end = window(90 * 24 * time.Hour)
	all := histAPICount(t, sdk, nil, start, end, false)
	if got := text("chart-total"); got != histNum(all.shown) {
		t.Errorf("all events without read-only: chart %s, the API %d", got, all.shown)
	}
	if ids := conGet(t, ctx, "rows", rowIDs); !slices.Equal(ids, all.ids[:50]) {
		t.Errorf("all events: the first page is not the API's 50 newest that are not read-only")
	}

	// A filter on ReadOnly itself decides: the toggle does not apply, and
	// says so. (A window that ends before the test's own calls, whose
	// records are read-only and stored as they come.)
	roStart, roEnd := now.Add(-23*time.Hour), now.Add(-50*time.Second)
	conRun(t, ctx, "read-only filter", chromedp.Navigate(srv.URL+"/console/events?attr=ReadOnly&value=true&range=custom&start="+
		roStart.Format("2006-01-02T15:04:05")+"&end="+roEnd.Format("2006-01-02T15:04:05")),
		chromedp.WaitVisible(chromedp.ID("chart")))
	if note := text("readonly-note"); !strings.Contains(note, "Does not apply") {
		t.Errorf("no note that the toggle does not apply: %q", note)
	}
	ro := histAPICount(t, sdk, attr(types.LookupAttributeKeyReadOnly, "true"), roStart, roEnd, true)
	if got := text("chart-total"); got != histNum(ro.all) || ro.all < 600 {
		t.Errorf("ReadOnly=true: chart %s, the API %d", got, ro.all)
	}

	// Keyboard: Tab reaches a bar, which says what it holds; Enter opens
	// its events.
	conRun(t, ctx, "hank's events again", chromedp.Navigate(srv.URL+"/console/events?attr=Username&value=hank&range=24h"),
		chromedp.WaitVisible(chromedp.ID("chart")))
	onBar := chromedp.Evaluate[bool](`document.activeElement && document.activeElement.matches("#chart a.bar")`)
	reached := false
	for i := 0; i < 40 && !reached; i++ {
		conRun(t, ctx, "tab", chromedp.KeyEvent("\t"))
		reached = conGet(t, ctx, "focus", onBar)
	}
	if !reached {
		t.Fatal("Tab never reaches a bar of the chart")
	}
	label := conGet(t, ctx, "bar label", chromedp.Evaluate[string](`document.activeElement.getAttribute("aria-label")`))
	if !strings.Contains(label, "events") {
		t.Errorf("the focused bar's label %q does not say what it holds", label)
	}
	ring := conGet(t, ctx, "focus ring", chromedp.Evaluate[string](`getComputedStyle(document.activeElement.querySelector(".bar-hit")).stroke`))
	if ring == "" || ring == "none" {
		t.Errorf("the focused bar shows no focus (stroke %q)", ring)
	}
	conRun(t, ctx, "enter on a bar", chromedp.KeyEvent("\r"), conWaitURL("range=custom"), chromedp.WaitVisible(chromedp.ID("chart-caption")))
	if u := location(); u.Query().Get("value") != "hank" || u.Query().Get("start") == "" {
		t.Errorf("the bar opened %s", u)
	}

	// Zoom out widens the range around the current one.
	span := func(u *url.URL) (time.Time, time.Time) {
		s, err1 := time.Parse("2006-01-02T15:04:05", u.Query().Get("start"))
		e, err2 := time.Parse("2006-01-02T15:04:05", u.Query().Get("end"))
		if err1 != nil || err2 != nil {
			t.Fatalf("no custom range in %s", u)
		}
		return s, e
	}
	barStart, barEnd := span(location())
	conRun(t, ctx, "zoom out", chromedp.Click(chromedp.ID("zoom-out")), conWaitURL("start="), chromedp.WaitVisible(chromedp.ID("chart-caption")))
	if u := location(); u.Query().Get("value") != "hank" {
		t.Errorf("zoom out lost the filter: %s", u)
	} else if s, e := span(u); s.After(barStart) || e.Before(barEnd) || e.Sub(s) < 2*barEnd.Sub(barStart) {
		t.Errorf("zoom out of %v–%v opened %v–%v", barStart, barEnd, s, e)
	}

	if p := problems(); len(p) > 0 {
		t.Fatalf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}
