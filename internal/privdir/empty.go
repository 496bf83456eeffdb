package privdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Empty makes dir an empty private directory for scratch files without
// ever removing dir itself: dir may be a mount point (a filesystem mounted
// there to bound the scratch space, which cannot be removed) or a symbolic
// link to such a directory, and both are kept; only their entries go. A
// missing dir is created with mode 0700. An existing one (the link's
// target for a link) that other users may reach is refused with the
// command that fixes it, as Prepare does, and so is one another user owns.
func Empty(dir, what string) error {
	fi, err := os.Stat(dir) // follows a link: its target is what holds the files
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, lerr := os.Lstat(dir); lerr == nil {
			return fmt.Errorf("%s %s is a symbolic link to a missing directory", what, dir)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			return fmt.Errorf("%s %s: %w", what, dir, err)
		}
		return os.Chmod(dir, 0o700) // Mkdir's mode is cut by the umask
	case err != nil:
		return fmt.Errorf("%s %s: %w", what, dir, err)
	case !fi.IsDir():
		return fmt.Errorf("%s %s is not a directory", what, dir)
	case fi.Mode().Perm()&0o077 != 0:
		return &OpenError{What: what, Dir: dir, Mode: fi.Mode().Perm()}
	}
	if uid, ok := ownerOf(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("%s %s is owned by user id %d, not by this process's (%d): run chown to give it to the server's user", what, dir, uid, os.Geteuid())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, dir, err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("%s %s: emptying: %w", what, dir, err)
		}
	}
	return nil
}
