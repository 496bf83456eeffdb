package lakesql

import (
	"math"
	"strconv"
	"strings"
)

// aggregates are the aggregate functions Lake queries may call.
var aggregates = map[string]bool{
	"count": true, "approx_distinct": true, "min": true, "max": true, "sum": true, "avg": true,
	"count_if": true, "bool_or": true, "bool_and": true, "arbitrary": true, "any_value": true,
	"max_by": true, "min_by": true, "array_agg": true, "approx_percentile": true,
	"stddev": true, "stddev_samp": true, "stddev_pop": true, "variance": true, "var_samp": true, "var_pop": true,
}

// expr compiles an expression in scope sc.
func (c *compiler) expr(sc *scope, e Expr) (val, error) {
	if len(sc.nullSQL) > 0 && slicesContainsExpr(sc.groupSet, e) {
		// A key of this grouping set is read whole, even when it holds
		// an expression the set leaves out.
		sc.noNull++
		defer func() { sc.noNull-- }()
	}
	v, err := c.expr1(sc, e)
	if err != nil {
		return v, err
	}
	v.pos = e.exprPos()
	if len(v.sql) > MaxCompiledSQL {
		return v, c.tooLong(v.pos)
	}
	return c.nullGrouped(sc, c.grouped(sc, v)), nil
}

func (c *compiler) expr1(sc *scope, e Expr) (val, error) {
	switch x := e.(type) {
	case *Ident:
		return c.ident(sc, x)
	case *Literal:
		return c.literal(x)
	case *Interval:
		return c.interval(x)
	case *Unary:
		return c.unary(sc, x)
	case *Binary:
		return c.binary(sc, x)
	case *Like:
		return c.like(sc, x)
	case *In:
		return c.in(sc, x)
	case *Between:
		return c.between(sc, x)
	case *IsNull:
		v, err := c.expr(sc, x.X)
		if err != nil {
			return v, err
		}
		s := c.valueSQL(v)
		op := " IS NULL"
		if x.Not {
			op = " IS NOT NULL"
		}
		return val{sql: "(" + s + op + ")", t: tBool, bare: v.bare, agg: v.agg}, nil
	case *Call:
		return c.call(sc, x)
	case *Case:
		return c.caseExpr(sc, x)
	case *Cast:
		return c.cast(sc, x)
	case *Subscript:
		return c.subscript(sc, x)
	case *Field:
		v, err := c.expr(sc, x.X)
		if err != nil {
			return v, err
		}
		return c.member(v, x.Name, x.Pos)
	case *ArrayLit:
		return c.arrayLit(sc, x)
	case *SubqueryExpr:
		sq, cols, err := c.query(x.Sel)
		if err != nil {
			return val{}, err
		}
		if x.Exists {
			return val{sql: "EXISTS (" + sq + ")", t: tBool}, nil
		}
		if len(cols) != 1 {
			return val{}, c.errf(x.Pos, "Multiple columns returned by subquery are not yet supported")
		}
		return val{sql: "(" + sq + ")", t: cols[0].t, narrow: cols[0].narrow, f: cols[0].f}, nil
	}
	return val{}, c.errf(e.exprPos(), "unsupported expression")
}

// valueSQL is v as one SQL value (JSON text for maps, structs, arrays).
func (c *compiler) valueSQL(v val) string {
	if v.t == tMap || v.t == tStruct || v.t == tArray {
		return c.d.jsonText(v)
	}
	return v.sql
}

func (c *compiler) literal(x *Literal) (val, error) {
	switch x.Kind {
	case litString:
		return val{sql: c.arg(x.Text), t: tVarchar, lit: x}, nil
	case litNumber:
		if !strings.ContainsAny(x.Text, ".eE") {
			n, err := strconv.ParseInt(x.Text, 10, 64)
			if err != nil {
				return val{}, c.errf(x.Pos, "Invalid numeric literal: %s", x.Text)
			}
			return val{sql: c.arg(n), t: tBigint, lit: x, narrow: literalIntType(x.Text)}, nil
		}
		f, err := strconv.ParseFloat(x.Text, 64)
		if err != nil {
			return val{}, c.errf(x.Pos, "Invalid numeric literal: %s", x.Text)
		}
		if strings.ContainsAny(x.Text, "eE") {
			return val{sql: c.arg(f), t: tDouble, lit: x}, nil
		}
		// 2.5 is a decimal literal, decimal(2,1).
		if decLiteralDigits(x.Text) > maxDecimalPrecision {
			return val{}, c.errf(x.Pos, "Decimal literal has more than %d digits: %s", maxDecimalPrecision, x.Text)
		}
		return val{sql: c.arg(f), t: tDecimal, lit: x, narrow: decLiteral(x.Text).String()}, nil
	case litBool:
		if x.Text == "true" {
			return val{sql: "1", t: tBool}, nil
		}
		return val{sql: "0", t: tBool}, nil
	case litNull:
		return val{sql: "NULL", t: tNull}, nil
	case litTimestamp:
		t, ok := parseTime(x.Text)
		if !ok {
			return val{}, c.errf(x.Pos, "Value cannot be cast to timestamp: %s", x.Text)
		}
		return val{sql: c.arg(t.UnixMilli()), t: tTimestamp}, nil
	case litDate:
		t, ok := parseTime(x.Text)
		if !ok {
			return val{}, c.errf(x.Pos, "Value cannot be cast to date: %s", x.Text)
		}
		const dayMs = 86_400_000
		ms := t.UnixMilli()
		return val{sql: c.arg(ms - (ms%dayMs+dayMs)%dayMs), t: tTimestamp, narrow: dateType}, nil
	}
	return val{}, c.errf(x.Pos, "unsupported literal")
}

func (c *compiler) interval(x *Interval) (val, error) {
	s := strings.TrimSpace(x.Value)
	neg := x.Neg
	if strings.HasPrefix(s, "-") {
		neg, s = !neg, s[1:]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > 1e9 {
		return val{}, c.errf(x.Pos, "Invalid INTERVAL %s value: %s", strings.ToUpper(x.Unit), x.Value)
	}
	if neg {
		n = -n
	}
	if m, ok := monthUnits[x.Unit]; ok {
		return val{sql: c.arg(n * m), t: tIntervalYM}, nil
	}
	return val{sql: c.arg(n * unitMillis[x.Unit]), t: tIntervalDS}, nil
}

func (c *compiler) unary(sc *scope, x *Unary) (val, error) {
	v, err := c.expr(sc, x.X)
	if err != nil {
		return v, err
	}
	if x.Op == "NOT" {
		if v.t != tBool && v.t != tNull {
			return v, c.errf(x.Pos, "Cannot apply operator: NOT %s", v.typeName())
		}
		return val{sql: "(NOT " + v.sql + ")", t: tBool, bare: v.bare, agg: v.agg}, nil
	}
	if !v.t.numeric() && v.t != tIntervalDS && v.t != tIntervalYM && v.t != tNull {
		return v, c.errf(x.Pos, "Cannot negate %s", v.typeName())
	}
	if v.t == tBigint {
		// -(-9223372036854775808) is out of range: Trino fails, SQLite
		// would give a float; so is -(-2147483648) of an integer.
		out := val{t: v.t, narrow: v.narrow, bare: v.bare, agg: v.agg}
		if v.narrow != "" {
			out.sql = c.d.goFunc("neg_narrow", []string{v.sql, c.tryFlag(), quoteSQL(v.narrow)})
		} else {
			out.sql = c.d.goFunc("neg", []string{v.sql, c.tryFlag()})
		}
		return out, nil
	}
	return val{sql: "(-" + v.sql + ")", t: v.t, narrow: v.narrow, bare: v.bare, agg: v.agg}, nil
}

// checkedOps are the package's functions for bigint +, - and * that fail
// on a result out of range (funcs_sqlite.go).
var checkedOps = map[string]string{"+": "add", "-": "sub", "*": "mul"}

// timeAdd is the SQL of ts + sign * n units of fixed length, failing
// (NULL inside try) outside years 1 to 9999.
func (c *compiler) timeAdd(ts, n, sign, unit string) string {
	return c.d.goFunc("time_add", []string{ts, n, sign, quoteSQL(unit), c.tryFlag()})
}

// tryFlag is the SQL of the last argument of the checked arithmetic
// functions: 1 inside try(…), where an overflow is NULL, else 0.
func (c *compiler) tryFlag() string {
	if c.inTry > 0 {
		return "1"
	}
	return "0"
}

// coerce makes a and b comparable: a string literal against a timestamp
// becomes a timestamp; bigint and double compare as numbers.
func (c *compiler) coerce(a, b val, pos int, op string) (val, val, error) {
	var err error
	if a.t == tTimestamp && b.t == tVarchar && b.lit != nil {
		b, err = c.litTime(b)
	} else if b.t == tTimestamp && a.t == tVarchar && a.lit != nil {
		a, err = c.litTime(a)
	}
	if err != nil {
		return a, b, err
	}
	switch {
	case a.t == tNull || b.t == tNull, a.t == b.t && a.t != tMap && a.t != tArray && a.t != tStruct,
		a.t.numeric() && b.t.numeric():
		return a, b, nil
	}
	return a, b, c.errf(pos, "Cannot apply operator: %s %s %s", a.typeName(), op, b.typeName())
}

func (c *compiler) litTime(v val) (val, error) {
	t, ok := parseTime(v.lit.Text)
	if !ok {
		return v, c.errf(v.lit.Pos, "Value cannot be cast to timestamp: %s", v.lit.Text)
	}
	return val{sql: c.arg(t.UnixMilli()), t: tTimestamp, pos: v.pos}, nil
}

func (c *compiler) binary(sc *scope, x *Binary) (val, error) {
	l, err := c.expr(sc, x.L)
	if err != nil {
		return l, err
	}
	r, err := c.expr(sc, x.R)
	if err != nil {
		return r, err
	}
	out := val{bare: l.bare || r.bare, agg: l.agg || r.agg}
	switch x.Op {
	case "AND", "OR":
		for _, v := range []val{l, r} {
			if v.t != tBool && v.t != tNull {
				return v, c.errf(v.pos, "%s operand must be boolean: actual type %s", x.Op, v.typeName())
			}
		}
		out.sql, out.t = "("+l.sql+" "+x.Op+" "+r.sql+")", tBool
	case "=", "<>", "<", "<=", ">", ">=":
		if l, r, err = c.coerce(l, r, x.Pos, x.Op); err != nil {
			return l, err
		}
		out.sql, out.t = "("+l.sql+" "+x.Op+" "+r.sql+")", tBool
	case "IS DISTINCT FROM", "IS NOT DISTINCT FROM":
		// Null-safe comparison: NULL is not distinct from NULL, and
		// distinct from any value (SQLite's IS NOT and IS).
		if l, r, err = c.coerce(l, r, x.Pos, x.Op); err != nil {
			return l, err
		}
		op := " IS NOT "
		if x.Op == "IS NOT DISTINCT FROM" {
			op = " IS "
		}
		out.sql, out.t = "("+l.sql+op+r.sql+")", tBool
	case "||":
		if (l.t != tVarchar && l.t != tNull) || (r.t != tVarchar && r.t != tNull) {
			return l, c.errf(x.Pos, "Cannot apply operator: %s || %s", l.typeName(), r.typeName())
		}
		out.sql, out.t = "("+l.sql+" || "+r.sql+")", tVarchar
	case "+", "-", "*", "/", "%":
		return c.arith(x, l, r, out)
	default:
		return l, c.errf(x.Pos, "unsupported operator %s", x.Op)
	}
	return out, nil
}

func (c *compiler) arith(x *Binary, l, r, out val) (val, error) {
	// A string literal beside a timestamp or interval is a timestamp.
	if (r.t == tIntervalDS || r.t == tIntervalYM) && l.t == tVarchar && l.lit != nil {
		var err error
		if l, err = c.litTime(l); err != nil {
			return l, err
		}
	}
	switch {
	case l.t == tTimestamp && r.t == tIntervalDS && (x.Op == "+" || x.Op == "-"):
		sign := "1"
		if x.Op == "-" {
			sign = "-1"
		}
		out.sql, out.t = c.timeAdd(l.sql, r.sql, sign, "millisecond"), tTimestamp
	case l.t == tIntervalDS && r.t == tTimestamp && x.Op == "+":
		out.sql, out.t = c.timeAdd(r.sql, l.sql, "1", "millisecond"), tTimestamp
	case l.t == tTimestamp && r.t == tIntervalYM && (x.Op == "+" || x.Op == "-"):
		n := r.sql
		if x.Op == "-" {
			n = "(-" + n + ")"
		}
		out.sql, out.t = c.d.addMonths(l.sql, n, c.tryFlag()), tTimestamp
	case l.t == tTimestamp && r.t == tTimestamp && x.Op == "-":
		out.sql, out.t = "("+l.sql+" - "+r.sql+")", tIntervalDS
	case l.t.numeric() && r.t.numeric() || l.t == tNull && r.t.numeric() || r.t == tNull && l.t.numeric():
		out.t = tBigint
		switch {
		case l.t == tDouble || r.t == tDouble:
			out.t = tDouble
		case l.t == tDecimal || r.t == tDecimal:
			return c.decArith(x.Op, l, r, out), nil
		default:
			// Trino: integer op integer is an integer, computed and
			// checked in 32 bits; with a bigint operand, a bigint.
			out.narrow = widerInt(l, r)
		}
		switch {
		case (x.Op == "/" || x.Op == "%") && out.t == tBigint && !safeDivisor(r):
			// Trino: division by zero is an error ("Division by zero"),
			// where SQLite's is NULL, and so is the smallest bigint / -1
			// ("bigint division overflow"); a divisor not known to be
			// safe goes through a function that fails on both (inside
			// try(), NULL is the answer).
			out.sql = c.d.intDiv(x.Op, l.sql, r.sql, c.tryFlag(), out.narrow)
		case x.Op == "/" && out.t == tBigint:
			// Trino: integer division truncates toward zero, and SQLite's does too.
			out.sql = "(" + l.sql + " / " + r.sql + ")"
		case x.Op == "/" && out.t == tDouble && nonZeroLiteral(r):
			out.sql = "(CAST(" + l.sql + " AS REAL) / " + r.sql + ")"
		case out.t == tDouble && (x.Op == "/" || x.Op == "%"):
			// Trino's double / and % are IEEE's: x / 0 is ±Infinity
			// (SQLite's is NULL), and % keeps the fraction (SQLite's
			// converts both operands to integers first: 5.5 % 2 is 1).
			fn := "fdiv"
			if x.Op == "%" {
				fn = "fmod"
			}
			out.sql = c.d.goFunc(fn, []string{l.sql, r.sql})
		case out.t == tBigint && (x.Op == "+" || x.Op == "-" || x.Op == "*"):
			// Trino fails on a bigint result out of range ("bigint
			// addition overflow"), where SQLite's becomes a float.
			if out.narrow != "" {
				out.sql = c.d.goFunc(checkedOps[x.Op]+"_narrow", []string{l.sql, r.sql, c.tryFlag(), quoteSQL(out.narrow)})
			} else {
				out.sql = c.d.goFunc(checkedOps[x.Op], []string{l.sql, r.sql, c.tryFlag()})
			}
		default:
			out.sql = "(" + l.sql + " " + x.Op + " " + r.sql + ")"
		}
	default:
		return l, c.errf(x.Pos, "Cannot apply operator: %s %s %s", l.typeName(), x.Op, r.typeName())
	}
	return out, nil
}

// narrowRank orders the integer types from the narrowest; bigint (empty)
// is the widest.
var narrowRank = map[string]int{"tinyint": 1, "smallint": 2, "integer": 3, "": 4}

// literalIntType is the integer type Trino gives an integer literal:
// integer when it fits in 32 bits, else bigint (empty). The parser folds
// a minus sign into a literal, but Trino negates the literal after the
// sign, so -2147483648 is the negation of a bigint: a bigint.
func literalIntType(text string) string {
	n, err := strconv.ParseUint(strings.TrimPrefix(text, "-"), 10, 64)
	if err != nil || n > math.MaxInt32 {
		return ""
	}
	return "integer"
}

// widerInt is the integer type of a value that is one of vs (the operands
// of arithmetic, the results of CASE or COALESCE): the widest of their
// types, NULLs aside; bigint (empty) unless every one is narrower.
func widerInt(vs ...val) string {
	out, seen := "", false
	for _, v := range vs {
		if v.t == tNull {
			continue
		}
		if v.t != tBigint {
			return ""
		}
		if !seen || narrowRank[v.narrow] > narrowRank[out] {
			out, seen = v.narrow, true
		}
	}
	return out
}

// intName names an integer type held in val.narrow (empty: bigint).
func intName(narrow string) string {
	if narrow == "" {
		return "bigint"
	}
	return narrow
}

// typeName is v's type as Trino names it in messages: integer for an
// integer literal, where the compiler holds a bigint.
func (v val) typeName() string {
	if (v.t == tBigint || v.t == tDecimal) && v.narrow != "" || isDate(v) {
		return v.narrow
	}
	return v.t.String()
}

// safeDivisor reports whether v is a number literal that neither is zero
// nor -1: integer / and % by it can neither fail nor overflow.
func safeDivisor(v val) bool {
	if !nonZeroLiteral(v) {
		return false
	}
	f, err := strconv.ParseFloat(v.lit.Text, 64)
	return err == nil && f != -1
}

// nonZeroLiteral reports whether v is a number literal other than zero.
func nonZeroLiteral(v val) bool {
	if v.lit == nil || v.lit.Kind != litNumber {
		return false
	}
	f, err := strconv.ParseFloat(v.lit.Text, 64)
	return err == nil && f != 0
}

func (c *compiler) like(sc *scope, x *Like) (val, error) {
	v, err := c.expr(sc, x.X)
	if err != nil {
		return v, err
	}
	if v.t != tVarchar && v.t != tNull {
		return v, c.errf(x.Pos, "Left side of LIKE expression must evaluate to a varchar (actual: %s)", v.typeName())
	}
	out := val{t: tBool, bare: v.bare, agg: v.agg}
	lit, isLit := x.Pat.(*Literal)
	if isLit && lit.Kind == litString && x.Escape == nil {
		out.sql = c.d.likeLiteral(v.sql, c.arg(likeToGlob(lit.Text)))
	} else {
		p, err := c.expr(sc, x.Pat)
		if err != nil {
			return p, err
		}
		if p.t != tVarchar {
			return p, c.errf(x.Pos, "LIKE pattern must be a varchar (actual: %s)", p.typeName())
		}
		esc := ""
		if x.Escape != nil {
			ev, err := c.expr(sc, x.Escape)
			if err != nil {
				return ev, err
			}
			esc = ev.sql
		}
		out.sql = c.d.likeExpr(v.sql, p.sql, esc)
		out.bare = out.bare || p.bare
	}
	if x.Not {
		out.sql = "(NOT " + out.sql + ")"
	}
	return out, nil
}

// likeToGlob turns a LIKE pattern into the equivalent case-sensitive GLOB
// pattern: % is *, _ is ?, and GLOB's own specials match themselves.
func likeToGlob(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '%':
			b.WriteByte('*')
		case '_':
			b.WriteByte('?')
		case '*', '?', '[':
			b.WriteString("[" + string(r) + "]")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (c *compiler) in(sc *scope, x *In) (val, error) {
	v, err := c.expr(sc, x.X)
	if err != nil {
		return v, err
	}
	out := val{t: tBool, bare: v.bare, agg: v.agg}
	var list string
	if x.Sub != nil {
		sq, cols, err := c.query(x.Sub)
		if err != nil {
			return v, err
		}
		if len(cols) != 1 {
			return v, c.errf(x.Pos, "Multiple columns returned by subquery are not yet supported")
		}
		if _, _, err := c.coerce(v, val{t: cols[0].t}, x.Pos, "IN"); err != nil {
			return v, err
		}
		list = sq
	} else {
		var items []string
		for _, e := range x.List {
			iv, err := c.expr(sc, e)
			if err != nil {
				return iv, err
			}
			if _, iv, err = c.coerce(v, iv, e.exprPos(), "IN"); err != nil {
				return iv, err
			}
			out.bare = out.bare || iv.bare
			items = append(items, iv.sql)
		}
		list = strings.Join(items, ", ")
	}
	op := " IN ("
	if x.Not {
		op = " NOT IN ("
	}
	out.sql = "(" + v.sql + op + list + "))"
	return out, nil
}

func (c *compiler) between(sc *scope, x *Between) (val, error) {
	v, err := c.expr(sc, x.X)
	if err != nil {
		return v, err
	}
	lo, err := c.expr(sc, x.Lo)
	if err != nil {
		return lo, err
	}
	hi, err := c.expr(sc, x.Hi)
	if err != nil {
		return hi, err
	}
	if _, lo, err = c.coerce(v, lo, x.Pos, "BETWEEN"); err != nil {
		return lo, err
	}
	if _, hi, err = c.coerce(v, hi, x.Pos, "BETWEEN"); err != nil {
		return hi, err
	}
	op := " BETWEEN "
	if x.Not {
		op = " NOT BETWEEN "
	}
	return val{sql: "(" + v.sql + op + lo.sql + " AND " + hi.sql + ")", t: tBool,
		bare: v.bare || lo.bare || hi.bare, agg: v.agg || lo.agg || hi.agg}, nil
}

func (c *compiler) caseExpr(sc *scope, x *Case) (val, error) {
	var b strings.Builder
	out := val{t: tNull}
	b.WriteString("(CASE")
	var operand val
	if x.Operand != nil {
		var err error
		if operand, err = c.expr(sc, x.Operand); err != nil {
			return operand, err
		}
		out.bare, out.agg = operand.bare, operand.agg
		b.WriteString(" " + operand.sql)
	}
	unify := func(v val) error {
		switch {
		case v.t == tNull:
		case out.t == tNull:
			out.t, out.f, out.narrow = v.t, v.f, v.narrow
		case out.t.numeric() && v.t.numeric():
			out.t, out.narrow = numericSuper(out, v)
		case out.t == v.t:
			if out.t == tTimestamp && !isDate(v) {
				out.narrow = "" // a date beside a timestamp is one
			}
		default:
			return c.errf(v.pos, "All CASE results must be the same type: %s, %s", out.typeName(), v.typeName())
		}
		out.bare, out.agg = out.bare || v.bare, out.agg || v.agg
		return nil
	}
	for _, w := range x.Whens {
		cond, err := c.expr(sc, w.Cond)
		if err != nil {
			return cond, err
		}
		if x.Operand != nil {
			if _, cond, err = c.coerce(operand, cond, w.Cond.exprPos(), "="); err != nil {
				return cond, err
			}
		} else if cond.t != tBool && cond.t != tNull {
			return cond, c.errf(w.Cond.exprPos(), "WHEN clause must be a boolean: actual type %s", cond.typeName())
		}
		out.bare, out.agg = out.bare || cond.bare, out.agg || cond.agg
		then, err := c.expr(sc, w.Then)
		if err != nil {
			return then, err
		}
		if err := unify(then); err != nil {
			return then, err
		}
		b.WriteString(" WHEN " + cond.sql + " THEN " + c.valueSQL(then))
	}
	if x.Else != nil {
		ev, err := c.expr(sc, x.Else)
		if err != nil {
			return ev, err
		}
		if err := unify(ev); err != nil {
			return ev, err
		}
		b.WriteString(" ELSE " + c.valueSQL(ev))
	}
	b.WriteString(" END)")
	out.sql = b.String()
	if out.t == tMap || out.t == tStruct || out.t == tArray {
		out.base, out.path = out.sql, "$"
	}
	return out, nil
}

var castTypes = map[string]typ{
	"varchar": tVarchar, "char": tVarchar, "bigint": tBigint, "integer": tBigint, "int": tBigint,
	"smallint": tBigint, "tinyint": tBigint, "double": tDouble, "real": tDouble, "decimal": tDecimal,
	"boolean": tBool, "timestamp": tTimestamp, "date": tTimestamp,
}

// intTypeNames names the integer type of each integer type name a CAST
// accepts: the range its value must fit in (see intRanges).
var intTypeNames = map[string]string{
	"bigint": "bigint", "integer": "integer", "int": "integer", "smallint": "smallint", "tinyint": "tinyint",
}

func (c *compiler) cast(sc *scope, x *Cast) (val, error) {
	v, err := c.expr(sc, x.X)
	if err != nil {
		return v, err
	}
	to, ok := castTypes[x.Type]
	if !ok {
		return v, c.errf(x.Pos, "Unknown type: %s", x.Type)
	}
	out := val{t: to, bare: v.bare, agg: v.agg}
	if n := intTypeNames[x.Type]; n != "bigint" {
		out.narrow = n
	}
	if x.Type == "date" {
		out.narrow = dateType
		if v.t == tTimestamp {
			out.sql = c.d.truncTime("day", v.sql)
			return out, nil
		}
	}
	if to == tDecimal {
		return c.castDecimal(v, x, out)
	}
	from := v.t
	if from == tDecimal {
		if to == tVarchar {
			out.sql = c.d.goFunc("decimal_text", []string{v.sql, strconv.Itoa(decOf(v).s)})
			return out, nil
		}
		from = tDouble // to bigint, double, boolean as a double converts
	}
	name := strings.ToUpper(x.Type)
	if x.Try || c.inTry > 0 {
		name = ""
	}
	s, err := c.d.cast(c.valueSQL(v), from, to, name, intTypeNames[x.Type])
	if err != nil {
		return v, c.errf(x.Pos, "Cannot cast %s to %s", v.typeName(), out.typeName())
	}
	switch {
	case out.narrow == dateType:
		s = c.d.truncTime("day", s)
	case isDate(v) && to == tVarchar:
		s = "substr(" + s + ", 1, 10)" // a date's text is its day: 2024-02-10
	}
	out.sql = s
	return out, nil
}

// dateType, in val.narrow of a timestamp, says that the value is a
// Trino date: a day, held as the timestamp of its midnight (UTC), which
// results, typeof and CAST to varchar show as a date (2024-02-10).
// date(), CAST(… AS date), DATE '…' and min, max, CASE and coalesce of
// those are dates; date arithmetic gives timestamps.
const dateType = "date"

// isDate says whether v is a date (see dateType).
func isDate(v val) bool { return v.t == tTimestamp && v.narrow == dateType }

// dateOf is the narrow of timestamps vs taken together (coalesce,
// greatest): a date when every one that is not NULL is.
func dateOf(vs []val) string {
	date := false
	for _, v := range vs {
		switch {
		case v.t == tNull:
		case !isDate(v):
			return ""
		default:
			date = true
		}
	}
	if date {
		return dateType
	}
	return ""
}

// subscript is map[key] or array[index].
func (c *compiler) subscript(sc *scope, x *Subscript) (val, error) {
	v, err := c.expr(sc, x.X)
	if err != nil {
		return v, err
	}
	return c.elementAt(sc, v, x.Index, x.Pos, true)
}

// elementAt reads a map's value by key or an array's element (from 1;
// element_at counts negative indexes from the end).
func (c *compiler) elementAt(sc *scope, v val, idx Expr, pos int, subscript bool) (val, error) {
	k, err := c.expr(sc, idx)
	if err != nil {
		return k, err
	}
	switch v.t {
	case tMap:
		if k.t != tVarchar {
			return k, c.errf(pos, "Map key must be a varchar (actual: %s)", k.typeName())
		}
		out := val{t: tVarchar, bare: v.bare || k.bare, agg: v.agg}
		if k.lit != nil {
			out.sql = c.d.mapValue(v.base, v.path, k.lit.Text, c.arg)
		} else {
			out.sql = c.d.mapValueDyn(c.d.jsonText(v), k.sql)
		}
		return out, nil
	case tArray:
		lit := k.lit
		if lit == nil || lit.Kind != litNumber || k.t != tBigint {
			return k, c.errf(pos, "array index must be an integer literal")
		}
		n, _ := strconv.Atoi(lit.Text)
		var p string
		switch {
		case n > 0:
			p = v.path + "[" + strconv.Itoa(n-1) + "]"
		case n < 0 && !subscript:
			p = v.path + "[#" + strconv.Itoa(n) + "]"
		default:
			return k, c.errf(pos, "array subscript must be positive")
		}
		if v.f != nil && v.f.elem != tNull {
			out := val{t: v.f.elem, base: v.base, path: p, bare: v.bare, agg: v.agg}
			out.sql = c.d.jsonScalar(out.base, out.path, out.t)
			return out, nil
		}
		ef := &field{t: tStruct}
		if v.f != nil {
			ef.fields = v.f.fields
		}
		out := val{t: tStruct, f: ef, base: v.base, path: p, bare: v.bare, agg: v.agg}
		out.sql = c.d.jsonScalar(out.base, out.path, tStruct)
		return out, nil
	}
	return v, c.errf(pos, "Cannot use subscript on %s", v.typeName())
}
