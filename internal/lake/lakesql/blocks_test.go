package lakesql

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// blockEvents makes n events of a minute each from t0, each record with
// its name and a field only the record holds (sourceIPAddress).
func blockEvents(prefix string, n int, t0 time.Time) []*event.Event {
	var evs []*event.Event
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Minute)
		rec := fmt.Sprintf(`{"eventVersion":"1.11","eventName":"%s%d","eventSource":"s3.amazonaws.com","sourceIPAddress":"ip-%d","eventTime":%q,"pad":%q}`,
			prefix, i, i, at.Format(time.RFC3339), fmt.Sprint(make([]byte, i%700)))
		evs = append(evs, &event.Event{ID: fmt.Sprintf("%s-%05d", prefix, i), Time: at, Record: []byte(rec)})
	}
	return evs
}

// ipsOf runs a query reading a field only the record holds and returns
// eventName → sourceIPAddress.
func ipsOf(t *testing.T, db *DB, store string) map[string]string {
	t.Helper()
	st, err := Parse(`SELECT eventName, sourceIPAddress FROM EDS`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Run(context.Background(), st, RunOptions{Stores: map[string]string{"EDS": store}, MaxRows: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range res.Rows {
		if r[1] == nil {
			t.Fatalf("event %s: no record", *r[0])
		}
		out[*r[0]] = *r[1]
	}
	return out
}

// TestRecordsInBlocks: records written many to a block (more than a
// block holds, in several Inserts, some repeated) read back right, each
// once, and the blocks hold far fewer bytes than the records.
func TestRecordsInBlocks(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	evs := blockEvents("E", 1500, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, part := range [][]*event.Event{evs[:700], evs[600:1100], evs[1100:]} {
		if err := db.Insert(ctx, "s1", part); err != nil {
			t.Fatal(err)
		}
	}
	got := ipsOf(t, db, "s1")
	if len(got) != len(evs) {
		t.Fatalf("%d events read back, want %d", len(got), len(evs))
	}
	for i := range evs {
		if ip := got[fmt.Sprintf("E%d", i)]; ip != fmt.Sprintf("ip-%d", i) {
			t.Fatalf("event E%d: sourceIPAddress %q", i, ip)
		}
	}
	var blocks, stored, raw int64
	if err := db.w.QueryRow(`SELECT count(*), sum(length(data)) FROM lake_blocks`).Scan(&blocks, &stored); err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		raw += int64(len(e.Record))
	}
	if blocks < int64(len(evs)/blockSlots) || stored*3 > raw {
		t.Errorf("%d blocks of %d bytes for %d bytes of records", blocks, stored, raw)
	}
}

// TestRetentionRewritesBlocks: DeleteBefore removes the expired records
// from the blocks too (a block of only expired records is deleted, one of
// both kinds is written again without them), not only their rows.
func TestRetentionRewritesBlocks(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := blockEvents("R", 600, t0)
	if err := db.Insert(ctx, "s1", evs); err != nil {
		t.Fatal(err)
	}
	cut := t0.Add(400 * time.Minute) // inside the second block (256 a block)
	n, err := db.DeleteBefore(ctx, "s1", cut)
	if err != nil || n != 400 {
		t.Fatalf("DeleteBefore: %d, %v; want 400", n, err)
	}
	got := ipsOf(t, db, "s1")
	if len(got) != 200 || got["R400"] != "ip-400" || got["R599"] != "ip-599" {
		t.Fatalf("after retention: %d events (R400 %q)", len(got), got["R400"])
	}
	rows, err := db.w.Query(`SELECT data FROM lake_blocks`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	kept := 0
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			t.Fatal(err)
		}
		d, err := decodeAll(data)
		if err != nil {
			t.Fatal(err)
		}
		for i, rec := range d.recs {
			if rec == nil {
				continue
			}
			if d.times[i] < cut.UnixMilli() {
				t.Errorf("an expired record is still stored: %s", rec)
			}
			kept++
		}
	}
	if kept != 200 {
		t.Errorf("%d records stored, want 200", kept)
	}
}

// firstFormat is the schema of the first lake.db format: each record as
// JSONB in lake_records, found by lake_events.id.
const firstFormat = `
CREATE TABLE lake_events (id INTEGER PRIMARY KEY, store INTEGER NOT NULL, event_id TEXT NOT NULL, t INTEGER NOT NULL,
	size INTEGER NOT NULL, event_name TEXT, event_source TEXT, aws_region TEXT, user_arn TEXT, account TEXT);
CREATE TABLE lake_records (id INTEGER PRIMARY KEY, rec BLOB NOT NULL);
CREATE UNIQUE INDEX lake_events_t ON lake_events(store, t, event_id);
CREATE INDEX lake_events_name ON lake_events(store, event_name, t);
CREATE INDEX lake_events_user ON lake_events(store, user_arn, t);
CREATE TABLE lake_stores (num INTEGER PRIMARY KEY, store TEXT NOT NULL UNIQUE, events INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0);
`

// TestFirstFormatConverted: a lake.db written in the first format (records
// as JSONB rows) opens, its records move into blocks, queries read them as
// before, and inserting the same events again adds nothing.
func TestFirstFormatConverted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lake.db")
	old, err := sql.Open("sqlite", "file:"+url.PathEscape(path)+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(firstFormat); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Two stores, interleaved, more than one conversion transaction's worth.
	a, b := blockEvents("A", convertBatch/2+300, t0), blockEvents("B", convertBatch/2+300, t0)
	tx, err := old.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		for num, e := range map[int64]*event.Event{1: a[i], 2: b[i]} {
			h := hotOf(e.Record)
			res, err := tx.Exec(`INSERT INTO lake_events(store, event_id, t, size, event_name, event_source, aws_region, user_arn, account) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				num, e.ID, e.Time.UnixMilli(), len(e.Record), h.name, h.source, h.region, h.arn, h.account)
			if err != nil {
				t.Fatal(err)
			}
			id, _ := res.LastInsertId()
			if _, err := tx.Exec(`INSERT INTO lake_records(id, rec) VALUES (?, jsonb(?))`, id, e.Record); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := tx.Exec(`INSERT INTO lake_stores(num, store, events, bytes) VALUES (1, 'sa', ?, 0), (2, 'sb', ?, 0)`, len(a), len(b)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	old.Close()

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for store, evs := range map[string][]*event.Event{"sa": a, "sb": b} {
		got := ipsOf(t, db, store)
		if len(got) != len(evs) {
			t.Fatalf("store %s: %d events after conversion, want %d", store, len(got), len(evs))
		}
		for i, e := range evs {
			name := e.ID[:1] + fmt.Sprint(i)
			if got[name] != fmt.Sprintf("ip-%d", i) {
				t.Fatalf("store %s, %s: sourceIPAddress %q", store, name, got[name])
			}
		}
	}
	var tables int
	if err := db.w.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'lake_records'`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("lake_records still there (%d, %v)", tables, err)
	}
	ctx := context.Background()
	if err := db.Insert(ctx, "sa", a); err != nil {
		t.Fatal(err)
	}
	if got := ipsOf(t, db, "sa"); len(got) != len(a) {
		t.Fatalf("store sa: %d events after inserting them again, want %d", len(got), len(a))
	}
	more := blockEvents("N", 10, t0.Add(time.Hour*24*30))
	if err := db.Insert(ctx, "sa", more); err != nil {
		t.Fatal(err)
	}
	if got := ipsOf(t, db, "sa"); len(got) != len(a)+len(more) || got["N9"] != "ip-9" {
		t.Fatalf("store sa: %d events after new ones, want %d", len(got), len(a)+len(more))
	}
}

// TestRecordsReadInBlockOrder: a query reading records of a store whose
// events arrived out of time order (a backfill) decodes each block about
// once, not once per row, and answers the same. Before, rows reached
// lake_rec in eventTime order, jumping from block to block, and nearly
// every row decompressed a whole block.
func TestRecordsReadInBlockOrder(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := blockEvents("E", 2000, t0)
	shuffled := make([]*event.Event, len(evs))
	for i := range evs {
		shuffled[i] = evs[i*7919%len(evs)] // 7919 is prime: a permutation
	}
	for i := 0; i < len(shuffled); i += 500 {
		if err := db.Insert(ctx, "s1", shuffled[i:i+500]); err != nil {
			t.Fatal(err)
		}
	}
	blocks := storeFrames(t, db)
	from, to := t0.Add(100*time.Minute).Format("2006-01-02 15:04:05"), t0.Add(1900*time.Minute).Format("2006-01-02 15:04:05")
	// Each statement (the query and its statistics) decodes each frame
	// once; 1800 rows read in time order would decode hundreds. The
	// latest event decodes one frame, and its count statistics none.
	for _, q := range []struct {
		sql, want string
		most      int64
	}{
		{`SELECT eventName FROM EDS WHERE sourceIPAddress = 'ip-1234' AND eventTime >= '` + from + `' AND eventTime < '` + to + `'`, "E1234", 3 * blocks},
		{`SELECT eventName FROM EDS WHERE sourceIPAddress LIKE 'ip-1239%' AND eventTime >= '` + from + `' ORDER BY eventTime DESC`, "E1239", 3 * blocks},
		{`SELECT max(sourceIPAddress) FROM EDS WHERE eventTime BETWEEN '` + from + `' AND '` + to + `' GROUP BY eventSource`, "ip-999", 3 * blocks},
		{`SELECT sourceIPAddress FROM EDS ORDER BY eventTime DESC LIMIT 1`, "ip-1999", 2},
	} {
		st, err := Parse(q.sql)
		if err != nil {
			t.Fatal(err)
		}
		before := frameDecodes.Load()
		res, err := db.Run(ctx, st, RunOptions{Stores: map[string]string{"EDS": "s1"}, MaxRows: 100})
		if err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
		decodes := frameDecodes.Load() - before
		if len(res.Rows) != 1 || res.Rows[0][0] == nil || *res.Rows[0][0] != q.want {
			t.Fatalf("%s: rows %v, want %s", q.sql, res.Rows, q.want)
		}
		if decodes > q.most {
			t.Errorf("%s: %d frames decoded for a store of %d frames", q.sql, decodes, blocks)
		}
	}
}

// TestPushDownKeepsJoinNames: a WHERE conjunct naming an UNNEST alias that
// shadows a record field is not applied to the store's rows as if it named
// the field (the block-order path moves conjuncts on the store's own
// columns into the store's table).
func TestPushDownKeepsJoinNames(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	rec := `{"eventVersion":"1.11","eventID":"e1","eventName":"X","eventTime":"2026-12-01T00:00:00Z","userIdentity":{"arn":"arn:aws:iam::1:user/a"},` +
		`"resources":[{"ARN":"arn:aws:s3:::b"}]}`
	ev := &event.Event{Seq: 1, ID: "e1", Time: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Record: []byte(rec)}
	if err := db.Insert(ctx, "s1", []*event.Event{ev}); err != nil {
		t.Fatal(err)
	}
	st, err := Parse(`SELECT eventName, sourceIPAddress FROM EDS CROSS JOIN UNNEST(resources) AS userIdentity(accountId, type, arn, arnPrefix) WHERE userIdentity.arn = 'arn:aws:s3:::b'`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Run(ctx, st, RunOptions{Stores: map[string]string{"EDS": "s1"}, MaxRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 {
		t.Fatalf("rows %v, want the one event", res.Rows)
	}
}

// TestNeedleSharesBlocks: one user's events, read in eventTime order
// from a store backfilled by large passes (events from all over the
// store's time range in each), decode a few blocks, not one per row:
// Insert groups a pass's records by user into blocks, and lake_rec's
// cache keeps the blocks a needle comes back to. Before, each of the
// user's rows sat in a block of its own and nearly every row decoded one.
func TestNeedleSharesBlocks(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n, users = 6000, 60
	pad := strings.Repeat("x", 900) // ~1 KB records: ~100 a block
	evs := make([]*event.Event, n)
	for i := range n {
		at := t0.Add(time.Duration(i*7919%n) * time.Minute) // a permutation of the times
		rec := fmt.Sprintf(`{"eventVersion":"1.11","userIdentity":{"arn":"arn:aws:iam::1:user/u%d"},"eventName":"E%d","sourceIPAddress":"ip-%d","eventTime":%q,"pad":%q}`,
			i%users, i, i, at.Format(time.RFC3339), pad)
		evs[i] = &event.Event{ID: fmt.Sprintf("id-%05d", i), Time: at, Record: []byte(rec)}
	}
	for i := 0; i < n; i += n / 2 {
		if err := db.Insert(ctx, "s1", evs[i:i+n/2]); err != nil {
			t.Fatal(err)
		}
	}
	frames := storeFrames(t, db)
	// The answer, from the events themselves.
	var want []string
	for i := 7; i < n; i += users {
		want = append(want, fmt.Sprintf("%s ip-%d", evs[i].Time.Format("2006-01-02 15:04:05.000"), i))
	}
	sort.Strings(want)
	st, err := Parse(`SELECT eventTime, sourceIPAddress FROM EDS WHERE userIdentity.arn = 'arn:aws:iam::1:user/u7' AND eventTime >= '2026-01-01 00:00:00' ORDER BY eventTime`)
	if err != nil {
		t.Fatal(err)
	}
	before := frameDecodes.Load()
	res, err := db.Run(ctx, st, RunOptions{Stores: map[string]string{"EDS": "s1"}, MaxRows: 1000})
	if err != nil {
		t.Fatal(err)
	}
	decodes := frameDecodes.Load() - before
	var got []string
	for _, r := range res.Rows {
		got = append(got, *r[0]+" "+*r[1])
	}
	if !slices.Equal(got, want) {
		t.Fatalf("needle: %d rows %v…, want %d %v…", len(got), got[:min(3, len(got))], len(want), want[:3])
	}
	// 100 rows from 2 passes: each pass's 50 (~50 KB) in 4 frames or 5.
	if decodes > 12 {
		t.Errorf("needle of %d rows decoded %d frames (store of %d frames)", len(want), decodes, frames)
	}
}

// storeFrames is how many frames the blocks of db hold.
func storeFrames(t *testing.T, db *DB) int64 {
	t.Helper()
	rows, err := db.w.Query(`SELECT data FROM lake_blocks`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			t.Fatal(err)
		}
		for slot := 0; ; {
			f, err := locate(data, slot)
			if err != nil {
				t.Fatal(err)
			}
			if f.data == nil {
				break
			}
			n++
			if f.slots < 0 {
				break
			}
			slot += f.slots
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
