package lakesql

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

func mkEvent(id string, t time.Time, name, source, arn string) *event.Event {
	rec := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":%q,"userName":"bob","sessionContext":{"sessionIssuer":{"userName":"role1"}}},"eventTime":%q,"eventSource":%q,"eventName":%q,"awsRegion":"us-east-1","requestParameters":{"bucketName":"b1","flag":true,"n":5},"eventID":%q,"readOnly":true,"resources":[{"ARN":"arn:aws:s3:::b1","type":"AWS::S3::Bucket"}],"recipientAccountId":"123456789012","eventCategory":"Management"}`,
		arn, t.UTC().Format(time.RFC3339), source, name, id)
	return &event.Event{ID: id, Time: t, Record: []byte(rec), Account: "123456789012", Region: "us-east-1"}
}

func TestSmoke(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "lake.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []*event.Event
	for i := 0; i < 10; i++ {
		evs = append(evs, mkEvent(fmt.Sprintf("e%d", i), t0.Add(time.Duration(i)*time.Hour), []string{"GetObject", "PutObject"}[i%2], "s3.amazonaws.com", "arn:aws:iam::123456789012:user/bob"))
	}
	if err := db.Insert(ctx, "store1", evs); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SELECT eventName, count(*) AS n FROM EDS-1 WHERE eventTime > '2026-01-01 02:00:00' GROUP BY eventName ORDER BY n DESC`,
		`SELECT eventTime, userIdentity.arn, element_at(requestParameters, 'bucketName'), requestParameters['flag'], readOnly FROM EDS-1 LIMIT 2`,
		`SELECT * FROM EDS-1 LIMIT 1`,
		`SELECT date_trunc('hour', eventTime), userIdentity.sessionContext.sessionIssuer.userName FROM EDS-1 WHERE regexp_like(eventName, '^Get') LIMIT 3`,
	} {
		st, err := Parse(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cq, err := compile(st, sqliteDialect{}, map[string]string{"EDS-1": "store1"}, time.Now())
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		t.Log(cq.sql)
		res, err := db.Run(ctx, st, RunOptions{Stores: map[string]string{"EDS-1": "store1"}})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		t.Log(res.Columns)
		for _, r := range res.Rows {
			var s []string
			for _, v := range r {
				if v == nil {
					s = append(s, "NULL")
				} else {
					s = append(s, *v)
				}
			}
			t.Log(s)
		}
	}
}
