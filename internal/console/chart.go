package console

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/history"
)

// The chart counts every event of the filter over the whole range, from
// the store's index (history.Count, asked for in the same call as the
// table's page): exact, errors apart, whatever the number of events.

// chartSteps are the bucket widths a chart may use; it takes the narrowest
// that fits its range in maxBuckets bars.
var chartSteps = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	48 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour}

const maxBuckets = 60

// maxCountBuckets bounds the buckets a chart asks the store for (its
// MaxBuckets is 10,000).
const maxCountBuckets = 10_000

// Chart geometry, in the SVG's user units: the plot fills the view box,
// which stretches to the page's width; the labels are HTML around it.
const (
	chartW = 1000.0
	chartH = 100.0
)

// chart is the events-over-time chart of a filter: one bar per bucket,
// errors stacked on top in another colour.
type chart struct {
	W, H    float64
	Bars    []bar
	YLabels []string
	// XLabels are the x axis's labels spread evenly (the Insights chart);
	// Ticks are the event history's, each at its time.
	XLabels []string
	Ticks   []tick
	Total   int
	Errors  int
	HasAny  bool
	Step    string
	Failed  string
	// From, To and Zone are the range as the caption says it.
	From, To, Zone string
	// ZoomOutURL widens the range around the current one.
	ZoomOutURL string
}

// tick is one label of the x axis: at Pct per cent of the plot's width.
type tick struct {
	Text   string
	Pct    float64
	Anchor string // SVG text-anchor: start, middle or end
}

type bar struct {
	X, W       float64
	OkY, OkH   float64
	ErrY, ErrH float64
	Title      string
	Href       string
}

// chartPlan is how a filter's range is charted: the bars' bounds (len+1
// times, in f.Loc's round times) and the buckets the store counts in,
// which begin at the first bound and add up into the bars.
type chartPlan struct {
	step   time.Duration
	bounds []time.Time
	width  time.Duration // of the counted buckets
}

// planChart chooses the bars of f's range: the narrowest step that draws
// it in at most maxBuckets bars, bars starting at round times of f.Loc
// (a multiple of the step since local midnight, or local midnights).
func planChart(f filter) chartPlan {
	loc := f.Loc
	if loc == nil {
		loc = time.UTC
	}
	span := f.End.Sub(f.Start)
	step := chartSteps[len(chartSteps)-1]
	for _, st := range chartSteps {
		if span/st < maxBuckets {
			step = st
			break
		}
	}
	for span/step >= maxBuckets { // a custom range of years
		step *= 2
	}
	p := chartPlan{step: step, width: step}
	start := f.Start.In(loc)
	midnight := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, loc)
	if step < 24*time.Hour {
		origin := midnight.Add(start.Sub(midnight) / step * step)
		for t := origin; ; t = t.Add(step) {
			p.bounds = append(p.bounds, t)
			if t.After(f.End) {
				break
			}
		}
		return p
	}
	// Days: local midnights, which DST makes 23 or 25 hours apart; the
	// store counts hours (whole-hour DST shifts), or whole steps when a
	// range is too long for that.
	days := int(step / (24 * time.Hour))
	for i := 0; ; i++ {
		t := time.Date(midnight.Year(), midnight.Month(), midnight.Day()+i*days, 0, 0, 0, 0, loc)
		p.bounds = append(p.bounds, t)
		if t.After(f.End) {
			break
		}
	}
	p.width = time.Hour
	if f.End.Sub(p.bounds[0])/time.Hour >= maxCountBuckets {
		p.width = step
	}
	return p
}

// countInput is what the page's call asks to count: buckets of the plan's
// width from its first bound (at or before f.Start).
func (p chartPlan) countInput() (int64, *awsproto.Time) {
	return int64(p.width / time.Second), &awsproto.Time{Time: p.bounds[0].UTC()}
}

// buildChart draws the counts of f's range as planned.
func buildChart(f filter, p chartPlan, counts *history.CountOutput, now time.Time) *chart {
	n := len(p.bounds) - 1
	ok, bad := make([]int, n), make([]int, n)
	i := 0
	for _, b := range counts.Buckets {
		for i < n-1 && !b.Start.Before(p.bounds[i+1]) {
			i++
		}
		ok[i] += int(b.Count - b.Errors)
		bad[i] += int(b.Errors)
	}
	ch := &chart{Step: stepLabel(p.step), Total: int(counts.Total), Errors: int(counts.Errors)}
	ch.HasAny = ch.Total > 0
	ch.layout(p.bounds, ok, bad, f)
	ch.ZoomOutURL = zoomOut(f, now)
	return ch
}

// zoomOut is the events page of a range three times as long around f's,
// ending no later than now.
func zoomOut(f filter, now time.Time) string {
	span := f.End.Sub(f.Start)
	end := f.End.Add(span)
	if end.After(now) {
		end = now
	}
	start := end.Add(-3 * span)
	return "/console/events?" + customRange(f, start, end).Encode()
}

// customRange is f's query for the custom range [start, end], written in
// f's zone and naming it (tz), so that the page reads it back in that zone
// whether the zone came from the URL or from the user's remembered choice.
func customRange(f filter, start, end time.Time) url.Values {
	loc := filterZone(f)
	tz := ""
	if loc != time.UTC && loc.String() != "UTC" {
		tz = loc.String()
	}
	return withParams(f.query(), "range", "custom", "at", "", "token", "", "tz", tz,
		"start", start.In(loc).Format(inputTime), "end", end.In(loc).Format(inputTime))
}

// layoutEven lays out bars of one step from origin (the Insights chart).
func (ch *chart) layoutEven(origin time.Time, step time.Duration, ok, bad []int, f filter) {
	bounds := make([]time.Time, len(ok)+1)
	for i := range bounds {
		bounds[i] = origin.Add(time.Duration(i) * step)
	}
	ch.layout(bounds, ok, bad, f)
	whole := bounds[len(bounds)-1].Sub(origin)
	for i := 0; i <= 4; i++ {
		ch.XLabels = append(ch.XLabels, origin.Add(whole*time.Duration(i)/4).In(filterZone(f)).Format(tickLayout(f, step)))
	}
}

func filterZone(f filter) *time.Location {
	if f.Loc == nil {
		return time.UTC
	}
	return f.Loc
}

// tickLayout is how the x axis writes times: with the date when the range
// spans days, with the year when it is long or crosses a year.
func tickLayout(f filter, step time.Duration) string {
	loc := filterZone(f)
	layout := "15:04"
	switch {
	case step >= 24*time.Hour:
		layout = "Jan 2"
	case f.End.Sub(f.Start) > 24*time.Hour || f.Start.In(loc).YearDay() != f.End.In(loc).YearDay():
		layout = "Jan 2 15:04"
	}
	if f.Start.In(loc).Year() != f.End.In(loc).Year() || f.End.Sub(f.Start) > 180*24*time.Hour {
		if step >= 24*time.Hour {
			layout = "Jan 2, 2006"
		} else {
			layout = "Jan 2, 2006 15:04"
		}
	}
	return layout
}

// layout draws bars between bounds (len(ok)+1 times), the y axis from 0 to
// a round top and its half, and the x axis's ticks at bounds inside f's
// range.
func (ch *chart) layout(bounds []time.Time, ok, bad []int, f filter) {
	n := len(ok)
	loc := filterZone(f)
	ch.W, ch.H = chartW, chartH
	ch.Zone = zoneAbbrev(loc, f.End)
	ch.From, ch.To = f.Start.In(loc).Format("2006-01-02 15:04"), f.End.In(loc).Format("2006-01-02 15:04")
	most := 0
	for i := range ok {
		most = max(most, ok[i]+bad[i])
	}
	top := niceCeil(most)
	ch.YLabels = []string{formatNum(top), formatNum(top / 2), "0"}
	origin, whole := bounds[0], bounds[n].Sub(bounds[0])
	x := func(t time.Time) float64 { return float64(t.Sub(origin)) / float64(whole) * ch.W }
	step := bounds[1].Sub(bounds[0])
	ch.ticks(bounds, f, x, tickLayout(f, step))
	for i := 0; i < n; i++ {
		total := ok[i] + bad[i]
		if total == 0 || top == 0 {
			continue
		}
		from, to := bounds[i], bounds[i+1]
		x0, x1 := x(from), x(to)
		gap := math.Min((x1-x0)*0.18, 4)
		b := bar{X: round1(x0 + gap/2), W: round1(x1 - x0 - gap)}
		okH := float64(ok[i]) / float64(top) * ch.H
		errH := float64(bad[i]) / float64(top) * ch.H
		if errH > 0 && errH < 1.5 {
			errH = 1.5
		}
		b.OkY, b.OkH = round1(ch.H-okH), round1(okH)
		b.ErrY, b.ErrH = round1(ch.H-okH-errH), round1(errH)
		b.Title = fmt.Sprintf("%s – %s %s: %s event%s", from.In(loc).Format("Jan 2 15:04"), to.In(loc).Format("Jan 2 15:04"),
			zoneAbbrev(loc, from), formatNum(total), plural(total))
		if bad[i] > 0 {
			b.Title += fmt.Sprintf(", %s with errors", formatNum(bad[i]))
		}
		b.Href = "/console/events?" + customRange(f, maxTime(from, f.Start), minTime(to.Add(-time.Second), f.End)).Encode()
		ch.Bars = append(ch.Bars, b)
	}
}

// ticks labels about five bounds inside f's range, evenly spaced bars
// apart, at their places on the axis.
func (ch *chart) ticks(bounds []time.Time, f filter, x func(time.Time) float64, layout string) {
	var inside []time.Time
	for _, t := range bounds {
		if !t.Before(f.Start) && !t.After(f.End) {
			inside = append(inside, t)
		}
	}
	every := max(1, (len(inside)+4)/5)
	for i := 0; i < len(inside); i += every {
		pct := round1(x(inside[i]) / ch.W * 100)
		anchor := "middle"
		switch {
		case pct < 6:
			anchor = "start"
		case pct > 94:
			anchor = "end"
		}
		ch.Ticks = append(ch.Ticks, tick{Text: inside[i].In(filterZone(f)).Format(layout), Pct: pct, Anchor: anchor})
	}
}

// zoneAbbrev names loc as the page says times are in ("UTC", or the zone's
// abbreviation at t).
func zoneAbbrev(loc *time.Location, t time.Time) string {
	if loc == time.UTC {
		return "UTC"
	}
	name, _ := t.In(loc).Zone()
	return name
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// niceCeil rounds n up to a round top for the y axis: 2, 4, 6, 8 or 10
// times a power of ten, so that the half-way label is a whole number too.
func niceCeil(n int) int {
	if n <= 0 {
		return 0
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{2, 4, 6, 8, 10} {
			if v := m * p; v >= n {
				return v
			}
		}
	}
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func stepLabel(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		if d == 24*time.Hour {
			return "1 day"
		}
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	case d >= time.Hour:
		if d == time.Hour {
			return "1 hour"
		}
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	case d == time.Minute:
		return "1 minute"
	}
	return strconv.Itoa(int(d/time.Minute)) + " minutes"
}
