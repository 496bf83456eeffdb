package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// TestSDKBackfillSpreadOverDays ingests, through POST /v1/events, history
// spread over 40 days (as an import of an archive does: each batch holds
// events of every day, some days busy, most keys seen once or twice) and
// finds each event through the SDK by each of its attributes, alone and
// with a time range around it, and lists each day's events exactly; then
// again after a restart, from the index on disk.
func TestSDKBackfillSpreadOverDays(t *testing.T) {
	t.Parallel()
	backfillSpreadOverDays(t, StandardConfig)
}

// TestSDKBackfillSmallIndexCache is TestSDKBackfillSpreadOverDays with the
// index writer's page cache at its smallest (store.cache_mib: 16): the
// setting is accepted, and lookups find the same events before and after
// a restart.
func TestSDKBackfillSmallIndexCache(t *testing.T) {
	t.Parallel()
	backfillSpreadOverDays(t, StandardConfig+"store: {driver: sqlite, cache_mib: 16}\n")
}

// backfillSpreadOverDays runs TestSDKBackfillSpreadOverDays on a server
// with config.
func backfillSpreadOverDays(t *testing.T, config string) {
	srv := Start(t, Options{Config: config})
	now := time.Now().UTC().Truncate(time.Second)
	first := now.Add(-40 * 24 * time.Hour)
	type sent struct {
		id, name, user, key, bucket string
		at                          time.Time
	}
	var all []sent
	for b := range 4 {
		var recs []map[string]any
		for i := range 150 {
			n := b*150 + i
			at := first.Add(time.Duration(n*n*7919%(40*86400)) * time.Second)
			if n%5 == 0 {
				at = first.Add(12*24*time.Hour + time.Duration(n)*time.Second) // a busy day
			}
			s := sent{id: fmt.Sprintf("bf000000-0000-0000-0000-%012d", n), name: []string{"GetObject", "PutObject", "DeleteObject"}[n%3],
				user: fmt.Sprintf("backfill-user-%d", n), key: fmt.Sprintf("AKIABACKFILL%06d", n), bucket: fmt.Sprintf("backfill-bucket-%d", n), at: at}
			all = append(all, s)
			recs = append(recs, Record(s.name, "s3.amazonaws.com", "us-east-1", at, map[string]any{
				"eventID": s.id, "readOnly": n%3 == 0,
				"userIdentity": map[string]any{"type": "IAMUser", "principalId": "AIDABACKFILL", "userName": s.user,
					"accessKeyId": s.key, "arn": "arn:aws:iam::111111111111:user/" + s.user, "accountId": Account1},
				"resources": []map[string]any{{"ARN": "arn:aws:s3:::" + s.bucket, "type": "AWS::S3::Bucket", "accountId": Account1}},
			}))
		}
		if res := srv.Ingest(t, AdminKey, AdminSecret, recs...); res.Accepted != len(recs) || len(res.Failed) != 0 {
			t.Fatalf("ingest batch %d: %+v", b, res)
		}
	}
	ids := func(evs []types.Event) []string {
		var out []string
		for _, e := range withoutSelfAudit(evs) {
			out = append(out, aws.ToString(e.EventId))
		}
		return out
	}
	check := func(when string, c *cloudtrail.Client) {
		t.Helper()
		for i, s := range all {
			if i%7 != 0 {
				continue
			}
			around := func(in *cloudtrail.LookupEventsInput) *cloudtrail.LookupEventsInput {
				in.StartTime, in.EndTime = aws.Time(s.at.Add(-30*time.Minute)), aws.Time(s.at.Add(30*time.Minute))
				return in
			}
			for _, la := range [][]types.LookupAttribute{
				attr(types.LookupAttributeKeyEventId, s.id),
				attr(types.LookupAttributeKeyUsername, s.user),
				attr(types.LookupAttributeKeyAccessKeyId, s.key),
				attr(types.LookupAttributeKeyResourceName, s.bucket),
				attr(types.LookupAttributeKeyResourceName, "arn:aws:s3:::"+s.bucket),
			} {
				for _, in := range []*cloudtrail.LookupEventsInput{
					{LookupAttributes: la, StartTime: aws.Time(first.Add(-time.Hour))},
					around(&cloudtrail.LookupEventsInput{LookupAttributes: la}),
				} {
					if got := ids(lookupAll(t, c, in)); !slices.Equal(got, []string{s.id}) {
						t.Fatalf("%s: %s=%s: %v, want [%s]", when, la[0].AttributeKey, aws.ToString(la[0].AttributeValue), got, s.id)
					}
				}
			}
			// By its event name in its hour: it is among them.
			got := ids(lookupAll(t, c, around(&cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventName, s.name)})))
			if !slices.Contains(got, s.id) {
				t.Fatalf("%s: %s not among the %s events of its hour: %v", when, s.id, s.name, got)
			}
		}
		// Each day's events, exactly, and every event over the whole range.
		for d := range 41 {
			lo, hi := first.Add(time.Duration(d)*24*time.Hour), first.Add(time.Duration(d+1)*24*time.Hour-time.Second)
			var want []string
			for _, s := range all {
				if !s.at.Before(lo) && !s.at.After(hi) {
					want = append(want, s.id)
				}
			}
			got := ids(lookupAll(t, c, &cloudtrail.LookupEventsInput{StartTime: aws.Time(lo), EndTime: aws.Time(hi), MaxResults: aws.Int32(13)}))
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: day %d: %d events, want %d", when, d, len(got), len(want))
			}
		}
		got := ids(lookupAll(t, c, &cloudtrail.LookupEventsInput{StartTime: aws.Time(first.Add(-time.Hour))}))
		if len(got) != len(all) {
			t.Fatalf("%s: %d events over 40 days, want %d", when, len(got), len(all))
		}
	}
	check("just ingested", srv.CloudTrail(AdminKey, AdminSecret, "us-east-1"))
	srv.Stop(t)
	srv = Start(t, Options{Config: config, DataDir: srv.DataDir})
	check("after a restart", srv.CloudTrail(AdminKey, AdminSecret, "us-east-1"))
}
