package lakesql

import "strings"

// chooseIndex picks the access path of each store source of a SELECT, as
// a query planner with good statistics would; SQLite's, without them (its
// range estimates need a build option this driver lacks), takes the time
// index for any eventTime range and then reads every row it finds at
// random, which over millions of events is the difference between
// milliseconds and minutes. The rules, in order:
//   - an equality (or IN list) on userIdentity.arn: the user index
//     (store, user_arn, t) — one user's events;
//   - one on eventName: the name index (store, event_name, t);
//   - a GROUP BY on eventName alone that reads no other column than
//     eventTime: the name index, which covers it and is already grouped;
//   - otherwise the planner's own choice.
func (c *compiler) chooseIndex(sc *scope, s *Select, groupTerms []string) {
	for _, src := range sc.sources {
		if !src.store {
			continue
		}
		a := src.sqlAlias
		eq := c.equalities(sc, s.Where)
		switch {
		case eq[a+".user_arn"]:
			c.index[a] = "user"
		case eq[a+".event_name"]:
			c.index[a] = "name"
		case len(sc.sources) == 1 && len(groupTerms) == 1 && groupTerms[0] == a+".event_name" &&
			!c.recUsed[a] && onlyHot(c.hotUsed[a], "event_name", "t"):
			c.index[a] = "name"
		}
	}
}

func onlyHot(used map[string]bool, allowed ...string) bool {
	for col := range used {
		ok := false
		for _, a := range allowed {
			ok = ok || col == a
		}
		if !ok {
			return false
		}
	}
	return true
}

// equalities lists the columns (as SQL) that a top-level conjunct of
// where compares for equality with constants.
func (c *compiler) equalities(sc *scope, where Expr) map[string]bool {
	out := map[string]bool{}
	var visit func(e Expr)
	visit = func(e Expr) {
		switch x := e.(type) {
		case *Binary:
			switch x.Op {
			case "AND":
				visit(x.L)
				visit(x.R)
			case "=":
				if col := c.plainColumn(sc, x.L); col != "" && isConst(x.R) {
					out[col] = true
				} else if col := c.plainColumn(sc, x.R); col != "" && isConst(x.L) {
					out[col] = true
				}
			}
		case *In:
			if x.Not || x.Sub != nil {
				return
			}
			for _, v := range x.List {
				if !isConst(v) {
					return
				}
			}
			if col := c.plainColumn(sc, x.X); col != "" {
				out[col] = true
			}
		}
	}
	visit(where)
	return out
}

// plainColumn is the SQL of e when e is a column reference, else "".
func (c *compiler) plainColumn(sc *scope, e Expr) string {
	id, ok := e.(*Ident)
	if !ok {
		return ""
	}
	saved := len(c.args)
	v, err := c.ident(&scope{sources: sc.sources}, id)
	if err != nil || len(c.args) != saved || strings.ContainsAny(v.sql, " (") {
		return ""
	}
	return v.sql
}

func isConst(e Expr) bool {
	_, ok := e.(*Literal)
	return ok
}

// recPush is what a store source's table needs to read its rows in block
// order: its alias in the query and the top-level WHERE conjuncts on its
// hot columns (SQL over that alias, "" for none).
type recPush struct {
	alias string
	where string
}

// pushDown notes, for a SELECT whose one store source is its FROM and is
// joined only by inner or cross joins (UNNEST), and which reads the
// records of all the rows it selects (it groups, or its WHERE reads the
// record; and has no LIMIT on its rows), the top-level WHERE
// conjuncts that read nothing but that source's hot columns and
// constants: every row the query keeps satisfies them, so the store's
// table can apply them itself before it sorts its rows by block (see
// sqliteDialect.storeTable).
func (c *compiler) pushDown(sc *scope, s *Select) {
	var src *source
	for i, x := range sc.sources {
		if x.store {
			if src != nil || i != 0 {
				return
			}
			src = x
		}
	}
	if src == nil {
		return
	}
	plain := !s.Distinct && len(s.GroupBy) == 0 && s.Having == nil && !c.itemsAggregate(s)
	if plain && s.Limit != nil {
		// Rows SQLite can stop reading after the first few (the latest
		// events, say): sorting every matching row by block first would
		// read them all.
		return
	}
	for _, j := range s.Joins {
		if j.Kind != "INNER" && j.Kind != "CROSS" {
			return
		}
	}
	a := src.sqlAlias
	own := &scope{sources: []*source{src}}
	var parts []string
	filtersRec := false
	for _, x := range conjuncts(s.Where) {
		if !pushable(x) {
			filtersRec = true // perhaps; a subquery is read for each row anyway
			continue
		}
		// Compiled over the source alone, and the same as over the whole
		// scope: every name in it is this source's (a join's alias that
		// shadows a record field is not).
		rec := c.recUsed[a]
		v, err := c.expr(own, x)
		whole, err2 := c.expr(sc, x)
		readsRec := c.recUsed[a] && !rec
		c.recUsed[a] = rec
		filtersRec = filtersRec || readsRec || err == nil && strings.Contains(v.sql, ".rec")
		if err != nil || err2 != nil || whole.sql != v.sql || readsRec || v.bare || strings.Contains(v.sql, ".rec") {
			continue
		}
		parts = append(parts, "("+v.sql+")")
	}
	if plain && !filtersRec {
		// Every row the bounds select is a result row: SQLite streams
		// them and Run stops at MaxRows, which sorting them all first
		// would not.
		return
	}
	c.pushed[a] = &recPush{alias: a, where: strings.Join(parts, " AND ")}
}

// pushable reports whether x holds no subquery, aggregate or window call,
// which a conjunct moved into the store's table must not.
func pushable(x Expr) bool {
	ok := x != nil
	var visit func(e Expr)
	visit = func(e Expr) {
		switch y := e.(type) {
		case nil:
			return
		case *SubqueryExpr:
			ok = false
		case *In:
			ok = ok && y.Sub == nil
		case *Call:
			ok = ok && !aggregates[y.Name] && y.Filter == nil && y.Over == nil
		}
		eachChild(e, visit)
	}
	if x != nil {
		visit(x)
	}
	return ok
}
