package store

import (
	"cmp"
	"encoding/binary"
	"errors"
	"slices"
)

// Posting is one index entry: an event's time (Unix seconds) and sequence.
type Posting struct {
	Time int64
	Seq  int64
}

// newer orders postings newest first: by time, then by sequence.
func newer(a, b Posting) int {
	switch {
	case a.Time > b.Time:
		return -1
	case a.Time < b.Time:
		return 1
	case a.Seq > b.Seq:
		return -1
	case a.Seq < b.Seq:
		return 1
	}
	return 0
}

// Before reports whether p comes after c in a newest-first listing, i.e.
// whether a page that ended at c continues with p.
func (c Cursor) Before(p Posting) bool {
	return p.Time < c.Time || (p.Time == c.Time && p.Seq < c.Seq)
}

// PostingRow is one row of a backend's lookup index: the postings of one
// lookup key on one day that one group commit wrote. Indexing a commit group
// per key, instead of each event per key, keeps index writes few when many
// events share a value (an event name, a user, the listing of all events).
type PostingRow struct {
	Day     int64
	Key     int64
	MinTime int64
	MaxTime int64
	// FirstSeq is the newest posting's sequence; with Day, Key and MaxTime it
	// identifies the row.
	FirstSeq int64
	Count    int
	Data     []byte
}

// GroupPostings turns the events of one commit into index rows, one per
// (day, key). Rows come out in (day, key) order.
func GroupPostings(entries map[[2]int64][]Posting) []PostingRow {
	rows := make([]PostingRow, 0, len(entries))
	var scratch []uint64
	for dk, ps := range entries {
		scratch = sortNewestFirst(ps, scratch)
		rows = append(rows, PostingRow{Day: dk[0], Key: dk[1], MaxTime: ps[0].Time, MinTime: ps[len(ps)-1].Time,
			FirstSeq: ps[0].Seq, Count: len(ps), Data: EncodePostings(ps)})
	}
	slices.SortFunc(rows, func(a, b PostingRow) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Key, b.Key))
	})
	return rows
}

// A key's postings of one day get an index row of their own (GroupRows)
// when the commit has at least DenseDay of them; a key's postings on days
// where it has fewer go to span rows, each covering at most SpanDays days
// and filed under its newest day. A commit whose events spread over many
// days (a backfill) then writes about one row per key, as a commit of live
// events does, instead of one per key and day (rows of one or two
// postings for most keys); a span row holds fewer than
// DenseDay*SpanDays postings, so a lookup decodes little of one it reads
// in part. A lookup of days [d0, d1] reads the span rows filed under days
// d0 to d1+SpanDays-1.
const (
	DenseDay = 8
	SpanDays = 32
)

// GroupRows turns the events of one commit into index rows: dense, one per
// (day, key) where the key has at least DenseDay postings that day, and
// spans (see DenseDay). entries holds each key's postings, in any order;
// the lists are reordered. Both kinds come out in (day, key) order.
func GroupRows(entries map[int64][]Posting) (dense, spans []PostingRow) {
	// Keys in order, each key's rows newest day first: then each day's
	// rows come out in key order, and a stable pass by day orders them
	// all, without sorting the rows themselves (most of a backfill's are
	// span rows of one posting, one for each of its one-off keys).
	type keyPostings struct {
		k  int64
		ps []Posting
	}
	keys := make([]keyPostings, 0, len(entries))
	for k, ps := range entries {
		keys = append(keys, keyPostings{k, ps})
	}
	slices.SortFunc(keys, func(a, b keyPostings) int { return cmp.Compare(a.k, b.k) })
	spans = make([]PostingRow, 0, len(keys))
	var scratch []uint64
	for _, kp := range keys {
		scratch = sortKeyNewestFirst(kp.ps, scratch)
		dense, spans = splitRows(kp.k, kp.ps, dense, spans)
	}
	return byDay(dense), byDay(spans)
}

// byDay orders rows, at most one per (day, key) and in key order within
// each day, by (day, key): a counting sort by day when the days span a
// range not much wider than the rows, else a comparison sort.
func byDay(rows []PostingRow) []PostingRow {
	if len(rows) < 2 {
		return rows
	}
	lo, hi := rows[0].Day, rows[0].Day
	for _, r := range rows[1:] {
		lo, hi = min(lo, r.Day), max(hi, r.Day)
	}
	if uint64(hi-lo) >= uint64(len(rows))+1024 {
		slices.SortFunc(rows, func(a, b PostingRow) int {
			return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Key, b.Key))
		})
		return rows
	}
	start := make([]int, hi-lo+2)
	for _, r := range rows {
		start[r.Day-lo+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	out := make([]PostingRow, len(rows))
	for _, r := range rows {
		out[start[r.Day-lo]] = r
		start[r.Day-lo]++
	}
	return out
}

// splitRows appends the rows of key k's newest-first postings ps: a dense
// row for each day with at least DenseDay of them, and the other days'
// postings in span rows of at most SpanDays days each.
func splitRows(k int64, ps []Posting, dense, spans []PostingRow) ([]PostingRow, []PostingRow) {
	var span []Posting // sparse days' postings gathered, newest first
	var top int64      // the day of span's newest posting
	for i := 0; i < len(ps); {
		d := Day(ps[i].Time)
		j := i + 1
		for j < len(ps) && Day(ps[j].Time) == d {
			j++
		}
		if run := ps[i:j]; len(run) >= DenseDay {
			dense = append(dense, rowOf(d, k, run))
		} else {
			if len(span) > 0 && d <= top-SpanDays {
				spans = append(spans, rowOf(top, k, span))
				span = span[:0]
			}
			if len(span) == 0 {
				top = d
			}
			span = append(span, run...)
		}
		i = j
	}
	if len(span) > 0 {
		spans = append(spans, rowOf(top, k, span))
	}
	return dense, spans
}

// sortKeyNewestFirst sorts ps (one key's postings of any days) newest
// first, as packed numbers (time over sequence, each less its minimum)
// when the ranges leave room.
func sortKeyNewestFirst(ps []Posting, scratch []uint64) []uint64 {
	if len(ps) < 2 {
		return scratch
	}
	t0, t1, s0, s1 := ps[0].Time, ps[0].Time, ps[0].Seq, ps[0].Seq
	for _, p := range ps[1:] {
		t0, t1, s0, s1 = min(t0, p.Time), max(t1, p.Time), min(s0, p.Seq), max(s1, p.Seq)
	}
	if uint64(t1-t0) >= 1<<(64-keyPackSeqBits) || uint64(s1-s0) >= 1<<keyPackSeqBits {
		slices.SortFunc(ps, newer)
		return scratch
	}
	scratch = slices.Grow(scratch[:0], len(ps))
	for _, p := range ps {
		scratch = append(scratch, uint64(p.Time-t0)<<keyPackSeqBits|uint64(p.Seq-s0))
	}
	slices.Sort(scratch)
	for i, v := range scratch {
		ps[len(ps)-1-i] = Posting{Time: t0 + int64(v>>keyPackSeqBits), Seq: s0 + int64(v&(1<<keyPackSeqBits-1))}
	}
	return scratch
}

// keyPackSeqBits is the sequence's share of a packed posting in
// sortKeyNewestFirst: 2^24 s (194 days) of time over 2^40 sequence numbers.
const keyPackSeqBits = 40

// rowOf is the index row of newest-first postings ps of key, filed under day.
func rowOf(day, key int64, ps []Posting) PostingRow {
	return PostingRow{Day: day, Key: key, MaxTime: ps[0].Time, MinTime: ps[len(ps)-1].Time,
		FirstSeq: ps[0].Seq, Count: len(ps), Data: EncodePostings(ps)}
}

// SpanDaysOf is the range of days under which the span rows that may hold
// postings of days d0 to d1 are filed.
func SpanDaysOf(d0, d1 int64) (int64, int64) { return d0, d1 + SpanDays - 1 }

// sortNewestFirst sorts ps (postings of one day) newest first. Each is
// packed into one number, second of the day over sequence, when the
// sequence leaves room: sorting plain numbers is several times faster.
func sortNewestFirst(ps []Posting, scratch []uint64) []uint64 {
	if len(ps) < 2 {
		return scratch
	}
	day := Day(ps[0].Time) * 86400
	for _, p := range ps {
		if uint64(p.Seq) >= 1<<packSeqBits || p.Time < day || p.Time-day >= 86400 {
			slices.SortFunc(ps, newer)
			return scratch
		}
	}
	scratch = slices.Grow(scratch[:0], len(ps))
	for _, p := range ps {
		scratch = append(scratch, uint64(p.Time-day)<<packSeqBits|uint64(p.Seq))
	}
	slices.Sort(scratch)
	for i, v := range scratch {
		ps[len(ps)-1-i] = Posting{Time: day + int64(v>>packSeqBits), Seq: int64(v & (1<<packSeqBits - 1))}
	}
	return scratch
}

// packSeqBits is the sequence's share of a packed posting: 64 bits less
// 17 for the second of the day.
const packSeqBits = 47

// EncodePostings packs newest-first postings as deltas.
func EncodePostings(ps []Posting) []byte {
	out := make([]byte, 0, 4*len(ps)+16)
	var prev Posting
	for i, p := range ps {
		if i == 0 {
			out = binary.AppendVarint(out, p.Time)
			out = binary.AppendVarint(out, p.Seq)
		} else {
			out = binary.AppendUvarint(out, uint64(prev.Time-p.Time))
			out = binary.AppendVarint(out, p.Seq-prev.Seq)
		}
		prev = p
	}
	return out
}

// ErrCorruptPostings reports index data that cannot be decoded.
var ErrCorruptPostings = errors.New("store: corrupt postings")

// DecodePostings unpacks what EncodePostings wrote.
func DecodePostings(data []byte, into []Posting) ([]Posting, error) {
	r := postingReader{data: data}
	for {
		p, ok, err := r.next()
		if err != nil {
			return into, err
		}
		if !ok {
			return into, nil
		}
		into = append(into, p)
	}
}

// postingReader reads postings one at a time from EncodePostings' output.
type postingReader struct {
	data []byte
	prev Posting
	read bool // the first posting is read
}

// next returns the next posting; ok is false at the end.
func (r *postingReader) next() (p Posting, ok bool, err error) {
	if len(r.data) == 0 {
		return p, false, nil
	}
	if !r.read {
		t, n := binary.Varint(r.data)
		if n <= 0 {
			return p, false, ErrCorruptPostings
		}
		s, m := binary.Varint(r.data[n:])
		if m <= 0 {
			return p, false, ErrCorruptPostings
		}
		r.data, p, r.read = r.data[n+m:], Posting{t, s}, true
	} else {
		dt, n := binary.Uvarint(r.data)
		if n <= 0 {
			return p, false, ErrCorruptPostings
		}
		ds, m := binary.Varint(r.data[n:])
		if m <= 0 {
			return p, false, ErrCorruptPostings
		}
		r.data, p = r.data[n+m:], Posting{r.prev.Time - int64(dt), r.prev.Seq + ds}
	}
	r.prev = p
	return p, true, nil
}

// TopK gathers the newest postings of a listing from index rows read in
// descending MaxTime order, and says when no further row can matter.
type TopK struct {
	q     Query
	start int64
	end   int64
	want  int
	found []Posting
	spare []Posting // merge's output buffer, swapped with found
	// hidden are the events left out (HideReadOnly); below, when set,
	// leaves out the postings of index rows numbered from it on (see
	// SetHidden).
	hidden *Hidden
	below  int64
}

// NewTopK prepares to collect one page (Limit+1 postings, to know whether
// another page follows) for q.
func NewTopK(q Query) *TopK {
	start, end, _ := q.Bounds()
	return &TopK{q: q, start: start, end: end, want: q.Limit + 1, below: noBound}
}

// SetHidden gives the events to leave out (HideReadOnly), sealed, before
// any posting is offered. Postings of index rows numbered from below on
// are left out too: a backend whose hidden set is a snapshot (the
// postings pending then, and rows of events numbered below the first one
// pending then) must not list events appended after it, which the set may
// lack.
func (k *TopK) SetHidden(h *Hidden, below int64) { k.hidden, k.below = h, below }

// Range is the inclusive range of eventTime (Unix seconds) the listing reads.
func (k *TopK) Range() (start, end int64) { return k.start, k.end }

// Done reports whether a row whose newest posting is at maxTime, or any
// older row, can no longer change the result.
func (k *TopK) Done(maxTime int64) bool {
	return len(k.found) >= k.want && maxTime < k.found[k.want-1].Time
}

// Full reports whether a whole page (and one more) has been found.
func (k *TopK) Full() bool { return len(k.found) >= k.want }

// Floor returns, once a whole page has been found, the oldest time a row's
// newest posting may have and still change the result (Done is true below
// it): a backend need not read rows, or days, older than that.
func (k *TopK) Floor() (int64, bool) {
	if len(k.found) < k.want {
		return 0, false
	}
	return k.found[k.want-1].Time, true
}

// Add offers one row's postings (as EncodePostings wrote them, newest
// first). It decodes only as far as postings can still enter the page:
// past the query's start, past the oldest posting of a page already found,
// or past a page's worth from this row, the rest of the row is older.
func (k *TopK) Add(data []byte) error {
	full := len(k.found) >= k.want
	var last Posting
	if full {
		last = k.found[k.want-1]
	}
	added, inOrder := 0, true
	r := postingReader{data: data}
	for added < k.want {
		p, ok, err := r.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if p.Time > k.end || (k.q.After != nil && !k.q.After.Before(p)) {
			continue
		}
		if p.Time < k.start || (full && newer(p, last) >= 0) {
			break
		}
		if p.Seq >= k.below || k.hidden.Has(p) {
			continue
		}
		if added > 0 && newer(k.found[len(k.found)-1], p) >= 0 {
			inOrder = false
		}
		k.found = append(k.found, p)
		added++
	}
	switch {
	case added == 0:
	case inOrder:
		k.merge(len(k.found) - added)
	default:
		k.trim()
	}
	return nil
}

// merge merges the postings found from n on, newest first, into those
// before n (the page so far, newest first), keeping each posting once and
// a page's worth (and one more). A row's postings come newest first, so
// this costs their number, where a sort after each row cost more than the
// decoding.
func (k *TopK) merge(n int) {
	a, b := k.found[:n], k.found[n:]
	out := k.spare[:0]
	for len(out) < k.want && (len(a) > 0 || len(b) > 0) {
		var p Posting
		switch {
		case len(b) == 0 || (len(a) > 0 && newer(a[0], b[0]) <= 0):
			p, a = a[0], a[1:]
			if len(b) > 0 && b[0] == p {
				b = b[1:]
			}
		default:
			p, b = b[0], b[1:]
		}
		out = append(out, p)
	}
	k.found, k.spare = out, k.found[:0]
}

// AddPostings offers postings not (yet) in an index row. A posting offered
// twice is kept once. The page is cut back to its size whenever a few
// pages' worth has gathered, so that a long list (the pending postings of
// a busy key) costs about its length, not a sort of all of it.
func (k *TopK) AddPostings(ps []Posting) {
	added := false
	full := len(k.found) >= k.want
	var last Posting // the oldest of a whole page found so far
	if full {
		last = k.found[k.want-1]
	}
	for _, p := range ps {
		if p.Time < k.start || p.Time > k.end {
			continue
		}
		if (k.q.After != nil && !k.q.After.Before(p)) || k.hidden.Has(p) {
			continue
		}
		// Once a page is found, only a newer posting can change it.
		if full && newer(p, last) >= 0 {
			continue
		}
		k.found = append(k.found, p)
		added = true
		if len(k.found) >= 4*k.want+64 {
			k.trim()
			added = false
			if full = len(k.found) >= k.want; full {
				last = k.found[k.want-1]
			}
		}
	}
	if added {
		k.trim()
	}
}

// trim sorts the postings found, newest first, and keeps a page's worth
// (and one more).
func (k *TopK) trim() {
	slices.SortFunc(k.found, newer)
	k.found = slices.Compact(k.found)
	if len(k.found) > k.want {
		k.found = k.found[:k.want]
	}
}

// Result returns the page's postings, newest first, and the cursor of the
// next page when there is one.
func (k *TopK) Result() ([]Posting, *Cursor) {
	if k.q.Limit <= 0 {
		return nil, nil
	}
	if len(k.found) > k.q.Limit {
		last := k.found[k.q.Limit-1]
		return k.found[:k.q.Limit], &Cursor{Time: last.Time, Seq: last.Seq}
	}
	return k.found, nil
}
