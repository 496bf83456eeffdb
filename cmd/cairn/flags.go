package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// parseFlags parses a command's flags. --help prints the usage on stdout and
// ends the command with status 0; a bad flag prints the error and the usage
// on stderr and ends it with status 2. ok is false when the command should
// return code.
func parseFlags(fs *flag.FlagSet, args []string, help string, stdout, stderr io.Writer) (code int, ok bool) {
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
