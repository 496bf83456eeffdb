package lakesql

// The abstract syntax of Lake's SQL as the parser reads it. Nothing here is
// engine text: the compiler checks each node against Lake's schema and the
// functions it allows, and an emitter writes the engine's SQL from it.

// Expr is an expression node.
type Expr interface{ exprPos() int }

// Ident is a column reference, possibly a path through structs and a table
// alias: userIdentity.sessionContext.sessionIssuer.userName, a.eventName.
type Ident struct {
	Pos   int
	Parts []string // as written
}

// Literal kinds.
const (
	litString = iota
	litNumber
	litBool
	litNull
	litTimestamp // TIMESTAMP '...'
	litDate      // DATE '...'
)

// Literal is a constant.
type Literal struct {
	Pos  int
	Kind int
	Text string // the string value, number text, "true"/"false"
}

// Interval is INTERVAL 'n' unit.
type Interval struct {
	Pos   int
	Value string
	Unit  string // lower case: second, minute, hour, day, month, year (singular)
	Neg   bool
}

// Unary is NOT x or -x.
type Unary struct {
	Pos int
	Op  string // "NOT", "-"
	X   Expr
}

// Binary is x op y for arithmetic, comparison, AND, OR and ||, and the
// null-safe comparisons x IS [NOT] DISTINCT FROM y (Op "IS DISTINCT FROM",
// "IS NOT DISTINCT FROM").
type Binary struct {
	Pos  int
	Op   string // upper case for words: AND, OR; symbols as written (<> normalised from !=)
	L, R Expr
}

// Like is x [NOT] LIKE pattern [ESCAPE e].
type Like struct {
	Pos    int
	Not    bool
	X, Pat Expr
	Escape Expr // nil when absent
}

// In is x [NOT] IN (list) or x [NOT] IN (subquery).
type In struct {
	Pos  int
	Not  bool
	X    Expr
	List []Expr
	Sub  *Select
}

// Between is x [NOT] BETWEEN lo AND hi.
type Between struct {
	Pos       int
	Not       bool
	X, Lo, Hi Expr
}

// IsNull is x IS [NOT] NULL.
type IsNull struct {
	Pos int
	Not bool
	X   Expr
}

// Call is a function call: name(args), count(*), count(DISTINCT x).
type Call struct {
	Pos      int
	Name     string // lower case
	Args     []Expr
	Star     bool
	Distinct bool
	// Filter is an aggregate's FILTER (WHERE …) condition, nil without one.
	Filter Expr
	// OrderBy is an aggregate's own ORDER BY, written after its
	// arguments: array_agg(x ORDER BY y).
	OrderBy []OrderItem
	// Over makes the call a window function: f(…) OVER (…); nil without.
	Over *Window
}

// Case is CASE [operand] WHEN … THEN … [ELSE …] END.
type Case struct {
	Pos     int
	Operand Expr // nil for a searched CASE
	Whens   []When
	Else    Expr
}

// When is one arm of a CASE.
type When struct{ Cond, Then Expr }

// Cast is CAST(x AS type) or TRY_CAST(x AS type).
type Cast struct {
	Pos  int
	X    Expr
	Type string // lower case: varchar, bigint, integer, double, decimal, boolean, timestamp, date
	// Params are the type's parameters as written: decimal(p, s)'s
	// precision and scale, varchar(n)'s length.
	Params    []string
	ParamsPos int
	Try       bool
}

// Subscript is x[index]: a map's value by key, an array's element (from 1).
type Subscript struct {
	Pos      int
	X, Index Expr
}

// Field is x.name on an expression that is not a plain column path (for
// example element_at(resources, 1).arn).
type Field struct {
	Pos  int
	X    Expr
	Name string
}

// SubqueryExpr is a scalar subquery, (SELECT …), or EXISTS (SELECT …).
type SubqueryExpr struct {
	Pos    int
	Sel    *Select
	Exists bool
}

// ArrayLit is ARRAY[e1, e2, …].
type ArrayLit struct {
	Pos   int
	Elems []Expr
}

func (e *ArrayLit) exprPos() int     { return e.Pos }
func (e *Ident) exprPos() int        { return e.Pos }
func (e *Literal) exprPos() int      { return e.Pos }
func (e *Interval) exprPos() int     { return e.Pos }
func (e *Unary) exprPos() int        { return e.Pos }
func (e *Binary) exprPos() int       { return e.Pos }
func (e *Like) exprPos() int         { return e.Pos }
func (e *In) exprPos() int           { return e.Pos }
func (e *Between) exprPos() int      { return e.Pos }
func (e *IsNull) exprPos() int       { return e.Pos }
func (e *Call) exprPos() int         { return e.Pos }
func (e *Case) exprPos() int         { return e.Pos }
func (e *Cast) exprPos() int         { return e.Pos }
func (e *Subscript) exprPos() int    { return e.Pos }
func (e *Field) exprPos() int        { return e.Pos }
func (e *SubqueryExpr) exprPos() int { return e.Pos }

// SelectItem is one output column: an expression with an optional alias, or
// * / alias.*.
type SelectItem struct {
	Pos       int
	Expr      Expr
	Alias     string
	Star      bool
	StarTable string // alias.* when set
}

// TableRef is one source in FROM: an event data store, a subquery, or
// (after a JOIN or comma) UNNEST(x) [WITH ORDINALITY] AS alias(cols).
type TableRef struct {
	Pos   int
	Store string  // the store's name as written (ID or ARN); empty for a subquery
	Sub   *Select // a derived table
	Alias string
	// Unnest is the array or map UNNEST expands into rows (nil when the
	// source is not an UNNEST); Cols name its columns; Ordinality adds
	// the element's position (from 1) as a last column.
	Unnest     Expr
	Cols       []string
	Ordinality bool
}

// Join is one JOIN of the FROM clause.
type Join struct {
	Pos   int
	Kind  string // INNER, LEFT, RIGHT, FULL, CROSS
	Right TableRef
	On    Expr // nil for CROSS
}

// OrderItem is one ORDER BY term.
type OrderItem struct {
	Expr       Expr
	Desc       bool
	NullsFirst *bool
}

// CTE is one WITH name AS (select).
type CTE struct {
	Pos  int
	Name string
	Sel  *Select
}

// Select is a query: [WITH …] SELECT … FROM … [UNION [ALL] SELECT …].
type Select struct {
	Pos      int
	With     []CTE
	Distinct bool
	Items    []SelectItem
	From     TableRef
	Joins    []Join
	Where    Expr
	GroupBy  []Expr
	Having   Expr
	OrderBy  []OrderItem
	Limit    *int64
	Offset   *int64
	Union    *Select // next SELECT of a UNION (EXCEPT, INTERSECT) chain
	UnionAll bool
	// SetOp is how Union combines with this one: "" for UNION, or
	// "EXCEPT", "INTERSECT".
	SetOp string
	// tail is where the SELECT's own ORDER BY, OFFSET or LIMIT begins
	// (the LIMIT's position when it has one), and tailKw which of them;
	// for refusing one on a SELECT that is not the last of a set
	// operation.
	tail   int
	tailKw string
	// groupSets are the grouping sets of GROUP BY ROLLUP, CUBE or
	// GROUPING SETS (GroupBy then holds each of their expressions once);
	// a SELECT made for one set has groupAll, those expressions, and
	// nullGroup, the ones its set leaves out (groupingsets.go).
	groupSets           [][]Expr
	groupAll, nullGroup []Expr
	inSets              bool // one grouping set's SELECT
	// groupRepeat marks the SELECTs of grouping sets after the first:
	// they read the same rows again, which the statistics count once.
	groupRepeat bool
	// hidden is how many of the last columns of the subquery a SELECT *
	// reads are left out of its output (grouping sets' sort keys).
	hidden int
}

// eachChild calls fn on each expression directly inside e (nil children
// included, so fn must accept nil), not on subqueries: the walks over a
// statement's expressions share it and handle subqueries themselves.
func eachChild(e Expr, fn func(Expr)) {
	switch x := e.(type) {
	case *Unary:
		fn(x.X)
	case *Binary:
		fn(x.L)
		fn(x.R)
	case *Like:
		fn(x.X)
		fn(x.Pat)
		fn(x.Escape)
	case *In:
		fn(x.X)
		for _, v := range x.List {
			fn(v)
		}
	case *ArrayLit:
		for _, v := range x.Elems {
			fn(v)
		}
	case *Between:
		fn(x.X)
		fn(x.Lo)
		fn(x.Hi)
	case *IsNull:
		fn(x.X)
	case *Call:
		for _, a := range x.Args {
			fn(a)
		}
		fn(x.Filter)
		for _, o := range x.OrderBy {
			fn(o.Expr)
		}
		if x.Over != nil {
			for _, p := range x.Over.PartitionBy {
				fn(p)
			}
			for _, o := range x.Over.OrderBy {
				fn(o.Expr)
			}
		}
	case *Case:
		fn(x.Operand)
		for _, w := range x.Whens {
			fn(w.Cond)
			fn(w.Then)
		}
		fn(x.Else)
	case *Cast:
		fn(x.X)
	case *Subscript:
		fn(x.X)
		fn(x.Index)
	case *Field:
		fn(x.X)
	}
}
