package history

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cairn-audit/cairn/internal/event"
)

// A page of LookupEvents summarizes up to 50 stored records, and a page of
// an attribute lookup re-derives each one's lookup keys besides. Doing that
// with event.Summarize and event.Decode reads every record several times
// through encoding/json's reflection, which was most of the CPU time of a
// lookup. view reads a record once, with a strict scanner that accepts only
// plain, valid JSON, and gives the same answers as those two functions; a
// record it is unsure of (escaped member names, invalid UTF-8, deep nesting,
// a record that is not JSON at all, insight details) is handed to them.

// view is what event history needs of one stored record.
type view struct {
	sum event.Summary
	// keysOK says keys holds the lookup keys event.Decode derives from the
	// record; when false, ask event.Decode.
	keysOK bool
	keys   []event.LookupKey
}

// maxViewDepth bounds nesting on the fast path; deeper records fall back.
const maxViewDepth = 64

// readView reads a stored record; ok is false when the record must be read
// by event.Summarize and event.Decode instead.
func readView(record []byte) (v view, ok bool) {
	// The members event history looks at, as raw JSON values.
	var id, name, source, tm, readOnly, identity, resources, insight []byte
	s := viewScanner{b: record}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return view{}, false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
	} else {
		for {
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return view{}, false
			}
			ks := s.i
			if !s.str() {
				return view{}, false
			}
			key := s.b[ks+1 : s.i-1]
			if s.escaped {
				return view{}, false // a member name to unescape: leave it to encoding/json
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return view{}, false
			}
			s.i++
			s.ws()
			vs := s.i
			if !s.value(1) {
				return view{}, false
			}
			val := s.b[vs:s.i]
			// A repeated member keeps its last value, as encoding/json does.
			switch string(key) {
			case "eventID":
				id = val
			case "eventName":
				name = val
			case "eventSource":
				source = val
			case "eventTime":
				tm = val
			case "readOnly":
				readOnly = val
			case "userIdentity":
				identity = val
			case "resources":
				resources = val
			case "insightDetails":
				insight = val
			}
			s.ws()
			if s.i >= len(s.b) {
				return view{}, false
			}
			if s.b[s.i] == '}' {
				s.i++
				break
			}
			if s.b[s.i] != ',' {
				return view{}, false
			}
			s.i++
			s.ws()
		}
	}
	s.ws()
	if s.i != len(s.b) {
		return view{}, false
	}

	// The summary, as event.Summarize reads it.
	sum := &v.sum
	sum.EventID, sum.EventName, sum.EventSource = jsonString(id), jsonString(name), jsonString(source)
	if insight != nil {
		var d struct {
			EventName   string `json:"eventName"`
			EventSource string `json:"eventSource"`
		}
		if json.Unmarshal(insight, &d) == nil {
			if sum.EventName == "" {
				sum.EventName = d.EventName
			}
			if sum.EventSource == "" {
				sum.EventSource = d.EventSource
			}
		}
	}
	sum.EventTime, _ = time.Parse(time.RFC3339, jsonString(tm))
	switch string(readOnly) {
	case "":
	case "true":
		sum.ReadOnly = "true"
	case "false":
		sum.ReadOnly = "false"
	default:
		var b bool
		if json.Unmarshal(readOnly, &b) == nil {
			sum.ReadOnly = fmt.Sprint(b)
		}
	}
	var who userIdentity
	whoErr := error(nil)
	if identity != nil {
		if whoErr = decodeIdentity(identity, &who); whoErr == nil {
			sum.Username = who.username()
			sum.AccessKeyID = who.AccessKeyID
		}
	}
	resErr := error(nil)
	if resources != nil {
		resErr = decodeResources(resources, &sum.Resources)
	}

	// The lookup keys, as event.Decode derives them from a stored record
	// (which Decode made, so its known members have their kinds). Insight
	// records and members of the wrong kind are left to Decode.
	v.keysOK = insight == nil && whoErr == nil && resErr == nil &&
		kindIs(name, '"') && kindIs(source, '"') && kindIs(identity, '{') && kindIs(resources, '[') &&
		(readOnly == nil || string(readOnly) == "true" || string(readOnly) == "false" || string(readOnly) == "null")
	if !v.keysOK {
		return v, true
	}
	keys := make([]event.LookupKey, 0, 8)
	add := func(a event.Attribute, val string) {
		if val == "" {
			return
		}
		for _, k := range keys {
			if k.Attr == a && k.Value == val {
				return
			}
		}
		keys = append(keys, event.LookupKey{Attr: a, Value: val})
	}
	add(event.AttrEventName, sum.EventName)
	add(event.AttrEventSource, sum.EventSource)
	if readOnly != nil && string(readOnly) != "null" {
		add(event.AttrReadOnly, string(readOnly))
	}
	if identity != nil && string(identity) != "null" {
		add(event.AttrUsername, sum.Username)
		add(event.AttrAccessKeyID, sum.AccessKeyID)
	}
	if resources != nil && string(resources) != "null" {
		for _, r := range sum.Resources {
			add(event.AttrResourceType, r.Type)
			add(event.AttrResourceName, r.ARN)
			add(event.AttrResourceName, event.ShortName(r.ARN))
		}
	}
	v.keys = keys
	return v, true
}

// kindIs says a member is absent, null, or starts as a value of its kind does.
func kindIs(v []byte, first byte) bool {
	return v == nil || v[0] == first || string(v) == "null"
}

// jsonString is what json.Unmarshal makes of v into a string: the string's
// text, or "" for anything else (and for an absent member).
func jsonString(v []byte) string {
	if len(v) < 2 || v[0] != '"' {
		return ""
	}
	inner := v[1 : len(v)-1]
	plain := true
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		return string(inner)
	}
	var s string
	_ = json.Unmarshal(v, &s)
	return s
}

// userIdentity is the part of userIdentity event history looks at, decoded
// as the event package decodes it.
type userIdentity struct {
	Type           string `json:"type"`
	UserName       string `json:"userName"`
	AccessKeyID    string `json:"accessKeyId"`
	ARN            string `json:"arn"`
	SessionContext *struct {
		SessionIssuer *struct {
			UserName string `json:"userName"`
		} `json:"sessionIssuer"`
	} `json:"sessionContext"`
}

// username is what LookupEvents calls Username: the IAM user's name, or the
// role a session was issued for, or "root".
func (id *userIdentity) username() string {
	if id.UserName != "" {
		return id.UserName
	}
	if id.SessionContext != nil && id.SessionContext.SessionIssuer != nil && id.SessionContext.SessionIssuer.UserName != "" {
		return id.SessionContext.SessionIssuer.UserName
	}
	if id.Type == "Root" {
		return "root"
	}
	return ""
}

// viewScanner checks JSON strictly: it accepts only what encoding/json
// accepts, and less (no invalid UTF-8, bounded depth).
type viewScanner struct {
	b       []byte
	i       int
	escaped bool // the last string had a backslash escape
}

func (s *viewScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *viewScanner) value(depth int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.str()
	case c == '{' || c == '[':
		return s.container(depth + 1)
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return false
}

func (s *viewScanner) lit(l string) bool {
	if len(s.b)-s.i < len(l) || string(s.b[s.i:s.i+len(l)]) != l {
		return false
	}
	s.i += len(l)
	return true
}

func (s *viewScanner) container(depth int) bool {
	if depth > maxViewDepth {
		return false
	}
	object := s.b[s.i] == '{'
	end := byte(']')
	if object {
		end = '}'
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == end {
		s.i++
		return true
	}
	for {
		if object {
			if s.i >= len(s.b) || s.b[s.i] != '"' || !s.str() {
				return false
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return false
			}
			s.i++
			s.ws()
		}
		if !s.value(depth) {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case end:
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *viewScanner) str() bool {
	s.i++ // the opening quote
	s.escaped = false
	for s.i < len(s.b) {
		// Runs of plain ASCII first: most of every string.
		s.i = event.SkipPlain(s.b, s.i)
		for s.i < len(s.b) && plainByte[s.b[s.i]] {
			s.i++
		}
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return true
		case c == '\\':
			s.escaped = true
			if s.i+1 >= len(s.b) {
				return false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) || !event.IsHex4(s.b[s.i+2:s.i+6]) {
					return false
				}
				s.i += 6
			default:
				return false
			}
		case c < 0x20:
			return false
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n <= 1 {
				return false
			}
			s.i += n
		}
	}
	return false
}

// plainByte holds the bytes a string holds as they are: printable ASCII
// but the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (s *viewScanner) number() bool {
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// The members of userIdentity and of resources are decoded by hand for the
// plain case: each known member at most once, spelled exactly, a string or
// null (a pointer member an object or null). Anything else, including a
// member encoding/json would match case-insensitively, is left to
// json.Unmarshal, so that the result is always what it makes.

// decodeIdentity is json.Unmarshal(v, id) for a checked value v.
func decodeIdentity(v []byte, id *userIdentity) error {
	if ok := plainIdentity(v, id); ok {
		return nil
	}
	*id = userIdentity{}
	return json.Unmarshal(v, id)
}

var identityNames = []string{"type", "userName", "accessKeyId", "arn", "sessionContext"}

func plainIdentity(v []byte, id *userIdentity) bool {
	if string(v) == "null" {
		return true
	}
	var seen [5]bool
	return eachMember(v, identityNames, seen[:], func(i int, val []byte) bool {
		switch i {
		case 0:
			return plainString(val, &id.Type)
		case 1:
			return plainString(val, &id.UserName)
		case 2:
			return plainString(val, &id.AccessKeyID)
		case 3:
			return plainString(val, &id.ARN)
		}
		if string(val) == "null" {
			id.SessionContext = nil
			return true
		}
		id.SessionContext = new(struct {
			SessionIssuer *struct {
				UserName string `json:"userName"`
			} `json:"sessionIssuer"`
		})
		var seenCtx [1]bool
		return eachMember(val, []string{"sessionIssuer"}, seenCtx[:], func(_ int, val []byte) bool {
			if string(val) == "null" {
				id.SessionContext.SessionIssuer = nil
				return true
			}
			id.SessionContext.SessionIssuer = new(struct {
				UserName string `json:"userName"`
			})
			var seenIssuer [1]bool
			return eachMember(val, []string{"userName"}, seenIssuer[:], func(_ int, val []byte) bool {
				return plainString(val, &id.SessionContext.SessionIssuer.UserName)
			})
		})
	})
}

var resourceNames = []string{"ARN", "accountId", "type"}

// decodeResources is json.Unmarshal(v, rs) for a checked value v.
func decodeResources(v []byte, rs *[]event.Resource) error {
	if string(v) == "null" {
		*rs = nil
		return nil
	}
	if v[0] == '[' {
		out := make([]event.Resource, 0, 4)
		ok := eachElement(v, func(val []byte) bool {
			var r event.Resource
			if string(val) != "null" {
				var seen [3]bool
				if !eachMember(val, resourceNames, seen[:], func(i int, val []byte) bool {
					switch i {
					case 0:
						return plainString(val, &r.ARN)
					case 1:
						return plainString(val, &r.AccountID)
					}
					return plainString(val, &r.Type)
				}) {
					return false
				}
			}
			out = append(out, r)
			return true
		})
		if ok {
			*rs = out
			return nil
		}
	}
	return json.Unmarshal(v, rs)
}

// plainString sets *dst from a JSON string; null leaves it as it is, as
// encoding/json does. Another kind of value is not plain.
func plainString(val []byte, dst *string) bool {
	switch {
	case string(val) == "null":
		return true
	case val[0] == '"':
		*dst = jsonString(val)
		return true
	}
	return false
}

// eachMember calls f with the index in names of each member of the checked
// object v that is named in names, and its value. It returns false (not
// plain) when v is not an object, when f does, when a name repeats, or for
// a member name that is escaped, not ASCII, or one of names in other case.
func eachMember(v []byte, names []string, seen []bool, f func(i int, val []byte) bool) bool {
	if len(v) == 0 || v[0] != '{' {
		return false
	}
	s := viewScanner{b: v, i: 1}
	s.ws()
	if s.b[s.i] == '}' {
		return true
	}
	for {
		ks := s.i
		if !s.str() || s.escaped {
			return false
		}
		key := s.b[ks+1 : s.i-1]
		s.ws()
		s.i++ // ':'
		s.ws()
		vs := s.i
		if !s.value(1) {
			return false
		}
		val := s.b[vs:s.i]
		i := -1
		for j, n := range names {
			if string(key) == n {
				i = j
				break
			}
			if strings.EqualFold(string(key), n) {
				return false
			}
		}
		if i < 0 {
			for _, c := range key {
				if c >= utf8.RuneSelf {
					return false
				}
			}
		} else {
			if seen[i] || !f(i, val) {
				return false
			}
			seen[i] = true
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		if s.b[s.i] == '}' {
			return true
		}
		s.i++ // ','
		s.ws()
	}
}

// eachElement calls f with each element of the checked array v.
func eachElement(v []byte, f func(val []byte) bool) bool {
	s := viewScanner{b: v, i: 1}
	s.ws()
	if s.b[s.i] == ']' {
		return true
	}
	for {
		vs := s.i
		if !s.value(1) || !f(s.b[vs:s.i]) {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		if s.b[s.i] == ']' {
			return true
		}
		s.i++ // ','
		s.ws()
	}
}
