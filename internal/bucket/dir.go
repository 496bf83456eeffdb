package bucket

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Directory layout: object bytes live at <dir>/<key>, so the key tree is
// exactly what S3 would hold. Bookkeeping lives in two top-level folders no
// valid key can name (first segments starting with ".cairn-" are refused):
//
//	<dir>/.cairn-meta/<key>.json   headers and user metadata of <key>
//	<dir>/.cairn-tmp/<random>      files being written, renamed into place
const (
	metaDir = reservedPrefix + "meta"
	tmpDir  = reservedPrefix + "tmp"

	// staleTemp is the age after which a file left in .cairn-tmp (by a
	// process that crashed mid-write) is removed.
	staleTemp = 15 * time.Minute

	dirPerm  = 0o750
	filePerm = 0o640
)

// dirBucket is a Bucket in a local directory.
type dirBucket struct {
	name  string
	dir   string
	sweep sync.Once
}

// NewDir returns a bucket named name whose objects are files under dir (a
// file:// destination, or <data_dir>/buckets/<name>).
//
// Object bytes are stored at <dir>/<key>; content type, content encoding,
// SSE-KMS key id and user metadata in a sidecar <dir>/.cairn-meta/<key>.json.
// Every file is written to <dir>/.cairn-tmp, fsynced, renamed into place and
// its directory fsynced, so a crash never leaves a partial object; the
// sidecar is written before the object, so a new object never appears
// without its metadata. Temporary files a crash left behind are removed,
// once stale, by the first Put of each bucket NewDir returns. All access
// goes through os.Root: nothing is read or written outside dir, symbolic
// links included. dir is created on the first Put if needed. A key that is
// also a folder of other keys ("a" next to "a/b"), which S3 allows, is
// refused.
func NewDir(name, dir string) Bucket {
	return &dirBucket{name: name, dir: filepath.Clean(dir)}
}

func (b *dirBucket) Name() string { return b.name }

// sidecar is the JSON stored in .cairn-meta/<key>.json.
type sidecar struct {
	ContentType     string            `json:"contentType,omitempty"`
	ContentEncoding string            `json:"contentEncoding,omitempty"`
	SSEKMSKeyID     string            `json:"sseKmsKeyId,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
}

func (b *dirBucket) Put(ctx context.Context, o Object) error {
	md, err := checkObject(o)
	if err != nil {
		return fmt.Errorf("bucket %s: put: %w", b.name, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bucket %s: put %s: %w", b.name, o.Key, err)
	}
	root, err := b.openRoot(true)
	if err != nil {
		return fmt.Errorf("bucket %s: put %s: %w", b.name, o.Key, err)
	}
	defer root.Close()
	b.sweep.Do(func() { sweepTemps(root) })

	side, err := json.Marshal(sidecar{
		ContentType:     o.ContentType,
		ContentEncoding: o.ContentEncoding,
		SSEKMSKeyID:     o.SSEKMSKeyID,
		Metadata:        md,
	})
	if err != nil {
		return fmt.Errorf("bucket %s: put %s: %w", b.name, o.Key, err)
	}
	// S3 lets "a" and "a/b" both be keys; a directory cannot. Refuse such a
	// key before its metadata is written.
	if fi, err := root.Lstat(o.Key); err == nil && fi.IsDir() {
		return fmt.Errorf("bucket %s: put %s: the key is a folder of other keys", b.name, o.Key)
	}
	if err := mkdirs(root, path.Dir(o.Key)); err != nil {
		return fmt.Errorf("bucket %s: put %s: %w", b.name, o.Key, err)
	}
	if err := writeAtomic(root, path.Join(metaDir, o.Key+".json"), side); err != nil {
		return fmt.Errorf("bucket %s: put %s: metadata: %w", b.name, o.Key, err)
	}
	if err := writeAtomic(root, o.Key, o.Body); err != nil {
		return fmt.Errorf("bucket %s: put %s: %w", b.name, o.Key, err)
	}
	return nil
}

func (b *dirBucket) Get(ctx context.Context, key string) (Object, error) {
	if err := checkKey(key); err != nil {
		return Object{}, fmt.Errorf("bucket %s: get: %w", b.name, err)
	}
	if err := ctx.Err(); err != nil {
		return Object{}, fmt.Errorf("bucket %s: get %s: %w", b.name, key, err)
	}
	root, err := b.openRoot(false)
	if err != nil {
		if isNotExist(err) {
			return Object{}, fmt.Errorf("bucket %s: get %s: %w", b.name, key, ErrNotFound)
		}
		return Object{}, fmt.Errorf("bucket %s: get %s: %w", b.name, key, err)
	}
	defer root.Close()
	body, err := readRegular(root, key)
	if err != nil {
		if isNotExist(err) {
			return Object{}, fmt.Errorf("bucket %s: get %s: %w", b.name, key, ErrNotFound)
		}
		return Object{}, fmt.Errorf("bucket %s: get %s: %w", b.name, key, err)
	}
	o := Object{Key: key, Body: body}
	raw, err := root.ReadFile(path.Join(metaDir, key+".json"))
	switch {
	case err == nil:
		var s sidecar
		if err := json.Unmarshal(raw, &s); err != nil {
			return Object{}, fmt.Errorf("bucket %s: get %s: corrupt metadata file %s: %w",
				b.name, key, filepath.Join(b.dir, metaDir, filepath.FromSlash(key)+".json"), err)
		}
		o.ContentType, o.ContentEncoding, o.SSEKMSKeyID = s.ContentType, s.ContentEncoding, s.SSEKMSKeyID
		if len(s.Metadata) > 0 {
			o.Metadata = s.Metadata
		}
	case isNotExist(err):
		// An object placed in the directory by something else: no headers.
	default:
		return Object{}, fmt.Errorf("bucket %s: get %s: metadata: %w", b.name, key, err)
	}
	return o, nil
}

func (b *dirBucket) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bucket %s: list %q: %w", b.name, prefix, err)
	}
	root, err := b.openRoot(false)
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("bucket %s: list %q: %w", b.name, prefix, err)
	}
	defer root.Close()

	// Walk only the folder the prefix's last "/" names.
	start := "."
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = prefix[:i]
		if !fs.ValidPath(start) || strings.HasPrefix(start, reservedPrefix) {
			return nil, nil // no valid key has this prefix
		}
	}
	var keys []string
	err = fs.WalkDir(root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && isNotExist(err) {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if path.Dir(p) == "." && strings.HasPrefix(p, reservedPrefix) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if dp := p + "/"; !strings.HasPrefix(dp, prefix) && !strings.HasPrefix(prefix, dp) {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && strings.HasPrefix(p, prefix) {
			keys = append(keys, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bucket %s: list %q: %w", b.name, prefix, err)
	}
	slices.Sort(keys)
	return keys, nil
}

// openRoot opens the bucket directory, creating it first when create is set.
func (b *dirBucket) openRoot(create bool) (*os.Root, error) {
	root, err := os.OpenRoot(b.dir)
	if err == nil || !create || !isNotExist(err) {
		return root, err
	}
	if err := os.MkdirAll(b.dir, dirPerm); err != nil {
		return nil, err
	}
	if err := syncPath(filepath.Dir(b.dir)); err != nil {
		return nil, err
	}
	return os.OpenRoot(b.dir)
}

// readRegular reads the regular file name; a folder is "not found" (S3 has
// no object there).
func readRegular(root *os.Root, name string) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fs.ErrNotExist
	}
	if fi.Size() > MaxObjectBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrTooLarge, fi.Size(), MaxObjectBytes)
	}
	buf := bytes.NewBuffer(make([]byte, 0, fi.Size()+bytes.MinRead))
	// The file may grow while it is read.
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxObjectBytes+1)); err != nil {
		return nil, err
	}
	if buf.Len() > MaxObjectBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxObjectBytes)
	}
	return buf.Bytes(), nil
}

// writeAtomic writes data to name (relative to root): into a new file in
// .cairn-tmp, fsynced, renamed over name, and name's folder fsynced.
func writeAtomic(root *os.Root, name string, data []byte) (err error) {
	dir := path.Dir(name)
	if err := mkdirs(root, dir); err != nil {
		return err
	}
	if err := mkdirs(root, tmpDir); err != nil {
		return err
	}
	tmp := path.Join(tmpDir, rand.Text())
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = root.Remove(tmp)
		}
	}()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return werr
	}
	if err := root.Rename(tmp, name); err != nil {
		if fi, serr := root.Lstat(name); serr == nil && fi.IsDir() {
			return fmt.Errorf("key %q is a folder of other keys: %w", name, err)
		}
		return err
	}
	return syncDir(root, dir)
}

// mkdirs creates the folder dir (relative to root) and its parents,
// fsyncing the parent of each folder it creates.
func mkdirs(root *os.Root, dir string) error {
	if dir == "." {
		return nil
	}
	if fi, err := root.Stat(dir); err == nil {
		if fi.IsDir() {
			return nil
		}
		return fmt.Errorf("%q is an object, not a folder", dir)
	}
	segs := strings.Split(dir, "/")
	for i := range segs {
		p := strings.Join(segs[:i+1], "/")
		err := root.Mkdir(p, dirPerm)
		switch {
		case err == nil:
			if err := syncDir(root, path.Dir(p)); err != nil {
				return err
			}
		case errors.Is(err, fs.ErrExist):
			fi, serr := root.Stat(p)
			if serr != nil {
				return serr
			}
			if !fi.IsDir() {
				return fmt.Errorf("%q is an object, not a folder", p)
			}
		default:
			return err
		}
	}
	return nil
}

// syncDir fsyncs the folder dir (relative to root).
func syncDir(root *os.Root, dir string) error {
	f, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// syncPath fsyncs the folder at an OS path.
func syncPath(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// sweepTemps removes stale files a crashed writer left in .cairn-tmp.
func sweepTemps(root *os.Root) {
	entries, err := fs.ReadDir(root.FS(), tmpDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || time.Since(fi.ModTime()) < staleTemp {
			continue
		}
		_ = root.Remove(path.Join(tmpDir, e.Name()))
	}
}

// isNotExist reports whether err means the path does not exist, including
// a path whose parent is a file (ENOTDIR).
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
