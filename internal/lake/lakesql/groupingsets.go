package lakesql

import (
	"reflect"
	"strconv"
	"strings"
)

// GROUP BY ROLLUP(…), CUBE(…) and GROUPING SETS ((…), …), and grouping(…):
// a SELECT with grouping sets runs as one SELECT per set, joined by UNION
// ALL, each grouped by its set, with the grouping expressions outside it
// read as NULL (outside aggregates) and grouping(…) a constant; the
// statement's ORDER BY, OFFSET and LIMIT apply to the whole.

// maxGroupingSets bounds the sets a GROUP BY expands to (CUBE of n
// expressions is 2^n of them), as each is a scan of the rows.
const maxGroupingSets = 64

// parseGroupBy reads an optional GROUP BY: plain expressions into
// s.GroupBy, and when ROLLUP, CUBE or GROUPING SETS appear, the sets
// they make into s.groupSets (the cross product of its elements' sets),
// s.GroupBy then holding every grouping expression once.
func (p *parser) parseGroupBy(s *Select) error {
	if !p.isKw("GROUP") {
		return nil
	}
	pos := p.next().pos
	if err := p.expectKw("BY"); err != nil {
		return err
	}
	sets := [][]Expr{{}}
	special := false
	for {
		var elem [][]Expr
		var err error
		switch {
		case (p.isKw("ROLLUP") || p.isKw("CUBE")) && p.peek(1).kind == tokOp && p.peek(1).text == "(":
			kw := strings.ToUpper(p.next().text)
			p.next()
			var list []Expr
			if list, err = p.parseExprList(")"); err != nil {
				return err
			}
			if kw == "ROLLUP" {
				for n := len(list); n >= 0; n-- {
					elem = append(elem, list[:n])
				}
			} else {
				if len(list) > 6 {
					return errAt(p.src, pos, "CUBE of more than 6 expressions is not supported")
				}
				for m := 1<<len(list) - 1; m >= 0; m-- {
					var set []Expr
					for i, e := range list {
						if m&(1<<(len(list)-1-i)) != 0 {
							set = append(set, e)
						}
					}
					elem = append(elem, set)
				}
			}
			special = true
		case p.isKw("GROUPING") && p.peek(1).kind == tokIdent && strings.EqualFold(p.peek(1).text, "SETS"):
			p.next()
			p.next()
			if err := p.expectOp("("); err != nil {
				return err
			}
			for {
				if p.acceptOp("(") {
					var set []Expr
					if !p.acceptOp(")") {
						if set, err = p.parseExprList(")"); err != nil {
							return err
						}
					}
					elem = append(elem, set)
				} else {
					e, err := p.parseExpr()
					if err != nil {
						return err
					}
					elem = append(elem, []Expr{e})
				}
				if !p.acceptOp(",") {
					break
				}
			}
			if err := p.expectOp(")"); err != nil {
				return err
			}
			special = true
		default:
			e, err := p.parseExpr()
			if err != nil {
				return err
			}
			elem = [][]Expr{{e}}
		}
		var next [][]Expr
		for _, a := range sets {
			for _, b := range elem {
				next = append(next, append(append([]Expr{}, a...), b...))
			}
		}
		if len(next) > maxGroupingSets {
			return errAt(p.src, pos, "GROUP BY makes more than %d grouping sets", maxGroupingSets)
		}
		sets = next
		if !p.acceptOp(",") {
			break
		}
	}
	if !special {
		s.GroupBy = sets[0]
		return nil
	}
	for _, set := range sets {
		for _, e := range set {
			if !slicesContainsExpr(s.GroupBy, e) {
				s.GroupBy = append(s.GroupBy, e)
			}
		}
	}
	s.groupSets = sets
	return nil
}

// parseExprList reads e1, e2, … and then end (none when end is "").
func (p *parser) parseExprList(end string) ([]Expr, error) {
	var out []Expr
	for {
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		if !p.acceptOp(",") {
			break
		}
	}
	if end == "" {
		return out, nil
	}
	return out, p.expectOp(end)
}

// exprEqual reports whether a and b are the same expression, positions
// aside.
func exprEqual(a, b Expr) bool {
	return equalNoPos(reflect.ValueOf(a), reflect.ValueOf(b))
}

func equalNoPos(a, b reflect.Value) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case reflect.Interface, reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		if a.Kind() == reflect.Interface && a.Elem().Type() != b.Elem().Type() {
			return false
		}
		return equalNoPos(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			name := a.Type().Field(i).Name
			switch {
			case strings.HasSuffix(name, "Pos") || strings.HasSuffix(name, "pos"):
			case name == "Parts" || name == "Name":
				// Identifiers and member names compare as Trino's do,
				// ignoring case (a function's name is lower case already).
				if !foldEqual(a.Field(i), b.Field(i)) {
					return false
				}
			case !equalNoPos(a.Field(i), b.Field(i)):
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !equalNoPos(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.String:
		return a.String() == b.String()
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int64, reflect.Int32:
		return a.Int() == b.Int()
	}
	return a.CanInterface() && b.CanInterface() && reflect.DeepEqual(a.Interface(), b.Interface())
}

// foldEqual compares a string, or a slice of them, ignoring case.
func foldEqual(a, b reflect.Value) bool {
	if a.Kind() == reflect.String {
		return strings.EqualFold(a.String(), b.String())
	}
	if a.Kind() != reflect.Slice || a.Len() != b.Len() {
		return false
	}
	for i := range a.Len() {
		if !strings.EqualFold(a.Index(i).String(), b.Index(i).String()) {
			return false
		}
	}
	return true
}

func slicesContainsExpr(list []Expr, e Expr) bool {
	for _, x := range list {
		if exprEqual(x, e) {
			return true
		}
	}
	return false
}

// expandGroupingSets makes s, a SELECT with grouping sets, the SELECT *
// over the UNION ALL of one SELECT per set; the statement's ORDER BY,
// OFFSET and LIMIT go on that outer SELECT, an ORDER BY term that is a
// select item's expression turned into its position.
func expandGroupingSets(s *Select) *Select {
	var head, prev *Select
	for i, set := range s.groupSets {
		part := *s
		part.With, part.OrderBy, part.Limit, part.Offset, part.Union, part.groupSets = nil, nil, nil, nil, nil, nil
		part.GroupBy, part.groupAll, part.nullGroup, part.groupRepeat = set, s.GroupBy, nil, i > 0
		for _, g := range s.GroupBy {
			if !slicesContainsExpr(set, g) {
				part.nullGroup = append(part.nullGroup, g)
			}
		}
		if head == nil {
			head = &part
		} else {
			prev.Union, prev.UnionAll = &part, true
		}
		prev = &part
	}
	order := make([]OrderItem, len(s.OrderBy))
	for i, o := range s.OrderBy {
		order[i] = o
		for j, it := range s.Items {
			if !it.Star && exprEqual(o.Expr, it.Expr) {
				order[i].Expr = &Literal{Pos: o.Expr.exprPos(), Kind: litNumber, Text: strconv.Itoa(j + 1)}
				break
			}
		}
	}
	return &Select{Pos: s.Pos, Items: []SelectItem{{Pos: s.Pos, Star: true}}, From: TableRef{Pos: s.Pos, Sub: head},
		OrderBy: order, Limit: s.Limit, Offset: s.Offset}
}

// groupingCall compiles grouping(e1, …): a bit for each argument, from
// the most significant, set when this SELECT's grouping set leaves it
// out.
func (c *compiler) groupingCall(sc *scope, x *Call) (val, error) {
	if len(sc.groupAll) == 0 {
		return val{}, c.errf(x.Pos, "grouping() may only be used with GROUP BY")
	}
	if len(x.Args) == 0 || len(x.Args) > 62 {
		return val{}, c.errf(x.Pos, "Unexpected parameters for function grouping: %d arguments", len(x.Args))
	}
	bits := int64(0)
	for _, a := range x.Args {
		bits <<= 1
		switch {
		case slicesContainsExpr(sc.groupSet, a):
		case slicesContainsExpr(sc.groupAll, a):
			bits |= 1
		default:
			return val{}, c.errf(a.exprPos(), "The arguments to GROUPING() must be expressions referenced by the GROUP BY at the associated query level")
		}
	}
	return val{sql: strconv.FormatInt(bits, 10), t: tBigint, narrow: "integer"}, nil
}

// nullGrouped is v read as NULL when this SELECT's grouping set leaves
// the expression out (outside aggregates).
func (c *compiler) nullGrouped(sc *scope, v val) val {
	if sc.inAgg || len(sc.nullSQL) == 0 {
		return v
	}
	s := v.sql
	if v.t == tMap || v.t == tStruct || v.t == tArray {
		s = c.d.jsonText(v)
	}
	if !sc.nullSQL[s] {
		return v
	}
	return val{sql: "NULL", t: v.t, narrow: v.narrow, f: v.f, pos: v.pos}
}
