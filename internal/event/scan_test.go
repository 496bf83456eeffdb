package event

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func nesting(b []byte) int {
	depth, max := 0, 0
	in := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == '{' || c == '['):
			depth++
			if depth > max {
				max = depth
			}
		case !in && (c == '}' || c == ']'):
			depth--
		}
	}
	return max
}

// checkAgainstStdlib asserts the scanner agrees with encoding/json.
func checkAgainstStdlib(t *testing.T, b []byte) {
	got, err := splitObject(b)
	trimmed := bytes.TrimSpace(b)
	want := json.Valid(b) && utf8.Valid(b) && len(trimmed) > 0 && trimmed[0] == '{' && nesting(b) <= maxDepth
	if (err == nil) != want {
		t.Fatalf("splitObject(%q): err %v, stdlib says valid=%v", b, err, want)
	}
	if err != nil {
		return
	}
	var ref map[string]json.RawMessage
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref) != len(got) {
		t.Fatalf("%q: %d members, stdlib %d", b, len(got), len(ref))
	}
	for k, v := range ref {
		var c bytes.Buffer
		json.Compact(&c, v)
		if !bytes.Equal(c.Bytes(), got[k]) {
			t.Fatalf("%q: member %q = %s, stdlib %s", b, k, got[k], c.Bytes())
		}
	}
}

func TestScanner(t *testing.T) {
	valid := []string{`{}`, ` { "a" : [ 1 , 2.5e-3 , -0 , true , false , null , "x\u00e9\n" ] } `,
		`{"a":{"b":{"c":[]}}}`, `{"k\u0041":"v","k\u0041":"last"}`, `{"a":"héllo 世界"}`, `{"n":-12.0E+2}`}
	invalid := []string{``, `[]`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`,
		`{"a":tru}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", `{"a":1} x`,
		`{"a":[1 2]}`, `{1:2}`, `{"a":-}`, `{"a":1e}`, strings.Repeat(`{"a":`, 300) + `1` + strings.Repeat(`}`, 300)}
	for _, s := range append(valid, invalid...) {
		checkAgainstStdlib(t, []byte(s))
	}
	for _, s := range valid {
		if _, err := splitObject([]byte(s)); err != nil {
			t.Errorf("%q refused: %v", s, err)
		}
	}
	els, err := SplitArray([]byte(` [ {"a":1} , [2] ,"x", 3 ] `))
	if err != nil || len(els) != 4 || string(els[1]) != "[2]" {
		t.Fatalf("SplitArray: %q %v", els, err)
	}
	for _, bad := range []string{`[1,]`, `[`, `{}`, `[1] 2`} {
		if _, err := SplitArray([]byte(bad)); err == nil {
			t.Errorf("SplitArray(%q) accepted", bad)
		}
	}
}

// TestSkipValue checks SkipValue: the syntax of everything but the text of
// strings, and the depth it is given.
func TestSkipValue(t *testing.T) {
	for _, c := range []struct {
		in    string
		depth int
		end   int // -1: refused
	}{
		{`"abc" x`, 0, 5},
		{`"a\"b\\" x`, 0, 8},
		{"\"bad \xff \\q \x01 text\",", 0, 17},
		{`"unclosed\"`, 0, -1},
		{`{"a":[1,-2.5e3,true,null,{"b":"]"}]}`, 3, 36},
		{`{"a":[1,-2.5e3,true,null,{"b":"]"}]}`, 2, -1},
		{`[[]]`, 2, 4},
		{`[[]]`, 1, -1},
		{`{"a":1,}`, 1, -1},
		{`{"a" 1}`, 1, -1},
		{`[1 2]`, 1, -1},
		{`tru`, 0, -1},
		{`01`, 0, 1},
		{`-`, 0, -1},
		{`{5:1}`, 1, -1},
	} {
		end, err := SkipValue([]byte(c.in), 0, c.depth)
		if c.end < 0 {
			if err == nil {
				t.Errorf("SkipValue(%q, %d) accepted: %d", c.in, c.depth, end)
			}
			continue
		}
		if err != nil || end != c.end {
			t.Errorf("SkipValue(%q, %d) = %d, %v; want %d", c.in, c.depth, end, err, c.end)
		}
	}
}

// BenchmarkDecode decodes a realistic 1 KB record: the per-record cost of
// the ingest path.
func BenchmarkDecode(b *testing.B) {
	raw := []byte(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111111111111:user/alice","accountId":"111111111111","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"2026-11-26T09:30:00Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.10","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64","requestParameters":{"bucketName":"audit-logs","Host":"audit-logs.s3.amazonaws.com","policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"cloudtrail.amazonaws.com\"},\"Action\":\"s3:PutObject\",\"Resource\":\"arn:aws:s3:::audit-logs/AWSLogs/*\"}]}"},"responseElements":null,"requestID":"EXAMPLE123","eventID":"3b2a1f0e-1111-2222-3333-444455556666","readOnly":false,"resources":[{"ARN":"arn:aws:s3:::audit-logs","accountId":"111111111111","type":"AWS::S3::Bucket"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"audit-logs.s3.amazonaws.com"}}`)
	c := Context{Account: "111111111111"}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, ferr := Decode(raw, c); ferr != nil {
			b.Fatal(ferr)
		}
	}
}
