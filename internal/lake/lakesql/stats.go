package lakesql

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// A query's statistics, as DescribeQuery reports them, are counted per
// SELECT that reads an event data store (a subquery's and a CTE's
// included, each once):
//
//   - EventsScanned and BytesScanned: the events of each store the SELECT
//     reads whose eventTime is within the SELECT's eventTime bounds (its
//     top-level WHERE conjuncts that compare eventTime with constants),
//     and the bytes of their records — what a scan by time reads, as Lake
//     partitions by time; a SELECT without such bounds, or a join of
//     stores, scans its stores whole (an UNNEST is no such join: it adds
//     rows of its store, not a store). Read from lake_hours and the events of the hours
//     the bounds cut.
//   - EventsMatched: the events the SELECT's FROM and WHERE select (for a
//     join, the joined rows WHERE keeps), before GROUP BY, HAVING and
//     LIMIT. For the statement's own SELECT when it aggregates without
//     HAVING (nor a LIMIT 0 or OFFSET, which may leave no row to carry
//     it) it is counted in the same pass (a window sum of the groups'
//     counts); when it neither aggregates nor is DISTINCT nor LIMITed, it
//     is its rows; otherwise a count(*) over the same FROM and WHERE —
//     from the rollups when they answer it — runs after the statement.

// statQuery is one query Run runs after the statement for its statistics.
type statQuery struct {
	sql string
	// scanned: it gives (events, bytes) scanned; else one column, events
	// matched.
	scanned bool
	// ifTruncated: a count of matched events needed only when the
	// statement's rows were cut at MaxRows (otherwise its rows are the
	// count).
	ifTruncated bool
}

// noteStats adds the statistics queries of SELECT s, which is about to be
// compiled, and notes how its matched events are counted.
func (c *compiler) noteStats(s *Select) error {
	if c.inStats || c.repeatDepth > 0 {
		return nil
	}
	var stores []string
	for _, t := range append([]TableRef{s.From}, joinRefs(s.Joins)...) {
		if t.Sub == nil && c.lookupCTE(t.Store) == nil {
			if _, ok := c.stores[t.Store]; ok {
				stores = append(stores, t.Store)
			}
		}
	}
	if len(stores) == 0 {
		return nil
	}
	c.inStats = true
	defer func() { c.inStats = false }()
	var bounds []timeBound
	if onlyUnnests(s.Joins) {
		for _, x := range conjuncts(s.Where) {
			if !isTimeBound(x) {
				continue
			}
			bs, ok := c.timeBounds(x)
			if !ok {
				bounds = nil
				break
			}
			bounds = append(bounds, bs...)
		}
	}
	for _, name := range stores {
		c.stats = append(c.stats, statQuery{sql: scannedSQL(c.arg(c.stores[name]), bounds), scanned: true})
	}
	top := s == c.top && s.Union == nil
	agg := len(s.GroupBy) > 0 || s.Having != nil || c.itemsAggregate(s)
	// The matched events ride in the statement's own rows only while a
	// row is left: a LIMIT 0 or an OFFSET may leave none.
	cut := s.Limit != nil && *s.Limit == 0 || s.Offset != nil && *s.Offset > 0
	if top && agg && s.Having == nil && !cut {
		// Counted in the statement's own pass; the store's alias is the
		// next one (see rollupSelect).
		c.matchedAlias = "s" + strconv.Itoa(c.nAlias+1)
		return nil
	}
	plain := top && !agg && !s.Distinct && s.Limit == nil && s.Offset == nil
	c.matchedRows = c.matchedRows || plain
	count := &Select{Pos: s.Pos, From: s.From, Joins: s.Joins, Where: s.Where,
		Items: []SelectItem{{Pos: s.Pos, Expr: &Call{Pos: s.Pos, Name: "count", Star: true}}}}
	sq, _, err := c.selectCore(count) // through the rollups when they answer it
	if err != nil {
		return err
	}
	c.stats = append(c.stats, statQuery{sql: sq, ifTruncated: plain})
	return nil
}

// onlyUnnests reports whether js joins no source but UNNESTs, none with
// a column named eventTime: an UNNEST adds rows of the store it follows,
// not a store, so that store's eventTime bounds still cut its scan.
func onlyUnnests(js []Join) bool {
	for _, j := range js {
		if j.Right.Unnest == nil {
			return false
		}
		for _, col := range j.Right.Cols {
			if strings.EqualFold(col, "eventTime") {
				return false
			}
		}
	}
	return true
}

func joinRefs(js []Join) []TableRef {
	out := make([]TableRef, len(js))
	for i, j := range js {
		out[i] = j.Right
	}
	return out
}

// scannedSQL counts the events, and their bytes, of store idArg within
// bounds.
func scannedSQL(idArg string, bounds []timeBound) string {
	if len(bounds) == 0 {
		return "SELECT coalesce((SELECT events FROM lake_stores WHERE num = " + idArg + "), 0), " +
			"coalesce((SELECT bytes FROM lake_stores WHERE num = " + idArg + "), 0)"
	}
	var cs []string
	for _, b := range bounds {
		cs = append(cs, "h.t "+b.op+" "+b.sql)
	}
	return "SELECT coalesce(sum(h.w), 0), coalesce(sum(h.b), 0) FROM " + hourRows(idArg, bounds, rollupLevels[0], nil, true) +
		" AS h WHERE " + strings.Join(cs, " AND ")
}

// withMatchedColumn puts first in the statement's SQL a column holding the
// events its FROM and WHERE matched: the sum, over the groups, of their
// counts (the same in every row).
func (c *compiler) withMatchedColumn(sq string) string {
	count := "count(*)"
	if c.rollup[c.matchedAlias] != nil {
		count = "coalesce(sum(" + c.matchedAlias + ".w), 0)"
	}
	col := "sum(" + count + ") OVER () AS matched, "
	if rest, ok := strings.CutPrefix(sq, "SELECT DISTINCT "); ok {
		return "SELECT DISTINCT " + col + rest
	}
	return "SELECT " + col + strings.TrimPrefix(sq, "SELECT ")
}

// runStats runs the statistics queries of cq into s; truncated says the
// statement's rows were cut at MaxRows, rows is how many it gave.
func runStats(ctx context.Context, tx *sql.Tx, cq *compiled, s *Stats, rows int64, truncated bool) error {
	if cq.matchedRows && !truncated {
		s.EventsMatched += rows
	}
	for _, q := range cq.stats {
		if q.ifTruncated && !truncated {
			continue
		}
		var n, b int64
		dst := []any{&n}
		if q.scanned {
			dst = append(dst, &b)
		}
		if err := tx.QueryRowContext(ctx, q.sql, cq.args...).Scan(dst...); err != nil {
			return runErr(ctx, err)
		}
		if q.scanned {
			s.EventsScanned += n
			s.BytesScanned += b
		} else {
			s.EventsMatched += n
		}
	}
	return nil
}
