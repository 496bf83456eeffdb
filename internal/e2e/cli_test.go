package e2e

// Tests through the real AWS CLI (v1) and the real curl, the tools users
// point at Cairn first.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// cliResult is what one run of the AWS CLI printed and how it exited.
type cliResult struct {
	stdout, stderr string
	code           int
}

// cliEvent is one Event of `aws cloudtrail lookup-events --output json`.
type cliEvent struct {
	EventId         string
	EventName       string
	ReadOnly        string
	AccessKeyId     string
	EventTime       float64
	EventSource     string
	Username        string
	Resources       []struct{ ResourceType, ResourceName string }
	CloudTrailEvent string
}

type cliLookupOutput struct {
	Events    []cliEvent
	NextToken string
}

// cliAWSBinary finds the AWS CLI or fails the test: these tests are the proof
// that the CLI works, so they must not silently skip.
func cliAWSBinary(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("aws")
	if err != nil {
		t.Fatalf("the AWS CLI (aws) is required for this test but is not on PATH (pip install awscli): %v", err)
	}
	return p
}

// awsEnv is the environment of an AWS CLI run as key/secret, isolated from
// the machine's own AWS configuration.
func awsEnv(t testing.TB, key, secret string) []string {
	dir := t.TempDir()
	return []string{
		"AWS_ACCESS_KEY_ID=" + key,
		"AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "nonexistent-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "nonexistent-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
		"AWS_PAGER=",
		"NO_PROXY=127.0.0.1,localhost",
		"no_proxy=127.0.0.1,localhost",
	}
}

// runCommand runs a program with env added to the test's clean
// environment, failing the test only if it cannot run or hangs.
func runCommand(t testing.TB, env []string, name string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(cleanEnv(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ctx.Err() != nil {
			t.Fatalf("%s %q: %v\nstderr: %s", name, args, err, res.stderr)
		}
		res.code = ee.ExitCode()
	}
	return res
}

// cliRun runs `aws --endpoint-url URL --region REGION --output json ARGS...`
// as key/secret, isolated from the machine's own AWS configuration.
func cliRun(t testing.TB, srv *Server, key, secret, region string, args ...string) cliResult {
	t.Helper()
	full := append([]string{"--endpoint-url", srv.URL, "--region", region, "--output", "json"}, args...)
	return runCommand(t, awsEnv(t, key, secret), cliAWSBinary(t), full...)
}

// cliLookup runs `aws cloudtrail lookup-events ARGS...` and decodes its
// answer, failing the test if the CLI fails.
func cliLookup(t testing.TB, srv *Server, key, secret, region string, args ...string) cliLookupOutput {
	t.Helper()
	res := cliRun(t, srv, key, secret, region, append([]string{"cloudtrail", "lookup-events"}, args...)...)
	if res.code != 0 {
		t.Fatalf("aws cloudtrail lookup-events %q: exit %d\nstderr: %s", args, res.code, res.stderr)
	}
	var out cliLookupOutput
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("aws cloudtrail lookup-events %q: output is not JSON: %v\n%s", args, err, res.stdout)
	}
	return out
}

// cliError runs a CLI command that must fail with the server's error code.
func cliError(t testing.TB, srv *Server, key, secret, region, code string, args ...string) cliResult {
	t.Helper()
	res := cliRun(t, srv, key, secret, region, args...)
	if res.code == 0 {
		t.Errorf("aws %q: exit 0, want a failure with %s\nstdout: %s", args, code, res.stdout)
		return res
	}
	want := "An error occurred (" + code + ")"
	if !strings.Contains(res.stderr, want) {
		t.Errorf("aws %q: exit %d, stderr lacks %q:\n%s", args, res.code, want, res.stderr)
	}
	return res
}

func cliAttr(key, value string) []string {
	return []string{"--lookup-attributes", "AttributeKey=" + key + ",AttributeValue=" + value}
}

func cliEventIDs(evs []cliEvent) []string {
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.EventId
	}
	return ids
}

// cliRecord decodes an Event's CloudTrailEvent record.
func cliRecord(t testing.TB, e cliEvent) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(e.CloudTrailEvent), &m); err != nil {
		t.Fatalf("CloudTrailEvent of %s is not JSON: %v\n%s", e.EventId, err, e.CloudTrailEvent)
	}
	return m
}

// cliBaseTime is a whole second an hour ago: inside event history, and clear of
// the self-audit events the test's own calls produce.
func cliBaseTime() time.Time { return time.Now().UTC().Truncate(time.Second).Add(-time.Hour) }

func cliIdentity(user, key string) map[string]any {
	return map[string]any{"type": "IAMUser", "principalId": "AIDA" + strings.ToUpper(user), "userName": user,
		"accessKeyId": key, "arn": "arn:aws:iam::111111111111:user/" + user, "accountId": "111111111111"}
}

func TestCLILookupAttributes(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	base := cliBaseTime()
	const (
		instanceARN = "arn:aws:ec2:us-east-1:111111111111:instance/i-0abc123def"
		bucketARN   = "arn:aws:s3:::e2e-cli-bucket"
		userARN     = "arn:aws:iam::111111111111:user/gone-user"
		doraKey     = "AKIADORA000000000001"
		erinKey     = "AKIAERIN000000000001"
	)
	recs := []map[string]any{
		Record("RunInstances", "ec2.amazonaws.com", "us-east-1", base.Add(-4*time.Minute), map[string]any{
			"eventID": "e2e0c110-0000-4000-8000-000000000001", "readOnly": false, "userIdentity": cliIdentity("dora", doraKey),
			"resources": []map[string]any{{"ARN": instanceARN, "accountId": Account1, "type": "AWS::EC2::Instance"}}}),
		Record("DescribeInstances", "ec2.amazonaws.com", "us-east-1", base.Add(-3*time.Minute), map[string]any{
			"eventID": "e2e0c110-0000-4000-8000-000000000002", "readOnly": true, "userIdentity": cliIdentity("erin", erinKey)}),
		Record("CreateBucket", "s3.amazonaws.com", "us-east-1", base.Add(-2*time.Minute), map[string]any{
			"eventID": "e2e0c110-0000-4000-8000-000000000003", "readOnly": false, "userIdentity": cliIdentity("dora", doraKey),
			"resources": []map[string]any{{"ARN": bucketARN, "accountId": Account1, "type": "AWS::S3::Bucket"}}}),
		Record("DeleteUser", "iam.amazonaws.com", "us-east-1", base.Add(-1*time.Minute), map[string]any{
			"eventID": "e2e0c110-0000-4000-8000-000000000004", "readOnly": false, "userIdentity": cliIdentity("frank", "AKIAFRANK00000000001"),
			"resources": []map[string]any{{"ARN": userARN, "accountId": Account1, "type": "AWS::IAM::User"}}}),
	}
	res := srv.Ingest(t, AdminKey, AdminSecret, recs...)
	if res.Accepted != len(recs) || len(res.Failed) != 0 {
		t.Fatalf("ingest: %+v", res)
	}
	id := func(i int) string { return recs[i]["eventID"].(string) }
	for i := range recs {
		if res.EventIDs[i] != id(i) {
			t.Fatalf("ingest eventIDs = %v, want the records' own IDs", res.EventIDs)
		}
	}

	cases := []struct {
		key, value string
		want       []string // newest first
	}{
		{"EventId", id(2), []string{id(2)}},
		{"EventName", "RunInstances", []string{id(0)}},
		{"ReadOnly", "false", []string{id(3), id(2), id(0)}},
		{"Username", "dora", []string{id(2), id(0)}},
		{"ResourceType", "AWS::S3::Bucket", []string{id(2)}},
		{"ResourceName", instanceARN, []string{id(0)}},
		{"ResourceName", "i-0abc123def", []string{id(0)}},
		{"ResourceName", bucketARN, []string{id(2)}},
		{"ResourceName", "e2e-cli-bucket", []string{id(2)}},
		{"ResourceName", "gone-user", []string{id(3)}},
		{"EventSource", "ec2.amazonaws.com", []string{id(1), id(0)}},
		{"AccessKeyId", erinKey, []string{id(1)}},
		{"EventName", "NoSuchEventName", []string{}},
	}
	for _, c := range cases {
		t.Run(c.key+"="+c.value, func(t *testing.T) {
			t.Parallel()
			out := cliLookup(t, srv, AdminKey, AdminSecret, "us-east-1", cliAttr(c.key, c.value)...)
			if got := cliEventIDs(out.Events); !slices.Equal(got, c.want) {
				t.Errorf("lookup %s=%s: events %v, want %v", c.key, c.value, got, c.want)
			}
		})
	}

	// ReadOnly=true also finds the self-audit records of these very lookups,
	// so check membership and that every answer is read-only.
	t.Run("ReadOnly=true", func(t *testing.T) {
		t.Parallel()
		out := cliLookup(t, srv, AdminKey, AdminSecret, "us-east-1", cliAttr("ReadOnly", "true")...)
		ids := cliEventIDs(out.Events)
		if !slices.Contains(ids, id(1)) {
			t.Errorf("ReadOnly=true lacks the read-only event %s: %v", id(1), ids)
		}
		for _, e := range out.Events {
			if e.ReadOnly != "true" {
				t.Errorf("ReadOnly=true answered event %s (%s) with ReadOnly %q", e.EventId, e.EventName, e.ReadOnly)
			}
		}
	})

	t.Run("event shape", func(t *testing.T) {
		t.Parallel()
		out := cliLookup(t, srv, AdminKey, AdminSecret, "us-east-1", cliAttr("EventId", id(0))...)
		if len(out.Events) != 1 {
			t.Fatalf("events: %+v", out.Events)
		}
		e := out.Events[0]
		if e.EventName != "RunInstances" || e.EventSource != "ec2.amazonaws.com" || e.Username != "dora" ||
			e.AccessKeyId != doraKey || e.ReadOnly != "false" {
			t.Errorf("event summary: %+v", e)
		}
		if want := float64(base.Add(-4 * time.Minute).Unix()); e.EventTime != want {
			t.Errorf("EventTime = %v, want %v", e.EventTime, want)
		}
		if len(e.Resources) != 1 || e.Resources[0].ResourceType != "AWS::EC2::Instance" || e.Resources[0].ResourceName != instanceARN {
			t.Errorf("Resources = %+v", e.Resources)
		}
		rec := cliRecord(t, e)
		if rec["eventID"] != id(0) || rec["eventName"] != "RunInstances" || rec["recipientAccountId"] != Account1 {
			t.Errorf("CloudTrailEvent: %s", e.CloudTrailEvent)
		}
	})
}

func TestCLITimeRange(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	base := cliBaseTime()
	var recs []map[string]any
	for i := range 4 {
		recs = append(recs, Record(fmt.Sprintf("TimeProbe%d", i), "timerange.example.com", "us-east-1",
			base.Add(time.Duration(i)*time.Minute), nil))
	}
	res := srv.Ingest(t, AdminKey, AdminSecret, recs...)
	if res.Accepted != 4 {
		t.Fatalf("ingest: %+v", res)
	}
	iso := func(i int) string { return base.Add(time.Duration(i) * time.Minute).Format("2006-01-02T15:04:05Z") }
	src := cliAttr("EventSource", "timerange.example.com")

	cases := []struct {
		name       string
		start, end string
		want       []string
	}{
		{"inclusive bounds", iso(1), iso(2), []string{res.EventIDs[2], res.EventIDs[1]}},
		{"start equals end", iso(1), iso(1), []string{res.EventIDs[1]}},
		{"open end", iso(2), "", []string{res.EventIDs[3], res.EventIDs[2]}},
		{"open start", "", iso(0), []string{res.EventIDs[0]}},
		{"before everything", base.Add(-time.Hour).Format(time.RFC3339), base.Add(-time.Second).Format(time.RFC3339), []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := slices.Clone(src)
			if c.start != "" {
				args = append(args, "--start-time", c.start)
			}
			if c.end != "" {
				args = append(args, "--end-time", c.end)
			}
			out := cliLookup(t, srv, AdminKey, AdminSecret, "us-east-1", args...)
			if got := cliEventIDs(out.Events); !slices.Equal(got, c.want) {
				t.Errorf("--start-time %q --end-time %q: events %v, want %v", c.start, c.end, got, c.want)
			}
		})
	}
}

func TestCLIPagination(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	base := cliBaseTime()
	var recs []map[string]any
	for i := range 5 {
		recs = append(recs, Record(fmt.Sprintf("PageProbe%d", i), "paging.example.com", "us-east-1",
			base.Add(time.Duration(i)*time.Second), nil))
	}
	res := srv.Ingest(t, AdminKey, AdminSecret, recs...)
	if res.Accepted != 5 {
		t.Fatalf("ingest: %+v", res)
	}
	want := slices.Clone(res.EventIDs)
	slices.Reverse(want) // newest first
	src := cliAttr("EventSource", "paging.example.com")

	t.Run("max-items and starting-token", func(t *testing.T) {
		t.Parallel()
		first := cliLookup(t, srv, AdminKey, AdminSecret, "us-east-1", append(slices.Clone(src), "--max-items", "3", "--page-size", "2")...)
		if got := cliEventIDs(first.Events); !slices.Equal(got, want[:3]) {
			t.Fatalf("first 3 items: %v, want %v", got, want[:3])
		}
		if first.NextToken == "" {
			t.Fatalf("--max-items 3 of 5 events returned no NextToken")
		}
		rest := cliLookup(t, srv, AdminKey, AdminSecret, "us-east-1", append(slices.Clone(src),
			"--max-items", "3", "--page-size", "2", "--starting-token", first.NextToken)...)
		if got := cliEventIDs(rest.Events); !slices.Equal(got, want[3:]) {
			t.Errorf("after --starting-token: %v, want %v", got, want[3:])
		}
		if rest.NextToken != "" {
			t.Errorf("last page has NextToken %q", rest.NextToken)
		}
	})

	t.Run("auto-pagination", func(t *testing.T) {
		t.Parallel()
		out := cliLookup(t, srv, AdminKey, AdminSecret, "us-east-1", append(slices.Clone(src), "--page-size", "2")...)
		if got := cliEventIDs(out.Events); !slices.Equal(got, want) {
			t.Errorf("--page-size 2: %v, want every event once, newest first: %v", got, want)
		}
	})

	t.Run("server tokens", func(t *testing.T) {
		t.Parallel()
		// --max-results turns the CLI's pagination off: the raw token.
		first := cliLookup(t, srv, AdminKey, AdminSecret, "us-east-1", append(slices.Clone(src), "--max-results", "2")...)
		if got := cliEventIDs(first.Events); !slices.Equal(got, want[:2]) || first.NextToken == "" {
			t.Fatalf("--max-results 2: %v token %q", got, first.NextToken)
		}
		var got []string
		tok := first.NextToken
		got = append(got, cliEventIDs(first.Events)...)
		for i := 0; tok != "" && i < 5; i++ {
			page := cliLookup(t, srv, AdminKey, AdminSecret, "us-east-1", append(slices.Clone(src), "--max-results", "2", "--next-token", tok)...)
			got = append(got, cliEventIDs(page.Events)...)
			tok = page.NextToken
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages by --next-token: %v, want %v", got, want)
		}
		// The same token with other parameters, or in another region.
		cliError(t, srv, AdminKey, AdminSecret, "us-east-1", "InvalidNextTokenException",
			append([]string{"cloudtrail", "lookup-events", "--max-results", "2", "--next-token", first.NextToken},
				cliAttr("EventName", "PageProbe1")...)...)
		cliError(t, srv, AdminKey, AdminSecret, "us-east-1", "InvalidNextTokenException",
			"cloudtrail", "lookup-events", "--max-results", "2", "--next-token", first.NextToken)
		cliError(t, srv, AdminKey, AdminSecret, "us-west-2", "InvalidNextTokenException",
			append([]string{"cloudtrail", "lookup-events", "--max-results", "2", "--next-token", first.NextToken}, src...)...)
	})
}

func TestCLIErrors(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	srv.Ingest(t, AdminKey, AdminSecret, Record("ErrorProbe", "errors.example.com", "us-east-1", cliBaseTime(), nil))
	lookup := []string{"cloudtrail", "lookup-events"}
	with := func(args ...string) []string { return append(slices.Clone(lookup), args...) }

	cases := []struct {
		name string
		code string
		args []string
	}{
		{"two lookup attributes", "InvalidLookupAttributesException", with("--lookup-attributes",
			"AttributeKey=EventName,AttributeValue=a", "AttributeKey=Username,AttributeValue=b")},
		{"unknown attribute key", "InvalidLookupAttributesException", with(cliAttr("Color", "blue")...)},
		{"start after end", "InvalidTimeRangeException", with("--start-time", "2026-01-02T00:00:00Z", "--end-time", "2026-01-01T00:00:00Z")},
		{"max results 51", "InvalidMaxResultsException", with("--max-results", "51")},
		{"bad event category", "InvalidEventCategoryException", with("--event-category", "management")},
		{"corrupt next token", "InvalidNextTokenException", with("--next-token", "not-a-token!!")},
		{"truncated next token", "InvalidNextTokenException", with("--next-token", "AQ")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cliError(t, srv, AdminKey, AdminSecret, "us-east-1", c.code, c.args...)
		})
	}

	t.Run("max results 0 is refused by the CLI", func(t *testing.T) {
		t.Parallel()
		// botocore validates the model's minimum (1) before sending; what the
		// user sees is a parameter validation error, not the server's.
		res := cliRun(t, srv, AdminKey, AdminSecret, "us-east-1", with("--max-results", "0")...)
		if res.code == 0 {
			t.Fatalf("--max-results 0 succeeded: %s", res.stdout)
		}
		clientSide := strings.Contains(res.stderr, "Parameter validation failed") && strings.Contains(res.stderr, "MaxResults")
		if !clientSide && !strings.Contains(res.stderr, "An error occurred (InvalidMaxResultsException)") {
			t.Errorf("--max-results 0: neither the CLI's validation error nor InvalidMaxResultsException:\n%s", res.stderr)
		}
	})

	t.Run("insight category", func(t *testing.T) {
		t.Parallel()
		out := cliLookup(t, srv, AdminKey, AdminSecret, "us-east-1", "--event-category", "insight")
		if len(out.Events) != 0 {
			t.Errorf("--event-category insight answered management events: %v", cliEventIDs(out.Events))
		}
	})
}

func TestCLIAuth(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	res := srv.Ingest(t, AdminKey, AdminSecret, Record("AuthProbe", "auth.example.com", "us-east-1", cliBaseTime(), nil))
	probe := cliAttr("EventName", "AuthProbe")
	lookup := append([]string{"cloudtrail", "lookup-events"}, probe...)

	t.Run("wrong secret", func(t *testing.T) {
		t.Parallel()
		cliError(t, srv, AdminKey, "not-alice-secret", "us-east-1", "InvalidSignatureException", lookup...)
	})
	t.Run("unknown key", func(t *testing.T) {
		t.Parallel()
		cliError(t, srv, "AKIANOBODY0000000001", AdminSecret, "us-east-1", "UnrecognizedClientException", lookup...)
	})
	t.Run("read-only user", func(t *testing.T) {
		t.Parallel()
		out := cliLookup(t, srv, ReaderKey, ReaderSecret, "us-east-1", probe...)
		if got := cliEventIDs(out.Events); !slices.Equal(got, res.EventIDs) {
			t.Errorf("rita's lookup: %v, want %v", got, res.EventIDs)
		}
	})
	t.Run("ingest-only user", func(t *testing.T) {
		t.Parallel()
		cliError(t, srv, IngestKey, IngestSecret, "us-east-1", "AccessDeniedException", lookup...)
	})
	t.Run("other account", func(t *testing.T) {
		t.Parallel()
		out := cliLookup(t, srv, OtherKey, OtherSecret, "us-east-1", probe...)
		if len(out.Events) != 0 {
			t.Errorf("bob (account %s) sees account %s's events: %v", Account2, Account1, cliEventIDs(out.Events))
		}
	})
	t.Run("unsupported operation", func(t *testing.T) {
		t.Parallel()
		// An operation of the model that Cairn does not serve (CloudTrail
		// Lake is outside Cairn's scope) is UnsupportedOperationException,
		// not a 404 or UnknownOperationException.
		r := cliError(t, srv, AdminKey, AdminSecret, "us-east-1", "UnsupportedOperationException", "cloudtrail", "list-channels")
		if strings.Contains(r.stderr, "404") || strings.Contains(r.stderr, "Not Found") || strings.Contains(r.stderr, "UnknownOperation") {
			t.Errorf("list-channels answered like a 404:\n%s", r.stderr)
		}
	})
	t.Run("describe-trails", func(t *testing.T) {
		t.Parallel()
		// Implemented or not yet, DescribeTrails is a known operation.
		r := cliRun(t, srv, AdminKey, AdminSecret, "us-east-1", "cloudtrail", "describe-trails")
		switch {
		case r.code == 0:
			var out struct {
				TrailList *[]any `json:"trailList"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.TrailList == nil {
				t.Errorf("describe-trails: exit 0 but no trailList: %v\n%s", err, r.stdout)
			}
		case !strings.Contains(r.stderr, "An error occurred (UnsupportedOperationException)"):
			t.Errorf("describe-trails: exit %d, want success or UnsupportedOperationException:\n%s", r.code, r.stderr)
		}
	})
}

func TestCLIRegions(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	base := cliBaseTime()
	eu := srv.Ingest(t, AdminKey, AdminSecret, Record("RegionProbe", "regions.example.com", "eu-west-1", base, nil))
	us := srv.Ingest(t, AdminKey, AdminSecret, Record("RegionProbe", "regions.example.com", "us-east-1", base.Add(time.Second), nil))
	if eu.Accepted != 1 || us.Accepted != 1 {
		t.Fatalf("ingest: eu %+v us %+v", eu, us)
	}
	cases := []struct {
		region string
		want   []string
	}{
		{"eu-west-1", eu.EventIDs},
		{"us-east-1", us.EventIDs},
		{"us-west-2", []string{}},
	}
	for _, c := range cases {
		t.Run(c.region, func(t *testing.T) {
			t.Parallel()
			out := cliLookup(t, srv, AdminKey, AdminSecret, c.region, cliAttr("EventName", "RegionProbe")...)
			if got := cliEventIDs(out.Events); !slices.Equal(got, c.want) {
				t.Errorf("--region %s: %v, want %v", c.region, got, c.want)
			}
			for _, e := range out.Events {
				if r := cliRecord(t, e)["awsRegion"]; r != c.region {
					t.Errorf("--region %s answered an event of %v", c.region, r)
				}
			}
		})
	}
	t.Run("unserved region", func(t *testing.T) {
		t.Parallel()
		res := cliRun(t, srv, AdminKey, AdminSecret, "ap-south-1", "cloudtrail", "lookup-events")
		if res.code == 0 {
			t.Errorf("--region ap-south-1 (not served) succeeded: %s", res.stdout)
		}
	})
}

func TestCLISelfAudit(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	const marker = "SelfAuditMarker"
	cliLookup(t, srv, AdminKey, AdminSecret, "us-east-1", cliAttr("EventName", marker)...)
	cliError(t, srv, AdminKey, AdminSecret, "us-east-1", "InvalidMaxResultsException", "cloudtrail", "lookup-events", "--max-results", "51")

	// Reads are recorded in the background: poll until both records show.
	var okEv, failEv *cliEvent
	var okRec, failRec map[string]any
	testutil.WaitForEvery(t, 30*time.Second, 200*time.Millisecond, func() (bool, string) {
		out := cliLookup(t, srv, AdminKey, AdminSecret, "us-east-1", cliAttr("EventName", "LookupEvents")...)
		for i := range out.Events {
			e := &out.Events[i]
			rec := cliRecord(t, *e)
			params, _ := rec["requestParameters"].(map[string]any)
			if params == nil {
				continue
			}
			if las, ok := params["lookupAttributes"].([]any); ok && len(las) == 1 {
				if la, _ := las[0].(map[string]any); la["attributeValue"] == marker {
					okEv, okRec = e, rec
				}
			}
			if mr, ok := params["maxResults"].(float64); ok && mr == 51 {
				failEv, failRec = e, rec
			}
		}
		return okEv != nil && failEv != nil, fmt.Sprintf("self-audit records not found (successful call found: %v, failed call found: %v)", okEv != nil, failEv != nil)
	})

	t.Run("successful call", func(t *testing.T) {
		e, rec := okEv, okRec
		if e.EventName != "LookupEvents" || e.EventSource != "cloudtrail.amazonaws.com" || e.Username != "alice" ||
			e.AccessKeyId != AdminKey || e.ReadOnly != "true" {
			t.Errorf("event summary: %+v", *e)
		}
		checks := map[string]any{
			"eventSource":        "cloudtrail.amazonaws.com",
			"eventName":          "LookupEvents",
			"awsRegion":          "us-east-1",
			"sourceIPAddress":    "127.0.0.1",
			"readOnly":           true,
			"eventType":          "AwsApiCall",
			"managementEvent":    true,
			"recipientAccountId": Account1,
			"eventCategory":      "Management",
			"eventID":            e.EventId,
		}
		for k, want := range checks {
			if rec[k] != want {
				t.Errorf("%s = %v, want %v", k, rec[k], want)
			}
		}
		if _, ok := rec["errorCode"]; ok {
			t.Errorf("successful call recorded errorCode %v", rec["errorCode"])
		}
		if ua, _ := rec["userAgent"].(string); !strings.Contains(ua, "aws-cli") {
			t.Errorf("userAgent = %q, want the CLI's", ua)
		}
		if id, _ := rec["requestID"].(string); id == "" {
			t.Errorf("no requestID")
		}
		ui, _ := rec["userIdentity"].(map[string]any)
		for k, want := range map[string]any{"type": "IAMUser", "userName": "alice", "accessKeyId": AdminKey,
			"accountId": Account1, "arn": "arn:aws:iam::111111111111:user/alice"} {
			if ui[k] != want {
				t.Errorf("userIdentity.%s = %v, want %v", k, ui[k], want)
			}
		}
		params := rec["requestParameters"].(map[string]any)
		for k := range params {
			if k == "" || strings.ToLower(k[:1]) != k[:1] {
				t.Errorf("requestParameters key %q is not lowerCamelCase: %v", k, params)
			}
		}
		la := params["lookupAttributes"].([]any)[0].(map[string]any)
		if la["attributeKey"] != "EventName" || la["attributeValue"] != marker {
			t.Errorf("requestParameters.lookupAttributes = %v", params["lookupAttributes"])
		}
	})

	t.Run("failed call", func(t *testing.T) {
		rec := failRec
		if rec["errorCode"] != "InvalidMaxResultsException" {
			t.Errorf("errorCode = %v, want InvalidMaxResultsException", rec["errorCode"])
		}
		if msg, _ := rec["errorMessage"].(string); !strings.Contains(msg, "MaxResults") {
			t.Errorf("errorMessage = %q", msg)
		}
		if rec["readOnly"] != true || rec["sourceIPAddress"] != "127.0.0.1" {
			t.Errorf("failed call record: %s", failEv.CloudTrailEvent)
		}
		if ua, _ := rec["userAgent"].(string); !strings.Contains(ua, "aws-cli") {
			t.Errorf("userAgent = %q", ua)
		}
	})
}

// cliCurlSigV4 posts file to URL+path with curl --aws-sigv4, as the README
// shows users, and returns the HTTP status and body.
func cliCurlSigV4(t *testing.T, srv *Server, key, secret, path, file string) (string, []byte) {
	t.Helper()
	bin, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl is required for this test but is not on PATH: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{"-sS", "--noproxy", "*", "-w", "\n%{http_code}",
		"--aws-sigv4", "aws:amz:us-east-1:cloudtrail", "--user", key + ":" + secret,
		"-H", "Content-Type: application/json", "--data-binary", "@" + file, srv.URL + path}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(cleanEnv(), "CURL_HOME=/nonexistent")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %q: %v\n%s", args, err, out)
	}
	s := strings.TrimRight(string(out), "\n")
	i := strings.LastIndexByte(s, '\n')
	if i < 0 {
		t.Fatalf("curl output %q", s)
	}
	return s[i+1:], []byte(s[:i])
}

func TestCurlIngest(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	base := cliBaseTime()
	good1 := Record("CurlProbe", "curl.example.com", "us-east-1", base, nil)
	bad1 := Record("", "curl.example.com", "us-east-1", base, nil)
	delete(bad1, "eventName")
	good2 := Record("CurlProbe", "curl.example.com", "us-east-1", base.Add(time.Second), nil)
	bad2 := Record("CurlProbe", "curl.example.com", "us-east-1", base, map[string]any{"eventTime": "yesterday"})
	body, err := json.Marshal(map[string]any{"Records": []any{good1, bad1, good2, bad2}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "batch.json")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}

	status, out := cliCurlSigV4(t, srv, IngestKey, IngestSecret, "/v1/events", file)
	if status != "200" {
		t.Fatalf("curl: HTTP %s: %s", status, out)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"accepted", "eventIDs", "failed"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("answer lacks %q: %s", k, out)
		}
	}
	var res IngestResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 2 || len(res.EventIDs) != 2 || len(res.Failed) != 2 {
		t.Fatalf("answer: %s", out)
	}
	if f := res.Failed[0]; f.Index != 1 || f.ErrorCode == "" || !strings.Contains(f.ErrorMessage, "eventName") {
		t.Errorf("failure of the record without eventName: %+v", f)
	}
	if f := res.Failed[1]; f.Index != 3 || f.ErrorCode == "" || !strings.Contains(f.ErrorMessage, "eventTime") {
		t.Errorf("failure of the record with a bad eventTime: %+v", f)
	}

	// A retried batch is idempotent.
	status, out2 := cliCurlSigV4(t, srv, IngestKey, IngestSecret, "/v1/events", file)
	var res2 IngestResult
	if status != "200" || json.Unmarshal(out2, &res2) != nil || !slices.Equal(res2.EventIDs, res.EventIDs) {
		t.Errorf("retried batch: HTTP %s %s, want the same eventIDs %v", status, out2, res.EventIDs)
	}

	// The accepted events are in event history, once each.
	got := cliLookup(t, srv, AdminKey, AdminSecret, "us-east-1", cliAttr("EventName", "CurlProbe")...)
	want := []string{res.EventIDs[1], res.EventIDs[0]}
	if ids := cliEventIDs(got.Events); !slices.Equal(ids, want) {
		t.Errorf("lookup after curl ingest: %v, want %v", ids, want)
	}

	// A wrong secret is refused.
	status, out3 := cliCurlSigV4(t, srv, IngestKey, "wrong-secret", "/v1/events", file)
	if status == "200" || !strings.Contains(string(out3), "InvalidSignatureException") {
		t.Errorf("wrong secret: HTTP %s %s", status, out3)
	}
}
