// Package digest writes and checks CloudTrail digest files: the hourly,
// RSA-signed, chained files that let `aws cloudtrail validate-logs` (and
// `cairn verify`) prove that delivered log files were not changed or
// deleted.
//
// A digest file lists the log files delivered for one account and Region of
// a trail during [digestStartTime, digestEndTime) with the SHA-256 of each
// (uncompressed) log file, and links to the previous digest of the same
// chain by key, hash and signature. Its signature (hex, stored as the S3
// user metadata "signature") is RSA PKCS#1 v1.5 over SHA-256 of
// [SignedString]. The public key is published through ListPublicKeys as
// PKCS#1 RSAPublicKey DER.
//
// Everything here follows the AWS CLI's validator
// (awscli/customizations/cloudtrail/validation.py), which is what the tests
// run against.
package digest

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// TimeFormat is how every time in a digest file is written: UTC, seconds,
// a literal Z ("2026-11-26T09:00:00Z"). The signed string uses
// digestEndTime in exactly this form.
const TimeFormat = "2006-01-02T15:04:05Z"

// SignatureAlgorithm is the only signature algorithm CloudTrail uses; it is
// both the digestSignatureAlgorithm field and the "signature-algorithm"
// metadata value.
const SignatureAlgorithm = "SHA256withRSA"

// HashAlgorithm names the hash of log files and of the previous digest.
const HashAlgorithm = "SHA-256"

// Metadata keys of a digest object (S3: x-amz-meta-signature, ...). They are
// lower case: botocore keeps the header's case after "x-amz-meta-", and the
// CLI looks up exactly "signature" and "signature-algorithm".
const (
	MetaSignature          = "signature"
	MetaSignatureAlgorithm = "signature-algorithm"
	// MetaBackfillTimestamp is required on backfill digests
	// (keys ending _backfill.json.gz).
	MetaBackfillTimestamp = "backfill-generation-timestamp"
)

// LogFile is one delivered log file as the digest lists it.
type LogFile struct {
	S3Bucket, S3Object string
	// SHA256 is the hash of the UNCOMPRESSED file bytes (what
	// validate-logs computes after gunzipping the object).
	SHA256                           []byte
	OldestEventTime, NewestEventTime time.Time
}

// File is a digest file's content, with CloudTrail's JSON field names.
type File struct {
	AWSAccountID                     string
	DigestStartTime, DigestEndTime   time.Time
	DigestS3Bucket, DigestS3Object   string
	DigestPublicKeyFingerprint       string
	DigestSignatureAlgorithm         string // "SHA256withRSA"
	NewestEventTime, OldestEventTime *time.Time
	// The previous digest of the chain; all nil for the first digest of a
	// chain (validation just enabled, or restarted).
	PreviousDigestS3Bucket, PreviousDigestS3Object *string
	PreviousDigestHashValue                        *string // hex SHA-256 of the previous digest's uncompressed bytes
	PreviousDigestHashAlgorithm                    *string // "SHA-256"
	PreviousDigestSignature                        *string // hex signature of the previous digest
	LogFiles                                       []LogFile
}

// SetPrevious links f to the previous digest of its chain: its location,
// the SHA-256 of its uncompressed JSON and its hex signature.
func (f *File) SetPrevious(bucket, key string, previousJSON []byte, previousSignature string) {
	h := sha256Hex(previousJSON)
	algo := HashAlgorithm
	f.PreviousDigestS3Bucket, f.PreviousDigestS3Object = &bucket, &key
	f.PreviousDigestHashValue, f.PreviousDigestHashAlgorithm = &h, &algo
	f.PreviousDigestSignature = &previousSignature
}

// wireLog and wireFile are the JSON layout, field for field and in
// CloudTrail's order.
type wireLog struct {
	S3Bucket        string `json:"s3Bucket"`
	S3Object        string `json:"s3Object"`
	HashValue       string `json:"hashValue"`
	HashAlgorithm   string `json:"hashAlgorithm"`
	NewestEventTime string `json:"newestEventTime"`
	OldestEventTime string `json:"oldestEventTime"`
}

type wireFile struct {
	AWSAccountID                string    `json:"awsAccountId"`
	DigestStartTime             string    `json:"digestStartTime"`
	DigestEndTime               string    `json:"digestEndTime"`
	DigestS3Bucket              string    `json:"digestS3Bucket"`
	DigestS3Object              string    `json:"digestS3Object"`
	DigestPublicKeyFingerprint  string    `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm    string    `json:"digestSignatureAlgorithm"`
	NewestEventTime             *string   `json:"newestEventTime"`
	OldestEventTime             *string   `json:"oldestEventTime"`
	PreviousDigestS3Bucket      *string   `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string   `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string   `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string   `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string   `json:"previousDigestSignature"`
	LogFiles                    []wireLog `json:"logFiles"`
}

func formatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

func formatTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := formatTime(*t)
	return &s
}

// JSON returns the digest file's bytes (before gzip): compact JSON in
// CloudTrail's field order, every field present (null where CloudTrail
// writes null), times in [TimeFormat], hashes in lower-case hex, logFiles
// an array (empty, not null, when no log files were delivered). These are
// the bytes that are hashed for the signature and for the next digest's
// previousDigestHashValue, so store exactly them.
func (f File) JSON() ([]byte, error) {
	w := wireFile{
		AWSAccountID:                f.AWSAccountID,
		DigestStartTime:             formatTime(f.DigestStartTime),
		DigestEndTime:               formatTime(f.DigestEndTime),
		DigestS3Bucket:              f.DigestS3Bucket,
		DigestS3Object:              f.DigestS3Object,
		DigestPublicKeyFingerprint:  f.DigestPublicKeyFingerprint,
		DigestSignatureAlgorithm:    f.DigestSignatureAlgorithm,
		NewestEventTime:             formatTimePtr(f.NewestEventTime),
		OldestEventTime:             formatTimePtr(f.OldestEventTime),
		PreviousDigestS3Bucket:      f.PreviousDigestS3Bucket,
		PreviousDigestS3Object:      f.PreviousDigestS3Object,
		PreviousDigestHashValue:     f.PreviousDigestHashValue,
		PreviousDigestHashAlgorithm: f.PreviousDigestHashAlgorithm,
		PreviousDigestSignature:     f.PreviousDigestSignature,
		LogFiles:                    make([]wireLog, len(f.LogFiles)),
	}
	for i, l := range f.LogFiles {
		w.LogFiles[i] = wireLog{
			S3Bucket:        l.S3Bucket,
			S3Object:        l.S3Object,
			HashValue:       hex.EncodeToString(l.SHA256),
			HashAlgorithm:   HashAlgorithm,
			NewestEventTime: formatTime(l.NewestEventTime),
			OldestEventTime: formatTime(l.OldestEventTime),
		}
	}
	var b bytes.Buffer
	b.Grow(1024 + 400*len(f.LogFiles))
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, fmt.Errorf("digest: encode: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Parse reads a digest file's (uncompressed) JSON. Field names are matched
// exactly, as Python's json does (Go's encoding/json alone would also accept
// "AWSACCOUNTID"); unknown fields are ignored. Times must be in
// [TimeFormat]; hash values must be hex; every log file's hashAlgorithm
// must be "SHA-256".
func Parse(b []byte) (File, error) {
	w, err := decodeWire(b)
	if err != nil {
		return File{}, err
	}
	var f File
	f.AWSAccountID = w.AWSAccountID
	f.DigestS3Bucket, f.DigestS3Object = w.DigestS3Bucket, w.DigestS3Object
	f.DigestPublicKeyFingerprint = w.DigestPublicKeyFingerprint
	f.DigestSignatureAlgorithm = w.DigestSignatureAlgorithm
	if f.DigestStartTime, err = parseTime("digestStartTime", w.DigestStartTime); err != nil {
		return File{}, err
	}
	if f.DigestEndTime, err = parseTime("digestEndTime", w.DigestEndTime); err != nil {
		return File{}, err
	}
	if f.NewestEventTime, err = parseTimePtr("newestEventTime", w.NewestEventTime); err != nil {
		return File{}, err
	}
	if f.OldestEventTime, err = parseTimePtr("oldestEventTime", w.OldestEventTime); err != nil {
		return File{}, err
	}
	f.PreviousDigestS3Bucket, f.PreviousDigestS3Object = w.PreviousDigestS3Bucket, w.PreviousDigestS3Object
	f.PreviousDigestHashValue, f.PreviousDigestHashAlgorithm = w.PreviousDigestHashValue, w.PreviousDigestHashAlgorithm
	f.PreviousDigestSignature = w.PreviousDigestSignature
	if w.LogFiles != nil {
		f.LogFiles = make([]LogFile, len(w.LogFiles))
	}
	for i, l := range w.LogFiles {
		what := fmt.Sprintf("logFiles[%d]", i)
		if l.HashAlgorithm != HashAlgorithm {
			return File{}, fmt.Errorf("digest: %s.hashAlgorithm is %q, want %q", what, l.HashAlgorithm, HashAlgorithm)
		}
		sum, err := hex.DecodeString(l.HashValue)
		if err != nil {
			return File{}, fmt.Errorf("digest: %s.hashValue: %w", what, err)
		}
		lf := LogFile{S3Bucket: l.S3Bucket, S3Object: l.S3Object, SHA256: sum}
		if lf.NewestEventTime, err = parseTime(what+".newestEventTime", l.NewestEventTime); err != nil {
			return File{}, err
		}
		if lf.OldestEventTime, err = parseTime(what+".oldestEventTime", l.OldestEventTime); err != nil {
			return File{}, err
		}
		f.LogFiles[i] = lf
	}
	return f, nil
}

func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(TimeFormat, s)
	// time.Parse also accepts fractional seconds the layout does not
	// name; the digest format has none.
	if err != nil || t.Format(TimeFormat) != s {
		return time.Time{}, fmt.Errorf("digest: %s %q is not a time like %q", field, s, TimeFormat)
	}
	return t, nil
}

func parseTimePtr(field string, s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := parseTime(field, *s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// fields decodes a JSON object into its members by exact name (the last of
// duplicated names wins, as in Python).
func fields(b []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

// member decodes m[name] into v when present; absent leaves v unchanged.
func member(m map[string]json.RawMessage, name string, v any) error {
	raw, ok := m[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// decodeWire decodes the wire layout with exact (case-sensitive) names.
func decodeWire(b []byte) (wireFile, error) {
	var w wireFile
	if !utf8.Valid(b) {
		return w, errors.New("digest: not UTF-8")
	}
	m, err := fields(b)
	if err != nil {
		return w, fmt.Errorf("digest: %w", err)
	}
	for _, p := range []struct {
		name string
		v    any
	}{
		{"awsAccountId", &w.AWSAccountID},
		{"digestStartTime", &w.DigestStartTime},
		{"digestEndTime", &w.DigestEndTime},
		{"digestS3Bucket", &w.DigestS3Bucket},
		{"digestS3Object", &w.DigestS3Object},
		{"digestPublicKeyFingerprint", &w.DigestPublicKeyFingerprint},
		{"digestSignatureAlgorithm", &w.DigestSignatureAlgorithm},
		{"newestEventTime", &w.NewestEventTime},
		{"oldestEventTime", &w.OldestEventTime},
		{"previousDigestS3Bucket", &w.PreviousDigestS3Bucket},
		{"previousDigestS3Object", &w.PreviousDigestS3Object},
		{"previousDigestHashValue", &w.PreviousDigestHashValue},
		{"previousDigestHashAlgorithm", &w.PreviousDigestHashAlgorithm},
		{"previousDigestSignature", &w.PreviousDigestSignature},
	} {
		if err := member(m, p.name, p.v); err != nil {
			return w, fmt.Errorf("digest: %w", err)
		}
	}
	var logs []json.RawMessage
	if err := member(m, "logFiles", &logs); err != nil {
		return w, fmt.Errorf("digest: %w", err)
	}
	if logs != nil {
		w.LogFiles = make([]wireLog, len(logs))
	}
	for i, raw := range logs {
		lm, err := fields(raw)
		if err != nil {
			return w, fmt.Errorf("digest: logFiles[%d]: %w", i, err)
		}
		l := &w.LogFiles[i]
		for _, p := range []struct {
			name string
			v    *string
		}{
			{"s3Bucket", &l.S3Bucket},
			{"s3Object", &l.S3Object},
			{"hashValue", &l.HashValue},
			{"hashAlgorithm", &l.HashAlgorithm},
			{"newestEventTime", &l.NewestEventTime},
			{"oldestEventTime", &l.OldestEventTime},
		} {
			if err := member(lm, p.name, p.v); err != nil {
				return w, fmt.Errorf("digest: logFiles[%d].%w", i, err)
			}
		}
	}
	return w, nil
}

// Gzip compresses b as ONE gzip member with a fixed header (no name, no
// modification time), so the same bytes always give the same object. Log
// files must be a single member: validate-logs hashes only the first member
// of a log file (newer CLIs report trailing data as INVALID).
//
// The level is gzip.BestSpeed: delivery compresses every record it
// writes, and the default level costs it about four times the CPU for
// files a fifth smaller. Nothing hashes the compressed bytes: a digest
// lists the SHA-256 of each log file's inflated content, and a digest's
// signature covers the SHA-256 of the inflated digest (as validate-logs
// computes them), so the level changes no hash or signature. A given
// build compresses the same bytes to the same object, so a replayed batch
// overwrites its files identically.
func Gzip(b []byte) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(b)/4 + 64)
	zw, err := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Limits on what a gzip'd object may inflate to. Objects in a bucket are
// untrusted: a few hundred kilobytes of gzip can inflate to gigabytes (a
// "gzip bomb"), so every reader stops at a named limit, far above the sizes
// CloudTrail and Cairn write.
const (
	// MaxDigestBytes bounds a digest file's JSON, which is held in memory.
	// A digest lists each log file in about 400 bytes: 32 MiB is ~80,000
	// log files in one digest interval of one account and Region, where
	// CloudTrail writes a few dozen.
	MaxDigestBytes = 32 << 20
	// MaxLogFileBytes bounds a log file's JSON, which is hashed as it is
	// inflated (never held whole). Cairn's log files hold at most 2,000
	// records of at most 256 KB (500 MiB); CloudTrail's are far smaller.
	MaxLogFileBytes = 1 << 30
)

// ErrTooLarge reports an object that inflates beyond its limit.
var ErrTooLarge = errors.New("decompressed size is over the limit")

// errTrailingData reports bytes after the first gzip member.
var errTrailingData = errors.New("unexpected data after end of compressed stream")

// gunzipFirst decompresses the first gzip member of b into w, at most limit
// bytes (else an error wrapping ErrTooLarge), and reports whether bytes
// follow the member.
func gunzipFirst(b []byte, w io.Writer, limit int64) (trailing bool, err error) {
	r := bytes.NewReader(b) // an io.ByteReader: gzip reads no further than the member
	zr, err := gzip.NewReader(r)
	if err != nil {
		return false, err
	}
	zr.Multistream(false)
	n, err := io.Copy(w, io.LimitReader(zr, limit+1))
	if err != nil {
		return false, err
	}
	if n > limit {
		return false, fmt.Errorf("%w of %d bytes", ErrTooLarge, limit)
	}
	if err := zr.Close(); err != nil {
		return false, err
	}
	return r.Len() > 0, nil
}

// Gunzip returns the decompressed first gzip member of b (like the CLI's
// zlib.decompress(b, MAX_WBITS|16), which ignores anything after it), at
// most MaxDigestBytes of it: it reads digest files. It inflates twice —
// first only counting — so that a gzip bomb costs time, never memory, and
// a good file takes one buffer of its size.
func Gunzip(b []byte) ([]byte, error) {
	var n byteCounter
	if _, err := gunzipFirst(b, &n, MaxDigestBytes); err != nil {
		return nil, err
	}
	out := bytes.NewBuffer(make([]byte, 0, int(n)+bytes.MinRead))
	if _, err := gunzipFirst(b, out, MaxDigestBytes); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// byteCounter counts what is written to it.
type byteCounter int64

func (c *byteCounter) Write(p []byte) (int, error) {
	*c += byteCounter(len(p))
	return len(p), nil
}
