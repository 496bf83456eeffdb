package lakesql

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds statements to the parser and compiler. Neither may
// panic; an error must be a *SyntaxError (or *UnknownStoreError); and
// what compiles must be SQL the engine accepts that reads nothing but the
// lake's event tables, with the user's text only in bound values.
func FuzzParse(f *testing.F) {
	for _, s := range samples() {
		f.Add(strings.ReplaceAll(strings.ReplaceAll(s.sql, "$EDS_ID", "S"), "eds-ID", "S"))
	}
	for _, s := range []string{
		"SELECT eventName, count(*) FROM S GROUP BY 1 HAVING count(*) > 2 ORDER BY 2 DESC LIMIT 5",
		"SELECT CASE WHEN readOnly THEN 'r' ELSE 'w' END, date_trunc('day', eventTime) FROM S WHERE eventTime > now() - interval '1' day",
		"SELECT a.eventID FROM S a LEFT JOIN S b ON a.eventID = b.eventID WHERE b.eventID IS NULL",
		"SELECT x FROM (SELECT eventName AS x FROM S) t WHERE x LIKE '%a_b%' ESCAPE '\\'",
		"WITH t AS (SELECT eventName FROM S) SELECT * FROM t UNION ALL SELECT eventSource FROM S",
		"SELECT element_at(resources, -1).arn, cardinality(resources) FROM S",
		"SELECT '; DROP TABLE lake_events; --', \"eventName\" FROM S",
		"SELECT r.arn, n, k, v FROM S CROSS JOIN UNNEST(resources) WITH ORDINALITY AS t(r, n) CROSS JOIN UNNEST(requestParameters) AS m(k, v)",
		"SELECT eventID FROM S WHERE errorCode IS DISTINCT FROM 'x' OR errorCode IS NOT DISTINCT FROM NULL",
		"SELECT count_if(readOnly) * 100.0 / count(*), avg(CASE WHEN readOnly THEN 1.0 ELSE 0.0 END), CAST('1.5' AS decimal(10, 2)) / 3 FROM S",
		"SELECT eventSource, awsRegion, count(*), grouping(eventSource) FROM S GROUP BY ROLLUP(eventSource, awsRegion) ORDER BY max(eventTime) FETCH FIRST 3 ROWS ONLY",
		"SELECT array_join(array_agg(DISTINCT eventName) FILTER (WHERE readOnly), ','), approx_percentile(length(eventName), 0.5), stddev(DISTINCT length(eventName)) FROM S",
		"SELECT substring(eventName FROM 2 FOR 3), position('a' IN eventName), trim(LEADING 'x' FROM eventName), typeof(1.5), date_parse('2023-01-05', '%Y-%m-%d') FROM S",
		"SELECT element_at(split(userIdentity.arn, '/'), -1), json_extract(eventJson, '$.userIdentity'), contains(ARRAY['a', 'b'], eventName) FROM S",
	} {
		f.Add(s)
	}
	db, err := Open(filepath.Join(f.TempDir(), "lake.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	f.Fuzz(func(t *testing.T, sql string) {
		st, err := Parse(sql)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): %T %v", sql, err, err)
			}
			return
		}
		stores := map[string]int64{}
		for _, s := range st.Stores() {
			stores[s] = 1
		}
		cq, err := compile(st, sqliteDialect{}, stores, time.Unix(0, 0))
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("compile(%q): %T %v", sql, err, err)
			}
			return
		}
		low := strings.ToLower(cq.sql)
		for _, bad := range []string{";", "sqlite_", "pragma", "attach", "load_extension", "\x00"} {
			if strings.Contains(low, bad) {
				t.Fatalf("compile(%q) emitted %q, which holds %q", sql, cq.sql, bad)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p, err := db.r.PrepareContext(ctx, cq.sql)
		if err != nil {
			t.Fatalf("compile(%q) emitted SQL the engine refuses: %v\n%s", sql, err, cq.sql)
		}
		p.Close()
	})
}
