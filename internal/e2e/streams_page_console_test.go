package e2e

// The console's Streams page lists the signed-in account's streaming
// destinations — its trails' log groups and its event buses' targets —
// with their status: a webhook that is down shows its error there, and
// stops showing it once it has caught up; another account sees none of
// them (headless Chromium).

import (
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// streamsRow is one row of the Streams page.
type streamsRow struct {
	Name, Kind, State, LastDelivery, Error, Sent, Behind string
}

func TestStreamsConsolePage(t *testing.T) {
	t.Parallel()
	hookA := newEBHook(t, "sa")
	hookA.setFail(http.StatusInternalServerError)
	hookB := newEBHook(t, "sb")
	file := filepath.Join(t.TempDir(), "cwl.ndjson")
	cfg := dlConfig(cwlGroups("file-group=file://"+file), "event_buses:\n"+
		ebBus(Account1, "", ebWebhookTarget(hookA.URL()+"?token=a-secret-token", "sa", ""))+
		ebBus(Account2, "", ebWebhookTarget(hookB.URL(), "sb", "")))
	srv := Start(t, Options{Config: cfg})
	cwlTrail(t, srv, "streams-page", "streams-page-logs", "file-group")
	ids := dlIngest(t, srv, ebRecord("CreateUser", "iam.amazonaws.com", Account1, false, nil))
	ebWaitFor(t, "a refused attempt", 30*time.Second, func() bool {
		hookA.mu.Lock()
		defer hookA.mu.Unlock()
		return hookA.failed >= 1
	})

	ctx, problems := conBrowser(t)
	conSignIn(t, ctx, srv, AdminKey, AdminSecret)
	conRun(t, ctx, "the Streams link", chromedp.Click(chromedp.CSS(`nav a[href^="/console/streams"]`)),
		chromedp.WaitVisible(chromedp.ID("streams")))
	rows := func() map[string]streamsRow {
		conRun(t, ctx, "the Streams page", chromedp.Navigate(srv.URL+"/console/streams"), chromedp.WaitVisible(chromedp.ID("streams")))
		list := conGet(t, ctx, "the rows", chromedp.Evaluate[[]streamsRow](`[...document.querySelectorAll("#streams tr.stream")].map(r => {
			const c = r.querySelectorAll("td");
			return {Name: c[0].innerText, Kind: c[1].innerText, State: c[2].innerText, LastDelivery: c[3].innerText,
				Error: c[5].innerText, Sent: c[6].innerText, Behind: c[8].innerText};
		})`))
		m := map[string]streamsRow{}
		for _, r := range list {
			m[r.Kind] = r
		}
		if len(m) != len(list) {
			t.Fatalf("rows %+v: one of each kind expected", list)
		}
		return m
	}
	var got map[string]streamsRow
	if !dlPoll(30*time.Second, func() bool {
		got = rows()
		return strings.Contains(got["webhook"].Error, "500")
	}) {
		t.Fatalf("the page never showed the webhook's error: %+v", got)
	}
	hook := got["webhook"]
	if !strings.HasSuffix(hook.Name, strings.TrimPrefix(hookA.URL(), "http://")) || strings.Contains(hook.Name, "a-secret-token") {
		t.Errorf("webhook shown as %q, want %s without its query", hook.Name, hookA.URL())
	}
	if !strings.Contains(hook.State, "failing") || hook.LastDelivery != "none yet" || hook.Behind == "0" {
		t.Errorf("a webhook that is down shows %+v", hook)
	}
	if lg, ok := got["log-file"]; !ok || !strings.Contains(lg.Name, "streams-page") || !strings.Contains(lg.Name, cwlGroupARN("file-group")) {
		t.Errorf("the trail's log group is not listed: %+v", got)
	}
	if len(got) != 2 {
		t.Errorf("account %s's page lists %d destinations, want its 2: %+v", Account1, len(got), got)
	}
	// The lag shows in the metrics too, by kind; so do the open tail streams.
	metrics := capMetrics(t, srv)
	if m := regexp.MustCompile(`(?m)^cairn_stream_lag_events\{kind="webhook"\} ([0-9]+)$`).FindStringSubmatch(metrics); m == nil || m[1] == "0" {
		t.Errorf("no webhook lag in the metrics while it is down:\n%s", grepLines(metrics, "cairn_stream_lag"))
	}
	if !strings.Contains(metrics, "\ncairn_tail_streams 0\n") {
		t.Errorf("no tail streams gauge in the metrics:\n%s", grepLines(metrics, "cairn_tail"))
	}

	hookA.setFail(0)
	ebWaitFor(t, "the event after the webhook came back", 60*time.Second, func() bool { return hookA.has(ids...) })
	if !dlPoll(30*time.Second, func() bool {
		got = rows()
		return got["webhook"].Error == "none"
	}) {
		t.Fatalf("the webhook's error stays after it caught up: %+v", got)
	}
	hook = got["webhook"]
	if _, err := time.Parse("2006-01-02 15:04:05", hook.LastDelivery); err != nil || hook.Sent == "0" || hook.Behind != "0" ||
		!strings.Contains(hook.State, "delivering") {
		t.Errorf("a webhook that caught up shows %+v", hook)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("page problems: %v", p)
	}

	// Another account's user sees its own target only.
	ctxB, _ := conBrowser(t)
	conSignIn(t, ctxB, srv, OtherKey, OtherSecret)
	conRun(t, ctxB, "bob's Streams page", chromedp.Navigate(srv.URL+"/console/streams"), chromedp.WaitVisible(chromedp.ID("streams")))
	body := conGet(t, ctxB, "bob's page", chromedp.Text(chromedp.ID("streams")))
	if !strings.Contains(body, strings.TrimPrefix(hookB.URL(), "http://")) {
		t.Errorf("bob's page does not list his webhook:\n%s", body)
	}
	if strings.Contains(body, strings.TrimPrefix(hookA.URL(), "http://")) || strings.Contains(body, "file-group") || strings.Contains(body, "streams-page") {
		t.Errorf("bob's page lists account %s's destinations:\n%s", Account1, body)
	}
}
