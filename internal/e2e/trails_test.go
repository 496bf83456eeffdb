package e2e

// Tests of the trail control plane (CreateTrail … ListTags) through
// aws-sdk-go-v2 against the real binary: every operation, CloudTrail's
// naming, destination, region, organization, selector and tag rules with
// their exceptions, the walls between accounts and principals, and the
// management events the calls leave in event history.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// trailsExtras are the destinations trails may name: configured buckets of
// Account1 (other buckets are directories <data_dir>/buckets/<name>, owned
// by the first account that names them), audit-logs being one that Account2
// may write to as well, a KMS key, an SNS topic and a CloudWatch Logs group
// of Account1, and a log group of Account2.
const trailsExtras = `
buckets:
  - name: audit-logs
    url: file:///tmp/cairn-e2e-trails-audit-logs
    account: "111111111111"
    writers: ["222222222222"]
  - name: configured-bucket
    url: file:///tmp/cairn-e2e-trails-configured-bucket
    account: "111111111111"
kms_keys:
  - arn: "arn:aws:kms:us-east-1:111111111111:key/6f1c2a3b-1111-2222-3333-444455556666"
    account: "111111111111"
topics:
  - name: audit-topic
    account: "111111111111"
    url: "http://127.0.0.1:9/hook"
log_groups:
  - arn: "arn:aws:logs:us-east-1:111111111111:log-group:audit:*"
    account: "111111111111"
    url: "file:///tmp/cairn-e2e-trails-audit-log-group.jsonl"
  - arn: "arn:aws:logs:us-east-1:222222222222:log-group:bob-audit:*"
    account: "222222222222"
    url: "file:///tmp/cairn-e2e-trails-bob-log-group.jsonl"
`

// trailsConfig is StandardConfig with the destinations and an organization
// whose management account is Account1 (every configured account is a
// member).
const trailsConfig = StandardConfig + trailsExtras + `
organization:
  id: o-a1b2c3d4e5
  management_account: "111111111111"
`

// trailsNoOrgConfig has the destinations but no organization.
const trailsNoOrgConfig = StandardConfig + trailsExtras

const (
	trKeyID    = "6f1c2a3b-1111-2222-3333-444455556666"
	trKeyARN   = "arn:aws:kms:us-east-1:111111111111:key/6f1c2a3b-1111-2222-3333-444455556666"
	trTopicARN = "arn:aws:sns:us-east-1:111111111111:audit-topic"
	trGroupARN = "arn:aws:logs:us-east-1:111111111111:log-group:audit:*"
	trRoleARN  = "arn:aws:iam::111111111111:role/CloudTrail_CloudWatchLogs_Role"
	trBucket   = "audit-logs"
)

var trRegions = []string{"us-east-1", "us-west-2", "eu-west-1"}

// trStart starts a server and creates bucket directories in its data dir
// (the bucket check happens at request time).
func trStart(t *testing.T, config string, buckets ...string) *Server {
	t.Helper()
	// The configured buckets and log groups go to a directory of the test:
	// trails that log write there (log groups since trails stream to them).
	config = strings.ReplaceAll(config, "file:///tmp/cairn-e2e-trails-", "file://"+t.TempDir()+"/")
	srv := Start(t, Options{Config: config})
	for _, b := range buckets {
		if err := os.MkdirAll(filepath.Join(srv.DataDir, "buckets", b), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

func trARN(region, account, name string) string {
	return "arn:aws:cloudtrail:" + region + ":" + account + ":trail/" + name
}

// trErr asserts that err is the API error code and that its message
// contains each of parts.
func trErr(t *testing.T, what string, err error, code string, parts ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want %s", what, code)
		return
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: %v, want the API error %s", what, err, code)
		return
	}
	if ae.ErrorCode() != code {
		t.Errorf("%s: %s (%s), want %s", what, ae.ErrorCode(), ae.ErrorMessage(), code)
		return
	}
	for _, p := range parts {
		if !strings.Contains(ae.ErrorMessage(), p) {
			t.Errorf("%s: %s message %q does not say %q", what, code, ae.ErrorMessage(), p)
		}
	}
}

// trErrOneOf asserts that err is one of the API error codes.
func trErrOneOf(t *testing.T, what string, err error, codes ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want one of %v", what, codes)
		return
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || !slices.Contains(codes, ae.ErrorCode()) {
		t.Errorf("%s: %v, want one of %v", what, err, codes)
	}
}

func trOK(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// trCreate creates a trail that must be created.
func trCreate(t *testing.T, c *cloudtrail.Client, in *cloudtrail.CreateTrailInput) *cloudtrail.CreateTrailOutput {
	t.Helper()
	if in.S3BucketName == nil {
		in.S3BucketName = aws.String(trBucket)
	}
	out, err := c.CreateTrail(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateTrail %s: %v", aws.ToString(in.Name), err)
	}
	return out
}

func trDescribe(t *testing.T, c *cloudtrail.Client, in *cloudtrail.DescribeTrailsInput) []types.Trail {
	t.Helper()
	if in == nil {
		in = &cloudtrail.DescribeTrailsInput{}
	}
	out, err := c.DescribeTrails(context.Background(), in)
	trOK(t, "DescribeTrails", err)
	return out.TrailList
}

func trARNs(list []types.Trail) []string {
	var out []string
	for _, x := range list {
		out = append(out, aws.ToString(x.TrailARN))
	}
	sort.Strings(out)
	return out
}

func trListAll(t *testing.T, c *cloudtrail.Client) (infos []types.TrailInfo, pages int) {
	t.Helper()
	p := cloudtrail.NewListTrailsPaginator(c, &cloudtrail.ListTrailsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		trOK(t, "ListTrails", err)
		pages++
		infos = append(infos, page.Trails...)
	}
	return infos, pages
}

func trTags(t *testing.T, c *cloudtrail.Client, arn string) map[string]string {
	t.Helper()
	out, err := c.ListTags(context.Background(), &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}})
	trOK(t, "ListTags "+arn, err)
	if len(out.ResourceTagList) != 1 || aws.ToString(out.ResourceTagList[0].ResourceId) != arn {
		t.Fatalf("ListTags %s: %+v", arn, out.ResourceTagList)
	}
	m := map[string]string{}
	for _, tg := range out.ResourceTagList[0].TagsList {
		m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return m
}

func trJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// trWrites calls every operation that changes a trail on nameOrARN and
// returns the errors by operation.
func trWrites(c *cloudtrail.Client, nameOrARN string) map[string]error {
	ctx := context.Background()
	errs := map[string]error{}
	_, errs["UpdateTrail"] = c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(nameOrARN), S3KeyPrefix: aws.String("changed")})
	_, errs["StartLogging"] = c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(nameOrARN)})
	_, errs["StopLogging"] = c.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(nameOrARN)})
	_, errs["PutEventSelectors"] = c.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(nameOrARN),
		EventSelectors: []types.EventSelector{{ReadWriteType: types.ReadWriteTypeWriteOnly, IncludeManagementEvents: aws.Bool(true)}}})
	_, errs["PutInsightSelectors"] = c.PutInsightSelectors(ctx, &cloudtrail.PutInsightSelectorsInput{TrailName: aws.String(nameOrARN),
		InsightSelectors: []types.InsightSelector{{InsightType: types.InsightTypeApiCallRateInsight}}})
	_, errs["DeleteTrail"] = c.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(nameOrARN)})
	return errs
}

// trAllWrites asserts that every write on nameOrARN failed with code.
func trAllWrites(t *testing.T, who string, c *cloudtrail.Client, nameOrARN, code string) {
	t.Helper()
	for op, err := range trWrites(c, nameOrARN) {
		trErr(t, who+" "+op+" "+nameOrARN, err, code)
	}
}

// TestTrailLifecycle drives one trail through every setting and operation:
// CreateTrail with all destinations, GetTrail, DescribeTrails, UpdateTrail,
// GetTrailStatus with Start/StopLogging (by name and ARN), DeleteTrail.
func TestTrailLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := trStart(t, trailsConfig, trBucket)
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	arn := trARN("us-east-1", Account1, "life-trail")

	out := trCreate(t, c, &cloudtrail.CreateTrailInput{
		Name:                      aws.String("life-trail"),
		S3BucketName:              aws.String(trBucket),
		S3KeyPrefix:               aws.String("cairn/logs"),
		SnsTopicName:              aws.String("audit-topic"),
		EnableLogFileValidation:   aws.Bool(true),
		KmsKeyId:                  aws.String(trKeyID),
		CloudWatchLogsLogGroupArn: aws.String(trGroupARN),
		CloudWatchLogsRoleArn:     aws.String(trRoleARN),
		TagsList:                  []types.Tag{{Key: aws.String("team"), Value: aws.String("audit")}},
	})
	if aws.ToString(out.Name) != "life-trail" || aws.ToString(out.TrailARN) != arn ||
		aws.ToString(out.S3BucketName) != trBucket || aws.ToString(out.S3KeyPrefix) != "cairn/logs" ||
		aws.ToString(out.SnsTopicARN) != trTopicARN || aws.ToString(out.KmsKeyId) != trKeyARN ||
		!aws.ToBool(out.LogFileValidationEnabled) || !aws.ToBool(out.IncludeGlobalServiceEvents) ||
		aws.ToBool(out.IsMultiRegionTrail) || aws.ToBool(out.IsOrganizationTrail) ||
		aws.ToString(out.CloudWatchLogsLogGroupArn) != trGroupARN || aws.ToString(out.CloudWatchLogsRoleArn) != trRoleARN {
		t.Errorf("CreateTrail response: %s", trJSON(out))
	}

	g, err := c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("life-trail")})
	trOK(t, "GetTrail", err)
	tr := g.Trail
	if aws.ToString(tr.TrailARN) != arn || aws.ToString(tr.HomeRegion) != "us-east-1" || aws.ToString(tr.KmsKeyId) != trKeyARN ||
		aws.ToString(tr.SnsTopicARN) != trTopicARN || aws.ToString(tr.S3KeyPrefix) != "cairn/logs" ||
		aws.ToBool(tr.HasCustomEventSelectors) || aws.ToBool(tr.HasInsightSelectors) || !aws.ToBool(tr.LogFileValidationEnabled) {
		t.Errorf("GetTrail: %s", trJSON(tr))
	}
	g2, err := c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(arn)})
	trOK(t, "GetTrail by ARN", err)
	if aws.ToString(g2.Trail.Name) != "life-trail" {
		t.Errorf("GetTrail by ARN: %s", trJSON(g2.Trail))
	}
	if list := trDescribe(t, c, nil); len(list) != 1 || trJSON(list[0]) != trJSON(*tr) {
		t.Errorf("DescribeTrails = %s, want just %s", trJSON(list), trJSON(tr))
	}

	// GetTrailStatus: not logging after CreateTrail, no times yet.
	st, err := c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("life-trail")})
	trOK(t, "GetTrailStatus", err)
	if aws.ToBool(st.IsLogging) || st.StartLoggingTime != nil || st.StopLoggingTime != nil ||
		aws.ToString(st.TimeLoggingStarted) != "" || aws.ToString(st.TimeLoggingStopped) != "" {
		t.Errorf("GetTrailStatus of a new trail: %s", trJSON(st))
	}
	before := time.Now().Add(-2 * time.Second)
	_, err = c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("life-trail")})
	trOK(t, "StartLogging", err)
	after := time.Now().Add(2 * time.Second)
	st, err = c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
	trOK(t, "GetTrailStatus by ARN", err)
	if !aws.ToBool(st.IsLogging) || st.StartLoggingTime == nil || st.StartLoggingTime.Before(before) ||
		st.StartLoggingTime.After(after) || st.StopLoggingTime != nil {
		t.Errorf("GetTrailStatus after StartLogging: %s", trJSON(st))
	} else if ts, err := time.Parse(time.RFC3339, aws.ToString(st.TimeLoggingStarted)); err != nil ||
		!ts.Equal(st.StartLoggingTime.UTC().Truncate(time.Second)) {
		t.Errorf("TimeLoggingStarted %q does not match StartLoggingTime %s", aws.ToString(st.TimeLoggingStarted), st.StartLoggingTime)
	}
	started := aws.ToTime(st.StartLoggingTime)
	_, err = c.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(arn)})
	trOK(t, "StopLogging by ARN", err)
	st, err = c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("life-trail")})
	trOK(t, "GetTrailStatus", err)
	if aws.ToBool(st.IsLogging) || st.StopLoggingTime == nil || st.StopLoggingTime.Before(started) ||
		st.StopLoggingTime.After(time.Now().Add(2*time.Second)) || !aws.ToTime(st.StartLoggingTime).Equal(started) ||
		aws.ToString(st.TimeLoggingStopped) == "" {
		t.Errorf("GetTrailStatus after StopLogging: %s", trJSON(st))
	}
	_, err = c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(arn)})
	trOK(t, "StartLogging by ARN", err)
	if st, _ := c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("life-trail")}); !aws.ToBool(st.IsLogging) {
		t.Errorf("GetTrailStatus after the second StartLogging: IsLogging false")
	}

	// UpdateTrail (Name may be the ARN); only what is given changes.
	up, err := c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{
		Name:                    aws.String(arn),
		S3BucketName:            aws.String("configured-bucket"),
		S3KeyPrefix:             aws.String("new/prefix"),
		SnsTopicName:            aws.String(trTopicARN),
		KmsKeyId:                aws.String(trKeyARN),
		EnableLogFileValidation: aws.Bool(false),
	})
	trOK(t, "UpdateTrail", err)
	if aws.ToString(up.TrailARN) != arn || aws.ToString(up.S3BucketName) != "configured-bucket" ||
		aws.ToString(up.S3KeyPrefix) != "new/prefix" || aws.ToString(up.SnsTopicARN) != trTopicARN ||
		aws.ToString(up.KmsKeyId) != trKeyARN || aws.ToBool(up.LogFileValidationEnabled) ||
		aws.ToString(up.CloudWatchLogsLogGroupArn) != trGroupARN || !aws.ToBool(up.IncludeGlobalServiceEvents) {
		t.Errorf("UpdateTrail response: %s", trJSON(up))
	}
	// A failed update changes nothing.
	_, err = c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("life-trail"), S3KeyPrefix: aws.String("other"),
		S3BucketName: aws.String("no-such-bucket")})
	trErr(t, "UpdateTrail to a missing bucket", err, "S3BucketDoesNotExistException", "no-such-bucket")
	g, err = c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("life-trail")})
	trOK(t, "GetTrail", err)
	if aws.ToString(g.Trail.S3BucketName) != "configured-bucket" || aws.ToString(g.Trail.S3KeyPrefix) != "new/prefix" ||
		aws.ToBool(g.Trail.LogFileValidationEnabled) {
		t.Errorf("GetTrail after UpdateTrail: %s", trJSON(g.Trail))
	}
	if tags := trTags(t, c, arn); trJSON(tags) != `{"team":"audit"}` {
		t.Errorf("tags after CreateTrail with TagsList: %v", tags)
	}

	// DeleteTrail: gone from every read; a second delete is TrailNotFound.
	_, err = c.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("life-trail")})
	trOK(t, "DeleteTrail", err)
	_, err = c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("life-trail")})
	trErr(t, "GetTrail after DeleteTrail", err, "TrailNotFoundException")
	_, err = c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
	trErr(t, "GetTrailStatus after DeleteTrail", err, "TrailNotFoundException")
	_, err = c.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(arn)})
	trErr(t, "DeleteTrail twice", err, "TrailNotFoundException")
	if list := trDescribe(t, c, nil); len(list) != 0 {
		t.Errorf("DescribeTrails after DeleteTrail: %s", trJSON(list))
	}
	if infos, _ := trListAll(t, c); len(infos) != 0 {
		t.Errorf("ListTrails after DeleteTrail: %s", trJSON(infos))
	}
	// The name is free again.
	trCreate(t, c, &cloudtrail.CreateTrailInput{Name: aws.String("life-trail")})
}

// TestTrailNamesAndARNs covers the name rules, duplicates, unknown trails
// for every operation, and malformed or wrong-region ARNs.
func TestTrailNamesAndARNs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := trStart(t, trailsConfig, trBucket)
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	west := srv.CloudTrail(AdminKey, AdminSecret, "us-west-2")

	bad := []struct{ name, says string }{
		{"ab", "too short"},
		{"a", "too short"},
		{strings.Repeat("a", 129), "too long"},
		{"-trail", "start"},
		{"_trail", "start"},
		{"trail-", "end"},
		{"trail.", "end"},
		{"trail!", "end"},
		{"my--trail", ""},
		{"my-_trail", ""},
		{"my._trail", ""},
		{"my..trail", ""},
		{"my#trail", ""},
		{"my trail", ""},
		{"tráil", ""},
		{"192.168.5.4", ""},
		{"10.0.0.1", ""},
	}
	for _, b := range bad {
		_, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(b.name), S3BucketName: aws.String(trBucket)})
		if b.says != "" {
			trErr(t, fmt.Sprintf("CreateTrail %q", b.name), err, "InvalidTrailNameException", b.says)
		} else {
			trErr(t, fmt.Sprintf("CreateTrail %q", b.name), err, "InvalidTrailNameException")
		}
	}
	_, err := c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("ab")})
	trErr(t, "GetTrail ab", err, "InvalidTrailNameException")
	_, err = c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("ab")})
	trErr(t, "GetTrailStatus ab", err, "InvalidTrailNameException")

	good := []string{"abc", strings.Repeat("a", 128), "My.Trail_1-x", "1st.trail-2_b"}
	for _, n := range good {
		out := trCreate(t, c, &cloudtrail.CreateTrailInput{Name: aws.String(n)})
		if aws.ToString(out.TrailARN) != trARN("us-east-1", Account1, n) {
			t.Errorf("CreateTrail %q: TrailARN %s", n, aws.ToString(out.TrailARN))
		}
	}
	if got := len(trDescribe(t, c, nil)); got != len(good) {
		t.Errorf("DescribeTrails: %d trails, want %d", got, len(good))
	}

	_, err = c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("abc"), S3BucketName: aws.String(trBucket)})
	trErr(t, "CreateTrail duplicate", err, "TrailAlreadyExistsException", "abc")
	// Names are per region: the same name in another region is another trail.
	w := trCreate(t, west, &cloudtrail.CreateTrailInput{Name: aws.String("abc")})
	if aws.ToString(w.TrailARN) != trARN("us-west-2", Account1, "abc") {
		t.Errorf("CreateTrail abc in us-west-2: %s", aws.ToString(w.TrailARN))
	}

	// Unknown trails, by name and by ARN, for every operation that names one.
	for _, name := range []string{"no-such-trail", trARN("us-east-1", Account1, "no-such-trail")} {
		for op, err := range trWrites(c, name) {
			trErr(t, op+" "+name, err, "TrailNotFoundException")
		}
		_, err = c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(name)})
		trErr(t, "GetTrail "+name, err, "TrailNotFoundException")
		_, err = c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(name)})
		trErr(t, "GetTrailStatus "+name, err, "TrailNotFoundException")
		_, err = c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(name)})
		trErr(t, "GetEventSelectors "+name, err, "TrailNotFoundException")
		_, err = c.GetInsightSelectors(ctx, &cloudtrail.GetInsightSelectorsInput{TrailName: aws.String(name)})
		trErr(t, "GetInsightSelectors "+name, err, "TrailNotFoundException")
	}
	unknownARN := trARN("us-east-1", Account1, "no-such-trail")
	_, err = c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(unknownARN), TagsList: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	trErr(t, "AddTags unknown", err, "ResourceNotFoundException")
	_, err = c.RemoveTags(ctx, &cloudtrail.RemoveTagsInput{ResourceId: aws.String(unknownARN), TagsList: []types.Tag{{Key: aws.String("k")}}})
	trErr(t, "RemoveTags unknown", err, "ResourceNotFoundException")
	_, err = c.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{unknownARN}})
	trErr(t, "ListTags unknown", err, "ResourceNotFoundException")
	if list := trDescribe(t, c, &cloudtrail.DescribeTrailsInput{TrailNameList: []string{"no-such-trail"}}); len(list) != 0 {
		t.Errorf("DescribeTrails of an unknown name: %s", trJSON(list))
	}

	// Malformed ARNs.
	for _, a := range []string{
		"arn:aws:cloudtrail:us-east-1:1111:trail/abc",
		"arn:aws:s3:::audit-logs",
		"arn:aws:cloudtrail:us-east-1:111111111111:abc",
		"arn:aws:cloudtrail:us-east-1:111111111111:trail/",
		"arn:aws:cloudtrail",
	} {
		_, err = c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(a)})
		trErr(t, "GetTrail "+a, err, "CloudTrailARNInvalidException")
		_, err = c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(a)})
		trErr(t, "GetTrailStatus "+a, err, "CloudTrailARNInvalidException")
		_, err = c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(a)})
		trErr(t, "StartLogging "+a, err, "CloudTrailARNInvalidException")
		_, err = c.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(a)})
		trErr(t, "DeleteTrail "+a, err, "CloudTrailARNInvalidException")
		_, err = c.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{TrailNameList: []string{a}})
		trErr(t, "DescribeTrails "+a, err, "CloudTrailARNInvalidException")
		_, err = c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(a), TagsList: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		trErr(t, "AddTags "+a, err, "CloudTrailARNInvalidException")
		_, err = c.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{a}})
		trErr(t, "ListTags "+a, err, "CloudTrailARNInvalidException")
	}
	// A single-region trail's ARN used in another region: the region in the
	// ARN is wrong (CloudTrail's CloudTrailARNInvalidException).
	eastARN := trARN("us-east-1", Account1, "My.Trail_1-x")
	_, err = west.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(eastARN)})
	trErr(t, "GetTrail from another region", err, "CloudTrailARNInvalidException")
	_, err = west.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(eastARN)})
	trErr(t, "StartLogging from another region", err, "CloudTrailARNInvalidException")
	// …while its name there means nothing.
	_, err = west.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("My.Trail_1-x")})
	trErr(t, "GetTrail by name from another region", err, "TrailNotFoundException")
}

// TestTrailDestinations covers the bucket, prefix, KMS key, SNS topic and
// CloudWatch Logs rules of CreateTrail and UpdateTrail.
func TestTrailDestinations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := trStart(t, trailsConfig, trBucket, "dir.bucket-2")
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bob := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	n := 0
	// try creates a trail with in's settings; a success is deleted again so
	// the five-trail limit never interferes.
	try := func(cl *cloudtrail.Client, in cloudtrail.CreateTrailInput) (*cloudtrail.CreateTrailOutput, error) {
		n++
		in.Name = aws.String(fmt.Sprintf("dest-%d", n))
		if in.S3BucketName == nil {
			in.S3BucketName = aws.String(trBucket)
		}
		out, err := cl.CreateTrail(ctx, &in)
		if err == nil {
			_, derr := cl.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: in.Name})
			trOK(t, "DeleteTrail", derr)
		}
		return out, err
	}

	// Buckets: S3 naming rules first, then the bucket must resolve.
	for _, b := range []string{"Bad_Bucket", "ab", strings.Repeat("b", 64), "-bucket", "bucket-", "bad..bucket", "192.168.5.4", "bad bucket", "UPPER"} {
		_, err := try(c, cloudtrail.CreateTrailInput{S3BucketName: aws.String(b)})
		trErr(t, fmt.Sprintf("bucket %q", b), err, "InvalidS3BucketNameException")
	}
	_, err := try(c, cloudtrail.CreateTrailInput{S3BucketName: aws.String("no-such-bucket")})
	trErr(t, "missing bucket", err, "S3BucketDoesNotExistException", "no-such-bucket")
	for _, b := range []string{trBucket, "dir.bucket-2", "configured-bucket"} {
		out, err := try(c, cloudtrail.CreateTrailInput{S3BucketName: aws.String(b)})
		if err != nil {
			t.Errorf("bucket %q: %v", b, err)
		} else if aws.ToString(out.S3BucketName) != b {
			t.Errorf("bucket %q: response S3BucketName %q", b, aws.ToString(out.S3BucketName))
		}
	}
	// A directory that appears later resolves at request time.
	_, err = try(c, cloudtrail.CreateTrailInput{S3BucketName: aws.String("late-bucket")})
	trErr(t, "bucket before its directory exists", err, "S3BucketDoesNotExistException")
	if err := os.MkdirAll(filepath.Join(srv.DataDir, "buckets", "late-bucket"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = try(c, cloudtrail.CreateTrailInput{S3BucketName: aws.String("late-bucket")})
	trOK(t, "bucket after its directory exists", err)

	// Prefixes.
	for _, p := range []string{strings.Repeat("p", 201), "a/../b", "..", "../up", "/leading"} {
		_, err := try(c, cloudtrail.CreateTrailInput{S3KeyPrefix: aws.String(p)})
		trErr(t, fmt.Sprintf("prefix %.30q", p), err, "InvalidS3PrefixException")
	}
	for _, p := range []string{strings.Repeat("p", 200), "team/audit", "my.prefix-1"} {
		out, err := try(c, cloudtrail.CreateTrailInput{S3KeyPrefix: aws.String(p)})
		if err != nil {
			t.Errorf("prefix %.30q: %v", p, err)
		} else if aws.ToString(out.S3KeyPrefix) != p {
			t.Errorf("prefix %.30q: response S3KeyPrefix %q", p, aws.ToString(out.S3KeyPrefix))
		}
	}

	// KMS keys: by key id or key ARN, answered as the full key ARN.
	for _, k := range []string{trKeyID, trKeyARN} {
		out, err := try(c, cloudtrail.CreateTrailInput{KmsKeyId: aws.String(k)})
		if err != nil {
			t.Errorf("KmsKeyId %s: %v", k, err)
		} else if aws.ToString(out.KmsKeyId) != trKeyARN {
			t.Errorf("KmsKeyId %s: response KmsKeyId %q, want %s", k, aws.ToString(out.KmsKeyId), trKeyARN)
		}
	}
	for _, k := range []string{"00000000-1111-2222-3333-444455556666", "arn:aws:kms:us-east-1:111111111111:key/00000000-1111-2222-3333-444455556666", "alias/no-such-alias"} {
		_, err := try(c, cloudtrail.CreateTrailInput{KmsKeyId: aws.String(k)})
		trErr(t, "KmsKeyId "+k, err, "KmsKeyNotFoundException")
	}
	for _, k := range []string{"not a key", "arn:aws:s3:::audit-logs", "key/"} {
		_, err := try(c, cloudtrail.CreateTrailInput{KmsKeyId: aws.String(k)})
		trErr(t, "KmsKeyId "+k, err, "InvalidKmsKeyIdException")
	}
	// A bare key id names a key of the caller's own account: Account1's key
	// is not Account2's.
	_, err = try(bob, cloudtrail.CreateTrailInput{KmsKeyId: aws.String(trKeyID)})
	trErr(t, "Account2 naming Account1's key by key id", err, "KmsKeyNotFoundException")
	// …and of the caller's region: the us-east-1 key is not in us-west-2.
	_, err = try(srv.CloudTrail(AdminKey, AdminSecret, "us-west-2"), cloudtrail.CreateTrailInput{KmsKeyId: aws.String(trKeyID)})
	trErr(t, "us-west-2 trail naming a us-east-1 key by key id", err, "KmsKeyNotFoundException")

	// SNS topics resolve through topics: to SnsTopicARN.
	for _, tp := range []string{"audit-topic", trTopicARN} {
		out, err := try(c, cloudtrail.CreateTrailInput{SnsTopicName: aws.String(tp)})
		if err != nil {
			t.Errorf("SnsTopicName %s: %v", tp, err)
		} else if aws.ToString(out.SnsTopicARN) != trTopicARN {
			t.Errorf("SnsTopicName %s: SnsTopicARN %q, want %s", tp, aws.ToString(out.SnsTopicARN), trTopicARN)
		}
	}
	_, err = try(c, cloudtrail.CreateTrailInput{SnsTopicName: aws.String("unknown-topic")})
	trErr(t, "unknown topic", err, "InsufficientSnsTopicPolicyException")
	_, err = try(bob, cloudtrail.CreateTrailInput{SnsTopicName: aws.String("audit-topic")})
	trErr(t, "Account2 naming Account1's topic by name", err, "InsufficientSnsTopicPolicyException")
	for _, tp := range []string{"bad topic!", strings.Repeat("t", 257), "arn:aws:sns:us-east-1:111111111111"} {
		_, err := try(c, cloudtrail.CreateTrailInput{SnsTopicName: aws.String(tp)})
		trErr(t, fmt.Sprintf("SnsTopicName %.30q", tp), err, "InvalidSnsTopicNameException")
	}

	// CloudWatch Logs: a configured group and a role, together.
	out, err := try(c, cloudtrail.CreateTrailInput{CloudWatchLogsLogGroupArn: aws.String(trGroupARN), CloudWatchLogsRoleArn: aws.String(trRoleARN)})
	if err != nil {
		t.Errorf("CloudWatch Logs: %v", err)
	} else if aws.ToString(out.CloudWatchLogsLogGroupArn) != trGroupARN || aws.ToString(out.CloudWatchLogsRoleArn) != trRoleARN {
		t.Errorf("CloudWatch Logs response: %s", trJSON(out))
	}
	_, err = try(c, cloudtrail.CreateTrailInput{CloudWatchLogsLogGroupArn: aws.String(trGroupARN)})
	trErr(t, "log group without role", err, "InvalidCloudWatchLogsRoleArnException")
	_, err = try(c, cloudtrail.CreateTrailInput{CloudWatchLogsRoleArn: aws.String(trRoleARN)})
	trErr(t, "role without log group", err, "InvalidCloudWatchLogsLogGroupArnException")
	_, err = try(c, cloudtrail.CreateTrailInput{CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:111111111111:log-group:other:*"), CloudWatchLogsRoleArn: aws.String(trRoleARN)})
	trErr(t, "unknown log group", err, "InvalidCloudWatchLogsLogGroupArnException")
	_, err = try(c, cloudtrail.CreateTrailInput{CloudWatchLogsLogGroupArn: aws.String("not-an-arn"), CloudWatchLogsRoleArn: aws.String(trRoleARN)})
	trErr(t, "malformed log group", err, "InvalidCloudWatchLogsLogGroupArnException")
	for _, r := range []string{"not-a-role", "arn:aws:iam::111111111111:user/alice", "arn:aws:iam::1111:role/x"} {
		_, err = try(c, cloudtrail.CreateTrailInput{CloudWatchLogsLogGroupArn: aws.String(trGroupARN), CloudWatchLogsRoleArn: aws.String(r)})
		trErr(t, "role "+r, err, "InvalidCloudWatchLogsRoleArnException")
	}
	// "You must use a log group that exists in your account" and "a role
	// that exists in your account" (CreateTrail's CloudWatchLogsLogGroupArn
	// and CloudWatchLogsRoleArn).
	const bobGroup, bobRole = "arn:aws:logs:us-east-1:222222222222:log-group:bob-audit:*", "arn:aws:iam::222222222222:role/CloudTrail_CloudWatchLogs_Role"
	_, err = try(bob, cloudtrail.CreateTrailInput{CloudWatchLogsLogGroupArn: aws.String(bobGroup), CloudWatchLogsRoleArn: aws.String(bobRole)})
	trOK(t, "Account2 with its own log group and role", err)
	_, err = try(bob, cloudtrail.CreateTrailInput{CloudWatchLogsLogGroupArn: aws.String(trGroupARN), CloudWatchLogsRoleArn: aws.String(bobRole)})
	trErr(t, "Account2 naming Account1's log group", err, "InvalidCloudWatchLogsLogGroupArnException")
	_, err = try(bob, cloudtrail.CreateTrailInput{CloudWatchLogsLogGroupArn: aws.String(bobGroup), CloudWatchLogsRoleArn: aws.String(trRoleARN)})
	trErr(t, "Account2 naming Account1's role", err, "InvalidCloudWatchLogsRoleArnException")
	_, err = try(c, cloudtrail.CreateTrailInput{CloudWatchLogsLogGroupArn: aws.String(bobGroup), CloudWatchLogsRoleArn: aws.String(trRoleARN)})
	trErr(t, "Account1 naming Account2's log group", err, "InvalidCloudWatchLogsLogGroupArnException")

	// UpdateTrail applies the same rules, and can clear optional settings.
	trCreate(t, c, &cloudtrail.CreateTrailInput{Name: aws.String("upd-trail"), SnsTopicName: aws.String("audit-topic"), KmsKeyId: aws.String(trKeyID)})
	upd := func(in cloudtrail.UpdateTrailInput) (*cloudtrail.UpdateTrailOutput, error) {
		in.Name = aws.String("upd-trail")
		return c.UpdateTrail(ctx, &in)
	}
	_, err = upd(cloudtrail.UpdateTrailInput{S3BucketName: aws.String("Bad_Bucket")})
	trErr(t, "UpdateTrail bad bucket", err, "InvalidS3BucketNameException")
	_, err = upd(cloudtrail.UpdateTrailInput{S3KeyPrefix: aws.String("/x")})
	trErr(t, "UpdateTrail bad prefix", err, "InvalidS3PrefixException")
	_, err = upd(cloudtrail.UpdateTrailInput{KmsKeyId: aws.String("00000000-1111-2222-3333-444455556666")})
	trErr(t, "UpdateTrail unknown key", err, "KmsKeyNotFoundException")
	_, err = upd(cloudtrail.UpdateTrailInput{SnsTopicName: aws.String("unknown-topic")})
	trErr(t, "UpdateTrail unknown topic", err, "InsufficientSnsTopicPolicyException")
	_, err = upd(cloudtrail.UpdateTrailInput{CloudWatchLogsLogGroupArn: aws.String(trGroupARN)})
	trErr(t, "UpdateTrail log group without role", err, "InvalidCloudWatchLogsRoleArnException")
	u, err := upd(cloudtrail.UpdateTrailInput{SnsTopicName: aws.String(""), KmsKeyId: aws.String("")})
	trOK(t, "UpdateTrail clearing topic and key", err)
	if u.SnsTopicARN != nil || u.KmsKeyId != nil || aws.ToString(u.S3BucketName) != trBucket {
		t.Errorf("UpdateTrail clearing topic and key: %s", trJSON(u))
	}
}

// TestTrailMultiRegion covers shadow trails: visibility in every served
// region, DescribeTrails' trailNameList and includeShadowTrails, the
// home-region rule for changes, and the global service events rule.
func TestTrailMultiRegion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := trStart(t, trailsConfig, trBucket)
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")

	// The combination rule is checked before the bucket.
	_, err := east.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("mr-noglobal"), S3BucketName: aws.String("no-such-bucket"),
		IsMultiRegionTrail: aws.Bool(true), IncludeGlobalServiceEvents: aws.Bool(false)})
	trErr(t, "multi-region trail without global events", err, "InvalidParameterCombinationException",
		"Multi-Region trail must include global service events.")

	out := trCreate(t, east, &cloudtrail.CreateTrailInput{Name: aws.String("mr-trail"), IsMultiRegionTrail: aws.Bool(true)})
	arn := trARN("us-east-1", Account1, "mr-trail")
	if aws.ToString(out.TrailARN) != arn || !aws.ToBool(out.IsMultiRegionTrail) || !aws.ToBool(out.IncludeGlobalServiceEvents) {
		t.Errorf("CreateTrail multi-region: %s", trJSON(out))
	}
	local := trCreate(t, east, &cloudtrail.CreateTrailInput{Name: aws.String("east-only")})
	_, err = east.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("mr-trail")})
	trOK(t, "StartLogging", err)

	// Home region: both trails, neither is a shadow.
	if got := trARNs(trDescribe(t, east, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)})); fmt.Sprint(got) != fmt.Sprint([]string{aws.ToString(local.TrailARN), arn}) {
		t.Errorf("us-east-1 DescribeTrails without shadows: %v", got)
	}

	for _, region := range []string{"us-west-2", "eu-west-1"} {
		c := srv.CloudTrail(AdminKey, AdminSecret, region)
		list := trDescribe(t, c, nil)
		if len(list) != 1 || aws.ToString(list[0].TrailARN) != arn || aws.ToString(list[0].HomeRegion) != "us-east-1" ||
			!aws.ToBool(list[0].IsMultiRegionTrail) || aws.ToString(list[0].Name) != "mr-trail" {
			t.Errorf("%s DescribeTrails: %s, want the shadow of %s", region, trJSON(list), arn)
		}
		if list := trDescribe(t, c, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)}); len(list) != 1 {
			t.Errorf("%s DescribeTrails includeShadowTrails=true: %s", region, trJSON(list))
		}
		if list := trDescribe(t, c, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)}); len(list) != 0 {
			t.Errorf("%s DescribeTrails includeShadowTrails=false: %s, want none", region, trJSON(list))
		}
		if list := trDescribe(t, c, &cloudtrail.DescribeTrailsInput{TrailNameList: []string{arn}}); len(list) != 1 || aws.ToString(list[0].TrailARN) != arn {
			t.Errorf("%s DescribeTrails trailNameList=[ARN]: %s", region, trJSON(list))
		}
		// "If one or more trail names are specified, information is returned
		// only if the names match the names of trails belonging only to the
		// current Region and current account. To return information about a
		// trail in another Region, you must specify its trail ARN."
		if list := trDescribe(t, c, &cloudtrail.DescribeTrailsInput{TrailNameList: []string{"mr-trail"}}); len(list) != 0 {
			t.Errorf("%s DescribeTrails trailNameList=[name of a shadow]: %s, want none (names match only trails of the current region)", region, trJSON(list))
		}
		g, err := c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(arn)})
		trOK(t, region+" GetTrail shadow", err)
		if aws.ToString(g.Trail.HomeRegion) != "us-east-1" || !aws.ToBool(g.Trail.IsMultiRegionTrail) {
			t.Errorf("%s GetTrail shadow: %s", region, trJSON(g.Trail))
		}
		st, err := c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
		trOK(t, region+" GetTrailStatus shadow", err)
		if !aws.ToBool(st.IsLogging) || st.StartLoggingTime == nil {
			t.Errorf("%s GetTrailStatus shadow: %s", region, trJSON(st))
		}
		// "To get the status of a shadow trail (a replication of the trail in
		// another Region), you must specify its ARN." (GetTrailStatus Name)
		_, err = c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("mr-trail")})
		trErr(t, region+" GetTrailStatus shadow by name", err, "TrailNotFoundException")
		// The trail exists as a resource only in its home region: by name
		// GetEventSelectors does not find it (aws-sdk-go-v2#1957: CloudTrail
		// reads the name as a trail of the caller's region); by ARN it is
		// not found or the ARN's region is wrong. Changes through the ARN are
		// InvalidHomeRegionException; through the name they fail too.
		_, err = c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("mr-trail")})
		trErr(t, region+" GetEventSelectors shadow by name", err, "TrailNotFoundException")
		_, err = c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(arn)})
		trErrOneOf(t, region+" GetEventSelectors shadow by ARN", err, "TrailNotFoundException", "CloudTrailARNInvalidException")
		trAllWrites(t, region, c, arn, "InvalidHomeRegionException")
		for op, err := range trWrites(c, "mr-trail") {
			trErrOneOf(t, region+" "+op+" shadow by name", err, "InvalidHomeRegionException", "TrailNotFoundException")
		}
		// Tags too are changed only in the home region; AddTags and
		// RemoveTags answer a shadow's ARN with CloudTrailARNInvalidException
		// (their model lists no InvalidHomeRegionException).
		_, err = c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		trErr(t, region+" AddTags shadow", err, "CloudTrailARNInvalidException")
		_, err = c.RemoveTags(ctx, &cloudtrail.RemoveTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("k")}}})
		trErr(t, region+" RemoveTags shadow", err, "CloudTrailARNInvalidException")
		// A single-region trail of another region is not seen here.
		if slices.Contains(trARNs(trDescribe(t, c, nil)), aws.ToString(local.TrailARN)) {
			t.Errorf("%s DescribeTrails shows the single-region trail of us-east-1", region)
		}
	}
	// Nothing changed through the shadows.
	if g, err := east.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("mr-trail")}); err != nil ||
		g.Trail.S3KeyPrefix != nil || aws.ToBool(g.Trail.HasCustomEventSelectors) || aws.ToBool(g.Trail.HasInsightSelectors) {
		t.Errorf("GetTrail at home after writes through shadows: %v %s", err, trJSON(g))
	}
	if st, _ := east.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("mr-trail")}); !aws.ToBool(st.IsLogging) {
		t.Errorf("StopLogging through a shadow stopped the trail")
	}

	// Multi-region trails keep global service events.
	_, err = east.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("mr-trail"), IncludeGlobalServiceEvents: aws.Bool(false)})
	trErr(t, "UpdateTrail multi-region without global events", err, "InvalidParameterCombinationException",
		"Multi-Region trail must include global service events.")
	_, err = east.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("east-only"), IsMultiRegionTrail: aws.Bool(true),
		IncludeGlobalServiceEvents: aws.Bool(false)})
	trErr(t, "UpdateTrail to multi-region without global events", err, "InvalidParameterCombinationException",
		"Multi-Region trail must include global service events.")

	// Turning multi-region off removes the shadows; turning it on adds them.
	west := srv.CloudTrail(AdminKey, AdminSecret, "us-west-2")
	_, err = east.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("mr-trail"), IsMultiRegionTrail: aws.Bool(false)})
	trOK(t, "UpdateTrail IsMultiRegionTrail=false", err)
	if list := trDescribe(t, west, nil); len(list) != 0 {
		t.Errorf("us-west-2 DescribeTrails after IsMultiRegionTrail=false: %s", trJSON(list))
	}
	u, err := east.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("east-only"), IsMultiRegionTrail: aws.Bool(true)})
	trOK(t, "UpdateTrail IsMultiRegionTrail=true", err)
	if !aws.ToBool(u.IsMultiRegionTrail) || !aws.ToBool(u.IncludeGlobalServiceEvents) {
		t.Errorf("UpdateTrail IsMultiRegionTrail=true: %s", trJSON(u))
	}
	if got := trARNs(trDescribe(t, west, nil)); fmt.Sprint(got) != fmt.Sprint([]string{aws.ToString(local.TrailARN)}) {
		t.Errorf("us-west-2 DescribeTrails after IsMultiRegionTrail=true: %v", got)
	}
	// Deleting at home removes the trail from every region.
	_, err = east.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("east-only")})
	trOK(t, "DeleteTrail", err)
	if list := trDescribe(t, west, nil); len(list) != 0 {
		t.Errorf("us-west-2 DescribeTrails after DeleteTrail: %s", trJSON(list))
	}
}

// TestTrailLimitsAndListTrails covers the five-trail limit per account and
// region (multi-region trails count in every region) and ListTrails'
// pages, which list the account's trails of every region.
func TestTrailLimitsAndListTrails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := trStart(t, trailsConfig, trBucket)
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	west := srv.CloudTrail(AdminKey, AdminSecret, "us-west-2")
	eu := srv.CloudTrail(AdminKey, AdminSecret, "eu-west-1")
	create := func(c *cloudtrail.Client, name string, multi bool) error {
		_, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(trBucket),
			IsMultiRegionTrail: aws.Bool(multi)})
		return err
	}
	must := func(c *cloudtrail.Client, name string, multi bool) {
		t.Helper()
		trOK(t, "CreateTrail "+name, create(c, name, multi))
	}
	const maxErr = "MaximumNumberOfTrailsExceededException"

	must(east, "global-1", true) // counts in us-east-1, us-west-2 and eu-west-1
	for i := 1; i <= 4; i++ {
		must(west, fmt.Sprintf("west-%d", i), false)
	}
	trErr(t, "sixth trail in us-west-2", create(west, "west-5", false), maxErr)
	for i := 1; i <= 3; i++ {
		must(east, fmt.Sprintf("east-%d", i), false)
	}
	must(eu, "eu-1", false)
	must(eu, "eu-2", false)
	// A multi-region trail needs room in every region; us-west-2 is full.
	trErr(t, "multi-region trail while us-west-2 is full", create(eu, "global-2", true), maxErr)
	_, err := west.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("west-4")})
	trOK(t, "DeleteTrail west-4", err)
	must(eu, "global-2", true)
	trErr(t, "sixth trail in us-east-1 (one a shadow)", create(east, "east-4", false), maxErr)
	trErr(t, "sixth trail in us-west-2 (two shadows)", create(west, "west-4", false), maxErr)
	must(eu, "eu-3", false)
	trErr(t, "sixth trail in eu-west-1", create(eu, "eu-4", false), maxErr)
	trErr(t, "multi-region trail while all are full", create(east, "global-3", true), maxErr)
	// Failed creates left nothing behind.
	if got := len(trDescribe(t, west, nil)); got != 5 {
		t.Errorf("us-west-2 DescribeTrails: %d trails, want 5", got)
	}
	// Another account has its own five.
	bob := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	trOK(t, "Account2 CreateTrail", create(bob, "global-1", false))

	want := map[string]string{} // ARN → home region
	for _, n := range []string{"global-1", "east-1", "east-2", "east-3"} {
		want[trARN("us-east-1", Account1, n)] = "us-east-1"
	}
	for _, n := range []string{"west-1", "west-2", "west-3"} {
		want[trARN("us-west-2", Account1, n)] = "us-west-2"
	}
	for _, n := range []string{"eu-1", "eu-2", "global-2", "eu-3"} {
		want[trARN("eu-west-1", Account1, n)] = "eu-west-1"
	}
	for _, region := range trRegions {
		c := srv.CloudTrail(AdminKey, AdminSecret, region)
		infos, pages := trListAll(t, c)
		got := map[string]string{}
		for _, in := range infos {
			if _, dup := got[aws.ToString(in.TrailARN)]; dup {
				t.Errorf("%s ListTrails: %s twice", region, aws.ToString(in.TrailARN))
			}
			got[aws.ToString(in.TrailARN)] = aws.ToString(in.HomeRegion)
			if !strings.HasSuffix(aws.ToString(in.TrailARN), ":trail/"+aws.ToString(in.Name)) {
				t.Errorf("%s ListTrails: Name %q of %s", region, aws.ToString(in.Name), aws.ToString(in.TrailARN))
			}
		}
		if trJSON(got) != trJSON(want) {
			t.Errorf("%s ListTrails = %v, want %v", region, got, want)
		}
		if pages < 2 {
			t.Errorf("%s ListTrails: %d trails in %d page(s); want more than one page", region, len(infos), pages)
		}
	}
	first, err := east.ListTrails(ctx, &cloudtrail.ListTrailsInput{})
	trOK(t, "ListTrails", err)
	if first.NextToken == nil || len(first.Trails) == 0 || len(first.Trails) >= len(want) {
		t.Errorf("ListTrails first page: %d trails, NextToken %v", len(first.Trails), first.NextToken)
	}
	if infos, _ := trListAll(t, bob); len(infos) != 1 || aws.ToString(infos[0].TrailARN) != trARN("us-east-1", Account2, "global-1") {
		t.Errorf("Account2 ListTrails: %s", trJSON(infos))
	}

	// UpdateTrail cannot get around the limit: making a trail multi-region
	// while other regions are full must fail and leave them at five.
	_, err = east.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("east-3")})
	trOK(t, "DeleteTrail east-3", err)
	_, err = east.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("east-2"), IsMultiRegionTrail: aws.Bool(true)})
	if err == nil {
		t.Errorf("UpdateTrail IsMultiRegionTrail=true while us-west-2 and eu-west-1 have five trails each: succeeded")
	}
	for _, region := range trRegions {
		if got := len(trDescribe(t, srv.CloudTrail(AdminKey, AdminSecret, region), nil)); got > 5 {
			t.Errorf("%s DescribeTrails: %d trails, more than five", region, got)
		}
	}
}

// TestTrailOrganization covers organization trails: only the management
// account creates them; members see them read-only; without organization:
// in the config there are none.
func TestTrailOrganization(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := trStart(t, trailsConfig, trBucket)
	alice := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	out := trCreate(t, alice, &cloudtrail.CreateTrailInput{Name: aws.String("org-trail"), IsOrganizationTrail: aws.Bool(true),
		IsMultiRegionTrail: aws.Bool(true)})
	arn := trARN("us-east-1", Account1, "org-trail")
	if aws.ToString(out.TrailARN) != arn || !aws.ToBool(out.IsOrganizationTrail) {
		t.Errorf("CreateTrail organization trail: %s", trJSON(out))
	}
	g, err := alice.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("org-trail")})
	trOK(t, "GetTrail", err)
	if !aws.ToBool(g.Trail.IsOrganizationTrail) {
		t.Errorf("GetTrail organization trail: %s", trJSON(g.Trail))
	}
	_, err = alice.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("org-trail")})
	trOK(t, "StartLogging", err)

	bobEast := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	_, err = bobEast.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("bob-org"), S3BucketName: aws.String(trBucket),
		IsOrganizationTrail: aws.Bool(true)})
	trErr(t, "member CreateTrail organization trail", err, "NotOrganizationMasterAccountException")
	own := trCreate(t, bobEast, &cloudtrail.CreateTrailInput{Name: aws.String("bob-own")})
	_, err = alice.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(arn), S3KeyPrefix: aws.String("org")})
	trOK(t, "management account UpdateTrail", err)

	for _, region := range trRegions {
		bob := srv.CloudTrail(OtherKey, OtherSecret, region)
		list := trDescribe(t, bob, nil)
		i := slices.IndexFunc(list, func(x types.Trail) bool { return aws.ToString(x.TrailARN) == arn })
		if i < 0 {
			t.Errorf("member %s DescribeTrails: %s, want the organization trail %s", region, trJSON(list), arn)
		} else if !aws.ToBool(list[i].IsOrganizationTrail) || aws.ToString(list[i].HomeRegion) != "us-east-1" ||
			aws.ToString(list[i].S3KeyPrefix) != "org" {
			t.Errorf("member %s DescribeTrails entry: %s", region, trJSON(list[i]))
		}
		if slices.Contains(trARNs(trDescribe(t, bob, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)})), arn) {
			t.Errorf("member %s DescribeTrails includeShadowTrails=false lists the organization trail", region)
		}
		if list := trDescribe(t, bob, &cloudtrail.DescribeTrailsInput{TrailNameList: []string{arn}}); len(list) != 1 {
			t.Errorf("member %s DescribeTrails trailNameList=[ARN]: %s", region, trJSON(list))
		}
		g, err := bob.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(arn)})
		trOK(t, "member GetTrail "+region, err)
		if !aws.ToBool(g.Trail.IsOrganizationTrail) || aws.ToString(g.Trail.TrailARN) != arn {
			t.Errorf("member %s GetTrail: %s", region, trJSON(g.Trail))
		}
		st, err := bob.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
		trOK(t, "member GetTrailStatus "+region, err)
		if !aws.ToBool(st.IsLogging) || st.StartLoggingTime == nil {
			t.Errorf("member %s GetTrailStatus: %s", region, trJSON(st))
		}
		// "If the trail is an organization trail and you are a member account
		// in the organization in Organizations, you must provide the full ARN
		// of that trail, and not just the name." (GetTrailStatus Name)
		_, err = bob.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("org-trail")})
		trErr(t, "member GetTrailStatus by name "+region, err, "TrailNotFoundException")
	}
	infos, _ := trListAll(t, bobEast)
	if !slices.ContainsFunc(infos, func(x types.TrailInfo) bool { return aws.ToString(x.TrailARN) == arn }) ||
		!slices.ContainsFunc(infos, func(x types.TrailInfo) bool { return aws.ToString(x.TrailARN) == aws.ToString(own.TrailARN) }) {
		t.Errorf("member ListTrails: %s", trJSON(infos))
	}
	// Members cannot change it, in its home region or elsewhere.
	trAllWrites(t, "member", bobEast, arn, "NotOrganizationMasterAccountException")
	_, err = bobEast.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	trErr(t, "member AddTags", err, "NotOrganizationMasterAccountException")
	_, err = bobEast.RemoveTags(ctx, &cloudtrail.RemoveTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("k")}}})
	trErr(t, "member RemoveTags", err, "NotOrganizationMasterAccountException")
	bobWest := srv.CloudTrail(OtherKey, OtherSecret, "us-west-2")
	_, err = bobWest.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(arn)})
	if err == nil {
		t.Errorf("member StopLogging from us-west-2 succeeded")
	}
	g, err = alice.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("org-trail")})
	trOK(t, "GetTrail", err)
	if aws.ToString(g.Trail.S3KeyPrefix) != "org" || aws.ToBool(g.Trail.HasCustomEventSelectors) || aws.ToBool(g.Trail.HasInsightSelectors) {
		t.Errorf("organization trail after members' writes: %s", trJSON(g.Trail))
	}
	if st, _ := alice.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("org-trail")}); !aws.ToBool(st.IsLogging) {
		t.Errorf("a member stopped the organization trail")
	}

	// No longer an organization trail: members stop seeing it.
	u, err := alice.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("org-trail"), IsOrganizationTrail: aws.Bool(false)})
	trOK(t, "UpdateTrail IsOrganizationTrail=false", err)
	if aws.ToBool(u.IsOrganizationTrail) {
		t.Errorf("UpdateTrail IsOrganizationTrail=false: %s", trJSON(u))
	}
	if slices.Contains(trARNs(trDescribe(t, bobEast, nil)), arn) {
		t.Errorf("member still sees the former organization trail")
	}
	_, err = bobEast.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(arn)})
	trErr(t, "member GetTrail of a former organization trail", err, "TrailNotFoundException")
	// And back.
	_, err = alice.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("org-trail"), IsOrganizationTrail: aws.Bool(true)})
	trOK(t, "UpdateTrail IsOrganizationTrail=true", err)
	_, err = bobEast.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("bob-own"), IsOrganizationTrail: aws.Bool(true)})
	trErr(t, "member UpdateTrail IsOrganizationTrail=true", err, "NotOrganizationMasterAccountException")

	// Without organization: in the config.
	plain := trStart(t, trailsNoOrgConfig, trBucket)
	pc := plain.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	_, err = pc.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("org-trail"), S3BucketName: aws.String(trBucket),
		IsOrganizationTrail: aws.Bool(true)})
	trErr(t, "CreateTrail organization trail without an organization", err, "OrganizationsNotInUseException")
	trCreate(t, pc, &cloudtrail.CreateTrailInput{Name: aws.String("plain-trail")})
	_, err = pc.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("plain-trail"), IsOrganizationTrail: aws.Bool(true)})
	trErr(t, "UpdateTrail IsOrganizationTrail=true without an organization", err, "OrganizationsNotInUseException")
	if list := trDescribe(t, pc, nil); len(list) != 1 || aws.ToBool(list[0].IsOrganizationTrail) {
		t.Errorf("DescribeTrails without an organization: %s", trJSON(list))
	}
}

// TestTrailEventAndInsightSelectors covers Put/GetEventSelectors (basic and
// advanced, never both, each limit) and Put/GetInsightSelectors.
func TestTrailEventAndInsightSelectors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := trStart(t, trailsConfig, trBucket)
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	trCreate(t, c, &cloudtrail.CreateTrailInput{Name: aws.String("sel-trail")})
	arn := trARN("us-east-1", Account1, "sel-trail")
	name := aws.String("sel-trail")

	// A new trail logs all management events and no data events.
	g, err := c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: name})
	trOK(t, "GetEventSelectors", err)
	if aws.ToString(g.TrailARN) != arn || len(g.EventSelectors) != 1 || len(g.AdvancedEventSelectors) != 0 ||
		g.EventSelectors[0].ReadWriteType != types.ReadWriteTypeAll || !aws.ToBool(g.EventSelectors[0].IncludeManagementEvents) ||
		len(g.EventSelectors[0].DataResources) != 0 {
		t.Errorf("GetEventSelectors of a new trail: %s", trJSON(g))
	}

	basic := []types.EventSelector{
		{
			ReadWriteType:           types.ReadWriteTypeWriteOnly,
			IncludeManagementEvents: aws.Bool(true),
			DataResources: []types.DataResource{
				{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3:::audit-logs/", "arn:aws:s3:::other-bucket/prefix"}},
				{Type: aws.String("AWS::Lambda::Function"), Values: []string{"arn:aws:lambda:us-east-1:111111111111:function:hello"}},
			},
			ExcludeManagementEventSources: []string{"kms.amazonaws.com"},
		},
		{ReadWriteType: types.ReadWriteTypeReadOnly, IncludeManagementEvents: aws.Bool(false),
			DataResources: []types.DataResource{{Type: aws.String("AWS::DynamoDB::Table"), Values: []string{"arn:aws:dynamodb"}}}},
	}
	p, err := c.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: name, EventSelectors: basic})
	trOK(t, "PutEventSelectors basic", err)
	if aws.ToString(p.TrailARN) != arn || len(p.EventSelectors) != 2 || len(p.AdvancedEventSelectors) != 0 ||
		p.EventSelectors[0].ReadWriteType != types.ReadWriteTypeWriteOnly || !aws.ToBool(p.EventSelectors[0].IncludeManagementEvents) ||
		trJSON(p.EventSelectors[0].DataResources) != trJSON(basic[0].DataResources) ||
		fmt.Sprint(p.EventSelectors[0].ExcludeManagementEventSources) != "[kms.amazonaws.com]" ||
		p.EventSelectors[1].ReadWriteType != types.ReadWriteTypeReadOnly || aws.ToBool(p.EventSelectors[1].IncludeManagementEvents) ||
		trJSON(p.EventSelectors[1].DataResources) != trJSON(basic[1].DataResources) {
		t.Errorf("PutEventSelectors basic response: %s", trJSON(p))
	}
	g, err = c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(arn)})
	trOK(t, "GetEventSelectors by ARN", err)
	if trJSON(g.EventSelectors) != trJSON(p.EventSelectors) || len(g.AdvancedEventSelectors) != 0 || aws.ToString(g.TrailARN) != arn {
		t.Errorf("GetEventSelectors = %s, want what PutEventSelectors answered %s", trJSON(g), trJSON(p))
	}
	if gt, _ := c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: name}); gt == nil || !aws.ToBool(gt.Trail.HasCustomEventSelectors) {
		t.Errorf("GetTrail after PutEventSelectors: HasCustomEventSelectors is not true")
	}

	eq := func(f string, v ...string) types.AdvancedFieldSelector {
		return types.AdvancedFieldSelector{Field: aws.String(f), Equals: v}
	}
	advanced := []types.AdvancedEventSelector{
		{Name: aws.String("Management events"), FieldSelectors: []types.AdvancedFieldSelector{eq("eventCategory", "Management")}},
		{Name: aws.String("S3 writes to audit-logs"), FieldSelectors: []types.AdvancedFieldSelector{
			eq("eventCategory", "Data"), eq("resources.type", "AWS::S3::Object"), eq("readOnly", "false"),
			{Field: aws.String("resources.ARN"), StartsWith: []string{"arn:aws:s3:::audit-logs/"}},
			{Field: aws.String("eventName"), NotEquals: []string{"GetObject"}},
		}},
	}
	pa, err := c.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: name, AdvancedEventSelectors: advanced})
	trOK(t, "PutEventSelectors advanced", err)
	if aws.ToString(pa.TrailARN) != arn || len(pa.EventSelectors) != 0 || trJSON(pa.AdvancedEventSelectors) != trJSON(advanced) {
		t.Errorf("PutEventSelectors advanced response: %s", trJSON(pa))
	}
	g, err = c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: name})
	trOK(t, "GetEventSelectors", err)
	if len(g.EventSelectors) != 0 || trJSON(g.AdvancedEventSelectors) != trJSON(advanced) {
		t.Errorf("GetEventSelectors after advanced: %s", trJSON(g))
	}

	// Never both.
	_, err = c.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: name, EventSelectors: basic, AdvancedEventSelectors: advanced})
	trErr(t, "PutEventSelectors with both kinds", err, "InvalidParameterCombinationException")

	s3 := func(values ...string) []types.DataResource {
		return []types.DataResource{{Type: aws.String("AWS::S3::Object"), Values: values}}
	}
	many := func(n int) []string {
		var v []string
		for i := range n {
			v = append(v, fmt.Sprintf("arn:aws:s3:::audit-logs/p%03d", i))
		}
		return v
	}
	sixBasic := make([]types.EventSelector, 6)
	for i := range sixBasic {
		sixBasic[i] = types.EventSelector{ReadWriteType: types.ReadWriteTypeAll}
	}
	badBasic := []struct {
		what string
		sel  []types.EventSelector
		says string
	}{
		{"six selectors", sixBasic, "5"},
		{"ReadWriteType", []types.EventSelector{{ReadWriteType: "Sometimes"}}, "Sometimes"},
		{"resource type", []types.EventSelector{{DataResources: []types.DataResource{{Type: aws.String("AWS::EC2::Instance"), Values: []string{"arn:aws:ec2"}}}}}, "AWS::EC2::Instance"},
		{"bucket without slash", []types.EventSelector{{DataResources: s3("arn:aws:s3:::audit-logs")}}, "arn:aws:s3:::audit-logs"},
		{"not an S3 ARN", []types.EventSelector{{DataResources: s3("arn:aws:sqs:::queue/")}}, "arn:aws:sqs:::queue/"},
		{"lambda value", []types.EventSelector{{DataResources: []types.DataResource{{Type: aws.String("AWS::Lambda::Function"), Values: []string{"arn:aws:lambda:us-east-1:111111111111:hello"}}}}}, "arn:aws:lambda:us-east-1:111111111111:hello"},
		{"no values", []types.EventSelector{{DataResources: s3()}}, "Values"},
		{"excluded source", []types.EventSelector{{ExcludeManagementEventSources: []string{"s3.amazonaws.com"}}}, "s3.amazonaws.com"},
		{"251 data resources", []types.EventSelector{{DataResources: s3(many(251)...)}}, "250"},
	}
	for _, b := range badBasic {
		_, err := c.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: name, EventSelectors: b.sel})
		trErr(t, "PutEventSelectors "+b.what, err, "InvalidEventSelectorsException", b.says)
	}
	_, err = c.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: name, EventSelectors: []types.EventSelector{{DataResources: s3(many(250)...)}}})
	trOK(t, "PutEventSelectors with 250 data resources", err)

	sixAdv := make([]types.AdvancedEventSelector, 6)
	for i := range sixAdv {
		sixAdv[i] = types.AdvancedEventSelector{FieldSelectors: []types.AdvancedFieldSelector{eq("eventCategory", "Management")}}
	}
	var vals []string
	for i := range 500 {
		vals = append(vals, fmt.Sprintf("Op%03d", i))
	}
	badAdv := []struct {
		what string
		sel  []types.AdvancedEventSelector
		says string
	}{
		{"six selectors", sixAdv, "5"},
		{"no eventCategory", []types.AdvancedEventSelector{{FieldSelectors: []types.AdvancedFieldSelector{eq("readOnly", "true")}}}, "eventCategory"},
		{"unknown field", []types.AdvancedEventSelector{{FieldSelectors: []types.AdvancedFieldSelector{eq("eventCategory", "Management"), eq("colour", "red")}}}, "colour"},
		{"eventCategory value", []types.AdvancedEventSelector{{FieldSelectors: []types.AdvancedFieldSelector{eq("eventCategory", "Insight")}}}, "Insight"},
		{"eventCategory operator", []types.AdvancedEventSelector{{FieldSelectors: []types.AdvancedFieldSelector{{Field: aws.String("eventCategory"), StartsWith: []string{"Man"}}}}}, "eventCategory"},
		{"data without resources.type", []types.AdvancedEventSelector{{FieldSelectors: []types.AdvancedFieldSelector{eq("eventCategory", "Data")}}}, "resources.type"},
		{"resources.type StartsWith", []types.AdvancedEventSelector{{FieldSelectors: []types.AdvancedFieldSelector{eq("eventCategory", "Data"),
			{Field: aws.String("resources.type"), StartsWith: []string{"AWS::S3::"}}}}}, "resources.type"},
		{"readOnly value", []types.AdvancedEventSelector{{FieldSelectors: []types.AdvancedFieldSelector{eq("eventCategory", "Management"), eq("readOnly", "maybe")}}}, "maybe"},
		{"501 values", []types.AdvancedEventSelector{{FieldSelectors: []types.AdvancedFieldSelector{eq("eventCategory", "Data"),
			eq("resources.type", "AWS::S3::Object"), eq("eventName", vals...)}}}, "500"},
	}
	for _, b := range badAdv {
		_, err := c.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: name, AdvancedEventSelectors: b.sel})
		trErr(t, "PutEventSelectors advanced "+b.what, err, "InvalidEventSelectorsException", b.says)
	}
	// The refused requests changed nothing.
	g, err = c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: name})
	trOK(t, "GetEventSelectors", err)
	if len(g.EventSelectors) != 1 || len(g.EventSelectors[0].DataResources) != 1 || len(g.EventSelectors[0].DataResources[0].Values) != 250 {
		t.Errorf("GetEventSelectors after refused requests: %d basic selectors", len(g.EventSelectors))
	}

	// Insight selectors.
	_, err = c.GetInsightSelectors(ctx, &cloudtrail.GetInsightSelectorsInput{TrailName: name})
	trErr(t, "GetInsightSelectors without Insights", err, "InsightNotEnabledException")
	ins := []types.InsightSelector{{InsightType: types.InsightTypeApiCallRateInsight}, {InsightType: types.InsightTypeApiErrorRateInsight}}
	pi, err := c.PutInsightSelectors(ctx, &cloudtrail.PutInsightSelectorsInput{TrailName: name, InsightSelectors: ins})
	trOK(t, "PutInsightSelectors", err)
	insTypes := func(sel []types.InsightSelector) string {
		var out []string
		for _, s := range sel {
			out = append(out, string(s.InsightType))
		}
		sort.Strings(out)
		return fmt.Sprint(out)
	}
	if aws.ToString(pi.TrailARN) != arn || insTypes(pi.InsightSelectors) != "[ApiCallRateInsight ApiErrorRateInsight]" {
		t.Errorf("PutInsightSelectors response: %s", trJSON(pi))
	}
	gi, err := c.GetInsightSelectors(ctx, &cloudtrail.GetInsightSelectorsInput{TrailName: aws.String(arn)})
	trOK(t, "GetInsightSelectors", err)
	if aws.ToString(gi.TrailARN) != arn || insTypes(gi.InsightSelectors) != "[ApiCallRateInsight ApiErrorRateInsight]" {
		t.Errorf("GetInsightSelectors: %s", trJSON(gi))
	}
	if gt, _ := c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: name}); gt == nil || !aws.ToBool(gt.Trail.HasInsightSelectors) {
		t.Errorf("GetTrail after PutInsightSelectors: HasInsightSelectors is not true")
	}
	_, err = c.PutInsightSelectors(ctx, &cloudtrail.PutInsightSelectorsInput{TrailName: name, InsightSelectors: []types.InsightSelector{{InsightType: "FooInsight"}}})
	trErr(t, "PutInsightSelectors unknown type", err, "InvalidInsightSelectorsException", "FooInsight")
	_, err = c.PutInsightSelectors(ctx, &cloudtrail.PutInsightSelectorsInput{TrailName: name, InsightSelectors: ins[:1]})
	trOK(t, "PutInsightSelectors one type", err)
	if gi, _ := c.GetInsightSelectors(ctx, &cloudtrail.GetInsightSelectorsInput{TrailName: name}); gi == nil || insTypes(gi.InsightSelectors) != "[ApiCallRateInsight]" {
		t.Errorf("PutInsightSelectors replaces the selectors; GetInsightSelectors: %s", trJSON(gi))
	}
}

// TestTrailTags covers AddTags, RemoveTags, ListTags and the tag rules.
func TestTrailTags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := trStart(t, trailsConfig, trBucket)
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	trCreate(t, c, &cloudtrail.CreateTrailInput{Name: aws.String("tag-trail"), TagsList: []types.Tag{tag("env", "prod"), tag("team", "audit")}})
	arn := trARN("us-east-1", Account1, "tag-trail")
	if got := trTags(t, c, arn); trJSON(got) != `{"env":"prod","team":"audit"}` {
		t.Errorf("ListTags after CreateTrail: %v", got)
	}
	// AddTags overwrites an existing key and adds new ones.
	_, err := c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{tag("env", "dev"), tag("owner", "alice")}})
	trOK(t, "AddTags", err)
	if got := trTags(t, c, arn); trJSON(got) != `{"env":"dev","owner":"alice","team":"audit"}` {
		t.Errorf("ListTags after AddTags: %v", got)
	}
	_, err = c.RemoveTags(ctx, &cloudtrail.RemoveTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("team")}}})
	trOK(t, "RemoveTags", err)
	if got := trTags(t, c, arn); trJSON(got) != `{"env":"dev","owner":"alice"}` {
		t.Errorf("ListTags after RemoveTags: %v", got)
	}

	// Key and value rules.
	badTags := []struct {
		what string
		tags []types.Tag
	}{
		{"reserved aws: prefix", []types.Tag{tag("aws:created", "x")}},
		{"empty key", []types.Tag{tag("", "x")}},
		{"129-character key", []types.Tag{tag(strings.Repeat("k", 129), "x")}},
		{"257-character value", []types.Tag{tag("k", strings.Repeat("v", 257))}},
		{"key character", []types.Tag{tag("bad#key", "x")}},
		{"value character", []types.Tag{tag("k", "bad<value>")}},
		{"duplicate key", []types.Tag{tag("dup", "1"), tag("dup", "2")}},
	}
	for _, b := range badTags {
		_, err := c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: b.tags})
		trErr(t, "AddTags "+b.what, err, "InvalidTagParameterException")
		_, err = c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("bad-tags"), S3BucketName: aws.String(trBucket), TagsList: b.tags})
		trErr(t, "CreateTrail "+b.what, err, "InvalidTagParameterException")
	}
	_, err = c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{tag(strings.Repeat("k", 128), strings.Repeat("v", 256)), tag("spaces and _.:/=+-@", "ok value")}})
	trOK(t, "AddTags at the key and value limits", err)

	// At most 50 tags per trail.
	var more []types.Tag
	for i := len(trTags(t, c, arn)); i < 50; i++ {
		more = append(more, tag(fmt.Sprintf("k%02d", i), "v"))
	}
	_, err = c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: more})
	trOK(t, "AddTags up to 50", err)
	_, err = c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{tag("one-too-many", "v")}})
	trErr(t, "AddTags the 51st tag", err, "TagsLimitExceededException")
	_, err = c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{tag("env", "staging")}})
	trOK(t, "AddTags overwriting at 50", err)
	if got := trTags(t, c, arn); len(got) != 50 || got["env"] != "staging" {
		t.Errorf("ListTags at the limit: %d tags, env=%q", len(got), got["env"])
	}
	var fiftyOne []types.Tag
	for i := range 51 {
		fiftyOne = append(fiftyOne, tag(fmt.Sprintf("k%02d", i), "v"))
	}
	_, err = c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("many-tags"), S3BucketName: aws.String(trBucket), TagsList: fiftyOne})
	trErr(t, "CreateTrail with 51 tags", err, "TagsLimitExceededException")

	// ListTags of several trails; a trail without tags has an empty list.
	trCreate(t, c, &cloudtrail.CreateTrailInput{Name: aws.String("untagged")})
	arn2 := trARN("us-east-1", Account1, "untagged")
	lt, err := c.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn, arn2}})
	trOK(t, "ListTags of two trails", err)
	if len(lt.ResourceTagList) != 2 || aws.ToString(lt.ResourceTagList[0].ResourceId) != arn || len(lt.ResourceTagList[0].TagsList) != 50 ||
		aws.ToString(lt.ResourceTagList[1].ResourceId) != arn2 || len(lt.ResourceTagList[1].TagsList) != 0 {
		t.Errorf("ListTags of two trails: %s", trJSON(lt.ResourceTagList))
	}
	// Removing every tag; tags go with the trail.
	_, err = c.RemoveTags(ctx, &cloudtrail.RemoveTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("env")}, {Key: aws.String("no-such-key")}}})
	trOK(t, "RemoveTags with an absent key", err)
	if got := trTags(t, c, arn); len(got) != 49 {
		t.Errorf("ListTags after RemoveTags: %d tags, want 49", len(got))
	}
	_, err = c.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("tag-trail")})
	trOK(t, "DeleteTrail", err)
	_, err = c.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}})
	trErr(t, "ListTags of a deleted trail", err, "ResourceNotFoundException")
	trCreate(t, c, &cloudtrail.CreateTrailInput{Name: aws.String("tag-trail")})
	if got := trTags(t, c, arn); len(got) != 0 {
		t.Errorf("a new trail with a deleted trail's name has its tags: %v", got)
	}
}

// TestTrailAccountWalls checks that another account's admin finds nothing of
// Account1's trails, and may use the same names for its own.
func TestTrailAccountWalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := trStart(t, trailsConfig, trBucket)
	alice := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	trCreate(t, alice, &cloudtrail.CreateTrailInput{Name: aws.String("wall-trail"), IsMultiRegionTrail: aws.Bool(true),
		TagsList: []types.Tag{{Key: aws.String("owner"), Value: aws.String("alice")}}})
	_, err := alice.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("wall-trail")})
	trOK(t, "StartLogging", err)
	arn := trARN("us-east-1", Account1, "wall-trail")

	for _, region := range trRegions {
		bob := srv.CloudTrail(OtherKey, OtherSecret, region)
		if list := trDescribe(t, bob, nil); len(list) != 0 {
			t.Errorf("Account2 %s DescribeTrails: %s", region, trJSON(list))
		}
		if list := trDescribe(t, bob, &cloudtrail.DescribeTrailsInput{TrailNameList: []string{arn, "wall-trail"}}); len(list) != 0 {
			t.Errorf("Account2 %s DescribeTrails by name and ARN: %s", region, trJSON(list))
		}
		if infos, _ := trListAll(t, bob); len(infos) != 0 {
			t.Errorf("Account2 %s ListTrails: %s", region, trJSON(infos))
		}
		for _, name := range []string{"wall-trail", arn} {
			_, err = bob.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(name)})
			trErr(t, "Account2 GetTrail "+name, err, "TrailNotFoundException")
			_, err = bob.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(name)})
			trErr(t, "Account2 GetTrailStatus "+name, err, "TrailNotFoundException")
			_, err = bob.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(name)})
			trErr(t, "Account2 GetEventSelectors "+name, err, "TrailNotFoundException")
			_, err = bob.GetInsightSelectors(ctx, &cloudtrail.GetInsightSelectorsInput{TrailName: aws.String(name)})
			trErr(t, "Account2 GetInsightSelectors "+name, err, "TrailNotFoundException")
			trAllWrites(t, "Account2 "+region, bob, name, "TrailNotFoundException")
		}
		_, err = bob.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}})
		trErr(t, "Account2 ListTags", err, "ResourceNotFoundException")
		_, err = bob.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("owner"), Value: aws.String("bob")}}})
		trErr(t, "Account2 AddTags", err, "ResourceNotFoundException")
		_, err = bob.RemoveTags(ctx, &cloudtrail.RemoveTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("owner")}}})
		trErr(t, "Account2 RemoveTags", err, "ResourceNotFoundException")
	}

	// Account2 may use the same name; its trail is its own.
	bob := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	out := trCreate(t, bob, &cloudtrail.CreateTrailInput{Name: aws.String("wall-trail")})
	if aws.ToString(out.TrailARN) != trARN("us-east-1", Account2, "wall-trail") {
		t.Errorf("Account2 CreateTrail: %s", trJSON(out))
	}
	if st, _ := bob.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("wall-trail")}); st == nil || aws.ToBool(st.IsLogging) {
		t.Errorf("Account2's new trail reads as Account1's (logging): %s", trJSON(st))
	}
	_, err = bob.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("wall-trail")})
	trOK(t, "Account2 DeleteTrail of its own", err)

	// Account1's trail is untouched.
	g, err := alice.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("wall-trail")})
	trOK(t, "GetTrail", err)
	if g.Trail.S3KeyPrefix != nil || aws.ToBool(g.Trail.HasCustomEventSelectors) || aws.ToBool(g.Trail.HasInsightSelectors) {
		t.Errorf("Account1's trail after Account2's attempts: %s", trJSON(g.Trail))
	}
	if st, _ := alice.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("wall-trail")}); !aws.ToBool(st.IsLogging) {
		t.Errorf("Account1's trail stopped logging")
	}
	if got := trTags(t, alice, arn); trJSON(got) != `{"owner":"alice"}` {
		t.Errorf("Account1's tags after Account2's attempts: %v", got)
	}
}

// TestTrailReadOnlyPrincipal checks that a read-only user may read trails
// but gets AccessDeniedException for every write.
func TestTrailReadOnlyPrincipal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := trStart(t, trailsConfig, trBucket)
	alice := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	trCreate(t, alice, &cloudtrail.CreateTrailInput{Name: aws.String("ro-trail"), TagsList: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	arn := trARN("us-east-1", Account1, "ro-trail")
	rita := srv.CloudTrail(ReaderKey, ReaderSecret, "us-east-1")

	_, err := rita.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("rita-trail"), S3BucketName: aws.String(trBucket)})
	trErr(t, "read-only CreateTrail", err, "AccessDeniedException")
	for _, name := range []string{"ro-trail", arn} {
		trAllWrites(t, "read-only", rita, name, "AccessDeniedException")
	}
	_, err = rita.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("k"), Value: aws.String("x")}}})
	trErr(t, "read-only AddTags", err, "AccessDeniedException")
	_, err = rita.RemoveTags(ctx, &cloudtrail.RemoveTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("k")}}})
	trErr(t, "read-only RemoveTags", err, "AccessDeniedException")

	// Reads work.
	if list := trDescribe(t, rita, nil); len(list) != 1 || aws.ToString(list[0].TrailARN) != arn {
		t.Errorf("read-only DescribeTrails: %s", trJSON(list))
	}
	if infos, _ := trListAll(t, rita); len(infos) != 1 {
		t.Errorf("read-only ListTrails: %s", trJSON(infos))
	}
	_, err = rita.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("ro-trail")})
	trOK(t, "read-only GetTrail", err)
	_, err = rita.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("ro-trail")})
	trOK(t, "read-only GetTrailStatus", err)
	_, err = rita.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("ro-trail")})
	trOK(t, "read-only GetEventSelectors", err)
	_, err = rita.GetInsightSelectors(ctx, &cloudtrail.GetInsightSelectorsInput{TrailName: aws.String("ro-trail")})
	trErr(t, "read-only GetInsightSelectors", err, "InsightNotEnabledException")
	if got := trTags(t, rita, arn); trJSON(got) != `{"k":"v"}` {
		t.Errorf("read-only ListTags: %v", got)
	}
	// A user allowed only LookupEvents may not even read trails.
	carl := srv.CloudTrail(CustomKey, CustomSecret, "us-east-1")
	_, err = carl.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
	trErr(t, "LookupEvents-only DescribeTrails", err, "AccessDeniedException")

	// Nothing changed.
	st, err := alice.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("ro-trail")})
	trOK(t, "GetTrailStatus", err)
	g, err := alice.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("ro-trail")})
	trOK(t, "GetTrail", err)
	if aws.ToBool(st.IsLogging) || g.Trail.S3KeyPrefix != nil || aws.ToBool(g.Trail.HasCustomEventSelectors) || aws.ToBool(g.Trail.HasInsightSelectors) {
		t.Errorf("trail after read-only writes: %s %s", trJSON(st), trJSON(g.Trail))
	}
	if list := trDescribe(t, alice, nil); len(list) != 1 {
		t.Errorf("DescribeTrails after read-only writes: %s", trJSON(list))
	}
	if got := trTags(t, alice, arn); trJSON(got) != `{"k":"v"}` {
		t.Errorf("tags after read-only writes: %v", got)
	}
}

// trHistory polls LookupEvents until want(events) holds or time runs out,
// and returns the last answer.
func trHistory(t *testing.T, c *cloudtrail.Client, key types.LookupAttributeKey, value string, want func([]types.Event) bool) []types.Event {
	t.Helper()
	var evs []types.Event
	testutil.PollEvery(10*time.Second, 100*time.Millisecond, func() (bool, string) {
		evs = lookupAll(t, c, &cloudtrail.LookupEventsInput{LookupAttributes: attr(key, value)})
		return want(evs), ""
	})
	return evs
}

func trRecord(t *testing.T, e types.Event) map[string]any {
	t.Helper()
	var rec map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec); err != nil {
		t.Fatalf("CloudTrailEvent of %s is not JSON: %v", aws.ToString(e.EventName), err)
	}
	return rec
}

// trIsTrailResource reports whether a record's resources are just the trail
// (accountId, if present, is the owner).
func trIsTrailResource(v any, arn string) bool {
	list, _ := v.([]any)
	if len(list) != 1 {
		return false
	}
	r, _ := list[0].(map[string]any)
	if acct, ok := r["accountId"]; ok && acct != Account1 {
		return false
	}
	return r["ARN"] == arn && r["type"] == "AWS::CloudTrail::Trail"
}

func trCount(evs []types.Event, name string) int {
	n := 0
	for _, e := range evs {
		if aws.ToString(e.EventName) == name {
			n++
		}
	}
	return n
}

// TestTrailManagementEventsInHistory checks that the trail operations are
// recorded as CloudTrail management events with lower-camel request
// parameters, response elements and the trail as resource.
func TestTrailManagementEventsInHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := trStart(t, trailsConfig, trBucket)
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	const name = "audited-trail"
	arn := trARN("us-east-1", Account1, name)

	trCreate(t, c, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(trBucket), IsMultiRegionTrail: aws.Bool(true),
		KmsKeyId: aws.String(trKeyID), EnableLogFileValidation: aws.Bool(true),
		TagsList: []types.Tag{{Key: aws.String("team"), Value: aws.String("audit")}}})
	_, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(trBucket)})
	trErr(t, "duplicate CreateTrail", err, "TrailAlreadyExistsException")
	_, err = c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(name), S3KeyPrefix: aws.String("p1")})
	trOK(t, "UpdateTrail", err)
	_, err = c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(arn)})
	trOK(t, "StartLogging", err)
	_, err = c.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(name),
		EventSelectors: []types.EventSelector{{ReadWriteType: types.ReadWriteTypeWriteOnly, IncludeManagementEvents: aws.Bool(true)}}})
	trOK(t, "PutEventSelectors", err)
	_, err = c.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(name)})
	trOK(t, "StopLogging", err)
	_, err = c.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(name)})
	trOK(t, "DeleteTrail", err)

	creates := trHistory(t, c, types.LookupAttributeKeyEventName, "CreateTrail", func(evs []types.Event) bool { return len(evs) >= 2 })
	if len(creates) != 2 {
		t.Fatalf("LookupEvents EventName=CreateTrail: %d events, want 2 (one failed)", len(creates))
	}
	var ok, failed map[string]any
	var okEvent types.Event
	for _, e := range creates {
		rec := trRecord(t, e)
		if rec["errorCode"] == nil {
			ok, okEvent = rec, e
		} else {
			failed = rec
		}
	}
	if ok == nil || failed == nil {
		t.Fatalf("CreateTrail events: want one success and one failure, got %v", creates)
	}
	if aws.ToString(okEvent.EventSource) != "cloudtrail.amazonaws.com" || aws.ToString(okEvent.ReadOnly) != "false" ||
		aws.ToString(okEvent.Username) != "alice" || aws.ToString(okEvent.AccessKeyId) != AdminKey ||
		len(okEvent.Resources) != 1 || aws.ToString(okEvent.Resources[0].ResourceType) != "AWS::CloudTrail::Trail" ||
		(aws.ToString(okEvent.Resources[0].ResourceName) != arn && aws.ToString(okEvent.Resources[0].ResourceName) != name) {
		t.Errorf("CreateTrail event: %s", trJSON(okEvent))
	}
	if ok["eventSource"] != "cloudtrail.amazonaws.com" || ok["eventName"] != "CreateTrail" || ok["awsRegion"] != "us-east-1" ||
		ok["readOnly"] != false || ok["recipientAccountId"] != Account1 || ok["eventType"] != "AwsApiCall" ||
		ok["managementEvent"] != true || ok["eventCategory"] != "Management" {
		t.Errorf("CreateTrail record: %v", ok)
	}
	req, _ := ok["requestParameters"].(map[string]any)
	if req["name"] != name || req["s3BucketName"] != trBucket || req["isMultiRegionTrail"] != true ||
		req["kmsKeyId"] != trKeyID || req["enableLogFileValidation"] != true ||
		trJSON(req["tagsList"]) != `[{"key":"team","value":"audit"}]` {
		t.Errorf("CreateTrail requestParameters: %v", ok["requestParameters"])
	}
	resp, _ := ok["responseElements"].(map[string]any)
	if resp["trailARN"] != arn || resp["name"] != name || resp["s3BucketName"] != trBucket || resp["isMultiRegionTrail"] != true ||
		resp["includeGlobalServiceEvents"] != true || resp["logFileValidationEnabled"] != true || resp["kmsKeyId"] != trKeyARN ||
		resp["isOrganizationTrail"] != false {
		t.Errorf("CreateTrail responseElements: %v", ok["responseElements"])
	}
	if !trIsTrailResource(ok["resources"], arn) {
		t.Errorf("CreateTrail resources: %v", ok["resources"])
	}
	if failed["errorCode"] != "TrailAlreadyExistsException" || failed["responseElements"] != nil {
		t.Errorf("failed CreateTrail record: errorCode %v, responseElements %v", failed["errorCode"], failed["responseElements"])
	}

	writes := []string{"CreateTrail", "UpdateTrail", "StartLogging", "PutEventSelectors", "StopLogging", "DeleteTrail"}
	for _, value := range []string{name, arn} {
		evs := trHistory(t, c, types.LookupAttributeKeyResourceName, value, func(evs []types.Event) bool {
			for _, w := range writes {
				if trCount(evs, w) == 0 {
					return false
				}
			}
			return true
		})
		for _, w := range writes {
			if trCount(evs, w) != 1 {
				t.Errorf("LookupEvents ResourceName=%s: %d %s events, want 1 (got %v)", value, trCount(evs, w), w, eventNames(evs))
			}
		}
		for _, e := range evs {
			rec := trRecord(t, e)
			if rec["errorCode"] != nil {
				t.Errorf("LookupEvents ResourceName=%s lists the failed %s", value, aws.ToString(e.EventName))
			}
			if !trIsTrailResource(rec["resources"], arn) {
				t.Errorf("%s resources: %v", aws.ToString(e.EventName), rec["resources"])
			}
			switch aws.ToString(e.EventName) {
			case "UpdateTrail":
				req, _ := rec["requestParameters"].(map[string]any)
				resp, _ := rec["responseElements"].(map[string]any)
				if req["name"] != name || req["s3KeyPrefix"] != "p1" || resp["trailARN"] != arn || resp["s3KeyPrefix"] != "p1" {
					t.Errorf("UpdateTrail record: request %v, response %v", rec["requestParameters"], rec["responseElements"])
				}
			case "StartLogging":
				req, _ := rec["requestParameters"].(map[string]any)
				if req["name"] != arn || rec["readOnly"] != false {
					t.Errorf("StartLogging record: %v", rec)
				}
			case "StopLogging", "DeleteTrail":
				req, _ := rec["requestParameters"].(map[string]any)
				if req["name"] != name || rec["readOnly"] != false {
					t.Errorf("%s record: %v", aws.ToString(e.EventName), rec)
				}
			case "PutEventSelectors":
				req, _ := rec["requestParameters"].(map[string]any)
				resp, _ := rec["responseElements"].(map[string]any)
				sel, _ := req["eventSelectors"].([]any)
				if req["trailName"] != name || len(sel) != 1 || resp["trailARN"] != arn {
					t.Errorf("PutEventSelectors record: request %v, response %v", rec["requestParameters"], rec["responseElements"])
				} else if s, _ := sel[0].(map[string]any); s["readWriteType"] != "WriteOnly" {
					t.Errorf("PutEventSelectors requestParameters.eventSelectors: %v", sel)
				}
			}
		}
	}
	// The history is the account's: Account2 sees none of it.
	bob := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	if evs := lookupAll(t, bob, &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventName, "CreateTrail")}); len(evs) != 0 {
		t.Errorf("Account2 sees Account1's CreateTrail events: %v", eventNames(evs))
	}
}
