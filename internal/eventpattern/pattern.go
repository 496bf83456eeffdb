// Package eventpattern provides Amazon EventBridge event patterns: Compile
// checks a pattern as EventBridge's PutRule does (refusing what EventBridge
// refuses, with an error that names where in the pattern the problem is) and
// Pattern.Match tells whether an event matches it.
//
// Supported: exact values (strings, numbers, booleans, null), nested objects,
// arrays in the event (a field matches if any element matches; objects in an
// array are matched one element at a time), prefix and suffix (each also with
// equals-ignore-case), equals-ignore-case, anything-but (a value, a list of
// strings or of numbers, prefix, suffix, equals-ignore-case, wildcard),
// numeric (=, <, <=, >, >= and ranges), exists, wildcard (with the \* and \\
// escapes), cidr (IPv4 and IPv6) and $or.
//
// Choices where EventBridge's documentation is silent are written on the
// matcher concerned (see match.go).
package eventpattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// MaxPatternBytes is the longest pattern Compile accepts (EventBridge's
// PutRule limit on EventPattern).
const MaxPatternBytes = 4096

// Numeric values in patterns must lie in EventBridge's range.
const (
	minNumeric = -5.0e9
	maxNumeric = 5.0e9
)

// maxDepth bounds nesting so that a hostile pattern cannot exhaust the stack.
const maxDepth = 64

// Pattern is a compiled event pattern; it is safe for concurrent use.
type Pattern struct {
	root *object
	src  string
}

// Error is a compile error: Path says where in the pattern (e.g.
// `detail.eventName[0].prefix`, empty for the whole pattern), Reason what is
// wrong.
type Error struct {
	Path   string
	Reason string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return "event pattern: " + e.Reason
	}
	return "event pattern: at " + e.Path + ": " + e.Reason
}

// object is the pattern for one JSON object: every field must match, and
// for every $or one of its alternatives.
type object struct {
	fields []*field
	ors    [][]*object
}

// field is one key of a pattern object: either a nested object or a list of
// leaf matchers of which one must match.
type field struct {
	name   string
	nested *object
	leaf   []matcher
}

// String returns the pattern's source text.
func (p *Pattern) String() string { return p.src }

// Compile parses and checks an EventBridge event pattern.
func Compile(pattern string) (*Pattern, error) {
	if len(pattern) > MaxPatternBytes {
		return nil, &Error{Reason: fmt.Sprintf("longer than %d bytes", MaxPatternBytes)}
	}
	dec := json.NewDecoder(strings.NewReader(pattern))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &Error{Reason: jsonReason(pattern, err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &Error{Reason: "text after the JSON object"}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{Reason: "must be a JSON object"}
	}
	c := compiler{}
	root, err := c.object(m, "", 0)
	if err != nil {
		return nil, err
	}
	return &Pattern{root: root, src: pattern}, nil
}

// MustCompile is Compile for patterns known to be valid; it panics otherwise.
func MustCompile(pattern string) *Pattern {
	p, err := Compile(pattern)
	if err != nil {
		panic(err)
	}
	return p
}

// jsonReason turns a JSON decoding error into a reason with line and column.
func jsonReason(src string, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(src, int(se.Offset))
		return fmt.Sprintf("invalid JSON at line %d, column %d: %s", line, col, se.Error())
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "invalid JSON: unexpected end of input"
	}
	return "invalid JSON: " + err.Error()
}

func lineCol(src string, off int) (int, int) {
	if off > len(src) {
		off = len(src)
	}
	before := src[:off]
	line := strings.Count(before, "\n") + 1
	col := off - strings.LastIndexByte(before, '\n')
	return line, col
}

type compiler struct{}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// object compiles a pattern object; keys are visited in sorted order so that
// errors are deterministic.
func (c compiler) object(m map[string]any, path string, depth int) (*object, error) {
	if depth > maxDepth {
		return nil, &Error{Path: path, Reason: fmt.Sprintf("nested deeper than %d levels", maxDepth)}
	}
	if len(m) == 0 {
		return nil, &Error{Path: path, Reason: "empty object: a pattern object needs at least one field"}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := &object{}
	for _, k := range keys {
		p := joinPath(path, k)
		if k == "$or" {
			alts, err := c.or(m[k], p, depth)
			if err != nil {
				return nil, err
			}
			o.ors = append(o.ors, alts)
			continue
		}
		f, err := c.field(k, m[k], p, depth)
		if err != nil {
			return nil, err
		}
		o.fields = append(o.fields, f)
	}
	return o, nil
}

// or compiles the alternatives of $or: an array of at least two objects.
func (c compiler) or(v any, path string, depth int) ([]*object, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, &Error{Path: path, Reason: "$or takes an array of pattern objects"}
	}
	if len(arr) < 2 {
		return nil, &Error{Path: path, Reason: "$or needs at least two pattern objects"}
	}
	alts := make([]*object, 0, len(arr))
	for i, a := range arr {
		p := fmt.Sprintf("%s[%d]", path, i)
		am, ok := a.(map[string]any)
		if !ok {
			return nil, &Error{Path: p, Reason: "each $or alternative must be a pattern object"}
		}
		o, err := c.object(am, p, depth+1)
		if err != nil {
			return nil, err
		}
		alts = append(alts, o)
	}
	return alts, nil
}

func (c compiler) field(name string, v any, path string, depth int) (*field, error) {
	switch t := v.(type) {
	case map[string]any:
		o, err := c.object(t, path, depth+1)
		if err != nil {
			return nil, err
		}
		return &field{name: name, nested: o}, nil
	case []any:
		if len(t) == 0 {
			return nil, &Error{Path: path, Reason: "empty array: list at least one value to match"}
		}
		f := &field{name: name}
		for i, e := range t {
			m, err := c.leaf(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			f.leaf = append(f.leaf, m)
		}
		return f, nil
	default:
		return nil, &Error{Path: path, Reason: fmt.Sprintf("%s must be an array of values to match or a pattern object", describe(v))}
	}
}

// describe names a JSON value for an error message.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(t)
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%v", v)
}

// leaf compiles one element of a leaf array: a literal or an operator object.
func (c compiler) leaf(v any, path string) (matcher, error) {
	switch t := v.(type) {
	case nil:
		return exactNull{}, nil
	case bool:
		return exactBool(t), nil
	case string:
		return exactString(t), nil
	case json.Number:
		f, err := number(t, path)
		if err != nil {
			return nil, err
		}
		return exactNumber(f), nil
	case []any:
		return nil, &Error{Path: path, Reason: "arrays inside a value list are not allowed"}
	case map[string]any:
		return c.operator(t, path)
	}
	return nil, &Error{Path: path, Reason: "unsupported value"}
}

// number reads a pattern number and checks EventBridge's numeric range.
func number(n json.Number, path string) (float64, error) {
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil {
		return 0, &Error{Path: path, Reason: fmt.Sprintf("number %s is not representable", n)}
	}
	if f < minNumeric || f > maxNumeric {
		return 0, &Error{Path: path, Reason: fmt.Sprintf("number %s is outside -5.0e9..5.0e9", n)}
	}
	return f, nil
}

// operator compiles an operator object such as {"prefix":"a"}.
func (c compiler) operator(m map[string]any, path string) (matcher, error) {
	if len(m) != 1 {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return nil, &Error{Path: path, Reason: fmt.Sprintf("an operator object holds exactly one operator, got %d (%s)", len(m), strings.Join(keys, ", "))}
	}
	for op, arg := range m {
		p := joinPath(path, op)
		switch op {
		case "prefix":
			return c.affix(arg, p, true)
		case "suffix":
			return c.affix(arg, p, false)
		case "equals-ignore-case":
			s, ok := arg.(string)
			if !ok {
				return nil, &Error{Path: p, Reason: "equals-ignore-case takes a string"}
			}
			return equalsFold(s), nil
		case "anything-but":
			return c.anythingBut(arg, p)
		case "numeric":
			return c.numeric(arg, p)
		case "exists":
			b, ok := arg.(bool)
			if !ok {
				return nil, &Error{Path: p, Reason: "exists takes true or false"}
			}
			return exists(b), nil
		case "wildcard":
			s, ok := arg.(string)
			if !ok {
				return nil, &Error{Path: p, Reason: "wildcard takes a string"}
			}
			w, err := compileWildcard(s, p)
			if err != nil {
				return nil, err
			}
			return w, nil
		case "cidr":
			s, ok := arg.(string)
			if !ok {
				return nil, &Error{Path: p, Reason: "cidr takes a string such as \"10.0.0.0/24\""}
			}
			return compileCIDR(s, p)
		default:
			return nil, &Error{Path: path, Reason: fmt.Sprintf("unknown operator %q (known: prefix, suffix, equals-ignore-case, anything-but, numeric, exists, wildcard, cidr)", op)}
		}
	}
	panic("unreachable")
}

// affix compiles prefix or suffix: a string, or {"equals-ignore-case": s}.
func (c compiler) affix(arg any, path string, isPrefix bool) (matcher, error) {
	name := "suffix"
	if isPrefix {
		name = "prefix"
	}
	switch t := arg.(type) {
	case string:
		if isPrefix {
			return prefix(t), nil
		}
		return suffix(t), nil
	case map[string]any:
		s, ok := t["equals-ignore-case"].(string)
		if len(t) != 1 || !ok {
			return nil, &Error{Path: path, Reason: name + ` takes a string or {"equals-ignore-case": "<string>"}`}
		}
		if isPrefix {
			return prefixFold(s), nil
		}
		return suffixFold(s), nil
	}
	return nil, &Error{Path: path, Reason: name + ` takes a string or {"equals-ignore-case": "<string>"}`}
}

// anythingBut compiles anything-but's argument.
func (c compiler) anythingBut(arg any, path string) (matcher, error) {
	switch t := arg.(type) {
	case string:
		return &notValues{strs: []string{t}}, nil
	case json.Number:
		f, err := number(t, path)
		if err != nil {
			return nil, err
		}
		return &notValues{nums: []float64{f}}, nil
	case []any:
		return c.anythingButList(t, path)
	case map[string]any:
		return c.anythingButOperator(t, path)
	}
	return nil, &Error{Path: path, Reason: "anything-but takes a string, a number, a list of strings or of numbers, or one of prefix, suffix, equals-ignore-case, wildcard"}
}

func (c compiler) anythingButList(list []any, path string) (matcher, error) {
	if len(list) == 0 {
		return nil, &Error{Path: path, Reason: "empty array: anything-but needs at least one value"}
	}
	nv := &notValues{}
	for i, e := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch t := e.(type) {
		case string:
			nv.strs = append(nv.strs, t)
		case json.Number:
			f, err := number(t, p)
			if err != nil {
				return nil, err
			}
			nv.nums = append(nv.nums, f)
		default:
			return nil, &Error{Path: p, Reason: "anything-but lists hold strings or numbers only"}
		}
	}
	if len(nv.strs) > 0 && len(nv.nums) > 0 {
		return nil, &Error{Path: path, Reason: "anything-but lists hold only strings or only numbers, not both"}
	}
	return nv, nil
}

func (c compiler) anythingButOperator(m map[string]any, path string) (matcher, error) {
	if len(m) != 1 {
		return nil, &Error{Path: path, Reason: "anything-but takes exactly one of prefix, suffix, equals-ignore-case, wildcard"}
	}
	for op, arg := range m {
		p := joinPath(path, op)
		switch op {
		case "prefix", "suffix":
			s, ok := arg.(string)
			if !ok {
				return nil, &Error{Path: p, Reason: "anything-but " + op + " takes a string"}
			}
			if op == "prefix" {
				return notPrefix(s), nil
			}
			return notSuffix(s), nil
		case "equals-ignore-case":
			strs, err := stringList(arg, p, op)
			if err != nil {
				return nil, err
			}
			return notFold(strs), nil
		case "wildcard":
			strs, err := stringList(arg, p, op)
			if err != nil {
				return nil, err
			}
			ws := make(notWildcards, 0, len(strs))
			for i, s := range strs {
				wp := p
				if _, isList := arg.([]any); isList {
					wp = fmt.Sprintf("%s[%d]", p, i)
				}
				w, err := compileWildcard(s, wp)
				if err != nil {
					return nil, err
				}
				ws = append(ws, w)
			}
			return ws, nil
		default:
			return nil, &Error{Path: path, Reason: fmt.Sprintf("unknown anything-but operator %q (known: prefix, suffix, equals-ignore-case, wildcard)", op)}
		}
	}
	panic("unreachable")
}

// stringList accepts a string or a non-empty list of strings.
func stringList(arg any, path, op string) ([]string, error) {
	switch t := arg.(type) {
	case string:
		return []string{t}, nil
	case []any:
		if len(t) == 0 {
			return nil, &Error{Path: path, Reason: "empty array: " + op + " needs at least one string"}
		}
		out := make([]string, 0, len(t))
		for i, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, &Error{Path: fmt.Sprintf("%s[%d]", path, i), Reason: op + " takes strings"}
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, &Error{Path: path, Reason: op + " takes a string or a list of strings"}
}

// numeric compiles ["=", x] or one or two comparisons such as [">", 0, "<=", 5].
func (c compiler) numeric(arg any, path string) (matcher, error) {
	list, ok := arg.([]any)
	if !ok || len(list) == 0 || len(list)%2 != 0 || len(list) > 4 {
		return nil, &Error{Path: path, Reason: `numeric takes ["=", n], one comparison such as [">", n] or two that bound a range such as [">", 0, "<=", 5]`}
	}
	r := &numericRange{}
	for i := 0; i < len(list); i += 2 {
		p := fmt.Sprintf("%s[%d]", path, i)
		op, ok := list[i].(string)
		if !ok {
			return nil, &Error{Path: p, Reason: "expected one of =, <, <=, >, >="}
		}
		n, ok := list[i+1].(json.Number)
		if !ok {
			return nil, &Error{Path: fmt.Sprintf("%s[%d]", path, i+1), Reason: "expected a number after " + strconv.Quote(op)}
		}
		f, err := number(n, fmt.Sprintf("%s[%d]", path, i+1))
		if err != nil {
			return nil, err
		}
		if err := r.add(op, f, p, len(list)); err != nil {
			return nil, err
		}
	}
	if !r.equal && r.hasLow && r.hasHigh && r.low >= r.high {
		return nil, &Error{Path: path, Reason: `bad range: the lower bound must be below the upper bound (["=", n] matches one value)`}
	}
	return r, nil
}

// add records one comparison of a numeric operator.
func (r *numericRange) add(op string, f float64, path string, n int) error {
	switch op {
	case "=":
		if n != 2 {
			return &Error{Path: path, Reason: `"=" cannot be combined with another comparison`}
		}
		r.hasLow, r.low, r.lowIncl = true, f, true
		r.hasHigh, r.high, r.highIncl = true, f, true
		r.equal = true
	case ">", ">=":
		if r.hasLow {
			return &Error{Path: path, Reason: "two lower bounds"}
		}
		r.hasLow, r.low, r.lowIncl = true, f, op == ">="
	case "<", "<=":
		if r.hasHigh {
			return &Error{Path: path, Reason: "two upper bounds"}
		}
		r.hasHigh, r.high, r.highIncl = true, f, op == "<="
	default:
		return &Error{Path: path, Reason: fmt.Sprintf("unknown comparison %q (known: =, <, <=, >, >=)", op)}
	}
	return nil
}

// MatchError reports why an event could not be parsed.
var errEventNotObject = errors.New("event is not a JSON object")

// ParseEvent decodes an event once so that several patterns can match it
// (Pattern.MatchParsed) without decoding it again.
func ParseEvent(eventJSON []byte) (*Event, error) {
	dec := json.NewDecoder(bytes.NewReader(eventJSON))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, errEventNotObject
	}
	return &Event{v: v}, nil
}

// Event is a decoded event (see ParseEvent).
type Event struct{ v any }

// EventOf wraps an already decoded JSON object (as encoding/json decodes
// with UseNumber: map[string]any, []any, string, json.Number, bool, nil).
// Numbers given as float64 are accepted too.
func EventOf(v map[string]any) *Event { return &Event{v: v} }

// Match reports whether the event (a JSON object) matches the pattern. An
// event that is not valid JSON matches nothing.
func (p *Pattern) Match(eventJSON []byte) bool {
	ev, err := ParseEvent(eventJSON)
	if err != nil {
		return false
	}
	return p.MatchParsed(ev)
}

// MatchParsed reports whether a parsed event matches the pattern.
func (p *Pattern) MatchParsed(ev *Event) bool {
	if p == nil || ev == nil {
		return false
	}
	return p.root.match(ev.v, true)
}
