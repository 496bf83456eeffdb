package lakesql

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// TestFilesPrivateFromTheStart: lake.db and its -wal and -shm files are
// readable by their owner only as soon as they exist (they hold every
// store's events), not only after the next start's data-dir check.
func TestFilesPrivateFromTheStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lake.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rec := `{"eventVersion":"1.11","eventID":"e1","eventName":"X","eventTime":"2026-12-01T00:00:00Z"}`
	ev := &event.Event{Seq: 1, ID: "e1", Time: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Record: []byte(rec)}
	if err := db.Insert(context.Background(), "store", []*event.Event{ev}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s is %v, want owner-only", filepath.Base(p), perm)
		}
	}
}
