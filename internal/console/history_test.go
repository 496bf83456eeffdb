package console

import (
	"context"
	"encoding/json"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/server"
)

// LookupEventsPage answers a page of the fake's events and counts them all
// per bucket, as one call.
func (f *fakeAPI) LookupEventsPage(_ context.Context, who server.Caller, in history.PageInput) (history.PageOutput, error) {
	n, err := f.enter("LookupEvents", who, in)
	if err != nil {
		return history.PageOutput{}, err
	}
	if f.failAfter > 0 && n > f.failAfter {
		return history.PageOutput{}, awsproto.Unavailable("busy")
	}
	hide := in.HideReadOnly && history.HidesReadOnly(attrOf(in.LookupAttributes))
	out := history.PageOutput{Output: f.page(in.Input, hide)}
	if in.BucketSeconds == 0 {
		return out, nil
	}
	all := in.Input
	all.NextToken, all.MaxResults = nil, ptr(math.MaxInt32)
	width := time.Duration(in.BucketSeconds) * time.Second
	origin := in.StartTime.Time
	if in.BucketOrigin != nil {
		origin = in.BucketOrigin.Time
	}
	counts := &history.CountOutput{}
	for t := origin; !t.After(in.EndTime.Time); t = t.Add(width) {
		counts.Buckets = append(counts.Buckets, history.CountBucket{Start: t})
	}
	for _, e := range f.page(all, hide).Events {
		b := &counts.Buckets[int(e.EventTime.Sub(origin)/width)]
		b.Count++
		counts.Total++
		var rf recordFields
		_ = json.Unmarshal([]byte(e.CloudTrailEvent), &rf)
		if rf.ErrorCode != "" {
			b.Errors++
			counts.Errors++
		}
	}
	out.Counts = counts
	return out, nil
}

// LookupEventsExport emits every matching event of the fake, as one call.
func (f *fakeAPI) LookupEventsExport(_ context.Context, who server.Caller, in history.ExportInput, emit func(history.Event) error) error {
	n, err := f.enter("LookupEvents", who, in)
	if err != nil {
		return err
	}
	hide := in.HideReadOnly && history.HidesReadOnly(attrOf(in.LookupAttributes))
	all := history.Input{LookupAttributes: in.LookupAttributes, StartTime: in.StartTime, EndTime: in.EndTime, MaxResults: ptr(math.MaxInt32)}
	for i, e := range f.page(all, hide).Events {
		if f.failAfter > 0 && n+i/50 > f.failAfter {
			return awsproto.Unavailable("busy")
		}
		if err := emit(e); err != nil {
			return err
		}
	}
	return nil
}

func attrOf(attrs []history.LookupAttribute) string {
	if len(attrs) == 1 && attrs[0].AttributeKey != nil {
		return *attrs[0].AttributeKey
	}
	return ""
}

// The chart's bars start at round times of the page's zone: a multiple of
// the step since local midnight, or local midnights (23 or 25 hours apart
// over a DST change); the store counts buckets that add up into them.
func TestConsoleChartPlanAligned(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no zone database:", err)
	}
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	end := time.Date(2026, 11, 26, 16, 33, 25, 0, time.UTC)
	for _, tc := range []struct {
		loc   *time.Location
		span  time.Duration
		step  time.Duration
		first string // the first bound, in loc
	}{
		{time.UTC, 24 * time.Hour, 30 * time.Minute, "2026-11-25 16:30"},
		{kolkata, 24 * time.Hour, 30 * time.Minute, "2026-11-25 22:00"},
		{paris, 7 * 24 * time.Hour, 3 * time.Hour, "2026-11-19 15:00"},
		{paris, 90 * 24 * time.Hour, 48 * time.Hour, "2026-08-28 00:00"},
		{time.UTC, end.Sub(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)), 224 * 24 * time.Hour, "2000-01-01 00:00"},
	} {
		f := filter{Start: end.Add(-tc.span), End: end, Loc: tc.loc}
		p := planChart(f)
		if p.step != tc.step || p.bounds[0].In(tc.loc).Format("2006-01-02 15:04") != tc.first {
			t.Errorf("%v over %v: step %v from %v; want %v from %s", tc.loc, tc.span, p.step, p.bounds[0].In(tc.loc), tc.step, tc.first)
		}
		if p.bounds[0].After(f.Start) || !p.bounds[len(p.bounds)-1].After(f.End) || len(p.bounds)-1 > maxBuckets+1 {
			t.Errorf("%v over %v: %d bars from %v to %v do not cover the range", tc.loc, tc.span, len(p.bounds)-1, p.bounds[0], p.bounds[len(p.bounds)-1])
		}
		for i, b := range p.bounds[1:] {
			if tc.step >= 24*time.Hour && b.In(tc.loc).Format("15:04") != "00:00" {
				t.Errorf("%v: bound %d at %v, not local midnight", tc.loc, i+1, b.In(tc.loc))
			}
			if b.Sub(p.bounds[0])%p.width != 0 {
				t.Errorf("%v: bound %d at %v is not a whole number of counted buckets (%v) from the first", tc.loc, i+1, b, p.width)
			}
		}
	}
}

// The x axis labels times inside the range only, with the year when the
// range crosses one; the y axis's half-way label is exact.
func TestConsoleChartAxis(t *testing.T) {
	end := time.Date(2027, 1, 2, 10, 0, 0, 0, time.UTC)
	f := filter{Region: "us-east-1", Range: "7d", Start: end.Add(-7 * 24 * time.Hour), End: end, Loc: time.UTC}
	p := planChart(f)
	counts := &history.CountOutput{}
	for t0 := p.bounds[0]; !t0.After(f.End); t0 = t0.Add(p.width) {
		counts.Buckets = append(counts.Buckets, history.CountBucket{Start: t0})
	}
	counts.Buckets[len(counts.Buckets)-1].Count, counts.Total = 5, 5
	ch := buildChart(f, p, counts, end)
	if len(ch.Ticks) < 3 || len(ch.Ticks) > 6 {
		t.Fatalf("%d ticks: %+v", len(ch.Ticks), ch.Ticks)
	}
	for _, tk := range ch.Ticks {
		at, err := time.Parse("Jan 2, 2006 15:04", tk.Text)
		if err != nil {
			t.Fatalf("tick %q has no year: %v", tk.Text, err)
		}
		if at.Before(f.Start) || at.After(f.End) || tk.Pct < 0 || tk.Pct > 100 {
			t.Errorf("tick %q at %v%% is outside the range", tk.Text, tk.Pct)
		}
	}
	if ch.YLabels[0] != "6" || ch.YLabels[1] != "3" {
		t.Errorf("y labels %v for a top of 5", ch.YLabels)
	}
	if len(ch.Bars) != 1 || ch.Bars[0].Href == "" || !strings.Contains(ch.Bars[0].Title, "5 events") {
		t.Errorf("bars %+v", ch.Bars)
	}
	// A day's range has no year and no date.
	f.Start = end.Add(-6 * time.Hour)
	if got := tickLayout(f, 10*time.Minute); got != "15:04" {
		t.Errorf("layout of 6 hours: %q", got)
	}
	// Zoom out: three times as long, around the range, ending by now.
	z, _ := url.Parse(ch.ZoomOutURL)
	s, _ := time.Parse(inputTime, z.Query().Get("start"))
	e, _ := time.Parse(inputTime, z.Query().Get("end"))
	if !e.Equal(end) || !s.Equal(end.Add(-21*24*time.Hour)) || z.Query().Get("range") != "custom" {
		t.Errorf("zoom out %s", ch.ZoomOutURL)
	}
}
