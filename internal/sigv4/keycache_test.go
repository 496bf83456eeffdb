package sigv4

import (
	"bytes"
	"fmt"
	"testing"
)

// TestSigningKeyCache: a kept key is the derived one, for every scope, also
// once the cache has started over.
func TestSigningKeyCache(t *testing.T) {
	for i := range maxCachedKeys + 10 {
		region := fmt.Sprintf("region-%d", i%(maxCachedKeys+3))
		for range 2 {
			got := signingKey("secret", "20261126", region, "cloudtrail")
			if want := deriveSigningKey("secret", "20261126", region, "cloudtrail"); !bytes.Equal(got, want) {
				t.Fatalf("key for %s differs from the derived one", region)
			}
		}
	}
	a := signingKey("secret-a", "20261126", "us-east-1", "cloudtrail")
	b := signingKey("secret-b", "20261126", "us-east-1", "cloudtrail")
	if bytes.Equal(a, b) {
		t.Error("two secrets share a key")
	}
}
