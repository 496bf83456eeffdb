package awsproto_test

import (
	"compress/gzip"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// notInModel is what the doc comment of a code outside the CloudTrail
// model says.
const notInModel = "Not in the CloudTrail model"

// declaredCode is one Code constant of codes.go.
type declaredCode struct {
	name, value, doc string
	pos              token.Position
}

// declaredCodes parses codes.go and returns its Code constants.
func declaredCodes(t *testing.T) []declaredCode {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "codes.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var codes []declaredCode
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				t.Errorf("%s: a constant in codes.go that is not of type Code", fset.Position(vs.Pos()))
				continue
			}
			if len(vs.Names) != 1 || len(vs.Values) != 1 {
				t.Errorf("%s: declare one code per line", fset.Position(vs.Pos()))
				continue
			}
			lit, ok := vs.Values[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: %s is not a string literal", fset.Position(vs.Pos()), vs.Names[0].Name)
				continue
			}
			value, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			codes = append(codes, declaredCode{name: vs.Names[0].Name, value: value,
				doc: strings.Join(strings.Fields(vs.Doc.Text()), " "), pos: fset.Position(vs.Pos())})
		}
	}
	if len(codes) == 0 {
		t.Fatal("codes.go declares no codes")
	}
	return codes
}

// modelError is an error shape of the CloudTrail model.
type modelError struct {
	status int // the model's httpStatusCode, 400 when it gives none
}

// cloudTrailModel reads the error shapes of botocore's CloudTrail model,
// keyed by the code a client receives. botocore is found through python3,
// as the AWS CLI tests find it; without it the test fails rather than
// skips, so that CI cannot pass a code the model does not have.
func cloudTrailModel(t *testing.T) map[string]modelError {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))").CombinedOutput()
	if err != nil {
		t.Fatalf("python3 with botocore (pip install botocore), which holds the CloudTrail model, is required to check the error codes: %v\n%s", err, out)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "data", "cloudtrail", "2013-11-01", "service-2.json.gz")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("botocore's CloudTrail model: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var m struct {
		Shapes map[string]struct {
			Exception bool
			Error     *struct {
				Code           string
				HTTPStatusCode int
			}
		}
	}
	if err := json.NewDecoder(zr).Decode(&m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	errs := map[string]modelError{}
	for name, s := range m.Shapes {
		if !s.Exception {
			continue
		}
		code, status := name, 400
		if s.Error != nil && s.Error.Code != "" {
			code = s.Error.Code
		}
		if s.Error != nil && s.Error.HTTPStatusCode != 0 {
			status = s.Error.HTTPStatusCode
		}
		errs[code] = modelError{status: status}
	}
	if len(errs) < 50 {
		t.Fatalf("%s has only %d error shapes; is it the CloudTrail model?", path, len(errs))
	}
	return errs
}

var statusInDoc = regexp.MustCompile(`HTTP (\d{3})`)

// outsideModel are the codes, not in the CloudTrail model, that Cairn may
// answer with: those of the AWS JSON protocol and of request signing,
// which no service model lists, and the one of Cairn's ingest API. They
// are spelled here a second time, as AWS services answer them, so that a
// misspelling in codes.go has to be made twice to pass.
var outsideModel = map[string]bool{
	"InternalFailure":                     true,
	"ServiceUnavailableException":         true,
	"SerializationException":              true,
	"UnknownOperationException":           true,
	"RequestEntityTooLargeException":      true,
	"MissingAuthenticationTokenException": true,
	"IncompleteSignatureException":        true,
	"InvalidSignatureException":           true,
	"UnrecognizedClientException":         true,
	"LimitExceededException":              true,
}

// TestCodesMatchModel holds every code to botocore's CloudTrail model: a
// code of the model is spelled as the model spells it and documented with
// its HTTP status; any other code is one of outsideModel and says in its
// doc comment that the model does not have it. So a misspelt code cannot
// pass.
func TestCodesMatchModel(t *testing.T) {
	model := cloudTrailModel(t)
	for _, c := range declaredCodes(t) {
		if c.name != c.value {
			t.Errorf("%s: constant %s is %q; name each code after the code itself", c.pos, c.name, c.value)
		}
		var statuses []int
		for _, m := range statusInDoc.FindAllStringSubmatch(c.doc, -1) {
			n, _ := strconv.Atoi(m[1])
			statuses = append(statuses, n)
		}
		if len(statuses) == 0 {
			t.Errorf("%s: the doc comment of %s does not give its HTTP status (\"HTTP 400.\")", c.pos, c.name)
		}
		me, inModel := model[c.value]
		documentedOutside := strings.Contains(c.doc, notInModel)
		switch {
		case inModel && documentedOutside:
			t.Errorf("%s: %s is in the CloudTrail model, but its doc comment says %q", c.pos, c.value, notInModel)
		case inModel && slices.ContainsFunc(statuses, func(s int) bool { return s != me.status }):
			t.Errorf("%s: %s is HTTP %d in the CloudTrail model; the doc comment says %v", c.pos, c.value, me.status, statuses)
		case !inModel && !outsideModel[c.value]:
			t.Errorf("%s: %s is not an error of the CloudTrail model, nor a protocol-level code of outsideModel: a misspelling?", c.pos, c.value)
		case !inModel && !documentedOutside:
			t.Errorf("%s: %s is not in the CloudTrail model; its doc comment must say %q", c.pos, c.value, notInModel)
		}
	}
}
