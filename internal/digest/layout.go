package digest

import (
	"crypto/sha256"
	"regexp"
	"strings"
	"time"
)

// Key layout in the bucket ([UG] cloudtrail-find-log-files,
// cloudtrail-log-file-validation-digest-file-structure):
//
//	[prefix/]AWSLogs/[orgID/]<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz
//	[prefix/]AWSLogs/[orgID/]<acct>/CloudTrail-Digest/<region>/YYYY/MM/DD/<acct>_CloudTrail-Digest_<region>_<trail>_<homeRegion>_<YYYYMMDDTHHMMSSZ>.json.gz
//
// The prefix is joined with "/" as the CLI does (key_prefix + '/' + key),
// so it must not end with "/".

const (
	logTimeFormat    = "20060102T1504Z"
	digestTimeFormat = "20060102T150405Z" // 16 characters: the CLI reads key[-24:-8]
	dayFormat        = "2006/01/02"
	digestSuffix     = ".json.gz"
	backfillSuffix   = "_backfill.json.gz"
)

func awsLogs(prefix, orgID, account string) string {
	var b strings.Builder
	if prefix != "" {
		b.WriteString(prefix)
		b.WriteByte('/')
	}
	b.WriteString("AWSLogs/")
	if orgID != "" {
		b.WriteString(orgID)
		b.WriteByte('/')
	}
	b.WriteString(account)
	return b.String()
}

// LogKey is the key of a log file delivered at delivered (UTC, minute
// precision in the name, as CloudTrail names them) for account and region.
// unique is the 16-character UniqueString (see UniqueName).
func LogKey(prefix, orgID, account, region string, delivered time.Time, unique string) string {
	d := delivered.UTC()
	return awsLogs(prefix, orgID, account) + "/CloudTrail/" + region + "/" + d.Format(dayFormat) + "/" +
		account + "_CloudTrail_" + region + "_" + d.Format(logTimeFormat) + "_" + unique + ".json.gz"
}

// DigestKey is the key of the digest of account's region that ends at end
// (UTC, to the second: the date folders and the name's timestamp are the
// end time, which must equal the digest's digestEndTime). homeRegion is the
// trail's home Region.
func DigestKey(prefix, orgID, account, region, trailName, homeRegion string, end time.Time) string {
	return DigestPrefix(prefix, orgID, account, region) + "/" + end.UTC().Format(dayFormat) + "/" +
		account + "_CloudTrail-Digest_" + region + "_" + trailName + "_" + homeRegion + "_" +
		end.UTC().Format(digestTimeFormat) + digestSuffix
}

// DigestPrefix is the prefix validate-logs lists to find a Region's digests:
// "[prefix/]AWSLogs/[orgID/]<acct>/CloudTrail-Digest/<region>" — no
// trailing slash, and for every trail writing there.
func DigestPrefix(prefix, orgID, account, region string) string {
	return awsLogs(prefix, orgID, account) + "/CloudTrail-Digest/" + region
}

// digestKeyPattern is the CLI's _create_digest_key_regex: the digests of one
// trail (standard and backfill) in one Region.
func digestKeyPattern(prefix, orgID, account, region, trailName, homeRegion string) *regexp.Regexp {
	q := regexp.QuoteMeta
	var b strings.Builder
	b.WriteString("^")
	if prefix != "" {
		b.WriteString(q(prefix) + "/")
	}
	b.WriteString("AWSLogs/")
	if orgID != "" {
		b.WriteString(orgID + "/") // not escaped, as in the CLI
	}
	b.WriteString(q(account) + `/CloudTrail\-Digest/` + q(region) + `/\d+/\d+/\d+/` + q(account) +
		`_CloudTrail\-Digest_` + q(region) + "_" + q(trailName) + "_" + q(homeRegion) + `_.+(?:_backfill)?\.json\.gz$`)
	return regexp.MustCompile(b.String())
}

// isBackfillKey reports whether key names a backfill digest.
func isBackfillKey(key string) bool { return strings.HasSuffix(key, backfillSuffix) }

// digestKeyTime returns the 16-character timestamp of a digest key, read by
// position as the CLI does (key[-24:-8], or key[-33:-17] for a backfill
// digest); "" when the key is too short.
func digestKeyTime(key string) string {
	end := len(key) - len(digestSuffix)
	if isBackfillKey(key) {
		end = len(key) - len(backfillSuffix)
	}
	if end < 16 {
		return ""
	}
	return key[end-16 : end]
}

const uniqueAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// UniqueName returns the 16-character UniqueString of a log file name,
// letters and digits derived from seed alone (SHA-256), so a delivery that
// is retried with the same seed writes the same key.
func UniqueName(seed []byte) string {
	sum := sha256.Sum256(seed)
	var b [16]byte
	for i := range b {
		// 256 = 4*62 + 8: the slight bias towards the first 8 characters
		// does not matter for a name that "has no meaning".
		b[i] = uniqueAlphabet[int(sum[i])%len(uniqueAlphabet)]
	}
	return string(b[:])
}
