package e2e

// Which trail delivers which event: single- and multi-region trails, global
// service events, organization trails, data event selectors.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// dlProbe is one test event and the trails that must deliver it.
type dlProbe struct {
	what   string
	record map[string]any
	id     string
	want   []string // bucket names
}

func TestDeliveryRegionsAndGlobalEvents(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig()})
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	west := srv.CloudTrail(AdminKey, AdminSecret, "us-west-2")
	buckets := map[string]dlBucket{}
	mk := func(name string) string {
		buckets[name] = dlDir{name: name, dir: dlMkBucket(t, srv, name)}
		return name
	}
	// Trails of Account1 (at most five per region):
	//   multi-east:   multi-region, home us-east-1
	//   multi-west:   multi-region, home us-west-2
	//   east-global:  single-region us-east-1, global service events
	//   east-local:   single-region us-east-1, no global service events
	//   west-global:  single-region us-west-2, global service events
	dlTrail(t, east, "multi-east", mk("multi-east"), dlMulti)
	dlTrail(t, west, "multi-west", mk("multi-west"), dlMulti)
	dlTrail(t, east, "east-global", mk("east-global"), func(in *cloudtrail.CreateTrailInput) {
		in.IncludeGlobalServiceEvents = aws.Bool(true)
	})
	dlTrail(t, east, "east-local", mk("east-local"), func(in *cloudtrail.CreateTrailInput) {
		in.IncludeGlobalServiceEvents = aws.Bool(false)
	})
	dlTrail(t, west, "west-global", mk("west-global"), func(in *cloudtrail.CreateTrailInput) {
		in.IncludeGlobalServiceEvents = aws.Bool(true)
	})
	// A trail of Account2 sees only Account2's events.
	bob := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	dlTrail(t, bob, "bob-multi", mk("bob-multi"), dlMulti)

	all := []string{"multi-east", "multi-west"}
	probes := []*dlProbe{
		{what: "ec2 in us-east-1", record: dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil),
			want: append(slices.Clone(all), "east-global", "east-local")},
		{what: "ec2 in us-west-2", record: dlEvent("RunInstances", "ec2.amazonaws.com", "us-west-2", Account1, nil),
			want: append(slices.Clone(all), "west-global")},
		{what: "ec2 in eu-west-1", record: dlEvent("RunInstances", "ec2.amazonaws.com", "eu-west-1", Account1, nil),
			want: slices.Clone(all)},
		{what: "ec2 of Account2 in eu-west-1", record: dlEvent("RunInstances", "ec2.amazonaws.com", "eu-west-1", Account2, nil),
			want: []string{"bob-multi"}},
	}
	for _, src := range []string{"iam.amazonaws.com", "sts.amazonaws.com", "cloudfront.amazonaws.com"} {
		probes = append(probes, &dlProbe{what: src + " in the global region",
			record: dlEvent("GlobalCall", src, "us-east-1", Account1, nil),
			want:   append(slices.Clone(all), "east-global")})
	}
	probes = append(probes, &dlProbe{what: "iam of Account2 in the global region",
		record: dlEvent("CreateUser", "iam.amazonaws.com", "us-east-1", Account2, nil), want: []string{"bob-multi"}})
	dlCheckRouting(t, srv, buckets, probes)

	// A multi-region trail writes each region's events under that region,
	// whatever its home region.
	for _, name := range all {
		regions := map[string]bool{}
		for _, f := range dlLogs(t, buckets[name], "") {
			if k, ok := dlParseLogKey(t, f.Key); ok {
				regions[k.Region] = true
			}
		}
		if len(regions) != 3 {
			t.Errorf("multi-region trail %s wrote files for regions %v, want all three", name, regions)
		}
	}
	for _, name := range []string{"east-global", "east-local", "west-global"} {
		for _, f := range dlLogs(t, buckets[name], "") {
			if want := "/CloudTrail/" + map[bool]string{true: "us-west-2", false: "us-east-1"}[strings.HasPrefix(name, "west")] + "/"; !strings.Contains(f.Key, want) {
				t.Errorf("single-region trail %s wrote %s, want only %s files", name, f.Key, want)
			}
		}
	}
}

func TestDeliveryOrganizationTrail(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig(dlOrganization)})
	start := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Second)
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	buckets := map[string]dlBucket{}
	mk := func(name string) string {
		buckets[name] = dlDir{name: name, dir: dlMkBucket(t, srv, name)}
		return name
	}
	orgARN := dlTrail(t, east, "org-trail", mk("org-logs"), dlAll(dlMulti, dlValidation, func(in *cloudtrail.CreateTrailInput) {
		in.IsOrganizationTrail = aws.Bool(true)
	}))
	// An ordinary trail of the management account: only its own events.
	dlTrail(t, east, "own-trail", mk("own-logs"), dlMulti)

	var probes []*dlProbe
	for _, acct := range []string{Account1, Account2} {
		for _, r := range dlRegions {
			want := []string{"org-logs"}
			if acct == Account1 {
				want = append(want, "own-logs")
			}
			probes = append(probes, &dlProbe{what: "ec2 of " + acct + " in " + r,
				record: dlEvent("RunInstances", "ec2.amazonaws.com", r, acct, nil), want: want})
		}
	}
	probes = append(probes, &dlProbe{what: "iam of Account2", record: dlEvent("CreateRole", "iam.amazonaws.com", "us-east-1", Account2, nil),
		want: []string{"org-logs"}})
	dlCheckRouting(t, srv, buckets, probes)

	org := dlLogs(t, buckets["org-logs"], "")
	dlCheckLayout(t, org, "", dlOrgID, start)
	accounts := map[string]bool{}
	for _, f := range org {
		if k, ok := dlParseLogKey(t, f.Key); ok {
			accounts[k.Account] = true
		}
	}
	if !accounts[Account1] || !accounts[Account2] {
		t.Errorf("organization trail files cover accounts %v, want both members", accounts)
	}
	dlCheckLayout(t, dlLogs(t, buckets["own-logs"], ""), "", "", start)

	// Member accounts see the organization trail; its digests of every
	// member verify.
	got, err := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1").GetTrail(context.Background(),
		&cloudtrail.GetTrailInput{Name: aws.String(orgARN)})
	if err != nil || !aws.ToBool(got.Trail.IsOrganizationTrail) {
		t.Errorf("GetTrail of the organization trail as a member: %+v, %v", got, err)
	}
	b := buckets["org-logs"].(dlDir)
	var parts []string
	for _, acct := range []string{Account1, Account2} {
		for _, r := range dlRegions {
			parts = append(parts, "AWSLogs/"+dlOrgID+"/"+acct+"/CloudTrail-Digest/"+r+"/")
		}
	}
	// The member's GetTrail above is an event the organization trail
	// delivers too: wait for digests that end after it can be delivered.
	dlWaitDigests(t, srv, b, time.Now().Add(1500*time.Millisecond), 1, parts...)
	keys := b.Keys(t)
	// Digests written after the listing cover every listed log file: their
	// end time (whole seconds, at or before their writing) is after it.
	dlWaitDigests(t, srv, b, time.Now().Add(time.Second), 1, parts...)
	res := dlVerify(t, "--trail-arn", orgARN, "--start-time", start.Format(time.RFC3339), "--endpoint", srv.URL,
		"--bucket-dir", b.dir, "--verbose")
	dlExpectAllValid(t, "cairn verify of the organization trail", res, b, dlKeysIn(keys, "/CloudTrail-Digest/"), dlKeysIn(keys, "/CloudTrail/"))
	for _, acct := range []string{Account1, Account2} {
		if !strings.Contains(res.stdout, "s3://org-logs/AWSLogs/"+dlOrgID+"/"+acct+"/CloudTrail-Digest/") {
			t.Errorf("cairn verify of the organization trail checked no digest of %s:\n%s", acct, res.stdout)
		}
	}
}

func TestDeliveryDataEvents(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig()})
	ctx := context.Background()
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	buckets := map[string]dlBucket{}
	mk := func(name string) string {
		buckets[name] = dlDir{name: name, dir: dlMkBucket(t, srv, name)}
		return name
	}
	dlTrail(t, east, "mgmt-only", mk("mgmt-logs"), nil)
	basic := dlTrail(t, east, "s3-data", mk("data-logs"), nil)
	if _, err := east.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(basic),
		EventSelectors: []types.EventSelector{{ReadWriteType: types.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true),
			DataResources: []types.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3:::customer-data/"}}}}}}); err != nil {
		t.Fatalf("PutEventSelectors: %v", err)
	}
	adv := dlTrail(t, east, "s3-data-only", mk("adv-logs"), nil)
	if _, err := east.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(adv),
		AdvancedEventSelectors: []types.AdvancedEventSelector{{Name: aws.String("S3 writes"), FieldSelectors: []types.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"Data"}},
			{Field: aws.String("resources.type"), Equals: []string{"AWS::S3::Object"}},
			{Field: aws.String("readOnly"), Equals: []string{"false"}},
		}}}}); err != nil {
		t.Fatalf("PutEventSelectors (advanced): %v", err)
	}

	s3Event := func(name, bucket, key string, readOnly bool) map[string]any {
		return dlEvent(name, "s3.amazonaws.com", "us-east-1", Account1, map[string]any{
			"eventCategory": "Data", "managementEvent": false, "readOnly": readOnly,
			"requestParameters": map[string]any{"bucketName": bucket, "key": key},
			"resources": []any{
				map[string]any{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::" + bucket + "/" + key},
				map[string]any{"accountId": Account1, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::" + bucket},
			},
		})
	}
	probes := []*dlProbe{
		{what: "GetObject in the selected bucket", record: s3Event("GetObject", "customer-data", "a/b.csv", true),
			want: []string{"data-logs"}},
		{what: "PutObject in the selected bucket", record: s3Event("PutObject", "customer-data", "c.csv", false),
			want: []string{"data-logs", "adv-logs"}},
		{what: "PutObject in another bucket", record: s3Event("PutObject", "other-bucket", "c.csv", false),
			want: []string{"adv-logs"}},
		{what: "a management event", record: dlEvent("CreateBucket", "s3.amazonaws.com", "us-east-1", Account1, nil),
			want: []string{"mgmt-logs", "data-logs"}},
	}
	dlCheckRouting(t, srv, buckets, probes)
}

// dlCheckRouting ingests the probes, then copies of them (new eventIDs),
// waits until every probe and copy is in every wanted bucket — once the
// copies are delivered the probes before them have been considered by every
// trail — and checks that each is in exactly one file there (in the folder
// of its account and region) and in no other bucket.
func dlCheckRouting(t *testing.T, srv *Server, buckets map[string]dlBucket, probes []*dlProbe) {
	t.Helper()
	var later []*dlProbe
	for _, p := range probes {
		q := &dlProbe{what: p.what + " (later)", want: p.want, record: map[string]any{}}
		for k, v := range p.record {
			q.record[k] = v
		}
		q.record["eventID"] = dlNewID()
		later = append(later, q)
	}
	want := map[string][]string{}
	for _, batch := range [][]*dlProbe{probes, later} {
		var recs []map[string]any
		for _, p := range batch {
			recs = append(recs, p.record)
		}
		ids := dlIngest(t, srv, recs...)
		for i, p := range batch {
			p.id = ids[i]
			for _, b := range p.want {
				want[b] = append(want[b], p.id)
			}
		}
	}
	files := map[string][]dlLogFile{}
	for name, b := range buckets {
		files[name] = dlWaitDelivered(t, srv, b, "", want[name], 30*time.Second)
	}
	for _, p := range append(probes, later...) {
		acct, region := p.record["recipientAccountId"], p.record["awsRegion"]
		for name := range buckets {
			where := dlWhere(files[name])[p.id]
			if !slices.Contains(p.want, name) {
				if len(where) != 0 {
					t.Errorf("%s: delivered by the trail of bucket %s (%v), want not", p.what, name, where)
				}
				continue
			}
			if len(where) != 1 {
				t.Errorf("%s: in %d files of bucket %s (%v), want 1", p.what, len(where), name, where)
				continue
			}
			if !strings.Contains(where[0], fmt.Sprintf("/%s/CloudTrail/%s/", acct, region)) {
				t.Errorf("%s: delivered by the trail of %s as %s, want in the folder of %s/%s", p.what, name, where[0], acct, region)
			}
		}
	}
}
