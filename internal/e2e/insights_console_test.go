package e2e

import (
	"context"
	"net/url"
	"slices"
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
	insConsoleMore(t, ctx, f, shots)
	if p := problems(); len(p) > 0 {
		t.Errorf("browser problems: %v", p)
	}
}

// insConsoleMore: the index says each Insight's window, type and averages;
// an IAM user named in the attributions links to that user's events in
// the Insight's window; the error-rate Insight's page draws its 30 errors
// and links to the 30 refused GetParameter calls (read-only events); the
// pages fit a phone's width.
func insConsoleMore(t *testing.T, ctx context.Context, f insReadFixture, shots string) {
	row := func(name string) string {
		return `[...document.querySelectorAll("#insights tbody tr")].find(tr => tr.textContent.includes("` + name + `"))`
	}
	conRun(t, ctx, "Insights page", chromedp.Navigate(f.srv.URL+"/console/insights?region=us-east-1"), chromedp.WaitVisible(chromedp.ID("insights")))
	cells := conGet(t, ctx, "index cells", chromedp.Evaluate[[]string](
		`[...`+row("GetParameter")+`.querySelectorAll("td")].map(td => td.getAttribute("data-label") + "=" + td.textContent.trim())`))
	want := []string{"Start=" + f.burst.Format("2006-01-02 15:04"), "Insight type=ApiErrorRateInsight", "Event source=ssm.amazonaws.com", "Event name=GetParameter"}
	for _, w := range want {
		if !slices.Contains(cells, w) {
			t.Errorf("index row of GetParameter lacks %q: %q", w, cells)
		}
	}
	// mallory, in the RunInstances Insight's attributions, links to her
	// events of the Insight's window.
	conRun(t, ctx, "RunInstances Insight", chromedp.Navigate(conGet(t, ctx, "link", chromedp.Evaluate[string](row("RunInstances")+`.querySelector("a.insight-link").href`))),
		chromedp.WaitVisible(chromedp.ID("attributions")))
	mallory := conGet(t, ctx, "mallory link", chromedp.Evaluate[string](
		`(() => { const a = [...document.querySelectorAll("#attributions a.attr-value")].find(a => a.textContent.endsWith("user/mallory")); return a ? a.getAttribute("href") : "" })()`))
	u, err := url.Parse(mallory)
	start, _ := time.Parse("2006-01-02T15:04:05", u.Query().Get("start"))
	if err != nil || mallory == "" || u.Query().Get("attr") != "Username" || u.Query().Get("value") != "mallory" ||
		start.After(f.burst) || f.burst.Sub(start) > 5*time.Minute {
		t.Fatalf("mallory's attribution link %q (the burst at %s)", mallory, f.burst)
	}
	conRun(t, ctx, "mallory's events", chromedp.Navigate(f.srv.URL+mallory), chromedp.WaitVisible(chromedp.ID("events")))
	users := conGet(t, ctx, "users", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#events tbody td[data-label='User name']")].map(td => td.textContent.trim())`))
	if len(users) == 0 || slices.ContainsFunc(users, func(u string) bool { return u != "mallory" }) {
		t.Errorf("mallory's events of the window: %q", users)
	}

	// The error-rate Insight.
	conRun(t, ctx, "Insights page", chromedp.Navigate(f.srv.URL+"/console/insights?region=us-east-1"), chromedp.WaitVisible(chromedp.ID("insights")))
	href := conGet(t, ctx, "GetParameter link", chromedp.Evaluate[string](row("GetParameter")+`.querySelector("a.insight-link").href`))
	var total string
	if !dlPoll(time.Minute, func() bool {
		conRun(t, ctx, "Insight page", chromedp.Navigate(href), chromedp.WaitVisible(chromedp.ID("insight-chart")))
		total = strings.TrimSpace(conGet(t, ctx, "total", chromedp.Text(chromedp.ID("chart-total"))))
		return total != "0" && total != ""
	}) {
		t.Fatalf("the error-rate Insight's chart stayed empty (%q)", total)
	}
	if total != "30" {
		t.Errorf("the error-rate Insight's chart counts %s errors, want 30", total)
	}
	codes := conGet(t, ctx, "errorCode attribution", chromedp.Text(chromedp.CSS(`#attributions tr[data-attribute="errorCode"]`)))
	if !strings.Contains(codes, "ThrottlingException") || !strings.Contains(codes, "AccessDenied") {
		t.Errorf("errorCode attribution: %q", codes)
	}
	for _, w := range []struct {
		name   string
		width  int64
		mobile bool
	}{{"phone", 390, true}, {"desktop", 1280, false}} {
		opts := []chromedp.EmulateViewportOption{}
		if w.mobile {
			opts = append(opts, chromedp.EmulateScale(2), chromedp.EmulateMobile)
		}
		conRun(t, ctx, "viewport", chromedp.EmulateViewport(w.width, 844, opts...),
			chromedp.Navigate(f.srv.URL+"/console/insights?region=us-east-1"), chromedp.WaitVisible(chromedp.ID("insights")))
		if over := conGet(t, ctx, "overflow", chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`)); over > 0 {
			t.Errorf("the Insights list is %d px wider than a %d px screen", over, w.width)
		}
		conRun(t, ctx, "screenshot", conShot(shots, "console-insights-"+w.name+".png"),
			chromedp.Navigate(href), chromedp.WaitVisible(chromedp.ID("insight-chart")))
		if over := conGet(t, ctx, "overflow", chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`)); over > 0 {
			wide := conGet(t, ctx, "wide elements", chromedp.Evaluate[[]string](
				`[...document.querySelectorAll("main *")].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 5).map(e => e.tagName + "#" + e.id + "." + e.className)`))
			t.Errorf("the Insight page is %d px wider than a %d px screen: %q", over, w.width, wide)
		}
		conRun(t, ctx, "screenshot", conShot(shots, "console-insight-error-"+w.name+".png"))
	}
	conRun(t, ctx, "the window's events", chromedp.Click(chromedp.ID("insight-events")), conWaitURL("/console/events"), chromedp.WaitVisible(chromedp.ID("events")))
	names := conGet(t, ctx, "event names", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#events tbody td[data-label='Event name']")].map(td => td.textContent.trim())`))
	if len(names) != 30 || slices.ContainsFunc(names, func(n string) bool { return n != "GetParameter" }) {
		t.Errorf("the error-rate Insight's events (read-only calls): %d rows %q", len(names), names)
	}
}
