package lakesql

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// TestInsertHotFieldsAsSQLiteReadsThem checks that the hot columns Insert
// reads with the event package's scanner hold what SQLite's own ->> reads
// from the stored record, for the shapes a record's fields can take.
func TestInsertHotFieldsAsSQLiteReadsThem(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "lake.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
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
	var n, events int64
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
		FROM lake_events e JOIN lake_records r ON r.id = e.id`)
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
