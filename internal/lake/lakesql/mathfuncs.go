package lakesql

import (
	"database/sql/driver"
	"errors"
	"math"
	"strconv"
)

// Trino's math functions beyond abs, round, floor and ceil (funcs.go).
// The double functions take any number and give a double, computed in Go
// by lake_math(name, args…); a NaN they give reads as NULL, as every NaN
// does in the engine.

// doubleFuncs are the functions of doubles, by name: their arity and
// their computation.
var doubleFuncs = map[string]struct {
	n int
	f func(x []float64) float64
}{
	"sqrt":     {1, func(x []float64) float64 { return math.Sqrt(x[0]) }},
	"cbrt":     {1, func(x []float64) float64 { return math.Cbrt(x[0]) }},
	"exp":      {1, func(x []float64) float64 { return math.Exp(x[0]) }},
	"ln":       {1, func(x []float64) float64 { return math.Log(x[0]) }},
	"log2":     {1, func(x []float64) float64 { return math.Log2(x[0]) }},
	"log10":    {1, func(x []float64) float64 { return log10(x[0]) }},
	"log":      {2, func(x []float64) float64 { return math.Log(x[1]) / math.Log(x[0]) }}, // log(base, x)
	"power":    {2, func(x []float64) float64 { return math.Pow(x[0], x[1]) }},
	"pow":      {2, func(x []float64) float64 { return math.Pow(x[0], x[1]) }},
	"degrees":  {1, func(x []float64) float64 { return x[0] * radiansToDegrees }},
	"radians":  {1, func(x []float64) float64 { return x[0] * degreesToRadians }},
	"sin":      {1, func(x []float64) float64 { return math.Sin(x[0]) }},
	"cos":      {1, func(x []float64) float64 { return math.Cos(x[0]) }},
	"tan":      {1, func(x []float64) float64 { return math.Tan(x[0]) }},
	"asin":     {1, func(x []float64) float64 { return math.Asin(x[0]) }},
	"acos":     {1, func(x []float64) float64 { return math.Acos(x[0]) }},
	"atan":     {1, func(x []float64) float64 { return math.Atan(x[0]) }},
	"atan2":    {2, func(x []float64) float64 { return math.Atan2(x[0], x[1]) }},
	"cosh":     {1, func(x []float64) float64 { return math.Cosh(x[0]) }},
	"tanh":     {1, func(x []float64) float64 { return math.Tanh(x[0]) }},
	"pi":       {0, func([]float64) float64 { return math.Pi }},
	"e":        {0, func([]float64) float64 { return math.E }},
	"infinity": {0, func([]float64) float64 { return math.Inf(1) }},
	"truncate": {1, func(x []float64) float64 { return math.Trunc(x[0]) }},
}

// doublePredicates are is_finite and is_infinite. (nan() and is_nan are
// not offered: the engine holds a NaN as NULL, so they could not work.)
var doublePredicates = map[string]func(float64) bool{
	"is_finite":   func(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) },
	"is_infinite": func(f float64) bool { return math.IsInf(f, 0) },
}

// mathCall compiles the math functions; ok is false for another name.
func (c *compiler) mathCall(x *Call, args []val, out val) (val, bool, error) {
	nargs := func(n int) error {
		if len(args) != n {
			return c.errf(x.Pos, "Unexpected parameters for function %s: %d arguments", x.Name, len(args))
		}
		return nil
	}
	numbers := func() error {
		for i, a := range args {
			if !a.t.numeric() && a.t != tNull {
				return c.errf(x.Args[i].exprPos(), "Unexpected parameters (%s) for function %s", a.typeName(), x.Name)
			}
		}
		return nil
	}
	sqls := make([]string, len(args))
	for i, a := range args {
		sqls[i] = a.sql
	}
	switch name := x.Name; {
	case name == "mod":
		if err := nargs(2); err != nil {
			return out, true, err
		}
		if err := numbers(); err != nil {
			return out, true, err
		}
		v, err := c.arith(&Binary{Pos: x.Pos, Op: "%", L: x.Args[0], R: x.Args[1]}, args[0], args[1], out)
		return v, true, err
	case name == "sign":
		if err := nargs(1); err != nil {
			return out, true, err
		}
		if err := numbers(); err != nil {
			return out, true, err
		}
		// Of an integer, the same integer type; of a decimal, decimal(1,0).
		out.sql, out.t, out.narrow = c.d.goFunc("sign", sqls), args[0].t, args[0].narrow
		switch args[0].t {
		case tDecimal:
			out.narrow = decType{1, 0}.String()
		case tNull:
			out.t = tBigint
		}
		return out, true, nil
	case name == "truncate" && len(args) == 1 && args[0].t == tBigint:
		out.sql, out.t, out.narrow = args[0].sql, tBigint, args[0].narrow
		return out, true, nil
	case name == "truncate" && len(args) == 1 && args[0].t == tDecimal:
		d := decOf(args[0])
		out.sql = c.d.goFunc("dtrunc", []string{sqls[0], "0", strconv.Itoa(d.p), strconv.Itoa(d.s)})
		out.t, out.narrow = tDecimal, decimalOf(max(1, d.intDigits()), 0).String()
		return out, true, nil
	case name == "truncate" && len(args) == 2:
		// Trino's truncate(x, n) is of decimals (an integer converts to
		// one): decimal(p, s) again, cut exactly.
		if a := args[0]; a.t != tDecimal && a.t != tBigint && a.t != tNull || args[1].t != tBigint && args[1].t != tNull {
			return out, true, c.errf(x.Pos, "Unexpected parameters (%s, %s) for function truncate", a.typeName(), args[1].typeName())
		}
		d := decOf(args[0])
		out.sql = c.d.goFunc("dtrunc", []string{sqls[0], sqls[1], strconv.Itoa(d.p), strconv.Itoa(d.s)})
		out.t, out.narrow = tDecimal, d.String()
		return out, true, nil
	case doublePredicates[name] != nil:
		if err := nargs(1); err != nil {
			return out, true, err
		}
		if err := numbers(); err != nil {
			return out, true, err
		}
		out.sql, out.t = c.d.goFunc("math_is", []string{quoteSQL(name), sqls[0]}), tBool
		return out, true, nil
	}
	f, ok := doubleFuncs[x.Name]
	if !ok {
		return out, false, nil
	}
	if err := nargs(f.n); err != nil {
		return out, true, err
	}
	if err := numbers(); err != nil {
		return out, true, err
	}
	out.sql, out.t = c.d.goFunc("math", append([]string{quoteSQL(x.Name)}, sqls...)), tDouble
	return out, true, nil
}

// mathFunc is lake_math(name, x…): a double function of doubleFuncs.
func mathFunc(a []driver.Value) (driver.Value, error) {
	f, ok := doubleFuncs[asString(a[0])]
	if !ok || len(a)-1 != f.n {
		return nil, errBadMathCall
	}
	x := make([]float64, f.n)
	for i := range x {
		x[i] = asFloat(a[i+1])
	}
	return f.f(x), nil
}

// mathSign is lake_sign(x): -1, 0 or 1, an integer for an integer.
func mathSign(a []driver.Value) (driver.Value, error) {
	if n, ok := a[0].(int64); ok {
		return int64(min(max(n, -1), 1)), nil
	}
	f := asFloat(a[0])
	switch {
	case f > 0:
		return 1.0, nil
	case f < 0:
		return -1.0, nil
	}
	return f, nil // 0, -0 or NaN
}

// mathIs is lake_math_is(name, x): is_finite, is_infinite.
func mathIs(a []driver.Value) (driver.Value, error) {
	p, ok := doublePredicates[asString(a[0])]
	if !ok {
		return nil, errBadMathCall
	}
	return p(asFloat(a[1])), nil
}

var errBadMathCall = errors.New("lake_math: not a math function")

// Java's Math.toRadians and toDegrees (which Trino calls) multiply by
// these doubles, and so give other last digits than x*π/180.
const (
	degreesToRadians = 0.017453292519943295
	radiansToDegrees = 57.29577951308232
)

// log10 is Java's Math.log10, which Trino calls: exact for the powers of
// ten a double holds (log10(1e15) is 15, log10(0.1) is -1), where Go's
// Log10 (Log(x) / Ln10) can be one step off.
func log10(x float64) float64 {
	r := math.Log10(x)
	if n := math.Round(r); n != r && math.Abs(r-n) < 1e-9 && math.Pow(10, n) == x {
		return n
	}
	return r
}
