package lakesql

import (
	"context"
	"database/sql"
	"fmt"
)

// Hourly rollups: lake_rollups holds, per store, hour of eventTime and
// combination of the rolled-up dimensions (eventName, eventSource,
// awsRegion, recipientAccountId — the hot columns Lake queries group and
// filter on that have few values), how many events there are and the
// bytes of their records. They are kept exact, in the transaction that
// writes the events (Insert, DeleteBefore, DropStore), so that an
// aggregate over those dimensions and eventTime bounds reads one row per
// hour and combination instead of every event (see rollup.go).
//
// A dimension holds what the lake_events column holds (TEXT affinity, as
// there), except that NULL is stored as the empty BLOB x” — a value no
// lake_events column holds — so that the key is unique and an upsert
// finds the row of a NULL dimension.
//
// lake_hours holds the same per store and hour only: how many events, and
// bytes, a query bounded in eventTime scans (DescribeQuery's statistics).
//
// The key leads with the dimensions, eventName first, and ends with the
// hour: a GROUP BY eventName (the commonest Lake aggregate) then reads the
// rollups in its own order and sorts nothing; lake_rollups_hour serves
// retention's deletes.
const rollupSchemaSQL = `
CREATE TABLE IF NOT EXISTS lake_rollups (
	store INTEGER NOT NULL,
	event_name TEXT NOT NULL,
	event_source TEXT NOT NULL,
	aws_region TEXT NOT NULL,
	account TEXT NOT NULL,
	hour INTEGER NOT NULL, -- floor(eventTime in ms / 3,600,000)
	n INTEGER NOT NULL,
	bytes INTEGER NOT NULL,
	PRIMARY KEY (store, event_name, event_source, aws_region, account, hour)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS lake_rollups_hour ON lake_rollups(store, hour);
CREATE TABLE IF NOT EXISTS lake_hours (
	store INTEGER NOT NULL,
	hour INTEGER NOT NULL,
	n INTEGER NOT NULL,
	bytes INTEGER NOT NULL,
	PRIMARY KEY (store, hour)
) WITHOUT ROWID;
`

// hourMillis is the rollups' grain.
const hourMillis = 3600000

// hourOf is the SQL of floor(ms / hour) for an integer ms (negative
// included: SQLite's % and / truncate toward zero).
func hourOf(ms string) string {
	return "((" + ms + " - ((" + ms + " % 3600000) + 3600000) % 3600000) / 3600000)"
}

// rollupSelectSQL aggregates the lake_events rows chosen by the FROM and
// WHERE text that follows it into rollup rows (store bound as ?1).
var rollupSelectSQL = `SELECT ?1 AS store, ` + hourOf("t") + ` AS hour, coalesce(event_name, x'') AS event_name,
	coalesce(event_source, x'') AS event_source, coalesce(aws_region, x'') AS aws_region, coalesce(account, x'') AS account,
	count(*) AS n, sum(size) AS bytes`

const rollupGroupSQL = ` GROUP BY 2, 3, 4, 5, 6`

// rollupAddSQL adds the rows of a rollup SELECT to lake_rollups.
const rollupAddSQL = `INSERT INTO lake_rollups(store, hour, event_name, event_source, aws_region, account, n, bytes) `

const rollupUpsertSQL = ` ON CONFLICT(store, event_name, event_source, aws_region, account, hour)
	DO UPDATE SET n = n + excluded.n, bytes = bytes + excluded.bytes`

// rollupNew adds to the rollups of store num the n events Insert has just
// added in transaction tx. It is Insert's one call into the rollups: the
// rows a transaction adds to lake_events are the n with the highest ids
// (an INTEGER PRIMARY KEY without AUTOINCREMENT is the largest id plus one,
// and the lake has one writer), so it reads them back from the end of the
// table, where they are still in the page cache.
func rollupNew(ctx context.Context, tx *sql.Tx, num, n int64) error {
	if n <= 0 {
		return nil
	}
	q := rollupAddSQL + rollupSelectSQL +
		` FROM (SELECT t, size, event_name, event_source, aws_region, account FROM lake_events ORDER BY id DESC LIMIT ?2) WHERE true` +
		rollupGroupSQL + rollupUpsertSQL
	if _, err := tx.ExecContext(ctx, q, num, n); err != nil {
		return fmt.Errorf("lakesql: roll up events: %w", err)
	}
	q = `INSERT INTO lake_hours(store, hour, n, bytes) SELECT ?1, ` + hourOf("t") + `, count(*), sum(size)
		FROM (SELECT t, size FROM lake_events ORDER BY id DESC LIMIT ?2) WHERE true GROUP BY 2
		ON CONFLICT(store, hour) DO UPDATE SET n = n + excluded.n, bytes = bytes + excluded.bytes`
	if _, err := tx.ExecContext(ctx, q, num, n); err != nil {
		return fmt.Errorf("lakesql: roll up events: %w", err)
	}
	return nil
}

// rollupDeleteBefore takes out of store num's rollups the events before
// cut (ms), before DeleteBefore removes them: the hours wholly before cut
// go; the hour cut falls in loses the events of it before cut.
func rollupDeleteBefore(ctx context.Context, tx *sql.Tx, num, cut int64) error {
	cutHour := floorDiv(cut, hourMillis)
	if _, err := tx.ExecContext(ctx, `DELETE FROM lake_rollups WHERE store = ? AND hour < ?`, num, cutHour); err != nil {
		return fmt.Errorf("lakesql: roll up deletions: %w", err)
	}
	q := `UPDATE lake_rollups AS r SET n = r.n - d.n, bytes = r.bytes - d.bytes FROM (` + rollupSelectSQL +
		` FROM lake_events INDEXED BY lake_events_t WHERE store = ?1 AND t >= ?2 AND t < ?3` + rollupGroupSQL + `) AS d
		WHERE r.store = d.store AND r.hour = d.hour AND r.event_name = d.event_name AND r.event_source = d.event_source
		AND r.aws_region = d.aws_region AND r.account = d.account`
	if _, err := tx.ExecContext(ctx, q, num, cutHour*hourMillis, cut); err != nil {
		return fmt.Errorf("lakesql: roll up deletions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM lake_rollups WHERE store = ? AND hour = ? AND n <= 0`, num, cutHour); err != nil {
		return fmt.Errorf("lakesql: roll up deletions: %w", err)
	}
	for _, q := range []string{
		`DELETE FROM lake_hours WHERE store = ?1 AND hour < ?2`,
		`UPDATE lake_hours SET n = n - (SELECT count(*) FROM lake_events INDEXED BY lake_events_t WHERE store = ?1 AND t >= ?3 AND t < ?4),
			bytes = bytes - (SELECT coalesce(sum(size), 0) FROM lake_events INDEXED BY lake_events_t WHERE store = ?1 AND t >= ?3 AND t < ?4)
			WHERE store = ?1 AND hour = ?2`,
		`DELETE FROM lake_hours WHERE store = ?1 AND hour = ?2 AND n <= 0`,
	} {
		if _, err := tx.ExecContext(ctx, q, num, cutHour, cutHour*hourMillis, cut); err != nil {
			return fmt.Errorf("lakesql: roll up deletions: %w", err)
		}
	}
	return nil
}

// rollupDrop removes a store's rollups.
func rollupDrop(ctx context.Context, tx *sql.Tx, num int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM lake_rollups WHERE store = ?`, num); err != nil {
		return fmt.Errorf("lakesql: drop rollups: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM lake_hours WHERE store = ?`, num); err != nil {
		return fmt.Errorf("lakesql: drop rollups: %w", err)
	}
	return nil
}

// createRollups makes lake_rollups and lake_hours when the database lacks
// either (a new database, or one made before them), building them from the
// events already there.
func createRollups(ctx context.Context, w *sql.DB) error {
	var have int
	if err := w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('lake_rollups', 'lake_hours')`).Scan(&have); err != nil {
		return fmt.Errorf("lakesql: rollups: %w", err)
	}
	if have == 2 {
		return nil
	}
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("lakesql: rollups: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS lake_rollups; DROP TABLE IF EXISTS lake_hours;`+rollupSchemaSQL); err != nil {
		return fmt.Errorf("lakesql: create rollups: %w", err)
	}
	q := rollupAddSQL + `SELECT store, hour, event_name, event_source, aws_region, account, count(*), sum(size) FROM (SELECT store, ` +
		hourOf("t") + ` AS hour, coalesce(event_name, x'') AS event_name, coalesce(event_source, x'') AS event_source,
		coalesce(aws_region, x'') AS aws_region, coalesce(account, x'') AS account, size FROM lake_events)
		GROUP BY store, hour, event_name, event_source, aws_region, account`
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("lakesql: build rollups: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO lake_hours(store, hour, n, bytes) SELECT store, hour, sum(n), sum(bytes)
		FROM lake_rollups GROUP BY store, hour`); err != nil {
		return fmt.Errorf("lakesql: build rollups: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("lakesql: build rollups: %w", err)
	}
	return nil
}

// floorDiv is floor(a / b) for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
