package sqlite

import (
	"context"
	"fmt"

	"github.com/cairn-audit/cairn/internal/store"
)

const trailSchema = `
CREATE TABLE IF NOT EXISTS trails (
	arn     TEXT PRIMARY KEY,
	account TEXT    NOT NULL,
	region  TEXT    NOT NULL,
	name    TEXT    NOT NULL,
	doc     BLOB    NOT NULL,
	version INTEGER NOT NULL
);
`

// Trails implements store.Store.
func (s *Store) Trails(ctx context.Context) ([]store.TrailRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT arn, account, region, name, doc, version FROM trails ORDER BY arn`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: trails: %w", err)
	}
	defer rows.Close()
	var out []store.TrailRow
	for rows.Next() {
		var t store.TrailRow
		if err := rows.Scan(&t.ARN, &t.Account, &t.Region, &t.Name, &t.Doc, &t.Version); err != nil {
			return nil, fmt.Errorf("sqlite: trails: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// PutTrail implements store.Store.
func (s *Store) PutTrail(ctx context.Context, t store.TrailRow, expect int64) (int64, error) {
	if expect == 0 {
		res, err := s.w.ExecContext(ctx, `INSERT INTO trails(arn, account, region, name, doc, version)
			VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT(arn) DO NOTHING`, t.ARN, t.Account, t.Region, t.Name, t.Doc)
		if err != nil {
			return 0, fmt.Errorf("sqlite: put trail: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return 0, store.ErrExists
		}
		return 1, nil
	}
	res, err := s.w.ExecContext(ctx, `UPDATE trails SET doc = ?, version = version + 1 WHERE arn = ? AND version = ?`,
		t.Doc, t.ARN, expect)
	if err != nil {
		return 0, fmt.Errorf("sqlite: put trail: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return expect + 1, nil
	}
	var v int64
	if err := s.r.QueryRowContext(ctx, `SELECT version FROM trails WHERE arn = ?`, t.ARN).Scan(&v); err != nil {
		return 0, store.ErrNotFound
	}
	return 0, store.ErrConflict
}

// DeleteTrail implements store.Store.
func (s *Store) DeleteTrail(ctx context.Context, arn string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM trails WHERE arn = ?`, arn)
	if err != nil {
		return fmt.Errorf("sqlite: delete trail: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}
