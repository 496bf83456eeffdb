package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/history"
)

// serveLimits serves limitsConfig with more users (YAML list entries).
func serveLimits(t *testing.T, users string) *limitsEnv {
	t.Helper()
	cfg, err := config.Parse("api.yaml", []byte(limitsConfig+users))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	return serveConfig(t, cfg, Options{})
}

// LookupEventsPage's counts cover every matching event of the range (more
// than a LookupEvents page reaches), errors apart, in ONE recorded
// LookupEvents call with the filter in its requestParameters, authorized
// as LookupEvents is.
func TestLookupEventsPageCounts(t *testing.T) {
	e := serveLimits(t, `
      - name: ingester
        access_keys: [{id: AKIAINGESTONLY000001, secret: ingest-secret}]
        policy: ingest
`)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	start := now.Add(-3 * time.Hour)
	// 1,200 events over the last three hours, one in 10 failed.
	var recs []string
	wantTotal, wantErrors := 0, 0
	for i := 0; i < 1200; i++ {
		failed := ""
		if i%10 == 0 {
			failed, wantErrors = `,"errorCode":"AccessDenied"`, wantErrors+1
		}
		wantTotal++
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"%s","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","userIdentity":{"type":"IAMUser","userName":"carol"}%s}`,
			start.Add(time.Duration(i)*9*time.Second).Format(time.RFC3339), failed))
	}
	for _, part := range [][]string{recs[:600], recs[600:]} {
		resp, out := e.post(t, aliceKey, aliceSecret, "us-east-1", "/v1/events", "", nil, []byte(`{"Records":[`+strings.Join(part, ",")+`]}`))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("ingest: %d %s", resp.StatusCode, out)
		}
	}
	key, value := "Username", "carol"
	st, en := awsproto.Time{Time: start}, awsproto.Time{Time: now}
	in := history.PageInput{Input: history.Input{LookupAttributes: []history.LookupAttribute{{AttributeKey: &key, AttributeValue: &value}},
		StartTime: &st, EndTime: &en}, BucketSeconds: 600}
	count := func(who string, in history.PageInput) (history.CountOutput, error) {
		out, err := e.srv.LookupEventsPage(ctx, e.as(t, who), in)
		if err == nil && out.Counts == nil {
			t.Fatal("LookupEventsPage with a bucket width answered no counts")
		}
		if err != nil {
			return history.CountOutput{}, err
		}
		return *out.Counts, nil
	}
	got, err := count(aliceKey, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.Total != int64(wantTotal) || got.Errors != int64(wantErrors) || len(got.Buckets) != 19 {
		t.Fatalf("counted %d events, %d errors in %d buckets; want %d, %d in 19", got.Total, got.Errors, len(got.Buckets), wantTotal, wantErrors)
	}
	// Each 10-minute bucket holds the events of its 600 seconds: 67 (or 66).
	for i, b := range got.Buckets[:18] {
		if b.Count < 66 || b.Count > 67 || !b.Start.Equal(start.Add(time.Duration(i)*10*time.Minute)) {
			t.Errorf("bucket %d: %v %d", i, b.Start, b.Count)
		}
	}
	// One record of the call, with the filter.
	var calls []map[string]any
	waitFor(t, "the LookupEvents record", func() bool { calls = e.records(t, "LookupEvents"); return len(calls) >= 1 })
	if len(calls) != 1 {
		t.Fatalf("%d LookupEvents records, want 1", len(calls))
	}
	params := jsonOf(t, calls[0]["requestParameters"])
	for _, want := range []string{`"attributeKey":"Username"`, `"attributeValue":"carol"`, `"bucketSeconds":600`} {
		if !strings.Contains(params, want) {
			t.Errorf("requestParameters %s lack %s", params, want)
		}
	}
	// LookupEvents' rules and refusals.
	var ae *awsproto.Error
	bad := in
	bad.BucketSeconds = 1
	long := awsproto.Time{Time: now.Add(-24 * time.Hour)}
	bad.StartTime = &long
	if _, err := count(aliceKey, bad); !errors.As(err, &ae) || ae.Code != "InvalidParameterException" {
		t.Errorf("86,401 buckets: %v", err)
	}
	bad = in
	bad.StartTime, bad.EndTime = &en, &st
	if _, err := count(aliceKey, bad); !errors.As(err, &ae) || ae.Code != "InvalidTimeRangeException" {
		t.Errorf("start after end: %v", err)
	}
	bad = in
	other := "Colour"
	bad.LookupAttributes = []history.LookupAttribute{{AttributeKey: &other, AttributeValue: &value}}
	if _, err := count(aliceKey, bad); !errors.As(err, &ae) || ae.Code != "InvalidLookupAttributesException" {
		t.Errorf("bad attribute: %v", err)
	}
	if _, err := count("AKIAINGESTONLY000001", in); !errors.As(err, &ae) || ae.Code != "AccessDeniedException" ||
		!strings.Contains(ae.Message, "cloudtrail:LookupEvents") {
		t.Errorf("the ingest-only user's count: %v", err)
	}
}

// LookupEventsPage answers a page, its counts over the whole range and
// the read-only filter as ONE recorded LookupEvents call; LookupEventsExport
// streams every match as one more. The public LookupEvents still lists
// read-only events.
func TestLookupEventsPageAndExport(t *testing.T) {
	e := serveLimits(t, "")
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	start := now.Add(-2 * time.Hour)
	var recs []string
	wantShown, wantErrors := 0, 0
	for i := 0; i < 300; i++ {
		extra := `,"readOnly":true`
		if i%3 == 0 {
			extra, wantShown = `,"readOnly":false`, wantShown+1
			if i%2 == 0 {
				extra, wantErrors = extra+`,"errorCode":"AccessDenied"`, wantErrors+1
			}
		}
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"%s","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","userIdentity":{"type":"IAMUser","userName":"dave"}%s}`,
			start.Add(time.Duration(i)*20*time.Second).Format(time.RFC3339), extra))
	}
	resp, out := e.post(t, aliceKey, aliceSecret, "us-east-1", "/v1/events", "", nil, []byte(`{"Records":[`+strings.Join(recs, ",")+`]}`))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ingest: %d %s", resp.StatusCode, out)
	}
	key, value := "Username", "dave"
	st, en := awsproto.Time{Time: start.Add(-30 * time.Minute)}, awsproto.Time{Time: now}
	origin := awsproto.Time{Time: st.Truncate(time.Hour)}
	in := history.PageInput{Input: history.Input{LookupAttributes: []history.LookupAttribute{{AttributeKey: &key, AttributeValue: &value}},
		StartTime: &st, EndTime: &en, MaxResults: ptrInt(25)}, HideReadOnly: true, BucketSeconds: 900, BucketOrigin: &origin}
	page, err := e.srv.LookupEventsPage(ctx, e.as(t, aliceKey), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 25 || page.NextToken == nil || page.Counts == nil {
		t.Fatalf("page: %d events, token %v, counts %v", len(page.Events), page.NextToken, page.Counts)
	}
	for _, ev := range page.Events {
		if ev.ReadOnly == "true" {
			t.Fatalf("listed a read-only event: %+v", ev)
		}
	}
	if page.Counts.Total != int64(wantShown) || page.Counts.Errors != int64(wantErrors) || !page.Counts.Buckets[0].Start.Equal(origin.Time) {
		t.Fatalf("counts: %d events, %d errors, from %v; want %d, %d from %v", page.Counts.Total, page.Counts.Errors,
			page.Counts.Buckets[0].Start, wantShown, wantErrors, origin.Time)
	}
	// Buckets may begin well before the range (a local midnight before a
	// 90-day range's start, counted by the hour): still only the range counts.
	early := in
	early.BucketOrigin = &awsproto.Time{Time: st.Add(-47 * time.Hour)}
	if got, err := e.srv.LookupEventsPage(ctx, e.as(t, aliceKey), early); err != nil || got.Counts.Total != int64(wantShown) {
		t.Fatalf("an origin 47 hours early: %v, %+v", err, got.Counts)
	}
	in.NextToken = page.NextToken
	if _, err := e.srv.LookupEventsPage(ctx, e.as(t, aliceKey), in); err != nil {
		t.Fatal(err)
	}
	n := 0
	err = e.srv.LookupEventsExport(ctx, e.as(t, aliceKey), history.ExportInput{LookupAttributes: in.LookupAttributes,
		StartTime: &st, EndTime: &en, HideReadOnly: true, Format: "csv"}, func(history.Event) error { n++; return nil })
	if err != nil || n != wantShown {
		t.Fatalf("export: %d events, %v; want %d", n, err, wantShown)
	}
	var calls []map[string]any
	waitFor(t, "the LookupEvents records", func() bool { calls = e.records(t, "LookupEvents"); return len(calls) >= 4 })
	if len(calls) != 4 {
		t.Fatalf("%d LookupEvents records, want 4", len(calls))
	}
	for _, c := range calls {
		params := jsonOf(t, c["requestParameters"])
		for _, want := range []string{`"attributeValue":"dave"`, `"hideReadOnly":true`} {
			if !strings.Contains(params, want) {
				t.Errorf("requestParameters %s lack %s", params, want)
			}
		}
	}
	// The public API is unchanged: it lists the read-only events too.
	all, err := e.srv.LookupEvents(ctx, e.as(t, aliceKey), history.Input{LookupAttributes: in.LookupAttributes, StartTime: &st, EndTime: &en})
	if err != nil || len(all.Events) != 50 || all.Events[0].ReadOnly != "true" {
		t.Fatalf("LookupEvents: %d events, %v", len(all.Events), err)
	}
	var ae *awsproto.Error
	bad := in
	bad.NextToken = all.NextToken // a token of the listing with read-only events
	if _, err := e.srv.LookupEventsPage(ctx, e.as(t, aliceKey), bad); !errors.As(err, &ae) || ae.Code != "InvalidNextTokenException" {
		t.Errorf("another listing's token: %v", err)
	}
}

func ptrInt(n int) *int { return &n }
