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
