package console

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/history"
)

func TestConsoleLoadZone(t *testing.T) {
	for _, name := range []string{"UTC", "Europe/Paris", "Asia/Kolkata", "Asia/Calcutta", "America/Argentina/Buenos_Aires", "Etc/GMT+5"} {
		if loc, err := loadZone(name); err != nil || loc.String() != name {
			t.Errorf("%s: %v %v", name, loc, err)
		}
	}
	for _, name := range []string{"", "Local", "Europe/Nowhere", "../../etc/passwd", "/etc/localtime", "Europe/../UTC",
		"Europe/Paris\x00", "A/" + strings.Repeat("b", 70), "Europe/Paris/x/y"} {
		if _, err := loadZone(name); err == nil {
			t.Errorf("zone %q accepted", name)
		}
	}
}

func TestConsoleFilterZone(t *testing.T) {
	e := newEnv(t)
	parse := func(q string, cookie string) (filter, string) {
		r := httptest.NewRequest("GET", "/console/events?"+q, nil)
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: zoneCookie, Value: url.QueryEscape(cookie)})
		}
		return e.c.parseFilter(r, "us-east-1")
	}
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	// A custom range written in the zone the URL names.
	f, p := parse("range=custom&start=2026-11-20T10:00&end=2026-11-20T10:30:15&tz=Asia/Kolkata", "")
	if p != "" || f.RangeErr != "" || f.Start != time.Date(2026, 11, 20, 4, 30, 0, 0, time.UTC) || f.End != time.Date(2026, 11, 20, 5, 0, 15, 0, time.UTC) {
		t.Fatalf("custom range in Kolkata: %+v %q", f, p)
	}
	if f.Loc.String() != "Asia/Kolkata" || f.StartIn != "2026-11-20T10:00:00" || f.EndIn != "2026-11-20T10:30:15" {
		t.Fatalf("shown in %v: %s to %s", f.Loc, f.StartIn, f.EndIn)
	}
	if q := f.query(); q.Get("tz") != "Asia/Kolkata" || q.Get("start") != "2026-11-20T10:00:00" {
		t.Fatalf("query %v", q)
	}
	// The cookie chooses the zone times show in; a URL without tz is UTC.
	f, _ = parse("range=custom&start=2026-11-20T10:00&end=2026-11-20T11:00", "Asia/Kolkata")
	if f.Start != time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC) || f.Loc.String() != "Asia/Kolkata" || f.StartIn != f.Start.In(kolkata).Format(inputTime) {
		t.Fatalf("cookie zone: %+v", f)
	}
	if f, _ = parse("range=1h", "Not/AZone"); f.Loc != time.UTC {
		t.Fatalf("a cookie naming no zone: %v", f.Loc)
	}
	// A zone the server does not know: an error; a custom range in it
	// cannot be read.
	if f, p = parse("range=1h&tz=Mars/Olympus", ""); p == "" || f.Loc != time.UTC || f.RangeErr != "" {
		t.Fatalf("unknown zone, preset: %q %+v", p, f)
	}
	if f, _ = parse("range=custom&start=2026-11-20T10:00&tz=Mars/Olympus", ""); f.RangeErr == "" || f.StartIn != "2026-11-20T10:00" {
		t.Fatalf("unknown zone, custom: %+v", f)
	}
	// Presets shorter than an hour.
	for q, span := range map[string]time.Duration{"range=5m": 5 * time.Minute, "range=15m": 15 * time.Minute, "range=30m": 30 * time.Minute} {
		if f, _ = parse(q, ""); f.End.Sub(f.Start) != span || !f.End.Equal(e.now) {
			t.Errorf("%s: %v to %v", q, f.Start, f.End)
		}
	}
}

func TestConsoleRangeErrorShowsNoEvents(t *testing.T) {
	e := newEnv(t)
	e.api.events = makeEvents(e.now, 30)
	sc, _ := e.login(adminKey, adminSecret)
	for _, c := range []struct{ q, start, end, want string }{
		{"range=custom&start=2026-11-26T11:00:00&end=2026-11-26T10:00:00", "2026-11-26T11:00:00", "2026-11-26T10:00:00", "starts after it ends"},
		{"range=custom&start=yesterday&end=2026-11-26T10:00", "yesterday", "2026-11-26T10:00", "start of the custom range is not"},
		{"range=custom&start=2026-11-26T10:00&end=soon", "2026-11-26T10:00", "soon", "end of the custom range is not"},
	} {
		before := len(e.api.ops())
		w := e.get("/console/events?"+c.q, sc)
		body := w.Body.String()
		if w.Code != 200 || !strings.Contains(body, `id="range-error"`) || !strings.Contains(body, c.want) {
			t.Fatalf("%s: %d, no range error %q:\n%s", c.q, w.Code, c.want, body)
		}
		if !strings.Contains(body, `id="start" name="start" type="datetime-local" step="1" value="`+c.start+`"`) ||
			!strings.Contains(body, `id="end" name="end" type="datetime-local" step="1" value="`+c.end+`"`) {
			t.Errorf("%s: the inputs do not keep what was typed", c.q)
		}
		if strings.Contains(body, `class="user-cell"`) || len(e.api.ops()) != before {
			t.Errorf("%s: events shown or looked up (%v)", c.q, e.api.ops()[before:])
		}
		if strings.Contains(body, `role="alert">`+c.want) || strings.Count(body, `class="error`) != 1 {
			t.Errorf("%s: the range error is not (only) next to the range", c.q)
		}
		// Downloads refuse such a range too.
		if w := e.get("/console/events.csv?"+c.q, sc); w.Header().Get("Content-Disposition") != "" || len(e.api.ops()) != before {
			t.Errorf("%s: downloaded (%d)", c.q, w.Code)
		}
	}
}

func TestConsolePageSize(t *testing.T) {
	e := newEnv(t)
	e.api.events = makeEvents(e.now, 40)
	sc, _ := e.login(adminKey, adminSecret)
	body := e.get("/console/events?attr=Username&value=dana&size=10", sc).Body.String()
	var in history.Input
	json.Unmarshal(e.api.last("LookupEvents").body, &in)
	if in.MaxResults == nil || *in.MaxResults != 10 {
		t.Fatalf("LookupEvents input %s", e.api.last("LookupEvents").body)
	}
	if n := strings.Count(body, `class="user-cell">dana<`); n != 10 {
		t.Fatalf("%d rows, want 10", n)
	}
	next := regexp.MustCompile(`href="([^"]+)" class="button" rel="next"`).FindStringSubmatch(body)
	if next == nil || !strings.Contains(html.UnescapeString(next[1]), "size=10") {
		t.Fatalf("next link %v loses the size", next)
	}
	if !strings.Contains(body, `id="size-10"`) || !strings.Contains(body, `aria-current="true" id="size-10"`) {
		t.Fatal("the page sizes do not show 10 as the current one")
	}
	for _, bad := range []string{"7", "500", "x"} {
		e.get("/console/events?size="+bad, sc)
		json.Unmarshal(e.api.last("LookupEvents").body, &in)
		if *in.MaxResults != pageSize {
			t.Errorf("size=%s: MaxResults %d", bad, *in.MaxResults)
		}
	}
}

func TestConsoleUnusedParams(t *testing.T) {
	e := newEnv(t)
	sc, _ := e.login(adminKey, adminSecret)
	w := e.get("/console/events?region=us-east-1&attr=Username&value=&range=1h&start=2026-11-26T10:00:00&end=2026-11-26T11:00:00&tz=UTC&size=25", sc)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("a preset with dates: %d", w.Code)
	}
	u, _ := url.Parse(w.Header().Get("Location"))
	if q := u.Query(); q.Has("start") || q.Has("end") || q.Has("value") || q.Has("attr") || q.Has("tz") || q.Get("range") != "1h" || q.Get("size") != "25" {
		t.Fatalf("redirected to %s", u)
	}
	if w := e.get(u.String(), sc); w.Code != 200 {
		t.Fatalf("the clean URL: %d", w.Code)
	}
	if w := e.get("/console/events?range=custom&start=2026-11-26T10:00:00&end=2026-11-26T11:00:00&tz=Asia/Kolkata", sc); w.Code != 200 {
		t.Fatalf("a custom range: %d", w.Code)
	}
}

func TestConsoleValueHint(t *testing.T) {
	for _, c := range []struct{ attr, value, want string }{
		{"ReadOnly", "true", ""},
		{"ReadOnly", "false", ""},
		{"ReadOnly", "True", "true or false"},
		{"ReadOnly", "yes", "true or false"},
		{"EventSource", "s3.amazonaws.com", ""},
		{"EventSource", "s3", "did you mean s3.amazonaws.com?"},
		{"EventSource", "S3.amazonaws.com", "host name"},
		{"EventSource", "amazon s3", "host name"},
		{"EventId", "3f1c2a9e-5b7d-4e0f-8a61-2c9d0b4e7f13", ""},
		{"EventId", "ev-1", "Event IDs look like"},
		{"EventId", strings.Repeat("a", 129), "at most 128"},
		{"AccessKeyId", "AKIAIOSFODNN7EXAMPLE", ""},
		{"AccessKeyId", "akiaiosfodnn7example", "upper-case"},
		{"AccessKeyId", "AKIA1", "16 to 128"},
		{"EventName", "GetObject", ""},
		{"EventName", "s3:GetObject", "such as GetObject"},
		{"EventName", "runinstances", "case and all"},
		{"EventName", "getObject", "did you mean GetObject?"},
		{"EventName", "ConsoleLogin", ""},
		{"EventName", "Ünicode", ""},
		{"Username", "s3:anything", ""},
		{"ResourceName", "arn:aws:s3:::b", ""},
	} {
		got := valueHint(c.attr, c.value)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%s=%q: hint %q, want %q", c.attr, c.value, got, c.want)
		}
	}
}

func TestConsoleTableCells(t *testing.T) {
	e := newEnv(t)
	e.api.events = makeEvents(e.now, 3)
	sc, _ := e.login(adminKey, adminSecret)
	// get is a page for a user who chose Asia/Kolkata.
	get := func(target string) string {
		r := httptest.NewRequest("GET", target, nil)
		r.AddCookie(sc)
		r.AddCookie(&http.Cookie{Name: zoneCookie, Value: "Asia%2FKolkata"})
		return e.do(r).Body.String()
	}
	body := get("/console/events?range=1h")
	// Short resource names, the full ARN on hover.
	if !strings.Contains(body, `<span class="res" title="arn:aws:s3:::b/k0">k0</span>`) {
		t.Fatalf("no short resource name with its ARN:\n%s", body)
	}
	// Times in the chosen zone (12:00 UTC less a minute is 17:29 in Kolkata).
	if !strings.Contains(body, `<time datetime="2026-11-26T11:59:00Z">2026-11-26 17:29:00</time>`) || !strings.Contains(body, "Times are Asia/Kolkata.") {
		t.Fatalf("times not in the chosen zone:\n%s", body)
	}
	// Read-only is a choice; every column is in the table for the chooser.
	if !strings.Contains(body, `<select id="value-bool" name="value" disabled>`) || !strings.Contains(body, `data-cols="user name source rtype rname readonly error"`) ||
		!strings.Contains(body, `<td data-label="Source IP address" data-col="ip">192.0.2.1</td>`) {
		t.Fatalf("form or table:\n%s", body)
	}
	// The record: its time in the zone and in UTC, the full ARN.
	body = get("/console/events/ev-0000?region=us-east-1")
	if !strings.Contains(body, "2026-11-26 17:29:00 Asia/Kolkata") || !strings.Contains(body, "(2026-11-26 11:59:00 UTC)") ||
		!strings.Contains(body, "<code>arn:aws:s3:::b/k0</code>") {
		t.Fatalf("record page:\n%s", body)
	}
}

// The chart's bar and zoom-out links write their custom range in the zone
// the page shows, and name it, so that the page they open reads the same
// window back also when the zone came from the remembered choice (cookie)
// and not from the URL.
func TestConsoleChartLinksKeepZone(t *testing.T) {
	e := newEnv(t)
	parse := func(q string) filter {
		r := httptest.NewRequest("GET", "/console/events?"+q, nil)
		r.AddCookie(&http.Cookie{Name: zoneCookie, Value: url.QueryEscape("Asia/Kolkata")})
		f, p := e.c.parseFilter(r, "us-east-1")
		if p != "" {
			t.Fatalf("parseFilter(%s): %s", q, p)
		}
		return f
	}
	f := parse("range=24h&at=1795000000")
	if f.Loc.String() != "Asia/Kolkata" {
		t.Fatalf("zone %v", f.Loc)
	}
	start, end := f.Start.Add(90*time.Minute), f.Start.Add(3*time.Hour)
	link := customRange(f, start, end)
	back := parse(link.Encode())
	if !back.Start.Equal(start) || !back.End.Equal(end) {
		t.Errorf("customRange %v read back as %s – %s, want %s – %s", link, back.Start, back.End, start, end)
	}
	u, err := url.Parse(zoomOut(f, f.End))
	if err != nil {
		t.Fatal(err)
	}
	zoomed := parse(u.RawQuery)
	if want := f.End.Add(-3 * 24 * time.Hour); !zoomed.Start.Equal(want) || !zoomed.End.Equal(f.End) {
		t.Errorf("zoom out %s read back as %s – %s, want %s – %s", u, zoomed.Start, zoomed.End, want, f.End)
	}
}
