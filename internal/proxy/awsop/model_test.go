package awsop

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// synth builds a request for a rest route: labels filled with sample
// values, the literal and required query parameters and headers set.
func synth(r *route) *Call {
	var path strings.Builder
	for _, s := range r.segs {
		path.WriteByte('/')
		switch {
		case strings.HasSuffix(s, "+}"):
			path.WriteString("some/deep%20key.txt")
		case strings.HasPrefix(s, "{"):
			path.WriteString("v-" + strings.ToLower(strings.Trim(s, "{}")))
		default:
			path.WriteString(url.PathEscape(s))
		}
	}
	if path.Len() == 0 || r.slash {
		path.WriteByte('/')
	}
	q := url.Values{}
	for _, l := range r.literal {
		q.Set(l.key, l.value)
	}
	h := http.Header{}
	for _, req := range r.op.required {
		kind, name, _ := strings.Cut(req, ":")
		if kind == "q" {
			q.Set(name, "x")
		} else {
			h.Set(name, "x")
		}
	}
	return &Call{Method: r.op.method, Host: "localhost:4566", Path: path.String(), RawQuery: q.Encode(), Header: h,
		Status: 200, Service: r.model.src.signing(), Region: "us-east-1"}
}

// TestRoutesResolveToThemselves sends every rest operation of every model
// a request made from its own route and checks that it comes back as that
// operation — or as one whose route is the same (botocore has a few
// operations that cannot be told apart on the wire).
func TestRoutesResolveToThemselves(t *testing.T) {
	total, same, ambiguous := 0, 0, 0
	for i := range modelTable {
		m := &modelTable[i]
		if !m.rest() {
			continue
		}
		if m.name != m.signing() && m.signing() == "s3" {
			continue // S3 Control is checked with its own host below
		}
		for _, r := range parsed(m).routes {
			total++
			c := synth(r)
			if m.name == "s3control" {
				c.Host = "123456789012.s3-control.us-east-1.amazonaws.com"
			}
			op := Resolve(c)
			if op.Name == r.op.name {
				same++
				continue
			}
			other := parsed(m).ops[op.Name]
			if other == nil {
				for _, mm := range modelsFor(m.signing()) {
					if o := parsed(mm).ops[op.Name]; o != nil {
						other = o
					}
				}
			}
			if other != nil && other.method == r.op.method && samePath(other.uri, r.op.uri) {
				ambiguous++
				t.Logf("same route: %s %s and %s (%s %s)", m.name, r.op.name, op.Name, r.op.method, r.op.uri)
				continue
			}
			t.Errorf("%s %s: %s %s?%s resolved as %q", m.name, r.op.name, c.Method, c.Path, c.RawQuery, op.Name)
		}
	}
	t.Logf("%d rest routes: %d resolve to themselves, %d to an operation with the same route", total, same, ambiguous)
	if total < 9000 {
		t.Errorf("only %d rest routes in the tables", total)
	}
}

// samePath compares route templates ignoring label names.
func samePath(a, b string) bool {
	norm := func(s string) string {
		var out []string
		for seg := range strings.SplitSeq(s, "/") {
			if strings.HasPrefix(seg, "{") {
				seg = "{}"
			}
			out = append(out, seg)
		}
		return strings.Join(out, "/")
	}
	return norm(a) == norm(b)
}

func TestS3RoutesExact(t *testing.T) {
	// Operations that share a route with another and lose to it.
	shadowed := map[string]bool{
		"ListDirectoryBuckets":  true, // GET / is ListBuckets (directory buckets live on s3express endpoints)
		"GetBucketLifecycle":    true, // deprecated twins
		"PutBucketLifecycle":    true,
		"GetBucketNotification": true,
		"PutBucketNotification": true,
	}
	loadS3()
	for _, r := range s3Model.routes {
		c := synth(r)
		c.Service = "s3"
		got := Resolve(c).Name
		if shadowed[r.op.name] {
			if got == r.op.name {
				t.Errorf("%s: expected to be shadowed", r.op.name)
			}
			continue
		}
		if got != r.op.name {
			t.Errorf("%s %s?%s = %q, want %q", c.Method, c.Path, c.RawQuery, got, r.op.name)
		}
	}
}

func TestModelIndex(t *testing.T) {
	for _, tc := range []struct{ signing, first string }{
		{"s3", "s3"}, {"rds", "rds"}, {"dynamodb", "dynamodb"}, {"iam", "iam"}, {"monitoring", "cloudwatch"},
		{"lambda", "lambda"}, {"execute-api", "apigatewaymanagementapi"}, {"apigateway", "apigateway"},
	} {
		ms := modelsFor(tc.signing)
		if len(ms) == 0 || ms[0].name != tc.first {
			var names []string
			for _, m := range ms {
				names = append(names, m.name)
			}
			t.Errorf("modelsFor(%q) = %v, want %s first", tc.signing, names, tc.first)
		}
	}
	if ms := modelsForTarget("DynamoDB_20120810"); len(ms) != 1 || ms[0].name != "dynamodb" {
		t.Errorf("target DynamoDB_20120810 → %v", ms)
	}
	// Every node reference in the tables parses.
	for i := range modelTable {
		p := parsed(&modelTable[i])
		for _, op := range p.ops {
			if op.name == "" {
				t.Errorf("%s: operation without a name", modelTable[i].name)
			}
		}
	}
}

// TestGeneratorReadOnlyList keeps the generator's copy of the read-only
// prefixes (it leaves out output shapes of read-only operations) in step.
func TestGeneratorReadOnlyList(t *testing.T) {
	src, err := os.ReadFile("internal/gen/main.go")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)func readOnly\(op string\) bool \{\s*for _, p := range \[\]string\{(.*?)\}`).FindSubmatch(src)
	if m == nil {
		t.Fatal("no readOnly list in the generator")
	}
	var gen []string
	for _, q := range regexp.MustCompile(`"([A-Za-z]+)"`).FindAllSubmatch(m[1], -1) {
		gen = append(gen, string(q[1]))
	}
	if !slices.Equal(gen, readOnlyPrefixes) {
		t.Errorf("generator's read-only prefixes %q, awsop's %q", gen, readOnlyPrefixes)
	}
}

// TestResolveConcurrent resolves calls of many services at once (the
// models are parsed lazily, under a lock).
func TestResolveConcurrent(t *testing.T) {
	calls := []Call{
		{Method: "GET", Host: "localhost", Path: "/b/k", Service: "s3", Status: 200},
		{Method: "GET", Host: "localhost", Path: "/2015-03-31/functions", Service: "lambda", Status: 200},
		{Method: "POST", Host: "localhost", Path: "/", Service: "iam", RawQuery: "Action=CreateUser&UserName=a", Status: 200},
		{Method: "GET", Host: "localhost", Path: "/clusters", Service: "eks", Status: 200},
		{Method: "GET", Host: "localhost", Path: "/restapis", Service: "apigateway", Status: 200},
	}
	want := []string{"GetObject", "ListFunctions", "CreateUser", "ListClusters", "GetRestApis"}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j, c := range calls {
				if got := Resolve(&c).Name; got != want[j] {
					t.Errorf("%s %s: %q, want %q", c.Service, c.Path, got, want[j])
				}
			}
		}()
	}
	wg.Wait()
}
