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

// benchBlock is a full block of ~1 KB records like a trail's (varied
// users, names, IDs), as a fill writes them.
func benchBlock() *block {
	b := &block{id: 1}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for k := 0; !b.full(); k++ {
		u := k * 7919 % 200
		rec := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE%04d:session","arn":"arn:aws:sts::123456789012:assumed-role/role%04d/session","accountId":"123456789012","accessKeyId":"ASIAEXAMPLE%08d","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE%04d","arn":"arn:aws:iam::123456789012:role/role%04d","accountId":"123456789012","userName":"role%04d"}}},"eventTime":%q,"eventSource":"svc%02d.amazonaws.com","eventName":"Action%03d","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.%d","userAgent":"aws-sdk-go-v2/1.30.4 os/linux lang/go#1.22","requestParameters":{"bucketName":"bucket-%d","key":"obj/%d"},"responseElements":null,"requestID":"%08x-%04x","eventID":"%08x-%04x-4%03x","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}`,
			u, u, u*31, u, u, u, t0.Add(time.Duration(k)*time.Second).Format(time.RFC3339), k%20, k*13%120, k%256, k%50, k*7%1000, uint32(k*2654435761), k%65536, k*40503, k%65536, k%4096)
		b.add([]byte(rec), t0.UnixMilli()+int64(k)*1000)
	}
	return b
}

// BenchmarkBlockCodec measures a full block's compression and reads, per
// record, in frames and as one zstd frame (the format before the frames):
// compress (the fill's part), read every record (a scan), read one record
// (a needle's row in a store filled live at a low rate).
func BenchmarkBlockCodec(b *testing.B) {
	blk := benchBlock()
	c, err := newCodec()
	if err != nil {
		b.Fatal(err)
	}
	whole := func() []byte {
		c.raw = blk.encode(c.raw, 0, len(blk.times))
		return c.enc.EncodeAll(c.raw, nil)
	}
	n := float64(len(blk.times))
	for _, f := range []struct {
		name string
		enc  func() []byte
	}{{"frames", func() []byte { return c.compress(blk) }}, {"whole", whole}} {
		data := f.enc()
		b.Run(f.name+"/compress", func(b *testing.B) {
			for b.Loop() {
				f.enc()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N)/n, "µs/record")
			b.ReportMetric(float64(len(blk.body))/float64(len(data)), "ratio")
		})
		b.Run(f.name+"/read-all", func(b *testing.B) {
			for b.Loop() {
				if _, err := decodeAll(data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N)/n, "µs/record")
		})
		b.Run(f.name+"/read-one", func(b *testing.B) {
			i := 0
			for b.Loop() {
				e := &queryEntry{data: data}
				if _, err := e.rec(i % len(blk.times)); err != nil {
					b.Fatal(err)
				}
				i += 37
			}
		})
	}
}
