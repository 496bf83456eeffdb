package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/server"
)

const keptTrail = "arn:aws:cloudtrail:us-east-1:111111111111:trail/audit"

// keptPage is the trail page a kept form is sent from.
var keptPage = "/console/trail?arn=" + url.QueryEscape(keptTrail) + "&region=us-east-1"

// postFrom sends form to target as a browser does from page (Referer and
// Origin of the console).
func (e *testEnv) postFrom(page, target string, sc *http.Cookie, form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "http://example.com")
	if page != "" {
		r.Header.Set("Referer", "http://example.com"+page)
	}
	if sc != nil {
		r.AddCookie(sc)
	}
	return e.do(r)
}

// signInAgain signs in through the form with the browser's old session
// cookie (if any) and next, and returns the new session cookie and where
// it went.
func (e *testEnv) signInAgain(key, secret, next string, old *http.Cookie) (*http.Cookie, string) {
	e.t.Helper()
	w := e.get("/console/login?kept=1&next="+url.QueryEscape(next), old)
	m := csrfRE.FindStringSubmatch(w.Body.String())
	if m == nil {
		e.t.Fatalf("login page has no token:\n%s", w.Body)
	}
	r := httptest.NewRequest("POST", "/console/login", strings.NewReader(url.Values{"csrf": {m[1]}, "access_key_id": {key},
		"secret_access_key": {secret}, "next": {next}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(cookieNamed(w, loginCookie))
	if old != nil {
		r.AddCookie(old)
	}
	w = e.do(r)
	sc := cookieNamed(w, sessionCookie)
	if w.Code != http.StatusSeeOther || sc == nil {
		e.t.Fatalf("sign in again: %d\n%s", w.Code, w.Body)
	}
	return sc, w.Header().Get("Location")
}

func keptUpdate(tok string) url.Values {
	return url.Values{"csrf": {tok}, "region": {"us-east-1"}, "arn": {keptTrail}, "name": {"audit"},
		"bucket": {"typed-bucket"}, "prefix": {"typed/prefix"}}
}

// A form sent after the session expired is not applied; the sign-in page
// says it is kept; signing in again with the same key pair returns to the
// form's page, which shows once what was typed, for the script to fill in.
func TestConsoleKeptFormAfterExpiry(t *testing.T) {
	e := newEnv(t)
	sc, tok := e.login(adminKey, adminSecret)
	e.now = e.now.Add(61 * time.Minute)
	before := len(e.api.ops())
	w := e.postFrom(keptPage, "/console/trail/update", sc, keptUpdate(tok))
	want := "/console/login?kept=1&next=" + url.QueryEscape(keptPage)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != want {
		t.Fatalf("form after expiry: %d %q, want %q", w.Code, w.Header().Get("Location"), want)
	}
	if ops := e.api.ops(); len(ops) != before {
		t.Fatalf("a form sent after expiry reached the API: %v", ops[before:])
	}
	lw := e.get(want, sc)
	login := lw.Body.String()
	if !strings.Contains(login, `class="notice warn"`) || !strings.Contains(login, "nothing was changed") ||
		!strings.Contains(login, `name="reason" value="kept"`) || strings.Contains(login, `class="flash"`) {
		t.Fatalf("sign-in page after a kept form:\n%s", login)
	}
	// A wrong secret keeps the warning on the page.
	m := csrfRE.FindStringSubmatch(login)
	r := httptest.NewRequest("POST", "/console/login", strings.NewReader(url.Values{"csrf": {m[1]}, "access_key_id": {adminKey},
		"secret_access_key": {"wrong"}, "next": {keptPage}, "reason": {"kept"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(cookieNamed(lw, loginCookie))
	r.AddCookie(sc)
	if body := e.do(r).Body.String(); !strings.Contains(body, "not valid") || !strings.Contains(body, "Sign in again to return to the form") {
		t.Fatalf("wrong secret after a kept form:\n%s", body)
	}

	sc2, next := e.signInAgain(adminKey, adminSecret, keptPage, sc)
	if next != keptPage {
		t.Fatalf("signed in to %q, want %q", next, keptPage)
	}
	page := e.get(next, sc2).Body.String()
	for _, s := range []string{`id="kept-notice"`, `data-action="/console/trail/update"`, "typed-bucket", "typed/prefix", `class="notice warn kept"`} {
		if !strings.Contains(page, s) {
			t.Fatalf("the form's page lacks %s:\n%s", s, page)
		}
	}
	if strings.Contains(page, tok) {
		t.Fatal("the page shows the ended session's CSRF token")
	}
	if again := e.get(next, sc2).Body.String(); strings.Contains(again, "kept-notice") {
		t.Fatal("the kept form is shown twice")
	}
	if ops := e.api.ops(); slices.Contains(ops, "UpdateTrail") {
		t.Fatalf("the kept form was applied: %v", ops)
	}
}

// A kept form goes back only to the key pair that typed it: another user
// signing in on the same browser never sees it, and it is gone after.
func TestConsoleKeptFormOtherUser(t *testing.T) {
	e := newEnv(t)
	sc, tok := e.login(adminKey, adminSecret)
	e.now = e.now.Add(61 * time.Minute)
	if w := e.postFrom(keptPage, "/console/trail/update", sc, keptUpdate(tok)); !strings.Contains(w.Header().Get("Location"), "kept=1") {
		t.Fatalf("not kept: %q", w.Header().Get("Location"))
	}
	rc, next := e.signInAgain(readerKey, readerSec, keptPage, sc)
	if body := e.get(next, rc).Body.String(); strings.Contains(body, "typed-bucket") || strings.Contains(body, "kept-notice") {
		t.Fatal("another user saw the kept form")
	}
	// Alice, signing in afterwards, gets nothing back: the form was dropped.
	ac, next := e.signInAgain(adminKey, adminSecret, keptPage, sc)
	if body := e.get(next, ac).Body.String(); strings.Contains(body, "typed-bucket") {
		t.Fatal("the form came back after another user signed in")
	}
}

// Where a form cannot be kept safely, the sign-in page says it was lost.
func TestConsoleKeptFormLost(t *testing.T) {
	cases := []struct {
		name  string
		after time.Duration // after sign-in
		page  string
		form  func(tok string) url.Values
	}{
		{"past the grace", time.Hour + sessionGrace + time.Minute, keptPage, keptUpdate},
		{"no page to return to", 61 * time.Minute, "", keptUpdate},
		{"a page elsewhere", 61 * time.Minute, "/console/login?next=x", keptUpdate},
		{"too large", 61 * time.Minute, keptPage, func(tok string) url.Values {
			f := keptUpdate(tok)
			f.Set("advanced", strings.Repeat("x", maxKeptBytes))
			return f
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			sc, tok := e.login(adminKey, adminSecret)
			e.now = e.now.Add(tc.after)
			before := len(e.api.ops())
			w := e.postFrom(tc.page, "/console/trail/update", sc, tc.form(tok))
			loc := w.Header().Get("Location")
			if w.Code != http.StatusSeeOther || !strings.Contains(loc, "lost=1") {
				t.Fatalf("%d %q", w.Code, loc)
			}
			if body := e.get(loc, nil).Body.String(); !strings.Contains(body, "was lost") || !strings.Contains(body, `class="notice warn"`) {
				t.Fatalf("sign-in page:\n%s", body)
			}
			if ops := e.api.ops(); len(ops) != before {
				t.Fatalf("calls: %v", ops[before:])
			}
		})
	}
}

// A form with another token, or from another site, is refused and not
// kept: the CSRF protection holds for ended sessions too.
func TestConsoleKeptFormCSRF(t *testing.T) {
	e := newEnv(t)
	sc, _ := e.login(adminKey, adminSecret)
	e.now = e.now.Add(61 * time.Minute)
	if w := e.postFrom(keptPage, "/console/trail/update", sc, keptUpdate("forged")); w.Code != http.StatusSeeOther ||
		!strings.HasPrefix(w.Header().Get("Location"), "/console/login?lost=1&") {
		t.Fatalf("forged token: %d %q", w.Code, w.Header().Get("Location"))
	}
	r := httptest.NewRequest("POST", "/console/trail/update", strings.NewReader(keptUpdate("x").Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "https://evil.example")
	r.Header.Set("Referer", "http://example.com"+keptPage)
	r.AddCookie(sc)
	if w := e.do(r); strings.Contains(w.Header().Get("Location"), "kept=1") {
		t.Fatalf("a form from another site was kept: %q", w.Header().Get("Location"))
	}
	sc2, next := e.signInAgain(adminKey, adminSecret, keptPage, sc)
	if body := e.get(next, sc2).Body.String(); strings.Contains(body, "kept-notice") {
		t.Fatal("a refused form came back")
	}
}

// A kept form is forgotten keptFor after it was sent, and its session's
// document goes with it.
func TestConsoleKeptFormForgotten(t *testing.T) {
	e := newEnv(t)
	sc, tok := e.login(adminKey, adminSecret)
	e.now = e.now.Add(time.Hour + sessionGrace - time.Minute)
	if w := e.postFrom(keptPage, "/console/trail/update", sc, keptUpdate(tok)); !strings.Contains(w.Header().Get("Location"), "kept=1") {
		t.Fatalf("not kept: %q", w.Header().Get("Location"))
	}
	// The ended session stays while its form is kept, past its grace.
	e.now = e.now.Add(keptFor - time.Minute)
	e.login(readerKey, readerSec) // sweeps
	if n, _ := e.c.sessions.count(context.Background()); n != 2 {
		t.Fatalf("%d sessions, want the kept one and rita's", n)
	}
	e.now = e.now.Add(2 * time.Minute)
	sc2, next := e.signInAgain(adminKey, adminSecret, keptPage, sc)
	if body := e.get(next, sc2).Body.String(); strings.Contains(body, "kept-notice") {
		t.Fatal("a form came back after keptFor")
	}
	if n, _ := e.c.sessions.count(context.Background()); n != 2 {
		t.Fatalf("%d sessions, want rita's and alice's new one", n)
	}
}

// A page asked for after the session expired comes back, with its query,
// after signing in; the sign-in page warns (not a success message).
func TestConsoleExpiredGetReturns(t *testing.T) {
	e := newEnv(t)
	sc, _ := e.login(adminKey, adminSecret)
	e.now = e.now.Add(61 * time.Minute)
	target := "/console/events?region=eu-west-1&attr=Username&value=dana"
	w := e.get(target, sc)
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || loc != "/console/login?expired=1&next="+url.QueryEscape(target) {
		t.Fatalf("%d %q", w.Code, loc)
	}
	if body := e.get(loc, sc).Body.String(); !strings.Contains(body, `class="notice warn"`) || !strings.Contains(body, "Your session has expired") {
		t.Fatalf("sign-in page:\n%s", body)
	}
	if _, next := e.signInAgain(adminKey, adminSecret, target, sc); next != target {
		t.Fatalf("signed in to %q, want %q", next, target)
	}
}

// A download asked for after the session expired returns, after signing
// in, to event history with the download's filter, which offers the
// download: the download's own answer would be saved as a file, leaving
// the tab on the sign-in page.
func TestConsoleExpiredDownloadReturns(t *testing.T) {
	e := newEnv(t)
	sc, _ := e.login(adminKey, adminSecret)
	e.now = e.now.Add(61 * time.Minute)
	for _, format := range []string{"csv", "json"} {
		w := e.get("/console/events."+format+"?region=eu-west-1&attr=Username&value=dana&range=1h&at=1764158400", sc)
		u, err := url.Parse(w.Header().Get("Location"))
		if err != nil || w.Code != http.StatusSeeOther || u.Path != "/console/login" {
			t.Fatalf("%s: %d %q", format, w.Code, w.Header().Get("Location"))
		}
		want := "/console/events?at=1764158400&attr=Username&download=" + format + "&range=1h&region=eu-west-1&value=dana"
		if next := u.Query().Get("next"); next != want {
			t.Fatalf("%s: next %q, want %q", format, next, want)
		}
		sc2, next := e.signInAgain(adminKey, adminSecret, want, sc)
		body := e.get(next, sc2).Body.String()
		link := `href="/console/events.` + format + `?at=1764158400&amp;attr=Username&amp;range=1h&amp;region=eu-west-1&amp;value=dana" id="download-resume-link"`
		if !strings.Contains(body, `id="download-resume"`) || !strings.Contains(body, link) {
			t.Fatalf("%s: the page after signing in lacks %s:\n%s", format, link, body)
		}
		sc = sc2
		e.now = e.now.Add(61 * time.Minute)
	}
	// A sign-in form whose next is a download itself (an old link) lands on
	// the offer too, and so does the sign-in page of a signed-in browser.
	dl := "/console/events.json?region=eu-west-1&range=1h&at=1764158400"
	offer := "/console/events?at=1764158400&download=json&range=1h&region=eu-west-1"
	sc2, next := e.signInAgain(adminKey, adminSecret, dl, nil)
	if next != offer {
		t.Fatalf("signed in with next %q to %q, want %q", dl, next, offer)
	}
	if w := e.get("/console/login?next="+url.QueryEscape(dl), sc2); w.Header().Get("Location") != offer {
		t.Fatalf("the sign-in page of a signed-in browser sent it to %q", w.Header().Get("Location"))
	}
	// Without one asked for, or with another value, no offer.
	sc, _ = e.login(adminKey, adminSecret)
	for _, q := range []string{"", "&download=xml"} {
		if body := e.get("/console/events?region=eu-west-1"+q, sc).Body.String(); strings.Contains(body, "download-resume") {
			t.Fatalf("%q: a download is offered", q)
		}
	}
}

// blockingStream is the API with a Live mode stream that stays open until
// its request's context ends.
type blockingStream struct {
	*fakeAPI
	opened chan struct{}
}

func (b blockingStream) Stream(w http.ResponseWriter, who server.Caller, _ []string) {
	w.Header().Set("Content-Type", "text/event-stream")
	close(b.opened)
	<-who.Request.Context().Done()
}

// A Live mode stream ends when its session is signed out (here on another
// node): it does not outlive the sign-in it was opened with.
func TestConsoleLiveEndsWithSession(t *testing.T) {
	e := newEnv(t)
	api := blockingStream{fakeAPI: e.api, opened: make(chan struct{})}
	c := newConsole(Options{Directory: testDirectory(), API: api, Regions: []string{"us-east-1"}, SessionTTL: time.Hour, Sessions: e.st})
	c.now = func() time.Time { return e.now }
	c.watchEvery = 10 * time.Millisecond
	sc, tok := e.login(adminKey, adminSecret)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := httptest.NewRequest("GET", "/console/stream?region=us-east-1", nil)
		r.AddCookie(sc)
		c.ServeHTTP(httptest.NewRecorder(), r)
	}()
	<-api.opened
	select {
	case <-done:
		t.Fatal("the stream ended while its session was live")
	case <-time.After(100 * time.Millisecond):
	}
	if w := e.post("/console/logout", sc, url.Values{"csrf": {tok}}); w.Code != http.StatusSeeOther {
		t.Fatalf("sign out: %d", w.Code)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the stream outlived its session")
	}
}

// Live mode's EventSource without a live session is refused (401), not
// sent to the sign-in page's HTML.
func TestConsoleStreamWithoutSession(t *testing.T) {
	e := newEnv(t)
	r := httptest.NewRequest("GET", "/console/stream?region=us-east-1", nil)
	r.Header.Set("Accept", "text/event-stream")
	if w := e.do(r); w.Code != http.StatusUnauthorized {
		t.Fatalf("EventSource without a session: %d %q", w.Code, w.Header().Get("Location"))
	}
}

// A session keeps at most maxKeptForms forms, and at most twice
// maxKeptBytes of them: the oldest go first.
func TestConsoleKeptFormsBounded(t *testing.T) {
	e := newEnv(t)
	sc, tok := e.login(adminKey, adminSecret)
	e.now = e.now.Add(61 * time.Minute)
	big := strings.Repeat("x", maxKeptBytes/2)
	for i := range 6 {
		f := keptUpdate(tok)
		f.Set("prefix", big)
		f.Set("name", "trail-"+string(rune('a'+i)))
		if w := e.postFrom(keptPage, "/console/trail/update", sc, f); !strings.Contains(w.Header().Get("Location"), "kept=1") {
			t.Fatalf("form %d not kept: %q", i, w.Header().Get("Location"))
		}
	}
	d, err := e.st.GetState(context.Background(), sessionKey(sc.Value))
	if err != nil {
		t.Fatal(err)
	}
	var sd sessionDoc
	if err := json.Unmarshal(d.Doc, &sd); err != nil {
		t.Fatal(err)
	}
	if len(sd.Kept) != 3 || keptSize(sd.Kept) > 2*maxKeptBytes || sd.Kept[2].Fields[2][1] != "trail-f" {
		t.Fatalf("%d forms kept, %d bytes; newest %v", len(sd.Kept), keptSize(sd.Kept), sd.Kept[len(sd.Kept)-1].Fields[2])
	}
}
