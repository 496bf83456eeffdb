package console

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// signIn posts the sign-in form from address addr (with a fresh form and
// its token) and returns the answer.
func (e *testEnv) signIn(key, secret, addr string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest("GET", "/console/login", nil)
	r.RemoteAddr = addr + ":40000"
	w := e.do(r)
	m := csrfRE.FindStringSubmatch(w.Body.String())
	if m == nil {
		e.t.Fatalf("sign-in page has no token:\n%s", w.Body)
	}
	form := url.Values{"csrf": {m[1]}, "access_key_id": {key}, "secret_access_key": {secret}, "next": {"/console/trails"}}
	r = httptest.NewRequest("POST", "/console/login", strings.NewReader(form.Encode()))
	r.RemoteAddr = addr + ":40001"
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("User-Agent", "TestBrowser/1.0")
	r.AddCookie(cookieNamed(w, loginCookie))
	return e.do(r)
}

// TestConsoleSignInThrottlePerKey: failures for one user slow down that
// user's key from that address only; the page says when to try again.
func TestConsoleSignInThrottlePerKey(t *testing.T) {
	e := newEnv(t)
	const attacker, other = "192.0.2.1", "198.51.100.2"
	for i := 0; i < 20; i++ {
		w := e.signIn(adminKey, fmt.Sprintf("guess-%d", i), attacker)
		want := http.StatusUnauthorized
		if i >= DefaultSignInLimits.FailuresPerKey {
			want = http.StatusTooManyRequests
		}
		if w.Code != want {
			t.Fatalf("attempt %d: %d, want %d\n%s", i+1, w.Code, want, w.Body)
		}
		if want == http.StatusTooManyRequests {
			if w.Header().Get("Retry-After") != "30" ||
				!strings.Contains(pageText(w.Body.String()), "Too many failed sign-ins with this access key from your address. Try again in 30 seconds (at 12:00:30 UTC).") {
				t.Fatalf("attempt %d: Retry-After %q\n%s", i+1, w.Header().Get("Retry-After"), w.Body)
			}
		}
	}
	// Another user's correct key pair from the same address: at once.
	if w := e.signIn(readerKey, readerSec, attacker); w.Code != http.StatusSeeOther || cookieNamed(w, sessionCookie) == nil {
		t.Fatalf("rita from the attacked address: %d\n%s", w.Code, w.Body)
	}
	// The attacked user from another address: at once.
	if w := e.signIn(adminKey, adminSecret, other); w.Code != http.StatusSeeOther {
		t.Fatalf("alice from another address: %d\n%s", w.Code, w.Body)
	}
	// The attacked user from the attacked address waits, even with the
	// right secret (it is not checked) …
	if w := e.signIn(adminKey, adminSecret, attacker); w.Code != http.StatusTooManyRequests || cookieNamed(w, sessionCookie) != nil {
		t.Fatalf("alice from the attacked address: %d\n%s", w.Code, w.Body)
	}
	// … until the wait is over.
	e.now = e.now.Add(30 * time.Second)
	if w := e.signIn(adminKey, adminSecret, attacker); w.Code != http.StatusSeeOther {
		t.Fatalf("alice after the wait: %d\n%s", w.Code, w.Body)
	}

	// Every checked attempt is a ConsoleLogin event; refused ones are not.
	recs := e.recordedEvents()
	var got []string
	for _, r := range recs {
		ui := r.record["userIdentity"].(map[string]any)
		got = append(got, fmt.Sprintf("%s %s %s", ui["userName"], r.record["sourceIPAddress"],
			r.record["responseElements"].(map[string]any)["ConsoleLogin"]))
	}
	want := []string{"alice 192.0.2.1 Failure", "alice 192.0.2.1 Failure", "alice 192.0.2.1 Failure", "alice 192.0.2.1 Failure",
		"alice 192.0.2.1 Failure", "rita 192.0.2.1 Success", "alice 198.51.100.2 Success", "alice 192.0.2.1 Success"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("recorded:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	checkSignInRecord(t, recs[0], false)
	checkSignInRecord(t, recs[5], true)
}

// checkSignInRecord checks a ConsoleLogin record against CloudTrail's.
func checkSignInRecord(t *testing.T, r recorded, success bool) {
	t.Helper()
	m := r.record
	ui := m["userIdentity"].(map[string]any)
	user := ui["userName"].(string)
	wantUI := map[string]any{"type": "IAMUser", "accountId": "111111111111", "arn": "arn:aws:iam::111111111111:user/" + user}
	for k, v := range wantUI {
		if ui[k] != v {
			t.Errorf("userIdentity.%s = %v, want %v", k, ui[k], v)
		}
	}
	if p, _ := ui["principalId"].(string); !strings.HasPrefix(p, "AIDA") {
		t.Errorf("userIdentity.principalId %q", p)
	}
	want := map[string]any{"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "eventType": "AwsConsoleSignIn",
		"awsRegion": "eu-west-1", "readOnly": false, "managementEvent": true, "eventCategory": "Management",
		"recipientAccountId": "111111111111", "userAgent": "TestBrowser/1.0", "requestParameters": nil,
		"eventTime": "2026-11-26T12:00:00Z"}
	result := "Success"
	if !success {
		result = "Failure"
		want["errorMessage"] = "Failed authentication"
	} else if _, has := m["errorMessage"]; has {
		t.Errorf("a successful sign-in has an errorMessage: %v", m["errorMessage"])
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	if re := m["responseElements"].(map[string]any); re["ConsoleLogin"] != result || len(re) != 1 {
		t.Errorf("responseElements %v, want ConsoleLogin %s", re, result)
	}
	ad := m["additionalEventData"].(map[string]any)
	if ad["LoginTo"] != "http://example.com/console/trails" || ad["MobileVersion"] != "No" || ad["MFAUsed"] != "No" {
		t.Errorf("additionalEventData %v", ad)
	}
	if id, _ := m["eventID"].(string); len(id) != 36 {
		t.Errorf("eventID %q", id)
	}
	if r.account != "111111111111" {
		t.Errorf("recorded in account %q", r.account)
	}
}

// TestConsoleSignInThrottlePerAddress: many keys tried from one address
// slow that address down, at a much higher count, for the keys that failed
// there; a key that has not failed there (another user's) is still checked
// and signs in, other addresses are untouched, and unknown keys are
// recorded in no account.
func TestConsoleSignInThrottlePerAddress(t *testing.T) {
	e := newEnv(t)
	const sprayer = "203.0.113.9"
	for i := 0; i < DefaultSignInLimits.FailuresPerAddress; i++ {
		if w := e.signIn(fmt.Sprintf("AKIAUNKNOWN%09d", i), "x", sprayer); w.Code != http.StatusUnauthorized {
			t.Fatalf("key %d: %d\n%s", i, w.Code, w.Body)
		}
	}
	// The address waits: a key that failed there is refused unchecked.
	w := e.signIn("AKIAUNKNOWN000000000", "x", sprayer)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "30" ||
		!strings.Contains(pageText(w.Body.String()), "Too many failed sign-ins from your address. Try again in 30 seconds") {
		t.Fatalf("a key that failed at the spraying address: %d %q\n%s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	// A new key is checked once; its failure lengthens the address's wait
	// and holds that key back too.
	if w := e.signIn("AKIAUNKNOWNNEW000001", "x", sprayer); w.Code != http.StatusUnauthorized {
		t.Fatalf("a new wrong key at the waiting address: %d, want it checked\n%s", w.Code, w.Body)
	}
	if w := e.signIn("AKIAUNKNOWNNEW000001", "x", sprayer); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" {
		t.Fatalf("the new key again: %d %q, want the doubled wait\n%s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	// Rita has not failed there: she signs in at once, from the same
	// address and from another.
	if w := e.signIn(readerKey, readerSec, sprayer); w.Code != http.StatusSeeOther {
		t.Fatalf("rita from the spraying address: %d\n%s", w.Code, w.Body)
	}
	if w := e.signIn(readerKey, readerSec, "203.0.113.10"); w.Code != http.StatusSeeOther {
		t.Fatalf("rita from another address: %d\n%s", w.Code, w.Body)
	}
	if recs := e.recordedEvents(); len(recs) != 2 {
		t.Fatalf("%d events recorded, want rita's two sign-ins alone", len(recs))
	}
}

// TestConsoleSignInBackoff: waits double up to the maximum; a quiet
// maximum wait forgets the failures.
func TestConsoleSignInBackoff(t *testing.T) {
	th := newThrottle(SignInLimits{FailuresPerKey: 2, FailuresPerAddress: 1000, FirstWait: time.Second, MaxWait: 5 * time.Second})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fail := func() outcome { return th.attempt("K", "192.0.2.1", now, func() bool { return false }) }
	if o := fail(); !o.checked || o.slowed != nil {
		t.Fatalf("first failure %+v", o)
	}
	var waits []time.Duration
	for i := 0; i < 5; i++ {
		o := fail()
		if !o.checked || o.slowed == nil {
			t.Fatalf("failure %d: %+v", i+2, o)
		}
		waits = append(waits, o.slowed.until.Sub(now))
		if o := fail(); o.refused == nil || !o.refused.until.Equal(now.Add(waits[i])) {
			t.Fatalf("attempt while waiting: %+v", o)
		}
		now = now.Add(waits[i])
	}
	if fmt.Sprint(waits) != "[1s 2s 4s 5s 5s]" {
		t.Fatalf("waits %v", waits)
	}
	now = now.Add(5 * time.Second)
	if o := fail(); !o.checked || o.slowed != nil {
		t.Fatalf("after a quiet maximum wait: %+v", o)
	}
	// A sign-in ends the key's count from that address.
	if o := th.attempt("K", "192.0.2.1", now, func() bool { return true }); !o.ok {
		t.Fatalf("sign-in %+v", o)
	}
	if o := fail(); o.slowed != nil {
		t.Fatalf("failure after a sign-in: %+v", o)
	}
}

// TestConsoleSignInConcurrent: attempts sent at once cannot pass the free
// failures together.
func TestConsoleSignInConcurrent(t *testing.T) {
	th := newThrottle(SignInLimits{})
	now := time.Now()
	var mu sync.Mutex
	checked := 0
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Go(func() {
			th.attempt("K", "192.0.2.1", now, func() bool {
				mu.Lock()
				checked++
				mu.Unlock()
				return false
			})
		})
	}
	wg.Wait()
	if checked != DefaultSignInLimits.FailuresPerKey {
		t.Fatalf("%d attempts checked, want %d", checked, DefaultSignInLimits.FailuresPerKey)
	}
}

// TestConsoleSignInBounded: the tables forget the least recently failed
// entries when full.
func TestConsoleSignInBounded(t *testing.T) {
	tab := newFailureTable(5, 100)
	now := time.Now()
	l := DefaultSignInLimits
	for i := 0; i < 1000; i++ {
		tab.fail(fmt.Sprint(i), now, l)
	}
	if tab.len() != 100 || tab.entries["999"] == nil || tab.entries["899"] != nil {
		t.Fatalf("%d entries", tab.len())
	}
	// Forgotten entries go first.
	later := now.Add(l.MaxWait)
	tab.fail("new", later, l)
	if tab.len() != 1 {
		t.Fatalf("%d entries after the others were forgotten", tab.len())
	}
}

func TestConsoleSignInAddress(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":              "192.0.2.1",
		"::ffff:192.0.2.1":       "192.0.2.1",
		"2001:db8:1:2:3:4:5:6":   "2001:db8:1:2::/64",
		"2001:db8:1:2::ffff":     "2001:db8:1:2::/64",
		"fe80::1%eth0":           "fe80::/64",
		"not an address":         "not an address",
		"2001:db8:1:3:3:4:5:6":   "2001:db8:1:3::/64",
		"[2001:db8::1]":          "[2001:db8::1]",
		"0.0.0.0":                "0.0.0.0",
		"::":                     "::/64",
		"2001:db8:ffff:ffff::1":  "2001:db8:ffff:ffff::/64",
		"2001:0db8:0000:0000::1": "2001:db8::/64",
	} {
		if got := addressOf(in); got != want {
			t.Errorf("addressOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConsoleWaitText(t *testing.T) {
	for secs, want := range map[int]string{0: "1 second", 1: "1 second", 30: "30 seconds", 59: "59 seconds", 60: "1 minute",
		61: "1 minute 1 second", 90: "1 minute 30 seconds", 120: "2 minutes", 899: "14 minutes 59 seconds", 900: "15 minutes"} {
		if got := waitText(secs); got != want {
			t.Errorf("waitText(%d) = %q, want %q", secs, got, want)
		}
	}
}

// TestConsoleSignInRecordDetails: over TLS the record has tlsDetails and
// an https LoginTo; a record that cannot be stored does not change the
// answer.
func TestConsoleSignInRecordDetails(t *testing.T) {
	e := newEnv(t)
	w := e.get("/console/login", nil)
	form := url.Values{"csrf": {csrfRE.FindStringSubmatch(w.Body.String())[1]}, "access_key_id": {readerKey},
		"secret_access_key": {readerSec}, "next": {"/console/events"}}
	r := httptest.NewRequest("POST", "https://cairn.example:8443/console/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(cookieNamed(w, loginCookie))
	r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}
	if w := e.do(r); w.Code != http.StatusSeeOther {
		t.Fatalf("sign-in over TLS: %d\n%s", w.Code, w.Body)
	}
	recs := e.recordedEvents()
	if len(recs) != 1 {
		t.Fatalf("%d events recorded", len(recs))
	}
	m := recs[0].record
	td, _ := m["tlsDetails"].(map[string]any)
	if td["tlsVersion"] != "TLSv1.3" || td["cipherSuite"] != "TLS_AES_128_GCM_SHA256" || td["clientProvidedHostHeader"] != "cairn.example:8443" {
		t.Errorf("tlsDetails %v", td)
	}
	if ad := m["additionalEventData"].(map[string]any); ad["LoginTo"] != "https://cairn.example:8443/console/events" {
		t.Errorf("LoginTo %v", ad["LoginTo"])
	}
	if ui := m["userIdentity"].(map[string]any); ui["accessKeyId"] != readerKey || ui["userName"] != "rita" {
		t.Errorf("userIdentity %v", ui)
	}

	e.c.opts.Record = func(context.Context, string, []byte) error { return errors.New("store down") }
	if w := e.signIn(adminKey, adminSecret, "192.0.2.7"); w.Code != http.StatusSeeOther {
		t.Fatalf("sign-in with the record refused: %d\n%s", w.Code, w.Body)
	}
	if w := e.signIn(adminKey, "wrong", "192.0.2.7"); w.Code != http.StatusUnauthorized {
		t.Fatalf("failed sign-in with the record refused: %d\n%s", w.Code, w.Body)
	}
}

// TestSignInEventBytes pins the ConsoleLogin record byte for byte (its
// eventID aside), a success over TLS and a failure without it: the fields,
// their order, the clipped LoginTo.
func TestSignInEventBytes(t *testing.T) {
	p := &auth.Principal{Account: "111111111111", UserName: "alice", ARN: "arn:aws:iam::111111111111:user/alice",
		PrincipalID: "AIDAEXAMPLEALICE0001", AccessKeyID: adminKey}
	c := &Console{opts: Options{GlobalRegion: "us-east-1"}}
	now := time.Date(2026, 11, 26, 13, 0, 0, 500_000_000, time.FixedZone("CET", 3600))
	identity := `"userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEALICE0001","arn":"arn:aws:iam::111111111111:user/alice",` +
		`"accountId":"111111111111","accessKeyId":"AKIAALICEADMIN000001","userName":"alice"}`
	for _, tc := range []struct {
		name string
		s    signIn
		want string
	}{{
		name: "success over TLS",
		s: signIn{principal: p, ok: true, ip: "192.0.2.7", userAgent: "TestBrowser/1.0", loginTo: "https://cairn.example/console/trails",
			tls: &event.TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ClientProvidedHostHeader: "cairn.example"}},
		want: `{"eventVersion":"1.11",` + identity + `,"eventTime":"2026-11-26T12:00:00Z","eventSource":"signin.amazonaws.com",` +
			`"eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.7","userAgent":"TestBrowser/1.0",` +
			`"requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},` +
			`"additionalEventData":{"LoginTo":"https://cairn.example/console/trails","MobileVersion":"No","MFAUsed":"No"},` +
			`"eventID":"*","readOnly":false,"eventType":"AwsConsoleSignIn","managementEvent":true,"recipientAccountId":"111111111111",` +
			`"eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"cairn.example"}}`,
	}, {
		name: "failure",
		s:    signIn{principal: p, ip: "198.51.100.2", loginTo: "/console/" + strings.Repeat("x", 2000)},
		want: `{"eventVersion":"1.11",` + identity + `,"eventTime":"2026-11-26T12:00:00Z","eventSource":"signin.amazonaws.com",` +
			`"eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.2",` +
			`"errorMessage":"Failed authentication","requestParameters":null,"responseElements":{"ConsoleLogin":"Failure"},` +
			`"additionalEventData":{"LoginTo":"/console/` + strings.Repeat("x", 1024-len("/console/")) + `","MobileVersion":"No","MFAUsed":"No"},` +
			`"eventID":"*","readOnly":false,"eventType":"AwsConsoleSignIn","managementEvent":true,"recipientAccountId":"111111111111",` +
			`"eventCategory":"Management"}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := c.signInEvent(tc.s, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := testutil.Steady(t, b, "eventID"); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// pageText is an HTML page's text, its tags dropped.
func pageText(body string) string { return tagRE.ReplaceAllString(body, "") }

// The failure that starts a wait says so, with the wait the throttle
// holds to (and Retry-After); the next attempt is refused for exactly that
// long, shown to the second.
func TestConsoleSignInSlowedSaysWhy(t *testing.T) {
	e := newEnv(t)
	const from = "192.0.2.7"
	var w *httptest.ResponseRecorder
	for i := 0; i < DefaultSignInLimits.FailuresPerKey; i++ {
		w = e.signIn(adminKey, "wrong", from)
	}
	text := pageText(w.Body.String())
	if w.Code != http.StatusUnauthorized || w.Header().Get("Retry-After") != "30" ||
		!strings.Contains(text, "The access key ID or the secret access key is not valid. Too many failed sign-ins with this access key from your address. Try again in 30 seconds (at 12:00:30 UTC).") ||
		!strings.Contains(w.Body.String(), `data-secs="30"`) {
		t.Fatalf("the failure that starts the wait: %d %q\n%s", w.Code, w.Header().Get("Retry-After"), text)
	}
	e.now = e.now.Add(29*time.Second + 500*time.Millisecond)
	if w := e.signIn(adminKey, adminSecret, from); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" ||
		!strings.Contains(pageText(w.Body.String()), "Try again in 1 second (at 12:00:30 UTC).") {
		t.Fatalf("half a second before the end: %d %q", w.Code, w.Header().Get("Retry-After"))
	}
	e.now = e.now.Add(500 * time.Millisecond)
	if w := e.signIn(adminKey, adminSecret, from); w.Code != http.StatusSeeOther {
		t.Fatalf("at the end of the wait: %d\n%s", w.Code, pageText(w.Body.String()))
	}
	// A longer wait is shown to the second.
	e2 := newEnv(t)
	e2.c.logins = newThrottle(SignInLimits{FailuresPerKey: 1, FirstWait: 90 * time.Second})
	if w := e2.signIn(adminKey, "wrong", from); !strings.Contains(pageText(w.Body.String()), "Try again in 1 minute 30 seconds (at 12:01:30 UTC).") {
		t.Fatalf("a 90-second wait:\n%s", pageText(w.Body.String()))
	}
}
