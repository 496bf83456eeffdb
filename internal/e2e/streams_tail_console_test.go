package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestTailConsoleLive: in headless Chromium, the event history's Live
// toggle opens the stream with the session and prepends the events
// ingested through the API as they arrive, newest first; Pause holds them
// until Resume; with an EventName filter only the matching events come;
// no script error or CSP violation on the way.
func TestTailConsoleLive(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	ctx, problems := conBrowser(t)
	conSignIn(t, ctx, srv, AdminKey, AdminSecret)
	names, waitRow := conLiveNames, conWaitLiveRow
	waitOpen := chromedp.Poll[chromedp.Void](`document.getElementById("live").getAttribute("data-open") === "1"`,
		chromedp.WithPollingTimeout(time.Minute), chromedp.WithPollingInterval(50*time.Millisecond))
	ours := func(all []string) []string {
		return slices.DeleteFunc(all, func(n string) bool { return !strings.HasPrefix(n, "Live") })
	}

	conRun(t, ctx, "turn Live on",
		chromedp.Navigate(srv.URL+"/console/events?region=us-east-1"),
		chromedp.WaitVisible(chromedp.ID("live-toggle")),
		chromedp.Click(chromedp.ID("live-toggle")),
		waitOpen)
	srv.Ingest(t, AdminKey, AdminSecret, Record("LiveOne", "s3.amazonaws.com", "us-east-1", time.Now(), nil))
	srv.Ingest(t, AdminKey, AdminSecret, Record("LiveTwo", "s3.amazonaws.com", "us-east-1", time.Now(),
		map[string]any{"errorCode": "AccessDenied"}))
	conRun(t, ctx, "live rows", waitRow("LiveTwo"))
	if got := ours(conGet(t, ctx, "live rows", names)); !slices.Equal(got, []string{"LiveTwo", "LiveOne"}) {
		t.Fatalf("live rows %v, want [LiveTwo LiveOne]", got)
	}
	if status := conGet(t, ctx, "status", chromedp.Text(chromedp.ID("live-status"))); !strings.Contains(status, "as they arrive") {
		t.Errorf("status %q", status)
	}

	// Pause holds new events; Resume shows them.
	conRun(t, ctx, "pause", chromedp.Click(chromedp.ID("live-pause")))
	srv.Ingest(t, AdminKey, AdminSecret, Record("LiveWhilePaused", "s3.amazonaws.com", "us-east-1", time.Now(), nil))
	conRun(t, ctx, "held", chromedp.Poll[chromedp.Void](`/Paused: [1-9][0-9]* new events? waiting \(newest: LiveWhilePaused\)/.test(document.getElementById("live-status").textContent)`,
		chromedp.WithPollingTimeout(time.Minute)))
	if got := ours(conGet(t, ctx, "rows while paused", names)); slices.Contains(got, "LiveWhilePaused") {
		t.Fatalf("a paused table showed %v", got)
	}
	conRun(t, ctx, "resume", chromedp.Click(chromedp.ID("live-pause")), waitRow("LiveWhilePaused"))
	conRun(t, ctx, "stop", chromedp.Click(chromedp.ID("live-toggle")),
		chromedp.Poll[chromedp.Void](`document.getElementById("live-status").textContent === "Live mode is off."`, chromedp.WithPollingTimeout(time.Minute)))

	// With the page's filter: only the matching events.
	conRun(t, ctx, "filtered Live",
		chromedp.Navigate(srv.URL+"/console/events?region=us-east-1&attr=EventName&value=LiveMatch"),
		chromedp.WaitVisible(chromedp.ID("live-toggle")),
		chromedp.Click(chromedp.ID("live-toggle")),
		waitOpen)
	srv.Ingest(t, AdminKey, AdminSecret, Record("LiveOther", "s3.amazonaws.com", "us-east-1", time.Now(), nil),
		Record("LiveMatch", "s3.amazonaws.com", "us-east-1", time.Now(), nil))
	conRun(t, ctx, "matching row", waitRow("LiveMatch"))
	if got := conGet(t, ctx, "filtered rows", names); !slices.Equal(got, []string{"LiveMatch"}) {
		t.Fatalf("filtered live rows %v, want [LiveMatch]", got)
	}
	if p := problems(); len(p) > 0 {
		t.Fatalf("page problems: %v", p)
	}
}
