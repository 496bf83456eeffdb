package eventpattern

import (
	"strings"
	"testing"
)

// ec2Event is the example event of AWS's "Amazon EventBridge events" page.
const ec2Event = `{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "111122223333",
  "time": "2017-12-22T18:43:48Z",
  "region": "us-west-1",
  "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"}
}`

// contentEvent carries the fields AWS's "Content filtering" examples use.
const contentEvent = `{
  "version": "0",
  "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
  "detail-type": "EC2 Instance Launch Successful",
  "source": "aws.autoscaling",
  "account": "123456789012",
  "time": "2017-10-02T18:43:48Z",
  "region": "us-east-1",
  "resources": [],
  "detail": {
    "eventVersion": "",
    "responseElements": null,
    "state": "initializing",
    "x-limit": 301.8,
    "c-count": 5,
    "d-count": 12,
    "source-ip": "10.0.0.123",
    "ipv6": "2001:db8:abcd::1",
    "FileName": "photo.PNG",
    "FilePath": "/usr/lib/libc.so",
    "service": "EventBridge",
    "location": "eu-central-1",
    "flags": [true],
    "tags": ["blue", "green"],
    "nested": [[1, 2], [3]],
    "items": [{"type": "a", "size": 1}, {"type": "b", "size": 2}],
    "star": "a*b",
    "backslash": "a\\b"
  }
}`

func TestMatchDocumentedExamples(t *testing.T) {
	cases := []struct {
		name    string
		pattern string
		event   string
		want    bool
	}{
		{"source", `{"source":["aws.ec2"]}`, ec2Event, true},
		{"source other", `{"source":["aws.s3"]}`, ec2Event, false},
		{"source any of", `{"source":["aws.s3","aws.ec2"]}`, ec2Event, true},
		{"and", `{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"]}`, ec2Event, true},
		{"and one fails", `{"source":["aws.ec2"],"detail-type":["nope"]}`, ec2Event, false},
		{"nested", `{"detail":{"state":["terminated"]}}`, ec2Event, true},
		{"nested other", `{"detail":{"state":["running"]}}`, ec2Event, false},
		{"array intersection", `{"resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0","x"]}`, ec2Event, true},
		{"array no intersection", `{"resources":["x"]}`, ec2Event, false},
		{"missing field", `{"detail":{"nope":["x"]}}`, ec2Event, false},
		{"empty string", `{"detail":{"eventVersion":[""]}}`, contentEvent, true},
		{"null", `{"detail":{"responseElements":[null]}}`, contentEvent, true},
		{"null is not empty string", `{"detail":{"responseElements":[""]}}`, contentEvent, false},
		{"empty string is not null", `{"detail":{"eventVersion":[null]}}`, contentEvent, false},
		{"null is not absent", `{"detail":{"absent":[null]}}`, contentEvent, false},
		{"boolean in array", `{"detail":{"flags":[true]}}`, contentEvent, true},
		{"boolean other", `{"detail":{"flags":[false]}}`, contentEvent, false},
		{"number exact", `{"detail":{"c-count":[5]}}`, contentEvent, true},
		{"number exact by value", `{"detail":{"c-count":[5.0]}}`, contentEvent, true},
		{"number is not string", `{"detail":{"c-count":["5"]}}`, contentEvent, false},
		{"string is not number", `{"detail":{"state":[5]}}`, contentEvent, false},
		{"nested arrays flatten", `{"detail":{"nested":[3]}}`, contentEvent, true},
		{"prefix", `{"time":[{"prefix":"2017-10-02"}]}`, contentEvent, true},
		{"prefix no", `{"time":[{"prefix":"2017-10-03"}]}`, contentEvent, false},
		{"prefix ignore case", `{"detail":{"service":[{"prefix":{"equals-ignore-case":"eventb"}}]}}`, contentEvent, true},
		{"prefix case sensitive", `{"detail":{"service":[{"prefix":"eventb"}]}}`, contentEvent, false},
		{"suffix", `{"detail":{"FileName":[{"suffix":".PNG"}]}}`, contentEvent, true},
		{"suffix case sensitive", `{"detail":{"FileName":[{"suffix":".png"}]}}`, contentEvent, false},
		{"suffix ignore case", `{"detail":{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}}`, contentEvent, true},
		{"equals-ignore-case", `{"detail":{"service":[{"equals-ignore-case":"eventbridge"}]}}`, contentEvent, true},
		{"equals-ignore-case no", `{"detail":{"service":[{"equals-ignore-case":"eventbridg"}]}}`, contentEvent, false},
		{"anything-but string", `{"detail":{"state":[{"anything-but":"initializing"}]}}`, contentEvent, false},
		{"anything-but string other", `{"detail":{"state":[{"anything-but":"stopped"}]}}`, contentEvent, true},
		{"anything-but number", `{"detail":{"c-count":[{"anything-but":5}]}}`, contentEvent, false},
		{"anything-but number other", `{"detail":{"x-limit":[{"anything-but":123}]}}`, contentEvent, true},
		{"anything-but list", `{"detail":{"state":[{"anything-but":["stopped","overloaded"]}]}}`, contentEvent, true},
		{"anything-but list hit", `{"detail":{"state":[{"anything-but":["stopped","initializing"]}]}}`, contentEvent, false},
		{"anything-but number list", `{"detail":{"c-count":[{"anything-but":[100,200,300]}]}}`, contentEvent, true},
		{"anything-but absent", `{"detail":{"absent":[{"anything-but":"x"}]}}`, contentEvent, false},
		{"anything-but prefix", `{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}`, contentEvent, false},
		{"anything-but prefix other", `{"detail":{"location":[{"anything-but":{"prefix":"us-"}}]}}`, contentEvent, true},
		{"anything-but suffix", `{"detail":{"FileName":[{"anything-but":{"suffix":".PNG"}}]}}`, contentEvent, false},
		{"anything-but suffix other", `{"detail":{"FileName":[{"anything-but":{"suffix":".txt"}}]}}`, contentEvent, true},
		{"anything-but ignore case", `{"detail":{"state":[{"anything-but":{"equals-ignore-case":"INITIALIZING"}}]}}`, contentEvent, false},
		{"anything-but ignore case list", `{"detail":{"state":[{"anything-but":{"equals-ignore-case":["Stopped","Running"]}}]}}`, contentEvent, true},
		{"anything-but wildcard", `{"detail":{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}}`, contentEvent, false},
		{"anything-but wildcard list", `{"detail":{"FilePath":[{"anything-but":{"wildcard":["*/bin/*","*.txt"]}}]}}`, contentEvent, true},
		{"numeric range", `{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}]}}`, contentEvent, true},
		{"numeric range exclusive", `{"detail":{"c-count":[{"numeric":[">",0,"<",5]}]}}`, contentEvent, false},
		{"numeric equal", `{"detail":{"x-limit":[{"numeric":["=",3.018e2]}]}}`, contentEvent, true},
		{"numeric less", `{"detail":{"d-count":[{"numeric":["<",10]}]}}`, contentEvent, false},
		{"numeric >=", `{"detail":{"d-count":[{"numeric":[">=",12]}]}}`, contentEvent, true},
		{"numeric on string", `{"detail":{"state":[{"numeric":[">",0]}]}}`, contentEvent, false},
		{"exists true", `{"detail":{"state":[{"exists":true}]}}`, contentEvent, true},
		{"exists false present", `{"detail":{"state":[{"exists":false}]}}`, contentEvent, false},
		{"exists false absent", `{"detail":{"absent":[{"exists":false}]}}`, contentEvent, true},
		{"exists true absent", `{"detail":{"absent":[{"exists":true}]}}`, contentEvent, false},
		{"exists false no parent", `{"nope":{"x":[{"exists":false}]}}`, contentEvent, true},
		{"exists true on object is leaf only", `{"detail":[{"exists":true}]}`, contentEvent, false},
		{"exists false on empty array", `{"resources":[{"exists":false}]}`, contentEvent, true},
		{"exists true on null", `{"detail":{"responseElements":[{"exists":true}]}}`, contentEvent, true},
		{"wildcard", `{"detail":{"FilePath":[{"wildcard":"/usr/*/libc.*"}]}}`, contentEvent, true},
		{"wildcard no", `{"detail":{"FilePath":[{"wildcard":"/usr/*/libm.*"}]}}`, contentEvent, false},
		{"wildcard whole", `{"detail":{"FilePath":[{"wildcard":"*"}]}}`, contentEvent, true},
		{"wildcard anchored", `{"detail":{"FilePath":[{"wildcard":"usr/*"}]}}`, contentEvent, false},
		{"wildcard escaped star", `{"detail":{"star":[{"wildcard":"a\\*b"}]}}`, contentEvent, true},
		{"wildcard escaped star literal", `{"detail":{"state":[{"wildcard":"init\\*"}]}}`, contentEvent, false},
		{"wildcard escaped backslash", `{"detail":{"backslash":[{"wildcard":"a\\\\*"}]}}`, contentEvent, true},
		{"cidr", `{"detail":{"source-ip":[{"cidr":"10.0.0.0/24"}]}}`, contentEvent, true},
		{"cidr no", `{"detail":{"source-ip":[{"cidr":"10.0.1.0/24"}]}}`, contentEvent, false},
		{"cidr ipv6", `{"detail":{"ipv6":[{"cidr":"2001:db8:abcd::/48"}]}}`, contentEvent, true},
		{"cidr ipv6 no", `{"detail":{"ipv6":[{"cidr":"2001:db8:abce::/48"}]}}`, contentEvent, false},
		{"cidr on non-ip", `{"detail":{"state":[{"cidr":"10.0.0.0/8"}]}}`, contentEvent, false},
		{"or", `{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",10]}]},{"x-limit":[{"numeric":["=",3.018e2]}]}]}}`, contentEvent, true},
		{"or none", `{"detail":{"$or":[{"c-count":[1]},{"d-count":[1]}]}}`, contentEvent, false},
		{"or top level", `{"$or":[{"source":["aws.s3"]},{"detail":{"state":["initializing"]}}],"region":["us-east-1"]}`, contentEvent, true},
		{"or and field", `{"$or":[{"source":["aws.s3"]},{"detail":{"state":["initializing"]}}],"region":["eu-west-1"]}`, contentEvent, false},
		{"array of objects", `{"detail":{"items":{"type":["b"],"size":[2]}}}`, contentEvent, true},
		{"array of objects consistent", `{"detail":{"items":{"type":["a"],"size":[2]}}}`, contentEvent, false},
		{"any of mixed", `{"detail":{"state":[{"prefix":"x"},"initializing"]}}`, contentEvent, true},
		{"string array value", `{"detail":{"tags":[{"prefix":"gr"}]}}`, contentEvent, true},
		{"anything-but with array", `{"detail":{"tags":[{"anything-but":"blue"}]}}`, contentEvent, true},
		{"unicode fold prefix", `{"s":[{"prefix":{"equals-ignore-case":"ÄB"}}]}`, `{"s":"äbc"}`, true},
		{"unicode fold suffix", `{"s":[{"suffix":{"equals-ignore-case":"ΣΑ"}}]}`, `{"s":"aσα"}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Compile(c.pattern)
			if err != nil {
				t.Fatalf("Compile(%s): %v", c.pattern, err)
			}
			if got := p.Match([]byte(c.event)); got != c.want {
				t.Errorf("Match = %v, want %v (pattern %s)", got, c.want, c.pattern)
			}
		})
	}
}

func TestCompileRefuses(t *testing.T) {
	cases := []struct {
		name, pattern, wantPath, wantReason string
	}{
		{"not json", `{"source":`, "", "invalid JSON"},
		{"syntax with line", "{\n\"source\": [\"a\",]\n}", "", "line 2"},
		{"not object", `["aws.ec2"]`, "", "must be a JSON object"},
		{"trailing text", `{"a":["b"]} x`, "", "text after"},
		{"empty pattern", `{}`, "", "empty object"},
		{"empty nested", `{"detail":{}}`, "detail", "empty object"},
		{"scalar leaf", `{"source":"aws.ec2"}`, "source", "must be an array"},
		{"number leaf", `{"detail":{"n":5}}`, "detail.n", "must be an array"},
		{"empty array", `{"source":[]}`, "source", "empty array"},
		{"array in array", `{"source":[["a"]]}`, "source[0]", "arrays inside"},
		{"unknown operator", `{"source":[{"prefx":"a"}]}`, "source[0]", `unknown operator "prefx"`},
		{"two operators", `{"source":[{"prefix":"a","suffix":"b"}]}`, "source[0]", "exactly one operator"},
		{"prefix number", `{"source":[{"prefix":5}]}`, "source[0].prefix", "takes a string"},
		{"prefix bad object", `{"source":[{"prefix":{"x":"a"}}]}`, "source[0].prefix", "equals-ignore-case"},
		{"eic number", `{"source":[{"equals-ignore-case":1}]}`, "source[0].equals-ignore-case", "takes a string"},
		{"exists string", `{"source":[{"exists":"true"}]}`, "source[0].exists", "true or false"},
		{"anything-but bool", `{"source":[{"anything-but":true}]}`, "source[0].anything-but", "anything-but takes"},
		{"anything-but empty", `{"source":[{"anything-but":[]}]}`, "source[0].anything-but", "empty array"},
		{"anything-but mixed", `{"source":[{"anything-but":["a",1]}]}`, "source[0].anything-but", "only strings or only numbers"},
		{"anything-but null", `{"source":[{"anything-but":[null]}]}`, "source[0].anything-but[0]", "strings or numbers"},
		{"anything-but unknown", `{"source":[{"anything-but":{"numeric":[">",1]}}]}`, "source[0].anything-but", "unknown anything-but operator"},
		{"anything-but prefix list", `{"source":[{"anything-but":{"prefix":["a"]}}]}`, "source[0].anything-but.prefix", "takes a string"},
		{"numeric not list", `{"n":[{"numeric":5}]}`, "n[0].numeric", "numeric takes"},
		{"numeric odd", `{"n":[{"numeric":[">",1,"<"]}]}`, "n[0].numeric", "numeric takes"},
		{"numeric empty", `{"n":[{"numeric":[]}]}`, "n[0].numeric", "numeric takes"},
		{"numeric bad op", `{"n":[{"numeric":["!=",1]}]}`, "n[0].numeric[0]", `unknown comparison "!="`},
		{"numeric string value", `{"n":[{"numeric":[">","1"]}]}`, "n[0].numeric[1]", "expected a number"},
		{"numeric two lows", `{"n":[{"numeric":[">",1,">=",2]}]}`, "n[0].numeric[2]", "two lower bounds"},
		{"numeric equal combined", `{"n":[{"numeric":["=",1,"<",2]}]}`, "n[0].numeric[0]", "cannot be combined"},
		{"numeric inverted", `{"n":[{"numeric":[">",5,"<",1]}]}`, "n[0].numeric", "bad range"},
		{"numeric empty range", `{"n":[{"numeric":[">=",5,"<=",5]}]}`, "n[0].numeric", "bad range"},
		{"numeric out of range", `{"n":[{"numeric":[">",6e9]}]}`, "n[0].numeric[1]", "outside"},
		{"exact number out of range", `{"n":[1e10]}`, "n[0]", "outside"},
		{"wildcard double star", `{"s":[{"wildcard":"a**b"}]}`, "s[0].wildcard", "consecutive"},
		{"wildcard bad escape", `{"s":[{"wildcard":"a\\b"}]}`, "s[0].wildcard", "invalid escape"},
		{"wildcard trailing backslash", `{"s":[{"wildcard":"a\\"}]}`, "s[0].wildcard", "invalid escape"},
		{"anything-but wildcard bad", `{"s":[{"anything-but":{"wildcard":["a","b**"]}}]}`, "s[0].anything-but.wildcard[1]", "consecutive"},
		{"cidr bad", `{"ip":[{"cidr":"10.0.0.0"}]}`, "ip[0].cidr", "invalid CIDR"},
		{"cidr bad length", `{"ip":[{"cidr":"10.0.0.0/33"}]}`, "ip[0].cidr", "invalid CIDR"},
		{"or not array", `{"$or":{"a":["b"]}}`, "$or", "array of pattern objects"},
		{"or one", `{"$or":[{"a":["b"]}]}`, "$or", "at least two"},
		{"or scalar", `{"$or":[{"a":["b"]},"x"]}`, "$or[1]", "must be a pattern object"},
		{"or nested error", `{"$or":[{"a":["b"]},{"c":[]}]}`, "$or[1].c", "empty array"},
		{"too long", `{"a":["` + strings.Repeat("x", MaxPatternBytes) + `"]}`, "", "longer than"},
		{"too deep", strings.Repeat(`{"a":`, 70) + `["x"]` + strings.Repeat("}", 70), "", "nested deeper"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Compile(c.pattern)
			if err == nil {
				t.Fatalf("Compile(%s) = %v, want an error", c.pattern, p)
			}
			pe, ok := err.(*Error)
			if !ok {
				t.Fatalf("error %T %v, want *Error", err, err)
			}
			if c.wantPath != "" && pe.Path != c.wantPath {
				t.Errorf("Path = %q, want %q (%v)", pe.Path, c.wantPath, err)
			}
			if !strings.Contains(pe.Reason, c.wantReason) {
				t.Errorf("Reason = %q, want it to contain %q", pe.Reason, c.wantReason)
			}
		})
	}
}

func TestErrorMessageSaysWhere(t *testing.T) {
	_, err := Compile(`{"detail":{"eventName":[{"prefx":"Delete"}]}}`)
	want := `event pattern: at detail.eventName[0]: unknown operator "prefx"`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v, want prefix %q", err, want)
	}
}

func TestMatchBadEvent(t *testing.T) {
	p := MustCompile(`{"a":[{"exists":false}]}`)
	for _, ev := range []string{``, `[]`, `"x"`, `{"a":`, `null`} {
		if p.Match([]byte(ev)) {
			t.Errorf("Match(%q) = true, want false for an event that is not a JSON object", ev)
		}
	}
	if !p.Match([]byte(`{}`)) {
		t.Error(`Match({}) = false, want true`)
	}
}

func TestWildcardSegments(t *testing.T) {
	cases := []struct {
		pat, s string
		want   bool
	}{
		{"a*", "a", true}, {"a*", "ab", true}, {"a*", "ba", false},
		{"*a", "ba", true}, {"*a", "ab", false},
		{"a*a", "a", false}, {"a*a", "aa", true}, {"a*a", "aba", true},
		{"*a*b*", "xxaxxbxx", true}, {"*a*b*", "xxbxxaxx", false},
		{"ab*ba", "aba", false}, {"ab*ba", "abba", true},
		{"", "", true}, {"", "x", false}, {"*", "", true},
		{`\\`, `\`, true}, {`\*`, `*`, true}, {`\*`, `x`, false},
	}
	for _, c := range cases {
		w, err := compileWildcard(c.pat, "")
		if err != nil {
			t.Fatalf("compileWildcard(%q): %v", c.pat, err)
		}
		if got := w.matchString(c.s); got != c.want {
			t.Errorf("wildcard %q on %q = %v, want %v", c.pat, c.s, got, c.want)
		}
	}
}

func TestMatchParsedShared(t *testing.T) {
	ev, err := ParseEvent([]byte(ec2Event))
	if err != nil {
		t.Fatal(err)
	}
	yes := MustCompile(`{"source":["aws.ec2"]}`)
	no := MustCompile(`{"source":["aws.s3"]}`)
	if !yes.MatchParsed(ev) || no.MatchParsed(ev) {
		t.Fatal("MatchParsed disagrees with the patterns")
	}
	if !yes.MatchParsed(EventOf(map[string]any{"source": "aws.ec2"})) {
		t.Fatal("EventOf: want a match")
	}
	if !MustCompile(`{"n":[{"numeric":[">",1]}]}`).MatchParsed(EventOf(map[string]any{"n": 2.0})) {
		t.Fatal("EventOf with float64: want a match")
	}
}
