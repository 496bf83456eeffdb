package main

import (
	"bytes"
	"compress/gzip"
	"testing"

	"github.com/cairn-audit/cairn/internal/envelope"
)

// FuzzOpenFile: cairn decrypt's reader (envelope, then gzip) never panics
// and never writes more than a log file's limit, whatever the file holds.
func FuzzOpenFile(f *testing.F) {
	arn := "arn:aws:kms:us-east-1:111111111111:key/6f1c2a3b-1111-2222-3333-444455556666"
	keys := &envelope.ConfigKeys{Secrets: map[string]string{arn: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"Records":[]}`))
	zw.Close()
	sealed, err := envelope.Seal(keys, arn, gz.Bytes())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add(gz.Bytes())
	f.Add([]byte(envelope.Magic + `{"kmsKeyId":"` + arn + `","algorithm":"AES-256-GCM","encryptedDataKey":"AA==","iv":"AA=="}` + "\n0123456789abcdef0123"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		if _, err := openFile(keys, b, &out); err == nil && out.Len() > 1<<30 {
			t.Fatalf("wrote %d bytes", out.Len())
		}
	})
}
