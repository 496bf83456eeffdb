package lakesql

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-audit/cairn/internal/event"
)

// loadUnnestFixture is the fixture plus events with several resources and
// with none, in store "store1".
func loadUnnestFixture(t *testing.T) (*DB, []*fx) {
	t.Helper()
	fs := fixture()
	many := *fs[0]
	many.ID, many.Time, many.Name, many.Source = "ev-900", "2022-08-01 00:00:00", "CopyObject", "s3.amazonaws.com"
	many.ResourceArns = []string{"arn:aws:s3:::src-bucket", "arn:aws:s3:::dst-bucket", "arn:aws:s3:::my-bucket-name"}
	none := *fs[0]
	none.ID, none.Time, none.Name, none.ResourceArns, none.Params = "ev-901", "2022-08-02 00:00:00", "GetCallerIdentity", nil, nil
	fs = append(fs, &many, &none)
	db, err := Open(filepath.Join(t.TempDir(), "lake.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var evs []*event.Event
	for _, f := range fs {
		evs = append(evs, &event.Event{ID: f.ID, Time: f.time(), Record: f.record(), Account: f.Recipient, Region: f.Region})
	}
	if err := db.Insert(context.Background(), "store1", evs); err != nil {
		t.Fatal(err)
	}
	return db, fs
}

// TestUnnest: UNNEST over resources, a map and map_keys, as users of
// CloudTrail Lake (and Athena) write it, each answer computed here.
func TestUnnest(t *testing.T) {
	db, fs := loadUnnestFixture(t)
	eachResource := func(cols func(f *fx, i int, arn string) []string) [][]string {
		var out [][]string
		for _, f := range fs {
			for i, a := range f.ResourceArns {
				out = append(out, cols(f, i, a))
			}
		}
		return out
	}
	for _, c := range []struct {
		name, sql string
		want      func() [][]string
	}{
		{"one row per resource, the struct's fields by name", `SELECT eventID, r.ARN, r.type, r.accountId FROM $EDS_ID CROSS JOIN UNNEST(resources) AS t(r)`, func() [][]string {
			return eachResource(func(f *fx, _ int, a string) []string { return []string{f.ID, a, "AWS::Thing", f.Recipient} })
		}},
		{"events per resource ARN", `SELECT r.arn AS resource, count(*) AS n FROM $EDS_ID CROSS JOIN UNNEST(resources) AS t(r) GROUP BY r.arn HAVING count(*) > 1`, func() [][]string {
			n := map[string]int{}
			for _, f := range fs {
				for _, a := range f.ResourceArns {
					n[a]++
				}
			}
			var out [][]string
			for a, k := range n {
				if k > 1 {
					out = append(out, []string{a, itoa(int64(k))})
				}
			}
			return out
		}},
		{"a needle: the events that touched a bucket", `SELECT DISTINCT eventID, eventName FROM $EDS_ID, UNNEST(resources) AS t(res) WHERE res.ARN = 'arn:aws:s3:::my-bucket-name'`, func() [][]string {
			return rowsOf(fs, func(f *fx) bool { return slices.Contains(f.ResourceArns, "arn:aws:s3:::my-bucket-name") },
				func(f *fx) []string { return []string{f.ID, f.Name} })
		}},
		{"one column per field", `SELECT eventID, acct, arn FROM $EDS_ID CROSS JOIN UNNEST(resources) AS t(acct, kind, arn, prefix) WHERE kind = 'AWS::Thing'`, func() [][]string {
			return eachResource(func(f *fx, _ int, a string) []string { return []string{f.ID, f.Recipient, a} })
		}},
		{"with ordinality", `SELECT eventID, r.ARN, n FROM $EDS_ID CROSS JOIN UNNEST(resources) WITH ORDINALITY AS t(r, n)`, func() [][]string {
			return eachResource(func(f *fx, i int, a string) []string { return []string{f.ID, a, itoa(int64(i + 1))} })
		}},
		{"left join keeps events without resources", `SELECT eventID, r.ARN FROM $EDS_ID LEFT JOIN UNNEST(resources) AS t(r) ON true WHERE eventID IN ('ev-900', 'ev-901')`, func() [][]string {
			return [][]string{{"ev-900", "arn:aws:s3:::src-bucket"}, {"ev-900", "arn:aws:s3:::dst-bucket"}, {"ev-900", "arn:aws:s3:::my-bucket-name"}, {"ev-901", "NULL"}}
		}},
		{"a map: key and value", `SELECT eventID, k, v FROM $EDS_ID CROSS JOIN UNNEST(requestParameters) AS t(k, v) WHERE eventSource = 'iam.amazonaws.com'`, func() [][]string {
			var out [][]string
			for _, f := range fs {
				if f.Source != "iam.amazonaws.com" {
					continue
				}
				for k, v := range f.Params {
					out = append(out, []string{f.ID, k, v.(string)})
				}
			}
			return out
		}},
		{"map_keys: how often each request parameter is used", `SELECT k, count(*) FROM $EDS_ID CROSS JOIN UNNEST(map_keys(requestParameters)) AS t(k) GROUP BY k`, func() [][]string {
			n := map[string]int{}
			for _, f := range fs {
				for k := range maps.Keys(f.Params) {
					n[k]++
				}
			}
			var out [][]string
			for k, c := range n {
				out = append(out, []string{k, itoa(int64(c))})
			}
			return out
		}},
		{"unnest in a subquery", `SELECT count(*) FROM (SELECT eventID, r.ARN AS arn FROM $EDS_ID CROSS JOIN UNNEST(resources) AS t(r)) WHERE arn LIKE 'arn:aws:iam::%'`, func() [][]string {
			n := 0
			for _, f := range fs {
				for _, a := range f.ResourceArns {
					if strings.HasPrefix(a, "arn:aws:iam::") {
						n++
					}
				}
			}
			return [][]string{{itoa(int64(n))}}
		}},
	} {
		t.Run(c.name, func(t *testing.T) { checkRowsAnyOrder(t, db, storeID, c.sql, c.want()) })
	}
}

// TestUnnestMisuse: UNNEST written wrong is refused saying where and why.
func TestUnnestMisuse(t *testing.T) {
	db, _ := loadUnnestFixture(t)
	for _, c := range []struct {
		sql       string
		line, col int
		msg       string
	}{
		{"SELECT * FROM UNNEST(resources) AS t(r)", 1, 15, "UNNEST must follow the event data store it expands"},
		{"SELECT r FROM S1 CROSS JOIN UNNEST(eventName) AS t(r)", 1, 36, "Cannot unnest type: varchar"},
		{"SELECT r FROM S1 CROSS JOIN UNNEST(resources)", 1, 46, "UNNEST needs an alias naming its columns"},
		{"SELECT r FROM S1 CROSS JOIN UNNEST(resources) AS t", 1, 51, "UNNEST needs names for its columns"},
		{"SELECT r FROM S1 CROSS JOIN UNNEST(resources) AS t(a, b)", 1, 29, "Column alias list has 2 entries but 't' has 1 columns available"},
		{"SELECT k FROM S1 CROSS JOIN UNNEST(requestParameters) AS t(k)", 1, 29, "Column alias list has 1 entries but 't' has 2 columns available"},
		{"SELECT k FROM S1 CROSS JOIN UNNEST(requestParameters) WITH ORDINALITY AS t(k, v, n)", 1, 29, "WITH ORDINALITY is supported for arrays"},
		{"SELECT r FROM S1 CROSS JOIN UNNEST(resources, resources) AS t(r, s)", 1, 45, "UNNEST of more than one array is not supported"},
		{"SELECT r FROM S1 CROSS JOIN UNNEST(count(*)) AS t(r)", 1, 36, "UNNEST clause cannot contain aggregations"},
		{"SELECT r.nosuch FROM S1 CROSS JOIN UNNEST(resources) AS t(r)", 1, 8, "Column 'nosuch' cannot be resolved"},
		{"SELECT r FROM S1 CROSS JOIN UNNEST(x.resources) AS t(r)", 1, 36, "Column 'x.resources' cannot be resolved"},
		{"SELECT eventName FROM S1 UNNEST", 1, 26, "UNNEST is reserved and cannot be an alias"},
		{"SELECT r FROM S1 CROSS JOIN UNNEST(resources) WITH t(r)", 1, 52, "Expecting: ORDINALITY"},
	} {
		st, err := Parse(c.sql)
		if err == nil {
			_, err = db.Run(context.Background(), st, RunOptions{Stores: map[string]string{"S1": "store1"}})
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: %v (%T), want a *SyntaxError", c.sql, err, err)
			continue
		}
		if se.Line != c.line || se.Column != c.col || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("%q: %d:%d %q, want %d:%d %q", c.sql, se.Line, se.Column, se.Msg, c.line, c.col, c.msg)
		}
	}
}
