package awsproto_test

import (
	"strings"
	"testing"

	"github.com/cairn-audit/cairn/internal/awsproto"
)

// ctRecord is a CloudTrail record as LookupEvents answers carry it in
// CloudTrailEvent: compact JSON of about 1 KB, a quote every few bytes.
const ctRecord = `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole",` +
	`"principalId":"AROAEXAMPLEROLEID1234:ci-deploy-7f3a","arn":"arn:aws:sts::123456789012:assumed-role/ci-deploy/ci-deploy-7f3a",` +
	`"accountId":"123456789012","accessKeyId":"ASIAEXAMPLEKEY000042","sessionContext":{"attributes":` +
	`{"creationDate":"2026-03-14T09:12:44Z","mfaAuthenticated":"false"}}},` +
	`"eventTime":"2026-03-14T09:26:53Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"eu-west-1",` +
	`"sourceIPAddress":"203.0.113.42","userAgent":"aws-sdk-go-v2/1.30.4 ua/2.1 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64",` +
	`"requestParameters":{"encryptionContext":{"aws:lambda:FunctionArn":"arn:aws:lambda:eu-west-1:123456789012:function:ingest"},` +
	`"encryptionAlgorithm":"SYMMETRIC_DEFAULT"},"responseElements":null,"requestID":"6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f",` +
	`"eventID":"0b9e8d7c-6f5a-4b3c-9d2e-1f0a9b8c7d6e","readOnly":true,"resources":[{"accountId":"123456789012",` +
	`"type":"AWS::KMS::Key","ARN":"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}],` +
	`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}`

// nonASCIIText is text that is mostly not ASCII, with a few bytes that are
// not UTF-8 and the separators JSON escapes.
var nonASCIIText = strings.Repeat("Grüße aus Zürich — 日本語のテキスト、😀 emoji; ", 12) +
	"bad \xff\xfe bytes \xe2\x80 cut \u2028 line \u2029 para " +
	strings.Repeat("Ελληνικά κείμενα και русский текст ", 8)

func BenchmarkAppendString(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"record", ctRecord},
		{"nonASCII", nonASCIIText},
	} {
		b.Run(bc.name, func(b *testing.B) {
			buf := awsproto.AppendString(nil, bc.s)
			b.SetBytes(int64(len(bc.s)))
			b.ReportAllocs()
			for b.Loop() {
				buf = awsproto.AppendString(buf[:0], bc.s)
			}
		})
	}
}
