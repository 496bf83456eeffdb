package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-audit/cairn/internal/store"
)

// Trails implements store.Store.
func (s *Store) Trails(ctx context.Context) ([]store.TrailRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT arn, account, region, name, doc, version FROM trails ORDER BY arn`)
	if err != nil {
		return nil, fmt.Errorf("postgres: trails: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.TrailRow, error) {
		var t store.TrailRow
		err := row.Scan(&t.ARN, &t.Account, &t.Region, &t.Name, &t.Doc, &t.Version)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: trails: %w", err)
	}
	return out, nil
}

// PutTrail implements store.Store.
func (s *Store) PutTrail(ctx context.Context, t store.TrailRow, expect int64) (int64, error) {
	if expect == 0 {
		tag, err := s.pool.Exec(ctx, `INSERT INTO trails(arn, account, region, name, doc, version)
			VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT (arn) DO NOTHING`, t.ARN, t.Account, t.Region, t.Name, t.Doc)
		if err != nil {
			return 0, fmt.Errorf("postgres: put trail: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return 0, store.ErrExists
		}
		return 1, nil
	}
	tag, err := s.pool.Exec(ctx, `UPDATE trails SET doc = $1, version = version + 1 WHERE arn = $2 AND version = $3`,
		t.Doc, t.ARN, expect)
	if err != nil {
		return 0, fmt.Errorf("postgres: put trail: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return expect + 1, nil
	}
	var v int64
	err = s.pool.QueryRow(ctx, `SELECT version FROM trails WHERE arn = $1`, t.ARN).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, store.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: put trail: %w", err)
	}
	return 0, store.ErrConflict
}

// DeleteTrail implements store.Store.
func (s *Store) DeleteTrail(ctx context.Context, arn string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM trails WHERE arn = $1`, arn)
	if err != nil {
		return fmt.Errorf("postgres: delete trail: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}
