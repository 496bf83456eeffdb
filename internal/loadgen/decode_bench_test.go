package loadgen

import (
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// generatedRecords fills a template of n records of about size bytes (the
// records the load generator sends) and returns them split out of the body.
func generatedRecords(tb testing.TB, n, size int) [][]byte {
	tb.Helper()
	recs, err := Records(n, size, time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC))
	if err != nil {
		tb.Fatal(err)
	}
	return recs
}

// BenchmarkDecodeGenerated decodes the records the load generator sends
// (1 KB, a mix of services), one after another: ingest's view of Decode.
func BenchmarkDecodeGenerated(b *testing.B) {
	recs := generatedRecords(b, 512, 1024)
	total := 0
	for _, r := range recs {
		total += len(r)
	}
	c := event.Context{Account: DefaultAccount, Now: time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)}
	b.SetBytes(int64(total / len(recs)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ferr := event.Decode(recs[i], c); ferr != nil {
			b.Fatal(ferr)
		}
		if i++; i == len(recs) {
			i = 0
		}
	}
}
