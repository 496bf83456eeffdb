// Package cli holds what the commands cairn and cairn-bench share in how
// they read their command lines: flag parsing with --help, the server
// endpoint default and comma-separated lists.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// DefaultEndpointURL is the server's base URL when CAIRN_ENDPOINT is unset.
const DefaultEndpointURL = "http://127.0.0.1:4590"

// ParseFlags parses a command's flags. --help prints help and the flags'
// defaults on stdout and ends the command with status 0; a bad flag prints
// the error, help and the defaults on stderr and ends it with status 2. ok
// is false when the command should return code.
func ParseFlags(fs *flag.FlagSet, args []string, help string, stdout, stderr io.Writer) (code int, ok bool) {
	usage := func(w io.Writer) {
		fmt.Fprint(w, help)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	fs.Usage = func() {}
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0, false
		}
		usage(stderr)
		return 2, false
	}
	return 0, true
}

// DefaultEndpoint is the server base URL a command talks to unless told
// otherwise: $CAIRN_ENDPOINT, or DefaultEndpointURL.
func DefaultEndpoint() string {
	if e := os.Getenv("CAIRN_ENDPOINT"); e != "" {
		return e
	}
	return DefaultEndpointURL
}

// SplitList splits a comma-separated list, trimming spaces and dropping
// empty items; it is nil for a list of none.
func SplitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
