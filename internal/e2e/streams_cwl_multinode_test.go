package e2e

// Two nodes on one PostgreSQL database stream a trail's log group through
// one lease: every event arrives once (never sent by both), and when the
// node holding the lease is killed the other takes over once it lapses.

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/cairn-audit/cairn/internal/store/postgres/pgtest"
)

func TestStreamsCWLMultiNodePostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Start(t)
	l := cwlListen(t)
	bucketDir := t.TempDir()
	cfg := dlConfig(cwlGroups("http-group="+l.URL), fmt.Sprintf(`
store: {driver: postgres, dsn: %q}
buckets:
  - {name: shared-logs, url: "file://%s", account: "111111111111"}
`, dsn, bucketDir))
	a := Start(t, Options{Config: cfg})
	b := Start(t, Options{Config: cfg})
	dlTrail(t, a.CloudTrail(AdminKey, AdminSecret, "us-east-1"), "shared", "shared-logs", func(in *cloudtrail.CreateTrailInput) {
		in.CloudWatchLogsLogGroupArn = aws.String(cwlGroupARN("http-group"))
		in.CloudWatchLogsRoleArn = aws.String(cwlRole)
	})

	// Both nodes ingest, interleaved.
	var ids []string
	for i := range 20 {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		var recs []map[string]any
		for range 10 {
			recs = append(recs, dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
		}
		ids = append(ids, dlIngest(t, srv, recs...)...)
		time.Sleep(20 * time.Millisecond) // spread over several passes of both nodes
	}
	got := cwlWaitAll(t, a, "the listener", ids, 60*time.Second, l.received)
	for id, n := range cwlCount(got) {
		if n != 1 {
			t.Errorf("event %s received %d times: both nodes sent it", id, n)
		}
	}

	// Kill one node; the other carries on (the killed node's lease lapses
	// within 15 s).
	a.Kill()
	more := dlIngest(t, b, dlEvent("StopInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
	cwlWaitAll(t, b, "the listener, one node left", more, 60*time.Second, l.received)
	if p := l.problems(); len(p) > 0 {
		t.Errorf("the listener got bad requests: %v", p)
	}
}
