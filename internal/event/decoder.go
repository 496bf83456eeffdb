package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
	"slices"
	"sync"
	"time"
)

// Decode's working state. A record's members are held in a fixed array
// indexed by their place in fieldOrder (unknown members in a short list),
// so that no map is built per record, and the record is written back by
// walking that array. userIdentity and resources are read by walking their
// already checked JSON, with encoding/json asked only where its answer could
// differ from the walk's (names that match a field but for case, repeated
// fields, values of the wrong type). The strings an Event keeps are copied
// out of the record into one allocation.

// nFields is len(fieldOrder).
const nFields = 33

// Ranks (places in fieldOrder) of the fields Decode reads or writes.
var (
	rEventVersion       = rank("eventVersion")
	rUserIdentity       = rank("userIdentity")
	rEventTime          = rank("eventTime")
	rEventSource        = rank("eventSource")
	rEventName          = rank("eventName")
	rAwsRegion          = rank("awsRegion")
	rEventID            = rank("eventID")
	rReadOnly           = rank("readOnly")
	rResources          = rank("resources")
	rEventType          = rank("eventType")
	rManagementEvent    = rank("managementEvent")
	rRecipientAccountID = rank("recipientAccountId")
	rEventCategory      = rank("eventCategory")
	rInsightDetails     = rank("insightDetails")
)

func rank(name string) int {
	r, ok := orderIndex[name]
	if !ok {
		panic("event: " + name + " is not in fieldOrder")
	}
	return r
}

// fieldInfo is what Decode knows of one field of fieldOrder.
type fieldInfo struct {
	name    string
	key     []byte // the name written as a JSON member name, with its colon
	checked bool   // the field's JSON kind is checked
	kind    kind
	max     int // the longest string allowed (bytes); 0 for no limit
}

var fieldInfos [nFields]fieldInfo

// nameSlots finds a field's rank from its name: a perfect hash of the
// names of fieldOrder (nameSeed is chosen so that no two collide) to
// rank+1, 0 for no field.
var (
	nameSlots [256]int8
	nameSeed  uint64
)

func hashName(k []byte, seed uint64) uint8 {
	// The last eight bytes and the length tell the names of fieldOrder apart.
	var x uint64
	if n := len(k); n >= 8 {
		x = binary.LittleEndian.Uint64(k[n-8:])
	} else {
		for i, c := range k {
			x |= uint64(c) << (8 * i)
		}
	}
	return uint8((x + uint64(len(k))) * seed >> 56)
}

func init() {
	if len(fieldOrder) != nFields {
		panic("event: nFields is not len(fieldOrder)")
	}
	for r, name := range fieldOrder {
		f := &fieldInfos[r]
		f.name = name
		f.key = append(appendName(nil, []byte(name)), ':')
		f.kind, f.checked = fieldKinds[name]
		f.max = fieldMax[name]
	}
	for seed := uint64(0x9e3779b97f4a7c15); ; seed += 2 {
		var slots [256]int8
		ok := true
		for r, name := range fieldOrder {
			h := hashName([]byte(name), seed)
			if slots[h] != 0 {
				ok = false
				break
			}
			slots[h] = int8(r + 1)
		}
		if ok {
			nameSlots, nameSeed = slots, seed
			break
		}
	}
}

// rankOf is the rank of the field named k, or -1 for a name not in fieldOrder.
func rankOf(k []byte) int {
	r := int(nameSlots[hashName(k, nameSeed)]) - 1
	if r >= 0 && string(k) == fieldOrder[r] {
		return r
	}
	return -1
}

// member is a record member whose name is not in fieldOrder.
type member struct{ name, val []byte }

// span is a string's place in decoder.text.
type span struct{ off, end int }

type decoder struct {
	has  uint64 // bit r: the field of rank r is present
	vals [nFields][]byte
	// at is, per rank, where the value is in the record scanned, or -1 for a
	// value that is not there as it is (compacted, or written by Decode).
	at    [nFields]int32
	other []member // fields not in fieldOrder, in name order once scanned
	// set holds, per rank, the storage of a value Decode wrote itself.
	set  [nFields][]byte
	cbuf []byte // compacted values
	text []byte // the text of the strings the Event keeps
	// noEsc says that no string of the record scanned has an escape: its
	// text is what is between its quotes.
	noEsc bool
	res   []resourceText
	buf   []byte // a record encoded for its content ID
	idAt  int    // where encode wrote (or would have written) the eventID member
	ident [5][]byte

	// What scan found in userIdentity and resources while checking them,
	// so that decode need not walk them again: the places in the record of
	// the values membersAt would give (end 0: none).
	identScanned bool // userIdentity is an object and identSp holds its members
	identFast    bool // membersAt would have accepted it
	identSp      [5]span
	resScanned   bool // resources is an array and resSp holds its entries
	resFast      bool // walkResources would have accepted it
	resSp        []resourceSpans
}

// resourceSpans is where a resources entry's type and ARN are in the record.
type resourceSpans struct{ typ, arn span }

type resourceText struct{ typ, arn span }

var decoders = sync.Pool{New: func() any { return new(decoder) }}

func getDecoder() *decoder { return decoders.Get().(*decoder) }

// putDecoder returns d to the pool, dropping its references to the record
// and any buffer grown too large to keep.
func putDecoder(d *decoder) {
	for h := d.has; h != 0; h &= h - 1 {
		d.vals[bits.TrailingZeros64(h)] = nil
	}
	d.has = 0
	clear(d.other)
	d.other = d.other[:0]
	clear(d.ident[:])
	const keep = 64 << 10
	if cap(d.cbuf) > keep {
		d.cbuf = nil
	}
	if cap(d.buf) > keep {
		d.buf = nil
	}
	if cap(d.text) > keep {
		d.text = nil
	}
	if cap(d.res) > 1024 {
		d.res = nil
	}
	if cap(d.resSp) > 1024 {
		d.resSp = nil
	}
	decoders.Put(d)
}

// present returns the field of rank r, or nil if the record has none.
func (d *decoder) field(r int) []byte {
	if d.has&(1<<r) == 0 {
		return nil
	}
	return d.vals[r]
}

// setString sets the field of rank r to the JSON string s.
func (d *decoder) setString(r int, s string) {
	d.set[r] = appendJSONString(d.set[r][:0], s)
	d.vals[r] = d.set[r]
	d.at[r] = -1
	d.has |= 1 << r
}

// setRaw sets the field of rank r to the JSON value v.
func (d *decoder) setRaw(r int, v []byte) {
	d.vals[r] = v
	d.at[r] = -1
	d.has |= 1 << r
}

// addText copies the text of the JSON string q into d.text; a value that
// is not a string (nil, null) has the empty text.
func (d *decoder) addText(q []byte) span {
	off := len(d.text)
	if len(q) < 2 || q[0] != '"' {
		return span{off, off}
	}
	inner := q[1 : len(q)-1]
	if d.noEsc || bytes.IndexByte(inner, '\\') < 0 {
		if end := off + len(inner); end <= cap(d.text) {
			// Not append: that stores d.text's pointer too, and the
			// garbage collector's write barrier with it.
			d.text = d.text[:end]
			copy(d.text[off:], inner)
		} else {
			d.text = append(d.text, inner...)
		}
	} else {
		s, _ := unquote(q)
		d.text = append(d.text, s...)
	}
	return span{off, len(d.text)}
}

// fieldText is addText of the field of rank r.
func (d *decoder) fieldText(r int) span { return d.addText(d.field(r)) }

// texts is d.text from an offset on, made one string.
type texts struct {
	base int
	s    string
}

func (t texts) get(sp span) string {
	if sp.end == sp.off {
		return ""
	}
	return t.s[sp.off-t.base : sp.end-t.base]
}

func (d *decoder) seal(from int) texts { return texts{from, string(d.text[from:])} }

// identityKeys is what lookup keys a userIdentity gives.
type identityKeys struct {
	fast     bool // read by walking it; false: ask encoding/json
	user     span
	root     bool // the username is "root"
	accessKV span
}

var (
	identityNames = []string{"type", "userName", "accessKeyId", "arn", "sessionContext"}
	sessionNames  = []string{"sessionIssuer"}
	issuerNames   = []string{"userName"}
	resourceNames = []string{"ARN", "accountId", "type"}
)

// walkIdentity reads a checked userIdentity object as json.Unmarshal into
// identity would, noting the texts of its keys in d.text.
func (d *decoder) walkIdentity(v []byte) identityKeys {
	iv := d.ident[:]
	if !members(v, identityNames, 1<<4, iv) {
		return identityKeys{}
	}
	return d.identityKeysOf(iv)
}

// scannedIdentity is walkIdentity of the userIdentity scan found in raw.
func (d *decoder) scannedIdentity(raw []byte) identityKeys {
	if !d.identFast {
		return identityKeys{}
	}
	iv := d.ident[:]
	clear(iv)
	for i, sp := range d.identSp {
		if sp.end > 0 {
			iv[i] = raw[sp.off:sp.end]
		}
	}
	return d.identityKeysOf(iv)
}

// identityKeysOf is the rest of walkIdentity, given the values of
// identityNames.
func (d *decoder) identityKeysOf(iv [][]byte) identityKeys {
	k := identityKeys{fast: true}
	var issuerUser []byte
	if sc := iv[4]; sc != nil {
		var sv, uv [1][]byte
		if !members(sc, sessionNames, 1, sv[:]) {
			return identityKeys{}
		}
		if is := sv[0]; is != nil {
			if !members(is, issuerNames, 0, uv[:]) {
				return identityKeys{}
			}
			issuerUser = uv[0]
		}
	}
	// A JSON string's text is empty only when it is written "".
	switch {
	case len(iv[1]) > 2:
		k.user = d.addText(iv[1])
	case len(issuerUser) > 2:
		k.user = d.addText(issuerUser)
	default:
		k.root = textIs(iv[0], "Root")
	}
	k.accessKV = d.addText(iv[2])
	return k
}

// walkResources reads a checked resources array as json.Unmarshal into
// []Resource would, noting the texts of their keys in d.res; false: ask
// encoding/json.
func (d *decoder) walkResources(v []byte) bool {
	d.res = d.res[:0]
	s := scanner{b: v, i: 1}
	var rv [3][]byte
	for {
		s.skipWS()
		if s.i >= len(v) {
			return false
		}
		switch v[s.i] {
		case ']':
			return true
		case ',':
			s.i++
			s.skipWS()
		}
		if s.i >= len(v) {
			return false
		}
		switch v[s.i] {
		case 'n': // a null entry is a Resource of empty fields
			s.i += len("null")
		case '{':
			end, ok := membersAt(v, s.i, resourceNames, 0, rv[:])
			if !ok {
				return false
			}
			s.i = end
			d.res = append(d.res, resourceText{typ: d.addText(rv[2]), arn: d.addText(rv[0])})
		default:
			return false
		}
	}
}

// scannedResources is walkResources of the resources scan found in raw.
func (d *decoder) scannedResources(raw []byte) bool {
	d.res = d.res[:0]
	if !d.resFast {
		return false
	}
	for _, r := range d.resSp {
		d.res = append(d.res, resourceText{typ: d.spanText(raw, r.typ), arn: d.spanText(raw, r.arn)})
	}
	return true
}

// spanText is addText of the value at sp in raw (end 0: none).
func (d *decoder) spanText(raw []byte, sp span) span {
	if sp.end == 0 {
		return span{len(d.text), len(d.text)}
	}
	return d.addText(raw[sp.off:sp.end])
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
	t, _ := unquote(q)
	return t == s
}

// members finds in the checked JSON object obj the members named names,
// as json.Unmarshal into a struct of string fields (and of pointers to
// structs: the names of objMask's bits) would: vals[i] is the value of
// names[i], nil when it is absent or null. It returns false when
// json.Unmarshal might see the object differently or refuse it: a name
// written with escapes or not in ASCII, a name that matches one of names
// but for case, a field given twice, or a value of the wrong kind.
func members(obj []byte, names []string, objMask uint32, vals [][]byte) bool {
	_, ok := membersAt(obj, 0, names, objMask, vals)
	return ok
}

// membersAt is members of the object that starts at obj[at]; it also
// returns the offset just past the object.
func membersAt(obj []byte, at int, names []string, objMask uint32, vals [][]byte) (int, bool) {
	clear(vals)
	var seen uint32
	s := scanner{b: obj, i: at + 1}
	for {
		s.skipWS()
		if s.i >= len(obj) {
			return 0, false
		}
		switch obj[s.i] {
		case '}':
			return s.i + 1, true
		case ',':
			s.i++
			s.skipWS()
		}
		if s.i >= len(obj) || obj[s.i] != '"' {
			return 0, false
		}
		// Names are short: a loop beats bytes.IndexByte's call.
		ks, ke := s.i+1, s.i+1
		for ke < len(obj) && obj[ke] != '"' {
			if obj[ke] == '\\' {
				return 0, false
			}
			ke++
		}
		if ke >= len(obj) {
			return 0, false
		}
		key := obj[ks:ke]
		s.i = ke + 1
		if s.skipWS(); s.i >= len(obj) || obj[s.i] != ':' {
			return 0, false
		}
		s.i++
		s.skipWS()
		start := s.i
		if s.skimValue() != nil || s.i == start {
			return 0, false
		}
		v := obj[start:s.i]
		f, ok := matchMember(key, v, names, objMask, &seen)
		if !ok {
			return 0, false
		}
		if f >= 0 {
			vals[f] = v
		}
	}
}

// matchMember is membersAt's judgement of one member, of the name key
// (written without escapes) and the value v: the index of its name in
// names, -1 for a name not among them or a null value, and false when
// json.Unmarshal might see the object differently or refuse it. seen notes
// the names met.
func matchMember(key, v []byte, names []string, objMask uint32, seen *uint32) (int, bool) {
	f := -1
	for i, name := range names {
		if string(key) == name {
			f = i
			break
		}
	}
	if f < 0 {
		if !isASCII(key) {
			return -1, false
		}
		for _, name := range names {
			if len(key) == len(name) && equalFoldASCII(key, name) {
				return -1, false
			}
		}
		return -1, true
	}
	if *seen&(1<<f) != 0 {
		return -1, false
	}
	*seen |= 1 << f
	switch v[0] {
	case 'n':
		return -1, true
	case '"':
		if objMask&(1<<f) != 0 {
			return -1, false
		}
	case '{':
		if objMask&(1<<f) == 0 {
			return -1, false
		}
	default:
		return -1, false
	}
	return f, true
}

// objectMembers checks the object at s.i as value would, and finds its
// members as membersAt would: fast is membersAt's answer, and sp[i] the
// place of the value of names[i] (end 0: none).
func (s *scanner) objectMembers(names []string, objMask uint32, sp []span) (fast bool, err error) {
	clear(sp)
	var seen uint32
	fast = true
	s.depth++
	if s.depth > maxDepth {
		return false, s.errf("nested more than %d deep", maxDepth)
	}
	s.i++
	first := true
	for {
		if s.skipInner(); s.i >= len(s.b) {
			return false, s.errf("unexpected end of input")
		}
		if s.b[s.i] == '}' && first {
			s.i++
			s.depth--
			return fast, nil
		}
		if s.b[s.i] != '"' {
			return false, s.errf("object key must be a string")
		}
		ks := s.i
		s.esc = false
		if err := s.str(); err != nil {
			return false, err
		}
		key := s.b[ks+1 : s.i-1]
		if s.esc {
			fast = false
		}
		if s.skipInner(); s.i >= len(s.b) || s.b[s.i] != ':' {
			return false, s.errf("missing ':' after object key")
		}
		s.i++
		s.skipInner()
		start := s.i
		if err := s.value(); err != nil {
			return false, err
		}
		if fast {
			f, ok := matchMember(key, s.b[start:s.i], names, objMask, &seen)
			if !ok {
				fast = false
			} else if f >= 0 {
				sp[f] = span{start, s.i}
			}
		}
		if s.skipInner(); s.i >= len(s.b) {
			return false, s.errf("unexpected end of input")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			first = false
			if s.skipInner(); s.i < len(s.b) && s.b[s.i] == '}' {
				return false, s.errf("trailing comma")
			}
		case '}':
			s.i++
			s.depth--
			return fast, nil
		default:
			return false, s.errf("invalid character %q after a value", s.b[s.i])
		}
	}
}

// resources checks the array at s.i as value would, noting in d.resSp
// the places of its entries' types and ARNs; fast is walkResources's
// answer.
func (d *decoder) resources(s *scanner) (fast bool, err error) {
	d.resSp = d.resSp[:0]
	fast = true
	s.depth++
	if s.depth > maxDepth {
		return false, s.errf("nested more than %d deep", maxDepth)
	}
	s.i++
	first := true
	var rv [3]span
	for {
		if s.skipInner(); s.i >= len(s.b) {
			return false, s.errf("unexpected end of input")
		}
		if s.b[s.i] == ']' && first {
			s.i++
			s.depth--
			return fast, nil
		}
		switch c := s.b[s.i]; {
		case c == '{':
			ok, err := s.objectMembers(resourceNames, 0, rv[:])
			if err != nil {
				return false, err
			}
			if fast = fast && ok; fast {
				d.resSp = append(d.resSp, resourceSpans{typ: rv[2], arn: rv[0]})
			}
		case c == 'n':
			if err := s.value(); err != nil {
				return false, err
			}
			if fast {
				d.resSp = append(d.resSp, resourceSpans{})
			}
		default:
			fast = false
			if err := s.value(); err != nil {
				return false, err
			}
		}
		if s.skipInner(); s.i >= len(s.b) {
			return false, s.errf("unexpected end of input")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			first = false
			if s.skipInner(); s.i < len(s.b) && s.b[s.i] == ']' {
				return false, s.errf("trailing comma")
			}
		case ']':
			s.i++
			s.depth--
			return fast, nil
		default:
			return false, s.errf("invalid character %q after a value", s.b[s.i])
		}
	}
}

// isASCII reports whether k is in ASCII. encoding/json might match a name
// that is not to a field through Unicode case folding.
func isASCII(k []byte) bool {
	for _, c := range k {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// equalFoldASCII reports whether the ASCII k and name, of one length, are
// equal but for case: whether encoding/json would match k to name.
func equalFoldASCII(k []byte, name string) bool {
	for i, c := range k {
		if n := name[i]; c != n && lower(c) != lower(n) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// scan checks that b is one JSON object and files its members, values
// compacted (a repeated name keeps its last value, as encoding/json does).
// Its errors are splitObject's.
func (d *decoder) scan(b []byte) error {
	d.cbuf = d.cbuf[:0]
	d.identScanned, d.resScanned = false, false
	s := scanner{b: b}
	s.skipWS()
	if s.i >= len(b) || b[s.i] != '{' {
		return errNotObject
	}
	s.i++
	s.depth = 1
	first := true
	next := 0 // the rank a member in CloudTrail's order may have next
	for {
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
		// Records mostly come in CloudTrail's order, their names written
		// plainly, each followed by its colon: look first for the names
		// that may come next, as fieldInfos' keys are written.
		r := -1
		var key []byte
		for g := next; g < nFields; g++ {
			k := fieldInfos[g].key
			if len(b)-s.i >= len(k) && b[s.i+1] == k[1] && string(b[s.i:s.i+len(k)]) == string(k) {
				r, next = g, g+1
				s.i += len(k)
				break
			}
		}
		if r < 0 {
			ks := s.i
			s.esc = false
			if err := s.str(); err != nil {
				return err
			}
			key = b[ks+1 : s.i-1]
			if s.esc {
				k, err := unquote(b[ks:s.i])
				if err != nil {
					return err
				}
				key = []byte(k)
			}
			if s.skipWS(); s.i >= len(b) || b[s.i] != ':' {
				return s.errf("missing ':' after object key")
			}
			s.i++
			if r = rankOf(key); r >= 0 {
				next = r + 1
			}
		}
		s.skipWS()
		start := s.i
		s.ws = false
		var err error
		switch {
		case r == rUserIdentity:
			d.identScanned = s.i < len(b) && b[s.i] == '{'
			if d.identScanned {
				d.identFast, err = s.objectMembers(identityNames, 1<<4, d.identSp[:])
			} else {
				err = s.value()
			}
		case r == rResources:
			d.resScanned = s.i < len(b) && b[s.i] == '['
			if d.resScanned {
				d.resFast, err = d.resources(&s)
			} else {
				err = s.value()
			}
		default:
			err = s.value()
		}
		if err != nil {
			return err
		}
		v := b[start:s.i]
		at := int32(start)
		if s.ws {
			if cap(d.cbuf) < len(b) {
				d.cbuf = make([]byte, 0, len(b))
			}
			n := len(d.cbuf)
			d.cbuf = appendCompact(d.cbuf, v)
			v = d.cbuf[n:len(d.cbuf):len(d.cbuf)]
			at = -1
		}
		if r >= 0 {
			d.vals[r] = v
			d.at[r] = at
			d.has |= 1 << r
		} else {
			d.other = append(d.other, member{key, v})
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
		first = false
	}
	if s.skipWS(); s.i != len(b) {
		return s.errf("data after the object")
	}
	d.noEsc = !s.anyEsc
	if len(d.other) > 1 {
		// Name order; of a repeated name, the last value.
		slices.SortStableFunc(d.other, func(a, b member) int { return bytes.Compare(a.name, b.name) })
		out := d.other[:0]
		for i, m := range d.other {
			if i+1 < len(d.other) && bytes.Equal(d.other[i+1].name, m.name) {
				continue
			}
			out = append(out, m)
		}
		clear(d.other[len(out):])
		d.other = out
	}
	return nil
}

// appendCompact appends the checked JSON value v without its insignificant
// whitespace, as json.Compact writes it.
func appendCompact(dst, v []byte) []byte {
	in := false
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if in {
			switch c {
			case '\\':
				i++
			case '"':
				in = false
			}
			continue
		}
		switch c {
		case '"':
			in = true
		case ' ', '\t', '\n', '\r':
			dst = append(dst, v[start:i]...)
			start = i + 1
		}
	}
	return append(dst, v[start:]...)
}

// encodedSize is about the size of the encoded record (exact unless an
// unknown field's name needs escaping).
func (d *decoder) encodedSize() int {
	n := 2
	for r := range nFields {
		if d.has&(1<<r) != 0 {
			n += len(fieldInfos[r].key) + len(d.vals[r]) + 1
		}
	}
	for _, m := range d.other {
		n += len(m.name) + 4 + len(m.val)
	}
	return n
}

// encode appends the record, its fields in CloudTrail's order: known fields
// in fieldOrder, the rest after them in byte order of their names.
func (d *decoder) encode(out []byte, raw []byte) []byte {
	out = append(out, '{')
	n := 0
	// run is a stretch of raw written as it is: members that follow each
	// other there, written as encode would write them (their name plain,
	// no whitespace), are copied at once. A value at the length of its
	// written name and the comma past the end of the one before is such
	// a member: anything else between them would take more room.
	runOff, runEnd := 0, -1
	for r := range nFields {
		if r == rEventID {
			d.idAt = len(out) + max(runEnd-runOff, 0)
		}
		if d.has&(1<<r) == 0 {
			continue
		}
		key, v, at := fieldInfos[r].key, d.vals[r], int(d.at[r])
		if runEnd >= 0 && at >= 0 && at == runEnd+1+len(key) {
			runEnd = at + len(v)
			n++
			continue
		}
		if runEnd >= 0 {
			out = append(out, raw[runOff:runEnd]...)
			runEnd = -1
		}
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = append(out, key...)
		if at >= 0 {
			runOff, runEnd = at, at+len(v)
		} else {
			out = append(out, v...)
		}
	}
	if runEnd >= 0 {
		out = append(out, raw[runOff:runEnd]...)
	}
	for _, m := range d.other {
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = appendName(out, m.name)
		out = append(out, ':')
		out = append(out, m.val...)
	}
	return append(out, '}')
}

// appendName writes a member name as a JSON string: as it is when it needs
// no escaping (every CloudTrail field name), else through encoding/json.
func appendName(out []byte, k []byte) []byte {
	for _, c := range k {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(string(k))
			return append(out, b...)
		}
	}
	out = append(out, '"')
	out = append(out, k...)
	return append(out, '"')
}

// appendJSONString appends s as json.Marshal writes it.
func appendJSONString(out []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(out, b...)
		}
	}
	out = append(out, '"')
	out = append(out, s...)
	return append(out, '"')
}

// appendTime appends t (UTC, a year of four digits) as TimeFormat writes it.
func appendTime(out []byte, t time.Time) []byte {
	y, mo, day := t.Date()
	h, mi, sec := t.Clock()
	two := func(out []byte, v int) []byte { return append(out, byte('0'+v/10), byte('0'+v%10)) }
	out = two(out, y/100)
	out = two(out, y%100)
	out = append(out, '-')
	out = two(out, int(mo))
	out = append(out, '-')
	out = two(out, day)
	out = append(out, 'T')
	out = two(out, h)
	out = append(out, ':')
	out = two(out, mi)
	out = append(out, ':')
	out = two(out, sec)
	return append(out, 'Z')
}

// canonicalTime reads ts when it is written as appendTime writes it
// (TimeFormat), a valid time from 1970 on: the time as time.Parse would
// give it; false for anything else, which is left to time.Parse.
func canonicalTime(ts string) (time.Time, bool) {
	if len(ts) != len(TimeFormat) || ts[4] != '-' || ts[7] != '-' || ts[10] != 'T' ||
		ts[13] != ':' || ts[16] != ':' || ts[19] != 'Z' {
		return time.Time{}, false
	}
	ok := true
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(ts[i : i+n]) {
			if c < '0' || c > '9' {
				ok = false
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, day := num(0, 4), num(5, 2), num(8, 2)
	h, mi, sec := num(11, 2), num(14, 2), num(17, 2)
	if !ok || y < 1970 || mo < 1 || mo > 12 || day < 1 || day > daysIn(mo, y) || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), day, h, mi, sec, 0, time.UTC), true
}

// daysIn is the number of days of month mo of year y.
func daysIn(mo, y int) int {
	switch mo {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// contentID derives a stable UUID-shaped eventID from the record's content, so
// that a record resent without an eventID is recognized as the same event:
// from the SHA-256 of the account, a zero byte and the record, which
// d.buf holds.
func contentID(sum [sha256.Size]byte) string {
	u := sum[:16]
	u[6] = (u[6] & 0x0f) | 0x50 // version 5 (name-based, SHA)
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	const hex = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hex[c>>4], hex[c&0xf]
		j += 2
	}
	return string(b[:])
}

// keySet gathers lookup keys, each attribute value once, in the order first
// added.
type keySet struct {
	keys []LookupKey
	seen map[LookupKey]struct{} // once there are many
}

func (ks *keySet) add(a Attribute, v string) {
	if v == "" {
		return
	}
	k := LookupKey{a, v}
	if ks.seen != nil {
		if _, ok := ks.seen[k]; ok {
			return
		}
		ks.seen[k] = struct{}{}
		ks.keys = append(ks.keys, k)
		return
	}
	for _, x := range ks.keys {
		if x == k {
			return
		}
	}
	ks.keys = append(ks.keys, k)
	if len(ks.keys) == 32 {
		ks.seen = make(map[LookupKey]struct{}, 64)
		for _, x := range ks.keys {
			ks.seen[x] = struct{}{}
		}
	}
}

func (d *decoder) decode(raw []byte, c Context) (*Event, *FieldError) {
	err := d.scan(raw)
	if errors.Is(err, errNotObject) {
		return nil, fieldErr(ErrInvalidData, "", "record must be a JSON object")
	}
	if err != nil {
		return nil, fieldErr(ErrInvalidData, "", "record is not valid JSON: %v", err)
	}
	for r := range nFields {
		f := &fieldInfos[r]
		if d.has&(1<<r) == 0 || !f.checked {
			continue
		}
		v := d.vals[r]
		if err := checkKind(f.name, f.kind, v); err != nil {
			return nil, err
		}
		if f.max > 0 && f.kind == kString && len(v) > f.max+2 {
			s, _ := unquote(v)
			if len(s) > f.max {
				return nil, fieldErr(ErrFieldTooLong, f.name, "%s is %d bytes; the limit is %d", f.name, len(s), f.max)
			}
		}
	}

	// The texts of the fields the Event keeps, and of the lookup keys,
	// in one string.
	d.text = d.text[:0]
	catS, typeS := d.fieldText(rEventCategory), d.fieldText(rEventType)
	nameS, sourceS := d.fieldText(rEventName), d.fieldText(rEventSource)
	timeS, regionS := d.fieldText(rEventTime), d.fieldText(rAwsRegion)
	accountS, idS := d.fieldText(rRecipientAccountID), d.fieldText(rEventID)
	var ik identityKeys
	if v := d.field(rUserIdentity); len(v) > 0 && v[0] == '{' {
		if d.identScanned {
			ik = d.scannedIdentity(raw)
		} else {
			ik = d.walkIdentity(v)
		}
	}
	resFast := false
	if v := d.field(rResources); len(v) > 0 && v[0] == '[' {
		if d.resScanned {
			resFast = d.scannedResources(raw)
		} else {
			resFast = d.walkResources(v)
		}
	}
	t0 := d.seal(0)

	// The Event and its keys in one allocation, when they fit.
	nkeys := 5 + 3*len(d.res)
	var e *Event
	var ks keySet
	if nkeys <= eventKeys {
		ek := new(eventWithKeys)
		e, ks.keys = &ek.e, ek.keys[:0]
	} else {
		e, ks.keys = new(Event), make([]LookupKey, 0, nkeys)
	}
	// Category and type first: insight records carry their name and source
	// inside insightDetails.
	category := t0.get(catS)
	eventType := t0.get(typeS)
	if category == "" {
		if eventType == "AwsCloudTrailInsight" {
			category = CategoryInsight
		} else {
			category = CategoryManagement
		}
		d.setString(rEventCategory, category)
	}
	switch category {
	case CategoryManagement, CategoryData, CategoryInsight, CategoryNetworkActivity:
	default:
		return nil, fieldErr(ErrInvalidData, "eventCategory", "eventCategory %q is not one of Management, Data, Insight, NetworkActivity", category)
	}
	e.Category = category
	if eventType == "" {
		if category == CategoryInsight {
			eventType = "AwsCloudTrailInsight"
		} else {
			eventType = "AwsApiCall"
		}
		d.setString(rEventType, eventType)
	}

	name, source := t0.get(nameS), t0.get(sourceS)
	if category == CategoryInsight {
		var insight struct {
			EventName   string `json:"eventName"`
			EventSource string `json:"eventSource"`
		}
		det := d.field(rInsightDetails)
		if det == nil || string(det) == "null" {
			return nil, fieldErr(ErrFieldNotFound, "insightDetails", "an Insight record needs insightDetails")
		}
		if err := json.Unmarshal(det, &insight); err != nil {
			return nil, fieldErr(ErrInvalidData, "insightDetails", "insightDetails: %v", err)
		}
		if name == "" {
			name = insight.EventName
		}
		if source == "" {
			source = insight.EventSource
		}
		if name == "" {
			return nil, fieldErr(ErrFieldNotFound, "insightDetails.eventName", "an Insight record needs insightDetails.eventName")
		}
		if source == "" {
			return nil, fieldErr(ErrFieldNotFound, "insightDetails.eventSource", "an Insight record needs insightDetails.eventSource")
		}
	} else {
		if name == "" {
			return nil, fieldErr(ErrFieldNotFound, "eventName", "eventName is required")
		}
		if source == "" {
			return nil, fieldErr(ErrFieldNotFound, "eventSource", "eventSource is required")
		}
	}

	ts := t0.get(timeS)
	if ts == "" {
		return nil, fieldErr(ErrFieldNotFound, "eventTime", "eventTime is required")
	}
	if t, ok := canonicalTime(ts); ok && len(d.vals[rEventTime]) == len(ts)+2 {
		// Already as Decode writes it: the value stays as it is.
		e.Time = t
	} else {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return nil, fieldErr(ErrInvalidData, "eventTime", "eventTime %q is not an RFC 3339 time such as 2026-11-26T09:30:00Z", ts)
		}
		e.Time = t.UTC().Truncate(time.Second)
		if e.Time.Year() < 1970 || e.Time.Year() > 9999 {
			return nil, fieldErr(ErrInvalidData, "eventTime", "eventTime %q is out of range", ts)
		}
		tv := append(d.set[rEventTime][:0], '"')
		tv = append(appendTime(tv, e.Time), '"')
		d.set[rEventTime] = tv
		if !bytes.Equal(tv, d.vals[rEventTime]) { // else it stays in place in raw
			d.setRaw(rEventTime, tv)
		}
	}

	region := t0.get(regionS)
	if region == "" {
		return nil, fieldErr(ErrFieldNotFound, "awsRegion", "awsRegion is required")
	}
	if c.ServesRegion != nil && !c.ServesRegion(region) {
		return nil, fieldErr(ErrInvalidData, "awsRegion", "awsRegion %q is not a region this server serves", region)
	}
	e.Region = region

	account := t0.get(accountS)
	switch {
	case account == "":
		account = c.Account
		d.setString(rRecipientAccountID, account)
	case account == c.Account:
	case c.MayWriteFor != nil && c.MayWriteFor(account):
	default:
		return nil, fieldErr(ErrInvalidRecipient, "recipientAccountId", "recipientAccountId %q is not an account this caller may write events for", account)
	}
	e.Account = account

	if v := d.field(rEventVersion); len(v) <= 2 || v[0] != '"' {
		d.setString(rEventVersion, Version)
	}
	if d.has&(1<<rManagementEvent) == 0 && category != CategoryInsight {
		if category == CategoryManagement {
			d.setRaw(rManagementEvent, litTrue)
		} else {
			d.setRaw(rManagementEvent, litFalse)
		}
	}

	id := t0.get(idS)
	var hashed []byte // the record as hashed for its ID, in d.buf
	var idAt, idLen int
	if id == "" {
		d.buf = append(d.buf[:0], account...)
		d.buf = append(d.buf, 0)
		d.buf = d.encode(d.buf, raw)
		id = contentID(sha256.Sum256(d.buf))
		hashed = d.buf[len(account)+1:]
		idAt = d.idAt - (len(account) + 1)
		if v := d.field(rEventID); v != nil { // null or ""
			idLen = 1 + len(fieldInfos[rEventID].key) + len(v)
		}
		d.setString(rEventID, id)
	}
	e.ID = id

	// Lookup keys.
	ks.add(AttrEventName, name)
	ks.add(AttrEventSource, source)
	if v := d.field(rReadOnly); v != nil && string(v) != "null" {
		if v[0] == 't' {
			ks.add(AttrReadOnly, "true")
		} else {
			ks.add(AttrReadOnly, "false")
		}
	}
	if v := d.field(rUserIdentity); d.has&(1<<rUserIdentity) != 0 && string(v) != "null" {
		if ik.fast {
			user := t0.get(ik.user)
			if ik.root {
				user = "root"
			}
			ks.add(AttrUsername, user)
			ks.add(AttrAccessKeyID, t0.get(ik.accessKV))
		} else {
			var id identity
			if err := json.Unmarshal(v, &id); err != nil {
				return nil, fieldErr(ErrInvalidData, "userIdentity", "userIdentity: %v", err)
			}
			ks.add(AttrUsername, id.username())
			ks.add(AttrAccessKeyID, id.AccessKeyID)
		}
	}
	if v := d.field(rResources); v != nil && string(v) != "null" {
		if resFast {
			for _, r := range d.res {
				arn := t0.get(r.arn)
				ks.add(AttrResourceType, t0.get(r.typ))
				ks.add(AttrResourceName, arn)
				ks.add(AttrResourceName, ShortName(arn))
			}
		} else {
			var rs []Resource
			if err := json.Unmarshal(v, &rs); err != nil {
				return nil, fieldErr(ErrInvalidData, "resources", "resources must be a list of {ARN, accountId, type}: %v", err)
			}
			for _, r := range rs {
				ks.add(AttrResourceType, r.Type)
				ks.add(AttrResourceName, r.ARN)
				ks.add(AttrResourceName, ShortName(r.ARN))
			}
		}
	}
	e.Keys = ks.keys
	if hashed != nil && idAt > 1 {
		// The record as hashed with its eventID member put in: written
		// after a member (eventVersion at least), it starts with a comma.
		v := d.vals[rEventID]
		key := fieldInfos[rEventID].key
		rec := make([]byte, 0, len(hashed)-idLen+1+len(key)+len(v))
		rec = append(rec, hashed[:idAt]...)
		rec = append(rec, ',')
		rec = append(rec, key...)
		rec = append(rec, v...)
		e.Record = append(rec, hashed[idAt+idLen:]...)
	} else {
		e.Record = d.encode(make([]byte, 0, d.encodedSize()), raw)
	}
	if len(e.Record) > MaxRecordBytes {
		return nil, fieldErr(ErrFieldTooLong, "", "completed record is %d bytes; the limit is %d bytes (256 KB)", len(e.Record), MaxRecordBytes)
	}
	return e, nil
}

// eventKeys is how many lookup keys an eventWithKeys holds: enough for a
// record of one resource.
const eventKeys = 8

type eventWithKeys struct {
	e    Event
	keys [eventKeys]LookupKey
}

var (
	litTrue  = []byte("true")
	litFalse = []byte("false")
)
