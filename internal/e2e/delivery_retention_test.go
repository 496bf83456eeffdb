package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Retention never removes an event a trail has yet to deliver. Events
// stored with an eventTime older than the event history (a late backfill)
// while the trail's bucket is gone are still delivered, once each, when it
// comes back, though the server restarted meanwhile and purged expired
// events at its start.
func TestDeliveryKeepsExpiredEventsUntilDelivered(t *testing.T) {
	t.Parallel()
	cfg := dlConfig()
	srv := Start(t, Options{Config: cfg})
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	const dirName = "backfill-bucket"
	dir := dlMkBucket(t, srv, dirName)
	arn := dlTrail(t, east, "backfill", dirName, nil)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}

	old := time.Now().Add(-100 * 24 * time.Hour)
	var recs []map[string]any
	for i := range 50 {
		r := Record("RunInstances", "ec2.amazonaws.com", "us-east-1", old.Add(time.Duration(i)*time.Second), nil)
		r["eventID"] = dlNewID()
		r["recipientAccountId"] = Account1
		recs = append(recs, r)
	}
	ids := dlIngest(t, srv, recs...)
	if !dlPoll(20*time.Second, func() bool {
		return aws.ToString(dlStatus(t, srv, "us-east-1", arn).LatestDeliveryError) != ""
	}) {
		t.Fatalf("no delivery error while the bucket is gone\nserver log:\n%s", dlTail(srv.Log(), 30))
	}

	// A restart purges expired events at once.
	srv.Stop(t)
	srv = Start(t, Options{Config: cfg, DataDir: srv.DataDir})
	if !dlPoll(20*time.Second, func() bool { return strings.Contains(srv.Log(), "retention: purged expired events") }) {
		t.Fatalf("the restarted server did not purge\nserver log:\n%s", dlTail(srv.Log(), 30))
	}
	dlMkBucket(t, srv, dirName)
	files := dlWaitDelivered(t, srv, dlDir{name: dirName, dir: dir}, "AWSLogs/", ids, 60*time.Second)
	counts := dlEventIDs(files)
	for _, id := range ids {
		if counts[id] != 1 {
			t.Errorf("event %s in %d log files, want 1", id, counts[id])
		}
	}
}
