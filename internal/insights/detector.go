package insights

import (
	"math"
	"slices"
	"time"
)

// Insight types (the model's InsightType values).
const (
	TypeCallRate  = "ApiCallRateInsight"
	TypeErrorRate = "ApiErrorRateInsight"
)

// Key names one tracked API: what is counted, per minute, separately.
type Key struct {
	Account, Region, EventSource, EventName, InsightType string
}

// Config tunes the detector.
type Config struct {
	// Window is the baseline window (insights.baseline_window).
	Window time.Duration
	// MinBaseline is how long an account and region must have been
	// observed (by eventTime) before a minute of theirs can start an
	// Insight; zero means min(Window, 24h).
	MinBaseline time.Duration
	// AheadMinutes is how far past the last closed minute an event may be
	// to count in a minute still to be analysed; an event further in the
	// future counts toward the baseline only. Zero means 10.
	AheadMinutes int64
	// MaxAPIs caps the keys tracked per account and region
	// (insights.max_apis); zero means DefaultMaxAPIs. When an account and
	// region are full, a key not yet tracked is not counted (the refusal
	// is reported by TakeUntracked) until eviction frees a place.
	MaxAPIs int
	// Secret keys the Insights' IDs (see SharedEventID); the engine loads
	// it from the store.
	Secret []byte
}

// Transition is the start or the end of an Insight: what a Start or End
// record says.
type Transition struct {
	Key Key
	// State is "Start" or "End".
	State string
	// SharedEventID is common to the Start and the End of one Insight.
	SharedEventID string
	// EventID is the record's eventID (EventID of the transition).
	EventID string
	// Time is the record's eventTime: the start of the first unusual
	// minute (Start), or of the first minute back at the baseline (End).
	Time time.Time
	// StartTime is the start of the Insight (the Start's Time).
	StartTime    time.Time
	Statistics   Statistics
	Attributions []Attribution
}

// Statistics is CloudTrail's insightContext.statistics element.
type Statistics struct {
	Baseline Average `json:"baseline"`
	Insight  Average `json:"insight"`
	// InsightDuration is the Insight's length in minutes (1 at its Start).
	InsightDuration int64 `json:"insightDuration"`
	// BaselineDuration is the baseline's length in minutes.
	BaselineDuration int64 `json:"baselineDuration"`
}

// Average is a per-minute mean.
type Average struct {
	Average float64 `json:"average"`
}

// Sketch sizes: values kept per attribute for the baseline, per minute and
// per Insight, and how many are reported.
const (
	baseAttrCap    = 8
	minuteAttrCap  = 16
	insightAttrCap = 16
	reportTop      = 5
)

// minuteAgg is one minute not yet analysed: its count and who made it.
type minuteAgg struct {
	N     uint32
	Attrs attribSet
}

// openInsight is an Insight that has started and not ended.
type openInsight struct {
	Shared   string
	Start    int64 // first unusual minute
	Last     int64 // last unusual minute so far
	Sum      float64
	Minutes  int64
	Baseline Stats // the baseline when it started
	Attrs    attribSet
}

// api is everything kept for one Key.
type api struct {
	base ring
	// battr are the baseline's attributions, their counts halving every
	// window (at battrAt, in Unix minutes).
	battr   attribSet
	battrAt int64
	open    map[int64]*minuteAgg // minutes after the last closed one
	late    map[int64]uint32     // closed minutes with events read since the last Flush
	ins     *openInsight
	// decided is the last minute already judged by an Insight record
	// (restored from the log, or ended here): it starts nothing again.
	decided int64
}

// Detector tracks every Key's minutes, baseline and Insight. It is not safe
// for concurrent use.
type Detector struct {
	cfg     Config
	hours   int   // ring length
	window  int64 // minutes
	minBase int64 // minutes
	apis    map[Key]*api
	first   map[[2]string]int64 // (account, region) → first observed minute
	closed  int64               // every minute up to this one is closed
	active  map[Key]bool        // keys with open minutes or an open Insight
	// lateAPIs are the APIs with late events not yet flushed.
	lateAPIs map[*api]struct{}
	// tracked counts the keys of each (account, region); untracked the
	// events refused since the last TakeUntracked because theirs was full.
	tracked   map[[2]string]int
	untracked map[[2]string]uint64
	// sweptHour is the hour of the last eviction sweep.
	sweptHour int64
}

// DefaultMaxAPIs is the default cap of tracked keys per account and
// region: far above what an account's real callers use, and 10,000 ×
// BytesPerAPI (2.7 KB with a 7-day window) ≈ 27 MB at most per account
// and region.
const DefaultMaxAPIs = 10000

// NewDetector makes a detector whose minutes up to closedThrough (Unix
// minutes) are already closed: events of those minutes count toward the
// baseline only.
func NewDetector(cfg Config, closedThrough int64) *Detector {
	if cfg.Window <= 0 {
		cfg.Window = 168 * time.Hour
	}
	if cfg.MinBaseline <= 0 {
		cfg.MinBaseline = min(cfg.Window, 24*time.Hour)
	}
	if cfg.AheadMinutes <= 0 {
		cfg.AheadMinutes = 10
	}
	if cfg.MaxAPIs <= 0 {
		cfg.MaxAPIs = DefaultMaxAPIs
	}
	w := int64(cfg.Window / time.Minute)
	return &Detector{cfg: cfg, hours: int((w+59)/60) + 1, window: w, minBase: int64(cfg.MinBaseline / time.Minute),
		apis: map[Key]*api{}, first: map[[2]string]int64{}, closed: closedThrough, active: map[Key]bool{},
		lateAPIs: map[*api]struct{}{}, tracked: map[[2]string]int{}, untracked: map[[2]string]uint64{},
		sweptHour: closedThrough / 60}
}

// BytesPerAPI is the memory of one tracked API's baseline: its hour slots
// (and, apart from them, at most baseAttrCap values per attribute of up to
// maxValueBytes each).
func (d *Detector) BytesPerAPI() int { return d.hours * slotBytes }

// Closed is the last closed minute (Unix minutes).
func (d *Detector) Closed() int64 { return d.closed }

// Minute is t's minute in Unix minutes.
func Minute(t time.Time) int64 { return int64(math.Floor(float64(t.Unix()) / 60)) }

// ClosedThrough is the last minute closed at now with the given settle
// time: minute m closes settle after its end.
func ClosedThrough(now time.Time, settle time.Duration) int64 {
	return Minute(now.Add(-settle)) - 1
}

// Seen notes that an account and region had an event at t (any event):
// how long they have been observed decides when Insights may start.
func (d *Detector) Seen(account, region string, t time.Time) {
	m := Minute(t)
	k := [2]string{account, region}
	if f, ok := d.first[k]; !ok || m < f {
		d.first[k] = m
	}
}

// Observe counts one event of k at eventTime t. It reports false if k is
// not tracked because its account and region are at the cap.
func (d *Detector) Observe(k Key, t time.Time, a Attrs) bool { return d.observeN(k, t, a, 1) }

// observeN counts n events of k at eventTime t, made alike.
func (d *Detector) observeN(k Key, t time.Time, a Attrs, n uint32) bool {
	if n == 0 {
		return true
	}
	d.Seen(k.Account, k.Region, t)
	x := d.apis[k]
	if x == nil {
		ar := [2]string{k.Account, k.Region}
		if d.tracked[ar] >= d.cfg.MaxAPIs {
			d.untracked[ar] += uint64(n)
			return false
		}
		x = d.api(k)
	}
	m := Minute(t)
	if m <= d.closed || m > d.closed+d.cfg.AheadMinutes {
		if x.late == nil {
			x.late = map[int64]uint32{}
			d.lateAPIs[x] = struct{}{}
		}
		x.late[m] += n
		x.decayAttrs(m, d.window)
		x.battr.add(a, float64(n), baseAttrCap)
		return true
	}
	if x.open == nil {
		x.open = map[int64]*minuteAgg{}
	}
	agg := x.open[m]
	if agg == nil {
		agg = &minuteAgg{}
		x.open[m] = agg
	}
	agg.N += n
	agg.Attrs.add(a, float64(n), minuteAttrCap)
	d.active[k] = true
	return true
}

// decayAttrs halves the baseline attribution counts every window.
func (x *api) decayAttrs(m, window int64) {
	if m > x.battrAt {
		if x.battrAt != 0 {
			x.battr[0].scale(math.Exp2(-float64(m-x.battrAt) / float64(window)))
			x.battr[1].scale(math.Exp2(-float64(m-x.battrAt) / float64(window)))
			x.battr[2].scale(math.Exp2(-float64(m-x.battrAt) / float64(window)))
		}
		x.battrAt = m
	}
}

// Flush adds the late events read since the last Flush to the baseline,
// one minute count at a time. The caller flushes after each batch it read,
// so the events of one minute read together make one minute count.
func (d *Detector) Flush() {
	for x := range d.lateAPIs {
		for m, n := range x.late {
			x.base.add(m, n)
		}
		x.late = nil // freed: a backfill's minutes do not stay allocated
	}
	clear(d.lateAPIs)
}

// Close closes every minute up to through and returns the Insights that
// start and end, in order of time. Only keys that wants accepts (nil: all)
// start Insights; the unusual minutes of others count as normal ones.
func (d *Detector) Close(through int64, wants func(Key) bool) []Transition {
	if through <= d.closed {
		return nil
	}
	d.Flush()
	var out []Transition
	for k := range d.active {
		out = append(out, d.closeAPI(k, d.apis[k], through, wants == nil || wants(k))...)
		if len(d.apis[k].open) == 0 && d.apis[k].ins == nil {
			delete(d.active, k)
		}
	}
	d.closed = through
	if through/60 != d.sweptHour {
		d.evict()
		d.sweptHour = through / 60
	}
	slices.SortFunc(out, func(a, b Transition) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return compareKeys(a.Key, b.Key)
	})
	return out
}

func compareKeys(a, b Key) int {
	for _, p := range [][2]string{{a.Account, b.Account}, {a.Region, b.Region}, {a.EventSource, b.EventSource},
		{a.EventName, b.EventName}, {a.InsightType, b.InsightType}} {
		if p[0] != p[1] {
			if p[0] < p[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// closeAPI analyses k's minutes up to through, in order.
func (d *Detector) closeAPI(k Key, x *api, through int64, wanted bool) []Transition {
	var mins []int64
	for m := range x.open {
		if m <= through {
			mins = append(mins, m)
		}
	}
	slices.Sort(mins)
	var out []Transition
	for _, m := range mins {
		if x.ins != nil && m > x.ins.Last+1 {
			out = append(out, d.end(k, x, x.ins.Last+1))
		}
		out = append(out, d.analyse(k, x, m, x.open[m], wanted)...)
		delete(x.open, m)
	}
	if len(x.open) == 0 {
		x.open = nil
	}
	if x.ins != nil && x.ins.Last+1 <= through {
		out = append(out, d.end(k, x, x.ins.Last+1))
	}
	return out
}

// analyse judges one closed minute of k with its count.
func (d *Detector) analyse(k Key, x *api, m int64, agg *minuteAgg, wanted bool) []Transition {
	first, ok := d.first[[2]string{k.Account, k.Region}]
	if !ok {
		first = m
	}
	st := x.base.stats(m, first, d.window)
	c := float64(agg.N)
	switch {
	case x.ins != nil && m <= x.ins.Last, x.ins == nil && m <= x.decided:
		// Already decided (an Insight restored from its records).
		return nil
	case x.ins != nil && c <= st.End():
		tr := d.end(k, x, m)
		d.fold(x, m, agg)
		return []Transition{tr}
	case x.ins != nil:
		x.ins.Sum += c
		x.ins.Minutes++
		x.ins.Last = m
		x.ins.Attrs.merge(&agg.Attrs, insightAttrCap)
		return nil
	case wanted && st.Minutes >= d.minBase && c > st.Start():
		x.ins = &openInsight{Shared: SharedEventID(d.cfg.Secret, k, m), Start: m, Last: m, Sum: c, Minutes: 1, Baseline: st}
		x.ins.Attrs.merge(&agg.Attrs, insightAttrCap)
		return []Transition{d.transition(k, x, "Start", m)}
	}
	d.fold(x, m, agg)
	return nil
}

// fold adds a normal minute to the baseline.
func (d *Detector) fold(x *api, m int64, agg *minuteAgg) {
	x.base.add(m, agg.N)
	x.decayAttrs(m, d.window)
	x.battr.merge(&agg.Attrs, baseAttrCap)
}

// end closes k's Insight at minute m (the first minute back).
func (d *Detector) end(k Key, x *api, m int64) Transition {
	tr := d.transition(k, x, "End", m)
	x.ins = nil
	x.decided = max(x.decided, m-1)
	return tr
}

// transition describes k's open Insight as a Start or End record at m.
func (d *Detector) transition(k Key, x *api, state string, m int64) Transition {
	in := x.ins
	insight := in.Sum / float64(in.Minutes)
	tr := Transition{Key: k, State: state, SharedEventID: in.Shared, Time: time.Unix(m*60, 0).UTC(),
		StartTime: time.Unix(in.Start*60, 0).UTC(),
		Statistics: Statistics{Baseline: Average{round(in.Baseline.Average)}, Insight: Average{round(insight)},
			InsightDuration: in.Minutes, BaselineDuration: in.Baseline.Minutes}}
	baseTotal := x.battr[0].total()
	for i, name := range attributeNames {
		a := Attribution{Attribute: name,
			Insight: in.Attrs[i].top(reportTop, func(c float64) float64 { return c / float64(in.Minutes) }),
			Baseline: x.battr[i].top(reportTop, func(c float64) float64 {
				if baseTotal == 0 {
					return 0
				}
				return c / baseTotal * in.Baseline.Average
			})}
		tr.Attributions = append(tr.Attributions, a)
	}
	tr.EventID = EventID(d.cfg.Secret, tr)
	return tr
}

// Restore applies an Insight record found in the event log (made before a
// restart, or by this detector a moment ago): a Start opens the Insight
// unless it is already open or its minute already judged; an End closes
// it. Minutes the records cover are not judged again, so an Insight has
// one Start and one End however often its minutes are read.
func (d *Detector) Restore(tr Transition) {
	x := d.api(tr.Key)
	m := Minute(tr.Time)
	switch tr.State {
	case "Start":
		if x.ins != nil || m <= x.decided {
			return
		}
		s := tr.Statistics
		x.ins = &openInsight{Shared: tr.SharedEventID, Start: m, Last: m, Sum: s.Insight.Average, Minutes: 1,
			Baseline: Stats{Average: s.Baseline.Average, Minutes: s.BaselineDuration}}
		for _, a := range tr.Attributions {
			for i, name := range attributeNames {
				if a.Attribute != name {
					continue
				}
				for _, v := range a.Insight {
					val := v.Value
					if val == "null" {
						val = ""
					}
					x.ins.Attrs[i].add(val, v.Average, insightAttrCap)
				}
			}
		}
		x.decided = m
		d.active[tr.Key] = true
	case "End":
		if x.ins != nil && x.ins.Shared == tr.SharedEventID {
			x.ins = nil
		}
		x.decided = max(x.decided, m-1)
	}
}

// api returns k's state, made on first use (whatever the cap: Restore
// and UnmarshalDetector bring back keys the detector already tracked).
func (d *Detector) api(k Key) *api {
	x := d.apis[k]
	if x == nil {
		x = &api{base: newRing(d.hours)}
		d.apis[k] = x
		d.tracked[[2]string{k.Account, k.Region}]++
	}
	return x
}

// evict forgets the keys that have nothing left in the window: no
// baseline minute with a call since the window's start, no minute waiting
// to be analysed, no open Insight. Such a key is as if never seen (its
// next call starts a fresh baseline), so forgetting it loses nothing, and
// it frees its place under the cap. Close calls it once an hour.
func (d *Detector) evict() {
	from := d.closed - d.window
	for k, x := range d.apis {
		if x.ins != nil || len(x.open) > 0 || len(x.late) > 0 || d.active[k] || x.decided >= from || x.base.newest() >= from {
			continue
		}
		delete(d.apis, k)
		ar := [2]string{k.Account, k.Region}
		if d.tracked[ar]--; d.tracked[ar] <= 0 {
			delete(d.tracked, ar)
		}
	}
}

// Tracked is how many keys the detector tracks.
func (d *Detector) Tracked() int { return len(d.apis) }

// Tracks reports whether k is tracked.
func (d *Detector) Tracks(k Key) bool { return d.apis[k] != nil }

// TakeUntracked returns, per (account, region), how many events were not
// counted since the last call because their key was new and the account
// and region were at the cap, and resets the counts.
func (d *Detector) TakeUntracked() map[[2]string]uint64 {
	if len(d.untracked) == 0 {
		return nil
	}
	out := d.untracked
	d.untracked = map[[2]string]uint64{}
	return out
}
