// Package config loads and validates Cairn's YAML configuration file.
//
// A configuration file describes where Cairn listens and stores its data,
// which AWS partition and regions it serves, the accounts and IAM users
// (with their access keys and policies) allowed to call it, and the
// destinations trails may deliver to: buckets, KMS keys, SNS topics and
// CloudWatch Logs log groups. A minimal file looks like:
//
//	listen: 127.0.0.1:4590
//	data_dir: /var/lib/cairn
//	accounts:
//	  - id: "111111111111"
//	    users:
//	      - name: alice
//	        access_keys: [{id: AKIAEXAMPLEALICE0001, secret: "${ALICE_SECRET}"}]
//	        policy: admin
//
// Fields that are absent take their values from [Default]. Any string value
// may reference environment variables as ${NAME}; they are expanded when the
// file is loaded, and a reference to an unset variable is an error. Write
// $${ for a literal ${.
//
// Unknown keys are rejected at every level. Every error returned by [Load]
// and [Parse] has the form "<file>:<line>: <reason>", one per line when
// there are several.
package config

import (
	"fmt"
	"os"
	"time"

	"go.yaml.in/yaml/v3"
)

// Policy presets accepted in a user's policy field.
const (
	// PresetAdmin allows every action.
	PresetAdmin = "admin"
	// PresetReadOnly allows read-only CloudTrail actions (Get*, List*,
	// Describe*, LookupEvents and the like).
	PresetReadOnly = "read-only"
	// PresetIngest allows writing events (CloudTrail Data PutAuditEvents and
	// Cairn's /v1/events endpoint).
	PresetIngest = "ingest"
)

// Store drivers accepted in store.driver.
const (
	// DriverSQLite stores data in an SQLite database under data_dir.
	DriverSQLite = "sqlite"
	// DriverPostgres stores data in the PostgreSQL database named by store.dsn.
	DriverPostgres = "postgres"
)

// Config is Cairn's configuration, as read from its YAML file.
type Config struct {
	// Listen is the TCP address the HTTP server listens on (host:port).
	Listen string `yaml:"listen"`
	// DataDir is the directory holding Cairn's local state.
	DataDir string `yaml:"data_dir"`
	// Partition is the ARN partition, e.g. "aws".
	Partition string `yaml:"partition"`
	// Regions lists the regions Cairn serves.
	Regions []string `yaml:"regions"`
	// GlobalRegion is the region where events of global services land; it
	// must be one of Regions.
	GlobalRegion string `yaml:"global_region"`
	// EventHistoryDays is how long events stay visible to LookupEvents.
	EventHistoryDays int `yaml:"event_history_days"`
	// Store selects the storage backend.
	Store Store `yaml:"store"`
	// Organization, when set, makes the configured accounts an AWS
	// Organization (for organization trails).
	Organization *Organization `yaml:"organization"`
	// Accounts lists the AWS accounts Cairn knows, with their users.
	Accounts []Account `yaml:"accounts"`
	// Buckets lists the S3 bucket names trails may deliver to, each mapped
	// to a real destination.
	Buckets []Bucket `yaml:"buckets"`
	// Delivery tunes log file and digest delivery.
	Delivery Delivery `yaml:"delivery"`
	// Insights tunes the Insights engine (unusual call and error rates).
	Insights Insights `yaml:"insights"`
	// KMSKeys lists the KMS keys trails may name for SSE-KMS encryption.
	KMSKeys []KMSKey `yaml:"kms_keys"`
	// Topics lists the SNS topics trails may name, each mapped to a webhook.
	Topics []Topic `yaml:"topics"`
	// LogGroups lists the CloudWatch Logs log groups trails may name, each
	// mapped to a file or URL destination.
	LogGroups []LogGroup `yaml:"log_groups"`
	// Limits bounds request sizes.
	Limits Limits `yaml:"limits"`
	// Console tunes the web console.
	Console Console `yaml:"console"`
	// EventBuses lists the accounts whose events go to EventBridge targets
	// and webhooks, as CloudTrail feeds each account's default bus.
	EventBuses []EventBus `yaml:"event_buses"`
	// Tail bounds the live tail's streams.
	Tail Tail `yaml:"tail"`
	// Lake bounds CloudTrail Lake's queries.
	Lake Lake `yaml:"lake"`
}

// Console tunes the web console.
type Console struct {
	// SignIn slows down guessing at the sign-in form.
	SignIn SignIn `yaml:"sign_in"`
	// SessionTTL is how long a console sign-in lasts (8 hours by default).
	SessionTTL Duration `yaml:"session_ttl"`
}

// SignIn says how failed console sign-ins are slowed down. The first
// FailuresPerKey failures of one access key from one address (and the
// first FailuresPerAddress failures of one address, all keys together) are
// answered at once; after that the next attempt waits FirstWait, and each
// further failure doubles the wait up to MaxWait. A waiting attempt is
// refused without its secret being checked. Counts end after MaxWait
// without failures, and a key's count from an address when it signs in
// there.
type SignIn struct {
	// FailuresPerKey is the failures of one key from one address answered
	// at once.
	FailuresPerKey int `yaml:"failures_per_key"`
	// FailuresPerAddress is the failures of one address (IPv4, or IPv6
	// /64), all keys together, answered at once.
	FailuresPerAddress int `yaml:"failures_per_address"`
	// FirstWait is the first wait once the free failures are spent.
	FirstWait Duration `yaml:"first_wait"`
	// MaxWait is the longest wait, and the quiet time that ends a count.
	MaxWait Duration `yaml:"max_wait"`
}

// Store selects and configures the storage backend.
type Store struct {
	// Driver is DriverSQLite or DriverPostgres.
	Driver string `yaml:"driver"`
	// DSN is the database connection string; required for postgres.
	DSN string `yaml:"dsn"`
	// CacheMiB is the embedded store's index writer page cache in MiB
	// (sqlite only; 0: the store's default, see sqlite.DefaultCacheBytes).
	// The server's resident memory grows by about this much once the
	// index (events.db) is bigger than it; a backfill spread over many
	// days rewrites pages all over the index, so a cache that holds more
	// of it costs less CPU per event.
	CacheMiB int `yaml:"cache_mib"`
	// LogCacheMiB is how much of the event log's newest data the embedded
	// store leaves in the OS page cache as it writes on (sqlite only; 0:
	// the store's default, sqlite.DefaultLogCacheBytes; -1: all of it,
	// left to the OS). Older segment files are dropped from the page cache
	// as the writer starts each new one; lookups of older events then
	// read them from the disk.
	LogCacheMiB int `yaml:"log_cache_mib"`
}

// Bounds of store.cache_mib.
const (
	MinStoreCacheMiB = 16
	MaxStoreCacheMiB = 65536
	// store.log_cache_mib: one segment file at least.
	MinStoreLogCacheMiB = 256
	MaxStoreLogCacheMiB = 1 << 20
)

// Organization describes the AWS Organization the configured accounts form.
type Organization struct {
	// ID is the organization id, e.g. "o-a1b2c3d4e5".
	ID string `yaml:"id"`
	// ManagementAccount is the id of the organization's management account.
	ManagementAccount string `yaml:"management_account"`
	// Members, when non-empty, lists the member accounts; when empty every
	// configured account is a member. The management account is always a
	// member. See [Config.OrganizationMembers].
	Members []string `yaml:"members"`
}

// Account is an AWS account and its IAM users.
type Account struct {
	// ID is the 12-digit account id.
	ID string `yaml:"id"`
	// Alias is the optional account alias.
	Alias string `yaml:"alias"`
	// Users lists the account's IAM users.
	Users []User `yaml:"users"`
}

// User is an IAM user, arn:<partition>:iam::<account>:user/<name>.
type User struct {
	// Name is the user name.
	Name string `yaml:"name"`
	// AccessKeys lists the user's access key pairs.
	AccessKeys []AccessKey `yaml:"access_keys"`
	// Policy says what the user may do.
	Policy Policy `yaml:"policy"`
	// IngestAccounts lists other accounts this user may write events for;
	// "*" means any configured account.
	IngestAccounts []string `yaml:"ingest_accounts"`
}

// AccessKey is an access key id and its secret access key.
type AccessKey struct {
	// ID is the access key id, e.g. "AKIAEXAMPLEALICE0001".
	ID string `yaml:"id"`
	// Secret is the secret access key.
	Secret string `yaml:"secret"`
}

// Policy is either a preset name ("admin", "read-only", "ingest") or a list
// of action patterns. In YAML it is written as a scalar (a preset) or a
// sequence (action patterns such as "cloudtrail:Get*" or "*").
type Policy struct {
	// Preset is PresetAdmin, PresetReadOnly or PresetIngest; empty when
	// Actions is used.
	Preset string
	// Actions lists "service:Action" patterns where * matches any run of
	// characters; "*" alone matches every action.
	Actions []string
}

// UnmarshalYAML decodes a policy from a scalar (preset) or a sequence of
// action patterns.
func (p *Policy) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*p = Policy{Preset: n.Value}
		return nil
	case yaml.SequenceNode:
		actions := make([]string, 0, len(n.Content))
		var errs []string
		for _, c := range n.Content {
			c = resolveAlias(c)
			if c == nil || c.Kind != yaml.ScalarNode {
				line := n.Line
				if c != nil {
					line = c.Line
				}
				errs = append(errs, fmt.Sprintf("line %d: policy action must be a string, got %s", line, kindName(c)))
				continue
			}
			actions = append(actions, c.Value)
		}
		if len(errs) > 0 {
			return &yaml.TypeError{Errors: errs}
		}
		*p = Policy{Actions: actions}
		return nil
	default:
		return &yaml.TypeError{Errors: []string{fmt.Sprintf(
			"line %d: policy must be a preset (%s, %s, %s) or a list of action patterns, got %s",
			n.Line, PresetAdmin, PresetReadOnly, PresetIngest, kindName(n))}}
	}
}

// MarshalYAML encodes the policy as a scalar preset or a list of actions.
func (p Policy) MarshalYAML() (any, error) {
	if p.Actions != nil {
		return p.Actions, nil
	}
	return p.Preset, nil
}

// Bucket maps an S3 bucket name that trails may use to a real destination.
type Bucket struct {
	// Name is the bucket name trails refer to.
	Name string `yaml:"name"`
	// URL is the destination: file:///path or s3://bucket?endpoint=...
	URL string `yaml:"url"`
	// AccessKeyID is the access key id for an s3:// destination.
	AccessKeyID string `yaml:"access_key_id"`
	// SecretAccessKey is the secret access key for an s3:// destination.
	SecretAccessKey string `yaml:"secret_access_key"`
	// Account is the configured account that owns the bucket: its trails
	// may write here. It may be left out only when exactly one account is
	// configured (that account owns it); see [Config.OwnerOf].
	Account string `yaml:"account"`
	// Writers lists other accounts whose trails may write here too;
	// [OrganizationMembersWord] ("organization") stands for every member account of
	// the configured organization.
	Writers []string `yaml:"writers"`
}

// OrganizationMembersWord is the word that, in a bucket's writers or a KMS key's
// users, stands for every member account of the configured organization.
const OrganizationMembersWord = "organization"

// Delivery tunes log file and digest delivery.
type Delivery struct {
	// FlushInterval is how often buffered events are written as log files.
	FlushInterval Duration `yaml:"flush_interval"`
	// DigestInterval is how often digest files are written.
	DigestInterval Duration `yaml:"digest_interval"`
}

// Insights tunes the Insights engine.
type Insights struct {
	// BaselineWindow is how much history (by eventTime) an API's baseline
	// covers.
	BaselineWindow Duration `yaml:"baseline_window"`
	// Settle is how long after its end a minute is analysed: events that
	// arrive later count toward the baseline only.
	Settle Duration `yaml:"settle"`
	// MaxAPIs caps the APIs (eventSource, eventName and insight type)
	// tracked per account and region: the calls of further APIs are not
	// counted (and are counted in a metric) until an API with nothing left
	// in the baseline window is forgotten.
	MaxAPIs int `yaml:"max_apis"`
}

// Duration is a time.Duration written in YAML as a Go duration string such
// as "5s" or "1h".
type Duration struct{ time.Duration }

// UnmarshalYAML parses a duration string such as "5s" or "1h30m".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf(
			"line %d: expected a duration such as \"5s\" or \"1h\", got %s", n.Line, kindName(n))}}
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf(
			"line %d: invalid duration %q (want e.g. \"5s\", \"1h\")", n.Line, n.Value)}}
	}
	d.Duration = v
	return nil
}

// MarshalYAML encodes the duration as a string such as "5s".
func (d Duration) MarshalYAML() (any, error) {
	return d.String(), nil
}

// KMSKey is a KMS key trails may name for SSE-KMS encryption.
type KMSKey struct {
	// ARN is the key ARN, arn:<partition>:kms:<region>:<account>:key/<id>.
	ARN string `yaml:"arn"`
	// Account is the configured account that owns the key: its trails may
	// name it. It may be left out only when exactly one account is
	// configured; see [Config.OwnerOf].
	Account string `yaml:"account"`
	// Users lists other accounts whose trails may name the key too;
	// "organization" stands for every member account.
	Users []string `yaml:"users"`
	// Material is the key's secret (base64 of 32 bytes) that encrypts log
	// files in directory buckets. Without it, Cairn generates one on first
	// use and keeps it in <data_dir>/kms/; give it when several nodes or
	// offline tools must share it.
	Material string `yaml:"material"`
}

// Topic maps an SNS topic name that trails may use to a webhook URL.
type Topic struct {
	// Name is the SNS topic name.
	Name string `yaml:"name"`
	// Account is the configured account that owns the topic: only its
	// trails may name it. It may be left out only when exactly one account
	// is configured; see [Config.OwnerOf].
	Account string `yaml:"account"`
	// URL is the http(s) webhook notifications are posted to.
	URL string `yaml:"url"`
}

// LogGroup maps a CloudWatch Logs log group that trails may use to where
// its events go: a CloudWatch Logs API, an NDJSON file or an http(s)
// endpoint taking NDJSON POSTs.
type LogGroup struct {
	// ARN is the log group ARN,
	// arn:<partition>:logs:<region>:<account>:log-group:<name>[:*].
	ARN string `yaml:"arn"`
	// Account is the configured account that owns the log group.
	Account string `yaml:"account"`
	// URL is the destination: cloudwatch-logs://?endpoint=URL[&region=R]
	// (PutLogEvents to the group named in ARN), file:///path.ndjson or an
	// http(s) URL.
	URL string `yaml:"url"`
	// AccessKeyID and SecretAccessKey are the credentials of a
	// cloudwatch-logs:// destination (both or neither: neither uses the
	// AWS SDK's default credential chain).
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	// RotateBytes is the size at which a file:// destination is rotated
	// (default 100 MiB); KeepFiles is how many rotated files are kept
	// (default 5).
	RotateBytes int64 `yaml:"rotate_bytes"`
	KeepFiles   int   `yaml:"keep_files"`
}

// Limits bounds request sizes, rates and concurrency.
type Limits struct {
	// MaxBodyBytes is the largest request body accepted on /v1/events.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxBatchRecords is the largest number of events accepted in one batch.
	MaxBatchRecords int `yaml:"max_batch_records"`
	// RequestsPerSecond limits the requests of each access key (token
	// bucket, bursts of twice the rate); 0, the default, is unlimited.
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	// LookupsPerSecond limits LookupEvents per account and region (token
	// bucket, bursts of twice the rate); 0, the default, is unlimited.
	LookupsPerSecond float64 `yaml:"lookups_per_second"`
	// MaxInflightIngest bounds the /v1/events requests served at once;
	// beyond it requests are answered 429 with Retry-After.
	MaxInflightIngest int `yaml:"max_inflight_ingest"`
	// MaxInflightPerKey bounds the authenticated requests (API calls and
	// ingest) of one access key in flight, from the check of their
	// signature until their answer, bodies still arriving included; beyond
	// it requests are answered 429. It keeps one key from holding every
	// ingest slot or the memory of many slow bodies.
	MaxInflightPerKey int `yaml:"max_inflight_per_key"`
	// MaxInflightPerAddress bounds those requests of one client address
	// (an IPv4 address or an IPv6 /64), whatever keys they use.
	MaxInflightPerAddress int `yaml:"max_inflight_per_address"`
	// BodyReadTimeout is how long a request body may take to arrive once
	// its handler starts reading it; a slower body is answered
	// SerializationException and its connection closed.
	BodyReadTimeout Duration `yaml:"body_read_timeout"`
	// UnauthenticatedBodyBytes bounds the request body bytes buffered, over
	// every client, before their signatures are verified; beyond it a
	// request is answered 429 with Retry-After.
	UnauthenticatedBodyBytes int64 `yaml:"unauthenticated_body_bytes"`
	// UnauthenticatedBytesPerAddress bounds those bytes for one client
	// address (an IPv4 address or an IPv6 /64); at least max_body_bytes.
	UnauthenticatedBytesPerAddress int64 `yaml:"unauthenticated_bytes_per_address"`
	// UnauthenticatedBytesPerKey bounds those bytes for the requests that
	// name one access key (console forms count as one key); at least
	// max_body_bytes. A request is given bytes only once it names a
	// configured key with a current X-Amz-Date; the key id is not a
	// secret, so this is what a stranger who knows it can hold.
	UnauthenticatedBytesPerKey int64 `yaml:"unauthenticated_bytes_per_key"`
	// UnauthenticatedRequestsPerAddress bounds the requests of one client
	// address whose bodies are read before their signatures are verified.
	UnauthenticatedRequestsPerAddress int `yaml:"unauthenticated_requests_per_address"`
}

// commercialRegions are AWS's commercial regions, the default for regions.
var commercialRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	"af-south-1",
	"ap-east-1",
	"ap-south-1", "ap-south-2",
	"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ca-central-1", "ca-west-1",
	"eu-central-1", "eu-central-2",
	"eu-west-1", "eu-west-2", "eu-west-3",
	"eu-north-1",
	"eu-south-1", "eu-south-2",
	"il-central-1",
	"me-central-1", "me-south-1",
	"sa-east-1",
	"mx-central-1",
	"ap-southeast-5", "ap-southeast-7",
}

// Default returns the default configuration: listen 127.0.0.1:4590,
// data_dir ./cairn-data, partition aws, AWS's commercial regions with
// us-east-1 as the global region, 90 days of event history, the sqlite
// store, a 5s flush interval, a 1h digest interval, and limits of 8 MiB per
// request body, 1000 records per batch and 64 ingest requests in flight,
// without rate limits, 16 authenticated requests in flight per access key
// and 32 per client address; bodies read before authentication bounded to
// 64 MiB in all, 8 MiB per access key named, 16 MiB and 16 requests per
// client address, each arriving within 10s; and console sign-ins slowed after 5 failures per access key and
// address or 100 per address (waits of 30s doubling up to 15m). It has no
// accounts. Each call returns a new value.
func Default() *Config {
	return &Config{
		Listen:           "127.0.0.1:4590",
		DataDir:          "./cairn-data",
		Partition:        "aws",
		Regions:          append([]string(nil), commercialRegions...),
		GlobalRegion:     "us-east-1",
		EventHistoryDays: 90,
		Store:            Store{Driver: DriverSQLite},
		Delivery: Delivery{
			FlushInterval:  Duration{5 * time.Second},
			DigestInterval: Duration{time.Hour},
		},
		Insights: Insights{BaselineWindow: Duration{168 * time.Hour}, Settle: Duration{time.Minute}, MaxAPIs: 10000},
		Tail:     defaultTail(),
		Lake:     defaultLake(),
		Limits: Limits{
			MaxBodyBytes:      8 << 20,
			MaxBatchRecords:   1000,
			MaxInflightIngest: 64,

			BodyReadTimeout:                   Duration{10 * time.Second},
			UnauthenticatedBodyBytes:          64 << 20,
			UnauthenticatedBytesPerAddress:    16 << 20,
			UnauthenticatedBytesPerKey:        8 << 20,
			UnauthenticatedRequestsPerAddress: 16,
			MaxInflightPerKey:                 16,
			MaxInflightPerAddress:             32,
		},
		Console: Console{SignIn: SignIn{
			FailuresPerKey:     5,
			FailuresPerAddress: 100,
			FirstWait:          Duration{30 * time.Second},
			MaxWait:            Duration{15 * time.Minute},
		},
			SessionTTL: Duration{8 * time.Hour},
		},
	}
}

// Load reads the configuration file at path, applies defaults for absent
// fields, expands ${VAR} references and validates the result. Errors other
// than failing to read the file have the form "<path>:<line>: <reason>".
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Account returns the configured account with the given id.
func (c *Config) Account(id string) (*Account, bool) {
	for i := range c.Accounts {
		if c.Accounts[i].ID == id {
			return &c.Accounts[i], true
		}
	}
	return nil, false
}

// Ownership is what the ownership rules of buckets, KMS keys and topics
// read of a configuration: the configured accounts and the organization.
// Packages that apply those rules take an Ownership rather than the whole
// Config.
type Ownership struct {
	// Accounts are the ids of the configured accounts.
	Accounts []string
	// Organization is the configured organization, or nil.
	Organization *Organization
}

// Ownership returns the accounts and organization of c.
func (c *Config) Ownership() Ownership {
	ids := make([]string, len(c.Accounts))
	for i, a := range c.Accounts {
		ids[i] = a.ID
	}
	return Ownership{Accounts: ids, Organization: c.Organization}
}

// OwnerOf returns the owner of a bucket, KMS key or topic whose account:
// field says account: see [Ownership.OwnerOf].
func (c *Config) OwnerOf(account string) string { return c.Ownership().OwnerOf(account) }

// Permits reports whether a trail of account may use what owner owns with
// grants: see [Ownership.Permits].
func (c *Config) Permits(owner string, grants []string, account string) bool {
	return c.Ownership().Permits(owner, grants, account)
}

// OrganizationMembers returns the ids of the organization's member
// accounts: see [Ownership.OrganizationMembers].
func (c *Config) OrganizationMembers() []string { return c.Ownership().OrganizationMembers() }

// OwnerOf returns the owner of a bucket, KMS key or topic whose account:
// field says account: that account when set; otherwise the only configured
// account when there is exactly one, else "" (validation refuses that).
func (o Ownership) OwnerOf(account string) string {
	if account == "" && len(o.Accounts) == 1 {
		return o.Accounts[0]
	}
	return account
}

// Permits reports whether a trail of account may use a bucket, KMS key or
// topic owned by owner (its account: field, see [Ownership.OwnerOf]) whose
// writers: or users: list is grants. [OrganizationMembersWord] in grants admits every
// member account of the configured organization.
func (o Ownership) Permits(owner string, grants []string, account string) bool {
	if account == "" {
		return false
	}
	if o.OwnerOf(owner) == account {
		return true
	}
	for _, g := range grants {
		switch {
		case g == account:
			return true
		case g == OrganizationMembersWord && o.Organization != nil:
			for _, m := range o.OrganizationMembers() {
				if m == account {
					return true
				}
			}
		}
	}
	return false
}

// OrganizationMembers returns the ids of the organization's member accounts:
// nil without an organization; every configured account when
// organization.members is empty; otherwise the listed members plus the
// management account.
func (o Ownership) OrganizationMembers() []string {
	org := o.Organization
	if org == nil {
		return nil
	}
	if len(org.Members) == 0 {
		return append([]string(nil), o.Accounts...)
	}
	var ids []string
	hasMgmt := false
	for _, m := range org.Members {
		ids = append(ids, m)
		if m == org.ManagementAccount {
			hasMgmt = true
		}
	}
	if !hasMgmt && org.ManagementAccount != "" {
		ids = append([]string{org.ManagementAccount}, ids...)
	}
	return ids
}

// FromEnv builds the quick-start config: base (Default() when nil) plus one
// account (accountID) with user "admin" (policy admin) holding the key pair.
// If base already configures accountID, its "admin" user is replaced (or
// added); otherwise the account is appended. base is not modified. The
// result is not validated; call [Config.Validate].
func FromEnv(base *Config, accountID, accessKeyID, secret string) *Config {
	if base == nil {
		base = Default()
	}
	c := *base
	c.Accounts = make([]Account, len(base.Accounts))
	for i, a := range base.Accounts {
		a.Users = append([]User(nil), a.Users...)
		c.Accounts[i] = a
	}
	admin := User{
		Name:       "admin",
		AccessKeys: []AccessKey{{ID: accessKeyID, Secret: secret}},
		Policy:     Policy{Preset: PresetAdmin},
	}
	acct, ok := c.Account(accountID)
	if !ok {
		c.Accounts = append(c.Accounts, Account{ID: accountID})
		acct = &c.Accounts[len(c.Accounts)-1]
	}
	for i := range acct.Users {
		if acct.Users[i].Name == admin.Name {
			acct.Users[i] = admin
			return &c
		}
	}
	acct.Users = append(acct.Users, admin)
	return &c
}
