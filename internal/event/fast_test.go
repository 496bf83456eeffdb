package event

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestShortNameAsBefore checks ShortName against the strings.LastIndexAny
// it was written with.
func TestShortNameAsBefore(t *testing.T) {
	old := func(arn string) string {
		if i := strings.LastIndexAny(arn, "/:"); i >= 0 && i < len(arn)-1 {
			return arn[i+1:]
		}
		return arn
	}
	r := rand.New(rand.NewPCG(3, 4))
	parts := []string{"/", ":", "a", "é", "\xff", "::", "//", "arn:aws:s3:::", "x/"}
	for range 100000 {
		var b strings.Builder
		for range r.IntN(6) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		if s := b.String(); ShortName(s) != old(s) {
			t.Fatalf("ShortName(%q) = %q, before %q", s, ShortName(s), old(s))
		}
	}
}
