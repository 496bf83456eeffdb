package lakesql

import (
	"errors"
	"strconv"
	"strings"
)

// dialect writes the engine-specific parts of the SQL the compiler emits.
// The compiler owns the statement's shape (SELECT, FROM, JOIN, WHERE,
// GROUP BY, HAVING, ORDER BY, LIMIT; operators; CASE; aggregates, which
// PostgreSQL and SQLite spell alike); a dialect owns how a value is read
// from the event record, time arithmetic, pattern matching, casts and the
// helper functions. SQLite is the one implemented; a PostgreSQL dialect
// implements the same methods over a jsonb column (->, ->>, jsonb_typeof,
// to_timestamp/date_trunc on a bigint of milliseconds, ~ for regexp_like).
type dialect interface {
	// storeTable is the rows of one store, the store ID bound as idArg;
	// withRecord says whether the query reads the record beyond the hot
	// columns, index names the access path chosen (see chooseIndex), if any;
	// rp, when not nil, lets a record-reading table read its rows in
	// block order (see pushDown).
	storeTable(idArg string, withRecord bool, index string, rp *recPush) string
	// rollupTable is the rows of one store for a rollup plan (rollup.go).
	rollupTable(idArg string, p *rollupPlan) string
	// jsonScalar reads the value at path in the JSON base as type t.
	jsonScalar(base, path string, t typ) string
	// jsonText is a map, struct or array value as JSON text.
	jsonText(v val) string
	// mapValue reads key of the map at path in base as varchar, binding
	// what it must through arg.
	mapValue(base, path, key string, arg func(any) string) string
	// mapValueDyn reads a key computed at run time of a map held as JSON text.
	mapValueDyn(jsonText, keySQL string) string
	// likeLiteral matches x against a GLOB pattern bound as globArg.
	likeLiteral(x, globArg string) string
	// likeExpr matches x against a LIKE pattern computed at run time (esc
	// empty: no escape character).
	likeExpr(x, pat, esc string) string
	// cast converts x from one type to another; name is the type as the
	// query wrote it (for the message of a value that does not convert),
	// empty for TRY_CAST, which makes such a value NULL; intName is the
	// integer type a cast to bigint names (bigint, integer, smallint or
	// tinyint), whose range the value must fit in.
	cast(x string, from, to typ, name, intName string) (string, error)
	// intDiv is integer / or % that fails on a zero divisor, as Trino's
	// does ("Division by zero").
	// (tryFlag "1": NULL instead, as inside try()); / also fails on a
	// result out of the range of the operands' integer type (the smallest
	// bigint / -1; narrow, when not empty, names a narrower type).
	intDiv(op, l, r, tryFlag, narrow string) string
	truncTime(unit, x string) string
	addMonths(x, n, tryFlag string) string
	cardinality(v val) string
	stringFunc(name string, args []string) string
	mathFunc(name string, args []string, t typ) string
	timePart(name, x string) string
	// goFunc calls one of the package's own functions (see funcs_sqlite.go).
	goFunc(name string, args []string) string
	// unnest is a table of the elements of a JSON array or the members of
	// a JSON object (key, value, type), reading the sources to its left.
	unnest(arrayJSON string) string
}

// sqliteDialect is the dialect of the embedded SQLite database.
type sqliteDialect struct{}

func quoteSQL(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (sqliteDialect) storeTable(idArg string, withRecord bool, index string, rp *recPush) string {
	by := ""
	if index != "" {
		by = " INDEXED BY lake_events_" + index
	}
	if withRecord && rp != nil {
		// The rows the query's own bounds select, sorted by id so that
		// each block's frames are decoded once rather than once per row (rows
		// in time order, as a backfilled store's index holds them, jump
		// from block to block). Insert gives a store's rows ids and refs
		// that grow together, so id order is block order; where it is not
		// (a row id reused), a block is only decoded again, never misread.
		// The ids come from the index the bounds search (no table read),
		// and the rows are then read by id. LIMIT -1 keeps SQLite from
		// dropping or flattening the ORDER BY; it also stops SQLite
		// pushing the outer WHERE down, which is why the compiler does it
		// (rp.where), with the rows aliased as the outer query names them.
		// The block is read in a scalar subquery so that the sorted rows
		// join nothing, and only when the statement (tok, blocks.go) has
		// not decoded it already: coalesce evaluates its arguments in turn.
		where := ""
		if rp.where != "" {
			where = " AND " + rp.where
		}
		return "(SELECT e.*, coalesce(lake_hit(k.tok, e.ref), lake_recq((SELECT data FROM lake_blocks WHERE id = e.ref >> 8), k.tok, e.ref)) AS rec" +
			" FROM (SELECT " + rp.alias + ".id AS id, (SELECT lake_token()) AS tok FROM lake_events AS " + rp.alias + by + " WHERE " + rp.alias + ".store = " + idArg + where + " ORDER BY " + rp.alias + ".id LIMIT -1) AS k" +
			" CROSS JOIN lake_events AS e ON e.id = k.id)"
	}
	if withRecord {
		// The record, from its block (blocks.go).
		return "(SELECT e.*, lake_rec(b.data, e.ref) AS rec FROM lake_events AS e" + by +
			" JOIN lake_blocks AS b ON b.id = e.ref >> 8 WHERE e.store = " + idArg + ")"
	}
	return "(SELECT * FROM lake_events" + by + " WHERE store = " + idArg + ")"
}

func (sqliteDialect) jsonScalar(base, path string, t typ) string {
	get := "(" + base + " ->> " + quoteSQL(path) + ")"
	switch t {
	case tVarchar:
		return "CAST(" + get + " AS TEXT)"
	case tTimestamp:
		return "lake_parse_time(" + get + ")"
	case tBool:
		// JSON true/false reads as 1/0; some fields hold "true"/"false".
		return "(CASE " + get + " WHEN 1 THEN 1 WHEN 0 THEN 0 WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"
	}
	return get
}

func (d sqliteDialect) jsonText(v val) string {
	if v.base == "" {
		return v.sql
	}
	if v.path == "$" {
		return "json(" + v.base + ")"
	}
	return "(" + v.base + " ->> " + quoteSQL(v.path) + ")"
}

func (d sqliteDialect) mapValue(base, path, key string, arg func(any) string) string {
	var p string
	switch {
	case validIdent.MatchString(key):
		p = quoteSQL(path + "." + key)
	case !strings.ContainsAny(key, "\"\\"):
		p = arg(path + ".\"" + key + "\"")
	default:
		return d.mapValueDyn(d.jsonText(val{base: base, path: path}), arg(key))
	}
	// map(varchar, varchar): JSON true/false read as text, not 1/0.
	return "(CASE json_type(" + base + ", " + p + ") WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(" +
		base + " ->> " + p + " AS TEXT) END)"
}

func (sqliteDialect) mapValueDyn(jsonText, keySQL string) string {
	return "lake_map_get(" + jsonText + ", " + keySQL + ")"
}

func (sqliteDialect) likeLiteral(x, globArg string) string {
	return "(" + x + " GLOB " + globArg + ")"
}

func (sqliteDialect) likeExpr(x, pat, esc string) string {
	if esc == "" {
		return "lake_like(" + x + ", " + pat + ")"
	}
	return "lake_like(" + x + ", " + pat + ", " + esc + ")"
}

var errCast = errors.New("cannot cast")

func (sqliteDialect) intDiv(op, l, r, tryFlag, narrow string) string {
	switch {
	case op == "%":
		// x % -1 is 0 in every integer type: no range to check.
		return "lake_mod(" + l + ", " + r + ", " + tryFlag + ")"
	case narrow != "":
		return "lake_div_narrow(" + l + ", " + r + ", " + tryFlag + ", " + quoteSQL(narrow) + ")"
	}
	return "lake_div(" + l + ", " + r + ", " + tryFlag + ")"
}

func (sqliteDialect) cast(x string, from, to typ, name, intName string) (string, error) {
	if from == to && (to != tBigint || intName == "bigint") || from == tNull {
		return x, nil
	}
	switch to {
	case tVarchar:
		switch from {
		case tBool:
			return "(CASE " + x + " WHEN 1 THEN 'true' WHEN 0 THEN 'false' END)", nil
		case tTimestamp:
			return "lake_format_time(" + x + ")", nil
		case tDouble:
			return "lake_double_text(" + x + ")", nil
		case tBigint, tMap, tStruct, tArray:
			return "CAST(" + x + " AS TEXT)", nil
		}
	case tBigint, tDouble:
		fn := "lake_to_bigint"
		if to == tDouble {
			fn = "lake_to_double"
		}
		switch {
		case to == tBigint && (from == tVarchar || from == tDouble):
			return "lake_to_int(" + x + ", " + quoteSQL(name) + ", " + quoteSQL(intName) + ")", nil
		case from == tVarchar:
			return fn + "(" + x + ", " + quoteSQL(name) + ")", nil
		case to == tBigint && from == tBigint:
			// A narrower integer type (integer, smallint, tinyint).
			return "lake_to_int(" + x + ", " + quoteSQL(name) + ", " + quoteSQL(intName) + ")", nil
		case from == tBigint || from == tDouble || from == tBool:
			if to == tBigint {
				return "CAST(" + x + " AS INTEGER)", nil
			}
			return "CAST(" + x + " AS REAL)", nil
		}
	case tBool:
		switch from {
		case tVarchar:
			return "(CASE lower(" + x + ") WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)", nil
		case tBigint, tDouble:
			return "(" + x + " <> 0)", nil
		}
	case tTimestamp:
		if from == tVarchar {
			return "lake_parse_time(" + x + ")", nil
		}
	}
	return "", errCast
}

func (sqliteDialect) truncTime(unit, x string) string {
	if ms, ok := unitMillis[unit]; ok && unit != "week" {
		m := strconv.FormatInt(ms, 10)
		return "(" + x + " - ((" + x + " % " + m + ") + " + m + ") % " + m + ")"
	}
	return "lake_date_trunc(" + quoteSQL(unit) + ", " + x + ")"
}

func (sqliteDialect) addMonths(x, n, tryFlag string) string {
	return "lake_add_months(" + x + ", " + n + ", " + tryFlag + ")"
}

func (d sqliteDialect) cardinality(v val) string {
	if v.t == tMap {
		return "lake_map_size(" + d.jsonText(v) + ")"
	}
	return "json_array_length(" + d.jsonText(v) + ")"
}

func (sqliteDialect) stringFunc(name string, args []string) string {
	if name == "reverse" {
		return "lake_reverse(" + args[0] + ")"
	}
	return name + "(" + args[0] + ")"
}

func (sqliteDialect) mathFunc(name string, args []string, t typ) string {
	switch name {
	case "abs":
		return "abs(" + args[0] + ")"
	}
	// round, floor and ceil of an integer: itself (round(n, d) is the
	// compiler's lake_round_int, round of a double lake_round_double).
	if t == tBigint {
		return args[0]
	}
	return "lake_" + name + "(" + args[0] + ")"
}

func (sqliteDialect) timePart(name, x string) string {
	return "lake_time_part(" + quoteSQL(name) + ", " + x + ")"
}

func (sqliteDialect) goFunc(name string, args []string) string {
	return "lake_" + name + "(" + strings.Join(args, ", ") + ")"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
