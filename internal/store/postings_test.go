package store_test

import (
	"bytes"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

type P = store.Posting

// newest orders postings newest first, as the index does.
func newest(a, b P) int { return cmp.Or(cmp.Compare(b.Time, a.Time), cmp.Compare(b.Seq, a.Seq)) }

func TestPostingsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		ps   []P
	}{
		{"none", nil},
		{"one", []P{{Time: 1795683600, Seq: 42}}},
		{"newest first", []P{{Time: 1795683600, Seq: 9}, {Time: 1795683599, Seq: 8}, {Time: 1795680000, Seq: 3}}},
		{"equal times", []P{{Time: 1795683600, Seq: 9}, {Time: 1795683600, Seq: 8}, {Time: 1795683600, Seq: 7}}},
		{"equal postings", []P{{Time: 5, Seq: 5}, {Time: 5, Seq: 5}}},
		{"descending seqs", []P{{Time: 100, Seq: 1000}, {Time: 90, Seq: 10}, {Time: 80, Seq: 1}}},
		{"ascending seqs (negative deltas become positive)", []P{{Time: 100, Seq: 1}, {Time: 90, Seq: 50}, {Time: 80, Seq: 51}}},
		{"times going up (negative time deltas)", []P{{Time: 80, Seq: 3}, {Time: 90, Seq: 2}, {Time: 100, Seq: 1}}},
		{"negative values", []P{{Time: -1, Seq: -1}, {Time: -86400, Seq: -5}, {Time: math.MinInt64 + 1, Seq: 0}}},
		{"extremes", []P{{Time: math.MaxInt64, Seq: math.MaxInt64}, {Time: math.MinInt64, Seq: math.MinInt64},
			{Time: math.MaxInt64, Seq: math.MinInt64}, {Time: 0, Seq: math.MaxInt64}}},
		{"zero", []P{{Time: 0, Seq: 0}, {Time: 0, Seq: 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := store.EncodePostings(tc.ps)
			got, err := store.DecodePostings(data, nil)
			if err != nil {
				t.Fatalf("DecodePostings(%x): %v", data, err)
			}
			if !slices.Equal(got, tc.ps) {
				t.Errorf("round trip\n got %v\nwant %v", got, tc.ps)
			}
			// DecodePostings appends to what it is given.
			prefix := []P{{Time: 1, Seq: 2}}
			got, err = store.DecodePostings(data, prefix)
			if err != nil || !slices.Equal(got, append([]P{{Time: 1, Seq: 2}}, tc.ps...)) {
				t.Errorf("appending: %v, %v", got, err)
			}
		})
	}

	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 2000; i++ {
		ps := make([]P, r.IntN(50))
		t0, s0 := r.Int64N(2_000_000_000), r.Int64N(1<<40)
		for j := range ps {
			ps[j] = P{Time: t0 - r.Int64N(86400), Seq: s0 - r.Int64N(1<<20) + r.Int64N(1<<10)}
		}
		if r.IntN(2) == 0 {
			slices.SortFunc(ps, newest)
		}
		got, err := store.DecodePostings(store.EncodePostings(ps), nil)
		if err != nil || !slices.Equal(got, ps) {
			t.Fatalf("round trip of %v: %v, %v", ps, got, err)
		}
	}
}

// TestPostingsGolden pins the index format: it is stored on disk.
func TestPostingsGolden(t *testing.T) {
	var b bytes.Buffer
	for _, ps := range [][]P{
		{{Time: 1795683600, Seq: 42}},
		{{Time: 1795683600, Seq: 42}, {Time: 1795683600, Seq: 41}, {Time: 1795683599, Seq: 40}, {Time: 1795680000, Seq: 7}},
		{{Time: 100, Seq: 1}, {Time: 90, Seq: 5}},
		{{Time: -1, Seq: -1}},
	} {
		fmt.Fprintf(&b, "%v\n\t%x\n", ps, store.EncodePostings(ps))
	}
	path := filepath.Join("testdata", "postings.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("postings encoding changed (go test -update rewrites testdata/postings.golden)\n got:\n%s\nwant:\n%s", b.Bytes(), want)
	}
}

func TestDecodePostingsCorrupt(t *testing.T) {
	good := store.EncodePostings([]P{{Time: 1795683600, Seq: 42}, {Time: 1795683000, Seq: 40}})
	for name, data := range map[string][]byte{
		"unterminated time":           {0x80},
		"time without seq":            {0x02},
		"unterminated seq":            {0x02, 0x80},
		"second posting cut":          good[:len(good)-1],
		"second posting without seq":  append(store.EncodePostings([]P{{Time: 1, Seq: 1}}), 0x00),
		"overlong varint":             bytes.Repeat([]byte{0xff}, 11),
		"overflowing 10th byte":       append(bytes.Repeat([]byte{0xff}, 9), 0x02, 0x00),
		"overlong delta":              append(store.EncodePostings([]P{{Time: 1, Seq: 1}}), bytes.Repeat([]byte{0x80}, 11)...),
		"trailing continuation bytes": append(append([]byte{}, good...), 0x80, 0x80),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := store.DecodePostings(data, nil)
			if !errors.Is(err, store.ErrCorruptPostings) {
				t.Errorf("DecodePostings(%x) = %v, want ErrCorruptPostings", data, err)
			}
		})
	}
}

// FuzzDecodePostings: DecodePostings never panics; what it reads encodes
// back to data that reads the same; and every posting takes two bytes or more.
func FuzzDecodePostings(f *testing.F) {
	f.Add([]byte{})
	f.Add(store.EncodePostings([]P{{Time: 1795683600, Seq: 42}, {Time: 1795683600, Seq: 41}, {Time: 1795680000, Seq: 7}}))
	f.Add(store.EncodePostings([]P{{Time: math.MaxInt64, Seq: math.MinInt64}, {Time: math.MinInt64, Seq: math.MaxInt64}}))
	f.Add([]byte{0x80})
	f.Add(bytes.Repeat([]byte{0xff}, 12))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := store.DecodePostings(data, nil)
		if err != nil {
			if !errors.Is(err, store.ErrCorruptPostings) {
				t.Fatalf("error %v is not ErrCorruptPostings", err)
			}
			return
		}
		if 2*len(ps) > len(data) {
			t.Fatalf("%d postings from %d bytes", len(ps), len(data))
		}
		again, err := store.DecodePostings(store.EncodePostings(ps), nil)
		if err != nil || !slices.Equal(again, ps) {
			t.Fatalf("%x: %v re-encoded reads %v, %v", data, ps, again, err)
		}
	})
}

func TestGroupPostings(t *testing.T) {
	entries := map[[2]int64][]P{
		{20000, 7}: {{Time: 20000*86400 + 5, Seq: 3}, {Time: 20000*86400 + 9, Seq: 4}, {Time: 20000*86400 + 9, Seq: 6}},
		{20000, 2}: {{Time: 20000*86400 + 1, Seq: 1}},
		{19999, 9}: {{Time: 19999*86400 + 100, Seq: 2}, {Time: 19999*86400 + 50, Seq: 5}},
	}
	rows := store.GroupPostings(entries)
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	if !slices.IsSortedFunc(rows, func(a, b store.PostingRow) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Key, b.Key))
	}) || rows[0].Day != 19999 || rows[1].Key != 2 {
		t.Errorf("rows out of (day, key) order: %+v", rows)
	}
	for _, r := range rows {
		ps, err := store.DecodePostings(r.Data, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := slices.SortedFunc(slices.Values(entries[[2]int64{r.Day, r.Key}]), newest)
		if !slices.Equal(ps, want) {
			t.Errorf("row %d/%d holds %v, want %v", r.Day, r.Key, ps, want)
		}
		if r.Count != len(ps) || r.MaxTime != ps[0].Time || r.MinTime != ps[len(ps)-1].Time || r.FirstSeq != ps[0].Seq {
			t.Errorf("row %+v does not describe %v", r, ps)
		}
	}
}

func TestDay(t *testing.T) {
	for unix, want := range map[int64]int64{0: 0, 86399: 0, 86400: 1, 1795683600: 20783, -1: -1, -86401: -1} {
		if got := store.Day(unix); got != want {
			t.Errorf("Day(%d) = %d, want %d", unix, got, want)
		}
	}
}

func TestCursorBefore(t *testing.T) {
	c := store.Cursor{Time: 100, Seq: 10}
	for p, want := range map[P]bool{
		{Time: 99, Seq: 50}: true, {Time: 100, Seq: 9}: true,
		{Time: 100, Seq: 10}: false, {Time: 100, Seq: 11}: false, {Time: 101, Seq: 1}: false,
	} {
		if got := c.Before(p); got != want {
			t.Errorf("%v.Before(%v) = %v, want %v", c, p, got, want)
		}
	}
}

// topKCase is one randomized lookup: the postings of one key, cut into
// index rows, and a query.
type topKCase struct {
	rows  []row
	all   []P
	limit int
	start int64
	end   int64
	after *store.Cursor
}

type row struct {
	day, maxTime int64
	data         []byte
}

const day0 = 20000 * 86400

func randomCase(r *rand.Rand) topKCase {
	var c topKCase
	// Few distinct times, so that many postings share a time and rows overlap.
	days := 1 + r.IntN(3)
	span := int64(1 + r.IntN(40))
	n := r.IntN(120)
	seqs := r.Perm(n * 3)[:n] // unique, in no particular order of time
	for i := 0; i < n; i++ {
		d := int64(r.IntN(days))
		c.all = append(c.all, P{Time: day0 + d*86400 + r.Int64N(span), Seq: int64(seqs[i]) + 1})
	}
	// Rows: commit groups of random size, each within one day, as GroupPostings makes them.
	pending := slices.Clone(c.all)
	r.Shuffle(len(pending), func(i, j int) { pending[i], pending[j] = pending[j], pending[i] })
	for len(pending) > 0 {
		k := 1 + r.IntN(min(len(pending), 8))
		group := map[[2]int64][]P{}
		for _, p := range pending[:k] {
			dk := [2]int64{store.Day(p.Time), 1}
			group[dk] = append(group[dk], p)
		}
		pending = pending[k:]
		for _, pr := range store.GroupPostings(group) {
			c.rows = append(c.rows, row{day: pr.Day, maxTime: pr.MaxTime, data: pr.Data})
		}
	}
	// Offered in MaxTime-descending order; ties in any order.
	r.Shuffle(len(c.rows), func(i, j int) { c.rows[i], c.rows[j] = c.rows[j], c.rows[i] })
	slices.SortStableFunc(c.rows, func(a, b row) int { return cmp.Compare(b.maxTime, a.maxTime) })

	c.limit = 1 + r.IntN(12)
	if r.IntN(4) == 0 {
		c.limit = 50
	}
	lo, hi := int64(day0-10), day0+int64(days)*86400
	c.start, c.end = lo, hi
	if r.IntN(2) == 0 {
		c.start = day0 + int64(r.IntN(days))*86400 + r.Int64N(span+2) - 1
	}
	if r.IntN(2) == 0 {
		c.end = day0 + int64(r.IntN(days))*86400 + r.Int64N(span+2) - 1
	}
	switch r.IntN(4) {
	case 0: // a cursor on an existing posting, as a NextToken holds
		if n > 0 {
			p := c.all[r.IntN(n)]
			c.after = &store.Cursor{Time: p.Time, Seq: p.Seq}
		}
	case 1: // anywhere
		c.after = &store.Cursor{Time: day0 + int64(r.IntN(days))*86400 + r.Int64N(span), Seq: r.Int64N(int64(n*3) + 2)}
	}
	return c
}

func (c topKCase) query() store.Query {
	return store.Query{Start: time.Unix(c.start, 0), End: time.Unix(c.end, 0), Limit: c.limit, After: c.after}
}

// bruteForce is the page by definition: every posting in range and after
// the cursor, newest first, cut at the limit.
func (c topKCase) bruteForce() ([]P, *store.Cursor) {
	var in []P
	for _, p := range c.all {
		if p.Time >= c.start && p.Time <= c.end && (c.after == nil || c.after.Before(p)) {
			in = append(in, p)
		}
	}
	slices.SortFunc(in, newest)
	if len(in) > c.limit {
		last := in[c.limit-1]
		return in[:c.limit], &store.Cursor{Time: last.Time, Seq: last.Seq}
	}
	return in, nil
}

func samePage(ps []P, next *store.Cursor, wantPs []P, wantNext *store.Cursor) bool {
	if len(ps) != len(wantPs) || (next == nil) != (wantNext == nil) || (next != nil && *next != *wantNext) {
		return false
	}
	return len(ps) == 0 || slices.Equal(ps, wantPs)
}

// TestTopKMatchesBruteForce: rows offered in MaxTime-descending order,
// stopping where Done says, give the same page as sorting every posting; so
// does a scan day by day that stops once Full, as the SQLite store does; and
// offering every row, ignoring Done, changes nothing (Done never stops early).
func TestTopKMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 11))
	for i := 0; i < 5000; i++ {
		c := randomCase(r)
		want, wantNext := c.bruteForce()

		early := store.NewTopK(c.query())
		stopped := len(c.rows)
		for j, rw := range c.rows {
			if early.Done(rw.maxTime) {
				stopped = j
				break
			}
			if err := early.Add(rw.data); err != nil {
				t.Fatal(err)
			}
		}
		got, next := early.Result()
		if !samePage(got, next, want, wantNext) {
			t.Fatalf("case %d (limit %d, range %d..%d, after %v, stopped at row %d of %d):\n got %v next %v\nwant %v next %v\nall %v",
				i, c.limit, c.start, c.end, c.after, stopped, len(c.rows), got, next, want, wantNext, c.all)
		}

		full := store.NewTopK(c.query())
		for _, rw := range c.rows {
			if err := full.Add(rw.data); err != nil {
				t.Fatal(err)
			}
		}
		if got, next := full.Result(); !samePage(got, next, want, wantNext) {
			t.Fatalf("case %d, every row offered: got %v next %v, want %v next %v", i, got, next, want, wantNext)
		}
		// Once Done, Done stays true for every later (older) row.
		for _, rw := range c.rows[stopped:] {
			if !early.Done(rw.maxTime) {
				t.Fatalf("case %d: Done(%d) false after Done was true for a newer row", i, rw.maxTime)
			}
		}

		// Day by day, newest day first, stopping at a day boundary once Full.
		byDay := store.NewTopK(c.query())
		days := map[int64][]row{}
		var order []int64
		for _, rw := range c.rows {
			if _, ok := days[rw.day]; !ok {
				order = append(order, rw.day)
			}
			days[rw.day] = append(days[rw.day], rw)
		}
		slices.Sort(order)
		slices.Reverse(order)
		for _, d := range order {
			if byDay.Full() {
				break
			}
			for _, rw := range days[d] {
				if byDay.Done(rw.maxTime) {
					break
				}
				if err := byDay.Add(rw.data); err != nil {
					t.Fatal(err)
				}
			}
		}
		if got, next := byDay.Result(); !samePage(got, next, want, wantNext) {
			t.Fatalf("case %d, day by day: got %v next %v, want %v next %v", i, got, next, want, wantNext)
		}
	}
}

// TestTopKPagesCoverEverything: following Result's cursor page by page
// yields every posting in range exactly once, newest first.
func TestTopKPagesCoverEverything(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < 300; i++ {
		c := randomCase(r)
		c.after = nil
		var all []P
		for pages := 0; ; pages++ {
			if pages > len(c.all)+1 {
				t.Fatalf("case %d: paging does not end", i)
			}
			k := store.NewTopK(c.query())
			for _, rw := range c.rows {
				if k.Done(rw.maxTime) {
					break
				}
				if err := k.Add(rw.data); err != nil {
					t.Fatal(err)
				}
			}
			ps, next := k.Result()
			all = append(all, ps...)
			if next == nil {
				break
			}
			c.after = next
		}
		c.after, c.limit = nil, len(c.all)+1
		want, _ := c.bruteForce()
		if !slices.Equal(all, want) && len(all)+len(want) > 0 {
			t.Fatalf("case %d: pages give %v, want %v", i, all, want)
		}
	}
}

func TestTopKCorruptRow(t *testing.T) {
	k := store.NewTopK(store.Query{Start: time.Unix(0, 0), End: time.Unix(1<<40, 0), Limit: 5})
	if err := k.Add([]byte{0x80}); !errors.Is(err, store.ErrCorruptPostings) {
		t.Errorf("Add(corrupt) = %v", err)
	}
}

// TestTopKStartIsInclusiveToTheSecondFraction: Query says Start bounds
// eventTime inclusively, but NewTopK uses q.Start.Unix(), which drops the
// fraction: a posting at 100 s is kept for a Start of 100.5 s.
func TestTopKStartIsInclusiveToTheSecondFraction(t *testing.T) {
	k := store.NewTopK(store.Query{Start: time.Unix(100, 500_000_000), End: time.Unix(200, 0), Limit: 5})
	if err := k.Add(store.EncodePostings([]P{{Time: 150, Seq: 2}, {Time: 100, Seq: 1}})); err != nil {
		t.Fatal(err)
	}
	if ps, _ := k.Result(); len(ps) != 1 {
		t.Errorf("postings %v for Start 100.5 s; the one at 100 s is before Start", ps)
	}
}

// TestKeysAreStable: index keys are stored on disk, so Key and HashPair
// must stay FNV-1a 64 of their strings joined by zero bytes.
func TestKeysAreStable(t *testing.T) {
	ref := func(parts ...string) int64 {
		h := fnv.New64a()
		h.Write([]byte(strings.Join(parts, "\x00")))
		return int64(h.Sum64())
	}
	cases := [][]string{
		{"111111111111", "us-east-1", "Management", "EventName", "RunInstances"},
		{"", "", "", "", ""},
		{"123456789012", "eu-west-1", "Insight", "", "ünïcode ✓"},
	}
	for _, c := range cases {
		if got, want := store.Key(c[0], c[1], c[2], event.Attribute(c[3]), c[4]), ref(c...); got != want {
			t.Errorf("Key(%q) = %d, want %d", c, got, want)
		}
		if got, want := store.HashPair(c[0], c[4]), ref(c[0], c[4]); got != want {
			t.Errorf("HashPair(%q, %q) = %d, want %d", c[0], c[4], got, want)
		}
	}
}

// Postings come out newest first whatever order they came in: commit
// order (oldest first, often with a little jitter), random, all at one
// time, newest first.
func TestGroupPostingsAnyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	base := int64(20000 * 86400)
	shapes := map[string]func(i int) int64{
		"commit order": func(i int) int64 { return base + int64(i/10) },
		"jitter":       func(i int) int64 { return base + int64(i/10) + int64(rng.IntN(3)) - 1 },
		"random":       func(i int) int64 { return base + int64(rng.IntN(86400)) },
		"one second":   func(i int) int64 { return base },
		"newest first": func(i int) int64 { return base + 86399 - int64(i) },
		"before 1970":  func(i int) int64 { return -int64(rng.IntN(1 << 40)) },
	}
	for name, at := range shapes {
		for _, n := range []int{1, 2, 3, 100, 5000} {
			in := make([]P, n)
			for i := range in {
				in[i] = P{Time: at(i), Seq: int64(1000 + i)}
				if name == "random" && i%2 == 1 {
					in[i].Seq += 1 << 50 // too big to pack
				}
			}
			want := slices.SortedFunc(slices.Values(in), newest)
			rows := store.GroupPostings(map[[2]int64][]P{{20000, 1}: slices.Clone(in)})
			got, err := store.DecodePostings(rows[0].Data, nil)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("%s, %d postings: out of order (%v)", name, n, err)
			}
		}
	}
}

// BenchmarkGroupPostings: one index transaction's postings of one busy
// key, in commit order with clients' clocks a second apart.
func BenchmarkGroupPostings(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	in := make([]P, 64_000)
	for i := range in {
		in[i] = P{Time: int64(20000*86400 + i/5000 + rng.IntN(2)), Seq: int64(i + 1)}
	}
	work := make([]P, len(in))
	for b.Loop() {
		copy(work, in)
		store.GroupPostings(map[[2]int64][]P{{20000, 1}: work})
	}
}

// A long list offered at once (a busy key's pending postings) gives the
// same page as sorting all of it: the newest, each once, after the cursor,
// within the range.
func TestTopKAddPostingsLongList(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var ps []P
	for i := range 100_000 {
		ps = append(ps, P{Time: 1_000_000 + r.Int64N(50_000), Seq: int64(i + 1)})
	}
	ps = append(ps, ps[:500]...) // offered twice
	for _, tc := range []struct {
		limit int
		after *store.Cursor
		start int64
		end   int64
	}{
		{50, nil, 1_000_000, 1_050_000},
		{7, nil, 1_010_000, 1_020_000},
		{50, &store.Cursor{Time: 1_040_000, Seq: 50_000}, 1_000_000, 1_050_000},
		{1000, nil, 1_049_900, 1_050_000},
	} {
		q := store.Query{Limit: tc.limit, After: tc.after, Start: time.Unix(tc.start, 0), End: time.Unix(tc.end, 0)}
		top := store.NewTopK(q)
		top.AddPostings(ps)
		got, _ := top.Result()
		var want []P
		seen := map[P]bool{}
		for _, p := range ps {
			if p.Time >= tc.start && p.Time <= tc.end && (tc.after == nil || tc.after.Before(p)) && !seen[p] {
				seen[p] = true
				want = append(want, p)
			}
		}
		slices.SortFunc(want, func(a, b P) int { return cmp.Or(cmp.Compare(b.Time, a.Time), cmp.Compare(b.Seq, a.Seq)) })
		want = want[:min(len(want), tc.limit)]
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d after %v: %d postings, want %d (first %v, want %v)", tc.limit, tc.after, len(got), len(want), got[:1], want[:1])
		}
	}
}

// GroupRows: a key's day with DenseDay postings or more gets a row of its
// own; its other days' postings go to span rows filed under their newest
// day and reaching back less than SpanDays days; every posting is in
// exactly one row, newest first.
func TestGroupRows(t *testing.T) {
	const day = 86400
	entries := map[int64][]P{}
	var all []P
	seq := int64(0)
	add := func(k, d int64, n int) {
		for i := range n {
			seq++
			p := P{Time: d*day + int64(i*37%day), Seq: seq}
			entries[k] = append(entries[k], p)
			if k == 1 {
				all = append(all, p)
			}
		}
	}
	add(1, 20000, store.DenseDay) // dense
	for d := int64(19900); d < 20000; d += 3 {
		add(1, d, 2) // sparse, over 100 days
	}
	add(2, 20010, 1)
	dense, spans := store.GroupRows(entries)
	var got []P
	for _, r := range dense {
		ps, err := store.DecodePostings(r.Data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Key == 1 {
			if r.Day != 20000 || len(ps) != store.DenseDay {
				t.Errorf("dense row %+v", r)
			}
			got = append(got, ps...)
		}
	}
	if len(dense) != 1 {
		t.Fatalf("%d dense rows, want 1", len(dense))
	}
	for _, r := range spans {
		ps, err := store.DecodePostings(r.Data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if store.Day(ps[0].Time) != r.Day || r.MaxTime != ps[0].Time || r.MinTime != ps[len(ps)-1].Time || r.Count != len(ps) {
			t.Errorf("span row %+v: postings %v…%v", r, ps[0], ps[len(ps)-1])
		}
		if d0, _ := store.SpanDaysOf(store.Day(r.MinTime), store.Day(r.MinTime)); r.Day-d0 >= store.SpanDays {
			t.Errorf("span row of day %d reaches back to day %d", r.Day, store.Day(r.MinTime))
		}
		if !slices.IsSortedFunc(ps, func(a, b P) int { return cmp.Or(cmp.Compare(b.Time, a.Time), cmp.Compare(b.Seq, a.Seq)) }) {
			t.Errorf("span row of day %d: not newest first", r.Day)
		}
		if r.Key == 1 {
			got = append(got, ps...)
		}
	}
	if n := len(spans); n != 4+1 { // 100 days of key 1 in spans of 32 days, and key 2's
		t.Errorf("%d span rows, want 5", n)
	}
	slices.SortFunc(got, func(a, b P) int { return cmp.Compare(a.Seq, b.Seq) })
	if !slices.Equal(got, all) {
		t.Errorf("key 1: %d postings in rows, want %d", len(got), len(all))
	}
}

// GroupRows orders both kinds of rows by (day, key), whether the commit's
// days span a few weeks (sorted by counting) or years (sorted by
// comparison), and puts every posting in exactly one row.
func TestGroupRowsOrder(t *testing.T) {
	for _, spread := range []int64{30, 3000} {
		rng := rand.New(rand.NewPCG(uint64(spread), 7))
		entries := map[int64][]P{}
		n := 0
		for seq := int64(1); seq <= 5000; seq++ {
			tm := 20000*86400 - rng.Int64N(spread*86400)
			for _, k := range []int64{rng.Int64N(5), 100 + rng.Int64N(50), rng.Int64()} {
				entries[k] = append(entries[k], P{Time: tm, Seq: seq})
				n++
			}
		}
		dense, spans := store.GroupRows(entries)
		got := 0
		for _, rows := range [][]store.PostingRow{dense, spans} {
			for i, r := range rows {
				got += r.Count
				if i > 0 && cmp.Or(cmp.Compare(rows[i-1].Day, r.Day), cmp.Compare(rows[i-1].Key, r.Key)) >= 0 {
					t.Fatalf("spread %d: row %d (day %d key %d) after (day %d key %d)", spread, i, r.Day, r.Key, rows[i-1].Day, rows[i-1].Key)
				}
			}
		}
		if got != n {
			t.Errorf("spread %d: %d postings in rows, want %d", spread, got, n)
		}
	}
}

// TestTopKPendingThenRows: postings offered first as pending and then
// again in their index rows (a batch indexed while a lookup reads) are kept
// once, and the page is the same as by definition, whether or not the
// scan stops where Done and Floor say it may.
func TestTopKPendingThenRows(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 10))
	for i := 0; i < 3000; i++ {
		c := randomCase(r)
		want, wantNext := c.bruteForce()
		var pending []P
		for _, p := range c.all {
			if r.IntN(3) == 0 {
				pending = append(pending, p)
			}
		}
		slices.SortFunc(pending, func(a, b P) int { return cmp.Compare(a.Seq, b.Seq) }) // pending lists are in seq order
		k := store.NewTopK(c.query())
		k.AddPostings(pending)
		for _, rw := range c.rows {
			if floor, ok := k.Floor(); ok && rw.maxTime < floor {
				if !k.Done(rw.maxTime) {
					t.Fatalf("case %d: a row newest at %d is below Floor %d but not Done", i, rw.maxTime, floor)
				}
				break
			}
			if err := k.Add(rw.data); err != nil {
				t.Fatal(err)
			}
		}
		if got, next := k.Result(); !samePage(got, next, want, wantNext) {
			t.Fatalf("case %d: got %v next %v, want %v next %v", i, got, next, want, wantNext)
		}
	}
}
