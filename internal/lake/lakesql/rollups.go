package lakesql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Hourly rollups: for each store and hour of eventTime, how many events
// there are and the bytes of their records, per combination of some of the
// hot columns Lake queries group and filter on that have few values
// (eventName, eventSource, awsRegion, recipientAccountId). They are kept
// exact, in the transaction that writes the events (Insert, DeleteBefore,
// DropStore), so that an aggregate over those dimensions and eventTime
// bounds reads one row per hour and combination instead of every event
// (see rollup.go).
//
// There are three levels, each a table keyed (store, its dimensions,
// hour):
//   - lake_hours: no dimension — what a query bounded in eventTime scans
//     (DescribeQuery's statistics);
//   - lake_rollups_names: eventName and eventSource (eventSource is all
//     but a function of eventName, so this stays small however many
//     accounts and regions a store has): a GROUP BY eventName, the
//     commonest Lake aggregate;
//   - lake_rollups: all four.
//
// A query reads the smallest level that has the dimensions it reads. The
// key is (store, hour, dimensions): a store filling live adds to the rows
// of its last hour or two, at the end of each table, so that a fill
// dirties few pages (keyed by the dimensions first, every batch rewrote a
// page per combination); a query reads the hours of its bounds in key
// order and sorts them by its dimensions (at 10M events over 30 days,
// lake_rollups_names holds ~86k rows).
//
// A dimension holds what the lake_events column holds (TEXT affinity, as
// there), except that NULL is stored as the empty BLOB x” — a value no
// lake_events column holds — so that the key is unique and an upsert finds
// the row of a NULL dimension.
type rollupLevel struct {
	table string
	dims  []string
}

var rollupLevels = []rollupLevel{
	{"lake_hours", nil},
	{"lake_rollups_names", []string{"event_name", "event_source"}},
	{"lake_rollups", rollupDims},
}

// levelFor is the smallest level holding every one of dims.
func levelFor(dims []string) rollupLevel {
	for _, l := range rollupLevels {
		ok := true
		for _, d := range dims {
			ok = ok && strings.Contains(","+strings.Join(l.dims, ",")+",", ","+d+",")
		}
		if ok {
			return l
		}
	}
	return rollupLevels[len(rollupLevels)-1]
}

// key is the level's key columns after store: its dimensions, then hour.
func (l rollupLevel) key() []string { return append([]string{"hour"}, l.dims...) }

// schema is the level's CREATE statements.
func (l rollupLevel) schema() string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + l.table + " (\n\tstore INTEGER NOT NULL,\n")
	for _, d := range l.dims {
		b.WriteString("\t" + d + " TEXT NOT NULL,\n")
	}
	b.WriteString("\thour INTEGER NOT NULL, -- floor(eventTime in ms / 3,600,000)\n\tn INTEGER NOT NULL,\n\tbytes INTEGER NOT NULL,\n")
	b.WriteString("\tPRIMARY KEY (store, " + strings.Join(l.key(), ", ") + ")\n) WITHOUT ROWID;\n")
	return b.String()
}

// fromEvents is an INSERT … SELECT of the level's rows (store bound as ?1,
// or taken from the rows when store is "store") for the lake_events rows
// of from (a table or subquery with t, size and the dimensions), which
// follows it, then where.
func (l rollupLevel) selectEvents(store, from, where string) string {
	cols := []string{store + " AS store"}
	for _, k := range l.key() {
		if k == "hour" {
			cols = append(cols, hourOf("t")+" AS hour")
		} else {
			cols = append(cols, "coalesce("+k+", x'') AS "+k)
		}
	}
	cols = append(cols, "count(*) AS n", "sum(size) AS bytes")
	var groups []string
	for i := range l.key() {
		groups = append(groups, fmt.Sprint(i+2))
	}
	if store == "store" {
		groups = append([]string{"1"}, groups...)
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + from + " WHERE " + where + " GROUP BY " + strings.Join(groups, ", ")
}

// insertInto is the INSERT of the level's columns.
func (l rollupLevel) insertInto() string {
	return "INSERT INTO " + l.table + "(store, " + strings.Join(l.key(), ", ") + ", n, bytes) "
}

// hourMillis is the rollups' grain.
const hourMillis = 3600000

// hourOf is the SQL of floor(ms / hour) for an integer ms (negative
// included: SQLite's % and / truncate toward zero).
func hourOf(ms string) string {
	return "((" + ms + " - ((" + ms + " % 3600000) + 3600000) % 3600000) / 3600000)"
}

// rollupNew adds to the rollups of store num the n events Insert has just
// added in transaction tx. It is Insert's one call into the rollups: the
// rows a transaction adds to lake_events are the n with the highest ids
// (an INTEGER PRIMARY KEY without AUTOINCREMENT is the largest id plus one,
// and the lake has one writer), so it reads them back, once, from the end
// of the table, where they are still in the page cache, sums them per
// hour and combination of every dimension into a temporary table, and adds
// that to each level.
func rollupNew(ctx context.Context, tx *sql.Tx, num, n int64) error {
	if n <= 0 {
		return nil
	}
	full := rollupLevels[len(rollupLevels)-1]
	cols := "store, " + strings.Join(full.key(), ", ")
	steps := []string{
		`CREATE TEMP TABLE IF NOT EXISTS lake_rollup_batch(` + cols + `, n, bytes)`,
		`DELETE FROM temp.lake_rollup_batch`,
		`INSERT INTO temp.lake_rollup_batch(` + cols + `, n, bytes) ` + full.selectEvents("?1",
			"(SELECT t, size, "+strings.Join(full.dims, ", ")+" FROM lake_events ORDER BY id DESC LIMIT ?2)", "true"),
	}
	for _, l := range rollupLevels {
		key := "store, " + strings.Join(l.key(), ", ")
		steps = append(steps, l.insertInto()+"SELECT "+key+", sum(n), sum(bytes) FROM temp.lake_rollup_batch WHERE true GROUP BY "+key+
			" ON CONFLICT("+key+") DO UPDATE SET n = n + excluded.n, bytes = bytes + excluded.bytes")
	}
	for _, q := range steps {
		var args []any
		if strings.Contains(q, "?1") {
			args = []any{num, n}
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("lakesql: roll up events: %w", err)
		}
	}
	return nil
}

// rollupDeleteBefore takes out of store num's rollups the events before
// cut (ms), before DeleteBefore removes them: the hours wholly before cut
// go; the hour cut falls in loses the events of it before cut.
func rollupDeleteBefore(ctx context.Context, tx *sql.Tx, num, cut int64) error {
	cutHour := floorDiv(cut, hourMillis)
	for _, l := range rollupLevels {
		var on []string
		for _, k := range append([]string{"store"}, l.key()...) {
			on = append(on, "r."+k+" = d."+k)
		}
		for _, q := range []string{
			`DELETE FROM ` + l.table + ` WHERE store = ?1 AND hour < ?2`,
			`UPDATE ` + l.table + ` AS r SET n = r.n - d.n, bytes = r.bytes - d.bytes FROM (` +
				l.selectEvents("?1", "lake_events INDEXED BY lake_events_t", "store = ?1 AND t >= ?3 AND t < ?4") + `) AS d WHERE ` +
				strings.Join(on, " AND "),
			`DELETE FROM ` + l.table + ` WHERE store = ?1 AND hour = ?2 AND n <= 0`,
		} {
			if _, err := tx.ExecContext(ctx, q, num, cutHour, cutHour*hourMillis, cut); err != nil {
				return fmt.Errorf("lakesql: roll up deletions: %w", err)
			}
		}
	}
	return nil
}

// rollupDrop removes a store's rollups.
func rollupDrop(ctx context.Context, tx *sql.Tx, num int64) error {
	for _, l := range rollupLevels {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+l.table+` WHERE store = ?`, num); err != nil {
			return fmt.Errorf("lakesql: drop rollups: %w", err)
		}
	}
	return nil
}

// createRollups makes the rollup tables when the database lacks any (a
// new database, or one made before them) or holds them keyed otherwise,
// building them all from the events already there.
func createRollups(ctx context.Context, w *sql.DB) error {
	// A level is there when its table is, keyed as now (hour second).
	have := 0
	for _, l := range rollupLevels {
		var pk int
		err := w.QueryRowContext(ctx, `SELECT pk FROM pragma_table_info(?) WHERE name = 'hour'`, l.table).Scan(&pk)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("lakesql: rollups: %w", err)
		}
		if pk == 2 {
			have++
		}
	}
	if have == len(rollupLevels) {
		return nil
	}
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("lakesql: rollups: %w", err)
	}
	defer tx.Rollback()
	// The full level from the events, the others from it.
	full := rollupLevels[len(rollupLevels)-1]
	for i := len(rollupLevels) - 1; i >= 0; i-- {
		l := rollupLevels[i]
		if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+l.table+`; `+l.schema()); err != nil {
			return fmt.Errorf("lakesql: create rollups: %w", err)
		}
		q := l.insertInto() + l.selectEvents("store", "lake_events", "true")
		if l.table != full.table {
			cols := "store, " + strings.Join(l.key(), ", ")
			q = l.insertInto() + "SELECT " + cols + ", sum(n), sum(bytes) FROM " + full.table + " GROUP BY " + cols
		}
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("lakesql: build rollups: %w", err)
		}
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
