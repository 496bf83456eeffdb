package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

const stateSchema = `
CREATE TABLE IF NOT EXISTS state (
	key     TEXT PRIMARY KEY,
	doc     BLOB    NOT NULL,
	version INTEGER NOT NULL
);
`

// readLogQuery selects the blocks past a log position (args: position+1,
// position, limit): the one holding position+1 and those after it, a range
// of the primary key from the last block starting at or before position+1.
// (seqn has no index: a filter on it alone walks every block from the
// log's start at each read, which every follower of the log — delivery,
// streams, the live tail — does many times a second.)
const readLogQuery = `SELECT ` + blockCols + ` FROM blocks
	WHERE seq0 >= COALESCE((SELECT MAX(seq0) FROM blocks WHERE seq0 <= ?), 0) AND seqn > ?
	ORDER BY seq0 LIMIT ?`

// ReadLog implements store.Store. The single writer assigns sequence
// numbers in commit order, so a reader never sees a gap fill in later.
func (s *Store) ReadLog(ctx context.Context, after int64, limit int) ([]*event.Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	// Pending blocks first: one indexed meanwhile is among the database's.
	pending := s.pendingBlocks()
	rows, err := s.r.QueryContext(ctx, readLogQuery, after+1, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read log: %w", err)
	}
	blocks, err := scanBlocks(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read log: %w", err)
	}
	for _, b := range pending {
		if b.seqN > after && (len(blocks) == 0 || b.seq0 > blocks[len(blocks)-1].seqN) {
			blocks = append(blocks, b)
		}
	}
	// Events past the retention cut whose block is still kept are returned:
	// a consumer must see every seq up to the end of the log.
	var out []*event.Event
	for _, b := range blocks {
		// Read from the first wanted frame to the last, in one piece.
		first := max(b.seq0, after+1)
		last := min(b.seqN, first+int64(limit-len(out))-1)
		off, _, err := b.frameOffset(first)
		if err != nil {
			return nil, err
		}
		endOff, n, err := b.frameOffset(last)
		if err != nil {
			return nil, err
		}
		buf, err := s.segs.readAt(b.seg, off, endOff+n-off)
		if err != nil {
			return nil, err
		}
		for len(buf) > 0 {
			e, size, err := parseFrame(buf)
			if err != nil {
				return nil, fmt.Errorf("sqlite: read log at %d: %w", first, err)
			}
			buf = buf[size:]
			out = append(out, e)
		}
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}

// GetState implements store.Store.
func (s *Store) GetState(ctx context.Context, key string) (store.StateDoc, error) {
	d := store.StateDoc{Key: key}
	err := s.r.QueryRowContext(ctx, `SELECT doc, version FROM state WHERE key = ?`, key).Scan(&d.Doc, &d.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return d, store.ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("sqlite: get state: %w", err)
	}
	return d, nil
}

// PutState implements store.Store.
func (s *Store) PutState(ctx context.Context, key string, doc []byte, expect int64) (int64, error) {
	if expect == 0 {
		res, err := s.w.ExecContext(ctx, `INSERT INTO state(key, doc, version) VALUES (?, ?, 1) ON CONFLICT(key) DO NOTHING`, key, doc)
		if err != nil {
			return 0, fmt.Errorf("sqlite: put state: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return 0, store.ErrExists
		}
		return 1, nil
	}
	res, err := s.w.ExecContext(ctx, `UPDATE state SET doc = ?, version = version + 1 WHERE key = ? AND version = ?`, doc, key, expect)
	if err != nil {
		return 0, fmt.Errorf("sqlite: put state: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return expect + 1, nil
	}
	if _, err := s.GetState(ctx, key); errors.Is(err, store.ErrNotFound) {
		return 0, store.ErrNotFound
	}
	return 0, store.ErrConflict
}

// ListState implements store.Store.
func (s *Store) ListState(ctx context.Context, prefix string) ([]store.StateDoc, error) {
	// Keys in [prefix, prefix+U+FFFF) start with prefix.
	rows, err := s.r.QueryContext(ctx, `SELECT key, doc, version FROM state WHERE key >= ? AND key < ? ORDER BY key`,
		prefix, prefix+"\U0010FFFF")
	if err != nil {
		return nil, fmt.Errorf("sqlite: list state: %w", err)
	}
	defer rows.Close()
	var out []store.StateDoc
	for rows.Next() {
		var d store.StateDoc
		if err := rows.Scan(&d.Key, &d.Doc, &d.Version); err != nil {
			return nil, fmt.Errorf("sqlite: list state: %w", err)
		}
		if strings.HasPrefix(d.Key, prefix) {
			out = append(out, d)
		}
	}
	return out, rows.Err()
}

// DeleteState implements store.Store.
func (s *Store) DeleteState(ctx context.Context, key string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM state WHERE key = ?`, key); err != nil {
		return fmt.Errorf("sqlite: delete state: %w", err)
	}
	return nil
}
