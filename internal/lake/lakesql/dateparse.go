package lakesql

import (
	"database/sql/driver"
	"strconv"
	"strings"
	"time"
)

// date_parse(string, format): Trino's parse of a timestamp written in a
// MySQL date_format pattern, the inverse of date_format. Fields the
// pattern leaves out are those of 1970-01-01 00:00:00.000.

// dateParse is lake_date_parse(s, format).
func dateParse(a []driver.Value) (driver.Value, error) {
	s, f := asString(a[0]), asString(a[1])
	p := dateParser{in: s}
	year, month, day, hour, minute, sec, nanos := 1970, 1, 1, 0, 0, 0, 0
	yday, pm, twelve := 0, -1, false
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			if !p.literal(f[i : i+1]) {
				return nil, p.malformed()
			}
			continue
		}
		i++
		ok := true
		switch f[i] {
		case 'Y':
			year, ok = p.num(1, 4)
		case 'y':
			var y int
			if y, ok = p.num(2, 2); ok {
				// MySQL's pivot: 70–99 are the 1900s, 00–69 the 2000s.
				year = 2000 + y
				if y >= 70 {
					year = 1900 + y
				}
			}
		case 'm', 'c':
			month, ok = p.num(1, 2)
		case 'd', 'e':
			day, ok = p.num(1, 2)
		case 'j':
			yday, ok = p.num(1, 3)
		case 'H', 'k':
			hour, ok = p.num(1, 2)
		case 'h', 'I', 'l':
			hour, ok = p.num(1, 2)
			twelve = true
		case 'i':
			minute, ok = p.num(1, 2)
		case 's', 'S':
			sec, ok = p.num(1, 2)
		case 'f':
			start := p.pos
			var frac int
			if frac, ok = p.num(1, 9); ok {
				nanos = frac
				for range 9 - (p.pos - start) {
					nanos *= 10
				}
			}
		case 'p':
			pm, ok = p.word([]string{"AM", "PM"})
		case 'r': // hh:mm:ss AM
			hour, minute, sec, ok = p.clock()
			twelve = true
			ok = ok && p.literal(" ")
			if ok {
				pm, ok = p.word([]string{"AM", "PM"})
			}
		case 'T':
			hour, minute, sec, ok = p.clock()
		case 'b':
			var m int
			m, ok = p.word(monthAbbrevs)
			month = m + 1
		case 'M':
			var m int
			m, ok = p.word(monthNames)
			month = m + 1
		case 'a':
			_, ok = p.word(dayAbbrevs)
		case 'W':
			_, ok = p.word(dayNames)
		case 'D', 'U', 'u', 'V', 'v', 'w', 'X', 'x':
			return nil, queryErr("%%%c not supported in date format string", f[i])
		default:
			// Any other character after % stands for itself (%% is %).
			ok = p.literal(f[i : i+1])
		}
		if !ok {
			return nil, p.malformed()
		}
	}
	if p.pos < len(s) {
		return nil, p.malformed()
	}
	if twelve || pm >= 0 {
		if hour < 1 || hour > 12 {
			return nil, outOfField(s, "clockhourOfHalfday", hour, 1, 12)
		}
		hour %= 12
		if pm == 1 {
			hour += 12
		}
	}
	switch {
	case month < 1 || month > 12:
		return nil, outOfField(s, "monthOfYear", month, 1, 12)
	case hour > 23:
		return nil, outOfField(s, "hourOfDay", hour, 0, 23)
	case minute > 59:
		return nil, outOfField(s, "minuteOfHour", minute, 0, 59)
	case sec > 59:
		return nil, outOfField(s, "secondOfMinute", sec, 0, 59)
	}
	last := time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if day < 1 || day > last {
		return nil, outOfField(s, "dayOfMonth", day, 1, last)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC)
	if yday > 0 {
		days := time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC).Sub(time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour)
		if yday > int(days) {
			return nil, outOfField(s, "dayOfYear", yday, 1, int(days))
		}
		t = time.Date(year, 1, yday, hour, minute, sec, nanos, time.UTC)
	}
	ms := t.UnixMilli()
	if ms < minTimeMillis || ms > maxTimeMillis {
		return nil, queryErr("timestamp out of range (years 1 to 9999): %s", s)
	}
	return ms, nil
}

var (
	monthAbbrevs = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	monthNames   = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	dayAbbrevs   = []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	dayNames     = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// dateParser reads in from pos.
type dateParser struct {
	in  string
	pos int
}

// num reads lo to hi digits.
func (p *dateParser) num(lo, hi int) (int, bool) {
	j := p.pos
	for j < len(p.in) && j-p.pos < hi && p.in[j] >= '0' && p.in[j] <= '9' {
		j++
	}
	if j-p.pos < lo {
		return 0, false
	}
	n, err := strconv.Atoi(p.in[p.pos:j])
	p.pos = j
	return n, err == nil
}

// word reads one of words, compared case-insensitively (the longest
// first: "June" before "Jun"), and gives its index.
func (p *dateParser) word(words []string) (int, bool) {
	best := -1
	for i, w := range words {
		if len(p.in)-p.pos >= len(w) && strings.EqualFold(p.in[p.pos:p.pos+len(w)], w) && (best < 0 || len(w) > len(words[best])) {
			best = i
		}
	}
	if best < 0 {
		return 0, false
	}
	p.pos += len(words[best])
	return best, true
}

// clock reads hh:mm:ss.
func (p *dateParser) clock() (h, m, s int, ok bool) {
	if h, ok = p.num(1, 2); ok && p.literal(":") {
		if m, ok = p.num(1, 2); ok && p.literal(":") {
			s, ok = p.num(1, 2)
			return h, m, s, ok
		}
	}
	return 0, 0, 0, false
}

func (p *dateParser) literal(s string) bool {
	if !strings.HasPrefix(p.in[p.pos:], s) {
		return false
	}
	p.pos += len(s)
	return true
}

func (p *dateParser) malformed() error {
	return queryErr("Invalid format: \"%s\" is malformed at \"%s\"", p.in, p.in[p.pos:])
}

func outOfField(s, field string, v, lo, hi int) error {
	return queryErr("Cannot parse \"%s\": Value %d for %s must be in the range [%d,%d]", s, v, field, lo, hi)
}
