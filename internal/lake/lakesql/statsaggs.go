package lakesql

import (
	"database/sql/driver"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	"modernc.org/sqlite"
)

// Trino's statistical aggregates: stddev and variance (sample and
// population) and approx_percentile, as Go aggregates of the engine, and
// array_agg (funcs.go, on SQLite's json_group_array).

// momentKinds are the aggregates lake_moments(x, kind) computes.
var momentKinds = map[string]bool{
	"stddev": true, "stddev_samp": true, "stddev_pop": true,
	"variance": true, "var_samp": true, "var_pop": true,
}

// moments is lake_<kind>(x) for each of momentKinds: the mean and the
// sum of squared deviations of the non-NULL xs (Welford's running form),
// then the variance or standard deviation kind names: NULL for a sample
// statistic of fewer than two values, as Trino gives. (One function a
// kind, of one argument, so that SQLite takes DISTINCT in it.)
type moments struct {
	n        int64
	mean, m2 float64
	kind     string
}

func (m *moments) Step(_ *sqlite.FunctionContext, a []driver.Value) error {
	if a[0] == nil {
		return nil
	}
	x := asFloat(a[0])
	m.n++
	d := x - m.mean
	m.mean += d / float64(m.n)
	m.m2 += d * (x - m.mean)
	return nil
}

func (m *moments) WindowInverse(*sqlite.FunctionContext, []driver.Value) error {
	return errors.New("stddev and variance are not window functions")
}

func (m *moments) WindowValue(*sqlite.FunctionContext) (driver.Value, error) {
	pop := m.kind == "stddev_pop" || m.kind == "var_pop"
	switch {
	case m.n == 0, m.n == 1 && !pop:
		return nil, nil
	}
	div := float64(m.n - 1)
	if pop {
		div = float64(m.n)
	}
	v := m.m2 / div
	if m.kind == "stddev" || m.kind == "stddev_samp" || m.kind == "stddev_pop" {
		return math.Sqrt(v), nil
	}
	return v, nil
}

func (m *moments) Final(*sqlite.FunctionContext) {}

// maxPercentileValues bounds the values approx_percentile keeps for one
// group, so that a query cannot hold the whole store in memory.
const maxPercentileValues = 10_000_000

// percentile is lake_percentile(x, p): the value at fraction p of the
// sorted non-NULL xs, the one at index ⌊p·n⌋ (the last for p = 1), as
// Trino's t-digest answers while it holds every value; exact here where
// Trino's is an approximation within its error bound.
type percentile struct {
	ints   []int64
	floats []float64
	p      float64
	isInt  bool
	seen   bool
}

func (q *percentile) Step(_ *sqlite.FunctionContext, a []driver.Value) error {
	if a[0] == nil {
		return nil
	}
	p := asFloat(a[1])
	if a[1] == nil || p < 0 || p > 1 {
		return queryErr("Percentile must be between 0 and 1")
	}
	q.p = p
	if len(q.ints)+len(q.floats) >= maxPercentileValues {
		return queryErr("approx_percentile: more than %d values in one group; narrow the query", maxPercentileValues)
	}
	if !q.seen {
		_, q.isInt = a[0].(int64)
		q.seen = true
	}
	if n, ok := a[0].(int64); ok && q.isInt {
		q.ints = append(q.ints, n)
		return nil
	}
	if q.isInt { // a float among integers: carry on in floats
		for _, n := range q.ints {
			q.floats = append(q.floats, float64(n))
		}
		q.ints, q.isInt = nil, false
	}
	q.floats = append(q.floats, asFloat(a[0]))
	return nil
}

func (q *percentile) WindowInverse(*sqlite.FunctionContext, []driver.Value) error {
	return errors.New("approx_percentile is not a window function")
}

func (q *percentile) WindowValue(*sqlite.FunctionContext) (driver.Value, error) {
	rank := func(n int) int { return min(n-1, int(math.Floor(q.p*float64(n)))) }
	switch {
	case q.isInt && len(q.ints) > 0:
		slices.Sort(q.ints)
		return q.ints[rank(len(q.ints))], nil
	case len(q.floats) > 0:
		slices.Sort(q.floats)
		return q.floats[rank(len(q.floats))], nil
	}
	return nil, nil
}

func (q *percentile) Final(*sqlite.FunctionContext) {}

// registerStatsAggs registers lake_<kind> for momentKinds and
// lake_percentile.
func registerStatsAggs() {
	for kind := range momentKinds {
		sqlite.MustRegisterFunction("lake_"+kind, &sqlite.FunctionImpl{NArgs: 1, Deterministic: true,
			MakeAggregate: func(sqlite.FunctionContext) (sqlite.AggregateFunction, error) { return &moments{kind: kind}, nil }})
	}
	sqlite.MustRegisterFunction("lake_percentile", &sqlite.FunctionImpl{NArgs: 2, Deterministic: true,
		MakeAggregate: func(sqlite.FunctionContext) (sqlite.AggregateFunction, error) { return &percentile{}, nil }})
}

// statsAggregate compiles stddev, variance and their kinds, and
// approx_percentile(x, p); ok is false for another aggregate.
func (c *compiler) statsAggregate(x *Call, a val, s string, sc *scope) (val, bool, error) {
	out := val{agg: true}
	if !a.t.numeric() && a.t != tNull {
		if momentKinds[x.Name] || x.Name == "approx_percentile" {
			return out, true, c.errf(x.Pos, "Unexpected parameters (%s) for function %s", a.typeName(), x.Name)
		}
		return out, false, nil
	}
	switch {
	case momentKinds[x.Name]:
		distinct := ""
		if x.Distinct {
			distinct = "DISTINCT "
		}
		out.sql, out.t = "lake_"+x.Name+"("+distinct+s+")", tDouble
		return out, true, nil
	case x.Name == "approx_percentile":
		if x.Distinct {
			return out, true, c.errf(x.Pos, "DISTINCT is not supported in approx_percentile")
		}
		sc.inAgg = true
		p, err := c.expr(sc, x.Args[1])
		sc.inAgg = false
		if err != nil {
			return p, true, err
		}
		if !p.t.numeric() {
			return out, true, c.errf(x.Args[1].exprPos(), "Unexpected parameters (%s, %s) for function approx_percentile: the percentile is a double", a.typeName(), p.typeName())
		}
		if p.lit != nil {
			if f := literalFloat(p); f < 0 || f > 1 {
				return out, true, c.errf(x.Args[1].exprPos(), "Percentile must be between 0 and 1")
			}
		}
		// Trino: of any integer type a bigint, of anything else a double.
		out.sql, out.t = "lake_percentile("+s+", "+p.sql+")", tBigint
		if a.t == tDouble || a.t == tDecimal {
			out.t = tDouble
		}
		return out, true, nil
	}
	return out, false, nil
}

// arrayAgg compiles array_agg(x): the group's values (NULLs too) as an
// array, NULL for no rows, as Trino's; values of the types an array here
// holds as JSON (varchar, integers, boolean, timestamp).
func (c *compiler) arrayAgg(sc *scope, x *Call, a val, distinct, filter string) (val, error) {
	out := val{agg: true}
	var elem string
	switch a.t {
	case tVarchar, tBigint, tNull:
		elem = c.valueSQL(a)
	case tBool:
		elem = "(CASE " + a.sql + " WHEN 1 THEN json('true') WHEN 0 THEN json('false') END)"
	case tTimestamp:
		elem = c.d.goFunc("format_time", []string{a.sql})
	default:
		return out, c.errf(x.Pos, "array_agg of %s is not supported (of varchar, integers, boolean and timestamp it is)", a.typeName())
	}
	order := ""
	if len(x.OrderBy) > 0 {
		// array_agg(x ORDER BY y): SQLite orders an aggregate's input
		// the same way (3.44 on).
		var terms []string
		sc.inAgg = true
		for _, o := range x.OrderBy {
			v, err := c.expr(sc, o.Expr)
			if err != nil {
				sc.inAgg = false
				return v, err
			}
			terms = append(terms, c.valueSQL(v)+orderSuffix(o))
		}
		sc.inAgg = false
		order = " ORDER BY " + strings.Join(terms, ", ")
	}
	agg := "json_group_array(" + distinct + elem + order + ")"
	if filter != "" {
		agg += " FILTER (WHERE " + filter + ")"
	}
	et := a.t
	if et == tNull {
		et = tVarchar
	}
	out.sql = "nullif(" + agg + ", '[]')"
	out.t, out.f, out.base, out.path = tArray, &field{t: tArray, elem: et}, out.sql, "$"
	return out, nil
}

// literalFloat is the value of a number literal.
func literalFloat(v val) float64 {
	f, _ := strconv.ParseFloat(v.lit.Text, 64)
	return f
}
