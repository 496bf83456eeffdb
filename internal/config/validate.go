package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// problem is one validation failure, at a field path such as
// "accounts[0].users[1].name". alt is a path to report at when path is
// absent from the file (for example when the value came from a default).
type problem struct {
	path string
	alt  string
	msg  string
}

func (p problem) String() string {
	if p.path == "" {
		return p.msg
	}
	return p.path + ": " + p.msg
}

// Validate checks the configuration against Cairn's rules and returns every
// problem found, each as "<field path>: <reason>", joined by newlines.
// [Load] and [Parse] call it and report problems with file and line instead.
func (c *Config) Validate() error {
	ps := c.problems()
	if len(ps) == 0 {
		return nil
	}
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = errors.New(p.String())
	}
	return errors.Join(errs...)
}

var (
	accountIDRE   = regexp.MustCompile(`^[0-9]{12}$`)
	aliasRE       = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{1,61}[a-z0-9])$`)
	userNameRE    = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)
	accessKeyRE   = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	actionRE      = regexp.MustCompile(`^(\*|[A-Za-z0-9*-]+:[A-Za-z0-9*]+)$`)
	regionRE      = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+-[0-9]+$`)
	partitionRE   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	orgIDRE       = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	bucketRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	kmsKeyIDRE    = regexp.MustCompile(`^[A-Za-z0-9-]{1,128}$`)
	topicRE       = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}(\.fifo)?$`)
	logGroupRE    = regexp.MustCompile(`^[A-Za-z0-9_./#-]{1,512}$`)
	maxFlushDelay = 15 * time.Minute
)

// validator accumulates problems.
type validator struct {
	ps []problem
}

func (v *validator) add(path, format string, args ...any) {
	v.ps = append(v.ps, problem{path: path, msg: fmt.Sprintf(format, args...)})
}

func (v *validator) addAlt(path, alt, format string, args ...any) {
	v.ps = append(v.ps, problem{path: path, alt: alt, msg: fmt.Sprintf(format, args...)})
}

// problems returns every validation failure in c.
func (c *Config) problems() []problem {
	v := &validator{}
	c.checkServer(v)
	accounts := c.checkAccounts(v)
	c.checkOrganization(v, accounts)
	c.checkBuckets(v, accounts)
	c.checkDelivery(v)
	c.checkInsights(v)
	c.checkKMSKeys(v, accounts)
	c.checkTopics(v, accounts)
	c.checkLogGroups(v, accounts)
	c.checkLimits(v)
	c.checkConsole(v)
	c.checkEventBuses(v, accounts)
	c.checkTail(v)
	c.checkLake(v)
	return v.ps
}

func (c *Config) checkServer(v *validator) {
	if c.Listen == "" {
		v.add("listen", "must not be empty")
	} else if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		v.add("listen", "invalid address %q (want host:port)", c.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.add("listen", "invalid port in %q", c.Listen)
	}
	if c.DataDir == "" {
		v.add("data_dir", "must not be empty")
	}
	if !partitionRE.MatchString(c.Partition) {
		v.add("partition", "invalid partition %q (want e.g. \"aws\")", c.Partition)
	}
	if len(c.Regions) == 0 {
		v.add("regions", "must list at least one region")
	}
	seen := map[string]int{}
	for i, r := range c.Regions {
		path := fmt.Sprintf("regions[%d]", i)
		if !regionRE.MatchString(r) {
			v.add(path, "invalid region %q (want e.g. \"us-east-1\")", r)
			continue
		}
		if j, dup := seen[r]; dup {
			v.add(path, "duplicate region %q (also regions[%d])", r, j)
			continue
		}
		seen[r] = i
	}
	switch {
	case c.GlobalRegion == "":
		v.add("global_region", "must not be empty")
	case !slices.Contains(c.Regions, c.GlobalRegion):
		v.addAlt("global_region", "regions", "global region %q is not one of the served regions", c.GlobalRegion)
	}
	if c.EventHistoryDays < 1 || c.EventHistoryDays > 3650 {
		v.add("event_history_days", "must be between 1 and 3650, got %d", c.EventHistoryDays)
	}
	switch c.Store.Driver {
	case DriverSQLite:
		if m := c.Store.CacheMiB; m != 0 && (m < MinStoreCacheMiB || m > MaxStoreCacheMiB) {
			v.add("store.cache_mib", "must be between %d and %d (or 0 for the default), got %d", MinStoreCacheMiB, MaxStoreCacheMiB, m)
		}
		if m := c.Store.LogCacheMiB; m != 0 && m != -1 && (m < MinStoreLogCacheMiB || m > MaxStoreLogCacheMiB) {
			v.add("store.log_cache_mib", "must be between %d and %d, or 0 for the default, or -1 to leave the page cache to the OS; got %d",
				MinStoreLogCacheMiB, MaxStoreLogCacheMiB, m)
		}
	case DriverPostgres:
		if c.Store.DSN == "" {
			v.addAlt("store.dsn", "store", "the postgres driver needs a dsn")
		}
		if c.Store.CacheMiB != 0 {
			v.add("store.cache_mib", "applies to the sqlite driver only (PostgreSQL sizes its own cache)")
		}
		if c.Store.LogCacheMiB != 0 {
			v.add("store.log_cache_mib", "applies to the sqlite driver only (events are stored in PostgreSQL)")
		}
	case "":
		v.add("store.driver", "must not be empty (want %s or %s)", DriverSQLite, DriverPostgres)
	default:
		v.add("store.driver", "unknown driver %q (want %s or %s)", c.Store.Driver, DriverSQLite, DriverPostgres)
	}
}

// checkAccounts validates accounts, users and access keys, and returns the
// set of valid configured account ids.
func (c *Config) checkAccounts(v *validator) map[string]bool {
	accounts := map[string]bool{}
	firstIndex := map[string]int{}
	aliases := map[string]int{}
	for i, a := range c.Accounts {
		path := fmt.Sprintf("accounts[%d]", i)
		switch {
		case !accountIDRE.MatchString(a.ID):
			v.addAlt(path+".id", path, "invalid account id %q (want 12 digits)", a.ID)
		case accounts[a.ID]:
			v.add(path+".id", "duplicate account id %q (also accounts[%d])", a.ID, firstIndex[a.ID])
		default:
			accounts[a.ID] = true
			firstIndex[a.ID] = i
		}
		if a.Alias != "" {
			if !aliasRE.MatchString(a.Alias) || strings.Contains(a.Alias, "--") {
				v.add(path+".alias", "invalid account alias %q (want 3-63 lowercase letters, digits and single dashes, starting and ending with a letter or digit)", a.Alias)
			} else if j, dup := aliases[a.Alias]; dup {
				v.add(path+".alias", "duplicate account alias %q (also accounts[%d])", a.Alias, j)
			} else {
				aliases[a.Alias] = i
			}
		}
	}

	type keyOwner struct{ account, user string }
	keys := map[string]keyOwner{}
	for i, a := range c.Accounts {
		users := map[string]int{}
		for j, u := range a.Users {
			path := fmt.Sprintf("accounts[%d].users[%d]", i, j)
			if !userNameRE.MatchString(u.Name) {
				v.addAlt(path+".name", path, "invalid user name %q (want 1-64 characters from A-Z a-z 0-9 + = , . @ _ -)", u.Name)
			} else if k, dup := users[u.Name]; dup {
				v.add(path+".name", "duplicate user name %q in account %s (also users[%d])", u.Name, a.ID, k)
			} else {
				users[u.Name] = j
			}
			for k, key := range u.AccessKeys {
				kpath := fmt.Sprintf("%s.access_keys[%d]", path, k)
				if !accessKeyRE.MatchString(key.ID) {
					v.addAlt(kpath+".id", kpath, "invalid access key id %q (want 16-128 characters from A-Z 0-9)", key.ID)
				} else if owner, dup := keys[key.ID]; dup {
					v.add(kpath+".id", "duplicate access key id %q (also held by user %s in account %s)", key.ID, owner.user, owner.account)
				} else {
					keys[key.ID] = keyOwner{account: a.ID, user: u.Name}
				}
				if key.Secret == "" {
					v.addAlt(kpath+".secret", kpath, "secret must not be empty")
				}
			}
			checkPolicy(v, path+".policy", path, u.Policy)
			seen := map[string]bool{}
			for k, id := range u.IngestAccounts {
				ipath := fmt.Sprintf("%s.ingest_accounts[%d]", path, k)
				switch {
				case id != "*" && !accounts[id]:
					v.add(ipath, "%q is not a configured account id (or \"*\")", id)
				case seen[id]:
					v.add(ipath, "duplicate entry %q", id)
				}
				seen[id] = true
			}
		}
	}
	return accounts
}

func checkPolicy(v *validator, path, userPath string, p Policy) {
	switch {
	case p.Preset != "" && p.Actions != nil:
		v.add(path, "policy has both a preset and actions")
	case p.Preset != "":
		switch p.Preset {
		case PresetAdmin, PresetReadOnly, PresetIngest:
		default:
			v.add(path, "unknown policy preset %q (want %s, %s, %s, or a list of action patterns)",
				p.Preset, PresetAdmin, PresetReadOnly, PresetIngest)
		}
	case len(p.Actions) == 0:
		v.addAlt(path, userPath, "a policy is required (%s, %s, %s, or a list of action patterns)",
			PresetAdmin, PresetReadOnly, PresetIngest)
	default:
		for i, a := range p.Actions {
			if !actionRE.MatchString(a) {
				v.add(fmt.Sprintf("%s[%d]", path, i),
					"invalid action pattern %q (want service:Action with * wildcards, e.g. \"cloudtrail:Get*\", or \"*\")", a)
			}
		}
	}
}

func (c *Config) checkOrganization(v *validator, accounts map[string]bool) {
	o := c.Organization
	if o == nil {
		return
	}
	if !orgIDRE.MatchString(o.ID) {
		v.addAlt("organization.id", "organization", "invalid organization id %q (want \"o-\" and 10-32 lowercase letters or digits)", o.ID)
	}
	switch {
	case o.ManagementAccount == "":
		v.addAlt("organization.management_account", "organization", "must not be empty")
	case !accounts[o.ManagementAccount]:
		v.add("organization.management_account", "%q is not a configured account", o.ManagementAccount)
	}
	seen := map[string]bool{}
	for i, m := range o.Members {
		path := fmt.Sprintf("organization.members[%d]", i)
		switch {
		case !accounts[m]:
			v.add(path, "%q is not a configured account", m)
		case seen[m]:
			v.add(path, "duplicate member %q", m)
		}
		seen[m] = true
	}
}

func (c *Config) checkBuckets(v *validator, accounts map[string]bool) {
	names := map[string]int{}
	for i, b := range c.Buckets {
		path := fmt.Sprintf("buckets[%d]", i)
		c.checkOwner(v, path+".account", path, "bucket", b.Account, accounts)
		c.checkGrants(v, path+".writers", b.Writers, accounts)
		if msg := bucketNameProblem(b.Name); msg != "" {
			v.addAlt(path+".name", path, "invalid bucket name %q: %s", b.Name, msg)
		} else if j, dup := names[b.Name]; dup {
			v.add(path+".name", "duplicate bucket name %q (also buckets[%d])", b.Name, j)
		} else {
			names[b.Name] = i
		}
		u, err := url.Parse(b.URL)
		switch {
		case b.URL == "":
			v.addAlt(path+".url", path, "must not be empty (want file:///path or s3://bucket)")
		case err != nil:
			v.add(path+".url", "invalid url %q", b.URL)
		case u.Scheme == "file":
			if msg := fileURLProblem(u); msg != "" {
				v.add(path+".url", "%s", msg)
			}
			if b.AccessKeyID != "" || b.SecretAccessKey != "" {
				v.add(path, "access_key_id and secret_access_key only apply to s3:// urls")
			}
		case u.Scheme == "s3":
			if u.Host == "" {
				v.add(path+".url", "s3 url %q names no bucket (want s3://bucket)", b.URL)
			}
			if (b.AccessKeyID == "") != (b.SecretAccessKey == "") {
				v.add(path, "access_key_id and secret_access_key must be set together")
			}
		default:
			v.add(path+".url", "unsupported url scheme in %q (want file:// or s3://)", b.URL)
		}
	}
}

// bucketNameProblem applies S3's bucket naming rules.
func bucketNameProblem(name string) string {
	switch {
	case len(name) < 3 || len(name) > 63:
		return "must be 3-63 characters long"
	case !bucketRE.MatchString(name):
		return "must use only lowercase letters, digits, dots and dashes, and start and end with a letter or digit"
	case strings.Contains(name, ".."):
		return "must not contain two adjacent dots"
	case net.ParseIP(name) != nil:
		return "must not be formatted as an IP address"
	}
	return ""
}

func fileURLProblem(u *url.URL) string {
	if u.Host != "" && u.Host != "localhost" {
		return fmt.Sprintf("file url %q has a host (want file:///absolute/path)", u.String())
	}
	if u.Path == "" || u.Path == "/" {
		return fmt.Sprintf("file url %q names no path", u.String())
	}
	return ""
}

func (c *Config) checkDelivery(v *validator) {
	if f := c.Delivery.FlushInterval.Duration; f <= 0 || f > maxFlushDelay {
		v.add("delivery.flush_interval", "must be greater than 0 and at most %s, got %s", maxFlushDelay, f)
	}
	if d := c.Delivery.DigestInterval.Duration; d < time.Second {
		v.add("delivery.digest_interval", "must be at least 1s, got %s", d)
	}
}

// Bounds of the insights settings: a baseline of at least an hour (one
// hour slot) and at most 90 days (its memory grows with the window: 16
// bytes per hour per tracked API); a settle time of at most an hour.
const (
	minBaselineWindow = time.Hour
	maxBaselineWindow = 90 * 24 * time.Hour
	maxSettle         = time.Hour
	// maxMaxAPIs bounds insights.max_apis: a million APIs of 2.7 KB
	// (7-day window) is 2.7 GB per account and region.
	maxMaxAPIs = 1000000
)

func (c *Config) checkInsights(v *validator) {
	if w := c.Insights.BaselineWindow.Duration; w < minBaselineWindow || w > maxBaselineWindow || w%time.Hour != 0 {
		v.add("insights.baseline_window", "must be a whole number of hours from %s to %s, got %s", minBaselineWindow, maxBaselineWindow, w)
	}
	if s := c.Insights.Settle.Duration; s < 0 || s > maxSettle {
		v.add("insights.settle", "must be from 0s to %s, got %s", maxSettle, s)
	}
	if n := c.Insights.MaxAPIs; n < 1 || n > maxMaxAPIs {
		v.add("insights.max_apis", "must be from 1 to %d, got %d", maxMaxAPIs, n)
	}
}

// parseARN splits arn:<partition>:<service>:<region>:<account>:<resource>.
func parseARN(arn string) (partition, service, region, account, resource string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "", "", "", "", "", false
	}
	return parts[1], parts[2], parts[3], parts[4], parts[5], true
}

// checkARN validates the common parts of a regional resource ARN owned by
// account and returns its resource part.
func (c *Config) checkARN(v *validator, path, arn, service, example, owner string) (string, bool) {
	partition, svc, region, account, resource, ok := parseARN(arn)
	if !ok || svc != service {
		v.add(path, "invalid %s ARN %q (want %s)", service, arn, example)
		return "", false
	}
	good := true
	if partition != c.Partition {
		v.add(path, "ARN %q is not in partition %q", arn, c.Partition)
		good = false
	}
	if !slices.Contains(c.Regions, region) {
		v.add(path, "ARN %q names region %q, which is not served", arn, region)
		good = false
	}
	if !accountIDRE.MatchString(account) {
		v.add(path, "ARN %q has an invalid account id %q", arn, account)
		good = false
	} else if owner != "" && account != owner {
		v.add(path, "ARN %q belongs to account %s, not %s", arn, account, owner)
		good = false
	}
	return resource, good
}

// checkOwner checks the account: of a bucket, KMS key, topic or log group
// (what). It may be left out only when exactly one account is configured:
// with several, guessing an owner would let every account use it.
func (c *Config) checkOwner(v *validator, path, entryPath, what, owner string, accounts map[string]bool) {
	switch {
	case owner == "" && len(c.Accounts) <= 1:
		// One account owns it (none yet: the quick-start account will).
	case owner == "":
		v.addAlt(path, entryPath, "several accounts are configured: add account: with the id of the account that owns this %s (%s)",
			what, grantsField(what))
	case !accounts[owner]:
		v.add(path, "%q is not a configured account", owner)
	}
}

// grantsField says who may use a what besides its owner.
func grantsField(what string) string {
	switch what {
	case "bucket":
		return "its trails may write here; list other accounts under writers:"
	case "KMS key":
		return "its trails may name it; list other accounts under users:"
	}
	return "only its trails may use it"
}

// checkGrants checks a writers: or users: list: configured account ids, or
// "organization" when an organization is configured.
func (c *Config) checkGrants(v *validator, path string, grants []string, accounts map[string]bool) {
	seen := map[string]bool{}
	for i, g := range grants {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case g == OrganizationMembersWord && c.Organization == nil:
			v.add(p, "%q needs an organization: section", g)
		case g != OrganizationMembersWord && !accounts[g]:
			v.add(p, "%q is not a configured account id (or %q)", g, OrganizationMembersWord)
		case seen[g]:
			v.add(p, "duplicate entry %q", g)
		}
		seen[g] = true
	}
}

func (c *Config) checkKMSKeys(v *validator, accounts map[string]bool) {
	seen := map[string]int{}
	for i, k := range c.KMSKeys {
		path := fmt.Sprintf("kms_keys[%d]", i)
		c.checkOwner(v, path+".account", path, "KMS key", k.Account, accounts)
		c.checkGrants(v, path+".users", k.Users, accounts)
		resource, ok := c.checkARN(v, path+".arn", k.ARN, "kms",
			"arn:<partition>:kms:<region>:<account>:key/<key-id>", c.OwnerOf(k.Account))
		if !ok {
			continue
		}
		if id, found := strings.CutPrefix(resource, "key/"); !found || !kmsKeyIDRE.MatchString(id) {
			v.add(path+".arn", "invalid kms ARN %q (want arn:<partition>:kms:<region>:<account>:key/<key-id>)", k.ARN)
			continue
		}
		if j, dup := seen[k.ARN]; dup {
			v.add(path+".arn", "duplicate key ARN (also kms_keys[%d])", j)
			continue
		}
		seen[k.ARN] = i
		if k.Material != "" {
			if m, err := base64.StdEncoding.DecodeString(k.Material); err != nil || len(m) != 32 {
				v.add(path+".material", "material must be the base64 of 32 bytes (e.g. openssl rand -base64 32)")
			}
		}
	}
}

func (c *Config) checkTopics(v *validator, accounts map[string]bool) {
	seen := map[[2]string]int{}
	for i, t := range c.Topics {
		path := fmt.Sprintf("topics[%d]", i)
		owner := c.OwnerOf(t.Account)
		if !topicRE.MatchString(t.Name) {
			v.addAlt(path+".name", path, "invalid topic name %q (want 1-256 characters from A-Z a-z 0-9 _ -)", t.Name)
		} else if j, dup := seen[[2]string{owner, t.Name}]; dup {
			v.add(path+".name", "duplicate topic %q in account %s (also topics[%d])", t.Name, owner, j)
		} else {
			seen[[2]string{owner, t.Name}] = i
		}
		c.checkOwner(v, path+".account", path, "topic", t.Account, accounts)
		checkURL(v, path+".url", path, t.URL, "http", "https")
	}
}

func (c *Config) checkLogGroups(v *validator, accounts map[string]bool) {
	seen := map[string]int{}
	const example = "arn:<partition>:logs:<region>:<account>:log-group:<name>:*"
	for i, g := range c.LogGroups {
		path := fmt.Sprintf("log_groups[%d]", i)
		c.checkOwner(v, path+".account", path, "log group", g.Account, accounts)
		checkLogGroupDest(v, path, g)
		owner := c.OwnerOf(g.Account)
		resource, ok := c.checkARN(v, path+".arn", g.ARN, "logs", example, owner)
		if !ok {
			continue
		}
		name, found := strings.CutPrefix(resource, "log-group:")
		name = strings.TrimSuffix(name, ":*")
		if !found || !logGroupRE.MatchString(name) {
			v.add(path+".arn", "invalid logs ARN %q (want %s)", g.ARN, example)
			continue
		}
		if j, dup := seen[name+"@"+owner]; dup {
			v.add(path+".arn", "duplicate log group (also log_groups[%d])", j)
			continue
		}
		seen[name+"@"+owner] = i
	}
}

// checkURL checks that raw is a URL with one of the given schemes.
func checkURL(v *validator, path, entryPath, raw string, schemes ...string) {
	want := strings.Join(schemes, "://, ") + "://"
	if raw == "" {
		v.addAlt(path, entryPath, "must not be empty (want a %s url)", want)
		return
	}
	u, err := url.Parse(raw)
	if err != nil || !slices.Contains(schemes, u.Scheme) {
		v.add(path, "invalid url %q (want %s)", raw, want)
		return
	}
	if u.Scheme == "file" {
		if msg := fileURLProblem(u); msg != "" {
			v.add(path, "%s", msg)
		}
		return
	}
	if u.Host == "" {
		v.add(path, "url %q has no host", raw)
	}
}

func (c *Config) checkLimits(v *validator) {
	if c.Limits.MaxBodyBytes <= 0 {
		v.add("limits.max_body_bytes", "must be positive, got %d", c.Limits.MaxBodyBytes)
	}
	if c.Limits.MaxBatchRecords <= 0 {
		v.add("limits.max_batch_records", "must be positive, got %d", c.Limits.MaxBatchRecords)
	}
	// !(x >= 0) also rejects NaN.
	if !(c.Limits.RequestsPerSecond >= 0) || math.IsInf(c.Limits.RequestsPerSecond, 0) {
		v.add("limits.requests_per_second", "must be a non-negative number (0 is unlimited), got %v", c.Limits.RequestsPerSecond)
	}
	if !(c.Limits.LookupsPerSecond >= 0) || math.IsInf(c.Limits.LookupsPerSecond, 0) {
		v.add("limits.lookups_per_second", "must be a non-negative number (0 is unlimited), got %v", c.Limits.LookupsPerSecond)
	}
	if c.Limits.MaxInflightIngest <= 0 {
		v.add("limits.max_inflight_ingest", "must be positive, got %d", c.Limits.MaxInflightIngest)
	}
	if c.Limits.MaxInflightPerKey <= 0 {
		v.add("limits.max_inflight_per_key", "must be positive, got %d", c.Limits.MaxInflightPerKey)
	}
	if c.Limits.MaxInflightPerAddress <= 0 {
		v.add("limits.max_inflight_per_address", "must be positive, got %d", c.Limits.MaxInflightPerAddress)
	}
	c.checkUnauthenticatedLimits(v)
}

// MaxRequestReadTime is the longest a request may take to arrive, headers
// and body (the HTTP server's read timeout); limits.body_read_timeout is
// at most this.
const MaxRequestReadTime = 2 * time.Minute

// MaxAPIBodyBytes is the largest CloudTrail API request body.
const MaxAPIBodyBytes = 1 << 20

// checkUnauthenticatedLimits checks the bounds of what requests hold before
// their signatures are verified. One address must be able to send the
// largest body the server takes (max_body_bytes, and an API call's 1 MiB),
// and the total must hold one address's share, else those requests could
// never be read.
func (c *Config) checkUnauthenticatedLimits(v *validator) {
	l := &c.Limits
	if d := l.BodyReadTimeout.Duration; d <= 0 || d > MaxRequestReadTime {
		v.add("limits.body_read_timeout", "must be greater than 0 and at most %s, got %s", MaxRequestReadTime, d)
	}
	if l.UnauthenticatedRequestsPerAddress <= 0 {
		v.add("limits.unauthenticated_requests_per_address", "must be positive, got %d", l.UnauthenticatedRequestsPerAddress)
	}
	largest := max(l.MaxBodyBytes, MaxAPIBodyBytes)
	if l.UnauthenticatedBytesPerAddress < largest {
		v.add("limits.unauthenticated_bytes_per_address", "must be at least the largest request body (max_body_bytes, and 1048576 for API calls), %d; got %d",
			largest, l.UnauthenticatedBytesPerAddress)
	}
	if l.UnauthenticatedBytesPerKey < largest {
		v.add("limits.unauthenticated_bytes_per_key", "must be at least the largest request body (max_body_bytes, and 1048576 for API calls), %d; got %d",
			largest, l.UnauthenticatedBytesPerKey)
	}
	if l.UnauthenticatedBodyBytes < max(l.UnauthenticatedBytesPerAddress, largest) {
		v.add("limits.unauthenticated_body_bytes", "must be at least unauthenticated_bytes_per_address (%d); got %d",
			max(l.UnauthenticatedBytesPerAddress, largest), l.UnauthenticatedBodyBytes)
	}
}

// maxSignInWait bounds console.sign_in.max_wait: a longer wait locks a
// user out rather than slowing an attacker down.
const maxSignInWait = 24 * time.Hour

func (c *Config) checkConsole(v *validator) {
	s := c.Console.SignIn
	if s.FailuresPerKey < 1 {
		v.add("console.sign_in.failures_per_key", "must be at least 1, got %d", s.FailuresPerKey)
	}
	if s.FailuresPerAddress < s.FailuresPerKey || s.FailuresPerAddress < 1 {
		v.add("console.sign_in.failures_per_address", "must be at least failures_per_key (%d), got %d", s.FailuresPerKey, s.FailuresPerAddress)
	}
	if s.FirstWait.Duration <= 0 {
		v.add("console.sign_in.first_wait", "must be positive, got %s", s.FirstWait.Duration)
	}
	switch {
	case s.MaxWait.Duration < s.FirstWait.Duration:
		v.add("console.sign_in.max_wait", "must be at least first_wait (%s), got %s", s.FirstWait.Duration, s.MaxWait.Duration)
	case s.MaxWait.Duration > maxSignInWait:
		v.add("console.sign_in.max_wait", "must be at most %s, got %s", maxSignInWait, s.MaxWait.Duration)
	}
	if ttl := c.Console.SessionTTL.Duration; ttl < minSessionTTL || ttl > maxSessionTTL {
		v.add("console.session_ttl", "must be between %s and %s, got %s", minSessionTTL, maxSessionTTL, ttl)
	}
}

// minSessionTTL and maxSessionTTL bound console.session_ttl: shorter than
// a few seconds signs a user out before a page loads; longer than a week
// leaves a forgotten browser signed in.
const (
	minSessionTTL = 5 * time.Second
	maxSessionTTL = 7 * 24 * time.Hour
)
