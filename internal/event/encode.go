package event

import (
	"crypto/sha256"
	"time"
)

// Writing a record back: its members in CloudTrail's order, copied from the
// record scanned in runs where they are already as Decode writes them; its
// eventTime as TimeFormat writes it; and the eventID derived from its
// content when it has none.

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
