package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"net/url"
	"time"

	"github.com/cairn-audit/cairn/internal/lake/lakesql"
)

// fastLoad writes n events of the same shape as gen's (30 days ending at
// end, 2,000 users, 120 skewed names over 20 sources, 4 regions) into
// store1 of the lake database at path with SQL that generates them inside
// SQLite, without the secondary indexes and rollups, which lakesql.Open
// then builds by sorting: minutes for 10M events instead of the hour
// Insert takes on a shared machine. The stored records hold only a few fields
// (~150 bytes, to keep 10M events within ~5 GB; the size column says how
// long gen-like records would be); the GROUP BY and needle queries read
// only the hot columns and sourceIPAddress. The events are not gen's own (SQLite's random()),
// so answers differ from a -n run's, not their shape. (ev is MATERIALIZED:
// each random() is drawn once per event, so that eventSource follows
// eventName as in gen.)
func fastLoad(path string, n int) {
	db, err := lakesql.Open(path) // the schema
	if err != nil {
		log.Fatal(err)
	}
	db.Close()
	w, err := sql.Open("sqlite", "file:"+url.PathEscape(path)+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	w.SetMaxOpenConns(1)
	ctx := context.Background()
	for _, q := range []string{
		`DROP INDEX IF EXISTS lake_events_t`, `DROP INDEX IF EXISTS lake_events_name`, `DROP INDEX IF EXISTS lake_events_user`,
		`DROP TABLE IF EXISTS lake_rollups`,
		`INSERT INTO lake_stores(num, store) VALUES (1, 'store1')`,
	} {
		if _, err := w.ExecContext(ctx, q); err != nil {
			log.Fatalf("%s: %v", q, err)
		}
	}
	t0 := time.Now()
	endMs, span := end.UnixMilli(), int64(days*24*time.Hour/time.Millisecond)
	const chunk = 500000
	for from := 1; from <= n; from += chunk {
		to := min(from+chunk-1, n)
		q := `WITH RECURSIVE g(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM g WHERE i < ?2),
		ev AS MATERIALIZED (SELECT i, ?3 - 1 - abs(random() % ?4) AS t, CAST(120 * (abs(random() % 1000000) / 1000000.0) * (abs(random() % 1000000) / 1000000.0) AS INTEGER) AS nm,
			abs(random() % 2000) AS u, abs(random() % 4) AS rg, abs(random() % 256) AS ip FROM g),
		full AS (SELECT i, t, printf('Action%03d', nm) AS name, printf('svc%02d.amazonaws.com', nm % 20) AS src,
			CASE rg WHEN 0 THEN 'us-east-1' WHEN 1 THEN 'us-west-2' WHEN 2 THEN 'eu-west-1' ELSE 'ap-southeast-2' END AS region,
			printf('arn:aws:sts::123456789012:assumed-role/role%04d/session', u) AS arn, printf('%08x-0000-4000-8000-%012x', i, i) AS eid,
			json_object('eventVersion', '1.09', 'userIdentity', json_object('type', 'AssumedRole', 'arn', printf('arn:aws:sts::123456789012:assumed-role/role%04d/session', u), 'accountId', '123456789012'),
				'eventTime', strftime('%Y-%m-%dT%H:%M:%SZ', t / 1000, 'unixepoch'), 'eventSource', printf('svc%02d.amazonaws.com', nm % 20),
				'eventName', printf('Action%03d', nm), 'awsRegion', CASE rg WHEN 0 THEN 'us-east-1' WHEN 1 THEN 'us-west-2' WHEN 2 THEN 'eu-west-1' ELSE 'ap-southeast-2' END,
				'sourceIPAddress', '203.0.113.' || ip, 'userAgent', 'aws-sdk-go-v2/1.30.4 os/linux lang/go#1.22',
				'requestParameters', json_object('bucketName', 'bucket-' || (i % 50)), 'eventID', printf('%08x-0000-4000-8000-%012x', i, i),
				'readOnly', json(CASE i % 2 WHEN 0 THEN 'true' ELSE 'false' END), 'eventType', 'AwsApiCall', 'managementEvent', json('true'),
				'recipientAccountId', '123456789012', 'eventCategory', 'Management') AS rec
			FROM ev)
		INSERT INTO lake_events(id, store, event_id, t, size, event_name, event_source, aws_region, user_arn, account)
		SELECT i, 1, eid, t, length(rec), name, src, region, arn, '123456789012' FROM full`
		tx, err := w.BeginTx(ctx, nil)
		if err != nil {
			log.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, q, from, to, endMs, span); err != nil {
			log.Fatal(err)
		}
		// The records, rebuilt from the row (the same values).
		if _, err := tx.ExecContext(ctx, `INSERT INTO lake_records(id, rec) SELECT id, jsonb(json_object('userIdentity', json_object('arn', user_arn),
			'eventTime', strftime('%Y-%m-%dT%H:%M:%SZ', t / 1000, 'unixepoch'), 'eventName', event_name,
			'sourceIPAddress', '203.0.113.' || (id % 256), 'eventID', event_id))
			FROM lake_events WHERE id BETWEEN ? AND ?`, from, to); err != nil {
			log.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("  %d events, %v\n", to, time.Since(t0).Round(time.Second))
	}
	if _, err := w.ExecContext(ctx, `UPDATE lake_stores SET events = (SELECT count(*) FROM lake_events), bytes = (SELECT sum(size) FROM lake_events) WHERE num = 1`); err != nil {
		log.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		log.Fatal(err)
	}
	w.Close()
	fmt.Printf("rows written in %v; building the indexes and rollups (lakesql.Open)\n", time.Since(t0).Round(time.Second))
	t1 := time.Now()
	if db, err = lakesql.Open(path); err != nil {
		log.Fatal(err)
	}
	db.Close()
	fmt.Printf("indexes and rollups built in %v\n", time.Since(t1).Round(time.Second))
}
