package event

// EachMember calls fn with the name and the raw value of each member of
// the JSON object obj (a stored record, already checked), in order,
// without building a map: a consumer that reads a few fields of every
// record of the log (Insights) takes them this way. Names are passed as
// written; a name with escapes is passed escaped, so it matches no plain
// name. It returns false if obj is not an object it can walk.
func EachMember(obj []byte, fn func(name, value []byte)) bool {
	s := scanner{b: obj}
	s.skipWS()
	if s.i >= len(obj) || obj[s.i] != '{' {
		return false
	}
	s.i++
	for {
		s.skipWS()
		if s.i >= len(obj) {
			return false
		}
		switch obj[s.i] {
		case '}':
			return true
		case ',':
			s.i++
			s.skipWS()
		}
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
	}
}
