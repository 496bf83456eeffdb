package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// HistogramQuery asks how many events of one account and region's event
// history match a filter, per time bucket: the filter of a Query (without
// paging) and the buckets' width.
type HistogramQuery struct {
	Account  string
	Region   string
	Category string
	// Attr and Value restrict the events as in Query; an empty Attr counts
	// every event.
	Attr  event.Attribute
	Value string
	// Start and End bound eventTime, both inclusive.
	Start, End time.Time
	// Width is each bucket's span, a whole number of seconds (at least one).
	// Bucket i covers [Start+i*Width, Start+(i+1)*Width), the last one
	// ending at End.
	Width time.Duration
	// Since, when set, leaves out events before it (where event history
	// begins): the buckets still begin at Start, those before it empty.
	Since time.Time
	// Errors asks for the count of events with an errorCode too, from the
	// index of failed events (ErrorsKey), and for events stored before
	// that index (ErrorKeysState), from their records.
	Errors bool
	// HideReadOnly leaves out the read-only events, as Query's does (a
	// backend hands them to SetHidden).
	HideReadOnly bool
}

// MaxBuckets is the most buckets a histogram has.
const MaxBuckets = 10_000

// ErrHistogram reports a histogram query that cannot be answered as asked.
var ErrHistogram = errors.New("store: bad histogram query")

// Bucket is one time bucket of a histogram.
type Bucket struct {
	// Start is the bucket's first second.
	Start time.Time
	// Count is how many matching events have their eventTime in the bucket.
	Count int64
	// Errors is how many of them have an errorCode (when asked for).
	Errors int64
}

// Histogrammer counts matching events per time bucket (the console's chart).
type Histogrammer interface {
	// Histogram returns every bucket of q's range, oldest first, empty
	// ones included, with exact counts of the events a Lookup of the same
	// filter would list.
	Histogram(ctx context.Context, q HistogramQuery) ([]Bucket, error)
}

// Histo counts postings into the buckets of one HistogramQuery: backends
// offer it their index rows and postings, then the records of the events
// it lists when errors are asked for.
type Histo struct {
	q          HistogramQuery
	start, end int64 // inclusive, Unix seconds
	width      int64
	buckets    []Bucket
	// Seqs lists the postings counted whose records must tell whether
	// they failed (when errors are asked for; see FailedFrom).
	Seqs []Posting
	// failed are the postings of the failed events (ErrorsKey) in range,
	// by seq once failedFrom is set; events numbered from failedFrom on are
	// all under ErrorsKey.
	failed     []Posting
	failedFrom int64
	// hidden are the events left out (HideReadOnly).
	hidden *Hidden
}

// NewHisto checks q and prepares its buckets (none when the range holds no
// whole second).
func NewHisto(q HistogramQuery) (*Histo, error) {
	if q.Width < time.Second || q.Width%time.Second != 0 {
		return nil, fmt.Errorf("%w: width %v is not a whole number of seconds", ErrHistogram, q.Width)
	}
	if q.End.Before(q.Start) {
		return nil, fmt.Errorf("%w: start %v is after end %v", ErrHistogram, q.Start, q.End)
	}
	h := &Histo{q: q, width: int64(q.Width / time.Second), failedFrom: math.MaxInt64}
	h.start, h.end, _ = Query{Start: q.Start, End: q.End}.Bounds()
	n := (h.end - h.start + h.width) / h.width
	if h.end < h.start {
		n = 0
	}
	if n > MaxBuckets {
		return nil, fmt.Errorf("%w: %d buckets, more than %d", ErrHistogram, n, MaxBuckets)
	}
	h.buckets = make([]Bucket, n)
	for i := range h.buckets {
		h.buckets[i].Start = time.Unix(h.start+int64(i)*h.width, 0).UTC()
	}
	if !q.Since.IsZero() {
		since, _, _ := Query{Start: q.Since}.Bounds()
		h.ClipStart(since)
	}
	return h, nil
}

// Bounds is the inclusive range of eventTime (Unix seconds) counted; ok is
// false when nothing can be.
func (h *Histo) Bounds() (start, end int64, ok bool) { return h.start, h.end, len(h.buckets) > 0 }

// ClipStart raises the start of what is counted (a store's retention cut):
// earlier buckets stay, empty.
func (h *Histo) ClipStart(t int64) {
	h.start = max(h.start, t)
}

// Add counts the postings of one index row (as EncodePostings wrote them)
// that are in range and numbered below below.
func (h *Histo) Add(data []byte, below int64) error {
	return eachPosting(data, func(p Posting) {
		if p.Seq < below {
			h.count(p)
		}
	})
}

// eachPosting calls f with each posting of an index row.
func eachPosting(data []byte, f func(Posting)) error {
	r := postingReader{data: data}
	for {
		p, ok, err := r.next()
		if err != nil || !ok {
			return err
		}
		f(p)
	}
}

// AddPostings counts postings that are not in index rows.
func (h *Histo) AddPostings(ps []Posting) {
	for _, p := range ps {
		h.count(p)
	}
}

func (h *Histo) count(p Posting) {
	if p.Time < h.start || p.Time > h.end || h.hidden.Has(p) {
		return
	}
	b := &h.buckets[(p.Time-h.bucketBase())/h.width]
	b.Count++
	switch {
	case !h.q.Errors:
	case p.Seq < h.failedFrom:
		h.Seqs = append(h.Seqs, p) // its record tells
	default:
		if _, found := slices.BinarySearchFunc(h.failed, p, bySeq); found {
			b.Errors++
		}
	}
}

func bySeq(a, b Posting) int { return cmp.Compare(a.Seq, b.Seq) }

// bucketBase is the first bucket's start (ClipStart moves start, not the buckets).
func (h *Histo) bucketBase() int64 { return h.buckets[0].Start.Unix() }

// Record notes a counted event's record: its bucket's error count grows when
// the record has an errorCode.
func (h *Histo) Record(t int64, record []byte) {
	if t < h.start || t > h.end || !event.HasErrorCode(record) {
		return
	}
	h.buckets[(t-h.bucketBase())/h.width].Errors++
}

// AddFailed offers an index row of ErrorsKey (as EncodePostings wrote it):
// its postings in range numbered below below are failed events.
func (h *Histo) AddFailed(data []byte, below int64) error {
	return eachPosting(data, func(p Posting) {
		if p.Seq < below {
			h.AddFailedPostings([]Posting{p})
		}
	})
}

// AddFailedPostings offers postings of ErrorsKey not in index rows.
func (h *Histo) AddFailedPostings(ps []Posting) {
	for _, p := range ps {
		if p.Time >= h.start && p.Time <= h.end {
			h.failed = append(h.failed, p)
		}
	}
}

// FailedFrom says, once the failed postings are offered and before any
// other, that events numbered from from on are all indexed under
// ErrorsKey: their errors are counted from the postings offered, older
// ones are left in Seqs, for their records to tell.
func (h *Histo) FailedFrom(from int64) {
	slices.SortFunc(h.failed, bySeq)
	h.failed = slices.CompactFunc(h.failed, func(a, b Posting) bool { return a.Seq == b.Seq })
	h.failedFrom = from
}

// SetHidden gives the events to leave out (HideReadOnly), sealed, before
// any posting is counted.
func (h *Histo) SetHidden(hidden *Hidden) { h.hidden = hidden }

// NewHidden prepares the set of events to leave out over the histogram's
// range.
func (h *Histo) NewHidden() *Hidden { return NewHidden(h.start, h.end) }

// Result returns the buckets.
func (h *Histo) Result() []Bucket { return h.buckets }

// AddEvent counts one event read whole (a lookup by EventId, which has no
// postings), errors included.
func (h *Histo) AddEvent(e *event.Event) {
	t := e.Time.Unix()
	if t < h.start || t > h.end || h.hidden.Has(Posting{Time: t, Seq: e.Seq}) {
		return
	}
	h.buckets[(t-h.bucketBase())/h.width].Count++
	if h.q.Errors {
		h.Record(t, e.Record)
	}
}

// ByID counts for a histogram by EventId, which has no postings: an ID
// names at most one event, which l looks up.
func (h *Histo) ByID(ctx context.Context, l Querier) ([]Bucket, error) {
	page, err := l.Lookup(ctx, Query{Account: h.q.Account, Region: h.q.Region, Category: h.q.Category, Attr: h.q.Attr,
		Value: h.q.Value, Start: time.Unix(h.start, 0), End: time.Unix(h.end, 0), Limit: 1})
	if err != nil {
		return nil, err
	}
	for _, e := range page.Events {
		h.AddEvent(e)
	}
	return h.Result(), nil
}
