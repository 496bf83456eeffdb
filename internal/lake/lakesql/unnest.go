package lakesql

import (
	"strconv"
	"strings"
)

// UNNEST: CROSS JOIN UNNEST(resources) AS t(r) expands an array (or a
// map) of each row into rows, as Trino does. The array is read from the
// record by the rows to its left (a lateral join), so UNNEST comes after a
// JOIN or a comma, never first in FROM. An array of structs
// (resources) gives one column, the struct (t(r): r.ARN), or one column per
// field when the alias names them all (t(accountId, type, arn, arnPrefix));
// an array of scalars (map_keys(…)) one column; a map two, key and value.
// WITH ORDINALITY adds the element's position, from 1.

// errUnnestFirst refuses UNNEST first in FROM: it has no rows to expand.
const errUnnestFirst = "UNNEST must follow the event data store it expands: FROM <event data store ID> CROSS JOIN UNNEST(resources) AS t(r)"

// parseUnnest reads UNNEST(expr) [WITH ORDINALITY] [AS] alias(col, …).
func (p *parser) parseUnnest() (TableRef, error) {
	ref := TableRef{Pos: p.next().pos}
	if err := p.expectOp("("); err != nil {
		return ref, err
	}
	e, err := p.parseExpr()
	if err != nil {
		return ref, err
	}
	if p.isOp(",") {
		return ref, p.errHere("UNNEST of more than one array is not supported: unnest each with its own CROSS JOIN UNNEST")
	}
	if err := p.expectOp(")"); err != nil {
		return ref, err
	}
	ref.Unnest = e
	if p.acceptKw("WITH") {
		if !p.isKw("ORDINALITY") {
			return ref, p.unexpected("ORDINALITY")
		}
		p.next()
		ref.Ordinality = true
	}
	p.acceptKw("AS")
	t := p.tok()
	if t.kind != tokQIdent && (t.kind != tokIdent || reserved[strings.ToLower(t.text)]) {
		return ref, p.errHere("UNNEST needs an alias naming its columns, e.g. CROSS JOIN UNNEST(resources) AS t(r)")
	}
	p.next()
	ref.Alias = t.text
	if !p.isOp("(") {
		return ref, p.errHere("UNNEST needs names for its columns, e.g. CROSS JOIN UNNEST(resources) AS %s(r)", ref.Alias)
	}
	p.next()
	for {
		c := p.tok()
		if c.kind != tokQIdent && (c.kind != tokIdent || reserved[strings.ToLower(c.text)]) {
			return ref, p.unexpected("a column name")
		}
		p.next()
		ref.Cols = append(ref.Cols, c.text)
		if !p.acceptOp(",") {
			break
		}
	}
	if err := p.expectOp(")"); err != nil {
		return ref, err
	}
	return ref, nil
}

// unnestRef compiles an UNNEST source over the sources of sc (those to its
// left): its columns read the elements json_each gives.
func (c *compiler) unnestRef(sc *scope, t TableRef) (*source, string, error) {
	saved := sc.noAgg
	sc.noAgg = "UNNEST"
	v, err := c.expr(sc, t.Unnest)
	sc.noAgg = saved
	if err != nil {
		return nil, "", err
	}
	src := &source{sqlAlias: c.alias(), alias: t.Alias}
	a := src.sqlAlias
	col := func(name string, ty typ, f *field, sql string) outCol {
		oc := outCol{name: name, sqlName: "u" + strconv.Itoa(len(src.cols)), t: ty, f: f, expr: sql}
		src.cols = append(src.cols, oc)
		return oc
	}
	names := t.Cols
	if t.Ordinality && len(names) > 0 {
		names = names[:len(names)-1] // the last names the position
	}
	want := 1
	switch {
	case v.t == tMap:
		want = 2
		if t.Ordinality {
			return nil, "", c.errf(t.Pos, "WITH ORDINALITY is supported for arrays, not maps")
		}
		if len(names) == want {
			col(names[0], tVarchar, nil, a+".key")
			// map(varchar, varchar): JSON true/false read as text, as
			// element_at reads them.
			col(names[1], tVarchar, nil, "(CASE "+a+".type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST("+a+".value AS TEXT) END)")
		}
	case v.t == tArray && v.f != nil && v.f.elem != tNull:
		if len(names) == want {
			sql := a + ".value"
			switch v.f.elem {
			case tVarchar:
				sql = "CAST(" + sql + " AS TEXT)"
			case tTimestamp: // held as text, as Lake writes a timestamp
				sql = c.d.goFunc("parse_time", []string{"CAST(" + sql + " AS TEXT)"})
			}
			col(names[0], v.f.elem, nil, sql)
		}
	case v.t == tArray:
		elem := &field{t: tStruct}
		if v.f != nil {
			elem.fields = v.f.fields
		}
		switch len(names) {
		case 1: // the struct whole: t(r), then r.ARN
			col(names[0], tStruct, elem, a+".value")
		case len(elem.fields): // one column per field, in the schema's order
			want = len(elem.fields)
			for i, f := range elem.fields {
				col(names[i], f.t, f, c.d.jsonScalar(a+".value", "$."+f.name, f.t))
			}
		}
	case v.t == tNull:
		return nil, "", c.errf(t.Unnest.exprPos(), "Cannot unnest type: unknown")
	default:
		return nil, "", c.errf(t.Unnest.exprPos(), "Cannot unnest type: %s", v.t)
	}
	if t.Ordinality {
		want++
	}
	if len(t.Cols) != want {
		return nil, "", c.errf(t.Pos, "Column alias list has %d entries but '%s' has %d columns available", len(t.Cols), t.Alias, want)
	}
	if t.Ordinality {
		col(t.Cols[len(t.Cols)-1], tBigint, nil, "("+a+".key + 1)")
	}
	return src, c.d.unnest(c.d.jsonText(v)) + " AS " + a, nil
}

// unnest is the rows of the JSON array or object held in arrayJSON: SQLite's
// json_each, which reads the rows to its left (key, value, type).
func (sqliteDialect) unnest(arrayJSON string) string {
	return "json_each(" + arrayJSON + ")"
}

// joinRef compiles the source on the right of a JOIN (or comma): an UNNEST
// reads the sources of sc to its left; any other is tableRef's.
func (c *compiler) joinRef(sc *scope, t TableRef) (*source, string, error) {
	if t.Unnest != nil {
		return c.unnestRef(sc, t)
	}
	return c.tableRef(t)
}

// colSQL is the SQL that reads column oc of a derived source.
func (src *source) colSQL(oc outCol) string {
	if oc.expr != "" {
		return oc.expr
	}
	return src.sqlAlias + "." + oc.sqlName
}
