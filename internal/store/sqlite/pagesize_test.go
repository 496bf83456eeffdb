package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store/sqlite"
	"github.com/cairn-audit/cairn/internal/store/storetest"

	_ "modernc.org/sqlite"
)

// filePageSize reads the page size from the header of the SQLite database
// file at path (bytes 16–17, big-endian; 1 means 65536).
func filePageSize(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 100 {
		t.Fatalf("%s: %d bytes, no database header", path, len(b))
	}
	n := int(binary.BigEndian.Uint16(b[16:18]))
	if n == 1 {
		n = 65536
	}
	return n
}

// appendOne stores one event in the store at dir, closes it and returns
// the page size its database file has on disk.
func appendOne(t *testing.T, dir string) int {
	t.Helper()
	s, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(context.Background(), []*event.Event{storetest.Rec(t, "111111111111", "us-east-1", "A", storetest.Base, nil)}); err != nil {
		s.Close()
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return filePageSize(t, filepath.Join(dir, "events.db"))
}

// A new store's database has 8 KiB pages (fewer pages dirtied per index
// transaction of a backfill); a store made with SQLite's default 4 KiB
// pages opens, takes events and keeps its page size.
func TestNewStorePageSize(t *testing.T) {
	if got := appendOne(t, t.TempDir()); got != 8192 {
		t.Errorf("new store: page size %d, want 8192", got)
	}

	old := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(old, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"PRAGMA page_size = 4096", "PRAGMA journal_mode = WAL"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := appendOne(t, old); got != 4096 {
		t.Errorf("existing store: page size %d, want 4096 (kept)", got)
	}
	s, err := sqlite.Open(old)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, err := s.Stats(context.Background()); err != nil || st.LastSeq != 1 {
		t.Errorf("existing store after reopen: last sequence %d, %v; want 1", st.LastSeq, err)
	}
}
