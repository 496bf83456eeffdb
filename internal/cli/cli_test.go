package cli

import (
	"bytes"
	"flag"
	"slices"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name        string
		args        []string
		code        int
		ok          bool
		out, errOut string // substrings; "" means empty
	}{
		{name: "good", args: []string{"--n", "3"}, ok: true},
		{name: "help", args: []string{"--help"}, code: 0, out: "Usage: x"},
		{name: "bad flag", args: []string{"--nope"}, code: 2, errOut: "Usage: x"},
		{name: "bad value", args: []string{"--n", "three"}, code: 2, errOut: "invalid value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			n := fs.Int("n", 1, "a number")
			var stdout, stderr bytes.Buffer
			code, ok := ParseFlags(fs, tc.args, "Usage: x\n", &stdout, &stderr)
			if code != tc.code || ok != tc.ok {
				t.Fatalf("ParseFlags = %d, %v; want %d, %v", code, ok, tc.code, tc.ok)
			}
			if tc.ok && *n != 3 {
				t.Errorf("n = %d", *n)
			}
			check := func(what, got, want string) {
				if (want == "") != (got == "") || !strings.Contains(got, want) {
					t.Errorf("%s = %q, want it to hold %q", what, got, want)
				}
			}
			check("stdout", stdout.String(), tc.out)
			check("stderr", stderr.String(), tc.errOut)
			if tc.out != "" && !strings.Contains(stdout.String(), "a number") {
				t.Errorf("--help does not list the flags: %q", stdout.String())
			}
		})
	}
}

func TestDefaultEndpoint(t *testing.T) {
	t.Setenv("CAIRN_ENDPOINT", "")
	if got := DefaultEndpoint(); got != DefaultEndpointURL {
		t.Errorf("unset: %q", got)
	}
	t.Setenv("CAIRN_ENDPOINT", "http://example.test:9")
	if got := DefaultEndpoint(); got != "http://example.test:9" {
		t.Errorf("set: %q", got)
	}
}

func TestSplitList(t *testing.T) {
	for in, want := range map[string][]string{
		"":               nil,
		" , ,":           nil,
		"a":              {"a"},
		" a , b,,c ":     {"a", "b", "c"},
		"us-east-1,eu-1": {"us-east-1", "eu-1"},
	} {
		if got := SplitList(in); !slices.Equal(got, want) {
			t.Errorf("SplitList(%q) = %q, want %q", in, got, want)
		}
	}
}
