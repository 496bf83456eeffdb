package event

import (
	"strings"
	"testing"
)

func TestEachMember(t *testing.T) {
	var got []string
	ok := EachMember([]byte(` {"a":1, "b" : {"c":[1,{"d":"}"}]},"e\"f":"x\"y","g":null} `), func(n, v []byte) {
		got = append(got, string(n)+"="+string(v))
	})
	want := `a=1|b={"c":[1,{"d":"}"}]}|e\"f="x\"y"|g=null`
	if !ok || strings.Join(got, "|") != want {
		t.Fatalf("EachMember: %v %q, want %q", ok, strings.Join(got, "|"), want)
	}
	for _, bad := range []string{``, `[]`, `{"a"}`, `{"a":`, `{"a":1`, `{a:1}`} {
		if EachMember([]byte(bad), func(_, _ []byte) {}) {
			t.Errorf("EachMember(%q) = true", bad)
		}
	}
}
