package lakesql

import (
	"errors"
	"strconv"
	"strings"
)

// Statement is a parsed Lake SQL statement, ready to Run.
type Statement struct {
	src    string
	sel    *Select
	stores []string
}

// Parse reads one Lake SQL statement (a SELECT, optionally ending with ';').
// Its errors are *SyntaxError, pointing at the problem. Parse checks the
// syntax only; Run also checks columns, functions and types, and answers
// what is wrong there with a *SyntaxError too.
func Parse(sql string) (*Statement, error) {
	if len(sql) > maxStatement {
		return nil, &SyntaxError{Line: 1, Column: 1, Msg: "statement is longer than 10000 characters"}
	}
	toks, err := lex(sql)
	if err != nil {
		return nil, err
	}
	p := &parser{src: sql, toks: toks}
	sel, err := p.parseQuery()
	if err != nil {
		return nil, err
	}
	if p.isOp(";") {
		p.next()
	}
	if p.tok().kind != tokEOF {
		return nil, p.errHere("mismatched input '%s'. Expecting: <EOF>", p.tok().text)
	}
	st := &Statement{src: sql, sel: sel}
	st.stores = collectStores(sel, nil, nil, map[string]bool{})
	if len(st.stores) == 0 {
		return nil, errAt(sql, 0, "the query names no event data store")
	}
	return st, nil
}

// Stores names the event data stores the statement reads, as written after
// FROM or JOIN (an ID or an ARN), each once, in order of appearance.
func (st *Statement) Stores() []string { return append([]string(nil), st.stores...) }

// String returns the statement's text.
func (st *Statement) String() string { return st.src }

// cteScope is the WITH query names visible at a point of a statement: a
// WITH's own names, then those of the WITHs around it. It mirrors the
// compiler's lookupCTE, so that a name read here as a WITH query is one
// the compiler reads so too, and every other name is a store the caller
// must own.
type cteScope struct {
	names map[string]bool // lower case
	outer *cteScope
}

func (sc *cteScope) has(name string) bool {
	for ; sc != nil; sc = sc.outer {
		if sc.names[strings.ToLower(name)] {
			return true
		}
	}
	return false
}

// collectStores appends to out the stores s names that are not WITH
// queries in scope sc, each once (seen). As in Trino, a WITH query is
// visible in the later queries of its WITH and anywhere in the SELECT it
// heads (its subqueries and set operation included); an inner WITH
// shadows an outer one; a WITH query's own name inside it is not itself.
func collectStores(s *Select, sc *cteScope, out []string, seen map[string]bool) []string {
	if len(s.With) > 0 {
		inner := &cteScope{names: map[string]bool{}, outer: sc}
		for _, c := range s.With {
			out = collectStores(c.Sel, inner, out, seen)
			inner.names[strings.ToLower(c.Name)] = true
		}
		sc = inner
	}
	add := func(t TableRef) {
		if t.Sub != nil {
			out = collectStores(t.Sub, sc, out, seen)
		} else if t.Store != "" && !sc.has(t.Store) && !seen[t.Store] {
			seen[t.Store] = true
			out = append(out, t.Store)
		}
	}
	add(s.From)
	for _, j := range s.Joins {
		add(j.Right)
	}
	walkSubqueries(s, func(sub *Select) { out = collectStores(sub, sc, out, seen) })
	if s.Union != nil {
		out = collectStores(s.Union, sc, out, seen)
	}
	return out
}

// walkSubqueries calls f on each subquery inside s's expressions.
func walkSubqueries(s *Select, f func(*Select)) {
	var visit func(e Expr)
	visit = func(e Expr) {
		switch x := e.(type) {
		case nil:
			return
		case *In:
			if x.Sub != nil {
				f(x.Sub)
			}
		case *SubqueryExpr:
			f(x.Sel)
		}
		eachChild(e, visit)
	}
	for _, it := range s.Items {
		visit(it.Expr)
	}
	for _, j := range s.Joins {
		visit(j.Right.Unnest)
		visit(j.On)
	}
	visit(s.Where)
	for _, g := range s.GroupBy {
		visit(g)
	}
	visit(s.Having)
	for _, o := range s.OrderBy {
		visit(o.Expr)
	}
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

// maxDepth bounds nesting so a hostile statement cannot exhaust the stack.
const maxDepth = 200

func (p *parser) tok() token { return p.toks[p.i] }
func (p *parser) peek(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) errHere(format string, args ...any) *SyntaxError {
	return errAt(p.src, p.tok().pos, format, args...)
}

func (p *parser) unexpected(what string) *SyntaxError {
	t := p.tok()
	if t.kind == tokEOF {
		return p.errHere("mismatched input '<EOF>'. Expecting: %s", what)
	}
	return p.errHere("mismatched input '%s'. Expecting: %s", t.text, what)
}

// isKw reports whether the current token is the keyword kw (upper case).
func (p *parser) isKw(kw string) bool {
	t := p.tok()
	return t.kind == tokIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) isKwAt(n int, kw string) bool {
	t := p.peek(n)
	return t.kind == tokIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) acceptKw(kw string) bool {
	if p.isKw(kw) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expectKw(kw string) error {
	if !p.acceptKw(kw) {
		return p.unexpected(kw)
	}
	return nil
}

func (p *parser) isOp(op string) bool { t := p.tok(); return t.kind == tokOp && t.text == op }

func (p *parser) acceptOp(op string) bool {
	if p.isOp(op) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expectOp(op string) error {
	if !p.acceptOp(op) {
		return p.unexpected("'" + op + "'")
	}
	return nil
}

// reserved words cannot be bare aliases or column names.
var reserved = map[string]bool{
	"select": true, "from": true, "where": true, "group": true, "by": true, "having": true,
	"order": true, "limit": true, "offset": true, "and": true, "or": true, "not": true,
	"as": true, "on": true, "join": true, "inner": true, "left": true, "right": true,
	"full": true, "outer": true, "cross": true, "union": true, "case": true, "when": true,
	"then": true, "else": true, "end": true, "in": true, "is": true, "null": true,
	"like": true, "between": true, "distinct": true, "with": true, "true": true,
	"false": true, "exists": true, "cast": true, "escape": true, "all": true, "using": true,
	"natural": true, "intersect": true, "except": true, "values": true, "fetch": true,
	"unnest": true,
}

// refuseUnnest is the error for UNNEST where an alias would be: it is
// reserved in Trino, and only expands an array after a JOIN or a comma.
func (p *parser) refuseUnnest() error {
	if p.isKw("UNNEST") {
		return p.errHere("mismatched input 'UNNEST': UNNEST is reserved and cannot be an alias; " +
			"to expand an array into rows write CROSS JOIN UNNEST(x) AS t(col)")
	}
	return nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errHere("statement is too deeply nested (more than %d levels of parentheses, operators and subqueries)", maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// parseQuery reads [WITH …] select [UNION [ALL] select]…
func (p *parser) parseQuery() (*Select, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var with []CTE
	if p.acceptKw("WITH") {
		for {
			t := p.tok()
			if t.kind != tokIdent && t.kind != tokQIdent || reserved[strings.ToLower(t.text)] && t.kind == tokIdent {
				return nil, p.unexpected("a name")
			}
			p.next()
			if err := p.expectKw("AS"); err != nil {
				return nil, err
			}
			if err := p.expectOp("("); err != nil {
				return nil, err
			}
			sub, err := p.parseQuery()
			if err != nil {
				return nil, err
			}
			if err := p.expectOp(")"); err != nil {
				return nil, err
			}
			with = append(with, CTE{Pos: t.pos, Name: t.text, Sel: sub})
			if !p.acceptOp(",") {
				break
			}
		}
	}
	sel, err := p.parseBranch()
	if err != nil {
		return nil, err
	}
	cur := sel
	ops := map[string]bool{}
	for p.isKw("UNION") || p.isKw("EXCEPT") || p.isKw("INTERSECT") {
		if err := p.refuseBranchTail(cur); err != nil {
			return nil, err
		}
		opTok := p.next()
		op := strings.ToUpper(opTok.text)
		all := p.acceptKw("ALL")
		if !all {
			p.acceptKw("DISTINCT")
		}
		if all && op != "UNION" {
			return nil, errAt(p.src, opTok.pos, "%s ALL is not supported: use %s (DISTINCT)", op, op)
		}
		ops[op] = true
		if ops["INTERSECT"] && len(ops) > 1 {
			// INTERSECT binds tighter than UNION and EXCEPT; one chain
			// here is read left to right, so a mix would be misread.
			return nil, errAt(p.src, opTok.pos, "INTERSECT cannot be mixed with UNION or EXCEPT in one chain: put one side in a WITH query")
		}
		nxt, err := p.parseBranch()
		if err != nil {
			return nil, err
		}
		cur.Union, cur.UnionAll = nxt, all
		if op != "UNION" {
			cur.SetOp = op
		}
		cur = nxt
	}
	if cur == sel {
		sel.With = with
		return sel, nil
	}
	return wrapSetOp(sel, cur, with), nil
}

// refuseBranchTail refuses an ORDER BY, OFFSET or LIMIT on a SELECT
// followed by UNION, EXCEPT or INTERSECT: Trino's grammar allows them
// only after the last SELECT, where they apply to the whole operation.
func (p *parser) refuseBranchTail(s *Select) error {
	if len(s.OrderBy) == 0 && s.Limit == nil && s.Offset == nil && s.tailKw != "LIMIT" {
		return nil
	}
	return errAt(p.src, s.tail, "%s is allowed only after the last SELECT of a %s, where it applies to the whole result; "+
		"to apply it to this SELECT alone, put the SELECT in parentheses", s.tailKw, strings.ToUpper(p.tok().text))
}

// wrapSetOp makes the ORDER BY, OFFSET and LIMIT read after the last
// SELECT of a set operation (first … last) the whole operation's, as in
// Trino: the operation becomes the subquery of a SELECT * that sorts and
// cuts its rows, its columns named after the first SELECT's. The WITH
// queries go on that outer SELECT, visible in every SELECT of the chain.
func wrapSetOp(first, last *Select, with []CTE) *Select {
	first.With = nil
	if len(last.OrderBy) == 0 && last.Limit == nil && last.Offset == nil {
		first.With = with
		return first
	}
	outer := &Select{Pos: first.Pos, With: with, Items: []SelectItem{{Pos: first.Pos, Star: true}},
		From: TableRef{Pos: first.Pos, Sub: first}, OrderBy: last.OrderBy, Limit: last.Limit, Offset: last.Offset}
	last.OrderBy, last.Limit, last.Offset = nil, nil, nil
	return outer
}

func (p *parser) parseSelect() (*Select, error) {
	s := &Select{Pos: p.tok().pos}
	if err := p.expectKw("SELECT"); err != nil {
		return nil, err
	}
	if p.acceptKw("DISTINCT") {
		s.Distinct = true
	} else {
		p.acceptKw("ALL")
	}
	for {
		it, err := p.parseSelectItem()
		if err != nil {
			return nil, err
		}
		s.Items = append(s.Items, it)
		if !p.acceptOp(",") {
			break
		}
	}
	if err := p.expectKw("FROM"); err != nil {
		return nil, err
	}
	from, err := p.parseTableRef()
	if err != nil {
		return nil, err
	}
	if from.Unnest != nil {
		return nil, errAt(p.src, from.Pos, "%s", errUnnestFirst)
	}
	s.From = from
	for {
		j, ok, err := p.parseJoin()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		s.Joins = append(s.Joins, j)
	}
	if p.acceptKw("WHERE") {
		if s.Where, err = p.parseExpr(); err != nil {
			return nil, err
		}
	}
	if err = p.parseGroupBy(s); err != nil {
		return nil, err
	}
	if p.acceptKw("HAVING") {
		if s.Having, err = p.parseExpr(); err != nil {
			return nil, err
		}
	}
	if err := p.parseOrderLimit(s); err != nil {
		return nil, err
	}
	return s, nil
}

// parseBranch reads one SELECT of a query's set operation: a SELECT, or a
// query in parentheses, which keeps its own ORDER BY, OFFSET and LIMIT,
// read as SELECT * FROM (query) with the ORDER BY, OFFSET and LIMIT that
// follow the parentheses.
func (p *parser) parseBranch() (*Select, error) {
	if !p.isOp("(") {
		s, err := p.parseSelect()
		if err == nil && s.groupSets != nil {
			return expandGroupingSets(s, p.src)
		}
		return s, err
	}
	pos := p.next().pos
	sub, err := p.parseQuery()
	if err != nil {
		return nil, err
	}
	if err := p.expectOp(")"); err != nil {
		return nil, err
	}
	s := &Select{Pos: pos, Items: []SelectItem{{Pos: pos, Star: true}}, From: TableRef{Pos: pos, Sub: sub}}
	if err := p.parseOrderLimit(s); err != nil {
		return nil, err
	}
	return s, nil
}

// parseOrderLimit reads the [ORDER BY …] [OFFSET n] [LIMIT n|ALL] that end
// a SELECT into s.
func (p *parser) parseOrderLimit(s *Select) error {
	var err error
	s.tail, s.tailKw = p.tok().pos, "ORDER BY"
	if s.OrderBy, err = p.parseOrderBy(); err != nil {
		return err
	}
	if len(s.OrderBy) == 0 {
		s.tail, s.tailKw = p.tok().pos, "OFFSET"
	}
	if p.isKw("LIMIT") {
		s.tail, s.tailKw = p.tok().pos, "LIMIT"
	}
	if p.acceptKw("OFFSET") {
		n, err := p.parseCount()
		if err != nil {
			return err
		}
		s.Offset = &n
		p.acceptKw("ROWS")
		p.acceptKw("ROW")
	}
	if p.isKw("LIMIT") {
		s.tail, s.tailKw = p.tok().pos, "LIMIT"
	}
	if p.acceptKw("LIMIT") {
		if p.acceptKw("ALL") {
			return nil
		}
		n, err := p.parseCount()
		if err != nil {
			return err
		}
		s.Limit = &n
		return nil
	}
	// FETCH { FIRST | NEXT } [n] { ROW | ROWS } ONLY: LIMIT n (1 when n
	// is left out). WITH TIES is not supported.
	if p.isKw("FETCH") {
		s.tail, s.tailKw = p.tok().pos, "FETCH"
		p.next()
		if !p.acceptKw("FIRST") && !p.acceptKw("NEXT") {
			return p.unexpected("FIRST or NEXT")
		}
		n := int64(1)
		if p.tok().kind == tokNumber {
			var err error
			if n, err = p.parseCount(); err != nil {
				return err
			}
		}
		if !p.acceptKw("ROWS") && !p.acceptKw("ROW") {
			return p.unexpected("ROWS")
		}
		if err := p.expectKw("ONLY"); err != nil {
			return err
		}
		s.Limit = &n
	}
	return nil
}

// parseByList reads an optional "kw BY e1, e2, …" (PARTITION BY): nil
// when the next token is not kw.
func (p *parser) parseByList(kw string) ([]Expr, error) {
	if !p.isKw(kw) {
		return nil, nil
	}
	p.next()
	if err := p.expectKw("BY"); err != nil {
		return nil, err
	}
	return p.parseExprList("")
}

// parseOrderBy reads an optional ORDER BY list (of a query or a window):
// nil when the next token is not ORDER.
func (p *parser) parseOrderBy() ([]OrderItem, error) {
	if !p.isKw("ORDER") {
		return nil, nil
	}
	p.next()
	if err := p.expectKw("BY"); err != nil {
		return nil, err
	}
	var out []OrderItem
	for {
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		o := OrderItem{Expr: e}
		if p.acceptKw("DESC") {
			o.Desc = true
		} else {
			p.acceptKw("ASC")
		}
		if p.acceptKw("NULLS") {
			first := p.isKw("FIRST")
			if !first && !p.isKw("LAST") {
				return nil, p.unexpected("FIRST, LAST")
			}
			p.next()
			o.NullsFirst = &first
		}
		out = append(out, o)
		if !p.acceptOp(",") {
			return out, nil
		}
	}
}

func (p *parser) parseCount() (int64, error) {
	t := p.tok()
	if t.kind != tokNumber {
		return 0, p.unexpected("an integer")
	}
	n, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil || n < 0 {
		return 0, p.errHere("'%s' is not a valid row count", t.text)
	}
	p.next()
	return n, nil
}

func (p *parser) parseSelectItem() (SelectItem, error) {
	pos := p.tok().pos
	if p.acceptOp("*") {
		return SelectItem{Pos: pos, Star: true}, nil
	}
	// alias.*
	if (p.tok().kind == tokIdent || p.tok().kind == tokQIdent) && p.peek(1).kind == tokOp && p.peek(1).text == "." &&
		p.peek(2).kind == tokOp && p.peek(2).text == "*" {
		name := p.next().text
		p.next()
		p.next()
		return SelectItem{Pos: pos, Star: true, StarTable: name}, nil
	}
	e, err := p.parseExpr()
	if err != nil {
		return SelectItem{}, err
	}
	it := SelectItem{Pos: pos, Expr: e}
	alias, err := p.parseAlias()
	if err != nil {
		return SelectItem{}, err
	}
	it.Alias = alias
	return it, nil
}

// parseAlias reads an optional [AS] alias.
func (p *parser) parseAlias() (string, error) {
	as := p.acceptKw("AS")
	if err := p.refuseUnnest(); err != nil {
		return "", err
	}
	t := p.tok()
	if t.kind == tokQIdent || t.kind == tokIdent && !reserved[strings.ToLower(t.text)] {
		p.next()
		return t.text, nil
	}
	if t.kind == tokString && as {
		p.next()
		return t.text, nil
	}
	if as {
		return "", p.unexpected("an alias")
	}
	return "", nil
}

// parseTableRef reads a store name or a (subquery), with an optional alias.
func (p *parser) parseTableRef() (TableRef, error) {
	t := p.tok()
	ref := TableRef{Pos: t.pos}
	if p.isKw("UNNEST") {
		return p.parseUnnest()
	}
	switch {
	case t.kind == tokOp && t.text == "(":
		p.next()
		sub, err := p.parseQuery()
		if err != nil {
			return ref, err
		}
		if err := p.expectOp(")"); err != nil {
			return ref, err
		}
		ref.Sub = sub
	case t.kind == tokQIdent:
		p.next()
		ref.Store = t.text
	case t.kind == tokIdent || t.kind == tokNumber || t.kind == tokDigitIdent || t.kind == tokOp && t.text == "-":
		end := scanStoreName(p.src, t.pos)
		if end == t.pos {
			return ref, p.unexpected("an event data store ID")
		}
		ref.Store = p.src[t.pos:end]
		if reserved[strings.ToLower(ref.Store)] {
			return ref, p.unexpected("an event data store ID")
		}
		for p.tok().kind != tokEOF && p.tok().pos < end {
			if p.tok().end > end {
				return ref, p.errHere("malformed event data store ID")
			}
			p.next()
		}
	default:
		return ref, p.unexpected("an event data store ID")
	}
	alias, err := p.parseAlias()
	if err != nil {
		return ref, err
	}
	ref.Alias = alias
	return ref, nil
}

func (p *parser) parseJoin() (Join, bool, error) {
	j := Join{Pos: p.tok().pos}
	switch {
	case p.isKw("JOIN"):
		j.Kind = "INNER"
	case p.isKw("INNER") && p.isKwAt(1, "JOIN"):
		j.Kind = "INNER"
		p.next()
	case (p.isKw("LEFT") || p.isKw("RIGHT") || p.isKw("FULL")) && (p.isKwAt(1, "JOIN") || p.isKwAt(1, "OUTER")):
		j.Kind = strings.ToUpper(p.next().text)
		p.acceptKw("OUTER")
	case p.isKw("CROSS") && p.isKwAt(1, "JOIN"):
		j.Kind = "CROSS"
		p.next()
	case p.isOp(","):
		j.Kind = "CROSS"
		p.next()
		r, err := p.parseTableRef()
		j.Right = r
		return j, true, err
	default:
		return j, false, nil
	}
	if err := p.expectKw("JOIN"); err != nil {
		return j, false, err
	}
	r, err := p.parseTableRef()
	if err != nil {
		return j, false, err
	}
	j.Right = r
	if j.Kind != "CROSS" {
		if err := p.expectKw("ON"); err != nil {
			return j, false, err
		}
		if j.On, err = p.parseExpr(); err != nil {
			return j, false, err
		}
	}
	return j, true, nil
}

// Expressions, by precedence: OR, AND, NOT, comparison/predicates, ||,
// + -, * / %, unary -, postfix ([] and .), primary.

func (p *parser) parseExpr() (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.parseOr()
}

func (p *parser) parseOr() (Expr, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	links := 0
	defer func() { p.depth -= links }()
	for p.isKw("OR") {
		// Each operator nests the expression one level deeper (a
		// left-deep tree): counted as nesting, so a long chain is
		// refused here, not by the engine.
		links++
		if err := p.enter(); err != nil {
			return nil, err
		}
		pos := p.next().pos
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: pos, Op: "OR", L: l, R: r}
	}
	return l, nil
}

func (p *parser) parseAnd() (Expr, error) {
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	links := 0
	defer func() { p.depth -= links }()
	for p.isKw("AND") {
		// Each operator nests the expression one level deeper (a
		// left-deep tree): counted as nesting, so a long chain is
		// refused here, not by the engine.
		links++
		if err := p.enter(); err != nil {
			return nil, err
		}
		pos := p.next().pos
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: pos, Op: "AND", L: l, R: r}
	}
	return l, nil
}

func (p *parser) parseNot() (Expr, error) {
	if p.isKw("NOT") {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		pos := p.next().pos
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &Unary{Pos: pos, Op: "NOT", X: x}, nil
	}
	return p.parsePredicate()
}

func (p *parser) parsePredicate() (Expr, error) {
	l, err := p.parseConcat()
	if err != nil {
		return nil, err
	}
	for {
		t := p.tok()
		if t.kind == tokOp {
			switch t.text {
			case "=", "<>", "!=", "<", "<=", ">", ">=":
				p.next()
				op := t.text
				if op == "!=" {
					op = "<>"
				}
				// "< =" and "> =" (a space inside the operator) appear in
				// AWS's own Lake examples; Lake accepts them.
				if (op == "<" || op == ">") && p.isOp("=") && p.tok().pos == t.end+1 {
					p.next()
					op += "="
				}
				r, err := p.parseConcat()
				if err != nil {
					return nil, err
				}
				l = &Binary{Pos: t.pos, Op: op, L: l, R: r}
				continue
			}
			return l, nil
		}
		not := false
		if p.isKw("NOT") && (p.isKwAt(1, "LIKE") || p.isKwAt(1, "IN") || p.isKwAt(1, "BETWEEN")) {
			not = true
			p.next()
		}
		switch {
		case p.isKw("IS"):
			p.next()
			n := p.acceptKw("NOT")
			if p.acceptKw("NULL") {
				l = &IsNull{Pos: t.pos, Not: n, X: l}
				continue
			}
			if p.acceptKw("DISTINCT") {
				if err := p.expectKw("FROM"); err != nil {
					return nil, err
				}
				r, err := p.parseConcat()
				if err != nil {
					return nil, err
				}
				op := "IS DISTINCT FROM"
				if n {
					op = "IS NOT DISTINCT FROM"
				}
				l = &Binary{Pos: t.pos, Op: op, L: l, R: r}
				continue
			}
			return nil, p.unexpected("NULL")
		case p.acceptKw("LIKE"):
			pat, err := p.parseConcat()
			if err != nil {
				return nil, err
			}
			lk := &Like{Pos: t.pos, Not: not, X: l, Pat: pat}
			if p.acceptKw("ESCAPE") {
				if lk.Escape, err = p.parseConcat(); err != nil {
					return nil, err
				}
			}
			l = lk
		case p.acceptKw("IN"):
			if err := p.expectOp("("); err != nil {
				return nil, err
			}
			in := &In{Pos: t.pos, Not: not, X: l}
			if p.isKw("SELECT") || p.isKw("WITH") {
				if in.Sub, err = p.parseQuery(); err != nil {
					return nil, err
				}
			} else {
				for {
					e, err := p.parseExpr()
					if err != nil {
						return nil, err
					}
					in.List = append(in.List, e)
					if !p.acceptOp(",") {
						break
					}
				}
			}
			if err := p.expectOp(")"); err != nil {
				return nil, err
			}
			l = in
		case p.acceptKw("BETWEEN"):
			lo, err := p.parseConcat()
			if err != nil {
				return nil, err
			}
			if err := p.expectKw("AND"); err != nil {
				return nil, err
			}
			hi, err := p.parseConcat()
			if err != nil {
				return nil, err
			}
			l = &Between{Pos: t.pos, Not: not, X: l, Lo: lo, Hi: hi}
		default:
			return l, nil
		}
	}
}

func (p *parser) parseConcat() (Expr, error) {
	l, err := p.parseAdd()
	if err != nil {
		return nil, err
	}
	links := 0
	defer func() { p.depth -= links }()
	for p.isOp("||") {
		// Each operator nests the expression one level deeper (a
		// left-deep tree): counted as nesting, so a long chain is
		// refused here, not by the engine.
		links++
		if err := p.enter(); err != nil {
			return nil, err
		}
		pos := p.next().pos
		r, err := p.parseAdd()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: pos, Op: "||", L: l, R: r}
	}
	return l, nil
}

func (p *parser) parseAdd() (Expr, error) {
	l, err := p.parseMul()
	if err != nil {
		return nil, err
	}
	links := 0
	defer func() { p.depth -= links }()
	for p.isOp("+") || p.isOp("-") {
		// Each operator nests the expression one level deeper (a
		// left-deep tree): counted as nesting, so a long chain is
		// refused here, not by the engine.
		links++
		if err := p.enter(); err != nil {
			return nil, err
		}
		t := p.next()
		r, err := p.parseMul()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: t.pos, Op: t.text, L: l, R: r}
	}
	return l, nil
}

func (p *parser) parseMul() (Expr, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	links := 0
	defer func() { p.depth -= links }()
	for p.isOp("*") || p.isOp("/") || p.isOp("%") {
		// Each operator nests the expression one level deeper (a
		// left-deep tree): counted as nesting, so a long chain is
		// refused here, not by the engine.
		links++
		if err := p.enter(); err != nil {
			return nil, err
		}
		t := p.next()
		r, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: t.pos, Op: t.text, L: l, R: r}
	}
	return l, nil
}

func (p *parser) parseUnary() (Expr, error) {
	if p.isOp("-") || p.isOp("+") {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		t := p.next()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if t.text == "+" {
			return x, nil
		}
		if lit, ok := x.(*Literal); ok && lit.Kind == litNumber && !strings.HasPrefix(lit.Text, "-") {
			return &Literal{Pos: t.pos, Kind: litNumber, Text: "-" + lit.Text}, nil
		}
		if iv, ok := x.(*Interval); ok {
			iv.Neg = !iv.Neg
			iv.Pos = t.pos
			return iv, nil
		}
		return &Unary{Pos: t.pos, Op: "-", X: x}, nil
	}
	return p.parsePostfix()
}

func (p *parser) parsePostfix() (Expr, error) {
	x, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isOp("["):
			pos := p.next().pos
			idx, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			if err := p.expectOp("]"); err != nil {
				return nil, err
			}
			x = &Subscript{Pos: pos, X: x, Index: idx}
		case p.isOp("."):
			pos := p.next().pos
			t := p.tok()
			if t.kind != tokIdent && t.kind != tokQIdent {
				return nil, p.unexpected("a field name")
			}
			p.next()
			if id, ok := x.(*Ident); ok {
				id.Parts = append(id.Parts, t.text)
			} else {
				x = &Field{Pos: pos, X: x, Name: t.text}
			}
		default:
			return x, nil
		}
	}
}

// intervalUnits maps the units INTERVAL accepts to their singular names.
var intervalUnits = map[string]string{
	"second": "second", "seconds": "second", "minute": "minute", "minutes": "minute",
	"hour": "hour", "hours": "hour", "day": "day", "days": "day",
	"month": "month", "months": "month", "year": "year", "years": "year",
}

func (p *parser) parsePrimary() (Expr, error) {
	t := p.tok()
	switch t.kind {
	case tokString:
		p.next()
		return &Literal{Pos: t.pos, Kind: litString, Text: t.text}, nil
	case tokNumber:
		p.next()
		return &Literal{Pos: t.pos, Kind: litNumber, Text: t.text}, nil
	case tokDigitIdent:
		return nil, errAt(p.src, t.pos, "identifiers must not start with a digit; surround the identifier with double quotes")
	case tokQIdent:
		p.next()
		return &Ident{Pos: t.pos, Parts: []string{t.text}}, nil
	case tokOp:
		if t.text != "(" {
			return nil, p.unexpected("an expression")
		}
		p.next()
		if p.isKw("SELECT") || p.isKw("WITH") {
			sub, err := p.parseQuery()
			if err != nil {
				return nil, err
			}
			if err := p.expectOp(")"); err != nil {
				return nil, err
			}
			return &SubqueryExpr{Pos: t.pos, Sel: sub}, nil
		}
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return e, nil
	case tokEOF:
		return nil, p.unexpected("an expression")
	}
	// An identifier: a keyword-led form, a function call, or a column.
	kw := strings.ToLower(t.text)
	switch kw {
	case "null":
		p.next()
		return &Literal{Pos: t.pos, Kind: litNull}, nil
	case "true", "false":
		p.next()
		return &Literal{Pos: t.pos, Kind: litBool, Text: kw}, nil
	case "timestamp", "date":
		if p.peek(1).kind == tokString {
			p.next()
			s := p.next()
			k := litTimestamp
			if kw == "date" {
				k = litDate
			}
			return &Literal{Pos: t.pos, Kind: k, Text: s.text}, nil
		}
	case "interval":
		return p.parseInterval()
	case "case":
		return p.parseCase()
	case "array":
		if p.peek(1).kind == tokOp && p.peek(1).text == "[" {
			p.next()
			p.next()
			a := &ArrayLit{Pos: t.pos}
			for !p.isOp("]") {
				e, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				a.Elems = append(a.Elems, e)
				if !p.acceptOp(",") {
					break
				}
			}
			if err := p.expectOp("]"); err != nil {
				return nil, err
			}
			return a, nil
		}
	case "cast", "try_cast":
		return p.parseCast(kw == "try_cast")
	case "exists":
		p.next()
		if err := p.expectOp("("); err != nil {
			return nil, err
		}
		sub, err := p.parseQuery()
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return &SubqueryExpr{Pos: t.pos, Sel: sub, Exists: true}, nil
	case "current_timestamp", "current_date", "localtimestamp":
		if !(p.peek(1).kind == tokOp && p.peek(1).text == "(") {
			p.next()
			return &Call{Pos: t.pos, Name: kw}, nil
		}
	}
	if p.peek(1).kind == tokOp && p.peek(1).text == "(" {
		return p.parseCall()
	}
	if reserved[kw] {
		return nil, p.unexpected("an expression")
	}
	p.next()
	return &Ident{Pos: t.pos, Parts: []string{t.text}}, nil
}

func (p *parser) parseInterval() (Expr, error) {
	pos := p.next().pos
	neg := false
	if p.isOp("-") || p.isOp("+") {
		neg = p.next().text == "-"
	}
	v := p.tok()
	if v.kind != tokString && v.kind != tokNumber {
		return nil, p.unexpected("a string")
	}
	p.next()
	u := p.tok()
	unit, ok := intervalUnits[strings.ToLower(u.text)]
	if u.kind != tokIdent || !ok {
		return nil, p.unexpected("SECOND, MINUTE, HOUR, DAY, MONTH, YEAR")
	}
	p.next()
	return &Interval{Pos: pos, Value: v.text, Unit: unit, Neg: neg}, nil
}

func (p *parser) parseCase() (Expr, error) {
	c := &Case{Pos: p.next().pos}
	var err error
	if !p.isKw("WHEN") {
		if c.Operand, err = p.parseExpr(); err != nil {
			return nil, err
		}
	}
	for p.acceptKw("WHEN") {
		var w When
		if w.Cond, err = p.parseExpr(); err != nil {
			return nil, err
		}
		if err := p.expectKw("THEN"); err != nil {
			return nil, err
		}
		if w.Then, err = p.parseExpr(); err != nil {
			return nil, err
		}
		c.Whens = append(c.Whens, w)
	}
	if len(c.Whens) == 0 {
		return nil, p.unexpected("WHEN")
	}
	if p.acceptKw("ELSE") {
		if c.Else, err = p.parseExpr(); err != nil {
			return nil, err
		}
	}
	if err := p.expectKw("END"); err != nil {
		return nil, err
	}
	return c, nil
}

func (p *parser) parseCast(try bool) (Expr, error) {
	pos := p.next().pos
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	x, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expectKw("AS"); err != nil {
		return nil, err
	}
	t := p.tok()
	if t.kind != tokIdent {
		return nil, p.unexpected("a type")
	}
	p.next()
	typ := strings.ToLower(t.text)
	if typ == "double" && p.isKw("PRECISION") {
		p.next()
	}
	c := &Cast{Pos: pos, X: x, Type: typ, Try: try}
	if p.isOp("(") { // varchar(n), decimal(p, s)
		c.ParamsPos = p.next().pos
		for !p.isOp(")") && p.tok().kind != tokEOF {
			if t := p.next(); t.text != "," {
				c.Params = append(c.Params, t.text)
			}
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
	}
	if err := p.expectOp(")"); err != nil {
		return nil, err
	}
	return c, nil
}

func (p *parser) parseCall() (Expr, error) {
	t := p.next()
	c := &Call{Pos: t.pos, Name: strings.ToLower(t.text)}
	p.next() // (
	if p.acceptOp(")") {
		return c, p.parseFilterOver(c)
	}
	var first Expr
	switch c.Name {
	case "substring", "position", "trim":
		var done bool
		var err error
		if first, done, err = p.parseSpecialForm(c); err != nil {
			return nil, err
		}
		if done {
			return c, p.parseFilterOver(c)
		}
	}
	if first != nil {
		// The first argument is read; the rest follow as usual.
		c.Args = append(c.Args, first)
		if !p.acceptOp(",") {
			if err := p.expectOp(")"); err != nil {
				return nil, err
			}
			return c, p.parseFilterOver(c)
		}
	} else if p.isOp("*") {
		p.next()
		c.Star = true
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return c, p.parseFilterOver(c)
	}
	if first == nil && p.acceptKw("DISTINCT") {
		c.Distinct = true
	} else if first == nil {
		p.acceptKw("ALL")
	}
	for {
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		c.Args = append(c.Args, e)
		if !p.acceptOp(",") {
			break
		}
	}
	var err error
	if c.OrderBy, err = p.parseOrderBy(); err != nil {
		return nil, err
	}
	if err := p.expectOp(")"); err != nil {
		return nil, err
	}
	return c, p.parseFilterOver(c)
}

// parseSpecialForm reads the SQL standard's argument forms, when the call
// uses one: substring(s FROM start [FOR length]), position(sub IN s) and
// trim([BOTH | LEADING | TRAILING] [chars] FROM s), as the calls
// substring(s, start[, length]), strpos(s, sub) and trim, ltrim or
// rtrim(s[, chars]). For a plain argument list it returns the first
// argument, read once (done false): the caller reads the rest.
func (p *parser) parseSpecialForm(c *Call) (first Expr, done bool, err error) {
	trims := map[string]string{"BOTH": "trim", "LEADING": "ltrim", "TRAILING": "rtrim"}
	spec := ""
	if c.Name == "trim" {
		for kw := range trims {
			if p.acceptKw(kw) {
				spec = kw
				break
			}
		}
		if spec != "" {
			c.Name = trims[spec]
			if p.acceptKw("FROM") { // trim(BOTH FROM s)
				s, err := p.parseExpr()
				c.Args = []Expr{s}
				return nil, true, errors.Join(err, p.expectOp(")"))
			}
		}
	}
	// position's first operand stops before IN: a value, not a predicate;
	// the others' stop before FROM anyway.
	if c.Name == "position" {
		first, err = p.parseConcat()
	} else {
		first, err = p.parseExpr()
	}
	if err != nil {
		return nil, true, err
	}
	switch {
	case c.Name == "position" && p.acceptKw("IN"):
		s, err := p.parseConcat()
		if err != nil {
			return nil, true, err
		}
		c.Name, c.Args = "strpos", []Expr{s, first}
	case c.Name == "substring" && p.acceptKw("FROM"):
		from, err := p.parseExpr()
		if err != nil {
			return nil, true, err
		}
		c.Args = []Expr{first, from}
		if p.acceptKw("FOR") {
			n, err := p.parseExpr()
			if err != nil {
				return nil, true, err
			}
			c.Args = append(c.Args, n)
		}
	case (c.Name == "trim" || spec != "") && p.acceptKw("FROM"):
		s, err := p.parseExpr()
		if err != nil {
			return nil, true, err
		}
		c.Args = []Expr{s, first}
	case spec != "":
		return nil, true, p.unexpected("FROM")
	default:
		return first, false, nil
	}
	return nil, true, p.expectOp(")")
}

// parseFilter reads an optional FILTER (WHERE condition) after a call.
func (p *parser) parseFilter(c *Call) error {
	if !p.isKw("FILTER") || !(p.peek(1).kind == tokOp && p.peek(1).text == "(") {
		return nil
	}
	p.next()
	p.next()
	if err := p.expectKw("WHERE"); err != nil {
		return err
	}
	e, err := p.parseExpr()
	if err != nil {
		return err
	}
	c.Filter = e
	return p.expectOp(")")
}
