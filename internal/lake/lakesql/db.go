// Package lakesql runs CloudTrail Lake's SQL over the events of event data
// stores.
//
// Events live in one SQLite table, lake_events, a row per (store, event):
// the hot fields Lake queries filter and group on most (eventTime,
// eventName, eventSource, awsRegion, userIdentity.arn, recipientAccountId)
// as columns with indexes, and a reference to the whole record, kept with
// its neighbours in a compressed block of lake_blocks (blocks.go). A
// statement is parsed into this package's own syntax tree (Parse), checked
// against Lake's schema and the functions this package allows, and written
// out as SQLite SQL by an emitter (Run): user text never reaches the
// database as SQL, only as bound values, and the SQL it runs reads only
// lake_events, only the rows of the stores the caller allowed, through
// read-only connections.
package lakesql

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/privdir"
	"modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

// DB is a lake database: the events of every event data store, in one file.
// Its methods are safe for concurrent use.
type DB struct {
	w *sql.DB // the one writer connection
	r *sql.DB // read-only connections for queries

	insRow, insBlock *sql.Stmt    // Insert's statements, prepared on w
	codec            *codec       // compresses blocks (the writer's)
	seed             maphash.Seed // Insert's hash of users (blockOrder)

	// noRollups makes Run read the events themselves even where the hourly
	// rollups answer (tests compare both ways).
	noRollups bool

	// stopReframe ends the background rewriting of earlier-format blocks
	// (migrate.go), closed reframed when it has ended.
	stopReframe context.CancelFunc
	reframed    chan struct{}
	reframeErr  error // why the rewriting stopped early, set before reframed closes
}

const schemaSQL = `
CREATE TABLE IF NOT EXISTS lake_events (
	id INTEGER PRIMARY KEY,
	store INTEGER NOT NULL, -- lake_stores.num: a small number keeps index entries short
	event_id TEXT NOT NULL,
	t INTEGER NOT NULL,
	size INTEGER NOT NULL,
	event_name TEXT,
	event_source TEXT,
	aws_region TEXT,
	user_arn TEXT,
	account TEXT,
	ref INTEGER -- the record: lake_blocks.id << 8 | slot
);
CREATE TABLE IF NOT EXISTS lake_blocks (
	id INTEGER PRIMARY KEY,
	store INTEGER NOT NULL,
	tmin INTEGER NOT NULL, -- the block's earliest and latest eventTime (retention)
	tmax INTEGER NOT NULL,
	data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS lake_blocks_store ON lake_blocks(store, tmin);
-- One index serves time ranges and keeps an event once per store: an
-- event's time never changes, and a store filling live receives events in
-- time order, so its entries go to the end of the tree.
DROP INDEX IF EXISTS lake_events_id;
DROP INDEX IF EXISTS lake_events_time;
CREATE UNIQUE INDEX IF NOT EXISTS lake_events_t ON lake_events(store, t, event_id);
CREATE INDEX IF NOT EXISTS lake_events_name ON lake_events(store, event_name, t);
CREATE INDEX IF NOT EXISTS lake_events_user ON lake_events(store, user_arn, t);
-- Positions a writer records with its inserts (the filler's: how far in
-- the event log this file is filled), durable together with them.
CREATE TABLE IF NOT EXISTS lake_marks (
	name TEXT PRIMARY KEY,
	seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS lake_stores (
	num INTEGER PRIMARY KEY,
	store TEXT NOT NULL UNIQUE,
	events INTEGER NOT NULL DEFAULT 0,
	bytes INTEGER NOT NULL DEFAULT 0
);
`

// ReadConns is how many read-only connections queries share: callers
// running more queries at once than this make the extra ones wait for a
// connection (package lake schedules its queries to this many).
const ReadConns = 4

// MaxValueBytes bounds every string and blob a query's SQL computes (SQLite's
// SQLITE_LIMIT_LENGTH on the read connections): a statement that builds a
// longer value (nested replace or concatenation, an aggregate of many rows
// into one string) fails with a *QueryError instead of growing the server's
// memory without bound. A whole event record is far below it.
const MaxValueBytes = 4 << 20

// readConn returns a read-only connection for one query, with its bounds
// set: values of at most MaxValueBytes. The read connections keep their
// temporary b-trees (DISTINCT, GROUP BY, ORDER BY, joins) in temporary
// files past a small cache (temp_store FILE in Open), so their size is not
// memory's either. The caller closes it.
func (db *DB) readConn(ctx context.Context) (*sql.Conn, error) {
	c, err := db.r.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := sqlite.Limit(c, sqlite3.SQLITE_LIMIT_LENGTH, MaxValueBytes); err != nil {
		c.Close()
		return nil, fmt.Errorf("lakesql: bound a read connection: %w", err)
	}
	return c, nil
}

// Lake's functions are registered with the SQLite driver when the package
// is initialized, before any goroutine can open a connection. The driver
// copies its list of functions into each new connection without a lock:
// registering them in Open, as before, could run while the event store
// opened a connection of its own (its ID filter builds in the background
// at start), and the process died with "concurrent map iteration and map
// write".
func init() {
	registerFuncs()
	registerRec()
}

// Open opens the lake database file at path, creating it when missing.
func Open(path string) (*DB, error) {
	if err := privdir.SQLiteFiles(path); err != nil {
		return nil, fmt.Errorf("lakesql: open %s: %w", path, err)
	}
	if err := setPageSize(path, PageSize); err != nil {
		return nil, fmt.Errorf("lakesql: open %s: %w", path, err)
	}
	dsn := "file:" + url.PathEscape(path) + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=trusted_schema(OFF)"
	// A WAL of up to 64 MiB (16,384 pages of 4 KiB) before a checkpoint: the index pages a
	// fill rewrites at every commit are copied to the database once per
	// checkpoint, not once per commit's worth (-20% CPU per event). The
	// writer does not sync each commit (NORMAL): a power cut may lose the
	// last commits, never a commit without those before it (the WAL is
	// read in order). What is recorded elsewhere as done must not run
	// ahead of that: the filler keeps its position in this file too
	// (SetMark, read back by Mark), and the other writers' callers, and
	// DeleteBefore and DropStore themselves, call Sync before they record
	// anything. A fill pass of a few hundred events skips an fsync each:
	// -15% CPU per event, half the time.
	ckpt := walBytes / pageSizeOf(path)
	w, err := sql.Open("sqlite", dsn+"&_pragma=cache_size(-65536)&_pragma=wal_autocheckpoint("+strconv.Itoa(ckpt)+")&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, fmt.Errorf("lakesql: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	if err := migrate(context.Background(), w); err != nil {
		w.Close()
		return nil, fmt.Errorf("lakesql: create schema in %s: %w", path, err)
	}
	if err := createRollups(context.Background(), w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn+"&_pragma=synchronous(NORMAL)&_pragma=query_only(1)&_pragma=cache_size(-65536)&_pragma=temp_store(FILE)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("lakesql: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(ReadConns)
	db := &DB{w: w, r: r, seed: maphash.MakeSeed()}
	if db.codec, err = newCodec(); err == nil {
		db.insRow, err = w.Prepare(insertRowSQL)
	}
	if err == nil {
		db.insBlock, err = w.Prepare(insertBlockSQL)
	}
	if err == nil {
		err = db.convertRecords(context.Background())
	}
	if err == nil {
		err = db.startReframe(context.Background())
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("lakesql: prepare insert: %w", err)
	}
	return db, nil
}

// PageSize is the page size of a lake.db Open creates. Larger pages than
// SQLite's 4 KiB mean a shallower index tree and fewer WAL frames (one
// write each) per commit: an insert's three index entries dirty fewer
// pages. A file made before keeps its own page size (changing it would
// rewrite the whole file), which SQLite reads from the file's header.
const PageSize = 16384

// setPageSize gives an empty database file at path the page size size,
// by writing its header before the WAL mode is set (the driver applies
// its connection pragmas in alphabetical order, journal_mode before
// page_size, and a database in WAL mode keeps the page size it has). A
// file with content is left as it is.
func setPageSize(path string, size int) error {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() > 0 {
		return err
	}
	c, err := sql.Open("sqlite", "file:"+url.PathEscape(path))
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Exec(`PRAGMA page_size = ` + strconv.Itoa(size) + `; PRAGMA journal_mode = WAL`)
	return err
}

// walBytes is the size the writer lets the WAL grow to before it copies
// its pages into the database (wal_autocheckpoint, which counts pages).
const walBytes = 64 << 20

// pageSizeOf reads the page size from the header of the database file at
// path (SQLite's 4 KiB default when the file has no header yet).
func pageSizeOf(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 4096
	}
	defer f.Close()
	var h [18]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return 4096
	}
	switch n := int(h[16])<<8 | int(h[17]); {
	case n == 1:
		return 65536
	case n >= 512:
		return n
	}
	return 4096
}

// Close closes the database.
func (db *DB) Close() error {
	if db.stopReframe != nil {
		db.stopReframe()
		<-db.reframed
	}
	for _, st := range []*sql.Stmt{db.insRow, db.insBlock} {
		if st != nil {
			st.Close()
		}
	}
	return errors.Join(db.r.Close(), db.w.Close())
}

// Insert adds events to event data store storeID. It is idempotent on
// (storeID, eventTime, eventID): an event already in the store is left as
// it is.
//
// It is the lake's hot path (every event a store takes passes here), so it
// reads the hot fields with the event package's scanner instead of asking
// SQLite to parse the record, writes the index row first and adds the
// record to the block being filled only when the row was new, writes the
// records a block at a time (compressed), and runs statements prepared
// once. Each statement writes one row: a multi-row INSERT OR IGNORE makes
// SQLite keep a statement journal, which cost more than the calls it
// saved.
func (db *DB) Insert(ctx context.Context, storeID string, evs []*event.Event) error {
	_, err := db.InsertCount(ctx, storeID, evs)
	return err
}

// InsertCount is Insert, and says how many of evs were added (the others
// were in the store already): an import counts only the events it added.
func (db *DB) InsertCount(ctx context.Context, storeID string, evs []*event.Event) (int64, error) {
	if len(evs) == 0 {
		return 0, nil
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("lakesql: insert: %w", err)
	}
	defer tx.Rollback()
	num, err := storeNum(ctx, tx, storeID, true)
	if err != nil {
		return 0, err
	}
	row, blk := tx.StmtContext(ctx, db.insRow), tx.StmtContext(ctx, db.insBlock)
	var first int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM lake_blocks`).Scan(&first); err != nil {
		return 0, fmt.Errorf("lakesql: insert: %w", err)
	}
	b := &block{id: first}
	flush := func() error {
		if len(b.times) == 0 {
			return nil
		}
		if _, err := blk.ExecContext(ctx, b.id, num, b.tmin, b.tmax, db.codec.compress(b)); err != nil {
			return fmt.Errorf("lakesql: insert records: %w", err)
		}
		b.reset(b.id + 1)
		return nil
	}
	var n, bytes int64
	for _, p := range blockOrder(evs, db.seed) {
		e, h, t := p.e, p.h, p.t
		res, err := row.ExecContext(ctx, num, e.ID, t, len(e.Record),
			h.name, h.source, h.region, h.arn, h.account, b.ref())
		if err != nil {
			return 0, fmt.Errorf("lakesql: insert event %s: %w", e.ID, err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			continue // already in the store
		}
		b.add(e.Record, t)
		if b.full() {
			if err := flush(); err != nil {
				return 0, err
			}
		}
		n++
		bytes += int64(len(e.Record))
	}
	if err := flush(); err != nil {
		return 0, err
	}
	if err := rollupNew(ctx, tx, num, n); err != nil {
		return 0, err
	}
	if err := addCounts(ctx, tx, num, n, bytes); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("lakesql: insert: %w", err)
	}
	return n, nil
}

// placed is an event of an Insert with its hot fields and the key
// blockOrder sorts it by.
type placed struct {
	e    *event.Event
	h    hot
	user uint64 // a hash of userIdentity.arn
	t    int64  // eventTime, Unix ms
}

// blockOrder is the order Insert writes evs in: grouped by
// userIdentity.arn (by a hash of it: only equal users need to be
// together), each user's events in their order in evs, so that a user's
// events of one Insert share blocks. A needle query (one user's events)
// then decodes a block for every few rows instead of one for each row
// in a store filled by large passes (a backfill, whose passes hold
// events from all over the store's time range, or a fill catching up
// with ingest). Rows get ids in this order too, so id order stays block
// order. The sort is stable: of two copies of an event (the same
// eventTime and eventID) in evs, the first is kept, as before.
func blockOrder(evs []*event.Event, seed maphash.Seed) []placed {
	out := make([]placed, len(evs))
	for i, e := range evs {
		h := hotOf(e.Record)
		s, _ := h.arn.(string)
		out[i] = placed{e: e, h: h, user: maphash.String(seed, s), t: e.Time.UnixMilli()}
	}
	slices.SortStableFunc(out, func(a, b placed) int { return cmp.Compare(a.user, b.user) })
	return out
}

const (
	insertRowSQL = `INSERT OR IGNORE INTO lake_events(store, event_id, t, size, event_name, event_source, aws_region, user_arn, account, ref)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	insertBlockSQL = `INSERT INTO lake_blocks(id, store, tmin, tmax, data) VALUES (?, ?, ?, ?, ?)`
)

// hot is an event's hot fields as lake_events holds them, the values
// rec ->> '$.path' gives: a string's text, NULL for a field missing or
// null.
type hot struct{ name, source, region, arn, account any }

// hotOf reads the hot fields of a stored record with the event package's
// scanner (one pass, no decode).
func hotOf(rec []byte) hot {
	var h hot
	event.EachMember(rec, func(name, v []byte) {
		switch string(name) {
		case "eventName":
			h.name = first(h.name, v)
		case "eventSource":
			h.source = first(h.source, v)
		case "awsRegion":
			h.region = first(h.region, v)
		case "recipientAccountId":
			h.account = first(h.account, v)
		case "userIdentity":
			if h.arn == nil && len(v) > 0 && v[0] == '{' {
				event.EachMember(v, func(name, v []byte) {
					if string(name) == "arn" {
						h.arn = first(h.arn, v)
					}
				})
			}
		}
	})
	return h
}

// first is had when it is set (the first member of a name is the one
// read, as SQLite reads it), else the value of v.
func first(had any, v []byte) any {
	if had != nil {
		return had
	}
	return scalar(v)
}

// scalar is the SQL value of the JSON value v as ->> gives it: a string's
// text, NULL for null, 1/0 for booleans, the number for numbers, the JSON
// text of an object or array.
func scalar(v []byte) any {
	switch {
	case len(v) == 0 || string(v) == "null":
		return nil
	case v[0] == '"':
		s, err := event.Unquote(v)
		if err != nil {
			return nil
		}
		return s
	case string(v) == "true":
		return int64(1)
	case string(v) == "false":
		return int64(0)
	case v[0] == '{' || v[0] == '[':
		return string(v)
	}
	if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(string(v), 64); err == nil {
		return f
	}
	return string(v)
}

// querier is what storeNum needs of a *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// storeNum returns the number standing for storeID in lake_events,
// creating it when create is set; ok is false for a store never filled.
func storeNum(ctx context.Context, q querier, storeID string, create bool) (num int64, err error) {
	if create {
		err = q.QueryRowContext(ctx, `INSERT INTO lake_stores(store) VALUES (?)
			ON CONFLICT(store) DO UPDATE SET store = excluded.store RETURNING num`, storeID).Scan(&num)
	} else {
		err = q.QueryRowContext(ctx, `SELECT num FROM lake_stores WHERE store = ?`, storeID).Scan(&num)
		if errors.Is(err, sql.ErrNoRows) {
			return -1, nil
		}
	}
	if err != nil {
		return 0, fmt.Errorf("lakesql: store %s: %w", storeID, err)
	}
	return num, nil
}

// addCounts adds to a store's event and byte counters (what a query of the
// store scans).
func addCounts(ctx context.Context, tx *sql.Tx, num, n, bytes int64) error {
	if n == 0 && bytes == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE lake_stores SET events = max(0, events + ?), bytes = max(0, bytes + ?) WHERE num = ?`,
		n, bytes, num)
	if err != nil {
		return fmt.Errorf("lakesql: count events: %w", err)
	}
	return nil
}

// DeleteBefore removes the events of store storeID whose eventTime is
// before t (the store's retention period) and returns how many it removed.
func (db *DB) DeleteBefore(ctx context.Context, storeID string, t time.Time) (int64, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("lakesql: delete: %w", err)
	}
	defer tx.Rollback()
	num, err := storeNum(ctx, tx, storeID, false)
	if err != nil || num < 0 {
		return 0, err
	}
	if err := rollupDeleteBefore(ctx, tx, num, t.UnixMilli()); err != nil {
		return 0, err
	}
	var bytes int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(size), 0) FROM lake_events WHERE store = ? AND t < ?`,
		num, t.UnixMilli()).Scan(&bytes); err != nil {
		return 0, fmt.Errorf("lakesql: delete: %w", err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM lake_events WHERE store = ? AND t < ?`, num, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("lakesql: delete: %w", err)
	}
	n, _ := res.RowsAffected()
	if err := db.expireBlocks(ctx, tx, num, t.UnixMilli()); err != nil {
		return 0, err
	}
	if err := addCounts(ctx, tx, num, -n, -bytes); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("lakesql: delete: %w", err)
	}
	return n, db.Sync(ctx)
}

// DropStore removes all of store storeID's events.
func (db *DB) DropStore(ctx context.Context, storeID string) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("lakesql: drop %s: %w", storeID, err)
	}
	defer tx.Rollback()
	num, err := storeNum(ctx, tx, storeID, false)
	if err != nil || num < 0 {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM lake_blocks WHERE store = ?`, num); err != nil {
		return fmt.Errorf("lakesql: drop %s: %w", storeID, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM lake_events WHERE store = ?`, num); err != nil {
		return fmt.Errorf("lakesql: drop %s: %w", storeID, err)
	}
	if err := rollupDrop(ctx, tx, num); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM lake_stores WHERE num = ?`, num); err != nil {
		return fmt.Errorf("lakesql: drop %s: %w", storeID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("lakesql: drop %s: %w", storeID, err)
	}
	return db.Sync(ctx)
}

// Sync makes every commit so far durable: one commit with the writer
// syncing (synchronous FULL), which syncs the WAL holding the commits
// before it too. Callers call it before they record elsewhere that what
// they wrote is in this file (an import's progress).
func (db *DB) Sync(ctx context.Context) error {
	c, err := db.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("lakesql: sync: %w", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
		return fmt.Errorf("lakesql: sync: %w", err)
	}
	_, err = c.ExecContext(ctx, `INSERT INTO lake_marks(name, seq) VALUES ('sync', 1) ON CONFLICT(name) DO UPDATE SET seq = seq + 1`)
	// NORMAL again whatever happened (the connection is the writer's only
	// one, kept open).
	if _, err2 := c.ExecContext(context.Background(), `PRAGMA synchronous = NORMAL`); err == nil {
		err = err2
	}
	if err != nil {
		return fmt.Errorf("lakesql: sync: %w", err)
	}
	return nil
}

// setMarkSQL records a mark (name, seq), replacing its earlier value.
const setMarkSQL = `INSERT INTO lake_marks(name, seq) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq`

// SetMark records position seq under name (committed, not synced: it is
// durable exactly when the commits before it are).
func (db *DB) SetMark(ctx context.Context, name string, seq int64) error {
	if _, err := db.w.ExecContext(ctx, setMarkSQL, name, seq); err != nil {
		return fmt.Errorf("lakesql: mark %s: %w", name, err)
	}
	return nil
}

// Mark reads the position recorded under name; ok is false when none is.
func (db *DB) Mark(ctx context.Context, name string) (seq int64, ok bool, err error) {
	err = db.w.QueryRowContext(ctx, `SELECT seq FROM lake_marks WHERE name = ?`, name).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("lakesql: mark %s: %w", name, err)
	}
	return seq, true, nil
}
