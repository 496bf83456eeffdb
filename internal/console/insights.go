package console

import (
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/insights"
	"github.com/cairn-audit/cairn/internal/insights/query"
)

// The Insights pages: the list of the account's Insights in a region
// (LookupEvents with EventCategory insight, Start and End paired by
// sharedEventID), and one Insight: its API's per-minute rate around it
// against its baseline (ListInsightsMetricData, drawn as the event
// history's chart), its statistics and attributions, and links to the
// events of its window in event history.

// insightsLookups is how many LookupEvents pages the list reads at most
// (50 records each).
const insightsLookups = 4

// insightRow is one Insight of the list.
type insightRow struct {
	Shared      string
	Type        string
	Source      string
	Name        string
	Start, End  time.Time
	Ongoing     bool
	Baseline    float64
	InsightAvg  float64
	Link        string
	Duration    int64
	start, end_ *insights.Transition
}

type insightsPage struct {
	base
	Loaded bool
	Rows   []insightRow
	More   bool
}

// insightsPage lists the Insights of the region, newest first.
func (c *Console) insightsPage(w http.ResponseWriter, r *http.Request, s *session) {
	region, ok := c.region(r, s)
	p := insightsPage{base: c.base(s, r, "Insights", "insights", region)}
	if !ok {
		p.Error = "Region " + r.URL.Query().Get("region") + " is not served here; showing " + region + "."
	}
	trs, more, err := c.insightRecords(r, s, region, nil)
	if err != nil {
		p.Error = errText(err)
		c.render(w, http.StatusOK, "insights.html", p)
		return
	}
	p.Loaded, p.More = true, more
	p.Rows = pairInsights(trs, region)
	c.render(w, http.StatusOK, "insights.html", p)
}

// insightRecords reads the Insights records of the region through
// LookupEvents (optionally with one lookup attribute); more is true when
// there were more than the pages read.
func (c *Console) insightRecords(r *http.Request, s *session, region string, attr *history.LookupAttribute) ([]insights.Transition, bool, error) {
	who := c.caller(r, s, region)
	in := history.Input{EventCategory: ptr("insight")}
	if attr != nil {
		in.LookupAttributes = []history.LookupAttribute{*attr}
	}
	var out []insights.Transition
	for range insightsLookups {
		page, err := c.opts.API.LookupEvents(r.Context(), who, in)
		if err := c.refused("LookupEvents", err); err != nil {
			return nil, false, err
		}
		for _, e := range page.Events {
			if tr, ok := insights.ParseRecord([]byte(e.CloudTrailEvent)); ok {
				out = append(out, tr)
			}
		}
		if page.NextToken == nil {
			return out, false, nil
		}
		in.NextToken = page.NextToken
	}
	return out, true, nil
}

// pairInsights pairs Starts and Ends by sharedEventID, newest first.
func pairInsights(trs []insights.Transition, region string) []insightRow {
	by := map[string]*insightRow{}
	var order []string
	for i := range trs {
		tr := &trs[i]
		row := by[tr.SharedEventID]
		if row == nil {
			row = &insightRow{Shared: tr.SharedEventID, Type: tr.Key.InsightType, Source: tr.Key.EventSource, Name: tr.Key.EventName,
				Ongoing: true, Link: "/console/insight?" + url.Values{"id": {tr.SharedEventID}, "name": {tr.Key.EventName}, "region": {region}}.Encode()}
			by[tr.SharedEventID] = row
			order = append(order, tr.SharedEventID)
		}
		switch tr.State {
		case "Start":
			row.start, row.Start = tr, tr.Time
			if row.end_ == nil {
				row.Baseline, row.InsightAvg, row.Duration = tr.Statistics.Baseline.Average, tr.Statistics.Insight.Average, tr.Statistics.InsightDuration
			}
		case "End":
			row.end_, row.End, row.Ongoing = tr, tr.Time, false
			row.Baseline, row.InsightAvg, row.Duration = tr.Statistics.Baseline.Average, tr.Statistics.Insight.Average, tr.Statistics.InsightDuration
			if row.Start.IsZero() {
				row.Start = tr.Time.Add(-time.Duration(tr.Statistics.InsightDuration) * time.Minute)
			}
		}
	}
	rows := make([]insightRow, 0, len(order))
	for _, id := range order {
		rows = append(rows, *by[id])
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Start.After(rows[j].Start) })
	return rows
}

// insightPage is one Insight.
type insightPage struct {
	base
	Row          insightRow
	Found        bool
	Chart        *chart
	BaselineY    float64
	WindowX      float64
	WindowW      float64
	ChartNote    string
	Attributions []attributionView
	EventsURL    string
}

// attributionView is one attribute's top values, in the Insight and in
// the baseline.
type attributionView struct {
	Attribute string
	Insight   []attributionValue
	Baseline  []attributionValue
}

// attributionValue is one value of an attribution, with a link to its
// events when event history can filter by it (an IAM user's ARN: their
// user name) in its window (the Insight's, or the baseline's).
type attributionValue struct {
	insights.ValueAverage
	Link string
}

// attributionValues are vs with links to their events from..to.
func attributionValues(attribute string, vs []insights.ValueAverage, region string, from, to time.Time) []attributionValue {
	out := make([]attributionValue, 0, len(vs))
	for _, v := range vs {
		av := attributionValue{ValueAverage: v}
		if user, ok := iamUserName(v.Value); ok && attribute == insights.AttrUserIdentityARN {
			av.Link = eventsURL(region, "Username", user, from, to)
		}
		out = append(out, av)
	}
	return out
}

// iamUserName is the user name of an IAM user's ARN
// (arn:aws:iam::123456789012:user/path/name).
func iamUserName(arn string) (string, bool) {
	_, rest, ok := strings.Cut(arn, ":user/")
	if !ok || !strings.HasPrefix(arn, "arn:") || rest == "" {
		return "", false
	}
	return rest[strings.LastIndex(rest, "/")+1:], true
}

// insightChartBefore and insightChartAfter are how much of the API's rate
// the chart shows around the Insight.
const (
	insightChartBefore = 30 * time.Minute
	insightChartAfter  = 15 * time.Minute
)

// insightPage shows one Insight: id is its sharedEventID, name its API's
// eventName (to find its records without reading every Insight).
func (c *Console) insightPage(w http.ResponseWriter, r *http.Request, s *session) {
	region, _ := c.region(r, s)
	id := r.URL.Query().Get("id")
	p := insightPage{base: c.base(s, r, "Insight", "insights", region)}
	// An Insight's eventIDs are keyed with the server's secret, so its
	// records are found by their API's name and kept by sharedEventID.
	key, name := "EventName", r.URL.Query().Get("name")
	var attr *history.LookupAttribute
	if name != "" {
		attr = &history.LookupAttribute{AttributeKey: &key, AttributeValue: &name}
	}
	got, _, err := c.insightRecords(r, s, region, attr)
	if err != nil {
		p.Error = errText(err)
		c.render(w, http.StatusOK, "insight.html", p)
		return
	}
	var trs []insights.Transition
	for _, tr := range got {
		if tr.SharedEventID == id {
			trs = append(trs, tr)
		}
	}
	rows := pairInsights(trs, region)
	if id == "" || len(rows) != 1 {
		p.Error = "No Insight " + id + " in " + region + "."
		c.render(w, http.StatusNotFound, "insight.html", p)
		return
	}
	p.Found, p.Row = true, rows[0]
	p.Title = "Insight: " + p.Row.Name
	last := p.Row.start
	if p.Row.end_ != nil {
		last = p.Row.end_
	}
	end := p.Row.End
	if p.Row.Ongoing {
		end = c.now().UTC().Truncate(time.Minute).Add(time.Minute)
	}
	from, to := p.Row.Start.Add(-insightChartBefore), end.Add(insightChartAfter)
	if last != nil {
		// The baseline's values link to the events of the baseline's
		// minutes, before the Insight.
		baseFrom := from
		if d := last.Statistics.BaselineDuration; d > 0 {
			baseFrom = p.Row.Start.Add(-time.Duration(d) * time.Minute)
		}
		for _, a := range last.Attributions {
			p.Attributions = append(p.Attributions, attributionView{Attribute: a.Attribute,
				Insight:  attributionValues(a.Attribute, a.Insight, region, p.Row.Start, end),
				Baseline: attributionValues(a.Attribute, a.Baseline, region, baseFrom, p.Row.Start)})
		}
	}
	p.EventsURL = eventsURL(region, "EventName", p.Row.Name, p.Row.Start, end)
	c.insightChart(r, s, region, &p, from, to, end)
	c.render(w, http.StatusOK, "insight.html", p)
}

// eventsURL links to event history's page of one attribute in a window,
// read-only events included: an Insight counts every call of its API.
func eventsURL(region, attr, value string, from, to time.Time) string {
	q := url.Values{"region": {region}, "range": {"custom"}, "attr": {attr}, "value": {value},
		"start": {from.UTC().Format(inputTime)}, "end": {to.Add(-time.Second).UTC().Format(inputTime)}, "readonly": {"show"}}
	return "/console/events?" + q.Encode()
}

// insightChart draws the API's per-minute rate from..to with the
// Insight's window shaded and its baseline average as a line. For an
// error-rate Insight, the errors of every code its attributions name are
// summed (ListInsightsMetricData counts one code at a time).
func (c *Console) insightChart(r *http.Request, s *session, region string, p *insightPage, from, to, end time.Time) {
	codes := []*string{nil}
	if p.Row.Type == insights.TypeErrorRate {
		codes = nil
		for _, a := range p.Attributions {
			if a.Attribute != "errorCode" {
				continue
			}
			for _, v := range slices.Concat(a.Insight, a.Baseline) {
				if v.Value != "" && v.Value != "null" && !slices.ContainsFunc(codes, func(c *string) bool { return *c == v.Value }) {
					codes = append(codes, ptr(v.Value))
				}
			}
		}
	}
	n := int(to.Sub(from) / time.Minute)
	counts := make([]int, n)
	who := c.caller(r, s, region)
	for _, code := range codes {
		in := query.MetricInput{EventSource: &p.Row.Source, EventName: &p.Row.Name, InsightType: &p.Row.Type, ErrorCode: code,
			Period: ptr(60), StartTime: &awsproto.Time{Time: from}, EndTime: &awsproto.Time{Time: to}}
		out, err := c.opts.API.ListInsightsMetricData(r.Context(), who, in)
		if err := c.refused("ListInsightsMetricData", err); err != nil {
			p.ChartNote = errText(err)
			return
		}
		for i, ts := range out.Timestamps {
			if k := int(ts.Sub(from) / time.Minute); k >= 0 && k < n {
				counts[k] += int(out.Values[i])
			}
		}
	}
	f := filter{Region: region, Attr: "EventName", Value: p.Row.Name, Start: from, End: to.Add(-time.Second), Loc: p.loc}
	ch := &chart{Step: stepLabel(time.Minute), From: p.In(from).Format("2006-01-02 15:04"), To: p.In(to).Format("2006-01-02 15:04")}
	for _, v := range counts {
		ch.Total += v
	}
	ch.HasAny = true
	ch.layoutEven(from, time.Minute, counts, make([]int, n), f)
	top := niceCeil(slices.Max(append(counts, 0)))
	if top > 0 {
		p.BaselineY = round1(ch.H - math.Min(p.Row.Baseline/float64(top), 1)*ch.H)
	} else {
		p.BaselineY = ch.H
	}
	slot := ch.W / float64(n)
	p.WindowX = round1(float64(p.Row.Start.Sub(from)/time.Minute) * slot)
	p.WindowW = round1(float64(end.Sub(p.Row.Start)/time.Minute) * slot)
	p.Chart = ch
}
