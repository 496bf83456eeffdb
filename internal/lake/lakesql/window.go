package lakesql

import (
	"strconv"
	"strings"
)

// Window functions: f(…) OVER ([PARTITION BY …] [ORDER BY …]), with the
// ranking functions (row_number, rank, dense_rank, percent_rank,
// cume_dist, ntile), the value functions (lag, lead, first_value,
// last_value) and the aggregates count, sum, avg, min and max, over the
// default frame (Trino's and SQLite's: from the partition's start to the
// current row and its peers). SQLite runs them as written; frames
// (ROWS/RANGE/GROUPS), DISTINCT and FILTER in a window are refused.

// Window is the OVER (…) of a window function call.
type Window struct {
	Pos         int
	PartitionBy []Expr
	OrderBy     []OrderItem
}

// windowFuncs are the functions that exist only over a window, and the
// type of their value (tNull: the type of their first argument).
var windowFuncs = map[string]typ{
	"row_number": tBigint, "rank": tBigint, "dense_rank": tBigint, "ntile": tBigint,
	"percent_rank": tDouble, "cume_dist": tDouble,
	"lag": tNull, "lead": tNull, "first_value": tNull, "last_value": tNull,
}

// windowAggregates are the aggregates that may run over a window.
var windowAggregates = map[string]bool{"count": true, "sum": true, "avg": true, "min": true, "max": true}

// parseFilterOver reads an optional FILTER (WHERE …) and OVER (…) after a
// call's arguments.
func (p *parser) parseFilterOver(c *Call) error {
	if err := p.parseFilter(c); err != nil {
		return err
	}
	if !p.isKw("OVER") || !(p.peek(1).kind == tokOp && p.peek(1).text == "(") {
		if _, ok := windowFuncs[c.Name]; ok {
			return errAt(p.src, c.Pos, "Window function %s requires an OVER clause", c.Name)
		}
		return nil
	}
	w := &Window{Pos: p.next().pos}
	p.next() // (
	var err error
	if w.PartitionBy, err = p.parseByList("PARTITION"); err != nil {
		return err
	}
	if w.OrderBy, err = p.parseOrderBy(); err != nil {
		return err
	}
	if p.isKw("ROWS") || p.isKw("RANGE") || p.isKw("GROUPS") {
		return p.errHere("Window frames (%s …) are not supported: a window runs from the partition's start to the current row", strings.ToUpper(p.tok().text))
	}
	if err := p.expectOp(")"); err != nil {
		return err
	}
	c.Over = w
	return nil
}

// window compiles a window function call.
func (c *compiler) window(sc *scope, x *Call) (val, error) {
	if sc.noAgg != "" {
		return val{}, c.errf(x.Pos, "%s clause cannot contain window functions", sc.noAgg)
	}
	if sc.inAgg {
		return val{}, c.errf(x.Pos, "Cannot nest window functions inside aggregation")
	}
	if x.Filter != nil || x.Distinct {
		return val{}, c.errf(x.Pos, "DISTINCT and FILTER are not supported in window functions")
	}
	out := val{}
	roundTo := -1 // the scale a decimal result is rounded back to
	add := func(v val) {
		out.bare, out.agg = out.bare || v.bare, out.agg || v.agg
	}
	var args []string
	var argVals []val
	for _, a := range x.Args {
		v, err := c.expr(sc, a)
		if err != nil {
			return v, err
		}
		add(v)
		argVals = append(argVals, v)
		args = append(args, c.valueSQL(v))
	}
	nargs := func(lo, hi int) error {
		if len(x.Args) < lo || len(x.Args) > hi || x.Star && lo > 0 {
			return c.errf(x.Pos, "Unexpected parameters for function %s: %d arguments", x.Name, len(x.Args))
		}
		return nil
	}
	var fn string
	switch t, isWin := windowFuncs[x.Name]; {
	case isWin && (x.Name == "ntile"):
		if err := nargs(1, 1); err != nil {
			return out, err
		}
		if argVals[0].t != tBigint || argVals[0].lit == nil || literalInt(argVals[0]) < 1 {
			return out, c.errf(x.Args[0].exprPos(), "Buckets must be greater than 0: ntile needs a positive integer literal")
		}
		fn, out.t = "ntile("+args[0]+")", tBigint
	case isWin && t != tNull:
		if err := nargs(0, 0); err != nil {
			return out, err
		}
		fn, out.t = x.Name+"()", t
	case isWin: // lag, lead, first_value, last_value
		hi := 1
		if x.Name == "lag" || x.Name == "lead" {
			hi = 3
		}
		if err := nargs(1, hi); err != nil {
			return out, err
		}
		if len(argVals) > 1 && (argVals[1].t != tBigint || argVals[1].lit == nil) {
			return out, c.errf(x.Args[1].exprPos(), "the offset of %s must be an integer literal", x.Name)
		}
		if len(argVals) > 1 && literalInt(argVals[1]) < 0 {
			return out, c.errf(x.Args[1].exprPos(), "Offset must be at least 0 (%s)", x.Name)
		}
		if len(argVals) > 2 && argVals[2].t != argVals[0].t && argVals[2].t != tNull {
			return out, c.errf(x.Args[2].exprPos(), "the default of %s must be of its value's type (%s), not %s", x.Name, argVals[0].typeName(), argVals[2].typeName())
		}
		if v := argVals[0]; v.t == tMap || v.t == tStruct || v.t == tArray {
			return out, c.errf(x.Args[0].exprPos(), "Unexpected parameters (%s) for function %s: read a field of it first", v.typeName(), x.Name)
		}
		fn, out.t, out.narrow = x.Name+"("+strings.Join(args, ", ")+")", argVals[0].t, argVals[0].narrow
	case windowAggregates[x.Name]:
		var err error
		if fn, out.t, err = c.windowAggregate(x, args, argVals); err != nil {
			return out, err
		}
		var a val
		if len(argVals) > 0 {
			a = argVals[0]
		}
		switch {
		case x.Name == "min" || x.Name == "max":
			// Of an integer type, the same type; sum is a bigint.
			out.narrow = a.narrow
		case a.t == tDecimal && x.Name == "sum":
			roundTo, out.narrow = decOf(a).s, decimalOf(maxDecimalPrecision, decOf(a).s).String()
		case a.t == tDecimal && x.Name == "avg":
			roundTo, out.t, out.narrow = decOf(a).s, tDecimal, a.narrow
		}
	case aggregates[x.Name]:
		return out, c.errf(x.Pos, "%s is not supported as a window function (count, sum, avg, min and max are)", x.Name)
	default:
		return out, c.errf(x.Pos, "Function '%s' is not a window function", x.Name)
	}
	var over []string
	if len(x.Over.PartitionBy) > 0 {
		var terms []string
		for _, p := range x.Over.PartitionBy {
			v, err := c.expr(sc, p)
			if err != nil {
				return v, err
			}
			add(v)
			terms = append(terms, c.valueSQL(v))
		}
		over = append(over, "PARTITION BY "+strings.Join(terms, ", "))
	}
	if len(x.Over.OrderBy) > 0 {
		var terms []string
		for _, o := range x.Over.OrderBy {
			v, err := c.expr(sc, o.Expr)
			if err != nil {
				return v, err
			}
			add(v)
			terms = append(terms, c.valueSQL(v)+orderSuffix(o))
		}
		over = append(over, "ORDER BY "+strings.Join(terms, ", "))
	}
	out.sql = "(" + fn + " OVER (" + strings.Join(over, " ") + "))"
	if roundTo >= 0 {
		// A decimal's sum and average, back to their scale, half up.
		out.sql = c.d.goFunc("dround", []string{out.sql, strconv.Itoa(roundTo)})
	}
	return out, nil
}

// windowAggregate is an aggregate's SQL and type over a window.
func (c *compiler) windowAggregate(x *Call, args []string, vals []val) (string, typ, error) {
	if x.Star || x.Name == "count" && len(args) == 0 {
		if x.Name != "count" {
			return "", 0, c.errf(x.Pos, "%s(*) is not supported", x.Name)
		}
		return "count(*)", tBigint, nil
	}
	if len(args) != 1 {
		return "", 0, c.errf(x.Pos, "Unexpected parameters for function %s: %d arguments", x.Name, len(args))
	}
	a := vals[0]
	switch x.Name {
	case "count":
		return "count(" + args[0] + ")", tBigint, nil
	case "sum", "avg":
		if !a.t.numeric() && a.t != tNull {
			return "", 0, c.errf(x.Pos, "Unexpected parameters (%s) for function %s", a.typeName(), x.Name)
		}
		if x.Name == "avg" {
			return "avg(" + args[0] + ")", tDouble, nil
		}
		t := a.t
		if t == tNull {
			t = tBigint
		}
		return "sum(" + args[0] + ")", t, nil
	default: // min, max
		if a.t == tMap || a.t == tStruct || a.t == tArray {
			return "", 0, c.errf(x.Pos, "Unexpected parameters (%s) for function %s", a.typeName(), x.Name)
		}
		return x.Name + "(" + args[0] + ")", a.t, nil
	}
}

// orderSuffix is the direction of a window's ORDER BY term, NULLs last
// unless told otherwise (as Trino sorts).
func orderSuffix(o OrderItem) string {
	dir := " ASC"
	if o.Desc {
		dir = " DESC"
	}
	if o.NullsFirst != nil && *o.NullsFirst {
		return dir + " NULLS FIRST"
	}
	return dir + " NULLS LAST"
}

// literalInt is the value of an integer literal (a bigint val whose lit
// is set; the parser folds a minus sign into it).
func literalInt(v val) int64 {
	n, _ := strconv.ParseInt(v.lit.Text, 10, 64)
	return n
}
