package e2e

// The event history's filter form and table through headless Chromium:
// columns the user chooses (kept across a reload), page sizes, short
// resource names with the full ARN on hover and in the record, Read-only's
// true/false choice, suggestions of values seen, hints for values that
// cannot match, times in the browser's zone, short ranges, a range that
// starts after it ends, and preset URLs without dates.

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// tableZone is the browser's zone in these tests: no daylight saving time,
// and half an hour off, so a time shown in UTC or off by whole hours shows.
const tableZone = "Asia/Kolkata"

// tableSeed stores tess's 30 events, the newest 3 minutes ago and then one
// every 7 minutes (none read-only), each on an S3 object.
func tableSeed(t *testing.T, srv *Server, now time.Time) {
	t.Helper()
	var recs []map[string]any
	for i := 0; i < 30; i++ {
		recs = append(recs, Record("PutObject", "s3.amazonaws.com", "us-east-1", now.Add(-time.Duration(3+7*i)*time.Minute),
			map[string]any{"userIdentity": conIdentity("tess"), "readOnly": false,
				"resources": []map[string]any{{"ARN": fmt.Sprintf("arn:aws:s3:::tess-bucket/reports/2026/file-%02d.csv", i), "type": "AWS::S3::Object"}}}))
	}
	if res := srv.Ingest(t, AdminKey, AdminSecret, recs...); res.Accepted != len(recs) {
		t.Fatalf("ingest: %+v", res)
	}
}

// tableShots is where this test's screenshots go (CAIRN_TABLE_SHOTS, else a
// temporary directory).
func tableShots(t *testing.T) string {
	if d := os.Getenv("CAIRN_TABLE_SHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// tableRows are the table's rows: each cell's text by its column (the
// time as shown and its datetime attribute under "time" and "utc").
var tableRows = chromedp.Evaluate[[]map[string]string](`[...document.querySelectorAll("#events tbody tr")].map(tr => {
  const r = {time: tr.querySelector("time").textContent, utc: tr.querySelector("time").getAttribute("datetime")};
  tr.querySelectorAll("td[data-col]").forEach(td => { r[td.dataset.col] = td.textContent.trim(); });
  return r;
})`)

// tableSubmit sets the filter form's fields by script (firing their change
// events, as a user's choice does; a field the page lacks is left out) and
// presses Apply.
func tableSubmit(fields map[string]string) chromedp.Action[chromedp.Void] {
	js := ""
	for _, id := range []string{"attr", "range", "tz", "value", "value-bool", "start", "end"} {
		if v, ok := fields[id]; ok {
			js += fmt.Sprintf(`{const el = document.getElementById(%q); if (el) { el.value = %q; el.dispatchEvent(new Event("change", {bubbles: true})); }}`, id, v)
		}
	}
	return chromedp.Steps(tableEval(js), chromedp.Click(chromedp.ID("apply")))
}

// tableEval runs a script for its effect.
func tableEval(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](js+";true")(ctx, t)
		return err
	})
}

func TestConsoleEventsTable(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	now := time.Now().UTC().Truncate(time.Second)
	tableSeed(t, srv, now)
	ctx, problems := conBrowser(t)
	shots := tableShots(t)
	zone, err := time.LoadLocation(tableZone)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: tableZone}); err != nil {
		t.Fatalf("emulating the zone: %v", err)
	}
	conSignIn(t, ctx, srv, AdminKey, AdminSecret)
	wall := func(t time.Time) string { return t.In(zone).Format("2006-01-02T15:04:05") }
	// Each part is a subtest (one failing does not hide the others); cur
	// is the running one, for the helpers.
	cur := t
	part := func(name string, f func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			cur = t
			defer func() { cur = nil }()
			f(t)
		})
	}
	loc := func() *url.URL {
		u, err := url.Parse(conGet(cur, ctx, "location", chromedp.Location()))
		if err != nil {
			cur.Fatal(err)
		}
		return u
	}
	text := func(id string) string { return conGet(cur, ctx, id, chromedp.Text(chromedp.ID(id))) }
	// The browser's name of its zone (Chromium's is ICU's: Asia/Calcutta).
	browserZone := conGet(t, ctx, "zone", chromedp.Evaluate[string](`Intl.DateTimeFormat().resolvedOptions().timeZone`))
	visible := func(sel string) bool {
		return conGet(cur, ctx, "visible "+sel, chromedp.Evaluate[bool](`(() => { const e = document.querySelector(`+fmt.Sprintf("%q", sel)+`); return !!e && e.getClientRects().length > 0; })()`))
	}

	part("preset URL", func(t *testing.T) {
		// A preset search puts no dates in its URL (nor an empty value).
		conRun(t, ctx, "preset search", tableSubmit(map[string]string{"attr": "Username", "value": "tess", "range": "1h"}),
			conWaitURL("range=1h"), chromedp.WaitVisible(chromedp.ID("events")))
		if q := loc().Query(); q.Has("start") || q.Has("end") || q.Has("tz") || q.Get("value") != "tess" {
			t.Errorf("preset URL %s: want no start, end or tz", loc())
		}
		conRun(t, ctx, "preset search without a value", tableSubmit(map[string]string{"value": "", "range": "7d"}),
			conWaitURL("range=7d"), chromedp.WaitVisible(chromedp.ID("page-info")))
		if q := loc().Query(); q.Has("start") || q.Has("end") || q.Has("value") || q.Has("attr") {
			t.Errorf("preset URL without a value %s: want only what the search uses", loc())
		}
	})
	part("page size", func(t *testing.T) {
		// Page size 10: ten rows, and the next page keeps the size.
		conRun(t, ctx, "tess's events", chromedp.Navigate(srv.URL+"/console/events?attr=Username&value=tess&range=24h"),
			chromedp.WaitVisible(chromedp.ID("events")))
		conRun(t, ctx, "page size 10", chromedp.Click(chromedp.ID("size-10")), conWaitURL("size=10"), chromedp.WaitVisible(chromedp.ID("events")))
		if rows := conGet(t, ctx, "rows", tableRows); len(rows) != 10 {
			t.Fatalf("page size 10 shows %d rows", len(rows))
		}
		next := conGet(t, ctx, "next link", chromedp.AttributeValue(chromedp.ID("next-page"), "href")).Value
		if !strings.Contains(next, "size=10") {
			t.Fatalf("next page link %s loses the page size", next)
		}
		conRun(t, ctx, "next page", chromedp.Click(chromedp.ID("next-page")), conWaitURL("page=2"), chromedp.WaitVisible(chromedp.ID("events")))
		rows := conGet(t, ctx, "rows", tableRows)
		if len(rows) != 10 || loc().Query().Get("size") != "10" {
			t.Fatalf("page 2 at %s shows %d rows, want 10", loc(), len(rows))
		}
	})
	part("short names", func(t *testing.T) {
		// Short resource names, the full ARN on hover and in the record.
		conRun(t, ctx, "tess's events", chromedp.Navigate(srv.URL+"/console/events?attr=Username&value=tess&range=24h&size=10"),
			chromedp.WaitVisible(chromedp.ID("events")))
		rows := conGet(t, ctx, "rows", tableRows)
		if rows[0]["rname"] != "file-00.csv" {
			t.Errorf("resource name cell %q, want the short name file-00.csv", rows[0]["rname"])
		}
		title := conGet(t, ctx, "ARN title", chromedp.AttributeValue(chromedp.CSS("#events tbody tr:first-child .res"), "title")).Value
		if title != "arn:aws:s3:::tess-bucket/reports/2026/file-00.csv" {
			t.Errorf("resource name's title %q, want the full ARN", title)
		}
		conRun(t, ctx, "a record", chromedp.Click(chromedp.CSS("#events tbody tr:first-child a.event-link")), conWaitURL("/console/events/"),
			chromedp.WaitVisible(chromedp.ID("record-resources")))
		if r := text("record-resources"); !strings.Contains(r, "arn:aws:s3:::tess-bucket/reports/2026/file-00.csv") || !strings.Contains(r, "AWS::S3::Object") {
			t.Errorf("record's resources %q, want the full ARN and its type", r)
		}
	})
	part("read-only choice", func(t *testing.T) {
		// Read-only is a true/false choice.
		conRun(t, ctx, "events", chromedp.Navigate(srv.URL+"/console/events?range=24h"), chromedp.WaitVisible(chromedp.ID("attr")))
		conRun(t, ctx, "choose Read-only", tableEval(`{const a = document.getElementById("attr"); a.value = "ReadOnly"; a.dispatchEvent(new Event("change"));}`))
		if visible("#value") || !visible("#value-bool") {
			t.Fatal("Read-only offers free text, not a true/false choice")
		}
		if opts := conGet(t, ctx, "choices", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#value-bool option")].map(o => o.value)`)); !slices.Equal(opts, []string{"true", "false"}) {
			t.Fatalf("Read-only's choices %v", opts)
		}
		conRun(t, ctx, "Read-only false", tableSubmit(map[string]string{"value-bool": "false"}), conWaitURL("value=false"), chromedp.WaitVisible(chromedp.ID("events")))
		rows := conGet(t, ctx, "rows", tableRows)
		if len(rows) == 0 || slices.ContainsFunc(rows, func(r map[string]string) bool { return r["readonly"] != "false" }) {
			t.Fatalf("Read-only false shows %v", rows)
		}
		if !visible("#value-bool") || conGet(t, ctx, "choice", chromedp.Value(chromedp.ID("value-bool"))) != "false" {
			t.Error("after the search the choice is not shown as false")
		}
	})
	part("suggestions", func(t *testing.T) {
		// Suggestions: each attribute's datalist holds the values shown, with
		// no call to the server (the page's only requests are its own).
		conRun(t, ctx, "tess's events", chromedp.Navigate(srv.URL+"/console/events?attr=Username&value=tess&range=24h"),
			chromedp.WaitVisible(chromedp.ID("events")))
		conRun(t, ctx, "another page", chromedp.Navigate(srv.URL+"/console/events?range=24h"), chromedp.WaitVisible(chromedp.ID("events")))
		seen := func(attr string) []string {
			return conGet(t, ctx, "datalist", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#seen-`+attr+` option")].map(o => o.value)`))
		}
		if users := seen("Username"); !slices.Contains(users, "tess") || !slices.Contains(users, "alice") {
			t.Errorf("user name suggestions %v, want tess (seen before) and alice", users)
		}
		if srcs := seen("EventSource"); !slices.Contains(srcs, "s3.amazonaws.com") {
			t.Errorf("event source suggestions %v", srcs)
		}
		if names := seen("ResourceName"); !slices.Contains(names, "file-00.csv") || !slices.Contains(names, "arn:aws:s3:::tess-bucket/reports/2026/file-00.csv") {
			t.Errorf("resource name suggestions %v", names)
		}
		if list := conGet(t, ctx, "list", chromedp.AttributeValue(chromedp.ID("value"), "list")).Value; list != "seen-Username" {
			t.Errorf("the value's list is %q", list)
		}
		if n := conGet(t, ctx, "requests", chromedp.Evaluate[int](`performance.getEntriesByType("resource").filter(e => e.initiatorType === "fetch" || e.initiatorType === "xmlhttprequest").length`)); n != 0 {
			t.Errorf("suggestions made %d requests", n)
		}
	})
	part("hints", func(t *testing.T) {
		// Hints next to the field for values that cannot match.
		for _, c := range []struct{ attr, value, field, want string }{
			{"ReadOnly", "yes", "value-bool", "true or false"},
			{"EventSource", "s3", "value", "s3.amazonaws.com"},
			{"EventId", "not-an-id", "value", "Event IDs look like"},
			{"AccessKeyId", "akia-lower", "value", "upper-case letters and digits"},
			{"EventName", "s3:PutObject", "value", "such as PutObject"},
		} {
			conRun(t, ctx, "hint "+c.attr, chromedp.Navigate(srv.URL+"/console/events?"+url.Values{"attr": {c.attr}, "value": {c.value}, "range": {"1h"}}.Encode()),
				chromedp.WaitVisible(chromedp.ID("value-hint")))
			if h := text("value-hint"); !strings.Contains(h, c.want) {
				t.Errorf("%s=%s: hint %q, want %q", c.attr, c.value, h, c.want)
			}
			next := conGet(t, ctx, "placement", chromedp.Evaluate[bool](`document.getElementById("value-hint").closest(".field").contains(document.getElementById(`+fmt.Sprintf("%q", c.field)+`))`))
			if !next || !visible("#"+c.field) {
				t.Errorf("%s: the hint is not next to the visible field %s", c.attr, c.field)
			}
		}
		conRun(t, ctx, "no hint", chromedp.Navigate(srv.URL+"/console/events?attr=EventSource&value=s3.amazonaws.com&range=1h"), chromedp.WaitVisible(chromedp.ID("value")))
		if visible("#value-hint") {
			t.Error("a hint for s3.amazonaws.com")
		}
	})
	part("zone", func(t *testing.T) {
		// Times in the browser's zone, the user's choice, remembered.
		conRun(t, ctx, "tess's events", chromedp.Navigate(srv.URL+"/console/events?attr=Username&value=tess&range=24h"),
			chromedp.WaitVisible(chromedp.ID("events")))
		// Chromium names the zone as ICU does (Asia/Calcutta for Asia/Kolkata).
		opts := conGet(t, ctx, "zones", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#tz option")].map(o => o.value)`))
		if len(opts) != 2 || opts[0] != "UTC" {
			t.Fatalf("time zone choices %v, want UTC and the browser's", opts)
		}
		if opts[1] != browserZone {
			t.Fatalf("the local choice is %q, the browser's zone %q", opts[1], browserZone)
		}
		if z, err := time.LoadLocation(browserZone); err != nil || z.String() == "UTC" {
			t.Fatalf("the browser's zone %q: %v", browserZone, err)
		} else if _, off := now.In(z).Zone(); off != 5*3600+1800 {
			t.Fatalf("the browser's zone %q is not %s", browserZone, tableZone)
		}
		checkTimes := func(what string, want *time.Location) {
			t.Helper()
			rows := conGet(t, ctx, "rows", tableRows)
			if len(rows) == 0 {
				t.Fatalf("%s: no rows", what)
			}
			for _, r := range rows {
				at, err := time.Parse(time.RFC3339, r["utc"])
				if err != nil {
					t.Fatalf("%s: datetime %q: %v", what, r["utc"], err)
				}
				if got := at.In(want).Format("2006-01-02 15:04:05"); r["time"] != got {
					t.Fatalf("%s: a row shows %s for %s, want %s (%s)", what, r["time"], r["utc"], got, want)
				}
			}
		}
		checkTimes("UTC", time.UTC)
		conRun(t, ctx, "choose the local zone", tableSubmit(map[string]string{"tz": browserZone, "range": "15m"}), conWaitURL("range=15m"),
			chromedp.WaitVisible(chromedp.ID("events")))
		if q := loc().Query(); q.Has("tz") || q.Has("start") {
			t.Errorf("a preset's URL %s carries a zone or dates", loc())
		}
		// Last 15 minutes: tess's events 3 and 10 minutes ago.
		if rows := conGet(t, ctx, "rows", tableRows); len(rows) != 2 {
			t.Fatalf("last 15 minutes: %d rows, want 2", len(rows))
		}
		checkTimes("the local zone", zone)
		conRun(t, ctx, "30 minutes, reloaded", chromedp.Navigate(srv.URL+"/console/events?attr=Username&value=tess&range=30m"), chromedp.WaitVisible(chromedp.ID("events")))
		if rows := conGet(t, ctx, "rows", tableRows); len(rows) != 4 {
			t.Fatalf("last 30 minutes: %d rows, want 4", len(rows))
		}
		checkTimes("the remembered zone", zone)
		if th := conGet(t, ctx, "header", chromedp.Text(chromedp.CSS("#events th"))); !strings.Contains(th, browserZone) {
			t.Errorf("time column header %q does not name the zone", th)
		}
		first := conGet(t, ctx, "rows", tableRows)[0]
		conRun(t, ctx, "the record", chromedp.Click(chromedp.CSS("#events tbody tr:first-child a.event-link")), conWaitURL("/console/events/"),
			chromedp.WaitVisible(chromedp.ID("record-time")), conShot(shots, "table-record-1366.png"))
		if rt := text("record-time"); !strings.Contains(rt, first["time"]+" "+browserZone) || !strings.Contains(rt, "UTC") {
			t.Errorf("record time %q, want %s %s and the UTC time", rt, first["time"], browserZone)
		}
	})
	part("custom minutes", func(t *testing.T) {
		// A custom range of minutes, typed in the local zone: tess's event 24
		// minutes ago only.
		from, to := wall(now.Add(-27*time.Minute)), wall(now.Add(-20*time.Minute))
		conRun(t, ctx, "events", chromedp.Navigate(srv.URL+"/console/events?attr=Username&value=tess&range=24h"), chromedp.WaitVisible(chromedp.ID("events")))
		conRun(t, ctx, "custom minutes", tableSubmit(map[string]string{"range": "custom", "tz": browserZone, "start": from, "end": to}), conWaitURL("range=custom"),
			chromedp.WaitVisible(chromedp.ID("page-info")))
		rows := conGet(t, ctx, "rows", tableRows)
		if len(rows) != 1 || rows[0]["utc"] != now.Add(-24*time.Minute).Format(time.RFC3339) {
			t.Fatalf("custom range %s to %s (%s): rows %v, want tess's event 24 minutes ago", from, to, tableZone, rows)
		}
		if q := loc().Query(); q.Get("tz") != browserZone || q.Get("start") != from {
			t.Errorf("custom range URL %s: want its start in the zone it names", loc())
		}
		if v := conGet(t, ctx, "start", chromedp.Value(chromedp.ID("start"))); v != from {
			t.Errorf("the start input shows %q, want %q", v, from)
		}
	})
	part("start after end", func(t *testing.T) {
		// A range that starts after it ends: an error next to the range, the
		// input as typed, and no events.
		late, early := wall(now.Add(-10*time.Minute)), wall(now.Add(-2*time.Hour))
		conRun(t, ctx, "start after end", tableSubmit(map[string]string{"range": "custom", "tz": browserZone, "start": late, "end": early}), conWaitURL("start="),
			chromedp.WaitVisible(chromedp.ID("range-error")))
		if e := text("range-error"); !strings.Contains(e, "starts after it ends") {
			t.Errorf("range error %q", e)
		}
		if s, e := conGet(t, ctx, "start", chromedp.Value(chromedp.ID("start"))), conGet(t, ctx, "end", chromedp.Value(chromedp.ID("end"))); s != late || e != early {
			t.Errorf("the inputs show %q and %q, want what was typed: %q and %q", s, e, late, early)
		}
		if n := conGet(t, ctx, "rows", chromedp.Evaluate[int](`document.querySelectorAll("#events tbody tr").length`)); n != 0 {
			t.Errorf("a range that starts after it ends shows %d events", n)
		}
		if !conGet(t, ctx, "placement", chromedp.Evaluate[bool](`(() => { const e = document.getElementById("range-error"), s = document.getElementById("start");
	  return e.closest("form") === s.closest("form") && !!(s.getAttribute("aria-describedby") || "").match(/range-error/) &&
	    Math.abs(e.getBoundingClientRect().top - s.getBoundingClientRect().bottom) < 120; })()`)) {
			t.Error("the range error is not next to the range")
		}
	})
	part("columns", func(t *testing.T) {
		// The columns the user chooses survive a reload.
		conRun(t, ctx, "tess's events", chromedp.Navigate(srv.URL+"/console/events?attr=Username&value=tess&range=24h"),
			chromedp.WaitVisible(chromedp.ID("events")))
		if visible("#events [data-col=ip]") || !visible("#events [data-col=source]") {
			t.Fatal("the default columns do not show")
		}
		conRun(t, ctx, "choose columns", chromedp.Click(chromedp.CSS("#columns summary")),
			chromedp.Click(chromedp.CSS(`#columns input[value=source]`)), chromedp.Click(chromedp.CSS(`#columns input[value=ip]`)))
		if visible("#events [data-col=source]") || !visible("#events [data-col=ip]") {
			t.Fatal("choosing columns changes nothing")
		}
		conRun(t, ctx, "shot", conShot(shots, "table-columns-1280.png"))
		conRun(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("events")))
		if visible("#events [data-col=source]") || !visible("#events [data-col=ip]") {
			t.Error("the chosen columns are lost on reload")
		}
		if !conGet(t, ctx, "boxes", chromedp.Evaluate[bool](`!document.querySelector("#columns input[value=source]").checked && document.querySelector("#columns input[value=ip]").checked`)) {
			t.Error("the column chooser does not show the remembered choice")
		}
	})
	part("screenshots", func(t *testing.T) {
		// Screenshots: desktop and phone, with a hint and a range error.
		conRun(t, ctx, "desktop", chromedp.EmulateViewport(1280, 900),
			chromedp.Navigate(srv.URL+"/console/events?attr=EventSource&value=s3&range=custom&start=2026-12-01T10:00:00&end=2026-12-01T09:00:00"),
			chromedp.WaitVisible(chromedp.ID("range-error")), conShot(shots, "table-errors-1280.png"),
			chromedp.Navigate(srv.URL+"/console/events?attr=Username&value=tess&range=24h&size=25"),
			chromedp.WaitVisible(chromedp.ID("events")), conShot(shots, "table-1280.png"))
		conRun(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
			chromedp.Navigate(srv.URL+"/console/events?attr=Username&value=tess&range=24h&size=10"),
			chromedp.WaitVisible(chromedp.ID("events")), conShot(shots, "table-390.png"),
			chromedp.ScrollIntoView(chromedp.ID("page-info")), conShot(shots, "table-rows-390.png"),
			chromedp.Click(chromedp.CSS("#columns summary")), conShot(shots, "table-columns-390.png"))
		if conGet(t, ctx, "width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)) {
			t.Error("the event history is wider than a phone's screen")
		}
		conRun(t, ctx, "phone errors",
			chromedp.Navigate(srv.URL+"/console/events?attr=ReadOnly&value=yes&range=custom&start=2026-12-01T10:00:00&end=2026-12-01T09:00:00"),
			chromedp.WaitVisible(chromedp.ID("range-error")), conShot(shots, "table-errors-390.png"))
		if conGet(t, ctx, "width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)) {
			t.Error("the event history with errors is wider than a phone's screen")
		}
	})
	if p := problems(); len(p) > 0 {
		t.Fatalf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}
