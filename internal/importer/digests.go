package importer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/digest"
)

// Verification is the outcome of checking an archive's digest files: which
// log files a valid digest vouches for, and what is wrong with the others.
type Verification struct {
	valid    map[string]bool
	problems map[string]string
}

// Check says whether the log file key (a key of the Source) passed, and
// why not.
func (v *Verification) Check(key string) (bool, string) {
	if p, ok := v.problems[key]; ok {
		return false, "digest check: " + p
	}
	if v.valid[key] {
		return true, ""
	}
	return false, "digest check: not listed in any valid digest file"
}

// epoch is the earliest time digests are looked for without --start-time
// (CloudTrail's log file validation began in 2015).
var epoch = time.Date(2013, 11, 1, 0, 0, 0, 0, time.UTC)

// VerifyDigests checks every digest chain of the archive (each account,
// region and trail with digest files) with internal/digest's Verify, as
// `cairn verify` and `aws cloudtrail validate-logs` do, and prints the
// problems and a count to out. keyFiles are the JSON outputs of `aws
// cloudtrail list-public-keys`, one per region (CloudTrail's keys are
// regional: a multi-region trail's digests are signed with each region's).
func VerifyDigests(ctx context.Context, src Source, keyFiles []string, f Filter, out io.Writer) (*Verification, error) {
	var keys []digest.PublicKey
	for _, kf := range keyFiles {
		k, err := readPublicKeys(kf)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k...)
	}
	chains, err := findChains(ctx, src, f)
	if err != nil {
		return nil, err
	}
	v := &Verification{valid: map[string]bool{}, problems: map[string]string{}}
	start, end := f.Start, f.End
	if start.IsZero() {
		start = epoch
	}
	if end.IsZero() {
		end = time.Now().UTC()
	}
	var digests, digestsValid, logs, logsValid int
	for _, c := range chains {
		ms, err := mapSource(ctx, src, c.sample)
		if err != nil {
			return nil, err
		}
		rep, err := digest.Verify(ctx, ms, digest.Options{Bucket: ms.bucket, Prefix: strings.TrimSuffix(ms.real, "/"),
			OrgID: c.org, Account: c.account, TrailName: c.trail, HomeRegion: c.home, Regions: c.regions,
			Start: start, End: end, Keys: keys, Unlisted: true})
		if err != nil {
			return nil, fmt.Errorf("trail %s of account %s: %w", c.trail, c.account, err)
		}
		digests += rep.DigestsValid + rep.DigestsInvalid
		digestsValid += rep.DigestsValid
		logs += rep.LogsValid + rep.LogsInvalid
		logsValid += rep.LogsValid
		for _, r := range rep.Results {
			if r.Status != digest.StatusValid {
				fmt.Fprintln(out, r.String())
			}
			if r.Kind != digest.KindLog {
				continue
			}
			key, ok := ms.ours(strings.TrimPrefix(r.Path, "s3://"+ms.bucket+"/"))
			if !ok {
				continue
			}
			if r.Status == digest.StatusValid {
				v.valid[key] = true
			} else if _, seen := v.problems[key]; !seen {
				v.problems[key] = strings.TrimSpace(r.Status + ": " + r.Problem)
			}
		}
	}
	fmt.Fprintf(out, "digest check: %d/%d digest files valid, %d/%d log files valid (%d chains)\n",
		digestsValid, digests, logsValid, logs, len(chains))
	if digests == 0 {
		return nil, errors.New("no digest files found in the archive (was log file validation on?)")
	}
	return v, nil
}

// chain is one trail's digests of one account: the regions it has
// digests in and one digest key to learn the bucket's real name and prefix.
type chain struct {
	org, account, trail, home string
	regions                   []string
	sample                    string
}

// findChains lists the archive's digest folders for the filter's accounts
// and regions and groups the digests by trail.
func findChains(ctx context.Context, src Source, f Filter) ([]chain, error) {
	base := src.Prefix + "AWSLogs/"
	top, err := bucket.ListDirs(ctx, src.Bucket, base)
	if err != nil {
		return nil, err
	}
	type acct struct{ org, id, base string }
	var accts []acct
	for _, d := range top {
		switch {
		case isAccount(d):
			accts = append(accts, acct{"", d, base + d + "/"})
		case isOrgID(d):
			sub, err := bucket.ListDirs(ctx, src.Bucket, base+d+"/")
			if err != nil {
				return nil, err
			}
			for _, a := range sub {
				if isAccount(a) {
					accts = append(accts, acct{d, a, base + d + "/" + a + "/"})
				}
			}
		}
	}
	var out []chain
	for _, a := range accts {
		if len(f.Accounts) > 0 && !slices.Contains(f.Accounts, a.id) {
			continue
		}
		regions, err := bucket.ListDirs(ctx, src.Bucket, a.base+"CloudTrail-Digest/")
		if err != nil {
			return nil, err
		}
		byTrail := map[[2]string]*chain{}
		var order [][2]string
		for _, r := range regions {
			if len(f.Regions) > 0 && !slices.Contains(f.Regions, r) {
				continue
			}
			keys, err := src.Bucket.List(ctx, a.base+"CloudTrail-Digest/"+r+"/")
			if err != nil {
				return nil, err
			}
			for _, k := range keys {
				trail, home, ok := parseDigestName(k[strings.LastIndexByte(k, '/')+1:], a.id, r)
				if !ok {
					continue
				}
				id := [2]string{trail, home}
				c := byTrail[id]
				if c == nil {
					c = &chain{org: a.org, account: a.id, trail: trail, home: home, sample: k}
					byTrail[id] = c
					order = append(order, id)
				}
				if !slices.Contains(c.regions, r) {
					c.regions = append(c.regions, r)
				}
			}
		}
		for _, id := range order {
			out = append(out, *byTrail[id])
		}
	}
	return out, nil
}

// parseDigestName reads trail and home region from
// <account>_CloudTrail-Digest_<region>_<trail>_<homeRegion>_<YYYYMMDDTHHMMSSZ>[_backfill].json.gz.
func parseDigestName(name, account, region string) (trail, home string, ok bool) {
	rest, ok := strings.CutPrefix(name, account+"_CloudTrail-Digest_"+region+"_")
	if !ok {
		return "", "", false
	}
	rest, ok = strings.CutSuffix(rest, ".json.gz")
	if !ok {
		return "", "", false
	}
	rest = strings.TrimSuffix(rest, "_backfill")
	i := strings.LastIndexByte(rest, '_') // before the time
	if i < 0 || len(rest)-i-1 != 16 {
		return "", "", false
	}
	rest = rest[:i]
	j := strings.LastIndexByte(rest, '_') // before the home region
	if j <= 0 {
		return "", "", false
	}
	return rest[:j], rest[j+1:], true
}

// mappedSource is the archive as digest.Verify sees it: the keys digests
// name (the bucket's real name and the trail's prefix), mapped to the
// Source's keys (a directory, or a bucket read from another prefix).
type mappedSource struct {
	src          Source
	bucket, real string // real prefix: "" or ends with "/"
}

// mapSource learns the bucket name and prefix a digest file names for
// itself (digestS3Bucket, digestS3Object).
func mapSource(ctx context.Context, src Source, sampleKey string) (*mappedSource, error) {
	o, err := src.Bucket.Get(ctx, sampleKey)
	if err != nil {
		return nil, err
	}
	plain, err := digest.Gunzip(o.Body)
	if err != nil {
		return nil, fmt.Errorf("digest file %s: %w", sampleKey, err)
	}
	d, err := digest.Parse(plain)
	if err != nil {
		return nil, fmt.Errorf("digest file %s: %w", sampleKey, err)
	}
	rel := strings.TrimPrefix(sampleKey, src.Prefix) // AWSLogs/…
	real, ok := strings.CutSuffix(d.DigestS3Object, rel)
	if !ok || (real != "" && !strings.HasSuffix(real, "/")) {
		return nil, fmt.Errorf("digest file %s says it is s3://%s/%s: not the same layout", sampleKey, d.DigestS3Bucket, d.DigestS3Object)
	}
	return &mappedSource{src: src, bucket: d.DigestS3Bucket, real: real}, nil
}

// ours maps a key of the real bucket to the Source's key.
func (m *mappedSource) ours(realKey string) (string, bool) {
	rest, ok := strings.CutPrefix(realKey, m.real)
	if !ok {
		return "", false
	}
	return m.src.Prefix + rest, true
}

func (m *mappedSource) List(ctx context.Context, prefix string) ([]string, error) {
	p, ok := m.ours(prefix)
	if !ok {
		return nil, nil
	}
	keys, err := m.src.Bucket.List(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, m.real+strings.TrimPrefix(k, m.src.Prefix))
	}
	return out, nil
}

func (m *mappedSource) Get(ctx context.Context, key string) ([]byte, map[string]string, error) {
	k, ok := m.ours(key)
	if !ok {
		return nil, nil, fmt.Errorf("%s: %w", key, digest.ErrNotFound)
	}
	o, err := m.src.Bucket.Get(ctx, k)
	switch {
	case errors.Is(err, bucket.ErrNotFound):
		return nil, nil, fmt.Errorf("%s: %w", key, digest.ErrNotFound)
	case errors.Is(err, bucket.ErrTooLarge):
		return nil, nil, fmt.Errorf("%w (%w)", digest.ErrTooLarge, err)
	case err != nil:
		return nil, nil, err
	}
	return o.Body, o.Metadata, nil
}

// readPublicKeys reads `aws cloudtrail list-public-keys` output:
// {"PublicKeyList":[{"Value":base64 DER,"ValidityStartTime":…,"ValidityEndTime":…,"Fingerprint":…}]},
// times as ISO 8601 strings or epoch seconds.
func readPublicKeys(path string) ([]digest.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--public-keys: %w", err)
	}
	var in struct {
		PublicKeyList []struct {
			Value                              string
			ValidityStartTime, ValidityEndTime json.RawMessage
			Fingerprint                        string
		}
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("--public-keys %s: not the output of aws cloudtrail list-public-keys: %w", path, err)
	}
	if len(in.PublicKeyList) == 0 {
		return nil, fmt.Errorf("--public-keys %s: no keys in PublicKeyList", path)
	}
	var keys []digest.PublicKey
	for i, k := range in.PublicKeyList {
		der, err := base64.StdEncoding.DecodeString(k.Value)
		if err != nil {
			return nil, fmt.Errorf("--public-keys %s: key %d: Value is not base64: %w", path, i, err)
		}
		from, err1 := cliTime(k.ValidityStartTime)
		to, err2 := cliTime(k.ValidityEndTime)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("--public-keys %s: key %d: %w", path, i, err)
		}
		keys = append(keys, digest.PublicKey{Fingerprint: k.Fingerprint, DER: der, ValidFrom: from, ValidTo: to})
	}
	return keys, nil
}

// cliTime reads a timestamp as the AWS CLI prints it: an ISO 8601 string
// or epoch seconds; absent is zero (open).
func cliTime(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700", "2006-01-02T15:04:05"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("time %q is not ISO 8601", s)
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return time.Time{}, fmt.Errorf("time %s is neither a string nor epoch seconds", raw)
	}
	return time.UnixMilli(int64(math.Round(f * 1000))).UTC(), nil
}
