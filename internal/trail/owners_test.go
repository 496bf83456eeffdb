package trail

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/sqlite"
)

// TestOwnersTrailsBeforeClaims: trails stored without claims (by an older
// version, or while one account was configured) decide who owns their
// unlisted buckets — the earliest-created trail's account, over a claim
// another account made later — and ClaimNamedBuckets records that, so the
// buckets stay theirs after the trails are deleted.
func TestOwnersTrailsBeforeClaims(t *testing.T) {
	ctx := context.Background()
	const alice, bob = "111111111111", "222222222222"
	cfg := config.Default()
	cfg.Accounts = []config.Account{{ID: alice}, {ID: bob}}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(account, name, bucket string, created time.Time) {
		t.Helper()
		tr := &Trail{Account: account, HomeRegion: "us-east-1", Name: name, ARN: ARN("aws", "us-east-1", account, name),
			S3BucketName: bucket, Created: created}
		doc, _ := json.Marshal(tr)
		if _, err := st.PutTrail(ctx, store.TrailRow{ARN: tr.ARN, Account: account, Region: tr.HomeRegion, Name: name, Doc: doc}, 0); err != nil {
			t.Fatal(err)
		}
	}
	put(alice, "first", "shared-logs", t0)
	put(bob, "later", "shared-logs", t0.Add(time.Hour))
	put(alice, "old", "old-logs", t0)
	// A claim bob made while Alice's trail had none (a CreateTrail of his
	// that failed after claiming).
	doc, _ := json.Marshal(bucketClaim{Account: bob})
	if _, err := st.PutState(ctx, bucketOwnerPrefix+"old-logs", doc, 0); err != nil {
		t.Fatal(err)
	}

	check := func(o *Owners, bucket, account string, allowed bool) {
		t.Helper()
		err := o.CheckBucket(ctx, bucket, account, false)
		if (err == nil) != allowed {
			t.Errorf("account %s in %s: %v, want allowed %v", account, bucket, err, allowed)
		}
	}
	o := NewOwners(ownersOf(cfg), st, NewService(st, optionsOf(cfg), nil))
	for _, b := range []string{"shared-logs", "old-logs"} {
		check(o, b, alice, true)
		check(o, b, bob, false)
	}
	check(o, "free-logs", bob, true)
	if err := o.ClaimNamedBuckets(ctx); err != nil {
		t.Fatal(err)
	}
	for _, arn := range []string{ARN("aws", "us-east-1", alice, "first"), ARN("aws", "us-east-1", bob, "later"), ARN("aws", "us-east-1", alice, "old")} {
		if err := st.DeleteTrail(ctx, arn); err != nil {
			t.Fatal(err)
		}
	}
	o = NewOwners(ownersOf(cfg), st, NewService(st, optionsOf(cfg), nil))
	for _, b := range []string{"shared-logs", "old-logs"} {
		check(o, b, alice, true)
		check(o, b, bob, false)
	}
	check(o, "free-logs", bob, true)
}
