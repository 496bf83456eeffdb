package digest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Beyond validate-logs, Verify can check that nothing was deleted at the
// newest end of a chain and that nothing was added beside the digests:
//
//   - Report.Chains gives, per account and Region, the end of the newest
//     valid digest; CheckCoverage turns a chain whose newest digest is too
//     old (or that has none: a deleted Region or account) into a failure.
//   - With Options.Unlisted, every log file under a covered Region's
//     CloudTrail/ folder that is in the checked time and that no valid
//     digest lists is reported (StatusUnlisted).

// Statuses of the coverage checks.
const (
	// StatusUncovered is an account's Region whose newest digest ends too
	// early, or that has none.
	StatusUncovered = "uncovered"
	// StatusUnlisted is a log file that no digest lists.
	StatusUnlisted = "unlisted"
)

// DefaultDigestInterval is CloudTrail's digest cadence, used when the
// server does not say its own.
const DefaultDigestInterval = time.Hour

// DefaultDigestGrace is how late a digest may be written after its end
// time: Cairn writes it on the delivery pass after (seconds), CloudTrail
// within minutes.
const DefaultDigestGrace = 30 * time.Second

// FinalDigestSlack is how far before StopLoggingTime a stopped trail's
// final digest may end. Cairn writes the final digest of each chain on the
// first delivery pass (every 100ms) after the stop that has delivered all
// that was recorded before it, ending it at that pass's time truncated to
// the second: less than a second before the stop. When a digest was planned
// before the stop and is written by that pass, the final digest ends at the
// planned end instead: a pass or two (a fraction of a second) before the
// stop. Two seconds cover both with a second's room for a busy server.
// With a digest interval under four seconds, half the interval is used, so
// that the digest before the final one stays below the threshold as often
// as it can.
const FinalDigestSlack = 2 * time.Second

// Chain is what Verify saw of one account's Region.
type Chain struct {
	Account, Region string
	// Newest is the end of the newest valid digest (standard, not
	// backfill) of the Region; zero when there is none.
	Newest time.Time
}

// CoverageRule says how recent each chain's newest digest must be.
type CoverageRule struct {
	// Due is the time up to which digests must exist: the end of the
	// checked range (not later than now), or when logging stopped.
	Due time.Time
	// Interval is the digest interval, Grace the allowed lateness: a chain
	// must have a valid digest that ends at or after Due-Interval-Grace.
	Interval, Grace time.Duration
	// LoggingSince is when the server says the trail started logging (with
	// validation); zero when unknown. A chain is not required to have a
	// digest by a time before it unless another chain of the trail has one.
	LoggingSince time.Time
	// Stopped, when not zero, is when logging (with validation) stopped,
	// in the checked range and long enough ago that the final digest
	// written at the stop is due: then every chain must have a digest that
	// ends at or after Stopped-FinalDigestSlack (or half the interval, if
	// less), so that deleting the final digest (and the log files only it
	// lists) is noticed — unless the digest before it ended within that
	// slack before the stop.
	Stopped time.Time
}

// Threshold is the time by which every chain's newest digest must end.
func (c CoverageRule) Threshold() time.Time {
	if !c.Stopped.IsZero() {
		return c.Stopped.Add(-min(FinalDigestSlack, c.Interval/2))
	}
	return c.Due.Add(-c.Interval - c.Grace)
}

// why says, for an uncovered chain's problem, where the threshold comes from.
func (c CoverageRule) why() string {
	if !c.Stopped.IsZero() {
		return fmt.Sprintf("logging stopped at %s and a final digest is written at the stop", formatTime(c.Stopped))
	}
	return fmt.Sprintf("one digest interval (%s) and %s before %s", c.Interval, c.Grace, formatTime(c.Due))
}

// CheckCoverage returns a StatusUncovered result for each chain whose
// newest valid digest ends before the rule's threshold — when the trail
// was logging by then: the server says so (LoggingSince), or another chain
// of the trail has a digest that ends after the threshold (a digest is
// signed: the bucket's owner cannot fake that evidence, only delete it).
func CheckCoverage(bucket, prefix, orgID string, chains []Chain, c CoverageRule) []Result {
	th := c.Threshold()
	active := !c.LoggingSince.IsZero() && !c.LoggingSince.After(th)
	if !c.Stopped.IsZero() {
		// The stopped epoch began before the stop: its chains end there.
		active = !c.LoggingSince.IsZero() && c.LoggingSince.Before(c.Stopped)
	}
	for _, ch := range chains {
		if !ch.Newest.Before(th) {
			active = true
		}
	}
	if !active {
		return nil
	}
	var out []Result
	for _, ch := range chains {
		if !ch.Newest.Before(th) {
			continue
		}
		path := s3Path(bucket, DigestPrefix(prefix, orgID, ch.Account, ch.Region)+"/")
		why := c.why()
		r := Result{Path: path, Kind: KindDigest, Status: StatusUncovered}
		if ch.Newest.IsZero() {
			r.Problem = fmt.Sprintf("no digest file of account %s in region %s, which the trail covers, ends at or after %s (%s): its digests were deleted or never delivered",
				ch.Account, ch.Region, formatTime(th), why)
		} else {
			r.Problem = fmt.Sprintf("the newest digest of account %s in region %s ends at %s, before %s (%s): newer digests were deleted or not delivered",
				ch.Account, ch.Region, formatTime(ch.Newest), formatTime(th), why)
		}
		out = append(out, r)
	}
	return out
}

// logNameRE is a log file's name: <acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz.
var logNameRE = regexp.MustCompile(`^\d{12}_CloudTrail_[a-z0-9-]+_(\d{8}T\d{4}Z)_[A-Za-z0-9]+\.json\.gz$`)

// logDayRE is the date folders of a log file key, after the region folder.
var logDayRE = regexp.MustCompile(`^(\d{4}/\d{2}/\d{2})/`)

// logKeyTime is the delivery time in a log file's name (minute precision);
// ok is false when the name is not a log file's.
func logKeyTime(key string) (time.Time, bool) {
	m := logNameRE.FindStringSubmatch(key[strings.LastIndexByte(key, '/')+1:])
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(logTimeFormat, m[1])
	return t, err == nil
}

// regionState is what Verify gathers about one Region for the coverage
// checks.
type regionState struct {
	newest time.Time
	// listed holds the s3:// paths of the log files valid digests list.
	listed map[string]bool
	// loaded are the digest keys already loaded and checked.
	loaded map[string]bool
	// tail is the oldest valid digest the walk checked; origin is the
	// start of a chain that nothing older precedes (validation began).
	tail   *digestData
	origin time.Time
	// gaps are the times between two chains (validation or logging off).
	gaps [][2]time.Time
}

func newRegionState() *regionState {
	return &regionState{listed: map[string]bool{}, loaded: map[string]bool{}}
}

// saw records a digest that passed load's checks.
func (s *regionState) saw(d *digestData, backfill bool) {
	for _, l := range d.w.LogFiles {
		s.listed[s3Path(l.S3Bucket, l.S3Object)] = true
	}
	if !backfill {
		if d.end.After(s.newest) {
			s.newest = d.end
		}
		s.tail = d
	}
}

// extendListed loads up to two digests older than the walk's oldest, for
// their log file lists only: a log file is listed by the first digest
// written after it, which can end before the file's name time (a digest
// planned before a restart is written after it).
func (v *verifier) extendListed(region string) error {
	d := v.reg.tail
	for range 2 {
		if d == nil || d.prevBucket == nil || d.prevKey == nil {
			return nil
		}
		bucket, key := *d.prevBucket, *d.prevKey
		src, err := v.source(bucket)
		if err != nil || src == nil {
			return err
		}
		keys := keysIn(v.o.Keys, time.Time{}, v.o.End.Add(2*time.Hour))
		next, p, err := v.load(src, bucket, key, region, keys, false)
		if err != nil || p != nil {
			return err
		}
		for _, l := range next.w.LogFiles {
			v.reg.listed[s3Path(l.S3Bucket, l.S3Object)] = true
		}
		d = next
	}
	return nil
}

// findNewest looks, when the walk found no digest ending at or after
// o.NewestFrom, for the newest valid one that does among all listed
// digests, also those that end before Start.
func (v *verifier) findNewest(region string) error {
	from := v.o.NewestFrom
	if from.IsZero() || !v.reg.newest.Before(from) {
		return nil
	}
	std, _, err := v.list(v.o.Bucket, region, from, v.o.End)
	if err != nil {
		return err
	}
	src, err := v.source(v.o.Bucket)
	if err != nil || src == nil {
		return err
	}
	keys := keysIn(v.o.Keys, from, v.o.End.Add(2*time.Hour))
	for _, k := range slices.Backward(std) {
		if v.reg.loaded[k] {
			continue
		}
		d, p, err := v.load(src, v.o.Bucket, k, region, keys, false)
		if err != nil {
			return err
		}
		if p == nil {
			v.reg.newest = d.end
			return nil
		}
	}
	return nil
}

// unlisted reports the log files under region's CloudTrail/ folder that no
// valid digest lists, among those that a checked digest should list: named
// at or after Start (and after the chain's origin), at or before End, a
// minute or more before the newest digest's end, and not in a time between
// two chains. A file not named like a log file is reported when its date
// folder is in that time.
func (v *verifier) unlisted(region string) error {
	s := v.reg
	if s.newest.IsZero() {
		return nil // the Region's missing digests are reported instead
	}
	src, err := v.source(v.o.Bucket)
	if err != nil || src == nil {
		return err
	}
	prefix := awsLogs(v.o.Prefix, v.o.OrgID, v.o.Account) + "/CloudTrail/" + region + "/"
	keys, err := src.List(v.ctx, prefix)
	if err != nil {
		return fmt.Errorf("digest: list %s: %w", s3Path(v.o.Bucket, prefix), err)
	}
	keys = slices.Clone(keys)
	slices.Sort(keys)
	lo := v.o.Start.Truncate(time.Minute)
	if lo.Before(v.o.Start) {
		lo = lo.Add(time.Minute)
	}
	if s.origin.After(lo) {
		lo = s.origin
	}
	hi := s.newest.Add(-time.Minute)
	if v.o.End.Before(hi) {
		hi = v.o.End
	}
	var found []Result
	for _, k := range keys {
		path := s3Path(v.o.Bucket, k)
		if strings.HasSuffix(k, "/") || s.listed[path] {
			continue
		}
		problem := "not listed in any digest"
		t, ok := logKeyTime(k)
		if !ok {
			m := logDayRE.FindStringSubmatch(strings.TrimPrefix(k, prefix))
			if m == nil {
				continue
			}
			day, err := time.Parse(dayFormat, m[1])
			if err != nil || day.Before(lo.Truncate(24*time.Hour)) || day.After(hi) {
				continue
			}
			t, problem = day, "not listed in any digest (and not named like a log file)"
		} else if t.Before(lo) || t.After(hi) {
			continue
		}
		if s.inGap(t) {
			continue
		}
		found = append(found, Result{Path: path, Kind: KindLog, Status: StatusUnlisted, Problem: problem})
	}
	if len(found) == 0 {
		return nil
	}
	// Another trail may write to the same bucket and prefix: what its
	// (signed) digests list is not planted either.
	if err := v.otherTrailsListed(src, region, lo.Add(-time.Hour)); err != nil {
		return err
	}
	for _, r := range found {
		if !s.listed[r.Path] {
			v.add(r)
		}
	}
	return nil
}

// otherTrailsListed adds to the Region's listed log files those that the
// valid digests of other trails in the same folder list, from digests that
// end at or after from.
func (v *verifier) otherTrailsListed(src Source, region string, from time.Time) error {
	o := v.o
	prefix := DigestPrefix(o.Prefix, o.OrgID, o.Account, region) + "/"
	keys, err := src.List(v.ctx, prefix)
	if err != nil {
		return fmt.Errorf("digest: list %s: %w", s3Path(o.Bucket, prefix), err)
	}
	own := digestKeyPattern(o.Prefix, o.OrgID, o.Account, region, o.TrailName, o.HomeRegion)
	lo := from.UTC().Format(digestTimeFormat)
	pub := keysIn(o.Keys, from, o.End.Add(2*time.Hour))
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) || own.MatchString(k) || isBackfillKey(k) || !strings.HasSuffix(k, digestSuffix) ||
			!strings.Contains(k, "_CloudTrail-Digest_"+region+"_") || digestKeyTime(k) < lo {
			continue
		}
		d, p, err := v.load(src, o.Bucket, k, region, pub, false)
		if err != nil {
			return err
		}
		if p != nil {
			continue
		}
		for _, l := range d.w.LogFiles {
			v.reg.listed[s3Path(l.S3Bucket, l.S3Object)] = true
		}
	}
	return nil
}

// inGap reports whether t falls between two chains.
func (s *regionState) inGap(t time.Time) bool {
	for _, g := range s.gaps {
		if !t.Before(g[0]) && t.Before(g[1]) {
			return true
		}
	}
	return false
}
