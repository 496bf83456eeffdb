package console

import (
	"context"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/server"
	"github.com/cairn-audit/cairn/internal/stream"
)

// Streams answers no destinations (the page's test is end to end).
func (f *fakeAPI) Streams(ctx context.Context, who server.Caller) ([]stream.View, error) {
	_, err := f.enter("DescribeTrails", who, server.StreamsInput{StreamDestinations: true})
	return nil, err
}

// The Streams page's times are in the zone the user chose (base.loc),
// with its abbreviation; UTC without one.
func TestConsoleStreamTimesInZone(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 19, 30, 5, 0, time.UTC)
	v := stream.View{Status: stream.Status{LastDelivery: at, LastAttempt: at, Failures: 1, RetryAt: at.Add(time.Minute)}}
	if row := viewStream(v, base{}); row.LastDelivery != "2026-12-06 19:30:05" || row.Retry != "2026-12-06 19:31:05" {
		t.Errorf("in UTC: %+v", row)
	}
	if row := viewStream(v, base{loc: kolkata}); row.LastDelivery != "2026-12-07 01:00:05 IST" || row.LastAttempt != row.LastDelivery ||
		row.Retry != "2026-12-07 01:01:05 IST" {
		t.Errorf("in Asia/Kolkata: %+v", row)
	}
}
