package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// TestLakeSDKUnnestDistinctAndWindows: the SQL CloudTrail Lake users write
// beyond the basics — CROSS JOIN UNNEST(resources), IS [NOT] DISTINCT
// FROM, window functions — through aws-sdk-go-v2 against the real binary,
// with answers computed here, the record as eventJson too; misuse is refused with
// InvalidQueryStatementException saying where.
func TestLakeSDKUnnestDistinctAndWindows(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	store := lakeStoreID(t, ct, "sql-store")

	// 12 events: event i names i%4 resources and fails with AccessDenied
	// when i%3 == 0.
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	type ev struct {
		name, errorCode string
		arns            []string
	}
	var evs []ev
	var recs []map[string]any
	for i := range 12 {
		e := ev{name: fmt.Sprintf("Sql%d", i%5)}
		extra := map[string]any{"recipientAccountId": Account1}
		if i%3 == 0 {
			e.errorCode = "AccessDenied"
			extra["errorCode"] = e.errorCode
		}
		var res []map[string]any
		for j := range i % 4 {
			arn := fmt.Sprintf("arn:aws:s3:::bucket-%d", (i+j)%3)
			e.arns = append(e.arns, arn)
			res = append(res, map[string]any{"ARN": arn, "accountId": Account1, "type": "AWS::S3::Bucket"})
		}
		if res != nil {
			extra["resources"] = res
		}
		evs = append(evs, e)
		recs = append(recs, Record(e.name, lakeSource, "us-east-1", at.Add(time.Duration(i)*time.Second), extra))
	}
	if res := srv.Ingest(t, AdminKey, AdminSecret, recs...); res.Accepted != len(recs) {
		t.Fatalf("ingest: %+v", res)
	}
	ours := "eventSource = '" + lakeSource + "'"
	rowsOf := func(rows []map[string]string, cols ...string) []string {
		var out []string
		for _, r := range rows {
			var v []string
			for _, c := range cols {
				v = append(v, r[c])
			}
			out = append(out, strings.Join(v, "|"))
		}
		slices.Sort(out)
		return out
	}
	check := func(what, sql string, cols []string, want []string) {
		t.Helper()
		status, rows, _ := sdkQuery(t, ct, sql, 50)
		if status != types.QueryStatusFinished {
			t.Fatalf("%s: the query ended %s", what, status)
		}
		slices.Sort(want)
		if got := rowsOf(rows, cols...); !slices.Equal(got, want) {
			t.Errorf("%s:\ngot  %q\nwant %q", what, got, want)
		}
	}

	// Resources per bucket, by UNNEST.
	perBucket := map[string]int{}
	for _, e := range evs {
		for _, a := range e.arns {
			perBucket[a]++
		}
	}
	var want []string
	for a, n := range perBucket {
		want = append(want, fmt.Sprintf("%s|%d", a, n))
	}
	check("UNNEST", "SELECT r.ARN AS arn, count(*) AS n FROM "+store+" CROSS JOIN UNNEST(resources) AS t(r) WHERE "+ours+" GROUP BY r.ARN",
		[]string{"arn", "n"}, want)

	// Events that did not fail with AccessDenied, NULL included.
	want = nil
	for i, e := range evs {
		if e.errorCode != "AccessDenied" {
			want = append(want, fmt.Sprintf("%s|%d", e.name, i))
		}
	}
	check("IS DISTINCT FROM", "SELECT eventName, date_diff('second', timestamp '"+at.Format("2006-01-02 15:04:05")+"', eventTime) AS i FROM "+store+
		" WHERE "+ours+" AND errorCode IS DISTINCT FROM 'AccessDenied'", []string{"eventName", "i"}, want)

	// Each name's events numbered in time order, by a window.
	want = nil
	seen := map[string]int{}
	for i, e := range evs {
		seen[e.name]++
		want = append(want, fmt.Sprintf("%d|%d", i, seen[e.name]))
	}
	check("row_number() OVER", "SELECT date_diff('second', timestamp '"+at.Format("2006-01-02 15:04:05")+"', eventTime) AS i, row_number() OVER (PARTITION BY eventName ORDER BY eventTime) AS n FROM "+store+
		" WHERE "+ours, []string{"i", "n"}, want)

	// array_agg, split, stddev_pop and approx_percentile per name.
	want = nil
	byName := map[string][]int{}
	for i, e := range evs {
		byName[e.name] = append(byName[e.name], i)
	}
	for name, is := range byName {
		mean, ss := 0.0, 0.0
		for _, i := range is {
			mean += float64(i) / float64(len(is))
		}
		for _, i := range is {
			ss += (float64(i) - mean) * (float64(i) - mean)
		}
		// approx_percentile(…, 0.5): the value at index ⌊n/2⌋ of the
		// seconds, which are in order
		sd := strconv.FormatFloat(math.Round(math.Sqrt(ss/float64(len(is)))*1000)/1000, 'f', -1, 64)
		if !strings.Contains(sd, ".") {
			sd += ".0" // a double, as Lake writes one
		}
		want = append(want, fmt.Sprintf("%s|%d|%s|%s|%d", name, len(is), strings.TrimPrefix(name, "Sql"), sd, is[len(is)/2]))
	}
	secs := "date_diff('second', timestamp '" + at.Format("2006-01-02 15:04:05") + "', eventTime)"
	check("array_agg", "SELECT eventName, cardinality(array_agg(eventID)) AS c, element_at(split(eventName, 'l'), 2) AS d,"+
		" round(stddev_pop("+secs+"), 3) AS sd, approx_percentile("+secs+", 0.5) AS p FROM "+store+" WHERE "+ours+" GROUP BY eventName",
		[]string{"eventName", "c", "d", "sd", "p"}, want)

	// ROLLUP: a row per name, and the total, grouping() telling which.
	want = []string{fmt.Sprintf("|%d|1", len(evs))}
	for name, is := range byName {
		want = append(want, fmt.Sprintf("%s|%d|0", name, len(is)))
	}
	check("ROLLUP", "SELECT coalesce(eventName, '') AS name, count(*) AS n, grouping(eventName) AS g FROM "+store+" WHERE "+ours+
		" GROUP BY ROLLUP(eventName)", []string{"name", "n", "g"}, want)

	// eventJson is the record, eventJsonChecksum the base64 of its SHA-256.
	want = nil
	for i, e := range evs {
		want = append(want, fmt.Sprintf("%d|%s|%s|true", i, e.name, e.errorCode))
	}
	check("eventJson", "SELECT date_diff('second', timestamp '"+at.Format("2006-01-02 15:04:05")+"', eventTime) AS i,"+
		" json_extract_scalar(eventJson, '$.eventName') AS n, coalesce(json_extract_scalar(eventJson, '$.errorCode'), '') AS e,"+
		" length(eventJsonChecksum) = 44 AND eventJson LIKE '{%}' AS ok FROM "+store+" WHERE "+ours, []string{"i", "n", "e", "ok"}, want)
	status, rows, _ := sdkQuery(t, ct, "SELECT eventJson, eventJsonChecksum FROM "+store+" WHERE "+ours+" LIMIT 1", 10)
	if status != types.QueryStatusFinished || len(rows) != 1 {
		t.Fatalf("eventJson: %s %v", status, rows)
	}
	if sum := sha256.Sum256([]byte(rows[0]["eventJson"])); rows[0]["eventJsonChecksum"] != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("eventJsonChecksum %q is not the base64 SHA-256 of eventJson %q", rows[0]["eventJsonChecksum"], rows[0]["eventJson"])
	}

	// Misuse: refused at StartQuery, saying where.
	for _, bad := range []struct{ sql, where string }{
		{"SELECT x FROM " + store + " CROSS JOIN UNNEST(eventName) AS t(x)", "line 1:"},
		{"SELECT eventID FROM " + store + " WHERE row_number() OVER () = 1", "line 1:"},
		{"SELECT eventID FROM " + store + " WHERE errorCode IS DISTINCT FROM 1", "line 1:"},
	} {
		_, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(bad.sql)})
		var iq *types.InvalidQueryStatementException
		if !errors.As(err, &iq) || !strings.Contains(err.Error(), bad.where) {
			t.Errorf("StartQuery %q: %v; want InvalidQueryStatementException at %s", bad.sql, err, bad.where)
		}
	}
}
