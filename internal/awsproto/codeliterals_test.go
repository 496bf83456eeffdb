package awsproto_test

import (
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// codeLike is what an AWS error code looks like.
var codeLike = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*(Exception|Error|Fault|Failure)$`)

// TestNoCodeLiterals keeps the codes in codes.go: no other non-test Go
// file of a package that answers in the AWS shape (awsproto and those that
// import it) spells out a code as a string literal, where a misspelling
// would not be caught: neither a declared code, nor anything that looks
// like one, nor any literal where a code goes. Tests spell out codes on
// purpose: they assert what a client reads.
func TestNoCodeLiterals(t *testing.T) {
	declared := map[string]bool{}
	for _, c := range declaredCodes(t) {
		declared[c.value] = true
	}
	root := moduleRoot(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (name == "testdata" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			path == filepath.Join(root, "internal", "awsproto", "codes.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		inAWSProto := filepath.Dir(path) == filepath.Join(root, "internal", "awsproto")
		if !inAWSProto && !strings.Contains(string(src), `"github.com/cairn-audit/cairn/internal/awsproto"`) {
			return nil
		}
		for _, lit := range stringLiterals(path, src) {
			switch {
			case declared[lit.value]:
				t.Errorf("%s: %q spelled out; use awsproto.%s", lit.pos, lit.value, lit.value)
			case codeLike.MatchString(lit.value):
				t.Errorf("%s: %q looks like an error code but is none of codes.go's: a misspelling, or a code to declare there", lit.pos, lit.value)
			}
		}
		for _, pos := range literalCodes(t, path, src, inAWSProto) {
			t.Errorf("%s: an error code given as a string literal; use a constant of codes.go", pos)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// literalCodes returns where a file gives a string literal where an error
// code goes: as the code of awsproto.Errorf, awsproto.Error{Code: …} or
// awsproto.Code(…), or compared with a Code field. Any spelling is found
// there, however little it looks like a code.
func literalCodes(t *testing.T, path string, src []byte, inAWSProto bool) []token.Position {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	pkg := "awsproto"
	for _, imp := range f.Imports {
		if imp.Path.Value == `"github.com/cairn-audit/cairn/internal/awsproto"` && imp.Name != nil {
			pkg = imp.Name.Name
		}
	}
	// isAWSProto tells whether e names the awsproto identifier name.
	isAWSProto := func(e ast.Expr, name string) bool {
		switch e := e.(type) {
		case *ast.Ident:
			return inAWSProto && e.Name == name
		case *ast.SelectorExpr:
			x, ok := e.X.(*ast.Ident)
			return ok && x.Name == pkg && e.Sel.Name == name
		}
		return false
	}
	isString := func(e ast.Expr) bool {
		lit, ok := ast.Unparen(e).(*ast.BasicLit)
		return ok && lit.Kind == token.STRING
	}
	isCodeField := func(e ast.Expr) bool {
		sel, ok := e.(*ast.SelectorExpr)
		return ok && sel.Sel.Name == "Code"
	}
	var found []token.Position
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if (isAWSProto(n.Fun, "Errorf") || isAWSProto(n.Fun, "Code")) && len(n.Args) > 0 && isString(n.Args[0]) {
				found = append(found, fset.Position(n.Args[0].Pos()))
			}
		case *ast.CompositeLit:
			if !isAWSProto(n.Type, "Error") {
				return true
			}
			for _, el := range n.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok && isString(kv.Value) {
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Code" {
						found = append(found, fset.Position(kv.Value.Pos()))
					}
				}
			}
		case *ast.BinaryExpr:
			if (n.Op == token.EQL || n.Op == token.NEQ) &&
				(isCodeField(n.X) && isString(n.Y) || isCodeField(n.Y) && isString(n.X)) {
				found = append(found, fset.Position(n.Pos()))
			}
		}
		return true
	})
	return found
}

// literal is one string literal of a Go file.
type literal struct {
	value string
	pos   token.Position
}

// stringLiterals returns the string literals of a Go source file.
func stringLiterals(path string, src []byte) []literal {
	fset := token.NewFileSet()
	file := fset.AddFile(path, -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, 0)
	var lits []literal
	for {
		pos, tok, text := s.Scan()
		if tok == token.EOF {
			return lits
		}
		if tok != token.STRING {
			continue
		}
		if v, err := strconv.Unquote(text); err == nil {
			lits = append(lits, literal{value: v, pos: fset.Position(pos)})
		}
	}
}

// moduleRoot is the directory of the module's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
