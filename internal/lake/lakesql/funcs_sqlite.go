package lakesql

import (
	"cmp"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
)

// The functions below are Lake's functions SQLite lacks, registered with
// the driver under lake_ names (the compiler is the only one that writes
// them). Each returns NULL for a NULL argument, as Trino's functions do.

var registerOnce sync.Once

type sqlFunc struct {
	name  string
	nargs int32
	fn    func(args []driver.Value) (driver.Value, error)
}

func registerFuncs() {
	registerOnce.Do(func() {
		for _, f := range lakeFuncs() {
			fn := f.fn
			sqlite.MustRegisterDeterministicScalarFunction("lake_"+f.name, f.nargs,
				func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
					for _, a := range args {
						if a == nil {
							return nil, nil
						}
					}
					return fn(args)
				})
		}
		registerStatsAggs()
		// concat_ws skips NULL strings.
		sqlite.MustRegisterDeterministicScalarFunction("lake_concat_ws", -1,
			func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) { return concatWS(args) })
		// array_join sees NULL arguments: a NULL replacement means skip.
		sqlite.MustRegisterDeterministicScalarFunction("lake_array_join", 3,
			func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) { return arrayJoin(args) })
		sqlite.MustRegisterFunction("lake_max_by", &sqlite.FunctionImpl{NArgs: 3, Deterministic: true,
			MakeAggregate: func(sqlite.FunctionContext) (sqlite.AggregateFunction, error) { return &maxBy{}, nil }})
	})
}

// maxBy is the aggregate lake_max_by(x, y, sign): x of the row with the
// greatest y times sign (1: max_by, -1: min_by); rows whose y is NULL are
// skipped, the first row wins a tie.
type maxBy struct {
	x, y driver.Value
	seen bool
}

func (m *maxBy) Step(_ *sqlite.FunctionContext, a []driver.Value) error {
	if a[1] == nil {
		return nil
	}
	if !m.seen || compareValues(a[1], m.y)*int(asInt(a[2])) > 0 {
		m.x, m.y, m.seen = a[0], a[1], true
	}
	return nil
}

func (m *maxBy) WindowInverse(*sqlite.FunctionContext, []driver.Value) error {
	return errors.New("max_by is not a window function")
}

func (m *maxBy) WindowValue(*sqlite.FunctionContext) (driver.Value, error) { return m.x, nil }

func (m *maxBy) Final(*sqlite.FunctionContext) {}

// compareValues orders two non-NULL engine values as SQLite does: numbers
// before text, numbers by value, text by bytes.
func compareValues(a, b driver.Value) int {
	an, aNum := numberOf(a)
	bn, bNum := numberOf(b)
	switch {
	case aNum && bNum:
		if ai, ok := a.(int64); ok {
			if bi, ok := b.(int64); ok {
				return cmp.Compare(ai, bi)
			}
		}
		return cmp.Compare(an, bn)
	case aNum:
		return -1
	case bNum:
		return 1
	}
	return strings.Compare(asString(a), asString(b))
}

func numberOf(v driver.Value) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case bool:
		return float64(asInt(x)), true
	}
	return 0, false
}

func lakeFuncs() []sqlFunc {
	return []sqlFunc{
		{"parse_time", 1, func(a []driver.Value) (driver.Value, error) {
			t, ok := parseTime(asString(a[0]))
			if !ok {
				return nil, nil
			}
			return t.UnixMilli(), nil
		}},
		{"format_time", 1, func(a []driver.Value) (driver.Value, error) {
			return formatTime(asInt(a[0])), nil
		}},
		{"iso8601", 1, func(a []driver.Value) (driver.Value, error) {
			return time.UnixMilli(asInt(a[0])).UTC().Format("2006-01-02T15:04:05.000Z"), nil
		}},
		{"map_get", 2, func(a []driver.Value) (driver.Value, error) {
			var m map[string]json.RawMessage
			if json.Unmarshal([]byte(asString(a[0])), &m) != nil {
				return nil, nil
			}
			v, ok := m[asString(a[1])]
			if !ok {
				return nil, nil
			}
			return mapValueText(v), nil
		}},
		{"map_keys", 1, func(a []driver.Value) (driver.Value, error) {
			var m map[string]json.RawMessage
			if json.Unmarshal([]byte(asString(a[0])), &m) != nil {
				return nil, nil
			}
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			slices.Sort(keys) // Trino leaves the order open; sorted is stable
			b, err := json.Marshal(keys)
			return string(b), err
		}},
		{"map_size", 1, func(a []driver.Value) (driver.Value, error) {
			var m map[string]json.RawMessage
			if json.Unmarshal([]byte(asString(a[0])), &m) != nil {
				return nil, nil
			}
			return int64(len(m)), nil
		}},
		{"like", -1, likeFunc},
		// to_bigint and to_double take the type the query named (empty
		// for TRY_CAST: NULL instead of an error).
		{"to_bigint", 2, func(a []driver.Value) (driver.Value, error) {
			n, err := strconv.ParseInt(strings.TrimSpace(asString(a[0])), 10, 64)
			if err != nil {
				return castFailed(a[0], a[1])
			}
			return n, nil
		}},
		// to_int(x, name, intType): CAST of a double, a varchar or a
		// bigint to an integer type, failing (NULL for TRY_CAST: name
		// empty) on a value out of the type's range, where SQLite's CAST
		// clamps.
		{"to_int", 3, castToInt},
		{"to_double", 2, func(a []driver.Value) (driver.Value, error) {
			f, err := strconv.ParseFloat(strings.TrimSpace(asString(a[0])), 64)
			if err != nil {
				return castFailed(a[0], a[1])
			}
			return f, nil
		}},
		// Checked bigint arithmetic: SQLite turns an integer result out of
		// range into a float, Trino fails the query; the last argument is
		// 1 inside try(…), where an overflow is NULL instead.
		{"add", 3, func(a []driver.Value) (driver.Value, error) { return checkedArith("addition", a) }},
		{"sub", 3, func(a []driver.Value) (driver.Value, error) { return checkedArith("subtraction", a) }},
		{"mul", 3, func(a []driver.Value) (driver.Value, error) { return checkedArith("multiplication", a) }},
		// The same for integer, smallint and tinyint operands (a CAST's):
		// the last argument names the type whose range the result must
		// fit in ("integer addition overflow: 2147483647 + 1").
		{"add_narrow", 4, func(a []driver.Value) (driver.Value, error) { return checkedArith("addition", a) }},
		{"sub_narrow", 4, func(a []driver.Value) (driver.Value, error) { return checkedArith("subtraction", a) }},
		{"mul_narrow", 4, func(a []driver.Value) (driver.Value, error) { return checkedArith("multiplication", a) }},
		{"neg", 2, func(a []driver.Value) (driver.Value, error) { return checkedNeg(a[0], a[1], "bigint") }},
		// neg_narrow(x, inTry, type): the same for integer, smallint
		// and tinyint ("integer negation overflow: -2147483648").
		{"neg_narrow", 3, func(a []driver.Value) (driver.Value, error) { return checkedNeg(a[0], a[1], asString(a[2])) }},
		// abs(x, inTry, type): abs of the smallest value of x's integer
		// type is out of range ("Value -2147483648 is out of range for
		// abs(integer)").
		{"abs", 3, func(a []driver.Value) (driver.Value, error) {
			x, ok := a[0].(int64)
			typ, rng := intRange(a[2])
			switch {
			case !ok:
				return math.Abs(asFloat(a[0])), nil
			case x != rng[0]:
				return max(x, -x), nil
			case asInt(a[1]) == 1:
				return nil, nil
			}
			return nil, fmt.Errorf("%s: Value %d is out of range for abs(%s)", overflowMarker, x, typ)
		}},
		// fdiv and fmod(x, y): x / y and x % y of doubles, as Java's
		// (and Trino's) are: a zero divisor gives ±Infinity, or NaN
		// (which SQLite holds as NULL).
		{"fdiv", 2, func(a []driver.Value) (driver.Value, error) { return asFloat(a[0]) / asFloat(a[1]), nil }},
		{"fmod", 2, func(a []driver.Value) (driver.Value, error) { return math.Mod(asFloat(a[0]), asFloat(a[1])), nil }},
		// Decimal / and % (ddiv, dmod(x, y, scale, inTry)), CAST to
		// decimal (to_decimal(x, p, s, name)) and from it to varchar
		// (decimal_text(x, scale)): decimal.go.
		// sha256_base64(text): eventJsonChecksum, the base64 of the SHA-256
		// of a record's JSON (as CloudTrail Lake's eventDataChecksum is
		// of a non-AWS event's data).
		{"sha256_base64", 1, func(a []driver.Value) (driver.Value, error) {
			sum := sha256.Sum256([]byte(asString(a[0])))
			return base64.StdEncoding.EncodeToString(sum[:]), nil
		}},
		// split, regexp_extract_all, lpad, rpad, ends_with (arrays.go).
		{"split", 2, splitFunc},
		{"split_limit", 3, splitFunc},
		{"regexp_extract_all", 3, regexpExtractAll},
		{"lpad", 3, padFunc(true)},
		{"rpad", 3, padFunc(false)},
		{"date_parse", 2, dateParse},
		// strfuncs.go
		{"chr", 1, chrFunc},
		{"codepoint", 1, codepoint},
		{"levenshtein_distance", 2, levenshtein},
		{"hamming_distance", 2, hamming},
		{"url_part", 2, urlPart},
		{"url_port", 1, urlPort},
		{"url_parameter", 2, urlParameter},
		{"last_day_of_month", 1, lastDayOfMonth},
		{"json_extract", 2, jsonExtract},
		{"json_array_length", 1, jsonArrayLength},
		{"json_parse", 1, jsonParse},
		{"ends_with", 2, func(a []driver.Value) (driver.Value, error) {
			return strings.HasSuffix(asString(a[0]), asString(a[1])), nil
		}},
		// Trino's math functions (mathfuncs.go).
		{"math", -1, mathFunc},
		{"sign", 1, mathSign},
		{"math_is", 2, mathIs},
		{"ddiv", 4, func(a []driver.Value) (driver.Value, error) { return decimalDiv(false, a) }},
		{"dmod", 4, func(a []driver.Value) (driver.Value, error) { return decimalDiv(true, a) }},
		{"to_decimal", 4, castToDecimal},
		{"dround", 2, decimalRound},
		{"dtrunc", 4, decimalTruncate},
		{"decimal_text", 2, func(a []driver.Value) (driver.Value, error) {
			if a[0] == nil {
				return nil, nil
			}
			return formatDecimal(asFloat(a[0]), int(asInt(a[1]))), nil
		}},
		// double_text(x): CAST(double AS varchar), written as Trino
		// writes a double (1.0E20, 0.30000000000000004), not as SQLite
		// does (1.0e+20, 0.3).
		{"double_text", 1, func(a []driver.Value) (driver.Value, error) { return formatDouble(asFloat(a[0])), nil }},
		// round_int(x, d, inTry, type): round(x, d) of an integer type.
		{"round_int", 4, roundInt},
		// round_double(x, d): round(x, d) of a double, as Trino's: |x|
		// times 10^d in double arithmetic, rounded half up, divided back,
		// the sign put back (so round(2.675e0, 2) is 2.68 and round(-0.4e0)
		// is -0.0, where SQLite's round reads the exact binary value).
		{"round_double", 2, func(a []driver.Value) (driver.Value, error) {
			if a[0] == nil || a[1] == nil {
				return nil, nil
			}
			return roundDouble(asFloat(a[0]), asInt(a[1])), nil
		}},
		// lake_div and lake_mod(x, y, inTry): Trino's integer / and %,
		// failing (NULL inside try) on a zero divisor, and / on the
		// smallest bigint / -1, whose result is out of range. x % -1 is 0.
		// div_narrow(x, y, inTry, type) is / of a narrower integer type.
		{"div", 3, func(a []driver.Value) (driver.Value, error) { return checkedDiv(a[0], a[1], a[2], "bigint") }},
		{"div_narrow", 4, func(a []driver.Value) (driver.Value, error) { return checkedDiv(a[0], a[1], a[2], asString(a[3])) }},
		{"mod", 3, func(a []driver.Value) (driver.Value, error) {
			if a[0] == nil || a[1] == nil {
				return nil, nil
			}
			if asInt(a[1]) == 0 {
				if asInt(a[2]) == 1 {
					return nil, nil
				}
				return nil, errDivZero
			}
			if asInt(a[1]) == -1 {
				return int64(0), nil
			}
			return asInt(a[0]) % asInt(a[1]), nil
		}},
		{"date_trunc", 2, func(a []driver.Value) (driver.Value, error) {
			return truncCalendar(asString(a[0]), asInt(a[1])), nil
		}},
		// add_months(ts, n, inTry) and time_add(ts, n, sign, unit, inTry):
		// date_add and timestamp ± interval, failing (NULL inside try)
		// on a result outside years 1 to 9999, where the bare arithmetic
		// wraps around or reaches year 275813.
		{"add_months", 3, func(a []driver.Value) (driver.Value, error) {
			return checkedAddMonths(a[0], a[1], a[2])
		}},
		{"time_add", 5, func(a []driver.Value) (driver.Value, error) {
			return checkedTimeAdd(a[0], a[1], asInt(a[2]), asString(a[3]), a[4])
		}},
		{"month_diff", 2, func(a []driver.Value) (driver.Value, error) {
			t1, t2 := time.UnixMilli(asInt(a[0])).UTC(), time.UnixMilli(asInt(a[1])).UTC()
			return int64(monthDiff(t1, t2)), nil
		}},
		{"reverse", 1, func(a []driver.Value) (driver.Value, error) {
			r := []rune(asString(a[0]))
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
			return string(r), nil
		}},
		{"floor", 1, func(a []driver.Value) (driver.Value, error) { return math.Floor(asFloat(a[0])), nil }},
		{"ceil", 1, func(a []driver.Value) (driver.Value, error) { return math.Ceil(asFloat(a[0])), nil }},
		{"time_part", 2, func(a []driver.Value) (driver.Value, error) {
			return timePart(asString(a[0]), time.UnixMilli(asInt(a[1])).UTC()), nil
		}},
		{"split_part", 3, func(a []driver.Value) (driver.Value, error) {
			s, d, n := asString(a[0]), asString(a[1]), asInt(a[2])
			if n < 1 {
				return nil, fmt.Errorf("index must be greater than zero")
			}
			parts := strings.Split(s, d)
			if d == "" {
				parts = []string{s}
			}
			if int(n) > len(parts) {
				return nil, nil
			}
			return parts[n-1], nil
		}},
		{"regexp_like", 2, func(a []driver.Value) (driver.Value, error) {
			re, err := compileRegexp(asString(a[1]))
			if err != nil {
				return nil, err
			}
			return re.MatchString(asString(a[0])), nil
		}},
		{"regexp_extract", 3, func(a []driver.Value) (driver.Value, error) {
			re, err := compileRegexp(asString(a[1]))
			if err != nil {
				return nil, err
			}
			g := int(asInt(a[2]))
			if g < 0 || g > re.NumSubexp() {
				return nil, fmt.Errorf("pattern has %d groups. Cannot access group %d", re.NumSubexp(), g)
			}
			m := re.FindStringSubmatchIndex(asString(a[0]))
			if m == nil || m[2*g] < 0 {
				return nil, nil
			}
			return asString(a[0])[m[2*g]:m[2*g+1]], nil
		}},
		{"regexp_replace", 3, func(a []driver.Value) (driver.Value, error) {
			re, err := compileRegexp(asString(a[1]))
			if err != nil {
				return nil, err
			}
			return replaceBounded(re, asString(a[0]), asString(a[2]), MaxValueBytes)
		}},
		{"date_format", 2, func(a []driver.Value) (driver.Value, error) {
			return formatBounded("date_format", mysqlFormat, asInt(a[0]), asString(a[1]))
		}},
		{"format_datetime", 2, func(a []driver.Value) (driver.Value, error) {
			return formatBounded("format_datetime", jodaFormat, asInt(a[0]), asString(a[1]))
		}},
		{"json_extract_scalar", 2, func(a []driver.Value) (driver.Value, error) {
			if err := checkJSONPath(asString(a[1])); err != nil {
				return nil, err
			}
			return jsonExtractScalar(asString(a[0]), asString(a[1])), nil
		}},
		{"array_contains", 2, func(a []driver.Value) (driver.Value, error) {
			var arr []any
			if json.Unmarshal([]byte(asString(a[0])), &arr) != nil {
				return nil, nil
			}
			want := fmt.Sprint(a[1])
			for _, e := range arr {
				if fmt.Sprint(e) == want {
					return true, nil
				}
			}
			return false, nil
		}},
	}
}

// valueTooBigPrefix begins the error of a function whose result would be
// over MaxValueBytes (runErr passes it on as the query's error).
const valueTooBigPrefix = "The value "

// errValueTooBig is the error of function fn whose result would be over
// the limit of limit bytes: raised while the result is built, before it
// takes more memory than the limit.
func errValueTooBig(fn string, limit int) error {
	return fmt.Errorf("%s%s builds is over the limit of %d MiB: build shorter strings, or replace fewer matches", valueTooBigPrefix, fn, limit>>20)
}

// replaceBounded is regexp_replace: every match of re in s replaced by
// repl (with $1, ${name} for the groups), failing with errValueTooBig once
// the result would pass limit bytes, without building more than about
// limit bytes. Without a '$' the replacement's length is known and the
// result is counted as it is built; with one, its length per match is at
// most the template's plus a group's length per '$', and the query fails
// when that bound is over the limit (a conservative bound: it can refuse
// a result a little under the limit, only for values of megabytes).
func replaceBounded(re *regexp.Regexp, s, repl string, limit int) (driver.Value, error) {
	if !strings.Contains(repl, "$") {
		n, over := 0, false
		out := re.ReplaceAllStringFunc(s, func(string) string {
			n++
			if over || n*len(repl) > limit {
				over = true
				return ""
			}
			return repl
		})
		if over || len(out) > limit {
			return nil, errValueTooBig("regexp_replace", limit)
		}
		return out, nil
	}
	n, matched := 0, 0
	re.ReplaceAllStringFunc(s, func(m string) string {
		n++
		matched += len(m)
		return ""
	})
	dollars := strings.Count(repl, "$")
	if bound := int64(len(s)-matched) + int64(n)*int64(len(repl)) + int64(dollars)*int64(matched); bound > int64(limit) {
		return nil, errValueTooBig("regexp_replace", limit)
	}
	return re.ReplaceAllString(s, repl), nil
}

// formatBounded formats the time ms with format's pattern, refusing
// patterns whose result could pass MaxValueBytes (a specifier is at most
// nine bytes out per byte in, e.g. %W: Wednesday).
func formatBounded(fn string, format func(time.Time, string) string, ms int64, pattern string) (driver.Value, error) {
	if len(pattern) > MaxValueBytes/9 {
		return nil, errValueTooBig(fn, MaxValueBytes)
	}
	return format(time.UnixMilli(ms).UTC(), pattern), nil
}

func likeFunc(a []driver.Value) (driver.Value, error) {
	esc := rune(-1)
	if len(a) == 3 {
		e := []rune(asString(a[2]))
		if len(e) != 1 {
			return nil, fmt.Errorf("escape string must be a single character")
		}
		esc = e[0]
	}
	re, err := compileRegexp(likeToRegexp(asString(a[1]), esc))
	if err != nil {
		return nil, err
	}
	return re.MatchString(asString(a[0])), nil
}

// likeToRegexp turns a LIKE pattern into an anchored regular expression.
func likeToRegexp(p string, esc rune) string {
	var b strings.Builder
	b.WriteString("(?s)^")
	escaped := false
	for _, r := range p {
		switch {
		case escaped:
			b.WriteString(regexp.QuoteMeta(string(r)))
			escaped = false
		case r == esc:
			escaped = true
		case r == '%':
			b.WriteString(".*")
		case r == '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return b.String()
}

// regexpCache memoizes compiled patterns: a query calls regexp_like once
// per row with the same pattern. It is bounded, and only ever holds
// compiled forms of strings, so sharing it between queries leaks nothing.
var regexpCache sync.Map

var regexpCacheSize struct {
	sync.Mutex
	n int
}

func compileRegexp(p string) (*regexp.Regexp, error) {
	if re, ok := regexpCache.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	regexpCacheSize.Lock()
	if regexpCacheSize.n >= 512 {
		regexpCache.Clear()
		regexpCacheSize.n = 0
	}
	regexpCacheSize.n++
	regexpCacheSize.Unlock()
	regexpCache.Store(p, re)
	return re, nil
}

func asString(v driver.Value) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// errDivZero is Trino's error for an integer divided by zero.
//
//lint:ignore ST1005 Trino's message, word for word
var errDivZero = errors.New("Division by zero")

// castFailed is the answer of a cast of a value that does not convert to
// the type named: NULL for TRY_CAST (no name), else the query's error.
func castFailed(v, name driver.Value) (driver.Value, error) {
	if asString(name) == "" {
		return nil, nil
	}
	return nil, fmt.Errorf("cannot cast '%s' to %s", asString(v), asString(name))
}

func asInt(v driver.Value) int64 {
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
	}
	return 0
}

func asFloat(v driver.Value) float64 {
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

// mapValueText is a JSON value as Lake's map(varchar, varchar) holds it.
func mapValueText(v json.RawMessage) any {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	t := strings.TrimSpace(string(v))
	if t == "null" {
		return nil
	}
	return t
}

func truncCalendar(unit string, ms int64) int64 {
	t := time.UnixMilli(ms).UTC()
	y, m, d := t.Date()
	switch unit {
	case "week":
		wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
		return time.Date(y, m, d-wd, 0, 0, 0, 0, time.UTC).UnixMilli()
	case "month":
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	case "quarter":
		return time.Date(y, (m-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	case "year":
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	}
	return ms
}

// addMonths adds n months as Trino does: the day is clamped to the end of
// the month reached.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC).AddDate(0, n, 0)
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	return first.AddDate(0, 0, d-1)
}

func monthDiff(a, b time.Time) int {
	n := (b.Year()-a.Year())*12 + int(b.Month()-a.Month())
	if n > 0 && addMonths(a, n).After(b) {
		n--
	} else if n < 0 && addMonths(a, n).Before(b) {
		n++
	}
	return n
}

func timePart(name string, t time.Time) int64 {
	switch name {
	case "year":
		return int64(t.Year())
	case "month":
		return int64(t.Month())
	case "day", "day_of_month":
		return int64(t.Day())
	case "hour":
		return int64(t.Hour())
	case "minute":
		return int64(t.Minute())
	case "second":
		return int64(t.Second())
	case "day_of_week", "dow":
		return int64((int(t.Weekday())+6)%7 + 1)
	case "day_of_year", "doy":
		return int64(t.YearDay())
	case "week":
		_, w := t.ISOWeek()
		return int64(w)
	case "quarter":
		return int64((t.Month()-1)/3 + 1)
	}
	return 0
}

// mysqlFormat formats t with date_format's MySQL-style specifiers.
func mysqlFormat(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'c':
			fmt.Fprintf(&b, "%d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&b, "%d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'k':
			fmt.Fprintf(&b, "%d", t.Hour())
		case 'h', 'I':
			fmt.Fprintf(&b, "%02d", (t.Hour()+11)%12+1)
		case 'i':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 's', 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'f':
			fmt.Fprintf(&b, "%06d", t.Nanosecond()/1000)
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'W':
			b.WriteString(t.Format("Monday"))
		case 'b':
			b.WriteString(t.Format("Jan"))
		case 'M':
			b.WriteString(t.Format("January"))
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		default:
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

// jodaFormat formats t with format_datetime's Joda-style pattern (the
// common letters).
func jodaFormat(t time.Time, f string) string {
	repl := []struct{ joda, goLayout string }{
		{"yyyy", "2006"}, {"yy", "06"}, {"MMMM", "January"}, {"MMM", "Jan"}, {"MM", "01"},
		{"dd", "02"}, {"HH", "15"}, {"hh", "03"}, {"mm", "04"}, {"ss", "05"}, {"SSS", "000"},
		{"EEEE", "Monday"}, {"EEE", "Mon"}, {"a", "PM"},
	}
	var b strings.Builder
	for i := 0; i < len(f); {
		done := false
		for _, r := range repl {
			if strings.HasPrefix(f[i:], r.joda) {
				b.WriteString(t.Format(r.goLayout))
				i += len(r.joda)
				done = true
				break
			}
		}
		if !done {
			b.WriteByte(f[i])
			i++
		}
	}
	return b.String()
}

// jsonExtractScalar reads a simple JSONPath ($.a.b, $.a[0], $["k"]) from
// JSON text, returning a scalar as text and NULL for objects and arrays.
func jsonExtractScalar(doc, path string) any {
	var v any
	if json.Unmarshal([]byte(doc), &v) != nil {
		return nil
	}
	if !strings.HasPrefix(path, "$") {
		return nil
	}
	p := path[1:]
	for p != "" {
		switch {
		case p[0] == '.':
			j := 1
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v, p = m[p[1:j]], p[j:]
		case p[0] == '[':
			j := strings.IndexByte(p, ']')
			if j < 0 {
				return nil
			}
			key := p[1:j]
			p = p[j+1:]
			if n, err := strconv.Atoi(key); err == nil {
				a, ok := v.([]any)
				if !ok || n < 0 || n >= len(a) {
					return nil
				}
				v = a[n]
			} else {
				m, ok := v.(map[string]any)
				if !ok {
					return nil
				}
				v = m[strings.Trim(key, "\"'")]
			}
		default:
			return nil
		}
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return nil
}

// overflowMarker starts the message of an integer result out of bigint's
// range; runErr gives the user the text after it.
const overflowMarker = "lake overflow"

// checkedArith is lake_add, lake_sub and lake_mul(x, y, inTry): x op y,
// failing (NULL inside try) when both are integers and the result is out
// of bigint's range; a float operand gives a float result, as SQLite's.
// The _narrow forms' fourth argument names a narrower integer type whose
// range the result must fit in.
func checkedArith(what string, a []driver.Value) (driver.Value, error) {
	x, xok := a[0].(int64)
	y, yok := a[1].(int64)
	if !xok || !yok {
		fx, fy := asFloat(a[0]), asFloat(a[1])
		switch what {
		case "addition":
			return fx + fy, nil
		case "subtraction":
			return fx - fy, nil
		}
		return fx * fy, nil
	}
	var r int64
	var ok bool
	op := "+"
	switch what {
	case "addition":
		r = x + y
		ok = (r > x) == (y > 0)
	case "subtraction":
		op = "-"
		r = x - y
		ok = (r < x) == (y > 0)
	default:
		op = "*"
		r = x * y
		ok = x == 0 || (r/x == y && !(x == -1 && y == math.MinInt64) && !(y == -1 && x == math.MinInt64))
	}
	typ := "bigint"
	if len(a) > 3 {
		if rng, known := intRanges[asString(a[3])]; known {
			typ = asString(a[3])
			ok = ok && r >= rng[0] && r <= rng[1]
		}
	}
	if ok {
		return r, nil
	}
	if asInt(a[2]) == 1 {
		return nil, nil
	}
	return nil, fmt.Errorf("%s: %s %s overflow: %d %s %d", overflowMarker, typ, what, x, op, y)
}

// intRange is the name and range of the integer type named by t (bigint
// when t names none).
func intRange(t driver.Value) (string, [2]int64) {
	name := asString(t)
	if rng, ok := intRanges[name]; ok {
		return name, rng
	}
	return "bigint", intRanges["bigint"]
}

// checkedNeg is -x in integer type typ, failing (NULL inside try) on the
// type's smallest value, whose negation is out of range; a float is
// negated as a float.
func checkedNeg(x, inTry driver.Value, typ string) (driver.Value, error) {
	n, ok := x.(int64)
	typ, rng := intRange(typ)
	switch {
	case !ok:
		return -asFloat(x), nil
	case n != rng[0]:
		return -n, nil
	case asInt(inTry) == 1:
		return nil, nil
	}
	return nil, fmt.Errorf("%s: %s negation overflow: %d", overflowMarker, typ, n)
}

// checkedDiv is x / y in integer type typ: a zero divisor fails
// ("Division by zero"), and so does the type's smallest value / -1,
// whose result is out of range; both are NULL inside try.
func checkedDiv(x, y, inTry driver.Value, typ string) (driver.Value, error) {
	if x == nil || y == nil {
		return nil, nil
	}
	typ, rng := intRange(typ)
	n, d := asInt(x), asInt(y)
	switch {
	case d != 0 && !(n == rng[0] && d == -1):
		return n / d, nil
	case asInt(inTry) == 1:
		return nil, nil
	case d == 0:
		return nil, errDivZero
	}
	return nil, fmt.Errorf("%s: %s division overflow: %d / %d", overflowMarker, typ, n, d)
}

// roundInt is lake_round_int(x, d, inTry, type): Trino's round(x, d) of
// an integer: x itself for d >= 0, else x rounded half away from zero to
// a multiple of 10^-d, failing (NULL inside try) when that is out of the
// type's range.
func roundInt(a []driver.Value) (driver.Value, error) {
	x, d := asInt(a[0]), asInt(a[1])
	if d >= 0 {
		return x, nil
	}
	typ, rng := intRange(a[3])
	fail := func(msg string) (driver.Value, error) {
		if asInt(a[2]) == 1 {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %s", overflowMarker, msg)
	}
	// 10^19 is past bigint's range: every bigint rounds to 0 there, as
	// Trino's exact arithmetic fails ("numerical overflow").
	if d < -18 {
		return fail(fmt.Sprintf("numerical overflow: %d", x))
	}
	f := int64(1)
	for range -d {
		f *= 10
	}
	q, r := x/f, x%f
	if r >= f/2 {
		q++
	} else if -r >= f/2 {
		q--
	}
	n := q * f
	if n/f != q {
		return fail(fmt.Sprintf("numerical overflow: %d", x))
	}
	if n < rng[0] || n > rng[1] {
		return fail(fmt.Sprintf("Out of range for %s: %d", typ, n))
	}
	return n, nil
}

// intRanges is the range of each integer type a CAST can name.
var intRanges = map[string][2]int64{
	"bigint":   {math.MinInt64, math.MaxInt64},
	"integer":  {math.MinInt32, math.MaxInt32},
	"smallint": {math.MinInt16, math.MaxInt16},
	"tinyint":  {math.MinInt8, math.MaxInt8},
}

// castToInt is lake_to_int(x, name, intType): x as an integer of intType,
// rounding a double half away from zero as Trino does; a value out of
// the type's range fails the query ("Out of range for bigint: 1.0E30"),
// or is NULL when name is empty (TRY_CAST).
func castToInt(a []driver.Value) (driver.Value, error) {
	typ := asString(a[2])
	rng, ok := intRanges[typ]
	if !ok {
		rng, typ = intRanges["bigint"], "bigint"
	}
	var n int64
	switch x := a[0].(type) {
	case nil:
		return nil, nil
	case int64:
		n = x
	case float64:
		r := math.Round(x)
		// 2^63 is the first double past bigint's range.
		if math.IsNaN(r) || r < -(1<<63) || r >= 1<<63 {
			return outOfRange(typ, formatDouble(x), a[1])
		}
		if n = int64(r); n < rng[0] || n > rng[1] {
			return outOfRange(typ, formatDouble(x), a[1])
		}
		return n, nil
	default:
		v, err := strconv.ParseInt(strings.TrimSpace(asString(x)), 10, 64)
		if err != nil || v < rng[0] || v > rng[1] {
			return castFailed(x, a[1])
		}
		return v, nil
	}
	if n < rng[0] || n > rng[1] {
		return outOfRange(typ, strconv.FormatInt(n, 10), a[1])
	}
	return n, nil
}

// outOfRange is the failure of a CAST whose value is out of the integer
// type's range (NULL for TRY_CAST, whose name is empty).
func outOfRange(typ, value string, name driver.Value) (driver.Value, error) {
	if asString(name) == "" {
		return nil, nil
	}
	return nil, fmt.Errorf("%s: Out of range for %s: %s", overflowMarker, typ, value)
}

// minTimeMillis and maxTimeMillis bound a timestamp a query computes:
// years 1 to 9999, Trino's and the formatter's range.
var (
	minTimeMillis = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	maxTimeMillis = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() - 1
)

// timeOutOfRange is the failure of timestamp arithmetic whose result is
// outside years 1 to 9999 (NULL inside try).
func timeOutOfRange(ts int64, n int64, unit string, inTry driver.Value) (driver.Value, error) {
	if asInt(inTry) == 1 {
		return nil, nil
	}
	return nil, fmt.Errorf("%s: timestamp out of range (years 1 to 9999): %s + %d %s(s)", overflowMarker, formatTime(ts), n, unit)
}

// checkedAddMonths is lake_add_months: ts plus n months (a month unit
// times its count), checked against years 1 to 9999.
func checkedAddMonths(tsv, nv, inTry driver.Value) (driver.Value, error) {
	if tsv == nil || nv == nil {
		return nil, nil
	}
	ts := asInt(tsv)
	n, ok := nv.(int64)
	// A count the SQL made a float (n * 12 past bigint) or over 12 * 10000
	// months is out of range whatever the start.
	if !ok || n > 120000 || n < -120000 || ts < minTimeMillis || ts > maxTimeMillis {
		return timeOutOfRange(ts, asInt(nv), "month", inTry)
	}
	r := addMonths(time.UnixMilli(ts).UTC(), int(n)).UnixMilli()
	if r < minTimeMillis || r > maxTimeMillis {
		return timeOutOfRange(ts, n, "month", inTry)
	}
	return r, nil
}

// checkedTimeAdd is lake_time_add: ts plus sign * n units of fixed length
// (date_add's day, hour, …; an interval day to second in milliseconds),
// checked for bigint overflow and against years 1 to 9999.
func checkedTimeAdd(tsv, nv driver.Value, sign int64, unit string, inTry driver.Value) (driver.Value, error) {
	if tsv == nil || nv == nil {
		return nil, nil
	}
	ts := asInt(tsv)
	n, ok := nv.(int64)
	ms, known := unitMillis[unit]
	if !ok || !known {
		return timeOutOfRange(ts, asInt(nv), unit, inTry)
	}
	span := (maxTimeMillis - minTimeMillis) / ms
	if n > span || n < -span {
		return timeOutOfRange(ts, sign*n, unit, inTry)
	}
	r := ts + sign*n*ms
	if r < minTimeMillis || r > maxTimeMillis {
		return timeOutOfRange(ts, sign*n, unit, inTry)
	}
	return r, nil
}

// roundDouble is Trino's round(x, d) of a double.
func roundDouble(x float64, d int64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	f := math.Pow(10, float64(d))
	v := math.Abs(x) * f
	if math.IsInf(v, 0) || v >= 1<<62 {
		return x // already a whole multiple, as far as a double tells
	}
	r := math.Floor(v)
	if v-r >= 0.5 {
		r++
	}
	return math.Copysign(r/f, x)
}
