package delivery

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store/sqlite"
	"github.com/cairn-audit/cairn/internal/trail"
)

// TestDeliveryChecksOwners: a trail stored before the ownership rules (or
// before the config changed) that names another account's bucket or key, or
// a prefix that reaches into AWSLogs/…, writes nothing, and says why in its
// own LatestDeliveryError; a trail beside it delivers as usual.
func TestDeliveryChecksOwners(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Regions = []string{"us-east-1"}
	cfg.Delivery.FlushInterval = config.Duration{Duration: time.Second}
	cfg.Accounts = []config.Account{{ID: "111111111111"}, {ID: "222222222222"}}
	ones := filepath.Join(dir, "one")
	shared := filepath.Join(dir, "shared")
	cfg.Buckets = []config.Bucket{{Name: "one-bucket", URL: "file://" + ones, Account: "111111111111"},
		{Name: "shared-bucket", URL: "file://" + shared, Account: "111111111111", Writers: []string{"222222222222"}}}
	keyARN := "arn:aws:kms:us-east-1:111111111111:key/0a0a0a0a-1111-2222-3333-444455556666"
	cfg.KMSKeys = []config.KMSKey{{ARN: keyARN, Account: "111111111111"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var evs []*event.Event
	for _, acct := range []string{"111111111111", "222222222222"} {
		e, err := event.Decode([]byte(fmt.Sprintf(`{"eventTime":"2026-11-26T09:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"E","awsRegion":"us-east-1","recipientAccountId":%q}`, acct)),
			event.Context{Account: acct})
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	if _, err := st.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	tr := func(account, name, bucket, prefix, key string) *trail.Trail {
		return &trail.Trail{ID: name, Account: account, HomeRegion: "us-east-1", Name: name,
			ARN: trail.ARN("aws", "us-east-1", account, name), S3BucketName: bucket, S3KeyPrefix: prefix, KmsKeyId: key,
			IsLogging: true, LoggingEpoch: 1}
	}
	good := tr("111111111111", "good", "one-bucket", "", "")
	bad := map[string]*trail.Trail{
		"InsufficientS3BucketPolicyException": tr("222222222222", "intruder", "one-bucket", "", ""),
		"InvalidS3PrefixException":            tr("111111111111", "reacher", "one-bucket", "AWSLogs/o-a1b2c3d4e5/111111111111", ""),
		// It may write to the shared bucket: only the key is not its own.
		"InsufficientEncryptionPolicyException": tr("222222222222", "keythief", "shared-bucket", "", keyARN),
	}
	trails := trailList{good}
	for _, b := range bad {
		trails = append(trails, b)
	}
	e := New(st, trails, resolverOf(cfg), optionsOf(cfg, ""))
	now := time.Now()
	for i := range 3 {
		e.now = func() time.Time { return now.Add(time.Duration(i) * 10 * time.Second) }
		e.RunOnce(ctx)
	}
	var keys []string
	for _, root := range []string{ones, shared} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && !strings.Contains(p, ".cairn-") {
				rel, _ := filepath.Rel(dir, p)
				keys = append(keys, filepath.ToSlash(rel))
			}
			return nil
		})
	}
	if len(keys) != 1 || !strings.HasPrefix(keys[0], "one/AWSLogs/111111111111/CloudTrail/us-east-1/") {
		t.Errorf("objects written: %v, want the good trail's one log file", keys)
	}
	for code, b := range bad {
		s, err := e.DeliveryStatus(ctx, b, "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s.LatestDeliveryError, code) {
			t.Errorf("trail %s: LatestDeliveryError %q, want %s", b.Name, s.LatestDeliveryError, code)
		}
	}
	if s, _ := e.DeliveryStatus(ctx, good, "us-east-1"); s.LatestDeliveryError != "" || s.LatestDeliveryTime.IsZero() {
		t.Errorf("good trail: LatestDeliveryError %q, LatestDeliveryTime %v", s.LatestDeliveryError, s.LatestDeliveryTime)
	}
}
