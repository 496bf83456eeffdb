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

func TestWalkObject(t *testing.T) {
	var got []string
	err := WalkObject([]byte(" {\"a\" : 1 , \"b\":{\"c\":[1,{\"d\":\"}\"}]},\"e\\\"f\":\"x\\\"y\",\"g\":null,\"h\":\"\xff\"} "), func(n, v []byte) {
		got = append(got, string(n)+"="+string(v))
	})
	want := "\"a\"=1|\"b\"={\"c\":[1,{\"d\":\"}\"}]}|\"e\\\"f\"=\"x\\\"y\"|\"g\"=null|\"h\"=\"\xff\""
	if err != nil || strings.Join(got, "|") != want {
		t.Fatalf("WalkObject: %v %q, want %q", err, strings.Join(got, "|"), want)
	}
	deep := func(n int) string { return `{"a":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}` }
	if err := WalkObject([]byte(deep(10000)), func(_, _ []byte) {}); err != nil {
		t.Errorf("WalkObject refuses nesting 10000 (encoding/json takes it): %v", err)
	}
	for _, bad := range []string{``, `null`, `[]`, `"x"`, `{"a"}`, `{"a":`, `{"a":1`, `{a:1}`, `{"a":1,}`, `{"a":01}`,
		`{"a":"` + "\x01" + `"}`, `{"a":"\q"}`, `{} {}`, `{"a":tru}`, deep(10001)} {
		if err := WalkObject([]byte(bad), func(_, _ []byte) {}); err == nil {
			t.Errorf("WalkObject(%.40q) = nil, want an error", bad)
		}
	}
}

func TestEachElement(t *testing.T) {
	var got []string
	ok := EachElement([]byte(` [ 1 , {"a":"]"} ,null,"x,y" ] `), func(i int, v []byte) {
		got = append(got, string(v))
	})
	if want := `1|{"a":"]"}|null|"x,y"`; !ok || strings.Join(got, "|") != want {
		t.Fatalf("EachElement: %v %q, want %q", ok, strings.Join(got, "|"), want)
	}
	if !EachElement([]byte(`[]`), func(int, []byte) { t.Error("an element in []") }) {
		t.Error("EachElement([]) = false")
	}
	for _, bad := range []string{``, `{}`, `[`, `[1`} {
		if EachElement([]byte(bad), func(int, []byte) {}) {
			t.Errorf("EachElement(%q) = true", bad)
		}
	}
}
