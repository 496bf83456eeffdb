// Package sqlite is Cairn's embedded event store: records in append-only
// segment files, and beside them SQLite (pure Go, no cgo) in WAL mode for
// what finds them: the blocks of each commit, an ID index, and a compact
// index of (day, lookup key, time, seq) rows that answers every
// LookupEvents attribute with one index range per day. Group commit lets
// many concurrent appends share one write and fsync.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/privdir"
	"github.com/cairn-audit/cairn/internal/sched"
	"github.com/cairn-audit/cairn/internal/store"
)

// indexRowCols are the columns of an index row (postings, span_rows and
// their staging tables): its day, key, newest posting's time, first seq,
// oldest posting's time, number of postings and the postings.
const indexRowCols = `
	d    INTEGER NOT NULL,
	k    INTEGER NOT NULL,
	tmax INTEGER NOT NULL,
	seq0 INTEGER NOT NULL,
	tmin INTEGER NOT NULL,
	n    INTEGER NOT NULL,
	data BLOB    NOT NULL`

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
CREATE TABLE IF NOT EXISTS id_runs (
	g    INTEGER NOT NULL,
	b    INTEGER NOT NULL,
	seq0 INTEGER NOT NULL,
	data BLOB    NOT NULL,
	PRIMARY KEY (g, b, seq0)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS postings (` + indexRowCols + `,
	PRIMARY KEY (d, k, tmax, seq0)
) WITHOUT ROWID;
-- Span rows (store.GroupRows): a key's postings of the days where a
-- commit has few, over up to store.SpanDays days, filed under the newest.
-- (Named spans before index format 2: see indexFormat.)
CREATE TABLE IF NOT EXISTS span_rows (` + indexRowCols + `,
	PRIMARY KEY (d, k, tmax, seq0)
) WITHOUT ROWID;
-- Pack rows (packs.go): the postings of one-off keys, by generation and
-- bucket of the key. Their index by tmax, for retention, is named spans
-- (upgradeIndexFormat).
CREATE TABLE IF NOT EXISTS packs (
	g    INTEGER NOT NULL,
	b    INTEGER NOT NULL,
	seq0 INTEGER NOT NULL,
	tmin INTEGER NOT NULL,
	tmax INTEGER NOT NULL,
	data BLOB    NOT NULL,
	PRIMARY KEY (g, b, seq0)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seqs (
	name TEXT PRIMARY KEY,
	last INTEGER NOT NULL
);
`

// The read queries: a key's posting rows on a list of days, newest first;
// the block holding a seq; the ID index runs of lists of generations and
// buckets.
const (
	scanQuery = `SELECT d, tmax, tmin, data FROM postings WHERE d IN (SELECT value FROM json_each(?)) AND k = ? AND tmax >= ?
		ORDER BY d DESC, tmax DESC, seq0 DESC`
	spanQuery = `SELECT d, tmax, tmin, data FROM span_rows WHERE d IN (SELECT value FROM json_each(?)) AND k = ? AND tmax >= ?
		ORDER BY d DESC, tmax DESC, seq0 DESC`
	blockQuery  = `SELECT ` + blockCols + ` FROM blocks WHERE seq0 <= ? ORDER BY seq0 DESC LIMIT 1`
	byHashQuery = `SELECT seq0, data FROM id_runs WHERE g IN (SELECT value FROM json_each(?)) AND b IN (SELECT value FROM json_each(?))`
)

// Store is the SQLite event store. Use Open.
type Store struct {
	path  string
	w     *sql.DB // the one writer connection
	r     *sql.DB // readers
	scan  *sql.Stmt
	spans *sql.Stmt
	// stageScan and stageSpans read the staging tables (stage.go).
	stageScan  *sql.Stmt
	stageSpans *sql.Stmt
	block      *sql.Stmt
	byHash     *sql.Stmt
	gens       *sql.Stmt // genRange
	// packs reads pack rows (packs.go) of generations from packLow on.
	packs   *sql.Stmt
	packLow atomic.Int64
	// packMerged is the slot of the next bucket whose pack rows to merge
	// (packmerge.go); the indexer sets it once open.
	packMerged atomic.Int64
	// mergeAfter: after a failed merge, none is tried before it (the
	// indexer's own).
	mergeAfter time.Time
	log        *slog.Logger
	segs       *segments
	blocks     blockCache
	days       dayBounds // of every event given: reads ask only for these
	group      *store.GroupCommitter
	// purged is the retention cut (Unix seconds): events older are gone
	// from every read even while their segment still holds them.
	purged atomic.Int64
	closed sync.Once

	next   int64  // the last seq assigned (the writer's)
	frames []byte // the writer's buffer for a commit's frames
	// keysPerKilo is the distinct lookup keys per 1,000 events of the
	// writer's last commit: the size the next commit's postings map is
	// made with, so that it does not grow by rehashing.
	keysPerKilo int
	last        atomic.Int64 // the last seq acknowledged

	// Batches written to the log and not yet indexed (see writer.go).
	// pmu guards what follows; reads (lookups, the histogram) share it.
	pmu     sync.RWMutex
	pcond   *sync.Cond
	pending []*batch
	// firstPending is the seq0 of pending's first batch (MaxInt64 when
	// none), read without the lock.
	firstPending atomic.Int64
	// idMu guards pendingIDs and the ID filters' additions (idfilter.go);
	// lookups by eventID and the writer's duplicate check share it.
	idMu       sync.RWMutex
	pendingIDs *pendingIDSet
	// hints size the table the indexer makes before it takes pmu (the
	// indexer's own): the IDs of the last ID generation retired.
	hints         struct{ ids int }
	pendingEvents int
	kick          chan struct{}
	full          chan struct{} // a whole index batch is pending: index now
	ixQuit        chan struct{}
	ixDone        chan struct{}
	indexErr      atomic.Value // string: the indexer's last error

	filters idFilters // of the stored IDs, for the writer's duplicate check

	// packMax: keys with at most this many postings in an index
	// transaction go to pack rows (packs.go). Tests set 0 to compare.
	packMax int
	// stageMax: the staging tables' rows are moved once there would be
	// more (stageMaxRows; tests set fewer). staged is how many they hold:
	// the indexer's (and, before it starts, recovery's).
	stageMax int
	staged   int

	// afterStagedRead is a test hook: eachRow calls it before each read of
	// a key table, after those of the staging tables.
	afterStagedRead func()

	// beforeSegmentList is a test hook: Purge calls it after deciding
	// which segments to keep and before listing the files.
	beforeSegmentList func()

	// gate is where the indexer steps aside for lookups (yield.go).
	gate atomic.Pointer[sched.Gate]
}

// Open opens (creating if needed) the store in dir with default options.
func Open(dir string) (*Store, error) { return OpenWith(dir, Options{}) }

// Options tune an embedded store. The zero value is the default.
type Options struct {
	// CacheBytes is the index writer's SQLite page cache (0: DefaultCacheBytes).
	CacheBytes int64
	// LogCacheBytes is how much of the event log the writer leaves in the
	// OS page cache behind it, in whole segments of 256 MiB (0:
	// DefaultLogCacheBytes; negative: all of it, left to the OS). See
	// segments.dropBehind.
	LogCacheBytes int64
	// Logger gets what the store's background work cannot do (nil: none).
	Logger *slog.Logger
}

// DefaultLogCacheBytes is the newest part of the event log that stays in
// the OS page cache as the writer moves on, unless Options says otherwise.
const DefaultLogCacheBytes = 1 << 30

// DefaultCacheBytes is the index writer's page cache unless Options says
// otherwise.
const DefaultCacheBytes = 128 << 20

// MinCacheBytes is the smallest page cache Options may ask for: below it
// a group commit's pages spill to the WAL before it commits.
const MinCacheBytes = 16 << 20

// OpenWith opens (creating if needed) the store in dir with options o.
func OpenWith(dir string, o Options) (*Store, error) {
	if o.CacheBytes != 0 && o.CacheBytes < MinCacheBytes {
		return nil, fmt.Errorf("sqlite: page cache of %d bytes is below the minimum of %d", o.CacheBytes, MinCacheBytes)
	}
	if o.LogCacheBytes > 0 && !dropsFileCache {
		return nil, fmt.Errorf("sqlite: a log cache size (store.log_cache_mib) needs Linux, where the store can drop the log's pages from the page cache")
	}
	return open(dir, packMax, o)
}

// pageSize is the page size of a new store's database. An index
// transaction of a backfill inserts rows all over the index tables, so
// its cost grows with the pages it dirties: each is copied into the WAL
// (two writes a page) and again into the database at the checkpoint.
// Pages of 8 KiB hold the same rows in fewer pages than SQLite's default
// 4 KiB: in a 2M-event backfill over 30 days the database was 15 %
// smaller, the server made half the write system calls and used 5–10 %
// less CPU per event (at 3M events the difference was within the noise of
// a loaded machine). The page cache is sized in bytes (cache_size below),
// so it holds as many rows as before.
const pageSize = 8192

// setNewPageSize gives the database at path pageSize pages if it is still
// empty (just made by privdir.SQLiteFiles). The page size is fixed once
// page 1 is written, which switching to WAL does, and the driver sets
// journal_mode before any page_size in a DSN (it sorts the pragmas), so
// this runs on a connection of its own first. An existing database keeps
// its page size.
func setNewPageSize(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if fi.Size() > 0 {
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(fmt.Sprintf("PRAGMA page_size = %d", pageSize)); err != nil {
		return fmt.Errorf("sqlite: page size: %w", err)
	}
	if _, err := db.Exec("PRAGMA journal_mode = WAL"); err != nil {
		return fmt.Errorf("sqlite: journal mode: %w", err)
	}
	return db.Close()
}

// open is Open with the pack rows' bound (tests compare with 0).
func open(dir string, packMax int, o Options) (*Store, error) {
	if o.CacheBytes == 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	if o.LogCacheBytes == 0 {
		o.LogCacheBytes = DefaultLogCacheBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	path := filepath.Join(dir, "events.db")
	if err := privdir.SQLiteFiles(path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := setNewPageSize(path); err != nil {
		return nil, err
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(OFF)"
	// A big page cache keeps a group commit's pages in memory until it
	// commits (a small one spills them to the WAL mid-transaction), and the
	// statement journal of multi-row inserts stays in memory.
	w, err := sql.Open("sqlite", dsn+fmt.Sprintf("&_pragma=wal_autocheckpoint(10000)&_pragma=cache_size(%d)&_pragma=temp_store(MEMORY)", -(o.CacheBytes>>10)))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	// Readers map the database (up to the library's 2 GiB limit): every
	// index commit empties each reader's page cache at its next read, and
	// pages read again from the map cost no system call, no allocation and
	// no wait for the page cache's lock, which this build of SQLite shares
	// among all connections (the indexer's too). The file never shrinks
	// (no VACUUM, auto_vacuum off), so a mapped page never disappears.
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)&_pragma=cache_size(-16384)&_pragma=mmap_size(2147418112)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s := &Store{path: path, w: w, r: r, pendingIDs: newPendingIDSet(),
		kick: make(chan struct{}, 1),
		full: make(chan struct{}, 1), packMax: packMax, stageMax: stageMaxRows,
		ixQuit: make(chan struct{}), ixDone: make(chan struct{})}
	s.firstPending.Store(math.MaxInt64)
	s.log = o.Logger
	s.pcond = sync.NewCond(&s.pmu)
	s.days.reset()
	if err := s.init(dir); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	s.segs.keepCached(o.LogCacheBytes)
	if err := s.widenDaysToIndex(context.Background()); err != nil {
		s.segs.close()
		r.Close()
		w.Close()
		return nil, err
	}
	for _, p := range []struct {
		st **sql.Stmt
		q  string
	}{
		{&s.scan, scanQuery},
		{&s.spans, spanQuery},
		{&s.stageScan, stageScanQuery},
		{&s.stageSpans, stageSpanQuery},
		{&s.block, blockQuery},
		{&s.byHash, byHashQuery},
		{&s.gens, genRange},
		{&s.packs, packQuery},
	} {
		if *p.st, err = r.Prepare(p.q); err != nil {
			s.segs.close()
			r.Close()
			w.Close()
			return nil, fmt.Errorf("sqlite: prepare: %w", err)
		}
	}
	s.filters.quit = make(chan struct{})
	s.idMu.Lock()
	s.startFilterBuild()
	s.idMu.Unlock()
	go s.indexLoop()
	s.group = store.NewGroupCommitter(s.commit)
	// Events from here on are indexed by failure too (older ones were not).
	if err := store.MarkErrorKeys(context.Background(), s, s.next); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// init makes the schema, brings the segment files back to the last commit
// and moves the records of an older store's events table into segments.
func (s *Store) init(dir string) error {
	ctx := context.Background()
	if _, err := s.w.ExecContext(ctx, schema+stageSchema+trailSchema+stateSchema); err != nil {
		return fmt.Errorf("sqlite: schema of %s: %w", s.path, err)
	}
	if err := s.upgradeIndexFormat(ctx); err != nil {
		return err
	}
	if err := s.migrateIndexTables(ctx); err != nil {
		return err
	}
	var err error
	if s.staged, err = s.countStaged(ctx); err != nil {
		return err
	}
	if s.segs, err = openSegments(filepath.Join(dir, "log")); err != nil {
		return fmt.Errorf("sqlite: segments: %w", err)
	}
	if err := s.recoverLog(ctx); err != nil {
		s.segs.close()
		return err
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
	last, err := s.lastSeq(ctx) // past what migration wrote
	if err != nil {
		s.segs.close()
		return err
	}
	s.next = max(s.next, last)
	s.last.Store(s.next)
	if err := s.loadPackLow(ctx, true); err != nil {
		s.segs.close()
		return err
	}
	merged, err := seqValue(ctx, s.w, "packs_merged")
	if err != nil {
		s.segs.close()
		return err
	}
	s.packMerged.Store(merged)
	return nil
}

// Append implements store.Store.
func (s *Store) Append(ctx context.Context, events []*event.Event) ([]store.AppendResult, error) {
	if len(events) == 0 {
		return nil, nil
	}
	// Index keys and ID hashes are worked out here, in the caller's
	// goroutine, so that the writer only numbers and writes.
	prep := make([]prepared, len(events))
	for i, e := range events {
		prep[i] = prepared{keys: store.EventKeys(e), h: idHash(e.Account, e.ID)}
	}
	return s.group.AppendPrepared(ctx, events, prep)
}

// prepared is what Append derives from an event for the writer.
type prepared struct {
	keys []int64
	h    int64
}

// Multi-row statements: SQLite's per-statement cost dominates single-row
// inserts, so rows are written in chunks.
const (
	lookupChunk   = 128
	indexRowChunk = 512 // postings and spans rows: 7 parameters each
)

// idHash is the ID index key of an event: its account and eventID.
func idHash(account, id string) int64 { return store.HashPair(account, id) }

// lastSeqQuery is the highest sequence number ever assigned: kept in seqs,
// so that numbers never go back even when retention purges every event
// (delivery cursors rely on that).
const lastSeqQuery = `SELECT max(coalesce((SELECT max(seqn) FROM blocks), 0), coalesce((SELECT last FROM seqs WHERE name = 'events'), 0))`

func (s *Store) lastSeq(ctx context.Context) (int64, error) {
	var last int64
	if err := s.w.QueryRowContext(ctx, lastSeqQuery).Scan(&last); err != nil {
		return 0, fmt.Errorf("sqlite: last seq: %w", err)
	}
	return last, nil
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
		q.Start = time.Unix(p, 0) // TopK takes its bounds from q
	}
	if q.Attr == event.AttrEventID {
		return s.lookupID(ctx, q, start, end)
	}
	key := store.Key(q.Account, q.Region, q.Category, q.Attr, q.Value)
	top := store.NewTopK(q)
	if q.HideReadOnly {
		if err := s.lookupHiding(ctx, top, q, key, start, end); err != nil {
			return store.Page{}, err
		}
	} else {
		// Pending postings first: a batch indexed meanwhile is in the index
		// rows read after (TopK keeps a posting offered twice once).
		s.offerPending(top, key)
		if err := s.scanRows(ctx, top, key, start, end); err != nil {
			return store.Page{}, err
		}
	}
	found, next := top.Result()
	page := store.Page{Next: next}
	seqs := make([]int64, len(found))
	for i, p := range found {
		seqs[i] = p.Seq
	}
	evs, err := s.bySeq(ctx, seqs, true)
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

// scanRows offers key's index rows to top: the dense rows of the days in
// range, then the span rows that may reach into it (staged ones first:
// rowSources), each newest day and newest rows first, until no older row
// can change the page; then its postings in pack rows. The caller has
// read the pending postings first (see dayBounds). Only days that may hold rows are asked for: those the
// store's events fall on, and once a page is found (from pending postings
// or the dense rows), none older than its oldest posting: each day asked
// is a probe of the index, found empty for most keys in one of the two
// tables.
func (s *Store) scanRows(ctx context.Context, top *store.TopK, key, start, end int64) error {
	for _, src := range s.rowSources(start, end) {
		from := start // rows whose newest posting is older cannot matter
		if floor, ok := top.Floor(); ok {
			from = max(from, floor)
		}
		d0, d1 := s.days.clip(max(src.d0, store.Day(from)), src.d1)
		if d0 > d1 {
			continue
		}
		if err := scanTable(ctx, src.st, top, key, d0, d1, from, end); err != nil {
			return err
		}
	}
	return s.eachPack(ctx, key, start, end, func(data []byte) error {
		if err := top.Add(data); err != nil {
			return fmt.Errorf("sqlite: lookup: %w", err)
		}
		return nil
	})
}

// scanTable offers the rows st reads of key on days d0 to d1, whose newest
// posting is at from or later, to top.
func scanTable(ctx context.Context, st *sql.Stmt, top *store.TopK, key, d0, d1, from, end int64) error {
	rows, err := st.QueryContext(ctx, intList(d0, d1), key, from)
	if err != nil {
		return fmt.Errorf("sqlite: lookup: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d, tmax, tmin int64
		var data sql.RawBytes // read in place: Add keeps none of it
		if err := rows.Scan(&d, &tmax, &tmin, &data); err != nil {
			return fmt.Errorf("sqlite: lookup: %w", err)
		}
		// Rows come newest day first, newest row first within a day (a
		// row's day is its newest posting's): once one is older than a
		// full page, so are all after it.
		if top.Full() && top.Done(tmax) {
			break
		}
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
	var seqs []int64
	s.idMu.RLock()
	seqs = s.pendingIDs.get(idHash(q.Account, q.Value), seqs)
	s.idMu.RUnlock()
	found, err := s.seqsByHash(ctx, []int64{idHash(q.Account, q.Value)})
	if err != nil {
		return page, fmt.Errorf("sqlite: lookup: %w", err)
	}
	seqs = append(seqs, found...)
	evs, err := s.bySeq(ctx, seqs, true)
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

// pendingBlocksOf returns the pending blocks that hold any of seqs, oldest
// first, found under one hold of the pending lock: a page's events in
// pending batches would take it once each otherwise, and each time wait
// behind the writer or the indexer if either is about to take it.
func (s *Store) pendingBlocksOf(seqs []int64) []block {
	first := s.firstPending.Load() // seqs below are in the database
	if !slices.ContainsFunc(seqs, func(seq int64) bool { return seq >= first }) {
		return nil
	}
	var out []block
	s.pmu.RLock()
	defer s.pmu.RUnlock()
	for _, seq := range seqs {
		if seq < first || slices.ContainsFunc(out, func(b block) bool { return b.seq0 <= seq && seq <= b.seqN }) {
			continue
		}
		i := sort.Search(len(s.pending), func(i int) bool { return s.pending[i].b.seqN >= seq })
		if i < len(s.pending) && s.pending[i].b.seq0 <= seq {
			out = append(out, s.pending[i].b)
		}
	}
	return out
}

// findBlock returns the block holding seq (ok false if none does): one of
// pending (pendingBlocksOf, read before), or one in the database, which a
// block the indexer took away from pending meanwhile is by then.
func (s *Store) findBlock(ctx context.Context, seq int64, pending []block) (block, bool, error) {
	for _, b := range pending {
		if b.seq0 <= seq && seq <= b.seqN {
			return b, true, nil
		}
	}
	if b, ok := s.blocks.get(seq); ok {
		return b, true, nil
	}
	gen := s.blocks.generation()
	b, err := scanBlock(s.block.QueryRowContext(ctx, seq))
	if errors.Is(err, sql.ErrNoRows) {
		return b, false, nil
	}
	if err != nil {
		return b, false, fmt.Errorf("sqlite: find block: %w", err)
	}
	if seq > b.seqN {
		return b, false, nil
	}
	b = b.withMarks()
	s.blocks.put(b, gen)
	return b, true, nil
}

// bySeq reads events by sequence number, in the order asked; a seq no
// block holds (purged) is left out, as are events older than the
// retention cut when visible is set. Frames near each other in a segment
// are read together.
func (s *Store) bySeq(ctx context.Context, seqs []int64, visible bool) ([]*event.Event, error) {
	type frameAt struct {
		i           int // in seqs
		seg, off, n int64
	}
	at := make([]frameAt, 0, len(seqs))
	pending := s.pendingBlocksOf(seqs)
	var b block
	have := false
	for i, seq := range seqs {
		if !have || seq < b.seq0 || seq > b.seqN {
			var err error
			if b, have, err = s.findBlock(ctx, seq, pending); err != nil {
				return nil, err
			}
			if !have {
				continue
			}
		}
		off, n, err := b.frameOffset(seq)
		if err != nil {
			return nil, err
		}
		at = append(at, frameAt{i: i, seg: b.seg, off: off, n: n})
	}
	slices.SortFunc(at, func(x, y frameAt) int { return cmp.Or(cmp.Compare(x.seg, y.seg), cmp.Compare(x.off, y.off)) })
	found := make([]*event.Event, len(seqs))
	for j := 0; j < len(at); {
		// One read for the run of frames from at[j] whose gaps are small.
		first, end, k := at[j], at[j].off+at[j].n, j+1
		for ; k < len(at) && at[k].seg == first.seg && at[k].off-end <= maxReadGap &&
			at[k].off+at[k].n-first.off <= maxReadSpan; k++ {
			end = max(end, at[k].off+at[k].n)
		}
		buf, err := s.segs.readAt(first.seg, first.off, end-first.off)
		if err != nil {
			return nil, err
		}
		for _, f := range at[j:k] {
			e, _, err := parseFrame(buf[f.off-first.off : f.off-first.off+f.n])
			if err != nil {
				return nil, fmt.Errorf("sqlite: event %d: %w", seqs[f.i], err)
			}
			found[f.i] = e
		}
		j = k
	}
	cut := s.purged.Load()
	out := make([]*event.Event, 0, len(at))
	for _, e := range found {
		if e == nil || (visible && e.Time.Unix() < cut) {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// A read of frames spans at most maxReadSpan bytes and skips gaps of at
// most maxReadGap between them.
const (
	maxReadGap  = 16 << 10
	maxReadSpan = 1 << 20
)

// Stats implements store.Store.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	var st store.Stats
	st.LastSeq = s.last.Load()
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
		close(s.ixQuit)
		<-s.ixDone
		close(s.filters.quit)
		s.filters.building.Wait()
		err = errors.Join(s.scan.Close(), s.spans.Close(), s.stageScan.Close(), s.stageSpans.Close(), s.block.Close(), s.byHash.Close(), s.gens.Close(), s.packs.Close(), s.r.Close(), s.w.Close(), s.segs.close())
	})
	return err
}
