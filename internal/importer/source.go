// Package importer is `cairn import`: it reads an existing CloudTrail
// archive (log files in AWS's layout, in a directory or an S3-compatible
// bucket) or an account's event history (LookupEvents of a CloudTrail
// endpoint) and sends the records to a Cairn server's ingest API
// (POST /v1/events), so that authorization, validation and idempotency on
// eventID stay the server's. A checkpoint file makes a stopped or crashed
// import resume where it was.
package importer

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairn-audit/cairn/internal/bucket"
)

// Source is an archive to import: a bucket and the key prefix under which
// its AWSLogs/ folder lies.
type Source struct {
	Bucket bucket.Bucket
	// Prefix is "" or ends with "/": the trail's S3 key prefix (or the
	// folder of a directory) under which AWSLogs/ is found.
	Prefix string
	// URL is the source as given, for messages.
	URL string
	// ID names the archive whatever way URL spells it (see SourceID): a
	// checkpoint belongs to it.
	ID string
}

// SourceID is what names the archive of a --source URL in a checkpoint:
// its scheme, its bucket and its key prefix (s3://bucket/prefix/, with or
// without a trailing slash or /AWSLogs), or its directory (file:// and the
// absolute, cleaned path, symbolic links resolved when it exists). How the
// archive is reached (endpoint, region, path_style) is left out: the same
// bucket through another endpoint is the same archive.
func SourceID(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("--source %q: %w", raw, err)
	}
	switch u.Scheme {
	case "file":
		dir, err := sourceDir(raw, u)
		if err != nil {
			return "", err
		}
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			dir = real
		}
		return "file://" + filepath.ToSlash(dir), nil
	case "s3":
		if u.Host == "" {
			return "", fmt.Errorf("--source %q: an S3 URL names a bucket, s3://bucket/prefix", raw)
		}
		return "s3://" + u.Host + "/" + s3Prefix(u), nil
	default:
		return "", fmt.Errorf("--source %q: want file:///path or s3://bucket/prefix?endpoint=…", raw)
	}
}

// sourceDir is the directory of a file:// source that holds AWSLogs/.
func sourceDir(raw string, u *url.URL) (string, error) {
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("--source %q: a file URL names a local path, file:///path", raw)
	}
	dir := filepath.Clean(u.Path)
	if filepath.Base(dir) == "AWSLogs" {
		dir = filepath.Dir(dir)
	}
	return dir, nil
}

// s3Prefix is the key prefix of an s3:// source under which AWSLogs/ lies:
// "" or ending in "/".
func s3Prefix(u *url.URL) string {
	// Not path.Clean: S3 keys are literal ("a//b" is not "a/b").
	prefix := strings.Trim(u.Path, "/")
	if prefix == "AWSLogs" {
		prefix = ""
	} else {
		prefix = strings.TrimSuffix(prefix, "/AWSLogs")
	}
	if prefix != "" {
		prefix += "/"
	}
	return prefix
}

// OpenSource opens file:///path or s3://bucket/prefix?endpoint=…&region=…&path_style=true.
// An S3 source's credentials come from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, else the SDK's default chain. The path may end in
// AWSLogs (the folder itself) or name the folder that holds it.
func OpenSource(raw string) (Source, error) {
	id, err := SourceID(raw)
	if err != nil {
		return Source{}, err
	}
	u, _ := url.Parse(raw) // SourceID parsed it
	switch u.Scheme {
	case "file":
		if st, err := os.Stat(filepath.Clean(u.Path)); err != nil {
			return Source{}, fmt.Errorf("--source %q: %w", raw, err)
		} else if !st.IsDir() {
			return Source{}, fmt.Errorf("--source %q: %s is not a directory", raw, filepath.Clean(u.Path))
		}
		dir, _ := sourceDir(raw, u)
		return Source{Bucket: bucket.NewDir(filepath.Base(dir), dir), URL: raw, ID: id}, nil
	case "s3":
		prefix := s3Prefix(u)
		bare := *u
		bare.Path, bare.RawPath = "", ""
		o, err := bucket.ParseS3URL(bare.String())
		if err != nil {
			return Source{}, fmt.Errorf("--source: %w", err)
		}
		o.AccessKeyID, o.SecretAccessKey = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		if o.AccessKeyID == "" || o.SecretAccessKey == "" {
			o.AccessKeyID, o.SecretAccessKey = "", "" // the default chain
		}
		b, err := bucket.NewS3(o.Bucket, o)
		if err != nil {
			return Source{}, fmt.Errorf("--source: %w", err)
		}
		return Source{Bucket: b, Prefix: prefix, URL: raw, ID: id}, nil
	}
	return Source{}, fmt.Errorf("--source %q: want file:///path or s3://bucket/prefix?endpoint=…", raw)
}
