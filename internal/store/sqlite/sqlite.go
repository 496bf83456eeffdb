// Package sqlite is Cairn's embedded event store: records in append-only
// segment files, and beside them SQLite (pure Go, no cgo) in WAL mode for
// what finds them: the blocks of each commit, an ID index, and a compact
// index of (day, lookup key, time, seq) rows that answers every
// LookupEvents attribute with one index range per day. Group commit lets
// many concurrent appends share one write and fsync.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

const schema = `
CREATE TABLE IF NOT EXISTS blocks (
	seq0 INTEGER PRIMARY KEY,
	seqn INTEGER NOT NULL,
	seg  INTEGER NOT NULL,
	off  INTEGER NOT NULL,
	size INTEGER NOT NULL,
	tmin INTEGER NOT NULL,
	tmax INTEGER NOT NULL,
	lens BLOB    NOT NULL
);
CREATE TABLE IF NOT EXISTS ids (
	h   INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (h, seq)
) WITHOUT ROWID;
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
	block  *sql.Stmt
	byHash *sql.Stmt
	segs   *segments
	group  *store.GroupCommitter
	// purged is the retention cut (Unix seconds): events older are gone
	// from every read even while their segment still holds them.
	purged atomic.Int64
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
	s := &Store{path: path, w: w}
	if err := s.init(dir); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)&_pragma=cache_size(-32768)")
	if err != nil {
		s.segs.close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s.r = r
	for _, p := range []struct {
		st **sql.Stmt
		q  string
	}{
		{&s.scan, `SELECT d, tmax, tmin, data FROM lookup WHERE k = ? AND d BETWEEN ? AND ? AND tmax >= ?
			ORDER BY d DESC, tmax DESC, seq0 DESC`},
		{&s.block, `SELECT seq0, seqn, seg, off, size, lens FROM blocks WHERE seq0 <= ? ORDER BY seq0 DESC LIMIT 1`},
		{&s.byHash, `SELECT seq FROM ids WHERE h = ?`},
	} {
		if *p.st, err = r.Prepare(p.q); err != nil {
			s.segs.close()
			r.Close()
			w.Close()
			return nil, fmt.Errorf("sqlite: prepare: %w", err)
		}
	}
	s.group = store.NewGroupCommitter(s.commit)
	return s, nil
}

// init makes the schema, brings the segment files back to the last commit
// and moves the records of an older store's events table into segments.
func (s *Store) init(dir string) error {
	ctx := context.Background()
	if _, err := s.w.ExecContext(ctx, schema+trailSchema+stateSchema); err != nil {
		return fmt.Errorf("sqlite: schema of %s: %w", s.path, err)
	}
	var lastSeg, lastEnd int64
	err := s.w.QueryRowContext(ctx, `SELECT seg, off + size FROM blocks ORDER BY seq0 DESC LIMIT 1`).Scan(&lastSeg, &lastEnd)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: last block: %w", err)
	}
	if s.segs, err = openSegments(filepath.Join(dir, "log"), lastSeg, lastEnd); err != nil {
		return fmt.Errorf("sqlite: segments: %w", err)
	}
	var purged int64
	err = s.w.QueryRowContext(ctx, `SELECT last FROM seqs WHERE name = 'purged'`).Scan(&purged)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		s.segs.close()
		return fmt.Errorf("sqlite: retention cut: %w", err)
	}
	s.purged.Store(purged)
	if err := s.migrate(ctx); err != nil {
		s.segs.close()
		return err
	}
	return nil
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
	idChunk     = 400
	lookupChunk = 128
)

// idHash is the ID index key of an event: its account and eventID.
func idHash(account, id string) int64 {
	h := fnv.New64a()
	h.Write([]byte(account))
	h.Write([]byte{0})
	h.Write([]byte(id))
	return int64(h.Sum64())
}

type idKey struct{ account, id string }

// commit writes one group: frames to the segment (synced), then in one
// transaction the block that finds them, the ID index and the lookup
// postings.
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
	existing, err := s.findExisting(ctx, tx, group)
	if err != nil {
		return err
	}
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

	first := seq + 1
	var frames, lens []byte
	var idRows []any
	tmin, tmax := int64(math.MaxInt64), int64(math.MinInt64)
	postings := map[[2]int64][]store.Posting{}
	for _, r := range group {
		r.Results = make([]store.AppendResult, len(r.Events))
		for i, e := range r.Events {
			key := idKey{e.Account, e.ID}
			if old, ok := existing[key]; ok {
				r.Results[i] = store.AppendResult{Seq: old, Duplicate: true}
				continue
			}
			seq++
			existing[key] = seq
			r.Results[i] = store.AppendResult{Seq: seq}
			n := len(frames)
			frames = appendFrame(frames, e, seq)
			lens = binary.AppendUvarint(lens, uint64(len(frames)-n))
			idRows = append(idRows, idHash(e.Account, e.ID), seq)
			t := e.Time.Unix()
			tmin, tmax = min(tmin, t), max(tmax, t)
			d := store.Day(t)
			for _, k := range store.EventKeys(e) {
				postings[[2]int64{d, k}] = append(postings[[2]int64{d, k}], store.Posting{Time: t, Seq: seq})
			}
		}
	}
	if seq < first { // every event was already stored
		return nil
	}
	seg, off, err := s.segs.write(frames, first)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		tx.Rollback()
		s.segs.undo(seg, off)
		return err
	}
	b := block{seq0: first, seqN: seq, seg: seg, off: off, size: int64(len(frames)), lens: lens}
	if err := insertBlock(ctx, tx, exec, b, tmin, tmax, idRows); err != nil {
		return fail(err)
	}
	rows := store.GroupPostings(postings)
	for len(rows) > 0 {
		n := min(len(rows), lookupChunk)
		args := make([]any, 0, n*7)
		for _, r := range rows[:n] {
			args = append(args, r.Day, r.Key, r.MaxTime, r.FirstSeq, r.MinTime, r.Count, r.Data)
		}
		if err := exec("INSERT INTO lookup(d, k, tmax, seq0, tmin, n, data) VALUES "+placeholders(n, 7), args); err != nil {
			return fail(fmt.Errorf("sqlite: index: %w", err))
		}
		rows = rows[n:]
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO seqs(name, last) VALUES ('events', ?)
		ON CONFLICT(name) DO UPDATE SET last = excluded.last`, seq); err != nil {
		return fail(fmt.Errorf("sqlite: sequence: %w", err))
	}
	if err := tx.Commit(); err != nil {
		return fail(fmt.Errorf("sqlite: commit: %w", err))
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

// insertBlock writes the rows of one block: the block and its events' ID
// index entries (idRows: hash, seq pairs).
func insertBlock(ctx context.Context, tx *sql.Tx, exec func(string, []any) error, b block, tmin, tmax int64, idRows []any) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO blocks(seq0, seqn, seg, off, size, tmin, tmax, lens) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		b.seq0, b.seqN, b.seg, b.off, b.size, tmin, tmax, b.lens); err != nil {
		return fmt.Errorf("sqlite: block: %w", err)
	}
	for len(idRows) > 0 {
		n := min(len(idRows)/2, idChunk)
		if err := exec("INSERT INTO ids(h, seq) VALUES "+placeholders(n, 2), idRows[:2*n]); err != nil {
			return fmt.Errorf("sqlite: id index: %w", err)
		}
		idRows = idRows[2*n:]
	}
	return nil
}

// lastSeqQuery is the highest sequence number ever assigned: kept in seqs,
// so that numbers never go back even when retention purges every event
// (delivery cursors rely on that).
const lastSeqQuery = `SELECT max(coalesce((SELECT max(seqn) FROM blocks), 0), coalesce((SELECT last FROM seqs WHERE name = 'events'), 0))`

func (s *Store) lastSeq(ctx context.Context, tx *sql.Tx) (int64, error) {
	var last int64
	if err := tx.QueryRowContext(ctx, lastSeqQuery).Scan(&last); err != nil {
		return 0, fmt.Errorf("sqlite: last seq: %w", err)
	}
	return last, nil
}

// querier is a transaction or the reader pool.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// findExisting finds which events of the group are already stored. The
// ID index holds hashes; a hash that matches is confirmed against the
// stored event's account and eventID.
func (s *Store) findExisting(ctx context.Context, tx *sql.Tx, group []*store.AppendRequest) (map[idKey]int64, error) {
	existing := map[idKey]int64{}
	var hashes []any
	for _, r := range group {
		for _, e := range r.Events {
			hashes = append(hashes, idHash(e.Account, e.ID))
		}
	}
	var candidates []int64
	for len(hashes) > 0 {
		n := min(len(hashes), 500)
		rows, err := tx.QueryContext(ctx, `SELECT seq FROM ids WHERE h IN (?`+strings.Repeat(",?", n-1)+`)`, hashes[:n]...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: find duplicates: %w", err)
		}
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: find duplicates: %w", err)
			}
			candidates = append(candidates, seq)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite: find duplicates: %w", err)
		}
		hashes = hashes[n:]
	}
	if len(candidates) == 0 {
		return existing, nil
	}
	evs, err := s.bySeq(ctx, tx, candidates, false)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		existing[idKey{e.Account, e.ID}] = e.Seq
	}
	return existing, nil
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
	if p := s.purged.Load(); start < p {
		start = p
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
	evs, err := s.bySeq(ctx, s.r, seqs, true)
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
	rows, err := s.byHash.QueryContext(ctx, idHash(q.Account, q.Value))
	if err != nil {
		return page, fmt.Errorf("sqlite: lookup: %w", err)
	}
	var seqs []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return page, fmt.Errorf("sqlite: lookup: %w", err)
		}
		seqs = append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("sqlite: lookup: %w", err)
	}
	evs, err := s.bySeq(ctx, s.r, seqs, true)
	if err != nil {
		return page, err
	}
	for _, e := range evs {
		t := e.Time.Unix()
		if e.Account != q.Account || e.ID != q.Value || e.Region != q.Region || e.Category != q.Category || t < start || t > end {
			continue
		}
		if q.After != nil && (t > q.After.Time || (t == q.After.Time && e.Seq >= q.After.Seq)) {
			continue
		}
		page.Events = []*event.Event{e}
		break
	}
	return page, nil
}

// findBlock returns the block holding seq (ok false if none does).
func (s *Store) findBlock(ctx context.Context, db querier, seq int64) (block, bool, error) {
	var b block
	var row *sql.Row
	if db == querier(s.r) {
		row = s.block.QueryRowContext(ctx, seq)
	} else {
		row = db.QueryRowContext(ctx, `SELECT seq0, seqn, seg, off, size, lens FROM blocks WHERE seq0 <= ? ORDER BY seq0 DESC LIMIT 1`, seq)
	}
	err := row.Scan(&b.seq0, &b.seqN, &b.seg, &b.off, &b.size, &b.lens)
	if errors.Is(err, sql.ErrNoRows) {
		return b, false, nil
	}
	if err != nil {
		return b, false, fmt.Errorf("sqlite: find block: %w", err)
	}
	return b, seq <= b.seqN, nil
}

// bySeq reads events by sequence number, in the order asked; a seq no
// block holds (purged) is left out, as are events older than the
// retention cut when visible is set.
func (s *Store) bySeq(ctx context.Context, db querier, seqs []int64, visible bool) ([]*event.Event, error) {
	out := make([]*event.Event, 0, len(seqs))
	var b block
	have := false
	cut := s.purged.Load()
	for _, seq := range seqs {
		if !have || seq < b.seq0 || seq > b.seqN {
			var err error
			var ok bool
			if b, ok, err = s.findBlock(ctx, db, seq); err != nil {
				return nil, err
			}
			have = ok
			if !ok {
				continue
			}
		}
		off, n, err := b.frameOffset(seq)
		if err != nil {
			return nil, err
		}
		buf, err := s.segs.readAt(b.seg, off, n)
		if err != nil {
			return nil, err
		}
		e, _, err := parseFrame(buf)
		if err != nil {
			return nil, fmt.Errorf("sqlite: event %d: %w", seq, err)
		}
		if visible && e.Time.Unix() < cut {
			continue
		}
		out = append(out, e)
	}
	return out, nil
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
	st.Bytes += s.segs.size()
	return st, nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	var err error
	s.closed.Do(func() {
		s.group.Close()
		err = errors.Join(s.scan.Close(), s.block.Close(), s.byHash.Close(), s.r.Close(), s.w.Close(), s.segs.close())
	})
	return err
}
