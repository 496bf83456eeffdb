//go:build unix

package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store/sqlite"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

// The database and its WAL and shared-memory files hold the digest signing
// keys: they are created 0600 whatever the umask, and older ones with a
// looser mode are tightened at open.
func TestDatabaseFilesArePrivate(t *testing.T) {
	check := func(dir string) {
		t.Helper()
		s, err := sqlite.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Append(context.Background(), []*event.Event{storetest.Rec(t, "111111111111", "us-east-1", "A", storetest.Base, nil)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutState(context.Background(), "k", []byte("secret"), 0); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"events.db", "events.db-wal", "events.db-shm"} {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if perm := fi.Mode().Perm(); perm != 0o600 {
				t.Errorf("%s: mode %04o, want 0600", name, perm)
			}
		}
	}
	old := syscall.Umask(0o022) // SQLite's own default is 0644 less the umask
	defer syscall.Umask(old)
	check(t.TempDir())

	// A store left with loose modes (by an older version, or copied): a
	// copy of an open store's files, all 0644.
	from := t.TempDir()
	s, err := sqlite.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(context.Background(), []*event.Event{storetest.Rec(t, "111111111111", "us-east-1", "A", storetest.Base, nil)}); err != nil {
		t.Fatal(err)
	}
	to := t.TempDir()
	err = filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil || path == from {
			return err
		}
		dst := filepath.Join(to, path[len(from):])
		if d.IsDir() {
			return os.Mkdir(dst, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"events.db", "events.db-wal", "events.db-shm"} {
		if fi, err := os.Stat(filepath.Join(to, name)); err != nil || fi.Mode().Perm() != 0o644 {
			t.Fatalf("copy of %s: %v, %v", name, fi, err)
		}
	}
	check(to)
}
