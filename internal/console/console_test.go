package console

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/server"
	"github.com/cairn-audit/cairn/internal/store/sqlite"
	"github.com/cairn-audit/cairn/internal/trail"
)

const (
	adminKey    = "AKIAALICEADMIN000001"
	adminSecret = "alice-secret-key-0001"
	readerKey   = "AKIARITAREADONLY0001"
	readerSec   = "rita-secret-key-0001"
)

func testDirectory() *auth.Directory {
	return auth.NewDirectory(auth.Options{Accounts: []config.Account{{ID: "111111111111", Users: []config.User{
		{Name: "alice", AccessKeys: []config.AccessKey{{ID: adminKey, Secret: adminSecret}}, Policy: config.Policy{Preset: "admin"}},
		{Name: "rita", AccessKeys: []config.AccessKey{{ID: readerKey, Secret: readerSec}}, Policy: config.Policy{Preset: "read-only"}},
	}}}})
}

// call is one call the fake API saw; body is its request as the server
// records it (JSON).
type call struct {
	op, region, userAgent string
	principal             string
	body                  []byte
}

// fakeAPI stands in for the server's typed API: LookupEvents over an
// in-memory list (newest first, Username filter, time range, 50 a page) and
// canned trail answers.
type fakeAPI struct {
	mu     sync.Mutex
	calls  []call
	events []history.Event
	fail   map[string]error
	// failAfter makes LookupEvents fail once this many calls have run.
	failAfter int
	// metric answers ListInsightsMetricData, by ErrorCode ("" for none).
	metric map[string]server.InsightsMetricOutput
}

// enter notes a call of op and says whether it is refused: by the
// principal's policy or by fail. n is how many calls have run.
func (f *fakeAPI) enter(op string, who server.Caller, in any) (n int, err error) {
	body, err := json.Marshal(in)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	f.calls = append(f.calls, call{op: op, region: who.Region, userAgent: who.Request.UserAgent(), principal: who.Principal.UserName, body: body})
	n = len(f.calls)
	f.mu.Unlock()
	if p := who.Principal; !p.Allows("cloudtrail:" + op) {
		return n, awsproto.Errorf("AccessDeniedException", "User: %s is not authorized to perform: cloudtrail:%s", p.ARN, op)
	}
	return n, f.fail[op]
}

func (f *fakeAPI) LookupEvents(_ context.Context, who server.Caller, in history.Input) (history.Output, error) {
	n, err := f.enter("LookupEvents", who, in)
	if err != nil {
		return history.Output{}, err
	}
	if f.failAfter > 0 && n > f.failAfter {
		return history.Output{}, awsproto.Unavailable("busy")
	}
	return f.page(in, false), nil
}

// page answers a LookupEvents of the fake's events (hide: leave out the
// read-only ones).
func (f *fakeAPI) page(in history.Input, hide bool) history.Output {
	var match []history.Event
	for _, e := range f.events {
		if hide && e.ReadOnly == "true" {
			continue
		}
		if in.StartTime != nil && e.EventTime.Before(in.StartTime.Time) || in.EndTime != nil && e.EventTime.After(in.EndTime.Time) {
			continue
		}
		if len(in.LookupAttributes) == 1 {
			a := in.LookupAttributes[0]
			switch *a.AttributeKey {
			case "Username":
				if e.Username != *a.AttributeValue {
					continue
				}
			case "EventId":
				if e.EventId != *a.AttributeValue {
					continue
				}
			}
		}
		match = append(match, e)
	}
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(strings.TrimPrefix(*in.NextToken, "t"))
	}
	size := 50
	if in.MaxResults != nil {
		size = *in.MaxResults
	}
	end := min(start+size, len(match))
	out := history.Output{Events: match[start:end]}
	if end < len(match) {
		tok := "t" + strconv.Itoa(end)
		out.NextToken = &tok
	}
	return out
}

func (f *fakeAPI) DescribeTrails(_ context.Context, who server.Caller, in server.DescribeTrailsInput) (server.DescribeTrailsOutput, error) {
	if _, err := f.enter("DescribeTrails", who, in); err != nil {
		return server.DescribeTrailsOutput{}, err
	}
	return server.DescribeTrailsOutput{TrailList: []server.TrailShape{{Name: "audit", S3BucketName: "logs", HomeRegion: "us-east-1",
		TrailARN: "arn:aws:cloudtrail:us-east-1:111111111111:trail/audit", LogFileValidationEnabled: true}}}, nil
}

func (f *fakeAPI) GetTrail(_ context.Context, who server.Caller, in server.NameInput) (server.GetTrailOutput, error) {
	if _, err := f.enter("GetTrail", who, in); err != nil {
		return server.GetTrailOutput{}, err
	}
	return server.GetTrailOutput{Trail: server.TrailShape{Name: "audit", S3BucketName: "logs", HomeRegion: "us-east-1",
		TrailARN: "arn:aws:cloudtrail:us-east-1:111111111111:trail/audit"}}, nil
}

func (f *fakeAPI) GetTrailStatus(_ context.Context, who server.Caller, in server.NameInput) (server.StatusOutput, error) {
	if _, err := f.enter("GetTrailStatus", who, in); err != nil {
		return server.StatusOutput{}, err
	}
	ts := awsproto.Time{Time: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	return server.StatusOutput{IsLogging: true, LatestDeliveryTime: &ts, LatestDeliveryError: "AccessDenied: bucket refused"}, nil
}

func (f *fakeAPI) GetEventSelectors(_ context.Context, who server.Caller, in server.GetEventSelectorsInput) (server.SelectorsOutput, error) {
	if _, err := f.enter("GetEventSelectors", who, in); err != nil {
		return server.SelectorsOutput{}, err
	}
	rw, mgmt := "WriteOnly", true
	return server.SelectorsOutput{TrailARN: "arn:aws:cloudtrail:us-east-1:111111111111:trail/audit",
		EventSelectors: []trail.EventSelector{{ReadWriteType: &rw, IncludeManagementEvents: &mgmt}}}, nil
}

func (f *fakeAPI) ListTags(_ context.Context, who server.Caller, in server.ListTagsInput) (server.ListTagsOutput, error) {
	if _, err := f.enter("ListTags", who, in); err != nil {
		return server.ListTagsOutput{}, err
	}
	k, v := "team", "audit"
	return server.ListTagsOutput{ResourceTagList: []server.ResourceTag{{ResourceId: "x", TagsList: []trail.Tag{{Key: &k, Value: &v}}}}}, nil
}

func (f *fakeAPI) CreateTrail(_ context.Context, who server.Caller, in trail.CreateTrailInput) (server.TrailOutput, error) {
	if _, err := f.enter("CreateTrail", who, in); err != nil {
		return server.TrailOutput{}, err
	}
	name := *in.Name
	return server.TrailOutput{Name: name, TrailARN: "arn:aws:cloudtrail:us-east-1:111111111111:trail/" + name}, nil
}

func (f *fakeAPI) UpdateTrail(_ context.Context, who server.Caller, in trail.UpdateTrailInput) (server.TrailOutput, error) {
	_, err := f.enter("UpdateTrail", who, in)
	return server.TrailOutput{}, err
}

func (f *fakeAPI) PutEventSelectors(_ context.Context, who server.Caller, in server.PutEventSelectorsInput) (server.SelectorsOutput, error) {
	_, err := f.enter("PutEventSelectors", who, in)
	return server.SelectorsOutput{}, err
}

func (f *fakeAPI) DeleteTrail(_ context.Context, who server.Caller, in server.NameInput) error {
	_, err := f.enter("DeleteTrail", who, in)
	return err
}

func (f *fakeAPI) StartLogging(_ context.Context, who server.Caller, in server.NameInput) error {
	_, err := f.enter("StartLogging", who, in)
	return err
}

func (f *fakeAPI) StopLogging(_ context.Context, who server.Caller, in server.NameInput) error {
	_, err := f.enter("StopLogging", who, in)
	return err
}

func (f *fakeAPI) AddTags(_ context.Context, who server.Caller, in server.TagsInput) error {
	_, err := f.enter("AddTags", who, in)
	return err
}

func (f *fakeAPI) RemoveTags(_ context.Context, who server.Caller, in server.TagsInput) error {
	_, err := f.enter("RemoveTags", who, in)
	return err
}

func (f *fakeAPI) ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ops []string
	for _, c := range f.calls {
		ops = append(ops, c.op)
	}
	return ops
}

func (f *fakeAPI) last(op string) call {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.calls) - 1; i >= 0; i-- {
		if f.calls[i].op == op {
			return f.calls[i]
		}
	}
	return call{}
}

// makeEvents makes n events, newest first, one a minute back from now;
// every tenth failed; users alternate between dana and erik.
func makeEvents(now time.Time, n int) []history.Event {
	var evs []history.Event
	for i := 0; i < n; i++ {
		user := "dana"
		if i%2 == 1 {
			user = "erik"
		}
		at := now.Add(-time.Duration(i+1) * time.Minute)
		rec := map[string]any{"eventID": fmt.Sprintf("ev-%04d", i), "eventName": "PutObject", "eventTime": at.Format(time.RFC3339),
			"sourceIPAddress": "192.0.2.1", "userIdentity": map[string]any{"userName": user}}
		if i%10 == 0 {
			rec["errorCode"] = "AccessDenied"
		}
		b, _ := json.Marshal(rec)
		typ, name := "AWS::S3::Object", fmt.Sprintf("arn:aws:s3:::b/k%d", i)
		evs = append(evs, history.Event{EventId: fmt.Sprintf("ev-%04d", i), EventName: "PutObject", ReadOnly: "false", AccessKeyId: "AKIADANA",
			EventTime: awsproto.Time{Time: at}, EventSource: "s3.amazonaws.com", Username: user,
			Resources: []history.Resource{{ResourceType: &typ, ResourceName: &name}}, CloudTrailEvent: string(b)})
	}
	return evs
}

type testEnv struct {
	t   *testing.T
	st  SessionDocs
	c   *Console
	api *fakeAPI
	now time.Time
	// records are the ConsoleLogin events recorded, by account.
	recMu   sync.Mutex
	records []recorded
}

type recorded struct {
	account string
	record  map[string]any
}

func newEnv(t *testing.T) *testEnv {
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvOn(t, st, testDirectory())
}

// newEnvOn is a console (a node) keeping its sessions in st, which other
// consoles may share.
func newEnvOn(t *testing.T, st SessionDocs, dir *auth.Directory) *testEnv {
	e := &testEnv{t: t, api: &fakeAPI{}, now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), st: st}
	e.c = newConsole(Options{Directory: dir, API: e.api, Regions: []string{"us-east-1", "eu-west-1"},
		SessionTTL: time.Hour, Sessions: st, Record: e.record, GlobalRegion: "eu-west-1"})
	e.c.now = func() time.Time { return e.now }
	return e
}

// record keeps a recorded event.
func (e *testEnv) record(_ context.Context, account string, b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Errorf("recorded event is not JSON: %v\n%s", err, b)
	}
	e.recMu.Lock()
	e.records = append(e.records, recorded{account, m})
	e.recMu.Unlock()
	return nil
}

// recordedEvents are the events recorded so far.
func (e *testEnv) recordedEvents() []recorded {
	e.recMu.Lock()
	defer e.recMu.Unlock()
	return slices.Clone(e.records)
}

func (e *testEnv) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.c.ServeHTTP(w, r)
	return w
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login signs in and returns the session cookie and the CSRF token.
func (e *testEnv) login(key, secret string) (*http.Cookie, string) {
	e.t.Helper()
	w := e.do(httptest.NewRequest("GET", "/console/login", nil))
	m := csrfRE.FindStringSubmatch(w.Body.String())
	if m == nil {
		e.t.Fatalf("login page has no token:\n%s", w.Body)
	}
	lc := cookieNamed(w, loginCookie)
	form := url.Values{"csrf": {m[1]}, "access_key_id": {key}, "secret_access_key": {secret}, "next": {"/console/events"}}
	r := httptest.NewRequest("POST", "/console/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(lc)
	w = e.do(r)
	if w.Code != http.StatusSeeOther {
		e.t.Fatalf("login: %d\n%s", w.Code, w.Body)
	}
	sc := cookieNamed(w, sessionCookie)
	if sc == nil {
		e.t.Fatal("no session cookie")
	}
	r = httptest.NewRequest("GET", "/console/trails", nil)
	r.AddCookie(sc)
	w = e.do(r)
	m = csrfRE.FindStringSubmatch(w.Body.String())
	if m == nil {
		e.t.Fatalf("signed-in page has no token:\n%s", w.Body)
	}
	return sc, m[1]
}

func (e *testEnv) get(target string, sc *http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	if sc != nil {
		r.AddCookie(sc)
	}
	r.Header.Set("User-Agent", "TestBrowser/1.0")
	return e.do(r)
}

func (e *testEnv) post(target string, sc *http.Cookie, form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("User-Agent", "TestBrowser/1.0")
	if sc != nil {
		r.AddCookie(sc)
	}
	return e.do(r)
}

func cookieNamed(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestConsoleSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	sc, _ := e.login(adminKey, adminSecret)
	for _, target := range []string{"/console/login", "/console/events", "/console/trails", "/console/nope", "/console/static/console.css"} {
		w := e.get(target, sc)
		h := w.Header()
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", target, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP allows unsafe sources: %q", target, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: headers %v", target, h)
		}
		if target != "/console/static/console.css" && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", target, h.Get("Cache-Control"))
		}
	}
	// Pages load only embedded, versioned assets, and no inline script or style.
	body := e.get("/console/events", sc).Body.String()
	if strings.Contains(body, "<script>") || strings.Contains(body, "style=") || strings.Contains(body, "<style") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Errorf("the page has inline script or style, or an outside URL:\n%s", body)
	}
	css := regexp.MustCompile(`href="(/console/static/console\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(body)
	if css == nil {
		t.Fatalf("no versioned stylesheet in\n%s", body)
	}
	w := e.get(html.UnescapeString(css[1]), nil)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") || !strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
		t.Errorf("stylesheet: %d %v", w.Code, w.Header())
	}
}

func TestConsoleLoginAndSessionCookie(t *testing.T) {
	e := newEnv(t)
	w := e.get("/console/login", nil)
	lc := cookieNamed(w, loginCookie)
	if lc == nil || !lc.HttpOnly || lc.SameSite != http.SameSiteStrictMode || lc.Path != "/console/" {
		t.Fatalf("login cookie %+v", lc)
	}
	tok := csrfRE.FindStringSubmatch(w.Body.String())[1]
	if tok != lc.Value {
		t.Fatal("the form's token is not the cookie's")
	}
	form := url.Values{"csrf": {tok}, "access_key_id": {adminKey}, "secret_access_key": {adminSecret}}
	// Without the cookie, or with another token: refused.
	if w := e.post("/console/login", nil, form); w.Code != http.StatusForbidden || cookieNamed(w, sessionCookie) != nil {
		t.Fatalf("login without the cookie: %d", w.Code)
	}
	bad := url.Values{"csrf": {"forged"}, "access_key_id": {adminKey}, "secret_access_key": {adminSecret}}
	if w := e.post("/console/login", lc, bad); w.Code != http.StatusForbidden {
		t.Fatalf("login with a forged token: %d", w.Code)
	}
	// A wrong secret: refused, and recorded.
	wrong := url.Values{"csrf": {tok}, "access_key_id": {adminKey}, "secret_access_key": {"nope"}}
	w = e.post("/console/login", lc, wrong)
	if recs := e.recordedEvents(); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "not valid") || len(recs) != 1 {
		t.Fatalf("wrong secret: %d, %d events recorded\n%s", w.Code, len(recs), w.Body)
	}
	// Right: a session cookie, HttpOnly, SameSite=Strict, not Secure over HTTP.
	form.Set("next", "/console/trails?region=eu-west-1")
	w = e.post("/console/login", lc, form)
	sc := cookieNamed(w, sessionCookie)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/trails?region=eu-west-1" || sc == nil {
		t.Fatalf("login: %d %v", w.Code, w.Header())
	}
	if !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/console/" || sc.Secure || sc.MaxAge != int((time.Hour+sessionGrace)/time.Second) {
		t.Fatalf("session cookie %+v", sc)
	}
	if raw, err := base64Len(sc.Value); err != nil || raw != 32 {
		t.Fatalf("session id %q is not 32 random bytes", sc.Value)
	}
	// Over TLS the cookie is Secure.
	r := httptest.NewRequest("POST", "/console/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(lc)
	r.TLS = &tls.ConnectionState{}
	if sc := cookieNamed(e.do(r), sessionCookie); sc == nil || !sc.Secure {
		t.Fatalf("session cookie over TLS: %+v", sc)
	}
	// An outside next is ignored.
	form.Set("next", "https://evil.example/")
	if w := e.post("/console/login", lc, form); w.Header().Get("Location") != "/console/events" {
		t.Fatalf("next to another site: %v", w.Header().Get("Location"))
	}
}

func base64Len(s string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return len(b), err
}

func TestConsoleSignedInOnly(t *testing.T) {
	e := newEnv(t)
	for _, target := range []string{"/console/events", "/console/events.csv", "/console/events/x", "/console/trails", "/console/trail?arn=x", "/console/trails/new"} {
		w := e.get(target, nil)
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/console/login?next=") {
			t.Errorf("%s without a session: %d %q", target, w.Code, w.Header().Get("Location"))
		}
	}
	if w := e.get("/console/events", &http.Cookie{Name: sessionCookie, Value: "made-up"}); w.Code != http.StatusSeeOther {
		t.Errorf("made-up session: %d", w.Code)
	}
	// A form without a session is not applied: the browser goes to sign
	// in, told that what it sent was lost (there is no session to keep it
	// for); a sign-out has nothing left to do.
	for target, want := range map[string]string{"/console/logout": "/console/login?out=1",
		"/console/trail/start": "/console/login?lost=1&next=%2Fconsole%2Fevents", "/console/trails/new": "/console/login?lost=1&next=%2Fconsole%2Fevents"} {
		if w := e.post(target, nil, url.Values{"csrf": {"x"}}); w.Code != http.StatusSeeOther || w.Header().Get("Location") != want {
			t.Errorf("POST %s without a session: %d %q", target, w.Code, w.Header().Get("Location"))
		}
	}
	if len(e.api.ops()) != 0 {
		t.Errorf("calls without a session: %v", e.api.ops())
	}
}

func TestConsoleCSRF(t *testing.T) {
	e := newEnv(t)
	sc, tok := e.login(adminKey, adminSecret)
	arn := "arn:aws:cloudtrail:us-east-1:111111111111:trail/audit"
	// Refused forms are answered like any form: a redirect (so a reload
	// sends nothing again) to a page that says why, as an error.
	refused := func(what string, w *httptest.ResponseRecorder, want string) {
		t.Helper()
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/events#main" {
			t.Fatalf("%s: %d %q", what, w.Code, w.Header().Get("Location"))
		}
		body := e.get("/console/events", sc).Body.String()
		if !strings.Contains(body, `class="flash flash-error" role="alert">`+want) || strings.Contains(body, `href="/console/login`) {
			t.Fatalf("%s: the page after:\n%s", what, body)
		}
	}
	for _, form := range []url.Values{{"arn": {arn}}, {"arn": {arn}, "csrf": {"forged"}}} {
		refused("start without the token", e.post("/console/trail/start", sc, form), "The form was not sent: its security token is out of date")
	}
	r := httptest.NewRequest("POST", "/console/trail/start", strings.NewReader(url.Values{"arn": {arn}, "csrf": {tok}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "https://evil.example")
	r.AddCookie(sc)
	refused("start from another origin", e.do(r), "A form sent from another site was refused")
	big := url.Values{"arn": {arn}, "csrf": {tok}, "pad": {strings.Repeat("x", maxFormBytes)}}
	refused("an oversized form", e.post("/console/trail/start", sc, big), "The form was not sent: it is larger than 256 KiB")
	if slices.Contains(e.api.ops(), "StartLogging") {
		t.Fatal("a forged form reached the API")
	}
	w := e.post("/console/trail/start", sc, url.Values{"arn": {arn}, "csrf": {tok}, "region": {"us-east-1"}, "name": {"audit"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("start: %d\n%s", w.Code, w.Body)
	}
	c := e.api.last("StartLogging")
	if c.userAgent != "cairn-console/1 (TestBrowser/1.0)" || c.principal != "alice" || c.region != "us-east-1" || string(c.body) != `{"Name":"`+arn+`"}` {
		t.Fatalf("StartLogging call %+v", c)
	}
	// The flash says so on the next page.
	if body := e.get(w.Header().Get("Location"), sc).Body.String(); !strings.Contains(body, "Logging started for audit.") {
		t.Fatalf("no confirmation:\n%s", body)
	}
}

func TestConsoleLogoutAndExpiry(t *testing.T) {
	e := newEnv(t)
	sc, tok := e.login(adminKey, adminSecret)
	if w := e.post("/console/logout", sc, url.Values{}); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/events#main" {
		t.Fatalf("logout without the token: %d %q", w.Code, w.Header().Get("Location"))
	}
	w := e.post("/console/logout", sc, url.Values{"csrf": {tok}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/login?out=1" {
		t.Fatalf("logout: %d %v", w.Code, w.Header())
	}
	if c := cookieNamed(w, sessionCookie); c == nil || c.MaxAge >= 0 {
		t.Fatalf("logout left the cookie: %+v", c)
	}
	if w := e.get("/console/events", sc); w.Code != http.StatusSeeOther {
		t.Fatalf("after logout: %d", w.Code)
	}
	// Sessions end after their TTL.
	sc, _ = e.login(adminKey, adminSecret)
	e.now = e.now.Add(59 * time.Minute)
	if w := e.get("/console/trails", sc); w.Code != http.StatusOK {
		t.Fatalf("within the TTL: %d", w.Code)
	}
	e.now = e.now.Add(2 * time.Minute)
	w = e.get("/console/trails", sc)
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "expired=1") {
		t.Fatalf("after the TTL: %d %v", w.Code, w.Header())
	}
	// The ended session stays for its grace (to keep a form sent after
	// the end), then goes.
	e.now = e.now.Add(sessionGrace)
	if w := e.get("/console/trails", sc); w.Code != http.StatusSeeOther {
		t.Fatalf("after the grace: %d", w.Code)
	}
	if n, err := e.c.sessions.count(context.Background()); n != 0 || err != nil {
		t.Fatalf("%d sessions kept (%v)", n, err)
	}
}

// Nodes that share a store share sessions: a browser signed in on one node
// is signed in on every other, with its region, its messages and its CSRF
// token, until it signs out on any of them. The store holds no session's
// cookie value.
func TestConsoleSessionsSharedByNodes(t *testing.T) {
	a := newEnv(t)
	b := newEnvOn(t, a.st, testDirectory())
	sc, tok := a.login(adminKey, adminSecret)
	if w := b.get("/console/trails", sc); w.Code != http.StatusOK {
		t.Fatalf("node b, signed in on node a: %d %v", w.Code, w.Header())
	}
	b.get("/console/events?region=eu-west-1", sc)
	a.get("/console/trails", sc)
	if c := a.api.last("DescribeTrails"); c.region != "eu-west-1" {
		t.Fatalf("node a after choosing eu-west-1 on node b: region %q", c.region)
	}
	arn := "arn:aws:cloudtrail:us-east-1:111111111111:trail/audit"
	form := url.Values{"csrf": {tok}, "region": {"us-east-1"}, "arn": {arn}, "name": {"audit"}, "confirm": {"audit"}}
	if w := b.post("/console/trail/delete", sc, form); w.Code != http.StatusSeeOther {
		t.Fatalf("delete on node b with node a's token: %d\n%s", w.Code, w.Body)
	}
	if body := a.get("/console/trails?region=us-east-1", sc).Body.String(); !strings.Contains(body, "Trail audit deleted.") {
		t.Error("node a does not show the message node b left")
	}
	if body := a.get("/console/trails?region=us-east-1", sc).Body.String(); strings.Contains(body, "Trail audit deleted.") {
		t.Error("the message was shown twice")
	}
	docs, err := a.st.ListState(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if strings.Contains(d.Key, sc.Value) || strings.Contains(string(d.Doc), sc.Value) {
			t.Fatalf("the store holds the session cookie's value in %s", d.Key)
		}
	}
	// A node whose configuration no longer has the access key ends the
	// session.
	c := newEnvOn(t, a.st, auth.NewDirectory(auth.Options{Accounts: []config.Account{{ID: "111111111111"}}}))
	if w := c.get("/console/trails", sc); w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "/console/login") {
		t.Fatalf("node without the key: %d %v", w.Code, w.Header())
	}
	// So does a node whose configuration gives the key another secret (a
	// rotated secret ends the sessions signed in with the old one).
	sc, _ = a.login(adminKey, adminSecret)
	rotated := auth.NewDirectory(auth.Options{Accounts: []config.Account{{ID: "111111111111", Users: []config.User{
		{Name: "alice", AccessKeys: []config.AccessKey{{ID: adminKey, Secret: "a-new-secret-0001"}}, Policy: config.Policy{Preset: "admin"}}}}}})
	if w := newEnvOn(t, a.st, rotated).get("/console/trails", sc); w.Code != http.StatusSeeOther {
		t.Fatalf("node with the key's new secret: %d", w.Code)
	}
	// Signing out on one node signs out on all.
	sc, tok = a.login(adminKey, adminSecret)
	if w := b.post("/console/logout", sc, url.Values{"csrf": {tok}}); w.Code != http.StatusSeeOther {
		t.Fatalf("logout on node b: %d", w.Code)
	}
	if w := a.get("/console/trails", sc); w.Code != http.StatusSeeOther {
		t.Fatalf("node a after signing out on node b: %d", w.Code)
	}
}

// A session changed by another request meanwhile is read again whole
// before a change is applied: the region chosen here is stored.
func TestConsoleSessionUpdateAfterConflict(t *testing.T) {
	a := newEnv(t)
	sc, _ := a.login(adminKey, adminSecret)
	ctx := context.Background()
	s1, _, err := a.c.sessions.get(ctx, sc.Value, a.now)
	if err != nil || s1 == nil {
		t.Fatalf("session: %v", err)
	}
	s2, _, _ := a.c.sessions.get(ctx, sc.Value, a.now)
	s2.setFlash("from elsewhere", false) // s1 is now out of date
	s1.setRegion("eu-west-1")
	s3, _, _ := a.c.sessions.get(ctx, sc.Value, a.now)
	if s3.getRegion() != "eu-west-1" {
		t.Errorf("stored region %q after a conflict, want eu-west-1", s3.getRegion())
	}
	if msg, _ := s3.takeFlash(); msg != "from elsewhere" {
		t.Errorf("stored flash %q, want the other request's", msg)
	}
}

func TestConsoleSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/console/trails?region=x": "/console/trails?region=x",
		"":                         "/console/events",
		"https://evil.example/":    "/console/events",
		"//evil.example/":          "/console/events",
		"/console//evil.example":   "/console/events",
		"/console/\\evil":          "/console/events",
		"/console/login":           "/console/events",
		"/metrics":                 "/console/events",
		// A path that leaves /console/ once its dot segments are
		// resolved (by the redirect, or by the browser).
		"/console/../healthz":          "/console/events",
		"/console/..//evil.example":    "/console/events",
		"/console/%2e%2e/metrics":      "/console/events",
		"/console/%2E./v1/stream":      "/console/events",
		"/console/trails/../login":     "/console/events",
		"/console/./trails":            "/console/events",
		"/console/trail?arn=a/../b":    "/console/trail?arn=a/../b",
		"/console/":                    "/console/",
		"/console/events?value=%2e%2e": "/console/events?value=%2e%2e",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConsoleParseFilter(t *testing.T) {
	e := newEnv(t)
	parse := func(q string) (filter, string) {
		return e.c.parseFilter(httptest.NewRequest("GET", "/console/events?"+q, nil), "us-east-1")
	}
	f, p := parse("")
	if p != "" || f.Range != "24h" || !f.End.Equal(e.now) || !f.Start.Equal(e.now.Add(-24*time.Hour)) || f.Value != "" {
		t.Fatalf("default %+v %q", f, p)
	}
	at := e.now.Add(-time.Hour).Unix()
	f, _ = parse("range=7d&attr=Username&value=+dana+&at=" + strconv.FormatInt(at, 10))
	if f.Value != "dana" || f.Attr != "Username" || f.End.Unix() != at || f.End.Sub(f.Start) != 7*24*time.Hour {
		t.Fatalf("7d %+v", f)
	}
	// The window is pinned in links, so paging and downloads see the same one.
	if q := f.query(); q.Get("at") != strconv.FormatInt(at, 10) || q.Get("value") != "dana" {
		t.Fatalf("query %v", q)
	}
	f, p = parse("range=custom&start=2026-11-20T10:00&end=2026-11-21T11:30:15")
	if p != "" || f.Start != time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC) || f.End != time.Date(2026, 11, 21, 11, 30, 15, 0, time.UTC) {
		t.Fatalf("custom %+v %q", f, p)
	}
	if f, _ = parse("range=custom&start=2026-11-22T10:00&end=2026-11-21T10:00"); f.RangeErr == "" {
		t.Fatal("a range that ends before it starts was accepted")
	}
	if f, _ = parse("range=custom&start=yesterday"); f.RangeErr == "" {
		t.Fatal("a start that is no time was accepted")
	}
	if f, _ = parse("range=5y&attr=Bogus&value=x"); f.Range != "24h" || f.Attr != "Username" {
		t.Fatalf("unknown range and attribute: %+v", f)
	}
}

func TestConsoleEventsPage(t *testing.T) {
	e := newEnv(t)
	e.api.events = makeEvents(e.now, 130)
	sc, _ := e.login(adminKey, adminSecret)
	w := e.get("/console/events?attr=Username&value=dana&range=24h", sc)
	body := w.Body.String()
	if w.Code != 200 {
		t.Fatalf("%d\n%s", w.Code, body)
	}
	if n := strings.Count(body, `class="user-cell">dana<`); n != 50 {
		t.Fatalf("%d rows of dana, want 50", n)
	}
	if strings.Contains(body, `class="user-cell">erik<`) {
		t.Fatal("erik's events shown")
	}
	var in history.Input
	json.Unmarshal(e.api.last("LookupEvents").body, &in)
	if *in.MaxResults != 50 || in.StartTime == nil || in.EndTime == nil || len(in.LookupAttributes) != 1 {
		t.Fatalf("LookupEvents input %s", e.api.last("LookupEvents").body)
	}
	// The chart counts every page: dana has 65 events, 13 failed.
	if !strings.Contains(body, `<strong id="chart-total">65</strong> events`) || !strings.Contains(body, `<strong class="errcount" id="chart-errors">13</strong> with errors`) || !strings.Contains(body, `class="bar-err"`) {
		t.Fatalf("chart caption wrong:\n%s", body)
	}
	// The next page carries the token and the pinned window.
	next := regexp.MustCompile(`href="([^"]+)" class="button" rel="next"`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no next page link")
	}
	nextURL := html.UnescapeString(next[1])
	if !strings.Contains(nextURL, "token=t50") || !strings.Contains(nextURL, "at=") {
		t.Fatalf("next link %s", nextURL)
	}
	lookups := strings.Count(strings.Join(e.api.ops(), " "), "LookupEvents")
	body = e.get(nextURL, sc).Body.String()
	if n := strings.Count(body, `class="user-cell">dana<`); n != 15 {
		t.Fatalf("page 2 has %d rows, want 15", n)
	}
	if got := strings.Count(strings.Join(e.api.ops(), " "), "LookupEvents") - lookups; got != 1 {
		t.Fatalf("page 2 made %d LookupEvents calls, want 1", got)
	}
	if !strings.Contains(body, `<strong id="chart-total">65</strong> events`) {
		t.Fatal("page 2 has no totals")
	}
	if !strings.Contains(body, "Previous page") || !strings.Contains(body, "First page") {
		t.Fatal("page 2 has no way back")
	}
	// A row opens the full record.
	link := regexp.MustCompile(`href="(/console/events/ev-0000[^"]*)"`).FindStringSubmatch(e.get("/console/events?attr=Username&value=dana", sc).Body.String())
	if link == nil {
		t.Fatal("no record link")
	}
	body = e.get(html.UnescapeString(link[1]), sc).Body.String()
	if !strings.Contains(body, "&#34;eventID&#34;: &#34;ev-0000&#34;") || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("record page:\n%s", body)
	}
	if w := e.get("/console/events/nope", sc); w.Code != http.StatusNotFound {
		t.Fatalf("unknown event: %d", w.Code)
	}
}

// The chart counts every matching event, however many, in the page's one
// call; there is no cap and no "count more".
func TestConsoleChartCountsAll(t *testing.T) {
	e := newEnv(t)
	e.api.events = makeEvents(e.now, 5200)
	sc, _ := e.login(adminKey, adminSecret)
	body := e.get("/console/events?range=7d&readonly=show", sc).Body.String()
	if n := strings.Count(strings.Join(e.api.ops(), " "), "LookupEvents"); n != 1 {
		t.Fatalf("%d LookupEvents calls, want 1", n)
	}
	if strings.Contains(body, "counts the newest") || strings.Contains(body, `id="chart-more"`) {
		t.Fatalf("a capped chart:\n%s", body)
	}
	var want int
	for _, ev := range e.api.events {
		if !ev.EventTime.Before(e.now.Add(-7 * 24 * time.Hour)) {
			want++
		}
	}
	if !strings.Contains(body, `<strong id="chart-total">`+formatNum(want)+`</strong> events`) {
		t.Fatalf("chart total is not %d:\n%s", want, body)
	}
}

func TestConsoleDownloads(t *testing.T) {
	e := newEnv(t)
	e.api.events = makeEvents(e.now, 130)
	e.api.events[3].Username = "=cmd|' /C calc'!A0"
	sc, _ := e.login(adminKey, adminSecret)
	w := e.get("/console/events.csv?range=24h", sc)
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(w.Header().Get("Content-Disposition"), `attachment; filename="cairn-events-us-east-1-`) {
		t.Fatalf("CSV: %d %v", w.Code, w.Header())
	}
	rows, err := csv.NewReader(w.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 131 || strings.Join(rows[0], ",") != "Event time,User name,Event name,Event source,Resource type,Resource name,Read-only,Error code,Event ID,AWS access key,Source IP address" {
		t.Fatalf("%d rows, header %q", len(rows), rows[0])
	}
	if want := []string{e.now.Add(-time.Minute).Format(time.RFC3339), "dana", "PutObject", "s3.amazonaws.com", "AWS::S3::Object", "arn:aws:s3:::b/k0",
		"false", "AccessDenied", "ev-0000", "AKIADANA", "192.0.2.1"}; !slices.Equal(rows[1], want) {
		t.Fatalf("row 1 %q, want %q", rows[1], want)
	}
	if rows[4][1] != "'=cmd|' /C calc'!A0" {
		t.Fatalf("a formula was not defused: %q", rows[4][1])
	}
	w = e.get("/console/events.json?range=24h&attr=Username&value=erik", sc)
	var doc struct{ Records []map[string]any }
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || len(doc.Records) != 64 || doc.Records[0]["eventID"] != "ev-0001" {
		t.Fatalf("JSON download: %v, %d records\n%.300s", err, len(doc.Records), w.Body)
	}
	// A refused first page is an error page, not an empty file.
	e.api.fail = map[string]error{"LookupEvents": awsproto.Errorf("InvalidLookupAttributesException", "bad attribute")}
	if w := e.get("/console/events.csv", sc); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "bad attribute") {
		t.Fatalf("failed download: %d\n%s", w.Code, w.Body)
	}
}

func TestConsoleDownloadFailsMidway(t *testing.T) {
	e := newEnv(t)
	e.api.events = makeEvents(e.now, 130)
	sc, _ := e.login(adminKey, adminSecret)
	e.api.failAfter = len(e.api.calls) + 1
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("a download that fails midway must abort the answer; got %v", v)
		}
	}()
	e.get("/console/events.csv", sc)
}

func TestConsoleTrailsPages(t *testing.T) {
	e := newEnv(t)
	sc, tok := e.login(adminKey, adminSecret)
	body := e.get("/console/trails", sc).Body.String()
	for _, want := range []string{"audit", "Logging", "AccessDenied: bucket refused", "2026-11-26 09:00:00", "Enabled", `id="create-trail"`} {
		if !strings.Contains(body, want) {
			t.Errorf("trails page lacks %q", want)
		}
	}
	arn := "arn:aws:cloudtrail:us-east-1:111111111111:trail/audit"
	body = e.get("/console/trail?region=us-east-1&arn="+url.QueryEscape(arn), sc).Body.String()
	for _, want := range []string{`value="WriteOnly" selected`, "team", `id="stop-logging"`, `action="/console/trail/delete#delete"`, `action="/console/trail/tag-add#tags"`} {
		if !strings.Contains(body, want) {
			t.Errorf("trail page lacks %q", want)
		}
	}
	// Create: the API's refusal is shown with what was typed.
	e.api.fail = map[string]error{"CreateTrail": awsproto.Errorf("S3BucketDoesNotExistException", "S3 bucket nope does not exist!")}
	form := url.Values{"csrf": {tok}, "region": {"us-east-1"}, "name": {"new-trail"}, "bucket": {"nope"}, "multi_region": {"on"}, "global": {"on"}, "tags": {"a=b\nc=d"}}
	w := e.answered(t, "/console/trails/new", sc, form)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "S3BucketDoesNotExistException: S3 bucket nope does not exist!") || !strings.Contains(w.Body.String(), `value="new-trail"`) {
		t.Fatalf("refused create: %d\n%s", w.Code, w.Body)
	}
	var in map[string]any
	json.Unmarshal(e.api.last("CreateTrail").body, &in)
	if in["Name"] != "new-trail" || in["IsMultiRegionTrail"] != true || in["EnableLogFileValidation"] != false || len(in["TagsList"].([]any)) != 2 {
		t.Fatalf("CreateTrail input %v", in)
	}
	if _, ok := in["KmsKeyId"]; ok {
		t.Fatal("an empty KMS key was sent")
	}
	e.api.fail = nil
	w = e.post("/console/trails/new", sc, form)
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "trail%2Fnew-trail") {
		t.Fatalf("create: %d %v", w.Code, w.Header())
	}
	// Advanced selectors: bad JSON never reaches the API; the API's message is shown.
	base := url.Values{"csrf": {tok}, "region": {"us-east-1"}, "arn": {arn}, "name": {"audit"}}
	adv := withParams(base, "advanced", "[\n  {\"Name\": \"x\",\n   \"FieldSelectors\": [}\n]")
	n := len(e.api.ops())
	w = e.answered(t, "/console/trail/advanced", sc, adv)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "not valid JSON (line 3") || slices.Contains(e.api.ops()[n:], "PutEventSelectors") {
		t.Fatalf("bad JSON: %d\n%s", w.Code, w.Body)
	}
	e.api.fail = map[string]error{"PutEventSelectors": awsproto.Errorf("InvalidEventSelectorsException", "Field nonsense is not valid.")}
	w = e.answered(t, "/console/trail/advanced", sc, withParams(base, "advanced", `[{"Name":"x","FieldSelectors":[{"Field":"nonsense","Equals":["1"]}]}]`))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "InvalidEventSelectorsException: Field nonsense is not valid.") || !strings.Contains(w.Body.String(), "nonsense") {
		t.Fatalf("refused selectors: %d\n%s", w.Code, w.Body)
	}
	e.api.fail = nil
	// Basic selectors are built from the form.
	w = e.post("/console/trail/selectors", sc, withParams(base, "read_write", "ReadOnly", "management", "on", "s3", "arn:aws:s3:::b/\n\narn:aws:s3:::c/", "exclude_kms", "on"))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("basic selectors: %d\n%s", w.Code, w.Body)
	}
	if got := string(e.api.last("PutEventSelectors").body); !strings.Contains(got, `"EventSelectors":[{"ReadWriteType":"ReadOnly","IncludeManagementEvents":true,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::b/","arn:aws:s3:::c/"]}],"ExcludeManagementEventSources":["kms.amazonaws.com"]}]`) {
		t.Fatalf("PutEventSelectors body %s", got)
	}
	// Delete needs the name typed.
	w = e.answered(t, "/console/trail/delete", sc, withParams(base, "confirm", "wrong"))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="delete-error"`) || slices.Contains(e.api.ops(), "DeleteTrail") {
		t.Fatalf("delete without confirmation: %d", w.Code)
	}
	w = e.post("/console/trail/delete", sc, withParams(base, "confirm", "audit"))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/trails?region=us-east-1" {
		t.Fatalf("delete: %d %v", w.Code, w.Header())
	}
	// Tags.
	e.post("/console/trail/tag-add", sc, withParams(base, "key", "env", "value", "prod"))
	if got := string(e.api.last("AddTags").body); got != `{"ResourceId":"`+arn+`","TagsList":[{"Key":"env","Value":"prod"}]}` {
		t.Fatalf("AddTags body %s", got)
	}
	e.post("/console/trail/tag-remove", sc, withParams(base, "key", "env"))
	if got := string(e.api.last("RemoveTags").body); got != `{"ResourceId":"`+arn+`","TagsList":[{"Key":"env"}]}` {
		t.Fatalf("RemoveTags body %s", got)
	}
}

func TestConsoleReadOnlyUser(t *testing.T) {
	e := newEnv(t)
	sc, tok := e.login(readerKey, readerSec)
	body := e.get("/console/trails", sc).Body.String()
	if strings.Contains(body, `id="create-trail"`) || !strings.Contains(body, "audit") {
		t.Fatalf("read-only trails page:\n%s", body)
	}
	body = e.get("/console/trail?region=us-east-1&arn=arn:aws:cloudtrail:us-east-1:111111111111:trail/audit", sc).Body.String()
	for _, hidden := range []string{`id="stop-logging"`, `action="/console/trail/delete`, `action="/console/trail/update`, `id="save-advanced"`} {
		if strings.Contains(body, hidden) {
			t.Errorf("read-only trail page offers %s", hidden)
		}
	}
	w := e.answered(t, "/console/trails/new", sc, url.Values{"csrf": {tok}, "name": {"xyz"}, "bucket": {"yyy"}})
	if !strings.Contains(w.Body.String(), "AccessDeniedException: User: arn:aws:iam::111111111111:user/rita is not authorized to perform: cloudtrail:CreateTrail") {
		t.Fatalf("refused create:\n%s", w.Body)
	}
}

func TestConsoleRegions(t *testing.T) {
	e := newEnv(t)
	sc, _ := e.login(adminKey, adminSecret)
	e.get("/console/events?region=eu-west-1", sc)
	if c := e.api.last("LookupEvents"); c.region != "eu-west-1" {
		t.Fatalf("region %q", c.region)
	}
	// The session remembers it.
	e.get("/console/trails", sc)
	if c := e.api.last("DescribeTrails"); c.region != "eu-west-1" {
		t.Fatalf("remembered region %q", c.region)
	}
	body := e.get("/console/events?region=mars-1", sc).Body.String()
	if !strings.Contains(body, "Region mars-1 is not served here") || e.api.last("LookupEvents").region != "eu-west-1" {
		t.Fatal("an unserved region was used")
	}
}

func TestConsoleChartLayout(t *testing.T) {
	f := filter{Region: "us-east-1", Range: "custom", Start: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), Loc: time.UTC}
	ch := &chart{}
	ok, bad := make([]int, 49), make([]int, 49)
	ok[0], bad[0], ok[48] = 3, 1, 8
	ch.layoutEven(f.Start, 30*time.Minute, ok, bad, f)
	if len(ch.Bars) != 2 || ch.YLabels[0] != "8" || ch.YLabels[1] != "4" || len(ch.XLabels) != 5 {
		t.Fatalf("chart %+v", ch)
	}
	b := ch.Bars[0]
	if b.OkH != 37.5 || b.ErrH != 12.5 || b.ErrY != 50 || !strings.Contains(b.Title, "4 events, 1 with errors") {
		t.Fatalf("bar %+v", b)
	}
	if q, _ := url.ParseQuery(strings.SplitN(b.Href, "?", 2)[1]); q.Get("range") != "custom" || q.Get("start") != "2026-11-25T12:00:00" || q.Get("end") != "2026-11-25T12:29:59" {
		t.Fatalf("bar link %s", b.Href)
	}
	for n, want := range map[int]int{0: 0, 1: 2, 3: 4, 5: 6, 7: 8, 9: 10, 12: 20, 41: 60, 4999: 6000} {
		if got := niceCeil(n); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestConsoleCheckJSONArray(t *testing.T) {
	if _, p := checkJSONArray(`{"a":1}`); !strings.Contains(p, "must be a JSON array") {
		t.Fatal(p)
	}
	if _, p := checkJSONArray("[1] [2]"); p == "" {
		t.Fatal("trailing text accepted")
	}
	raw, p := checkJSONArray(" [ {\"a\" : 1} ] ")
	if p != "" || !bytes.Equal(raw, []byte(`[{"a":1}]`)) {
		t.Fatalf("%s %q", raw, p)
	}
}

func TestConsoleFormatNum(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -5000: "-5,000"} {
		if got := formatNum(n); got != want {
			t.Errorf("formatNum(%d) = %q", n, got)
		}
	}
}
