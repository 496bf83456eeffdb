//go:build !(linux || darwin || freebsd)

package sqlite

import (
	"errors"
	"os"
)

// canMap says whether sealed segments are read through mappings: not here.
const canMap = false

func mapFile(*os.File) ([]byte, error) { return nil, errors.ErrUnsupported }

func unmapFile([]byte) error { return nil }
