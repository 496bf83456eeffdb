package event

import "bytes"

// EachMember calls fn with the name and the raw value of each member of
// the JSON object obj (a stored record, already checked), in order,
// without building a map: a consumer that reads a few fields of every
// record of the log (Insights) takes them this way. Names are passed as
// written; a name with escapes is passed escaped, so it matches no plain
// name. It returns false if obj is not an object it can walk.
func EachMember(obj []byte, fn func(name, value []byte)) bool {
	return eachItem(obj, '{', '}', func(s *scanner) bool {
		if s.i >= len(obj) || obj[s.i] != '"' {
			return false
		}
		ks := s.i + 1
		ke := ks
		for ke < len(obj) && obj[ke] != '"' {
			if obj[ke] == '\\' {
				ke++
			}
			ke++
		}
		if ke >= len(obj) {
			return false
		}
		s.i = ke + 1
		if s.skipWS(); s.i >= len(obj) || obj[s.i] != ':' {
			return false
		}
		s.i++
		s.skipWS()
		start := s.i
		if s.skimValue() != nil || s.i == start {
			return false
		}
		fn(obj[ks:ke], obj[start:s.i])
		return true
	})
}

// eachItem walks the container b that open starts and end ends (a value
// already checked: the walk skims), calling item with s at the start of
// each member or element; item moves s past it, and reports whether it
// could. eachItem reports whether it walked the whole container.
func eachItem(b []byte, open, end byte, item func(s *scanner) bool) bool {
	s := scanner{b: b}
	s.skipWS()
	if s.i >= len(b) || b[s.i] != open {
		return false
	}
	s.i++
	for {
		s.skipWS()
		if s.i >= len(b) {
			return false
		}
		switch b[s.i] {
		case end:
			return true
		case ',':
			s.i++
			s.skipWS()
		}
		if !item(&s) {
			return false
		}
	}
}

// jsonMaxDepth is how deep encoding/json lets values nest.
const jsonMaxDepth = 10000

// WalkObject checks that b is one JSON object, taking exactly what
// encoding/json's Unmarshal takes (invalid UTF-8 in strings too, nesting
// up to its depth), and calls fn with the name (quoted, as written) and
// the raw value of each member, in order. fn is called as the walk goes:
// on an error it may have seen members before the fault. A reader of a
// few fields of any record (trail.ParseFields) takes them this way in one
// pass, without building a map.
func WalkObject(b []byte, fn func(name, value []byte)) error {
	s := scanner{b: b, anyUTF8: true, depth: maxDepth - jsonMaxDepth + 1}
	err := s.object(func(quoted []byte) error {
		vs := s.i
		if err := s.value(); err != nil {
			return err
		}
		fn(quoted, b[vs:s.i])
		return nil
	})
	if err == errNotObject {
		// Whatever else b is, say what encoding/json would find wrong.
		s = scanner{b: b, anyUTF8: true, depth: maxDepth - jsonMaxDepth}
		s.skipWS()
		if verr := s.value(); verr != nil {
			return verr
		}
	}
	return err
}

// EachElement calls fn with each element of the JSON array arr (a value
// already checked, such as one WalkObject passed), in order, without
// building a slice; an element is passed without the whitespace around
// it. It returns false if arr is not an array it can walk.
func EachElement(arr []byte, fn func(i int, elem []byte)) bool {
	n := 0
	return eachItem(arr, '[', ']', func(s *scanner) bool {
		start := s.i
		if s.skimValue() != nil || s.i == start {
			return false
		}
		fn(n, bytes.TrimRight(arr[start:s.i], " \t\r\n"))
		n++
		return true
	})
}
