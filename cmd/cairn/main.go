// Command cairn is Cairn, a self-hosted audit trail that speaks AWS
// CloudTrail. Run "cairn help" for its commands.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"serve", "run the server: CloudTrail API, ingest, event history, metrics", runServe},
		{"proxy", "record every call to another service as a CloudTrail event", runProxy},
		{"import", "import a CloudTrail archive (S3 or a directory) or an account's event history", runImport},
		{"tail", "print your account's events live as they arrive (GET /v1/stream)", runTail},
		{"verify", "validate a trail's delivered log files and digests, offline or against a server", runVerify},
		{"decrypt", "decrypt log and digest files a trail encrypted in a directory bucket", runDecrypt},
		{"version", "print version and build information", runVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Cairn is a self-hosted audit trail that speaks AWS CloudTrail.\n\nUsage:\n  cairn <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun \"cairn <command> --help\" for a command's flags.\n")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "bench":
		return runBenchMoved(args[1:], stderr)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "cairn: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}
