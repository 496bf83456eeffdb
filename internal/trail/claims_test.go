package trail

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/store"
)

// fakeClaims is an in-memory ClaimDocs: the two state document calls the
// ownership rules make, with the store's create-once rule (expectVersion 0
// on a present key is ErrExists). getErr, when set, fails every read.
type fakeClaims struct {
	mu     sync.Mutex
	docs   map[string]store.StateDoc
	puts   int
	getErr error
}

func newFakeClaims() *fakeClaims { return &fakeClaims{docs: map[string]store.StateDoc{}} }

func (f *fakeClaims) GetState(_ context.Context, key string) (store.StateDoc, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.getErr != nil {
		return store.StateDoc{}, f.getErr
	}
	d, ok := f.docs[key]
	if !ok {
		return store.StateDoc{}, store.ErrNotFound
	}
	return d, nil
}

func (f *fakeClaims) PutState(_ context.Context, key string, doc []byte, expectVersion int64) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts++
	d, ok := f.docs[key]
	switch {
	case expectVersion == 0 && ok:
		return 0, store.ErrExists
	case expectVersion != 0 && !ok:
		return 0, store.ErrNotFound
	case ok && d.Version != expectVersion:
		return 0, store.ErrConflict
	}
	f.docs[key] = store.StateDoc{Key: key, Doc: append([]byte(nil), doc...), Version: expectVersion + 1}
	return expectVersion + 1, nil
}

func (f *fakeClaims) DeleteState(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.docs, key)
	return nil
}

// noTrails is a TrailSource with no trails: only claims decide.
type noTrails struct{}

func (noTrails) All(context.Context) ([]*Trail, error) { return nil, nil }

// claimsConfig has two accounts (with one, every bucket is its own) and
// no listed buckets.
func claimsConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Accounts = []config.Account{{ID: "111111111111"}, {ID: "222222222222"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// wantCode checks that err is the CloudTrail error code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ae *awsproto.Error
	if !errors.As(err, &ae) || string(ae.Code) != code {
		t.Fatalf("%s: %v, want %s", what, err, code)
	}
}

// TestOwnersBucketClaims: the first account to use an unlisted bucket claims
// it in the state documents; every node (an Owners on the same documents)
// then refuses it to another account, and a claim stored first by another
// node stands.
func TestOwnersBucketClaims(t *testing.T) {
	ctx := context.Background()
	cfg := claimsConfig(t)
	docs := newFakeClaims()
	node1, node2 := NewOwners(ownersOf(cfg), docs, noTrails{}), NewOwners(ownersOf(cfg), docs, noTrails{})

	if err := node1.CheckBucket(ctx, "logs", "222222222222", false); err != nil {
		t.Fatalf("unclaimed bucket refused: %v", err)
	}
	if _, err := node1.ClaimBucket(ctx, "logs", "111111111111", false); err != nil {
		t.Fatalf("claim: %v", err)
	}
	if _, ok := docs.docs[bucketOwnerPrefix+"logs"]; !ok {
		t.Fatalf("claim not kept in the state documents: %v", docs.docs)
	}
	if err := node1.CheckBucket(ctx, "logs", "111111111111", false); err != nil {
		t.Fatalf("owner refused its own bucket: %v", err)
	}
	wantCode(t, "another account on the claiming node", node1.CheckBucket(ctx, "logs", "222222222222", false),
		"InsufficientS3BucketPolicyException")
	_, err := node2.ClaimBucket(ctx, "logs", "222222222222", false)
	wantCode(t, "another account's claim on another node", err,
		"InsufficientS3BucketPolicyException")
	if docs.puts != 1 {
		t.Fatalf("claims written: %d, want 1 (a claimed bucket is not claimed again)", docs.puts)
	}
}

// TestOwnersClaimRace: when another node stores its claim between this
// node's read and its write, the claim stored first stands.
func TestOwnersClaimRace(t *testing.T) {
	ctx := context.Background()
	cfg := claimsConfig(t)
	docs := &racingClaims{fakeClaims: newFakeClaims(), first: `{"Account":"111111111111"}`}
	o := NewOwners(ownersOf(cfg), docs, noTrails{})
	_, err := o.ClaimBucket(ctx, "logs", "222222222222", false)
	wantCode(t, "the account that lost the race", err,
		"InsufficientS3BucketPolicyException")
	if err := o.CheckBucket(ctx, "logs", "111111111111", false); err != nil {
		t.Fatalf("the winner refused: %v", err)
	}
}

// racingClaims stores another node's claim (first) just before the first
// PutState, as a node that claimed the same bucket a moment earlier would.
type racingClaims struct {
	*fakeClaims
	first string
	once  sync.Once
}

func (r *racingClaims) PutState(ctx context.Context, key string, doc []byte, expectVersion int64) (int64, error) {
	r.once.Do(func() {
		r.mu.Lock()
		r.docs[key] = store.StateDoc{Key: key, Doc: []byte(r.first), Version: 1}
		r.mu.Unlock()
	})
	return r.fakeClaims.PutState(ctx, key, doc, expectVersion)
}

// TestOwnersClaimsUnreadable: a claim that cannot be read is an error, not
// a bucket anyone may use.
func TestOwnersClaimsUnreadable(t *testing.T) {
	ctx := context.Background()
	docs := newFakeClaims()
	docs.getErr = errors.New("database down")
	o := NewOwners(ownersOf(claimsConfig(t)), docs, noTrails{})
	err := o.CheckBucket(ctx, "logs", "222222222222", false)
	if err == nil || !errors.Is(err, docs.getErr) {
		t.Fatalf("CheckBucket with unreadable claims: %v, want the read error", err)
	}
	var ae *awsproto.Error
	if errors.As(err, &ae) {
		t.Fatalf("a store failure answered as a policy error: %v", err)
	}
	if docs.puts != 0 {
		t.Fatalf("claimed a bucket whose claim could not be read")
	}
}
