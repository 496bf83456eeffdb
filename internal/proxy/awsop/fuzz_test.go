package awsop

import (
	"encoding/json"
	"net/http"
	"testing"
)

// FuzzResolve checks that Resolve never panics and always returns what a
// record can hold, whatever the exchange.
func FuzzResolve(f *testing.F) {
	type seed struct {
		method, host, path, query, target, ctype, service string
		body                                              string
		status                                            int
		resp                                              string
		truncated                                         bool
	}
	for _, s := range []seed{
		{"PUT", "b.s3.amazonaws.com", "/k", "", "", "", "s3", "", 200, "", false},
		{"GET", "localhost:9000", "/b", "list-type=2&prefix=x", "", "", "s3", "", 200, "<ListBucketResult/>", false},
		{"POST", "localhost", "/b", "delete", "", "application/xml", "s3", "<Delete><Object><Key>a</Key></Object></Delete>", 200, "<DeleteResult><Deleted><Key>a</Key></Deleted></DeleteResult>", false},
		{"POST", "localhost", "/", "", "", "application/x-www-form-urlencoded", "iam", "Action=CreateUser&Version=2010-05-08&UserName=a&Tags.member.1.Key=k", 200,
			"<CreateUserResponse><CreateUserResult><User><UserName>a</UserName></User></CreateUserResult></CreateUserResponse>", false},
		{"POST", "localhost", "/", "", "", "application/x-www-form-urlencoded", "iam", "Action=GetUser&Version=2010-05-08", 404,
			"<ErrorResponse><Error><Code>NoSuchEntity</Code><Message>m</Message></Error><RequestId>r</RequestId></ErrorResponse>", false},
		{"POST", "localhost", "/", "", "DynamoDB_20120810.PutItem", "application/x-amz-json-1.0", "dynamodb", `{"TableName":"t","Item":{"a":{"S":"b"}}}`, 400,
			`{"__type":"x#ResourceNotFoundException","message":"m"}`, false},
		{"POST", "localhost", "/", "", "AmazonSQS.CreateQueue", "", "sqs", `{"QueueName":"q","Attributes":{"A":"1"}}`, 200, `{"QueueUrl":"http://h/1/q"}`, false},
		{"POST", "localhost", "/", "", "secretsmanager.CreateSecret", "", "", `{"Name":"n","SecretString":"s"}`, 200, `{"ARN":"arn:aws:secretsmanager:r:1:secret:n"}`, true},
		{"GET", "localhost", "/2015-03-31/functions/", "MaxItems=1", "", "", "lambda", "", 200, `{"Functions":[]}`, false},
		{"POST", "localhost", "/2015-03-31/functions/f/invocations", "", "", "", "lambda", `{}`, 200, `{}`, false},
		{"POST", "localhost", "/service/GraniteServiceVersion20100801/operation/PutMetricData", "", "", "application/cbor", "monitoring",
			string(cborEnc(obj{"Namespace": "n"})), 200, string(cborEnc(obj{})), false},
		{"GET", "ec2.amazonaws.com", "/", "Action=DescribeInstances&Filter.1.Value.1=x&Version=2016-11-15", "", "", "", "", 400,
			"<Response><Errors><Error><Code>C</Code></Error></Errors></Response>", false},
		{"DELETE", "[::1]:80", "/%zz/%2F", "a=%zz&b", "", "", "s3", "", 0, "", false},
		{"PUT", "x.localhost", "/k", "", "", "", "s3", "7\r\n<a>b</a\r\n0\r\n\r\n", 200, "", false},
		{"POST", "", "/service/x/operation/", "", "", "application/cbor", "", "\xbf\xff", 200, "\x9f\xff", false},
		{"GET", "a.b.c", "////", "x-id=GetObject&x-id=PutObject", ".", "", "s3", "", 999, "<<<", false},
	} {
		f.Add(s.method, s.host, s.path, s.query, s.target, s.ctype, s.service, []byte(s.body), s.status, []byte(s.resp), s.truncated)
	}
	f.Fuzz(func(t *testing.T, method, host, path, query, target, ctype, service string, body []byte, status int, resp []byte, truncated bool) {
		h := http.Header{}
		if target != "" {
			h.Set("X-Amz-Target", target)
		}
		if ctype != "" {
			h.Set("Content-Type", ctype)
			h.Set("Smithy-Protocol", "rpc-v2-cbor")
		}
		if truncated {
			h.Set("Content-Encoding", "aws-chunked")
			h.Set("x-amz-copy-source", path)
		}
		rh := http.Header{}
		rh.Set("Content-Type", ctype)
		c := &Call{Method: method, Host: host, Path: path, RawQuery: query, Header: h, Body: body, BodyTruncated: truncated && len(body)%2 == 0,
			Status: status, RespHeader: rh, RespBody: resp, Service: service, Region: "us-east-1"}
		op := Resolve(c)
		if op.Category != "Management" && op.Category != "Data" {
			t.Fatalf("category %q", op.Category)
		}
		if op.Name == "" && op.ReadOnly {
			t.Fatal("read-only without a name")
		}
		if _, err := json.Marshal(op.RequestParameters); err != nil {
			t.Fatalf("requestParameters: %v", err)
		}
		if _, err := json.Marshal(op.ResponseElements); err != nil {
			t.Fatalf("responseElements: %v", err)
		}
		if _, err := json.Marshal(op.Resources); err != nil {
			t.Fatalf("resources: %v", err)
		}
		// Options with S3 hosts take the same paths.
		Options{S3Hosts: []string{host, "", "localhost"}}.Resolve(c)
		// A call without headers.
		Resolve(&Call{Method: method, Host: host, Path: path, RawQuery: query, Body: body, Status: status, RespBody: resp})
	})
}
