package lakesql

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestDecimalTypes: a number literal with a point is a decimal, and
// decimal arithmetic, aggregates and functions have Trino's result types.
func TestDecimalTypes(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{"100.0", "decimal(4,1)"},
		{"0.05", "decimal(2,2)"},
		{"-12.50", "decimal(4,2)"},
		{"1.5e0", "double"},
		{"1 * 100.0", "decimal(14,1)"},
		{"length(eventName) * 100.0 / 3", "decimal(23,1)"},
		{"1.5 + 1.25", "decimal(4,2)"},
		{"1.5 * 1.25", "decimal(5,3)"},
		{"10.5 % 3", "decimal(3,1)"},
		{"1.5 + 1.5e0", "double"},
		{"-(1.5)", "decimal(2,1)"},
		{"round(1.25, 1)", "decimal(4,2)"},
		{"round(1.25)", "decimal(2,0)"},
		{"floor(12.25)", "decimal(3,0)"},
		{"abs(-1.25)", "decimal(3,2)"},
		{"CAST(1 AS decimal(10, 2))", "decimal(10,2)"},
		{"CAST('1' AS decimal)", "decimal(38,0)"},
		{"CASE WHEN eventName = 'a' THEN 1.5 ELSE 2.25 END", "decimal(3,2)"},
		{"coalesce(1.5, 100)", "decimal(11,1)"},
		{"greatest(1.5, 2.25)", "decimal(3,2)"},
	} {
		if got := compiledType(t, "SELECT "+c.expr+" AS x FROM S1"); got != c.want {
			t.Errorf("%s: %s, want %s", c.expr, got, c.want)
		}
	}
	for _, c := range []struct{ sql, want string }{
		{"SELECT sum(1.5) AS x FROM S1", "decimal(38,1)"},
		{"SELECT avg(1.5) AS x FROM S1", "decimal(2,1)"},
		{"SELECT max(1.5) AS x FROM S1", "decimal(2,1)"},
		{"SELECT avg(1.5) OVER (ORDER BY eventTime) AS x FROM S1", "decimal(2,1)"},
		{"SELECT count(*) * 100.0 / 3 AS x FROM S1", "decimal(23,1)"},
		{"SELECT 1.5 AS x FROM S1 UNION ALL SELECT 100 FROM S1", "decimal(11,1)"},
	} {
		if got := compiledType(t, c.sql); got != c.want {
			t.Errorf("%s: %s, want %s", c.sql, got, c.want)
		}
	}
}

// TestDecimalValues: decimal arithmetic is exact and rounds half up to
// the result's scale where Trino's does (division, CAST, round, avg), and
// results print with exactly the type's scale, as Lake shows them.
func TestDecimalValues(t *testing.T) {
	db, fs := loadFixture(t)
	run := fixtureRunner(db)
	expectValues(t, run, []exprCase{
		{"1 * 100.0 / 3", "33.3"},
		{"2 * 100.0 / 3", "66.7"},
		{"7.5 / 2", "3.8"},
		{"-7.5 / 2", "-3.8"},
		{"1.00 / 8", "0.13"},
		{"0.1 + 0.2", "0.3"},
		{"0.1 + 0.2 = 0.3", "true"},
		{"1.10 * 1.1", "1.210"},
		{"2.5 * 2", "5.0"},
		{"10.0 % 3", "1.0"},
		{"-7.5 % 2", "-1.5"},
		{"0.50", "0.50"},
		{"-0.5", "-0.5"},
		{"100.0", "100.0"},
		{"CAST(2.675 AS decimal(10, 2))", "2.68"},
		{"CAST(-2.675 AS decimal(10, 2))", "-2.68"},
		{"CAST('3.14159' AS decimal(5, 2))", "3.14"},
		{"CAST(7 AS decimal(5, 2))", "7.00"},
		{"CAST(3.5 AS decimal)", "4"},
		{"TRY_CAST(12345.6 AS decimal(5, 2))", "NULL"},
		{"TRY_CAST('abc' AS decimal(5, 2))", "NULL"},
		{"CAST(2.5 AS bigint)", "3"},
		{"CAST(-2.5 AS bigint)", "-3"},
		{"CAST(33.3 AS varchar)", "33.3"},
		{"CAST(0.50 AS varchar)", "0.50"},
		{"CAST(2.5 AS double)", "2.5"},
		{"round(2.345, 2)", "2.350"},
		{"round(2.5)", "3"},
		{"round(-2.5)", "-3"},
		{"round(1234.5, -2)", "1200.0"},
		{"floor(-2.5)", "-3"},
		{"ceil(2.1)", "3"},
		{"abs(-0.50)", "0.50"},
		{"round(-0.04, 1)", "0.00"},
		{"CASE WHEN eventName = 'no such name' THEN 1.5 ELSE 2.25 END", "2.25"},
		{"coalesce(NULL, 1.5, 100)", "1.5"},
		{"try(1.0 / 0)", "NULL"},
		{"1.5 * 2e0", "3.0"},
		{"- -1.5", "1.5"},
		{"-(1.25 * 1) / 2", "-0.63"},
		{"round(2.675, 2)", "2.680"},
		{"round(1.005, 2)", "1.010"},
		{"round(1.115, 2)", "1.120"},
		{"round(-2.675, 2)", "-2.680"},
		{"CAST(1e-1 AS decimal(20, 18))", "0.100000000000000000"},
		{"12345.6789 * 1000000", "12345678900.0000"},
		{"CAST(1 AS decimal(38, 20)) / 4", "0.25000000000000000000"},
	})
	// avg of decimals rounds half up from the exact mean: 1.005 is 1.01
	// (the double 1.005 is a little under it), in an aggregate and over a
	// window.
	for _, sql := range []string{
		"SELECT avg(x) FROM (SELECT CASE WHEN eventID = '$A' THEN 1.00 ELSE 1.01 END AS x FROM $EDS_ID WHERE eventID IN ('$A', '$B'))",
		"SELECT avg(x) OVER () FROM (SELECT CASE WHEN eventID = '$A' THEN 1.00 ELSE 1.01 END AS x FROM $EDS_ID WHERE eventID IN ('$A', '$B')) LIMIT 1",
	} {
		res, err := run(strings.NewReplacer("$A", fs[0].ID, "$B", fs[1].ID).Replace(sql))
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if got := cell(res.Rows[0][0]); got != "1.01" {
			t.Errorf("%s: %s, want 1.01", sql, got)
		}
	}
	// An array_agg of timestamps or booleans keeps its values through
	// UNNEST and contains.
	res, err := run("SELECT count(*) FROM (SELECT array_agg(eventTime) AS ts, array_agg(readOnly) AS ro, min(eventTime) AS m FROM $EDS_ID)" +
		" CROSS JOIN UNNEST(ts) AS u(t) WHERE t >= m AND contains(ts, m) AND contains(ro, true)")
	if err != nil {
		t.Fatal(err)
	}
	if got := cell(res.Rows[0][0]); got != strconv.Itoa(len(fs)) {
		t.Errorf("UNNEST(array_agg(eventTime)) with contains: %s rows, want %d", got, len(fs))
	}
	expectQueryErrors(t, run, []exprCase{
		{"1.0 / 0", "Division by zero"},
		{"1.0 % 0", "Division by zero"},
		{"CAST(12345.6 AS decimal(5, 2))", "Cannot cast '12345.6' to DECIMAL(5, 2)"},
		{"CAST('abc' AS decimal(5, 2))", "cannot cast 'abc' to DECIMAL(5, 2)"},
	})
	expectRefused(t, run, []exprCase{
		{"1234567890123456789012345678901234567890.5", "Decimal literal has more than 38 digits"},
		{"CAST(1 AS decimal())", "Unknown type: decimal()"},
		{"CAST(1 AS decimal(39, 2))", "DECIMAL precision must be in range [1, 38]"},
		{"CAST(1 AS decimal(5, 6))", "DECIMAL scale must be in range [0, precision (5)]"},
		{"CAST(eventTime AS decimal(5, 2))", "Cannot cast timestamp(3) to decimal(5,2)"},
	})
}

// TestDecimalAggregates: a share of events as a percentage, the way Lake's
// users write it, and the average and sum of decimals, against answers
// computed here exactly and rounded half up.
func TestDecimalAggregates(t *testing.T) {
	db, fs := loadFixture(t)
	run := fixtureRunner(db)
	n, k := int64(len(fs)), int64(0)
	for _, f := range fs {
		if f.Name == fs[0].Name {
			k++
		}
	}
	res, err := run("SELECT count_if(eventName = '" + fs[0].Name + "') * 100.0 / count(*)," +
		" avg(CASE WHEN eventName = '" + fs[0].Name + "' THEN 1.0 ELSE 2.0 END)," +
		" sum(CASE WHEN eventName = '" + fs[0].Name + "' THEN 0.1 ELSE 0.2 END)," +
		" round(count_if(eventName = '" + fs[0].Name + "') * 100.0 / count(*), 0) FROM $EDS_ID")
	if err != nil {
		t.Fatal(err)
	}
	share := big.NewRat(k*100, n)
	want := []string{
		halfUp(share, 1),
		halfUp(big.NewRat(k+2*(n-k), n), 1),
		halfUp(big.NewRat(k+2*(n-k), 10), 1),
		// round(x, 0) of the decimal(23,1) share: rounded twice.
		halfUp(mustRat(t, halfUp(share, 1)), 0) + ".0",
	}
	for i, w := range want {
		if got := cell(res.Rows[0][i]); got != w {
			t.Errorf("column %d: %s, want %s (%d of %d events)", i, got, w, k, n)
		}
	}
}

// halfUp writes r rounded half away from zero to scale places.
func halfUp(r *big.Rat, scale int) string {
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	num := new(big.Int).Mul(r.Num(), pow)
	q, m := new(big.Int).QuoRem(num, r.Denom(), new(big.Int))
	if new(big.Int).Lsh(new(big.Int).Abs(m), 1).Cmp(r.Denom()) >= 0 {
		q.Add(q, big.NewInt(int64(r.Sign())))
	}
	s := q.String()
	if scale == 0 {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for len(s) <= scale {
		s = "0" + s
	}
	s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	if neg {
		s = "-" + s
	}
	return s
}

func cell(v *string) string {
	if v == nil {
		return "NULL"
	}
	return *v
}

func mustRat(t *testing.T, s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("not a number: %s", s)
	}
	return r
}

// TestQuickHalfUpAgreesWithExact: the double-arithmetic shortcut for
// decimal division and CAST answers only when it matches exact rounding,
// across quotients near and at ties.
func TestQuickHalfUpAgreesWithExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	checked := 0
	for range 200000 {
		scale := rng.IntN(8)
		x := float64(rng.Int64N(2_000_000)-1_000_000) / math.Pow(10, float64(rng.IntN(6)))
		y := float64(rng.Int64N(2000)+1) / math.Pow(10, float64(rng.IntN(4)))
		q := x / y
		f, ok := quickHalfUp(q, scale)
		if !ok {
			continue
		}
		checked++
		rx, _ := exactRat(x)
		ry, _ := exactRat(y)
		if want := roundHalfUp(new(big.Rat).Quo(rx, ry), scale); f != want {
			t.Fatalf("%v / %v to %d places: %v, exact %v", x, y, scale, f, want)
		}
	}
	if checked < 100000 {
		t.Fatalf("the shortcut answered only %d times", checked)
	}
}
