package delivery

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/store/sqlite"
)

// TestKeysRotate: a region's key signs for KeyValidity, then the next one
// takes over; both stay listed for the times they covered, in each region
// apart, and a restart finds the same keys.
func TestKeysRotate(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k := NewKeys(st, "aws")
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	first, err := k.At(ctx, "us-east-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(first.PublicDER)
	if first.Fingerprint != hex.EncodeToString(sum[:]) || !first.ValidFrom.Equal(t0) || !first.ValidTo.Equal(t0.Add(KeyValidity)) {
		t.Fatalf("first key: %s %v %v", first.Fingerprint, first.ValidFrom, first.ValidTo)
	}
	same, err := k.At(ctx, "us-east-1", t0.Add(KeyValidity-time.Second))
	if err != nil || same.Fingerprint != first.Fingerprint {
		t.Fatalf("inside its validity another key signs: %v", err)
	}
	next, err := k.At(ctx, "us-east-1", t0.Add(KeyValidity+time.Hour))
	if err != nil || next.Fingerprint == first.Fingerprint {
		t.Fatalf("no rotation after the validity: %v", err)
	}
	other, err := k.At(ctx, "eu-west-1", t0)
	if err != nil || other.Fingerprint == first.Fingerprint {
		t.Fatalf("regions share a key: %v", err)
	}
	both, err := k.Public(ctx, "us-east-1", t0, t0.Add(KeyValidity+2*time.Hour))
	if err != nil || len(both) != 2 {
		t.Fatalf("keys over both periods: %d, %v", len(both), err)
	}
	only, err := k.Public(ctx, "us-east-1", t0.Add(time.Hour), t0.Add(2*time.Hour))
	if err != nil || len(only) != 1 || only[0].Fingerprint != first.Fingerprint {
		t.Fatalf("keys of the first period: %+v, %v", only, err)
	}
	st.Close()
	st, err = sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	again, err := NewKeys(st, "aws").At(ctx, "us-east-1", t0.Add(time.Minute))
	if err != nil || again.Fingerprint != first.Fingerprint {
		t.Fatalf("after a restart another key signs: %v", err)
	}
}
