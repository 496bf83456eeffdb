package lakesql

import (
	"errors"
	"strings"
	"testing"
)

// exprCase is an expression (or a whole statement) and what it should
// give: its value, or the text of its error.
type exprCase struct{ expr, want string }

// oneRow is the statement that reads expr once over the fixture.
func oneRow(expr string) string { return "SELECT " + expr + " FROM $EDS_ID LIMIT 1" }

// expectValues checks each case's expression's value ("NULL" for NULL).
func expectValues(t *testing.T, run func(string) (*Result, error), cases []exprCase) {
	t.Helper()
	for _, c := range cases {
		res, err := run(oneRow(c.expr))
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if got := cell(res.Rows[0][0]); got != c.want {
			t.Errorf("%s: %q, want %q", c.expr, got, c.want)
		}
	}
}

// expectQueryErrors checks that each case's expression fails the query
// while it runs with exactly the message want.
func expectQueryErrors(t *testing.T, run func(string) (*Result, error), cases []exprCase) {
	t.Helper()
	for _, c := range cases {
		_, err := run(oneRow(c.expr))
		var qe *QueryError
		if !errors.As(err, &qe) || qe.Msg != c.want {
			t.Errorf("%s: %v; want the QueryError %q", c.expr, err, c.want)
		}
	}
}

// expectRefused checks that each case's statement (an expression, when
// it does not begin with SELECT) is refused before it runs, its message
// holding want.
func expectRefused(t *testing.T, run func(string) (*Result, error), cases []exprCase) {
	t.Helper()
	for _, c := range cases {
		sql := c.expr
		if !strings.HasPrefix(sql, "SELECT ") {
			sql = oneRow(sql)
		}
		_, err := run(sql)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(se.Error(), c.want) {
			t.Errorf("%s: %v; want a SyntaxError %q", sql, err, c.want)
		}
	}
}
