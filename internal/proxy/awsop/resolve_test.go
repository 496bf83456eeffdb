package awsop

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"slices"
	"testing"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/proxy/sensitive"
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// TestResolveCalls covers exchanges the SDK tests do not: other clients'
// wire forms (legacy SQS query mode, EC2 query GETs, presigned URLs,
// unsigned requests, aws-chunked bodies, CBOR), global services and the
// S3 addressing styles.
func TestResolveCalls(t *testing.T) {
	const xmlNS = `xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`
	cases := []struct {
		name string
		opt  Options
		call Call
		want want
	}{
		{
			name: "S3 virtual-hosted on bucket.localhost",
			call: Call{Method: "GET", Host: "photos.localhost:9000", Path: "/2024/cat%2Bdog.jpg", Service: "s3", Region: "us-east-1", Status: 200},
			want: want{Service: "s3", Source: s3Src, Name: "GetObject", ReadOnly: true, Category: "Data",
				Resources: []event.Resource{{ARN: "arn:aws:s3:::photos/2024/cat+dog.jpg", Type: "AWS::S3::Object"}, {ARN: "arn:aws:s3:::photos", Type: "AWS::S3::Bucket"}},
				ParamKeys: []string{"Host", "bucketName", "key"}, Params: obj{"Host": "photos.localhost:9000", "key": "2024/cat+dog.jpg"}},
		},
		{
			name: "S3 virtual-hosted on AWS with a dotted bucket",
			call: Call{Method: "GET", Host: "my.logs.s3.eu-west-1.amazonaws.com", Path: "/", RawQuery: "list-type=2&prefix=a%2F", Service: "s3", Region: "eu-west-1", Status: 200},
			want: want{Service: "s3", Source: s3Src, Name: "ListObjectsV2", ReadOnly: true, Category: "Data",
				Resources: []event.Resource{{ARN: "arn:aws:s3:::my.logs", Type: "AWS::S3::Bucket"}},
				Params:    obj{"bucketName": "my.logs", "prefix": "a/", "list-type": "2"}},
		},
		{
			name: "S3 path-style on an IP address, ListObjects",
			call: Call{Method: "GET", Host: "127.0.0.1:9000", Path: "/data/", Service: "s3", Status: 200},
			want: want{Service: "s3", Source: s3Src, Name: "ListObjects", ReadOnly: true, Category: "Data",
				Resources: []event.Resource{{ARN: "arn:aws:s3:::data", Type: "AWS::S3::Bucket"}}, ParamKeys: []string{"Host", "bucketName"}},
		},
		{
			name: "S3 key ending in a slash",
			call: Call{Method: "PUT", Host: "s3.amazonaws.com", Path: "/data/folder/", Service: "s3", Status: 200},
			want: want{Service: "s3", Source: s3Src, Name: "PutObject", Category: "Data",
				Resources: []event.Resource{{ARN: "arn:aws:s3:::data/folder/", Type: "AWS::S3::Object"}, {ARN: "arn:aws:s3:::data", Type: "AWS::S3::Bucket"}}},
		},
		{
			name: "S3 configured host (MinIO)",
			opt:  Options{S3Hosts: []string{"minio.internal:9000"}},
			call: Call{Method: "DELETE", Host: "backups.minio.internal:9000", Path: "/db.tar", Service: "s3", Status: 204},
			want: want{Service: "s3", Source: s3Src, Name: "DeleteObject", Category: "Data",
				Resources: []event.Resource{{ARN: "arn:aws:s3:::backups/db.tar", Type: "AWS::S3::Object"}, {ARN: "arn:aws:s3:::backups", Type: "AWS::S3::Bucket"}}},
		},
		{
			name: "S3 unsigned virtual-hosted request is still S3",
			call: Call{Method: "GET", Host: "public-data.s3.amazonaws.com", Path: "/index.html", Status: 200},
			want: want{Service: "s3", Source: s3Src, Name: "GetObject", ReadOnly: true, Category: "Data",
				Resources: []event.Resource{{ARN: "arn:aws:s3:::public-data/index.html", Type: "AWS::S3::Object"}, {ARN: "arn:aws:s3:::public-data", Type: "AWS::S3::Bucket"}}},
		},
		{
			name: "S3 presigned URL hides the signature and token",
			call: Call{Method: "GET", Host: "localhost:4566", Path: "/b/k", Service: "s3", Region: "us-east-1", Status: 200,
				RawQuery: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=300&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE&X-Amz-SignedHeaders=host&X-Amz-Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7&x-id=GetObject"},
			want: want{Service: "s3", Source: s3Src, Name: "GetObject", ReadOnly: true, Category: "Data",
				Resources: []event.Resource{{ARN: "arn:aws:s3:::b/k", Type: "AWS::S3::Object"}, {ARN: "arn:aws:s3:::b", Type: "AWS::S3::Bucket"}},
				Params:    obj{"X-Amz-Credential": "ASIAEXAMPLE/20240101/us-east-1/s3/aws4_request", "X-Amz-Expires": "300"},
				Hidden:    []string{"X-Amz-Signature", "X-Amz-Security-Token"}},
		},
		{
			name: "S3 aws-chunked PutBucketTagging",
			call: Call{Method: "PUT", Host: "localhost:4566", Path: "/b", RawQuery: "tagging", Service: "s3", Status: 200,
				Header: hdr("Content-Encoding", "aws-chunked", "X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
				Body:   chunk("<Tagging " + xmlNS + "><TagSet><Tag><Key>env</Key><Value>prod</Value></Tag></TagSet></Tagging>")},
			want: want{Service: "s3", Source: s3Src, Name: "PutBucketTagging", Resources: []event.Resource{{ARN: "arn:aws:s3:::b", Type: "AWS::S3::Bucket"}},
				Params: obj{"tagging": "", "Tagging": obj{"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "TagSet": obj{"Tag": obj{"Key": "env", "Value": "prod"}}}}},
		},
		{
			name: "S3 AccessDenied",
			call: Call{Method: "PUT", Host: "localhost:4566", Path: "/b", RawQuery: "policy", Service: "s3", Status: 403,
				RespBody: []byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>XR1</RequestId></Error>`)},
			want: want{Service: "s3", Source: s3Src, Name: "PutBucketPolicy", Resources: []event.Resource{{ARN: "arn:aws:s3:::b", Type: "AWS::S3::Bucket"}},
				ErrCode: "AccessDenied", ErrMsg: "Access Denied", RequestID: "XR1"},
		},
		{
			name: "S3 conditional GET 304 is no error",
			call: Call{Method: "GET", Host: "localhost:4566", Path: "/b/k", Service: "s3", Status: 304, RespHeader: hdr("x-amz-request-id", "NM1")},
			want: want{Service: "s3", Source: s3Src, Name: "GetObject", ReadOnly: true, Category: "Data",
				Resources: []event.Resource{{ARN: "arn:aws:s3:::b/k", Type: "AWS::S3::Object"}, {ARN: "arn:aws:s3:::b", Type: "AWS::S3::Bucket"}}, RequestID: "NM1"},
		},
		{
			name: "S3 Control",
			call: Call{Method: "GET", Host: "123456789012.s3-control.us-east-1.amazonaws.com", Path: "/v20180820/configuration/publicAccessBlock",
				Header: hdr("x-amz-account-id", "123456789012"), Service: "s3", Status: 200},
			want: want{Service: "s3", Source: s3Src, Name: "GetPublicAccessBlock", ReadOnly: true, Params: obj{"accountId": "123456789012"}},
		},
		{
			name: "STS AssumeRole on the global endpoint",
			call: Call{Method: "POST", Host: "sts.amazonaws.com", Path: "/", Service: "sts", Region: "us-east-1", Status: 200,
				Header: hdr("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
				Body:   []byte("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdeploy&RoleSessionName=ci&DurationSeconds=900"),
				RespBody: []byte(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/deploy/ci</Arn><AssumedRoleId>AROA3XFRBF535PLBIFPI4:ci</AssumedRoleId></AssumedRoleUser>
<Credentials><AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId><SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey><SessionToken>IQoJb3JpZ2luX2VjEXAMPLE</SessionToken><Expiration>2024-01-01T01:00:00Z</Expiration></Credentials>
</AssumeRoleResult><ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata></AssumeRoleResponse>`)},
			want: want{Service: "sts", Source: "sts.amazonaws.com", Name: "AssumeRole", Global: true,
				Resources: []event.Resource{{ARN: "arn:aws:iam::123456789012:role/deploy", AccountID: "123456789012", Type: "AWS::IAM::Role"}},
				ParamKeys: []string{"roleArn", "roleSessionName", "durationSeconds"},
				Resp: obj{"assumedRoleUser": obj{"arn": "arn:aws:sts::123456789012:assumed-role/deploy/ci", "assumedRoleId": "AROA3XFRBF535PLBIFPI4:ci"},
					"credentials": obj{"accessKeyId": "ASIAIOSFODNN7EXAMPLE", "secretAccessKey": Hidden, "sessionToken": Hidden, "expiration": "2024-01-01T01:00:00Z"}},
				RequestID: "c6104cbe-af31-11e0-8154-cbc7ccf896c7", APIVersion: "2011-06-15"},
		},
		{
			name: "SQS legacy query mode",
			call: Call{Method: "POST", Host: "localhost:4566", Path: "/", Service: "sqs", Region: "us-east-1", Status: 200,
				Header: hdr("Content-Type", "application/x-www-form-urlencoded"),
				Body: []byte("Action=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2Flocalhost%3A4566%2F000000000000%2Fjobs&MessageBody=hello" +
					"&MessageAttribute.1.Name=kind&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=test"),
				RespBody: []byte(`<SendMessageResponse><SendMessageResult><MD5OfMessageBody>5d41402abc4b2a76b9719d911017c592</MD5OfMessageBody><MessageId>m-1</MessageId></SendMessageResult><ResponseMetadata><RequestId>q-1</RequestId></ResponseMetadata></SendMessageResponse>`)},
			want: want{Service: "sqs", Source: "sqs.amazonaws.com", Name: "SendMessage", Category: "Data",
				Resources: []event.Resource{{ARN: "arn:aws:sqs:us-east-1:000000000000:jobs", AccountID: "000000000000", Type: "AWS::SQS::Queue"}},
				Params: obj{"queueUrl": "http://localhost:4566/000000000000/jobs", "messageBody": Hidden,
					"messageAttribute": []any{obj{"name": "kind", "value": obj{"dataType": "String", "stringValue": "test"}}}},
				Resp:      obj{"mD5OfMessageBody": "5d41402abc4b2a76b9719d911017c592", "messageId": "m-1"},
				RequestID: "q-1", APIVersion: "2012-11-05"},
		},
		{
			name: "EC2 query GET with an EC2 error",
			call: Call{Method: "GET", Host: "ec2.us-west-2.amazonaws.com", Path: "/", Service: "ec2", Region: "us-west-2", Status: 400,
				RawQuery: "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1234567890abcdef0&Filter.1.Name=instance-state-name&Filter.1.Value.1=running&Filter.1.Value.2=stopped",
				RespBody: []byte(`<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-1234567890abcdef0' does not exist</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>`)},
			want: want{Service: "ec2", Source: "ec2.amazonaws.com", Name: "DescribeInstances", ReadOnly: true,
				Params:  obj{"instanceId": []any{"i-1234567890abcdef0"}, "filter": []any{obj{"name": "instance-state-name", "value": []any{"running", "stopped"}}}},
				ErrCode: "InvalidInstanceID.NotFound", ErrMsg: "The instance ID 'i-1234567890abcdef0' does not exist",
				RequestID: "ea966190-f9aa-478e-9ede-example", APIVersion: "2016-11-15"},
		},
		{
			name: "Secrets Manager CreateSecret (JSON 1.1)",
			call: Call{Method: "POST", Host: "localhost:4566", Path: "/", Service: "secretsmanager", Region: "us-east-1", Status: 200,
				Header:     hdr("X-Amz-Target", "secretsmanager.CreateSecret", "Content-Type", "application/x-amz-json-1.1"),
				Body:       []byte(`{"Name":"prod/db","SecretString":"{\"password\":\"hunter2\"}","ClientRequestToken":"EXAMPLE1-90ab-cdef-fedc-ba987SECRET1","Tags":[{"Key":"app","Value":"db"}]}`),
				RespHeader: hdr("x-amzn-RequestId", "sm-1"),
				RespBody:   []byte(`{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf","Name":"prod/db","VersionId":"EXAMPLE1-90ab-cdef-fedc-ba987SECRET1"}`)},
			want: want{Service: "secretsmanager", Source: "secretsmanager.amazonaws.com", Name: "CreateSecret",
				Resources: []event.Resource{{ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf", AccountID: "123456789012", Type: "AWS::SecretsManager::Secret"}},
				Params:    obj{"name": "prod/db", "secretString": Hidden, "clientRequestToken": "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1", "tags": []any{obj{"key": "app", "value": "db"}}},
				Resp:      obj{"aRN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf", "name": "prod/db", "versionId": "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1"},
				RequestID: "sm-1"},
		},
		{
			name: "unsigned KMS call found by its target prefix",
			call: Call{Method: "POST", Host: "localhost:4566", Path: "/", Status: 200,
				Header: hdr("X-Amz-Target", "TrentService.Encrypt", "Content-Type", "application/x-amz-json-1.1"),
				Body:   []byte(`{"KeyId":"alias/app","Plaintext":"c2VjcmV0"}`)},
			want: want{Service: "kms", Source: "kms.amazonaws.com", Name: "Encrypt",
				Resources: []event.Resource{{ARN: "arn:aws:kms:::alias/app", Type: "AWS::KMS::Alias"}},
				Params:    obj{"keyId": "alias/app", "plaintext": Hidden}},
		},
		{
			name: "unsigned DynamoDB found by its host",
			call: Call{Method: "POST", Host: "dynamodb.us-east-1.amazonaws.com", Path: "/", Status: 200,
				Header: hdr("X-Amz-Target", "DynamoDB_20120810.DescribeTable"), Body: []byte(`{"TableName":"Music"}`)},
			want: want{Service: "dynamodb", Source: "dynamodb.amazonaws.com", Name: "DescribeTable", ReadOnly: true,
				Resources: []event.Resource{{ARN: "arn:aws:dynamodb:::table/Music", Type: "AWS::DynamoDB::Table"}},
				Params:    obj{"tableName": "Music"}},
		},
		{
			name: "truncated JSON body keeps the name",
			call: Call{Method: "POST", Host: "localhost:8000", Path: "/", Service: "dynamodb", Region: "us-east-1", Status: 200,
				Header: hdr("X-Amz-Target", "DynamoDB_20120810.BatchWriteItem"), Body: []byte(`{"RequestItems":{"Music":[{"PutRequest":{"Item":{"pk":{"S":"aaaa`), BodyTruncated: true},
			want: want{Service: "dynamodb", Source: "dynamodb.amazonaws.com", Name: "BatchWriteItem", Category: "Data"},
		},
		{
			name: "DynamoDB TransactWriteItems tables",
			call: Call{Method: "POST", Host: "localhost:8000", Path: "/", Service: "dynamodb", Region: "eu-west-1", Status: 200,
				Header: hdr("X-Amz-Target", "DynamoDB_20120810.TransactWriteItems"),
				Body:   []byte(`{"TransactItems":[{"Put":{"TableName":"A","Item":{"pk":{"S":"1"}}}},{"Delete":{"TableName":"B","Key":{"pk":{"S":"2"}}}}]}`)},
			want: want{Service: "dynamodb", Source: "dynamodb.amazonaws.com", Name: "TransactWriteItems", Category: "Data",
				Resources: []event.Resource{{ARN: "arn:aws:dynamodb:eu-west-1::table/A", Type: "AWS::DynamoDB::Table"}, {ARN: "arn:aws:dynamodb:eu-west-1::table/B", Type: "AWS::DynamoDB::Table"}}},
		},
		{
			name: "Route 53 ChangeResourceRecordSets (rest-xml, global)",
			call: Call{Method: "POST", Host: "route53.amazonaws.com", Path: "/2013-04-01/hostedzone/Z1D633PJN98FT9/rrset/", Service: "route53", Region: "us-east-1", Status: 200,
				Body:       []byte(`<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes><Change><Action>UPSERT</Action><ResourceRecordSet><Name>a.example.com</Name><Type>A</Type><TTL>300</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`),
				RespHeader: hdr("x-amzn-RequestId", "r53-1"),
				RespBody:   []byte(`<?xml version="1.0"?><ChangeResourceRecordSetsResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeInfo><Id>/change/C2682N5HXP0BZ4</Id><Status>PENDING</Status><SubmittedAt>2024-01-01T00:00:00.000Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>`)},
			want: want{Service: "route53", Source: "route53.amazonaws.com", Name: "ChangeResourceRecordSets", Global: true,
				ParamKeys: []string{"hostedZoneId", "changeBatch"},
				Params: obj{"hostedZoneId": "Z1D633PJN98FT9", "changeBatch": obj{"changes": []any{obj{"action": "UPSERT", "resourceRecordSet": obj{
					"name": "a.example.com", "type": "A", "tTL": "300", "resourceRecords": []any{obj{"value": "192.0.2.1"}}}}}}},
				Resp:      obj{"changeInfo": obj{"id": "/change/C2682N5HXP0BZ4", "status": "PENDING", "submittedAt": "2024-01-01T00:00:00.000Z"}},
				RequestID: "r53-1"},
		},
		{
			name: "CloudFront CreateInvalidation (payload member)",
			call: Call{Method: "POST", Host: "cloudfront.amazonaws.com", Path: "/2020-05-31/distribution/EDFDVBD6EXAMPLE/invalidation", Service: "cloudfront", Status: 201,
				Body: []byte(`<InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Paths><Quantity>1</Quantity><Items><Path>/index.html</Path></Items></Paths><CallerReference>ref-1</CallerReference></InvalidationBatch>`)},
			want: want{Service: "cloudfront", Source: "cloudfront.amazonaws.com", Name: "CreateInvalidation", Global: true,
				Params: obj{"distributionId": "EDFDVBD6EXAMPLE", "invalidationBatch": obj{"paths": obj{"quantity": "1", "items": obj{"path": "/index.html"}}, "callerReference": "ref-1"}}},
		},
		{
			name: "CloudWatch PutMetricData over Smithy RPC v2 CBOR",
			call: Call{Method: "POST", Host: "monitoring.us-east-1.amazonaws.com", Path: "/service/GraniteServiceVersion20100801/operation/PutMetricData",
				Header: hdr("Smithy-Protocol", "rpc-v2-cbor", "Content-Type", "application/cbor"), Service: "monitoring", Region: "us-east-1", Status: 200,
				Body: cborEnc(obj{"Namespace": "App", "MetricData": []any{obj{"MetricName": "Latency", "Value": 1.5, "Unit": "Milliseconds"}}})},
			want: want{Service: "monitoring", Source: "monitoring.amazonaws.com", Name: "PutMetricData",
				Params: obj{"namespace": "App", "metricData": []any{obj{"metricName": "Latency", "value": 1.5, "unit": "Milliseconds"}}}},
		},
		{
			name: "CBOR error",
			call: Call{Method: "POST", Host: "localhost", Path: "/service/GraniteServiceVersion20100801/operation/GetMetricData",
				Header: hdr("Smithy-Protocol", "rpc-v2-cbor"), Service: "monitoring", Status: 400,
				RespHeader: hdr("Content-Type", "application/cbor"),
				RespBody:   cborEnc(obj{"__type": "com.amazonaws.cloudwatch#InvalidParameterValueException", "message": "bad period"})},
			want: want{Service: "monitoring", Source: "monitoring.amazonaws.com", Name: "GetMetricData", ReadOnly: true,
				ErrCode: "InvalidParameterValueException", ErrMsg: "bad period"},
		},
		{
			name: "unknown service and protocol",
			call: Call{Method: "GET", Host: "api.example.com", Path: "/v1/widgets/7", Status: 200},
			want: want{},
		},
		{
			name: "signed call to a service without a model",
			call: Call{Method: "POST", Host: "localhost:8080", Path: "/things", Service: "widgets", Status: 500},
			want: want{Service: "widgets", Source: "widgets.amazonaws.com", ErrCode: "InternalServerError"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.call
			got := tc.opt.Resolve(&c)
			w := tc.want
			if w.Category == "" && w.Name == "" && w.Service == "" {
				w.Category = "Management"
			}
			checkOp(t, &c, got, w)
		})
	}
}

func TestVirtualBucket(t *testing.T) {
	for _, tc := range []struct {
		host, want string
		opt        Options
	}{
		{host: "localhost"},
		{host: "127.0.0.1"},
		{host: "::1"},
		{host: "s3.amazonaws.com"},
		{host: "s3.us-west-2.amazonaws.com"},
		{host: "minio"},
		{host: "storage.example.com"},
		{host: "b.s3.amazonaws.com", want: "b"},
		{host: "b.s3.us-west-2.amazonaws.com", want: "b"},
		{host: "b.s3-us-west-2.amazonaws.com", want: "b"},
		{host: "b.s3.dualstack.us-east-1.amazonaws.com", want: "b"},
		{host: "b.s3-accelerate.amazonaws.com", want: "b"},
		{host: "my.dotted.bucket.s3.amazonaws.com", want: "my.dotted.bucket"},
		{host: "b.s3.example.com", want: "b"},
		{host: "b.localhost", want: "b"},
		{host: "123456789012.s3-control.us-east-1.amazonaws.com"},
		{host: "b.storage.example.com", want: "b", opt: Options{S3Hosts: []string{"storage.example.com"}}},
		{host: "storage.example.com", opt: Options{S3Hosts: []string{"storage.example.com:9000"}}},
	} {
		if got := virtualBucket(tc.host, tc.opt); got != tc.want {
			t.Errorf("virtualBucket(%q) = %q, want %q", tc.host, got, tc.want)
		}
	}
}

func TestReadOnly(t *testing.T) {
	for name, want := range map[string]bool{
		"GetObject": true, "ListObjectsV2": true, "DescribeInstances": true, "HeadBucket": true, "LookupEvents": true,
		"SelectObjectContent": true, "Scan": true, "Query": true, "BatchGetItem": true, "SearchResources": true,
		"GetCallerIdentity": true, "Get": true, "List2": true,
		"PutObject": false, "CreateUser": false, "Getaway": false, "Listen": false, "Querying": false, "BatchWriteItem": false,
		"DeleteObjects": false, "": false, "AssumeRole": false, "Invoke": false,
	} {
		if got := readOnly(name); got != want {
			t.Errorf("readOnly(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSensitiveName(t *testing.T) {
	for name, want := range map[string]bool{
		"Password": true, "password": true, "NewPassword": true, "MasterUserPassword": true, "SecretAccessKey": true,
		"secretAccessKey": true, "SecretString": true, "SecretBinary": true, "PrivateKey": true, "SessionToken": true,
		"X-Amz-Security-Token": true, "X-Amz-Signature": true, "ClientSecret": true, "AccessToken": true, "RefreshToken": true,
		"x-amz-server-side-encryption-customer-key": true,
		"SecretId": false, "SecretArn": false, "SecretName": false, "NextToken": false, "nextToken": false, "ClientRequestToken": false,
		"ClientToken": false, "PasswordResetRequired": false, "TokenType": false, "PasswordLastUsed": false, "UserName": false,
		"x-amz-server-side-encryption-customer-key-MD5": false, "MaxPasswordAge": false, "ContinuationToken": false,
	} {
		if got := sensitive.Name(name); got != want {
			t.Errorf("sensitive.Name(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestLowerFirst(t *testing.T) {
	for in, want := range map[string]string{"UserName": "userName", "DBInstanceIdentifier": "dBInstanceIdentifier", "ACL": "aCL",
		"userName": "userName", "": "", "x-amz-acl": "x-amz-acl", "1st": "1st", "Élan": "Élan"} {
		if got := lowerFirst(in); got != want {
			t.Errorf("lowerFirst(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRebuildForm(t *testing.T) {
	got := rebuildForm(parseQuery("UserName=Bob&Tags.member.1.Key=a&Tags.member.1.Value=1&Tags.member.2.Key=b&Tags.member.2.Value=2" +
		"&Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=Alerts&Attributes.entry.2.key=Policy&Attributes.entry.2.value=%7B%7D" +
		"&Item.10=ten&Item.2=two&Empty=&Weird..Key=x&Mixed.1=a&Mixed.b=c"))
	want := obj{
		"UserName":   "Bob",
		"Tags":       []any{obj{"Key": "a", "Value": "1"}, obj{"Key": "b", "Value": "2"}},
		"Attributes": obj{"DisplayName": "Alerts", "Policy": "{}"},
		"Item":       []any{"two", "ten"},
		"Empty":      "",
		"Weird":      obj{"": obj{"Key": "x"}},
		"Mixed":      obj{"1": "a", "b": "c"},
	}
	if js(got) != js(want) {
		t.Errorf("rebuildForm =\n%s\nwant\n%s", js(got), js(want))
	}
}

func TestXMLValue(t *testing.T) {
	root := parseXML([]byte(`<R><Users><member><Name>a</Name></member><member><Name>b</Name></member></Users>` +
		`<Attrs><entry><key>k</key><value>v</value></entry></Attrs><Rep>1</Rep><Rep>2</Rep><Empty/><Policies><Policy>p</Policy></Policies></R>`))
	if root == nil {
		t.Fatal("parse failed")
	}
	got := root.value(false, 0)
	want := obj{"Users": []any{obj{"Name": "a"}, obj{"Name": "b"}}, "Attrs": obj{"k": "v"}, "Rep": []any{"1", "2"}, "Empty": "", "Policies": []any{"p"}}
	if js(got) != js(want) {
		t.Errorf("value =\n%s\nwant\n%s", js(got), js(want))
	}
	for _, bad := range []string{"", "<", "<a><b></a>", "<a/><b/>", "not xml", "<a>&bogus;</a>"} {
		if parseXML([]byte(bad)) != nil {
			t.Errorf("parseXML(%q) succeeded", bad)
		}
	}
}

func TestTransformNodes(t *testing.T) {
	nodes := parseNodes("s attributes:1,password:2,doc:3,items:4\nm -1\nx\nd\nl 5\ns secret:2")
	in := obj{"Attributes": obj{"KeepCase": "v", "Password": "p"}, "Password": "p", "Doc": obj{"AnyKey": 1}, "Items": obj{"Secret": "s", "Other": "o"}, "Plain": obj{"Inner": "x"}}
	got := transform(in, nodes[0], true, 0)
	want := obj{"attributes": obj{"KeepCase": "v", "Password": Hidden}, "password": Hidden, "doc": obj{"AnyKey": 1},
		"items": []any{obj{"secret": Hidden, "other": "o"}}, "plain": obj{"inner": "x"}}
	if js(got) != js(want) {
		t.Errorf("transform =\n%s\nwant\n%s", js(got), js(want))
	}
}

func TestDecodeCBOR(t *testing.T) {
	v, ok := decodeCBOR(cborEnc(obj{"a": []any{1.5, "x", true, nil}, "b": obj{"c": int64(-7)}, "n": int64(42)}))
	if !ok {
		t.Fatal("decode failed")
	}
	if got, want := js(v), `{"a":[1.5,"x",true,null],"b":{"c":-7},"n":42}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// Indefinite-length map and text, half float, byte string, tag, big negative.
	b := []byte{0xbf, 0x61, 'k', 0x7f, 0x61, 'a', 0x61, 'b', 0xff, 0x61, 'h', 0xf9, 0x3e, 0x00, 0x61, 'y', 0x42, 0x01, 0x02,
		0x61, 't', 0xc1, 0x1a, 0x65, 0x92, 0x00, 0x00, 0x61, 'm', 0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	v, ok = decodeCBOR(b)
	if !ok {
		t.Fatal("decode failed")
	}
	if got, want := js(v), `{"h":1.5,"k":"ab","m":-18446744073709551616,"t":1704067072,"y":"AQI="}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for _, bad := range [][]byte{nil, {0x18}, {0xff}, {0x82, 0x01}, {0xa1, 0x01}, {0x9f, 0x01}, {0x5f, 0x61, 'a', 0xff}, {0x01, 0x02},
		{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} {
		if v, ok := decodeCBOR(bad); ok {
			t.Errorf("decodeCBOR(% x) = %v, want failure", bad, v)
		}
	}
}

func TestDecodeAWSChunked(t *testing.T) {
	got, ok := decodeAWSChunked([]byte("5;chunk-signature=abc\r\nhello\r\n6;chunk-signature=def\r\n world\r\n0;chunk-signature=0\r\n\r\n"))
	if !ok || string(got) != "hello world" {
		t.Errorf("got %q %v", got, ok)
	}
	if _, ok := decodeAWSChunked([]byte("zz\r\n")); ok {
		t.Error("bad size accepted")
	}
}

func TestResolveNilAndEmpty(t *testing.T) {
	if op := Resolve(nil); op.Name != "" || op.Service != "" {
		t.Errorf("Resolve(nil) = %+v", op)
	}
	op := Resolve(&Call{})
	if op.Category != event.CategoryManagement || op.Name != "" {
		t.Errorf("Resolve(empty) = %+v", op)
	}
}

// TestGeneratedTablesFresh checks models_gen.go was generated from the
// botocore on this machine, when there is one.
func TestGeneratedTablesSize(t *testing.T) {
	n := 0
	for i := range modelTable {
		n += len(modelTable[i].ops) + len(modelTable[i].nodes)
	}
	if n > 2<<20 {
		t.Errorf("tables hold %d bytes", n)
	}
	names := make([]string, 0, len(modelTable))
	for i := range modelTable {
		names = append(names, modelTable[i].name)
	}
	for _, need := range []string{"s3", "iam", "sts", "dynamodb", "sqs", "sns", "lambda", "ec2", "kms", "secretsmanager", "cloudwatch", "route53", "cloudfront", "apigateway", "eks"} {
		if !slices.Contains(names, need) {
			t.Errorf("no model for %s", need)
		}
	}
}

// cborEnc encodes test values as CBOR (maps with sorted keys).
func cborEnc(v any) []byte {
	var b bytes.Buffer
	var enc func(v any)
	head := func(major byte, n uint64) {
		switch {
		case n < 24:
			b.WriteByte(major<<5 | byte(n))
		case n < 256:
			b.WriteByte(major<<5 | 24)
			b.WriteByte(byte(n))
		default:
			b.WriteByte(major<<5 | 27)
			binary.Write(&b, binary.BigEndian, n)
		}
	}
	enc = func(v any) {
		switch x := v.(type) {
		case nil:
			b.WriteByte(0xf6)
		case bool:
			if x {
				b.WriteByte(0xf5)
			} else {
				b.WriteByte(0xf4)
			}
		case int64:
			if x >= 0 {
				head(0, uint64(x))
			} else {
				head(1, uint64(-1-x))
			}
		case float64:
			b.WriteByte(0xfb)
			binary.Write(&b, binary.BigEndian, math.Float64bits(x))
		case string:
			head(3, uint64(len(x)))
			b.WriteString(x)
		case []any:
			head(4, uint64(len(x)))
			for _, e := range x {
				enc(e)
			}
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			head(5, uint64(len(keys)))
			for _, k := range keys {
				enc(k)
				enc(x[k])
			}
		default:
			panic("cborEnc: " + js(v))
		}
	}
	enc(v)
	return b.Bytes()
}

// chunk frames a body in aws-chunked encoding with a checksum trailer.
func chunk(body string) []byte {
	return []byte(fmt.Sprintf("%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", len(body), body))
}
