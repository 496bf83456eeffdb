package e2e

// Found by using the console for an hour as its users (and a hostile
// tenant) would: a download asked for after the session ended, and a form
// refused for its security token.

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// conDownloads sends the browser's downloads to a new directory, named by
// their GUID, and returns it.
func conDownloads(t *testing.T, ctx context.Context) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// conDownload runs click and returns the file it downloaded, whole.
func conDownload(t *testing.T, ctx context.Context, dir, what string, click chromedp.Action[chromedp.Void]) []byte {
	t.Helper()
	dlCtx, stop := context.WithTimeout(ctx, 90*time.Second)
	defer stop()
	progress := chromedp.BrowserEvents(dlCtx, browser.DownloadProgress)
	conRun(t, ctx, what, click)
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("%s: waiting for the download: %v", what, err)
		}
		if ev.State == browser.DownloadProgressStateInProgress {
			continue
		}
		if ev.State != browser.DownloadProgressStateCompleted {
			t.Fatalf("%s: download %s", what, ev.State)
		}
		b, err := os.ReadFile(filepath.Join(dir, ev.GUID))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Fatalf("%s: no download", what)
	return nil
}

// TestConsoleDownloadAfterExpiry: alice's session ends while event history
// is open; she selects CSV. The tab goes to the sign-in page (not a file
// holding the sign-in page), and after signing in she is back on event
// history with the same filter and a link that downloads the CSV she asked
// for; nothing else was downloaded.
func TestConsoleDownloadAfterExpiry(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig + "console:\n  session_ttl: " + conSessionTTL + "\n"})
	conSeed(t, srv, time.Now().UTC())
	ctx, problems := conBrowser(t)
	dir := conDownloads(t, ctx)
	conSignIn(t, ctx, srv, AdminKey, AdminSecret)
	events := srv.URL + "/console/events?region=us-east-1&attr=Username&value=dana&readonly=show"
	conRun(t, ctx, "event history", chromedp.Navigate(events), chromedp.WaitVisible(chromedp.ID("download-csv")))
	conWaitExpired(t, srv, conSessionCookie(t, ctx, srv))

	conRun(t, ctx, "CSV after expiry", chromedp.Click(chromedp.ID("download-csv")),
		conWaitURL("/console/login?"), chromedp.WaitVisible(chromedp.ID("login-warning")))
	if w := conGet(t, ctx, "warning", chromedp.Text(chromedp.ID("login-warning"))); !strings.Contains(w, "expired") {
		t.Fatalf("sign-in warning %q", w)
	}
	conRun(t, ctx, "sign in", conFillSignIn(AdminKey, AdminSecret), conWaitURL("/console/events?"),
		chromedp.WaitVisible(chromedp.ID("download-resume")))
	loc := conGet(t, ctx, "location", chromedp.Location())
	u, _ := url.Parse(loc)
	if q := u.Query(); q.Get("value") != "dana" || q.Get("readonly") != "show" || q.Get("download") != "csv" {
		t.Fatalf("after signing in: %s", loc)
	}
	if v := conGet(t, ctx, "value", chromedp.Value(chromedp.ID("value"))); v != "dana" {
		t.Fatalf("the filter's value after signing in: %q", v)
	}
	msg := conGet(t, ctx, "notice", chromedp.Text(chromedp.ID("download-resume")))
	if !strings.Contains(msg, "did not start") || !strings.Contains(msg, "Download CSV") {
		t.Fatalf("download notice %q", msg)
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Fatalf("something was downloaded before signing in: %v", files)
	}
	body := conDownload(t, ctx, dir, "download CSV", chromedp.Click(chromedp.ID("download-resume-link")))
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(rows) < 2 || rows[0][0] != "Event time" || rows[1][1] != "dana" {
		t.Fatalf("downloaded %q (%v)", body[:min(len(body), 200)], err)
	}
	if loc2 := conGet(t, ctx, "location", chromedp.Location()); loc2 != loc {
		t.Fatalf("the tab left event history: %s", loc2)
	}
	if p := problems(); len(p) > 0 {
		t.Fatalf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// TestConsoleStaleTokenForm: a form sent with a security token that is not
// the session's (a page from before the last sign-in) changes nothing; the
// browser is sent back (303) to the form's page, which says so in an error
// next to the page's heading, offers no "Sign in" to a signed-in user, and
// reloading it sends nothing again.
func TestConsoleStaleTokenForm(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	dlMkBucket(t, srv, "logs-a")
	sdk := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bg := context.Background()
	trailPage := srv.URL + "/console/trail?region=us-east-1&arn=" + url.QueryEscape(dlTrail(t, sdk, "stale", "logs-a", nil))
	ctx, problems := conBrowser(t)
	conSignIn(t, ctx, srv, AdminKey, AdminSecret)
	conRun(t, ctx, "type a prefix with a stale token",
		chromedp.Navigate(trailPage), chromedp.WaitVisible(chromedp.ID("prefix")),
		chromedp.SendKeys(chromedp.ID("prefix"), "stale/token"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#settings-form input[name=csrf]").value = "a-token-of-an-earlier-session"`),
		conSubmit(`#settings-form button[type=submit]`), // the URL was /console/trail? already
		chromedp.WaitVisible(chromedp.CSS(".flash-error")))
	if loc, _, _ := strings.Cut(conGet(t, ctx, "location", chromedp.Location()), "#"); loc != trailPage {
		t.Fatalf("after the refused form: %s, want %s", loc, trailPage)
	}
	inView := conGet(t, ctx, "message in view", chromedp.Evaluate[bool](
		`(r => r.top >= 0 && r.bottom <= innerHeight)(document.querySelector(".flash-error").getBoundingClientRect())`))
	if !inView {
		t.Error("the refused form's message is out of sight")
	}
	check := func(when string) {
		t.Helper()
		msg := conGet(t, ctx, "message", chromedp.Text(chromedp.CSS(".flash-error")))
		if !strings.Contains(msg, "security token") || !strings.Contains(msg, "nothing was changed") {
			t.Fatalf("%s: message %q", when, msg)
		}
		if n := conGet(t, ctx, "sign-in links", chromedp.Evaluate[int](`document.querySelectorAll('main a[href^="/console/login"]').length`)); n != 0 {
			t.Fatalf("%s: a signed-in page links to the sign-in page", when)
		}
		if h1 := conGet(t, ctx, "heading", chromedp.Text(chromedp.CSS("main h1"))); h1 == "Refused" {
			t.Fatalf("%s: heading %q", when, h1)
		}
	}
	check("refused")
	// Reloading is a GET of the trail page: nothing is sent again, and the
	// message has been shown.
	conRun(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("prefix")))
	if n := conGet(t, ctx, "messages", chromedp.Evaluate[int](`document.querySelectorAll(".flash-error").length`)); n != 0 {
		t.Fatal("the message came back on reloading")
	}
	if got, err := sdk.GetTrail(bg, &cloudtrail.GetTrailInput{Name: aws.String("stale")}); err != nil || aws.ToString(got.Trail.S3KeyPrefix) != "" {
		t.Fatalf("the trail changed with a stale token: %+v, %v", got.Trail, err)
	}
	if n := conUpdateTrailEvents(t, sdk); n != 0 {
		t.Fatalf("%d UpdateTrail calls", n)
	}
	if p := problems(); len(p) > 0 {
		t.Fatalf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// conLiveNames are the event names of the rows Live mode added.
var conLiveNames = chromedp.Evaluate[[]string](`[...document.querySelectorAll("#events tbody tr.live-row td[data-label='Event name']")].map(td => td.textContent)`)

// conWaitLiveRow waits for Live mode to add a row of event name.
func conWaitLiveRow(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](`[...document.querySelectorAll("#events tbody tr.live-row td[data-label='Event name']")].some(td => td.textContent === "`+name+`")`,
		chromedp.WithPollingTimeout(time.Minute), chromedp.WithPollingInterval(50*time.Millisecond))
}

// TestConsoleLiveHidesReadOnly: event history hides read-only events by
// default, and so does its Live mode; with read-only events shown, Live
// mode shows them too.
func TestConsoleLiveHidesReadOnly(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	ctx, problems := conBrowser(t)
	conSignIn(t, ctx, srv, AdminKey, AdminSecret)
	names, waitRow := conLiveNames, conWaitLiveRow
	liveOn := func(page string) {
		t.Helper()
		conRun(t, ctx, "Live on "+page, chromedp.Navigate(srv.URL+page), chromedp.WaitVisible(chromedp.ID("live-toggle")),
			chromedp.Click(chromedp.ID("live-toggle")),
			chromedp.Poll[chromedp.Void](`document.getElementById("live").getAttribute("data-open") === "1"`,
				chromedp.WithPollingTimeout(time.Minute), chromedp.WithPollingInterval(50*time.Millisecond)))
	}
	liveOn("/console/events?region=us-east-1")
	if s := conGet(t, ctx, "status", chromedp.Text(chromedp.ID("live-status"))); !strings.Contains(s, "read-only events hidden") {
		t.Errorf("Live status %q does not say read-only events are hidden", s)
	}
	srv.Ingest(t, AdminKey, AdminSecret, Record("LiveRead", "s3.amazonaws.com", "us-east-1", time.Now(), map[string]any{"readOnly": true}))
	srv.Ingest(t, AdminKey, AdminSecret, Record("LiveWrite", "s3.amazonaws.com", "us-east-1", time.Now(), map[string]any{"readOnly": false}))
	conRun(t, ctx, "the write", waitRow("LiveWrite"))
	if got := conGet(t, ctx, "live rows", names); strings.Contains(strings.Join(got, " "), "LiveRead") {
		t.Fatalf("Live mode showed a read-only event the page hides: %v", got)
	}
	liveOn("/console/events?region=us-east-1&readonly=show")
	srv.Ingest(t, AdminKey, AdminSecret, Record("LiveReadShown", "s3.amazonaws.com", "us-east-1", time.Now(), map[string]any{"readOnly": true}))
	conRun(t, ctx, "the read, shown", waitRow("LiveReadShown"))
	if p := problems(); len(p) > 0 {
		t.Fatalf("page problems: %v", p)
	}
}

// conPhoneCells finds, in the tables matching sel on a phone's width, the
// cells whose content strays into the label column (a second element or
// text wrapped under the label) or whose badge is stretched across the
// value column, and describes each.
const conPhoneCells = `(sel => {
  const bad = [];
  for (const td of document.querySelectorAll(sel + " td")) {
    if (getComputedStyle(td).display === "none") continue;
    const cell = td.getBoundingClientRect();
    const label = parseFloat(getComputedStyle(td, "::before").width) || 0;
    for (const el of td.children) {
      const r = el.getBoundingClientRect();
      if (r.width === 0) continue;
      if (r.left < cell.left + label) bad.push(td.dataset.label + ": " + el.outerHTML.slice(0, 60) + " under the label");
      for (const b of [el, ...el.querySelectorAll(".badge")]) {
        if (!b.classList.contains("badge")) continue;
        const text = document.createRange();
        text.selectNodeContents(b);
        const w = b.getBoundingClientRect().width, tw = text.getBoundingClientRect().width;
        if (w > tw + 40) bad.push(td.dataset.label + ": badge " + JSON.stringify(b.textContent) + " stretched to " + Math.round(w) + "px");
      }
    }
    const range = document.createRange();
    for (const n of td.childNodes) {
      if (n.nodeType !== 3 || !n.textContent.trim()) continue;
      range.selectNodeContents(n);
      const r = range.getBoundingClientRect();
      if (r.left < cell.left + label) bad.push(td.dataset.label + ": text " + JSON.stringify(n.textContent.trim()) + " under the label");
    }
  }
  return bad;
})`

// TestConsolePhoneCells: on a phone's width each table row is a card of
// label and value; a value of several parts (a trail's name and its
// badges, an event's resources, a digest time under "Enabled") stays in
// the value column, and a badge is as wide as its text.
func TestConsolePhoneCells(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	dlMkBucket(t, srv, "logs-a")
	sdk := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	dlTrail(t, sdk, "phone-trail", "logs-a", func(in *cloudtrail.CreateTrailInput) {
		in.IsMultiRegionTrail, in.EnableLogFileValidation = aws.Bool(true), aws.Bool(true)
	})
	srv.Ingest(t, AdminKey, AdminSecret, Record("PutObject", "s3.amazonaws.com", "us-east-1", time.Now(), map[string]any{
		"readOnly": false, "errorCode": "AccessDenied",
		"resources": []map[string]any{{"ARN": "arn:aws:s3:::phone-bucket/a.txt", "type": "AWS::S3::Object"},
			{"ARN": "arn:aws:s3:::phone-bucket", "type": "AWS::S3::Bucket"}}}))
	// A long name without a place to break (Lambda's are like this).
	srv.Ingest(t, AdminKey, AdminSecret, Record("UpdateFunctionConfiguration20150331v2", "lambda.amazonaws.com", "us-east-1", time.Now(),
		map[string]any{"readOnly": false}))
	ctx, problems := conBrowser(t)
	conSignIn(t, ctx, srv, AdminKey, AdminSecret)
	// Every column shown (the user's choice is remembered in the browser).
	conRun(t, ctx, "every column", chromedp.Navigate(srv.URL+"/console/events?region=us-east-1"), chromedp.WaitVisible(chromedp.ID("columns")),
		chromedp.Evaluate[chromedp.Void](`for (const b of document.querySelectorAll("#columns input[type=checkbox]")) { if (!b.checked) b.click(); }`))
	conRun(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	for page, sel := range map[string]string{"/console/trails?region=us-east-1": "table.trails",
		"/console/events?region=us-east-1&attr=EventName&value=PutObject": "table.events",
		"/console/events?region=us-east-1":                                "table.events"} {
		conRun(t, ctx, page, chromedp.Navigate(srv.URL+page), chromedp.WaitVisible(chromedp.CSS(sel)))
		if bad := conGet(t, ctx, "cells", chromedp.Evaluate[[]string](conPhoneCells+`(`+strconvQuote(sel)+`)`)); len(bad) > 0 {
			t.Errorf("%s on a phone:\n%s", page, strings.Join(bad, "\n"))
		}
		if w := conGet(t, ctx, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth - innerWidth`)); w > 0 {
			t.Errorf("%s on a phone is %dpx wider than the screen", page, w)
		}
	}
	if p := problems(); len(p) > 0 {
		t.Fatalf("page problems: %v", p)
	}
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }
