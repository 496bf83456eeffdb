package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// The ingest path reads every byte of every record; encoding/json's
// validate-then-decode and Compact would read it five times. This scanner
// checks a whole JSON value (syntax and UTF-8) in one pass while splitting an
// object into its members or an array into its elements. It is Cairn's one
// JSON scanner: Decode and ReadView read records with it, the ingest API
// splits a batch with it (OnlyRecords, Members, SplitArray), and the load
// generator skips through LookupEvents answers with it (SkipValue).

// maxDepth bounds nesting, so a hostile record cannot exhaust the stack.
const maxDepth = 256

type scanner struct {
	b      []byte
	i      int
	depth  int
	ws     bool // whitespace seen inside the current value (outside strings)
	esc    bool // an escape seen in a string
	anyEsc bool // an escape seen in any string since the scanner began
	// lax leaves the text of strings unchecked: a string ends at the
	// first quote no backslash escapes (see SkipValue).
	lax bool
	// anyUTF8 takes invalid UTF-8 in strings, as encoding/json does (see
	// WalkObject).
	anyUTF8 bool
}

// skimValue moves past one value without checking it: strings to their
// closing quote, containers to their matching bracket, iteratively at any
// depth, scalars to the next separator.
func (s *scanner) skimValue() error {
	depth := 0
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch c {
		case '"':
			s.i++
			for s.i = skipPlain(s.b, s.i); s.i < len(s.b) && s.b[s.i] != '"'; s.i = skipPlain(s.b, s.i) {
				if s.b[s.i] == '\\' {
					s.i++
				}
				s.i++
			}
			if s.i >= len(s.b) {
				return s.errf("unexpected end of input in string")
			}
			s.i++
			if depth == 0 {
				return nil
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return nil // the end of the enclosing container
			}
			depth--
			if depth == 0 {
				s.i++
				return nil
			}
		case ',':
			if depth == 0 {
				return nil
			}
		}
		s.i++
	}
	if depth > 0 {
		return s.errf("unexpected end of input")
	}
	return nil
}

func (s *scanner) errf(format string, args ...any) error {
	return fmt.Errorf("offset %d: "+format, append([]any{s.i}, args...)...)
}

func (s *scanner) skipWS() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value checks one value starting at s.i and moves past it.
func (s *scanner) value() error {
	if s.i >= len(s.b) {
		return s.errf("unexpected end of input")
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.container('}', true)
	case c == '[':
		return s.container(']', false)
	case c == '"':
		return s.str()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	default:
		return s.errf("invalid character %q looking for a value", c)
	}
}

func (s *scanner) literal(lit string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return s.errf("invalid literal")
	}
	s.i += len(lit)
	return nil
}

func (s *scanner) container(end byte, object bool) error {
	s.depth++
	if s.depth > maxDepth {
		return s.errf("nested more than %d deep", maxDepth)
	}
	s.i++
	first := true
	for {
		if s.skipInner(); s.i >= len(s.b) {
			return s.errf("unexpected end of input")
		}
		if s.b[s.i] == end && first {
			s.i++
			s.depth--
			return nil
		}
		if object {
			if s.b[s.i] != '"' {
				return s.errf("object key must be a string")
			}
			if err := s.str(); err != nil {
				return err
			}
			if s.skipInner(); s.i >= len(s.b) || s.b[s.i] != ':' {
				return s.errf("missing ':' after object key")
			}
			s.i++
			s.skipInner()
		}
		if err := s.value(); err != nil {
			return err
		}
		if s.skipInner(); s.i >= len(s.b) {
			return s.errf("unexpected end of input")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			first = false
			if s.skipInner(); s.i < len(s.b) && s.b[s.i] == end {
				return s.errf("trailing comma")
			}
		case end:
			s.i++
			s.depth--
			return nil
		default:
			return s.errf("invalid character %q after a value", s.b[s.i])
		}
	}
}

// skipInner skips whitespace inside a value, noting that it needs compacting.
func (s *scanner) skipInner() {
	j := s.i
	s.skipWS()
	if s.i != j {
		s.ws = true
	}
}

func (s *scanner) str() error {
	b := s.b
	i := s.i + 1 // past the opening quote
	for {
		i = skipPlain(b, i)
		if i >= len(b) {
			break
		}
		c := b[i]
		switch {
		case c == '"':
			s.i = i + 1
			return nil
		case s.lax: // all before b[i] is plain: no backslash to look back at
			if i = stringEnd(b, i); i < 0 {
				s.i = len(b)
				return s.errf("unexpected end of input in string")
			}
			s.i = i
			return nil
		case c == '\\':
			s.esc = true
			s.anyEsc = true
			s.i = i
			if i+1 >= len(b) {
				return s.errf("unexpected end of input in string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					return s.errf("invalid \\u escape")
				}
				i += 6
			default:
				return s.errf("invalid escape \\%c", b[i+1])
			}
		case c < 0x20:
			s.i = i
			return s.errf("control character in string")
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 && !s.anyUTF8 {
				s.i = i
				return s.errf("invalid UTF-8 in string")
			}
			i += n
		}
	}
	s.i = i
	return s.errf("unexpected end of input in string")
}

// isHex4 reports whether b is all hex digits (the four of a \uXXXX
// escape).
func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func (s *scanner) number() error {
	start := s.i
	if s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return s.errf("invalid number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return s.errf("invalid number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return s.errf("invalid number")
		}
	}
	if s.i == start {
		return s.errf("invalid number")
	}
	return nil
}

// rawValue returns the value starting at s.i, checked (and compacted).
func (s *scanner) rawValue(compact bool) (json.RawMessage, error) {
	start := s.i
	s.ws = false
	if err := s.value(); err != nil {
		return nil, err
	}
	v := s.b[start:s.i]
	if s.ws && compact {
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return nil, err
		}
		v = buf.Bytes()
	}
	return v, nil
}

// SkipValue returns the offset just past the JSON value that starts at
// b[i], nested at most depth containers deep. It checks the value's syntax
// but for the text of its strings, which it skips to the first quote that
// no backslash escapes, eight bytes at a time: for a reader that needs the
// shape of JSON whose strings it does not read (the load generator counting
// the events of a LookupEvents answer, which are whole records as strings).
func SkipValue(b []byte, i, depth int) (int, error) {
	s := scanner{b: b, i: i, depth: maxDepth - depth, lax: true}
	if err := s.value(); err != nil {
		return 0, err
	}
	return s.i, nil
}

// errNotObject says a value is not a JSON object.
var errNotObject = errors.New("not a JSON object")

// splitObject checks that b is one JSON object and returns its members,
// values compacted (a repeated key keeps its last value, as encoding/json does).
func splitObject(b []byte) (map[string]json.RawMessage, error) { return scanObject(b, true) }

func scanObject(b []byte, compact bool) (map[string]json.RawMessage, error) {
	s := &scanner{b: b, depth: 1}
	out := make(map[string]json.RawMessage, 24)
	err := s.object(func(quoted []byte) error {
		key, err := Unquote(quoted)
		if err != nil {
			return err
		}
		var v json.RawMessage
		if compact {
			v, err = s.rawValue(true)
		} else {
			start := s.i
			err = s.skimValue()
			v = b[start:s.i]
		}
		out[key] = v
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// object walks b as one JSON object, with whitespace around it: it checks
// each member's name and calls member with the name (quoted, as written)
// with s at the start of the value, which member moves s past. It fails
// with errNotObject if b does not start with an object.
func (s *scanner) object(member func(quoted []byte) error) error {
	b := s.b
	s.skipWS()
	if s.i >= len(b) || b[s.i] != '{' {
		return errNotObject
	}
	s.i++
	for first := true; ; first = false {
		s.skipWS()
		if s.i >= len(b) {
			return s.errf("unexpected end of input")
		}
		if b[s.i] == '}' && first {
			s.i++
			break
		}
		if b[s.i] != '"' {
			return s.errf("object key must be a string")
		}
		ks := s.i
		if err := s.str(); err != nil {
			return err
		}
		quoted := b[ks:s.i]
		if s.skipWS(); s.i >= len(b) || b[s.i] != ':' {
			return s.errf("missing ':' after object key")
		}
		s.i++
		s.skipWS()
		if err := member(quoted); err != nil {
			return err
		}
		if s.skipWS(); s.i >= len(b) {
			return s.errf("unexpected end of input")
		}
		if b[s.i] == '}' {
			s.i++
			break
		}
		if b[s.i] != ',' {
			return s.errf("invalid character %q after object member", b[s.i])
		}
		s.i++
	}
	if s.skipWS(); s.i != len(b) {
		return s.errf("data after the object")
	}
	return nil
}

// SplitArray splits a JSON array into its elements, as they are
// (uncompacted, not copied). It finds each element's end without checking
// the element: callers check each one on its own.
func SplitArray(b []byte) ([]json.RawMessage, error) {
	s := &scanner{b: b}
	s.skipWS()
	if s.i >= len(b) || b[s.i] != '[' {
		return nil, errors.New("not a JSON array")
	}
	s.i++
	s.depth = 1
	var out []json.RawMessage
	for first := true; ; first = false {
		s.skipWS()
		if s.i >= len(b) {
			return nil, s.errf("unexpected end of input")
		}
		if b[s.i] == ']' && first {
			s.i++
			break
		}
		start := s.i
		if err := s.skimValue(); err != nil {
			return nil, err
		}
		if s.i == start {
			return nil, s.errf("missing array element")
		}
		out = append(out, bytes.TrimRight(b[start:s.i], " \t\r\n"))
		if s.skipWS(); s.i >= len(b) {
			return nil, s.errf("unexpected end of input")
		}
		if b[s.i] == ']' {
			s.i++
			break
		}
		if b[s.i] != ',' {
			return nil, s.errf("invalid character %q after array element", b[s.i])
		}
		s.i++
	}
	if s.skipWS(); s.i != len(b) {
		return nil, s.errf("data after the array")
	}
	return out, nil
}

// OnlyRecords returns the value of the one member of a body shaped
// {"Records": …} (the shape every producer sends), without scanning it; ok
// is false for any other shape, which Members then splits.
func OnlyRecords(body []byte) (json.RawMessage, bool) {
	b := bytes.TrimSpace(body)
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, false
	}
	b = bytes.TrimSpace(b[1 : len(b)-1])
	rest, ok := bytes.CutPrefix(b, []byte(`"Records"`))
	if !ok {
		return nil, false
	}
	rest = bytes.TrimSpace(rest)
	if len(rest) == 0 || rest[0] != ':' {
		return nil, false
	}
	return bytes.TrimSpace(rest[1:]), true
}

// Members splits a JSON object into its members, as they are (uncompacted,
// not copied, unchecked — see SplitArray); the ingest API uses it to find
// "Records".
func Members(b []byte) (map[string]json.RawMessage, error) { return scanObject(b, false) }
