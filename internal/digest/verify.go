package digest

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"
)

// ErrNotFound is what a Source's Get returns (wrapped) for a key that does
// not exist — S3's NoSuchKey. An error wrapping fs.ErrNotExist counts too.
var ErrNotFound = errors.New("digest: object not found")

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) || errors.Is(err, fs.ErrNotExist) }

// Source reads the trail's bucket (the caller adapts a bucket.Bucket).
type Source interface {
	// List returns the keys that start with prefix (in any order; Verify
	// sorts them bytewise, as S3 lists).
	List(ctx context.Context, prefix string) ([]string, error)
	// Get returns an object's bytes and user metadata with lower-case keys
	// ("signature", "signature-algorithm", "backfill-generation-timestamp"),
	// or an error wrapping ErrNotFound. Keys are matched exactly, as the CLI
	// does: S3 metadata that reached botocore as "Signature" fails there.
	Get(ctx context.Context, key string) (body []byte, metadata map[string]string, err error)
}

// BucketSource is a Source that can also read other buckets: a chain that
// continues in the trail's previous bucket (previousDigestS3Bucket differs)
// or a log file listed in another bucket. Without it such objects are
// reported as "skipped".
type BucketSource interface {
	Source
	Bucket(ctx context.Context, name string) (Source, error)
}

// PublicKey is a published signing key (ListPublicKeys' entry).
type PublicKey struct {
	Fingerprint        string
	DER                []byte // PKCS#1 RSAPublicKey
	ValidFrom, ValidTo time.Time
}

// Options says which digests Verify checks.
type Options struct {
	Bucket, Prefix, OrgID, Account, TrailName, HomeRegion string
	// Regions are the Regions whose digests are checked (each is what the
	// CLI's --region is); empty means HomeRegion.
	Regions []string
	// Start and End bound the digests checked, like --start-time and
	// --end-time; a zero End is now.
	Start, End time.Time
	// Keys are the published keys; as the CLI, Verify uses those valid at
	// some time in [Start, End+2h] (a zero ValidFrom or ValidTo is open).
	Keys []PublicKey
	// NewestFrom, when not zero, makes Verify look for each Region's
	// newest valid digest (Report.Chains) among the digests that end at or
	// after it even when they end before Start (see CheckCoverage).
	NewestFrom time.Time
	// Unlisted makes Verify report the log files that no valid digest
	// lists (StatusUnlisted).
	Unlisted bool
}

// Result kinds and statuses.
const (
	KindDigest = "digest"
	KindLog    = "log"

	StatusValid   = "valid"
	StatusInvalid = "INVALID" // changed, unsigned, moved, unknown key, bad format, broken link
	StatusMissing = "missing" // not in the bucket (the CLI's "INVALID: not found")
	StatusGap     = "gap"     // linked digests that leave time uncovered
	// StatusRestart notes a chain that starts again (previousDigest* null)
	// after an older digest: validation was off or logging stopped. The CLI
	// reports it ("No log files were delivered ...") but not as invalid.
	StatusRestart = "restart"
	// StatusSkipped is an object in another bucket that the Source cannot
	// read (see BucketSource).
	StatusSkipped = "skipped"
)

// Result is the outcome for one digest or log file (or one gap).
type Result struct {
	Path    string // s3://bucket/key
	Kind    string // KindDigest or KindLog
	Status  string
	Problem string // why, when Status is not StatusValid
}

// String renders r like the CLI's lines, e.g.
// "Digest file\ts3://b/k\tINVALID: signature verification failed".
func (r Result) String() string {
	what := "Digest file"
	if r.Kind == KindLog {
		what = "Log file"
	}
	switch r.Status {
	case StatusValid:
		return what + "\t" + r.Path + "\tvalid"
	case StatusInvalid:
		return what + "\t" + r.Path + "\tINVALID: " + r.Problem
	case StatusMissing:
		return what + "\t" + r.Path + "\tINVALID: not found"
	case StatusRestart:
		return r.Problem
	case StatusUncovered:
		return "Digest files\t" + r.Path + "\tINVALID: " + r.Problem
	case StatusUnlisted:
		return what + "\t" + r.Path + "\tINVALID: " + r.Problem
	default:
		return what + "\t" + r.Path + "\t" + r.Status + ": " + r.Problem
	}
}

// Report is what Verify found, in the order it walked: per Region, newest
// digest first, each digest followed by its log files.
type Report struct {
	Results                      []Result
	DigestsValid, DigestsInvalid int // invalid includes missing
	LogsValid, LogsInvalid       int // invalid includes missing and unlisted
	// Chains are the newest digests of each Region checked.
	Chains []Chain
}

// OK reports whether nothing is invalid, missing or uncovered. A report with
// no digests at all is OK (the CLI says "No digests found" and exits 0);
// check DigestsValid when digests are expected.
func (r Report) OK() bool {
	for _, x := range r.Results {
		switch x.Status {
		case StatusInvalid, StatusMissing, StatusGap, StatusUncovered, StatusUnlisted:
			return false
		}
	}
	return true
}

// Verify walks a trail's digest chains the way `aws cloudtrail
// validate-logs` does, for each Region of o.Regions:
//
//   - list DigestPrefix (ListObjects with Marker = the key of a digest
//     ending at Start-1m), keep the trail's digest keys whose timestamp is in
//     [Start, End+1h], standard and backfill apart;
//   - from the newest, load each digest, check it (gzip+JSON, metadata
//     signature, required fields, stored where it says, known key,
//     signature), then its log files (SHA-256 of the gunzipped object), then
//     follow previousDigestS3Object; when the link is null or the digest is
//     missing or invalid, go on with the next older listed digest; stop once
//     a checked digest starts before Start.
//
// Beyond the CLI, Verify checks that linked digests are contiguous (the
// previous digest's end is this one's start; else StatusGap), that the
// previous digest's SHA-256 and signature are the ones the next digest
// recorded, that digestEndTime is the key's timestamp, and it reports a
// log file with data after its first gzip member (newer CLIs do too).
//
// It returns an error only when it cannot check: bad options, a List or
// Get that fails other than ErrNotFound, no public key for digests found.
func Verify(ctx context.Context, src Source, o Options) (Report, error) {
	var rep Report
	if o.Bucket == "" || o.Account == "" || o.TrailName == "" || o.HomeRegion == "" {
		return rep, errors.New("digest: verify needs Bucket, Account, TrailName and HomeRegion")
	}
	if o.Start.IsZero() {
		return rep, errors.New("digest: verify needs a Start time")
	}
	if o.End.IsZero() {
		o.End = time.Now()
	}
	o.Start, o.End = o.Start.UTC(), o.End.UTC()
	if o.Start.After(o.End) {
		return rep, errors.New("digest: Start is after End")
	}
	regions := o.Regions
	if len(regions) == 0 {
		regions = []string{o.HomeRegion}
	}
	v := &verifier{ctx: ctx, o: o, rep: &rep, root: src, sources: map[string]Source{o.Bucket: src}}
	for _, region := range regions {
		v.reg = newRegionState()
		std, backfill, err := v.list(o.Bucket, region, o.Start, o.End)
		if err != nil {
			return rep, err
		}
		if len(std) > 0 {
			keys := keysIn(o.Keys, o.Start, o.End.Add(2*time.Hour))
			if len(keys) == 0 {
				return rep, fmt.Errorf("digest: no public keys found between %s and %s", formatTime(o.Start), formatTime(o.End.Add(2*time.Hour)))
			}
			if err := v.walk(region, std, keys, false); err != nil {
				return rep, err
			}
		}
		if len(backfill) > 0 {
			if err := v.walk(region, backfill, map[string]PublicKey{}, true); err != nil {
				return rep, err
			}
		}
		if err := v.findNewest(region); err != nil {
			return rep, err
		}
		if o.Unlisted {
			if err := v.extendListed(region); err != nil {
				return rep, err
			}
			if err := v.unlisted(region); err != nil {
				return rep, err
			}
		}
		rep.Chains = append(rep.Chains, Chain{Account: o.Account, Region: region, Newest: v.reg.newest})
	}
	return rep, nil
}

type verifier struct {
	ctx     context.Context
	o       Options
	rep     *Report
	root    Source
	sources map[string]Source // by bucket; nil when unreadable
	reg     *regionState      // the Region being checked
}

func s3Path(bucket, key string) string { return "s3://" + bucket + "/" + key }

func (v *verifier) add(r Result) {
	v.rep.Results = append(v.rep.Results, r)
	switch {
	case r.Kind == KindDigest && r.Status == StatusValid:
		v.rep.DigestsValid++
	case r.Kind == KindDigest && (r.Status == StatusInvalid || r.Status == StatusMissing):
		v.rep.DigestsInvalid++
	case r.Kind == KindLog && r.Status == StatusValid:
		v.rep.LogsValid++
	case r.Kind == KindLog && (r.Status == StatusInvalid || r.Status == StatusMissing || r.Status == StatusUnlisted):
		v.rep.LogsInvalid++
	}
}

// source returns the Source of bucket, or nil when it cannot be read.
func (v *verifier) source(bucket string) (Source, error) {
	if s, ok := v.sources[bucket]; ok {
		return s, nil
	}
	var s Source
	if bs, ok := v.root.(BucketSource); ok {
		var err error
		if s, err = bs.Bucket(v.ctx, bucket); err != nil {
			return nil, fmt.Errorf("digest: bucket %s: %w", bucket, err)
		}
	}
	v.sources[bucket] = s
	return s, nil
}

// keysIn returns the keys valid at some time in [from, to], by fingerprint.
func keysIn(keys []PublicKey, from, to time.Time) map[string]PublicKey {
	m := make(map[string]PublicKey)
	for _, k := range keys {
		if (k.ValidFrom.IsZero() || !k.ValidFrom.After(to)) && (k.ValidTo.IsZero() || !k.ValidTo.Before(from)) {
			m[k.Fingerprint] = k
		}
	}
	return m
}

// list is the CLI's load_all_digest_keys_in_range: the trail's digest keys
// in region whose timestamp is in [start, end+1h], oldest first.
func (v *verifier) list(bucket, region string, start, end time.Time) (std, backfill []string, err error) {
	src, err := v.source(bucket)
	if err != nil || src == nil {
		return nil, nil, err
	}
	o := v.o
	keys, err := src.List(v.ctx, DigestPrefix(o.Prefix, o.OrgID, o.Account, region))
	if err != nil {
		return nil, nil, fmt.Errorf("digest: list %s: %w", s3Path(bucket, DigestPrefix(o.Prefix, o.OrgID, o.Account, region)), err)
	}
	keys = slices.Clone(keys)
	slices.Sort(keys)
	marker := DigestKey(o.Prefix, o.OrgID, o.Account, region, o.TrailName, o.HomeRegion, start.Add(-time.Minute))
	re := digestKeyPattern(o.Prefix, o.OrgID, o.Account, region, o.TrailName, o.HomeRegion)
	lo, hi := start.UTC().Format(digestTimeFormat), end.Add(time.Hour).UTC().Format(digestTimeFormat)
	for _, k := range keys {
		if k <= marker || !re.MatchString(k) {
			continue
		}
		d := digestKeyTime(k)
		if d > hi {
			break // lexicographic, as the CLI
		}
		if d < lo {
			continue
		}
		if isBackfillKey(k) {
			backfill = append(backfill, k)
		} else {
			std = append(std, k)
		}
	}
	return std, backfill, nil
}

// keyTime parses a digest key's timestamp (zero when it does not parse).
func keyTime(key string) time.Time {
	t, _ := time.Parse(digestTimeFormat, digestKeyTime(key))
	return t
}

// popBefore is the CLI's _get_last_digest: it removes and returns the newest
// listed key, or with before set the newest whose timestamp is earlier than
// before's, dropping the keys it passes over.
func popBefore(digests *[]string, before string) string {
	for len(*digests) > 0 {
		n := len(*digests) - 1
		k := (*digests)[n]
		*digests = (*digests)[:n]
		if before == "" || digestKeyTime(k) < digestKeyTime(before) {
			return k
		}
	}
	return ""
}

// digestData is a digest that passed the CLI's checks.
type digestData struct {
	path                string
	w                   wireFile
	inflated            []byte
	signature           string
	start, end          time.Time
	prevBucket, prevKey *string
}

// problem is why a digest is not valid; notFound when it is missing.
type problem struct {
	text     string
	notFound bool
}

// required are the CLI's DigestTraverser.required_digest_keys.
var required = []string{"digestPublicKeyFingerprint", "digestS3Bucket", "digestS3Object", "previousDigestSignature", "digestEndTime", "digestStartTime"}

// load fetches and checks one digest as the CLI's _load_and_validate_digest
// does (plus the key-time check), adding keys for a backfill digest.
func (v *verifier) load(src Source, bucket, key, region string, keys map[string]PublicKey, backfill bool) (*digestData, *problem, error) {
	body, md, err := src.Get(v.ctx, key)
	if isNotFound(err) {
		return nil, &problem{text: "not found", notFound: true}, nil
	}
	if errors.Is(err, ErrTooLarge) {
		return nil, &problem{text: "invalid format: " + err.Error()}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("digest: get %s: %w", s3Path(bucket, key), err)
	}
	invalidFormat := &problem{text: "invalid format"}
	inflated, err := Gunzip(body)
	if errors.Is(err, ErrTooLarge) {
		return nil, &problem{text: fmt.Sprintf("invalid format: it inflates to more than %d bytes, the limit of a digest file", MaxDigestBytes)}, nil
	}
	if err != nil {
		return nil, invalidFormat, nil
	}
	m, err := fields(inflated)
	if err != nil {
		return nil, invalidFormat, nil
	}
	sig, okSig := md[MetaSignature]
	if _, okAlg := md[MetaSignatureAlgorithm]; !okSig || !okAlg {
		return nil, &problem{text: "signature verification failed"}, nil
	}
	var backfillTime string
	if backfill {
		t, ok := md[MetaBackfillTimestamp]
		if !ok {
			return nil, invalidFormat, nil
		}
		backfillTime = t
	}
	for _, f := range required {
		if _, ok := m[f]; !ok {
			return nil, invalidFormat, nil
		}
	}
	w, err := decodeWire(inflated)
	if err != nil {
		return nil, &problem{text: "invalid format: " + err.Error()}, nil
	}
	if w.DigestS3Bucket != bucket || w.DigestS3Object != key {
		return nil, &problem{text: "has been moved from its original location"}, nil
	}
	fp := w.DigestPublicKeyFingerprint
	if _, ok := keys[fp]; !ok && backfill {
		t, err := parseLooseTime(backfillTime)
		if err != nil {
			return nil, &problem{text: "backfill-generation-timestamp: " + err.Error()}, nil
		}
		for f, k := range keysIn(v.o.Keys, t.Add(-time.Hour), t.Add(time.Hour)) {
			keys[f] = k
		}
	}
	pk, ok := keys[fp]
	if !ok {
		return nil, &problem{text: fmt.Sprintf("public key not found in region %s for fingerprint %s", region, fp)}, nil
	}
	if _, err := x509.ParsePKCS1PublicKey(pk.DER); err != nil {
		return nil, &problem{text: "Unable to load PKCS #1 key with fingerprint " + fp}, nil
	}
	prevSig := "null"
	if w.PreviousDigestSignature != nil {
		prevSig = *w.PreviousDigestSignature
	}
	signed := signedString(w.DigestEndTime, w.DigestS3Bucket, w.DigestS3Object, inflated, prevSig)
	if err := VerifySignature(pk.DER, signed, sig); err != nil {
		return nil, &problem{text: "signature verification failed"}, nil
	}
	d := &digestData{path: s3Path(bucket, key), w: w, inflated: inflated, signature: sig,
		prevBucket: w.PreviousDigestS3Bucket, prevKey: w.PreviousDigestS3Object}
	if d.start, err = parseTime("digestStartTime", w.DigestStartTime); err != nil {
		return nil, &problem{text: "invalid format: " + err.Error()}, nil
	}
	if d.end, err = parseTime("digestEndTime", w.DigestEndTime); err != nil {
		return nil, &problem{text: "invalid format: " + err.Error()}, nil
	}
	if d.end.Format(digestTimeFormat) != digestKeyTime(key) {
		return nil, &problem{text: fmt.Sprintf("digestEndTime %s is not the time in the key (%s)", w.DigestEndTime, digestKeyTime(key))}, nil
	}
	if d.start.After(d.end) {
		return nil, &problem{text: fmt.Sprintf("digestStartTime %s is after digestEndTime %s", w.DigestStartTime, w.DigestEndTime)}, nil
	}
	return d, nil, nil
}

// parseLooseTime reads a backfill-generation-timestamp (the CLI uses
// dateutil, which takes many forms; these are the likely ones).
func parseLooseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, digestTimeFormat, "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00", time.RFC1123} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unable to parse date value: %q", s)
}

// walk is the CLI's _traverse_digest_chain for one Region's listed digests
// (oldest first).
func (v *verifier) walk(region string, digests []string, keys map[string]PublicKey, backfill bool) error {
	bucket := v.o.Bucket
	key := popBefore(&digests, "")
	lastStart := keyTime(key)
	var newer *digestData // the digest whose previousDigestS3Object is key
	seen := make(map[string]bool)
	for key != "" && !v.o.Start.After(lastStart) {
		if err := v.ctx.Err(); err != nil {
			return err
		}
		path := s3Path(bucket, key)
		src, err := v.source(bucket)
		if err != nil {
			return err
		}
		if src == nil {
			v.add(Result{Path: path, Kind: KindDigest, Status: StatusSkipped, Problem: "the chain continues in bucket " + bucket + ", which this source cannot read"})
			return nil
		}
		var d *digestData
		var p *problem
		if seen[path] {
			p = &problem{text: "the digest chain loops back to this digest"}
		} else {
			seen[path] = true
			if d, p, err = v.load(src, bucket, key, region, keys, backfill); err != nil {
				return err
			}
			if bucket == v.o.Bucket {
				v.reg.loaded[key] = true
			}
			if d != nil {
				v.reg.saw(d, backfill)
			}
		}
		if p != nil {
			r := Result{Path: path, Kind: KindDigest, Status: StatusInvalid, Problem: p.text}
			if p.notFound {
				r.Status = StatusMissing
			}
			if p.notFound && newer != nil {
				r.Problem += " (previousDigestS3Object of " + newer.path + ")"
			}
			v.add(r)
			key, newer = popBefore(&digests, key), nil
			continue
		}
		r := Result{Path: path, Kind: KindDigest, Status: StatusValid}
		if newer != nil {
			if h := sha256.Sum256(d.inflated); newer.w.PreviousDigestHashValue == nil || *newer.w.PreviousDigestHashValue != hex.EncodeToString(h[:]) {
				r.Status, r.Problem = StatusInvalid, "its SHA-256 is not the previousDigestHashValue of "+newer.path
			} else if newer.w.PreviousDigestSignature == nil || *newer.w.PreviousDigestSignature != d.signature {
				r.Status, r.Problem = StatusInvalid, "its signature is not the previousDigestSignature of "+newer.path
			}
			if !newer.start.Equal(d.end) {
				v.add(Result{Path: newer.path, Kind: KindDigest, Status: StatusGap,
					Problem: fmt.Sprintf("no digest covers %s to %s: the previous digest %s ends at %s, this digest starts at %s",
						formatTime(d.end), formatTime(newer.start), path, d.w.DigestEndTime, newer.w.DigestStartTime)})
			}
		}
		v.add(r)
		lastStart = d.start
		for _, l := range d.w.LogFiles {
			if err := v.checkLog(l); err != nil {
				return err
			}
		}
		if d.prevBucket == nil || d.prevKey == nil {
			key, newer = popBefore(&digests, key), nil
			if key == "" && !backfill {
				v.reg.origin = d.start
			}
			if key != "" && !backfill {
				v.reg.gaps = append(v.reg.gaps, [2]time.Time{keyTime(key), d.start})
			}
			if key != "" {
				v.add(Result{Path: path, Kind: KindDigest, Status: StatusRestart,
					Problem: fmt.Sprintf("No log files were delivered by CloudTrail between %s and %s", formatTime(keyTime(key)), formatTime(lastStart))})
			}
			continue
		}
		key, newer = *d.prevKey, d
		if *d.prevBucket != bucket {
			bucket = *d.prevBucket
			std, bf, err := v.list(bucket, region, v.o.Start, d.end)
			if err != nil {
				return err
			}
			digests = std
			if backfill {
				digests = bf
			}
		}
	}
	return nil
}

// checkLog checks one listed log file as the CLI's _download_log does.
func (v *verifier) checkLog(l wireLog) error {
	path := s3Path(l.S3Bucket, l.S3Object)
	src, err := v.source(l.S3Bucket)
	if err != nil {
		return err
	}
	if src == nil {
		v.add(Result{Path: path, Kind: KindLog, Status: StatusSkipped, Problem: "in bucket " + l.S3Bucket + ", which this source cannot read"})
		return nil
	}
	body, _, err := src.Get(v.ctx, l.S3Object)
	if isNotFound(err) {
		v.add(Result{Path: path, Kind: KindLog, Status: StatusMissing, Problem: "not found"})
		return nil
	}
	if errors.Is(err, ErrTooLarge) {
		v.add(Result{Path: path, Kind: KindLog, Status: StatusInvalid, Problem: "invalid format: " + err.Error()})
		return nil
	}
	if err != nil {
		return fmt.Errorf("digest: get %s: %w", path, err)
	}
	h := sha256.New()
	trailing, err := gunzipFirst(body, h, MaxLogFileBytes)
	switch {
	case errors.Is(err, ErrTooLarge):
		v.add(Result{Path: path, Kind: KindLog, Status: StatusInvalid,
			Problem: fmt.Sprintf("invalid format: it inflates to more than %d bytes, the limit of a log file", MaxLogFileBytes)})
	case err != nil:
		v.add(Result{Path: path, Kind: KindLog, Status: StatusInvalid, Problem: "invalid format"})
	case trailing:
		v.add(Result{Path: path, Kind: KindLog, Status: StatusInvalid, Problem: errTrailingData.Error()})
	case hex.EncodeToString(h.Sum(nil)) != l.HashValue:
		// A string comparison, as the CLI's: the hash must be lower-case hex.
		v.add(Result{Path: path, Kind: KindLog, Status: StatusInvalid, Problem: "hash value doesn't match"})
	default:
		v.add(Result{Path: path, Kind: KindLog, Status: StatusValid})
	}
	return nil
}

// sha256Hex is the lower-case hex SHA-256 of b.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
