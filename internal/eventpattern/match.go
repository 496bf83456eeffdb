package eventpattern

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// match reports whether v (a decoded JSON value; present false when the
// field is absent) satisfies the object pattern. An array of objects matches
// when one of its elements does on its own, so fields of different elements
// are never combined (EventBridge's "array consistency").
func (o *object) match(v any, present bool) bool {
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if o.match(e, true) {
				return true
			}
		}
		return false
	}
	m, _ := v.(map[string]any)
	for _, f := range o.fields {
		fv, ok := m[f.name]
		if !f.match(fv, ok) {
			return false
		}
	}
	for _, alts := range o.ors {
		if !anyAlt(alts, v, present) {
			return false
		}
	}
	return true
}

func anyAlt(alts []*object, v any, present bool) bool {
	for _, a := range alts {
		if a.match(v, present) {
			return true
		}
	}
	return false
}

// match applies a field's pattern to the event's value of that field.
func (f *field) match(v any, present bool) bool {
	if f.nested != nil {
		if !present {
			return f.nested.match(nil, false)
		}
		return f.nested.match(v, true)
	}
	found := false
	if present && f.leafMatch(v, &found) {
		return true
	}
	if found {
		return false
	}
	// No leaf value at this path (absent, an object, or an empty array):
	// only {"exists": false} matches.
	for _, m := range f.leaf {
		if e, ok := m.(exists); ok && !bool(e) {
			return true
		}
	}
	return false
}

// leafMatch tries every leaf value of v (the elements of arrays, nested
// arrays included) against the field's matchers; found reports whether v
// held any leaf value at all.
func (f *field) leafMatch(v any, found *bool) bool {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			if f.leafMatch(e, found) {
				return true
			}
		}
		return false
	case map[string]any:
		return false
	}
	*found = true
	for _, m := range f.leaf {
		if m.match(v) {
			return true
		}
	}
	return false
}

// matcher tests one leaf value: string, json.Number (or float64), bool or nil.
type matcher interface {
	match(v any) bool
}

// num returns v as a float64 when it is a JSON number.
func num(v any) (float64, bool) {
	switch t := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		return f, err == nil
	case float64:
		return t, true
	}
	return 0, false
}

type exactString string

func (m exactString) match(v any) bool { s, ok := v.(string); return ok && s == string(m) }

// exactNumber matches a JSON number of the same value (300 matches 300.0
// and 3e2); it never matches the string "300".
type exactNumber float64

func (m exactNumber) match(v any) bool { f, ok := num(v); return ok && f == float64(m) }

type exactBool bool

func (m exactBool) match(v any) bool { b, ok := v.(bool); return ok && b == bool(m) }

// exactNull matches a JSON null only; null and "" are different values.
type exactNull struct{}

func (exactNull) match(v any) bool { return v == nil }

type prefix string

func (m prefix) match(v any) bool { s, ok := v.(string); return ok && strings.HasPrefix(s, string(m)) }

type suffix string

func (m suffix) match(v any) bool { s, ok := v.(string); return ok && strings.HasSuffix(s, string(m)) }

type prefixFold string

func (m prefixFold) match(v any) bool { s, ok := v.(string); return ok && hasPrefixFold(s, string(m)) }

type suffixFold string

func (m suffixFold) match(v any) bool { s, ok := v.(string); return ok && hasSuffixFold(s, string(m)) }

type equalsFold string

func (m equalsFold) match(v any) bool {
	s, ok := v.(string)
	return ok && strings.EqualFold(s, string(m))
}

// exists matches any leaf value when true; when false it matches only where
// there is no leaf value (field.match handles that case).
type exists bool

func (m exists) match(any) bool { return bool(m) }

// notValues is anything-but with values: it matches any leaf value (of any
// type, null included) that is none of them; numbers compare by value.
type notValues struct {
	strs []string
	nums []float64
}

func (m *notValues) match(v any) bool {
	if s, ok := v.(string); ok {
		for _, x := range m.strs {
			if s == x {
				return false
			}
		}
		return true
	}
	if f, ok := num(v); ok {
		for _, x := range m.nums {
			if f == x {
				return false
			}
		}
	}
	return true
}

// The string forms of anything-but match only string values.
type notPrefix string

func (m notPrefix) match(v any) bool {
	s, ok := v.(string)
	return ok && !strings.HasPrefix(s, string(m))
}

type notSuffix string

func (m notSuffix) match(v any) bool {
	s, ok := v.(string)
	return ok && !strings.HasSuffix(s, string(m))
}

type notFold []string

func (m notFold) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	for _, x := range m {
		if strings.EqualFold(s, x) {
			return false
		}
	}
	return true
}

type notWildcards []*wildcard

func (m notWildcards) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	for _, w := range m {
		if w.matchString(s) {
			return false
		}
	}
	return true
}

// numericRange matches JSON numbers within its bounds.
type numericRange struct {
	hasLow, lowIncl   bool
	hasHigh, highIncl bool
	equal             bool
	low, high         float64
}

func (r *numericRange) match(v any) bool {
	f, ok := num(v)
	if !ok {
		return false
	}
	if r.hasLow && (f < r.low || (f == r.low && !r.lowIncl)) {
		return false
	}
	if r.hasHigh && (f > r.high || (f == r.high && !r.highIncl)) {
		return false
	}
	return true
}

// cidr matches string IP addresses (IPv4 or IPv6) inside a prefix.
type cidr netip.Prefix

func compileCIDR(s, path string) (matcher, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return nil, &Error{Path: path, Reason: "invalid CIDR block " + strconv.Quote(s) + ": expected an address and a prefix length such as 10.0.0.0/24 or 2001:db8::/32"}
	}
	return cidr(p.Masked()), nil
}

func (m cidr) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	p := netip.Prefix(m)
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return p.Contains(a.WithZone(""))
}

// wildcard is a pattern where * stands for any run of characters.
type wildcard struct {
	segs          []string // literal parts between the stars
	leading, tail bool     // a star before the first part / after the last
}

// compileWildcard parses a wildcard pattern: \* is a literal star, \\ a
// literal backslash; any other escape and two consecutive stars are refused,
// as EventBridge does.
func compileWildcard(s, path string) (*wildcard, error) {
	w := &wildcard{}
	var cur strings.Builder
	stars := 0
	prevStar := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return nil, &Error{Path: path, Reason: `invalid escape in wildcard: only \* and \\ are allowed`}
			}
			i++
			cur.WriteByte(s[i])
			prevStar = false
		case '*':
			if prevStar {
				return nil, &Error{Path: path, Reason: "consecutive wildcard characters (**) are not allowed"}
			}
			if stars == 0 && cur.Len() == 0 {
				w.leading = true
			} else {
				w.segs = append(w.segs, cur.String())
			}
			cur.Reset()
			stars++
			prevStar = true
		default:
			cur.WriteByte(c)
			prevStar = false
		}
	}
	if prevStar {
		w.tail = true
	} else {
		w.segs = append(w.segs, cur.String())
	}
	return w, nil
}

func (w *wildcard) match(v any) bool { s, ok := v.(string); return ok && w.matchString(s) }

func (w *wildcard) matchString(s string) bool {
	segs := w.segs
	if !w.leading && !w.tail && len(segs) == 1 {
		return s == segs[0]
	}
	if !w.leading {
		if !strings.HasPrefix(s, segs[0]) {
			return false
		}
		s = s[len(segs[0]):]
		segs = segs[1:]
	}
	if !w.tail {
		if len(segs) == 0 {
			return s == ""
		}
		last := segs[len(segs)-1]
		if !strings.HasSuffix(s, last) {
			return false
		}
		s = s[:len(s)-len(last)]
		segs = segs[:len(segs)-1]
	}
	for _, seg := range segs {
		i := strings.Index(s, seg)
		if i < 0 {
			return false
		}
		s = s[i+len(seg):]
	}
	return true
}

// foldEq reports whether two runes are equal ignoring case.
func foldEq(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	return unicode.ToLower(a) == unicode.ToLower(b) || unicode.ToUpper(a) == unicode.ToUpper(b)
}

// hasPrefixFold is strings.HasPrefix ignoring case, without allocating.
func hasPrefixFold(s, p string) bool {
	for p != "" {
		if s == "" {
			return false
		}
		rp, np := utf8.DecodeRuneInString(p)
		rs, ns := utf8.DecodeRuneInString(s)
		if !foldEq(rp, rs) {
			return false
		}
		p, s = p[np:], s[ns:]
	}
	return true
}

// hasSuffixFold is strings.HasSuffix ignoring case, without allocating.
func hasSuffixFold(s, p string) bool {
	for p != "" {
		if s == "" {
			return false
		}
		rp, np := utf8.DecodeLastRuneInString(p)
		rs, ns := utf8.DecodeLastRuneInString(s)
		if !foldEq(rp, rs) {
			return false
		}
		p, s = p[:len(p)-np], s[:len(s)-ns]
	}
	return true
}
