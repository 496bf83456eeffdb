package main

import (
	"fmt"
	"io"
	"strings"
)

// runBenchMoved answers the former "cairn bench": the load generator is the
// command cairn-bench now, apart from the product, so that the server binary
// carries neither it nor its baselines' dependencies. It is not listed in
// the usage; it only tells whoever still types it where it went.
func runBenchMoved(args []string, stderr io.Writer) int {
	instead := "cairn-bench"
	if len(args) > 0 {
		instead += " " + strings.Join(args, " ")
	}
	fmt.Fprintf(stderr, "cairn bench: moved to the command cairn-bench (build it with \"go build ./cmd/cairn-bench\" or \"make bench-tool\");\n"+
		"run instead: %s\n", instead)
	return 2
}
