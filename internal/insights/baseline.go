// Package insights is Cairn's Insights engine: it counts, per account,
// region, eventSource, eventName and insight type, the calls (or errors) of
// each minute of eventTime, keeps a baseline of the last baseline window in
// bounded memory, and decides when a closed minute is unusual enough to
// start an Insight and when the rate is back, as CloudTrail Insights does.
//
// The detection method, in one paragraph (the README explains it with its
// numbers): the baseline of an API is the per-minute count over the last
// baseline window (default 7 days), kept as one slot per hour (the sum of
// the minute counts, the sum of their squares and the busiest minute).
// When a minute closes, its expected count λ, spread σ and peak are taken
// from the same hour of the day (and the hours either side) on the previous
// days of the window, so a daily rhythm is expected; σ is at least √λ
// (Poisson noise). The minute is unusual — an Insight starts — when its
// count is above all of λ+6σ, λ+10 and 1.5 × the peak. The Insight ends at
// the first closed minute whose count is at most the end level: the largest
// of λ+3σ, λ+5 and the peak.
// Minutes inside an Insight are not added to the baseline, so an attack
// does not teach the baseline to expect the next one.
//
// Everything here is pure: the caller passes the minutes and the clock.
package insights

import (
	"math"
)

// hourSlot holds the baseline minutes of one hour of eventTime.
type hourSlot struct {
	// Hour is the hour (Unix minutes / 60) the slot holds; a slot whose
	// hour falls out of the window is stale and read as empty.
	Hour int32
	// Sum is the sum of the hour's minute counts.
	Sum uint32
	// Peak is the largest minute count of the hour.
	Peak uint32
	// SumSq is the sum of the squares of the minute counts.
	SumSq float32
}

// slotBytes is the size of one hourSlot (4 + 4 + 4 + 4 bytes).
const slotBytes = 16

// ring is the baseline of one API: one slot per hour of the window, indexed
// by hour modulo the ring's length. Its size depends on the window only,
// never on how many events or how much history there is.
type ring struct {
	Slots []hourSlot
}

func newRing(hours int) ring { return ring{Slots: make([]hourSlot, hours)} }

// add records one baseline minute: minute (Unix minutes) had count events.
// A minute older than the hour the ring holds at its slot (a very late
// event) is dropped: it is outside the window of everything after it.
func (r *ring) add(minute int64, count uint32) {
	if count == 0 {
		return // a zero minute adds nothing to the sums
	}
	h := minute / 60
	s := &r.Slots[int(h%int64(len(r.Slots)))]
	switch {
	case int64(s.Hour) > h:
		return
	case int64(s.Hour) < h:
		*s = hourSlot{Hour: int32(h)}
	}
	s.Sum += count
	s.SumSq += float32(count) * float32(count)
	s.Peak = max(s.Peak, count)
}

// newest is the last minute of the newest hour with a baseline call (-1
// for none).
func (r *ring) newest() int64 {
	n := int64(-1)
	for _, s := range r.Slots {
		if s.Sum > 0 {
			n = max(n, int64(s.Hour)*60+59)
		}
	}
	return n
}

// Stats are the numbers a closed minute is judged against.
type Stats struct {
	// Expected is λ: the mean minute count of the same hour of the day (the
	// busiest of that hour and the hours either side) on the window's days.
	Expected float64
	// Sigma is the spread of those minutes: their standard deviation, at
	// least √λ.
	Sigma float64
	// Peak is the busiest baseline minute of the same hours of the day
	// (the hour and the hours either side) in the window.
	Peak float64
	// Average is the mean minute count over the whole window (CloudTrail's
	// "baseline average").
	Average float64
	// Minutes is the length of the baseline (CloudTrail's baselineDuration).
	Minutes int64
}

// Start is the count a minute must exceed to start an Insight.
func (s Stats) Start() float64 {
	return max(s.Expected+StartSigmas*s.Sigma, s.Expected+StartMinExcess, StartPeakFactor*s.Peak)
}

// End is the count at or below which a minute ends an Insight.
func (s Stats) End() float64 {
	return max(s.Expected+EndSigmas*s.Sigma, s.Expected+EndMinExcess, s.Peak)
}

// The detector's margins (see the package documentation).
const (
	StartSigmas     = 6.0
	StartMinExcess  = 10.0
	StartPeakFactor = 1.5
	EndSigmas       = 3.0
	EndMinExcess    = 5.0
)

// stats computes the baseline a minute is judged against: the window is
// the minutes before it, from first (the first minute the account and
// region were observed) or the window's start, whichever is later.
func (r *ring) stats(minute, first int64, windowMinutes int64) Stats {
	from := max(first, minute-windowMinutes)
	out := Stats{Minutes: max(minute-from, 0)}
	if out.Minutes == 0 {
		return out
	}
	nowHour := minute / 60
	hod := int(nowHour % 24)
	var total float64
	var sum, sq, mins [3]float64 // hours of the day hod-1, hod, hod+1
	for _, s := range r.Slots {
		h := int64(s.Hour)
		if s.Sum == 0 || h*60+59 < from || h*60 >= minute {
			continue
		}
		total += float64(s.Sum)
		if i := hodIndex(int(h%24), hod); i >= 0 {
			out.Peak = max(out.Peak, float64(s.Peak))
			sum[i] += float64(s.Sum)
			sq[i] += float64(s.SumSq)
		}
	}
	out.Average = total / float64(out.Minutes)
	// Minutes of each hour of the day inside the window, zero minutes
	// included: every hour from `from` to `minute`.
	for h := from / 60; h <= nowHour; h++ {
		i := hodIndex(int(h%24), hod)
		if i < 0 {
			continue
		}
		lo, hi := max(h*60, from), min(h*60+60, minute)
		if hi > lo {
			mins[i] += float64(hi - lo)
		}
	}
	for i := range sum {
		if mins[i] == 0 {
			continue
		}
		mean := sum[i] / mins[i]
		if mean >= out.Expected {
			out.Expected = mean
			out.Sigma = math.Sqrt(max(sq[i]/mins[i]-mean*mean, 0))
		}
	}
	out.Sigma = max(out.Sigma, math.Sqrt(out.Expected))
	return out
}

// hodIndex places hour of the day h relative to hod: 0 for the hour
// before, 1 for hod itself, 2 for the hour after, -1 otherwise.
func hodIndex(h, hod int) int {
	switch (h - hod + 24) % 24 {
	case 23:
		return 0
	case 0:
		return 1
	case 1:
		return 2
	}
	return -1
}
