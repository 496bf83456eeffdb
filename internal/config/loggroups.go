package config

import (
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Log group destinations (log_groups: url).
const (
	// SchemeCloudWatchLogs is the scheme of a CloudWatch Logs API
	// destination: cloudwatch-logs://?endpoint=URL[&region=R].
	SchemeCloudWatchLogs = "cloudwatch-logs"
	// DefaultRotateBytes and DefaultKeepFiles are a file destination's
	// rotation defaults.
	DefaultRotateBytes = 100 << 20
	DefaultKeepFiles   = 5
)

// CloudWatchLogsURL is a parsed cloudwatch-logs:// destination.
type CloudWatchLogsURL struct {
	// Endpoint is the API's base URL; empty means AWS's endpoint of the
	// region.
	Endpoint string
	// Region is the signing region; empty means the log group ARN's.
	Region string
}

// ParseCloudWatchLogsURL parses cloudwatch-logs://?endpoint=URL&region=R
// (both parameters optional; any other is an error).
func ParseCloudWatchLogsURL(raw string) (CloudWatchLogsURL, error) {
	q, err := apiURLForm{scheme: SchemeCloudWatchLogs, names: "endpoint, region",
		usage: "cloudwatch-logs://?endpoint=URL&region=R; the log group is the arn's"}.parse(raw)
	if err != nil {
		return CloudWatchLogsURL{}, err
	}
	return CloudWatchLogsURL{Endpoint: q["endpoint"], Region: q["region"]}, nil
}

// checkLogGroupDest checks a log group's url and the settings that go with
// its scheme.
func checkLogGroupDest(v *validator, path string, g LogGroup) {
	scheme, _, _ := strings.Cut(g.URL, "://")
	creds := g.AccessKeyID != "" || g.SecretAccessKey != ""
	rotation := g.RotateBytes != 0 || g.KeepFiles != 0
	switch scheme {
	case SchemeCloudWatchLogs:
		if _, err := ParseCloudWatchLogsURL(g.URL); err != nil {
			v.add(path+".url", "%v", err)
		}
		if (g.AccessKeyID == "") != (g.SecretAccessKey == "") {
			v.add(path, "access_key_id and secret_access_key must be set together")
		}
	default:
		checkURL(v, path+".url", path, g.URL, SchemeCloudWatchLogs, "file", "http", "https")
		if scheme == "file" {
			if msg := fileIsDirectory(g.URL); msg != "" {
				v.add(path+".url", "%s", msg)
			}
		}
		if creds {
			v.add(path, "access_key_id and secret_access_key only apply to cloudwatch-logs:// urls")
		}
	}
	if scheme != "file" && rotation {
		v.add(path, "rotate_bytes and keep_files only apply to file:// urls")
	}
	if g.RotateBytes < 0 {
		v.add(path+".rotate_bytes", "must not be negative, got %d", g.RotateBytes)
	} else if g.RotateBytes != 0 && g.RotateBytes < 1<<10 {
		v.add(path+".rotate_bytes", "must be at least 1024 (a record is up to 256 KB; 0 means %d), got %d", DefaultRotateBytes, g.RotateBytes)
	}
	if g.KeepFiles < 0 {
		v.add(path+".keep_files", "must not be negative, got %d", g.KeepFiles)
	}
}

// fileIsDirectory says why a file:// log group's url names a directory (a
// path ending in "/", or one that exists as a directory), which no record
// can be appended to; "" when it does not.
func fileIsDirectory(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Path == "" {
		return ""
	}
	if strings.HasSuffix(u.Path, "/") {
		return fmt.Sprintf("file url %q names a directory (want file:///path/to/file.ndjson)", raw)
	}
	if fi, err := os.Stat(u.Path); err == nil && fi.IsDir() {
		return fmt.Sprintf("file url %q names an existing directory (want file:///path/to/file.ndjson)", raw)
	}
	return ""
}
