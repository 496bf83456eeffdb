package event

import (
	"bytes"
	"slices"
)

// Scanning a record: scan checks it and files its members by rank in one
// pass, reading userIdentity and resources on the way as json.Unmarshal
// would (or saying it cannot tell), so that the rules need not walk them
// again.

// scan checks that b is one JSON object and files its members, values
// compacted (a repeated name keeps its last value, as encoding/json does).
// Its errors are splitObject's.
func (d *decoder) scan(b []byte) error {
	d.cbuf = d.cbuf[:0]
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
			var err error
			if r, key, err = s.memberName(); err != nil {
				return err
			}
			if r >= 0 {
				next = r + 1
			}
		}
		s.skipWS()
		start := s.i
		s.ws = false
		var err error
		switch {
		case r == rUserIdentity:
			if s.i < len(b) && b[s.i] == '{' {
				d.identFast, err = s.objectMembers(identityNames, 1<<4, d.identSp[:])
			} else {
				err = s.value()
			}
		case r == rResources:
			if s.i < len(b) && b[s.i] == '[' {
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
	d.sortOther()
	return nil
}

// memberName reads the member name at s.i, and the colon after it, the
// slow way: the name's rank (-1 for a name not in fieldOrder) and the
// name, unescaped.
func (s *scanner) memberName() (r int, key []byte, err error) {
	ks := s.i
	s.esc = false
	if err := s.str(); err != nil {
		return -1, nil, err
	}
	key = s.b[ks+1 : s.i-1]
	if s.esc {
		k, err := Unquote(s.b[ks:s.i])
		if err != nil {
			return -1, nil, err
		}
		key = []byte(k)
	}
	if s.skipWS(); s.i >= len(s.b) || s.b[s.i] != ':' {
		return -1, nil, s.errf("missing ':' after object key")
	}
	s.i++
	return rankOf(key), key, nil
}

// sortOther puts the members not in fieldOrder in name order, keeping of a
// repeated name its last value.
func (d *decoder) sortOther() {
	if len(d.other) < 2 {
		return
	}
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
// the places of its entries' types, ARNs and accounts; fast is whether
// membersAt accepts every entry.
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
				d.resSp = append(d.resSp, resourceSpans{typ: rv[2], arn: rv[0], acct: rv[1]})
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

// scannedIdentity reads the userIdentity object scan found in raw as
// json.Unmarshal into identity would, noting the texts of its keys in
// d.text; not fast when it cannot tell.
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

// identityKeysOf is the rest of scannedIdentity, given the values of
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

// scannedResources reads the resources array scan found in raw as
// json.Unmarshal into []Resource would, noting the texts of each entry's
// type and ARN (and accountId when accounts is set) in d.res; false: ask
// encoding/json.
func (d *decoder) scannedResources(raw []byte, accounts bool) bool {
	d.res = d.res[:0]
	if !d.resFast {
		return false
	}
	for _, r := range d.resSp {
		t := resourceSpans{typ: d.spanText(raw, r.typ), arn: d.spanText(raw, r.arn)}
		if accounts {
			t.acct = d.spanText(raw, r.acct)
		}
		d.res = append(d.res, t)
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
