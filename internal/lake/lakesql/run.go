package lakesql

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// RunOptions says what a Run may read and how much it may return.
type RunOptions struct {
	// Stores maps each name from Stores() to the internal store ID to read
	// (the caller has checked the caller may read it). A name missing here
	// fails the Run with *UnknownStoreError.
	Stores map[string]string
	// MaxRows caps the result rows (0 = DefaultMaxRows); more set
	// Result.Truncated.
	MaxRows int
	// Now is the time now() and current_timestamp stand for (zero = the
	// time Run starts).
	Now time.Time
}

// DefaultMaxRows is the cap on result rows when RunOptions.MaxRows is 0.
const DefaultMaxRows = 100000

// Result is a query's answer.
type Result struct {
	Columns []string
	// Rows holds the values as CloudTrail Lake's GetQueryResults gives them:
	// text, nil for SQL NULL, timestamps as "2006-01-02 15:04:05.000",
	// booleans as "true"/"false", numbers in decimal.
	Rows  [][]*string
	Stats Stats
	// Truncated is set when the query had more rows than MaxRows.
	Truncated bool
}

// Stats are a query's statistics, as DescribeQuery reports them (what
// each counts: stats.go).
type Stats struct {
	// EventsMatched is the events the query's FROM and WHERE select.
	EventsMatched int64
	// EventsScanned and BytesScanned are the events within the query's
	// eventTime bounds in the stores it reads, and their records' bytes.
	EventsScanned, BytesScanned int64
	ExecutionTime               time.Duration
}

// QueryError is Run's error for a query that fails while it runs for a
// reason that is the query's own (a cast of a value that is not a number,
// an invalid regular expression built at run time): the API answers it
// with InvalidQueryStatementException, as it does *SyntaxError.
type QueryError struct{ Msg string }

func (e *QueryError) Error() string { return e.Msg }

// Run executes st. It checks the statement against Lake's schema first:
// an unknown column or function or a type error is a *SyntaxError; a store
// not in o.Stores is an *UnknownStoreError; a failure of the query's own
// making while it runs is a *QueryError. It honours ctx: when ctx is
// cancelled or times out the engine is interrupted and Run returns an error
// wrapping ctx.Err().
func (db *DB) Run(ctx context.Context, st *Statement, o RunOptions) (*Result, error) {
	start := time.Now()
	now := o.Now
	if now.IsZero() {
		now = start
	}
	nums := make(map[string]int64, len(o.Stores))
	for name, id := range o.Stores {
		n, err := storeNum(ctx, db.r, id, false)
		if err != nil {
			return nil, runErr(ctx, err)
		}
		nums[name] = n // -1 for a store never filled: it reads no rows
	}
	cq, err := compileOpts(st, sqliteDialect{}, nums, now.UTC(), !db.noRollups)
	if err != nil {
		return nil, err
	}
	maxRows := o.MaxRows
	if maxRows <= 0 {
		maxRows = DefaultMaxRows
	}
	res := &Result{Columns: make([]string, len(cq.cols))}
	for i, c := range cq.cols {
		res.Columns[i] = c.name
	}
	// One read transaction: the statistics count the events the statement
	// saw.
	conn, err := db.readConn(ctx)
	if err != nil {
		return nil, runErr(ctx, err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, runErr(ctx, err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, cq.sql, cq.args...)
	if err != nil {
		return nil, runErr(ctx, err)
	}
	defer rows.Close()
	// With cq.matchedCol, the first column is the events matched.
	skip := 0
	if cq.matchedCol {
		skip = 1
	}
	vals := make([]any, skip+len(cq.cols))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		n++
		if len(res.Rows) >= maxRows {
			res.Truncated = true
			break
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, runErr(ctx, err)
		}
		if skip == 1 && n == 1 {
			m, _ := vals[0].(int64)
			res.Stats.EventsMatched += m
		}
		row := make([]*string, len(cq.cols))
		for i, v := range vals[skip:] {
			row[i] = formatValue(v, cq.cols[i])
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, runErr(ctx, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lakesql: query stopped: %w", err)
	}
	rows.Close()
	if err := runStats(ctx, tx, cq, &res.Stats, n, res.Truncated); err != nil {
		return nil, runErr(ctx, err)
	}
	res.Stats.ExecutionTime = time.Since(start)
	return res, nil
}

// Check compiles st against Lake's schema and the stores of o without
// reading any event: it returns what Run would refuse the statement with
// before running it (a *SyntaxError, an *UnknownStoreError), or nil.
func (db *DB) Check(st *Statement, o RunOptions) error {
	nums := make(map[string]int64, len(o.Stores))
	for name := range o.Stores {
		nums[name] = -1 // compiling needs the names only
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	_, err := compile(st, sqliteDialect{}, nums, now.UTC())
	return err
}

// sqliteCode is the " (N)" SQLite's driver puts after a message.
var sqliteCode = regexp.MustCompile(` \(\d+\)$`)

// runErr classifies an engine error: the context's, the query's own (an
// error raised by one of the package's functions), or the engine's.
func runErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("lakesql: query stopped: %w", errors.Join(cerr, err))
	}
	msg := err.Error()
	if strings.Contains(msg, "string or blob too big") {
		return &QueryError{Msg: fmt.Sprintf("A value the query computes is over the limit of %d MiB: build shorter strings, or aggregate fewer values into one.", MaxValueBytes>>20)}
	}
	for _, marker := range []string{overflowMarker, queryErrMarker} {
		if i := strings.Index(msg, marker+": "); i >= 0 {
			return &QueryError{Msg: sqliteCode.ReplaceAllString(msg[i+len(marker)+2:], "")}
		}
	}
	if i := strings.Index(msg, valueTooBigPrefix); i >= 0 {
		return &QueryError{Msg: sqliteCode.ReplaceAllString(msg[i:], "")}
	}
	for _, marker := range []string{"cannot cast", "pattern has", "index must be", "escape string", "error parsing regexp", "Division by zero", "bigint overflow"} {
		if i := strings.Index(msg, marker); i >= 0 {
			// The driver ends the message with SQLite's result code, " (1)":
			// noise to the user.
			return &QueryError{Msg: sqliteCode.ReplaceAllString(msg[i:], "")}
		}
	}
	for _, m := range engineLimits {
		if strings.Contains(msg, m.sqlite) {
			return &QueryError{Msg: m.msg}
		}
	}
	return &EngineError{Err: err}
}

// engineLimits are SQLite's errors a query can cause, with what the user
// is told instead (never SQLite's wording or its table and function names).
var engineLimits = []struct{ sqlite, msg string }{
	// sum() of bigints: the checked operators cover +, - and *.
	{"integer overflow", "bigint addition overflow: a sum is out of the range of bigint (-9223372036854775808 to 9223372036854775807); CAST the values to double to add them approximately."},
	{"Expression tree is too large", "The statement is too complex: its expressions are nested too deeply. Write it with fewer nested operators."},
	{"parser stack overflow", "The statement is too complex: its expressions are nested too deeply. Write it with fewer nested operators."},
	{"too many terms in compound SELECT", "The statement combines too many SELECTs with UNION, EXCEPT or INTERSECT."},
	{"too many columns", "The query has too many columns."},
	{"tables in a join", "The query joins too many tables."},
	{"LIKE or GLOB pattern too complex", "A LIKE pattern is too complex: use fewer wildcards."},
	{"argument of ntile must be a positive integer", "Buckets must be greater than 0 (ntile)."},
	{"must be a non-negative integer", "Offset must be at least 0 (lag, lead)."},
	{"database or disk is full", "The query ran out of temporary disk space: narrow it (a time range, fewer columns, a LIMIT)."},
	{"out of memory", "The query ran out of memory: narrow it (a time range, fewer columns, a LIMIT)."},
}

// EngineError is Run's error for a failure of the engine that is not the
// query's own making: its message says so without the engine's own text
// (which names Cairn's internal tables and functions); Err, for the
// server's log, has the details.
type EngineError struct{ Err error }

func (e *EngineError) Error() string {
	return "The query failed in Cairn's query engine (an internal error, logged by the server)."
}

func (e *EngineError) Unwrap() error { return e.Err }
