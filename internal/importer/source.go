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
	// URL is the source as given, for messages and the checkpoint.
	URL string
}

// OpenSource opens file:///path or s3://bucket/prefix?endpoint=…&region=…&path_style=true.
// An S3 source's credentials come from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, else the SDK's default chain. The path may end in
// AWSLogs (the folder itself) or name the folder that holds it.
func OpenSource(raw string) (Source, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Source{}, fmt.Errorf("--source %q: %w", raw, err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return Source{}, fmt.Errorf("--source %q: a file URL names a local path, file:///path", raw)
		}
		dir := filepath.Clean(u.Path)
		if st, err := os.Stat(dir); err != nil {
			return Source{}, fmt.Errorf("--source %q: %w", raw, err)
		} else if !st.IsDir() {
			return Source{}, fmt.Errorf("--source %q: %s is not a directory", raw, dir)
		}
		prefix := ""
		if filepath.Base(dir) == "AWSLogs" {
			dir = filepath.Dir(dir)
		}
		return Source{Bucket: bucket.NewDir(filepath.Base(dir), dir), Prefix: prefix, URL: raw}, nil
	case "s3":
		prefix := strings.Trim(u.Path, "/")
		if prefix == "AWSLogs" {
			prefix = ""
		} else {
			prefix = strings.TrimSuffix(prefix, "/AWSLogs")
		}
		if prefix != "" {
			prefix += "/"
		}
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
		return Source{Bucket: b, Prefix: prefix, URL: raw}, nil
	default:
		return Source{}, fmt.Errorf("--source %q: want file:///path or s3://bucket/prefix?endpoint=…", raw)
	}
}
