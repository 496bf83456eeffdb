package lakesql

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// More of Trino's scalar functions: arrays of varchar made from strings
// (split, regexp_extract_all) and joined back (array_join), padding and
// suffix tests (lpad, rpad, ends_with), and JSON (json_extract,
// json_array_length, json_parse, json_format; Trino's json type is its
// text, a varchar, here). Arrays are held as JSON text, as the record's
// are.

// varcharArray is the type of an array of varchar held in sql.
func varcharArray(sql string) val {
	return val{sql: sql, base: sql, path: "$", t: tArray, f: &field{t: tArray, elem: tVarchar}}
}

// moreCall compiles the functions of this file; ok is false for another
// name.
func (c *compiler) moreCall(x *Call, args []val, out val) (val, bool, error) {
	n := len(args)
	arity := func(lo, hi int) error { return c.argsFit(x, args, lo, hi) }
	want := func(i int, t typ) error {
		if args[i].t != t && args[i].t != tNull {
			return c.badArg(x, args, i)
		}
		return nil
	}
	check := func(lo, hi int, types ...typ) error { return c.argsFit(x, args, lo, hi, types...) }
	sqls := make([]string, n)
	for i, a := range args {
		sqls[i] = a.sql
	}
	withBare := func(v val) val {
		v.bare, v.agg = out.bare, out.agg
		return v
	}
	switch x.Name {
	case "split":
		if err := check(2, 3, tVarchar, tVarchar, tBigint); err != nil {
			return out, true, err
		}
		fn := "split"
		if n == 3 {
			fn = "split_limit"
		}
		return withBare(varcharArray(c.d.goFunc(fn, sqls))), true, nil
	case "regexp_extract_all":
		if err := check(2, 3, tVarchar, tVarchar, tBigint); err != nil {
			return out, true, err
		}
		if err := c.checkRegexp(x, args[1]); err != nil {
			return out, true, err
		}
		if n == 2 {
			sqls = append(sqls, "0")
		}
		return withBare(varcharArray(c.d.goFunc("regexp_extract_all", sqls))), true, nil
	case "array_join":
		if err := arity(2, 3); err != nil {
			return out, true, err
		}
		if a := args[0]; a.t != tArray || a.f == nil || a.f.elem == tNull {
			return out, true, c.errf(x.Args[0].exprPos(), "Unexpected parameters (%s) for function array_join: an array of scalars", a.typeName())
		}
		for i := 1; i < n; i++ {
			if err := want(i, tVarchar); err != nil {
				return out, true, err
			}
		}
		s := []string{c.d.jsonText(args[0]), sqls[1], "NULL"}
		if n == 3 {
			s[2] = sqls[2]
		}
		// Without a null replacement NULLs are skipped, so the call goes
		// around the NULL-in, NULL-out wrapper; a replacement given as
		// NULL makes the whole NULL, as in Trino.
		out.sql, out.t = "lake_array_join("+strings.Join(s, ", ")+")", tVarchar
		if n == 3 {
			out.sql = "(CASE WHEN " + sqls[2] + " IS NULL THEN NULL ELSE " + out.sql + " END)"
		}
		return out, true, nil
	case "lpad", "rpad":
		if err := check(3, 3, tVarchar, tBigint, tVarchar); err != nil {
			return out, true, err
		}
		out.sql, out.t = c.d.goFunc(x.Name, sqls), tVarchar
		return out, true, nil
	case "json_extract":
		// Trino's json type is held as its text: a varchar here.
		if err := check(2, 2, tVarchar, tVarchar); err != nil {
			return out, true, err
		}
		if err := c.literalJSONPath(x.Args[1], args[1]); err != nil {
			return out, true, err
		}
		out.sql, out.t = c.d.goFunc("json_extract", sqls), tVarchar
		return out, true, nil
	case "json_array_length":
		if err := check(1, 1, tVarchar); err != nil {
			return out, true, err
		}
		out.sql, out.t = c.d.goFunc("json_array_length", sqls), tBigint
		return out, true, nil
	case "json_parse", "json_format":
		if err := check(1, 1, tVarchar); err != nil {
			return out, true, err
		}
		out.sql, out.t = c.d.goFunc("json_parse", sqls), tVarchar
		return out, true, nil
	case "ends_with":
		if err := check(2, 2, tVarchar, tVarchar); err != nil {
			return out, true, err
		}
		out.sql, out.t = c.d.goFunc("ends_with", sqls), tBool
		return out, true, nil
	}
	return out, false, nil
}

// queryErrMarker starts the message of an error a function raises about
// the query's values; runErr gives the user the text after it.
const queryErrMarker = "lake query error"

// queryErr is an error of the query's own, for its user.
func queryErr(format string, a ...any) error {
	return fmt.Errorf(queryErrMarker+": "+format, a...)
}

// argsFit checks a call's arguments: lo to hi of them, the i-th of
// types[i] (or NULL) where types name it.
func (c *compiler) argsFit(x *Call, args []val, lo, hi int, types ...typ) error {
	if len(args) < lo || len(args) > hi {
		return c.errf(x.Pos, "Unexpected parameters for function %s: %d arguments", x.Name, len(args))
	}
	for i := range min(len(args), len(types)) {
		if args[i].t != types[i] && args[i].t != tNull {
			return c.badArg(x, args, i)
		}
	}
	return nil
}

// badArg refuses a call's i-th argument for its type.
func (c *compiler) badArg(x *Call, args []val, i int) error {
	return c.errf(x.Args[i].exprPos(), "Unexpected parameters (%s) for function %s", args[i].typeName(), x.Name)
}

// jsonArray writes ss as a JSON array.
func jsonArray(ss []string) (driver.Value, error) {
	if ss == nil {
		ss = []string{}
	}
	b, err := json.Marshal(ss)
	return string(b), err
}

// splitFunc is lake_split(s, delimiter) and lake_split_limit(s,
// delimiter, limit): Trino's split, the last element holding the rest
// when limit cuts it short.
func splitFunc(a []driver.Value) (driver.Value, error) {
	s, d := asString(a[0]), asString(a[1])
	if d == "" {
		return nil, queryErr("The delimiter may not be the empty string")
	}
	if len(a) == 2 {
		return jsonArray(strings.Split(s, d))
	}
	limit := asInt(a[2])
	if limit <= 0 {
		return nil, queryErr("Limit must be positive")
	}
	return jsonArray(strings.SplitN(s, d, int(min(limit, 1<<20))))
}

// regexpExtractAll is lake_regexp_extract_all(s, pattern, group).
func regexpExtractAll(a []driver.Value) (driver.Value, error) {
	re, err := compileRegexp(asString(a[1]))
	if err != nil {
		return nil, err
	}
	g := int(asInt(a[2]))
	switch {
	case g < 0:
		return nil, queryErr("Group cannot be negative")
	case g > re.NumSubexp():
		return nil, fmt.Errorf("pattern has %d groups. Cannot access group %d", re.NumSubexp(), g)
	}
	s := asString(a[0])
	out := []*string{} // a group that took no part in a match is NULL
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		var v *string
		if m[2*g] >= 0 {
			v = new(s[m[2*g]:m[2*g+1]])
		}
		out = append(out, v)
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// arrayJoin is lake_array_join(array, delimiter, nullReplacement): the
// elements as text, NULLs replaced, or skipped when the replacement is
// NULL. It gets NULL arguments itself (see registerFuncs).
func arrayJoin(a []driver.Value) (driver.Value, error) {
	if a[0] == nil || a[1] == nil {
		return nil, nil
	}
	var elems []any
	if err := json.Unmarshal([]byte(asString(a[0])), &elems); err != nil {
		return nil, nil
	}
	var b strings.Builder
	first := true
	for _, e := range elems {
		var s string
		switch v := e.(type) {
		case nil:
			if a[2] == nil {
				continue
			}
			s = asString(a[2])
		case string:
			s = v
		default:
			var w strings.Builder
			writeTrino(&w, v, nil, tVarchar)
			s = w.String()
		}
		if !first {
			b.WriteString(asString(a[1]))
		}
		first = false
		b.WriteString(s)
	}
	return b.String(), nil
}

// maxPadLength bounds lpad's and rpad's result, as Trino bounds it (to
// the largest array), so a query cannot ask for gigabytes.
const maxPadLength = 1 << 20

// padFunc is lake_lpad and lake_rpad(s, size, pad): s cut to size
// characters, or filled to it with pad on the left (right).
func padFunc(left bool) func(a []driver.Value) (driver.Value, error) {
	return func(a []driver.Value) (driver.Value, error) {
		s, size, pad := asString(a[0]), asInt(a[1]), asString(a[2])
		switch {
		case size < 0 || size > maxPadLength:
			return nil, queryErr("Target length must be in the range [0..%d]", maxPadLength)
		case pad == "":
			return nil, queryErr("Padding string must not be empty")
		}
		r := []rune(s)
		if int64(len(r)) >= size {
			return string(r[:size]), nil
		}
		need := int(size) - len(r)
		fill := []rune(strings.Repeat(pad, need/utf8.RuneCountInString(pad)+1))[:need]
		if left {
			return string(fill) + s, nil
		}
		return s + string(fill), nil
	}
}

// jsonRawAt is the JSON value at path (Trino's JSONPath subset: $, .key,
// [n], ["key"]) in doc, as its bytes in doc.
// checkJSONPath refuses a path Trino's json_extract and
// json_extract_scalar do not take: one that does not start at $, an empty
// member name, a negative or unquoted non-number subscript, a wildcard.
func checkJSONPath(path string) error {
	if !strings.HasPrefix(path, "$") {
		return badJSONPath(path)
	}
	for p := path[1:]; p != ""; {
		switch p[0] {
		case '.':
			j := 1
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			if j == 1 {
				return badJSONPath(path)
			}
			p = p[j:]
		case '[':
			j := strings.IndexByte(p, ']')
			if j < 0 {
				return badJSONPath(path)
			}
			k := p[1:j]
			p = p[j+1:]
			quoted := len(k) >= 2 && (k[0] == '"' || k[0] == '\'') && k[len(k)-1] == k[0]
			if n, err := strconv.Atoi(k); !quoted && (err != nil || n < 0 || k[0] == '+') {
				return badJSONPath(path)
			}
		default:
			return badJSONPath(path)
		}
	}
	return nil
}

func badJSONPath(path string) error { return queryErr("%s", badJSONPathText(path)) }

func badJSONPathText(path string) string { return "Invalid JSON path: '" + path + "'" }

func jsonRawAt(doc, path string) (json.RawMessage, bool) {
	v := json.RawMessage(doc)
	if !json.Valid(v) || !strings.HasPrefix(path, "$") {
		return nil, false
	}
	p := path[1:]
	for p != "" {
		var key string
		index := -1
		switch {
		case p[0] == '.':
			j := 1
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			key, p = p[1:j], p[j:]
		case p[0] == '[':
			j := strings.IndexByte(p, ']')
			if j < 0 {
				return nil, false
			}
			k := p[1:j]
			p = p[j+1:]
			if n, err := strconv.Atoi(k); err == nil {
				index = n
			} else {
				key = strings.Trim(k, "\"'")
			}
		default:
			return nil, false
		}
		if index >= 0 {
			var a []json.RawMessage
			if json.Unmarshal(v, &a) != nil || index >= len(a) {
				return nil, false
			}
			v = a[index]
			continue
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(v, &m) != nil {
			return nil, false
		}
		var ok bool
		if v, ok = m[key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// jsonExtract is lake_json_extract(json, path): the value at path as
// compact JSON text (a string keeps its quotes), NULL where there is none.
func jsonExtract(a []driver.Value) (driver.Value, error) {
	if err := checkJSONPath(asString(a[1])); err != nil {
		return nil, err
	}
	raw, ok := jsonRawAt(asString(a[0]), asString(a[1]))
	if !ok {
		return nil, nil
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return nil, nil
	}
	return b.String(), nil
}

// jsonArrayLength is lake_json_array_length(json): the length of a JSON
// array, NULL for anything else.
func jsonArrayLength(a []driver.Value) (driver.Value, error) {
	var arr []json.RawMessage
	if json.Unmarshal([]byte(asString(a[0])), &arr) != nil {
		return nil, nil
	}
	return int64(len(arr)), nil
}

// jsonParse is lake_json_parse(text): the text as compact JSON, failing on
// text that is not JSON, as Trino's json_parse does.
func jsonParse(a []driver.Value) (driver.Value, error) {
	s := asString(a[0])
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		if len(s) > 64 {
			s = s[:64] + "…"
		}
		return nil, queryErr("Cannot convert value to JSON: '%s'", s)
	}
	return b.String(), nil
}

// arrayLit compiles ARRAY[e1, e2, …] of varchar, integer or boolean
// values (NULLs too), held as a JSON array like the others.
func (c *compiler) arrayLit(sc *scope, x *ArrayLit) (val, error) {
	out := val{t: tArray}
	elem, elemName := tNull, ""
	parts := make([]string, len(x.Elems))
	for i, e := range x.Elems {
		v, err := c.expr(sc, e)
		if err != nil {
			return v, err
		}
		out.bare, out.agg = out.bare || v.bare, out.agg || v.agg
		switch {
		case v.t == tNull:
		case v.t != tVarchar && v.t != tBigint && v.t != tBool:
			return v, c.errf(e.exprPos(), "ARRAY of %s is not supported (of varchar, integers and boolean it is)", v.typeName())
		case elem == tNull:
			elem, elemName = v.t, v.typeName()
		case elem != v.t:
			return v, c.errf(e.exprPos(), "All ARRAY elements must be the same type: %s, %s", elemName, v.typeName())
		}
		parts[i] = v.sql
		if v.t == tBool {
			parts[i] = "(CASE " + v.sql + " WHEN 1 THEN json('true') WHEN 0 THEN json('false') END)"
		}
	}
	if elem == tNull {
		elem = tVarchar
	}
	out.sql = "json_array(" + strings.Join(parts, ", ") + ")"
	out.base, out.path, out.f = out.sql, "$", &field{t: tArray, elem: elem}
	return out, nil
}

// literalJSONPath refuses, before the query runs, a JSON path written as a
// literal that checkJSONPath would fail on each row.
func (c *compiler) literalJSONPath(x Expr, v val) error {
	if v.lit == nil || v.lit.Kind != litString {
		return nil
	}
	if checkJSONPath(v.lit.Text) != nil {
		return c.errf(x.exprPos(), "%s", badJSONPathText(v.lit.Text))
	}
	return nil
}
