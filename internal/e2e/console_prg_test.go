package e2e

// Every console form is answered with a redirect, refused ones too: the
// browser shows the form's own page (a GET) with the error next to the
// field and what was typed, and reloading it sends nothing again (no
// "Confirm form resubmission", no second record of the call).

import (
	"context"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// ctDocs records the document requests of a tab (each page it loads, and
// each form it sends), as the browser sends them.
type ctDocs struct {
	mu   sync.Mutex
	reqs []ctDocReq
}

// ctDocReq is one document request.
type ctDocReq struct{ Method, URL string }

// ctWatchDocs starts recording the document requests of the tab of ctx.
func ctWatchDocs(t *testing.T, ctx context.Context) *ctDocs {
	t.Helper()
	d := &ctDocs{}
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Type == network.ResourceTypeDocument && e.Request != nil {
			d.mu.Lock()
			d.reqs = append(d.reqs, ctDocReq{e.Request.Method, e.Request.URL})
			d.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// mark is where the requests from now on start.
func (d *ctDocs) mark() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.reqs)
}

// since are the requests after mark.
func (d *ctDocs) since(mark int) []ctDocReq {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.reqs[mark:])
}

// ctPath is the path of a URL.
func ctPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Path
}

// ctOps counts the records of each of ops.
func ctOps(t *testing.T, sdk *cloudtrail.Client, ops []string) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, op := range ops {
		n[op] = ctCount(t, sdk, op)
	}
	return n
}

// prgForm is one form sent from a console page and refused.
type prgForm struct {
	what   string
	fill   []chromedp.Action[chromedp.Void] // on the page as it is
	submit string                           // the button that sends it
	action string                           // the form's action (path)
	page   string                           // the path of the page that shows the answer
	// shown is an element of the answer (an error, or the review), and
	// check checks the rest of it.
	shown string
	check func()
	// ops are the operations the form calls (whose records a resent form
	// would add).
	ops []string
	// again is whether the answer shows again on reloading (a create
	// step); a refusal shows once.
	again bool
}

func TestConsoleRefusedFormsRedirect(t *testing.T) {
	srv := Start(t, Options{Config: dlConfig(cwlGroups("prg-group=file://" + filepath.Join(t.TempDir(), "cwl.ndjson")))})
	dlMkBucket(t, srv, "prg-logs")
	sdk := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	arn := dlTrail(t, sdk, "prg-trail", "prg-logs", nil)
	ctx, problems := conBrowser(t)
	conSignIn(t, ctx, srv, AdminKey, AdminSecret)
	docs := ctWatchDocs(t, ctx)
	text := func(id string) string { return conGet(t, ctx, id, chromedp.Text(chromedp.ID(id))) }
	trailPage := srv.URL + "/console/trail?region=us-east-1&arn=" + url.QueryEscape(arn)
	says := func(id string, want ...string) func() {
		return func() {
			t.Helper()
			msg := text(id)
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("%s says %q, want %q in it", id, msg, w)
				}
			}
		}
	}
	both := func(fs ...func()) func() {
		return func() {
			for _, f := range fs {
				f()
			}
		}
	}
	fieldErr := func(errID, fieldID, inputID, typed string) func() {
		return func() { ctFieldErr(t, ctx, errID, fieldID, inputID, typed) }
	}
	checked := func(id string, want bool) func() {
		return func() {
			if got := conGet(t, ctx, id, ctChecked(id)); got != want {
				t.Errorf("%s is checked %v, want %v", id, got, want)
			}
		}
	}
	settings := "#settings-form button[type=submit]"

	run := func(f prgForm) {
		t.Helper()
		// Send the form: one POST, answered by a redirect to the page,
		// which the browser then GETs.
		m := docs.mark()
		conRun(t, ctx, f.what, append(append([]chromedp.Action[chromedp.Void]{}, f.fill...), conSubmit(f.submit), chromedp.WaitVisible(chromedp.ID(f.shown)))...)
		sent := docs.since(m)
		if len(sent) < 2 || sent[0].Method != "POST" || ctPath(sent[0].URL) != f.action ||
			sent[len(sent)-1].Method != "GET" || ctPath(sent[len(sent)-1].URL) != f.page {
			t.Errorf("%s: the browser sent %v; want a POST to %s answered by a redirect to (a GET of) %s", f.what, sent, f.action, f.page)
		}
		if loc := conGet(t, ctx, "location", chromedp.Location()); ctPath(loc) != f.page {
			t.Errorf("%s: the answer is at %s, want the page %s", f.what, loc, f.page)
		}
		f.check()
		// Reload: a GET of the page; no form is sent again.
		before := ctOps(t, sdk, f.ops)
		m = docs.mark()
		conRun(t, ctx, f.what+": reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main h1")))
		for _, r := range docs.since(m) {
			if r.Method != "GET" || ctPath(r.URL) != f.page {
				t.Errorf("%s: reloading sent %s %s", f.what, r.Method, r.URL)
			}
		}
		if after := ctOps(t, sdk, f.ops); !maps.Equal(before, after) {
			t.Errorf("%s: records before reloading %v, after %v", f.what, before, after)
		}
		if n := conGet(t, ctx, "answer after reload", chromedp.Evaluate[int](`document.querySelectorAll("#`+f.shown+`").length`)); (n > 0) != f.again {
			t.Errorf("%s: after reloading, #%s is shown %d times", f.what, f.shown, n)
		}
	}

	// The trail page's forms.
	conRun(t, ctx, "trail page", chromedp.Navigate(trailPage), chromedp.WaitVisible(chromedp.ID("settings-form")))
	for _, f := range []prgForm{
		{what: "bad bucket name", fill: []chromedp.Action[chromedp.Void]{ctSet("#bucket", "Bad_Bucket!")}, submit: settings,
			action: "/console/trail/update", shown: "bucket-error", ops: []string{"UpdateTrail"},
			check: both(fieldErr("bucket-error", "field-bucket", "bucket", "Bad_Bucket!"), says("bucket-error", "InvalidS3BucketNameException"))},
		{what: "unknown KMS key", fill: []chromedp.Action[chromedp.Void]{ctSet("#kms", "alias/not-configured")}, submit: settings,
			action: "/console/trail/update", shown: "kms-error", ops: []string{"UpdateTrail"},
			check: both(fieldErr("kms-error", "field-kms", "kms", "alias/not-configured"), says("kms-error", "KmsKeyNotFoundException"))},
		{what: "unknown log group", fill: []chromedp.Action[chromedp.Void]{ctSet("#log_group", cwlGroupARN("nope")+":*"), ctSet("#log_role", cwlRole)},
			submit: settings, action: "/console/trail/update", shown: "log_group-error", ops: []string{"UpdateTrail"},
			check: both(fieldErr("log_group-error", "field-log_group", "log_group", cwlGroupARN("nope")+":*"), fieldErr("log_group-error", "field-log_group", "log_role", cwlRole),
				says("log_group-error", "InvalidCloudWatchLogsLogGroupArnException"))},
		{what: "refused basic selector", fill: []chromedp.Action[chromedp.Void]{ctSet("#s3", "arn:aws:s3:::<script>")}, submit: "#save-basic",
			action: "/console/trail/selectors", shown: "basic-error", ops: []string{"PutEventSelectors"},
			check: both(fieldErr("basic-error", "field-basic", "s3", "arn:aws:s3:::<script>"), says("basic-error", "InvalidEventSelectorsException"))},
		{what: "selectors that are not JSON", fill: []chromedp.Action[chromedp.Void]{ctSet("#advanced", "[{")}, submit: "#save-advanced",
			action: "/console/trail/advanced", shown: "advanced-error", ops: []string{"PutEventSelectors"},
			check: both(fieldErr("advanced-error", "field-advanced", "advanced", "[{"), says("advanced-error", "not valid JSON"))},
		{what: "refused advanced selectors", fill: []chromedp.Action[chromedp.Void]{ctSet("#advanced", `[{"Name":"x","FieldSelectors":[{"Field":"readOnly","StartsWith":["t"]}]}]`)},
			submit: "#save-advanced", action: "/console/trail/advanced", shown: "advanced-error", ops: []string{"PutEventSelectors"},
			check: both(fieldErr("advanced-error", "field-advanced", "advanced", `[{"Name":"x","FieldSelectors":[{"Field":"readOnly","StartsWith":["t"]}]}]`),
				says("advanced-error", "InvalidEventSelectorsException"))},
	} {
		f.page = "/console/trail"
		run(f)
	}
	// Insights on the API call rate need write management events: log
	// reads only, then ask for them.
	conRun(t, ctx, "read-only selector", ctSet("#read_write", "ReadOnly"), conSubmit("#save-basic"), chromedp.WaitVisible(chromedp.ID("selectors-saved")))
	for _, f := range []prgForm{
		{what: "refused Insights", fill: []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.ID("insight_call_rate"))}, submit: "#save-insights",
			action: "/console/trail/insights", shown: "insights-error", ops: []string{"PutInsightSelectors"},
			check: both(checked("insight_call_rate", true), says("insights-error", "InvalidInsightSelectorsException"))},
		{what: "refused tag", fill: []chromedp.Action[chromedp.Void]{ctSet("#tag-key", "aws:mine"), ctSet("#tag-value", "v")}, submit: "#tags form.row-form button[type=submit]",
			action: "/console/trail/tag-add", shown: "tags-error", ops: []string{"AddTags"},
			check: both(fieldErr("tags-error", "field-tag-key", "tag-key", "aws:mine"), says("tags-error", "InvalidTagParameterException"))},
		{what: "wrong delete confirmation", fill: []chromedp.Action[chromedp.Void]{ctSet("#confirm", "prg-trial")}, submit: "#delete button[type=submit]",
			action: "/console/trail/delete", shown: "delete-error", ops: []string{"DeleteTrail"},
			check: both(fieldErr("delete-error", "field-confirm", "confirm", "prg-trial"), says("delete-error", "not the trail's name", "prg-trail"))},
	} {
		f.page = "/console/trail"
		run(f)
	}

	// The create flow: each step is a redirect too.
	conRun(t, ctx, "create form", chromedp.Navigate(srv.URL+"/console/trails/new"), chromedp.WaitVisible(chromedp.ID("create-form")))
	for _, f := range []prgForm{
		{what: "tags without =", fill: []chromedp.Action[chromedp.Void]{ctSet("#name", "prg-new"), ctSet("#bucket", "prg-logs"), ctSet("#tags", "team=audit\nnot-a-tag")},
			submit: "#review-trail", shown: "tags-error",
			check: both(fieldErr("tags-error", "field-tags", "tags", "team=audit\nnot-a-tag"), fieldErr("tags-error", "field-tags", "name", "prg-new"))},
		{what: "bad name at review", fill: []chromedp.Action[chromedp.Void]{ctSet("#name", "bad name!"), ctSet("#bucket", "prg-logs")},
			submit: "#review-trail", shown: "name-error",
			check: both(fieldErr("name-error", "field-name", "name", "bad name!"), says("name-error", "InvalidTrailNameException"))},
		// The review stays on reloading, and so does the form after
		// "Back to edit": neither was a change.
		{what: "review", fill: []chromedp.Action[chromedp.Void]{ctSet("#name", "prg-new"), ctSet("#bucket", "no-such-bucket-prg"), chromedp.Click(chromedp.ID("insight_error_rate"))},
			submit: "#review-trail", shown: "confirm-create", again: true,
			check: says("review-form", "prg-new", "no-such-bucket-prg", "ApiErrorRateInsight")},
		{what: "back to edit", submit: "#back-to-edit", shown: "create-form", again: true,
			check: both(func() {
				if v := conGet(t, ctx, "name", ctValue("name")); v != "prg-new" {
					t.Errorf("after Back to edit the name is %q", v)
				}
			}, checked("insight_error_rate", true))},
		{what: "to the review again", submit: "#review-trail", shown: "confirm-create", again: true, check: func() {}},
		// CloudTrail refuses the bucket: the error next to it, once.
		{what: "refused create", submit: "#confirm-create", shown: "bucket-error", ops: []string{"CreateTrail"},
			check: both(fieldErr("bucket-error", "field-bucket", "bucket", "no-such-bucket-prg"), says("bucket-error", "S3BucketDoesNotExistException"))},
	} {
		f.action, f.page = "/console/trails/new", "/console/trails/new"
		run(f)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// TestConsoleTrailTimesInChosenZone: the zone chosen for event history
// (the browser's, here Asia/Kolkata) is the zone of the trail pages' times
// too, and UTC again once UTC is chosen.
func TestConsoleTrailTimesInChosenZone(t *testing.T) {
	srv := Start(t, Options{Config: dlConfig()})
	dlMkBucket(t, srv, "zone-logs")
	sdk := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	arn := dlTrail(t, sdk, "zone-trail", "zone-logs", nil)
	st, err := sdk.GetTrailStatus(context.Background(), &cloudtrail.GetTrailStatusInput{Name: &arn})
	if err != nil || st.StartLoggingTime == nil {
		t.Fatalf("GetTrailStatus: %+v, %v", st, err)
	}
	started := st.StartLoggingTime.Truncate(time.Second)
	ctx, problems := conBrowser(t)
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: tableZone}); err != nil {
		t.Fatalf("emulating the zone: %v", err)
	}
	conSignIn(t, ctx, srv, AdminKey, AdminSecret)
	browserZone := conGet(t, ctx, "zone", chromedp.Evaluate[string](`Intl.DateTimeFormat().resolvedOptions().timeZone`))
	zone, err := time.LoadLocation(browserZone)
	if err != nil || zone.String() == "UTC" {
		t.Fatalf("the browser's zone %q: %v", browserZone, err)
	}
	trailPage := srv.URL + "/console/trail?region=us-east-1&arn=" + url.QueryEscape(arn)
	check := func(what string, want *time.Location, stamp string) {
		t.Helper()
		conRun(t, ctx, what, chromedp.Navigate(trailPage), chromedp.WaitVisible(chromedp.ID("logging-started")))
		got := conGet(t, ctx, "started", chromedp.Text(chromedp.ID("logging-started")))
		if w := started.In(want).Format(stamp); got != w {
			t.Errorf("%s: logging started %q, want %q", what, got, w)
		}
		if foot := conGet(t, ctx, "footer", chromedp.Text(chromedp.CSS("footer"))); !strings.Contains(foot, "Times are "+want.String()+".") {
			t.Errorf("%s: the footer says %q", what, foot)
		}
	}
	check("UTC by default", time.UTC, "2006-01-02 15:04:05")
	// Choose the browser's zone in event history: the trail page follows.
	conRun(t, ctx, "events", chromedp.Navigate(srv.URL+"/console/events?range=1h"), chromedp.WaitVisible(chromedp.ID("tz")))
	conRun(t, ctx, "choose the local zone", tableSubmit(map[string]string{"tz": browserZone, "range": "15m"}), conWaitURL("range=15m"),
		chromedp.WaitVisible(chromedp.ID("events")))
	check("the chosen zone", zone, "2006-01-02 15:04:05 MST")
	conRun(t, ctx, "trails", chromedp.Navigate(srv.URL+"/console/trails"), chromedp.WaitVisible(chromedp.ID("trails")))
	if foot := conGet(t, ctx, "footer", chromedp.Text(chromedp.CSS("footer"))); !strings.Contains(foot, "Times are "+browserZone+".") {
		t.Errorf("the trails page's footer says %q", foot)
	}
	// And back to UTC.
	conRun(t, ctx, "events", chromedp.Navigate(srv.URL+"/console/events?range=1h"), chromedp.WaitVisible(chromedp.ID("tz")))
	conRun(t, ctx, "choose UTC", tableSubmit(map[string]string{"tz": "UTC", "range": "30m"}), conWaitURL("range=30m"),
		chromedp.WaitVisible(chromedp.ID("events")))
	check("UTC chosen", time.UTC, "2006-01-02 15:04:05")
	if p := problems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}
