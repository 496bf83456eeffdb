package insights

import (
	"math"
	"sort"
)

// Attribute names of an Insight's attributions, as CloudTrail spells them.
const (
	AttrUserIdentityARN = "userIdentityArn"
	AttrUserAgent       = "userAgent"
	AttrErrorCode       = "errorCode"
)

// attributeNames are the attributions of every Insight, in CloudTrail's order.
var attributeNames = [3]string{AttrUserIdentityARN, AttrUserAgent, AttrErrorCode}

// Attrs are the attribution values of one event: who called, with what,
// and the error code ("" for none; written as "null", as CloudTrail does).
type Attrs struct {
	UserIdentityARN, UserAgent, ErrorCode string
}

func (a Attrs) values() [3]string { return [3]string{a.UserIdentityARN, a.UserAgent, a.ErrorCode} }

// maxValueBytes bounds one attribution value kept in memory.
const maxValueBytes = 256

// topK is a space-saving heavy-hitters sketch: at most cap values with
// their counts. A new value, when full, takes the place of the smallest
// count (and inherits it), so every value seen more often than total/cap
// times is kept. Its memory is bounded by cap, whatever the traffic.
type topK struct {
	Vals []string
	Cnts []float64
}

func (t *topK) add(v string, n float64, capacity int) {
	if len(v) > maxValueBytes {
		v = v[:maxValueBytes]
	}
	for i, x := range t.Vals {
		if x == v {
			t.Cnts[i] += n
			return
		}
	}
	if len(t.Vals) < capacity {
		t.Vals = append(t.Vals, v)
		t.Cnts = append(t.Cnts, n)
		return
	}
	lo := 0
	for i, c := range t.Cnts {
		if c < t.Cnts[lo] {
			lo = i
		}
	}
	t.Vals[lo] = v
	t.Cnts[lo] += n
}

// scale multiplies every count by f (the baseline's decay).
func (t *topK) scale(f float64) {
	for i := range t.Cnts {
		t.Cnts[i] *= f
	}
}

func (t *topK) total() float64 {
	var s float64
	for _, c := range t.Cnts {
		s += c
	}
	return s
}

// ValueAverage is one attribution value with its mean count per minute.
type ValueAverage struct {
	Value   string  `json:"value"`
	Average float64 `json:"average"`
}

// top returns the n largest values, each with count×per as its average,
// largest first (ties by value, so the output is deterministic).
func (t *topK) top(n int, per func(count float64) float64) []ValueAverage {
	idx := make([]int, len(t.Vals))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		ca, cb := t.Cnts[idx[a]], t.Cnts[idx[b]]
		if ca != cb {
			return ca > cb
		}
		return t.Vals[idx[a]] < t.Vals[idx[b]]
	})
	out := []ValueAverage{}
	for _, i := range idx {
		if len(out) == n || t.Cnts[i] <= 0 {
			break
		}
		v := t.Vals[i]
		if v == "" {
			v = "null"
		}
		out = append(out, ValueAverage{Value: v, Average: round(per(t.Cnts[i]))})
	}
	return out
}

// attribSet is one sketch per attribute.
type attribSet [3]topK

func (s *attribSet) add(a Attrs, n float64, capacity int) {
	for i, v := range a.values() {
		s[i].add(v, n, capacity)
	}
}

// merge adds o's counts into s.
func (s *attribSet) merge(o *attribSet, capacity int) {
	for i := range s {
		for j, v := range o[i].Vals {
			s[i].add(v, o[i].Cnts[j], capacity)
		}
	}
}

// Attribution compares an attribute's top values in the Insight with those
// of the baseline (CloudTrail's insightContext.attributions element).
type Attribution struct {
	Attribute string         `json:"attribute"`
	Insight   []ValueAverage `json:"insight"`
	Baseline  []ValueAverage `json:"baseline"`
}

// round keeps 4 decimal places: enough for a per-minute average, and the
// same text for the same numbers on every platform.
func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }
