package event

import (
	"bytes"
	"encoding/json"
	"math/bits"
	"slices"
	"unicode/utf8"
)

// JSON strings: reading one's text (Unquote) and writing one as
// json.Marshal does (AppendString). Records are written by the decoder,
// and a LookupEvents answer carries whole records as strings, so both are
// on the hot paths.

// Unquote returns the text of the JSON string q (quotes included): its
// bytes as they are when it has no escape (the common case, without a
// decoder), else as encoding/json reads it.
func Unquote(q []byte) (string, error) {
	inner := q[1 : len(q)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), nil
	}
	var s string
	err := json.Unmarshal(q, &s)
	return s, err
}

// textIs reports whether the JSON string q has the text s.
func textIs(q []byte, s string) bool {
	if len(q) < 2 || q[0] != '"' {
		return false
	}
	inner := q[1 : len(q)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == s
	}
	t, _ := Unquote(q)
	return t == s
}

// appendName writes a member name as a JSON string, as AppendString
// does: as it is when it needs no escaping (every CloudTrail field name).
func appendName(out []byte, k []byte) []byte {
	for _, c := range k {
		if strEscape[c] != 0 {
			return AppendString(out, string(k))
		}
	}
	out = append(out, '"')
	out = append(out, k...)
	return append(out, '"')
}

// AppendString appends s as a JSON string exactly as json.Marshal writes
// it: HTML-sensitive characters, control characters, U+2028 and U+2029
// escaped, invalid UTF-8 replaced by U+FFFD.
//
// It is on the path of every LookupEvents answer, whose events each carry a
// whole CloudTrail record (compact JSON, a quote every few bytes) as a
// string. So it grows b once, skips plain bytes eight at a time, copies each
// run of them with one append, and tells what a byte needs from a table.
func AppendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	// Records need about one escape in ten bytes.
	b = slices.Grow(b, len(s)+len(s)/8+2)
	b = append(b, '"')
	start, i := 0, 0
	for {
		// Skip plain bytes. Eight at a time only once the run has begun:
		// escapes come in a row often enough (\" in a record that holds
		// JSON text) that testing a word for each costs more than it saves.
		if i < len(s) && strEscape[s[i]] == 0 {
			i++
			for i+8 <= len(s) {
				if m := attention(load64(s, i)); m != 0 {
					i += bits.TrailingZeros64(m) / 8
					break
				}
				i += 8
			}
		}
		for i < len(s) && strEscape[s[i]] == 0 {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		e := strEscape[c]
		if e > escHex { // the common case: '"'
			b = append(b, s[start:i]...)
			b = append(b, '\\', e)
			i++
			start = i
			continue
		}
		if e == escHex {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			i++
			start = i
			continue
		}
		// Bytes of 0x80 and above, up to the next ASCII byte: UTF-8 is
		// copied, but for U+2028 and U+2029, and any other byte becomes
		// U+FFFD. The lead bytes that any continuation bytes make valid
		// (C2..DF, E1..EC, EE, EF) are tested here; the rest (E0 and ED
		// take a narrower second byte, F0..F4 a narrower one and three
		// more) and bytes that lead nothing are left to utf8.
		for {
			if c := s[i]; 0xC2 <= c && c <= 0xDF && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
				i += 2 // U+0080..U+07FF
			} else if 0xE1 <= c && c <= 0xEF && c != 0xED && i+2 < len(s) &&
				s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80 &&
				(c != 0xE2 || s[i+1] != 0x80 || s[i+2]&^1 != 0xA8) {
				i += 3 // U+1000..U+FFFF but U+D000..U+DFFF, U+2028, U+2029
			} else {
				r, size := utf8.DecodeRuneInString(s[i:])
				if size == 1 || r == '\u2028' || r == '\u2029' {
					b = append(b, s[start:i]...)
					if size == 1 {
						b = append(b, `\ufffd`...)
					} else {
						b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
					}
					start = i + size
				}
				i += size
			}
			if i == len(s) || s[i] < utf8.RuneSelf {
				break
			}
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// What strEscape says of the bytes that are not copied as they are and not
// written as a backslash and a letter.
const (
	escMulti = 1 // 0x80 and above: the first of a multi-byte rune, or not UTF-8
	escHex   = 2 // written as \u00XX
)

// strEscape says what AppendString does with each byte: 0 copies it; '"',
// '\\', 'b', 'f', 'n', 'r' and 't' write that letter after a backslash;
// escHex and escMulti are as they say. json.Marshal escapes the control
// characters, '"', '\\', and the HTML-sensitive '<', '>' and '&'; DEL
// (0x7F) it copies.
var strEscape = func() (t [256]byte) {
	for c := range 0x20 {
		t[c] = escHex
	}
	t['\b'], t['\f'], t['\n'], t['\r'], t['\t'] = 'b', 'f', 'n', 'r', 't'
	t['"'], t['\\'] = '"', '\\'
	t['<'], t['>'], t['&'] = escHex, escHex, escHex
	for c := utf8.RuneSelf; c < len(t); c++ {
		t[c] = escMulti
	}
	return t
}()
