package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cairn-audit/cairn/internal/segment"
)

// readAck returns the last acknowledged seq recorded in dir, 0 if none.
func readAck(dir string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, ackName))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	text, ok := strings.CutSuffix(string(b), "\n")
	seq, err := strconv.ParseUint(text, 10, 64)
	if !ok || err != nil {
		return 0, fmt.Errorf("ack file %s is corrupt: %q", filepath.Join(dir, ackName), b)
	}
	return seq, nil
}

// writeAck durably replaces the ack file of dir with seq: it writes a
// temporary file, fsyncs it, renames it over the ack file and fsyncs the
// directory, so that after a crash the ack file holds either the old or the
// new seq, never a mix.
func writeAck(dir string, seq uint64) error {
	tmp := filepath.Join(dir, ackTmpName)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strconv.FormatUint(seq, 10) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, ackName))
	}
	if err == nil {
		err = segment.SyncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("spool: write ack file: %w", err)
	}
	return nil
}
