package main

import (
	"os/exec"
	"strings"
	"testing"
)

// loadgenPrefix is the import path of the load generator, which belongs to
// the command cairn-bench and must not be built into the product.
const loadgenPrefix = "github.com/cairn-audit/cairn/internal/loadgen"

// TestNoLoadGeneratorInTheProduct checks, with "go list -deps", that the
// cairn binary imports neither the load generator nor the cairn-bench
// command, directly or through another package.
func TestNoLoadGeneratorInTheProduct(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list -deps: %v\n%s", err, msg)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || deps[len(deps)-1] != "github.com/cairn-audit/cairn/cmd/cairn" {
		t.Fatalf("go list -deps did not list cmd/cairn last: %.500q", out)
	}
	for _, p := range deps {
		if forbiddenInProduct(p) {
			t.Errorf("cmd/cairn depends on %s: the load generator belongs to cmd/cairn-bench only", p)
		}
	}
}

// forbiddenInProduct reports whether package path p is the load generator,
// one of its packages, or the cairn-bench command.
func forbiddenInProduct(p string) bool {
	for _, prefix := range []string{loadgenPrefix, "github.com/cairn-audit/cairn/cmd/cairn-bench"} {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return false
}

func TestForbiddenInProduct(t *testing.T) {
	for p, want := range map[string]bool{
		loadgenPrefix:          true,
		loadgenPrefix + "/sub": true,
		"github.com/cairn-audit/cairn/cmd/cairn-bench":        true,
		"github.com/cairn-audit/cairn/internal/loadgenerator": false,
		"github.com/cairn-audit/cairn/internal/ingest":        false,
		"github.com/cairn-audit/cairn/cmd/cairn":              false,
	} {
		if got := forbiddenInProduct(p); got != want {
			t.Errorf("forbiddenInProduct(%q) = %v, want %v", p, got, want)
		}
	}
}
