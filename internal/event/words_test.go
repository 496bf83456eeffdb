package event

import (
	"math/bits"
	"math/rand/v2"
	"testing"
)

// firstAttention is what attention promises, found one byte at a time:
// the index of the first byte of w strEscape does not say to copy, or 8.
func firstAttention(w [8]byte) int {
	for j, c := range w {
		if strEscape[c] != 0 {
			return j
		}
	}
	return 8
}

func checkAttention(t *testing.T, w [8]byte) {
	t.Helper()
	x := load64(string(w[:]), 0)
	want := firstAttention(w)
	m := attention(x)
	got := 8
	if m != 0 {
		got = bits.TrailingZeros64(m) / 8
	}
	if got != want || m&^0x8080808080808080 != 0 {
		t.Fatalf("attention(% x) = %#x: first byte %d, want %d", w, m, got, want)
	}
}

// TestAttention checks the word-at-a-time test against the table: every
// byte at every position among plain bytes, every pair of bytes next to each
// other (where a borrow out of one could reach the next), and random words.
func TestAttention(t *testing.T) {
	fills := []byte{'a', ' ', '!', '#', '$', '%', '\'', ';', '=', '?', '[', ']', 0x7F}
	for _, fill := range fills {
		for pos := range 8 {
			for c := range 256 {
				var w [8]byte
				for j := range w {
					w[j] = fill
				}
				w[pos] = byte(c)
				checkAttention(t, w)
			}
		}
	}
	for _, pos := range []int{0, 3, 6} {
		for c := range 1 << 16 {
			w := [8]byte{'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'}
			w[pos], w[pos+1] = byte(c), byte(c>>8)
			checkAttention(t, w)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		var w [8]byte
		for j := range w {
			// Mostly printable ASCII, so the first flagged byte is not
			// always the first byte.
			if rng.IntN(6) == 0 {
				w[j] = byte(rng.UintN(256))
			} else {
				w[j] = byte(0x20 + rng.UintN(0x60))
			}
		}
		checkAttention(t, w)
	}
}

func TestLoad64(t *testing.T) {
	if got := load64("xx\x01\x02\x03\x04\x05\x06\x07\x08", 2); got != 0x0807060504030201 {
		t.Errorf("load64 = %#x", got)
	}
}

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

// TestStringEnd checks the eight-bytes-at-a-time search for a string's
// closing quote against a byte loop, on random text dense in quotes and
// backslashes.
func TestStringEnd(t *testing.T) {
	naive := func(b []byte, i int) int {
		for ; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return -1
	}
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte{'a', '"', '\\', '\\', ' ', 0x00, 0x80, 0xff}
	for range 200000 {
		b := make([]byte, 1+r.IntN(40))
		b[0] = '"'
		for i := 1; i < len(b); i++ {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		if got, want := stringEnd(b, 1), naive(b, 1); got != want {
			t.Fatalf("stringEnd(%q) = %d, want %d", b, got, want)
		}
	}
}
