package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/server"
	"github.com/cairn-audit/cairn/internal/trail"
)

// statusView is GetTrailStatus as the console shows it.
type statusView struct {
	Logging      bool
	LastDelivery string
	LastDigest   string
	LastError    string
	Started      string
	Stopped      string
	// LastCloudWatchLogs and CloudWatchLogsError are the delivery to the
	// trail's CloudWatch Logs log group.
	LastCloudWatchLogs  string
	CloudWatchLogsError string
}

// viewStatus is st with its times in the page's zone (b.In).
func viewStatus(st server.StatusOutput, b base) statusView {
	at := func(t *awsproto.Time) string {
		if t == nil || t.IsZero() {
			return ""
		}
		return fmtStamp(t.Time, b)
	}
	v := statusView{Logging: st.IsLogging, LastDelivery: at(st.LatestDeliveryTime), LastDigest: at(st.LatestDigestDeliveryTime),
		Started: at(st.StartLoggingTime), Stopped: at(st.StopLoggingTime),
		LastCloudWatchLogs: at(st.LatestCloudWatchLogsDeliveryTime), CloudWatchLogsError: st.LatestCloudWatchLogsDeliveryError}
	var errs []string
	for _, e := range []struct{ what, msg string }{{"Delivery", st.LatestDeliveryError}, {"Digest", st.LatestDigestDeliveryError},
		{"Notification", st.LatestNotificationError}, {"CloudWatch Logs", st.LatestCloudWatchLogsDeliveryError}} {
		if e.msg != "" {
			errs = append(errs, e.what+": "+e.msg)
		}
	}
	v.LastError = strings.Join(errs, "; ")
	return v
}

type trailRow struct {
	server.TrailShape
	Status    statusView
	StatusErr string
	Shadow    bool
	Link      string
}

type trailsPage struct {
	base
	Trails []trailRow
	Loaded bool
}

func trailLink(region, arn string) string {
	return "/console/trail?" + url.Values{"region": {region}, "arn": {arn}}.Encode()
}

func (c *Console) trailsPage(w http.ResponseWriter, r *http.Request, s *session) {
	region, ok := c.region(r, s)
	p := trailsPage{base: c.base(s, r, "Trails", "trails", region)}
	if !ok {
		p.Error = "Region " + r.URL.Query().Get("region") + " is not served here; showing " + region + "."
	}
	who := c.caller(r, s, region)
	out, err := c.opts.API.DescribeTrails(r.Context(), who, server.DescribeTrailsInput{})
	if err := c.refused("DescribeTrails", err); err != nil {
		p.Error = errText(err)
		c.render(w, http.StatusOK, "trails.html", p)
		return
	}
	p.Loaded = true
	for _, t := range out.TrailList {
		tr := trailRow{TrailShape: t, Shadow: t.HomeRegion != region, Link: trailLink(t.HomeRegion, t.TrailARN)}
		st, err := c.opts.API.GetTrailStatus(r.Context(), who, server.NameInput{Name: &t.TrailARN})
		if err := c.refused("GetTrailStatus", err); err != nil {
			tr.StatusErr = errText(err)
		} else {
			tr.Status = viewStatus(st, p.base)
		}
		p.Trails = append(p.Trails, tr)
	}
	c.render(w, http.StatusOK, "trails.html", p)
}

// setOrNil is a form field as an optional request member: nil when empty.
func setOrNil(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// basicForm is a trail's (first) basic event selector, as the form edits it.
type basicForm struct {
	ReadWrite  string
	Management bool
	S3         string
	ExcludeKMS bool
	ExcludeRDS bool
	Count      int
}

type tagView struct{ Key, Value string }

type trailPage struct {
	base
	ARN       string
	Found     bool
	T         server.TrailShape
	Shadow    bool
	Owned     bool
	HomeURL   string
	Status    statusView
	StatusErr string
	Form      trailForm
	Basic     basicForm
	BasicErr  string
	// Advanced is the advanced selectors' JSON as the editor shows it;
	// AdvancedView the trail's advanced selectors as they are, read-only.
	Advanced     string
	AdvancedErr  string
	AdvancedView []advView
	// Template names the advanced selector template loaded into the
	// editor (not yet saved), or "".
	Template     string
	Templates    []selTemplate
	Builder      string
	UsesAdvanced bool
	SelectorsErr string
	// Insights are the trail's insight selectors (their types);
	// InsightsErr why they could not be read or saved.
	Insights    []string
	InsightsErr string
	InsightForm insightForm
	Tags        []tagView
	TagsErr     string
	TagKey      string
	TagValue    string
	DeleteErr   string
	Confirm     string
	// Done is the success message of a section's form, by section id.
	Done map[string]string
}

// trailSections are the sections of the trail page whose forms report
// success in place.
var trailSections = []string{"settings", "selectors", "insights", "tags"}

// loadTrail reads everything the trail page shows.
func (c *Console) loadTrail(r *http.Request, s *session, region, arn string) trailPage {
	p := trailPage{base: c.base(s, r, "Trail", "trails", region), ARN: arn, Templates: selTemplates, Builder: builderSpec()}
	who := c.caller(r, s, region)
	got, err := c.opts.API.GetTrail(r.Context(), who, server.NameInput{Name: &arn})
	if err := c.refused("GetTrail", err); err != nil {
		p.Error = errText(err)
		return p
	}
	p.Found = true
	t := got.Trail
	p.T, p.Title = t, "Trail "+t.Name
	p.Shadow = t.HomeRegion != region
	if parts := strings.Split(t.TrailARN, ":"); len(parts) > 4 {
		p.Owned = parts[4] == s.principal.Account
	}
	p.HomeURL = trailLink(t.HomeRegion, t.TrailARN)
	p.Form = trailForm{Name: t.Name, Bucket: t.S3BucketName, Prefix: t.S3KeyPrefix, SNS: t.SnsTopicName, KMS: t.KmsKeyId,
		MultiRegion: t.IsMultiRegionTrail, Global: t.IncludeGlobalServiceEvents, Validation: t.LogFileValidationEnabled,
		LogGroup: t.CloudWatchLogsLogGroupArn, LogRole: t.CloudWatchLogsRoleArn}
	st, err := c.opts.API.GetTrailStatus(r.Context(), who, server.NameInput{Name: &arn})
	if err := c.refused("GetTrailStatus", err); err != nil {
		p.StatusErr = errText(err)
	} else {
		p.Status = viewStatus(st, p.base)
	}
	p.Basic = basicForm{ReadWrite: "All", Management: true}
	if !p.Shadow {
		c.loadSelectors(r, who, arn, &p)
	}
	c.loadInsights(r, who, arn, &p)
	tags, err := c.opts.API.ListTags(r.Context(), who, server.ListTagsInput{ResourceIdList: []string{arn}})
	if err := c.refused("ListTags", err); err != nil {
		p.TagsErr = errText(err)
	} else {
		for _, rt := range tags.ResourceTagList {
			for _, tg := range rt.TagsList {
				p.Tags = append(p.Tags, tagView{Key: deref(tg.Key), Value: deref(tg.Value)})
			}
		}
	}
	return p
}

// loadSelectors reads the trail's event selectors into the page: the basic
// form shows a basic selector only when the trail has one, so it never
// claims what a trail with advanced selectors logs.
func (c *Console) loadSelectors(r *http.Request, who server.Caller, arn string, p *trailPage) {
	sel, err := c.opts.API.GetEventSelectors(r.Context(), who, server.GetEventSelectorsInput{TrailName: &arn})
	if err := c.refused("GetEventSelectors", err); err != nil {
		p.SelectorsErr = errText(err)
		return
	}
	p.Basic.Count = len(sel.EventSelectors)
	if len(sel.EventSelectors) > 0 {
		p.Basic = basicOf(sel.EventSelectors[0], len(sel.EventSelectors))
	}
	if len(sel.AdvancedEventSelectors) > 0 {
		p.UsesAdvanced = true
		b, _ := json.MarshalIndent(sel.AdvancedEventSelectors, "", "  ")
		p.Advanced = string(b)
		p.AdvancedView = viewAdvanced(sel.AdvancedEventSelectors)
	}
}

// loadInsights reads the trail's insight selectors; a trail without them
// answers InsightNotEnabledException, which is not an error to show.
func (c *Console) loadInsights(r *http.Request, who server.Caller, arn string, p *trailPage) {
	out, err := c.opts.API.GetInsightSelectors(r.Context(), who, server.GetInsightSelectorsInput{TrailName: &arn})
	if err != nil && awsproto.As(err).Code == awsproto.InsightNotEnabledException {
		return
	}
	if err := c.refused("GetInsightSelectors", err); err != nil {
		p.InsightsErr = errText(err)
		return
	}
	for _, is := range out.InsightSelectors {
		typ := deref(is.InsightType)
		p.Insights = append(p.Insights, typ)
		switch typ {
		case trail.InsightAPICallRate:
			p.InsightForm.CallRate = true
		case trail.InsightAPIErrorRate:
			p.InsightForm.ErrorRate = true
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func basicOf(es trail.EventSelector, count int) basicForm {
	b := basicForm{ReadWrite: "All", Management: true, Count: count}
	if es.ReadWriteType != nil {
		b.ReadWrite = *es.ReadWriteType
	}
	if es.IncludeManagementEvents != nil {
		b.Management = *es.IncludeManagementEvents
	}
	var s3 []string
	for _, dr := range es.DataResources {
		if deref(dr.Type) == trail.ResourceS3Object {
			s3 = append(s3, dr.Values...)
		}
	}
	b.S3 = strings.Join(s3, "\n")
	for _, src := range es.ExcludeManagementEventSources {
		switch src {
		case "kms.amazonaws.com":
			b.ExcludeKMS = true
		case "rdsdata.amazonaws.com":
			b.ExcludeRDS = true
		}
	}
	return b
}

// readBasicForm reads the basic selector form as sent.
func readBasicForm(f url.Values) basicForm {
	return basicForm{ReadWrite: f.Get("read_write"), Management: f.Get("management") != "",
		S3: f.Get("s3"), ExcludeKMS: f.Get("exclude_kms") != "", ExcludeRDS: f.Get("exclude_rds") != ""}
}

// selector is the basic event selector the form describes.
func (b basicForm) selector() trail.EventSelector {
	rw, mgmt := b.ReadWrite, b.Management
	sel := trail.EventSelector{ReadWriteType: &rw, IncludeManagementEvents: &mgmt}
	if values := lines(b.S3); len(values) > 0 {
		typ := trail.ResourceS3Object
		sel.DataResources = []trail.DataResource{{Type: &typ, Values: values}}
	}
	if b.ExcludeKMS {
		sel.ExcludeManagementEventSources = append(sel.ExcludeManagementEventSources, "kms.amazonaws.com")
	}
	if b.ExcludeRDS {
		sel.ExcludeManagementEventSources = append(sel.ExcludeManagementEventSources, "rdsdata.amazonaws.com")
	}
	return sel
}

// insightForm is the Insights choice of the trail forms.
type insightForm struct {
	CallRate  bool
	ErrorRate bool
}

// readInsightForm reads the Insights choice of a form as sent.
func readInsightForm(f url.Values) insightForm {
	return insightForm{CallRate: f.Get("insight_call_rate") != "", ErrorRate: f.Get("insight_error_rate") != ""}
}

// selectors are the insight selectors chosen ([] turns Insights off).
func (f insightForm) selectors() []trail.InsightSelector {
	sel := []trail.InsightSelector{}
	for _, t := range []struct {
		on  bool
		typ string
	}{{f.CallRate, trail.InsightAPICallRate}, {f.ErrorRate, trail.InsightAPIErrorRate}} {
		if t.on {
			typ := t.typ
			sel = append(sel, trail.InsightSelector{InsightType: &typ})
		}
	}
	return sel
}

func (c *Console) trailPage(w http.ResponseWriter, r *http.Request, s *session) {
	region, _ := c.region(r, s)
	arn := r.URL.Query().Get("arn")
	if arn == "" {
		http.Redirect(w, r, "/console/trails?region="+url.QueryEscape(region), http.StatusSeeOther)
		return
	}
	p := c.loadTrail(r, s, region, arn)
	status := http.StatusOK
	if !p.Found {
		status = http.StatusNotFound
	}
	// A success message of one section's form is shown in that section.
	if sec := r.URL.Query().Get("done"); p.Flash != "" && !p.FlashErr && slices.Contains(trailSections, sec) {
		p.Done = map[string]string{sec: p.Flash}
		p.Flash = ""
	}
	if tp, ok := templateNamed(r.URL.Query().Get("template")); ok && p.Found {
		p.Advanced, p.Template = tp.JSON, tp.Title
	}
	// A form of this page that was refused: what was sent, and its errors
	// next to their fields, this once.
	if a := s.takeAnswer(r, c.now()); a != nil && p.Found {
		if show, ok := trailAnswers[strings.TrimPrefix(a.Action, "/console/trail/")]; ok {
			show(&p, a.values(), a.Errs)
		}
	}
	c.render(w, status, "trail.html", p)
}

// trailAnswers show a refused form of the trail page again, by its action:
// the values as sent (errs say what was wrong with them) in place of the
// trail's own.
var trailAnswers = map[string]func(p *trailPage, v url.Values, errs fieldErrs){
	"update": func(p *trailPage, v url.Values, errs fieldErrs) {
		f := readTrailForm(v)
		f.Name, f.Errs = p.Form.Name, errs
		p.Form = f
	},
	"delete": func(p *trailPage, v url.Values, errs fieldErrs) {
		p.Confirm, p.DeleteErr = strings.TrimSpace(v.Get("confirm")), errs[""]
	},
	"selectors": func(p *trailPage, v url.Values, errs fieldErrs) { p.Basic, p.BasicErr = readBasicForm(v), errs[""] },
	"advanced": func(p *trailPage, v url.Values, errs fieldErrs) {
		p.Advanced, p.AdvancedErr = v.Get("advanced"), errs[""]
	},
	"insights": func(p *trailPage, v url.Values, errs fieldErrs) {
		p.InsightForm, p.InsightsErr = readInsightForm(v), errs[""]
	},
	"tag-add": func(p *trailPage, v url.Values, errs fieldErrs) {
		p.TagKey, p.TagValue, p.TagsErr = strings.TrimSpace(v.Get("key")), strings.TrimSpace(v.Get("value")), errs[""]
	},
	"tag-remove": func(p *trailPage, v url.Values, errs fieldErrs) { p.TagsErr = errs[""] },
}

// trailAction runs one change of the trail page's forms. Every form is
// answered with a redirect (303) to the trail page, so that a reload sends
// nothing again: after a change, with a message; after a refused change,
// to a page that shows what was typed and the error next to the field it
// is about (answered.go).
func (c *Console) trailAction(w http.ResponseWriter, r *http.Request, s *session) {
	region, _ := c.region(r, s)
	arn := r.PostForm.Get("arn")
	back := trailLink(region, arn)
	a := trailAct{c: c, w: w, r: r, s: s, region: region, arn: arn, back: back, name: r.PostForm.Get("name")}
	if a.name == "" {
		a.name = arn
	}
	a.who = c.caller(r, s, region)
	switch r.PathValue("action") {
	case "start":
		a.logging("StartLogging", c.opts.API.StartLogging, "Logging started for "+a.name+".")
	case "stop":
		a.logging("StopLogging", c.opts.API.StopLogging, "Logging stopped for "+a.name+".")
	case "update":
		a.update()
	case "delete":
		a.delete()
	case "selectors":
		a.basic()
	case "advanced":
		a.advanced()
	case "insights":
		a.insights()
	case "tag-add":
		a.tagAdd()
	case "tag-remove":
		a.tagRemove()
	default:
		c.notFound(w, r)
	}
}

// trailAct is one POST of the trail page's forms.
type trailAct struct {
	c                       *Console
	w                       http.ResponseWriter
	r                       *http.Request
	s                       *session
	who                     server.Caller
	region, arn, back, name string
}

// done redirects to the trail page's section (anchor, "#" and its id)
// with a success message, which the page shows in that section, next to
// the form that was sent.
func (a trailAct) done(msg, anchor string) {
	a.s.setFlash(msg, false)
	to := a.back
	if anchor != "" {
		to += "&done=" + url.QueryEscape(strings.TrimPrefix(anchor, "#")) + anchor
	}
	http.Redirect(a.w, a.r, to, http.StatusSeeOther)
}

// refuse keeps the refused form as sent and its errors (by field, "" for
// the form's) for the trail page, and redirects to the page's section
// (anchor), which shows them (trailAnswers).
func (a trailAct) refuse(anchor string, errs fieldErrs) {
	to := a.s.answer(answeredForm{Page: a.back, Action: a.r.URL.Path, Fields: formFields(a.r.PostForm), Errs: errs}, anchor, a.c.now())
	http.Redirect(a.w, a.r, to, http.StatusSeeOther)
}

// refuseWith is refuse with one error about the form as a whole.
func (a trailAct) refuseWith(anchor, msg string) { a.refuse(anchor, fieldErrs{"": msg}) }

func (a trailAct) logging(op string, run func(context.Context, server.Caller, server.NameInput) error, msg string) {
	if err := a.c.refused(op, run(a.r.Context(), a.who, server.NameInput{Name: &a.arn})); err != nil {
		a.s.setFlash(errText(err), true)
		http.Redirect(a.w, a.r, a.back, http.StatusSeeOther)
		return
	}
	a.done(msg, "")
}

func (a trailAct) update() {
	f := readTrailForm(a.r.PostForm)
	group, role := f.cloudWatch()
	in := trail.UpdateTrailInput{Name: &a.arn, S3BucketName: &f.Bucket, S3KeyPrefix: &f.Prefix, SnsTopicName: &f.SNS, KmsKeyId: &f.KMS,
		IsMultiRegionTrail: &f.MultiRegion, IncludeGlobalServiceEvents: &f.Global, EnableLogFileValidation: &f.Validation,
		CloudWatchLogsLogGroupArn: &group, CloudWatchLogsRoleArn: &role}
	_, err := a.c.opts.API.UpdateTrail(a.r.Context(), a.who, in)
	if err := a.c.refused("UpdateTrail", err); err != nil {
		a.refuse("#settings", placeErr(nil, err, "bucket", "prefix", "kms", "sns", "log_group", "log_role", "options"))
		return
	}
	a.done("Settings of "+a.name+" saved.", "#settings")
}

func (a trailAct) delete() {
	confirm := strings.TrimSpace(a.r.PostForm.Get("confirm"))
	if confirm != a.r.PostForm.Get("name") || confirm == "" {
		a.refuseWith("#delete", "That is not the trail's name. Type "+a.name+" exactly to confirm; nothing was deleted.")
		return
	}
	if err := a.c.refused("DeleteTrail", a.c.opts.API.DeleteTrail(a.r.Context(), a.who, server.NameInput{Name: &a.arn})); err != nil {
		a.refuseWith("#delete", errText(err))
		return
	}
	a.s.setFlash("Trail "+a.name+" deleted.", false)
	http.Redirect(a.w, a.r, "/console/trails?region="+url.QueryEscape(a.region), http.StatusSeeOther)
}

func (a trailAct) basic() {
	b := readBasicForm(a.r.PostForm)
	in := server.PutEventSelectorsInput{TrailName: &a.arn, EventSelectors: []trail.EventSelector{b.selector()}}
	_, err := a.c.opts.API.PutEventSelectors(a.r.Context(), a.who, in)
	if err := a.c.refused("PutEventSelectors", err); err != nil {
		a.refuseWith("#selectors", errText(err))
		return
	}
	a.done("Event selectors of "+a.name+" saved.", "#selectors")
}

func (a trailAct) advanced() {
	text := a.r.PostForm.Get("advanced")
	raw, problem := checkJSONArray(text)
	if problem == "" {
		in, err := advancedSelectors(a.arn, raw)
		if err == nil {
			_, err = a.c.opts.API.PutEventSelectors(a.r.Context(), a.who, in)
		}
		if err := a.c.refused("PutEventSelectors", err); err != nil {
			problem = errText(err)
		}
	}
	if problem != "" {
		a.refuseWith("#selectors", problem)
		return
	}
	a.done("Advanced event selectors of "+a.name+" saved.", "#selectors")
}

func (a trailAct) insights() {
	sel := readInsightForm(a.r.PostForm).selectors()
	in := server.PutInsightSelectorsInput{TrailName: &a.arn, InsightSelectors: &sel}
	_, err := a.c.opts.API.PutInsightSelectors(a.r.Context(), a.who, in)
	if err := a.c.refused("PutInsightSelectors", err); err != nil {
		a.refuseWith("#insights", errText(err))
		return
	}
	msg := "Insights turned off for " + a.name + "."
	if len(sel) > 0 {
		msg = "Insights of " + a.name + " saved: " + strings.Join(insightTypes(sel), ", ") + "."
	}
	a.done(msg, "#insights")
}

func insightTypes(sel []trail.InsightSelector) []string {
	var out []string
	for _, s := range sel {
		out = append(out, deref(s.InsightType))
	}
	return out
}

func (a trailAct) tagAdd() {
	k, v := strings.TrimSpace(a.r.PostForm.Get("key")), strings.TrimSpace(a.r.PostForm.Get("value"))
	in := server.TagsInput{ResourceId: &a.arn, TagsList: []trail.Tag{{Key: &k, Value: &v}}}
	if err := a.c.refused("AddTags", a.c.opts.API.AddTags(a.r.Context(), a.who, in)); err != nil {
		a.refuseWith("#tags", errText(err))
		return
	}
	a.done("Tag "+k+" saved.", "#tags")
}

func (a trailAct) tagRemove() {
	k := a.r.PostForm.Get("key")
	in := server.TagsInput{ResourceId: &a.arn, TagsList: []trail.Tag{{Key: &k}}}
	if err := a.c.refused("RemoveTags", a.c.opts.API.RemoveTags(a.r.Context(), a.who, in)); err != nil {
		a.refuseWith("#tags", errText(err))
		return
	}
	a.done("Tag "+k+" removed.", "#tags")
}

// advancedSelectors is the PutEventSelectors request of trail arn with the
// advanced selectors raw (a JSON array, see checkJSONArray), read as the
// API reads a request: selectors of the wrong shape are a
// SerializationException naming the member.
func advancedSelectors(arn string, raw json.RawMessage) (server.PutEventSelectorsInput, error) {
	body := append(append([]byte(`{"AdvancedEventSelectors":`), raw...), '}')
	var in server.PutEventSelectorsInput
	if err := awsproto.Decode(body, &in); err != nil {
		return server.PutEventSelectorsInput{}, err
	}
	in.TrailName = &arn
	return in, nil
}

// checkJSONArray checks that text is a JSON array and says where it is
// not, by line and column.
func checkJSONArray(text string) (json.RawMessage, string) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, "Enter the advanced event selectors as a JSON array, e.g. [{\"Name\":\"…\",\"FieldSelectors\":[…]}]."
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(text, se.Offset)
			return nil, fmt.Sprintf("The selectors are not valid JSON (line %d, column %d): %v", line, col, err)
		}
		return nil, "The selectors are not valid JSON: " + err.Error()
	}
	if dec.More() {
		return nil, "The selectors are not valid JSON: there is text after the array."
	}
	if _, ok := v.([]any); !ok {
		return nil, "The advanced event selectors must be a JSON array ([…])."
	}
	var buf bytes.Buffer
	json.Compact(&buf, []byte(text))
	return buf.Bytes(), ""
}

func lineCol(text string, off int64) (int, int) {
	if off > int64(len(text)) {
		off = int64(len(text))
	}
	line, col := 1, 1
	for _, ch := range text[:off] {
		if ch == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
