package eventpattern

import "testing"

// cloudTrailEnvelope is a typical EventBridge event from CloudTrail.
const cloudTrailEnvelope = `{"version":"0","id":"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","account":"111111111111","time":"2026-12-06T13:00:00Z","region":"us-east-1","resources":[],"detail":{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111111111111:user/alice","accountId":"111111111111","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"2026-12-06T13:00:00Z","eventSource":"iam.amazonaws.com","eventName":"DeleteUser","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0 Python/3.11","requestParameters":{"userName":"bob"},"responseElements":null,"requestID":"a1b2c3d4-5678-90ab-cdef-EXAMPLE11111","eventID":"e1f2a3b4-5678-90ab-cdef-EXAMPLE22222","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"iam.amazonaws.com"}}}`

const benchPattern = `{"source":["aws.iam"],"detail":{"eventName":[{"prefix":"Delete"}],"sourceIPAddress":[{"cidr":"198.51.100.0/24"}],"readOnly":[false]}}`

// BenchmarkMatch decodes and matches one event (the webhook's per-event cost).
func BenchmarkMatch(b *testing.B) {
	p := MustCompile(benchPattern)
	ev := []byte(cloudTrailEnvelope)
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	for b.Loop() {
		if !p.Match(ev) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkMatchParsed matches an event decoded once (the cost of each
// further pattern on the same event).
func BenchmarkMatchParsed(b *testing.B) {
	p := MustCompile(benchPattern)
	ev, err := ParseEvent([]byte(cloudTrailEnvelope))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !p.MatchParsed(ev) {
			b.Fatal("no match")
		}
	}
}
