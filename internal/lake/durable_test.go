package lake

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-audit/cairn/internal/lake/lakesql"
)

// TestFillRedoesWhatAPowerCutLost: the engine does not sync each fill
// pass, so a power cut can leave lake.db as it was some commits before
// the fill cursor's last save. Here lake.db is put back to a copy taken
// after the first half of the events was filled (what a lost tail of the
// WAL leaves), with the cursor document past the second half; the next
// passes fill the second half again, from the position kept in lake.db.
func TestFillRedoesWhatAPowerCutLost(t *testing.T) {
	f := newFillFixture(t)
	f.fill(100)
	snap := filepath.Join(f.dir, "snap.db")
	copyFile(t, f.path, snap)
	f.fill(100)
	if n := f.count(); n != 200 {
		t.Fatalf("lake.db holds %d events, want 200", n)
	}
	// The power cut: lake.db loses the commits after the copy.
	f.putBack(snap)
	if n := f.count(); n != 100 {
		t.Fatalf("the copy holds %d events, want 100", n)
	}
	f.fill(0)
	if n := f.count(); n != 200 {
		t.Fatalf("after the power cut lake.db holds %d events, want 200 (the fill did not redo what was lost)", n)
	}
}

// TestFillRedoesWhatALakeDBWithoutAMarkLacks: a lake.db put back to a
// copy taken before the filler ever saved its position in it (here: right
// after the store was made) holds none of the events the cursor document
// says were filled; the next passes fill them all again instead of going
// on from the document (and holding event-log retention back only from
// there).
func TestFillRedoesWhatALakeDBWithoutAMarkLacks(t *testing.T) {
	f := newFillFixture(t)
	f.fill(0) // the store, and no position in lake.db yet
	snap := filepath.Join(f.dir, "snap.db")
	copyFile(t, f.path, snap)
	f.fill(100)
	if n := f.count(); n != 100 {
		t.Fatalf("lake.db holds %d events, want 100", n)
	}
	f.putBack(snap)
	if to := f.fill(0); to != 0 {
		t.Errorf("with lake.db put back, the filler holds retention back from %d, want 0 (before every event it lacks)", to)
	}
	if n := f.count(); n != 100 {
		t.Fatalf("after lake.db was put back it holds %d events, want 100 (the fill went on from the cursor document)", n)
	}
}

// fillFixture fills one lake.db from a log (memStore), opening it and a
// service for each fill and closing them after, as a restart would.
type fillFixture struct {
	t         *testing.T
	st        *memStore
	dir, path string
	storeID   string
}

func newFillFixture(t *testing.T) *fillFixture {
	dir := t.TempDir()
	return &fillFixture{t: t, st: newMemStore(), dir: dir, path: filepath.Join(dir, "lake.db")}
}

// fill opens lake.db (making the store the first time), adds n events to
// the log, fills them, and closes it; it returns the filler's retention
// position (ReadTo) as it was before the fill.
func (f *fillFixture) fill(n int) int64 {
	t := f.t
	t.Helper()
	ctx := context.Background()
	db, err := lakesql.Open(f.path)
	if err != nil {
		t.Fatal(err)
	}
	svc := New(f.st, sqlEngine{db}, Options{})
	if f.storeID == "" {
		d, err := svc.Create(ctx, alice, CreateInput{Name: ptr("store")})
		if err != nil {
			t.Fatal(err)
		}
		f.storeID = d.ID
	}
	for range n {
		f.st.add(alice.Account, "us-east-1", "PutObject", false)
	}
	to, err := svc.Filler().ReadTo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		more, err := svc.Filler().Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
	}
	svc.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return to
}

// count is how many events lake.db holds.
func (f *fillFixture) count() int {
	t := f.t
	t.Helper()
	c, err := sql.Open("sqlite", "file:"+f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var n int
	if err := c.QueryRow(`SELECT count(*) FROM lake_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// putBack puts lake.db back to the copy snap (its WAL gone with it).
func (f *fillFixture) putBack(snap string) {
	copyFile(f.t, snap, f.path)
	os.Remove(f.path + "-wal")
	os.Remove(f.path + "-shm")
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// sqlEngine is lakesql's engine for the filler (which compiles nothing).
type sqlEngine struct{ *lakesql.DB }

func (sqlEngine) Compile(string) (Compiled, error) { return nil, errors.New("not in this test") }
