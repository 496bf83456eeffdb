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

// TestRegexpReplaceOverLimitFails: through the engine, a regexp_replace
// whose result would be n×m bytes fails the query with the message naming
// the function and the limit.
func TestRegexpReplaceOverLimitFails(t *testing.T) {
	db, _ := loadFixture(t)
	s10k := "replace(replace(replace('aaaaaaaaaa','a','aaaaaaaaaa'),'a','aaaaaaaaaa'),'a','aaaaaaaaaa')"
	st, err := Parse("SELECT length(regexp_replace(" + s10k + ", '', " + s10k + ")) FROM " + storeID + " LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Run(context.Background(), st, RunOptions{Stores: map[string]string{storeID: "store1"}})
	var qe *QueryError
	if !errors.As(err, &qe) || !strings.Contains(qe.Msg, "regexp_replace builds is over the limit of 4 MiB") {
		t.Fatalf("Run = %v, want a QueryError naming regexp_replace and the limit", err)
	}
}
