// Package trail provides CloudTrail trails: the trail model, the naming and
// ARN rules, event selectors compiled into matchers, and the control plane
// (CreateTrail … ListTags) with CloudTrail's rules for home regions, shadow
// trails, organization trails, limits and tags.
package trail

import (
	"net"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cairn-audit/cairn/internal/awsproto"
)

// Trail is a trail as Cairn stores it.
type Trail struct {
	// ID tells this trail from an earlier one of the same ARN.
	ID                         string `json:",omitempty"`
	Account                    string
	HomeRegion                 string
	Name                       string
	ARN                        string
	S3BucketName               string
	S3KeyPrefix                string `json:",omitempty"`
	SnsTopicName               string `json:",omitempty"`
	SnsTopicARN                string `json:",omitempty"`
	IncludeGlobalServiceEvents bool
	IsMultiRegionTrail         bool
	LogFileValidationEnabled   bool
	CloudWatchLogsLogGroupArn  string `json:",omitempty"`
	CloudWatchLogsRoleArn      string `json:",omitempty"`
	KmsKeyId                   string `json:",omitempty"`
	IsOrganizationTrail        bool
	// OrganizationID is set on organization trails (the o-… of the key layout).
	OrganizationID         string                  `json:",omitempty"`
	EventSelectors         []EventSelector         `json:",omitempty"`
	AdvancedEventSelectors []AdvancedEventSelector `json:",omitempty"`
	InsightSelectors       []InsightSelector       `json:",omitempty"`
	Tags                   []Tag                   `json:",omitempty"`
	IsLogging              bool
	// LoggingEpoch counts StartLogging calls; StartSeq is the event log's
	// position at the latest one: delivery takes events after it.
	LoggingEpoch int64 `json:",omitempty"`
	StartSeq     int64 `json:",omitempty"`
	// StopSeq is the log's position at the latest StopLogging: events up
	// to it were recorded while the trail logged, and are delivered.
	StopSeq          int64     `json:",omitempty"`
	StartLoggingTime time.Time `json:",omitzero"`
	StopLoggingTime  time.Time `json:",omitzero"`
	Created          time.Time
	// Version counts changes, for optimistic concurrency in the store.
	Version int64 `json:"-"`
}

// Tag is a trail tag.
type Tag struct {
	Key   *string
	Value *string `json:",omitempty"`
}

// IsShadowIn reports whether the trail appears in region only as a shadow:
// a multi-region or organization trail whose home is elsewhere.
func (t *Trail) IsShadowIn(region string) bool { return t.HomeRegion != region }

// HasCustomSelectors reports whether the selectors differ from the default.
func (t *Trail) HasCustomSelectors() bool {
	if len(t.AdvancedEventSelectors) > 0 {
		return true
	}
	if len(t.EventSelectors) == 0 {
		return false
	}
	if len(t.EventSelectors) > 1 {
		return true
	}
	s := NormalizeBasic(t.EventSelectors)[0]
	return *s.ReadWriteType != "All" || !*s.IncludeManagementEvents || len(s.DataResources) > 0 || len(s.ExcludeManagementEventSources) > 0
}

// ARN returns a trail's ARN.
func ARN(partition, region, account, name string) string {
	return "arn:" + partition + ":cloudtrail:" + region + ":" + account + ":trail/" + name
}

// ParsedARN is a trail ARN's parts.
type ParsedARN struct {
	Partition, Region, Account, Name string
}

// ParseARN reads a trail ARN; a malformed one is CloudTrailARNInvalidException.
func ParseARN(arn string) (ParsedARN, error) {
	parts := strings.SplitN(arn, ":", 6)
	bad := awsproto.Errorf(awsproto.CloudTrailARNInvalidException, "%q is not a valid trail ARN; a trail ARN looks like arn:aws:cloudtrail:us-east-2:123456789012:trail/MyTrail.", arn)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "cloudtrail" || parts[3] == "" || !isAccountID(parts[4]) {
		return ParsedARN{}, bad
	}
	name, ok := strings.CutPrefix(parts[5], "trail/")
	if !ok || name == "" {
		return ParsedARN{}, bad
	}
	if err := ValidateName(name); err != nil {
		return ParsedARN{}, err
	}
	return ParsedARN{Partition: parts[1], Region: parts[3], Account: parts[4], Name: name}, nil
}

// IsARN reports whether a Name parameter is given as an ARN.
func IsARN(s string) bool { return strings.HasPrefix(s, "arn:") }

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ValidateName applies CloudTrail's trail name rules.
func ValidateName(name string) error {
	bad := func(format string, args ...any) error {
		return awsproto.Errorf(awsproto.InvalidTrailNameException, format, args...)
	}
	switch {
	case len(name) < 3:
		return bad("Trail name too short. Minimum allowed length: 3 characters. Specified name length: %d characters.", len(name))
	case len(name) > 128:
		return bad("Trail name too long. Maximum allowed length: 128 characters. Specified name length: %d characters.", len(name))
	case !isAlnum(name[0]):
		return bad("Trail name must starts with a letter or number.")
	case !isAlnum(name[len(name)-1]):
		return bad("Trail name must ends with a letter or number.")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return bad("Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).")
		}
		if i > 0 && !isAlnum(c) && !isAlnum(name[i-1]) {
			return bad("Trail name cannot contain adjacent periods, underscores or dashes (%q).", name[i-1:i+1])
		}
	}
	if net.ParseIP(name) != nil {
		return bad("Trail name cannot be in IP address format.")
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ValidateBucketName applies S3's bucket naming rules.
func ValidateBucketName(name string) error {
	bad := func(why string) error {
		return awsproto.Errorf(awsproto.InvalidS3BucketNameException, "Bucket name %q is not valid: %s.", name, why)
	}
	if len(name) < 3 || len(name) > 63 {
		return bad("it must be 3 to 63 characters long")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return bad("it may contain only lowercase letters, numbers, periods and hyphens")
		}
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return bad("it must begin and end with a letter or number")
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return bad("it must not contain adjacent periods or a period next to a hyphen")
	}
	if net.ParseIP(name) != nil {
		return bad("it must not be formatted as an IP address")
	}
	return nil
}

// ValidatePrefix checks an S3 key prefix: at most 200 characters (the
// model's limit), and nothing that would put a file outside the trail's own
// place, [prefix/]AWSLogs/[<org-id>/]<account>/…: no AWSLogs segment (in any
// case: on a case-insensitive file system it is the same folder), so that a
// prefix cannot reach into another account's or trail's keys; no empty, "."
// or ".." segment, no leading or trailing "/", no backslash or control
// character; and no segment starting with ".cairn-", the names a directory
// bucket keeps for itself.
func ValidatePrefix(p string) error {
	bad := func(why string) error {
		return awsproto.Errorf(awsproto.InvalidS3PrefixException, "S3 key prefix %q is not valid: %s.", p, why)
	}
	if len(p) > 200 {
		return bad("it must be at most 200 characters long")
	}
	if p == "" {
		return nil
	}
	if !utf8.ValidString(p) {
		return bad("it must be UTF-8")
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return bad("it must not contain control characters or backslashes")
		}
	}
	if strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return bad("it must not begin or end with /")
	}
	for _, seg := range strings.Split(p, "/") {
		switch {
		case seg == "":
			return bad("it must not contain empty path segments")
		case seg == ".." || seg == ".":
			return bad("it must not contain . or .. path segments")
		case strings.EqualFold(seg, "AWSLogs"):
			return bad("AWSLogs is a reserved name: CloudTrail adds AWSLogs/<account>/ after the prefix")
		case strings.HasPrefix(strings.ToLower(seg), ".cairn-"):
			return bad("path segments starting with .cairn- are reserved")
		}
	}
	return nil
}

// ValidateTags applies the tag rules: at most 50 tags, keys 1–128 and values
// 0–256 characters of letters, digits, spaces and _ . : / = + - @, keys unique
// and not starting with aws:.
func ValidateTags(tags []Tag) error {
	if len(tags) > 50 {
		return awsproto.Errorf(awsproto.TagsLimitExceededException, "The number of tags exceeds the limit of 50; got %d.", len(tags))
	}
	seen := map[string]bool{}
	for i, t := range tags {
		if t.Key == nil || len(*t.Key) < 1 || len(*t.Key) > 128 {
			return awsproto.Errorf(awsproto.InvalidTagParameterException, "Tag %d: the key must be 1 to 128 characters long.", i+1)
		}
		k := *t.Key
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return awsproto.Errorf(awsproto.InvalidTagParameterException, "Tag key %q: keys beginning with aws: are reserved.", k)
		}
		if !tagChars(k) {
			return awsproto.Errorf(awsproto.InvalidTagParameterException, "Tag key %q may contain only letters, numbers, spaces and _ . : / = + - @.", k)
		}
		if t.Value != nil && (len(*t.Value) > 256 || !tagChars(*t.Value)) {
			return awsproto.Errorf(awsproto.InvalidTagParameterException, "Tag value of key %q must be at most 256 characters of letters, numbers, spaces and _ . : / = + - @.", k)
		}
		if seen[k] {
			return awsproto.Errorf(awsproto.InvalidTagParameterException, "Tag key %q is given more than once.", k)
		}
		seen[k] = true
	}
	return nil
}

func tagChars(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune(" _.:/=+-@", r):
		case r > 127: // letters and digits of other scripts
		default:
			return false
		}
	}
	return true
}

// notFound is the TrailNotFoundException CloudTrail answers for a name.
func notFound(nameOrARN, account string) error {
	return awsproto.Errorf(awsproto.TrailNotFoundException, "Unknown trail: %s for the user: %s", nameOrARN, account)
}

// CoveredRegions are the regions a trail records (and keeps a digest chain
// for): every served region for a multi-region trail, else its home region.
// Delivery and `cairn verify`'s coverage answer share this rule.
func CoveredRegions(multiRegion bool, home string, served []string) []string {
	if multiRegion && len(served) > 0 {
		return served
	}
	return []string{home}
}

// CoveredAccounts are the accounts whose events a trail takes (and keeps a
// digest chain for): every member for an organization trail, else its own.
func CoveredAccounts(organization bool, own string, members []string) []string {
	if organization && len(members) > 0 {
		return members
	}
	return []string{own}
}
