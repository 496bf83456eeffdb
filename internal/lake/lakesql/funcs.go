package lakesql

import (
	"strconv"
	"strings"
)

// call compiles a function call; only the functions listed here exist.
func (c *compiler) call(sc *scope, x *Call) (val, error) {
	if x.Over != nil {
		return c.window(sc, x)
	}
	if aggregates[x.Name] {
		return c.aggregate(sc, x)
	}
	if x.Distinct || x.Star || x.Filter != nil || x.OrderBy != nil {
		return val{}, c.errf(x.Pos, "%s is not an aggregate function", x.Name)
	}
	if x.Name == "grouping" {
		return c.groupingCall(sc, x)
	}
	if x.Name == "try" {
		if len(x.Args) != 1 {
			return val{}, c.errf(x.Pos, "Unexpected parameters for function try: %d arguments", len(x.Args))
		}
		c.inTry++
		defer func() { c.inTry-- }()
		return c.expr(sc, x.Args[0])
	}
	// Time functions with a unit argument read the unit literally.
	switch x.Name {
	case "date_trunc", "date_add", "date_diff":
		return c.timeUnitCall(sc, x)
	}
	args := make([]val, len(x.Args))
	out := val{}
	for i, a := range x.Args {
		v, err := c.expr(sc, a)
		if err != nil {
			return v, err
		}
		args[i] = v
		out.bare, out.agg = out.bare || v.bare, out.agg || v.agg
	}
	nargs := func(min, max int) error {
		if len(args) < min || len(args) > max {
			return c.errf(x.Pos, "Unexpected parameters for function %s: %d arguments", x.Name, len(args))
		}
		return nil
	}
	want := func(i int, ts ...typ) error {
		if args[i].t == tNull {
			return nil
		}
		for _, t := range ts {
			// A decimal goes where a double does.
			if args[i].t == t || t == tDouble && args[i].t == tDecimal {
				return nil
			}
		}
		return c.errf(x.Args[i].exprPos(), "Unexpected parameters (%s) for function %s", args[i].typeName(), x.Name)
	}
	sqls := func() []string {
		s := make([]string, len(args))
		for i, a := range args {
			s[i] = c.valueSQL(a)
		}
		return s
	}
	d := c.d
	switch x.Name {
	case "now", "current_timestamp", "localtimestamp":
		if err := nargs(0, 0); err != nil {
			return out, err
		}
		out.sql, out.t = c.arg(c.now.UnixMilli()), tTimestamp
	case "current_date":
		if err := nargs(0, 0); err != nil {
			return out, err
		}
		out.sql, out.t = c.arg(c.now.Truncate(24*3600e9).UnixMilli()), tTimestamp
	case "element_at":
		if err := nargs(2, 2); err != nil {
			return out, err
		}
		return c.elementAt(sc, args[0], x.Args[1], x.Pos, false)
	case "cardinality":
		if err := nargs(1, 1); err != nil {
			return out, err
		}
		if err := want(0, tArray, tMap); err != nil {
			return out, err
		}
		out.sql, out.t = d.cardinality(args[0]), tBigint
	case "trim", "ltrim", "rtrim":
		// trim(s, chars) removes any of chars (SQLite's trim does too).
		if err := nargs(1, 2); err != nil {
			return out, err
		}
		for i := range args {
			if err := want(i, tVarchar); err != nil {
				return out, err
			}
		}
		out.sql, out.t = x.Name+"("+strings.Join(sqls(), ", ")+")", tVarchar
	case "lower", "upper", "reverse":
		if err := nargs(1, 1); err != nil {
			return out, err
		}
		if err := want(0, tVarchar); err != nil {
			return out, err
		}
		out.sql, out.t = d.stringFunc(x.Name, sqls()), tVarchar
	case "length":
		if err := nargs(1, 1); err != nil {
			return out, err
		}
		if err := want(0, tVarchar); err != nil {
			return out, err
		}
		out.sql, out.t = "length("+args[0].sql+")", tBigint
	case "substr", "substring":
		if err := nargs(2, 3); err != nil {
			return out, err
		}
		if err := want(0, tVarchar); err != nil {
			return out, err
		}
		for i := 1; i < len(args); i++ {
			if err := want(i, tBigint); err != nil {
				return out, err
			}
		}
		out.sql, out.t = "substr("+strings.Join(sqls(), ", ")+")", tVarchar
	case "strpos", "position":
		if err := nargs(2, 2); err != nil {
			return out, err
		}
		if err := want(0, tVarchar); err != nil {
			return out, err
		}
		if err := want(1, tVarchar); err != nil {
			return out, err
		}
		out.sql, out.t = "instr("+args[0].sql+", "+args[1].sql+")", tBigint
	case "replace":
		if err := nargs(2, 3); err != nil {
			return out, err
		}
		for i := range args {
			if err := want(i, tVarchar); err != nil {
				return out, err
			}
		}
		s := sqls()
		if len(s) == 2 {
			s = append(s, "''")
		}
		out.sql, out.t = "replace("+strings.Join(s, ", ")+")", tVarchar
	case "concat":
		if len(args) < 1 {
			return out, nargs(1, 1<<30)
		}
		for i := range args {
			if err := want(i, tVarchar); err != nil {
				return out, err
			}
		}
		out.sql, out.t = "("+strings.Join(sqls(), " || ")+")", tVarchar
	case "split_part":
		if err := nargs(3, 3); err != nil {
			return out, err
		}
		if err := want(0, tVarchar); err != nil {
			return out, err
		}
		if err := want(1, tVarchar); err != nil {
			return out, err
		}
		if err := want(2, tBigint); err != nil {
			return out, err
		}
		out.sql, out.t = d.goFunc("split_part", sqls()), tVarchar
	case "starts_with":
		if err := nargs(2, 2); err != nil {
			return out, err
		}
		if err := want(0, tVarchar); err != nil {
			return out, err
		}
		if err := want(1, tVarchar); err != nil {
			return out, err
		}
		out.sql, out.t = "(substr("+args[0].sql+", 1, length("+args[1].sql+")) = "+args[1].sql+")", tBool
	case "regexp_like":
		if err := nargs(2, 2); err != nil {
			return out, err
		}
		if err := want(0, tVarchar); err != nil {
			return out, err
		}
		if err := want(1, tVarchar); err != nil {
			return out, err
		}
		if err := c.checkRegexp(x, args[1]); err != nil {
			return out, err
		}
		out.sql, out.t = d.goFunc("regexp_like", sqls()), tBool
	case "regexp_extract":
		if err := nargs(2, 3); err != nil {
			return out, err
		}
		if err := want(0, tVarchar); err != nil {
			return out, err
		}
		if err := want(1, tVarchar); err != nil {
			return out, err
		}
		if len(args) == 3 {
			if err := want(2, tBigint); err != nil {
				return out, err
			}
		}
		if err := c.checkRegexp(x, args[1]); err != nil {
			return out, err
		}
		s := sqls()
		if len(s) == 2 {
			s = append(s, "0")
		}
		out.sql, out.t = d.goFunc("regexp_extract", s), tVarchar
	case "regexp_replace":
		if err := nargs(2, 3); err != nil {
			return out, err
		}
		for i := range args {
			if err := want(i, tVarchar); err != nil {
				return out, err
			}
		}
		if err := c.checkRegexp(x, args[1]); err != nil {
			return out, err
		}
		s := sqls()
		if len(s) == 2 {
			s = append(s, "''")
		}
		out.sql, out.t = d.goFunc("regexp_replace", s), tVarchar
	case "coalesce":
		if len(args) < 1 {
			return out, nargs(1, 1<<30)
		}
		out.t = tNull
		for i, a := range args {
			switch {
			case a.t == tNull:
			case out.t == tNull:
				out.t, out.f = a.t, a.f
			case out.t.numeric() && a.t.numeric():
			case out.t != a.t:
				return out, c.errf(x.Args[i].exprPos(), "All COALESCE operands must be the same type: %s, %s", out.typeName(), a.typeName())
			}
		}
		if out.t.numeric() {
			out.t, out.narrow = numericSuper(args...)
		}
		if out.t == tTimestamp {
			out.narrow = dateOf(args)
		}
		if len(args) == 1 {
			out.sql = c.valueSQL(args[0])
		} else {
			out.sql = "coalesce(" + strings.Join(sqls(), ", ") + ")"
		}
		if out.t == tMap || out.t == tStruct || out.t == tArray {
			out.base, out.path = out.sql, "$"
		}
	case "greatest", "least":
		// Trino: NULL when any argument is NULL, as SQLite's scalar
		// max() and min() of several arguments are.
		if err := nargs(2, 1<<30); err != nil {
			return out, err
		}
		out.t = tNull
		for i, a := range args {
			switch {
			case a.t == tMap || a.t == tStruct || a.t == tArray || a.t == tIntervalDS || a.t == tIntervalYM:
				return out, c.errf(x.Args[i].exprPos(), "Unexpected parameters (%s) for function %s", a.typeName(), x.Name)
			case a.t == tNull:
			case out.t == tNull:
				out.t = a.t
			case out.t.numeric() && a.t.numeric():
			case out.t != a.t:
				return out, c.errf(x.Args[i].exprPos(), "All %s operands must be the same type: %s, %s", x.Name, out.typeName(), a.typeName())
			}
		}
		if out.t.numeric() {
			out.t, out.narrow = numericSuper(args...)
		}
		if out.t == tTimestamp {
			out.narrow = dateOf(args)
		}
		fn := "max"
		if x.Name == "least" {
			fn = "min"
		}
		out.sql = fn + "(" + strings.Join(sqls(), ", ") + ")"
	case "nullif":
		if err := nargs(2, 2); err != nil {
			return out, err
		}
		a, b, err := c.coerce(args[0], args[1], x.Pos, "=")
		if err != nil {
			return out, err
		}
		out.sql, out.t, out.narrow = "nullif("+a.sql+", "+b.sql+")", a.t, a.narrow
	case "if":
		if err := nargs(2, 3); err != nil {
			return out, err
		}
		if err := want(0, tBool); err != nil {
			return out, err
		}
		els := "NULL"
		out.t, out.f, out.narrow = args[1].t, args[1].f, args[1].narrow
		if len(args) == 3 {
			els = c.valueSQL(args[2])
			switch a, b := args[1], args[2]; {
			case b.t == tNull:
			case a.t == tNull:
				out.t, out.f, out.narrow = b.t, b.f, b.narrow
			case a.t.numeric() && b.t.numeric():
				// Trino coerces both to the wider type.
				out.t, out.narrow = numericSuper(a, b)
			case a.t != b.t:
				return out, c.errf(x.Pos, "IF branches must be the same type: %s, %s", a.typeName(), b.typeName())
			}
		}
		out.sql = "(CASE WHEN " + args[0].sql + " THEN " + c.valueSQL(args[1]) + " ELSE " + els + " END)"
		if out.t == tMap || out.t == tStruct || out.t == tArray {
			out.base, out.path = out.sql, "$"
		}
	case "abs", "round", "floor", "ceil", "ceiling":
		if err := nargs(1, 2); err != nil {
			return out, err
		}
		if err := want(0, tBigint, tDouble); err != nil {
			return out, err
		}
		// Trino: of an integer type, the same integer type.
		out.t, out.narrow = args[0].t, args[0].narrow
		name := x.Name
		if name == "ceiling" {
			name = "ceil"
		}
		if len(args) == 2 && name != "round" {
			return out, nargs(1, 1)
		}
		if len(args) == 2 {
			if err := want(1, tBigint); err != nil {
				return out, err
			}
		}
		switch {
		case args[0].t == tDecimal:
			out.sql, out.narrow = c.decimalMath(name, args, sqls())
		case name == "abs" && args[0].t == tBigint:
			// abs(-9223372036854775808) is out of range, and so is
			// abs(-2147483648) of an integer: a clear error (NULL inside
			// try), not SQLite's.
			out.sql = d.goFunc("abs", []string{sqls()[0], c.tryFlag(), quoteSQL(intName(out.narrow))})
		case name == "round" && len(args) == 2 && args[0].t == tBigint:
			// round(n, d) of an integer: n itself for d >= 0, else n
			// rounded half away from zero to a multiple of 10^-d, in the
			// integer's own type (exact, where SQLite's round goes through
			// a double and takes a negative d as 0).
			out.sql = d.goFunc("round_int", []string{sqls()[0], sqls()[1], c.tryFlag(), quoteSQL(intName(out.narrow))})
		case name == "round" && args[0].t == tDouble:
			// Trino's rounding of a double (lake_round_double), not
			// SQLite's: ties of the scaled double go up (round(2.675e0, 2)
			// is 2.68), a negative d rounds to a multiple of 10^-d
			// (round(1234.5, -2) is 1200.0), and the sign stays.
			digits := "0"
			if len(args) == 2 {
				digits = sqls()[1]
			}
			out.sql = d.goFunc("round_double", []string{sqls()[0], digits})
		default:
			out.sql = d.mathFunc(name, sqls(), args[0].t)
		}
	case "from_iso8601_timestamp", "from_iso8601_date":
		if err := nargs(1, 1); err != nil {
			return out, err
		}
		if err := want(0, tVarchar); err != nil {
			return out, err
		}
		out.sql, out.t = d.goFunc("parse_time", sqls()), tTimestamp
	case "to_iso8601":
		if err := nargs(1, 1); err != nil {
			return out, err
		}
		if err := want(0, tTimestamp); err != nil {
			return out, err
		}
		out.sql, out.t = d.goFunc("iso8601", sqls()), tVarchar
	case "from_unixtime":
		if err := nargs(1, 1); err != nil {
			return out, err
		}
		if err := want(0, tBigint, tDouble); err != nil {
			return out, err
		}
		out.sql, out.t = "CAST(("+args[0].sql+") * 1000 AS INTEGER)", tTimestamp
	case "to_unixtime":
		if err := nargs(1, 1); err != nil {
			return out, err
		}
		if err := want(0, tTimestamp); err != nil {
			return out, err
		}
		out.sql, out.t = "("+args[0].sql+" / 1000.0)", tDouble
	case "year", "month", "day", "hour", "minute", "second", "day_of_week", "dow", "day_of_month", "day_of_year", "doy", "week", "quarter":
		if err := nargs(1, 1); err != nil {
			return out, err
		}
		if err := want(0, tTimestamp); err != nil {
			return out, err
		}
		out.sql, out.t = d.timePart(x.Name, args[0].sql), tBigint
	case "date_format", "format_datetime":
		if err := nargs(2, 2); err != nil {
			return out, err
		}
		if err := want(0, tTimestamp); err != nil {
			return out, err
		}
		if err := want(1, tVarchar); err != nil {
			return out, err
		}
		out.sql, out.t = d.goFunc(x.Name, sqls()), tVarchar
	case "date_parse":
		if err := nargs(2, 2); err != nil {
			return out, err
		}
		for i := range args {
			if err := want(i, tVarchar); err != nil {
				return out, err
			}
		}
		out.sql, out.t = d.goFunc("date_parse", sqls()), tTimestamp
	case "json_extract_scalar":
		if err := nargs(2, 2); err != nil {
			return out, err
		}
		if err := want(0, tVarchar); err != nil {
			return out, err
		}
		if err := want(1, tVarchar); err != nil {
			return out, err
		}
		if err := c.literalJSONPath(x.Args[1], args[1]); err != nil {
			return out, err
		}
		out.sql, out.t = d.goFunc("json_extract_scalar", sqls()), tVarchar
	case "map_keys":
		if err := nargs(1, 1); err != nil {
			return out, err
		}
		if err := want(0, tMap); err != nil {
			return out, err
		}
		// An array of varchar, held as JSON text like the record's arrays.
		out.base = d.goFunc("map_keys", []string{d.jsonText(args[0])})
		out.path, out.t, out.f = "$", tArray, &field{t: tArray, elem: tVarchar}
		out.sql = d.jsonText(out)
	case "contains":
		if err := nargs(2, 2); err != nil {
			return out, err
		}
		if err := want(0, tArray); err != nil {
			return out, err
		}
		// Booleans and timestamps as the arrays here hold them: JSON
		// true/false, and text as Lake writes a timestamp.
		x := args[1].sql
		switch args[1].t {
		case tBool:
			x = "(CASE " + x + " WHEN 1 THEN 'true' WHEN 0 THEN 'false' END)"
		case tTimestamp:
			x = d.goFunc("format_time", []string{x})
		}
		out.sql, out.t = d.goFunc("array_contains", []string{d.jsonText(args[0]), x}), tBool
	default:
		if v, ok, err := c.mathCall(x, args, out); ok {
			return v, err
		}
		if v, ok, err := c.moreCall(x, args, out); ok {
			return v, err
		}
		if v, ok, err := c.stringCall(x, args, out); ok {
			return v, err
		}
		return out, c.errf(x.Pos, "Function '%s' not registered", x.Name)
	}
	return out, nil
}

func (c *compiler) checkRegexp(x *Call, p val) error {
	if p.lit == nil {
		return nil
	}
	if _, err := compileRegexp(p.lit.Text); err != nil {
		return c.errf(p.lit.Pos, "Invalid regular expression %q: %v", p.lit.Text, err)
	}
	return nil
}

// aggregate compiles an aggregate call.
func (c *compiler) aggregate(sc *scope, x *Call) (val, error) {
	if sc.noAgg != "" {
		return val{}, c.errf(x.Pos, "%s clause cannot contain aggregations", sc.noAgg)
	}
	if sc.inAgg {
		return val{}, c.errf(x.Pos, "Cannot nest aggregations inside aggregation '%s'", x.Name)
	}
	if w := c.rollupWeight(sc); w != "" && (x.Name == "count_if" || x.Name == "count" && !x.Distinct) {
		return c.weightedCount(sc, x, w)
	}
	out := val{agg: true}
	// FILTER (WHERE cond) hands the aggregate NULL for the rows cond does
	// not hold for; every aggregate here skips NULLs.
	only := func(s string) string { return s }
	filter := ""
	if x.Filter != nil {
		sc.inAgg = true
		f, err := c.boolExpr(sc, x.Filter, "FILTER")
		sc.inAgg = false
		if err != nil {
			return f, err
		}
		filter = f.sql
		only = func(s string) string { return "(CASE WHEN " + f.sql + " THEN " + s + " END)" }
	}
	if x.Star || x.Name == "count" && len(x.Args) == 0 {
		if x.Name != "count" {
			return out, c.errf(x.Pos, "%s(*) is not supported", x.Name)
		}
		out.sql, out.t = "count(*)", tBigint
		if x.Filter != nil {
			out.sql = "count(" + only("1") + ")"
		}
		return out, nil
	}
	if x.Name == "max_by" || x.Name == "min_by" {
		return c.maxBy(sc, x, only)
	}
	nargs := 1
	if x.Name == "approx_percentile" {
		nargs = 2
	}
	if len(x.Args) != nargs {
		return out, c.errf(x.Pos, "Unexpected parameters for function %s: %d arguments", x.Name, len(x.Args))
	}
	sc.inAgg = true
	a, err := c.expr(sc, x.Args[0])
	sc.inAgg = false
	if err != nil {
		return a, err
	}
	s := only(c.valueSQL(a))
	if v, ok, err := c.statsAggregate(x, a, s, sc); ok {
		return v, err
	}
	distinct := ""
	if x.Distinct {
		distinct = "DISTINCT "
	}
	if x.OrderBy != nil && x.Name != "array_agg" {
		// The order matters only to array_agg here; elsewhere it would be
		// read and do nothing.
		return out, c.errf(x.OrderBy[0].Expr.exprPos(), "ORDER BY in %s is not supported (in array_agg it is)", x.Name)
	}
	switch x.Name {
	case "array_agg":
		return c.arrayAgg(sc, x, a, distinct, filter)
	case "count":
		out.sql, out.t = "count("+distinct+s+")", tBigint
	case "approx_distinct":
		out.sql, out.t = "count(DISTINCT "+s+")", tBigint
	case "count_if":
		if a.t != tBool && a.t != tNull {
			return out, c.errf(x.Pos, "count_if needs a boolean (actual: %s)", a.typeName())
		}
		out.sql, out.t = "count(CASE WHEN "+s+" THEN 1 END)", tBigint
	case "bool_or", "bool_and":
		if a.t != tBool && a.t != tNull {
			return out, c.errf(x.Pos, "%s needs a boolean (actual: %s)", x.Name, a.typeName())
		}
		fn := "max"
		if x.Name == "bool_and" {
			fn = "min"
		}
		out.sql, out.t = fn+"("+s+")", tBool
	case "min", "max", "arbitrary", "any_value":
		if a.t == tMap || a.t == tStruct || a.t == tArray {
			return out, c.errf(x.Pos, "%s is not defined on %s", x.Name, a.t)
		}
		fn := x.Name
		if fn == "arbitrary" || fn == "any_value" {
			fn = "min"
		}
		out.sql, out.t, out.narrow = fn+"("+distinct+s+")", a.t, a.narrow
	case "sum":
		if !a.t.numeric() && a.t != tNull {
			return out, c.errf(x.Pos, "Unexpected parameters (%s) for function sum", a.typeName())
		}
		out.sql, out.t = "sum("+distinct+s+")", a.t
		switch a.t {
		case tNull:
			out.t = tBigint
		case tDecimal:
			// Trino: the sum of decimal(p, s) is decimal(38, s).
			d := decimalOf(maxDecimalPrecision, decOf(a).s)
			out.sql, out.narrow = "round("+out.sql+", "+strconv.Itoa(d.s)+")", d.String()
		}
	case "avg":
		if !a.t.numeric() && a.t != tNull {
			return out, c.errf(x.Pos, "Unexpected parameters (%s) for function avg", a.typeName())
		}
		out.sql, out.t = "avg("+distinct+s+")", tDouble
		if a.t == tDecimal {
			// Trino: the average of decimal(p, s) is decimal(p, s),
			// rounded half up.
			out.sql, out.t, out.narrow = c.d.goFunc("dround", []string{out.sql, strconv.Itoa(decOf(a).s)}), tDecimal, a.narrow
		}
	}
	return out, nil
}

// maxBy compiles max_by(x, y) and min_by(x, y): x of the row with the
// greatest (least) y, rows whose y is NULL skipped.
func (c *compiler) maxBy(sc *scope, x *Call, only func(string) string) (val, error) {
	out := val{agg: true}
	if len(x.Args) != 2 || x.Distinct {
		return out, c.errf(x.Pos, "Unexpected parameters for function %s: %d arguments", x.Name, len(x.Args))
	}
	sc.inAgg = true
	defer func() { sc.inAgg = false }()
	v, err := c.expr(sc, x.Args[0])
	if err != nil {
		return v, err
	}
	k, err := c.expr(sc, x.Args[1])
	if err != nil {
		return k, err
	}
	for _, a := range []val{v, k} {
		if a.t == tMap || a.t == tStruct || a.t == tArray {
			return out, c.errf(x.Pos, "%s is not defined on %s", x.Name, a.t)
		}
	}
	sign := "1"
	if x.Name == "min_by" {
		sign = "-1"
	}
	out.sql, out.t, out.narrow = c.d.goFunc("max_by", []string{c.valueSQL(v), only(c.valueSQL(k)), sign}), v.t, v.narrow
	if v.t == tNull {
		out.t = tVarchar
	}
	return out, nil
}

// timeUnitCall compiles date_trunc(unit, ts), date_add(unit, n, ts) and
// date_diff(unit, ts1, ts2).
func (c *compiler) timeUnitCall(sc *scope, x *Call) (val, error) {
	want := map[string]int{"date_trunc": 2, "date_add": 3, "date_diff": 3}[x.Name]
	if len(x.Args) != want {
		return val{}, c.errf(x.Pos, "Unexpected parameters for function %s: %d arguments", x.Name, len(x.Args))
	}
	ul, ok := x.Args[0].(*Literal)
	if !ok || ul.Kind != litString {
		return val{}, c.errf(x.Args[0].exprPos(), "%s: the unit must be a string literal", x.Name)
	}
	unit := strings.ToLower(ul.Text)
	_, fixed := unitMillis[unit]
	_, months := monthUnits[unit]
	if !fixed && !months {
		return val{}, c.errf(ul.Pos, "'%s' is not a valid Timestamp field", ul.Text)
	}
	args := make([]val, len(x.Args)-1)
	out := val{}
	for i, a := range x.Args[1:] {
		v, err := c.expr(sc, a)
		if err != nil {
			return v, err
		}
		if v.t == tVarchar && v.lit != nil && (x.Name != "date_add" || i == 1) {
			if v, err = c.litTime(v); err != nil {
				return v, err
			}
		}
		args[i] = v
		out.bare, out.agg = out.bare || v.bare, out.agg || v.agg
	}
	bad := func(i int, t typ) error {
		if args[i].t != t && args[i].t != tNull {
			return c.errf(x.Args[i+1].exprPos(), "Unexpected parameters (%s) for function %s", args[i].typeName(), x.Name)
		}
		return nil
	}
	switch x.Name {
	case "date_trunc":
		if err := bad(0, tTimestamp); err != nil {
			return out, err
		}
		if unit == "millisecond" {
			out.sql = args[0].sql
		} else {
			out.sql = c.d.truncTime(unit, args[0].sql)
		}
		out.t = tTimestamp
	case "date_add":
		if err := bad(0, tBigint); err != nil {
			return out, err
		}
		if err := bad(1, tTimestamp); err != nil {
			return out, err
		}
		if months {
			out.sql = c.d.addMonths(args[1].sql, "("+args[0].sql+" * "+itoa(monthUnits[unit])+")", c.tryFlag())
		} else {
			out.sql = c.timeAdd(args[1].sql, args[0].sql, "1", unit)
		}
		out.t = tTimestamp
	case "date_diff":
		if err := bad(0, tTimestamp); err != nil {
			return out, err
		}
		if err := bad(1, tTimestamp); err != nil {
			return out, err
		}
		if months {
			out.sql = "(" + c.d.goFunc("month_diff", []string{args[0].sql, args[1].sql}) + " / " + itoa(monthUnits[unit]) + ")"
		} else {
			out.sql = "((" + args[1].sql + " - " + args[0].sql + ") / " + itoa(unitMillis[unit]) + ")"
		}
		out.t = tBigint
	}
	return out, nil
}
