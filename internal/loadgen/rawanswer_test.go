package loadgen

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cairn-audit/cairn/internal/event"
)

func TestScanAnswer(t *testing.T) {
	for _, c := range []struct {
		n    int
		next bool
	}{{50, true}, {50, false}, {1, true}, {0, false}, {0, true}} {
		answer := lookupAnswer(t, c.n, c.next)
		n, next, err := scanAnswer(answer)
		if err != nil {
			t.Fatalf("%d events: %v", c.n, err)
		}
		var want struct {
			Events    []json.RawMessage
			NextToken string
		}
		if err := json.Unmarshal(answer, &want); err != nil {
			t.Fatal(err)
		}
		if n != c.n || n != len(want.Events) || next != want.NextToken || (next != "") != c.next {
			t.Errorf("%d events, token %v: scanned %d events, token %q; want %d, %q", c.n, c.next, n, next, len(want.Events), want.NextToken)
		}
	}
}

func TestScanAnswerShapes(t *testing.T) {
	for _, c := range []struct {
		answer string
		n      int
		next   string
	}{
		{`{"Events":[]}`, 0, ""},
		{` { "Events" : [ { } , {"a":[1,{"b":"]"}]} ] , "NextToken" : "t" } ` + "\n", 2, "t"},
		{`{"NextToken":"a\"b\\","Events":[{"x":"\\\\"}]}`, 1, `a"b\`},
		{`{"Events":[{}],"NextToken":null}`, 1, ""},
		{`{"Other":{"x":[]},"More":-1.5e3,"Yes":true,"Events":[{"s":"{[\"\\"}]}`, 1, ""},
		{`{"\u0045vents":[{},{},{}]}`, 3, ""},
	} {
		n, next, err := scanAnswer([]byte(c.answer))
		if err != nil || n != c.n || next != c.next {
			t.Errorf("%s: %d events, token %q, %v; want %d, %q", c.answer, n, next, err, c.n, c.next)
		}
	}
}

// TestScanAnswerRefuses checks that a malformed answer is an error, not a
// count.
func TestScanAnswerRefuses(t *testing.T) {
	for _, answer := range []string{
		``, ` `, `null`, `[]`, `"Events"`, `{`, `{}`, `{"Events":null}`, `{"Events":{}}`,
		`{"Events":"[]"}`, `{"Events":[1]}`, `{"Events":["{}"]}`, `{"Events":[[]]}`,
		`{"Events":[{}]`, `{"Events":[{}}`, `{"Events":[{]}`, `{"Events":[{"a":[}]}`,
		`{"Events":[{"a":{]}]}`, `{"Events":[{"a":"}]}`, `{"Events":[{"a":"\"}]}`,
		`{"Events":[{},]}`, `{"Events":[,{}]}`, `{"Events":[{}{}]}`, `{"Events":[{}],}`,
		`{,"Events":[]}`, `{"Events"[]}`, `{"Events":[]"NextToken":"t"}`, `{Events:[]}`,
		`{"Events":[]}x`, `{"Events":[]}{}`, `{"Events":[],"Events":[]}`,
		`{"Events":[],"NextToken":1}`, `{"Events":[],"NextToken":["t"]}`,
		`{"Events":[],"NextToken":"t","NextToken":"u"}`, `{"Events":[],"NextToken":"t`,
		`{"Events":[],"Other":}`, `{"Events":[],"Other":tru}`, `{"Events":[],"Other":[}`,
		`{"Events":[{"a"}]}`, `{"Events":[{"a":1,}]}`, `{"Events":[{"a":tru}]}`, `{"Events":[{"a":01}]}`,
		`{"Events":[{"a":1 2}]}`, `{"Events":[{"a":[1,]}]}`, `{"Events":[{"a":-}]}`, `{"Events":[{"a":1.}]}`,
		`{"Events":[{"a":1e}]}`, `{"Events":[{1:2}]}`, `{"Events":[{"a"::1}]}`, `{"Events":[{"a":"b" "c"}]}`,
		`{"Events":[{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]}`,
	} {
		if n, next, err := scanAnswer([]byte(answer)); err == nil {
			t.Errorf("%s: accepted, %d events, token %q", answer, n, next)
		}
	}
	// Every answer cut short is refused.
	answer := lookupAnswer(t, 3, true)
	for i := range len(answer) {
		if n, _, err := scanAnswer(answer[:i]); err == nil {
			t.Fatalf("the first %d bytes of an answer were accepted as %d events", i, n)
		}
	}
}

func FuzzScanAnswer(f *testing.F) {
	f.Add([]byte(`{"Events":[{"a":"b\"c"}],"NextToken":"t"}`))
	f.Add([]byte(`{"Events":[],"X":[{"y":null}]}`))
	f.Add(lookupAnswer(f, 2, true))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, next, err := scanAnswer(b)
		var want struct {
			Events    []map[string]json.RawMessage
			NextToken *string
		}
		// What encoding/json reads of a valid answer, the scan reads too
		// (where encoding/json is as strict: Events an array of objects,
		// one of each member, a case-sensitive name).
		if json.Valid(b) && json.Unmarshal(b, &want) == nil && want.Events != nil && bytes.Count(b, []byte(`"Events"`)) == 1 &&
			bytes.Count(b, []byte(`"NextToken"`)) <= 1 && !bytes.Contains(bytes.ToLower(b), []byte(`"events"`)) {
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if n != len(want.Events) || want.NextToken != nil && next != *want.NextToken {
				t.Fatalf("%s: %d events, token %q", b, n, next)
			}
		}
		// The scan checks all but the text of strings: an answer without
		// escapes, control characters or non-ASCII bytes that it accepts
		// is JSON.
		plain := !bytes.ContainsFunc(b, func(r rune) bool { return r == '\\' || r < 0x20 || r > 0x7e })
		if err == nil && plain && !json.Valid(b) {
			t.Fatalf("%s: accepted as %d events, token %q", b, n, next)
		}
	})
}

// TestScanAnswerAgrees checks that the scan counts what the split the
// client made before counts.
func TestScanAnswerAgrees(t *testing.T) {
	answer := lookupAnswer(t, 50, true)
	m, err := event.Members(answer)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := event.SplitArray(m["Events"])
	if err != nil {
		t.Fatal(err)
	}
	if n, _, err := scanAnswer(answer); err != nil || n != len(evs) {
		t.Errorf("scan: %d events, %v; split: %d", n, err, len(evs))
	}
}

func BenchmarkScanAnswer(b *testing.B) {
	answer := lookupAnswer(b, 50, true)
	b.SetBytes(int64(len(answer)))
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if n, _, err := scanAnswer(answer); err != nil || n != 50 {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("split", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m, err := event.Members(answer)
			if err != nil {
				b.Fatal(err)
			}
			if evs, err := event.SplitArray(m["Events"]); err != nil || len(evs) != 50 {
				b.Fatal(len(evs), err)
			}
		}
	})
}
