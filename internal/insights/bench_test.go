package insights

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// BenchmarkEngineObserve is the consumer's cost per event of the log:
// reading the record's fields and counting it (1,000 distinct APIs).
func BenchmarkEngineObserve(b *testing.B) {
	e := NewEngine(nil, nil, Options{Window: 168 * time.Hour})
	e.det = NewDetector(e.cfg, t0Minute-1)
	w := &wanted{data: map[[2]string]bool{}, dataKeys: e.dataKeys}
	evs := make([]*event.Event, 1000)
	for i := range evs {
		rec := fmt.Sprintf(`{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/u%d"},`+
			`"eventTime":"2026-03-02T00:00:05Z","eventSource":"ec2.amazonaws.com","eventName":"Op%d","awsRegion":"us-east-1",`+
			`"sourceIPAddress":"192.0.2.1","userAgent":"aws-cli/2","requestParameters":{"instanceId":"i-123"},"eventID":"e%d",`+
			`"readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management"}`, i%7, i, i)
		ev, ferr := event.Decode([]byte(rec), event.Context{Account: "111111111111", Now: t0})
		if ferr != nil {
			b.Fatal(ferr)
		}
		evs[i] = ev
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		e.observe(evs[i%len(evs)], w)
	}
}

// fullDetector tracks n APIs, each with a week of baseline (every hour
// slot used) and baseline attributions: the checkpoint's worst case.
func fullDetector(n int) *Detector {
	d := NewDetector(Config{Window: 168 * time.Hour, MaxAPIs: n}, t0Minute-1)
	for i := range n {
		k := keyN("us-east-1", i)
		x := d.api(k)
		for h := range x.base.Slots {
			hour := t0Minute/60 - int64(h) - 1
			x.base.Slots[int(hour%int64(len(x.base.Slots)))] = hourSlot{Hour: int32(hour), Sum: uint32(60 + i%13 + h%7),
				Peak: uint32(3 + h%5), SumSq: float32(100 + i%17 + h)}
		}
		x.battr.add(Attrs{UserIdentityARN: fmt.Sprintf("arn:aws:iam::111111111111:user/u%d", i%50), UserAgent: "aws-cli/2"}, 10, baseAttrCap)
		x.battrAt = t0Minute - 1
	}
	return d
}

// BenchmarkCheckpoint is the cost of one checkpoint (MarshalBinary) of n
// tracked APIs with full baselines, and its size.
func BenchmarkCheckpoint(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			d := fullDetector(n)
			var size int
			b.ResetTimer()
			for range b.N {
				s, err := d.MarshalBinary()
				if err != nil {
					b.Fatal(err)
				}
				size = len(s)
			}
			b.ReportMetric(float64(size), "bytes/checkpoint")
		})
	}
}

// BenchmarkTrackedMemory reports the heap one tracked API takes with a
// full week's baseline and attributions (10,000 APIs, the default cap).
func BenchmarkTrackedMemory(b *testing.B) {
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		d := fullDetector(10000)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(d.Tracked()), "heapbytes/API")
		runtime.KeepAlive(d)
	}
}
