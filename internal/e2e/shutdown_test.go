package e2e

import (
	"testing"
)

// TestShutdownFlushesDelivery: SIGTERM writes the batches that were still
// waiting for their flush interval before the server exits.
func TestShutdownFlushesDelivery(t *testing.T) {
	t.Parallel()
	// A long flush interval: only the shutdown can have written the file.
	srv := Start(t, Options{Config: StandardConfig + "\ndelivery: {flush_interval: 10m, digest_interval: 1h}\n"})
	dir := dlMkBucket(t, srv, "flush-logs")
	dlTrail(t, srv.CloudTrail(AdminKey, AdminSecret, "us-east-1"), "flushed", "flush-logs", nil)
	ids := dlIngest(t, srv, dlEvent("BeforeShutdown", "s3.amazonaws.com", "us-east-1", Account1, nil))
	srv.Stop(t)
	files := dlLogs(t, dlDir{name: "flush-logs", dir: dir}, "")
	if n := dlEventIDs(files)[ids[0]]; n != 1 {
		t.Fatalf("after SIGTERM the event is in %d log files, want 1 (files: %d)", n, len(files))
	}
}
