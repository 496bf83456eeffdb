package console

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cairn-audit/cairn/internal/history"
)

// The chart pages through LookupEvents, newest first, and stops at a cap,
// saying so. Each page is an API call and so an audit record of its own:
// by default the chart counts at most chartCap events (20 calls); asked to
// (chart=more), up to chartMaxCap (100 calls).
const (
	chartCap    = 1000
	chartMaxCap = 5000
)

// chartSteps are the bucket widths a chart may use; it takes the narrowest
// that fits its range in maxBuckets bars.
var chartSteps = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	48 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour}

const maxBuckets = 60

// Chart geometry, in the SVG's user units: the plot fills the view box,
// which stretches to the page's width; the labels are HTML around it.
const (
	chartW = 1000.0
	chartH = 100.0
)

// chart is the events-over-time chart of a filter: one bar per bucket,
// errors stacked on top in another colour.
type chart struct {
	W, H         float64
	Bars         []bar
	YLabels      []string
	XLabels      []string
	Total        int
	Errors       int
	Capped       bool
	Cap          int
	MoreURL      string
	MaxCap       int
	UncountedW   float64
	HasUncounted bool
	HasAny       bool
	Step         string
	Failed       string
	From, To     string
}

type bar struct {
	X, W       float64
	OkY, OkH   float64
	ErrY, ErrH float64
	Title      string
	Href       string
}

// buildChart counts the filter's events per bucket, starting from the
// table's first page.
func (c *Console) buildChart(r *http.Request, s *session, f filter, first history.Output, limit int) *chart {
	step := chartSteps[len(chartSteps)-1]
	span := f.End.Sub(f.Start)
	for _, st := range chartSteps {
		if span/st < maxBuckets {
			step = st
			break
		}
	}
	origin := f.Start.Truncate(step)
	n := int(f.End.Sub(origin)/step) + 1
	ok := make([]int, n)
	bad := make([]int, n)
	ch := &chart{Cap: limit, MaxCap: chartMaxCap, Step: stepLabel(step), From: f.Start.Format("2006-01-02 15:04"), To: f.End.Format("2006-01-02 15:04")}
	out := first
	var oldest time.Time
	for {
		for _, e := range out.Events {
			i := int(e.EventTime.Sub(origin) / step)
			if i < 0 || i >= n {
				continue
			}
			var rf struct {
				ErrorCode string `json:"errorCode"`
			}
			_ = json.Unmarshal([]byte(e.CloudTrailEvent), &rf)
			if rf.ErrorCode != "" {
				bad[i]++
				ch.Errors++
			} else {
				ok[i]++
			}
			ch.Total++
			oldest = e.EventTime.Time
		}
		if out.NextToken == nil {
			break
		}
		if ch.Total >= limit {
			ch.Capped = true
			break
		}
		var err error
		out, err = c.lookup(r, s, f, *out.NextToken)
		if err != nil {
			ch.Failed = errText(err)
			ch.Capped = true
			break
		}
	}
	ch.HasAny = ch.Total > 0
	ch.layout(origin, step, ok, bad, f, oldest)
	return ch
}

func (ch *chart) layout(origin time.Time, step time.Duration, ok, bad []int, f filter, oldest time.Time) {
	n := len(ok)
	ch.W, ch.H = chartW, chartH
	most := 0
	for i := range ok {
		most = max(most, ok[i]+bad[i])
	}
	top := niceCeil(most)
	ch.YLabels = []string{formatNum(top), formatNum(top / 2), "0"}
	slot := ch.W / float64(n)
	gap := math.Min(slot*0.18, 4)
	layout := "15:04"
	switch {
	case step >= 24*time.Hour:
		layout = "Jan 2"
	case f.End.Sub(f.Start) > 24*time.Hour:
		layout = "Jan 2 15:04"
	}
	whole := time.Duration(n) * step
	for i := 0; i <= 4; i++ {
		ch.XLabels = append(ch.XLabels, origin.Add(whole*time.Duration(i)/4).Format(layout))
	}
	for i := 0; i < n; i++ {
		total := ok[i] + bad[i]
		if total == 0 || top == 0 {
			continue
		}
		from := origin.Add(time.Duration(i) * step)
		x := float64(i) * slot
		b := bar{X: round1(x + gap/2), W: round1(slot - gap)}
		okH := float64(ok[i]) / float64(top) * ch.H
		errH := float64(bad[i]) / float64(top) * ch.H
		if errH > 0 && errH < 1.5 {
			errH = 1.5
		}
		b.OkY, b.OkH = round1(ch.H-okH), round1(okH)
		b.ErrY, b.ErrH = round1(ch.H-okH-errH), round1(errH)
		to := from.Add(step)
		b.Title = fmt.Sprintf("%s – %s UTC: %d events", from.Format("Jan 2 15:04"), to.Format("Jan 2 15:04"), total)
		if bad[i] > 0 {
			b.Title += fmt.Sprintf(", %d with errors", bad[i])
		}
		q := url.Values{"region": {f.Region}, "range": {"custom"},
			"start": {maxTime(from, f.Start).Format(inputTime)}, "end": {minTime(to.Add(-time.Second), f.End).Format(inputTime)}}
		if f.Value != "" {
			q.Set("attr", f.Attr)
			q.Set("value", f.Value)
		}
		b.Href = "/console/events?" + q.Encode()
		ch.Bars = append(ch.Bars, b)
	}
	if ch.Capped && !oldest.IsZero() {
		ch.HasUncounted = true
		ch.UncountedW = round1(math.Max(0, float64(oldest.Sub(origin))/float64(step)*slot))
	}
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten (at least 2, so
// that the middle tick is a whole number).
func niceCeil(n int) int {
	if n <= 0 {
		return 0
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if v := m * p; v >= n && v >= 2 {
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
