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
