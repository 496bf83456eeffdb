package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// azOrgConfig is StandardConfig with an organization whose management
// account is Account1.
const azOrgConfig = StandardConfig + `organization: {id: o-a1b2c3d4e5, management_account: "111111111111"}
`

// azOps are the implemented CloudTrail operations, in the order the matrix
// runs them; reads mark the read-only preset's reach.
var azOps = []struct {
	name string
	read bool
	// target says the call names a trail (by ARN): Name, tags or none.
	target string
}{
	{"LookupEvents", true, ""},
	{"CreateTrail", false, ""},
	{"DescribeTrails", true, ""},
	{"ListTrails", true, ""},
	{"GetTrail", true, "name"},
	{"GetTrailStatus", true, "name"},
	{"UpdateTrail", false, "name"},
	{"StopLogging", false, "name"},
	{"StartLogging", false, "name"},
	{"PutEventSelectors", false, "name"},
	{"GetEventSelectors", true, "name"},
	{"PutInsightSelectors", false, "name"},
	{"GetInsightSelectors", true, "name"},
	{"AddTags", false, "tags"},
	{"ListTags", true, "tags"},
	{"RemoveTags", false, "tags"},
	{"DeleteTrail", false, "name"},
	{"ListPublicKeys", true, ""},
}

type azPrincipal struct {
	name, key, secret string
}

// Alice runs last, so that what she may do (DeleteTrail) does not take the
// target away from the others.
var azPrincipals = []azPrincipal{
	{"rita", ReaderKey, ReaderSecret},
	{"ivan", IngestKey, IngestSecret},
	{"carl", CustomKey, CustomSecret},
	{"bob", OtherKey, OtherSecret},
	{"unsigned", "", ""},
	{"badsig", AdminKey, "definitely-not-alices-secret"},
	{"alice", AdminKey, AdminSecret},
}

// azExpect is the answer the matrix expects: "" for success, else the
// error code.
func azExpect(op string, read bool, target, who string) string {
	switch who {
	case "unsigned":
		return "MissingAuthenticationTokenException"
	case "badsig":
		return "InvalidSignatureException"
	case "alice":
		return ""
	case "rita":
		if op == "IngestEvents" || !read {
			return "AccessDeniedException"
		}
		return ""
	case "ivan":
		if op == "IngestEvents" {
			return ""
		}
		return "AccessDeniedException"
	case "carl":
		if op == "LookupEvents" {
			return ""
		}
		return "AccessDeniedException"
	case "bob":
		switch target {
		case "name":
			return "TrailNotFoundException"
		case "tags":
			return "ResourceNotFoundException"
		}
		return ""
	}
	panic(who)
}

// azCall runs op with the SDK against the trail arn.
func azCall(ctx context.Context, c *cloudtrail.Client, op, arn, who string) error {
	mark := who + "-was-here"
	var err error
	switch op {
	case "LookupEvents":
		_, err = c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(5)})
	case "CreateTrail":
		_, err = c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("new-" + who), S3BucketName: aws.String("bucket-" + who)})
	case "DescribeTrails":
		_, err = c.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
	case "ListTrails":
		_, err = c.ListTrails(ctx, &cloudtrail.ListTrailsInput{})
	case "GetTrail":
		_, err = c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: &arn})
	case "GetTrailStatus":
		_, err = c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: &arn})
	case "UpdateTrail":
		_, err = c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: &arn, S3KeyPrefix: aws.String(mark)})
	case "StopLogging":
		_, err = c.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: &arn})
	case "StartLogging":
		_, err = c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: &arn})
	case "PutEventSelectors":
		_, err = c.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: &arn, EventSelectors: []types.EventSelector{{
			ReadWriteType: types.ReadWriteTypeWriteOnly, IncludeManagementEvents: aws.Bool(true),
			DataResources: []types.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3:::" + mark + "/"}}}}}})
	case "GetEventSelectors":
		_, err = c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: &arn})
	case "PutInsightSelectors":
		_, err = c.PutInsightSelectors(ctx, &cloudtrail.PutInsightSelectorsInput{TrailName: &arn,
			InsightSelectors: []types.InsightSelector{{InsightType: types.InsightTypeApiCallRateInsight}}})
	case "GetInsightSelectors":
		_, err = c.GetInsightSelectors(ctx, &cloudtrail.GetInsightSelectorsInput{TrailName: &arn})
	case "AddTags":
		_, err = c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: &arn, TagsList: []types.Tag{{Key: aws.String(mark), Value: aws.String("1")}}})
	case "ListTags":
		_, err = c.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}})
	case "RemoveTags":
		_, err = c.RemoveTags(ctx, &cloudtrail.RemoveTagsInput{ResourceId: &arn, TagsList: []types.Tag{{Key: aws.String("keep")}}})
	case "DeleteTrail":
		_, err = c.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: &arn})
	case "ListPublicKeys":
		_, err = c.ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{})
	default:
		panic(op)
	}
	return err
}

func TestAuthzMatrix(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: azOrgConfig})
	ctx := context.Background()
	for _, b := range []string{"logs-1", "logs-2", "org-logs", "bucket-alice", "bucket-bob", "bucket-rita", "bucket-carl", "bucket-ivan"} {
		if err := os.MkdirAll(filepath.Join(srv.DataDir, "buckets", b), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	alice := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bob := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	mk := func(c *cloudtrail.Client, in *cloudtrail.CreateTrailInput) string {
		t.Helper()
		out, err := c.CreateTrail(ctx, in)
		if err != nil {
			t.Fatalf("CreateTrail %s: %v", aws.ToString(in.Name), err)
		}
		if _, err := c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: out.TrailARN}); err != nil {
			t.Fatalf("StartLogging: %v", err)
		}
		return aws.ToString(out.TrailARN)
	}
	tag := []types.Tag{{Key: aws.String("keep"), Value: aws.String("secret-tag-value")}}
	t1 := mk(alice, &cloudtrail.CreateTrailInput{Name: aws.String("tr1"), S3BucketName: aws.String("logs-1"), TagsList: tag})
	t2 := mk(bob, &cloudtrail.CreateTrailInput{Name: aws.String("tr2"), S3BucketName: aws.String("logs-2"), TagsList: tag})
	org := mk(alice, &cloudtrail.CreateTrailInput{Name: aws.String("org1"), S3BucketName: aws.String("org-logs"),
		IsOrganizationTrail: aws.Bool(true), IsMultiRegionTrail: aws.Bool(true)})
	for _, c := range []*cloudtrail.Client{alice, bob} {
		arn := t1
		if c == bob {
			arn = t2
		}
		if _, err := c.PutInsightSelectors(ctx, &cloudtrail.PutInsightSelectorsInput{TrailName: &arn,
			InsightSelectors: []types.InsightSelector{{InsightType: types.InsightTypeApiCallRateInsight}}}); err != nil {
			t.Fatalf("PutInsightSelectors: %v", err)
		}
	}
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	a1 := srv.Ingest(t, AdminKey, AdminSecret, Record("Account1Secret", "s3.amazonaws.com", "us-east-1", at, nil))
	a2 := srv.Ingest(t, OtherKey, OtherSecret, Record("Account2Thing", "s3.amazonaws.com", "us-east-1", at, nil))
	if a1.Accepted != 1 || a2.Accepted != 1 {
		t.Fatalf("ingest: %+v %+v", a1, a2)
	}

	cells := 0
	for _, op := range azOps {
		for _, p := range azPrincipals {
			want := azExpect(op.name, op.read, op.target, p.name)
			var got string
			if p.name == "unsigned" {
				st, b := biSend(t, biApiReq(t, srv, op.name, []byte(`{"Name":"`+t1+`"}`)))
				typ, _, ok := biAwsError(b)
				if !ok || st < 400 || st > 499 {
					t.Errorf("%s unsigned: HTTP %d %s", op.name, st, b)
				}
				got = typ
			} else {
				got = apiCode(azCall(ctx, srv.CloudTrail(p.key, p.secret, "us-east-1"), op.name, t1, p.name))
			}
			cells++
			if got != want {
				t.Errorf("%s by %s: got %q, want %q", op.name, p.name, got, want)
			}
		}
	}
	// Ingest: POST /v1/events.
	for _, p := range azPrincipals {
		want := azExpect("IngestEvents", false, "", p.name)
		body := biMustJSON(t, map[string]any{"Records": []any{Record("IngestBy-"+p.name, "ec2.amazonaws.com", "us-east-1", at, nil)}})
		var req *http.Request
		if p.name == "unsigned" {
			req = biRawReq(t, srv, http.MethodPost, "/v1/events", body, nil)
		} else {
			req = biSignedIngest(t, srv, p.key, p.secret, body)
		}
		st, b := biSend(t, req)
		got := ""
		if st != 200 {
			got, _, _ = biAwsError(b)
		} else {
			var res IngestResult
			if json.Unmarshal(b, &res) != nil || res.Accepted != 1 {
				t.Errorf("ingest by %s: %s", p.name, b)
			}
		}
		cells++
		if got != want {
			t.Errorf("IngestEvents by %s: got %q, want %q (HTTP %d %s)", p.name, got, want, st, b)
		}
	}
	t.Logf("authorization matrix: %d operations × %d principals + ingest = %d cells", len(azOps), len(azPrincipals), cells)

	// What nobody but alice could have done to account 1's trails.
	for _, region := range []string{"us-east-1", "us-west-2", "eu-west-1"} {
		c := srv.CloudTrail(AdminKey, AdminSecret, region)
		d, err := c.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
		if err != nil {
			t.Fatal(err)
		}
		b := string(biMustJSON(t, d.TrailList))
		for _, who := range []string{"rita", "ivan", "carl", "bob", "unsigned", "badsig"} {
			if strings.Contains(b, who+"-was-here") || strings.Contains(b, "new-"+who) {
				t.Errorf("%s changed account 1's trails in %s: %s", who, region, b)
			}
		}
	}
	if _, err := alice.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: &t1}); apiCode(err) != "TrailNotFoundException" {
		t.Errorf("t1 after alice's DeleteTrail: %v", err)
	}
	if tags, err := bob.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{t2}}); err != nil ||
		strings.Contains(string(biMustJSON(t, tags)), "was-here") {
		t.Errorf("bob's tags: %v %s", err, biMustJSON(t, tags))
	}

	// Cross-account: bob sees none of account 1's events, trails, tags or
	// status (the organization trail excepted, read-only, as documented).
	t1b := mk(alice, &cloudtrail.CreateTrailInput{Name: aws.String("tr1b"), S3BucketName: aws.String("logs-1"), TagsList: tag})
	for _, region := range []string{"us-east-1", "us-west-2", "eu-west-1"} {
		bc := srv.CloudTrail(OtherKey, OtherSecret, region)
		if evs := lookupAll(t, bc, &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventId, a1.EventIDs[0])}); len(evs) != 0 {
			t.Errorf("bob found account 1's event by id in %s: %v", region, eventNames(evs))
		}
		for _, e := range lookupAll(t, bc, &cloudtrail.LookupEventsInput{}) {
			var rec struct {
				RecipientAccountID string `json:"recipientAccountId"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec); err != nil || rec.RecipientAccountID != Account2 {
				t.Errorf("bob sees an event of account %q in %s: %s", rec.RecipientAccountID, region, aws.ToString(e.CloudTrailEvent))
			}
		}
		d, err := bc.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range d.TrailList {
			if strings.Contains(aws.ToString(tr.TrailARN), Account1) && aws.ToString(tr.TrailARN) != org {
				t.Errorf("bob's DescribeTrails in %s shows %s", region, aws.ToString(tr.TrailARN))
			}
		}
		l, err := bc.ListTrails(ctx, &cloudtrail.ListTrailsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range l.Trails {
			if strings.Contains(aws.ToString(tr.TrailARN), Account1) && aws.ToString(tr.TrailARN) != org {
				t.Errorf("bob's ListTrails in %s shows %s", region, aws.ToString(tr.TrailARN))
			}
		}
		d, err = bc.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{TrailNameList: []string{t1b, "tr1b"}})
		if err != nil || len(d.TrailList) != 0 {
			t.Errorf("bob's DescribeTrails by name and ARN of t1b in %s: %v %s", region, err, biMustJSON(t, d))
		}
	}
	for _, name := range []string{t1b, "tr1b"} {
		if _, err := bob.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: &name}); apiCode(err) != "TrailNotFoundException" {
			t.Errorf("bob GetTrail %s: %v", name, err)
		}
		if _, err := bob.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: &name}); apiCode(err) != "TrailNotFoundException" {
			t.Errorf("bob GetTrailStatus %s: %v", name, err)
		}
		if _, err := bob.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: &name}); apiCode(err) != "TrailNotFoundException" {
			t.Errorf("bob GetEventSelectors %s: %v", name, err)
		}
	}
	if out, err := bob.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{t1b}}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("bob ListTags of t1b: %v %s", err, biMustJSON(t, out))
	}
	// The organization trail: members see it and may not change it.
	for _, try := range []func() error{
		func() error { _, err := bob.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: &org}); return err },
		func() error { _, err := bob.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: &org}); return err },
		func() error {
			_, err := bob.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: &org, S3BucketName: aws.String("logs-2")})
			return err
		},
		func() error {
			_, err := bob.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: &org, TagsList: []types.Tag{{Key: aws.String("bob"), Value: aws.String("x")}}})
			return err
		},
		func() error {
			_, err := bob.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: &org,
				EventSelectors: []types.EventSelector{{ReadWriteType: types.ReadWriteTypeReadOnly}}})
			return err
		},
	} {
		if err := try(); apiCode(err) != "NotOrganizationMasterAccountException" {
			t.Errorf("bob changing the organization trail: %v, want NotOrganizationMasterAccountException", err)
		}
	}
	st, err := alice.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: &org})
	if err != nil || !aws.ToBool(st.IsLogging) {
		t.Errorf("organization trail after bob's tries: %v logging=%v", err, st != nil && aws.ToBool(st.IsLogging))
	}
	g, err := alice.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: &org})
	if err != nil || aws.ToString(g.Trail.S3BucketName) != "org-logs" {
		t.Errorf("organization trail changed: %v %s", err, biMustJSON(t, g))
	}
	// Alice sees none of account 2's events either.
	if evs := lookupAll(t, alice, &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventId, a2.EventIDs[0])}); len(evs) != 0 {
		t.Errorf("alice found account 2's event by id: %v", eventNames(evs))
	}
	healthyAZ := biHealthy(t, srv)
	if !healthyAZ || strings.Contains(srv.Log(), "panic") {
		t.Errorf("server unhealthy after the matrix:\n%s", srv.Log())
	}
}
