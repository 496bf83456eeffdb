package trail_test

import (
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/loadgen"
	"github.com/cairn-audit/cairn/internal/trail"
)

// BenchmarkParseFields reads the Fields of the records the load generator
// sends (1 KB, a mix of services), as stored: delivery's view of a record.
func BenchmarkParseFields(b *testing.B) {
	const n = 512
	g := loadgen.NewGenerator(loadgen.GenOptions{RecordBytes: 1024, Seed: 7})
	body := g.Template(n).Fill(nil, n, loadgen.NewIDs(1, 1), time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC), 0)
	arr, ok := event.OnlyRecords(body)
	if !ok {
		b.Fatal("template body is not {\"Records\": …}")
	}
	elems, err := event.SplitArray(arr)
	if err != nil {
		b.Fatal(err)
	}
	recs := make([][]byte, len(elems))
	total := 0
	for i, r := range elems {
		e, ferr := event.Decode(r, event.Context{Account: loadgen.DefaultAccount, Now: time.Date(2026, 11, 26, 9, 31, 0, 0, time.UTC)})
		if ferr != nil {
			b.Fatal(ferr)
		}
		recs[i] = e.Record
		total += len(e.Record)
	}
	b.SetBytes(int64(total / n))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := trail.ParseFields(recs[i]); err != nil {
			b.Fatal(err)
		}
		if i++; i == n {
			i = 0
		}
	}
}
