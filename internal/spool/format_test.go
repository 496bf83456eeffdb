package spool

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenFormat pins the on-disk format: a spool holding "hello", an
// empty record and "world", with the first acknowledged.
func TestGoldenFormat(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, Options{})
	appendStrings(t, s, "hello")
	if err := s.Append([]byte{}, []byte("world")); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{segName(1), ackName} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "golden", name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\ngot  %x\nwant %x", name, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ackTmpName)); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", ackTmpName, err)
	}

	// The golden files open as a spool.
	dir = t.TempDir()
	for _, name := range []string{segName(1), ackName} {
		b, err := os.ReadFile(filepath.Join("testdata", "golden", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s = openSpool(t, dir, Options{})
	wantEntries(t, peekAll(t, s), 2, "", "world")
}
