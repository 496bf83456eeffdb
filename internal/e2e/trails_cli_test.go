package e2e

// Trails through the real AWS CLI: the README's "Trails" walk-through
// (create, start, status, describe, event selectors basic and advanced, list,
// delete) and the CLI's view of the control plane's errors.

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// trCLIResult is what one run of the AWS CLI printed and how it exited.
type trCLIResult struct {
	stdout, stderr string
	code           int
	args           []string
}

// trCLI runs `aws --endpoint-url URL --region REGION --output json ARGS...`
// as key/secret, isolated from the machine's AWS configuration. Without
// the AWS CLI on PATH the test fails: these tests are the proof that it works.
func trCLI(t *testing.T, srv *Server, key, secret, region string, args ...string) trCLIResult {
	t.Helper()
	res := cliRun(t, srv, key, secret, region, args...)
	return trCLIResult{stdout: res.stdout, stderr: res.stderr, code: res.code, args: args}
}

// trCLIJSON runs a CLI command that must succeed and decodes its JSON
// output into out (nil: the output must be empty).
func trCLIJSON(t *testing.T, srv *Server, key, secret, region string, out any, args ...string) {
	t.Helper()
	res := trCLI(t, srv, key, secret, region, args...)
	if res.code != 0 {
		t.Fatalf("aws %q: exit %d\nstderr: %s", args, res.code, res.stderr)
	}
	if out == nil {
		if strings.TrimSpace(res.stdout) != "" {
			t.Errorf("aws %q: unexpected output %s", args, res.stdout)
		}
		return
	}
	if err := json.Unmarshal([]byte(res.stdout), out); err != nil {
		t.Fatalf("aws %q: output is not JSON: %v\n%s", args, err, res.stdout)
	}
}

// trCLIFail runs a CLI command that must fail with the server's error code
// and a message containing each of parts.
func trCLIFail(t *testing.T, srv *Server, key, secret, region, code string, parts []string, args ...string) {
	t.Helper()
	res := trCLI(t, srv, key, secret, region, args...)
	if res.code == 0 {
		t.Errorf("aws %q: exit 0, want a failure with %s\nstdout: %s", args, code, res.stdout)
		return
	}
	if want := "An error occurred (" + code + ")"; !strings.Contains(res.stderr, want) {
		t.Errorf("aws %q: exit %d, stderr lacks %q:\n%s", args, res.code, want, res.stderr)
	}
	for _, p := range parts {
		if !strings.Contains(res.stderr, p) {
			t.Errorf("aws %q: stderr lacks %q:\n%s", args, p, res.stderr)
		}
	}
}

type trCLITrail struct {
	Name, S3BucketName, S3KeyPrefix, TrailARN, HomeRegion, KmsKeyId, SnsTopicARN string
	IncludeGlobalServiceEvents, IsMultiRegionTrail, LogFileValidationEnabled     bool
	HasCustomEventSelectors, HasInsightSelectors, IsOrganizationTrail            bool
}

type trCLIStatus struct {
	IsLogging                              bool
	StartLoggingTime, StopLoggingTime      *float64
	TimeLoggingStarted, TimeLoggingStopped *string
}

type trCLISelectors struct {
	TrailARN       string
	EventSelectors []struct {
		ReadWriteType           string
		IncludeManagementEvents bool
		DataResources           []struct {
			Type   string
			Values []string
		}
	}
	AdvancedEventSelectors []struct {
		Name           string
		FieldSelectors []map[string]any
	}
}

// The README's commands, run as written there.
const (
	trCLIBasicSelectors    = `[{"ReadWriteType": "All", "IncludeManagementEvents": true, "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::audit-logs/"]}]}]`
	trCLIAdvancedSelectors = `[{"Name": "Log all management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}, {"Name": "Log S3 writes to audit-logs", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}, {"Field": "readOnly", "Equals": ["false"]}, {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::audit-logs/"]}]}]`
)

// TestTrailCLIReadme walks the README's "Trails" section with the AWS CLI:
// create-trail, start-logging, get-trail-status, describe-trails,
// put-event-selectors (basic S3 data resource, then advanced JSON),
// get-event-selectors, list-trails, stop-logging, delete-trail; plus
// update-trail, add-tags/list-tags, put-insight-selectors, and the history
// the calls leave.
func TestTrailCLIReadme(t *testing.T) {
	t.Parallel()
	srv := trStart(t, trailsConfig, trBucket)
	run := func(out any, region string, args ...string) {
		t.Helper()
		trCLIJSON(t, srv, AdminKey, AdminSecret, region, out, append([]string{"cloudtrail"}, args...)...)
	}
	const east = "us-east-1"
	arn := trARN(east, Account1, "my-trail")

	var created trCLITrail
	run(&created, east, "create-trail", "--name", "my-trail", "--s3-bucket-name", trBucket, "--is-multi-region-trail",
		"--enable-log-file-validation", "--tags-list", "Key=team,Value=audit")
	if created.Name != "my-trail" || created.TrailARN != arn || created.S3BucketName != trBucket || !created.IsMultiRegionTrail ||
		!created.IncludeGlobalServiceEvents || !created.LogFileValidationEnabled || created.IsOrganizationTrail {
		t.Errorf("create-trail: %+v", created)
	}

	var st trCLIStatus
	before := float64(time.Now().Add(-2*time.Second).UnixMilli()) / 1000
	run(nil, east, "start-logging", "--name", "my-trail")
	run(&st, east, "get-trail-status", "--name", "my-trail")
	if !st.IsLogging || st.StartLoggingTime == nil || *st.StartLoggingTime < before ||
		*st.StartLoggingTime > float64(time.Now().Add(2*time.Second).Unix()) || st.TimeLoggingStarted == nil || *st.TimeLoggingStarted == "" {
		t.Errorf("get-trail-status after start-logging: %+v", st)
	}

	// describe-trails answers with the model's lower-camel trailList.
	var rawList map[string]json.RawMessage
	run(&rawList, east, "describe-trails", "--trail-name-list", "my-trail")
	var described struct{ TrailList []trCLITrail }
	if err := json.Unmarshal(rawList["trailList"], &described.TrailList); err != nil || len(described.TrailList) != 1 ||
		described.TrailList[0].TrailARN != arn || described.TrailList[0].HomeRegion != east || !described.TrailList[0].IsMultiRegionTrail {
		t.Errorf("describe-trails --trail-name-list my-trail: %v (%v)", rawList, err)
	}
	// In another region the trail is a shadow.
	described.TrailList = nil
	run(&described, "eu-west-1", "describe-trails")
	if len(described.TrailList) != 1 || described.TrailList[0].TrailARN != arn || described.TrailList[0].HomeRegion != east {
		t.Errorf("describe-trails in eu-west-1: %+v", described)
	}

	// Basic event selectors: S3 object data events of one bucket.
	var sel trCLISelectors
	run(&sel, east, "put-event-selectors", "--trail-name", "my-trail", "--event-selectors", trCLIBasicSelectors)
	if sel.TrailARN != arn || len(sel.EventSelectors) != 1 || len(sel.AdvancedEventSelectors) != 0 ||
		sel.EventSelectors[0].ReadWriteType != "All" || !sel.EventSelectors[0].IncludeManagementEvents ||
		len(sel.EventSelectors[0].DataResources) != 1 || sel.EventSelectors[0].DataResources[0].Type != "AWS::S3::Object" ||
		!slices.Equal(sel.EventSelectors[0].DataResources[0].Values, []string{"arn:aws:s3:::audit-logs/"}) {
		t.Errorf("put-event-selectors --event-selectors: %+v", sel)
	}
	// Advanced event selectors replace them.
	sel = trCLISelectors{}
	run(&sel, east, "put-event-selectors", "--trail-name", "my-trail", "--advanced-event-selectors", trCLIAdvancedSelectors)
	if sel.TrailARN != arn || len(sel.EventSelectors) != 0 || len(sel.AdvancedEventSelectors) != 2 ||
		sel.AdvancedEventSelectors[1].Name != "Log S3 writes to audit-logs" || len(sel.AdvancedEventSelectors[1].FieldSelectors) != 4 {
		t.Errorf("put-event-selectors --advanced-event-selectors: %+v", sel)
	}
	var raw map[string]any
	run(&raw, east, "get-event-selectors", "--trail-name", "my-trail")
	var want []any
	if err := json.Unmarshal([]byte(trCLIAdvancedSelectors), &want); err != nil {
		t.Fatal(err)
	}
	if trJSON(raw["AdvancedEventSelectors"]) != trJSON(want) || raw["TrailARN"] != arn {
		t.Errorf("get-event-selectors after advanced: %v\nwant AdvancedEventSelectors %v", raw, want)
	}
	if es, ok := raw["EventSelectors"].([]any); ok && len(es) != 0 {
		t.Errorf("get-event-selectors after advanced still has basic selectors: %v", es)
	}

	// Insights.
	var ins struct {
		TrailARN         string
		InsightSelectors []struct{ InsightType string }
	}
	run(&ins, east, "put-insight-selectors", "--trail-name", "my-trail", "--insight-selectors", `[{"InsightType": "ApiCallRateInsight"}]`)
	if ins.TrailARN != arn || len(ins.InsightSelectors) != 1 || ins.InsightSelectors[0].InsightType != "ApiCallRateInsight" {
		t.Errorf("put-insight-selectors: %+v", ins)
	}

	// update-trail and tags.
	var updated trCLITrail
	run(&updated, east, "update-trail", "--name", "my-trail", "--s3-key-prefix", "cairn", "--kms-key-id", trKeyID, "--sns-topic-name", "audit-topic")
	if updated.S3KeyPrefix != "cairn" || updated.KmsKeyId != trKeyARN || updated.SnsTopicARN != trTopicARN || updated.TrailARN != arn {
		t.Errorf("update-trail: %+v", updated)
	}
	run(nil, east, "add-tags", "--resource-id", arn, "--tags-list", "Key=env,Value=prod", "Key=team,Value=security")
	var tags struct {
		ResourceTagList []struct {
			ResourceId string
			TagsList   []struct{ Key, Value string }
		}
	}
	run(&tags, east, "list-tags", "--resource-id-list", arn)
	if len(tags.ResourceTagList) != 1 || tags.ResourceTagList[0].ResourceId != arn || !slices.ContainsFunc(tags.ResourceTagList[0].TagsList, func(x struct{ Key, Value string }) bool { return x.Key == "team" && x.Value == "security" }) ||
		!slices.ContainsFunc(tags.ResourceTagList[0].TagsList, func(x struct{ Key, Value string }) bool { return x.Key == "env" && x.Value == "prod" }) ||
		len(tags.ResourceTagList[0].TagsList) != 2 {
		t.Errorf("list-tags: %+v", tags)
	}

	// list-trails: this trail and one of another region.
	run(&struct{}{}, "us-west-2", "create-trail", "--name", "west-trail", "--s3-bucket-name", trBucket)
	var listed struct {
		Trails []struct{ TrailARN, Name, HomeRegion string }
	}
	run(&listed, east, "list-trails")
	names := map[string]string{}
	for _, x := range listed.Trails {
		names[x.Name] = x.HomeRegion
	}
	if trJSON(names) != `{"my-trail":"us-east-1","west-trail":"us-west-2"}` {
		t.Errorf("list-trails: %+v", listed)
	}

	run(nil, east, "stop-logging", "--name", "my-trail")
	st = trCLIStatus{}
	run(&st, east, "get-trail-status", "--name", "my-trail")
	if st.IsLogging || st.StopLoggingTime == nil || st.StartLoggingTime == nil || *st.StopLoggingTime < *st.StartLoggingTime {
		t.Errorf("get-trail-status after stop-logging: %+v", st)
	}

	run(nil, east, "delete-trail", "--name", "my-trail")
	described.TrailList = nil
	run(&described, east, "describe-trails")
	if len(described.TrailList) != 0 {
		t.Errorf("describe-trails after delete-trail: %+v", described)
	}

	// The walk-through is in event history.
	var evs trCLILookup
	run(&evs, east, "lookup-events", "--lookup-attributes", "AttributeKey=ResourceName,AttributeValue=my-trail")
	seen := map[string]int{}
	for _, e := range evs.Events {
		seen[e.EventName]++
	}
	for _, w := range []string{"CreateTrail", "StartLogging", "PutEventSelectors", "PutInsightSelectors", "UpdateTrail", "AddTags", "StopLogging", "DeleteTrail"} {
		if seen[w] == 0 {
			t.Errorf("lookup-events ResourceName=my-trail lacks %s (got %v)", w, seen)
		}
	}
}

// trCLILookup is `aws cloudtrail lookup-events` output, as far as needed.
type trCLILookup struct {
	Events []struct {
		EventName       string
		CloudTrailEvent string
	}
}

// TestTrailCLIErrors checks the exceptions as the AWS CLI reports them.
func TestTrailCLIErrors(t *testing.T) {
	t.Parallel()
	srv := trStart(t, trailsConfig, trBucket)
	const east, west = "us-east-1", "us-west-2"
	fail := func(region, code string, parts []string, args ...string) {
		t.Helper()
		trCLIFail(t, srv, AdminKey, AdminSecret, region, code, parts, append([]string{"cloudtrail"}, args...)...)
	}
	fail(east, "S3BucketDoesNotExistException", []string{"no-such-bucket"},
		"create-trail", "--name", "t-missing", "--s3-bucket-name", "no-such-bucket")
	fail(east, "InvalidTrailNameException", nil, "create-trail", "--name", "my--trail", "--s3-bucket-name", trBucket)
	fail(east, "InvalidParameterCombinationException", []string{"Multi-Region trail must include global service events."},
		"create-trail", "--name", "t-noglobal", "--s3-bucket-name", trBucket, "--is-multi-region-trail", "--no-include-global-service-events")
	fail(east, "KmsKeyNotFoundException", nil, "create-trail", "--name", "t-kms", "--s3-bucket-name", trBucket,
		"--kms-key-id", "00000000-1111-2222-3333-444455556666")
	fail(east, "InsufficientSnsTopicPolicyException", nil, "create-trail", "--name", "t-sns", "--s3-bucket-name", trBucket,
		"--sns-topic-name", "unknown-topic")
	fail(east, "TrailNotFoundException", nil, "get-trail-status", "--name", "no-such-trail")
	fail(east, "CloudTrailARNInvalidException", nil, "get-trail", "--name", "arn:aws:cloudtrail:us-east-1:123:trail/x")

	trCLIJSON(t, srv, AdminKey, AdminSecret, east, &struct{}{}, "cloudtrail", "create-trail", "--name", "cli-trail",
		"--s3-bucket-name", trBucket, "--is-multi-region-trail")
	fail(east, "TrailAlreadyExistsException", nil, "create-trail", "--name", "cli-trail", "--s3-bucket-name", trBucket)
	fail(west, "InvalidHomeRegionException", nil, "start-logging", "--name", trARN(east, Account1, "cli-trail"))
	fail(east, "InvalidParameterCombinationException", nil, "put-event-selectors", "--trail-name", "cli-trail",
		"--event-selectors", trCLIBasicSelectors, "--advanced-event-selectors", trCLIAdvancedSelectors)
	fail(east, "InvalidEventSelectorsException", []string{"AWS::EC2::Instance"}, "put-event-selectors", "--trail-name", "cli-trail",
		"--event-selectors", `[{"DataResources": [{"Type": "AWS::EC2::Instance", "Values": ["arn:aws:ec2"]}]}]`)
	fail(east, "InsightNotEnabledException", nil, "get-insight-selectors", "--trail-name", "cli-trail")

	// Principals and accounts.
	trCLIFail(t, srv, ReaderKey, ReaderSecret, east, "AccessDeniedException", nil,
		"cloudtrail", "create-trail", "--name", "rita-trail", "--s3-bucket-name", trBucket)
	trCLIFail(t, srv, OtherKey, OtherSecret, east, "TrailNotFoundException", nil,
		"cloudtrail", "get-trail", "--name", trARN(east, Account1, "cli-trail"))
	trCLIFail(t, srv, OtherKey, OtherSecret, east, "NotOrganizationMasterAccountException", nil,
		"cloudtrail", "create-trail", "--name", "bob-org", "--s3-bucket-name", trBucket, "--is-organization-trail")
}
