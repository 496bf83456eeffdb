package lakesql

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// TestInsertHotFieldsAsSQLiteReadsThem checks that the hot columns Insert
// reads with the event package's scanner hold what SQLite's own ->> reads
// from the stored record, for the shapes a record's fields can take.
func TestInsertHotFieldsAsSQLiteReadsThem(t *testing.T) {
	db := openTemp(t)
	recs := []string{
		`{"eventName":"GetObject","eventSource":"s3.amazonaws.com","awsRegion":"us-east-1","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"},"recipientAccountId":"111122223333"}`,
		`{"eventName":"Get\"Esc\u00e9\\aped","userIdentity":{"arn":null},"recipientAccountId":null}`,
		`{"eventName":null,"userIdentity":null}`,
		`{"userIdentity":{"sessionContext":{"arn":"nested"},"accountId":"1"}}`,
		`{"eventName":12,"eventSource":true,"awsRegion":1.5,"userIdentity":"x"}`,
		`{"eventName":{"a":1},"eventSource":["x"],"awsRegion":false}`,
		`{ "eventName" : "spaced" , "userIdentity" : { "arn" : "s" } }`,
	}
	var evs []*event.Event
	for i, r := range recs {
		evs = append(evs, &event.Event{ID: string(rune('a' + i)), Time: time.Unix(int64(i), 0), Record: []byte(r)})
	}
	ctx := context.Background()
	if err := db.Insert(ctx, "s1", evs); err != nil {
		t.Fatal(err)
	}
	// Idempotent: the same events again add nothing.
	if err := db.Insert(ctx, "s1", evs); err != nil {
		t.Fatal(err)
	}
	var n, events, sync int64
	// The writer does not sync each commit (the filler keeps its position
	// in the file with SetMark); Sync syncs and leaves it so.
	if err := db.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.w.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != 1 {
		t.Fatalf("writer's synchronous = %d (%v), want 1 (NORMAL)", sync, err)
	}
	if err := db.w.QueryRow(`SELECT count(*) FROM lake_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := db.w.QueryRow(`SELECT events FROM lake_stores WHERE store = 's1'`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if n != int64(len(recs)) || events != n {
		t.Fatalf("rows %d, counted %d, want %d", n, events, len(recs))
	}
	rows, err := db.w.Query(`SELECT e.event_id, e.event_name IS r.rec ->> '$.eventName', e.event_source IS r.rec ->> '$.eventSource',
		e.aws_region IS r.rec ->> '$.awsRegion', e.user_arn IS r.rec ->> '$.userIdentity.arn', e.account IS r.rec ->> '$.recipientAccountId'
		FROM (SELECT e.*, lake_rec(b.data, e.ref) AS rec FROM lake_events e JOIN lake_blocks b ON b.id = e.ref >> 8) AS r JOIN lake_events e ON e.id = r.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var same [5]bool
		if err := rows.Scan(&id, &same[0], &same[1], &same[2], &same[3], &same[4]); err != nil {
			t.Fatal(err)
		}
		if same != [5]bool{true, true, true, true, true} {
			t.Errorf("event %s (%s): hot columns equal to ->> : %v", id, recs[id[0]-'a'], same)
		}
	}
}

// TestSessionCredentialFromConsoleTrue runs the comparison AWS's sample
// query "list write events from the management console" makes
// (sessionCredentialFromConsole = true) over records that hold the field
// as CloudTrail writes it (the string "true") and as a JSON boolean.
func TestSessionCredentialFromConsoleTrue(t *testing.T) {
	db := openTemp(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []*event.Event
	for i, r := range []string{
		`{"eventName":"A","readOnly":false,"sessionCredentialFromConsole":"true"}`,
		`{"eventName":"B","readOnly":false,"sessionCredentialFromConsole":true}`,
		`{"eventName":"C","readOnly":false}`,
		`{"eventName":"D","readOnly":true,"sessionCredentialFromConsole":"true"}`,
	} {
		evs = append(evs, &event.Event{ID: string(rune('a' + i)), Time: t0.Add(time.Duration(i) * time.Minute), Record: []byte(r)})
	}
	ctx := context.Background()
	if err := db.Insert(ctx, "s1", evs); err != nil {
		t.Fatal(err)
	}
	st, err := Parse(`SELECT eventName FROM EDS WHERE sessionCredentialFromConsole = true AND readOnly = false ORDER BY eventName`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Run(ctx, st, RunOptions{Stores: map[string]string{"EDS": "s1"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Rows {
		got = append(got, *r[0])
	}
	if len(got) != 2 || got[0] != "A" || got[1] != "B" {
		t.Fatalf("console write events: %v, want [A B]", got)
	}
}

// TestCheck compiles statements without running them: a bad column is a
// *SyntaxError, a store the caller may not read an *UnknownStoreError.
func TestCheck(t *testing.T) {
	db := openTemp(t)
	stores := RunOptions{Stores: map[string]string{"EDS": "s1"}}
	for _, c := range []struct {
		sql  string
		want string // "", "syntax", "store"
	}{
		{`SELECT eventName, count(*) FROM EDS WHERE eventTime > '2026-01-01 00:00:00' GROUP BY eventName`, ""},
		{`SELECT noSuchColumn FROM EDS`, "syntax"},
		{`SELECT eventName FROM OTHER`, "store"},
	} {
		st, err := Parse(c.sql)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Check(st, stores)
		var se *SyntaxError
		var ue *UnknownStoreError
		got := ""
		switch {
		case errors.As(err, &se):
			got = "syntax"
		case errors.As(err, &ue):
			got = "store"
		case err != nil:
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("Check(%q) = %v, want %q", c.sql, err, c.want)
		}
	}
}
