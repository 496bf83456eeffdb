package sqlite

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/store"
)

// BenchmarkIndexSpread measures the indexer's transactions of events
// spread over 30 days (a backfill) as the store grows: it indexes
// CAIRN_INDEX_BENCH_EVENTS events (default 2M) in transactions of
// CAIRN_INDEX_BENCH_PER events (default maxIndexBatch; a backfill that
// the indexer keeps pace with makes ~64,000) and reports the CPU per event
// of the first and the last transaction and of all of them. Run it once:
// -run XXX -bench BenchmarkIndexSpread -benchtime 1x.
func BenchmarkIndexSpread(b *testing.B) {
	total, per := 2_000_000, maxIndexBatch
	if v, err := strconv.Atoi(os.Getenv("CAIRN_INDEX_BENCH_EVENTS")); err == nil && v > 0 {
		total = v
	}
	if v, err := strconv.Atoi(os.Getenv("CAIRN_INDEX_BENCH_PER")); err == nil && v > 0 {
		per = v
	}
	for range b.N {
		first, last, all := indexSpread(b, total, per, 0)
		b.ReportMetric(first, "µs/event-first")
		b.ReportMetric(last, "µs/event-last")
		b.ReportMetric(all, "µs/event")
	}
}

// BenchmarkIndexSpreadOneOff is BenchmarkIndexSpread with events as an
// import of a CloudTrail archive has them: besides the shared keys, each
// event has two lookup keys no other event has (a per-record access key
// ID, an S3 object ARN), so a transaction writes about three index rows
// an event, mostly span rows of one posting.
func BenchmarkIndexSpreadOneOff(b *testing.B) {
	total := 2_000_000
	if v, err := strconv.Atoi(os.Getenv("CAIRN_INDEX_BENCH_EVENTS")); err == nil && v > 0 {
		total = v
	}
	for range b.N {
		first, last, _ := indexSpread(b, total, maxIndexBatch, 2)
		b.ReportMetric(first, "µs/event-first")
		b.ReportMetric(last, "µs/event-last")
	}
}

// indexSpread indexes total synthetic spread events in transactions of
// per, each with oneOff keys of its own besides the shared ones, and
// returns the CPU µs per event of the first, the last and all of them.
func indexSpread(b *testing.B, total, per, oneOff int) (first, last, all float64) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if v, err := strconv.Atoi(os.Getenv("CAIRN_INDEX_BENCH_STAGE")); err == nil && v > 0 {
		s.stageMax = v
	}
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now().Unix()
	var sum float64
	for seq := int64(1); seq <= int64(total); seq += int64(per) {
		bt := spreadBatch(rng, seq, per, now, oneOff)
		c0 := cpuSeconds(b)
		if err := s.writeIndex(context.Background(), []*batch{bt}); err != nil {
			b.Fatal(err)
		}
		spent := cpuSeconds(b) - c0
		sum += spent
		last = spent * 1e6 / float64(per)
		if seq == 1 {
			first = last
		}
	}
	return first, last, sum * 1e6 / float64(total)
}

// spreadBatch is a batch of n events over the 30 days before now with
// lookup keys as cairn-bench ingest's records have them: the listing of
// all events, 41 event names, 11 sources, 34 users, 46 access keys, 3,000
// resources and read-only or not; and oneOff keys of its own.
func spreadBatch(rng *rand.Rand, seq0 int64, n int, now int64, oneOff int) *batch {
	bt := &batch{tmin: math.MaxInt64, tmax: math.MinInt64, postings: map[int64][]store.Posting{},
		b: block{seq0: seq0, seqN: seq0 + int64(n) - 1, seg: 1, size: 1, lens: []byte{1}}}
	for seq := seq0; seq < seq0+int64(n); seq++ {
		t := now - rng.Int64N(30*86400)
		bt.tmin, bt.tmax = min(bt.tmin, t), max(bt.tmax, t)
		for _, k := range []int64{1, 1000 + rng.Int64N(41), 2000 + rng.Int64N(11), 3000 + rng.Int64N(34),
			4000 + rng.Int64N(46), 10000 + rng.Int64N(3000), 5000 + rng.Int64N(2)} {
			k = int64(uint64(k) * 0x9E3779B97F4A7C15) // spread over the key space, as hashes are
			bt.postings[k] = append(bt.postings[k], store.Posting{Time: t, Seq: seq})
		}
		for i := range oneOff {
			k := int64(uint64(1<<40+int64(i)<<36+seq) * 0x9E3779B97F4A7C15)
			bt.postings[k] = append(bt.postings[k], store.Posting{Time: t, Seq: seq})
		}
		bt.ids = append(bt.ids, idEntry{h: int64(rng.Uint64()), seq: seq})
	}
	return bt
}

// cpuSeconds is the CPU time (user and system) the process has used.
func cpuSeconds(b *testing.B) float64 {
	raw, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command's closing parenthesis: state is the
	// first, utime the 12th and stime the 13th, in clock ticks (100/s).
	rest := string(raw[bytes.LastIndexByte(raw, ')')+2:])
	f := strings.Fields(rest)
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100
}

// BenchmarkScanOneOffStore measures the index reads of one lookup (scanRows:
// dense, span and pack rows) on a store of CAIRN_INDEX_BENCH_EVENTS
// (default 1M) events spread over 30 days with two one-off keys each, as
// an import makes: of a shared key (a user's), of a one-off key, and of a
// key with no postings, each over 30 days and over one hour.
func BenchmarkScanOneOffStore(b *testing.B) {
	total := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("CAIRN_INDEX_BENCH_EVENTS")); err == nil && v > 0 {
		total = v
	}
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now().Unix()
	for seq := int64(1); seq <= int64(total); seq += maxIndexBatch {
		bt := spreadBatch(rng, seq, maxIndexBatch, now, 2)
		if err := s.writeIndex(context.Background(), []*batch{bt}); err != nil {
			b.Fatal(err)
		}
		s.last.Store(bt.b.seqN) // as the writer does: reads go through the last event acknowledged
	}
	mix := func(k int64) int64 { return int64(uint64(k) * 0x9E3779B97F4A7C15) }
	for _, c := range []struct {
		name string
		key  int64
	}{
		{"user", mix(3007)},
		{"oneOff", mix(1<<40 + int64(total/2))},
		{"none", mix(99_999_999)},
	} {
		for _, r := range []struct {
			name  string
			start int64
		}{{"30d", now - 30*86400}, {"1h", now - 3600}} {
			b.Run(c.name+"/"+r.name, func(b *testing.B) {
				for range b.N {
					top := store.NewTopK(store.Query{Start: time.Unix(r.start, 0), End: time.Unix(now, 0), Limit: 50})
					if err := s.scanRows(context.Background(), top, c.key, r.start, now); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
