package event

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestSkipPlain checks the eight-bytes-at-a-time scan against a byte loop:
// every byte skipped is plain, and it stops at a byte that is not, or
// fewer than eight bytes before the end.
func TestSkipPlain(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{'a', ' ', '~', 0x7f, 0x80, 0xff, '"', '\\', 0x00, 0x1f, 0x21, 0x5b, 0x5d, 0x23, 0x01, 0x20}
	for range 200000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[i] = byte(r.IntN(256))
			}
		}
		i := 0
		if len(b) > 0 {
			i = r.IntN(len(b) + 1)
		}
		got := skipPlain(b, i)
		if got < i || got > len(b) {
			t.Fatalf("skipPlain(%q, %d) = %d", b, i, got)
		}
		for j := i; j < got; j++ {
			if !plain(b[j]) {
				t.Fatalf("skipPlain(%q, %d) = %d skips %q at %d", b, i, got, b[j], j)
			}
		}
		if got+8 <= len(b) && plain(b[got]) {
			t.Fatalf("skipPlain(%q, %d) = %d stops at a plain byte", b, i, got)
		}
	}
}

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
