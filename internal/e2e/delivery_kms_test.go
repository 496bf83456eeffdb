package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// TestDeliveryKMSDirectoryBucket: a trail with a KmsKeyId that delivers to
// a directory bucket seals its log files (no plain record in the bucket),
// `cairn decrypt` opens them with the key material the server kept, and
// `cairn verify` validates the chain with it (and fails without it).
func TestDeliveryKMSDirectoryBucket(t *testing.T) {
	t.Parallel()
	const keyARN = "arn:aws:kms:us-east-1:111111111111:key/6f1c2a3b-1111-2222-3333-444455556666"
	srv := Start(t, Options{Config: dlConfig(`
kms_keys:
  - {arn: "` + keyARN + `", account: "111111111111"}
`)})
	dir := dlMkBucket(t, srv, "sealed-logs")
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	arn := dlTrail(t, c, "sealed", "sealed-logs", dlAll(dlValidation, func(in *cloudtrail.CreateTrailInput) {
		in.KmsKeyId = aws.String("6f1c2a3b-1111-2222-3333-444455556666")
	}))
	got, err := c.GetTrail(context.Background(), &cloudtrail.GetTrailInput{Name: aws.String(arn)})
	if err != nil || aws.ToString(got.Trail.KmsKeyId) != keyARN {
		t.Fatalf("KmsKeyId: %+v %v", got, err)
	}
	start := time.Now().Add(-time.Minute)
	ids := dlIngest(t, srv, dlEvent("SealedOne", "s3.amazonaws.com", "us-east-1", Account1, nil),
		dlEvent("SealedTwo", "s3.amazonaws.com", "us-east-1", Account1, nil))

	// Wait for a sealed log file holding the events, then for a digest after it.
	var logs []string
	if !dlPoll(time.Minute, func() bool {
		logs = nil
		filepath.Walk(filepath.Join(dir, "AWSLogs"), func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() && strings.Contains(p, "/CloudTrail/") {
				logs = append(logs, p)
			}
			return nil
		})
		if len(logs) == 0 {
			return false
		}
		var all strings.Builder
		for _, p := range logs {
			res := runCommand(t, nil, Binary(t), "decrypt", "--data-dir", srv.DataDir, p)
			all.WriteString(res.stdout)
		}
		return strings.Contains(all.String(), ids[0]) && strings.Contains(all.String(), ids[1])
	}) {
		t.Fatalf("the events never appeared in decrypted log files %v", logs)
	}
	for _, p := range logs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "CAIRN-ENVELOPE-1\n") || strings.Contains(string(b), "eventName") {
			t.Fatalf("%s is not sealed", p)
		}
		res := runCommand(t, nil, Binary(t), "decrypt", "--data-dir", srv.DataDir, p)
		var file struct{ Records []map[string]any }
		if res.code != 0 || json.Unmarshal([]byte(res.stdout), &file) != nil || len(file.Records) == 0 {
			t.Fatalf("cairn decrypt %s: exit %d, %.200s %s", p, res.code, res.stdout, res.stderr)
		}
	}
	// Without the key material nothing opens.
	if res := runCommand(t, nil, Binary(t), "decrypt", "--data-dir", t.TempDir(), logs[0]); res.code == 0 {
		t.Fatal("cairn decrypt opened a file without the key material")
	}

	if !dlPoll(time.Minute, func() bool {
		s := dlStatus(t, srv, "us-east-1", arn)
		return s.LatestDigestDeliveryTime != nil && s.LatestDeliveryTime != nil && s.LatestDigestDeliveryTime.After(*s.LatestDeliveryTime)
	}) {
		t.Fatal("no digest after the last delivery")
	}
	verify := func(extra ...string) cliResult {
		return dlVerify(t, append([]string{"--endpoint", srv.URL, "--trail-arn", arn, "--start-time",
			start.UTC().Format(time.RFC3339), "--bucket-dir", dir}, extra...)...)
	}
	if res := verify("--data-dir", srv.DataDir); res.code != 0 {
		t.Fatalf("cairn verify with the key material: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if res := verify("--data-dir", t.TempDir()); res.code == 0 {
		t.Fatalf("cairn verify passed sealed files it could not open:\n%s", res.stdout)
	}
}
