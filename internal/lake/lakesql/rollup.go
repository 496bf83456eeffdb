package lakesql

import (
	"slices"
	"strconv"
	"strings"
)

// Answering aggregates from the hourly rollups (see rollups.go).
//
// A SELECT over one store (no join, no subquery) that aggregates or is
// DISTINCT, and reads only the rolled-up dimensions (eventName,
// eventSource, awsRegion, recipientAccountId) and eventTime — eventTime
// only in top-level WHERE conjuncts that compare it with constants
// (<, <=, >, >=, =, BETWEEN) — reads, instead of the store's rows, a table
// of the same columns plus a weight w:
//   - one row per rollup row of each whole hour, an hour all of whose
//     instants satisfy the eventTime conjuncts, with t the hour's start
//     (which satisfies them too) and w its count of events;
//   - the events themselves, w = 1, of the (at most two) hours the bounds
//     cut: the hour of the greatest lower bound and that of the least
//     upper bound, less their events in whole hours.
//
// The query's own WHERE, GROUP BY, HAVING and ORDER BY then run unchanged
// over that table, and the aggregates that count rows count weights:
// count(*), count(x) and count_if(x) sum w. Every other aggregate allowed
// here (count(DISTINCT), approx_distinct, min, max, arbitrary, bool_or,
// bool_and) does not depend on how many times a row occurs, and runs
// unchanged (max_by and min_by do, in their choice among ties). The answer is exact: each event counts once,
// in its hour's rollup or as itself. Anything else (sum, avg, another
// column, eventTime in the select list, GROUP BY or an OR) runs as before.

// rollupDims are the hot columns the rollups keep.
var rollupDims = []string{"event_name", "event_source", "aws_region", "account"}

// rollupAggs are the aggregates a rollup plan can answer.
var rollupAggs = map[string]bool{
	"count": true, "count_if": true, "approx_distinct": true, "min": true, "max": true, "arbitrary": true,
	"any_value": true, "bool_or": true, "bool_and": true,
}

// timeBound is one comparison of eventTime with a constant, as SQL: t op
// sql, op one of >, >=, <, <=.
type timeBound struct{ op, sql string }

// rollupPlan is how one SELECT reads its store through the rollups.
type rollupPlan struct {
	bounds []timeBound
	dims   []string // the rolled-up columns the query reads, in rollupDims' order
}

// rollupSelect compiles s through the rollups when it can; ok is false
// when s is not one the rollups answer (then the compiler's state is as
// before the call).
func (c *compiler) rollupSelect(s *Select) (sq string, cols []outCol, ok bool) {
	conjs, ok := c.rollupCandidate(s)
	if !ok {
		return "", nil, false
	}
	savedArgs := len(c.args)
	restore := func() {
		c.args = c.args[:savedArgs]
		c.argIdx = map[string]int{}
		for i, v := range c.args {
			key := argKey(v)
			if _, dup := c.argIdx[key]; !dup {
				c.argIdx[key] = i + 1
			}
		}
	}
	plan := &rollupPlan{}
	for _, x := range conjs {
		bs, ok := c.timeBounds(x)
		if !ok {
			restore()
			return "", nil, false
		}
		plan.bounds = append(plan.bounds, bs...)
	}
	// The store's source is the first alias selectCore takes (its FROM is
	// a store: tableRef names it before anything else).
	alias := "s" + strconv.Itoa(c.nAlias+1)
	c.rollup[alias] = plan
	sq, cols, err := c.selectCoreRows(s)
	if err != nil || !strings.Contains(sq, storeMark+alias+":") || c.recUsed[alias] ||
		!onlyHot(c.hotUsed[alias], append(rollupDims, "t")...) {
		// Not one for the rollups (an error is the query's own: the plain
		// compile finds it again).
		delete(c.rollup, alias)
		restore()
		return "", nil, false
	}
	for _, d := range rollupDims {
		if c.hotUsed[alias][d] {
			plan.dims = append(plan.dims, d)
		}
	}
	return sq, cols, true
}

// rollupCandidate checks what can be seen of s before compiling it: one
// store, an aggregation or DISTINCT, no subquery, only the aggregates the
// rollups answer, eventTime only in top-level WHERE conjuncts that compare
// it with constants (returned).
func (c *compiler) rollupCandidate(s *Select) ([]Expr, bool) {
	if len(s.Joins) > 0 || s.From.Sub != nil || s.From.Store == "" || c.lookupCTE(s.From.Store) != nil {
		return nil, false
	}
	if _, ok := c.stores[s.From.Store]; !ok {
		return nil, false
	}
	if !s.Distinct && len(s.GroupBy) == 0 && s.Having == nil && !c.itemsAggregate(s) {
		return nil, false
	}
	var exprs []Expr
	for _, it := range s.Items {
		if it.Star {
			return nil, false
		}
		exprs = append(exprs, it.Expr)
	}
	exprs = append(exprs, s.GroupBy...)
	exprs = append(exprs, s.Having)
	for _, o := range s.OrderBy {
		exprs = append(exprs, o.Expr)
	}
	var conjs []Expr
	for _, x := range conjuncts(s.Where) {
		if isTimeBound(x) {
			conjs = append(conjs, x)
		} else {
			exprs = append(exprs, x)
		}
	}
	ok := true
	var visit func(e Expr)
	visit = func(e Expr) {
		switch x := e.(type) {
		case nil:
			return
		case *SubqueryExpr:
			ok = false
		case *In:
			ok = ok && x.Sub == nil
		case *Ident:
			ok = ok && !isEventTime(x)
		case *Call:
			ok = ok && x.Over == nil && (!aggregates[x.Name] || rollupAggs[x.Name])
		}
		eachChild(e, visit)
	}
	for _, e := range exprs {
		visit(e)
	}
	return conjs, ok
}

// conjuncts splits e at its top-level ANDs.
func conjuncts(e Expr) []Expr {
	if b, ok := e.(*Binary); ok && b.Op == "AND" {
		return append(conjuncts(b.L), conjuncts(b.R)...)
	}
	if e == nil {
		return nil
	}
	return []Expr{e}
}

// isEventTime reports whether id names eventTime (alone or after a table
// alias: a select over one store has no other eventTime; an output alias
// named so makes the query one the rollups leave alone).
func isEventTime(id *Ident) bool {
	return len(id.Parts) <= 2 && strings.EqualFold(id.Parts[len(id.Parts)-1], "eventTime")
}

// isTimeBound reports whether x is eventTime compared with a constant.
func isTimeBound(x Expr) bool {
	switch b := x.(type) {
	case *Binary:
		switch b.Op {
		case "<", "<=", ">", ">=", "=":
			l, lok := b.L.(*Ident)
			r, rok := b.R.(*Ident)
			return lok && isEventTime(l) && constant(b.R) || rok && isEventTime(r) && constant(b.L)
		}
	case *Between:
		id, ok := b.X.(*Ident)
		return ok && !b.Not && isEventTime(id) && constant(b.Lo) && constant(b.Hi)
	}
	return false
}

// constant reports whether e reads no column, no subquery and no
// aggregate: its value is the same for every row.
func constant(e Expr) bool {
	ok := true
	var visit func(e Expr)
	visit = func(e Expr) {
		switch x := e.(type) {
		case nil:
			return
		case *Ident, *SubqueryExpr:
			ok = false
		case *In:
			ok = ok && x.Sub == nil
		case *Call:
			ok = ok && !aggregates[x.Name] && x.Filter == nil
		}
		eachChild(e, visit)
	}
	visit(e)
	return ok
}

// flip is the comparison op with its operands swapped.
var flip = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}

// timeBounds compiles a conjunct isTimeBound accepted into bounds on t.
func (c *compiler) timeBounds(x Expr) ([]timeBound, bool) {
	bound := func(e Expr, op string) (string, bool) {
		v, err := c.expr(&scope{}, e)
		if err != nil {
			return "", false
		}
		_, v, err = c.coerce(val{t: tTimestamp}, v, e.exprPos(), op)
		if err != nil || v.t != tTimestamp {
			return "", false
		}
		return v.sql, true
	}
	var out []timeBound
	add := func(op string, e Expr) bool {
		s, ok := bound(e, op)
		if !ok {
			return false
		}
		if op == "=" {
			out = append(out, timeBound{">=", s}, timeBound{"<=", s})
		} else {
			out = append(out, timeBound{op, s})
		}
		return true
	}
	switch b := x.(type) {
	case *Binary:
		if id, ok := b.L.(*Ident); ok && isEventTime(id) {
			return out, add(b.Op, b.R)
		}
		return out, add(flip[b.Op], b.L)
	case *Between:
		return out, add(">=", b.Lo) && add("<=", b.Hi)
	}
	return nil, false
}

// rollupWeight is the SQL of the weight column when sc's rows come from
// the rollups, else "".
func (c *compiler) rollupWeight(sc *scope) string {
	if len(sc.sources) == 1 && c.rollup[sc.sources[0].sqlAlias] != nil {
		return sc.sources[0].sqlAlias + ".w"
	}
	return ""
}

// weightedCount compiles count(*), count(x) and count_if(x) (with their
// FILTER) over rows that stand for w events each.
func (c *compiler) weightedCount(sc *scope, x *Call, w string) (val, error) {
	var conds []string
	if x.Filter != nil {
		sc.inAgg = true
		f, err := c.boolExpr(sc, x.Filter, "FILTER")
		sc.inAgg = false
		if err != nil {
			return f, err
		}
		conds = append(conds, f.sql)
	}
	if !x.Star && len(x.Args) > 0 {
		if len(x.Args) != 1 {
			return val{}, c.errf(x.Pos, "Unexpected parameters for function %s: %d arguments", x.Name, len(x.Args))
		}
		sc.inAgg = true
		a, err := c.expr(sc, x.Args[0])
		sc.inAgg = false
		if err != nil {
			return a, err
		}
		if x.Name == "count_if" {
			if a.t != tBool && a.t != tNull {
				return a, c.errf(x.Pos, "count_if needs a boolean (actual: %s)", a.t)
			}
			conds = append(conds, a.sql)
		} else {
			conds = append(conds, "("+c.valueSQL(a)+" IS NOT NULL)")
		}
	} else if x.Name != "count" {
		return val{}, c.errf(x.Pos, "%s(*) is not supported", x.Name)
	}
	sum := "sum(" + w + ")"
	if len(conds) > 0 {
		sum = "sum(CASE WHEN " + strings.Join(conds, " AND ") + " THEN " + w + " END)"
	}
	return val{sql: "coalesce(" + sum + ", 0)", t: tBigint, agg: true}, nil
}

// rollupTable is the rows of store idArg for a rollup plan: the whole
// hours' rollups and the events of the hours the bounds cut.
func (sqliteDialect) rollupTable(idArg string, p *rollupPlan) string {
	return hourRows(idArg, p.bounds, levelFor(p.dims), p.dims, false)
}

// hourRows is the SQL of rows standing for the events of store idArg
// within bounds: the rows of rollup level l for the whole hours, summed
// per combination of dims (some of l's, in its order), with t the start of
// one of those hours and w their count of events, and the events of the
// hours the bounds cut, w = 1; with bytes, b is the bytes of their
// records.
func hourRows(idArg string, bounds []timeBound, l rollupLevel, dims []string, bytes bool) string {
	at := func(x string) string { // the eventTime conjuncts, at t = x
		var cs []string
		for _, b := range bounds {
			cs = append(cs, x+" "+b.op+" "+b.sql)
		}
		return strings.Join(cs, " AND ")
	}
	whole := func(h string) string { // every instant of hour h satisfies them
		if len(bounds) == 0 {
			return "1"
		}
		return "(" + at("("+h+" * 3600000)") + " AND " + at("("+h+" * 3600000 + 3599999)") + ")"
	}
	var lows, highs []string
	for _, b := range bounds {
		if b.op[0] == '>' {
			lows = append(lows, b.sql)
		} else {
			highs = append(highs, b.sql)
		}
	}
	// The greatest lower and least upper bound, and the start of the hour
	// each falls in (floored first: a bound may be a double).
	extreme := func(fn string, xs []string) string {
		if len(xs) == 1 {
			return xs[0]
		}
		return fn + "(" + strings.Join(xs, ", ") + ")"
	}
	hourStart := func(x string) string {
		fl := "(CAST(" + x + " AS INTEGER) - (" + x + " < CAST(" + x + " AS INTEGER)))"
		return "(" + hourOf(fl) + " * 3600000)"
	}
	// The rollups of the whole hours, summed per combination of the
	// dimensions the query reads, t the start of one of those hours.
	var outs, groups []string
	for _, d := range dims {
		outs = append(outs, "nullif("+d+", x'') AS "+d)
		groups = append(groups, d)
	}
	var b strings.Builder
	b.WriteString("(SELECT ")
	for _, o := range outs {
		b.WriteString(o + ", ")
	}
	b.WriteString("min(hour) * 3600000 AS t, sum(n) AS w")
	if bytes {
		b.WriteString(", sum(bytes) AS b")
	}
	b.WriteString(" FROM " + l.table + " WHERE store = " + idArg)
	// +hour on a level with dimensions, so that its key, not its hour
	// index, is the way in; lake_hours' key is (store, hour).
	hour := "hour"
	var cuts []string
	if len(lows) > 0 {
		lo := hourStart(extreme("max", lows))
		b.WriteString(" AND " + hour + " >= " + lo + " / 3600000")
		cuts = append(cuts, lo)
	}
	if len(highs) > 0 {
		hi := hourStart(extreme("min", highs))
		b.WriteString(" AND " + hour + " <= " + hi + " / 3600000")
		cuts = append(cuts, hi)
	}
	b.WriteString(" AND " + whole("hour"))
	if len(groups) > 0 {
		b.WriteString(" GROUP BY " + strings.Join(groups, ", "))
	}
	b.WriteString(" HAVING count(*) > 0")
	cols := append(slices.Clone(dims), "t", "1 AS w")
	if bytes {
		cols = append(cols, "size AS b")
	}
	rawCols := "SELECT " + strings.Join(cols, ", ") +
		" FROM lake_events INDEXED BY lake_events_t WHERE store = " + idArg
	for i, h := range cuts {
		b.WriteString(" UNION ALL " + rawCols + " AND t >= " + h + " AND t < " + h + " + 3600000")
		if i == 1 {
			// The same hour twice: its events once.
			b.WriteString(" AND " + cuts[0] + " <> " + h)
		}
		b.WriteString(" AND NOT " + whole(hourOf("t")))
	}
	b.WriteString(")")
	return b.String()
}
