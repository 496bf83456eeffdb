package lakesql

import (
	"reflect"
	"slices"
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
	var plain []Expr // the terms as written, for a GROUP BY without sets
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
			if err := p.columnRefs(list); err != nil {
				return err
			}
			if len(list) >= maxGroupingSets {
				return errAt(p.src, pos, "GROUP BY makes more than %d grouping sets", maxGroupingSets)
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
				if err := p.columnRefs(elem[len(elem)-1]); err != nil {
					return err
				}
				if len(elem) > maxGroupingSets {
					return errAt(p.src, pos, "GROUP BY makes more than %d grouping sets", maxGroupingSets)
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
			// An ordinal names a select item: resolved for the grouping
			// sets, which compare expressions; kept as written otherwise.
			plain = append(plain, e)
			if lit, ok := e.(*Literal); ok && lit.Kind == litNumber {
				if n, err := strconv.Atoi(lit.Text); err == nil && n >= 1 && n <= len(s.Items) && !s.Items[n-1].Star {
					e = s.Items[n-1].Expr
				}
			}
			elem = [][]Expr{{e}}
		}
		if len(sets)*len(elem) > maxGroupingSets {
			return errAt(p.src, pos, "GROUP BY makes more than %d grouping sets", maxGroupingSets)
		}
		var next [][]Expr
		for _, a := range sets {
			for _, b := range elem {
				next = append(next, append(append([]Expr{}, a...), b...))
			}
		}
		sets = next
		if !p.acceptOp(",") {
			break
		}
	}
	if !special {
		s.GroupBy = plain
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
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	// Values of two types (a literal and a column, say) are not equal, and
	// their fields must not be compared one by one.
	if a.Type() != b.Type() {
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

// columnRefs refuses anything but a column (or a member of one) inside
// ROLLUP, CUBE or GROUPING SETS, as Trino does.
func (p *parser) columnRefs(list []Expr) error {
	for _, e := range list {
		x := e
		for {
			f, ok := x.(*Field)
			if !ok {
				break
			}
			x = f.X
		}
		if _, ok := x.(*Ident); !ok {
			return errAt(p.src, e.exprPos(), "GROUP BY expression must be a column reference")
		}
	}
	return nil
}

// expandGroupingSets makes s, a SELECT with grouping sets, the SELECT of
// its items over the UNION ALL of one SELECT per set. DISTINCT and the
// statement's ORDER BY, OFFSET and LIMIT go on that outer SELECT; an
// ORDER BY term that is not a select item (nor its alias or position) is
// computed by each set's SELECT as a hidden column that the outer one
// sorts by and leaves out.
func expandGroupingSets(s *Select, src string) (*Select, error) {
	if w := findWindow(s); w != nil {
		return nil, errAt(src, w.Pos, "Window functions are not supported with GROUP BY ROLLUP, CUBE or GROUPING SETS: "+
			"put the grouping in a WITH query and the window over it")
	}
	items := slices.Clone(s.Items)
	order := make([]OrderItem, len(s.OrderBy))
	hidden := 0
	for i, o := range s.OrderBy {
		order[i] = o
		if itemTerm(s.Items, o.Expr) {
			continue
		}
		pos := -1
		for j, it := range s.Items {
			if !it.Star && exprEqual(o.Expr, it.Expr) {
				pos = j
				break
			}
		}
		if pos >= 0 {
			order[i].Expr = &Literal{Pos: o.Expr.exprPos(), Kind: litNumber, Text: strconv.Itoa(pos + 1)}
			continue
		}
		if s.Distinct {
			return nil, errAt(src, o.Expr.exprPos(), "For SELECT DISTINCT, ORDER BY expressions must appear in select list")
		}
		name := "_order" + strconv.Itoa(hidden)
		items = append(items, SelectItem{Pos: o.Expr.exprPos(), Expr: o.Expr, Alias: name})
		order[i].Expr = &Ident{Pos: o.Expr.exprPos(), Parts: []string{name}}
		hidden++
	}
	var head, prev *Select
	for i, set := range s.groupSets {
		part := *s
		part.With, part.OrderBy, part.Limit, part.Offset, part.Union, part.groupSets = nil, nil, nil, nil, nil, nil
		part.Items, part.Distinct = items, false
		part.GroupBy, part.groupAll, part.nullGroup, part.groupRepeat, part.inSets = set, s.GroupBy, nil, i > 0, true
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
	return &Select{Pos: s.Pos, Distinct: s.Distinct, Items: []SelectItem{{Pos: s.Pos, Star: true}},
		From: TableRef{Pos: s.Pos, Sub: head}, OrderBy: order, Limit: s.Limit, Offset: s.Offset,
		tail: s.tail, tailKw: s.tailKw, hidden: hidden}, nil
}

// itemTerm reports whether an ORDER BY term names an output column as it
// stands: a position, or an item's alias or column name.
func itemTerm(items []SelectItem, e Expr) bool {
	switch x := e.(type) {
	case *Literal:
		return x.Kind == litNumber
	case *Ident:
		if len(x.Parts) != 1 {
			return false
		}
		for _, it := range items {
			if it.Alias != "" && strings.EqualFold(it.Alias, x.Parts[0]) {
				return true
			}
		}
	}
	return false
}

// findWindow returns a window function call among s's items, HAVING and
// ORDER BY, or nil.
func findWindow(s *Select) *Call {
	var found *Call
	var visit func(e Expr)
	visit = func(e Expr) {
		if e == nil || found != nil {
			return
		}
		if c, ok := e.(*Call); ok && c.Over != nil {
			found = c
			return
		}
		eachChild(e, visit)
	}
	for _, it := range s.Items {
		visit(it.Expr)
	}
	visit(s.Having)
	for _, o := range s.OrderBy {
		visit(o.Expr)
	}
	return found
}

// groupingCall compiles grouping(e1, …): a bit for each argument, from
// the most significant, set when this SELECT's grouping set leaves it
// out; each argument must be a grouping expression (compared compiled, so
// t.eventSource is eventSource).
func (c *compiler) groupingCall(sc *scope, x *Call) (val, error) {
	if len(sc.groupSQL) == 0 && len(sc.nullSQL) == 0 {
		return val{}, c.errf(x.Pos, "grouping() may only be used with GROUP BY")
	}
	if len(x.Args) == 0 || len(x.Args) > 62 {
		return val{}, c.errf(x.Pos, "Unexpected parameters for function grouping: %d arguments", len(x.Args))
	}
	bits := int64(0)
	sc.noNull++
	defer func() { sc.noNull-- }()
	for _, a := range x.Args {
		v, err := c.expr(sc, a)
		if err != nil {
			return v, err
		}
		s := v.sql
		if v.t == tMap || v.t == tStruct || v.t == tArray {
			s = c.d.jsonText(v)
		}
		bits <<= 1
		switch {
		case sc.groupSQL[s]:
		case sc.nullSQL[s]:
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
	if sc.inAgg || sc.noNull > 0 || len(sc.nullSQL) == 0 {
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
