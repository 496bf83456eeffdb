package awsop

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cairn-audit/cairn/internal/event"
)

const (
	s3Src     = "s3.amazonaws.com"
	s3NS      = "http://s3.amazonaws.com/doc/2006-03-01/"
	reqID     = "4442587FB7D0A2F9"
	bucketARN = "arn:aws:s3:::amzn-s3-demo-bucket"
)

func s3RespH(extra ...string) map[string]string {
	h := map[string]string{"x-amz-request-id": reqID, "x-amz-id-2": "vlR7PnpV2Ce81l0PRw6jlUpck7Jo5ZsQjryTjKlc5aLWGVHPZLj5NeC6qMa0emYBDXOo6QBU0Wo=", "Server": "AmazonS3"}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

func bucket() []event.Resource {
	return []event.Resource{{ARN: bucketARN, Type: "AWS::S3::Bucket"}}
}

func object(key string) []event.Resource {
	return []event.Resource{{ARN: bucketARN + "/" + key, Type: "AWS::S3::Object"}, {ARN: bucketARN, Type: "AWS::S3::Bucket"}}
}

type sdkCase struct {
	name string
	resp canned
	call func(context.Context, *rig) error
	want func(c *Call) want // gets the captured call for Host-dependent values
}

func TestResolveSDK(t *testing.T) {
	const b = "amzn-s3-demo-bucket"
	cases := []sdkCase{
		{
			name: "S3 CreateBucket path-style",
			resp: canned{header: s3RespH("Location", "/"+b)},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Path.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b),
					CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintUsWest2}})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "CreateBucket", Resources: bucket(),
					ParamKeys: []string{"Host", "bucketName", "CreateBucketConfiguration"},
					Params: obj{"bucketName": b, "Host": c.Host,
						"CreateBucketConfiguration": obj{"LocationConstraint": "us-west-2", "xmlns": s3NS}},
					RequestID: reqID}
			},
		},
		{
			name: "S3 PutObject virtual-hosted",
			resp: canned{header: s3RespH("ETag", `"d41d8cd98f00b204e9800998ecf8427e"`, "x-amz-version-id", "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd",
				"x-amz-server-side-encryption", "AES256")},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Virtual.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("reports/q1 2024.csv"),
					Body: strings.NewReader("a,b\n1,2\n")})
				return err
			},
			want: func(c *Call) want {
				if !strings.HasPrefix(c.Host, b+".s3.cairn.test:") {
					panic("not virtual-hosted: " + c.Host)
				}
				return want{Service: "s3", Source: s3Src, Name: "PutObject", Category: "Data",
					Resources: object("reports/q1 2024.csv"),
					ParamKeys: []string{"Host", "bucketName", "key", "x-id"},
					Params:    obj{"bucketName": b, "key": "reports/q1 2024.csv", "Host": c.Host},
					Resp:      obj{"x-amz-server-side-encryption": "AES256", "x-amz-version-id": "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd"},
					RequestID: reqID}
			},
		},
		{
			name: "S3 GetObject path-style",
			resp: canned{header: s3RespH("Content-Type", "text/csv", "ETag", `"abc"`), body: "a,b\n1,2\n"},
			call: func(ctx context.Context, rg *rig) error {
				out, err := rg.s3Path.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("reports/q1.csv")})
				if err == nil {
					out.Body.Close()
				}
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "GetObject", ReadOnly: true, Category: "Data",
					Resources: object("reports/q1.csv"),
					Params:    obj{"bucketName": b, "key": "reports/q1.csv", "Host": c.Host}, RequestID: reqID}
			},
		},
		{
			name: "S3 GetObject NoSuchKey",
			resp: canned{status: 404, header: s3RespH("Content-Type", "application/xml"),
				body: `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>missing.txt</Key><RequestId>` + reqID + `</RequestId><HostId>vlR7PnpV2Ce81l0PRw6jlUpck7Jo5ZsQjryTjKlc5aLWGVHPZLj5NeC6qMa0emYBDXOo6QBU0Wo=</HostId></Error>`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Virtual.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("missing.txt")})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "GetObject", ReadOnly: true, Category: "Data",
					Resources: object("missing.txt"), ErrCode: "NoSuchKey", ErrMsg: "The specified key does not exist.", RequestID: reqID}
			},
		},
		{
			name: "S3 HeadObject 404 without body",
			resp: canned{status: 404, header: s3RespH()},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Path.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("gone")})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "HeadObject", ReadOnly: true, Category: "Data",
					Resources: object("gone"), ErrCode: "NotFound", RequestID: reqID}
			},
		},
		{
			name: "S3 HeadBucket virtual-hosted",
			resp: canned{header: s3RespH("x-amz-bucket-region", "us-east-1")},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Virtual.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b)})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "HeadBucket", ReadOnly: true, Resources: bucket(),
					ParamKeys: []string{"Host", "bucketName"}, RequestID: reqID}
			},
		},
		{
			name: "S3 ListBuckets",
			resp: canned{header: s3RespH(), body: `<?xml version="1.0" encoding="UTF-8"?>
<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>abc</ID></Owner><Buckets><Bucket><Name>` + b + `</Name><CreationDate>2024-01-01T00:00:00.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Path.ListBuckets(ctx, &s3.ListBucketsInput{})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "ListBuckets", ReadOnly: true, ParamKeys: []string{"Host", "x-id"}, RequestID: reqID}
			},
		},
		{
			name: "S3 ListObjectsV2 virtual-hosted",
			resp: canned{header: s3RespH(), body: `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>` + b + `</Name><Prefix>logs/</Prefix><KeyCount>0</KeyCount><MaxKeys>100</MaxKeys><Delimiter>/</Delimiter><IsTruncated>false</IsTruncated></ListBucketResult>`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Virtual.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String("logs/"),
					Delimiter: aws.String("/"), MaxKeys: aws.Int32(100)})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "ListObjectsV2", ReadOnly: true, Category: "Data", Resources: bucket(),
					Params:    obj{"list-type": "2", "prefix": "logs/", "delimiter": "/", "max-keys": "100", "bucketName": b, "Host": c.Host},
					RequestID: reqID}
			},
		},
		{
			name: "S3 DeleteObjects",
			resp: canned{header: s3RespH(), body: `<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Deleted><Key>a.txt</Key></Deleted><Deleted><Key>b.txt</Key><VersionId>v2</VersionId></Deleted></DeleteResult>`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Path.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &s3types.Delete{
					Objects: []s3types.ObjectIdentifier{{Key: aws.String("a.txt")}, {Key: aws.String("b.txt"), VersionId: aws.String("v2")}}, Quiet: aws.Bool(false)}})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "DeleteObjects", Category: "Data", Resources: bucket(),
					ParamKeys: []string{"Host", "bucketName", "delete", "Delete"},
					Params:    obj{"delete": "", "Delete": obj{"xmlns": s3NS, "Object": []any{obj{"Key": "a.txt"}, obj{"Key": "b.txt", "VersionId": "v2"}}, "Quiet": "false"}},
					Resp:      obj{"deleted": []any{obj{"key": "a.txt"}, obj{"key": "b.txt", "versionId": "v2"}}}, RequestID: reqID}
			},
		},
		{
			name: "S3 PutBucketPolicy",
			resp: canned{status: 204, header: s3RespH()},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Path.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b),
					Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::` + b + `/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`)})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "PutBucketPolicy", Resources: bucket(),
					ParamKeys: []string{"Host", "bucketName", "policy", "bucketPolicy"},
					Params: obj{"policy": "", "bucketPolicy": obj{"Version": "2012-10-17", "Statement": []any{obj{"Effect": "Deny", "Principal": "*",
						"Action": "s3:*", "Resource": bucketARN + "/*", "Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}}}}}},
					RequestID: reqID}
			},
		},
		{
			name: "S3 CopyObject",
			resp: canned{header: s3RespH("x-amz-copy-source-version-id", "src-v1"), body: `<?xml version="1.0" encoding="UTF-8"?>
<CopyObjectResult><LastModified>2024-01-02T03:04:05.000Z</LastModified><ETag>"9b2cf535f27731c974343645a3985328"</ETag></CopyObjectResult>`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Virtual.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy.txt"),
					CopySource: aws.String("other-bucket/dir/orig%20name.txt"), MetadataDirective: s3types.MetadataDirectiveCopy})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "CopyObject", Category: "Data",
					Resources: []event.Resource{{ARN: bucketARN + "/copy.txt", Type: "AWS::S3::Object"},
						{ARN: "arn:aws:s3:::other-bucket/dir/orig name.txt", Type: "AWS::S3::Object"}, {ARN: bucketARN, Type: "AWS::S3::Bucket"}},
					Params: obj{"x-amz-copy-source": "other-bucket/dir/orig%20name.txt", "x-amz-metadata-directive": "COPY", "key": "copy.txt"},
					Resp: obj{"lastModified": "2024-01-02T03:04:05.000Z", "eTag": `"9b2cf535f27731c974343645a3985328"`,
						"x-amz-copy-source-version-id": "src-v1"},
					RequestID: reqID}
			},
		},
		{
			name: "S3 CreateMultipartUpload",
			resp: canned{header: s3RespH(), body: `<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>` + b + `</Bucket><Key>big.bin</Key><UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId></InitiateMultipartUploadResult>`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Path.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("big.bin")})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "CreateMultipartUpload", Category: "Data", Resources: object("big.bin"),
					ParamKeys: []string{"Host", "bucketName", "key", "uploads"},
					Resp:      obj{"bucket": b, "key": "big.bin", "uploadId": "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"},
					RequestID: reqID}
			},
		},
		{
			name: "S3 UploadPart",
			resp: canned{header: s3RespH("ETag", `"b54357faf0632cce46e942fa68356b38"`)},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Virtual.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("big.bin"),
					UploadId: aws.String("UPID"), PartNumber: aws.Int32(1), Body: strings.NewReader(strings.Repeat("x", 1024))})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "UploadPart", Category: "Data", Resources: object("big.bin"),
					Params: obj{"partNumber": "1", "uploadId": "UPID"}, RequestID: reqID}
			},
		},
		{
			name: "S3 UploadPartCopy",
			resp: canned{header: s3RespH(), body: `<CopyPartResult><ETag>"e"</ETag><LastModified>2024-01-02T03:04:05.000Z</LastModified></CopyPartResult>`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Path.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("big.bin"),
					UploadId: aws.String("UPID"), PartNumber: aws.Int32(2), CopySource: aws.String(b + "/part2.bin"), CopySourceRange: aws.String("bytes=0-1023")})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "UploadPartCopy", Category: "Data",
					Resources: []event.Resource{{ARN: bucketARN + "/big.bin", Type: "AWS::S3::Object"}, {ARN: bucketARN + "/part2.bin", Type: "AWS::S3::Object"}, {ARN: bucketARN, Type: "AWS::S3::Bucket"}},
					Params:    obj{"partNumber": "2", "uploadId": "UPID", "x-amz-copy-source-range": "bytes=0-1023"},
					Resp:      obj{"eTag": `"e"`, "lastModified": "2024-01-02T03:04:05.000Z"}, RequestID: reqID}
			},
		},
		{
			name: "S3 ListParts",
			resp: canned{header: s3RespH(), body: `<ListPartsResult><Bucket>` + b + `</Bucket><Key>big.bin</Key><UploadId>UPID</UploadId></ListPartsResult>`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Path.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("big.bin"), UploadId: aws.String("UPID")})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "ListParts", ReadOnly: true, Category: "Data", Resources: object("big.bin"), RequestID: reqID}
			},
		},
		{
			name: "S3 CompleteMultipartUpload",
			resp: canned{header: s3RespH("x-amz-version-id", "v9"), body: `<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://` + b + `.s3.amazonaws.com/big.bin</Location><Bucket>` + b + `</Bucket><Key>big.bin</Key><ETag>"3858f62230ac3c915f300c664312c11f-2"</ETag></CompleteMultipartUploadResult>`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Path.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("big.bin"),
					UploadId: aws.String("UPID"), MultipartUpload: &s3types.CompletedMultipartUpload{Parts: []s3types.CompletedPart{
						{ETag: aws.String(`"p1"`), PartNumber: aws.Int32(1)}, {ETag: aws.String(`"p2"`), PartNumber: aws.Int32(2)}}}})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "CompleteMultipartUpload", Category: "Data", Resources: object("big.bin"),
					ParamKeys: []string{"Host", "bucketName", "key", "uploadId", "CompleteMultipartUpload"},
					Params:    obj{"CompleteMultipartUpload": obj{"xmlns": s3NS, "Part": []any{obj{"ETag": `"p1"`, "PartNumber": "1"}, obj{"ETag": `"p2"`, "PartNumber": "2"}}}},
					Resp: obj{"location": "http://" + b + ".s3.amazonaws.com/big.bin", "bucket": b, "key": "big.bin",
						"eTag": `"3858f62230ac3c915f300c664312c11f-2"`, "x-amz-version-id": "v9"},
					RequestID: reqID}
			},
		},
		{
			name: "S3 AbortMultipartUpload",
			resp: canned{status: 204, header: s3RespH()},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Virtual.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("big.bin"), UploadId: aws.String("UPID")})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "AbortMultipartUpload", Category: "Data", Resources: object("big.bin"),
					Params: obj{"uploadId": "UPID"}, RequestID: reqID}
			},
		},
		{
			name: "S3 DeleteObject",
			resp: canned{status: 204, header: s3RespH("x-amz-delete-marker", "true", "x-amz-version-id", "dm1")},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.s3Path.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("a.txt")})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "s3", Source: s3Src, Name: "DeleteObject", Category: "Data", Resources: object("a.txt"),
					Resp: obj{"x-amz-delete-marker": "true", "x-amz-version-id": "dm1"}, RequestID: reqID}
			},
		},

		// IAM (query protocol, global).
		{
			name: "IAM CreateUser",
			resp: canned{header: map[string]string{"x-amzn-RequestId": "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE", "Content-Type": "text/xml"},
				body: `<CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <CreateUserResult>
    <User>
      <Path>/division_abc/</Path>
      <UserName>Bob</UserName>
      <UserId>AIDACKCEVSQ6C2EXAMPLE</UserId>
      <Arn>arn:aws:iam::123456789012:user/division_abc/Bob</Arn>
      <CreateDate>2024-01-02T03:04:05Z</CreateDate>
      <Tags><member><Key>team</Key><Value>audit</Value></member></Tags>
    </User>
  </CreateUserResult>
  <ResponseMetadata>
    <RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>
  </ResponseMetadata>
</CreateUserResponse>`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Bob"), Path: aws.String("/division_abc/"),
					Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("audit")}}})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "iam", Source: "iam.amazonaws.com", Name: "CreateUser", Global: true,
					Resources: []event.Resource{{ARN: "arn:aws:iam::123456789012:user/division_abc/Bob", AccountID: "123456789012", Type: "AWS::IAM::User"}},
					ParamKeys: []string{"userName", "path", "tags"},
					Params:    obj{"userName": "Bob", "path": "/division_abc/", "tags": []any{obj{"key": "team", "value": "audit"}}},
					Resp: obj{"user": obj{"path": "/division_abc/", "userName": "Bob", "userId": "AIDACKCEVSQ6C2EXAMPLE",
						"arn": "arn:aws:iam::123456789012:user/division_abc/Bob", "createDate": "2024-01-02T03:04:05Z",
						"tags": []any{obj{"key": "team", "value": "audit"}}}},
					RequestID: "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE", APIVersion: "2010-05-08"}
			},
		},
		{
			name: "IAM GetUser NoSuchEntity",
			resp: canned{status: 404, header: map[string]string{"x-amzn-RequestId": "e2a5e6b6-8a62-4d8a-9c46-1f0c3b2a9d11", "Content-Type": "text/xml"},
				body: `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <Error>
    <Type>Sender</Type>
    <Code>NoSuchEntity</Code>
    <Message>The user with name Nobody cannot be found.</Message>
  </Error>
  <RequestId>e2a5e6b6-8a62-4d8a-9c46-1f0c3b2a9d11</RequestId>
</ErrorResponse>`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("Nobody")})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "iam", Source: "iam.amazonaws.com", Name: "GetUser", ReadOnly: true, Global: true,
					Resources: []event.Resource{{ARN: "arn:aws:iam:::user/Nobody", Type: "AWS::IAM::User"}},
					ParamKeys: []string{"userName"}, ErrCode: "NoSuchEntity", ErrMsg: "The user with name Nobody cannot be found.",
					RequestID: "e2a5e6b6-8a62-4d8a-9c46-1f0c3b2a9d11", APIVersion: "2010-05-08"}
			},
		},
		{
			name: "IAM CreateAccessKey hides the secret",
			resp: canned{header: map[string]string{"Content-Type": "text/xml"}, body: `<CreateAccessKeyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <CreateAccessKeyResult>
    <AccessKey>
      <UserName>Bob</UserName>
      <AccessKeyId>AKIAIOSFODNN7EXAMPLE</AccessKeyId>
      <Status>Active</Status>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <CreateDate>2024-01-02T03:04:05Z</CreateDate>
    </AccessKey>
  </CreateAccessKeyResult>
  <ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata>
</CreateAccessKeyResponse>`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("Bob")})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "iam", Source: "iam.amazonaws.com", Name: "CreateAccessKey", Global: true,
					Resources: []event.Resource{{ARN: "arn:aws:iam:::user/Bob", Type: "AWS::IAM::User"}},
					Params:    obj{"userName": "Bob"},
					Resp: obj{"accessKey": obj{"userName": "Bob", "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "status": "Active",
						"secretAccessKey": Hidden, "createDate": "2024-01-02T03:04:05Z"}},
					Hidden:    []string{"resp.accessKey.secretAccessKey"},
					RequestID: "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE", APIVersion: "2010-05-08"}
			},
		},
		{
			name: "IAM CreateLoginProfile hides the password",
			resp: canned{header: map[string]string{"Content-Type": "text/xml"}, body: `<CreateLoginProfileResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <CreateLoginProfileResult><LoginProfile><PasswordResetRequired>true</PasswordResetRequired><UserName>Bob</UserName><CreateDate>2024-01-02T03:04:05Z</CreateDate></LoginProfile></CreateLoginProfileResult>
  <ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata>
</CreateLoginProfileResponse>`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("Bob"), Password: aws.String("h]6EszR}vJ*m"), PasswordResetRequired: true})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "iam", Source: "iam.amazonaws.com", Name: "CreateLoginProfile", Global: true,
					Resources: []event.Resource{{ARN: "arn:aws:iam:::user/Bob", Type: "AWS::IAM::User"}},
					Params:    obj{"userName": "Bob", "password": Hidden, "passwordResetRequired": "true"},
					Resp:      obj{"loginProfile": obj{"passwordResetRequired": "true", "userName": "Bob", "createDate": "2024-01-02T03:04:05Z"}},
					Hidden:    []string{"password"}, RequestID: "r1", APIVersion: "2010-05-08"}
			},
		},

		// STS.
		{
			name: "STS GetCallerIdentity",
			resp: canned{header: map[string]string{"x-amzn-RequestId": "01234567-89ab-cdef-0123-456789abcdef", "Content-Type": "text/xml"},
				body: `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::123456789012:user/Alice</Arn>
    <UserId>AIDACKCEVSQ6C2EXAMPLE</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "sts", Source: "sts.amazonaws.com", Name: "GetCallerIdentity", ReadOnly: true,
					ParamKeys: []string{}, RequestID: "01234567-89ab-cdef-0123-456789abcdef", APIVersion: "2011-06-15"}
			},
		},

		// DynamoDB (JSON 1.0).
		{
			name: "DynamoDB CreateTable",
			resp: canned{header: map[string]string{"x-amzn-RequestId": "QJ8OUF1JCJ6QF4IOPOA8DOSN9BVV4KQNSO5AEMVJF66Q9ASUAAJG", "Content-Type": "application/x-amz-json-1.0"},
				body: `{"TableDescription":{"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"BillingModeSummary":{"BillingMode":"PAY_PER_REQUEST"},"CreationDateTime":1.704164645E9,"ItemCount":0,"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"ProvisionedThroughput":{"NumberOfDecreasesToday":0,"ReadCapacityUnits":0,"WriteCapacityUnits":0},"TableArn":"arn:aws:dynamodb:us-east-1:123456789012:table/Music","TableId":"d2a7b6c4-1e3f-4a5b-8c9d-0e1f2a3b4c5d","TableName":"Music","TableSizeBytes":0,"TableStatus":"CREATING","Tags":{"env":"prod"}}}`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.ddb.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("Music"), BillingMode: ddbtypes.BillingModePayPerRequest,
					AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
					KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}}})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "dynamodb", Source: "dynamodb.amazonaws.com", Name: "CreateTable",
					Resources: []event.Resource{{ARN: "arn:aws:dynamodb:us-east-1:123456789012:table/Music", AccountID: "123456789012", Type: "AWS::DynamoDB::Table"}},
					ParamKeys: []string{"tableName", "billingMode", "attributeDefinitions", "keySchema"},
					Params: obj{"tableName": "Music", "attributeDefinitions": []any{obj{"attributeName": "pk", "attributeType": "S"}},
						"keySchema": []any{obj{"attributeName": "pk", "keyType": "HASH"}}},
					Resp: obj{"tableDescription": obj{"attributeDefinitions": []any{obj{"attributeName": "pk", "attributeType": "S"}},
						"billingModeSummary": obj{"billingMode": "PAY_PER_REQUEST"}, "creationDateTime": json.RawMessage("1.704164645E9"), "itemCount": 0,
						"keySchema":             []any{obj{"attributeName": "pk", "keyType": "HASH"}},
						"provisionedThroughput": obj{"numberOfDecreasesToday": 0, "readCapacityUnits": 0, "writeCapacityUnits": 0},
						"tableArn":              "arn:aws:dynamodb:us-east-1:123456789012:table/Music", "tableId": "d2a7b6c4-1e3f-4a5b-8c9d-0e1f2a3b4c5d",
						"tableName": "Music", "tableSizeBytes": 0, "tableStatus": "CREATING", "tags": obj{"env": "prod"}}},
					RequestID: "QJ8OUF1JCJ6QF4IOPOA8DOSN9BVV4KQNSO5AEMVJF66Q9ASUAAJG"}
			},
		},
		{
			name: "DynamoDB PutItem",
			resp: canned{header: map[string]string{"x-amzn-RequestId": "R2", "Content-Type": "application/x-amz-json-1.0"}, body: `{}`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("Music"), Item: map[string]ddbtypes.AttributeValue{
					"Artist": &ddbtypes.AttributeValueMemberS{Value: "No One You Know"},
					"Info":   &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"Year": &ddbtypes.AttributeValueMemberN{Value: "2024"}}}},
					ConditionExpression: aws.String("attribute_not_exists(Artist)")})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "dynamodb", Source: "dynamodb.amazonaws.com", Name: "PutItem", Category: "Data",
					Resources: []event.Resource{{ARN: "arn:aws:dynamodb:us-east-1::table/Music", Type: "AWS::DynamoDB::Table"}},
					ParamKeys: []string{"tableName", "item", "conditionExpression"},
					Params:    obj{"item": obj{"Artist": obj{"s": "No One You Know"}, "Info": obj{"m": obj{"Year": obj{"n": "2024"}}}}},
					RequestID: "R2"}
			},
		},
		{
			name: "DynamoDB PutItem ResourceNotFoundException",
			resp: canned{status: 400, header: map[string]string{"x-amzn-RequestId": "R3", "Content-Type": "application/x-amz-json-1.0"},
				body: `{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("Nope"), Item: map[string]ddbtypes.AttributeValue{
					"pk": &ddbtypes.AttributeValueMemberS{Value: "1"}}})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "dynamodb", Source: "dynamodb.amazonaws.com", Name: "PutItem", Category: "Data",
					Resources: []event.Resource{{ARN: "arn:aws:dynamodb:us-east-1::table/Nope", Type: "AWS::DynamoDB::Table"}},
					ErrCode:   "ResourceNotFoundException", ErrMsg: "Requested resource not found", RequestID: "R3"}
			},
		},

		// SQS (JSON 1.0, query-compatible).
		{
			name: "SQS CreateQueue",
			resp: canned{header: map[string]string{"x-amzn-RequestId": "c8b1a4c6-3b8f-5b5e-9a8e-0d1f2e3a4b5c", "Content-Type": "application/x-amz-json-1.0"},
				body: `{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123456789012/orders"}`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders"),
					Attributes: map[string]string{"VisibilityTimeout": "45", "KmsMasterKeyId": "alias/aws/sqs"}, Tags: map[string]string{"Team": "billing"}})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "sqs", Source: "sqs.amazonaws.com", Name: "CreateQueue",
					Resources: []event.Resource{{ARN: "arn:aws:sqs:us-east-1:123456789012:orders", AccountID: "123456789012", Type: "AWS::SQS::Queue"}},
					ParamKeys: []string{"queueName", "attributes", "tags"},
					Params:    obj{"attributes": obj{"VisibilityTimeout": "45", "KmsMasterKeyId": "alias/aws/sqs"}, "tags": obj{"Team": "billing"}},
					Resp:      obj{"queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/orders"},
					RequestID: "c8b1a4c6-3b8f-5b5e-9a8e-0d1f2e3a4b5c"}
			},
		},
		{
			name: "SQS SendMessage",
			resp: canned{header: map[string]string{"x-amzn-RequestId": "S1", "Content-Type": "application/x-amz-json-1.0"},
				body: `{"MD5OfMessageBody":"fafb00f5732ab283681e124bf8747ed1","MessageId":"219f8380-5770-4cc2-8c3e-5c715e145f5e"}`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String("https://sqs.us-east-1.amazonaws.com/123456789012/orders"),
					MessageBody:       aws.String("This is a test message"),
					MessageAttributes: map[string]sqstypes.MessageAttributeValue{"Kind": {DataType: aws.String("String"), StringValue: aws.String("test")}}})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "sqs", Source: "sqs.amazonaws.com", Name: "SendMessage", Category: "Data",
					Resources: []event.Resource{{ARN: "arn:aws:sqs:us-east-1:123456789012:orders", AccountID: "123456789012", Type: "AWS::SQS::Queue"}},
					ParamKeys: []string{"queueUrl", "messageBody", "messageAttributes"},
					Params:    obj{"messageAttributes": obj{"Kind": obj{"dataType": "String", "stringValue": "test"}}},
					Resp:      obj{"mD5OfMessageBody": "fafb00f5732ab283681e124bf8747ed1", "messageId": "219f8380-5770-4cc2-8c3e-5c715e145f5e"},
					RequestID: "S1"}
			},
		},
		{
			name: "SQS query-compatible error",
			resp: canned{status: 400, header: map[string]string{"x-amzn-RequestId": "S2", "Content-Type": "application/x-amz-json-1.0",
				"x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender"},
				body: `{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("missing")})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "sqs", Source: "sqs.amazonaws.com", Name: "GetQueueUrl", ReadOnly: true,
					Resources: []event.Resource{{ARN: "arn:aws:sqs:us-east-1::missing", Type: "AWS::SQS::Queue"}},
					ErrCode:   "AWS.SimpleQueueService.NonExistentQueue", ErrMsg: "The specified queue does not exist.", RequestID: "S2"}
			},
		},

		// SNS (query).
		{
			name: "SNS CreateTopic",
			resp: canned{header: map[string]string{"x-amzn-RequestId": "a8dec8b3-33a4-11df-8963-01868b7c937a", "Content-Type": "text/xml"},
				body: `<CreateTopicResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <CreateTopicResult><TopicArn>arn:aws:sns:us-east-1:123456789012:alerts</TopicArn></CreateTopicResult>
  <ResponseMetadata><RequestId>a8dec8b3-33a4-11df-8963-01868b7c937a</RequestId></ResponseMetadata>
</CreateTopicResponse>`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts"), Attributes: map[string]string{"DisplayName": "Alerts"}})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "sns", Source: "sns.amazonaws.com", Name: "CreateTopic",
					Resources: []event.Resource{{ARN: "arn:aws:sns:us-east-1:123456789012:alerts", AccountID: "123456789012", Type: "AWS::SNS::Topic"}},
					ParamKeys: []string{"name", "attributes"},
					Params:    obj{"name": "alerts", "attributes": obj{"DisplayName": "Alerts"}},
					Resp:      obj{"topicArn": "arn:aws:sns:us-east-1:123456789012:alerts"},
					RequestID: "a8dec8b3-33a4-11df-8963-01868b7c937a", APIVersion: "2010-03-31"}
			},
		},
		{
			name: "SNS Publish",
			resp: canned{header: map[string]string{"x-amzn-RequestId": "P1", "Content-Type": "text/xml"},
				body: `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>94f20ce6-13c5-43a0-9a9e-ca52d816e90b</MessageId></PublishResult><ResponseMetadata><RequestId>P1</RequestId></ResponseMetadata></PublishResponse>`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.sns.Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:123456789012:alerts"),
					Message: aws.String("disk full"), Subject: aws.String("alert")})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "sns", Source: "sns.amazonaws.com", Name: "Publish",
					Resources: []event.Resource{{ARN: "arn:aws:sns:us-east-1:123456789012:alerts", AccountID: "123456789012", Type: "AWS::SNS::Topic"}},
					ParamKeys: []string{"topicArn", "message", "subject"},
					Resp:      obj{"messageId": "94f20ce6-13c5-43a0-9a9e-ca52d816e90b"}, RequestID: "P1", APIVersion: "2010-03-31"}
			},
		},

		// Lambda (rest-json).
		{
			name: "Lambda ListFunctions",
			resp: canned{header: map[string]string{"x-amzn-RequestId": "L1", "Content-Type": "application/json"},
				body: `{"Functions":[{"FunctionName":"my-function","FunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:my-function","Runtime":"python3.12"}],"NextMarker":null}`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.lambda.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(10), FunctionVersion: lambdatypes.FunctionVersionAll})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "lambda", Source: "lambda.amazonaws.com", Name: "ListFunctions", ReadOnly: true,
					ParamKeys: []string{"maxItems", "functionVersion"}, Params: obj{"maxItems": "10", "functionVersion": "ALL"}, RequestID: "L1"}
			},
		},
		{
			name: "Lambda Invoke",
			resp: canned{header: map[string]string{"x-amzn-RequestId": "L2", "X-Amz-Executed-Version": "$LATEST"}, status: 202},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("my-function"), InvocationType: lambdatypes.InvocationTypeEvent,
					Payload: []byte(`{"password":"x"}`)})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "lambda", Source: "lambda.amazonaws.com", Name: "Invoke",
					Resources: []event.Resource{{ARN: "arn:aws:lambda:us-east-1::function:my-function", Type: "AWS::Lambda::Function"}},
					ParamKeys: []string{"functionName", "invocationType"},
					Params:    obj{"functionName": "my-function", "invocationType": "Event"},
					RequestID: "L2"}
			},
		},
		{
			name: "Lambda GetFunction not found",
			resp: canned{status: 404, header: map[string]string{"x-amzn-RequestId": "L3", "Content-Type": "application/json", "x-amzn-ErrorType": "ResourceNotFoundException"},
				body: `{"Type":"User","Message":"Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"}`},
			call: func(ctx context.Context, rg *rig) error {
				_, err := rg.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("nope")})
				return err
			},
			want: func(c *Call) want {
				return want{Service: "lambda", Source: "lambda.amazonaws.com", Name: "GetFunction", ReadOnly: true,
					Resources: []event.Resource{{ARN: "arn:aws:lambda:us-east-1::function:nope", Type: "AWS::Lambda::Function"}},
					ParamKeys: []string{"functionName"},
					ErrCode:   "ResourceNotFoundException", ErrMsg: "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope", RequestID: "L3"}
			},
		},
	}
	rg := newRig(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := rg.capture(t, tc.resp, tc.call)
			checkOp(t, c, Resolve(c), tc.want(c))
		})
	}
}
