package importer

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-audit/cairn/internal/bucket"
)

// Filter narrows an import. Accounts and Regions, when not empty, are the
// only ones read; Start and End (either may be zero: open) bound the
// records' eventTime, both inclusive. Insights also reads the
// CloudTrail-Insight folders (Insights events), which are skipped by
// default as digest folders always are.
type Filter struct {
	Accounts, Regions []string
	Start, End        time.Time
	Insights          bool
}

// deliveryMargin is how long after an event CloudTrail may deliver the log
// file holding it (typically 5 minutes, up to 15; a day is generous): the
// day folders read for --end-time T go up to T's day plus this.
const deliveryMargin = 24 * time.Hour

// LogFile is one log file of the archive, as its key names it.
type LogFile struct {
	Key             string
	Account, Region string
	// Delivered is the time in the file name (minute precision; zero when
	// the name has none).
	Delivered time.Time
}

// Skipped is an object in a log folder that is not a log file in AWS's
// layout, which the import leaves alone.
type Skipped struct {
	Key, Reason string
}

// logName is a log file's name: <account>_CloudTrail[-Insight]_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz.
var logName = regexp.MustCompile(`^(\d{12})_(CloudTrail|CloudTrail-Insight)_([a-z0-9-]+)_(\d{8}T\d{4}Z)_([A-Za-z0-9]+)\.json\.gz$`)

// isAccount reports whether s is a 12-digit AWS account id.
func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isOrgID reports whether s looks like an organization id (o-xxxxxxxxxx).
func isOrgID(s string) bool { return orgID.MatchString(s) }

var orgID = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)

// planner lists the log files an import reads, descending only into the
// folders the filter needs (accounts, regions, years, months, days).
type planner struct {
	ctx     context.Context
	src     Source
	f       Filter
	files   []LogFile
	skipped []Skipped
}

// Plan lists the archive's log files that f selects, sorted by key, and the
// objects in log folders that are not log files.
func Plan(ctx context.Context, src Source, f Filter) ([]LogFile, []Skipped, error) {
	p := &planner{ctx: ctx, src: src, f: f}
	base := src.Prefix + "AWSLogs/"
	top, err := p.dirs(base)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range top {
		switch {
		case isAccount(d):
			err = p.account(base+d+"/", d)
		case isOrgID(d):
			err = p.org(base + d + "/")
		}
		if err != nil {
			return nil, nil, err
		}
	}
	slices.SortFunc(p.files, func(a, b LogFile) int { return strings.Compare(a.Key, b.Key) })
	return p.files, p.skipped, nil
}

func (p *planner) dirs(prefix string) ([]string, error) {
	d, err := bucket.ListDirs(p.ctx, p.src.Bucket, prefix)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", prefix, err)
	}
	return d, nil
}

func (p *planner) org(base string) error {
	accounts, err := p.dirs(base)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		if isAccount(a) {
			if err := p.account(base+a+"/", a); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *planner) account(base, account string) error {
	if len(p.f.Accounts) > 0 && !slices.Contains(p.f.Accounts, account) {
		return nil
	}
	kinds := []string{"CloudTrail"}
	if p.f.Insights {
		kinds = append(kinds, "CloudTrail-Insight")
	}
	for _, kind := range kinds {
		regions, err := p.dirs(base + kind + "/")
		if err != nil {
			return err
		}
		for _, r := range regions {
			if len(p.f.Regions) > 0 && !slices.Contains(p.f.Regions, r) {
				continue
			}
			if err := p.region(base+kind+"/"+r+"/", account, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// dayRange is the first and last day folder (UTC midnight) the filter
// reads; zero is open.
func (p *planner) dayRange() (first, last time.Time) {
	if !p.f.Start.IsZero() {
		first = p.f.Start.UTC().Truncate(24 * time.Hour)
	}
	if !p.f.End.IsZero() {
		last = p.f.End.UTC().Add(deliveryMargin).Truncate(24 * time.Hour)
	}
	return first, last
}

// region walks YYYY/MM/DD folders within the day range.
func (p *planner) region(base, account, region string) error {
	first, last := p.dayRange()
	// inRange says whether the period [from, to) of a folder can hold a
	// day in [first, last].
	inRange := func(from, to time.Time) bool {
		return (first.IsZero() || to.After(first)) && (last.IsZero() || !from.After(last))
	}
	years, err := p.dirs(base)
	if err != nil {
		return err
	}
	for _, y := range years {
		yn, ok := number(y, 4)
		if !ok {
			continue
		}
		ys := time.Date(yn, 1, 1, 0, 0, 0, 0, time.UTC)
		if !inRange(ys, ys.AddDate(1, 0, 0)) {
			continue
		}
		months, err := p.dirs(base + y + "/")
		if err != nil {
			return err
		}
		for _, m := range months {
			mn, ok := number(m, 2)
			if !ok || mn < 1 || mn > 12 {
				continue
			}
			ms := time.Date(yn, time.Month(mn), 1, 0, 0, 0, 0, time.UTC)
			if !inRange(ms, ms.AddDate(0, 1, 0)) {
				continue
			}
			days, err := p.dirs(base + y + "/" + m + "/")
			if err != nil {
				return err
			}
			for _, d := range days {
				dn, ok := number(d, 2)
				if !ok || dn < 1 || dn > 31 {
					continue
				}
				ds := time.Date(yn, time.Month(mn), dn, 0, 0, 0, 0, time.UTC)
				if !inRange(ds, ds.AddDate(0, 0, 1)) {
					continue
				}
				if err := p.day(base+y+"/"+m+"/"+d+"/", account, region); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// day lists one day folder's log files.
func (p *planner) day(prefix, account, region string) error {
	keys, err := p.src.Bucket.List(p.ctx, prefix)
	if err != nil {
		return fmt.Errorf("listing %s: %w", prefix, err)
	}
	for _, k := range keys {
		name := k[len(prefix):]
		if strings.Contains(name, "/") {
			p.skipped = append(p.skipped, Skipped{k, "not in a day folder of AWS's layout"})
			continue
		}
		lf, reason := parseLogName(k, path.Base(k), account, region)
		if reason != "" {
			p.skipped = append(p.skipped, Skipped{k, reason})
			continue
		}
		// A file delivered before --start-time holds no later event.
		if !p.f.Start.IsZero() && !lf.Delivered.IsZero() && lf.Delivered.Add(time.Minute).Before(p.f.Start) {
			continue
		}
		p.files = append(p.files, lf)
	}
	return nil
}

// parseLogName checks a log file's name against its folder's account and
// region; reason says why it is not a log file.
func parseLogName(key, name, account, region string) (LogFile, string) {
	m := logName.FindStringSubmatch(name)
	if m == nil {
		return LogFile{}, "name is not <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz"
	}
	if m[1] != account || m[3] != region {
		return LogFile{}, fmt.Sprintf("name is for account %s and region %s, the folder for %s and %s", m[1], m[3], account, region)
	}
	t, err := time.Parse("20060102T1504Z", m[4])
	if err != nil {
		return LogFile{}, "name has no valid time: " + m[4]
	}
	return LogFile{Key: key, Account: account, Region: region, Delivered: t}, ""
}

// number parses a folder name of n digits.
func number(s string, n int) (int, bool) {
	if len(s) != n {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	return v, err == nil
}
