package lakesql

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// formatTime writes a timestamp as Lake's results show it.
func formatTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000")
}

// formatValue writes one engine value of column c as Lake's
// GetQueryResults gives it; nil is SQL NULL.
func formatValue(v any, c outCol) *string {
	if v == nil {
		return nil
	}
	var s string
	switch c.t {
	case tTimestamp:
		s = formatTime(toInt(v))
		if c.narrow == dateType {
			s = s[:len("2006-01-02")]
		}
	case tBool:
		s = strconv.FormatBool(toInt(v) != 0)
	case tBigint:
		s = strconv.FormatInt(toInt(v), 10)
	case tDouble:
		s = formatDouble(toFloat(v))
	case tDecimal:
		s = formatDecimal(toFloat(v), decOf(val{t: c.t, narrow: c.narrow}).s)
	case tIntervalDS:
		s = formatIntervalDS(toInt(v))
	case tIntervalYM:
		n := toInt(v)
		sign := ""
		if n < 0 {
			sign, n = "-", -n
		}
		s = sign + strconv.FormatInt(n/12, 10) + "-" + strconv.FormatInt(n%12, 10)
	case tMap, tStruct, tArray:
		s = formatJSON(toText(v), c.f, c.t)
	default:
		s = toText(v)
	}
	return &s
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case bool:
		if x {
			return 1
		}
		return 0
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	case []byte:
		n, _ := strconv.ParseInt(string(x), 10, 64)
		return n
	}
	return 0
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return 0
}

func toText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return formatDouble(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// formatDouble writes a double as Trino (Java) does: 2.5, 3.0, 1.0E7.
func formatDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	a := math.Abs(f)
	if a == 0 || a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64)
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

func formatIntervalDS(ms int64) string {
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	d := ms / 86400000
	ms %= 86400000
	return sign + strconv.FormatInt(d, 10) + " " + time.UnixMilli(ms).UTC().Format("15:04:05.000")
}

// formatJSON writes a map, struct or array (held as JSON text) as Lake
// shows them: {key=value, ...}, [a, b].
func formatJSON(text string, f *field, t typ) string {
	var v any
	if json.Unmarshal([]byte(text), &v) != nil {
		return text
	}
	var b strings.Builder
	writeTrino(&b, v, f, t)
	return b.String()
}

func writeTrino(b *strings.Builder, v any, f *field, t typ) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		if t == tTimestamp {
			if tm, ok := parseTime(x); ok {
				b.WriteString(formatTime(tm.UnixMilli()))
				return
			}
		}
		b.WriteString(x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			b.WriteString(strconv.FormatInt(int64(x), 10))
		} else {
			b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
		}
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeTrino(b, e, f, tStruct)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		if f != nil && len(f.fields) > 0 && t != tMap {
			// A struct: every field of the schema, in order, by its Lake
			// (lower case) name.
			for i, sf := range f.fields {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(strings.ToLower(sf.name) + "=")
				writeTrino(b, lookupFold(x, sf.name), sf, sf.t)
			}
		} else {
			if t == tMap {
				f = nil
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for i, k := range keys {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(k + "=")
				if t == tMap {
					if _, nested := x[k].(map[string]any); nested {
						raw, _ := json.Marshal(x[k])
						b.Write(raw)
						continue
					}
					if _, nested := x[k].([]any); nested {
						raw, _ := json.Marshal(x[k])
						b.Write(raw)
						continue
					}
				}
				writeTrino(b, x[k], nil, tVarchar)
			}
		}
		b.WriteByte('}')
	}
}

func lookupFold(m map[string]any, name string) any {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}
