package lakesql

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The compiler checks a parsed statement against Lake's schema and the
// functions this package allows, and writes it out as the engine's SQL.
// Every value the user wrote (strings, numbers, map keys, store IDs) goes
// out as a bound parameter; the SQL text holds only what the compiler
// itself chose: table and column names of lake_events, schema paths,
// operators and the allowed functions.

// val is a compiled expression.
type val struct {
	sql  string
	t    typ
	bare bool // reads a column outside an aggregate and outside GROUP BY
	agg  bool // holds an aggregate
	// For a struct, map or array (and values inside them): base is the SQL
	// of the JSON the value lives in, path the JSON path within it, f its
	// schema node (nil for a map).
	base, path string
	f          *field
	// lit is the literal this value came from, if any (strings coerce to
	// timestamps against a timestamp).
	lit *Literal
	pos int
	// narrow, for a bigint value, names the narrower integer type Trino
	// gives it (integer, smallint, tinyint; empty: bigint): an integer
	// literal that fits in 32 bits is an integer, a CAST names its type,
	// and arithmetic, CASE and the like take the wider of their operands'
	// (see intType). Arithmetic, negation and abs of narrow values check
	// the result against that type's range. For a decimal, it is the
	// decimal's type, "decimal(p,s)" (see decOf).
	narrow string
}

// outCol is a column of a SELECT's output.
type outCol struct {
	name    string // as Lake names it in results
	sqlName string // the engine's alias
	t       typ
	narrow  string // the integer type of a bigint column, a decimal's type (see val.narrow)
	f       *field
	// expr, when set, is the SQL that reads the column, in place of
	// <source alias>.<sqlName> (an UNNEST's columns, read from json_each).
	expr string
}

// source is one table of a FROM clause.
type source struct {
	alias    string // the user's alias, or the store name / CTE name
	sqlAlias string
	store    bool     // an event data store (lake_events rows)
	cols     []outCol // a derived table's columns
}

type scope struct {
	sources  []*source
	grouped  bool
	groupSQL map[string]bool
	// For a SELECT of one grouping set: the SQL of the grouping
	// expressions its set leaves out (read as NULL), its set and all the
	// grouping expressions (for grouping(…)).
	nullSQL            map[string]bool
	groupSet, groupAll []Expr
	noNull             int // > 0: compiling what is never read as NULL (a grouping key, grouping()'s arguments)
	inAgg              bool
	outputs            []outCol // for ORDER BY by alias
	noAgg              string   // the clause name where aggregates are refused ("" = allowed)
}

type compiler struct {
	src    string
	d      dialect
	args   []any
	argIdx map[string]int
	now    time.Time
	stores map[string]int64 // name as written -> the store's number in lake_events
	ctes   []map[string]*cteDef
	// recUsed notes the store sources whose record the query reads;
	// hotUsed the hot columns read of each; index the access path chosen
	// for a store source (see chooseIndex).
	recUsed map[string]bool
	hotUsed map[string]map[string]bool
	index   map[string]string
	// pushed holds, per store source, the WHERE conjuncts its rows can be
	// selected by before the records are read (see pushDown).
	pushed map[string]*recPush
	nAlias int
	// inTry counts the try(…) calls being compiled: inside one, a value
	// that does not cast and an integer division by zero are NULL rather
	// than the query's failure.
	inTry int
	// rollups allows answering aggregates from the hourly rollups; rollup
	// holds the plan of each store source that does (see rollup.go).
	rollups bool
	rollup  map[string]*rollupPlan
	// The statistics (stats.go): top is the statement's own SELECT; stats
	// the queries counting what each SELECT scans and matches; inStats is
	// set while compiling those.
	top     *Select
	stats   []statQuery
	inStats bool
	// repeatDepth > 0 while a grouping set's SELECT after the first is
	// compiled: it reads the same rows again, counted once.
	repeatDepth  int
	matchedAlias string // the store alias of a top SELECT counting its matches in its own pass
	matchedRows  bool   // the top SELECT's rows are its matched events
}

type cteDef struct {
	sql  string
	cols []outCol
}

// compiled is a statement ready for the engine.
type compiled struct {
	sql  string
	args []any
	cols []outCol
	// The statistics (stats.go): queries to run after sql, whether sql's
	// first column (not in cols) is the events matched, whether its rows
	// are.
	stats       []statQuery
	matchedCol  bool
	matchedRows bool
}

func (c *compiler) errf(pos int, format string, a ...any) error {
	return errAt(c.src, pos, format, a...)
}

// arg binds a value and returns its placeholder; equal values share one,
// so that equal expressions have equal SQL (GROUP BY matching needs it).
func (c *compiler) arg(v any) string {
	key := argKey(v)
	if i, ok := c.argIdx[key]; ok {
		return "?" + strconv.Itoa(i)
	}
	c.args = append(c.args, v)
	c.argIdx[key] = len(c.args)
	return "?" + strconv.Itoa(len(c.args))
}

func (c *compiler) alias() string {
	c.nAlias++
	return "s" + strconv.Itoa(c.nAlias)
}

func argKey(v any) string { return fmt.Sprintf("%T:%v", v, v) }

// compile turns a statement into engine SQL, answering what it can from
// the rollups.
func compile(st *Statement, d dialect, stores map[string]int64, now time.Time) (*compiled, error) {
	return compileOpts(st, d, stores, now, true)
}

// compileOpts is compile with the rollups allowed or not.
func compileOpts(st *Statement, d dialect, stores map[string]int64, now time.Time, rollups bool) (*compiled, error) {
	c := &compiler{src: st.src, d: d, argIdx: map[string]int{}, now: now, stores: stores, recUsed: map[string]bool{},
		hotUsed: map[string]map[string]bool{}, index: map[string]string{}, pushed: map[string]*recPush{}, rollups: rollups, rollup: map[string]*rollupPlan{}}
	c.top = st.sel
	sqlText, cols, err := c.query(st.sel)
	if err != nil {
		return nil, err
	}
	out := &compiled{args: c.args, cols: cols, matchedRows: c.matchedRows}
	if c.matchedAlias != "" {
		sqlText, out.matchedCol = c.withMatchedColumn(sqlText), true
	}
	if out.sql, err = c.finishStores(sqlText); err != nil {
		return nil, err
	}
	for _, q := range c.stats {
		if q.sql, err = c.finishStores(q.sql); err != nil {
			return nil, err
		}
		out.stats = append(out.stats, q)
	}
	out.args = c.args
	return out, nil
}

// storeMark brackets the place of a store's table in the SQL being built:
// a byte the emitted SQL cannot otherwise hold (user text is only ever
// bound, never written into it).
const storeMark = "\x00"

// finishStores writes each store's table, joined with the records only
// when the query reads the record of that source. A store's table holds
// the WHERE conjuncts pushed down to it (see pushDown), so the SQL grows
// here too: it stops at MaxCompiledSQL.
func (c *compiler) finishStores(q string) (string, error) {
	parts := strings.Split(q, storeMark)
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 0 {
			b.WriteString(p)
		} else {
			alias, arg, _ := strings.Cut(p, ":")
			if plan := c.rollup[alias]; plan != nil {
				b.WriteString(c.d.rollupTable(arg, plan))
			} else {
				b.WriteString(c.d.storeTable(arg, c.recUsed[alias], c.index[alias], c.pushed[alias]))
			}
		}
		if b.Len() > MaxCompiledSQL {
			return "", c.tooLong(0)
		}
	}
	return b.String(), nil
}

// MaxCompiledSQL bounds the SQL a statement compiles to, and
// MaxStoreReads the places in it that read an event data store. The
// compiler writes a WITH query's SQL into every place that uses it (and a
// few expressions, such as NULLIF or BETWEEN, write an operand twice), so
// without them a WITH chain whose every query uses the one before twice
// doubles the SQL per link: twenty links of a 1,000-character statement
// would be a gigabyte of SQL reading the store a million times. Both are
// far above what a real query needs.
const (
	MaxCompiledSQL = 1 << 20
	MaxStoreReads  = 100
)

// tooLong is the error of a statement whose SQL passes MaxCompiledSQL.
func (c *compiler) tooLong(pos int) error {
	return c.errf(pos, "The query is too large once its WITH queries and subqueries are written out where they are used (over %d MiB of SQL): "+
		"use each WITH query fewer times, or shorten the WITH chain or the nested expressions.", MaxCompiledSQL>>20)
}

// checkSize refuses SQL over MaxCompiledSQL, or that reads event data
// stores in more than MaxStoreReads places.
func (c *compiler) checkSize(pos int, sq string) error {
	if len(sq) > MaxCompiledSQL {
		return c.tooLong(pos)
	}
	if n := strings.Count(sq, storeMark) / 2; n > MaxStoreReads {
		return c.errf(pos, "The query reads event data stores in %d places once its WITH queries and subqueries are written out where they are used; the limit is %d. "+
			"Use each WITH query fewer times, or shorten the WITH chain.", n, MaxStoreReads)
	}
	return nil
}

// query compiles a SELECT with its WITH clause and UNION chain.
func (c *compiler) query(s *Select) (string, []outCol, error) {
	if len(s.With) > 0 {
		defs := map[string]*cteDef{}
		c.ctes = append(c.ctes, defs)
		defer func() { c.ctes = c.ctes[:len(c.ctes)-1] }()
		for _, w := range s.With {
			sq, cols, err := c.query(w.Sel)
			if err != nil {
				return "", nil, err
			}
			defs[strings.ToLower(w.Name)] = &cteDef{sql: sq, cols: cols}
		}
	}
	sq, cols, err := c.selectCore(s)
	if err != nil {
		return "", nil, err
	}
	for u := s; u.Union != nil; u = u.Union {
		sq2, cols2, err := c.selectCore(u.Union)
		if err != nil {
			return "", nil, err
		}
		name := "UNION"
		if u.SetOp != "" {
			name = u.SetOp
		}
		if len(cols2) != len(cols) {
			return "", nil, c.errf(u.Union.Pos, "%s query has different number of fields: %d, %d", name, len(cols), len(cols2))
		}
		if u == s {
			cols = slices.Clone(cols)
		}
		if err := c.unifySetOpCols(cols, cols2, name, u.Union.Pos); err != nil {
			return "", nil, err
		}
		op := " " + name + " "
		if u.UnionAll {
			op = " UNION ALL "
		}
		sq = "SELECT * FROM (" + sq + ")" + op + "SELECT * FROM (" + sq2 + ")"
		if err := c.checkSize(u.Union.Pos, sq); err != nil {
			return "", nil, err
		}
	}
	if err := c.checkSize(s.Pos, sq); err != nil {
		return "", nil, err
	}
	return sq, cols, nil
}

// unifySetOpCols gives each column of a set operation the type both its
// branches' fit in, as Trino does (an integer and a bigint are a bigint,
// a bigint and a double a double, NULL anything), and refuses columns of
// types that have none ("column 1 in UNION query has incompatible types:
// varchar, integer").
func (c *compiler) unifySetOpCols(cols, next []outCol, name string, pos int) error {
	for i := range cols {
		a, b := cols[i], next[i]
		switch {
		case b.t == tNull:
		case a.t == tNull:
			cols[i].t, cols[i].f, cols[i].narrow = b.t, b.f, b.narrow
		case a.t.numeric() && b.t.numeric():
			cols[i].t, cols[i].narrow = numericSuper(val{t: a.t, narrow: a.narrow}, val{t: b.t, narrow: b.narrow})
		case a.t == b.t:
		default:
			return c.errf(pos, "column %d in %s query has incompatible types: %s, %s", i+1, name,
				val{t: a.t, narrow: a.narrow}.typeName(), val{t: b.t, narrow: b.narrow}.typeName())
		}
	}
	return nil
}

func (c *compiler) lookupCTE(name string) *cteDef {
	for i := len(c.ctes) - 1; i >= 0; i-- {
		if d, ok := c.ctes[i][strings.ToLower(name)]; ok {
			return d
		}
	}
	return nil
}

// tableRef compiles one FROM or JOIN source.
func (c *compiler) tableRef(t TableRef) (*source, string, error) {
	src := &source{sqlAlias: c.alias(), alias: t.Alias}
	if t.Sub != nil {
		sq, cols, err := c.query(t.Sub)
		if err != nil {
			return nil, "", err
		}
		src.cols = cols
		return src, "(" + sq + ") AS " + src.sqlAlias, nil
	}
	if src.alias == "" {
		src.alias = t.Store
	}
	if d := c.lookupCTE(t.Store); d != nil {
		src.cols = d.cols
		// The WITH query's SQL is written here, in each place that uses
		// it: what that costs is counted in the SQL that holds it (see
		// checkSize).
		return src, "(" + d.sql + ") AS " + src.sqlAlias, nil
	}
	id, ok := c.stores[t.Store]
	if !ok {
		return nil, "", &UnknownStoreError{Name: t.Store}
	}
	src.store = true
	// The table is written once the query is compiled, when it is known
	// whether the record is read (see finishStores).
	return src, storeMark + src.sqlAlias + ":" + c.arg(id) + storeMark + " AS " + src.sqlAlias, nil
}

// UnknownStoreError is Run's error for a store the statement names but
// RunOptions.Stores does not map (the caller answers it as Lake does for a
// store that does not exist).
type UnknownStoreError struct{ Name string }

func (e *UnknownStoreError) Error() string {
	return fmt.Sprintf("lakesql: event data store %q is not available to this query", e.Name)
}

// selectCore compiles one SELECT of a UNION chain, through the rollups
// when they answer it.
func (c *compiler) selectCore(s *Select) (string, []outCol, error) {
	if s.groupRepeat {
		c.repeatDepth++
		defer func() { c.repeatDepth-- }()
	}
	if err := c.noteStats(s); err != nil {
		return "", nil, err
	}
	if c.rollups && !s.inSets {
		if sq, cols, ok := c.rollupSelect(s); ok {
			return sq, cols, nil
		}
	}
	return c.selectCoreRows(s)
}

// selectCoreRows compiles one SELECT of a UNION chain over its sources'
// rows.
func (c *compiler) selectCoreRows(s *Select) (string, []outCol, error) {
	sc := &scope{}
	from, fromSQL, err := c.tableRef(s.From)
	if err != nil {
		return "", nil, err
	}
	sc.sources = append(sc.sources, from)
	var b strings.Builder
	if s.From.Unnest != nil {
		return "", nil, c.errf(s.From.Pos, "%s", errUnnestFirst)
	}
	for _, j := range s.Joins {
		r, rSQL, err := c.joinRef(sc, j.Right)
		if err != nil {
			return "", nil, err
		}
		for _, o := range sc.sources {
			if strings.EqualFold(o.alias, r.alias) {
				return "", nil, c.errf(j.Right.Pos, "Relation '%s' appears more than once; give each an alias", r.alias)
			}
		}
		sc.sources = append(sc.sources, r)
		if err := c.checkSize(j.Right.Pos, fromSQL+b.String()+rSQL); err != nil {
			return "", nil, err
		}
		switch j.Kind {
		case "CROSS":
			fmt.Fprintf(&b, " CROSS JOIN %s", rSQL)
		default:
			sc.noAgg = "JOIN"
			on, err := c.boolExpr(sc, j.On, "JOIN")
			sc.noAgg = ""
			if err != nil {
				return "", nil, err
			}
			kind := j.Kind
			if kind == "INNER" {
				kind = ""
			} else {
				kind += " "
			}
			fmt.Fprintf(&b, " %sJOIN %s ON %s", kind, rSQL, on.sql)
		}
	}
	fromClause := " FROM " + fromSQL + b.String()

	var where string
	if s.Where != nil {
		sc.noAgg = "WHERE"
		w, err := c.boolExpr(sc, s.Where, "WHERE")
		if err != nil {
			return "", nil, err
		}
		sc.noAgg = ""
		where = " WHERE " + w.sql
	}

	// GROUP BY terms (ordinals refer to select items, compiled below).
	// A grouping set's SELECT is an aggregation even when its set is ().
	hasAgg := len(s.GroupBy) > 0 || s.Having != nil || c.itemsAggregate(s) || s.inSets
	sc.grouped = hasAgg
	sc.groupSQL = map[string]bool{}
	var groupTerms []string
	for _, g := range s.GroupBy {
		e := g
		if lit, ok := g.(*Literal); ok && lit.Kind == litNumber {
			n, err := strconv.Atoi(lit.Text)
			if err != nil || n < 1 || n > len(s.Items) || s.Items[n-1].Star {
				return "", nil, c.errf(lit.Pos, "GROUP BY position %s is not in select list", lit.Text)
			}
			e = s.Items[n-1].Expr
		}
		sc.noAgg = "GROUP BY"
		sc.grouped = false
		v, err := c.expr(sc, e)
		sc.grouped = true
		sc.noAgg = ""
		if err != nil {
			return "", nil, err
		}
		if v.t == tMap || v.t == tArray || v.t == tStruct {
			v.sql = c.d.jsonText(v)
		}
		sc.groupSQL[v.sql] = true
		groupTerms = append(groupTerms, v.sql)
	}
	sc.groupSet, sc.groupAll = s.GroupBy, s.GroupBy
	if s.inSets {
		sc.groupAll, sc.nullSQL = s.groupAll, map[string]bool{}
		for _, g := range s.nullGroup {
			sc.noAgg, sc.grouped = "GROUP BY", false
			v, err := c.expr(sc, g)
			sc.noAgg, sc.grouped = "", true
			if err != nil {
				return "", nil, err
			}
			if v.t == tMap || v.t == tArray || v.t == tStruct {
				v.sql = c.d.jsonText(v)
			}
			sc.nullSQL[v.sql] = true
		}
	}

	// Output columns.
	var items []string
	var cols []outCol
	for i, it := range s.Items {
		if it.Star {
			added := false
			for _, src := range sc.sources {
				if it.StarTable != "" && !strings.EqualFold(it.StarTable, src.alias) {
					continue
				}
				added = true
				stars := c.starCols(src)
				if src == sc.sources[0] && s.hidden > 0 {
					stars = stars[:len(stars)-s.hidden] // sort keys, not output
				}
				for _, sc2 := range stars {
					if sc.grouped {
						return "", nil, c.errf(it.Pos, "'*' must be an aggregate expression or appear in GROUP BY clause")
					}
					oc := sc2.col
					oc.sqlName = "c" + strconv.Itoa(len(cols))
					items = append(items, sc2.sql+" AS "+oc.sqlName)
					cols = append(cols, oc)
				}
			}
			if !added {
				return "", nil, c.errf(it.Pos, "Table '%s' not found", it.StarTable)
			}
			continue
		}
		v, err := c.expr(sc, it.Expr)
		if err != nil {
			return "", nil, err
		}
		if v.bare {
			return "", nil, c.errf(it.Expr.exprPos(), "'%s' must be an aggregate expression or appear in GROUP BY clause", c.text(it.Expr))
		}
		name := it.Alias
		if name == "" {
			if id, ok := it.Expr.(*Ident); ok {
				name = id.Parts[len(id.Parts)-1]
			} else if f, ok := it.Expr.(*Field); ok {
				name = f.Name
			} else {
				name = "_col" + strconv.Itoa(i)
			}
		}
		oc := outCol{name: name, sqlName: "c" + strconv.Itoa(len(cols)), t: v.t, narrow: v.narrow, f: v.f}
		sqlv := v.sql
		if v.t == tMap || v.t == tArray || v.t == tStruct {
			sqlv = c.d.jsonText(v)
		}
		items = append(items, sqlv+" AS "+oc.sqlName)
		cols = append(cols, oc)
	}
	sc.outputs = cols
	c.chooseIndex(sc, s, groupTerms)
	c.pushDown(sc, s)

	var q strings.Builder
	q.WriteString("SELECT ")
	if s.Distinct {
		q.WriteString("DISTINCT ")
	}
	q.WriteString(strings.Join(items, ", "))
	q.WriteString(fromClause)
	q.WriteString(where)
	switch {
	case len(groupTerms) > 0:
		q.WriteString(" GROUP BY " + strings.Join(groupTerms, ", "))
	case s.inSets && !c.itemsAggregate(s):
		// The set (): one group of all the rows, which SQLite makes of a
		// constant key when no item aggregates.
		q.WriteString(" GROUP BY NULL")
	}
	if s.Having != nil {
		sc.noAgg = ""
		h, err := c.boolExpr(sc, s.Having, "HAVING")
		if err != nil {
			return "", nil, err
		}
		if h.bare {
			return "", nil, c.errf(s.Having.exprPos(), "HAVING clause must only reference aggregates and GROUP BY terms")
		}
		q.WriteString(" HAVING " + h.sql)
	}
	if len(s.OrderBy) > 0 {
		var terms []string
		for _, o := range s.OrderBy {
			t, err := c.orderTerm(sc, s, o)
			if err != nil {
				return "", nil, err
			}
			terms = append(terms, t)
		}
		q.WriteString(" ORDER BY " + strings.Join(terms, ", "))
	}
	switch {
	case s.Limit != nil && s.Offset != nil:
		fmt.Fprintf(&q, " LIMIT %d OFFSET %d", *s.Limit, *s.Offset)
	case s.Limit != nil:
		fmt.Fprintf(&q, " LIMIT %d", *s.Limit)
	case s.Offset != nil:
		fmt.Fprintf(&q, " LIMIT -1 OFFSET %d", *s.Offset)
	}
	return q.String(), cols, nil
}

func (c *compiler) orderTerm(sc *scope, s *Select, o OrderItem) (string, error) {
	var term string
	switch e := o.Expr.(type) {
	case *Literal:
		if e.Kind == litNumber {
			n, err := strconv.Atoi(e.Text)
			if err != nil || n < 1 || n > len(sc.outputs) {
				return "", c.errf(e.Pos, "ORDER BY position %s is not in select list", e.Text)
			}
			term = sc.outputs[n-1].sqlName
		}
	case *Ident:
		if len(e.Parts) == 1 {
			for i, it := range s.Items {
				if it.Alias != "" && strings.EqualFold(it.Alias, e.Parts[0]) {
					term = sc.outputs[i].sqlName
					break
				}
			}
		}
	}
	if term == "" {
		v, err := c.expr(sc, o.Expr)
		if err != nil {
			return "", err
		}
		if v.bare {
			return "", c.errf(o.Expr.exprPos(), "'%s' must be an aggregate expression or appear in GROUP BY clause", c.text(o.Expr))
		}
		term = v.sql
		if v.t == tMap || v.t == tArray || v.t == tStruct {
			term = c.d.jsonText(v)
		}
	}
	// Trino sorts NULLs last in either direction unless told otherwise.
	nullsFirst := false
	if o.NullsFirst != nil {
		nullsFirst = *o.NullsFirst
	}
	dir := " ASC"
	if o.Desc {
		dir = " DESC"
	}
	if nullsFirst {
		return term + dir + " NULLS FIRST", nil
	}
	return term + dir + " NULLS LAST", nil
}

// itemsAggregate reports whether any select item (or HAVING/ORDER BY)
// calls an aggregate, which makes the query an aggregation.
func (c *compiler) itemsAggregate(s *Select) bool {
	found := false
	var visit func(e Expr)
	visit = func(e Expr) {
		if found || e == nil {
			return
		}
		if x, ok := e.(*Call); ok && x.Over == nil && (aggregates[x.Name] || x.Filter != nil) {
			found = true
			return
		}
		eachChild(e, visit)
	}
	for _, it := range s.Items {
		visit(it.Expr)
	}
	for _, o := range s.OrderBy {
		visit(o.Expr)
	}
	return found
}

// starCol is one column * stands for: its SQL and its output column.
type starCol struct {
	sql string
	col outCol
}

// starCols lists the columns * stands for in a source.
func (c *compiler) starCols(src *source) []starCol {
	var out []starCol
	if !src.store {
		for _, oc := range src.cols {
			sql := src.colSQL(oc)
			if oc.expr != "" && (oc.t == tStruct || oc.t == tMap || oc.t == tArray) {
				sql = c.d.jsonText(val{base: sql, path: "$"})
			}
			oc.expr = "" // the output column is the select's own
			out = append(out, starCol{sql: sql, col: oc})
		}
		return out
	}
	for _, f := range eventSchema.fields {
		if f.whole != 0 {
			continue
		}
		v := c.column(src, f, []*field{f})
		sqlv := v.sql
		if v.t == tMap || v.t == tArray || v.t == tStruct {
			sqlv = c.d.jsonText(v)
		}
		out = append(out, starCol{sql: sqlv, col: outCol{name: f.name, t: f.t, f: f}})
	}
	return out
}

// text returns the statement text of an expression, for messages.
func (c *compiler) text(e Expr) string {
	switch x := e.(type) {
	case *Ident:
		return strings.Join(x.Parts, ".")
	case *Call:
		return x.Name + "(...)"
	}
	return "expression"
}

func (c *compiler) boolExpr(sc *scope, e Expr, clause string) (val, error) {
	v, err := c.expr(sc, e)
	if err != nil {
		return v, err
	}
	if v.t != tBool && v.t != tNull {
		return v, c.errf(e.exprPos(), "%s clause must evaluate to a boolean: actual type %s", clause, v.typeName())
	}
	return v, nil
}

// column is the value of schema field f (reached through chain) in a
// store source.
func (c *compiler) column(src *source, f *field, chain []*field) val {
	v := val{t: f.t, f: f}
	if f.hot != "" {
		if c.hotUsed[src.sqlAlias] == nil {
			c.hotUsed[src.sqlAlias] = map[string]bool{}
		}
		c.hotUsed[src.sqlAlias][f.hot] = true
		v.sql = src.sqlAlias + "." + f.hot
		if f.hot == "t" {
			v.t = tTimestamp
		}
		return v
	}
	if f.whole != 0 {
		c.recUsed[src.sqlAlias] = true
		v.sql = "CAST(" + src.sqlAlias + ".rec AS TEXT)"
		if f.whole == wholeChecksum {
			v.sql = c.d.goFunc("sha256_base64", []string{v.sql})
		}
		return v
	}
	var path strings.Builder
	path.WriteString("$")
	for _, p := range chain {
		path.WriteString("." + p.name)
	}
	c.recUsed[src.sqlAlias] = true
	v.base, v.path = src.sqlAlias+".rec", path.String()
	v.sql = c.d.jsonScalar(v.base, v.path, f.t)
	return v
}

// ident resolves a column reference.
func (c *compiler) ident(sc *scope, id *Ident) (val, error) {
	full := strings.Join(id.Parts, ".")
	// A qualified name: alias.column...
	if len(id.Parts) > 1 {
		for _, src := range sc.sources {
			if strings.EqualFold(src.alias, id.Parts[0]) {
				v, ok, err := c.resolveIn(src, id.Parts[1:], id.Pos)
				if err != nil {
					return v, err
				}
				if !ok {
					return v, c.errf(id.Pos, "Column '%s' cannot be resolved", full)
				}
				return c.markBare(sc, v), nil
			}
		}
	}
	var found []val
	for _, src := range sc.sources {
		v, ok, err := c.resolveIn(src, id.Parts, id.Pos)
		if err != nil {
			return v, err
		}
		if ok {
			found = append(found, v)
		}
	}
	switch len(found) {
	case 0:
		return val{}, c.errf(id.Pos, "Column '%s' cannot be resolved", full)
	case 1:
		return c.markBare(sc, found[0]), nil
	}
	return val{}, c.errf(id.Pos, "Column '%s' is ambiguous", full)
}

func (c *compiler) markBare(sc *scope, v val) val {
	if sc.grouped && !sc.inAgg {
		v.bare = true
	}
	return c.grouped(sc, v)
}

// grouped clears bare when v is itself a GROUP BY term.
func (c *compiler) grouped(sc *scope, v val) val {
	if v.bare && sc.groupSQL[v.sql] {
		v.bare = false
	}
	if v.bare && (v.t == tMap || v.t == tStruct || v.t == tArray) && sc.groupSQL[c.d.jsonText(v)] {
		v.bare = false
	}
	return v
}

func (c *compiler) resolveIn(src *source, parts []string, pos int) (val, bool, error) {
	if src.store {
		f := eventSchema.find(parts[0])
		if f == nil {
			return val{}, false, nil
		}
		chain := []*field{f}
		for _, p := range parts[1:] {
			if f.t != tStruct {
				return val{}, false, c.errf(pos, "Expression %s is not of type ROW", strings.Join(parts, "."))
			}
			f = f.find(p)
			if f == nil {
				return val{}, false, nil
			}
			chain = append(chain, f)
		}
		return c.column(src, f, chain), true, nil
	}
	for _, oc := range src.cols {
		if !strings.EqualFold(oc.name, parts[0]) {
			continue
		}
		v := val{sql: src.colSQL(oc), t: oc.t, narrow: oc.narrow, f: oc.f}
		if oc.t == tStruct || oc.t == tMap || oc.t == tArray {
			v.base, v.path = v.sql, "$"
		}
		for _, p := range parts[1:] {
			nv, err := c.member(v, p, pos)
			if err != nil {
				return val{}, false, err
			}
			v = nv
		}
		return v, true, nil
	}
	return val{}, false, nil
}

// member is v.name for a struct value.
func (c *compiler) member(v val, name string, pos int) (val, error) {
	if v.t != tStruct || v.f == nil {
		return val{}, c.errf(pos, "Expression is not of type ROW: cannot read field '%s'", name)
	}
	f := v.f.find(name)
	if f == nil {
		return val{}, c.errf(pos, "Column '%s' cannot be resolved", name)
	}
	nv := val{t: f.t, f: f, base: v.base, path: v.path + "." + f.name, bare: v.bare, agg: v.agg}
	nv.sql = c.d.jsonScalar(nv.base, nv.path, f.t)
	return nv, nil
}

var unitMillis = map[string]int64{
	"millisecond": 1, "second": 1000, "minute": 60000, "hour": 3600000, "day": 86400000, "week": 7 * 86400000,
}

var monthUnits = map[string]int64{"month": 1, "quarter": 3, "year": 12}

// parseTime reads a timestamp literal as Lake accepts it.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{
		"2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02 15:04",
		"2006-01-02", "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05Z",
		"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999 UTC", "2006-01-02 15:04:05 UTC",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

var validIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
