package event_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cairn-audit/cairn/internal/event"
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
	// A record holding JSON text, as policy documents are held: escapes
	// come in pairs (\").
	quoted, _ := json.Marshal(ctRecord)
	for _, bc := range []struct{ name, s string }{
		{"record", ctRecord},
		{"recordInRecord", `{"policyDocument":` + string(quoted) + `}`},
		{"nonASCII", nonASCIIText},
	} {
		b.Run(bc.name, func(b *testing.B) {
			buf := event.AppendString(nil, bc.s)
			b.SetBytes(int64(len(bc.s)))
			b.ReportAllocs()
			for b.Loop() {
				buf = event.AppendString(buf[:0], bc.s)
			}
		})
	}
}

// stringChecker compares AppendString with json.Marshal, stopping the test
// after a few differences.
type stringChecker struct {
	t     *testing.T
	fails int
	n     int
}

func (c *stringChecker) check(s string) {
	c.t.Helper()
	c.n++
	want, err := json.Marshal(s)
	if err != nil {
		c.t.Fatalf("json.Marshal(%q): %v", s, err)
	}
	// Append after a prefix, into a buffer whose spare capacity holds
	// junk, so that output taking any of it for its own would show.
	const prefix = "prefix"
	buf := append(make([]byte, 0, len(prefix)+len(want)), prefix...)
	for i := len(buf); i < cap(buf); i++ {
		buf = append(buf, '#')
	}
	buf = buf[:len(prefix)]
	for _, b := range [][]byte{nil, buf} {
		got := event.AppendString(b, s)
		if b != nil {
			if !bytes.HasPrefix(got, []byte(prefix)) {
				c.t.Errorf("AppendString(%q, %q) lost the prefix: %q", prefix, s, got)
			}
			got = got[len(prefix):]
		}
		if !bytes.Equal(got, want) {
			c.t.Errorf("AppendString(%q) = %s, json.Marshal writes %s", s, got, want)
			if c.fails++; c.fails >= 20 {
				c.t.Fatal("too many differences")
			}
			return
		}
	}
}

// TestAppendStringIsMarshal checks AppendString against json.Marshal on
// every byte, the runes around the ones JSON escapes, invalid and truncated
// UTF-8, random strings, and CloudTrail records.
func TestAppendStringIsMarshal(t *testing.T) {
	c := &stringChecker{t: t}

	// Every byte, alone and between ASCII letters (so runs are copied
	// before and after it), and repeated past any growth estimate.
	for i := range 256 {
		b := string([]byte{byte(i)})
		c.check(b)
		c.check("ab" + b + "cd")
		c.check(b + b + "x" + b)
		c.check(strings.Repeat(b, 300))
	}

	// Runes around the escaped ones: the ASCII range, U+2028 and U+2029,
	// the surrogates (which utf8.EncodeRune cannot write, so by hand), the
	// replacement character, and the ends of the 2-, 3- and 4-byte forms.
	var runes []rune
	for r := rune(0); r < 0x900; r++ {
		runes = append(runes, r)
	}
	for _, center := range []rune{0x2028, 0x2029, 0xFFFD, 0xFFFF, 0x10000, 0x10FFFF, 0xD7FF, 0xE000} {
		for r := center - 40; r <= center+40 && r <= utf8.MaxRune; r++ {
			if !utf8.ValidRune(r) {
				continue
			}
			runes = append(runes, r)
		}
	}
	for _, r := range runes {
		e := string(r)
		c.check(e)
		c.check("a" + e + "\"" + e + e + "z")
		// Every proper prefix of its encoding is a truncated sequence.
		for n := 1; n < len(e); n++ {
			c.check(e[:n])
			c.check("a" + e[:n] + "b")
			c.check(e[:n] + e)
			c.check("x" + e[:n] + "\"")
		}
	}
	for hi := 0xA0; hi <= 0xBF; hi++ { // ED A0..BF xx: UTF-8 of surrogates
		for _, lo := range []byte{0x80, 0x8F, 0xBF} {
			s := string([]byte{0xED, byte(hi), lo})
			c.check(s)
			c.check("a" + s + "b")
		}
	}

	// Every 2-byte sequence, and sequences of up to four bytes drawn from
	// bytes at the edges of the UTF-8 classes and the escaped ASCII.
	for i := range 1 << 16 {
		c.check(string([]byte{byte(i >> 8), byte(i)}))
	}
	// Every lead byte of a 3-byte form with every second byte, and third
	// bytes either side of the continuation range and of U+2028/U+2029.
	for lead := 0xE0; lead <= 0xEF; lead++ {
		for second := range 256 {
			for _, third := range []byte{0x00, 0x22, 0x7F, 0x80, 0xA7, 0xA8, 0xA9, 0xAA, 0xBF, 0xC0, 0xE2, 0xFF} {
				c.check(string([]byte{byte(lead), byte(second), third}))
			}
		}
	}
	edges := []byte{0x00, 0x1F, 0x20, 0x22, 0x26, 0x3C, 0x3E, 0x5C, 0x61, 0x7F, 0x80, 0x8F, 0x90, 0x9F,
		0xA0, 0xA8, 0xA9, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF}
	for _, a := range edges {
		for _, b := range edges {
			for _, d := range edges {
				c.check(string([]byte{a, b, d}))
				if a >= 0xF0 {
					for _, e := range edges {
						c.check(string([]byte{a, b, d, e}))
					}
				}
			}
		}
	}

	// Random strings from pieces that each take a different path.
	pieces := []string{"a", "Z", "0", " ", "/", "\"", "\\", "<", ">", "&", "\b", "\f", "\n", "\r", "\t",
		"\x00", "\x1f", "\x7f", "é", "ß", "日", "語", "😀", "\u2027", "\u2028", "\u2029", "\u202a", "\ufffd",
		"\xff", "\xfe", "\x80", "\xbf", "\xc0", "\xc3", "\xe2", "\xe2\x80", "\xed\xa0\x80", "\xf0\x9f",
		"\xf4\x90\x80\x80", "abcdefghijklmnop", `{"k":"v"}`}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var sb strings.Builder
		n := rng.IntN(40)
		if rng.IntN(20) == 0 {
			n = rng.IntN(1000)
		}
		for range n {
			if rng.IntN(4) == 0 {
				sb.WriteByte(byte(rng.UintN(256)))
			} else {
				sb.WriteString(pieces[rng.IntN(len(pieces))])
			}
		}
		c.check(sb.String())
	}

	// CloudTrail records: as they come, one holding escapes of its own,
	// and with each escaped thing put at every position.
	c.check(ctRecord)
	c.check(nonASCIIText)
	nested, _ := json.Marshal(map[string]string{"errorMessage": "<a href=\"x\">&</a>\n\t\u2028", "bad": "\xff"})
	c.check(string(nested))
	for i := 0; i <= len(ctRecord); i++ {
		for _, p := range []string{"\"", "\\", "<", "\n", "\x01", "é", "\u2028", "\xff", "\xe2\x80"} {
			c.check(ctRecord[:i] + p + ctRecord[i:])
		}
	}
	t.Logf("%d strings checked", c.n)
}
