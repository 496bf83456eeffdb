// Package bucket stores the objects trails deliver — CloudTrail log files and
// digest files — in the destination a trail's S3BucketName resolves to.
//
// Two backends implement [Bucket]:
//
//   - a directory ([NewDir]): configured as file:///path, or the fallback
//     <data_dir>/buckets/<name> for a bucket that is not configured;
//   - an S3-compatible object store ([NewS3]) through aws-sdk-go-v2,
//     configured as s3://bucket?endpoint=...&region=...&path_style=true.
//
// [Resolver] maps a bucket name to its backend per the configuration.
//
// Both backends accept the same keys and metadata and behave the same way,
// so that a trail writes the same object tree to either. Keys are S3 object
// keys: "/"-separated segments, each non-empty, at most 250 bytes and
// neither "." nor "..", with no leading "/", no backslash, no control
// characters, valid UTF-8, at most 1024 bytes in all, and a first segment
// that does not start with ".cairn-" (reserved for the directory backend's
// bookkeeping). A key outside these rules is refused with an error wrapping
// [ErrInvalid].
//
// User metadata keys are lower-cased (as S3 does) and may use a-z, 0-9, "-",
// "_" and "."; values are printable ASCII without leading or trailing
// spaces; keys and values together are at most 2 KiB (S3's limit). On S3
// they travel as x-amz-meta-<key> headers.
package bucket

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrNotFound reports that an object (or the bucket itself) does not exist.
// Errors returned by this package wrap it; test with errors.Is.
var ErrNotFound = errors.New("bucket: not found")

// ErrInvalid reports an object key, metadata entry or header value that the
// package refuses (see the package documentation). Errors returned by this
// package wrap it; test with errors.Is.
var ErrInvalid = errors.New("bucket: invalid object")

// MaxObjectBytes bounds an object Get reads into memory. What a bucket
// holds is untrusted (anyone with write access to it may have put a huge
// object there); Cairn's largest objects, gzip'd log files of at most 2,000
// records, are far smaller.
const MaxObjectBytes = 256 << 20

// ErrTooLarge reports an object larger than MaxObjectBytes. Errors returned
// by this package wrap it; test with errors.Is.
var ErrTooLarge = errors.New("bucket: object too large")

// Object is a stored object: its key, bytes and headers.
type Object struct {
	// Key is the object key, e.g.
	// "AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/....json.gz".
	Key string
	// Body is the object's bytes.
	Body []byte
	// Metadata is the user metadata, e.g. "signature" and
	// "signature-algorithm" on a digest file (S3: x-amz-meta-*). Keys are
	// lower-cased on Put; Get returns them lower-cased. Nil when none.
	Metadata map[string]string
	// ContentType is the Content-Type, e.g. "application/json". Empty on
	// Put sends none; Get then reports the store's default (AWS:
	// "binary/octet-stream", moto: "application/octet-stream"; the
	// directory backend: "").
	ContentType string
	// ContentEncoding is the Content-Encoding; empty sends none. CloudTrail
	// sets none on its .json.gz files.
	ContentEncoding string
	// SSEKMSKeyID, when set on Put, asks for SSE-KMS encryption with this
	// key (S3: ServerSideEncryption aws:kms and SSEKMSKeyId). Get reports
	// the key the store names for the object (S3 may report the key ARN);
	// the directory backend records it but does not encrypt.
	SSEKMSKeyID string
}

// Bucket is a destination for delivered objects.
type Bucket interface {
	// Name returns the bucket name trails refer to (the configured name,
	// which for an s3:// destination may differ from the real bucket).
	Name() string
	// Put stores o under o.Key, replacing any object with that key.
	// Writing the same object again gives the same result.
	Put(ctx context.Context, o Object) error
	// Get returns the object stored under key with its body and headers,
	// or an error wrapping ErrNotFound.
	Get(ctx context.Context, key string) (Object, error)
	// List returns every key that starts with prefix, sorted bytewise (as
	// S3 lists). A missing S3 bucket is ErrNotFound; a directory bucket
	// whose directory does not exist yet lists nothing.
	List(ctx context.Context, prefix string) ([]string, error)
}

// MaxKeyLen is the longest key accepted, in bytes (S3's limit).
const MaxKeyLen = 1024

// MaxSegmentLen is the longest "/"-separated key segment accepted, in
// bytes: a file name (255 bytes on common file systems) with room for the
// directory backend's ".json" sidecar suffix.
const MaxSegmentLen = 250

// maxMetadataSize is S3's limit on user metadata: the bytes of all keys
// and values together.
const maxMetadataSize = 2048

// reservedPrefix starts first key segments the directory backend keeps
// for itself (.cairn-meta, .cairn-tmp).
const reservedPrefix = ".cairn-"

// checkKey validates an object key (see the package documentation).
func checkKey(key string) error {
	bad := func(reason string) error {
		return fmt.Errorf("%w: key %q %s", ErrInvalid, key, reason)
	}
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalid)
	case len(key) > MaxKeyLen:
		return bad(fmt.Sprintf("is longer than %d bytes", MaxKeyLen))
	case !utf8.ValidString(key):
		return bad("is not valid UTF-8")
	case strings.HasPrefix(key, "/"):
		return bad("starts with /")
	}
	for _, r := range key {
		switch {
		case r == '\\':
			return bad("contains a backslash")
		case r < 0x20 || r == 0x7f:
			return bad("contains a control character")
		}
	}
	for i, seg := range strings.Split(key, "/") {
		switch {
		case seg == "":
			return bad("has an empty path segment")
		case seg == "." || seg == "..":
			return bad("has a " + seg + " path segment")
		case len(seg) > MaxSegmentLen:
			return bad(fmt.Sprintf("has a path segment longer than %d bytes", MaxSegmentLen))
		case i == 0 && strings.HasPrefix(seg, reservedPrefix):
			return bad("starts with the reserved prefix " + reservedPrefix)
		}
	}
	return nil
}

// normalizeMetadata validates user metadata and returns it with lower-cased
// keys (nil when empty).
func normalizeMetadata(md map[string]string) (map[string]string, error) {
	if len(md) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(md))
	size := 0
	for k, v := range md {
		lk := strings.ToLower(k)
		if lk == "" {
			return nil, fmt.Errorf("%w: empty metadata key", ErrInvalid)
		}
		for i := 0; i < len(lk); i++ {
			c := lk[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
				return nil, fmt.Errorf("%w: metadata key %q: only letters, digits, '-', '_' and '.' are allowed", ErrInvalid, k)
			}
		}
		if _, dup := out[lk]; dup {
			return nil, fmt.Errorf("%w: metadata key %q given twice (keys are case-insensitive)", ErrInvalid, k)
		}
		if err := checkHeaderValue("metadata "+k, v); err != nil {
			return nil, err
		}
		out[lk] = v
		size += len(lk) + len(v)
	}
	if size > maxMetadataSize {
		return nil, fmt.Errorf("%w: metadata is %d bytes, more than S3's limit of %d", ErrInvalid, size, maxMetadataSize)
	}
	return out, nil
}

// checkHeaderValue refuses values that would not survive an HTTP header
// round trip unchanged.
func checkHeaderValue(what, v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("%w: %s value %q: only printable ASCII is allowed", ErrInvalid, what, v)
		}
	}
	if strings.TrimSpace(v) != v {
		return fmt.Errorf("%w: %s value %q has leading or trailing spaces", ErrInvalid, what, v)
	}
	return nil
}

// checkObject validates o's key and headers and returns its normalized
// metadata.
func checkObject(o Object) (map[string]string, error) {
	if err := checkKey(o.Key); err != nil {
		return nil, err
	}
	for what, v := range map[string]string{
		"content type":     o.ContentType,
		"content encoding": o.ContentEncoding,
		"SSE-KMS key id":   o.SSEKMSKeyID,
	} {
		if err := checkHeaderValue(what, v); err != nil {
			return nil, err
		}
	}
	return normalizeMetadata(o.Metadata)
}

// Local reports whether b keeps its files in a directory on this machine,
// which has no server-side encryption of its own.
func Local(b Bucket) bool {
	_, ok := b.(*dirBucket)
	return ok
}
