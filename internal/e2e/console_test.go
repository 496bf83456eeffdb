package e2e

// The web console, driven through headless Chromium (Debian's chromium
// package) with chromedp: sign in, filter, change the time range, open a
// record, download CSV and compare it with LookupEvents, create a trail and
// start it, sign out; and a read-only user who is refused.
//
// CAIRN_SCREENSHOTS=1 writes the screenshots into the repository's docs/
// (the README links them); otherwise they go to a temporary directory.

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// conChromium is Debian's Chromium; scripts/test installs it.
const conChromium = "/usr/bin/chromium"

// conBrowser starts headless Chromium with a fresh profile and returns a
// tab's context. The page errors it logs (script exceptions, CSP
// violations, failed loads) are collected in problems.
func conBrowser(t *testing.T) (ctx context.Context, problems func() []string) {
	t.Helper()
	if _, err := os.Stat(conChromium); err != nil {
		t.Fatalf("the console tests need headless Chromium at %s (apt-get install chromium; scripts/test does it): %v", conChromium, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(conChromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	var mu sync.Mutex
	var seen []string
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			// A refused form answers 400, 401, 403 or (a sign-in that
			// must wait) 429 on purpose.
			expected := strings.Contains(m.Text, "responded with a status of 40") && !strings.Contains(m.Text, "status of 404") ||
				strings.Contains(m.Text, "responded with a status of 429")
			if (m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException) && !expected {
				mu.Lock()
				seen = append(seen, string(m.Type)+": "+m.Text)
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// conRun runs browser actions, failing the test with what was on the page.
func conRun(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	conGet(t, ctx, what, chromedp.Steps(actions...))
}

// conGet runs an action that returns a value.
func conGet[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	v, err := chromedp.Run(actx, a)
	if err != nil {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		loc, _ := chromedp.Run(c, chromedp.Location())
		body, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
	}
	return v
}

// conWaitURL waits until the tab's URL contains want.
func conWaitURL(want string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		var loc string
		for {
			var err error
			if loc, err = chromedp.Location()(ctx, t); err != nil {
				return chromedp.Void{}, err
			}
			if strings.Contains(loc, want) {
				return chromedp.Void{}, nil
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, fmt.Errorf("URL never contained %q (last %s)", want, loc)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// conShots is where screenshots go.
func conShots(t *testing.T) string {
	if os.Getenv("CAIRN_SCREENSHOTS") != "" {
		dir, err := filepath.Abs(filepath.Join("..", "..", "docs"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// conShot saves a PNG of the viewport.
func conShot(dir, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		buf, err := chromedp.CaptureScreenshot()(ctx, t)
		if err != nil {
			return err
		}
		if len(buf) < 1000 || string(buf[1:4]) != "PNG" {
			return fmt.Errorf("screenshot %s is not a PNG (%d bytes)", name, len(buf))
		}
		return os.WriteFile(filepath.Join(dir, name), buf, 0o644)
	})
}

// conSignIn signs in through the form.
func conSignIn(t *testing.T, ctx context.Context, srv *Server, key, secret string) {
	t.Helper()
	conRun(t, ctx, "sign in",
		chromedp.Navigate(srv.URL+"/console/"),
		conWaitURL("/console/login"),
		chromedp.WaitVisible(chromedp.ID("access_key_id")),
		chromedp.SendKeys(chromedp.ID("access_key_id"), key),
		chromedp.SendKeys(chromedp.ID("secret_access_key"), secret),
		chromedp.Submit(chromedp.ID("secret_access_key")),
		conWaitURL("/console/events"),
		chromedp.WaitVisible(chromedp.CSS(".who")),
	)
}

// conLabelled checks that every form field of the page has a label.
func conLabelled(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	missing := conGet(t, ctx, "labels", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("input:not([type=hidden]), select, textarea")].filter(e => e.labels.length === 0).map(e => e.name || e.id)`))
	if len(missing) > 0 {
		t.Errorf("%s: fields without a label: %v", page, missing)
	}
}

func conIdentity(user string) map[string]any {
	return map[string]any{"type": "IAMUser", "principalId": "AIDA" + strings.ToUpper(user), "userName": user,
		"accessKeyId": "AKIA" + strings.ToUpper(user) + "0000001", "arn": "arn:aws:iam::111111111111:user/" + user, "accountId": Account1}
}

// conSeed stores dana's 65 events (60 in the last 24 hours, 3 of them
// failed; 5 three days ago) and others' events.
func conSeed(t *testing.T, srv *Server, now time.Time) {
	t.Helper()
	var recs []map[string]any
	names := []string{"GetObject", "PutObject", "ListBuckets", "DeleteObject"}
	for i := 0; i < 60; i++ {
		extra := map[string]any{"userIdentity": conIdentity("dana"), "readOnly": i%2 == 0,
			"sourceIPAddress": fmt.Sprintf("198.51.100.%d", i+1),
			"resources":       []map[string]any{{"ARN": fmt.Sprintf("arn:aws:s3:::reports/q%d.csv", i%4), "type": "AWS::S3::Object"}}}
		if i%20 == 7 {
			extra["errorCode"], extra["errorMessage"] = "AccessDenied", "Access Denied"
		}
		recs = append(recs, Record(names[i%4], "s3.amazonaws.com", "us-east-1", now.Add(-time.Duration(5+i*19)*time.Minute), extra))
	}
	for i := 0; i < 5; i++ {
		recs = append(recs, Record("RunInstances", "ec2.amazonaws.com", "us-east-1", now.Add(-72*time.Hour-time.Duration(i)*time.Hour),
			map[string]any{"userIdentity": conIdentity("dana"), "readOnly": false}))
	}
	for i := 0; i < 40; i++ {
		extra := map[string]any{"userIdentity": conIdentity("erik"), "readOnly": i%3 == 0}
		if i%9 == 0 {
			extra["errorCode"] = "ThrottlingException"
		}
		recs = append(recs, Record("DescribeInstances", "ec2.amazonaws.com", "us-east-1", now.Add(-time.Duration(3+i*31)*time.Minute), extra))
	}
	if res := srv.Ingest(t, AdminKey, AdminSecret, recs...); res.Accepted != len(recs) {
		t.Fatalf("ingest: %+v", res)
	}
}

func TestConsole(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	now := time.Now().UTC().Truncate(time.Second)
	conSeed(t, srv, now)
	ctx, problems := conBrowser(t)
	shots := conShots(t)
	sdk := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bg := context.Background()
	text := func(id string) chromedp.Action[string] { return chromedp.Text(chromedp.ID(id)) }

	// Without a session every page sends the browser to the sign-in page.
	conRun(t, ctx, "sign-in page", chromedp.Navigate(srv.URL+"/console/trails"), conWaitURL("/console/login?next="),
		chromedp.WaitVisible(chromedp.ID("access_key_id")), conShot(shots, "console-login.png"))
	// A wrong secret is refused.
	conRun(t, ctx, "wrong secret",
		chromedp.SendKeys(chromedp.ID("access_key_id"), AdminKey),
		chromedp.SendKeys(chromedp.ID("secret_access_key"), "not-the-secret"),
		chromedp.Submit(chromedp.ID("secret_access_key")),
		chromedp.WaitVisible(chromedp.ID("login-error")))
	if msg := conGet(t, ctx, "login error", text("login-error")); !strings.Contains(msg, "not valid") {
		t.Fatalf("wrong secret: %q", msg)
	}

	conSignIn(t, ctx, srv, AdminKey, AdminSecret)

	// Filter by user name, read-only events shown: dana has 60 events in
	// the last 24 hours (the default range), 50 on the first page.
	userCells := chromedp.Evaluate[[]string](`[...document.querySelectorAll("#events .user-cell")].map(td => td.textContent)`)
	conRun(t, ctx, "filter by user name",
		chromedp.SetValue(chromedp.ID("attr"), "Username"),
		chromedp.SendKeys(chromedp.ID("value"), "dana"),
		chromedp.Click(chromedp.ID("readonly")), // dana's read-only events too
		chromedp.Click(chromedp.ID("apply")),
		conWaitURL("value=dana"),
		chromedp.WaitVisible(chromedp.ID("events")))
	users := conGet(t, ctx, "user names", userCells)
	if len(users) != 50 || slices.ContainsFunc(users, func(u string) bool { return u != "dana" }) {
		t.Fatalf("first page of dana's events: %d rows, users %v", len(users), slices.Compact(slices.Clone(users)))
	}
	conRun(t, ctx, "next page",
		chromedp.Click(chromedp.ID("next-page")),
		conWaitURL("page=2"),
		chromedp.WaitVisible(chromedp.ID("events")))
	if users = conGet(t, ctx, "user names", userCells); len(users) != 10 {
		t.Fatalf("second page: %d rows, want 10", len(users))
	}

	// Change the time range: 7 days take the 5 older events in too.
	conRun(t, ctx, "change the time range",
		chromedp.SetValue(chromedp.ID("range"), "7d"),
		chromedp.Click(chromedp.ID("apply")),
		conWaitURL("range=7d"),
		chromedp.WaitVisible(chromedp.ID("chart")),
		conShot(shots, "console-events.png"))
	conLabelled(t, ctx, "event history")
	caption := conGet(t, ctx, "chart caption", text("chart-caption"))
	bars := conGet(t, ctx, "error bars", chromedp.Evaluate[int](`document.querySelectorAll("#chart rect.bar-err").length`))
	if !strings.Contains(caption, "65 events") || !strings.Contains(caption, "3 with errors") || bars == 0 {
		t.Fatalf("chart caption %q, %d error bars; want 65 events, 3 with errors", caption, bars)
	}
	eventsURL := conGet(t, ctx, "location", chromedp.Location())

	// Open a record: the first (newest) row.
	href := conGet(t, ctx, "first row", chromedp.AttributeValue(chromedp.CSS("#events tbody tr:first-child a.event-link"), "href")).Value
	conRun(t, ctx, "open a record",
		chromedp.Click(chromedp.CSS("#events tbody tr:first-child a.event-link")),
		conWaitURL("/console/events/"),
		chromedp.WaitVisible(chromedp.ID("record-json")),
		conShot(shots, "console-record.png"))
	recordJSON := conGet(t, ctx, "record", text("record-json"))
	var rec map[string]any
	if err := json.Unmarshal([]byte(recordJSON), &rec); err != nil {
		t.Fatalf("record page JSON: %v\n%s", err, recordJSON)
	}
	if id, _ := rec["eventID"].(string); id == "" || !strings.Contains(href, "/console/events/"+id) {
		t.Fatalf("record %v opened from %s", rec["eventID"], href)
	}
	if ui, _ := rec["userIdentity"].(map[string]any); ui["userName"] != "dana" {
		t.Fatalf("record of %v, want dana", rec["userIdentity"])
	}

	// Download CSV through the browser and compare its rows with LookupEvents.
	dlDir := t.TempDir()
	conRun(t, ctx, "events page", chromedp.Navigate(eventsURL), chromedp.WaitVisible(chromedp.ID("download-csv")))
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dlDir, EventsEnabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	dlCtx, stopDL := context.WithTimeout(ctx, 90*time.Second)
	defer stopDL()
	progress := chromedp.BrowserEvents(dlCtx, browser.DownloadProgress)
	conRun(t, ctx, "download CSV", chromedp.Click(chromedp.ID("download-csv")))
	var dl browser.EventDownloadProgress
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the CSV download: %v", err)
		}
		if ev.State != browser.DownloadProgressStateInProgress {
			dl = ev
			break
		}
	}
	stopDL()
	if dl.State != browser.DownloadProgressStateCompleted {
		t.Fatalf("CSV download: %s", dl.State)
	}
	f, err := os.Open(filepath.Join(dlDir, dl.GUID))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatalf("downloaded CSV: %v", err)
	}
	want := [][]string{{"Event time", "User name", "Event name", "Event source", "Resource type", "Resource name",
		"Read-only", "Error code", "Event ID", "AWS access key", "Source IP address"}}
	pager := cloudtrail.NewLookupEventsPaginator(sdk, &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyUsername, AttributeValue: aws.String("dana")}}})
	for pager.HasMorePages() {
		page, err := pager.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			var r struct {
				ErrorCode       string `json:"errorCode"`
				SourceIPAddress string `json:"sourceIPAddress"`
			}
			json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &r)
			var typ, name []string
			for _, res := range e.Resources {
				typ = append(typ, aws.ToString(res.ResourceType))
				name = append(name, aws.ToString(res.ResourceName))
			}
			want = append(want, []string{e.EventTime.UTC().Format(time.RFC3339), aws.ToString(e.Username), aws.ToString(e.EventName),
				aws.ToString(e.EventSource), strings.Join(typ, ", "), strings.Join(name, ", "), aws.ToString(e.ReadOnly), r.ErrorCode,
				aws.ToString(e.EventId), aws.ToString(e.AccessKeyId), r.SourceIPAddress})
		}
	}
	if len(want) != 66 {
		t.Fatalf("LookupEvents found %d events of dana, want 65", len(want)-1)
	}
	if len(rows) != len(want) {
		t.Fatalf("the CSV has %d lines, LookupEvents %d", len(rows), len(want))
	}
	for i := range want {
		if !slices.Equal(rows[i], want[i]) {
			t.Fatalf("CSV line %d:\n got %q\nwant %q", i+1, rows[i], want[i])
		}
	}

	// Create a trail (it starts logging).
	if err := os.MkdirAll(filepath.Join(srv.DataDir, "buckets", "console-logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	conRun(t, ctx, "create a trail",
		chromedp.Navigate(srv.URL+"/console/trails"),
		chromedp.WaitVisible(chromedp.ID("create-trail")),
		chromedp.Click(chromedp.ID("create-trail")),
		chromedp.WaitVisible(chromedp.ID("create-form")))
	conLabelled(t, ctx, "create trail")
	conRun(t, ctx, "create a trail",
		chromedp.SendKeys(chromedp.ID("name"), "console-trail"),
		chromedp.SendKeys(chromedp.ID("bucket"), "console-logs"),
		chromedp.SendKeys(chromedp.ID("tags"), "team=audit"),
		chromedp.Click(chromedp.ID("review-trail")),
		chromedp.WaitVisible(chromedp.ID("confirm-create")),
		chromedp.Click(chromedp.ID("confirm-create")),
		conWaitURL("/console/trail?"),
		// Logging starts on create, as in CloudTrail's console.
		chromedp.WaitVisible(chromedp.ID("stop-logging")))
	if state := conGet(t, ctx, "logging state", text("logging-state")); state != "Logging" {
		t.Fatalf("after Start logging the page says %q", state)
	}
	st, err := sdk.GetTrailStatus(bg, &cloudtrail.GetTrailStatusInput{Name: aws.String("console-trail")})
	if err != nil || !aws.ToBool(st.IsLogging) {
		t.Fatalf("GetTrailStatus after the console started the trail: %+v, %v", st, err)
	}
	got, err := sdk.GetTrail(bg, &cloudtrail.GetTrailInput{Name: aws.String("console-trail")})
	if err != nil || aws.ToString(got.Trail.S3BucketName) != "console-logs" || !aws.ToBool(got.Trail.IsMultiRegionTrail) ||
		!aws.ToBool(got.Trail.LogFileValidationEnabled) {
		t.Fatalf("GetTrail: %+v, %v", got, err)
	}

	// Advanced selectors that CloudTrail refuses show its message.
	conRun(t, ctx, "invalid advanced selectors",
		chromedp.SetValue(chromedp.ID("advanced"), `[{"Name":"x","FieldSelectors":[{"Field":"nonsense","Equals":["1"]}]}]`),
		conSubmit("#save-advanced"),
		chromedp.WaitVisible(chromedp.ID("advanced-error")))
	if msg := conGet(t, ctx, "advanced error", text("advanced-error")); !strings.Contains(msg, "InvalidEventSelectorsException") {
		t.Fatalf("advanced selectors error: %q", msg)
	}
	conRun(t, ctx, "trail screenshots",
		chromedp.Navigate(srv.URL+"/console/trail?region=us-east-1&arn=arn:aws:cloudtrail:us-east-1:111111111111:trail/console-trail"),
		chromedp.WaitVisible(chromedp.ID("settings")),
		conShot(shots, "console-trail.png"))
	conLabelled(t, ctx, "trail")
	conRun(t, ctx, "trails screenshot",
		chromedp.Navigate(srv.URL+"/console/trails"),
		chromedp.WaitVisible(chromedp.ID("trails")),
		conShot(shots, "console-trails.png"))

	// The console's changes are management events whose userAgent says so.
	for _, op := range []string{"CreateTrail", "StartLogging"} {
		out, err := sdk.LookupEvents(bg, &cloudtrail.LookupEventsInput{
			LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String(op)}}})
		if err != nil || len(out.Events) != 1 {
			t.Fatalf("LookupEvents %s: %d events, %v", op, len(out.Events), err)
		}
		var r struct {
			UserAgent    string `json:"userAgent"`
			EventSource  string `json:"eventSource"`
			UserIdentity struct {
				UserName string `json:"userName"`
			} `json:"userIdentity"`
			ManagementEvent bool `json:"managementEvent"`
		}
		json.Unmarshal([]byte(aws.ToString(out.Events[0].CloudTrailEvent)), &r)
		if !strings.Contains(r.UserAgent, "cairn-console/1") || !strings.Contains(r.UserAgent, "Chrome") ||
			r.UserIdentity.UserName != "alice" || r.EventSource != "cloudtrail.amazonaws.com" || !r.ManagementEvent {
			t.Fatalf("%s audit record: %+v", op, r)
		}
	}

	// Sign out: the pages, and the old session cookie, are refused.
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL + "/console/"}})
	if err != nil {
		t.Fatal(err)
	}
	conRun(t, ctx, "sign out",
		chromedp.Click(chromedp.CSS(".who button")),
		conWaitURL("/console/login?out=1"),
		chromedp.Navigate(srv.URL+"/console/events"),
		conWaitURL("/console/login?next="),
		chromedp.WaitVisible(chromedp.ID("access_key_id")))
	var old string
	for _, c := range cookies.Cookies {
		if c.Name == "cairn_session" {
			old = c.Value
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
				t.Fatalf("session cookie %+v is not HttpOnly and SameSite=Strict", c)
			}
		}
	}
	if old == "" {
		t.Fatalf("no session cookie among %v", cookies.Cookies)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/console/events.csv", nil)
	req.AddCookie(&http.Cookie{Name: "cairn_session", Value: old})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login") {
		t.Fatalf("download with a signed-out session: %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}

	// A read-only user sees the trails, but creating one is refused with
	// the API's AccessDenied message.
	conSignIn(t, ctx, srv, ReaderKey, ReaderSecret)
	conRun(t, ctx, "read-only trails", chromedp.Navigate(srv.URL+"/console/trails"), chromedp.WaitVisible(chromedp.ID("trails")))
	trailsText := conGet(t, ctx, "trails", text("trails"))
	createLinks := conGet(t, ctx, "create links", chromedp.Evaluate[int](`document.querySelectorAll("#create-trail").length`))
	if !strings.Contains(trailsText, "console-trail") || !strings.Contains(trailsText, "Logging") || createLinks != 0 {
		t.Fatalf("rita's trails page (%d create links):\n%s", createLinks, trailsText)
	}
	conRun(t, ctx, "read-only create",
		chromedp.Navigate(srv.URL+"/console/trails/new"),
		chromedp.WaitVisible(chromedp.ID("create-form")),
		chromedp.SendKeys(chromedp.ID("name"), "rita-trail"),
		chromedp.SendKeys(chromedp.ID("bucket"), "console-logs"),
		chromedp.Submit(chromedp.ID("name")),
		chromedp.WaitVisible(chromedp.ID("form-error")))
	refused := conGet(t, ctx, "refusal", text("form-error"))
	if !strings.Contains(refused, "AccessDenied") || !strings.Contains(refused, "not authorized to perform: cloudtrail:CreateTrail") {
		t.Fatalf("rita's CreateTrail: %q", refused)
	}
	if _, err := sdk.GetTrail(bg, &cloudtrail.GetTrailInput{Name: aws.String("rita-trail")}); err == nil {
		t.Fatal("rita's trail exists")
	}

	// The event history on a phone's screen.
	conRun(t, ctx, "phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(srv.URL+"/console/events?attr=Username&value=dana&range=7d&readonly=show"),
		chromedp.WaitVisible(chromedp.ID("chart")),
		conShot(shots, "console-events-phone.png"))
	if conGet(t, ctx, "width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)) {
		t.Error("the event history is wider than a phone's screen")
	}

	if p := problems(); len(p) > 0 {
		t.Fatalf("the pages logged errors (CSP violations or script errors):\n%s", strings.Join(p, "\n"))
	}
}

// conSubmit clicks the element sel and waits until the browser has
// loaded the page that answers it. Waiting for an element or a URL is not
// enough after a form whose answer looks like the page it was sent from
// (the same anchor, the same flash): the test could read the old page and
// ask the API before the POST has been handled.
func conSubmit(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`window.__cairnOldPage = true`)(ctx, t)
			return err
		}),
		chromedp.Click(chromedp.CSS(sel)),
		func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			for {
				fresh, err := chromedp.Evaluate[bool](`window.__cairnOldPage === undefined && document.readyState === "complete"`)(ctx, t)
				if err == nil && fresh {
					return chromedp.Void{}, nil
				}
				select {
				case <-ctx.Done():
					return chromedp.Void{}, fmt.Errorf("no new page after clicking %s", sel)
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
}
