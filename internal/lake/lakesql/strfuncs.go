package lakesql

import (
	"database/sql/driver"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Trino's string, URL and calendar helpers that CloudTrail queries reach
// for: concat_ws, chr, codepoint, levenshtein_distance,
// hamming_distance, the url_extract_* family (userAgent and request
// parameters carry URLs), last_day_of_month and date.

// stringCall compiles the functions of this file; ok is false for another
// name.
func (c *compiler) stringCall(x *Call, args []val, out val) (val, bool, error) {
	n := len(args)
	bad := func(i int) error { return c.badArg(x, args, i) }
	check := func(types ...typ) error { return c.argsFit(x, args, len(types), len(types), types...) }
	sqls := make([]string, n)
	for i, a := range args {
		sqls[i] = a.sql
	}
	switch x.Name {
	case "concat_ws":
		// concat_ws(separator, s1, s2, …): NULL strings are skipped; a
		// NULL separator makes it NULL.
		if n < 2 {
			return out, true, c.errf(x.Pos, "Unexpected parameters for function concat_ws: %d arguments", n)
		}
		if a := args[1]; n == 2 && a.t == tArray && a.f != nil && a.f.elem == tVarchar && (args[0].t == tVarchar || args[0].t == tNull) {
			// concat_ws(separator, array): its strings, NULLs skipped.
			out.sql, out.t = "lake_array_join("+c.d.jsonText(a)+", "+sqls[0]+", NULL)", tVarchar
			return out, true, nil
		}
		for i := range args {
			if args[i].t != tVarchar && args[i].t != tNull {
				return out, true, bad(i)
			}
		}
		out.sql, out.t = "lake_concat_ws("+strings.Join(sqls, ", ")+")", tVarchar
	case "chr":
		if err := check(tBigint); err != nil {
			return out, true, err
		}
		out.sql, out.t = c.d.goFunc("chr", sqls), tVarchar
	case "codepoint":
		if err := check(tVarchar); err != nil {
			return out, true, err
		}
		out.sql, out.t, out.narrow = c.d.goFunc("codepoint", sqls), tBigint, "integer"
	case "levenshtein_distance", "hamming_distance":
		if err := check(tVarchar, tVarchar); err != nil {
			return out, true, err
		}
		out.sql, out.t = c.d.goFunc(x.Name, sqls), tBigint
	case "url_extract_host", "url_extract_path", "url_extract_protocol", "url_extract_query", "url_extract_fragment":
		if err := check(tVarchar); err != nil {
			return out, true, err
		}
		out.sql, out.t = c.d.goFunc("url_part", []string{sqls[0], quoteSQL(strings.TrimPrefix(x.Name, "url_extract_"))}), tVarchar
	case "url_extract_port":
		if err := check(tVarchar); err != nil {
			return out, true, err
		}
		out.sql, out.t = c.d.goFunc("url_port", sqls), tBigint
	case "url_extract_parameter":
		if err := check(tVarchar, tVarchar); err != nil {
			return out, true, err
		}
		out.sql, out.t = c.d.goFunc("url_parameter", sqls), tVarchar
	case "typeof":
		if n != 1 {
			return out, true, c.errf(x.Pos, "Unexpected parameters for function typeof: %d arguments", n)
		}
		out.sql, out.t = c.arg(typeOf(args[0])), tVarchar
	case "last_day_of_month":
		if err := check(tTimestamp); err != nil {
			return out, true, err
		}
		out.sql, out.t, out.narrow = c.d.goFunc("last_day_of_month", sqls), tTimestamp, dateType
	case "date":
		// date(x) is CAST(x AS date): the day, held as a timestamp.
		out.narrow = dateType
		if n == 1 && args[0].t == tVarchar {
			out.sql, out.t = c.d.truncTime("day", c.d.goFunc("parse_time", sqls)), tTimestamp
			return out, true, nil
		}
		if err := check(tTimestamp); err != nil {
			return out, true, err
		}
		out.sql, out.t = c.d.truncTime("day", sqls[0]), tTimestamp
	default:
		return out, false, nil
	}
	return out, true, nil
}

// concatWS is lake_concat_ws(separator, s…): it sees NULL arguments
// itself (see registerFuncs).
func concatWS(a []driver.Value) (driver.Value, error) {
	if a[0] == nil {
		return nil, nil
	}
	var parts []string
	for _, v := range a[1:] {
		if v != nil {
			parts = append(parts, asString(v))
		}
	}
	return strings.Join(parts, asString(a[0])), nil
}

// chrFunc is lake_chr(n): the character of code point n.
func chrFunc(a []driver.Value) (driver.Value, error) {
	n := asInt(a[0])
	if n < 0 || n > utf8.MaxRune || n >= 0xD800 && n <= 0xDFFF {
		return nil, queryErr("Not a valid Unicode code point: %d", n)
	}
	return string(rune(n)), nil
}

// codepoint is lake_codepoint(s): the code point of a one-character s.
func codepoint(a []driver.Value) (driver.Value, error) {
	s := asString(a[0])
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 || size != len(s) {
		return nil, queryErr("Input string must be a single character string")
	}
	return int64(r), nil
}

// maxDistanceCells bounds levenshtein_distance's work, the product of its
// strings' lengths, as Trino bounds it.
const maxDistanceCells = 1_000_000

// levenshtein is lake_levenshtein_distance(a, b), in characters.
func levenshtein(a []driver.Value) (driver.Value, error) {
	x, y := []rune(asString(a[0])), []rune(asString(a[1]))
	if len(x)*len(y) > maxDistanceCells {
		return nil, queryErr("The combined inputs for Levenshtein distance are too large")
	}
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return int64(prev[len(y)]), nil
}

// hamming is lake_hamming_distance(a, b): positions whose characters
// differ, the strings of the same length.
func hamming(a []driver.Value) (driver.Value, error) {
	x, y := []rune(asString(a[0])), []rune(asString(a[1]))
	if len(x) != len(y) {
		return nil, queryErr("The input strings to hamming_distance function must have the same length")
	}
	n := int64(0)
	for i := range x {
		if x[i] != y[i] {
			n++
		}
	}
	return n, nil
}

// parseURL reads a URL as Trino's url functions do (Java's URI): NULL
// (false) for text that is not one, which includes text with a character
// URI does not take unescaped (a space, a quote, a brace…).
func parseURL(s string) (*url.URL, bool) {
	if strings.ContainsAny(s, " \"<>\\^`{|}") || strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return nil, false
	}
	u, err := url.Parse(s)
	return u, err == nil
}

// urlPart is lake_url_part(url, part): host, path, protocol, query or
// fragment, decoded (%XX, not '+') as URI's getters give them; a part the
// URL does not have is the empty string.
func urlPart(a []driver.Value) (driver.Value, error) {
	text := asString(a[0])
	u, ok := parseURL(text)
	if !ok {
		return nil, nil
	}
	switch asString(a[1]) {
	case "host":
		// As Java's URI gives it: an IPv6 address keeps its brackets.
		v := u.Host
		if p := u.Port(); p != "" {
			v = strings.TrimSuffix(v, ":"+p)
		}
		return v, nil
	case "path":
		return u.Path, nil
	case "protocol":
		// As written: Go's parser lowers the scheme's case, URI does not.
		return text[:len(u.Scheme)], nil
	case "query":
		return urlQuery(u), nil
	default:
		return u.Fragment, nil
	}
}

// urlQuery is u's query decoded as URI.getQuery decodes it: %XX only.
func urlQuery(u *url.URL) string {
	if q, err := url.PathUnescape(u.RawQuery); err == nil {
		return q
	}
	return u.RawQuery
}

// urlPort is lake_url_port(url): the port written in it, else NULL.
func urlPort(a []driver.Value) (driver.Value, error) {
	u, ok := parseURL(asString(a[0]))
	if !ok || u.Port() == "" {
		return nil, nil
	}
	n := int64(0)
	for _, d := range u.Port() {
		n = n*10 + int64(d-'0')
	}
	return n, nil
}

// urlParameter is lake_url_parameter(url, name): the first value of the
// query parameter name, else NULL. As Trino's, it splits the decoded
// query (URI.getQuery) at '&' and '=': %23 reads as '#', '+' stays '+'.
func urlParameter(a []driver.Value) (driver.Value, error) {
	u, ok := parseURL(asString(a[0]))
	if !ok || u.RawQuery == "" && !u.ForceQuery {
		return nil, nil
	}
	name := asString(a[1])
	for _, kv := range strings.Split(urlQuery(u), "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k == name {
			return v, nil
		}
	}
	return nil, nil
}

// lastDayOfMonth is lake_last_day_of_month(ts): the last day of ts's
// month, at midnight.
func lastDayOfMonth(a []driver.Value) (driver.Value, error) {
	t := time.UnixMilli(asInt(a[0])).UTC()
	return time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, time.UTC).UnixMilli(), nil
}

// typeOf is Trino's name of v's type, as typeof(v) gives it: varchar(n)
// for a string literal, row(…) and array(…) spelled out.
func typeOf(v val) string {
	switch {
	case v.t == tVarchar && v.lit != nil && v.lit.Kind == litString:
		return "varchar(" + strconv.Itoa(utf8.RuneCountInString(v.lit.Text)) + ")"
	case v.t == tStruct && v.f != nil && len(v.f.fields) > 0:
		return rowTypeName(v.f)
	case v.t == tArray && v.f != nil && v.f.elem != tNull:
		return "array(" + v.f.elem.String() + ")"
	case v.t == tArray && v.f != nil && len(v.f.fields) > 0:
		return "array(" + rowTypeName(v.f) + ")"
	}
	return v.typeName()
}

func rowTypeName(f *field) string {
	parts := make([]string, len(f.fields))
	for i, c := range f.fields {
		t := c.t.String()
		switch {
		case c.t == tStruct:
			t = rowTypeName(c)
		case c.t == tArray && c.elem != tNull:
			t = "array(" + c.elem.String() + ")"
		case c.t == tArray:
			t = "array(" + rowTypeName(c) + ")"
		}
		parts[i] = strings.ToLower(c.name) + " " + t
	}
	return "row(" + strings.Join(parts, ", ") + ")"
}
