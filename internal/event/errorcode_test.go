package event

import (
	"bytes"
	"strings"
	"testing"
)

func TestHasErrorCode(t *testing.T) {
	for rec, want := range map[string]bool{
		`{"eventName":"GetObject"}`:                                                 false,
		`{"eventName":"GetObject","errorCode":"AccessDenied"}`:                      true,
		`{"errorCode":"","eventName":"GetObject"}`:                                  false,
		`{"errorCode":null}`:                                                        false,
		`{"requestParameters":{"errorCode":"NotReally"},"eventName":"Get"}`:         false,
		`{"requestParameters":{"errorCode":"x"},"errorCode":"ThrottlingException"}`: true,
		`{"ErrorCode":"LookAlike"}`:                                                 false,
		`{"errorCode":"\u0041"}`:                                                    true,
		`not json "errorCode"`:                                                      false,
	} {
		if got := HasErrorCode([]byte(rec)); got != want {
			t.Errorf("HasErrorCode(%s) = %v, want %v", rec, got, want)
		}
	}
}

// TestMentionsErrorCode: the search for the field's name answers as
// bytes.Contains does, at every position and around the record's ends.
func TestMentionsErrorCode(t *testing.T) {
	name := string(errorCodeName)
	cases := []string{"", "C", name, name[1:], name[:len(name)-1], "CC" + name + "CC", `"errorC"errorCode"`,
		`"errorCod"`, `{"a":"CCC","ErrorCode":1}`, `"error"errorCodeC`}
	for n := 0; n < 16; n++ {
		cases = append(cases, strings.Repeat("C", n)+name, name+strings.Repeat("C", n),
			strings.Repeat("x", n)+name[:n%len(name)])
	}
	for _, c := range cases {
		if got, want := mentionsErrorCode([]byte(c)), bytes.Contains([]byte(c), errorCodeName); got != want {
			t.Errorf("mentionsErrorCode(%q) = %v, want %v", c, got, want)
		}
	}
}

// FuzzMentionsErrorCode compares the search with bytes.Contains.
func FuzzMentionsErrorCode(f *testing.F) {
	f.Add([]byte(`{"errorCode":"x"}`))
	f.Add([]byte(`CCC"errorCode`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := mentionsErrorCode(b), bytes.Contains(b, errorCodeName); got != want {
			t.Fatalf("mentionsErrorCode(%q) = %v, want %v", b, got, want)
		}
	})
}

// BenchmarkHasErrorCode is the test of a stored record of the importer's
// benchmark archive (no errorCode): every indexed event has it.
func BenchmarkHasErrorCode(b *testing.B) {
	rec := []byte(archiveRecord)
	for b.Loop() {
		if HasErrorCode(rec) {
			b.Fatal("no errorCode in it")
		}
	}
}
