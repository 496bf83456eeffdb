package insights

import (
	"fmt"
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
