package trail

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/digest"
)

// TestValidatePrefix checks CloudTrail's limit and the confinement rules:
// a prefix never reaches into AWSLogs/… nor escapes.
func TestValidatePrefix(t *testing.T) {
	for _, p := range []string{"", "team/audit", "CloudTrail", "my.prefix-1", "logs.awslogs", "AWSLogs-archive", "é/ü", strings.Repeat("p", 200)} {
		if err := ValidatePrefix(p); err != nil {
			t.Errorf("ValidatePrefix(%q) = %v, want nil", p, err)
		}
	}
	for _, p := range []string{
		"AWSLogs", "awslogs", "x/AwSlOgS/y", "AWSLogs/o-a1b2c3d4e5/111111111111/CloudTrail-Digest/us-east-1",
		"awslogſ", // folds to awslogs
		".cairn-meta", "x/.Cairn-tmp", "/a", "a/", "a//b", "/", ".", "..", "a/./b", "a/../b",
		`a\b`, "a\x00b", "a\x7fb", "a\nb", "\xff", strings.Repeat("p", 201),
	} {
		err := ValidatePrefix(p)
		var ae *awsproto.Error
		if !errors.As(err, &ae) || ae.Code != "InvalidS3PrefixException" {
			t.Errorf("ValidatePrefix(%q) = %v, want InvalidS3PrefixException", p, err)
		}
	}
}

// FuzzPrefixConfined checks that every accepted prefix puts a trail's
// files under exactly one AWSLogs segment, the one CloudTrail adds, with no
// "." or ".." segment: two trails with different prefixes never share a
// folder under AWSLogs, and none reaches outside the bucket.
func FuzzPrefixConfined(f *testing.F) {
	for _, s := range []string{"a", "team/audit", "AWSLogs", "a/../b", "x/AWSLogs/111111111111"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if ValidatePrefix(p) != nil {
			return
		}
		for _, key := range []string{
			digest.LogKey(p, "o-a1b2c3d4e5", "111111111111", "us-east-1", time.Unix(0, 0), "0123456789abcdef"),
			digest.DigestKey(p, "", "111111111111", "us-east-1", "trail", "us-east-1", time.Unix(0, 0)),
		} {
			n := 0
			for _, seg := range strings.Split(key, "/") {
				switch {
				case strings.EqualFold(seg, "AWSLogs"):
					n++
				case seg == "", seg == ".", seg == "..":
					t.Fatalf("prefix %q: key %q has segment %q", p, key, seg)
				}
			}
			if n != 1 {
				t.Fatalf("prefix %q: key %q has %d AWSLogs segments", p, key, n)
			}
		}
	})
}
