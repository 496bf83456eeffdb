package trail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/sqlite/sqlitetest"
)

// The accounts of the test configuration: A manages the organization, B is
// a member, C is outside it.
const (
	acctA = "111111111111"
	acctB = "222222222222"
	acctC = "333333333333"
	orgID = "o-a1b2c3d4e5"
)

var (
	keyA      = "arn:aws:kms:us-east-1:" + acctA + ":key/0a0a0a0a-1111-2222-3333-444455556666"
	logGroupA = "arn:aws:logs:us-east-1:" + acctA + ":log-group:trail-logs:*"
	roleA     = "arn:aws:iam::" + acctA + ":role/CloudTrailToLogs"
)

// fixture is a trail service on a SQLite store in a temporary directory,
// with directory buckets.
type fixture struct {
	svc *Service
	st  store.Store
	cfg *config.Config
}

// newFixture builds the configuration and the service: three regions; bucket
// "bucket-a" of A, "bucket-b" of B, "shared" of A that B may write to; topic
// "alerts" of A; a KMS key and a log group of A; unlisted directory buckets
// under the data directory.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Regions = []string{"us-east-1", "us-west-2", "eu-west-1"}
	cfg.Accounts = []config.Account{{ID: acctA}, {ID: acctB}, {ID: acctC}}
	cfg.Organization = &config.Organization{ID: orgID, ManagementAccount: acctA, Members: []string{acctA, acctB}}
	cfg.Buckets = []config.Bucket{
		{Name: "bucket-a", URL: "file://" + filepath.Join(dir, "a"), Account: acctA},
		{Name: "bucket-b", URL: "file://" + filepath.Join(dir, "b"), Account: acctB},
		{Name: "shared", URL: "file://" + filepath.Join(dir, "s"), Account: acctA, Writers: []string{acctB}},
	}
	cfg.Topics = []config.Topic{{Name: "alerts", Account: acctA, URL: "http://127.0.0.1:9/alerts"}}
	cfg.KMSKeys = []config.KMSKey{{ARN: keyA, Account: acctA}}
	cfg.LogGroups = []config.LogGroup{{ARN: logGroupA, Account: acctA, URL: "file://" + filepath.Join(dir, "logs")}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"unlisted-1", "unlisted-2"} {
		if err := os.MkdirAll(filepath.Join(dir, "buckets", b), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	st := sqlitetest.Open(t)
	return &fixture{svc: newService(st, cfg), st: st, cfg: cfg}
}

// newService is the one place these tests construct the service.
func newService(st store.Store, cfg *config.Config) *Service {
	return NewService(st, optionsOf(cfg), bucket.NewResolver(bucket.ResolverOptions{DataDir: cfg.DataDir, Buckets: cfg.Buckets}))
}

func ptr[T any](v T) *T { return &v }

// code is the AWS error code of err ("" for nil).
func code(err error) string {
	if err == nil {
		return ""
	}
	var ae *awsproto.Error
	if errors.As(err, &ae) {
		return string(ae.Code)
	}
	return "not an AWS error: " + err.Error()
}

func who(account, region string) Caller { return Caller{Account: account, Region: region} }

// create makes a trail or fails the test.
func (f *fixture) create(t *testing.T, c Caller, in CreateTrailInput) *Trail {
	t.Helper()
	out, err := f.svc.CreateTrail(context.Background(), c, in)
	if err != nil {
		t.Fatalf("CreateTrail %s: %v", deref(in.Name), err)
	}
	return out
}

// CreateTrail: what it stores and answers, and each of its errors, in
// CloudTrail's codes.
func TestCreateTrail(t *testing.T) {
	f := newFixture(t)
	a, b := who(acctA, "us-east-1"), who(acctB, "us-east-1")
	cases := []struct {
		name   string
		caller Caller
		in     CreateTrailInput
		code   string
		check  func(t *testing.T, out *Trail)
	}{
		{name: "minimal", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a")},
			check: func(t *testing.T, out *Trail) {
				if out.ARN != "arn:aws:cloudtrail:us-east-1:"+acctA+":trail/minimal" || !out.IncludeGlobalServiceEvents ||
					out.IsMultiRegionTrail || out.LogFileValidationEnabled || out.IsOrganizationTrail || out.S3BucketName != "bucket-a" {
					t.Errorf("output %+v", out)
				}
			}},
		{name: "everything", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a"), S3KeyPrefix: ptr("logs/prod"),
			SnsTopicName: ptr("alerts"), IsMultiRegionTrail: ptr(true), EnableLogFileValidation: ptr(true),
			CloudWatchLogsLogGroupArn: ptr(logGroupA), CloudWatchLogsRoleArn: ptr(roleA), KmsKeyId: ptr("0a0a0a0a-1111-2222-3333-444455556666"),
			TagsList: []Tag{{Key: ptr("team"), Value: ptr("audit")}}},
			check: func(t *testing.T, out *Trail) {
				if out.SnsTopicARN != "arn:aws:sns:us-east-1:"+acctA+":alerts" || out.KmsKeyId != keyA || !out.IsMultiRegionTrail ||
					!out.IncludeGlobalServiceEvents || !out.LogFileValidationEnabled || out.S3KeyPrefix != "logs/prod" ||
					out.CloudWatchLogsLogGroupArn != logGroupA || out.CloudWatchLogsRoleArn != roleA {
					t.Errorf("output %+v", out)
				}
			}},
		{name: "organization", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a"), IsOrganizationTrail: ptr(true)},
			check: func(t *testing.T, out *Trail) {
				if !out.IsOrganizationTrail {
					t.Errorf("output %+v", out)
				}
			}},
		{name: "writer-of-shared", caller: b, in: CreateTrailInput{S3BucketName: ptr("shared")}},
		{name: "ab", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a")}, code: "InvalidTrailNameException"},
		{name: "bad..name", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a")}, code: "InvalidTrailNameException"},
		{name: "no-bucket", caller: a, in: CreateTrailInput{}, code: "InvalidS3BucketNameException"},
		{name: "bad-bucket", caller: a, in: CreateTrailInput{S3BucketName: ptr("Bad_Bucket")}, code: "InvalidS3BucketNameException"},
		{name: "missing-bucket", caller: a, in: CreateTrailInput{S3BucketName: ptr("no-such-bucket")}, code: "S3BucketDoesNotExistException"},
		{name: "others-bucket", caller: b, in: CreateTrailInput{S3BucketName: ptr("bucket-a")}, code: "InsufficientS3BucketPolicyException"},
		{name: "bad-prefix", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a"), S3KeyPrefix: ptr("x/AWSLogs")}, code: "InvalidS3PrefixException"},
		{name: "multi-without-global", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a"), IsMultiRegionTrail: ptr(true),
			IncludeGlobalServiceEvents: ptr(false)}, code: "InvalidParameterCombinationException"},
		{name: "bad-topic-name", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a"), SnsTopicName: ptr("no spaces")}, code: "InvalidSnsTopicNameException"},
		{name: "unknown-topic", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a"), SnsTopicName: ptr("nope")}, code: "InsufficientSnsTopicPolicyException"},
		{name: "others-topic", caller: b, in: CreateTrailInput{S3BucketName: ptr("bucket-b"),
			SnsTopicName: ptr("arn:aws:sns:us-east-1:" + acctA + ":alerts")}, code: "InsufficientSnsTopicPolicyException"},
		{name: "bad-key", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a"), KmsKeyId: ptr("not a key")}, code: "InvalidKmsKeyIdException"},
		{name: "unknown-key", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a"),
			KmsKeyId: ptr("ffffffff-1111-2222-3333-444455556666")}, code: "KmsKeyNotFoundException"},
		{name: "others-key", caller: b, in: CreateTrailInput{S3BucketName: ptr("shared"), KmsKeyId: ptr(keyA)}, code: "InsufficientEncryptionPolicyException"},
		{name: "group-without-role", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a"), CloudWatchLogsLogGroupArn: ptr(logGroupA)},
			code: "InvalidCloudWatchLogsRoleArnException"},
		{name: "role-without-group", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a"), CloudWatchLogsRoleArn: ptr(roleA)},
			code: "InvalidCloudWatchLogsLogGroupArnException"},
		{name: "others-role", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a"), CloudWatchLogsLogGroupArn: ptr(logGroupA),
			CloudWatchLogsRoleArn: ptr("arn:aws:iam::" + acctB + ":role/R")}, code: "InvalidCloudWatchLogsRoleArnException"},
		{name: "unknown-group", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a"),
			CloudWatchLogsLogGroupArn: ptr("arn:aws:logs:us-east-1:" + acctA + ":log-group:other:*"), CloudWatchLogsRoleArn: ptr(roleA)},
			code: "InvalidCloudWatchLogsLogGroupArnException"},
		{name: "member-org-trail", caller: b, in: CreateTrailInput{S3BucketName: ptr("bucket-b"), IsOrganizationTrail: ptr(true)},
			code: "NotOrganizationMasterAccountException"},
		{name: "bad-tag", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a"), TagsList: []Tag{{Key: ptr("aws:reserved")}}},
			code: "InvalidTagParameterException"},
		{name: "minimal", caller: a, in: CreateTrailInput{S3BucketName: ptr("bucket-a")}, code: "TrailAlreadyExistsException"},
		// The multi-region trail "everything" takes the name in every region.
		{name: "everything", caller: who(acctA, "eu-west-1"), in: CreateTrailInput{S3BucketName: ptr("bucket-a")}, code: "TrailAlreadyExistsException"},
		{name: "minimal", caller: who(acctA, "us-west-2"), in: CreateTrailInput{S3BucketName: ptr("bucket-a")}},
		{name: "minimal", caller: b, in: CreateTrailInput{S3BucketName: ptr("bucket-b")}},
	}
	for _, c := range cases {
		t.Run(c.name+"/"+c.code, func(t *testing.T) {
			c.in.Name = ptr(c.name)
			before, _ := f.svc.All(context.Background())
			out, err := f.svc.CreateTrail(context.Background(), c.caller, c.in)
			if got := code(err); got != c.code {
				t.Fatalf("CreateTrail: %v, want code %q", err, c.code)
			}
			after, _ := f.svc.All(context.Background())
			if c.code != "" {
				if len(after) != len(before) {
					t.Errorf("a refused CreateTrail changed the trails: %d, then %d", len(before), len(after))
				}
				return
			}
			if len(after) != len(before)+1 {
				t.Errorf("trails: %d, then %d", len(before), len(after))
			}
			if c.check != nil {
				c.check(t, out)
			}
		})
	}
}

// At most five trails per account and region; a multi-region trail counts
// in every region, and an organization's trail does not count for its
// members.
func TestCreateTrailLimit(t *testing.T) {
	f := newFixture(t)
	a := who(acctA, "us-east-1")
	f.create(t, who(acctA, "eu-west-1"), CreateTrailInput{Name: ptr("multi"), S3BucketName: ptr("bucket-a"), IsMultiRegionTrail: ptr(true)})
	f.create(t, a, CreateTrailInput{Name: ptr("org"), S3BucketName: ptr("bucket-a"), IsOrganizationTrail: ptr(true)})
	for i := range 3 {
		f.create(t, a, CreateTrailInput{Name: ptr(fmt.Sprintf("tr%d", i)), S3BucketName: ptr("bucket-a")})
	}
	_, err := f.svc.CreateTrail(context.Background(), a, CreateTrailInput{Name: ptr("sixth"), S3BucketName: ptr("bucket-a")})
	if code(err) != "MaximumNumberOfTrailsExceededException" {
		t.Fatalf("sixth trail: %v, want MaximumNumberOfTrailsExceededException", err)
	}
	// Another region has room for four more beside the multi-region trail.
	f.create(t, who(acctA, "us-west-2"), CreateTrailInput{Name: ptr("west"), S3BucketName: ptr("bucket-a")})
	// B's own five: the organization trail it sees is not one of them.
	for i := range 5 {
		f.create(t, who(acctB, "us-east-1"), CreateTrailInput{Name: ptr(fmt.Sprintf("bee%d", i)), S3BucketName: ptr("bucket-b")})
	}
	_, err = f.svc.UpdateTrail(context.Background(), who(acctA, "us-west-2"), UpdateTrailInput{Name: ptr("west"), IsMultiRegionTrail: ptr(true)})
	if code(err) != "MaximumNumberOfTrailsExceededException" {
		t.Errorf("making a trail multi-region into a full region: %v, want MaximumNumberOfTrailsExceededException", err)
	}
}

// UpdateTrail changes only what it is given, turns global events on with
// multi-region, and refuses trails the caller may not change.
func TestUpdateTrail(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := who(acctA, "us-east-1")
	f.create(t, a, CreateTrailInput{Name: ptr("main"), S3BucketName: ptr("bucket-a"), S3KeyPrefix: ptr("p"), SnsTopicName: ptr("alerts")})
	f.create(t, a, CreateTrailInput{Name: ptr("org"), S3BucketName: ptr("bucket-a"), IsOrganizationTrail: ptr(true), IsMultiRegionTrail: ptr(true)})
	f.create(t, who(acctA, "eu-west-1"), CreateTrailInput{Name: ptr("main"), S3BucketName: ptr("bucket-a")})

	out, err := f.svc.UpdateTrail(ctx, a, UpdateTrailInput{Name: ptr("main"), IncludeGlobalServiceEvents: ptr(false)})
	if err != nil || out.IncludeGlobalServiceEvents || out.S3KeyPrefix != "p" || out.SnsTopicName != "alerts" {
		t.Fatalf("UpdateTrail: %+v, %v", out, err)
	}
	out, err = f.svc.UpdateTrail(ctx, a, UpdateTrailInput{Name: ptr("arn:aws:cloudtrail:us-east-1:" + acctA + ":trail/main"),
		SnsTopicName: ptr(""), EnableLogFileValidation: ptr(true)})
	if err != nil || out.SnsTopicName != "" || out.SnsTopicARN != "" || !out.LogFileValidationEnabled || out.S3KeyPrefix != "p" {
		t.Fatalf("UpdateTrail by ARN: %+v, %v", out, err)
	}

	cases := []struct {
		name   string
		caller Caller
		in     UpdateTrailInput
		code   string
	}{
		{"no name", a, UpdateTrailInput{}, "InvalidTrailNameException"},
		{"unknown", a, UpdateTrailInput{Name: ptr("nope")}, "TrailNotFoundException"},
		{"another region's by name", who(acctA, "us-west-2"), UpdateTrailInput{Name: ptr("main")}, "TrailNotFoundException"},
		{"another region's by ARN", who(acctA, "us-west-2"),
			UpdateTrailInput{Name: ptr("arn:aws:cloudtrail:us-east-1:" + acctA + ":trail/main")}, "CloudTrailARNInvalidException"},
		{"shadow", who(acctA, "us-west-2"),
			UpdateTrailInput{Name: ptr("arn:aws:cloudtrail:us-east-1:" + acctA + ":trail/org")}, "InvalidHomeRegionException"},
		{"member changes organization trail", who(acctB, "us-east-1"),
			UpdateTrailInput{Name: ptr("arn:aws:cloudtrail:us-east-1:" + acctA + ":trail/org"), S3KeyPrefix: ptr("x")}, "NotOrganizationMasterAccountException"},
		{"outsider", who(acctC, "us-east-1"),
			UpdateTrailInput{Name: ptr("arn:aws:cloudtrail:us-east-1:" + acctA + ":trail/org")}, "TrailNotFoundException"},
		{"multi-region over a same-named trail", a, UpdateTrailInput{Name: ptr("main"), IsMultiRegionTrail: ptr(true)}, "TrailAlreadyExistsException"},
		{"missing bucket", a, UpdateTrailInput{Name: ptr("main"), S3BucketName: ptr("no-such-bucket")}, "S3BucketDoesNotExistException"},
		{"multi without global", a, UpdateTrailInput{Name: ptr("org"), IncludeGlobalServiceEvents: ptr(false)}, "InvalidParameterCombinationException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, _ := f.svc.All(ctx)
			_, err := f.svc.UpdateTrail(ctx, c.caller, c.in)
			if code(err) != c.code {
				t.Fatalf("UpdateTrail: %v, want %s", err, c.code)
			}
			after, _ := f.svc.All(ctx)
			for i := range before {
				if before[i].Version != after[i].Version {
					t.Errorf("refused UpdateTrail changed %s", before[i].ARN)
				}
			}
		})
	}
	// Off multi-region: global events go with it unless given.
	out, err = f.svc.UpdateTrail(ctx, a, UpdateTrailInput{Name: ptr("org"), IsMultiRegionTrail: ptr(false)})
	if err != nil || out.IsMultiRegionTrail || out.IncludeGlobalServiceEvents {
		t.Errorf("multi-region off: %+v, %v; want global events off too", out, err)
	}
	out, err = f.svc.UpdateTrail(ctx, a, UpdateTrailInput{Name: ptr("org"), IsMultiRegionTrail: ptr(true)})
	if err != nil || !out.IsMultiRegionTrail || !out.IncludeGlobalServiceEvents {
		t.Errorf("multi-region on: %+v, %v; want global events on too", out, err)
	}
}

// DeleteTrail removes the trail for every region; only its owner, from its
// home region, may.
func TestDeleteTrail(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := who(acctA, "us-east-1")
	f.create(t, a, CreateTrailInput{Name: ptr("gone"), S3BucketName: ptr("bucket-a"), IsMultiRegionTrail: ptr(true)})
	f.create(t, a, CreateTrailInput{Name: ptr("org"), S3BucketName: ptr("bucket-a"), IsOrganizationTrail: ptr(true)})
	arn := "arn:aws:cloudtrail:us-east-1:" + acctA + ":trail/gone"
	for _, c := range []struct {
		caller Caller
		name   string
		code   string
	}{
		{who(acctA, "eu-west-1"), arn, "InvalidHomeRegionException"},
		{who(acctA, "eu-west-1"), "gone", "TrailNotFoundException"},
		{who(acctB, "us-east-1"), "arn:aws:cloudtrail:us-east-1:" + acctA + ":trail/org", "NotOrganizationMasterAccountException"},
		{who(acctC, "us-east-1"), arn, "TrailNotFoundException"},
		{a, "", "InvalidTrailNameException"},
		{a, "arn:aws:cloudtrail:us-east-1:" + acctA + ":nottrail/x", "CloudTrailARNInvalidException"},
	} {
		if _, err := f.svc.DeleteTrail(ctx, c.caller, c.name); code(err) != c.code {
			t.Errorf("DeleteTrail(%s, %q): %v, want %s", c.caller, c.name, err, c.code)
		}
	}
	tr, err := f.svc.DeleteTrail(ctx, a, "gone")
	if err != nil || tr.ARN != arn {
		t.Fatalf("DeleteTrail: %v, %v", tr, err)
	}
	for _, r := range f.cfg.Regions {
		if _, err := f.svc.GetTrail(ctx, who(acctA, r), arn); code(err) != "TrailNotFoundException" {
			t.Errorf("GetTrail in %s after delete: %v", r, err)
		}
	}
	if _, err := f.svc.DeleteTrail(ctx, a, "gone"); code(err) != "TrailNotFoundException" {
		t.Errorf("second DeleteTrail: %v", err)
	}
	// The name is free again.
	f.create(t, a, CreateTrailInput{Name: ptr("gone"), S3BucketName: ptr("bucket-a")})
}

// visibleSetup makes, as A in us-east-1: "home" (single region), "multi"
// (multi-region), "org" (organization, multi-region); as A in eu-west-1:
// "euro"; as B in us-east-1: "bee".
func visibleSetup(t *testing.T) *fixture {
	f := newFixture(t)
	a := who(acctA, "us-east-1")
	f.create(t, a, CreateTrailInput{Name: ptr("home"), S3BucketName: ptr("bucket-a")})
	f.create(t, a, CreateTrailInput{Name: ptr("multi"), S3BucketName: ptr("bucket-a"), IsMultiRegionTrail: ptr(true)})
	f.create(t, a, CreateTrailInput{Name: ptr("org"), S3BucketName: ptr("bucket-a"), IsMultiRegionTrail: ptr(true), IsOrganizationTrail: ptr(true)})
	f.create(t, who(acctA, "eu-west-1"), CreateTrailInput{Name: ptr("euro"), S3BucketName: ptr("bucket-a")})
	f.create(t, who(acctB, "us-east-1"), CreateTrailInput{Name: ptr("bee"), S3BucketName: ptr("bucket-b")})
	return f
}

// showBool shows an optional flag in a failure message.
func showBool(b *bool) string {
	if b == nil {
		return "unset"
	}
	return fmt.Sprint(*b)
}

func arnOf(region, account, name string) string {
	return "arn:aws:cloudtrail:" + region + ":" + account + ":trail/" + name
}

// GetTrail and DescribeTrails show a caller its own trails of the region,
// its multi-region trails' shadows, and its organization's trails; names
// mean the caller's own trails of the region, ARNs reach the rest.
func TestGetAndDescribeTrails(t *testing.T) {
	ctx := context.Background()
	f := visibleSetup(t)
	names := func(shapes []*Trail) []string {
		var out []string
		for _, s := range shapes {
			out = append(out, s.Name+"@"+s.HomeRegion)
		}
		return out
	}
	cases := []struct {
		caller  Caller
		names   []string
		shadows *bool
		want    []string
		code    string
	}{
		{caller: who(acctA, "us-east-1"), want: []string{"home@us-east-1", "multi@us-east-1", "org@us-east-1"}},
		{caller: who(acctA, "eu-west-1"), want: []string{"euro@eu-west-1", "multi@us-east-1", "org@us-east-1"}},
		{caller: who(acctA, "eu-west-1"), shadows: ptr(false), want: []string{"euro@eu-west-1"}},
		{caller: who(acctA, "us-west-2"), shadows: ptr(true), want: []string{"multi@us-east-1", "org@us-east-1"}},
		{caller: who(acctB, "us-east-1"), want: []string{"bee@us-east-1", "org@us-east-1"}},
		{caller: who(acctB, "us-east-1"), shadows: ptr(false), want: []string{"bee@us-east-1"}},
		{caller: who(acctB, "eu-west-1"), want: []string{"org@us-east-1"}},
		{caller: who(acctC, "us-east-1")},
		{caller: who(acctA, "us-east-1"), names: []string{"home", "euro"}, want: []string{"home@us-east-1"}},
		{caller: who(acctA, "eu-west-1"), names: []string{"multi"}},
		{caller: who(acctA, "eu-west-1"), names: []string{arnOf("us-east-1", acctA, "multi"), "euro"}, want: []string{"euro@eu-west-1", "multi@us-east-1"}},
		{caller: who(acctB, "us-east-1"), names: []string{"org"}},
		{caller: who(acctB, "us-east-1"), names: []string{arnOf("us-east-1", acctA, "org")}, want: []string{"org@us-east-1"}},
		{caller: who(acctC, "us-east-1"), names: []string{arnOf("us-east-1", acctA, "org")}},
		{caller: who(acctA, "us-east-1"), names: []string{"x"}, code: "InvalidTrailNameException"},
		{caller: who(acctA, "us-east-1"), names: []string{"arn:aws:cloudtrail:us-east-1:12:trail/home"}, code: "CloudTrailARNInvalidException"},
	}
	for i, c := range cases {
		got, err := f.svc.DescribeTrails(ctx, c.caller, c.names, c.shadows)
		if code(err) != c.code || !slices.Equal(names(got), c.want) {
			t.Errorf("case %d: DescribeTrails(%v, %v, shadows %v) = %v, %v; want %v, %q", i, c.caller, c.names, showBool(c.shadows), names(got), err, c.want, c.code)
		}
	}
	gets := []struct {
		caller Caller
		name   string
		code   string
	}{
		{who(acctA, "us-east-1"), "home", ""},
		{who(acctA, "eu-west-1"), arnOf("us-east-1", acctA, "multi"), ""},
		{who(acctA, "eu-west-1"), arnOf("us-east-1", acctA, "home"), "CloudTrailARNInvalidException"},
		{who(acctA, "eu-west-1"), "home", "TrailNotFoundException"},
		{who(acctB, "eu-west-1"), arnOf("us-east-1", acctA, "org"), ""},
		{who(acctB, "us-east-1"), "org", "TrailNotFoundException"},
		{who(acctB, "us-east-1"), arnOf("us-east-1", acctA, "home"), "TrailNotFoundException"},
		{who(acctC, "us-east-1"), arnOf("us-east-1", acctA, "org"), "TrailNotFoundException"},
		{who(acctA, "us-east-1"), "", "InvalidTrailNameException"},
		{who(acctA, "us-east-1"), "-bad", "InvalidTrailNameException"},
	}
	for _, g := range gets {
		s, err := f.svc.GetTrail(ctx, g.caller, g.name)
		if code(err) != g.code {
			t.Errorf("GetTrail(%v, %q): %v, want %q", g.caller, g.name, err, g.code)
		}
		if err == nil && (s.ARN == "" || s.HomeRegion != "us-east-1") {
			t.Errorf("GetTrail(%v, %q) = %+v", g.caller, g.name, s)
		}
	}
}

// ListTrails lists every region's trails of the caller's account, and the
// organization's for a member, ten at a time in ARN order.
func TestListTrails(t *testing.T) {
	ctx := context.Background()
	f := visibleSetup(t)
	list := func(c Caller) []string {
		t.Helper()
		var out []string
		var token *string
		for page := 0; ; page++ {
			infos, next, err := f.svc.ListTrails(ctx, c, token)
			if err != nil {
				t.Fatal(err)
			}
			if len(infos) > 10 {
				t.Errorf("page of %d trails", len(infos))
			}
			for _, i := range infos {
				out = append(out, i.Name+"@"+i.HomeRegion)
			}
			if next == nil {
				return out
			}
			token = next
		}
	}
	if got, want := list(who(acctA, "us-west-2")), []string{"euro@eu-west-1", "home@us-east-1", "multi@us-east-1", "org@us-east-1"}; !slices.Equal(got, want) {
		t.Errorf("A's trails: %v, want %v", got, want)
	}
	if got, want := list(who(acctB, "eu-west-1")), []string{"org@us-east-1", "bee@us-east-1"}; !slices.Equal(got, want) {
		t.Errorf("B's trails: %v, want %v", got, want)
	}
	if got := list(who(acctC, "us-east-1")); len(got) != 0 {
		t.Errorf("C's trails: %v, want none", got)
	}
	// Pages: A's 4 and 7 more (as many as each region has room for, with
	// the multi-region trails there) make two pages, 10 and 1.
	for r, room := range map[string]int{"us-east-1": 2, "eu-west-1": 2, "us-west-2": 3} {
		for i := range room {
			f.create(t, who(acctA, r), CreateTrailInput{Name: ptr(fmt.Sprintf("p-%s-%d", r, i)), S3BucketName: ptr("bucket-a")})
		}
	}
	all := list(who(acctA, "us-east-1"))
	distinct := slices.Clone(all)
	slices.Sort(distinct)
	if len(all) != 11 || len(slices.Compact(distinct)) != 11 {
		t.Errorf("paged listing: %d trails %v", len(all), all)
	}
	first, next, err := f.svc.ListTrails(ctx, who(acctA, "us-east-1"), nil)
	if err != nil || len(first) != 10 || next == nil {
		t.Fatalf("first page: %d, next %v, %v", len(first), next, err)
	}
	for _, bad := range []string{"!!!", "bm90IGFuIGFybg"} { // not base64; base64 of "not an arn"
		if _, _, err := f.svc.ListTrails(ctx, who(acctA, "us-east-1"), ptr(bad)); code(err) != "InvalidNextTokenException" {
			t.Errorf("token %q: %v, want InvalidNextTokenException", bad, err)
		}
	}
}

// StartLogging and StopLogging record when and from which log position,
// only from the home region by the owner; GetTrailStatus reports it with
// what delivery says, also from a shadow region.
func TestLoggingAndStatus(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := who(acctA, "us-east-1")
	f.create(t, a, CreateTrailInput{Name: ptr("main"), S3BucketName: ptr("bucket-a"), IsMultiRegionTrail: ptr(true)})
	clock := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	f.svc.now = func() time.Time { return clock }
	appendEvents(t, f.st, 3)

	st, err := f.svc.GetTrailStatus(ctx, a, "main")
	if err != nil || st.IsLogging || !st.StartLoggingTime.IsZero() {
		t.Fatalf("new trail's status: %+v, %v", st, err)
	}
	if _, err := f.svc.SetLogging(ctx, who(acctA, "eu-west-1"), arnOf("us-east-1", acctA, "main"), true); code(err) != "InvalidHomeRegionException" {
		t.Errorf("StartLogging from a shadow region: %v", err)
	}
	if _, err := f.svc.SetLogging(ctx, who(acctB, "us-east-1"), arnOf("us-east-1", acctA, "main"), true); code(err) != "TrailNotFoundException" {
		t.Errorf("StartLogging of another account's trail: %v", err)
	}
	startPos := lastSeq(t, f.st)
	tr, err := f.svc.SetLogging(ctx, a, "main", true)
	if err != nil || !tr.IsLogging || !tr.StartLoggingTime.Equal(clock) || tr.StartSeq != startPos || tr.LoggingEpoch != 1 {
		t.Fatalf("StartLogging: %+v, %v", tr, err)
	}
	again, err := f.svc.SetLogging(ctx, a, "main", true)
	if err != nil || again.LoggingEpoch != 1 || again.Version != tr.Version {
		t.Errorf("StartLogging of a logging trail changed it: %+v, %v", again, err)
	}
	appendEvents(t, f.st, 2)
	clock = clock.Add(time.Hour)
	stopPos := lastSeq(t, f.st)
	tr, err = f.svc.SetLogging(ctx, a, "main", false)
	if err != nil || tr.IsLogging || !tr.StopLoggingTime.Equal(clock) || tr.StopSeq != stopPos || stopPos <= startPos {
		t.Fatalf("StopLogging: %+v, %v", tr, err)
	}
	// What delivery reports is added to the status, and the times shown,
	// by the API (server's TestStatusOutput).
	st, err = f.svc.GetTrailStatus(ctx, who(acctA, "eu-west-1"), arnOf("us-east-1", acctA, "main"))
	if err != nil {
		t.Fatal(err)
	}
	if st.IsLogging || !st.StartLoggingTime.Equal(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)) ||
		!st.StopLoggingTime.Equal(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("status: %+v", st)
	}
	if _, err := f.svc.GetTrailStatus(ctx, a, "nope"); code(err) != "TrailNotFoundException" {
		t.Errorf("GetTrailStatus of an unknown trail: %v", err)
	}
}

// lastSeq is the store's last log position.
func lastSeq(t *testing.T, st store.Store) int64 {
	t.Helper()
	s, err := st.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s.LastSeq
}

// appendEvents stores n events in the log.
func appendEvents(t *testing.T, st store.Store, n int) {
	t.Helper()
	var evs []*event.Event
	for range n {
		e, ferr := event.Decode([]byte(`{"eventTime":"2026-11-26T09:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"E","awsRegion":"us-east-1","eventID":"`+uuid.NewString()+`"}`),
			event.Context{Account: acctA})
		if ferr != nil {
			t.Fatal(ferr)
		}
		evs = append(evs, e)
	}
	if _, err := st.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

// Event selectors: the default until set, basic and advanced replacing each
// other, invalid ones refused, read from the home region only.
func TestEventSelectors(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := who(acctA, "us-east-1")
	f.create(t, a, CreateTrailInput{Name: ptr("main"), S3BucketName: ptr("bucket-a"), IsMultiRegionTrail: ptr(true)})
	// selectors are a trail's selectors in effect, or the error.
	selectors := func(tr *Trail, err error) ([]EventSelector, []AdvancedEventSelector, error) {
		if err != nil {
			return nil, nil, err
		}
		basic, advanced := tr.Selectors()
		return basic, advanced, nil
	}
	gotBasic, gotAdvanced, err := selectors(f.svc.GetEventSelectors(ctx, a, "main"))
	if err != nil || len(gotBasic) != 1 || deref(gotBasic[0].ReadWriteType) != "All" ||
		gotBasic[0].IncludeManagementEvents == nil || !*gotBasic[0].IncludeManagementEvents || gotAdvanced != nil {
		t.Fatalf("default selectors: %+v %+v, %v", gotBasic, gotAdvanced, err)
	}
	basic := []EventSelector{{ReadWriteType: ptr("WriteOnly"), IncludeManagementEvents: ptr(true)}}
	tr, err := f.svc.PutEventSelectors(ctx, a, "main", basic, nil)
	if err != nil || tr == nil {
		t.Fatalf("PutEventSelectors basic: %+v, %v", tr, err)
	}
	if out, _ := tr.Selectors(); deref(out[0].ReadWriteType) != "WriteOnly" || tr.ARN != arnOf("us-east-1", acctA, "main") {
		t.Fatalf("PutEventSelectors basic: %+v", tr)
	}
	if s, _ := f.svc.GetTrail(ctx, a, "main"); !s.HasCustomSelectors() {
		t.Error("HasCustomEventSelectors false after PutEventSelectors")
	}
	adv := []AdvancedEventSelector{{Name: ptr("mgmt"), FieldSelectors: []AdvancedFieldSelector{{Field: ptr("eventCategory"), Equals: []string{"Management"}}}}}
	if _, err := f.svc.PutEventSelectors(ctx, a, "main", nil, adv); err != nil {
		t.Fatal(err)
	}
	gotBasic, gotAdvanced, err = selectors(f.svc.GetEventSelectors(ctx, a, "main"))
	if err != nil || gotBasic != nil || len(gotAdvanced) != 1 {
		t.Errorf("after advanced: %+v %+v, %v", gotBasic, gotAdvanced, err)
	}
	for _, c := range []struct {
		name     string
		caller   Caller
		trail    string
		basic    []EventSelector
		advanced []AdvancedEventSelector
		code     string
	}{
		{"both kinds", a, "main", basic, adv, "InvalidParameterCombinationException"},
		{"bad read/write type", a, "main", []EventSelector{{ReadWriteType: ptr("Sometimes")}}, nil, "InvalidEventSelectorsException"},
		{"shadow", who(acctA, "eu-west-1"), arnOf("us-east-1", acctA, "main"), basic, nil, "InvalidHomeRegionException"},
		{"unknown", a, "nope", basic, nil, "TrailNotFoundException"},
	} {
		if _, err := f.svc.PutEventSelectors(ctx, c.caller, c.trail, c.basic, c.advanced); code(err) != c.code {
			t.Errorf("PutEventSelectors %s: %v, want %s", c.name, err, c.code)
		}
	}
	if _, got, _ := selectors(f.svc.GetEventSelectors(ctx, a, "main")); len(got) != 1 {
		t.Errorf("refused puts changed the selectors: %+v", got)
	}
	if _, err := f.svc.GetEventSelectors(ctx, who(acctA, "eu-west-1"), arnOf("us-east-1", acctA, "main")); code(err) != "TrailNotFoundException" {
		t.Errorf("GetEventSelectors from a shadow region: %v", err)
	}
}

// Insight selectors: none until set (InsightNotEnabledException), the
// category defaulting to Management, invalid types refused.
func TestInsightSelectors(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := who(acctA, "us-east-1")
	f.create(t, a, CreateTrailInput{Name: ptr("main"), S3BucketName: ptr("bucket-a")})
	if _, err := f.svc.GetInsightSelectors(ctx, a, "main"); code(err) != "InsightNotEnabledException" {
		t.Errorf("GetInsightSelectors before any: %v", err)
	}
	for _, bad := range [][]InsightSelector{{{InsightType: ptr("Bogus")}}, {{}}} {
		if _, err := f.svc.PutInsightSelectors(ctx, a, "main", bad); code(err) != "InvalidInsightSelectorsException" {
			t.Errorf("PutInsightSelectors %+v: %v", bad, err)
		}
	}
	out, err := f.svc.PutInsightSelectors(ctx, a, "main", []InsightSelector{{InsightType: ptr(InsightAPICallRate)}})
	if err != nil || len(out.InsightSelectors) != 1 || !slices.Equal(out.InsightSelectors[0].EventCategories, []string{"Management"}) {
		t.Fatalf("PutInsightSelectors: %+v, %v", out, err)
	}
	got, err := f.svc.GetInsightSelectors(ctx, a, "main")
	if err != nil || got.ARN != out.ARN || deref(got.InsightSelectors[0].InsightType) != InsightAPICallRate {
		t.Errorf("GetInsightSelectors: %+v, %v", got, err)
	}
	if s, _ := f.svc.GetTrail(ctx, a, "main"); len(s.InsightSelectors) == 0 {
		t.Error("HasInsightSelectors false after PutInsightSelectors")
	}
	if _, err := f.svc.PutInsightSelectors(ctx, who(acctB, "us-east-1"), arnOf("us-east-1", acctA, "main"), nil); code(err) != "TrailNotFoundException" {
		t.Errorf("PutInsightSelectors on another account's trail: %v", err)
	}
}

// Tags: added, overwritten by key, removed by key (and value when given),
// listed for up to 20 trails; the owner changes them, members list the
// organization's.
func TestTags(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := who(acctA, "us-east-1")
	f.create(t, a, CreateTrailInput{Name: ptr("org"), S3BucketName: ptr("bucket-a"), IsOrganizationTrail: ptr(true),
		TagsList: []Tag{{Key: ptr("team"), Value: ptr("audit")}}})
	arn := arnOf("us-east-1", acctA, "org")
	tags := func(c Caller) string {
		t.Helper()
		rt, err := f.svc.ListTags(ctx, c, []string{arn})
		if err != nil {
			t.Fatal(err)
		}
		var kv []string
		for _, tg := range rt[0].Tags {
			kv = append(kv, deref(tg.Key)+"="+deref(tg.Value))
		}
		return strings.Join(kv, ",")
	}
	if _, err := f.svc.AddTags(ctx, a, arn, []Tag{{Key: ptr("env"), Value: ptr("prod")}, {Key: ptr("team"), Value: ptr("sec")}}); err != nil {
		t.Fatal(err)
	}
	if got := tags(a); got != "team=sec,env=prod" {
		t.Errorf("after AddTags: %s", got)
	}
	if got := tags(who(acctB, "us-east-1")); got != "team=sec,env=prod" {
		t.Errorf("member's ListTags: %s", got)
	}
	if _, err := f.svc.RemoveTags(ctx, a, arn, []Tag{{Key: ptr("team"), Value: ptr("audit")}, {Key: ptr("env")}}); err != nil {
		t.Fatal(err)
	}
	if got := tags(a); got != "team=sec" {
		t.Errorf("after RemoveTags (team with another value, env with none): %s", got)
	}
	many := make([]Tag, 50)
	for i := range many {
		many[i] = Tag{Key: ptr(fmt.Sprintf("k%d", i))}
	}
	ids21 := make([]string, 21)
	for i := range ids21 {
		ids21[i] = arn
	}
	for _, c := range []struct {
		name string
		op   func() error
		code string
	}{
		{"add to a name", func() error { _, err := f.svc.AddTags(ctx, a, "org", many[:1]); return err }, "CloudTrailARNInvalidException"},
		{"add to unknown", func() error { _, err := f.svc.AddTags(ctx, a, arnOf("us-east-1", acctA, "nope"), many[:1]); return err }, "ResourceNotFoundException"},
		{"add from another region", func() error { _, err := f.svc.AddTags(ctx, who(acctA, "eu-west-1"), arn, many[:1]); return err }, "CloudTrailARNInvalidException"},
		{"add by member", func() error { _, err := f.svc.AddTags(ctx, who(acctB, "us-east-1"), arn, many[:1]); return err }, "NotOrganizationMasterAccountException"},
		{"add past 50", func() error { _, err := f.svc.AddTags(ctx, a, arn, many); return err }, "TagsLimitExceededException"},
		{"add reserved", func() error { _, err := f.svc.AddTags(ctx, a, arn, []Tag{{Key: ptr("aws:x")}}); return err }, "InvalidTagParameterException"},
		{"remove empty key", func() error { _, err := f.svc.RemoveTags(ctx, a, arn, []Tag{{Key: ptr("")}}); return err }, "InvalidTagParameterException"},
		{"remove by outsider", func() error { _, err := f.svc.RemoveTags(ctx, who(acctC, "us-east-1"), arn, many[:1]); return err }, "ResourceNotFoundException"},
		{"list none", func() error { _, err := f.svc.ListTags(ctx, a, nil); return err }, "InvalidParameterException"},
		{"list 21", func() error { _, err := f.svc.ListTags(ctx, a, ids21); return err }, "InvalidParameterException"},
		{"list outsider", func() error { _, err := f.svc.ListTags(ctx, who(acctC, "us-east-1"), []string{arn}); return err }, "ResourceNotFoundException"},
	} {
		if err := c.op(); code(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	if got := tags(a); got != "team=sec" {
		t.Errorf("refused tag operations changed the tags: %s", got)
	}
}

// An unlisted directory bucket belongs to the first account whose trail
// names it, for good (the claim is in the store, so a new service on the
// same store knows it); other accounts' trails may not use it.
func TestBucketClaims(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.create(t, who(acctB, "us-east-1"), CreateTrailInput{Name: ptr("first"), S3BucketName: ptr("unlisted-1")})
	if _, err := f.svc.CreateTrail(ctx, who(acctC, "us-east-1"), CreateTrailInput{Name: ptr("second"), S3BucketName: ptr("unlisted-1")}); code(err) != "InsufficientS3BucketPolicyException" {
		t.Errorf("another account naming a claimed bucket: %v", err)
	}
	f.create(t, who(acctB, "eu-west-1"), CreateTrailInput{Name: ptr("again"), S3BucketName: ptr("unlisted-1")})
	// UpdateTrail claims too.
	f.create(t, who(acctC, "us-east-1"), CreateTrailInput{Name: ptr("mover"), S3BucketName: ptr("unlisted-2")})
	fresh := newService(f.st, f.cfg)
	if _, err := fresh.UpdateTrail(ctx, who(acctA, "us-east-1"), UpdateTrailInput{Name: ptr("x-none")}); code(err) != "TrailNotFoundException" {
		t.Errorf("UpdateTrail of an unknown trail: %v", err)
	}
	f.create(t, who(acctA, "us-east-1"), CreateTrailInput{Name: ptr("tries"), S3BucketName: ptr("bucket-a")})
	for _, s := range []*Service{f.svc, fresh} {
		if _, err := s.UpdateTrail(ctx, who(acctA, "us-east-1"), UpdateTrailInput{Name: ptr("tries"), S3BucketName: ptr("unlisted-2")}); code(err) != "InsufficientS3BucketPolicyException" {
			t.Errorf("moving to another account's claimed bucket: %v", err)
		}
		if _, err := s.UpdateTrail(ctx, who(acctA, "us-east-1"), UpdateTrailInput{Name: ptr("tries"), S3BucketName: ptr("unlisted-1")}); code(err) != "InsufficientS3BucketPolicyException" {
			t.Errorf("moving to another account's claimed bucket: %v", err)
		}
	}
}

// optionsOf is what the service reads of cfg, as cairn serve gives it.
func optionsOf(cfg *config.Config) Options {
	return Options{Partition: cfg.Partition, Regions: cfg.Regions, LogGroups: cfg.LogGroups, OwnersOptions: ownersOf(cfg)}
}

// ownersOf is what the ownership rules read of cfg.
func ownersOf(cfg *config.Config) OwnersOptions {
	return OwnersOptions{Ownership: cfg.Ownership(), Buckets: cfg.Buckets, KMSKeys: cfg.KMSKeys, Topics: cfg.Topics}
}
