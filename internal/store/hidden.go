package store

import (
	"math"
	"slices"

	"github.com/cairn-audit/cairn/internal/event"
)

// Hidden is the set of events a query leaves out (HideReadOnly): the
// postings of the ReadOnly=true key over the query's range. A backend
// offers it that key's postings, seals it, and hands it to the TopK or
// Histo that collects the query's own postings, which then skip every
// event in it: exact, as the histogram's errors are, from the index alone.
type Hidden struct {
	start, end int64
	ps         []Posting
	sealed     bool
	// Once sealed: a bitmap of sequence numbers from base (dense sets),
	// or ps sorted by sequence; n is the set's size.
	base int64
	bits []uint64
	n    int
}

// HiddenKey is the index key of the events HideReadOnly leaves out: the
// read-only events of an account, region and category.
func HiddenKey(account, region, category string) int64 {
	return Key(account, region, category, event.AttrReadOnly, "true")
}

// NewHidden prepares the set for the inclusive range start to end (Unix
// seconds): postings outside it are not kept.
func NewHidden(start, end int64) *Hidden { return &Hidden{start: start, end: end} }

// Add offers an index row of HiddenKey (as EncodePostings wrote it).
func (h *Hidden) Add(data []byte) error {
	return eachPosting(data, func(p Posting) { h.keep(p) })
}

// AddPostings offers postings of HiddenKey not in index rows.
func (h *Hidden) AddPostings(ps []Posting) {
	for _, p := range ps {
		h.keep(p)
	}
}

func (h *Hidden) keep(p Posting) {
	if p.Time >= h.start && p.Time <= h.end {
		h.ps = append(h.ps, p)
	}
}

// Seal ends the offers: the set is indexed by sequence for Has, as a
// bitmap when the hidden events' numbers are dense (the usual case: most
// events of a range are read-only), else sorted.
func (h *Hidden) Seal() {
	h.sealed = true
	if len(h.ps) == 0 {
		return
	}
	lo, hi := h.ps[0].Seq, h.ps[0].Seq
	for _, p := range h.ps {
		lo, hi = min(lo, p.Seq), max(hi, p.Seq)
	}
	if span := hi - lo + 1; span/64 <= int64(len(h.ps)) {
		h.base, h.bits = lo, make([]uint64, span/64+1)
		for _, p := range h.ps {
			i := p.Seq - lo
			h.bits[i/64] |= 1 << (i % 64)
		}
		h.n, h.ps = len(h.ps), nil
		return
	}
	slices.SortFunc(h.ps, bySeq)
	h.ps = slices.CompactFunc(h.ps, func(a, b Posting) bool { return a.Seq == b.Seq })
	h.n = len(h.ps)
}

// Has reports whether p's event is hidden. A nil set hides nothing.
func (h *Hidden) Has(p Posting) bool {
	if h == nil || h.n == 0 {
		return false
	}
	if !h.sealed {
		panic("store: Hidden used before Seal")
	}
	if h.bits != nil {
		i := p.Seq - h.base
		return i >= 0 && i/64 < int64(len(h.bits)) && h.bits[i/64]&(1<<(i%64)) != 0
	}
	_, found := slices.BinarySearchFunc(h.ps, p, bySeq)
	return found
}

// Len is how many hidden events the set holds.
func (h *Hidden) Len() int {
	if h == nil {
		return 0
	}
	if !h.sealed {
		return len(h.ps)
	}
	return h.n
}

// noBound is the "below" of a TopK that takes every posting.
const noBound = math.MaxInt64
