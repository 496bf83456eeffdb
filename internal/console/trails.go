package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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

func viewStatus(st server.StatusOutput) statusView {
	v := statusView{Logging: st.IsLogging, LastDelivery: fmtTime(st.LatestDeliveryTime), LastDigest: fmtTime(st.LatestDigestDeliveryTime),
		Started: fmtTime(st.StartLoggingTime), Stopped: fmtTime(st.StopLoggingTime),
		LastCloudWatchLogs: fmtTime(st.LatestCloudWatchLogsDeliveryTime), CloudWatchLogsError: st.LatestCloudWatchLogsDeliveryError}
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

func fmtTime(t *awsproto.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05")
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
			tr.Status = viewStatus(st)
		}
		p.Trails = append(p.Trails, tr)
	}
	c.render(w, http.StatusOK, "trails.html", p)
}

// trailForm is the settings form of a trail, as typed.
type trailForm struct {
	Name        string
	Bucket      string
	Prefix      string
	SNS         string
	KMS         string
	MultiRegion bool
	Global      bool
	Validation  bool
	Tags        string
}

func readTrailForm(r *http.Request) trailForm {
	f := r.PostForm
	return trailForm{Name: strings.TrimSpace(f.Get("name")), Bucket: strings.TrimSpace(f.Get("bucket")), Prefix: strings.TrimSpace(f.Get("prefix")),
		SNS: strings.TrimSpace(f.Get("sns")), KMS: strings.TrimSpace(f.Get("kms")), MultiRegion: f.Get("multi_region") != "",
		Global: f.Get("global") != "", Validation: f.Get("validation") != "", Tags: f.Get("tags")}
}

// parseTags reads "key=value" lines.
func parseTags(text string) ([]trail.Tag, error) {
	var tags []trail.Tag
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "" {
			return nil, fmt.Errorf("tags line %d has no key; write key=value", n+1)
		}
		tags = append(tags, trail.Tag{Key: &k, Value: &v})
	}
	return tags, nil
}

type newTrailPage struct {
	base
	Form trailForm
}

func (c *Console) newTrailPage(w http.ResponseWriter, r *http.Request, s *session) {
	region, _ := c.region(r, s)
	p := newTrailPage{base: c.base(s, r, "Create trail", "trails", region), Form: trailForm{MultiRegion: true, Global: true, Validation: true}}
	c.render(w, http.StatusOK, "trail_new.html", p)
}

func (c *Console) createTrail(w http.ResponseWriter, r *http.Request, s *session) {
	region, _ := c.region(r, s)
	p := newTrailPage{base: c.base(s, r, "Create trail", "trails", region), Form: readTrailForm(r)}
	fail := func(msg string) {
		p.Error = msg
		c.render(w, http.StatusBadRequest, "trail_new.html", p)
	}
	tags, err := parseTags(p.Form.Tags)
	if err != nil {
		fail(err.Error())
		return
	}
	f := p.Form
	in := trail.CreateTrailInput{Name: &f.Name, S3BucketName: &f.Bucket, IsMultiRegionTrail: &f.MultiRegion,
		IncludeGlobalServiceEvents: &f.Global, EnableLogFileValidation: &f.Validation,
		S3KeyPrefix: setOrNil(f.Prefix), SnsTopicName: setOrNil(f.SNS), KmsKeyId: setOrNil(f.KMS), TagsList: tags}
	out, err := c.opts.API.CreateTrail(r.Context(), c.caller(r, s, region), in)
	if err := c.refused("CreateTrail", err); err != nil {
		fail(errText(err))
		return
	}
	s.setFlash("Trail "+out.Name+" created. It does not log until you start logging.", false)
	http.Redirect(w, r, trailLink(region, out.TrailARN), http.StatusSeeOther)
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
	ARN          string
	Found        bool
	T            server.TrailShape
	Shadow       bool
	Owned        bool
	HomeURL      string
	Status       statusView
	StatusErr    string
	Form         trailForm
	FormErr      string
	Basic        basicForm
	BasicErr     string
	Advanced     string
	AdvancedErr  string
	UsesAdvanced bool
	SelectorsErr string
	Tags         []tagView
	TagsErr      string
	TagKey       string
	TagValue     string
	DeleteErr    string
}

// loadTrail reads everything the trail page shows.
func (c *Console) loadTrail(r *http.Request, s *session, region, arn string) trailPage {
	p := trailPage{base: c.base(s, r, "Trail", "trails", region), ARN: arn}
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
		MultiRegion: t.IsMultiRegionTrail, Global: t.IncludeGlobalServiceEvents, Validation: t.LogFileValidationEnabled}
	st, err := c.opts.API.GetTrailStatus(r.Context(), who, server.NameInput{Name: &arn})
	if err := c.refused("GetTrailStatus", err); err != nil {
		p.StatusErr = errText(err)
	} else {
		p.Status = viewStatus(st)
	}
	p.Basic = basicForm{ReadWrite: "All", Management: true}
	if !p.Shadow {
		sel, err := c.opts.API.GetEventSelectors(r.Context(), who, server.GetEventSelectorsInput{TrailName: &arn})
		if err := c.refused("GetEventSelectors", err); err != nil {
			p.SelectorsErr = errText(err)
		} else {
			p.Basic.Count = len(sel.EventSelectors)
			if len(sel.EventSelectors) > 0 {
				p.Basic = basicOf(sel.EventSelectors[0], len(sel.EventSelectors))
			}
			if len(sel.AdvancedEventSelectors) > 0 {
				p.UsesAdvanced = true
				b, _ := json.MarshalIndent(sel.AdvancedEventSelectors, "", "  ")
				p.Advanced = string(b)
			}
		}
	}
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
		if deref(dr.Type) == "AWS::S3::Object" {
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
	c.render(w, status, "trail.html", p)
}

// trailAction runs one change of the trail page's forms. Success goes back
// to the page with a message; a refused change shows the page again with
// what was typed and the API's message next to the form.
func (c *Console) trailAction(w http.ResponseWriter, r *http.Request, s *session) {
	region, _ := c.region(r, s)
	arn := r.PostForm.Get("arn")
	action := r.PathValue("action")
	back := trailLink(region, arn)
	done := func(msg, anchor string) {
		s.setFlash(msg, false)
		http.Redirect(w, r, back+anchor, http.StatusSeeOther)
	}
	// again shows the page with the section's error set by edit.
	again := func(edit func(p *trailPage)) {
		p := c.loadTrail(r, s, region, arn)
		edit(&p)
		c.render(w, http.StatusBadRequest, "trail.html", p)
	}
	name := r.PostForm.Get("name")
	if name == "" {
		name = arn
	}
	ctx, who := r.Context(), c.caller(r, s, region)
	switch action {
	case "start", "stop":
		op, run, msg := "StartLogging", c.opts.API.StartLogging, "Logging started for "+name+"."
		if action == "stop" {
			op, run, msg = "StopLogging", c.opts.API.StopLogging, "Logging stopped for "+name+"."
		}
		if err := c.refused(op, run(ctx, who, server.NameInput{Name: &arn})); err != nil {
			s.setFlash(errText(err), true)
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
		done(msg, "")
	case "update":
		f := readTrailForm(r)
		in := trail.UpdateTrailInput{Name: &arn, S3BucketName: &f.Bucket, S3KeyPrefix: &f.Prefix, SnsTopicName: &f.SNS, KmsKeyId: &f.KMS,
			IsMultiRegionTrail: &f.MultiRegion, IncludeGlobalServiceEvents: &f.Global, EnableLogFileValidation: &f.Validation}
		_, err := c.opts.API.UpdateTrail(ctx, who, in)
		if err := c.refused("UpdateTrail", err); err != nil {
			again(func(p *trailPage) {
				f.Name = p.Form.Name
				p.Form, p.FormErr = f, errText(err)
			})
			return
		}
		done("Settings of "+name+" saved.", "#settings")
	case "delete":
		if strings.TrimSpace(r.PostForm.Get("confirm")) != r.PostForm.Get("name") || r.PostForm.Get("name") == "" {
			again(func(p *trailPage) { p.DeleteErr = "Type the trail's name, " + p.T.Name + ", to confirm." })
			return
		}
		if err := c.refused("DeleteTrail", c.opts.API.DeleteTrail(ctx, who, server.NameInput{Name: &arn})); err != nil {
			again(func(p *trailPage) { p.DeleteErr = errText(err) })
			return
		}
		s.setFlash("Trail "+name+" deleted.", false)
		http.Redirect(w, r, "/console/trails?region="+url.QueryEscape(region), http.StatusSeeOther)
	case "selectors":
		b := basicForm{ReadWrite: r.PostForm.Get("read_write"), Management: r.PostForm.Get("management") != "",
			S3: r.PostForm.Get("s3"), ExcludeKMS: r.PostForm.Get("exclude_kms") != "", ExcludeRDS: r.PostForm.Get("exclude_rds") != ""}
		sel := trail.EventSelector{ReadWriteType: &b.ReadWrite, IncludeManagementEvents: &b.Management}
		var values []string
		for _, v := range strings.Split(b.S3, "\n") {
			if v = strings.TrimSpace(v); v != "" {
				values = append(values, v)
			}
		}
		if len(values) > 0 {
			typ := "AWS::S3::Object"
			sel.DataResources = []trail.DataResource{{Type: &typ, Values: values}}
		}
		if b.ExcludeKMS {
			sel.ExcludeManagementEventSources = append(sel.ExcludeManagementEventSources, "kms.amazonaws.com")
		}
		if b.ExcludeRDS {
			sel.ExcludeManagementEventSources = append(sel.ExcludeManagementEventSources, "rdsdata.amazonaws.com")
		}
		_, err := c.opts.API.PutEventSelectors(ctx, who, server.PutEventSelectorsInput{TrailName: &arn, EventSelectors: []trail.EventSelector{sel}})
		if err := c.refused("PutEventSelectors", err); err != nil {
			again(func(p *trailPage) { p.Basic, p.BasicErr = b, errText(err) })
			return
		}
		done("Event selectors of "+name+" saved.", "#selectors")
	case "advanced":
		text := r.PostForm.Get("advanced")
		raw, problem := checkJSONArray(text)
		if problem == "" {
			in, err := advancedSelectors(arn, raw)
			if err == nil {
				_, err = c.opts.API.PutEventSelectors(ctx, who, in)
			}
			if err := c.refused("PutEventSelectors", err); err != nil {
				problem = errText(err)
			}
		}
		if problem != "" {
			again(func(p *trailPage) { p.Advanced, p.AdvancedErr = text, problem })
			return
		}
		done("Advanced event selectors of "+name+" saved.", "#selectors")
	case "tag-add":
		k, v := strings.TrimSpace(r.PostForm.Get("key")), strings.TrimSpace(r.PostForm.Get("value"))
		in := server.TagsInput{ResourceId: &arn, TagsList: []trail.Tag{{Key: &k, Value: &v}}}
		if err := c.refused("AddTags", c.opts.API.AddTags(ctx, who, in)); err != nil {
			again(func(p *trailPage) { p.TagKey, p.TagValue, p.TagsErr = k, v, errText(err) })
			return
		}
		done("Tag "+k+" saved.", "#tags")
	case "tag-remove":
		k := r.PostForm.Get("key")
		in := server.TagsInput{ResourceId: &arn, TagsList: []trail.Tag{{Key: &k}}}
		if err := c.refused("RemoveTags", c.opts.API.RemoveTags(ctx, who, in)); err != nil {
			again(func(p *trailPage) { p.TagsErr = errText(err) })
			return
		}
		done("Tag "+k+" removed.", "#tags")
	default:
		c.notFound(w, r)
	}
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
