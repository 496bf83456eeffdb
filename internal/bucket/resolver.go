package bucket

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	"github.com/cairn-audit/cairn/internal/config"
)

// Resolver opens the bucket a trail's S3BucketName names, per the
// configuration: a bucket listed under buckets: opens its file:// or s3://
// destination; any other name resolves to the directory
// <data_dir>/buckets/<name>, and exists only while that directory exists.
//
// Buckets of configured destinations are created once and shared; a
// Resolver is safe for concurrent use. It does not watch the configuration:
// build a new Resolver after a change.
type Resolver struct {
	dataDir    string
	configured map[string]config.Bucket

	mu     sync.Mutex
	opened map[string]Bucket
}

// ResolverOptions are what a Resolver reads of the configuration.
type ResolverOptions struct {
	// DataDir holds the directory buckets, under <DataDir>/buckets.
	DataDir string
	// Buckets are the configured buckets (buckets:); the first of a name
	// counts.
	Buckets []config.Bucket
}

// NewResolver returns a Resolver for c's buckets and data directory. c is
// read once; later changes to its slices are not seen.
func NewResolver(c ResolverOptions) *Resolver {
	r := &Resolver{
		dataDir:    c.DataDir,
		configured: make(map[string]config.Bucket, len(c.Buckets)),
		opened:     map[string]Bucket{},
	}
	for _, b := range c.Buckets {
		if _, dup := r.configured[b.Name]; !dup {
			r.configured[b.Name] = b
		}
	}
	return r
}

// Exists reports whether name is a configured bucket or the directory
// <data_dir>/buckets/<name> exists. It makes no network call: a configured
// s3:// bucket exists even if the store does not have it (Put then fails
// with ErrNotFound).
func (r *Resolver) Exists(name string) bool {
	if _, ok := r.configured[name]; ok {
		return true
	}
	dir, ok := r.fallbackDir(name)
	if !ok {
		return false
	}
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}

// Open returns the bucket name resolves to, or an error wrapping
// ErrNotFound when it does not exist (see Exists). A configured bucket with
// an unusable URL is an error of its own.
func (r *Resolver) Open(name string) (Bucket, error) {
	if cb, ok := r.configured[name]; ok {
		r.mu.Lock()
		defer r.mu.Unlock()
		if b, ok := r.opened[name]; ok {
			return b, nil
		}
		b, err := openConfigured(cb)
		if err != nil {
			return nil, err
		}
		r.opened[name] = b
		return b, nil
	}
	if !r.Exists(name) {
		return nil, fmt.Errorf("bucket %q: %w (not configured, and no directory %s)",
			name, ErrNotFound, r.displayFallback(name))
	}
	dir, _ := r.fallbackDir(name)
	return NewDir(name, dir), nil
}

// openConfigured opens the destination of a configured bucket.
func openConfigured(cb config.Bucket) (Bucket, error) {
	u, err := url.Parse(cb.URL)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: invalid url %q: %w", cb.Name, cb.URL, err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("bucket %s: file url %q has a host (want file:///absolute/path)", cb.Name, cb.URL)
		}
		if u.Path == "" || u.Path == "/" {
			return nil, fmt.Errorf("bucket %s: file url %q names no directory", cb.Name, cb.URL)
		}
		return NewDir(cb.Name, filepath.FromSlash(u.Path)), nil
	case "s3":
		o, err := ParseS3URL(cb.URL)
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", cb.Name, err)
		}
		o.AccessKeyID, o.SecretAccessKey = cb.AccessKeyID, cb.SecretAccessKey
		return NewS3(cb.Name, o)
	default:
		return nil, fmt.Errorf("bucket %s: unsupported url %q (want file:// or s3://)", cb.Name, cb.URL)
	}
}

// fallbackDir returns <data_dir>/buckets/<name>, or false when name could
// not be a bucket name or would leave that directory.
func (r *Resolver) fallbackDir(name string) (string, bool) {
	if !safeBucketName(name) {
		return "", false
	}
	return filepath.Join(r.dataDir, "buckets", name), true
}

func (r *Resolver) displayFallback(name string) string {
	if dir, ok := r.fallbackDir(name); ok {
		return dir
	}
	return filepath.Join(r.dataDir, "buckets", "<name>") + " (the name is not a valid bucket name)"
}

// safeBucketName accepts S3 bucket names, legacy ones included (up to 255
// letters, digits, '.', '-' and '_'), except "." and "..".
func safeBucketName(name string) bool {
	if name == "" || len(name) > 255 || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
