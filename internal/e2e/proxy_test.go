package e2e

// cairn proxy end to end: moto_server as the upstream, the real AWS CLI and
// boto3 calling through the proxy, the real cairn serve receiving what it
// records; each call is then found with LookupEvents (management events) or
// in a trail's log files (data events) with the right identity, source,
// region, readOnly and request parameters.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
)

// UnknownKey is an access key no Cairn user has.
const UnknownKey = "AKIAUNKNOWN000000001"

// pxBoto3 is the boto3 part: S3 PutObject, GetObject through a SigV4
// presigned URL and through boto3's default presigned URL, SQS SendMessage.
const pxBoto3 = `
import os, json, urllib.request, boto3
from botocore.config import Config
ep, bucket, queue = os.environ['PROXY'], os.environ['BUCKET'], os.environ['QUEUE']
s3 = boto3.client('s3', endpoint_url=ep)
s3.put_object(Bucket=bucket, Key='py/put.txt', Body=b'from boto3')
s3.put_object(Bucket=bucket, Key='py/v4.txt', Body=b'presigned v4')
s3.put_object(Bucket=bucket, Key='py/default.txt', Body=b'presigned default')
out = {}
s3v4 = boto3.client('s3', endpoint_url=ep, config=Config(signature_version='s3v4'))
url = s3v4.generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': 'py/v4.txt'}, ExpiresIn=300)
out['v4_url'] = url
out['v4'] = urllib.request.urlopen(url).read().decode()
url = s3.generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': 'py/default.txt'}, ExpiresIn=300)
out['default_url'] = url
out['default'] = urllib.request.urlopen(url).read().decode()
sqs = boto3.client('sqs', endpoint_url=ep)
qurl = sqs.get_queue_url(QueueName=queue)['QueueUrl']
out['queue_url'] = qurl
out['message_id'] = sqs.send_message(QueueUrl=qurl, MessageBody='hello from boto3')['MessageId']
print(json.dumps(out))
`

func TestProxyAWSClients(t *testing.T) {
	t.Parallel()
	moto := buckettest.StartMoto(t)
	srv := Start(t, Options{Config: pxConfig})
	// The store's region is us-west-2: calls whose signature names no
	// region (SigV2) are recorded there.
	px := startProxy(t, pxOptions{Upstream: moto, Server: srv.URL, SpoolDir: t.TempDir(), Account: Account2,
		Args: []string{"--region", "us-west-2"}})
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	west := srv.CloudTrail(AdminKey, AdminSecret, "us-west-2")
	bobWest := srv.CloudTrail(OtherKey, OtherSecret, "us-west-2")

	// A trail in us-west-2 that delivers management events and the data
	// events of S3 objects and SQS queues; logging before any call.
	logs := dlDir{name: "proxy-trail-logs", dir: dlMkBucket(t, srv, "proxy-trail-logs")}
	trailARN := dlTrail(t, west, "proxy-data", logs.name, nil)
	if _, err := west.PutEventSelectors(context.Background(), &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(trailARN),
		AdvancedEventSelectors: []types.AdvancedEventSelector{
			{Name: aws.String("management"), FieldSelectors: []types.AdvancedFieldSelector{
				{Field: aws.String("eventCategory"), Equals: []string{"Management"}}}},
			{Name: aws.String("S3 objects"), FieldSelectors: []types.AdvancedFieldSelector{
				{Field: aws.String("eventCategory"), Equals: []string{"Data"}},
				{Field: aws.String("resources.type"), Equals: []string{"AWS::S3::Object"}}}},
			{Name: aws.String("SQS queues"), FieldSelectors: []types.AdvancedFieldSelector{
				{Field: aws.String("eventCategory"), Equals: []string{"Data"}},
				{Field: aws.String("resources.type"), Equals: []string{"AWS::SQS::Queue"}}}},
		}}); err != nil {
		t.Fatalf("PutEventSelectors: %v", err)
	}

	id := pxSuffix()
	user, nobody := "px-user-"+id, "nobody-"+id
	bucket, table, queue, topic := "px-bucket-"+id, "px-table-"+id, "px-queue-"+id, "px-topic-"+id
	cli := func(args ...string) string { return pxAWSOK(t, px.URL, AdminKey, AdminSecret, "us-west-2", args...) }

	// The AWS CLI.
	cli("iam", "create-user", "--user-name", user)
	if res := pxAWS(t, px.URL, AdminKey, AdminSecret, "us-west-2", "iam", "get-user", "--user-name", nobody); res.code == 0 ||
		!strings.Contains(res.stderr, "NoSuchEntity") {
		t.Errorf("aws iam get-user --user-name %s: exit %d, want NoSuchEntity\n%s", nobody, res.code, res.stderr)
	}
	cli("s3", "mb", "s3://"+bucket)
	if out := cli("s3", "ls"); !strings.Contains(out, bucket) {
		t.Errorf("aws s3 ls does not list %s:\n%s", bucket, out)
	}
	small := filepath.Join(t.TempDir(), "hello.txt")
	os.WriteFile(small, []byte("hello through the proxy\n"), 0o600)
	cli("s3", "cp", small, "s3://"+bucket+"/cli/hello.txt")
	cli("dynamodb", "create-table", "--table-name", table,
		"--attribute-definitions", "AttributeName=pk,AttributeType=S", "--key-schema", "AttributeName=pk,KeyType=HASH",
		"--billing-mode", "PAY_PER_REQUEST")
	cli("sqs", "create-queue", "--queue-name", queue)
	cli("sns", "create-topic", "--name", topic)

	// A 20 MB upload (multipart) and its download: byte for byte.
	big := filepath.Join(t.TempDir(), "big.bin")
	bigBody := make([]byte, 20_000_000)
	for i := range bigBody {
		bigBody[i] = byte(i*7 + i/251)
	}
	os.WriteFile(big, bigBody, 0o600)
	cli("s3", "cp", big, "s3://"+bucket+"/big/big.bin")
	back := filepath.Join(t.TempDir(), "back.bin")
	cli("s3", "cp", "s3://"+bucket+"/big/big.bin", back)
	if got, _ := os.ReadFile(back); sha256.Sum256(got) != sha256.Sum256(bigBody) {
		t.Errorf("the 20 MB object read back through the proxy (%d bytes) differs from the one written", len(got))
	}

	// boto3.
	var py map[string]string
	if err := json.Unmarshal([]byte(pxPython(t, px.URL, AdminKey, AdminSecret, "us-west-2", pxBoto3,
		"BUCKET="+bucket, "QUEUE="+queue)), &py); err != nil {
		t.Fatalf("boto3 output: %v", err)
	}
	if py["v4"] != "presigned v4" || py["default"] != "presigned default" || py["message_id"] == "" {
		t.Errorf("boto3 through the proxy: %v", py)
	}
	t.Logf("boto3's default presigned URL: %s", py["default_url"])

	// A caller the server does not know.
	pxAWSOK(t, px.URL, UnknownKey, "unknown-secret-key", "us-west-2", "sqs", "create-queue", "--queue-name", "px-unknown-"+id)

	const wait = 30 * time.Second
	withAlice := func(m map[string]any) map[string]any { return pxMerge(pxAlice(), m) }

	// Management events: in event history.
	t.Run("IAM CreateUser in the global region", func(t *testing.T) {
		evs := pxWaitLookup(t, east, "CreateUser", wait, pxParam("userName", user))
		if len(evs) != 1 {
			t.Fatalf("%d CreateUser events for %s in us-east-1, want 1\nproxy log:\n%s", len(evs), user, dlTail(px.Log(), 20))
		}
		e := evs[0]
		pxExpect(t, "CreateUser", e.Record, withAlice(map[string]any{
			"eventSource": "iam.amazonaws.com", "awsRegion": "us-east-1", "readOnly": false,
			"eventCategory": "Management", "requestParameters.userName": user, "responseElements.user.userName": user,
		}))
		if aws.ToString(e.Username) != "alice" || aws.ToString(e.AccessKeyId) != AdminKey || aws.ToString(e.ReadOnly) != "false" ||
			aws.ToString(e.EventSource) != "iam.amazonaws.com" {
			t.Errorf("LookupEvents says Username %q AccessKeyId %q ReadOnly %q EventSource %q", aws.ToString(e.Username),
				aws.ToString(e.AccessKeyId), aws.ToString(e.ReadOnly), aws.ToString(e.EventSource))
		}
		if evs := pxLookup(t, west, "CreateUser", pxParam("userName", user)); len(evs) != 0 {
			t.Errorf("IAM's CreateUser is also in us-west-2, the region the CLI signed for")
		}
	})
	t.Run("IAM GetUser fails with NoSuchEntity", func(t *testing.T) {
		evs := pxWaitLookup(t, east, "GetUser", wait, pxParam("userName", nobody))
		if len(evs) != 1 {
			t.Fatalf("%d GetUser events for %s, want 1", len(evs), nobody)
		}
		pxExpect(t, "GetUser", evs[0].Record, withAlice(map[string]any{
			"eventSource": "iam.amazonaws.com", "awsRegion": "us-east-1", "readOnly": true,
			"errorCode": "NoSuchEntity", "errorMessage": pxPresent, "responseElements": nil,
		}))
	})
	t.Run("S3 CreateBucket", func(t *testing.T) {
		evs := pxWaitLookup(t, west, "CreateBucket", wait, pxParam("bucketName", bucket))
		if len(evs) != 1 {
			t.Fatalf("%d CreateBucket events for %s, want 1", len(evs), bucket)
		}
		pxExpect(t, "CreateBucket", evs[0].Record, withAlice(map[string]any{
			"eventSource": "s3.amazonaws.com", "awsRegion": "us-west-2", "readOnly": false, "eventCategory": "Management",
			"managementEvent": true,
		}))
		if !slices.ContainsFunc(evs[0].Resources, func(r types.Resource) bool { return aws.ToString(r.ResourceName) == "arn:aws:s3:::"+bucket }) {
			t.Errorf("CreateBucket resources %v lack arn:aws:s3:::%s", evs[0].Resources, bucket)
		}
	})
	t.Run("S3 ListBuckets", func(t *testing.T) {
		evs := pxWaitLookup(t, west, "ListBuckets", wait, func(r map[string]any) bool {
			return pxGet(r, "userIdentity.userName") == "alice" && strings.HasPrefix(pxStr(r, "userAgent"), "aws-cli/")
		})
		if len(evs) != 1 {
			t.Fatalf("%d ListBuckets events of alice's aws-cli, want 1", len(evs))
		}
		pxExpect(t, "ListBuckets", evs[0].Record, withAlice(map[string]any{
			"eventSource": "s3.amazonaws.com", "awsRegion": "us-west-2", "readOnly": true, "eventCategory": "Management",
		}))
	})
	t.Run("DynamoDB CreateTable (JSON protocol)", func(t *testing.T) {
		evs := pxWaitLookup(t, west, "CreateTable", wait, pxParam("tableName", table))
		if len(evs) != 1 {
			t.Fatalf("%d CreateTable events for %s, want 1", len(evs), table)
		}
		pxExpect(t, "CreateTable", evs[0].Record, withAlice(map[string]any{
			"eventSource": "dynamodb.amazonaws.com", "awsRegion": "us-west-2", "readOnly": false,
			"requestParameters.billingMode":               "PAY_PER_REQUEST",
			"requestParameters.keySchema":                 []any{map[string]any{"attributeName": "pk", "keyType": "HASH"}},
			"responseElements.tableDescription.tableName": table,
		}))
	})
	t.Run("SQS CreateQueue", func(t *testing.T) {
		evs := pxWaitLookup(t, west, "CreateQueue", wait, pxParam("queueName", queue))
		if len(evs) != 1 {
			t.Fatalf("%d CreateQueue events for %s, want 1", len(evs), queue)
		}
		pxExpect(t, "CreateQueue", evs[0].Record, withAlice(map[string]any{
			"eventSource": "sqs.amazonaws.com", "awsRegion": "us-west-2", "readOnly": false, "responseElements.queueUrl": pxPresent,
		}))
	})
	t.Run("SNS CreateTopic (query protocol)", func(t *testing.T) {
		evs := pxWaitLookup(t, west, "CreateTopic", wait, pxParam("name", topic))
		if len(evs) != 1 {
			t.Fatalf("%d CreateTopic events for %s, want 1", len(evs), topic)
		}
		pxExpect(t, "CreateTopic", evs[0].Record, withAlice(map[string]any{
			"eventSource": "sns.amazonaws.com", "awsRegion": "us-west-2", "readOnly": false,
			"responseElements.topicArn": pxPresent, "apiVersion": "2010-03-31",
		}))
	})
	t.Run("an unknown access key is recorded as it is under --account", func(t *testing.T) {
		evs := pxWaitLookup(t, bobWest, "CreateQueue", wait, pxParam("queueName", "px-unknown-"+id))
		if len(evs) != 1 {
			t.Fatalf("%d CreateQueue events of the unknown key in %s, want 1", len(evs), Account2)
		}
		pxExpect(t, "CreateQueue (unknown key)", evs[0].Record, map[string]any{
			"userIdentity.type": "Unknown", "userIdentity.accessKeyId": UnknownKey, "userIdentity.userName": nil,
			"recipientAccountId": Account2, "eventSource": "sqs.amazonaws.com", "awsRegion": "us-west-2",
		})
		if evs := pxLookup(t, west, "CreateQueue", pxParam("queueName", "px-unknown-"+id)); len(evs) != 0 {
			t.Errorf("the unknown key's call is in alice's account too")
		}
	})

	// Data events: never in event history, delivered by the trail.
	want := map[string]func(map[string]any) bool{
		"PutObject cli/hello.txt":  pxNamed("PutObject", pxParam("key", "cli/hello.txt")),
		"PutObject py/put.txt":     pxNamed("PutObject", pxParam("key", "py/put.txt")),
		"CompleteMultipartUpload":  pxNamed("CompleteMultipartUpload", pxParam("key", "big/big.bin")),
		"GetObject py/v4.txt":      pxNamed("GetObject", pxParam("key", "py/v4.txt")),
		"GetObject py/default.txt": pxNamed("GetObject", pxParam("key", "py/default.txt")),
		"SendMessage": pxNamed("SendMessage", func(r map[string]any) bool {
			return strings.HasSuffix(pxStr(r, "requestParameters.queueUrl"), "/"+queue)
		}),
	}
	var delivered []map[string]any
	dlPoll(wait, func() bool {
		delivered = pxRecords(t, logs)
		for _, m := range want {
			if len(pxFindRecords(delivered, m)) == 0 {
				return false
			}
		}
		return true
	})
	found := func(t *testing.T, what string) map[string]any {
		t.Helper()
		recs := pxFindRecords(delivered, want[what])
		if len(recs) != 1 {
			var names []string
			for _, r := range delivered {
				names = append(names, pxStr(r, "eventName"))
			}
			t.Fatalf("%d records of %s in the trail's log files, want 1; delivered: %v\nproxy log:\n%s",
				len(recs), what, names, dlTail(px.Log(), 20))
		}
		return recs[0]
	}
	dataEvent := map[string]any{"eventCategory": "Data", "managementEvent": false, "awsRegion": "us-west-2"}

	t.Run("S3 PutObject is a data event", func(t *testing.T) {
		for _, k := range []string{"cli/hello.txt", "py/put.txt"} {
			r := found(t, "PutObject "+k)
			pxExpect(t, "PutObject "+k, r, withAlice(pxMerge(dataEvent, map[string]any{
				"eventSource": "s3.amazonaws.com", "readOnly": false, "requestParameters.bucketName": bucket,
			})))
			if !strings.Contains(mustMarshal(r["resources"]), "arn:aws:s3:::"+bucket+"/"+k) {
				t.Errorf("PutObject %s resources %s lack the object", k, mustMarshal(r["resources"]))
			}
		}
		if evs := pxLookup(t, west, "PutObject", pxParam("bucketName", bucket)); len(evs) != 0 {
			t.Errorf("%d PutObject events are in event history; data events must not be", len(evs))
		}
		r := found(t, "CompleteMultipartUpload")
		pxExpect(t, "CompleteMultipartUpload", r, withAlice(dataEvent))
	})
	t.Run("S3 GetObject through a SigV4 presigned URL", func(t *testing.T) {
		r := found(t, "GetObject py/v4.txt")
		pxExpect(t, "GetObject (presigned v4)", r, withAlice(pxMerge(dataEvent, map[string]any{
			"eventSource": "s3.amazonaws.com", "readOnly": true, "requestParameters.bucketName": bucket,
		})))
		pxNoSecrets(t, "GetObject (presigned v4)", r, queryValue(py["v4_url"], "X-Amz-Signature"))
	})
	t.Run("S3 GetObject through boto3's default presigned URL", func(t *testing.T) {
		// boto3 presigns S3 URLs with Signature Version 2 unless told
		// otherwise: ?AWSAccessKeyId=…&Signature=…&Expires=….
		r := found(t, "GetObject py/default.txt")
		pxExpect(t, "GetObject (boto3 default presigned)", r, withAlice(pxMerge(dataEvent, map[string]any{
			"eventSource": "s3.amazonaws.com", "readOnly": true, "requestParameters.bucketName": bucket,
		})))
		pxNoSecrets(t, "GetObject (boto3 default presigned)", r, queryValue(py["default_url"], "Signature"), queryValue(py["default_url"], "X-Amz-Signature"))
	})
	t.Run("SQS SendMessage is a data event", func(t *testing.T) {
		// CloudTrail logs SendMessage as a data event of AWS::SQS::Queue.
		r := found(t, "SendMessage")
		pxExpect(t, "SendMessage", r, withAlice(pxMerge(dataEvent, map[string]any{
			"eventSource": "sqs.amazonaws.com", "readOnly": false,
		})))
		if evs := pxLookup(t, west, "SendMessage", nil); len(evs) != 0 {
			t.Errorf("%d SendMessage events are in event history; data events must not be", len(evs))
		}
	})
	t.Run("no secrets in any record", func(t *testing.T) {
		all := delivered
		for _, name := range []string{"CreateUser", "GetUser"} {
			for _, e := range pxLookup(t, east, name, nil) {
				all = append(all, e.Record)
			}
		}
		for _, r := range all {
			pxNoSecrets(t, pxStr(r, "eventName"), r)
		}
	})
}

// TestProxySignedCallsReachCairn: with cairn serve itself as the upstream,
// a SigV4-signed call through the proxy is accepted: the Host, path, query,
// headers and body the client signed arrive unchanged.
func TestProxySignedCallsReachCairn(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: pxConfig})
	px := startProxy(t, pxOptions{Upstream: srv.URL, Server: srv.URL, SpoolDir: t.TempDir()})
	out := pxAWSOK(t, px.URL, AdminKey, AdminSecret, "eu-west-1", "cloudtrail", "lookup-events", "--max-results", "1",
		"--lookup-attributes", "AttributeKey=EventName,AttributeValue=CreateBucket")
	if !strings.Contains(out, `"Events"`) {
		t.Errorf("lookup-events through the proxy: %s", out)
	}
	evs := pxWaitLookup(t, srv.CloudTrail(AdminKey, AdminSecret, "eu-west-1"), "LookupEvents", 30*time.Second, func(r map[string]any) bool {
		return strings.HasPrefix(pxStr(r, "userAgent"), "aws-cli/") && pxGet(r, "requestParameters.maxResults") == 1.0
	})
	// One from the server's own audit, one from the proxy.
	if len(evs) != 2 {
		t.Errorf("%d LookupEvents events of the CLI call, want 2 (the server's own and the proxy's)", len(evs))
	}
	verified := 0
	for _, e := range evs {
		if pxGet(e.Record, "additionalEventData.SignatureVerified") == true {
			verified++ // the proxy's: the server checked the signature it forwarded proof of
		}
		want := pxMerge(pxAlice(), map[string]any{"awsRegion": "eu-west-1", "readOnly": true})
		delete(want, "additionalEventData.SignatureVerified")
		pxExpect(t, "LookupEvents", e.Record, want)
	}
	if verified != 1 {
		t.Errorf("%d LookupEvents events say the signature was verified, want 1 (the proxy's)", verified)
	}
}

// queryValue is a query parameter of a URL.
func queryValue(rawURL, name string) string {
	i := strings.Index(rawURL, "?")
	if i < 0 {
		return ""
	}
	for _, kv := range strings.Split(rawURL[i+1:], "&") {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	return ""
}

// pxReadmeConfig is the proxy config file of the README's "Record your own
// HTTP API", so that the example stays true.
func pxReadmeConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```yaml\n# orders-proxy.yaml\n")
	cfg, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no ```yaml block starting with # orders-proxy.yaml")
	}
	return cfg
}

// TestProxyPlainHTTPAPI: the README's orders API config, a plain HTTP
// service behind the proxy: routes become operations, the caller comes
// from a header or a bearer JWT, and the events are in event history.
func TestProxyPlainHTTPAPI(t *testing.T) {
	t.Parallel()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/missing"):
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"code":"OrderNotFound","message":"no such order"}`)
		case r.Method == http.MethodPost:
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":"o-1","status":"new"}`)
		default:
			io.WriteString(w, `{"id":"o-1","status":"new"}`)
		}
	}))
	defer api.Close()
	srv := Start(t, Options{Config: pxConfig})
	px := startProxy(t, pxOptions{Upstream: api.URL, Server: srv.URL, SpoolDir: t.TempDir(), Config: pxReadmeConfig(t)})
	id := pxSuffix()
	call := func(method, path, body string, header map[string]string) int {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, px.URL+path, rd)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	claims, _ := json.Marshal(map[string]any{"sub": "dave-" + id})
	token := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(claims) + ".c2lnbmF0dXJl"
	if code := call(http.MethodPost, "/v1/orders", `{"item":"book-`+id+`","qty":2,"password":"hunter2"}`,
		map[string]string{"X-User": "carol-" + id, "Content-Type": "application/json"}); code != http.StatusCreated {
		t.Fatalf("POST /v1/orders: HTTP %d", code)
	}
	call(http.MethodGet, "/v1/orders/o-"+id, "", map[string]string{"Authorization": "Bearer " + token})
	call(http.MethodGet, "/v1/orders/missing", "", map[string]string{"X-User": "carol-" + id})

	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	common := map[string]any{"eventSource": "orders.example.internal", "awsRegion": "us-east-1",
		"recipientAccountId": Account1, "userIdentity.type": "Unknown", "eventCategory": "Management"}
	evs := pxWaitLookup(t, east, "CreateOrder", 30*time.Second, pxParam("item", "book-"+id))
	if len(evs) != 1 {
		t.Fatalf("%d CreateOrder events, want 1\nproxy log:\n%s", len(evs), px.Log())
	}
	pxExpect(t, "CreateOrder", evs[0].Record, pxMerge(common, map[string]any{
		"userIdentity.userName": "carol-" + id, "readOnly": false, "requestParameters.qty": 2,
		"requestParameters.password": "HIDDEN_DUE_TO_SECURITY_REASONS", "responseElements.id": "o-1",
	}))
	evs = pxWaitLookup(t, east, "GetOrder", 30*time.Second, pxParam("id", "o-"+id))
	if len(evs) != 1 {
		t.Fatalf("%d GetOrder events, want 1", len(evs))
	}
	pxExpect(t, "GetOrder", evs[0].Record, pxMerge(common, map[string]any{
		"userIdentity.userName": "dave-" + id, "readOnly": true,
		"resources": []any{map[string]any{"ARN": "o-" + id, "type": "Example::Orders::Order"}},
	}))
	pxNoSecrets(t, "GetOrder", evs[0].Record, token, string(claims))
	evs = pxWaitLookup(t, east, "GetOrder", 30*time.Second, pxParam("id", "missing"))
	if len(evs) != 1 {
		t.Fatalf("%d GetOrder events of the missing order, want 1", len(evs))
	}
	pxExpect(t, "GetOrder (missing)", evs[0].Record, pxMerge(common, map[string]any{
		"errorCode": "OrderNotFound", "errorMessage": "no such order",
	}))
	// The caller's name is a lookup attribute.
	byUser := lookupAll(t, east, &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyUsername, "carol-"+id)})
	if len(byUser) != 2 {
		t.Errorf("LookupEvents Username=carol-%s: %d events (%v), want 2", id, len(byUser), eventNames(byUser))
	}
}
