package lakesql

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// TestReplaceBounded: regexp_replace stops at the limit while it builds
// its result, with or without group references, and is unchanged under it.
func TestReplaceBounded(t *testing.T) {
	for _, c := range []struct {
		s, pat, repl string
		limit        int
		want         string // "" means over the limit
	}{
		{"abc", "b", "X", 10, "aXc"},
		{"abc", "(b)", "<$1$1>", 10, "a<bb>c"},
		{"abc", "", "-", 10, "-a-b-c-"},
		{strings.Repeat("a", 100), "", strings.Repeat("x", 100), 1000, ""},
		{strings.Repeat("a", 100), "(a)", "$1$1$1$1$1$1$1$1$1$1$1", 1000, ""},
	} {
		got, err := replaceBounded(regexp.MustCompile(c.pat), c.s, c.repl, c.limit)
		switch {
		case c.want == "" && (err == nil || !strings.HasPrefix(err.Error(), "The value regexp_replace builds is over the limit")):
			t.Errorf("replaceBounded(%.20q, %q, %.20q) = %.20v, %v; want over the limit", c.s, c.pat, c.repl, got, err)
		case c.want != "" && (err != nil || got != c.want):
			t.Errorf("replaceBounded(%q, %q, %q) = %v, %v; want %q", c.s, c.pat, c.repl, got, err, c.want)
		}
	}
}

// TestGoFunctionsOverLimitFail: through the engine, a regexp_replace whose
// result would be n×m bytes, and a date_format or format_datetime whose
// pattern could expand past the limit, fail the query with the message
// naming the function and the limit.
func TestGoFunctionsOverLimitFail(t *testing.T) {
	db, _ := loadFixture(t)
	s10k := "replace(replace(replace('aaaaaaaaaa','a','aaaaaaaaaa'),'a','aaaaaaaaaa'),'a','aaaaaaaaaa')"
	s100k := "replace(" + s10k + ", 'a', 'aaaaaaaaaa')"
	for _, c := range []struct{ expr, fn string }{
		{"length(regexp_replace(" + s10k + ", '', " + s10k + "))", "regexp_replace"},
		{"length(date_format(eventTime, replace(" + s100k + ", 'a', '%W%W%W')))", "date_format"},
		{"length(format_datetime(eventTime, replace(" + s100k + ", 'a', 'EEEEEE')))", "format_datetime"},
	} {
		st, err := Parse("SELECT " + c.expr + " FROM " + storeID + " LIMIT 1")
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Run(context.Background(), st, RunOptions{Stores: map[string]string{storeID: "store1"}})
		var qe *QueryError
		if !errors.As(err, &qe) || !strings.Contains(qe.Msg, c.fn+" builds is over the limit of 4 MiB") {
			t.Errorf("%s: Run = %v, want a QueryError naming %s and the limit", c.fn, err, c.fn)
		}
	}
}
