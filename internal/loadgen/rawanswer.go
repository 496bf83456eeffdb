package loadgen

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cairn-audit/cairn/internal/event"
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
		if i, err = event.SkipValue(b, ks, 0); err != nil {
			return 0, "", answerErr(b, ks, "member name: %v", err)
		}
		name := b[ks+1 : i-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			s, err := event.Unquote(b[ks:i])
			if err != nil {
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
			at := i
			if i, err = event.SkipValue(b, at, maxNesting-1); err != nil {
				return 0, "", answerErr(b, at, "%v", err)
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
		at := i
		var err error
		if i, err = event.SkipValue(b, at, maxNesting-2); err != nil {
			return 0, 0, answerErr(b, at, "event %d: %v", n, err)
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
	end, err := event.SkipValue(b, i, 0)
	if err != nil {
		return 0, "", answerErr(b, i, "NextToken: %v", err)
	}
	s, err := event.Unquote(b[i:end])
	if err != nil {
		return 0, "", answerErr(b, i, "NextToken: %v", err)
	}
	return end, s, nil
}

// maxNesting bounds how deep the scan follows containers, the answer
// itself counted: the events of a LookupEvents answer nest three deep
// (event, Resources, resource) inside its Events list.
const maxNesting = 64

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
