package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/history"
)

// pageSize is how many events a page of the table shows (LookupEvents'
// maximum).
const pageSize = 50

// lookupAttributes are LookupEvents' attribute keys, as the filter offers
// them.
var lookupAttributes = []struct{ Key, Label string }{
	{"Username", "User name"},
	{"EventName", "Event name"},
	{"EventSource", "Event source"},
	{"ResourceType", "Resource type"},
	{"ResourceName", "Resource name"},
	{"ReadOnly", "Read-only"},
	{"AccessKeyId", "AWS access key"},
	{"EventId", "Event ID"},
}

// timeRanges are the filter's presets.
var timeRanges = []struct {
	Key, Label string
	Span       time.Duration
}{
	{"1h", "Last hour", time.Hour},
	{"24h", "Last 24 hours", 24 * time.Hour},
	{"7d", "Last 7 days", 7 * 24 * time.Hour},
	{"90d", "Last 90 days", 90 * 24 * time.Hour},
	{"custom", "Custom range", 0},
}

const defaultRange = "24h"

// inputTime is the layout of the custom range's inputs (datetime-local, UTC).
const inputTime = "2006-01-02T15:04:05"

// filter is the event history's current filter, resolved to absolute
// times so that paging and downloads see exactly the same window.
type filter struct {
	Region string
	Attr   string
	Value  string
	Range  string
	Start  time.Time
	End    time.Time
	// StartIn and EndIn are the custom range as the inputs show it.
	StartIn, EndIn string
	// Loc is the zone the page shows times in and reads the custom
	// range's inputs in (never nil; UTC unless the user chose another).
	Loc *time.Location
	// ShowReadOnly lists the read-only events too (readonly=show); by
	// default they are hidden, as in CloudTrail's console.
	ShowReadOnly bool
}

// Hides reports whether the filter leaves out the read-only events: by
// default, unless its lookup attribute is ReadOnly (or EventId), which
// decides by itself.
func (f filter) Hides() bool {
	return !f.ShowReadOnly && !f.ToggleIgnored()
}

// ToggleIgnored reports whether the read-only toggle does not apply: the
// filter's attribute is ReadOnly or EventId.
func (f filter) ToggleIgnored() bool {
	return f.Value != "" && !history.HidesReadOnly(f.Attr)
}

// pageInput is the LookupEventsPage request of one page of the filter's
// events with the counts of its chart (plan).
func (f filter) pageInput(token string, plan chartPlan) history.PageInput {
	in := history.PageInput{Input: f.request(token), HideReadOnly: f.Hides()}
	in.BucketSeconds, in.BucketOrigin = plan.countInput()
	return in
}

// exportInput is the LookupEventsExport request of everything the filter
// matches, written as format.
func (f filter) exportInput(format string) history.ExportInput {
	in := f.request("")
	return history.ExportInput{LookupAttributes: in.LookupAttributes, StartTime: in.StartTime, EndTime: in.EndTime,
		HideReadOnly: f.Hides(), Format: format}
}

// parseFilter reads the filter of an events request. Presets end at "at"
// (epoch seconds; links carry it) or now; a custom range is in UTC.
func (c *Console) parseFilter(r *http.Request, region string) (filter, string) {
	q := r.URL.Query()
	f := filter{Region: region, Attr: q.Get("attr"), Value: strings.TrimSpace(q.Get("value")), Range: q.Get("range"), Loc: time.UTC}
	f.ShowReadOnly = q.Get("readonly") == "show"
	var problem string
	if !slices.ContainsFunc(lookupAttributes, func(a struct{ Key, Label string }) bool { return a.Key == f.Attr }) {
		f.Attr = "Username"
	}
	if f.Range == "" {
		f.Range = defaultRange
	}
	now := c.now().UTC().Truncate(time.Second)
	if f.Range == "custom" {
		f.End = now
		if v := q.Get("end"); v != "" {
			t, ok := parseInputTime(v)
			if !ok {
				problem = "The end of the custom range is not a date and time."
			} else {
				f.End = t
			}
		}
		f.Start = f.End.Add(-24 * time.Hour)
		if v := q.Get("start"); v != "" {
			t, ok := parseInputTime(v)
			if !ok {
				problem = "The start of the custom range is not a date and time."
			} else {
				f.Start = t
			}
		}
		if f.Start.After(f.End) {
			problem = "The custom range starts after it ends."
			f.Start = f.End.Add(-24 * time.Hour)
		}
	} else {
		span := time.Duration(0)
		for _, tr := range timeRanges {
			if tr.Key == f.Range {
				span = tr.Span
			}
		}
		if span == 0 {
			f.Range, span = defaultRange, 24*time.Hour
		}
		f.End = now
		if at, err := strconv.ParseInt(q.Get("at"), 10, 64); err == nil && at > 0 && at <= now.Unix() {
			f.End = time.Unix(at, 0).UTC()
		}
		f.Start = f.End.Add(-span)
	}
	f.StartIn, f.EndIn = f.Start.Format(inputTime), f.End.Format(inputTime)
	return f, problem
}

func parseInputTime(v string) (time.Time, bool) {
	for _, layout := range []string{inputTime, "2006-01-02T15:04", time.RFC3339, "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(v), time.UTC); err == nil {
			return t.UTC().Truncate(time.Second), true
		}
	}
	return time.Time{}, false
}

// query is the filter as URL parameters, with its window pinned.
func (f filter) query() url.Values {
	q := url.Values{"region": {f.Region}, "range": {f.Range}}
	if f.Value != "" {
		q.Set("attr", f.Attr)
		q.Set("value", f.Value)
	}
	if f.ShowReadOnly {
		q.Set("readonly", "show")
	}
	if f.Range == "custom" {
		q.Set("start", f.Start.Format(inputTime))
		q.Set("end", f.End.Format(inputTime))
	} else {
		q.Set("at", strconv.FormatInt(f.End.Unix(), 10))
	}
	return q
}

// request is the LookupEvents request of one page of the filter's events.
func (f filter) request(token string) history.Input {
	in := history.Input{StartTime: &awsproto.Time{Time: f.Start}, EndTime: &awsproto.Time{Time: f.End},
		MaxResults: ptr(pageSize)}
	if token != "" {
		in.NextToken = &token
	}
	if f.Value != "" {
		in.LookupAttributes = []history.LookupAttribute{{AttributeKey: &f.Attr, AttributeValue: &f.Value}}
	}
	return in
}

func ptr[T any](v T) *T { return &v }

// row is one event as the table and the downloads show it.
type row struct {
	ID            string
	Time          time.Time
	User          string
	Name          string
	Source        string
	ResourceTypes string
	ResourceNames string
	ReadOnly      string
	ErrorCode     string
	AccessKey     string
	SourceIP      string
	Link          string
}

// recordFields are the parts of a record the summary does not carry.
type recordFields struct {
	ErrorCode       string `json:"errorCode"`
	ErrorMessage    string `json:"errorMessage"`
	SourceIPAddress string `json:"sourceIPAddress"`
	UserAgent       string `json:"userAgent"`
	AWSRegion       string `json:"awsRegion"`
}

func toRow(e history.Event) row {
	var rf recordFields
	_ = json.Unmarshal([]byte(e.CloudTrailEvent), &rf)
	var types, names []string
	for _, res := range e.Resources {
		if res.ResourceType != nil {
			types = append(types, *res.ResourceType)
		}
		if res.ResourceName != nil {
			names = append(names, *res.ResourceName)
		}
	}
	return row{ID: e.EventId, Time: e.EventTime.UTC(), User: e.Username, Name: e.EventName, Source: e.EventSource,
		ResourceTypes: strings.Join(types, ", "), ResourceNames: strings.Join(names, ", "), ReadOnly: e.ReadOnly,
		ErrorCode: rf.ErrorCode, AccessKey: e.AccessKeyId, SourceIP: rf.SourceIPAddress}
}

type eventsPage struct {
	base
	F          filter
	Attributes []struct{ Key, Label string }
	Ranges     []struct {
		Key, Label string
		Span       time.Duration
	}
	Rows      []row
	Page      int
	NextURL   string
	PrevURL   string
	FirstURL  string
	CSVURL    string
	JSONURL   string
	Chart     *chart
	Loaded    bool
	FilterSet bool
	// Matching is how many events match the filter over the whole range
	// (the chart's total).
	Matching int
	// ShowReadOnlyURL is this view with the read-only events.
	ShowReadOnlyURL string
	// Live is the Live mode's stream and what of the filter it applies.
	Live liveFilter
}

// maxPrevTokens bounds the tokens a page link carries to go back.
const maxPrevTokens = 40

func (c *Console) eventsPage(w http.ResponseWriter, r *http.Request, s *session) {
	region, ok := c.region(r, s)
	p := eventsPage{base: c.base(s, r, "Event history", "events", region), Attributes: lookupAttributes, Ranges: timeRanges}
	if !ok {
		p.Error = "Region " + r.URL.Query().Get("region") + " is not served here; showing " + region + "."
	}
	f, problem := c.parseFilter(r, region)
	if problem != "" {
		p.Error = problem
	}
	p.F, p.FilterSet = f, f.Value != ""
	p.Live = live(f)
	q := r.URL.Query()
	token := q.Get("token")
	var prev []string
	if v := q.Get("prev"); v != "" {
		prev = strings.Split(v, ".")
	}
	if len(prev) > maxPrevTokens {
		prev = prev[len(prev)-maxPrevTokens:]
	}
	p.Page = 1
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 && token != "" {
		p.Page = n
	}
	base := f.query()
	p.FirstURL = "/console/events?" + base.Encode()
	p.ShowReadOnlyURL = "/console/events?" + withParams(base, "readonly", "show").Encode()
	p.CSVURL = "/console/events.csv?" + base.Encode()
	p.JSONURL = "/console/events.json?" + base.Encode()
	// One call: the page, the chart's counts and the totals (one audit
	// record, with the filter in its requestParameters).
	plan := planChart(f)
	res, err := c.opts.API.LookupEventsPage(r.Context(), c.caller(r, s, f.Region), f.pageInput(token, plan))
	if err = c.refused("LookupEvents", err); err != nil {
		p.Error = errText(err)
		c.render(w, http.StatusOK, "events.html", p)
		return
	}
	out := res.Output
	p.Loaded = true
	if res.Counts != nil {
		p.Chart = buildChart(f, plan, res.Counts, c.now())
		p.Matching = p.Chart.Total
	}
	here := base.Encode()
	if token != "" {
		here = withParams(base, "token", token, "page", strconv.Itoa(p.Page), "prev", strings.Join(prev, ".")).Encode()
	}
	for _, e := range out.Events {
		rw := toRow(e)
		rw.Link = "/console/events/" + url.PathEscape(e.EventId) + "?" + url.Values{"region": {region}, "back": {here}}.Encode()
		p.Rows = append(p.Rows, rw)
	}
	if out.NextToken != nil {
		next := append(slices.Clone(prev), tokenOrDash(token))
		if len(next) > maxPrevTokens {
			next = next[len(next)-maxPrevTokens:]
		}
		p.NextURL = "/console/events?" + withParams(base, "token", *out.NextToken, "page", strconv.Itoa(p.Page+1),
			"prev", strings.Join(next, ".")).Encode()
	}
	if p.Page > 1 && len(prev) > 0 {
		last := prev[len(prev)-1]
		if last == "-" {
			p.PrevURL = p.FirstURL
		} else {
			p.PrevURL = "/console/events?" + withParams(base, "token", last, "page", strconv.Itoa(p.Page-1),
				"prev", strings.Join(prev[:len(prev)-1], ".")).Encode()
		}
	}
	c.render(w, http.StatusOK, "events.html", p)
}

func tokenOrDash(t string) string {
	if t == "" {
		return "-"
	}
	return t
}

// withParams copies q and sets pairs of names and values (empty values
// are left out).
func withParams(q url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			out.Del(kv[i])
		} else {
			out.Set(kv[i], kv[i+1])
		}
	}
	return out
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

type recordPage struct {
	base
	Row     row
	JSON    string
	Fields  recordFields
	BackURL string
	ByUser  string
	ByRes   string
	Found   bool
}

func (c *Console) recordPage(w http.ResponseWriter, r *http.Request, s *session) {
	region, _ := c.region(r, s)
	id := r.PathValue("id")
	p := recordPage{base: c.base(s, r, "Event "+id, "events", region), BackURL: "/console/events?region=" + url.QueryEscape(region)}
	if back, err := url.ParseQuery(r.URL.Query().Get("back")); err == nil && len(back) > 0 {
		back.Set("region", region)
		p.BackURL = "/console/events?" + back.Encode()
	}
	key := "EventId"
	out, err := c.opts.API.LookupEvents(r.Context(), c.caller(r, s, region), history.Input{
		LookupAttributes: []history.LookupAttribute{{AttributeKey: &key, AttributeValue: &id}}, MaxResults: ptr(1)})
	err = c.refused("LookupEvents", err)
	switch {
	case err != nil:
		p.Error = errText(err)
		c.render(w, http.StatusOK, "record.html", p)
		return
	case len(out.Events) == 0:
		p.Error = "No event " + id + " in the event history of " + region + "."
		c.render(w, http.StatusNotFound, "record.html", p)
		return
	}
	e := out.Events[0]
	p.Found = true
	p.Row = toRow(e)
	_ = json.Unmarshal([]byte(e.CloudTrailEvent), &p.Fields)
	var buf bytes.Buffer
	if json.Indent(&buf, []byte(e.CloudTrailEvent), "", "  ") == nil {
		p.JSON = buf.String()
	} else {
		p.JSON = e.CloudTrailEvent
	}
	if p.Row.User != "" {
		p.ByUser = "/console/events?" + url.Values{"region": {region}, "attr": {"Username"}, "value": {p.Row.User}, "range": {"7d"}}.Encode()
	}
	if len(e.Resources) > 0 && e.Resources[0].ResourceName != nil {
		p.ByRes = "/console/events?" + url.Values{"region": {region}, "attr": {"ResourceName"}, "value": {*e.Resources[0].ResourceName}, "range": {"7d"}}.Encode()
	}
	c.render(w, http.StatusOK, "record.html", p)
}
