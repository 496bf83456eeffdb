package lakesql

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// TestPageSize checks that a lake.db Open creates has PageSize pages and
// a WAL bound of walBytes, and that a file made with SQLite's 4 KiB pages
// (as every lake.db before) opens with its own page size, a WAL bound in
// bytes alike, keeps its events and takes new ones, and gains the
// lake_marks table.
func TestPageSize(t *testing.T) {
	ctx := context.Background()
	evs := func(from int) []*event.Event {
		var out []*event.Event
		for i := from; i < from+3; i++ {
			out = append(out, &event.Event{ID: string(rune('a' + i)), Time: time.Unix(int64(i), 0),
				Record: []byte(`{"eventName":"E","userIdentity":{"arn":"u"}}`)})
		}
		return out
	}
	check := func(db *DB, page, events int) {
		t.Helper()
		var size, ckpt, n int
		if err := db.w.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil || size != page {
			t.Fatalf("page_size %d (%v), want %d", size, err, page)
		}
		if err := db.w.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&ckpt); err != nil || ckpt*page != walBytes {
			t.Fatalf("wal_autocheckpoint %d pages of %d (%v), want %d bytes", ckpt, page, err, walBytes)
		}
		if err := db.w.QueryRow(`SELECT count(*) FROM lake_events WHERE user_arn = 'u'`).Scan(&n); err != nil || n != events {
			t.Fatalf("%d events (%v), want %d", n, err, events)
		}
	}

	fresh := filepath.Join(t.TempDir(), "lake.db")
	db, err := Open(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Insert(ctx, "s", evs(0)); err != nil {
		t.Fatal(err)
	}
	check(db, PageSize, 3)
	db.Close()

	// A file of the earlier page size, made as Open made it before.
	old := filepath.Join(t.TempDir(), "lake.db")
	c, err := sql.Open("sqlite", "file:"+url.PathEscape(old)+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	// Without lake_marks, which came with the writer's NORMAL sync.
	if _, err := c.Exec(schemaSQL + `; DROP TABLE lake_marks`); err != nil {
		t.Fatal(err)
	}
	c.Close()
	for round := range 2 {
		db, err := Open(old)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Insert(ctx, "s", evs(3*round)); err != nil {
			t.Fatal(err)
		}
		check(db, 4096, 3*(round+1))
		// Open adds lake_marks; a mark survives a reopen.
		if seq, ok, err := db.Mark(ctx, "fill"); err != nil || ok != (round > 0) || round > 0 && seq != 7 {
			t.Fatalf("round %d: mark %d %v (%v)", round, seq, ok, err)
		}
		if err := db.SetMark(ctx, "fill", 7); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
}
