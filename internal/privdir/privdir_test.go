//go:build unix

package privdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestCreatesPrivateWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "a", "data")
	if err := Prepare(dir, Options{What: "data directory"}); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Fatalf("created with mode %04o, want 0700", m)
	}
}

func TestRefusesDirectoryOthersReach(t *testing.T) {
	for _, tc := range []struct {
		mode os.FileMode
		want string
	}{
		{0o755, "data directory %s is readable by other users (mode 0755): run chmod 700 %s"},
		{0o750, "data directory %s is readable by other users (mode 0750): run chmod 700 %s"},
		{0o704, "data directory %s is readable by other users (mode 0704): run chmod 700 %s"},
		{0o730, "data directory %s is writable by other users (mode 0730): run chmod 700 %s"},
		{0o711, "data directory %s is accessible by other users (mode 0711): run chmod 700 %s"},
		{0o777, "data directory %s is readable by other users (mode 0777): run chmod 700 %s"},
	} {
		dir := t.TempDir()
		if err := os.Chmod(dir, tc.mode); err != nil {
			t.Fatal(err)
		}
		err := Prepare(dir, Options{What: "data directory"})
		var oe *OpenError
		if !errors.As(err, &oe) {
			t.Fatalf("mode %04o: %v, want an OpenError", tc.mode, err)
		}
		if want := sprintf2(tc.want, dir); err.Error() != want {
			t.Errorf("mode %04o:\n got %s\nwant %s", tc.mode, err, want)
		}
		if m := mode(t, dir); m != tc.mode {
			t.Errorf("mode %04o changed to %04o", tc.mode, m)
		}
	}
}

func sprintf2(format, dir string) string { return fmt.Sprintf(format, dir, dir) }

func TestQuotesPathForTheShell(t *testing.T) {
	e := &OpenError{What: "directory", Dir: "/tmp/my data's", Mode: 0o755}
	if want := `directory /tmp/my data's is readable by other users (mode 0755): run chmod 700 '/tmp/my data'\''s'`; e.Error() != want {
		t.Fatalf("got  %s\nwant %s", e.Error(), want)
	}
}

func TestTightensWhatIsInside(t *testing.T) {
	dir := t.TempDir() // made 0777 less the umask
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(dir, 0o700))
	must(os.MkdirAll(filepath.Join(dir, "log"), 0o755))
	must(os.Chmod(filepath.Join(dir, "log"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "events.db"), []byte("x"), 0o644))
	must(os.Chmod(filepath.Join(dir, "events.db"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "log", "seg"), []byte("x"), 0o640))
	must(os.Chmod(filepath.Join(dir, "log", "seg"), 0o640))
	must(os.WriteFile(filepath.Join(dir, "node-id"), []byte("x"), 0o400))
	must(os.MkdirAll(filepath.Join(dir, "buckets", "logs"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "buckets", "logs", "f"), []byte("x"), 0o644))
	must(os.Chmod(filepath.Join(dir, "buckets", "logs", "f"), 0o644))
	outside := filepath.Join(t.TempDir(), "outside")
	must(os.WriteFile(outside, []byte("x"), 0o644))
	must(os.Chmod(outside, 0o644))
	must(os.Symlink(outside, filepath.Join(dir, "link")))

	must(Prepare(dir, Options{What: "data directory", Skip: func(rel string) bool { return rel == "buckets" }}))
	for path, want := range map[string]os.FileMode{
		"log": 0o700, "events.db": 0o600, "log/seg": 0o600, "node-id": 0o400,
		"buckets": 0o755, "buckets/logs": 0o755, "buckets/logs/f": 0o644,
	} {
		if m := mode(t, filepath.Join(dir, path)); m != want {
			t.Errorf("%s: mode %04o, want %04o", path, m, want)
		}
	}
	if m := mode(t, outside); m != 0o644 {
		t.Errorf("a symbolic link was followed: its target's mode is %04o", m)
	}
}
