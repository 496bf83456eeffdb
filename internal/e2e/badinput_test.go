package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// biTargetOf is the X-Amz-Target of a CloudTrail operation.
func biTargetOf(op string) string { return "CloudTrail_20131101." + op }

// biRawReq builds a request to the server with a body; header values are set
// as given (a nil map sets none).
func biRawReq(t testing.TB, srv *Server, method, path string, body []byte, header map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}

// biApiReq builds an unsigned CloudTrail JSON 1.1 request for op.
func biApiReq(t testing.TB, srv *Server, op string, body []byte) *http.Request {
	return biRawReq(t, srv, http.MethodPost, "/", body, map[string]string{
		"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": biTargetOf(op)})
}

// biSignReq signs req (whose body is body) with SigV4 as the SDKs do.
func biSignReq(t testing.TB, req *http.Request, body []byte, key, secret, service, region string, at time.Time) *http.Request {
	t.Helper()
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), service, region, at); err != nil {
		t.Fatal(err)
	}
	return req
}

// biSignedAPI is a CloudTrail request signed by key/secret for us-east-1.
func biSignedAPI(t testing.TB, srv *Server, key, secret, op string, body []byte) *http.Request {
	return biSignReq(t, biApiReq(t, srv, op, body), body, key, secret, "cloudtrail", "us-east-1", time.Now())
}

// biSignedIngest is a /v1/events request signed by key/secret.
func biSignedIngest(t testing.TB, srv *Server, key, secret string, body []byte) *http.Request {
	req := biRawReq(t, srv, http.MethodPost, "/v1/events", body, map[string]string{"Content-Type": "application/json"})
	return biSignReq(t, req, body, key, secret, "cloudtrail", "us-east-1", time.Now())
}

var biNoRedirect = &http.Client{
	Timeout:       2 * time.Minute,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// biSend does req and returns status and body.
func biSend(t testing.TB, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := biNoRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// biAwsError parses an AWS JSON error body; ok is false unless it has a
// non-empty __type and a Message member.
func biAwsError(b []byte) (typ, msg string, ok bool) {
	var e map[string]any
	if err := json.Unmarshal(b, &e); err != nil {
		return "", "", false
	}
	typ, _ = e["__type"].(string)
	msg, hasMsg := e["Message"].(string)
	return typ, msg, typ != "" && hasMsg
}

// biHealthy checks GET /healthz.
func biHealthy(t testing.TB, srv *Server) bool {
	t.Helper()
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Errorf("healthz: %v", err)
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: HTTP %d", resp.StatusCode)
		return false
	}
	return true
}

// biNested returns a JSON value biNested depth arrays deep.
func biNested(depth int) string {
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

func biMustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// biStateOf is what bad requests must not change: every trail (as its owner
// sees it in every region, with selectors, tags and status), the events
// (not self-audit) each account sees in each region, and the files in the
// data directory's buckets.
func biStateOf(t *testing.T, srv *Server) (trails string, events map[string]int, files string) {
	t.Helper()
	ctx := context.Background()
	var sb strings.Builder
	events = map[string]int{}
	for _, who := range []struct{ key, secret string }{{AdminKey, AdminSecret}, {OtherKey, OtherSecret}} {
		for _, region := range []string{"us-east-1", "us-west-2", "eu-west-1"} {
			c := srv.CloudTrail(who.key, who.secret, region)
			d, err := c.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
			if err != nil {
				t.Fatalf("DescribeTrails: %v", err)
			}
			sort.Slice(d.TrailList, func(i, j int) bool {
				return aws.ToString(d.TrailList[i].TrailARN) < aws.ToString(d.TrailList[j].TrailARN)
			})
			fmt.Fprintf(&sb, "%s %s trails: %s\n", who.key, region, biMustJSON(t, d.TrailList))
			l, err := c.ListTrails(ctx, &cloudtrail.ListTrailsInput{})
			if err != nil {
				t.Fatalf("ListTrails: %v", err)
			}
			fmt.Fprintf(&sb, "list: %s\n", biMustJSON(t, l.Trails))
			for _, tr := range d.TrailList {
				if aws.ToString(tr.HomeRegion) != region {
					continue
				}
				arn := tr.TrailARN
				es, err := c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: arn})
				if err != nil {
					t.Fatalf("GetEventSelectors: %v", err)
				}
				tags, err := c.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{*arn}})
				if err != nil {
					t.Fatalf("ListTags: %v", err)
				}
				st, err := c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: arn})
				if err != nil {
					t.Fatalf("GetTrailStatus: %v", err)
				}
				fmt.Fprintf(&sb, "%s selectors %s %s tags %s logging %v\n", *arn, biMustJSON(t, es.EventSelectors),
					biMustJSON(t, es.AdvancedEventSelectors), biMustJSON(t, tags.ResourceTagList), aws.ToBool(st.IsLogging))
			}
			events[who.key+"/"+region] = len(withoutSelfAudit(lookupAll(t, c, &cloudtrail.LookupEventsInput{})))
		}
	}
	var fl []string
	filepath.WalkDir(srv.DataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(srv.DataDir, p)
		// The store's own files change with every self-audit record, and
		// the logging trail "base" delivers under its own prefix.
		for _, own := range []string{"buckets/logs-bucket/keep/me/AWSLogs/111111111111/CloudTrail/",
			"buckets/logs-bucket/.cairn-meta/keep/me/AWSLogs/111111111111/CloudTrail/", "buckets/logs-bucket/.cairn-tmp/"} {
			if strings.HasPrefix(rel+"/", own) || strings.HasPrefix(own, rel+"/") {
				return nil
			}
		}
		if rel == "." || strings.HasPrefix(rel, "buckets") || d.IsDir() {
			fl = append(fl, rel)
		}
		return nil
	})
	sort.Strings(fl)
	return sb.String(), events, strings.Join(fl, "\n")
}

type biBadCase struct {
	name string
	req  func(t *testing.T) *http.Request
	// status is the expected HTTP status; 0 means any 4xx.
	status int
	// typ is the expected __type; empty means any non-empty type.
	typ string
	// msg, when set, must appear in the error message.
	msg string
	// failed, when set, means the contract is HTTP 200 with this
	// per-record error code for every bad record; accepted is how many
	// good records the batch holds.
	failed   string
	accepted int
	// after runs extra checks after the case.
	after func(t *testing.T)
}

func TestBadInputCatalogue(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	for _, b := range []string{"logs-bucket", "other-bucket"} {
		if err := os.MkdirAll(filepath.Join(srv.DataDir, "buckets", b), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	alice := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	ct, err := alice.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("base"), S3BucketName: aws.String("logs-bucket"),
		S3KeyPrefix: aws.String("keep/me"), TagsList: []types.Tag{{Key: aws.String("team"), Value: aws.String("audit")}}})
	if err != nil {
		t.Fatalf("CreateTrail: %v", err)
	}
	trailARN := aws.ToString(ct.TrailARN)
	if _, err := alice.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("base")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	if res := srv.Ingest(t, AdminKey, AdminSecret, Record("CreateBucket", "s3.amazonaws.com", "us-east-1", now, nil)); res.Accepted != 1 {
		t.Fatalf("ingest: %+v", res)
	}
	trailsBefore, eventsBefore, filesBefore := biStateOf(t, srv)

	good := func(name string) map[string]any {
		return Record(name, "ec2.amazonaws.com", "us-east-1", now, nil)
	}
	batch := func(recs ...any) []byte { return biMustJSON(t, map[string]any{"Records": recs}) }
	api := func(op, body string) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request { return biSignedAPI(t, srv, AdminKey, AdminSecret, op, []byte(body)) }
	}
	apiJSON := func(op string, v any) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			b := biMustJSON(t, v)
			return biSignedAPI(t, srv, AdminKey, AdminSecret, op, b)
		}
	}
	ing := func(body []byte) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request { return biSignedIngest(t, srv, AdminKey, AdminSecret, body) }
	}
	create := func(extra map[string]any) func(t *testing.T) *http.Request {
		in := map[string]any{"Name": "bad-trail", "S3BucketName": "logs-bucket"}
		for k, v := range extra {
			in[k] = v
		}
		return apiJSON("CreateTrail", in)
	}
	tags := func(n int) []map[string]string {
		var out []map[string]string
		for i := 0; i < n; i++ {
			out = append(out, map[string]string{"Key": fmt.Sprintf("k%d", i), "Value": "v"})
		}
		return out
	}
	sixSelectors := make([]map[string]any, 6)
	for i := range sixSelectors {
		sixSelectors[i] = map[string]any{"ReadWriteType": "All", "IncludeManagementEvents": true}
	}
	lookupBody := []byte(`{"MaxResults":5}`)
	// sigHeader signs a LookupEvents request and lets mangle rewrite its
	// Authorization header.
	sigHeader := func(mangle func(string) string) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			req := biSignedAPI(t, srv, AdminKey, AdminSecret, "LookupEvents", lookupBody)
			req.Header.Set("Authorization", mangle(req.Header.Get("Authorization")))
			return req
		}
	}
	signedAt := func(at time.Time) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			return biSignReq(t, biApiReq(t, srv, "LookupEvents", lookupBody), lookupBody, AdminKey, AdminSecret, "cloudtrail", "us-east-1", at)
		}
	}
	big := strings.Repeat("x", 300<<10)
	deep := map[string]any{"v": 1}
	for i := 0; i < 400; i++ {
		deep = map[string]any{"n": deep}
	}
	replayBody := batch(good("ReplayedCall"))
	var replayIDs []string

	cases := []biBadCase{
		// The CloudTrail API: bodies.
		{name: "invalid JSON", req: api("CreateTrail", `{"Name": "x", "S3BucketName":`), status: 400, typ: "SerializationException"},
		{name: "JSON trailing garbage", req: api("LookupEvents", `{} {}`), status: 400, typ: "SerializationException"},
		{name: "JSON top-level string", req: api("DescribeTrails", `"trails"`), status: 400, typ: "SerializationException"},
		{name: "JSON top-level array", req: api("ListTrails", `[]`), status: 400, typ: "SerializationException"},
		{name: "JSON nested 10000 deep", req: api("LookupEvents", `{"LookupAttributes":`+biNested(10000)+`}`), status: 400, typ: "SerializationException"},
		{name: "JSON nested 100000 deep", req: api("CreateTrail", `{"Name":"deep","S3BucketName":"logs-bucket","TagsList":`+biNested(100000)+`}`), status: 400, typ: "SerializationException"},
		{name: "invalid UTF-8 in trail name", req: api("CreateTrail", "{\"Name\":\"ab\xff\xfecd\",\"S3BucketName\":\"logs-bucket\"}"), status: 400, typ: "InvalidTrailNameException"},
		{name: "invalid UTF-8 in bucket name", req: api("CreateTrail", "{\"Name\":\"utf\",\"S3BucketName\":\"logs\xc3\x28bucket\"}"), status: 400, typ: "InvalidS3BucketNameException"},
		{name: "MaxResults a string", req: api("LookupEvents", `{"MaxResults":"ten"}`), status: 400, typ: "SerializationException"},
		{name: "MaxResults negative", req: api("LookupEvents", `{"MaxResults":-1}`), status: 400, typ: "InvalidMaxResultsException"},
		{name: "MaxResults huge", req: api("LookupEvents", `{"MaxResults":1e300}`), status: 400},
		{name: "LookupAttributes an object", req: api("LookupEvents", `{"LookupAttributes":{"AttributeKey":"EventName","AttributeValue":"x"}}`), status: 400, typ: "SerializationException"},
		{name: "StartTime yesterday", req: api("LookupEvents", `{"StartTime":"yesterday"}`), status: 400, typ: "SerializationException"},
		{name: "NextToken garbage", req: api("LookupEvents", `{"NextToken":"../../../etc/passwd"}`), status: 400, typ: "InvalidNextTokenException"},
		{name: "IsMultiRegionTrail a string", req: create(map[string]any{"IsMultiRegionTrail": "yes"}), status: 400, typ: "SerializationException"},
		{name: "body over 1 MiB", req: api("CreateTrail", `{"Name":"big","S3BucketName":"logs-bucket","S3KeyPrefix":"`+strings.Repeat("a", 1<<20)+`"}`), status: 413, typ: "RequestEntityTooLargeException"},
		// The CloudTrail API: targets and methods.
		{name: "unknown target", req: api("FlyToTheMoon", `{}`), status: 400, typ: "UnknownOperationException"},
		{name: "unimplemented CloudTrail operation", req: api("CreateChannel", `{"Name":"chan","Source":"Custom","Destinations":[]}`), status: 400, typ: "UnsupportedOperationException"},
		{name: "target with a wrong prefix", req: func(t *testing.T) *http.Request {
			req := biSignedAPI(t, srv, AdminKey, AdminSecret, "LookupEvents", []byte(`{}`))
			req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
			return req
		}, status: 400, typ: "UnknownOperationException"},
		{name: "target prefix only", req: func(t *testing.T) *http.Request {
			req := biApiReq(t, srv, "", []byte(`{}`))
			return biSignReq(t, req, []byte(`{}`), AdminKey, AdminSecret, "cloudtrail", "us-east-1", time.Now())
		}, status: 400, typ: "UnknownOperationException"},
		{name: "missing target", req: func(t *testing.T) *http.Request {
			req := biRawReq(t, srv, http.MethodPost, "/", []byte(`{}`), map[string]string{"Content-Type": "application/x-amz-json-1.1"})
			return biSignReq(t, req, []byte(`{}`), AdminKey, AdminSecret, "cloudtrail", "us-east-1", time.Now())
		}, status: 400, typ: "UnknownOperationException"},
		{name: "GET /", req: func(t *testing.T) *http.Request {
			return biRawReq(t, srv, http.MethodGet, "/", nil, map[string]string{"X-Amz-Target": biTargetOf("ListTrails")})
		}},
		{name: "PUT /", req: func(t *testing.T) *http.Request {
			return biRawReq(t, srv, http.MethodPut, "/", []byte(`{}`), map[string]string{"X-Amz-Target": biTargetOf("DeleteTrail")})
		}},
		{name: "GET /v1/events", req: func(t *testing.T) *http.Request { return biRawReq(t, srv, http.MethodGet, "/v1/events", nil, nil) }},
		{name: "GET /nope", req: func(t *testing.T) *http.Request { return biRawReq(t, srv, http.MethodGet, "/nope", nil, nil) }, status: 404, typ: "UnknownOperationException"},
		{name: "POST /v2/events", req: func(t *testing.T) *http.Request {
			return biRawReq(t, srv, http.MethodPost, "/v2/events", batch(good("X")), nil)
		}, status: 404, typ: "UnknownOperationException"},
		{name: "path with encoded dot segments", req: func(t *testing.T) *http.Request {
			return biRawReq(t, srv, http.MethodGet, "/%2e%2e/%2e%2e/etc/passwd", nil, nil)
		}, status: 404, typ: "UnknownOperationException"},
		// Trail parameters: names, buckets, prefixes, ARNs, tags, selectors, keys.
		{name: "trail name ../x", req: create(map[string]any{"Name": "../x"}), status: 400, typ: "InvalidTrailNameException"},
		{name: "trail name with NUL", req: create(map[string]any{"Name": "ab\x00cd"}), status: 400, typ: "InvalidTrailNameException"},
		{name: "trail name of 129 characters", req: create(map[string]any{"Name": strings.Repeat("n", 129)}), status: 400, typ: "InvalidTrailNameException"},
		{name: "bucket ../etc", req: create(map[string]any{"S3BucketName": "../etc"}), status: 400, typ: "InvalidS3BucketNameException"},
		{name: "bucket /abs", req: create(map[string]any{"S3BucketName": "/abs"}), status: 400, typ: "InvalidS3BucketNameException"},
		{name: "bucket a..b", req: create(map[string]any{"S3BucketName": "a..b"}), status: 400, typ: "InvalidS3BucketNameException"},
		{name: "bucket logs-bucket/../other-bucket", req: create(map[string]any{"S3BucketName": "logs-bucket/../other-bucket"}), status: 400, typ: "InvalidS3BucketNameException"},
		{name: "bucket that does not exist", req: create(map[string]any{"S3BucketName": "no-such-bucket"}), status: 400, typ: "S3BucketDoesNotExistException"},
		{name: "prefix ../../x", req: create(map[string]any{"S3KeyPrefix": "../../x"}), status: 400, typ: "InvalidS3PrefixException"},
		{name: "prefix /abs/path", req: create(map[string]any{"S3KeyPrefix": "/abs/path"}), status: 400, typ: "InvalidS3PrefixException"},
		{name: "prefix a//b", req: create(map[string]any{"S3KeyPrefix": "a//b"}), status: 400, typ: "InvalidS3PrefixException"},
		{name: "prefix a/../../b", req: create(map[string]any{"S3KeyPrefix": "a/../../b"}), status: 400, typ: "InvalidS3PrefixException"},
		{name: "prefix with backslashes", req: create(map[string]any{"S3KeyPrefix": `..\..\x`}), status: 400, typ: "InvalidS3PrefixException"},
		{name: "prefix of 201 characters", req: create(map[string]any{"S3KeyPrefix": strings.Repeat("p", 201)}), status: 400, typ: "InvalidS3PrefixException"},
		{name: "UpdateTrail prefix ../..", req: apiJSON("UpdateTrail", map[string]any{"Name": "base", "S3KeyPrefix": "../.."}), status: 400, typ: "InvalidS3PrefixException"},
		{name: "UpdateTrail bucket ../etc", req: apiJSON("UpdateTrail", map[string]any{"Name": "base", "S3BucketName": "../etc"}), status: 400, typ: "InvalidS3BucketNameException"},
		{name: "trail ARN with a short account", req: apiJSON("GetTrail", map[string]any{"Name": "arn:aws:cloudtrail:us-east-1:1111:trail/base"}), status: 400, typ: "CloudTrailARNInvalidException"},
		{name: "trail ARN with a path", req: apiJSON("DeleteTrail", map[string]any{"Name": "arn:aws:cloudtrail:us-east-1:111111111111:trail/../../base"}), status: 400},
		{name: "trail ARN of another service", req: apiJSON("StopLogging", map[string]any{"Name": "arn:aws:s3:::logs-bucket"}), status: 400},
		{name: "tags on a malformed ARN", req: apiJSON("AddTags", map[string]any{"ResourceId": "arn:aws:cloudtrail", "TagsList": tags(1)}), status: 400, typ: "CloudTrailARNInvalidException"},
		{name: "51 tags", req: apiJSON("AddTags", map[string]any{"ResourceId": trailARN, "TagsList": tags(51)}), status: 400, typ: "TagsLimitExceededException"},
		{name: "51 tags at creation", req: create(map[string]any{"TagsList": tags(51)}), status: 400, typ: "TagsLimitExceededException"},
		{name: "tag key with bad characters", req: apiJSON("AddTags", map[string]any{"ResourceId": trailARN, "TagsList": []map[string]string{{"Key": "bad<key>;", "Value": "v"}}}), status: 400, typ: "InvalidTagParameterException"},
		{name: "tag key aws:", req: apiJSON("AddTags", map[string]any{"ResourceId": trailARN, "TagsList": []map[string]string{{"Key": "aws:owner", "Value": "v"}}}), status: 400, typ: "InvalidTagParameterException"},
		{name: "tag value with a newline", req: apiJSON("AddTags", map[string]any{"ResourceId": trailARN, "TagsList": []map[string]string{{"Key": "ok", "Value": "a\nb"}}}), status: 400, typ: "InvalidTagParameterException"},
		{name: "selectors of both kinds", req: apiJSON("PutEventSelectors", map[string]any{"TrailName": "base",
			"EventSelectors":         []map[string]any{{"ReadWriteType": "All"}},
			"AdvancedEventSelectors": []map[string]any{{"FieldSelectors": []map[string]any{{"Field": "eventCategory", "Equals": []string{"Management"}}}}}}), status: 400},
		{name: "six event selectors", req: apiJSON("PutEventSelectors", map[string]any{"TrailName": "base", "EventSelectors": sixSelectors}), status: 400, typ: "InvalidEventSelectorsException"},
		{name: "advanced selector with a bad field", req: apiJSON("PutEventSelectors", map[string]any{"TrailName": "base",
			"AdvancedEventSelectors": []map[string]any{{"FieldSelectors": []map[string]any{{"Field": "../../etc", "Equals": []string{"x"}}}}}}), status: 400, typ: "InvalidEventSelectorsException"},
		{name: "data resource of a bad type", req: apiJSON("PutEventSelectors", map[string]any{"TrailName": "base",
			"EventSelectors": []map[string]any{{"DataResources": []map[string]any{{"Type": "AWS::Nope::Thing", "Values": []string{"x"}}}}}}), status: 400, typ: "InvalidEventSelectorsException"},
		{name: "KmsKeyId garbage", req: create(map[string]any{"KmsKeyId": "not a key/../../x"}), status: 400, typ: "InvalidKmsKeyIdException"},
		{name: "UpdateTrail KmsKeyId garbage", req: apiJSON("UpdateTrail", map[string]any{"Name": "base", "KmsKeyId": "%%%"}), status: 400, typ: "InvalidKmsKeyIdException"},
		{name: "insight selector of a bad type", req: apiJSON("PutInsightSelectors", map[string]any{"TrailName": "base", "InsightSelectors": []map[string]string{{"InsightType": "Everything"}}}), status: 400},
		// Ingest.
		{name: "ingest: not JSON", req: ing([]byte("Records=1")), status: 400, typ: "SerializationException"},
		{name: "ingest: empty body", req: ing(nil), status: 400, typ: "SerializationException"},
		{name: "ingest: no Records", req: ing([]byte(`{"records":[]}`)), status: 400, typ: "SerializationException"},
		{name: "ingest: Records an object", req: ing([]byte(`{"Records":{"eventName":"X"}}`)), status: 400, typ: "SerializationException"},
		{name: "ingest: Records a string", req: ing([]byte(`{"Records":"[]"}`)), status: 400, typ: "SerializationException"},
		{name: "ingest: 1001 records", req: func(t *testing.T) *http.Request {
			recs := make([]any, 1001)
			for i := range recs {
				recs[i] = good(fmt.Sprintf("Many%d", i))
			}
			return biSignedIngest(t, srv, AdminKey, AdminSecret, batch(recs...))
		}, status: 400, typ: "LimitExceededException"},
		{name: "ingest: body over 8 MiB", req: func(t *testing.T) *http.Request {
			recs := make([]any, 40)
			for i := range recs {
				recs[i] = good(fmt.Sprintf("Huge%d", i))
				recs[i].(map[string]any)["requestParameters"] = map[string]any{"p": strings.Repeat("y", 220<<10)}
			}
			return biSignedIngest(t, srv, AdminKey, AdminSecret, batch(recs...))
		}, status: 413, typ: "RequestEntityTooLargeException"},
		{name: "ingest: body over 8 MiB, unsigned", req: func(t *testing.T) *http.Request {
			return biRawReq(t, srv, http.MethodPost, "/v1/events", bytes.Repeat([]byte(" "), 9<<20), nil)
		}, status: 413, typ: "RequestEntityTooLargeException"},
		// Records holds one element that is no record (an array nested 10,000
		// deep): it fails alone, like any bad record.
		{name: "ingest: JSON nested 10000 deep", req: ing([]byte(`{"Records":` + biNested(10000) + `}`)), failed: "InvalidData", accepted: 0},
		{name: "ingest: a 300 KB record", req: func(t *testing.T) *http.Request {
			r := good("TooBig")
			r["requestParameters"] = map[string]any{"blob": big}
			return biSignedIngest(t, srv, AdminKey, AdminSecret, batch(r, good("FineNextToTooBig")))
		}, failed: "FieldTooLong", accepted: 1},
		{name: "ingest: invalid UTF-8 in a record", req: func(t *testing.T) *http.Request {
			body := []byte(`{"Records":[{"eventTime":"` + now.Format(time.RFC3339) + `","eventSource":"ec2.amazonaws.com","eventName":"Bad` + "\xff\xfe" + `Name","awsRegion":"us-east-1"},` +
				string(biMustJSON(t, good("FineNextToBadUTF8"))) + `]}`)
			return biSignedIngest(t, srv, AdminKey, AdminSecret, body)
		}, failed: "InvalidData", accepted: 1},
		{name: "ingest: a deeply nested record", req: func(t *testing.T) *http.Request {
			r := good("Deep")
			r["requestParameters"] = deep
			return biSignedIngest(t, srv, AdminKey, AdminSecret, batch(r, good("FineNextToDeep")))
		}, failed: "InvalidData", accepted: 1},
		{name: "ingest: eventTime 2026-13-45T99:99:99Z", req: func(t *testing.T) *http.Request {
			r := good("BadTime")
			r["eventTime"] = "2026-13-45T99:99:99Z"
			return biSignedIngest(t, srv, AdminKey, AdminSecret, batch(r))
		}, failed: "InvalidData"},
		{name: "ingest: eventTime a number", req: func(t *testing.T) *http.Request {
			r := good("NumTime")
			r["eventTime"] = 12345
			return biSignedIngest(t, srv, AdminKey, AdminSecret, batch(r))
		}, failed: "InvalidData"},
		{name: "ingest: awsRegion ../../etc", req: func(t *testing.T) *http.Request {
			r := good("BadRegion")
			r["awsRegion"] = "../../etc"
			return biSignedIngest(t, srv, AdminKey, AdminSecret, batch(r))
		}, failed: "InvalidData"},
		{name: "ingest: recipientAccountId of a foreign account", req: func(t *testing.T) *http.Request {
			r := good("Foreign")
			r["recipientAccountId"] = "333333333333"
			return biSignedIngest(t, srv, AdminKey, AdminSecret, batch(r))
		}, failed: "InvalidRecipient"},
		{name: "ingest: recipientAccountId of another configured account", req: func(t *testing.T) *http.Request {
			r := good("Other")
			r["recipientAccountId"] = Account2
			return biSignedIngest(t, srv, AdminKey, AdminSecret, batch(r))
		}, failed: "InvalidRecipient"},
		{name: "ingest: records that are not objects", req: ing([]byte(`{"Records":[1,"two",null,[]]}`)), failed: "InvalidData"},
		{name: "ingest: record without eventName", req: func(t *testing.T) *http.Request {
			r := good("X")
			delete(r, "eventName")
			return biSignedIngest(t, srv, AdminKey, AdminSecret, batch(r))
		}, failed: "FieldNotFound"},
		{name: "ingest: by a user without the ingest action", req: func(t *testing.T) *http.Request {
			return biSignedIngest(t, srv, CustomKey, CustomSecret, batch(good("Custom")))
		}, status: 400, typ: "AccessDeniedException"},
		// SigV4.
		{name: "no Authorization", req: func(t *testing.T) *http.Request { return biApiReq(t, srv, "LookupEvents", lookupBody) },
			status: 400, typ: "MissingAuthenticationTokenException"},
		{name: "ingest: no Authorization", req: func(t *testing.T) *http.Request {
			return biRawReq(t, srv, http.MethodPost, "/v1/events", batch(good("Unsigned")), nil)
		}, status: 400, typ: "MissingAuthenticationTokenException"},
		{name: "malformed Authorization", req: sigHeader(func(string) string { return "AWS4-HMAC-SHA256 garbage" }), status: 400, typ: "IncompleteSignatureException"},
		{name: "Authorization Bearer", req: sigHeader(func(string) string { return "Bearer abc.def.ghi" }), status: 400, typ: "IncompleteSignatureException"},
		{name: "unknown algorithm", req: sigHeader(func(h string) string { return strings.Replace(h, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", 1) }), status: 400, typ: "IncompleteSignatureException"},
		{name: "missing SignedHeaders", req: sigHeader(func(h string) string {
			parts := strings.Split(h, ", ")
			var keep []string
			for _, p := range parts {
				if !strings.HasPrefix(p, "SignedHeaders=") {
					keep = append(keep, p)
				}
			}
			return strings.Join(keep, ", ")
		}), status: 400, typ: "IncompleteSignatureException"},
		{name: "host not signed", req: sigHeader(func(h string) string {
			return strings.Replace(strings.Replace(h, "host;", "", 1), ";host", "", 1)
		}), status: 400, typ: "IncompleteSignatureException"},
		{name: "signature not hex", req: sigHeader(func(h string) string {
			i := strings.Index(h, "Signature=")
			return h[:i] + "Signature=zz" + strings.Repeat("z", 62)
		}), status: 400},
		{name: "two Authorization headers", req: func(t *testing.T) *http.Request {
			req := biSignedAPI(t, srv, AdminKey, AdminSecret, "LookupEvents", lookupBody)
			req.Header.Add("Authorization", req.Header.Get("Authorization"))
			return req
		}, status: 400, typ: "IncompleteSignatureException"},
		{name: "no X-Amz-Date", req: func(t *testing.T) *http.Request {
			req := biSignedAPI(t, srv, AdminKey, AdminSecret, "LookupEvents", lookupBody)
			req.Header.Del("X-Amz-Date")
			return req
		}, status: 400, typ: "IncompleteSignatureException"},
		{name: "wrong service in scope", req: func(t *testing.T) *http.Request {
			return biSignReq(t, biApiReq(t, srv, "LookupEvents", lookupBody), lookupBody, AdminKey, AdminSecret, "s3", "us-east-1", time.Now())
		}, status: 400, typ: "InvalidSignatureException"},
		{name: "region not served", req: func(t *testing.T) *http.Request {
			return biSignReq(t, biApiReq(t, srv, "DeleteTrail", []byte(`{"Name":"base"}`)), []byte(`{"Name":"base"}`), AdminKey, AdminSecret, "cloudtrail", "ap-south-1", time.Now())
		}, status: 400, typ: "UnsupportedOperationException"},
		{name: "X-Amz-Date 20 minutes old", req: signedAt(time.Now().Add(-20 * time.Minute)), status: 400, typ: "InvalidSignatureException", msg: "expired"},
		{name: "X-Amz-Date 20 minutes ahead", req: signedAt(time.Now().Add(20 * time.Minute)), status: 400, typ: "InvalidSignatureException"},
		{name: "X-Amz-Date a day old, ingest", req: func(t *testing.T) *http.Request {
			b := batch(good("Stale"))
			req := biRawReq(t, srv, http.MethodPost, "/v1/events", b, nil)
			return biSignReq(t, req, b, AdminKey, AdminSecret, "cloudtrail", "us-east-1", time.Now().Add(-24*time.Hour))
		}, status: 400, typ: "InvalidSignatureException", msg: "expired"},
		{name: "body tampered after signing", req: func(t *testing.T) *http.Request {
			body := []byte(`{"Name":"base"}`)
			req := biSignedAPI(t, srv, AdminKey, AdminSecret, "GetTrail", body)
			evil := []byte(`{"Name":"evil"}`)
			req.Body = io.NopCloser(bytes.NewReader(evil))
			req.ContentLength = int64(len(evil))
			req.Header.Set("X-Amz-Target", biTargetOf("DeleteTrail"))
			return req
		}, status: 400, typ: "InvalidSignatureException"},
		{name: "ingest body tampered after signing", req: func(t *testing.T) *http.Request {
			req := biSignedIngest(t, srv, IngestKey, IngestSecret, batch(good("Original")))
			evil := batch(good("Tampered"))
			req.Body = io.NopCloser(bytes.NewReader(evil))
			req.ContentLength = int64(len(evil))
			return req
		}, status: 400, typ: "InvalidSignatureException"},
		{name: "target changed after signing", req: func(t *testing.T) *http.Request {
			req := biSignedAPI(t, srv, ReaderKey, ReaderSecret, "GetTrail", []byte(`{"Name":"base"}`))
			req.Header.Set("X-Amz-Target", biTargetOf("DeleteTrail"))
			return req
		}, status: 400, typ: "InvalidSignatureException"},
		{name: "wrong secret", req: func(t *testing.T) *http.Request {
			return biSignedAPI(t, srv, AdminKey, "not-alices-secret", "DeleteTrail", []byte(`{"Name":"base"}`))
		}, status: 400, typ: "InvalidSignatureException"},
		{name: "unknown key", req: func(t *testing.T) *http.Request {
			return biSignedAPI(t, srv, "AKIANOBODY0000000001", "whatever", "DeleteTrail", []byte(`{"Name":"base"}`))
		}, status: 400, typ: "UnrecognizedClientException"},
		{name: "ingest: wrong secret", req: func(t *testing.T) *http.Request {
			return biSignedIngest(t, srv, IngestKey, "wrong", batch(good("WrongSecret")))
		}, status: 400, typ: "InvalidSignatureException"},
		{name: "x-amz-content-sha256 mismatch", req: func(t *testing.T) *http.Request {
			req := biApiReq(t, srv, "LookupEvents", lookupBody)
			req.Header.Set("X-Amz-Content-Sha256", strings.Repeat("0", 64))
			return biSignReq(t, req, lookupBody, AdminKey, AdminSecret, "cloudtrail", "us-east-1", time.Now())
		}, status: 400, typ: "InvalidSignatureException"},
		// A replay inside the skew window is accepted, as AWS accepts it, but
		// ingest is idempotent: the same event IDs, no duplicate.
		{name: "replayed ingest request", req: func(t *testing.T) *http.Request {
			first := biSignedIngest(t, srv, AdminKey, AdminSecret, replayBody)
			st, b := biSend(t, first)
			var res IngestResult
			if st != 200 || json.Unmarshal(b, &res) != nil || res.Accepted != 1 {
				t.Fatalf("first send: HTTP %d %s", st, b)
			}
			replayIDs = res.EventIDs
			again := biRawReq(t, srv, http.MethodPost, "/v1/events", replayBody, nil)
			again.Header = first.Header.Clone()
			return again
		}, status: 200, accepted: 1, after: func(t *testing.T) {
			evs := lookupAll(t, alice, &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventName, "ReplayedCall")})
			if len(evs) != 1 || len(replayIDs) != 1 || aws.ToString(evs[0].EventId) != replayIDs[0] {
				t.Errorf("replay: %d ReplayedCall events (ids %v), want exactly 1", len(evs), replayIDs)
			}
		}},
		{name: "replayed DeleteTrail of a missing trail", req: func(t *testing.T) *http.Request {
			first := biSignedAPI(t, srv, AdminKey, AdminSecret, "DeleteTrail", []byte(`{"Name":"never-there"}`))
			if st, b := biSend(t, first); st != 400 {
				t.Fatalf("first send: HTTP %d %s", st, b)
			}
			again := biApiReq(t, srv, "DeleteTrail", []byte(`{"Name":"never-there"}`))
			again.Header = first.Header.Clone()
			return again
		}, status: 400, typ: "TrailNotFoundException"},
	}
	if len(cases) < 55 {
		t.Fatalf("catalogue has %d cases, want at least 55", len(cases))
	}
	t.Logf("catalogue: %d malformed requests", len(cases))
	extra := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			trailsCase, _, _ := biStateOfTrails(t, srv)
			status, body := biSend(t, tc.req(t))
			switch {
			case tc.failed != "":
				var res IngestResult
				if status != 200 || json.Unmarshal(body, &res) != nil {
					t.Fatalf("HTTP %d %s, want 200 with per-record %s", status, biTruncateForLog(body), tc.failed)
				}
				if res.Accepted != tc.accepted || len(res.Failed) == 0 {
					t.Errorf("accepted %d, failed %+v; want %d accepted and failures", res.Accepted, res.Failed, tc.accepted)
				}
				for _, f := range res.Failed {
					if f.ErrorCode != tc.failed || f.ErrorMessage == "" {
						t.Errorf("record %d: %s %q, want %s", f.Index, f.ErrorCode, f.ErrorMessage, tc.failed)
					}
				}
				extra += res.Accepted
			case tc.status == 200:
				var res IngestResult
				if status != 200 || json.Unmarshal(body, &res) != nil || res.Accepted != tc.accepted {
					t.Errorf("HTTP %d %s, want 200 with %d accepted", status, biTruncateForLog(body), tc.accepted)
				}
			default:
				if tc.status != 0 && status != tc.status || status < 400 || status > 499 {
					t.Errorf("HTTP %d, want %v (4xx): %s", status, tc.status, biTruncateForLog(body))
				}
				typ, msg, ok := biAwsError(body)
				if !ok {
					t.Errorf("body is not an AWS error {__type, Message}: %s", biTruncateForLog(body))
				}
				if tc.typ != "" && typ != tc.typ {
					t.Errorf("__type %q (%s), want %q", typ, msg, tc.typ)
				}
				if tc.msg != "" && !strings.Contains(msg, tc.msg) {
					t.Errorf("message %q does not say %q", msg, tc.msg)
				}
			}
			if tc.after != nil {
				tc.after(t)
			}
			if after, _, _ := biStateOfTrails(t, srv); after != trailsCase {
				t.Errorf("trails changed:\nbefore %s\nafter  %s", trailsCase, after)
			}
			biHealthy(t, srv)
		})
	}
	// The replayed batch was stored once.
	extra++
	trailsAfter, eventsAfter, filesAfter := biStateOf(t, srv)
	if trailsAfter != trailsBefore {
		t.Errorf("trails changed by the catalogue:\nbefore %s\nafter  %s", trailsBefore, trailsAfter)
	}
	if filesAfter != filesBefore {
		t.Errorf("files changed by the catalogue:\nbefore %s\nafter  %s", filesBefore, filesAfter)
	}
	for k, n := range eventsBefore {
		want := n
		if k == AdminKey+"/us-east-1" {
			want += extra
		}
		if eventsAfter[k] != want {
			t.Errorf("events of %s: %d, want %d (before %d)", k, eventsAfter[k], want, n)
		}
	}
	for _, p := range []string{"etc", "x", "abs", "../etc", "../x"} {
		if _, err := os.Stat(filepath.Join(srv.DataDir, p)); err == nil {
			t.Errorf("%s appeared next to the data directory", p)
		}
	}
	if strings.Contains(srv.Log(), "panic") {
		t.Errorf("the server logged a panic:\n%s", srv.Log())
	}
	biHealthy(t, srv)
}

// biStateOfTrails is the cheap part of biStateOf: the trails of both accounts
// in us-east-1 as DescribeTrails and ListTrails show them.
func biStateOfTrails(t *testing.T, srv *Server) (string, int, int) {
	t.Helper()
	ctx := context.Background()
	var sb strings.Builder
	n := 0
	for _, who := range []struct{ key, secret string }{{AdminKey, AdminSecret}, {OtherKey, OtherSecret}} {
		c := srv.CloudTrail(who.key, who.secret, "us-east-1")
		d, err := c.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
		if err != nil {
			t.Fatalf("DescribeTrails: %v", err)
		}
		n += len(d.TrailList)
		fmt.Fprintf(&sb, "%s: %s\n", who.key, biMustJSON(t, d.TrailList))
		for _, tr := range d.TrailList {
			es, err := c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: tr.TrailARN})
			if err != nil {
				t.Fatalf("GetEventSelectors: %v", err)
			}
			tags, err := c.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{*tr.TrailARN}})
			if err != nil {
				t.Fatalf("ListTags: %v", err)
			}
			st, err := c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: tr.TrailARN})
			if err != nil {
				t.Fatalf("GetTrailStatus: %v", err)
			}
			fmt.Fprintf(&sb, "%s %s %s %s %v\n", *tr.TrailARN, biMustJSON(t, es.EventSelectors), biMustJSON(t, es.AdvancedEventSelectors),
				biMustJSON(t, tags.ResourceTagList), aws.ToBool(st.IsLogging))
		}
	}
	return sb.String(), n, 0
}

func biTruncateForLog(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
