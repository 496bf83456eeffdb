package privdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func stat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// TestEmptyKeepsDirectory: Empty removes the entries, never the directory
// itself (a mount point cannot be removed), so the same directory is there after.
func TestEmptyKeepsDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub", "deeper"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etilqs_x"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := stat(t, dir)
	if err := Empty(dir, "scratch"); err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(stat(t, dir), before) {
		t.Errorf("the directory was replaced")
	}
	if es, err := os.ReadDir(dir); err != nil || len(es) != 0 {
		t.Errorf("after Empty: %v %v", es, err)
	}
}

// TestEmptySymlink: a link is kept and its target emptied.
func TestEmptySymlink(t *testing.T) {
	base := t.TempDir()
	target := filepath.Join(base, "target")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "left"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "tmp")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := Empty(link, "scratch"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link after Empty: %v %v", fi, err)
	}
	if es, err := os.ReadDir(target); err != nil || len(es) != 0 {
		t.Errorf("target after Empty: %v %v", es, err)
	}
}

func TestEmptyCreatesPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tmp")
	if err := Empty(dir, "scratch"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("created: %v %v", fi, err)
	}
}

// TestEmptyRefusesOpen: a directory others may reach is refused, its
// content left alone.
func TestEmptyRefusesOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(dir, "keep")
	if err := os.WriteFile(keep, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var oe *OpenError
	if err := Empty(dir, "scratch"); !errors.As(err, &oe) || !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("Empty of a 1777 directory: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("refused, yet emptied: %v", err)
	}
}

// TestLockExcludes: a second Lock of a locked directory fails with the
// holder's pid; after Unlock it succeeds.
func TestLockExcludes(t *testing.T) {
	dir := t.TempDir()
	l, err := Lock(dir, "data directory")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Lock(dir, "data directory")
	var be *BusyError
	if !errors.As(err, &be) || be.PID != os.Getpid() || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Lock: %v", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := Lock(dir, "data directory")
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	l2.Unlock()
}
