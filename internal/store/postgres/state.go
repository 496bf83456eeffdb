package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-audit/cairn/internal/store"
)

// GetState implements store.Store.
func (s *Store) GetState(ctx context.Context, key string) (store.StateDoc, error) {
	d := store.StateDoc{Key: key}
	err := s.pool.QueryRow(ctx, `SELECT doc, version FROM state WHERE key = $1`, key).Scan(&d.Doc, &d.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, store.ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("postgres: get state: %w", err)
	}
	return d, nil
}

// PutState implements store.Store.
func (s *Store) PutState(ctx context.Context, key string, doc []byte, expect int64) (int64, error) {
	if expect == 0 {
		tag, err := s.pool.Exec(ctx, `INSERT INTO state(key, doc, version) VALUES ($1, $2, 1) ON CONFLICT (key) DO NOTHING`, key, doc)
		if err != nil {
			return 0, fmt.Errorf("postgres: put state: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return 0, store.ErrExists
		}
		return 1, nil
	}
	tag, err := s.pool.Exec(ctx, `UPDATE state SET doc = $1, version = version + 1 WHERE key = $2 AND version = $3`, doc, key, expect)
	if err != nil {
		return 0, fmt.Errorf("postgres: put state: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return expect + 1, nil
	}
	if _, err := s.GetState(ctx, key); errors.Is(err, store.ErrNotFound) {
		return 0, store.ErrNotFound
	} else if err != nil {
		return 0, err
	}
	return 0, store.ErrConflict
}

// ListState implements store.Store. Keys compare bytewise (COLLATE "C").
func (s *Store) ListState(ctx context.Context, prefix string) ([]store.StateDoc, error) {
	// Keys in [prefix, prefix+U+10FFFF) start with prefix.
	rows, err := s.pool.Query(ctx, `SELECT key, doc, version FROM state WHERE key >= $1 AND key < $2 ORDER BY key`,
		prefix, prefix+"\U0010FFFF")
	if err != nil {
		return nil, fmt.Errorf("postgres: list state: %w", err)
	}
	docs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.StateDoc, error) {
		var d store.StateDoc
		err := row.Scan(&d.Key, &d.Doc, &d.Version)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list state: %w", err)
	}
	out := docs[:0]
	for _, d := range docs {
		if strings.HasPrefix(d.Key, prefix) {
			out = append(out, d)
		}
	}
	return out, nil
}

// DeleteState implements store.Store.
func (s *Store) DeleteState(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM state WHERE key = $1`, key); err != nil {
		return fmt.Errorf("postgres: delete state: %w", err)
	}
	return nil
}
