package main

import (
	"flag"
	"io"

	"github.com/cairn-audit/cairn/internal/cli"
)

// parseFlags parses a command's flags (see cli.ParseFlags): ok is false when
// the command should return code.
func parseFlags(fs *flag.FlagSet, args []string, help string, stdout, stderr io.Writer) (code int, ok bool) {
	return cli.ParseFlags(fs, args, help, stdout, stderr)
}
