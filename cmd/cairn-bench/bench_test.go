package main

import (
	"bytes"
	"strings"
	"testing"
)

// The commands and flags "cairn bench" had, which cairn-bench keeps.
var benchFlags = map[string][]string{
	"ingest":            {"endpoint", "clients", "batch", "duration", "total", "record-bytes", "accounts", "regions", "spread", "json", "timeout", "progress"},
	"lookup":            {"endpoint", "requests", "concurrency", "region", "json", "timeout", "client", "rate"},
	"delivery":          {"endpoint", "bucket", "bucket-dir", "probes", "interval", "region", "timeout", "json", "keep-trail"},
	"baseline-file":     {"dir", "clients", "batch", "duration", "total", "record-bytes", "keep", "json", "progress"},
	"baseline-postgres": {"dsn", "clients", "batch", "duration", "total", "record-bytes", "spread", "lookups", "keep", "replace", "timeout", "json", "progress"},
	"controlplane":      {"endpoint", "region", "bucket", "bucket-dir", "create-bucket", "cycles", "describes", "trails", "concurrency", "timeout", "json"},
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"-h"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 0 || stderr.Len() != 0 {
			t.Errorf("%q: status %d, stderr %q", args, code, stderr.String())
		}
		if !strings.HasPrefix(stdout.String(), "Usage: cairn-bench <command> [flags]") {
			t.Errorf("%q: help starts %.60q", args, stdout.String())
		}
		for cmd := range benchFlags {
			if !strings.Contains(stdout.String(), "\n  "+cmd+" ") {
				t.Errorf("%q: help does not list %s", args, cmd)
			}
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(nil, &stdout, &stderr); code != 2 || !strings.HasPrefix(stderr.String(), "Usage: cairn-bench") {
		t.Errorf("no command: status %d, stderr %.60q", code, stderr.String())
	}
}

func TestCommandHelpListsFlags(t *testing.T) {
	for cmd, flags := range benchFlags {
		var stdout, stderr bytes.Buffer
		if code := run([]string{cmd, "--help"}, &stdout, &stderr); code != 0 || stderr.Len() != 0 {
			t.Errorf("%s --help: status %d, stderr %q", cmd, code, stderr.String())
		}
		if !strings.HasPrefix(stdout.String(), "Usage: cairn-bench "+cmd+" ") {
			t.Errorf("%s --help starts %.60q", cmd, stdout.String())
		}
		for _, f := range flags {
			if !strings.Contains(stdout.String(), "\n  -"+f+" ") && !strings.Contains(stdout.String(), "\n  -"+f+"\n") {
				t.Errorf("%s --help does not list -%s", cmd, f)
			}
		}
	}
}

func TestBadUse(t *testing.T) {
	t.Setenv("CAIRN_ACCESS_KEY_ID", "")
	t.Setenv("CAIRN_SECRET_ACCESS_KEY", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, `cairn-bench: unknown command "nope"`},
		{[]string{"ingest", "extra"}, `cairn-bench ingest: unexpected argument "extra"`},
		{[]string{"ingest", "--duration", "1s", "--total", "5"}, "give --duration or --total, not both"},
		{[]string{"ingest", "--accounts", "12"}, `--accounts: "12" is not a 12-digit account ID`},
		{[]string{"ingest"}, "set CAIRN_ACCESS_KEY_ID and CAIRN_SECRET_ACCESS_KEY"},
		{[]string{"lookup"}, "cairn-bench lookup: set CAIRN_ACCESS_KEY_ID"},
		{[]string{"delivery", "--bucket", "b"}, "--bucket-dir is required"},
		{[]string{"baseline-file"}, "cairn-bench baseline-file: --dir is required"},
		{[]string{"baseline-file", "--dir", "x", "--total", "0"}, "--total must be positive"},
		{[]string{"baseline-postgres", "--dsn", ""}, "--dsn is required"},
		{[]string{"controlplane", "--cycles", "0", "--describes", "0"}, "nothing to do"},
		{[]string{"ingest", "--no-such-flag"}, "flag provided but not defined"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: status %d, want 2", tc.args, code)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: stderr %q does not say %q", tc.args, stderr.String(), tc.want)
		}
	}
}
