package eventpattern

import (
	"strings"
	"testing"
)

var fuzzPatterns = []string{
	`{"source":["aws.ec2"]}`,
	`{"detail":{"state":[{"anything-but":["a","b"]}],"n":[{"numeric":[">",0,"<=",5]}]}}`,
	`{"$or":[{"a":[{"prefix":"x"}]},{"b":[{"suffix":{"equals-ignore-case":"Y"}}]}]}`,
	`{"ip":[{"cidr":"10.0.0.0/8"}],"w":[{"wildcard":"a*\\*b"}],"e":[{"exists":false}]}`,
	`{"x":[null,true,1.5,""]}`,
}

// FuzzCompile checks that Compile never panics and that whatever it accepts
// can be matched against any input without panicking.
func FuzzCompile(f *testing.F) {
	for _, p := range fuzzPatterns {
		f.Add(p)
	}
	f.Add(`{"a":[{"numeric":["=",1,"<",2]}]}`)
	f.Add(`{"a":[{"wildcard":"\\"}]}`)
	f.Fuzz(func(t *testing.T, pattern string) {
		p, err := Compile(pattern)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			if !strings.HasPrefix(err.Error(), "event pattern: ") {
				t.Fatalf("error %q lacks the prefix", err)
			}
			return
		}
		p.Match([]byte(ec2Event))
		p.Match([]byte(contentEvent))
		p.Match([]byte(pattern))
	})
}

// FuzzMatch checks that Match never panics on any event, whatever the pattern.
func FuzzMatch(f *testing.F) {
	f.Add(0, ec2Event)
	f.Add(1, contentEvent)
	f.Add(2, `{"a":[[[{"x":1}]]],"b":"Ä"}`)
	f.Add(3, `{"ip":"::ffff:10.0.0.1","w":"a*b","e":null}`)
	f.Add(4, `{"x":[1e400, -0, "\u0000"]}`)
	pats := make([]*Pattern, len(fuzzPatterns))
	for i, s := range fuzzPatterns {
		pats[i] = MustCompile(s)
	}
	f.Fuzz(func(t *testing.T, which int, event string) {
		p := pats[uint(which)%uint(len(pats))]
		a := p.Match([]byte(event))
		if ev, err := ParseEvent([]byte(event)); err == nil {
			if b := p.MatchParsed(ev); a != b {
				t.Fatalf("Match = %v, MatchParsed = %v", a, b)
			}
		} else if a {
			t.Fatal("an event that does not parse matched")
		}
	})
}
