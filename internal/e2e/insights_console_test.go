package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// insConsole: after the Insights, the console's Insights page
// (headless Chromium) lists both; an Insight's page draws the burst
// minute's 50 calls from ListInsightsMetricData with the baseline line and
// the Insight's window, shows the attributions (mallory in the Insight,
// tester in the baseline), and its link opens event history on the 50
// calls of the window.
func insConsole(t *testing.T, f insReadFixture) {
	ctx, problems := conBrowser(t)
	shots := conShots(t)
	conSignIn(t, ctx, f.srv, AdminKey, AdminSecret)
	conRun(t, ctx, "Insights page", chromedp.Navigate(f.srv.URL+"/console/insights?region=us-east-1"),
		chromedp.WaitVisible(chromedp.ID("insights")))
	rows := conGet(t, ctx, "rows", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#insights tbody tr")].map(tr => tr.textContent)`))
	if len(rows) != 2 || !strings.Contains(strings.Join(rows, "|"), "RunInstances") || !strings.Contains(strings.Join(rows, "|"), "GetParameter") {
		t.Fatalf("Insights rows: %q", rows)
	}
	href := conGet(t, ctx, "RunInstances link", chromedp.Evaluate[string](
		`[...document.querySelectorAll("#insights tbody tr")].find(tr => tr.textContent.includes("RunInstances")).querySelector("a.insight-link").href`))
	// The counts are written when the engine checkpoints, a moment after
	// the End: reload until the chart has them.
	var total string
	if !dlPoll(time.Minute, func() bool {
		conRun(t, ctx, "Insight page", chromedp.Navigate(href), chromedp.WaitVisible(chromedp.ID("insight-chart")))
		total = conGet(t, ctx, "total", chromedp.Text(chromedp.ID("chart-total")))
		return strings.TrimSpace(total) != "0" && strings.TrimSpace(total) != ""
	}) {
		t.Fatalf("the Insight's chart stayed empty (%q)", total)
	}
	titles := conGet(t, ctx, "bars", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#insight-chart a.bar title")].map(e => e.textContent)`))
	var burst bool
	for _, ti := range titles {
		if strings.Contains(ti, f.burst.Format("Jan 2 15:04")+" –") && strings.Contains(ti, ": 50 events") {
			burst = true
		}
	}
	if !burst {
		t.Errorf("no bar of 50 calls at %s: %q", f.burst.Format("15:04"), titles)
	}
	if n := conGet(t, ctx, "baseline", chromedp.Evaluate[int](`document.querySelectorAll("#insight-baseline-line").length + document.querySelectorAll("#insight-chart rect.insight-window").length`)); n != 2 {
		t.Errorf("baseline line and Insight window: %d of 2", n)
	}
	attr := conGet(t, ctx, "attributions", chromedp.Text(chromedp.CSS(`#attributions tr[data-attribute="userIdentityArn"]`)))
	if !strings.Contains(attr, "user/mallory") || !strings.Contains(attr, "user/tester") || strings.Index(attr, "mallory") > strings.Index(attr, "tester") {
		t.Errorf("userIdentityArn attribution: %q", attr)
	}
	conRun(t, ctx, "screenshot", conShot(shots, "console-insight.png"))
	conRun(t, ctx, "the window's events", chromedp.Click(chromedp.ID("insight-events")), conWaitURL("/console/events"),
		chromedp.WaitVisible(chromedp.ID("events")))
	names := conGet(t, ctx, "event names", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#events tbody tr td:nth-child(3)")].map(td => td.textContent)`))
	if len(names) != 50 || strings.Count(strings.Join(names, ","), "RunInstances") != 50 {
		t.Errorf("events of the window: %d rows %q", len(names), names)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("browser problems: %v", p)
	}
}
