package event

import (
	"encoding/binary"
	"math/bits"
)

// Word-at-a-time byte search. JSON text is mostly runs of plain bytes
// inside strings; each function here tests eight of them at once with a
// few integer operations on a little-endian word, rather than one byte
// at a time. They share one trick: subtracting 0x01 (or 0x20) from every
// byte of a word sets the top bit of a byte that was zero (or below
// 0x20), and a subtraction borrows out of a byte only when it flags that
// byte, so the bytes below the lowest flagged one come out clear. Bytes
// above it may be flagged wrongly; callers look only at the lowest.
//
// The scanner uses special8 (skipPlain) to read strings, AppendString
// uses attention to write them, and stringEnd uses bytes8 to find where a
// string ends without reading its text.

const (
	ones = 0x0101010101010101
	tops = 0x8080808080808080
)

// special8 marks with its top bit each byte of x up to and including the
// first one (in memory order) that needs a look in a string being read: a
// quote, a backslash, a control character or a non-ASCII byte; 0 if none
// does.
func special8(x uint64) uint64 {
	return ((x - 0x20*ones) | ((x ^ '"'*ones) - ones) | ((x ^ '\\'*ones) - ones) | x) & tops
}

// attention sets the top bit of the lowest byte of x that AppendString
// does not copy as it is: what special8 marks, and the HTML-sensitive
// '<', '>' and '&' that json.Marshal escapes too. As special8, it may set
// top bits of bytes above that one, never of bytes below it; it is zero
// if all eight bytes are plain.
//
// The quote and the ampersand are tested at once, and so are the angle
// brackets: with a bit forced on, (x|0x04)^0x26 is zero for '"' (0x22)
// and '&' (0x26), and (x|0x02)^0x3E for '<' (0x3C) and '>' (0x3E).
func attention(x uint64) uint64 {
	quoteAmp := (x | 0x04*ones) ^ 0x26*ones
	angle := (x | 0x02*ones) ^ 0x3E*ones
	backslash := x ^ '\\'*ones
	low := (x - 0x20*ones) | (quoteAmp - ones) | (angle - ones) | (backslash - ones)
	return (x | low&^x) & tops
}

// bytes8 marks with its top bit each byte of x that is c, exactly: unlike
// the tests above it never borrows from one byte into the next, so every
// mark is right.
func bytes8(x uint64, c byte) uint64 {
	const low7 = 0x7f7f7f7f7f7f7f7f
	y := x ^ uint64(c)*ones // zero where x has c
	return ^((y&low7 + low7) | y | low7)
}

// load64 reads s[i:i+8] as a little-endian word: byte i is the low byte.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// skipPlain returns the offset of the first byte of b from i on that needs
// a look in a string (a quote, backslash, control character or non-ASCII
// byte), looking at eight bytes at a time; or, near the end of b, i.
func skipPlain(b []byte, i int) int {
	for i+8 <= len(b) {
		if t := special8(binary.LittleEndian.Uint64(b[i:])); t != 0 {
			return i + bits.TrailingZeros64(t)>>3
		}
		i += 8
	}
	return i
}

// stringEnd returns the offset just past the closing quote of the string
// whose text starts at b[i] (b[i-1] is its opening quote), or -1 if it
// has none, without reading the text: a quote closes the string unless an
// odd run of backslashes comes before it (a run never reaches past the
// opening quote).
//
// It looks closer only at quotes that may close the string: those after
// no backslash, or after two or more. The records in a LookupEvents answer
// are strings of mostly plain text with an escaped quote (one backslash)
// every dozen bytes or so.
func stringEnd(b []byte, i int) int {
	var prev uint64 // the backslashes of the eight bytes before i
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, bs := bytes8(x, '"'), bytes8(x, '\\')
		after1 := bs<<8 | prev>>56  // bytes after a backslash
		after2 := bs<<16 | prev>>48 // bytes two after one
		prev = bs
		for m := q &^ (after1 &^ after2); m != 0; m &= m - 1 {
			if j := i + bits.TrailingZeros64(m)>>3; closes(b, j) {
				return j + 1
			}
		}
	}
	for ; i < len(b); i++ {
		if b[i] == '"' && closes(b, i) {
			return i + 1
		}
	}
	return -1
}

// closes reports whether the quote at b[j], inside a string, closes it.
func closes(b []byte, j int) bool {
	k := j
	for b[k-1] == '\\' {
		k--
	}
	return (j-k)%2 == 0
}
