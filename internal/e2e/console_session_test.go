package e2e

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// conSessionTTL is the session length of the session tests: long enough
// to sign in and open a form, short enough to wait for.
const conSessionTTL = "15s"

// conSessionCookie is the browser's console session cookie.
func conSessionCookie(t *testing.T, ctx context.Context, srv *Server) *http.Cookie {
	t.Helper()
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL + "/console/"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies.Cookies {
		if c.Name == "cairn_session" {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatalf("no session cookie among %v", cookies.Cookies)
	return nil
}

// conWaitExpired polls, with the browser's session cookie, until the
// server says the session has expired.
func conWaitExpired(t *testing.T, srv *Server, sc *http.Cookie) {
	t.Helper()
	hc := conHTTPClient(t, "127.0.0.1")
	var last string
	if !dlPoll(time.Minute, func() bool {
		req, _ := http.NewRequest("GET", srv.URL+"/console/trails", nil)
		req.AddCookie(sc)
		resp, err := hc.Do(req)
		if err != nil {
			last = err.Error()
			return false
		}
		resp.Body.Close()
		last = resp.Status + " " + resp.Header.Get("Location")
		return resp.StatusCode == http.StatusSeeOther && strings.Contains(resp.Header.Get("Location"), "expired=1")
	}) {
		t.Fatalf("the session never expired (last answer %s)", last)
	}
}

// conFillSignIn fills in the sign-in form on the page and sends it.
func conFillSignIn(key, secret string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.SetValue(chromedp.ID("access_key_id"), key),
		chromedp.SetValue(chromedp.ID("secret_access_key"), secret),
		chromedp.Submit(chromedp.ID("secret_access_key")))
}

// conUpdateTrailEvents counts the UpdateTrail records of trail name.
func conUpdateTrailEvents(t *testing.T, sdk *cloudtrail.Client) int {
	t.Helper()
	out, err := sdk.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("UpdateTrail")}}})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Events)
}

// TestConsoleSessionExpiredForm: alice edits a trail's settings, her
// session expires, she saves. Nothing changes; the sign-in page warns (a
// warning, not a success message) that the form is kept; a wrong secret
// keeps the warning; signing in returns to the trail page with what she
// typed filled in and not sent; Back lands on a working page; saving then
// changes the trail, recorded once. A page asked for after expiry comes
// back with its query after signing in. A form sent after signing out in
// another tab says its input was lost.
func TestConsoleSessionExpiredForm(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig + "console:\n  session_ttl: " + conSessionTTL + "\n"})
	for _, b := range []string{"logs-a", "logs-b"} {
		if err := os.MkdirAll(filepath.Join(srv.DataDir, "buckets", b), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sdk := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bg := context.Background()
	created, err := sdk.CreateTrail(bg, &cloudtrail.CreateTrailInput{Name: aws.String("kept"), S3BucketName: aws.String("logs-a")})
	if err != nil {
		t.Fatal(err)
	}
	trailPage := srv.URL + "/console/trail?region=us-east-1&arn=" + url.QueryEscape(aws.ToString(created.TrailARN))
	ctx, problems := conBrowser(t)
	shots := conShots(t)
	text := func(sel string) chromedp.Action[string] { return chromedp.Text(chromedp.CSS(sel)) }
	saveSettings := chromedp.Click(chromedp.CSS(`#settings-form button[type=submit]`))

	conSignIn(t, ctx, srv, AdminKey, AdminSecret)
	conRun(t, ctx, "type into the trail's settings",
		chromedp.Navigate(trailPage),
		chromedp.WaitVisible(chromedp.ID("prefix")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("bucket").select()`),
		chromedp.SendKeys(chromedp.ID("bucket"), "logs-b"),
		chromedp.SendKeys(chromedp.ID("prefix"), "typed/after-expiry"),
		chromedp.Click(chromedp.ID("validation")))
	conWaitExpired(t, srv, conSessionCookie(t, ctx, srv))

	// Saving after expiry: the sign-in page, with a warning; nothing changed.
	conRun(t, ctx, "save after expiry", saveSettings, conWaitURL("/console/login?"), chromedp.WaitVisible(chromedp.ID("login-warning")))
	loc := conGet(t, ctx, "location", chromedp.Location())
	if u, _ := url.Parse(loc); u == nil || u.Query().Get("kept") != "1" || srv.URL+u.Query().Get("next") != trailPage {
		t.Fatalf("after saving with an expired session: %s", loc)
	}
	warn := conGet(t, ctx, "warning", text("#login-warning"))
	cls := conGet(t, ctx, "warning class", chromedp.Evaluate[string](`document.getElementById("login-warning").className + "|" + document.querySelectorAll(".flash").length`))
	if !strings.Contains(warn, "nothing was changed") || !strings.Contains(warn, "filled in") || cls != "notice warn|0" {
		t.Fatalf("sign-in warning %q (class %q)", warn, cls)
	}
	conRun(t, ctx, "screenshot", conShot(shots, "session-kept-login.png"))
	if got, err := sdk.GetTrail(bg, &cloudtrail.GetTrailInput{Name: aws.String("kept")}); err != nil ||
		aws.ToString(got.Trail.S3BucketName) != "logs-a" || aws.ToString(got.Trail.S3KeyPrefix) != "" {
		t.Fatalf("the trail changed without a session: %+v, %v", got.Trail, err)
	}
	// A wrong secret: the error, and the warning still.
	conRun(t, ctx, "wrong secret", conFillSignIn(AdminKey, "not-the-secret"), chromedp.WaitVisible(chromedp.ID("login-error")))
	if w := conGet(t, ctx, "warning", text("#login-warning")); !strings.Contains(w, "filled in") {
		t.Fatalf("the warning went after a wrong secret: %q", w)
	}
	// Signing in returns to the form, filled in, not sent.
	conRun(t, ctx, "sign in again", conFillSignIn(AdminKey, AdminSecret),
		conWaitURL("/console/trail?"),
		chromedp.WaitVisible(chromedp.ID("kept-notice")),
		chromedp.Poll[chromedp.Void](`document.querySelector("form[data-kept]") !== null`, chromedp.WithPollingTimeout(time.Minute)))
	if loc := conGet(t, ctx, "location", chromedp.Location()); loc != trailPage {
		t.Fatalf("signed in to %s, want %s", loc, trailPage)
	}
	filled := conGet(t, ctx, "filled", chromedp.Evaluate[string](
		`[document.getElementById("bucket").value, document.getElementById("prefix").value, document.getElementById("validation").checked,
		  document.querySelector("form[data-kept]").id, document.getElementById("kept-notice").className].join("|")`))
	if filled != "logs-b|typed/after-expiry|true|settings-form|notice warn kept" {
		t.Fatalf("the form as filled in: %q", filled)
	}
	if msg := conGet(t, ctx, "kept message", text("#kept-message")); !strings.Contains(msg, "nothing was changed") || !strings.Contains(msg, "send it again") {
		t.Fatalf("kept message %q", msg)
	}
	conRun(t, ctx, "screenshot", conShot(shots, "session-kept-form.png"))
	if got, _ := sdk.GetTrail(bg, &cloudtrail.GetTrailInput{Name: aws.String("kept")}); aws.ToString(got.Trail.S3BucketName) != "logs-a" || conUpdateTrailEvents(t, sdk) != 0 {
		t.Fatalf("the kept form was sent: %+v", got.Trail)
	}
	// Back: a working page, no resubmission.
	conRun(t, ctx, "back", chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if h1 := conGet(t, ctx, "heading", text("main h1")); h1 == "Refused" || strings.Contains(h1, "Not found") {
		t.Fatalf("Back showed %q", h1)
	}
	if got, _ := sdk.GetTrail(bg, &cloudtrail.GetTrailInput{Name: aws.String("kept")}); aws.ToString(got.Trail.S3BucketName) != "logs-a" {
		t.Fatalf("Back resubmitted the form: %+v", got.Trail)
	}
	conRun(t, ctx, "forward", chromedp.NavigateForward(), conWaitURL("/console/trail?"), chromedp.WaitVisible(chromedp.ID("prefix")))

	// Saving, signed in, changes the trail, once.
	conRun(t, ctx, "fill and save",
		chromedp.Navigate(trailPage), chromedp.WaitVisible(chromedp.ID("prefix")),
		chromedp.SetValue(chromedp.ID("bucket"), "logs-b"),
		chromedp.SetValue(chromedp.ID("prefix"), "typed/after-expiry"),
		conSubmit(`#settings-form button[type=submit]`), // the URL was /console/trail? already
		chromedp.WaitVisible(chromedp.ID("settings-saved")))
	if got, _ := sdk.GetTrail(bg, &cloudtrail.GetTrailInput{Name: aws.String("kept")}); aws.ToString(got.Trail.S3BucketName) != "logs-b" ||
		aws.ToString(got.Trail.S3KeyPrefix) != "typed/after-expiry" || conUpdateTrailEvents(t, sdk) != 1 {
		t.Fatalf("after saving signed in: %+v, %d UpdateTrail records", got.Trail, conUpdateTrailEvents(t, sdk))
	}

	// A page asked for after expiry comes back, with its query.
	events := srv.URL + "/console/events?region=us-east-1&attr=EventName&value=UpdateTrail"
	conWaitExpired(t, srv, conSessionCookie(t, ctx, srv))
	conRun(t, ctx, "events after expiry", chromedp.Navigate(events), conWaitURL("/console/login?"), chromedp.WaitVisible(chromedp.ID("login-warning")))
	if w := conGet(t, ctx, "warning", text("#login-warning")); !strings.Contains(w, "Your session has expired") {
		t.Fatalf("warning %q", w)
	}
	conRun(t, ctx, "sign in", conFillSignIn(AdminKey, AdminSecret), conWaitURL("/console/events?"), chromedp.WaitVisible(chromedp.ID("events")))
	if loc := conGet(t, ctx, "location", chromedp.Location()); loc != events {
		t.Fatalf("signed in to %s, want %s", loc, events)
	}

	// Signed out in another tab: the form sent is lost, and says so.
	conRun(t, ctx, "delete form", chromedp.Navigate(trailPage), chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.SendKeys(chromedp.ID("confirm"), "kept"))
	tok := conGet(t, ctx, "token", chromedp.Evaluate[string](`document.querySelector("input[name=csrf]").value`))
	req, _ := http.NewRequest("POST", srv.URL+"/console/logout", strings.NewReader(url.Values{"csrf": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(conSessionCookie(t, ctx, srv))
	if resp, err := conHTTPClient(t, "127.0.0.1").Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out in another tab: %v %v", resp, err)
	}
	conRun(t, ctx, "delete after sign-out", chromedp.Submit(chromedp.ID("confirm")), conWaitURL("/console/login?"), chromedp.WaitVisible(chromedp.ID("login-warning")))
	if w := conGet(t, ctx, "warning", text("#login-warning")); !strings.Contains(w, "was lost") || !strings.Contains(w, "not applied") {
		t.Fatalf("warning %q", w)
	}
	if _, err := sdk.GetTrail(bg, &cloudtrail.GetTrailInput{Name: aws.String("kept")}); err != nil {
		t.Fatalf("the trail was deleted without a session: %v", err)
	}
	if p := problems(); len(p) > 0 {
		t.Fatalf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// TestConsoleLiveEndsWithSession: a Live mode stream does not outlive its
// session: when the session expires the stream ends, its reconnection is
// sent to sign in, and the page says Live mode stopped.
func TestConsoleLiveEndsWithSession(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig + "console:\n  session_ttl: " + conSessionTTL + "\n"})
	ctx, problems := conBrowser(t)
	conSignIn(t, ctx, srv, AdminKey, AdminSecret)
	conRun(t, ctx, "turn Live on",
		chromedp.Navigate(srv.URL+"/console/events?region=us-east-1"),
		chromedp.WaitVisible(chromedp.ID("live-toggle")),
		chromedp.Click(chromedp.ID("live-toggle")),
		chromedp.Poll[chromedp.Void](`document.getElementById("live").getAttribute("data-open") === "1"`, chromedp.WithPollingTimeout(time.Minute)))
	conWaitExpired(t, srv, conSessionCookie(t, ctx, srv))
	conRun(t, ctx, "Live stops", chromedp.Poll[chromedp.Void](`document.getElementById("live-status").textContent.startsWith("Live mode stopped")`,
		chromedp.WithPollingTimeout(time.Minute), chromedp.WithPollingInterval(100*time.Millisecond)))
	if p := problems(); len(p) > 0 {
		t.Fatalf("page problems: %v", p)
	}
}
