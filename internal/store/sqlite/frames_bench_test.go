package sqlite

import (
	"fmt"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

// benchEvents are 500 events of a typical size, as one commit holds them.
func benchEvents(b *testing.B) []*event.Event {
	evs := make([]*event.Event, 500)
	for i := range evs {
		evs[i] = storetest.Rec(b, "111111111111", "us-east-1", fmt.Sprintf("Op%d", i%40), storetest.Base.Add(time.Duration(i)*time.Second),
			map[string]any{"eventID": fmt.Sprintf("ev-%d", i), "requestParameters": map[string]any{"bucketName": fmt.Sprintf("bucket-%d", i)}})
	}
	return evs
}

// BenchmarkAppendFrames encodes a commit's frames, as the writer does
// before its one write.
func BenchmarkAppendFrames(b *testing.B) {
	evs := benchEvents(b)
	keys := []int64{1, 2, 3, 4, 5}
	var buf []byte
	b.ResetTimer()
	for range b.N {
		buf = buf[:0]
		for i, e := range evs {
			buf = appendFrame(buf, e, int64(i+1), keys)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkReadFrames decodes a run of frames read with one read, as
// ReadLog and the lookups' bySeq do.
func BenchmarkReadFrames(b *testing.B) {
	evs := benchEvents(b)
	var buf []byte
	for i, e := range evs {
		buf = appendFrame(buf, e, int64(i+1), nil)
	}
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for range b.N {
		for rest := buf; len(rest) > 0; {
			_, n, err := parseFrame(rest)
			if err != nil {
				b.Fatal(err)
			}
			rest = rest[n:]
		}
	}
}
