package lakesql

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrate creates the schema, and brings a lake.db of the first format
// (each record as JSONB in a row of lake_records, found by lake_events.id)
// to the current one: lake_events gains its ref column here, and
// convertRecords moves the records into blocks.
func migrate(ctx context.Context, w *sql.DB) error {
	if _, err := w.ExecContext(ctx, schemaSQL); err != nil {
		return err
	}
	var hasRef int
	if err := w.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('lake_events') WHERE name = 'ref'`).Scan(&hasRef); err != nil {
		return err
	}
	if hasRef == 0 {
		if _, err := w.ExecContext(ctx, `ALTER TABLE lake_events ADD COLUMN ref INTEGER`); err != nil {
			return err
		}
	}
	return nil
}

// convertBatch is how many records of the first format one transaction
// of convertRecords moves.
const convertBatch = 10000

// convertRecords moves the records of a first-format lake.db from
// lake_records into blocks (as JSON text), in transactions of
// convertBatch records, then drops lake_records. An interrupted
// conversion goes on at the next Open: each transaction moves its records
// and removes them from lake_records together.
func (db *DB) convertRecords(ctx context.Context) error {
	var old int
	if err := db.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'lake_records'`).Scan(&old); err != nil {
		return fmt.Errorf("lakesql: convert records: %w", err)
	}
	if old == 0 {
		return nil
	}
	for {
		n, err := db.convertSome(ctx)
		if err != nil {
			return fmt.Errorf("lakesql: convert records: %w", err)
		}
		if n < convertBatch {
			break
		}
	}
	if _, err := db.w.ExecContext(ctx, `DROP TABLE lake_records`); err != nil {
		return fmt.Errorf("lakesql: convert records: %w", err)
	}
	return nil
}

// convertSome moves up to convertBatch records into blocks (one block
// being filled per store) and returns how many lake_records rows it read.
func (db *DB) convertSome(ctx context.Context) (int, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var next int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM lake_blocks`).Scan(&next); err != nil {
		return 0, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT r.id, e.store, e.t, json(r.rec) FROM lake_records AS r
		LEFT JOIN lake_events AS e ON e.id = r.id ORDER BY r.id LIMIT ?`, convertBatch)
	if err != nil {
		return 0, err
	}
	type moved struct{ id, ref int64 }
	var refs []moved
	open := map[int64]*block{} // by store: the block being filled
	var done []storeBlock
	n, last := 0, int64(0)
	for rows.Next() {
		var id int64
		var store, t sql.NullInt64
		var rec []byte
		if err := rows.Scan(&id, &store, &t, &rec); err != nil {
			rows.Close()
			return 0, err
		}
		n, last = n+1, id
		if !store.Valid {
			continue // a record without its event: dropped
		}
		b := open[store.Int64]
		if b == nil {
			b = &block{id: next}
			next++
			open[store.Int64] = b
		}
		refs = append(refs, moved{id, b.ref()})
		b.add(rec, t.Int64)
		if b.full() {
			done = append(done, storeBlock{store.Int64, b})
			delete(open, store.Int64)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for num, b := range open {
		done = append(done, storeBlock{num, b})
	}
	for _, sb := range done {
		if _, err := tx.ExecContext(ctx, insertBlockSQL, sb.b.id, sb.store, sb.b.tmin, sb.b.tmax, db.codec.compress(sb.b)); err != nil {
			return 0, err
		}
	}
	for _, m := range refs {
		if _, err := tx.ExecContext(ctx, `UPDATE lake_events SET ref = ? WHERE id = ?`, m.ref, m.id); err != nil {
			return 0, err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM lake_records WHERE id <= ?`, last); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// storeBlock is a block and the store (lake_stores.num) it belongs to.
type storeBlock struct {
	store int64
	b     *block
}

// expireBlocks removes, in tx, the records of store num whose eventTime
// is before cut (Unix ms): blocks that hold only such records are
// deleted, blocks that hold some are written again without them. (The
// events' rows are gone already.)
func (db *DB) expireBlocks(ctx context.Context, tx *sql.Tx, num, cut int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM lake_blocks WHERE store = ? AND tmin < ? AND tmax < ?`, num, cut, cut); err != nil {
		return fmt.Errorf("lakesql: delete: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, data FROM lake_blocks WHERE store = ? AND tmin < ?`, num, cut)
	if err != nil {
		return fmt.Errorf("lakesql: delete: %w", err)
	}
	var keep []*block
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			rows.Close()
			return fmt.Errorf("lakesql: delete: %w", err)
		}
		d, err := decodeAll(data)
		if err != nil {
			rows.Close()
			return fmt.Errorf("lakesql: delete: block %d: %w", id, err)
		}
		b := &block{id: id}
		for i, t := range d.times {
			rec := d.recs[i]
			if t < cut {
				rec = nil
			}
			b.add(rec, t)
		}
		b.tmin = b.tmax
		for i, t := range d.times {
			if len(b.ends) > 0 && d.recs[i] != nil && t >= cut {
				b.tmin = min(b.tmin, t)
			}
		}
		keep = append(keep, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("lakesql: delete: %w", err)
	}
	for _, b := range keep {
		if _, err := tx.ExecContext(ctx, `UPDATE lake_blocks SET tmin = ?, data = ? WHERE id = ?`, b.tmin, db.codec.compress(b), b.id); err != nil {
			return fmt.Errorf("lakesql: delete: %w", err)
		}
	}
	return nil
}

// The blocks of a lake.db of the version before frames (one zstd frame a
// block) are read as they are, and written again in frames in the
// background from Open (reframe), so that a needle over a store filled
// before the upgrade decodes frames too. Only blocks that were there when
// the file was first opened by this version can be of the earlier format:
// framedToMark is the highest block id then, framedMark how far reframe
// has gone (every block up to it is in frames).
const (
	framedToMark = "blocks/framed-to"
	framedMark   = "blocks/framed"
	// reframeBatch is how many blocks one transaction of reframe reads.
	reframeBatch = 64
	// reframePause is the pause between two such transactions: the
	// writer is the fill's too.
	reframePause = 20 * time.Millisecond
)

// startReframe notes, at the first Open of this version, which blocks may
// be of the earlier format, and writes them again in frames in the
// background until done or Close. Blocks it could not write (an error)
// are left to the next Open; they read as they are meanwhile.
func (db *DB) startReframe(ctx context.Context) error {
	_, ok, err := db.Mark(ctx, framedToMark)
	if err != nil {
		return err
	}
	if !ok {
		var top int64
		if err := db.w.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM lake_blocks`).Scan(&top); err != nil {
			return fmt.Errorf("lakesql: blocks: %w", err)
		}
		if err := db.SetMark(ctx, framedToMark, top); err != nil {
			return err
		}
	}
	bg, stop := context.WithCancel(context.Background())
	db.stopReframe = stop
	db.reframed = make(chan struct{})
	go func() {
		defer close(db.reframed)
		for {
			n, err := db.reframeSome(bg)
			if err != nil && bg.Err() == nil {
				db.reframeErr = fmt.Errorf("lakesql: rewriting blocks in frames: %w", err)
			}
			if err != nil || n == 0 {
				return
			}
			select {
			case <-bg.Done():
				return
			case <-time.After(reframePause):
			}
		}
	}()
	return nil
}

// Reframed is closed when the background rewriting of the blocks of the
// format before frames, which Open starts, has ended (done, failed, or
// stopped by Close).
func (db *DB) Reframed() <-chan struct{} { return db.reframed }

// ReframeErr waits until Reframed is closed and returns why the rewriting
// ended before every block was rewritten (nil: done, or stopped by
// Close). What is left is rewritten after the next Open; it reads as it
// is meanwhile.
func (db *DB) ReframeErr() error {
	<-db.reframed
	return db.reframeErr
}

// reframeSome writes up to reframeBatch blocks past framedMark (up to
// framedToMark) again in frames when they are not, and moves framedMark
// past them; it returns how many blocks it looked at (0: none left).
func (db *DB) reframeSome(ctx context.Context) (int, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var done, to int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT seq FROM lake_marks WHERE name = ?), 0), coalesce((SELECT seq FROM lake_marks WHERE name = ?), 0)`,
		framedMark, framedToMark).Scan(&done, &to); err != nil {
		return 0, err
	}
	if done >= to {
		return 0, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, data FROM lake_blocks WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`, done, to, reframeBatch)
	if err != nil {
		return 0, err
	}
	var again []*block
	n, last := 0, to
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			rows.Close()
			return 0, err
		}
		n, last = n+1, id
		if len(data) > 0 && data[0] == framedTag {
			continue
		}
		d, err := decodeAll(data)
		if err != nil {
			continue // damaged: left as it is (its rows read as errors, as before)
		}
		b := &block{id: id}
		for i, t := range d.times {
			b.add(d.recs[i], t)
		}
		again = append(again, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if n < reframeBatch {
		last = to // nothing left up to to
	}
	for _, b := range again {
		if _, err := tx.ExecContext(ctx, `UPDATE lake_blocks SET data = ? WHERE id = ?`, db.codec.compress(b), b.id); err != nil {
			return 0, err
		}
	}
	if _, err := tx.ExecContext(ctx, setMarkSQL, framedMark, last); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return max(n, 1), nil
}
