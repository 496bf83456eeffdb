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
	{"5m", "Last 5 minutes", 5 * time.Minute},
	{"15m", "Last 15 minutes", 15 * time.Minute},
	{"30m", "Last 30 minutes", 30 * time.Minute},
	{"1h", "Last hour", time.Hour},
	{"24h", "Last 24 hours", 24 * time.Hour},
	{"7d", "Last 7 days", 7 * 24 * time.Hour},
	{"90d", "Last 90 days", 90 * 24 * time.Hour},
	{"custom", "Custom range", 0},
}

const defaultRange = "24h"

// inputTime is the layout of the custom range's inputs (datetime-local, in
// the filter's zone).
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
	// StartIn and EndIn are the custom range as the inputs show it: in
	// Loc, or exactly as typed when RangeErr says what is wrong with it.
	StartIn, EndIn string
	// Loc is the zone the page shows times in and reads the custom
	// range's inputs in (never nil; UTC unless the user chose another).
	Loc *time.Location
	// Size is the page size (LookupEvents' MaxResults): one of pageSizes.
	Size int
	// RangeErr is what is wrong with the custom range (shown next to it);
	// a filter with one shows no events.
	RangeErr string
	// Hint says why the value will likely match nothing (next to it).
	Hint string
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
// (epoch seconds; links carry it) or now; a custom range is in the URL's
// zone (tz, else UTC). problem says why the filter cannot be used: an
// unknown zone, or the custom range's RangeErr (which the page shows next
// to the range, and downloads refuse).
func (c *Console) parseFilter(r *http.Request, region string) (filter, string) {
	q := r.URL.Query()
	f := filter{Region: region, Attr: q.Get("attr"), Value: strings.TrimSpace(q.Get("value")), Range: q.Get("range"),
		Size: parseSize(q.Get("size"))}
	show, read, problem := zoneOf(r)
	f.Loc = show
	f.ShowReadOnly = q.Get("readonly") == "show"
	if !slices.ContainsFunc(lookupAttributes, func(a struct{ Key, Label string }) bool { return a.Key == f.Attr }) {
		f.Attr = "Username"
	}
	f.Hint = valueHint(f.Attr, f.Value)
	if f.Range == "" {
		f.Range = defaultRange
	}
	now := c.now().UTC().Truncate(time.Second)
	if f.Range == "custom" {
		f.customRange(q, now, read, problem != "")
		if f.RangeErr != "" {
			problem = f.RangeErr
		}
		return f, problem
	}
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
	f.StartIn, f.EndIn = f.Start.In(f.Loc).Format(inputTime), f.End.In(f.Loc).Format(inputTime)
	return f, problem
}

// customRange reads the custom range's start and end (written in zone
// read; either may be left out: the end is then now, the start 24 hours
// before the end). A range that cannot be read, or that starts after it
// ends, is RangeErr, with the inputs kept as typed.
func (f *filter) customRange(q url.Values, now time.Time, read *time.Location, badZone bool) {
	startIn, endIn := q.Get("start"), q.Get("end")
	f.StartIn, f.EndIn = startIn, endIn
	if badZone {
		f.RangeErr = "The custom range's time zone " + strconv.Quote(q.Get("tz")) + " is not one this server knows."
		return
	}
	var ok bool
	if f.End, ok = inputOr(endIn, read, now); !ok {
		f.RangeErr = "The end of the custom range is not a date and time."
		return
	}
	if f.Start, ok = inputOr(startIn, read, f.End.Add(-24*time.Hour)); !ok {
		f.RangeErr = "The start of the custom range is not a date and time."
		return
	}
	if f.Start.After(f.End) {
		f.RangeErr = "The custom range starts after it ends: its start must be before its end."
		return
	}
	f.StartIn, f.EndIn = f.Start.In(f.Loc).Format(inputTime), f.End.In(f.Loc).Format(inputTime)
}

// inputOr is the time input v gives in zone read, or def when it is empty;
// ok is false when v is no time.
func inputOr(v string, read *time.Location, def time.Time) (t time.Time, ok bool) {
	if v == "" {
		return def, true
	}
	return parseInputTime(v, read)
}

// parseInputTime reads a time the custom range's inputs (or a link) give,
// in zone loc unless it names its own offset.
func parseInputTime(v string, loc *time.Location) (time.Time, bool) {
	for _, layout := range []string{inputTime, "2006-01-02T15:04", time.RFC3339, "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(v), loc); err == nil {
			return t.UTC().Truncate(time.Second), true
		}
	}
	return time.Time{}, false
}

// query is the filter as URL parameters, with its window pinned: a preset's
// end as "at", a custom range in the page's zone (named by tz unless UTC).
func (f filter) query() url.Values {
	q := url.Values{"region": {f.Region}, "range": {f.Range}}
	if f.Value != "" {
		q.Set("attr", f.Attr)
		q.Set("value", f.Value)
	}
	if f.Size != 0 && f.Size != pageSize {
		q.Set("size", strconv.Itoa(f.Size))
	}
	if f.ShowReadOnly {
		q.Set("readonly", "show")
	}
	if f.Range == "custom" {
		loc := f.Loc
		if loc == nil {
			loc = time.UTC
		}
		q.Set("start", f.Start.In(loc).Format(inputTime))
		q.Set("end", f.End.In(loc).Format(inputTime))
		if loc != time.UTC && loc.String() != "UTC" {
			q.Set("tz", loc.String())
		}
	} else {
		q.Set("at", strconv.FormatInt(f.End.Unix(), 10))
	}
	return q
}

// request is the LookupEvents request of one page of the filter's events.
func (f filter) request(token string) history.Input {
	size := f.Size
	if size == 0 {
		size = pageSize
	}
	in := history.Input{StartTime: &awsproto.Time{Time: f.Start}, EndTime: &awsproto.Time{Time: f.End},
		MaxResults: ptr(size)}
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
	// Resources are the resources by their short and full names.
	Resources []resource
	ReadOnly  string
	ErrorCode string
	AccessKey string
	SourceIP  string
	Region    string
	Link      string
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
		Resources: resourcesOf(types, names), ErrorCode: rf.ErrorCode, AccessKey: e.AccessKeyId, SourceIP: rf.SourceIPAddress,
		Region: rf.AWSRegion}
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
	// Sizes are the page-size choices; Columns the column chooser's, with
	// Cols the ones shown until the user chooses.
	Sizes   []sizeLink
	Columns []column
	Cols    string
	// Resume offers the download that was asked for without a session
	// (download.go's signInNext), now that the user has signed in.
	Resume *resumeDownload
}

// maxPrevTokens bounds the tokens a page link carries to go back.
const maxPrevTokens = 40

func (c *Console) eventsPage(w http.ResponseWriter, r *http.Request, s *session) {
	if clean, unused := unusedParams(r.URL.Query()); unused {
		http.Redirect(w, r, "/console/events?"+clean.Encode(), http.StatusSeeOther)
		return
	}
	region, ok := c.region(r, s)
	p := eventsPage{base: c.base(s, r, "Event history", "events", region), Attributes: lookupAttributes, Ranges: timeRanges,
		Columns: columns, Cols: defaultColumns()}
	if !ok {
		p.Error = "Region " + r.URL.Query().Get("region") + " is not served here; showing " + region + "."
	}
	f, problem := c.parseFilter(r, region)
	if problem != "" && problem != f.RangeErr {
		p.Error = problem
	}
	p.F, p.FilterSet = f, f.Value != ""
	p.Live = live(f)
	p.Zone, p.Sizes = f.Loc.String(), f.sizeLinks()
	if f.RangeErr != "" {
		c.render(w, http.StatusOK, "events.html", p) // no window: no events
		return
	}
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
	dl := withParams(base, "size", "").Encode() // downloads read whole pages
	p.CSVURL = "/console/events.csv?" + dl
	p.JSONURL = "/console/events.json?" + dl
	p.Resume = p.resume(q.Get(resumeParam))
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
		rw.Time = rw.Time.In(f.Loc)
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
	// UTC is the event's time in UTC, shown beside Row.Time (in Zone).
	UTC time.Time
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
	show, _, _ := zoneOf(r)
	p.UTC, p.Row.Time, p.Zone = p.Row.Time, p.Row.Time.In(show), show.String()
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
