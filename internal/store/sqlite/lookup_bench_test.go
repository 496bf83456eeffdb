package sqlite

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// BenchmarkLookupMix measures the store's part of LookupEvents on a real
// data directory: CAIRN_LOOKUP_BENCH_DIR names a copy of one (a server's
// --data-dir, e.g. after "cairn-bench ingest --total 2000000 --spread
// 720h"; the benchmark opens it read-write, so use a copy). The queries
// are "cairn-bench lookup"'s mix, built from the values of the newest
// 1,000 events of the account and region of the last event stored: no
// attribute, each attribute, EventId, 1-hour windows with and without an
// attribute, and second pages. cpu-ns/op is the process's CPU per lookup;
// the sub-benchmarks give each kind's.
//
//	CAIRN_LOOKUP_BENCH_DIR=/tmp/copy go test -run XXX -bench BenchmarkLookupMix ./internal/store/sqlite/
func BenchmarkLookupMix(b *testing.B) {
	dir := os.Getenv("CAIRN_LOOKUP_BENCH_DIR")
	if dir == "" {
		b.Skip("CAIRN_LOOKUP_BENCH_DIR is not set")
	}
	s, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.filters.building.Wait() // its CPU is not a lookup's
	kinds := lookupMix(b, s)
	ctx := context.Background()
	run := func(b *testing.B, qs []store.Query) {
		b.ReportAllocs()
		start := testutil.CPUTime()
		i := 0
		for b.Loop() {
			if _, err := s.Lookup(ctx, qs[i%len(qs)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		testutil.ReportCPU(b, start)
	}
	var all []store.Query
	for _, k := range kinds {
		all = append(all, k.qs...)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for range 2000 { // warm-up: caches as a running server has them
		if _, err := s.Lookup(ctx, all[rand.IntN(len(all))]); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("all", func(b *testing.B) { run(b, all) })
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) { run(b, k.qs) })
	}
}

// lookupKind is one kind of query of the mix, with the queries of it.
type lookupKind struct {
	name string
	qs   []store.Query
}

// lookupMix builds cairn-bench lookup's mix of queries from the newest
// events of the store's last event's account and region.
func lookupMix(b *testing.B, s *Store) []lookupKind {
	ctx := context.Background()
	last, err := s.bySeq(ctx, []int64{s.last.Load()}, true)
	if err != nil || len(last) == 0 {
		b.Fatalf("no last event: %v", err)
	}
	now := time.Now().Add(time.Minute)
	base := store.Query{Account: last[0].Account, Region: last[0].Region, Category: event.CategoryManagement,
		Start: now.Add(-90 * 24 * time.Hour), End: now, Limit: 50}
	values := map[event.Attribute][]string{}
	var ids []string
	var times []time.Time
	q := base
	var pageTwo []store.Query
	for page := 0; page < 20; page++ {
		p, err := s.Lookup(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range p.Events {
			v := event.ReadView(e.Record)
			keys, _ := v.Keys()
			for _, k := range keys {
				if !slices.Contains(values[k.Attr], k.Value) {
					values[k.Attr] = append(values[k.Attr], k.Value)
				}
			}
			ids, times = append(ids, e.ID), append(times, e.Time)
		}
		if p.Next == nil {
			break
		}
		q.After = p.Next
		if page == 0 {
			pageTwo = append(pageTwo, q)
		}
	}
	if len(ids) == 0 {
		b.Fatal("the store holds no events to look up")
	}
	with := func(attr event.Attribute, v string) store.Query {
		q := base
		q.Attr, q.Value = attr, v
		return q
	}
	var kinds []lookupKind
	kinds = append(kinds, lookupKind{"none", []store.Query{base}})
	for _, a := range []event.Attribute{event.AttrEventName, event.AttrEventSource, event.AttrUsername,
		event.AttrAccessKeyID, event.AttrReadOnly, event.AttrResourceType, event.AttrResourceName} {
		var qs []store.Query
		for _, v := range values[a] {
			qs = append(qs, with(a, v))
		}
		if len(qs) > 0 {
			kinds = append(kinds, lookupKind{string(a), qs})
		}
	}
	var byID, window, nameWindow []store.Query
	for i, id := range ids {
		byID = append(byID, with(event.AttrEventID, id))
		end := times[i].Add(time.Second)
		w := base
		w.Start, w.End = end.Add(-time.Hour), end
		window = append(window, w)
		names := values[event.AttrEventName]
		w.Attr, w.Value = event.AttrEventName, names[i%len(names)]
		nameWindow = append(nameWindow, w)
	}
	kinds = append(kinds, lookupKind{"EventId", byID}, lookupKind{"window", window}, lookupKind{"EventName-window", nameWindow})
	if src := values[event.AttrEventSource]; len(src) > 0 {
		q := with(event.AttrEventSource, src[0])
		if p, err := s.Lookup(ctx, q); err == nil && p.Next != nil {
			q.After = p.Next
			pageTwo = append(pageTwo, q)
		}
	}
	if len(pageTwo) > 0 {
		kinds = append(kinds, lookupKind{"page2", pageTwo})
	}
	return kinds
}
