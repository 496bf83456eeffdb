package event

import (
	"os"
	"path/filepath"
	"testing"
)

// loadgenRecord is shaped like the records internal/loadgen sends: compact,
// in CloudTrail's order, no recipientAccountId, padded to 1 KB through
// requestParameters.benchPadding.
const loadgenRecord = `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEUSER0003","arn":"arn:aws:iam::123456789012:user/deploy-bot","accountId":"123456789012","accessKeyId":"AKIAEXAMPLEKEY000031","userName":"deploy-bot"},"eventTime":"2026-11-26T09:29:31Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.24","userAgent":"aws-sdk-go-v2/1.30.4 ua/2.1 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64","requestParameters":{"benchPadding":"k3v9 q0zt1m2 a8 xw7yq c4 ld0p 9q2m s7t ra3 b5n6 e1wq z0y 8ju7 gk2 lm4 po0 n7c x9 vb2 aq1 ws8 de3 rf4 tg5 yh6 uj7 ik8 ol9 p0 mn1 bv2 cx3 za4 sq5 wd6 ef7 rg8 th9 yj0 uk1 il2 o3 p4","encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"aws:lambda:FunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:orders"},"keyId":"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},"responseElements":null,"requestID":"6f1c2a9e-8b7d-4e3f-a1b2-c3d4e5f60718","eventID":"5d2f0c1a-0000-4001-8000-000000000042","readOnly":true,"resources":[{"accountId":"123456789012","type":"AWS::KMS::Key","ARN":"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}],"eventType":"AwsApiCall","managementEvent":true,"eventCategory":"Management"}`

// BenchmarkDecodeRecords decodes records of several shapes, with Decode and
// (ref-) with refDecode, the slower Decode it replaced. cpu-ns/op is the
// process's CPU time per record (garbage collection included), steadier
// than ns/op on a busy machine.
func BenchmarkDecodeRecords(b *testing.B) {
	pretty, err := os.ReadFile(filepath.Join("testdata", "decode", "assumed_role.json"))
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"loadgen", []byte(loadgenRecord)},
		{"pretty", pretty},
	} {
		for _, impl := range []struct {
			name   string
			decode func([]byte, Context) (*Event, *FieldError)
		}{{"", Decode}, {"ref-", refDecode}} {
			b.Run(impl.name+tc.name, func(b *testing.B) {
				c := Context{Account: "123456789012"}
				b.SetBytes(int64(len(tc.raw)))
				b.ReportAllocs()
				start := cpuTime()
				for b.Loop() {
					if _, ferr := impl.decode(tc.raw, c); ferr != nil {
						b.Fatal(ferr)
					}
				}
				if cpu := cpuTime() - start; cpu > 0 {
					b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
				}
			})
		}
	}
}
