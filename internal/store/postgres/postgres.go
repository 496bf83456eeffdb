// Package postgres is Cairn's scale-out event store: PostgreSQL (through
// pgx), shared by any number of stateless `cairn serve` nodes. It keeps the
// SQLite store's design — group commit, and an index of (lookup key, day,
// time, seq) posting rows (store.PostingRow) — and adds what sharing needs:
//
//   - Migrations run at start in one transaction under an advisory lock, so
//     nodes starting at once apply each version exactly once.
//   - Events and index rows are partitioned by day (of eventTime), each
//     partition created on demand; retention (Purge) drops whole partitions.
//   - Appends on every node run at once. Each takes its sequence numbers
//     under an in-flight lock that carries a lower bound of them, and a
//     reader following the log by sequence (ReadLog) reads only below the
//     lowest bound in flight, so it never sees a lower number appear after
//     a higher one (numbering.go). Sequence numbers are unique and
//     increasing but may have gaps (a rolled-back transaction's numbers are
//     not reused).
//   - An eventID stored by two nodes at once is stored once: the unique key
//     (event_id, account, t) makes the second wait and fail, and its group
//     commit tries again, finding the first's event.
//
// Each node batches every append waiting on it into one transaction, so that
// one commit carries many events.
package postgres

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// commitTimeout bounds one group commit, so that a database that stops
// answering fails appends instead of holding them forever.
const commitTimeout = 2 * time.Minute

var _ store.Store = (*Store)(nil)

// Store is the PostgreSQL event store. Use Open.
type Store struct {
	pool   *pgxpool.Pool
	group  *store.GroupCommitter
	closed sync.Once

	// days are the days whose partitions this node knows to exist (read at
	// daysAt, and added to as it creates them). Appends skip creating those;
	// lookups size their windows of days by them.
	mu     sync.Mutex
	days   map[int64]bool
	daysAt time.Time

	analyzer analyzer
	dups     dupWatch

	// Test hooks, set before the first Append. beforeCommit runs in each
	// append transaction after it has taken its sequence numbers and written
	// its rows, just before it commits. noReadBound makes ReadLog ignore
	// appends in flight, to show what the bound prevents; never set outside
	// tests.
	beforeCommit func()
	noReadBound  bool
}

// Open connects to the database at dsn (a libpq URL or key=value string),
// brings its schema up to date and starts the store's writer.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, days: map[int64]bool{}}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	if err := s.loadDays(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	s.group = store.NewGroupCommitter(s.commit)
	// Events numbered from here on are indexed by failure too (the numbers
	// below may belong to events an older version stored).
	st, err := s.Stats(ctx)
	if err == nil {
		err = store.MarkErrorKeys(ctx, s, st.LastSeq)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// ErrInvalidText reports an event whose account, region, ID or category
// PostgreSQL cannot store as text (a NUL byte, or invalid UTF-8).
var ErrInvalidText = errors.New("postgres: text with a NUL byte or invalid UTF-8")

// Append implements store.Store.
func (s *Store) Append(ctx context.Context, events []*event.Event) ([]store.AppendResult, error) {
	if len(events) == 0 {
		return nil, nil
	}
	// One bad event must not fail the group commit it would share with
	// other callers' events.
	for _, e := range events {
		for _, f := range []string{e.Account, e.Region, e.ID, e.Category} {
			if strings.IndexByte(f, 0) >= 0 || !utf8.ValidString(f) {
				return nil, fmt.Errorf("event %q: %w", e.ID, ErrInvalidText)
			}
		}
	}
	return s.group.Append(ctx, events)
}

// copyIndexRows writes index rows to table (lookup or lookup_spans).
func copyIndexRows(ctx context.Context, tx pgx.Tx, table string, rows []store.PostingRow) error {
	if len(rows) == 0 {
		return nil
	}
	if err := copyChunks(ctx, tx, table+" (d, k, tmax, seq0, tmin, n, data)", len(rows), func(w *copyRows, j int) {
		r := rows[j]
		w.row(7)
		w.int64(r.Day)
		w.int64(r.Key)
		w.int64(r.MaxTime)
		w.int64(r.FirstSeq)
		w.int64(r.MinTime)
		w.int32(int32(r.Count))
		w.bytes(r.Data)
	}); err != nil {
		return fmt.Errorf("postgres: insert index: %w", err)
	}
	return nil
}

// commit writes a group, retrying when another node got in the way: a
// deadlock with a purge, or a partition that a purge dropped after this node
// last saw it.
func (s *Store) commit(group []*store.AppendRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	var days []int64
	for _, r := range group {
		for _, e := range r.Events {
			days = append(days, store.Day(e.Time.Unix()))
		}
	}
	slices.Sort(days)
	days = slices.Compact(days)
	var err error
	check := s.dups.due()
	for attempt := 0; attempt < 4; attempt++ {
		if err = s.ensureDays(ctx, days); err != nil {
			return err
		}
		if err = s.commitOnce(ctx, group, days, check); err == nil {
			break
		}
		switch {
		case isCode(err, "23514", "42P01"): // no partition for a row; no such table
			s.forgetDays()
		case isCode(err, "23505"): // an event stored already, or by another node meanwhile
			s.dups.seen()
			check = true
		case isCode(err, "40P01", "40001"): // deadlock; serialization failure
		default:
			return err
		}
	}
	if err != nil {
		return err
	}
	counts := map[int64]int64{}
	for _, r := range group {
		for i, e := range r.Events {
			if r.Results[i].Written() {
				e.Seq = r.Results[i].Seq
				counts[store.Day(e.Time.Unix())]++
			}
		}
	}
	if due := s.analyzer.added(counts); due != nil {
		go s.analyze(due)
	}
	return nil
}

// idKey identifies an event for idempotence: a resent event has the same
// account, ID and eventTime.
type idKey struct {
	account, id string
	t           int64
}

// commitOnce writes a group in one transaction. With check, it first asks
// which of its events are stored already; without, it counts on the unique
// key to refuse the transaction (23505) if any is.
func (s *Store) commitOnce(ctx context.Context, group []*store.AppendRequest, days []int64, check bool) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer tx.Rollback(context.Background())

	// Appends of other nodes run meanwhile. An event one of them is storing
	// too is found here once it has committed; while it has not, the unique
	// key (event_id, account, t) makes this COPY wait for it and then fail,
	// and commit tries again.
	var existing map[idKey]stored
	if check {
		var err error
		if existing, err = findExisting(ctx, tx, group, days); err != nil {
			return err
		}
		if len(existing) > 0 {
			s.dups.seen()
		}
	}
	// Decide which events are new, in order; an event repeated within the
	// group is a duplicate of its first copy (or a conflict with it, when
	// their content differs).
	type pending struct {
		r *store.AppendRequest
		i int
	}
	var fresh []pending
	firstOf := map[idKey]int{} // index into fresh
	for _, r := range group {
		r.Results = make([]store.AppendResult, len(r.Events))
		for i, e := range r.Events {
			key := idKey{e.Account, e.ID, e.Time.Unix()}
			if old, ok := existing[key]; ok {
				same := store.SameContent(old.record, e.Record)
				r.Results[i] = store.AppendResult{Seq: old.seq, Duplicate: same, Conflict: !same}
				continue
			}
			if j, ok := firstOf[key]; ok {
				first := fresh[j].r.Events[fresh[j].i]
				same := store.SameContent(first.Record, e.Record)
				r.Results[i] = store.AppendResult{Duplicate: same, Conflict: !same} // seq filled in below
				continue
			}
			firstOf[key] = len(fresh)
			fresh = append(fresh, pending{r, i})
		}
	}
	if len(fresh) == 0 {
		return tx.Commit(ctx)
	}
	seqs, err := takeSeqs(ctx, tx, len(fresh))
	if err != nil {
		return err
	}
	postings := map[int64][]store.Posting{}
	for j, p := range fresh {
		e := p.r.Events[p.i]
		p.r.Results[p.i].Seq = seqs[j]
		t := e.Time.Unix()
		for _, k := range store.EventKeys(e) {
			postings[k] = append(postings[k], store.Posting{Time: t, Seq: seqs[j]})
		}
	}
	for _, r := range group {
		for i, e := range r.Events {
			if !r.Results[i].Written() && r.Results[i].Seq == 0 {
				r.Results[i].Seq = seqs[firstOf[idKey{e.Account, e.ID, e.Time.Unix()}]]
			}
		}
	}
	// Rows go to the events COPY a day at a time: COPY into a partitioned
	// table buffers rows per partition and flushes a buffer when the rows
	// switch partitions often, as events spread over many days do.
	order := make([]int, len(fresh))
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(store.Day(fresh[a].r.Events[fresh[a].i].Time.Unix()), store.Day(fresh[b].r.Events[fresh[b].i].Time.Unix()))
	})
	if err := copyChunks(ctx, tx, "events (seq, account, region, event_id, t, category, record)", len(fresh), func(w *copyRows, j int) {
		j = order[j]
		e := fresh[j].r.Events[fresh[j].i]
		w.row(7)
		w.int64(seqs[j])
		w.text(e.Account)
		w.text(e.Region)
		w.text(e.ID)
		w.int64(e.Time.Unix())
		w.text(e.Category)
		w.bytes(e.Record)
	}); err != nil {
		return fmt.Errorf("postgres: insert events: %w", err)
	}
	dense, spans := store.GroupRows(postings)
	for _, part := range []struct {
		table string
		rows  []store.PostingRow
	}{{"lookup", dense}, {"lookup_spans", spans}} {
		if err := copyIndexRows(ctx, tx, part.table, part.rows); err != nil {
			return err
		}
	}
	if s.beforeCommit != nil {
		s.beforeCommit()
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// copyChunk is the most rows one COPY carries. PostgreSQL (15 at least)
// registers every row slot a COPY buffers with the transaction's resource
// owner, in a hash where all of them collide, so a COPY's cost grows with
// the square of its rows up to 1,000: at 2,000 rows that took a sixth of
// the database's CPU. Chunks of copyChunk rows cost a round trip each and
// keep it small.
const copyChunk = 250

// copyChunks copies n rows into the table and columns of into ("events
// (seq, …)"), copyChunk at a time, in PostgreSQL's binary COPY format that
// fill writes for row j. It writes the format itself rather than through
// pgx's CopyFrom, which asks the server for the columns' types (another
// round trip) and converts each value through its type map.
func copyChunks(ctx context.Context, tx pgx.Tx, into string, n int, fill func(w *copyRows, j int)) error {
	sql := "COPY " + into + " FROM STDIN (FORMAT binary)"
	var w copyRows
	for lo := 0; lo < n; lo += copyChunk {
		w.start()
		for j := lo; j < min(lo+copyChunk, n); j++ {
			fill(&w, j)
		}
		w.end()
		if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(w.b), sql); err != nil {
			return err
		}
	}
	return nil
}

// copyRows builds the data of a binary COPY: a header, each row as its
// number of fields and each field as its length and bytes (integers big
// endian, text and bytea as they are), then a trailer.
type copyRows struct{ b []byte }

func (w *copyRows) start() {
	w.b = append(w.b[:0], "PGCOPY\n\xff\r\n\x00"...)
	w.b = binary.BigEndian.AppendUint32(w.b, 0) // flags
	w.b = binary.BigEndian.AppendUint32(w.b, 0) // header extension length
}

func (w *copyRows) row(fields int) { w.b = binary.BigEndian.AppendUint16(w.b, uint16(fields)) }
func (w *copyRows) end()           { w.b = binary.BigEndian.AppendUint16(w.b, 0xffff) }

func (w *copyRows) int64(v int64) {
	w.b = binary.BigEndian.AppendUint32(w.b, 8)
	w.b = binary.BigEndian.AppendUint64(w.b, uint64(v))
}

func (w *copyRows) int32(v int32) {
	w.b = binary.BigEndian.AppendUint32(w.b, 4)
	w.b = binary.BigEndian.AppendUint32(w.b, uint32(v))
}

func (w *copyRows) text(v string) {
	w.b = binary.BigEndian.AppendUint32(w.b, uint32(len(v)))
	w.b = append(w.b, v...)
}

func (w *copyRows) bytes(v []byte) {
	w.b = binary.BigEndian.AppendUint32(w.b, uint32(len(v)))
	w.b = append(w.b, v...)
}

// dupWatch decides whether a group commit first asks which of its events
// are stored already. Most groups hold none, and for them the question costs
// as much as the unique key's own check while inserting (a tenth of the
// database's CPU under a steady ingest), so a group goes ahead without it
// and, if the key refuses the transaction, tries again asking. Duplicates
// come in runs (a client resending after a timeout, a proxy replaying its
// spool), so once one is seen the next checkAfterDup groups ask first,
// rather than each paying for a refused transaction.
type dupWatch struct{ left atomic.Int64 }

const checkAfterDup = 256

func (w *dupWatch) seen() { w.left.Store(checkAfterDup) }

// due reports whether the next group should ask first.
func (w *dupWatch) due() bool {
	for {
		n := w.left.Load()
		if n <= 0 {
			return false
		}
		if w.left.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// stored is an event found stored under a group's idKey: its seq and its
// record, which the group's event is compared with.
type stored struct {
	seq    int64
	record []byte
}

// findExisting returns the sequence numbers and records of the group's
// events that are already stored. It asks one day's partition at a time, by
// eventID; only rows that exist come back, so records are read only for
// duplicates and conflicts.
func findExisting(ctx context.Context, tx pgx.Tx, group []*store.AppendRequest, days []int64) (map[idKey]stored, error) {
	byDay := make(map[int64][]string, len(days))
	for _, r := range group {
		for _, e := range r.Events {
			d := store.Day(e.Time.Unix())
			byDay[d] = append(byDay[d], e.ID)
		}
	}
	existing := map[idKey]stored{}
	for _, d := range days {
		lo, hi := dayRange(d)
		rows, err := tx.Query(ctx, `SELECT account, event_id, t, seq, record FROM events
			WHERE t >= $1 AND t < $2 AND event_id = ANY($3)`, lo, hi, byDay[d])
		if err != nil {
			return nil, fmt.Errorf("postgres: find duplicates: %w", err)
		}
		var k idKey
		var seq int64
		var record []byte
		_, err = pgx.ForEachRow(rows, []any{&k.account, &k.id, &k.t, &seq, &record}, func() error {
			existing[k] = stored{seq, record}
			record = nil // the next row's gets its own slice
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("postgres: find duplicates: %w", err)
		}
	}
	return existing, nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	s.closed.Do(func() {
		s.group.Close()
		s.analyzer.wg.Wait()
		s.pool.Close()
	})
	return nil
}
