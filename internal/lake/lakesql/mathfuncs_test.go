package lakesql

import "testing"

// TestMathFunctions: Trino's math functions, typed as Trino types them
// (sign and truncate of an integer stay integers, of a decimal are
// decimals; the rest are doubles), NULL in, NULL out; a wrong argument
// is refused before the query runs, and mod by zero fails as % does.
func TestMathFunctions(t *testing.T) {
	db, _ := loadFixture(t)
	run := fixtureRunner(db)
	expectValues(t, run, []exprCase{
		{"sqrt(16)", "4.0"},
		{"round(2.675e0, 2)", "2.68"},
		{"round(1.075e0, 2)", "1.08"},
		{"round(CAST(3 AS double) / 200, 2)", "0.02"},
		{"round(0.49999999999999994e0)", "0.0"},
		{"round(-2.5e0)", "-3.0"},
		{"round(-0.4e0)", "-0.0"},
		{"round(2.5e0)", "3.0"},
		{"round(1234.5e0, -2)", "1200.0"},
		{"round(-1250e0, -2)", "-1300.0"},
		{"round(1.5e300, 2)", "1.5E300"},
		{"round(CAST(NULL AS double), 2)", "NULL"},
		{"log10(1000000000000000)", "15.0"},
		{"log10(0.1)", "-1.0"},
		{"log10(0.0001)", "-4.0"},
		{"floor(log10(1000000000000000))", "15.0"},
		{"radians(3)", "0.05235987755982989"},
		{"degrees(0.1)", "5.729577951308233"},
		{"power(2, 10)", "1024.0"},
		{"pow(1.5, 2)", "2.25"},
		{"ln(e())", "1.0"},
		{"log10(1000)", "3.0"},
		{"log2(8)", "3.0"},
		{"log(2, 8)", "3.0"},
		{"cbrt(27)", "3.0"},
		{"exp(0)", "1.0"},
		{"degrees(pi())", "180.0"},
		{"radians(180) = pi()", "true"},
		{"atan2(1, 1) * 4 = pi()", "true"},
		{"round(sin(pi() / 2), 6)", "1.0"},
		{"truncate(2.75)", "2"},
		{"truncate(-2.75e0)", "-2.0"},
		{"truncate(7)", "7"},
		{"truncate(2.759, 2)", "2.750"},
		{"truncate(0.29, 2)", "0.29"},
		{"truncate(4.35, 2)", "4.35"},
		{"truncate(1.5, 400)", "1.5"},
		{"truncate(1.5, -400)", "0.0"},
		{"truncate(1234.5, -2)", "1200.0"},
		{"truncate(-2.759, 1)", "-2.700"},
		{"truncate(5, 1)", "5"},
		{"sign(-2.5)", "-1"},
		{"sign(-3)", "-1"},
		{"sign(0e0)", "0.0"},
		{"sign(2.5e0)", "1.0"},
		{"mod(7.5, 2)", "1.5"},
		{"mod(7, 3)", "1"},
		{"mod(-7, 3)", "-1"},
		{"is_finite(1e0)", "true"},
		{"is_infinite(infinity())", "true"},
		{"is_finite(1 / 0e0)", "false"},
		{"sqrt(NULL)", "NULL"},
		{"sqrt(CAST(NULL AS double))", "NULL"},
		{"sign(CAST(NULL AS integer))", "NULL"},
	})
	for _, c := range []struct{ expr, want string }{
		{"sign(CAST(1 AS smallint))", "smallint"},
		{"truncate(2.75)", "decimal(1,0)"},
		{"truncate(123.456, 1)", "decimal(6,3)"},
		{"sqrt(2)", "double"},
		{"mod(7, 2.5)", "decimal(2,1)"},
	} {
		if got := compiledType(t, "SELECT "+c.expr+" AS x FROM S1"); got != c.want {
			t.Errorf("type of %s: %s, want %s", c.expr, got, c.want)
		}
	}
	expectRefused(t, run, []exprCase{
		{"sqrt('a')", "Unexpected parameters (varchar) for function sqrt"},
		{"sqrt(1, 2)", "Unexpected parameters for function sqrt: 2 arguments"},
		{"truncate(1.5, 'a')", "Unexpected parameters (decimal(2,1), varchar) for function truncate"},
		{"truncate(2.759e0, 2)", "Unexpected parameters (double, integer) for function truncate"},
		{"nan()", "Function 'nan' not registered"},
		{"truncate_n(1, 2)", "Function 'truncate_n' not registered"},
	})
	expectQueryErrors(t, run, []exprCase{{"mod(1, 0)", "Division by zero"}})
}
