// Package sqlite is Cairn's embedded event store: SQLite (pure Go, no cgo)
// in WAL mode, with group commit so that many concurrent appends share one
// fsync, and a compact index of (day, lookup key, time, seq) rows that
// answers every LookupEvents attribute with one index range per day.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

const schema = `
CREATE TABLE IF NOT EXISTS events (
	seq      INTEGER PRIMARY KEY,
	account  TEXT    NOT NULL,
	region   TEXT    NOT NULL,
	event_id TEXT    NOT NULL,
	t        INTEGER NOT NULL,
	category TEXT    NOT NULL,
	record   BLOB    NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events(account, event_id);
CREATE TABLE IF NOT EXISTS lookup (
	d    INTEGER NOT NULL,
	k    INTEGER NOT NULL,
	tmax INTEGER NOT NULL,
	seq0 INTEGER NOT NULL,
	tmin INTEGER NOT NULL,
	n    INTEGER NOT NULL,
	data BLOB    NOT NULL,
	PRIMARY KEY (k, d, tmax, seq0)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS lookup_by_day ON lookup(d);
CREATE TABLE IF NOT EXISTS seqs (
	name TEXT PRIMARY KEY,
	last INTEGER NOT NULL
);
`

// Store is the SQLite event store. Use Open.
type Store struct {
	path   string
	w      *sql.DB // the one writer connection
	r      *sql.DB // readers
	scan   *sql.Stmt
	read   *sql.Stmt
	byID   *sql.Stmt
	group  *store.GroupCommitter
	closed sync.Once
}

// Open opens (creating if needed) the store in dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	path := filepath.Join(dir, "events.db")
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(OFF)"
	// A big page cache keeps a group commit's pages in memory until it
	// commits (a small one spills them to the WAL mid-transaction), and the
	// statement journal of multi-row inserts stays in memory.
	w, err := sql.Open("sqlite", dsn+"&_pragma=wal_autocheckpoint(10000)&_pragma=cache_size(-131072)&_pragma=temp_store(MEMORY)")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if _, err := w.Exec(schema + trailSchema + stateSchema); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: schema of %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)&_pragma=cache_size(-32768)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s := &Store{path: path, w: w, r: r}
	for _, p := range []struct {
		st **sql.Stmt
		q  string
	}{
		{&s.scan, `SELECT d, tmax, tmin, data FROM lookup WHERE k = ? AND d BETWEEN ? AND ? AND tmax >= ?
			ORDER BY d DESC, tmax DESC, seq0 DESC`},
		{&s.read, `SELECT seq, account, region, event_id, t, category, record FROM events
			WHERE seq IN (SELECT value FROM json_each(?))`},
		{&s.byID, `SELECT seq, account, region, event_id, t, category, record FROM events
			WHERE account = ? AND event_id = ?`},
	} {
		if *p.st, err = r.Prepare(p.q); err != nil {
			r.Close()
			w.Close()
			return nil, fmt.Errorf("sqlite: prepare: %w", err)
		}
	}
	s.group = store.NewGroupCommitter(s.commit)
	return s, nil
}

// Append implements store.Store.
func (s *Store) Append(ctx context.Context, events []*event.Event) ([]store.AppendResult, error) {
	if len(events) == 0 {
		return nil, nil
	}
	return s.group.Append(ctx, events)
}

// Multi-row statements: SQLite's per-statement cost dominates single-row
// inserts, so rows are written in chunks.
const (
	eventChunk  = 64
	lookupChunk = 128
)

func (s *Store) commit(group []*store.AppendRequest) error {
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer tx.Rollback()
	seq, err := s.lastSeq(ctx, tx)
	if err != nil {
		return err
	}
	// Find which IDs are already stored, per account.
	existing := map[[2]string]int64{}
	byAccount := map[string][]string{}
	for _, r := range group {
		for _, e := range r.Events {
			byAccount[e.Account] = append(byAccount[e.Account], e.ID)
		}
	}
	for account, ids := range byAccount {
		for len(ids) > 0 {
			n := min(len(ids), 500)
			if err := s.findExisting(ctx, tx, account, ids[:n], existing); err != nil {
				return err
			}
			ids = ids[n:]
		}
	}
	var evRows []any
	postings := map[[2]int64][]store.Posting{}
	nEv := 0
	stmts := map[string]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	exec := func(q string, args []any) error {
		st, ok := stmts[q]
		if !ok {
			var err error
			if st, err = tx.PrepareContext(ctx, q); err != nil {
				return err
			}
			stmts[q] = st
		}
		_, err := st.ExecContext(ctx, args...)
		return err
	}
	flushEvents := func(force bool) error {
		for nEv >= eventChunk || (force && nEv > 0) {
			n := min(nEv, eventChunk)
			q := "INSERT INTO events(seq, account, region, event_id, t, category, record) VALUES " + placeholders(n, 7)
			if err := exec(q, evRows[:n*7]); err != nil {
				return fmt.Errorf("sqlite: insert: %w", err)
			}
			evRows = append(evRows[:0], evRows[n*7:]...)
			nEv -= n
		}
		return nil
	}
	writeIndex := func() error {
		rows := store.GroupPostings(postings)
		for len(rows) > 0 {
			n := min(len(rows), lookupChunk)
			args := make([]any, 0, n*7)
			for _, r := range rows[:n] {
				args = append(args, r.Day, r.Key, r.MaxTime, r.FirstSeq, r.MinTime, r.Count, r.Data)
			}
			q := "INSERT INTO lookup(d, k, tmax, seq0, tmin, n, data) VALUES " + placeholders(n, 7)
			if err := exec(q, args); err != nil {
				return fmt.Errorf("sqlite: index: %w", err)
			}
			rows = rows[n:]
		}
		return nil
	}
	for _, r := range group {
		r.Results = make([]store.AppendResult, len(r.Events))
		for i, e := range r.Events {
			key := [2]string{e.Account, e.ID}
			if old, ok := existing[key]; ok {
				r.Results[i] = store.AppendResult{Seq: old, Duplicate: true}
				continue
			}
			seq++
			existing[key] = seq
			t := e.Time.Unix()
			evRows = append(evRows, seq, e.Account, e.Region, e.ID, t, e.Category, e.Record)
			nEv++
			r.Results[i] = store.AppendResult{Seq: seq}
			d := store.Day(t)
			for _, k := range store.EventKeys(e) {
				postings[[2]int64{d, k}] = append(postings[[2]int64{d, k}], store.Posting{Time: t, Seq: seq})
			}
			if err := flushEvents(false); err != nil {
				return err
			}
		}
	}

	if err := flushEvents(true); err != nil {
		return err
	}
	if err := writeIndex(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO seqs(name, last) VALUES ('events', ?)
		ON CONFLICT(name) DO UPDATE SET last = excluded.last`, seq); err != nil {
		return fmt.Errorf("sqlite: sequence: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	for _, r := range group {
		for i, e := range r.Events {
			if !r.Results[i].Duplicate {
				e.Seq = r.Results[i].Seq
			}
		}
	}
	return nil
}

// lastSeqQuery is the highest sequence number ever assigned: kept in seqs,
// so that numbers never go back even when retention purges every event
// (delivery cursors rely on that).
const lastSeqQuery = `SELECT max(coalesce((SELECT max(seq) FROM events), 0), coalesce((SELECT last FROM seqs WHERE name = 'events'), 0))`

func (s *Store) lastSeq(ctx context.Context, tx *sql.Tx) (int64, error) {
	var last int64
	if err := tx.QueryRowContext(ctx, lastSeqQuery).Scan(&last); err != nil {
		return 0, fmt.Errorf("sqlite: last seq: %w", err)
	}
	return last, nil
}

func (s *Store) findExisting(ctx context.Context, tx *sql.Tx, account string, ids []string, into map[[2]string]int64) error {
	args := make([]any, 0, len(ids)+1)
	args = append(args, account)
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := tx.QueryContext(ctx, `SELECT event_id, seq FROM events WHERE account = ? AND event_id IN (?`+
		strings.Repeat(",?", len(ids)-1)+`)`, args...)
	if err != nil {
		return fmt.Errorf("sqlite: find duplicates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return fmt.Errorf("sqlite: find duplicates: %w", err)
		}
		into[[2]string{account, id}] = seq
	}
	return rows.Err()
}

// placeholders returns "(?,?,…),(?,?,…)…": n rows of width parameters.
func placeholders(n, width int) string {
	row := "(?" + strings.Repeat(",?", width-1) + ")"
	return row + strings.Repeat(","+row, n-1)
}

// Lookup implements store.Store.
func (s *Store) Lookup(ctx context.Context, q store.Query) (store.Page, error) {
	if q.Limit <= 0 {
		return store.Page{}, nil
	}
	start, end, ok := q.Bounds()
	if !ok {
		return store.Page{}, nil
	}
	if q.Attr == event.AttrEventID {
		return s.lookupID(ctx, q, start, end)
	}
	key := store.Key(q.Account, q.Region, q.Category, q.Attr, q.Value)
	top := store.NewTopK(q)
	if err := s.scanRows(ctx, top, key, start, end); err != nil {
		return store.Page{}, err
	}
	found, next := top.Result()
	page := store.Page{Next: next}
	seqs := make([]int64, len(found))
	for i, p := range found {
		seqs[i] = p.Seq
	}
	evs, err := s.bySeq(ctx, seqs)
	if err != nil {
		return store.Page{}, err
	}
	for _, e := range evs {
		// Index keys are hashes: keep only events that are what was asked.
		if e.Account == q.Account && e.Region == q.Region && e.Category == q.Category {
			page.Events = append(page.Events, e)
		}
	}
	return page, nil
}

// scanRows offers key's index rows to top, newest day and newest rows
// first, until no older row can change the page.
func (s *Store) scanRows(ctx context.Context, top *store.TopK, key, start, end int64) error {
	rows, err := s.scan.QueryContext(ctx, key, store.Day(start), store.Day(end), start)
	if err != nil {
		return fmt.Errorf("sqlite: lookup: %w", err)
	}
	defer rows.Close()
	day := int64(math.MaxInt64)
	for rows.Next() {
		var d, tmax, tmin int64
		var data []byte
		if err := rows.Scan(&d, &tmax, &tmin, &data); err != nil {
			return fmt.Errorf("sqlite: lookup: %w", err)
		}
		// Postings of an older day are older than all found so far.
		if top.Full() && (d < day || top.Done(tmax)) {
			break
		}
		day = d
		if tmin > end {
			continue
		}
		if err := top.Add(data); err != nil {
			return fmt.Errorf("sqlite: lookup: %w", err)
		}
	}
	return rows.Err()
}

func (s *Store) lookupID(ctx context.Context, q store.Query, start, end int64) (store.Page, error) {
	var page store.Page
	e := &event.Event{}
	var t int64
	err := s.byID.QueryRowContext(ctx, q.Account, q.Value).Scan(&e.Seq, &e.Account, &e.Region, &e.ID, &t, &e.Category, &e.Record)
	if errors.Is(err, sql.ErrNoRows) {
		return page, nil
	}
	if err != nil {
		return page, fmt.Errorf("sqlite: lookup: %w", err)
	}
	e.Time = time.Unix(t, 0).UTC()
	if e.Region != q.Region || e.Category != q.Category || t < start || t > end {
		return page, nil
	}
	if q.After != nil && (t > q.After.Time || (t == q.After.Time && e.Seq >= q.After.Seq)) {
		return page, nil
	}
	page.Events = []*event.Event{e}
	return page, nil
}

// bySeq reads events by sequence number, in the order asked.
func (s *Store) bySeq(ctx context.Context, seqs []int64) ([]*event.Event, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	list, _ := json.Marshal(seqs)
	rows, err := s.read.QueryContext(ctx, string(list))
	if err != nil {
		return nil, fmt.Errorf("sqlite: read events: %w", err)
	}
	defer rows.Close()
	got := make(map[int64]*event.Event, len(seqs))
	for rows.Next() {
		e := &event.Event{}
		var t int64
		if err := rows.Scan(&e.Seq, &e.Account, &e.Region, &e.ID, &t, &e.Category, &e.Record); err != nil {
			return nil, fmt.Errorf("sqlite: read events: %w", err)
		}
		e.Time = time.Unix(t, 0).UTC()
		got[e.Seq] = e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read events: %w", err)
	}
	out := make([]*event.Event, 0, len(seqs))
	for _, q := range seqs {
		if e, ok := got[q]; ok { // a purged event may still have index rows
			out = append(out, e)
		}
	}
	return out, nil
}

// Purge implements store.Store. It walks the log in sequence ranges, one
// small transaction each, so that appends are never held up for long.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	cut := before.Unix()
	var last sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT max(seq) FROM events`).Scan(&last); err != nil {
		return 0, fmt.Errorf("sqlite: purge: %w", err)
	}
	var total int64
	const step = 20000
	for lo := int64(0); lo <= last.Int64; lo += step {
		res, err := s.w.ExecContext(ctx, `DELETE FROM events WHERE seq > ? AND seq <= ? AND t < ?`, lo, lo+step, cut)
		if err != nil {
			return total, fmt.Errorf("sqlite: purge: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM lookup WHERE d < ?`, store.Day(cut)); err != nil {
		return total, fmt.Errorf("sqlite: purge index: %w", err)
	}
	return total, nil
}

// Stats implements store.Store.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	var st store.Stats
	if err := s.r.QueryRowContext(ctx, lastSeqQuery).Scan(&st.LastSeq); err != nil {
		return st, fmt.Errorf("sqlite: stats: %w", err)
	}
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(s.path + suffix); err == nil {
			st.Bytes += fi.Size()
		}
	}
	return st, nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	var err error
	s.closed.Do(func() {
		s.group.Close()
		err = errors.Join(s.scan.Close(), s.read.Close(), s.byID.Close(), s.r.Close(), s.w.Close())
	})
	return err
}
