package e2e

// The console's trail forms in headless Chromium: each error next to the
// field it is about with what was typed kept, success visible after a
// redirect that a reload does not repeat, the create flow with events,
// Insights, a review and logging started, the advanced selector builder
// and its templates, and the CloudWatch Logs log group set and removed.

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/chromedp/chromedp"
)

// ctCount is how many records of operation op event history holds.
func ctCount(t *testing.T, c *cloudtrail.Client, op string) int {
	t.Helper()
	n := 0
	p := cloudtrail.NewLookupEventsPaginator(c, &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String(op)}}})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("LookupEvents %s: %v", op, err)
		}
		n += len(out.Events)
	}
	return n
}

// ctErrNextTo reports whether the element errID (an error or success
// message) is shown inside the container fieldID.
func ctErrNextTo(errID, fieldID string) chromedp.Action[bool] {
	return chromedp.Evaluate[bool](`(() => { const e = document.getElementById(` + jsQ(errID) + `), f = document.getElementById(` + jsQ(fieldID) + `);
		return !!e && !!f && f.contains(e) && e.getClientRects().length > 0 && e.textContent.trim() !== ""; })()`)
}

func jsQ(s string) string { b, _ := json.Marshal(s); return string(b) }

// ctFieldErr checks that the error errID is shown inside the field's
// container fieldID, and that the control inputID still holds typed.
func ctFieldErr(t *testing.T, ctx context.Context, errID, fieldID, inputID, typed string) {
	t.Helper()
	if !conGet(t, ctx, errID+" placement", ctErrNextTo(errID, fieldID)) {
		t.Errorf("%s is not shown inside %s", errID, fieldID)
	}
	if v := conGet(t, ctx, "kept "+inputID, ctValue(inputID)); v != typed {
		t.Errorf("after the error %s holds %q, want what was typed, %q", inputID, v, typed)
	}
}

// ctValue is the value of the form control id.
func ctValue(id string) chromedp.Action[string] {
	return chromedp.Evaluate[string](`document.getElementById(` + jsQ(id) + `).value`)
}

// ctChecked is whether checkbox id is checked.
func ctChecked(id string) chromedp.Action[bool] {
	return chromedp.Evaluate[bool](`document.getElementById(` + jsQ(id) + `).checked`)
}

// ctSet sets a form control's value as typing would, firing input and change.
func ctSet(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		ok, err := chromedp.Evaluate[bool](`(() => { const e = document.querySelector(`+jsQ(sel)+`); if (!e) return false;
			e.value = `+jsQ(value)+`; e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`)(ctx, t)
		if err == nil && !ok {
			err = errorString("no element " + sel)
		}
		return err
	})
}

type errorString string

func (e errorString) Error() string { return string(e) }

// ctShots saves the page at desktop (1280 px) and phone (390 px) widths,
// failing when the page is wider than a phone's screen.
func ctShots(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	conRun(t, ctx, "desktop "+name, chromedp.EmulateViewport(1280, 900), ctFullShot(dir, name+"-1280.png"))
	conRun(t, ctx, "phone "+name, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), ctFullShot(dir, name+"-390.png"))
	if w := conGet(t, ctx, "width", chromedp.Evaluate[int](`Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)`)); w > 391 {
		t.Errorf("%s is %d px wide on a 390 px phone screen", name, w)
	}
	conRun(t, ctx, "back to desktop", chromedp.EmulateViewport(1280, 900))
}

// ctFullShot saves a PNG of the whole page.
func ctFullShot(dir, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		buf, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name), buf, 0o644)
	})
}

// ctDir is where the trail tests' screenshots go: $CAIRN_TRAIL_SHOTS when
// set (to look at them), else a temporary directory.
func ctDir(t *testing.T) string {
	if d := os.Getenv("CAIRN_TRAIL_SHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func TestConsoleTrailCreateFlow(t *testing.T) {
	srv := Start(t, Options{Config: dlConfig()})
	dlMkBucket(t, srv, "forms-logs")
	sdk := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bg := context.Background()
	ctx, problems := conBrowser(t)
	shots := ctDir(t)
	conSignIn(t, ctx, srv, AdminKey, AdminSecret)
	text := func(id string) chromedp.Action[string] { return chromedp.Text(chromedp.ID(id)) }

	// A tags line without "=" is an error next to the tags field, and
	// nothing is created.
	conRun(t, ctx, "create form",
		chromedp.Navigate(srv.URL+"/console/trails/new"),
		chromedp.WaitVisible(chromedp.ID("create-form")))
	conLabelled(t, ctx, "create trail")
	ctShots(t, ctx, shots, "trail-new")
	conRun(t, ctx, "tags without =",
		chromedp.SendKeys(chromedp.ID("name"), "bad name!"),
		chromedp.SendKeys(chromedp.ID("bucket"), "forms-logs"),
		ctSet("#tags", "team=audit\nnot-a-tag"),
		conSubmit("#review-trail"),
		chromedp.WaitVisible(chromedp.ID("tags-error")))
	ctFieldErr(t, ctx, "tags-error", "field-tags", "tags", "team=audit\nnot-a-tag")
	if msg := conGet(t, ctx, "tags error", text("tags-error")); !strings.Contains(msg, `"not-a-tag"`) || !strings.Contains(msg, "=") {
		t.Errorf("tags error %q", msg)
	}
	if v := conGet(t, ctx, "kept name", ctValue("name")); v != "bad name!" {
		t.Errorf("the name field holds %q after the error", v)
	}
	ctShots(t, ctx, shots, "trail-new-errors")

	// CloudTrail's refusal of the name is shown next to the name field,
	// at the review step: nothing is created.
	conRun(t, ctx, "bad name",
		ctSet("#tags", "team=audit"),
		conSubmit("#review-trail"), // the page with the tags error had the name's error too
		chromedp.WaitVisible(chromedp.ID("name-error")))
	ctFieldErr(t, ctx, "name-error", "field-name", "name", "bad name!")
	if msg := conGet(t, ctx, "name error", text("name-error")); !strings.Contains(msg, "InvalidTrailNameException") {
		t.Errorf("name error %q", msg)
	}
	if v := conGet(t, ctx, "kept bucket", ctValue("bucket")); v != "forms-logs" {
		t.Errorf("the bucket field holds %q after the error", v)
	}

	// Choose the events, review, go back (everything kept), review again
	// and create.
	conRun(t, ctx, "choose events",
		ctSet("#name", "forms-trail"),
		chromedp.Click(chromedp.ID("mgmt_read")), // write management events only
		chromedp.Click(chromedp.ID("exclude_kms")),
		ctSet("#s3", "arn:aws:s3:::forms-data/"),
		chromedp.Click(chromedp.ID("insight_call_rate")),
		chromedp.Click(chromedp.ID("insight_error_rate")),
		chromedp.Click(chromedp.ID("review-trail")),
		chromedp.WaitVisible(chromedp.ID("confirm-create")))
	review := conGet(t, ctx, "review", chromedp.Text(chromedp.ID("review-form")))
	for _, want := range []string{"forms-trail", "forms-logs", "write only, without AWS KMS", "arn:aws:s3:::forms-data/",
		"ApiCallRateInsight", "ApiErrorRateInsight", "starts when created", "CreateTrail, then PutEventSelectors, then PutInsightSelectors, then StartLogging"} {
		if !strings.Contains(review, want) {
			t.Errorf("the review lacks %q:\n%s", want, review)
		}
	}
	ctShots(t, ctx, shots, "trail-review")
	conRun(t, ctx, "back to edit", chromedp.Click(chromedp.ID("back-to-edit")), chromedp.WaitVisible(chromedp.ID("create-form")))
	for id, want := range map[string]bool{"mgmt_read": false, "mgmt_write": true, "exclude_kms": true, "insight_call_rate": true,
		"insight_error_rate": true, "start_logging": true, "multi_region": true, "validation": true} {
		if got := conGet(t, ctx, id, ctChecked(id)); got != want {
			t.Errorf("after Back to edit %s is %v", id, got)
		}
	}
	for id, want := range map[string]string{"name": "forms-trail", "bucket": "forms-logs", "s3": "arn:aws:s3:::forms-data/", "tags": "team=audit"} {
		if got := conGet(t, ctx, id, ctValue(id)); strings.TrimSpace(strings.ReplaceAll(got, "\r", "")) != want {
			t.Errorf("after Back to edit %s is %q", id, got)
		}
	}
	before := ctCount(t, sdk, "CreateTrail")
	conRun(t, ctx, "create",
		chromedp.Click(chromedp.ID("review-trail")),
		chromedp.WaitVisible(chromedp.ID("confirm-create")),
		chromedp.Click(chromedp.ID("confirm-create")),
		conWaitURL("/console/trail?"),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if msg := conGet(t, ctx, "flash", chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(msg, "forms-trail created") || !strings.Contains(msg, "logging started") {
		t.Errorf("after creating the page says %q", msg)
	}
	if state := conGet(t, ctx, "logging state", text("logging-state")); state != "Logging" {
		t.Errorf("the new trail's page says %q", state)
	}
	if s := conGet(t, ctx, "insights status", text("insights-on")); !strings.Contains(s, "ApiCallRateInsight") || !strings.Contains(s, "ApiErrorRateInsight") {
		t.Errorf("the trail page's Insights status: %q", s)
	}
	ctShots(t, ctx, shots, "trail-created")
	// A reload repeats nothing: one more CreateTrail record than before.
	conRun(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("settings")))
	if n := conGet(t, ctx, "flash after reload", chromedp.Evaluate[int](`document.querySelectorAll(".flash").length`)); n != 0 {
		t.Errorf("the success message shows again after a reload")
	}
	if after := ctCount(t, sdk, "CreateTrail"); after != before+1 {
		t.Errorf("CreateTrail records: %d before creating, %d after creating and reloading; want one more", before, after)
	}

	// The API has what was chosen.
	st, err := sdk.GetTrailStatus(bg, &cloudtrail.GetTrailStatusInput{Name: aws.String("forms-trail")})
	if err != nil || !aws.ToBool(st.IsLogging) {
		t.Fatalf("GetTrailStatus: %+v, %v", st, err)
	}
	sel, err := sdk.GetEventSelectors(bg, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("forms-trail")})
	if err != nil || len(sel.EventSelectors) != 1 {
		t.Fatalf("GetEventSelectors: %+v, %v", sel, err)
	}
	es := sel.EventSelectors[0]
	if es.ReadWriteType != types.ReadWriteTypeWriteOnly || !aws.ToBool(es.IncludeManagementEvents) ||
		!reflect.DeepEqual(es.ExcludeManagementEventSources, []string{"kms.amazonaws.com"}) || len(es.DataResources) != 1 ||
		!reflect.DeepEqual(es.DataResources[0].Values, []string{"arn:aws:s3:::forms-data/"}) {
		t.Errorf("event selectors %+v", es)
	}
	ins, err := sdk.GetInsightSelectors(bg, &cloudtrail.GetInsightSelectorsInput{TrailName: aws.String("forms-trail")})
	if err != nil || len(ins.InsightSelectors) != 2 {
		t.Fatalf("GetInsightSelectors: %+v, %v", ins, err)
	}
	tags, err := sdk.ListTags(bg, &cloudtrail.ListTagsInput{ResourceIdList: []string{"arn:aws:cloudtrail:us-east-1:111111111111:trail/forms-trail"}})
	if err != nil || len(tags.ResourceTagList) != 1 || len(tags.ResourceTagList[0].TagsList) != 1 || aws.ToString(tags.ResourceTagList[0].TagsList[0].Key) != "team" {
		t.Errorf("ListTags: %+v, %v", tags, err)
	}

	// A failure partway says what was done and what was not: Insights on
	// the API call rate need write management events, refused when only
	// reads are logged; logging is then not started.
	conRun(t, ctx, "partial create",
		chromedp.Navigate(srv.URL+"/console/trails/new"),
		chromedp.WaitVisible(chromedp.ID("create-form")),
		chromedp.SendKeys(chromedp.ID("name"), "half-trail"),
		chromedp.SendKeys(chromedp.ID("bucket"), "forms-logs"),
		chromedp.Click(chromedp.ID("mgmt_write")),
		chromedp.Click(chromedp.ID("insight_call_rate")),
		chromedp.Click(chromedp.ID("review-trail")),
		chromedp.WaitVisible(chromedp.ID("confirm-create")),
		chromedp.Click(chromedp.ID("confirm-create")),
		conWaitURL("/console/trail?"),
		chromedp.WaitVisible(chromedp.CSS(".flash.flash-error")))
	msg := conGet(t, ctx, "partial flash", chromedp.Text(chromedp.CSS(".flash")))
	for _, want := range []string{"half-trail created", "event selectors saved", "Not done: Insights turned on (ApiCallRateInsight)",
		"InvalidInsightSelectorsException", "not tried: logging started"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the partial create's message lacks %q: %q", want, msg)
		}
	}
	if st, err := sdk.GetTrailStatus(bg, &cloudtrail.GetTrailStatusInput{Name: aws.String("half-trail")}); err != nil || aws.ToBool(st.IsLogging) {
		t.Errorf("half-trail: %+v, %v; want it to exist, not logging", st, err)
	}

	// The trails list on both widths.
	conRun(t, ctx, "trails", chromedp.Navigate(srv.URL+"/console/trails"), chromedp.WaitVisible(chromedp.ID("trails")))
	ctShots(t, ctx, shots, "trails")
	if p := problems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}

func TestConsoleTrailPageForms(t *testing.T) {
	srv := Start(t, Options{Config: dlConfig(cwlGroups("console-group=file://" + filepath.Join(t.TempDir(), "cwl.ndjson")))})
	dlMkBucket(t, srv, "page-logs")
	sdk := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bg := context.Background()
	arn := dlTrail(t, sdk, "page-trail", "page-logs", nil)
	ctx, problems := conBrowser(t)
	shots := ctDir(t)
	conSignIn(t, ctx, srv, AdminKey, AdminSecret)
	text := func(id string) chromedp.Action[string] { return chromedp.Text(chromedp.ID(id)) }
	page := srv.URL + "/console/trail?region=us-east-1&arn=" + url.QueryEscape(arn)
	conRun(t, ctx, "trail page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("settings-form")))
	conLabelled(t, ctx, "trail page")

	// A KMS key the server does not have: the error is next to the KMS
	// field, with what was typed.
	conRun(t, ctx, "bad KMS key",
		ctSet("#kms", "alias/not-configured"),
		conSubmit("#settings-form button[type=submit]"),
		chromedp.WaitVisible(chromedp.ID("kms-error")))
	ctFieldErr(t, ctx, "kms-error", "field-kms", "kms", "alias/not-configured")
	if msg := conGet(t, ctx, "kms error", text("kms-error")); !strings.Contains(msg, "KmsKeyNotFoundException") {
		t.Errorf("KMS error %q", msg)
	}
	ctShots(t, ctx, shots, "trail-settings-error")

	// A log group the server does not have: next to the log group field.
	conRun(t, ctx, "unknown log group",
		ctSet("#kms", ""),
		ctSet("#log_group", cwlGroupARN("nope")+":*"),
		ctSet("#log_role", cwlRole),
		conSubmit("#settings-form button[type=submit]"),
		chromedp.WaitVisible(chromedp.ID("log_group-error")))
	ctFieldErr(t, ctx, "log_group-error", "field-log_group", "log_group", cwlGroupARN("nope")+":*")
	// Set the configured log group: saved, shown, and a reload repeats nothing.
	before := ctCount(t, sdk, "UpdateTrail")
	conRun(t, ctx, "set log group",
		ctSet("#log_group", cwlGroupARN("console-group")+":*"),
		conSubmit("#settings-form button[type=submit]"),
		conWaitURL("#settings"),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if msg := conGet(t, ctx, "flash", chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(msg, "Settings of page-trail saved") {
		t.Errorf("after saving the page says %q", msg)
	}
	if g := conGet(t, ctx, "cwl group", text("cwl-group")); g != cwlGroupARN("console-group")+":*" {
		t.Errorf("the status shows log group %q", g)
	}
	if !conGet(t, ctx, "success placement", ctErrNextTo("settings-saved", "settings")) {
		t.Error("the success message is not in the settings section")
	}
	conRun(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("settings-form")))
	if n := conGet(t, ctx, "flash after reload", chromedp.Evaluate[int](`document.querySelectorAll(".flash").length`)); n != 0 {
		t.Errorf("the success message shows again after a reload")
	}
	if after := ctCount(t, sdk, "UpdateTrail"); after != before+1 {
		t.Errorf("UpdateTrail records: %d before, %d after saving and reloading; want one more", before, after)
	}
	got, err := sdk.GetTrail(bg, &cloudtrail.GetTrailInput{Name: aws.String(arn)})
	if err != nil || aws.ToString(got.Trail.CloudWatchLogsLogGroupArn) != cwlGroupARN("console-group")+":*" || aws.ToString(got.Trail.CloudWatchLogsRoleArn) != cwlRole {
		t.Fatalf("GetTrail after setting the log group: %+v, %v", got.Trail, err)
	}
	// Remove it: empty the log group.
	conRun(t, ctx, "remove log group",
		ctSet("#log_group", ""),
		conSubmit("#settings-form button[type=submit]"),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	got, err = sdk.GetTrail(bg, &cloudtrail.GetTrailInput{Name: aws.String(arn)})
	if err != nil || aws.ToString(got.Trail.CloudWatchLogsLogGroupArn) != "" || aws.ToString(got.Trail.CloudWatchLogsRoleArn) != "" {
		t.Fatalf("GetTrail after removing the log group: %+v, %v", got.Trail, err)
	}
	if s := conGet(t, ctx, "cwl status", text("cwl-status")); !strings.Contains(s, "not configured") {
		t.Errorf("CloudWatch Logs status after removing: %q", s)
	}

	// Selectors the API refuses: its message next to the editor, the text kept.
	bad := `[{"Name":"x","FieldSelectors":[{"Field":"readOnly","StartsWith":["t"]}]}]`
	conRun(t, ctx, "refused selectors",
		ctSet("#advanced", bad),
		conSubmit("#save-advanced"),
		chromedp.WaitVisible(chromedp.ID("advanced-error")))
	ctFieldErr(t, ctx, "advanced-error", "field-advanced", "advanced", bad)
	if msg := conGet(t, ctx, "selectors error", text("advanced-error")); !strings.Contains(msg, "InvalidEventSelectorsException") {
		t.Errorf("selectors error %q", msg)
	}

	// A template fills the editor (no save yet); saving applies it.
	conRun(t, ctx, "writes template",
		chromedp.Click(chromedp.ID("template-writes")),
		chromedp.WaitVisible(chromedp.ID("template-note")))
	var tmpl []map[string]any
	if err := json.Unmarshal([]byte(conGet(t, ctx, "editor", ctValue("advanced"))), &tmpl); err != nil || len(tmpl) != 1 {
		t.Fatalf("the editor after the template: %v %v", tmpl, err)
	}
	conRun(t, ctx, "save template", conSubmit("#save-advanced"), conWaitURL("#selectors"), chromedp.WaitVisible(chromedp.ID("uses-advanced")))
	sel, err := sdk.GetEventSelectors(bg, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(arn)})
	if err != nil || len(sel.AdvancedEventSelectors) != 1 || len(sel.EventSelectors) != 0 {
		t.Fatalf("GetEventSelectors after the template: %+v, %v", sel, err)
	}
	fields := map[string][]string{}
	for _, f := range sel.AdvancedEventSelectors[0].FieldSelectors {
		fields[aws.ToString(f.Field)] = f.Equals
	}
	if !reflect.DeepEqual(fields, map[string][]string{"eventCategory": {"Management"}, "readOnly": {"false"}}) {
		t.Errorf("the writes template saved %v", fields)
	}
	// The page shows the advanced selectors as they are, and no basic form
	// claiming otherwise outside "Replace with a basic selector".
	view := conGet(t, ctx, "advanced view", text("advanced-view"))
	if !strings.Contains(view, "readOnly") || !strings.Contains(view, "false") {
		t.Errorf("the advanced view: %q", view)
	}
	if n := conGet(t, ctx, "visible basic form", chromedp.Evaluate[int](`[...document.querySelectorAll("#basic-form")].filter(f => !f.closest("details.replace")).length`)); n != 0 {
		t.Error("a basic selector form is shown for a trail with advanced selectors")
	}

	// The builder: add a selector for management events without AWS KMS by
	// choosing field, operator and values; the API returns what it built.
	conRun(t, ctx, "builder",
		chromedp.WaitVisible(chromedp.ID("add-selector")),
		chromedp.Click(chromedp.ID("add-selector")),
		chromedp.WaitVisible(chromedp.CSS(".builder-sel:nth-of-type(2) .add-condition")),
		chromedp.Click(chromedp.CSS(".builder-sel:nth-of-type(2) .add-condition")),
		ctSet(".builder-sel:nth-of-type(2) input[id$=-name]", "no kms"),
		ctSet(".builder-sel:nth-of-type(2) .builder-row:nth-child(2) select[id$=-f]", "eventSource"),
		ctSet(".builder-sel:nth-of-type(2) .builder-row:nth-child(2) select[id$=-o]", "NotEquals"),
		ctSet(".builder-sel:nth-of-type(2) .builder-row:nth-child(2) input[id$=-v]", "kms.amazonaws.com, rdsdata.amazonaws.com"))
	conLabelled(t, ctx, "trail page with the builder")
	built := conGet(t, ctx, "built JSON", ctValue("advanced"))
	ctShots(t, ctx, shots, "trail-builder")
	conRun(t, ctx, "save built", conSubmit("#save-advanced"), conWaitURL("#selectors"), chromedp.WaitVisible(chromedp.ID("uses-advanced")))
	sel, err = sdk.GetEventSelectors(bg, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	var want, have any
	json.Unmarshal([]byte(built), &want)
	b, _ := json.Marshal(sel.AdvancedEventSelectors)
	json.Unmarshal(b, &have)
	if !reflect.DeepEqual(normSel(want), normSel(have)) {
		t.Errorf("the builder made\n%s\nthe API returns\n%s", built, b)
	}
	if !strings.Contains(built, `"NotEquals": [`) || !strings.Contains(built, "rdsdata.amazonaws.com") || !strings.Contains(built, `"Name": "no kms"`) {
		t.Errorf("the builder's JSON lacks the chosen condition:\n%s", built)
	}
	ctShots(t, ctx, shots, "trail-advanced")

	// Insights from the trail page: saved, said so in the section, shown
	// in the status.
	conRun(t, ctx, "insights",
		chromedp.Click(chromedp.ID("insight_call_rate")),
		conSubmit("#save-insights"),
		conWaitURL("#insights"),
		chromedp.WaitVisible(chromedp.ID("insights-saved")))
	if !conGet(t, ctx, "insights message placement", ctErrNextTo("insights-saved", "insights")) {
		t.Error("the Insights message is not in the Insights section")
	}
	if s := conGet(t, ctx, "insights status", text("insights-on")); s != "ApiCallRateInsight" {
		t.Errorf("Insights status %q", s)
	}
	ins, err := sdk.GetInsightSelectors(bg, &cloudtrail.GetInsightSelectorsInput{TrailName: aws.String(arn)})
	if err != nil || len(ins.InsightSelectors) != 1 || ins.InsightSelectors[0].InsightType != types.InsightTypeApiCallRateInsight {
		t.Fatalf("GetInsightSelectors: %+v, %v", ins, err)
	}

	// A wrong delete confirmation says so next to the field, keeps what
	// was typed, and deletes nothing.
	conRun(t, ctx, "wrong confirmation",
		chromedp.SendKeys(chromedp.ID("confirm"), "page-trial"),
		conSubmit("#delete button[type=submit]"),
		chromedp.WaitVisible(chromedp.ID("delete-error")))
	ctFieldErr(t, ctx, "delete-error", "field-confirm", "confirm", "page-trial")
	if _, err := sdk.GetTrail(bg, &cloudtrail.GetTrailInput{Name: aws.String(arn)}); err != nil {
		t.Fatalf("the trail is gone after a wrong confirmation: %v", err)
	}
	ctShots(t, ctx, shots, "trail-delete-error")
	if p := problems(); len(p) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// normSel drops the empty members the SDK's decoding adds to selectors.
func normSel(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if e == nil {
				continue
			}
			if l, ok := e.([]any); ok && len(l) == 0 {
				continue
			}
			out[k] = normSel(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normSel(e)
		}
		return out
	}
	return v
}
