package console

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/server"
	"github.com/cairn-audit/cairn/internal/trail"
)

// The fake API's Insights: PutInsightSelectors is noted (and refused as
// fail says); GetInsightSelectors answers as for a trail without Insights.

func (f *fakeAPI) PutInsightSelectors(_ context.Context, who server.Caller, in server.PutInsightSelectorsInput) (server.InsightsOutput, error) {
	_, err := f.enter("PutInsightSelectors", who, in)
	return server.InsightsOutput{}, err
}

func (f *fakeAPI) GetInsightSelectors(_ context.Context, who server.Caller, in server.GetInsightSelectorsInput) (server.InsightsOutput, error) {
	if _, err := f.enter("GetInsightSelectors", who, in); err != nil {
		return server.InsightsOutput{}, err
	}
	return server.InsightsOutput{}, awsproto.Errorf(awsproto.InsightNotEnabledException, "Trail audit does not have Insights enabled.")
}

// advFake is the fake API with a trail that uses advanced selectors.
type advFake struct{ *fakeAPI }

func (f advFake) GetEventSelectors(_ context.Context, who server.Caller, in server.GetEventSelectorsInput) (server.SelectorsOutput, error) {
	if _, err := f.enter("GetEventSelectors", who, in); err != nil {
		return server.SelectorsOutput{}, err
	}
	field, cat := "eventCategory", "Data"
	typ, rt := "resources.type", "AWS::S3::Object"
	name := "S3 only"
	return server.SelectorsOutput{TrailARN: trailARN, AdvancedEventSelectors: []trail.AdvancedEventSelector{{Name: &name,
		FieldSelectors: []trail.AdvancedFieldSelector{{Field: &field, Equals: []string{cat}}, {Field: &typ, Equals: []string{rt}}}}}}, nil
}

const trailARN = "arn:aws:cloudtrail:us-east-1:111111111111:trail/audit"

// errIn reports whether the page has the error element errID, holding
// want, inside the container (div, fieldset or form) with id fieldID.
func errIn(body, fieldID, errID, want string) bool {
	open := strings.LastIndex(body[:max(strings.Index(body, `id="`+fieldID+`"`), 0)], "<")
	at := strings.Index(body, `id="`+errID+`"`)
	if !strings.Contains(body, `id="`+fieldID+`"`) || at < 0 || at < open {
		return false
	}
	depth := 0
	for _, m := range containerTag.FindAllStringSubmatchIndex(body[open:at], -1) {
		if m[2] < m[3] { // a closing tag
			depth--
		} else {
			depth++
		}
		if depth <= 0 {
			return false // the container closed before the error
		}
	}
	end := strings.Index(body[at:], "</")
	return end > 0 && strings.Contains(body[at:at+end], html.EscapeString(want))
}

// containerTag matches the opening and closing tags of containers.
var containerTag = regexp.MustCompile(`<(/?)(?:div|fieldset|form)\b`)

// answered posts form to target and follows the redirect that answers it
// with a GET, as a browser does: the page the user sees. A form answered
// otherwise fails the test: reloading a page that answers a POST sends the
// form again.
func (e *testEnv) answered(t *testing.T, target string, sc *http.Cookie, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	w := e.post(target, sc, form)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("POST %s: %d, want a redirect (303):\n%s", target, w.Code, w.Body)
	}
	page, _, _ := strings.Cut(w.Header().Get("Location"), "#")
	if !strings.HasPrefix(page, "/console/") || strings.HasPrefix(page, target) && target != "/console/trails/new" {
		t.Fatalf("POST %s: redirected to %s", target, page)
	}
	return e.get(page, sc)
}

func TestConsoleTrailTagsWithoutEquals(t *testing.T) {
	if _, err := parseTags("team=audit\nnot-a-tag"); err == nil || !strings.Contains(err.Error(), `"not-a-tag"`) {
		t.Fatalf("parseTags: %v", err)
	}
	if tags, err := parseTags("a=\n b = c "); err != nil || len(tags) != 2 || *tags[0].Value != "" || *tags[1].Key != "b" || *tags[1].Value != "c" {
		t.Fatalf("parseTags: %v %v", tags, err)
	}
	e := newEnv(t)
	sc, tok := e.login(adminKey, adminSecret)
	form := url.Values{"csrf": {tok}, "region": {"us-east-1"}, "events_form": {"1"}, "mgmt_read": {"on"}, "mgmt_write": {"on"},
		"name": {"tr1"}, "bucket": {"bkt"}, "tags": {"team=audit\nnot-a-tag"}}
	for _, step := range []string{"review", "create"} {
		w := e.answered(t, "/console/trails/new", sc, withParams(form, "step", step))
		body := w.Body.String()
		if w.Code != http.StatusOK || !errIn(body, "field-tags", "tags-error", `Tags line 2, "not-a-tag", has no "="`) ||
			!strings.Contains(body, "team=audit\nnot-a-tag</textarea>") {
			t.Fatalf("step %s: %d\n%s", step, w.Code, body)
		}
	}
	if slices.Contains(e.api.ops(), "CreateTrail") {
		t.Fatal("CreateTrail was called with a bad tags line")
	}
}

func TestConsoleTrailErrorsNextToFields(t *testing.T) {
	e := newEnv(t)
	sc, tok := e.login(adminKey, adminSecret)
	form := url.Values{"csrf": {tok}, "region": {"us-east-1"}, "name": {"tr1"}, "bucket": {"nope"}, "kms": {"alias/x"}, "log_group": {"g"}, "log_role": {"r"}}
	for code, ids := range map[string][2]string{
		"S3BucketDoesNotExistException":             {"field-bucket", "bucket-error"},
		"KmsKeyNotFoundException":                   {"field-kms", "kms-error"},
		"InvalidTrailNameException":                 {"field-name", "name-error"},
		"TrailAlreadyExistsException":               {"field-name", "name-error"},
		"InvalidCloudWatchLogsRoleArnException":     {"field-log_role", "log_role-error"},
		"InvalidCloudWatchLogsLogGroupArnException": {"field-log_group", "log_group-error"},
		"InvalidParameterCombinationException":      {"field-options", "options-error"},
		"ThrottlingException":                       {"create-form", "form-error"},
	} {
		e.api.fail = map[string]error{"CreateTrail": awsproto.Errorf(awsproto.Code(code), "refused %s.", code)}
		w := e.answered(t, "/console/trails/new", sc, withParams(form, "step", "create"))
		body := w.Body.String()
		if w.Code != http.StatusOK || !strings.Contains(body, `id="`+ids[1]+`"`) || !strings.Contains(body, code+": refused "+code+".") {
			t.Errorf("%s: %d, want %s:\n%s", code, w.Code, ids[1], body)
			continue
		}
		if ids[0] != "create-form" && !errIn(body, ids[0], ids[1], "refused "+code) {
			t.Errorf("%s: the error is not inside %s", code, ids[0])
		}
		if ids[0] != "field-name" && errIn(body, "field-name", ids[1], "refused "+code) {
			t.Errorf("%s: errIn places %s inside field-name", code, ids[1])
		}
		for _, kept := range []string{`value="tr1"`, `value="nope"`, `value="alias/x"`, `value="g"`, `value="r"`} {
			if !strings.Contains(body, kept) {
				t.Errorf("%s: the form lost %s", code, kept)
			}
		}
	}
	// The settings form of the trail page: the same, and the log group
	// and role are sent (emptied together to remove them).
	e.api.fail = map[string]error{"UpdateTrail": awsproto.Errorf(awsproto.InvalidCloudWatchLogsRoleArnException, "role r is not a role.")}
	base := url.Values{"csrf": {tok}, "region": {"us-east-1"}, "arn": {trailARN}, "name": {"audit"}, "bucket": {"logs"}}
	w := e.answered(t, "/console/trail/update", sc, withParams(base, "log_group", "g", "log_role", "r"))
	if body := w.Body.String(); w.Code != http.StatusOK || !errIn(body, "field-log_role", "log_role-error", "role r is not a role.") ||
		!strings.Contains(body, `value="r"`) || !strings.Contains(body, `id="settings-problems"`) {
		t.Fatalf("refused update: %d\n%s", w.Code, body)
	}
	e.api.fail = nil
	w = e.post("/console/trail/update", sc, withParams(base, "log_group", "", "log_role", "arn:aws:iam::111111111111:role/x"))
	if w.Code != http.StatusSeeOther || !strings.HasSuffix(w.Header().Get("Location"), "#settings") {
		t.Fatalf("update: %d %v", w.Code, w.Header())
	}
	var in map[string]any
	json.Unmarshal(e.api.last("UpdateTrail").body, &in)
	if g, r := in["CloudWatchLogsLogGroupArn"], in["CloudWatchLogsRoleArn"]; g != "" || r != "" {
		t.Fatalf("removing the log group sent group %v role %v", g, r)
	}
	// A wrong delete confirmation: next to the field, kept, nothing deleted.
	w = e.answered(t, "/console/trail/delete", sc, withParams(base, "confirm", "audti"))
	if body := w.Body.String(); w.Code != http.StatusOK || !errIn(body, "field-confirm", "delete-error", "That is not the trail's name") ||
		!strings.Contains(body, `value="audti"`) || slices.Contains(e.api.ops(), "DeleteTrail") {
		t.Fatalf("wrong confirmation: %d\n%s", w.Code, body)
	}
}

func TestConsoleTrailCreateSteps(t *testing.T) {
	e := newEnv(t)
	sc, tok := e.login(adminKey, adminSecret)
	form := url.Values{"csrf": {tok}, "region": {"us-east-1"}, "events_form": {"1"}, "name": {"tr1"}, "bucket": {"bkt"},
		"mgmt_write": {"on"}, "s3": {"arn:aws:s3:::dbk/"}, "insight_call_rate": {"on"}, "start_logging": {"on"}, "tags": {"a=b"}}
	n := len(e.api.ops())
	// Review: what will be created, nothing called, everything carried.
	w := e.answered(t, "/console/trails/new", sc, withParams(form, "step", "review"))
	body := w.Body.String()
	if w.Code != http.StatusOK || len(e.api.ops()) != n || !strings.Contains(body, `id="confirm-create"`) ||
		!strings.Contains(body, "write only") || !strings.Contains(body, `name="insight_call_rate" value="on"`) ||
		!strings.Contains(body, `name="s3" value="arn:aws:s3:::dbk/"`) || strings.Contains(body, `name="mgmt_read"`) {
		t.Fatalf("review: %d %v\n%s", w.Code, e.api.ops()[n:], body)
	}
	// Back to edit keeps everything.
	w = e.answered(t, "/console/trails/new", sc, withParams(form, "step", "edit"))
	body = w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, `id="mgmt_write" checked`) || strings.Contains(body, `id="mgmt_read" checked`) ||
		!strings.Contains(body, `id="insight_call_rate" checked`) || !strings.Contains(body, ">arn:aws:s3:::dbk/</textarea>") {
		t.Fatalf("back to edit:\n%s", body)
	}
	// No events at all is an error next to the events.
	none := withParams(form, "step", "review", "mgmt_write", "", "s3", "")
	if w := e.answered(t, "/console/trails/new", sc, none); w.Code != http.StatusOK || !errIn(w.Body.String(), "field-events", "events-error", "Choose the events to log") {
		t.Fatalf("no events: %d\n%s", w.Code, w.Body)
	}
	// Create: each call in order, then the trail's page with what was done.
	w = e.post("/console/trails/new", sc, withParams(form, "step", "create"))
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "trail%2Ftr1") {
		t.Fatalf("create: %d %v", w.Code, w.Header())
	}
	if got := e.api.ops()[n:]; !slices.Equal(got, []string{"CreateTrail", "PutEventSelectors", "PutInsightSelectors", "StartLogging"}) {
		t.Fatalf("calls %v", got)
	}
	if got := string(e.api.last("PutEventSelectors").body); !strings.Contains(got, `"ReadWriteType":"WriteOnly","IncludeManagementEvents":true,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::dbk/"]}]`) {
		t.Fatalf("PutEventSelectors %s", got)
	}
	if got := string(e.api.last("PutInsightSelectors").body); got != `{"TrailName":"arn:aws:cloudtrail:us-east-1:111111111111:trail/tr1","InsightSelectors":[{"InsightType":"ApiCallRateInsight"}]}` {
		t.Fatalf("PutInsightSelectors %s", got)
	}
	page := e.get(w.Header().Get("Location"), sc).Body.String()
	if !strings.Contains(page, `class="flash"`) || !strings.Contains(page, "Trail tr1 created; event selectors saved; Insights turned on (ApiCallRateInsight); logging started.") {
		t.Fatalf("the page after creating:\n%s", page)
	}
	// A refusal partway: what was done, what was refused, what was not tried.
	n = len(e.api.ops())
	e.api.fail = map[string]error{"PutInsightSelectors": awsproto.Errorf(awsproto.InvalidInsightSelectorsException, "needs writes.")}
	w = e.post("/console/trails/new", sc, withParams(form, "step", "create"))
	if got := e.api.ops()[n:]; w.Code != http.StatusSeeOther || !slices.Equal(got, []string{"CreateTrail", "PutEventSelectors", "PutInsightSelectors"}) {
		t.Fatalf("partial create: %d, calls %v", w.Code, got)
	}
	page = e.get(w.Header().Get("Location"), sc).Body.String()
	want := "Trail tr1 created; event selectors saved. Not done: Insights turned on (ApiCallRateInsight), refused with InvalidInsightSelectorsException: needs writes.; and so not tried: logging started. Fix it on this page."
	if !strings.Contains(page, `flash flash-error`) || !strings.Contains(page, html.EscapeString(want)) {
		t.Fatalf("the page after a partial create lacks %q:\n%s", want, page)
	}
	// All management events and logging not started: CreateTrail alone.
	e.api.fail = nil
	n = len(e.api.ops())
	e.post("/console/trails/new", sc, url.Values{"csrf": {tok}, "region": {"us-east-1"}, "events_form": {"1"}, "name": {"tr2"}, "bucket": {"bkt"},
		"mgmt_read": {"on"}, "mgmt_write": {"on"}, "step": {"create"}})
	if got := e.api.ops()[n:]; !slices.Equal(got, []string{"CreateTrail"}) {
		t.Fatalf("default create: calls %v", got)
	}
}

func TestConsoleTrailAdvancedShownAsIs(t *testing.T) {
	e := newEnv(t)
	e.c = newConsole(Options{Directory: testDirectory(), API: advFake{e.api}, Regions: []string{"us-east-1"}, SessionTTL: time.Hour, Sessions: e.st})
	sc, tok := e.login(adminKey, adminSecret)
	body := e.get("/console/trail?region=us-east-1&arn="+url.QueryEscape(trailARN), sc).Body.String()
	if !strings.Contains(body, `id="uses-advanced"`) || !strings.Contains(body, "S3 only") || !strings.Contains(body, "AWS::S3::Object") {
		t.Fatalf("the advanced selectors are not shown:\n%s", body)
	}
	// The basic form is only offered as a replacement, not as what the
	// trail logs.
	if i, d := strings.Index(body, `id="basic-form"`), strings.Index(body, `<details class="replace"`); i < 0 || d < 0 || i < d {
		t.Fatalf("basic form at %d, replacement details at %d", i, d)
	}
	if !strings.Contains(body, `data-spec="`) || !strings.Contains(body, "sessionCredentialFromConsole") {
		t.Fatal("no builder spec")
	}
	// A template fills the editor and says it is not saved.
	body = e.get("/console/trail?region=us-east-1&template=no-kms&arn="+url.QueryEscape(trailARN), sc).Body.String()
	if !strings.Contains(body, html.EscapeString(`"NotEquals": [`)) || !strings.Contains(body, "Management events without AWS KMS</span>") {
		t.Fatalf("template:\n%s", body)
	}
	// Insights: saved through PutInsightSelectors; none turns them off.
	base := url.Values{"csrf": {tok}, "region": {"us-east-1"}, "arn": {trailARN}, "name": {"audit"}}
	e.post("/console/trail/insights", sc, withParams(base, "insight_error_rate", "on"))
	if got := string(e.api.last("PutInsightSelectors").body); got != `{"TrailName":"`+trailARN+`","InsightSelectors":[{"InsightType":"ApiErrorRateInsight"}]}` {
		t.Fatalf("PutInsightSelectors %s", got)
	}
	e.post("/console/trail/insights", sc, base)
	if got := string(e.api.last("PutInsightSelectors").body); got != `{"TrailName":"`+trailARN+`","InsightSelectors":[]}` {
		t.Fatalf("PutInsightSelectors %s", got)
	}
}

func TestConsoleSelectorTemplatesValid(t *testing.T) {
	for _, tp := range selTemplates {
		var sel []trail.AdvancedEventSelector
		if err := json.Unmarshal([]byte(tp.JSON), &sel); err != nil {
			t.Fatalf("%s: %v", tp.ID, err)
		}
		if err := trail.ValidateSelectors(nil, sel, "aws"); err != nil {
			t.Errorf("template %s is refused: %v", tp.ID, err)
		}
	}
}

// The review step checks what CloudTrail would refuse before anything is
// created: a bad name, bucket, prefix, tag or S3 data event value is an
// error next to its field, and no API call is made (an S3 value used to be
// found bad only after the trail existed, which then did not log).
func TestConsoleTrailCreateReviewChecks(t *testing.T) {
	e := newEnv(t)
	sc, tok := e.login(adminKey, adminSecret)
	form := url.Values{"csrf": {tok}, "region": {"us-east-1"}, "events_form": {"1"}, "name": {"tr1"}, "bucket": {"bkt"},
		"mgmt_write": {"on"}, "step": {"review"}}
	for _, c := range []struct{ name, value, field, errID, want string }{
		{"name", "x", "field-name", "name-error", "Trail name too short"},
		{"name", "-bad-", "field-name", "name-error", "InvalidTrailNameException"},
		{"bucket", "Bad_Bucket", "field-bucket", "bucket-error", "InvalidS3BucketNameException"},
		{"s3", "arn:aws:s3:::<script>", "field-events", "events-error", "InvalidEventSelectorsException"},
		{"tags", "k=" + strings.Repeat("v", 300), "field-tags", "tags-error", "InvalidTagParameterException"},
	} {
		n := len(e.api.ops())
		w := e.answered(t, "/console/trails/new", sc, withParams(form, c.name, c.value))
		if body := w.Body.String(); w.Code != http.StatusOK || !errIn(body, c.field, c.errID, c.want) || strings.Contains(body, `id="confirm-create"`) {
			t.Errorf("%s=%q: %d, want %q in #%s\n%s", c.name, c.value, w.Code, c.want, c.errID, body)
		}
		if got := e.api.ops()[n:]; len(got) != 0 {
			t.Errorf("%s=%q: calls %v", c.name, c.value, got)
		}
	}
}
