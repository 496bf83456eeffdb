// Package privdir keeps the directories where Cairn holds secrets private
// to the user it runs as: the data directory (digest signing keys in
// events.db, administrator credentials, KMS key material) and the proxy's
// spool (recorded requests). A directory is created with mode 0700 whatever
// the umask; an existing one that other users may read, write or enter is
// refused with the command that fixes it, since files created in it could
// be read before anything tightens them; and files and folders inside that
// other users could read are tightened (0600 / 0700, owner bits kept) and
// logged.
package privdir

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// OpenError is a directory that other users may reach.
type OpenError struct {
	// What names the directory for the user ("data directory").
	What string
	Dir  string
	Mode fs.FileMode // its permission bits
}

func (e *OpenError) Error() string {
	how := "accessible by"
	switch {
	case e.Mode&0o044 != 0:
		how = "readable by"
	case e.Mode&0o022 != 0:
		how = "writable by"
	}
	return fmt.Sprintf("%s %s is %s other users (mode %04o): run chmod 700 %s", e.What, e.Dir, how, e.Mode.Perm(), shellQuote(e.Dir))
}

// Options say how Prepare treats a directory.
type Options struct {
	// What names the directory in messages ("data directory").
	What string
	// Skip reports whether the entry at rel (slash-separated, relative to
	// the directory) is left as it is, and for a folder everything under
	// it: content that is meant to be shared, such as directory buckets.
	Skip func(rel string) bool
	// Log receives a line for each mode tightened; nil logs nothing.
	Log *slog.Logger
}

// Prepare makes dir (and missing parents) with mode 0700 if it does not
// exist; refuses it with an *OpenError if it does and its mode gives other
// users any access; and otherwise tightens what is inside (see Tighten).
func Prepare(dir string, o Options) error {
	if o.What == "" {
		o.What = "directory"
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("%s %s: %w", o.What, dir, err)
		}
		// MkdirAll's mode is cut by the umask; 0700 is meant.
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("%s %s: %w", o.What, dir, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("%s %s: %w", o.What, dir, err)
	case !fi.IsDir():
		return fmt.Errorf("%s %s is not a directory", o.What, dir)
	case fi.Mode().Perm()&0o077 != 0:
		return &OpenError{What: o.What, Dir: dir, Mode: fi.Mode().Perm()}
	}
	return Tighten(dir, o)
}

// Tighten takes every permission of group and others away from the files
// and folders under dir (not dir itself), except what o.Skip leaves, and
// logs each change. Symbolic links are neither followed nor changed. A
// file it cannot change (one another user owns) fails it: a secret there
// could be read.
func Tighten(dir string, o Options) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s %s: %w", o.What, dir, err)
		}
		if path == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if o.Skip != nil && o.Skip(filepath.ToSlash(rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() && !d.IsDir() {
			return nil // symbolic links, sockets, devices
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed meanwhile
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", o.What, dir, err)
		}
		perm := fi.Mode().Perm()
		if perm&0o077 == 0 {
			return nil
		}
		if err := os.Chmod(path, perm&^0o077); err != nil {
			return fmt.Errorf("%s %s: %s is open to other users (mode %04o) and cannot be made private: %w",
				o.What, dir, path, perm, err)
		}
		if o.Log != nil {
			o.Log.Warn(o.What+": made private what other users could read", "path", path,
				"mode_was", fmt.Sprintf("%04o", perm), "mode", fmt.Sprintf("%04o", perm&^0o077))
		}
		return nil
	})
}

// shellQuote quotes s for a POSIX shell when it holds anything but plain
// path characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// SQLiteFiles makes a SQLite database file and its WAL and shared-memory
// files readable by their owner only. SQLite creates a new database 0644
// (less the umask) but the WAL and shared-memory files with the database
// file's mode, so a database file created 0600 here, before the driver
// opens it, keeps all three private; files left with a looser mode (by an
// older version) are tightened.
func SQLiteFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close() // an empty file is an empty database
	}
	if !errors.Is(err, os.ErrExist) {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(p, perm&^0o077); err != nil {
				return err
			}
		}
	}
	return nil
}
