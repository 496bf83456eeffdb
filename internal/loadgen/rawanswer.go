package loadgen

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
)

// scanAnswer reads what the http client needs of a LookupEvents answer:
// how many events its Events list holds, and its NextToken ("" for none).
//
// b must be one JSON object, and nothing but whitespace after it, with
// exactly one Events member, an array of objects, and at most one
// NextToken, a string or null. All of its syntax is checked but the text
// inside strings: a string ends at the first quote that no backslash
// escapes, and its escapes, control characters and UTF-8 are not looked
// at (the records in an answer are most of its bytes, and all of them are
// strings). An answer cut short, or with a bracket, quote, comma or colon
// missing or out of place, is an error.
func scanAnswer(b []byte) (events int, next string, err error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return 0, "", errors.New("answer is not a JSON object")
	}
	i++
	haveEvents, haveNext := false, false
	for first := true; ; first = false {
		if i = skipSpace(b, i); i < len(b) && b[i] == '}' && first {
			i++
			break
		}
		if i >= len(b) || b[i] != '"' {
			return 0, "", answerErr(b, i, "want a member name")
		}
		ks := i
		if i = stringEnd(b, i+1); i < 0 {
			return 0, "", unclosed(b, ks)
		}
		name := b[ks+1 : i-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			var s string
			if err := json.Unmarshal(b[ks:i], &s); err != nil {
				return 0, "", answerErr(b, ks, "member name: %v", err)
			}
			name = []byte(s)
		}
		if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
			return 0, "", answerErr(b, i, "want ':' after a member name")
		}
		i = skipSpace(b, i+1)
		switch string(name) {
		case "Events":
			if haveEvents {
				return 0, "", answerErr(b, ks, "a second Events member")
			}
			haveEvents = true
			if i, events, err = scanEvents(b, i); err != nil {
				return 0, "", err
			}
		case "NextToken":
			if haveNext {
				return 0, "", answerErr(b, ks, "a second NextToken member")
			}
			haveNext = true
			if i, next, err = scanToken(b, i); err != nil {
				return 0, "", err
			}
		default:
			if i, err = valueEnd(b, i, 1); err != nil {
				return 0, "", err
			}
		}
		if i = skipSpace(b, i); i >= len(b) {
			return 0, "", answerErr(b, i, "the object is not closed")
		}
		if b[i] == '}' {
			i++
			break
		}
		if b[i] != ',' {
			return 0, "", answerErr(b, i, "want ',' or '}' after a member")
		}
		i++
	}
	if i = skipSpace(b, i); i != len(b) {
		return 0, "", answerErr(b, i, "data after the object")
	}
	if !haveEvents {
		return 0, "", errors.New("answer has no Events")
	}
	return events, next, nil
}

// scanEvents counts the elements of the Events array that starts at b[i],
// each an object, and returns the offset just past the array.
func scanEvents(b []byte, i int) (int, int, error) {
	if i >= len(b) || b[i] != '[' {
		return 0, 0, answerErr(b, i, "Events is not a JSON array")
	}
	i++
	n := 0
	for {
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ']' && n == 0 {
			return i + 1, 0, nil
		}
		if i >= len(b) || b[i] != '{' {
			return 0, 0, answerErr(b, i, "event %d is not a JSON object", n)
		}
		var err error
		if i, err = valueEnd(b, i, 2); err != nil {
			return 0, 0, err
		}
		n++
		if i = skipSpace(b, i); i >= len(b) {
			return 0, 0, answerErr(b, i, "Events is not closed")
		}
		switch b[i] {
		case ']':
			return i + 1, n, nil
		case ',':
			i++
		default:
			return 0, 0, answerErr(b, i, "want ',' or ']' after event %d", n-1)
		}
	}
}

// scanToken reads the NextToken value at b[i]: a string, or null for none.
func scanToken(b []byte, i int) (int, string, error) {
	if bytes.HasPrefix(b[i:], []byte("null")) {
		return i + 4, "", nil
	}
	if i >= len(b) || b[i] != '"' {
		return 0, "", answerErr(b, i, "NextToken is not a string")
	}
	end := stringEnd(b, i+1)
	if end < 0 {
		return 0, "", unclosed(b, i)
	}
	q := b[i:end]
	if bytes.IndexByte(q, '\\') < 0 {
		return end, string(q[1 : len(q)-1]), nil
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return 0, "", answerErr(b, i, "NextToken: %v", err)
	}
	return end, s, nil
}

// maxNesting bounds how deep valueEnd follows containers: the events of a
// LookupEvents answer nest three deep (event, Resources, resource).
const maxNesting = 64

// valueEnd returns the offset just past the JSON value that starts at b[i],
// depth containers deep. Everything but the text of strings is checked:
// string names, ':' and ',' in their places, brackets that pair up,
// literals and numbers.
func valueEnd(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, answerErr(b, i, "want a value")
	}
	switch c := b[i]; c {
	case '"':
		if end := stringEnd(b, i+1); end >= 0 {
			return end, nil
		}
		return 0, unclosed(b, i)
	case '{', '[':
		if depth == maxNesting {
			return 0, answerErr(b, i, "nested more than %d deep", maxNesting)
		}
		closer := c + 2 // '}' or ']'
		i++
		for first := true; ; first = false {
			if i = skipSpace(b, i); i < len(b) && b[i] == closer && first {
				return i + 1, nil
			}
			var err error
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return 0, answerErr(b, i, "want a member name")
				}
				at := i
				if i = stringEnd(b, i+1); i < 0 {
					return 0, unclosed(b, at)
				}
				if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
					return 0, answerErr(b, i, "want ':' after a member name")
				}
				i = skipSpace(b, i+1)
			}
			if i, err = valueEnd(b, i, depth+1); err != nil {
				return 0, err
			}
			if i = skipSpace(b, i); i >= len(b) {
				return 0, answerErr(b, i, "a container is not closed")
			}
			if b[i] == closer {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, answerErr(b, i, "want ',' or %q", closer)
			}
			i++
		}
	case 't':
		return literalEnd(b, i, "true")
	case 'f':
		return literalEnd(b, i, "false")
	case 'n':
		return literalEnd(b, i, "null")
	}
	return numberEnd(b, i)
}

func literalEnd(b []byte, i int, lit string) (int, error) {
	if !bytes.HasPrefix(b[i:], []byte(lit)) {
		return 0, answerErr(b, i, "want a value")
	}
	return i + len(lit), nil
}

// numberEnd returns the offset just past the JSON number at b[i].
func numberEnd(b []byte, i int) (int, error) {
	start := i
	digits := func() int {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return 0, answerErr(b, start, "want a value")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return 0, answerErr(b, start, "bad number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0, answerErr(b, start, "bad number")
		}
	}
	return i, nil
}

// stringEnd returns the offset just past the closing quote of the string
// whose text starts at b[i] (b[i-1] is its opening quote), or -1 if it
// has none. A quote closes the string unless an odd run of backslashes
// comes before it; a run never reaches past the opening quote.
//
// The search looks at eight bytes at a time, and looks closer only at
// quotes that may close the string: those after no backslash, or after
// two or more. The records in an answer are strings of mostly plain text with an
// escaped quote (one backslash) every dozen bytes or so.
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

// unclosed is the error of the string that starts at b[i] and has no end.
func unclosed(b []byte, i int) error { return answerErr(b, i, "a string is not closed") }

// closes reports whether the quote at b[j], inside a string, closes it.
func closes(b []byte, j int) bool {
	k := j
	for b[k-1] == '\\' {
		k--
	}
	return (j-k)%2 == 0
}

// bytes8 marks with its top bit each byte of x that is c, exactly (no
// borrow from one byte reaches another).
func bytes8(x uint64, c byte) uint64 {
	const low7 = 0x7f7f7f7f7f7f7f7f
	y := x ^ uint64(c)*0x0101010101010101 // zero where x has c
	return ^((y&low7 + low7) | y | low7)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// answerErr describes what is wrong at offset i of an answer.
func answerErr(b []byte, i int, format string, args ...any) error {
	return fmt.Errorf("answer at offset %d of %d: %s", i, len(b), fmt.Sprintf(format, args...))
}
