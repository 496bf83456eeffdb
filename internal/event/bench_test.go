package event

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// loadgenRecord is shaped like the records internal/loadgen sends: compact,
// in CloudTrail's order, no recipientAccountId, padded to 1 KB through
// requestParameters.benchPadding.
const loadgenRecord = `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEUSER0003","arn":"arn:aws:iam::123456789012:user/deploy-bot","accountId":"123456789012","accessKeyId":"AKIAEXAMPLEKEY000031","userName":"deploy-bot"},"eventTime":"2026-11-26T09:29:31Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.24","userAgent":"aws-sdk-go-v2/1.30.4 ua/2.1 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64","requestParameters":{"benchPadding":"k3v9 q0zt1m2 a8 xw7yq c4 ld0p 9q2m s7t ra3 b5n6 e1wq z0y 8ju7 gk2 lm4 po0 n7c x9 vb2 aq1 ws8 de3 rf4 tg5 yh6 uj7 ik8 ol9 p0 mn1 bv2 cx3 za4 sq5 wd6 ef7 rg8 th9 yj0 uk1 il2 o3 p4","encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"aws:lambda:FunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:orders"},"keyId":"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},"responseElements":null,"requestID":"6f1c2a9e-8b7d-4e3f-a1b2-c3d4e5f60718","eventID":"5d2f0c1a-0000-4001-8000-000000000042","readOnly":true,"resources":[{"accountId":"123456789012","type":"AWS::KMS::Key","ARN":"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}],"eventType":"AwsApiCall","managementEvent":true,"eventCategory":"Management"}`

// archiveRecord is shaped like the records of the importer's benchmark
// archive (internal/importer's benchRecord): an assumed role with a session
// context, two resources, additionalEventData and tlsDetails, 1.6 KB.
const archiveRecord = `{"eventVersion":"1.11","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE779731:session-706131","arn":"arn:aws:sts::222222222222:assumed-role/deploy/session-236228","accountId":"222222222222","accessKeyId":"ASIAEXAMPLE324509743","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE869695","arn":"arn:aws:iam::222222222222:role/deploy","accountId":"222222222222","userName":"deploy"},"attributes":{"creationDate":"2026-11-23T18:04:28Z","mfaAuthenticated":"false"}}},"eventTime":"2026-11-23T19:04:28Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","awsRegion":"eu-west-1","sourceIPAddress":"192.0.2.4","userAgent":"aws-sdk-go-v2/1.30.0 os/linux lang/go#1.22 md/GOOS#linux md/GOARCH#amd64 api/s3#1.58.0","requestParameters":{"bucketName":"bucket-44","key":"objects/244458/489911.json","Host":"bucket-91.s3.eu-west-1.amazonaws.com"},"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":103313,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"Zm9vYmFyYmF6cXV4469600232","bytesTransferredOut":0},"requestID":"B7CD46588D9CFDF1","eventID":"3ec2dee1-03bd-4396-8477-785d4de84e70","readOnly":false,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::bucket-49/objects/17512/286301.json"},{"accountId":"222222222222","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::bucket-59"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"222222222222","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"bucket-73.s3.eu-west-1.amazonaws.com"}}`

// policyRecord is BenchmarkDecode's record: a bucket policy, a string
// full of escaped quotes, in requestParameters.
const policyRecord = `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111111111111:user/alice","accountId":"111111111111","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"2026-11-26T09:30:00Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.10","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64","requestParameters":{"bucketName":"audit-logs","Host":"audit-logs.s3.amazonaws.com","policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"cloudtrail.amazonaws.com\"},\"Action\":\"s3:PutObject\",\"Resource\":\"arn:aws:s3:::audit-logs/AWSLogs/*\"}]}"},"responseElements":null,"requestID":"EXAMPLE123","eventID":"3b2a1f0e-1111-2222-3333-444455556666","readOnly":false,"resources":[{"ARN":"arn:aws:s3:::audit-logs","accountId":"111111111111","type":"AWS::S3::Bucket"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"audit-logs.s3.amazonaws.com"}}`

// BenchmarkDecodeRecords decodes records of several shapes, with Decode and
// (ref-) with refDecode, the slower Decode it replaced. cpu-ns/op is the
// process's CPU time per record (garbage collection included), steadier
// than ns/op on a busy machine.
func BenchmarkDecodeRecords(b *testing.B) {
	pretty, err := os.ReadFile(filepath.Join("testdata", "decode", "assumed_role.json"))
	if err != nil {
		b.Fatal(err)
	}
	// A loadgen record without an eventID: Decode derives one from the
	// record's content.
	noID := bytes.Replace([]byte(loadgenRecord), []byte(`"eventID":"5d2f0c1a-0000-4001-8000-000000000042",`), nil, 1)
	for _, tc := range []struct {
		name    string
		raw     []byte
		account string
	}{
		{"loadgen", []byte(loadgenRecord), "123456789012"},
		{"loadgen-noid", noID, "123456789012"},
		{"policy", []byte(policyRecord), "111111111111"},
		{"archive", []byte(archiveRecord), "222222222222"},
		{"pretty", pretty, "111122223333"},
	} {
		for _, impl := range []struct {
			name   string
			decode func([]byte, Context) (*Event, *FieldError)
		}{{"", Decode}, {"ref-", refDecode}} {
			b.Run(impl.name+tc.name, func(b *testing.B) {
				c := Context{Account: tc.account}
				b.SetBytes(int64(len(tc.raw)))
				b.ReportAllocs()
				start := testutil.CPUTime()
				for b.Loop() {
					if _, ferr := impl.decode(tc.raw, c); ferr != nil {
						b.Fatal(ferr)
					}
				}
				testutil.ReportCPU(b, start)
			})
		}
	}
}

// BenchmarkSplitBatch splits a batch of 100 records as the ingest API does
// (OnlyRecords, then SplitArray): every byte of a batch passes through it
// before any record is decoded.
func BenchmarkSplitBatch(b *testing.B) {
	for _, tc := range []struct{ name, rec string }{{"loadgen", loadgenRecord}, {"policy", policyRecord}, {"archive", archiveRecord}} {
		body := []byte(`{"Records":[` + strings.Repeat(tc.rec+",", 99) + tc.rec + `]}`)
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				arr, ok := OnlyRecords(body)
				if !ok {
					b.Fatal("not {\"Records\": …}")
				}
				if recs, err := SplitArray(arr); err != nil || len(recs) != 100 {
					b.Fatal(len(recs), err)
				}
			}
		})
	}
}
