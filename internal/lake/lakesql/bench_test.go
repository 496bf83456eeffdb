package lakesql

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// BenchmarkInsert measures the cost of adding events to a store, in
// batches of 500 as the consumer would (go test -bench Insert -cpuprofile).
func BenchmarkInsert(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "lake.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const batch = 500
	evs := make([]*event.Event, batch)
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		b.StopTimer()
		for j := range evs {
			k := i + j
			evs[j] = mkEvent(fmt.Sprintf("ev-%09d", k), t0.Add(time.Duration(k*7919%2592000)*time.Second),
				fmt.Sprintf("Action%03d", k%120), fmt.Sprintf("svc%02d.amazonaws.com", k%20), fmt.Sprintf("arn:aws:iam::123456789012:user/u%04d", k%2000))
		}
		b.StartTimer()
		if err := db.Insert(context.Background(), "store1", evs); err != nil {
			b.Fatal(err)
		}
	}
}

func mkEvent(id string, t time.Time, name, source, arn string) *event.Event {
	rec := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":%q,"userName":"bob"},"eventTime":%q,"eventSource":%q,"eventName":%q,"awsRegion":"us-east-1","requestParameters":{"bucketName":"b1"},"eventID":%q,"readOnly":true,"recipientAccountId":"123456789012","eventCategory":"Management"}`,
		arn, t.UTC().Format(time.RFC3339), source, name, id)
	return &event.Event{ID: id, Time: t, Record: []byte(rec), Account: "123456789012", Region: "us-east-1"}
}
