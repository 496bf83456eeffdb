package lakesql

import (
	"database/sql/driver"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Lake (Trino) types a number literal with a decimal point as a decimal
// (100.0 is decimal(4,1)), not a double, and decimal arithmetic has its
// own result types: count(*) * 100.0 / total is decimal with one place,
// 33.3 where a double would give 33.333333333333336. The engine holds a
// decimal as a double rounded to its scale after each operation; val's and
// outCol's narrow carry its type, "decimal(p,s)".

// maxDecimalPrecision is Trino's largest decimal precision.
const maxDecimalPrecision = 38

// decType is a decimal's precision and scale.
type decType struct{ p, s int }

func (d decType) String() string {
	return "decimal(" + strconv.Itoa(d.p) + "," + strconv.Itoa(d.s) + ")"
}

// intDigits is the number of digits left of the point.
func (d decType) intDigits() int { return d.p - d.s }

// decimalOf is decimal(p, s) within Trino's bounds: at most 38 digits,
// of which at most all are the scale.
func decimalOf(p, s int) decType {
	s = min(s, maxDecimalPrecision)
	return decType{min(max(p, s), maxDecimalPrecision), s}
}

// decOf is the decimal type v converts to in decimal arithmetic: its own,
// or an integer type's (bigint is decimal(19,0), integer decimal(10,0)).
func decOf(v val) decType {
	switch v.t {
	case tDecimal:
		ps, ok := strings.CutPrefix(v.narrow, "decimal(")
		p, s, _ := strings.Cut(strings.TrimSuffix(ps, ")"), ",")
		d := decType{}
		var err1, err2 error
		d.p, err1 = strconv.Atoi(p)
		d.s, err2 = strconv.Atoi(s)
		if ok && err1 == nil && err2 == nil {
			return d
		}
	case tBigint:
		switch v.narrow {
		case "tinyint":
			return decType{3, 0}
		case "smallint":
			return decType{5, 0}
		case "integer":
			return decType{10, 0}
		}
		return decType{19, 0}
	}
	return decType{1, 0}
}

// decLiteral is the type of a number literal written with a point:
// its digits without leading zeros (at least its scale), and the digits
// after the point.
func decLiteral(text string) decType {
	_, frac, _ := strings.Cut(text, ".")
	return decimalOf(decLiteralDigits(text), len(frac))
}

// decLiteralDigits is a decimal literal's precision before any bound.
func decLiteralDigits(text string) int {
	whole, frac, _ := strings.Cut(strings.TrimLeft(text, "+-"), ".")
	return max(len(strings.TrimLeft(whole+frac, "0")), len(frac), 1)
}

// decResult is the type of l op r, both decimals (or integers), as
// Trino's decimal operators give it.
func decResult(op string, l, r decType) decType {
	s := max(l.s, r.s)
	switch op {
	case "*":
		return decimalOf(l.p+r.p, l.s+r.s)
	case "/":
		return decimalOf(l.p+r.s+max(0, r.s-l.s), s)
	case "%":
		return decimalOf(min(l.intDigits(), r.intDigits())+s, s)
	}
	return decimalOf(1+s+max(l.intDigits(), r.intDigits()), s)
}

// decSuper is the decimal both a and b fit in (CASE, COALESCE, UNION).
func decSuper(a, b decType) decType {
	s := max(a.s, b.s)
	return decimalOf(max(a.intDigits(), b.intDigits())+s, s)
}

// numericSuper is the type values of all of vs (numbers or NULL) fit in,
// as Trino coerces them: a double if any is one, else a decimal if any
// is one, else the widest integer type. It gives the type and its narrow.
func numericSuper(vs ...val) (typ, string) {
	t := tNull
	for _, v := range vs {
		switch {
		case v.t == tDouble:
			return tDouble, ""
		case v.t == tDecimal:
			t = tDecimal
		case v.t == tBigint && t == tNull:
			t = tBigint
		}
	}
	switch t {
	case tBigint:
		return t, widerInt(vs...)
	case tDecimal:
		d, seen := decType{}, false
		for _, v := range vs {
			if v.t == tNull {
				continue
			}
			if !seen {
				d, seen = decOf(v), true
				continue
			}
			d = decSuper(d, decOf(v))
		}
		return t, d.String()
	}
	return t, ""
}

// decArith compiles l op r where one operand is a decimal and neither a
// double. + - and * are exact in decimal; the double they are computed in
// is rounded back to the result's scale. / and % go through functions
// that round half up, as Trino does, and fail on a zero divisor.
func (c *compiler) decArith(op string, l, r, out val) val {
	d := decResult(op, decOf(l), decOf(r))
	out.t, out.narrow = tDecimal, d.String()
	s := strconv.Itoa(d.s)
	switch op {
	case "/":
		out.sql = c.d.goFunc("ddiv", []string{l.sql, r.sql, s, c.tryFlag()})
	case "%":
		out.sql = c.d.goFunc("dmod", []string{l.sql, r.sql, s, c.tryFlag()})
	default:
		out.sql = "round(" + l.sql + " " + op + " " + r.sql + ", " + s + ")"
	}
	return out
}

// castDecimal compiles CAST(v AS decimal(p, s)).
func (c *compiler) castDecimal(v val, x *Cast, out val) (val, error) {
	d := decType{maxDecimalPrecision, 0}
	if x.ParamsPos > 0 && len(x.Params) == 0 {
		return v, c.errf(x.ParamsPos, "Unknown type: decimal()")
	}
	if len(x.Params) > 0 {
		nums := make([]int, len(x.Params))
		for i, p := range x.Params {
			n, err := strconv.Atoi(p)
			if err != nil || len(x.Params) > 2 {
				return v, c.errf(x.ParamsPos, "Unknown type: decimal(%s): its precision and scale are two numbers 0 to 38", strings.Join(x.Params, " "))
			}
			nums[i] = n
		}
		d.p, d.s = nums[0], 0
		if len(nums) == 2 {
			d.s = nums[1]
		}
		if d.p < 1 || d.p > maxDecimalPrecision {
			return v, c.errf(x.ParamsPos, "DECIMAL precision must be in range [1, %d]: %d", maxDecimalPrecision, d.p)
		}
		if d.s < 0 || d.s > d.p {
			return v, c.errf(x.ParamsPos, "DECIMAL scale must be in range [0, precision (%d)]: %d", d.p, d.s)
		}
	}
	switch v.t {
	case tNull, tBigint, tDouble, tDecimal, tVarchar:
	default:
		return v, c.errf(x.Pos, "Cannot cast %s to %s", v.typeName(), d)
	}
	name := fmt.Sprintf("DECIMAL(%d, %d)", d.p, d.s)
	if x.Try || c.inTry > 0 {
		name = ""
	}
	out.t, out.narrow = tDecimal, d.String()
	out.sql = c.d.goFunc("to_decimal", []string{v.sql, strconv.Itoa(d.p), strconv.Itoa(d.s), quoteSQL(name)})
	return out, nil
}

// formatDecimal writes a decimal as Lake's results do: with exactly its
// scale's places (0.50, 33.3, 7).
func formatDecimal(f float64, scale int) string {
	// The shortest digits that are the double, padded to the scale: past
	// a double's ~16 significant digits, zeros rather than its binary
	// noise (0.100000000000000000, not 0.100000000000000006).
	s := strconv.FormatFloat(f, 'f', -1, 64)
	_, frac, _ := strings.Cut(s, ".")
	switch {
	case len(frac) > scale:
		s = strconv.FormatFloat(f, 'f', scale, 64)
	case frac == "" && scale > 0:
		s += "." + strings.Repeat("0", scale)
	default:
		s += strings.Repeat("0", scale-len(frac))
	}
	if strings.HasPrefix(s, "-") && strings.Trim(s, "-0.") == "" {
		s = s[1:]
	}
	return s
}

// exactRat is the decimal number a double prints as (its shortest
// representation): 0.1 is 1/10, not the binary fraction nearest it.
func exactRat(v driver.Value) (*big.Rat, bool) {
	var text string
	switch x := v.(type) {
	case int64:
		return new(big.Rat).SetInt64(x), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
		text = strconv.FormatFloat(x, 'g', -1, 64)
	default:
		// A number as Trino reads one (digits, a point, an exponent):
		// not SetString's fractions ("1/3"), nor an infinity.
		text = strings.TrimSpace(asString(v))
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(text, "/xXpP_") {
			return nil, false
		}
		if len(text) > 64 {
			text = strconv.FormatFloat(f, 'g', -1, 64)
		}
	}
	return new(big.Rat).SetString(text)
}

// roundHalfUp is r rounded half away from zero to scale places, as the
// nearest double.
func roundHalfUp(r *big.Rat, scale int) float64 {
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow))
	q, m := new(big.Int).QuoRem(scaled.Num(), scaled.Denom(), new(big.Int))
	if m.Sign() != 0 {
		m.Abs(m).Lsh(m, 1)
		if m.Cmp(scaled.Denom()) >= 0 {
			q.Add(q, big.NewInt(int64(scaled.Num().Sign())))
		}
	}
	f, _ := strconv.ParseFloat(q.String()+"e-"+strconv.Itoa(scale), 64)
	return f
}

// decimalDiv is lake_ddiv(x, y, scale, inTry) and lake_dmod: decimal / and
// %, exact and rounded half up to the result's scale, failing (NULL
// inside try) on a zero divisor.
func decimalDiv(mod bool, a []driver.Value) (driver.Value, error) {
	if a[0] == nil || a[1] == nil {
		return nil, nil
	}
	if asFloat(a[1]) == 0 {
		if asInt(a[3]) == 1 {
			return nil, nil
		}
		return nil, errDivZero
	}
	scale := int(asInt(a[2]))
	if !mod {
		if f, ok := quickHalfUp(asFloat(a[0])/asFloat(a[1]), scale); ok {
			return f, nil
		}
	}
	x, okx := exactRat(a[0])
	y, oky := exactRat(a[1])
	if !okx || !oky {
		return nil, nil
	}
	q := new(big.Rat).Quo(x, y)
	if mod {
		// x - trunc(x / y) * y, whose sign is x's.
		t := new(big.Int).Quo(q.Num(), q.Denom())
		q = new(big.Rat).Sub(x, new(big.Rat).Mul(new(big.Rat).SetInt(t), y))
	}
	return roundHalfUp(q, scale), nil
}

// quickHalfUp rounds f half away from zero to scale places in doubles, and
// says whether that is sure to be the exact answer: when f is not within
// rounding error of a tie (x.xx5), which only exact arithmetic settles.
func quickHalfUp(f float64, scale int) (float64, bool) {
	if scale > 15 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	pow := math.Pow(10, float64(scale))
	x := f * pow
	if math.Abs(x) >= 1<<52 {
		return 0, false
	}
	// f is off the exact quotient by a few units in its last place, so x
	// by as many relative to its size.
	frac := math.Abs(x - math.Trunc(x))
	if math.Abs(frac-0.5) <= math.Abs(x)*1e-14+1e-9 {
		return 0, false
	}
	// An integer over a power of ten, each exact, divides to the double
	// nearest the decimal.
	return math.Round(x) / pow, true
}

// castToDecimal is lake_to_decimal(x, p, s, name): CAST to decimal(p, s),
// rounding half up to s places, failing (NULL for TRY_CAST: name empty)
// on text that is not a number and on a value with more than p - s
// digits left of the point.
func castToDecimal(a []driver.Value) (driver.Value, error) {
	if a[0] == nil {
		return nil, nil
	}
	p, s := int(asInt(a[1])), int(asInt(a[2]))
	f, ok := 0.0, false
	if x, isFloat := a[0].(float64); isFloat {
		f, ok = quickHalfUp(x, s)
	}
	if !ok {
		r, valid := exactRat(a[0])
		if !valid {
			return castFailed(a[0], a[3])
		}
		f = roundHalfUp(r, s)
	}
	if math.Abs(f) >= math.Pow(10, float64(p-s)) {
		if asString(a[3]) == "" {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: Cannot cast '%s' to %s", overflowMarker, toText(a[0]), asString(a[3]))
	}
	return f, nil
}

// decimalRound is lake_dround(x, n): x rounded half up to n >= 0 places,
// exactly as the decimal x prints as (SQLite's round works on the binary
// double: round(2.675, 2) would be 2.67).
func decimalRound(a []driver.Value) (driver.Value, error) {
	n := int(asInt(a[1]))
	if n < 0 {
		return asFloat(a[0]), nil
	}
	if f, ok := quickHalfUp(asFloat(a[0]), n); ok {
		return f, nil
	}
	r, ok := exactRat(a[0])
	if !ok {
		return asFloat(a[0]), nil
	}
	return roundHalfUp(r, n), nil
}

// decimalTruncate is lake_dtrunc(x, n, p, s): Trino's truncate(x, n) of a
// decimal(p, s): x itself for n >= s, 0 when n cuts every digit, else x
// toward zero at n places (to tens, hundreds… for n < 0), exactly.
func decimalTruncate(a []driver.Value) (driver.Value, error) {
	n, p, s := asInt(a[1]), asInt(a[2]), asInt(a[3])
	switch {
	case n >= s:
		return asFloat(a[0]), nil
	case p-s+n <= 0:
		return 0.0, nil
	}
	r, ok := exactRat(a[0])
	if !ok {
		return nil, nil
	}
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(abs64(n)), nil))
	if n >= 0 {
		r.Mul(r, scale)
	} else {
		r.Quo(r, scale)
	}
	t := new(big.Int).Quo(r.Num(), r.Denom()) // toward zero
	f, _ := strconv.ParseFloat(t.String()+"e"+strconv.FormatInt(-n, 10), 64)
	return f, nil
}

func abs64(n int64) int64 { return max(n, -n) }

// decimalMath compiles abs, round, floor and ceil of a decimal, typed as
// Trino types them: abs keeps the type, round(x, n) keeps the scale with
// one more digit (9.96 rounds to 10.00), and round, floor and ceil to an
// integer give a decimal of scale 0.
func (c *compiler) decimalMath(name string, args []val, sqls []string) (string, string) {
	d := decOf(args[0])
	whole := decimalOf(d.intDigits()+min(1, d.s), 0).String()
	switch {
	case name == "abs":
		return "abs(" + sqls[0] + ")", d.String()
	case name == "round" && len(args) == 2:
		r := decimalOf(d.p+1, d.s).String()
		switch {
		case args[1].lit != nil && literalInt(args[1]) >= 0:
			return c.d.goFunc("dround", sqls), r
		case args[1].lit != nil:
			return c.d.goFunc("round_double", sqls), r
		}
		return "(CASE WHEN " + sqls[1] + " < 0 THEN " + c.d.goFunc("round_double", sqls) +
			" ELSE " + c.d.goFunc("dround", sqls) + " END)", r
	case name == "round":
		return c.d.goFunc("dround", []string{sqls[0], "0"}), whole
	}
	return c.d.mathFunc(name, sqls, tDouble), whole
}
