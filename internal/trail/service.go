package trail

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/google/uuid"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/store"
)

// MaxTrailsPerRegion is CloudTrail's limit of trails per account and region.
const MaxTrailsPerRegion = 5

// listPageSize is how many trails a ListTrails page holds.
const listPageSize = 10

// Caller is who asks, and in which region (the SigV4 scope's).
type Caller struct {
	Account string
	Region  string
}

// DeliveryStatus is what delivery reports about a trail in one region, for
// GetTrailStatus.
type DeliveryStatus struct {
	LatestDeliveryTime                time.Time
	LatestDeliveryAttemptTime         time.Time
	LatestDeliveryError               string
	LatestNotificationTime            time.Time
	LatestNotificationAttemptTime     time.Time
	LatestNotificationError           string
	LatestDigestDeliveryTime          time.Time
	LatestDigestDeliveryError         string
	LatestCloudWatchLogsDeliveryTime  time.Time
	LatestCloudWatchLogsDeliveryError string
}

// StatusSource reports delivery status; the delivery engine provides it,
// and the API adds it to a trail's GetTrailStatus.
type StatusSource interface {
	DeliveryStatus(ctx context.Context, t *Trail, region string) (DeliveryStatus, error)
}

// Buckets says which bucket names exist (the bucket resolver).
type Buckets interface {
	Exists(name string) bool
}

// Store is what the control plane keeps in the event store: the trail
// table, the bucket claims, and the log's last sequence number (where a
// trail starts or stops logging).
type Store interface {
	store.TrailTable
	store.Sizer
	ClaimDocs
}

// Options are what the control plane reads of the configuration.
type Options struct {
	// OwnersOptions are the destinations trails may name and who owns them.
	OwnersOptions
	// Partition is the ARN partition; "" means aws.
	Partition string
	// Regions are the served regions (where a multi-region trail appears).
	Regions []string
	// LogGroups are the CloudWatch Logs log groups trails may name.
	LogGroups []config.LogGroup
}

// Service is the trail control plane.
type Service struct {
	store   Store
	buckets Buckets
	opts    Options
	now     func() time.Time
	owners  *Owners
	mu      sync.Mutex // serializes this node's changes (the store's versions guard across nodes)
}

// NewService makes the control plane over st with o's keys, topics, log
// groups and organization, and the buckets that exist.
func NewService(st Store, o Options, buckets Buckets) *Service {
	s := &Service{store: st, opts: o, buckets: buckets, now: time.Now}
	s.owners = NewOwners(o.OwnersOptions, st, s)
	return s
}

// All returns every stored trail.
func (s *Service) All(ctx context.Context) ([]*Trail, error) {
	rows, err := s.store.Trails(ctx)

	if err != nil {
		return nil, err
	}
	out := make([]*Trail, 0, len(rows))
	for _, r := range rows {
		var t Trail
		if err := json.Unmarshal(r.Doc, &t); err != nil {
			return nil, fmt.Errorf("trail: stored trail %s: %w", r.ARN, err)
		}
		t.Version = r.Version
		out = append(out, &t)
	}
	return out, nil
}

// ClaimUsedBuckets stores the owner of every unlisted bucket that stored
// trails name (see Owners.ClaimNamedBuckets); the server calls it at start.
func (s *Service) ClaimUsedBuckets(ctx context.Context) error {
	return s.owners.ClaimNamedBuckets(ctx)
}

func (s *Service) partition() string {
	if s.opts.Partition == "" {
		return "aws"
	}
	return s.opts.Partition
}

// member reports whether account belongs to the configured organization.
func (s *Service) member(account string) bool {
	return slices.Contains(s.opts.Ownership.OrganizationMembers(), account)
}

// visible reports whether c sees t in its region: its own trails of the
// region, its own multi-region trails (shadows elsewhere), and the
// organization's trails when c's account is a member.
func (s *Service) visible(c Caller, t *Trail) bool {
	here := t.HomeRegion == c.Region || t.IsMultiRegionTrail
	if t.Account == c.Account {
		return here
	}
	return here && t.IsOrganizationTrail && s.member(c.Account)
}

// owned reports whether c may see t in any region: its own trail, or its
// organization's trail for a member.
func (s *Service) owned(c Caller, t *Trail) bool {
	return t.Account == c.Account || t.IsOrganizationTrail && s.member(c.Account)
}

// access is what an operation needs of the trail it names.
type access int

const (
	readAny   access = iota // shadows too (GetTrail, GetTrailStatus)
	readHome                // only in the home region (GetEventSelectors…)
	writeHome               // changes: home region, owner only
)

// resolve finds the trail a Name parameter (name or ARN) means for c.
func (s *Service) resolve(ctx context.Context, c Caller, nameOrARN string, a access) (*Trail, error) {
	if nameOrARN == "" {
		return nil, awsproto.Errorf(awsproto.InvalidTrailNameException, "A trail name or ARN is required.")
	}
	all, err := s.All(ctx)
	if err != nil {
		return nil, err
	}
	// A name means the caller's own trail of the caller's region, as
	// CloudTrail reads it: shadows and organization trails are reached
	// by ARN only.
	if !IsARN(nameOrARN) {
		if err := ValidateName(nameOrARN); err != nil {
			return nil, err
		}
		nameOrARN = ARN(s.partition(), c.Region, c.Account, nameOrARN)
	}
	p, err := ParseARN(nameOrARN)
	if err != nil {
		return nil, err
	}
	var found *Trail
	for _, t := range all {
		if t.ARN == nameOrARN {
			found = t
		}
	}
	switch {
	case found == nil:
		return nil, notFound(nameOrARN, c.Account)
	case !s.visible(c, found) && found.Account == c.Account && p.Region != c.Region:
		return nil, awsproto.Errorf(awsproto.CloudTrailARNInvalidException, "Region in ARN is wrong, you can only access resources in region %s.", c.Region)
	case !s.visible(c, found):
		return nil, notFound(nameOrARN, c.Account)
	}
	switch a {
	case readHome:
		if found.IsShadowIn(c.Region) {
			return nil, notFound(nameOrARN, c.Account)
		}
	case writeHome:
		if found.Account != c.Account {
			return nil, awsproto.Errorf(awsproto.NotOrganizationMasterAccountException,
				"Trail %s belongs to the organization's management account %s; only that account can change it.", found.ARN, found.Account)
		}
		if found.IsShadowIn(c.Region) {
			return nil, awsproto.Errorf(awsproto.InvalidHomeRegionException,
				"This operation must be called from the trail's home region, %s.", found.HomeRegion)
		}
	}
	return found, nil
}

// save writes a trail, creating it when create is set.
func (s *Service) save(ctx context.Context, t *Trail, create bool) error {
	doc, err := json.Marshal(t)
	if err != nil {
		return err
	}
	expect := t.Version
	if create {
		expect = 0
	}
	v, err := s.store.PutTrail(ctx, store.TrailRow{ARN: t.ARN, Account: t.Account, Region: t.HomeRegion, Name: t.Name, Doc: doc}, expect)
	switch {
	case errors.Is(err, store.ErrExists):
		return awsproto.Errorf(awsproto.TrailAlreadyExistsException, "Trail %s already exists for the user: %s", t.Name, t.Account)
	case errors.Is(err, store.ErrConflict):
		return awsproto.Errorf(awsproto.ConflictException, "Trail %s changed while this request ran; retry.", t.Name)
	case errors.Is(err, store.ErrNotFound):
		return notFound(t.ARN, t.Account)
	case err != nil:
		return err
	}
	t.Version = v
	return nil
}

// CreateTrailInput is CreateTrailRequest. Members left out are nil, and
// are left out when the request is encoded (for the audit record of a
// typed call).
type CreateTrailInput struct {
	Name                       *string `json:",omitempty"`
	S3BucketName               *string `json:",omitempty"`
	S3KeyPrefix                *string `json:",omitempty"`
	SnsTopicName               *string `json:",omitempty"`
	IncludeGlobalServiceEvents *bool   `json:",omitempty"`
	IsMultiRegionTrail         *bool   `json:",omitempty"`
	EnableLogFileValidation    *bool   `json:",omitempty"`
	CloudWatchLogsLogGroupArn  *string `json:",omitempty"`
	CloudWatchLogsRoleArn      *string `json:",omitempty"`
	KmsKeyId                   *string `json:",omitempty"`
	IsOrganizationTrail        *bool   `json:",omitempty"`
	TagsList                   []Tag   `json:",omitempty"`
}

// UpdateTrailInput is UpdateTrailRequest, its members as CreateTrailInput's.
type UpdateTrailInput struct {
	Name                       *string `json:",omitempty"`
	S3BucketName               *string `json:",omitempty"`
	S3KeyPrefix                *string `json:",omitempty"`
	SnsTopicName               *string `json:",omitempty"`
	IncludeGlobalServiceEvents *bool   `json:",omitempty"`
	IsMultiRegionTrail         *bool   `json:",omitempty"`
	EnableLogFileValidation    *bool   `json:",omitempty"`
	CloudWatchLogsLogGroupArn  *string `json:",omitempty"`
	CloudWatchLogsRoleArn      *string `json:",omitempty"`
	KmsKeyId                   *string `json:",omitempty"`
	IsOrganizationTrail        *bool   `json:",omitempty"`
}

// settings are the configurable parts shared by CreateTrail and UpdateTrail.
type settings struct {
	S3BucketName, S3KeyPrefix, SnsTopicName                                 *string
	IncludeGlobalServiceEvents, IsMultiRegionTrail, EnableLogFileValidation *bool
	CloudWatchLogsLogGroupArn, CloudWatchLogsRoleArn, KmsKeyId              *string
	IsOrganizationTrail                                                     *bool
}

// apply validates the settings and writes them into t, in CloudTrail's
// order of checks.
func (s *Service) apply(ctx context.Context, c Caller, t *Trail, in settings, creating bool) error {
	wasMulti := t.IsMultiRegionTrail
	if in.IsMultiRegionTrail != nil {
		t.IsMultiRegionTrail = *in.IsMultiRegionTrail
	}
	switch {
	case in.IncludeGlobalServiceEvents != nil:
		t.IncludeGlobalServiceEvents = *in.IncludeGlobalServiceEvents
	case t.IsMultiRegionTrail && !wasMulti:
		t.IncludeGlobalServiceEvents = true
	case !creating && wasMulti && !t.IsMultiRegionTrail:
		t.IncludeGlobalServiceEvents = false
	}
	if t.IsMultiRegionTrail && !t.IncludeGlobalServiceEvents {
		return awsproto.Errorf(awsproto.InvalidParameterCombinationException, "Multi-Region trail must include global service events.")
	}
	if in.S3BucketName != nil {
		if err := ValidateBucketName(*in.S3BucketName); err != nil {
			return err
		}
		if !s.buckets.Exists(*in.S3BucketName) {
			return awsproto.Errorf(awsproto.S3BucketDoesNotExistException, "S3 bucket %s does not exist!", *in.S3BucketName)
		}
		if err := s.owners.CheckBucket(ctx, *in.S3BucketName, c.Account, t.IsOrganizationTrail); err != nil {
			return err
		}
		t.S3BucketName = *in.S3BucketName
	}
	if in.S3KeyPrefix != nil {
		if err := ValidatePrefix(*in.S3KeyPrefix); err != nil {
			return err
		}
		t.S3KeyPrefix = *in.S3KeyPrefix
	}
	if in.SnsTopicName != nil {
		if *in.SnsTopicName == "" {
			t.SnsTopicName, t.SnsTopicARN = "", ""
		} else {
			arn, err := s.resolveTopic(c, *in.SnsTopicName)
			if err != nil {
				return err
			}
			if err := s.owners.CheckTopic(arn, c.Account, t.IsOrganizationTrail); err != nil {
				return err
			}
			t.SnsTopicName, t.SnsTopicARN = *in.SnsTopicName, arn
		}
	}
	if in.EnableLogFileValidation != nil {
		t.LogFileValidationEnabled = *in.EnableLogFileValidation
	}
	if in.KmsKeyId != nil {
		if *in.KmsKeyId == "" {
			t.KmsKeyId = ""
		} else {
			arn, err := s.resolveKMS(c, *in.KmsKeyId)
			if err != nil {
				return err
			}
			if err := s.owners.CheckKMSKey(t.S3BucketName, arn, c.Account, t.IsOrganizationTrail); err != nil {
				return err
			}
			t.KmsKeyId = arn
		}
	}
	if in.CloudWatchLogsLogGroupArn != nil {
		t.CloudWatchLogsLogGroupArn = *in.CloudWatchLogsLogGroupArn
	}
	if in.CloudWatchLogsRoleArn != nil {
		t.CloudWatchLogsRoleArn = *in.CloudWatchLogsRoleArn
	}
	if err := s.checkCloudWatch(c, t); err != nil {
		return err
	}
	if in.IsOrganizationTrail != nil {
		if *in.IsOrganizationTrail {
			org := s.opts.Ownership.Organization
			if org == nil {
				return awsproto.Errorf(awsproto.OrganizationsNotInUseException, "This account is not part of an organization; configure organization: to create organization trails.")
			}
			if c.Account != org.ManagementAccount {
				return awsproto.Errorf(awsproto.NotOrganizationMasterAccountException, "Account %s is not the management account of organization %s; only %s can create organization trails.", c.Account, org.ID, org.ManagementAccount)
			}
			t.OrganizationID = org.ID
		} else {
			t.OrganizationID = ""
		}
		t.IsOrganizationTrail = *in.IsOrganizationTrail
	}
	return nil
}

var topicNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func (s *Service) resolveTopic(c Caller, nameOrARN string) (string, error) {
	name, account, region := nameOrARN, c.Account, c.Region
	if strings.HasPrefix(nameOrARN, "arn:") {
		parts := strings.Split(nameOrARN, ":")
		if len(parts) != 6 || parts[2] != "sns" || !isAccountID(parts[4]) {
			return "", awsproto.Errorf(awsproto.InvalidSnsTopicNameException, "%q is not a valid SNS topic ARN.", nameOrARN)
		}
		region, account, name = parts[3], parts[4], parts[5]
	}
	if len(nameOrARN) > 256 || !topicNameRE.MatchString(name) {
		return "", awsproto.Errorf(awsproto.InvalidSnsTopicNameException, "SNS topic name %q is not valid: use 1 to 256 letters, numbers, hyphens and underscores.", name)
	}
	for _, tp := range s.opts.Topics {
		if tp.Name == name && s.opts.Ownership.OwnerOf(tp.Account) == account {
			return "arn:" + s.partition() + ":sns:" + region + ":" + account + ":" + name, nil
		}
	}
	return "", awsproto.Errorf(awsproto.InsufficientSnsTopicPolicyException, "SNS Topic does not exist or the topic policy is incorrect! (topic %s of account %s is not configured under topics:)", name, account)
}

var (
	kmsKeyIDRE = regexp.MustCompile(`^(mrk-[0-9a-f]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$`)
	kmsARNRE   = regexp.MustCompile(`^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+$`)
)

// resolveKMS turns a KmsKeyId (key ARN, key id, alias) into the configured
// key's ARN.
func (s *Service) resolveKMS(c Caller, id string) (string, error) {
	switch {
	case kmsARNRE.MatchString(id):
		for _, k := range s.opts.KMSKeys {
			if k.ARN == id {
				return k.ARN, nil
			}
		}
	case strings.HasPrefix(id, "alias/") && len(id) > len("alias/"):
	case kmsKeyIDRE.MatchString(id):
		// A bare key id names a key of the caller's account and region.
		want := "arn:" + s.partition() + ":kms:" + c.Region + ":" + c.Account + ":key/" + id
		for _, k := range s.opts.KMSKeys {
			if k.ARN == want {
				return k.ARN, nil
			}
		}
	default:
		return "", awsproto.Errorf(awsproto.InvalidKmsKeyIdException, "KmsKeyId %q is not a key ARN, key id, alias name or alias ARN.", id)
	}
	return "", awsproto.Errorf(awsproto.KmsKeyNotFoundException, "KMS key %s does not exist (it is not configured under kms_keys:).", id)
}

var roleARNRE = regexp.MustCompile(`^arn:[a-z-]+:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)

func (s *Service) checkCloudWatch(c Caller, t *Trail) error {
	g, r := t.CloudWatchLogsLogGroupArn, t.CloudWatchLogsRoleArn
	if g == "" && r == "" {
		return nil
	}
	if g == "" {
		return awsproto.Errorf(awsproto.InvalidCloudWatchLogsLogGroupArnException, "CloudWatchLogsRoleArn needs CloudWatchLogsLogGroupArn.")
	}
	if r == "" {
		return awsproto.Errorf(awsproto.InvalidCloudWatchLogsRoleArnException, "CloudWatchLogsLogGroupArn needs CloudWatchLogsRoleArn.")
	}
	if !roleARNRE.MatchString(r) {
		return awsproto.Errorf(awsproto.InvalidCloudWatchLogsRoleArnException, "%q is not an IAM role ARN.", r)
	}
	if strings.Split(r, ":")[4] != c.Account {
		return awsproto.Errorf(awsproto.InvalidCloudWatchLogsRoleArnException, "Role %s is not a role of account %s.", r, c.Account)
	}
	norm := func(a string) string { return strings.TrimSuffix(a, ":*") }
	for _, lg := range s.opts.LogGroups {
		if norm(lg.ARN) == norm(g) && s.opts.Ownership.OwnerOf(lg.Account) == c.Account && strings.Split(lg.ARN, ":")[4] == c.Account {
			return nil
		}
	}
	return awsproto.Errorf(awsproto.InvalidCloudWatchLogsLogGroupArnException, "Log group %s does not exist (it is not configured under log_groups:).", g)
}

// CreateTrail implements the operation.
func (s *Service) CreateTrail(ctx context.Context, c Caller, in CreateTrailInput) (*Trail, error) {
	name := deref(in.Name)
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if in.S3BucketName == nil {
		return nil, awsproto.Errorf(awsproto.InvalidS3BucketNameException, "S3BucketName is required.")
	}
	t := &Trail{ID: uuid.NewString(), Account: c.Account, HomeRegion: c.Region, Name: name, ARN: ARN(s.partition(), c.Region, c.Account, name),
		IncludeGlobalServiceEvents: true, Created: s.now().UTC()}
	if err := s.apply(ctx, c, t, settings{in.S3BucketName, in.S3KeyPrefix, in.SnsTopicName, in.IncludeGlobalServiceEvents,
		in.IsMultiRegionTrail, in.EnableLogFileValidation, in.CloudWatchLogsLogGroupArn, in.CloudWatchLogsRoleArn,
		in.KmsKeyId, in.IsOrganizationTrail}, true); err != nil {
		return nil, err
	}
	if err := ValidateTags(in.TagsList); err != nil {
		return nil, err
	}
	t.Tags = in.TagsList
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.All(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.checkRoom(c, all, t); err != nil {
		return nil, err
	}
	for _, o := range all {
		if o.ARN == t.ARN {
			return nil, awsproto.Errorf(awsproto.TrailAlreadyExistsException, "Trail %s already exists for the user: %s", t.Name, t.Account)
		}
	}
	if err := s.claimAndSave(ctx, t, true); err != nil {
		return nil, err
	}
	return t, nil
}

// claimAndSave saves t once every other check has passed: it claims t's
// bucket (and checks its prefix and KMS key, as delivery will), then writes
// t; a claim it made for a trail that could not be saved is taken back, so
// that a refused request owns nothing.
func (s *Service) claimAndSave(ctx context.Context, t *Trail, create bool) error {
	if err := ValidatePrefix(t.S3KeyPrefix); err != nil {
		return err
	}
	created, err := s.owners.ClaimBucket(ctx, t.S3BucketName, t.Account, t.IsOrganizationTrail)
	if err != nil {
		return err
	}
	if t.KmsKeyId != "" {
		err = s.owners.CheckKMSKey(t.S3BucketName, t.KmsKeyId, t.Account, t.IsOrganizationTrail)
	}
	if err == nil {
		err = s.save(ctx, t, create)
	}
	if err != nil && created {
		if rerr := s.owners.ReleaseClaim(ctx, t.S3BucketName, t.Account); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	return err
}

// checkRoom enforces, in every region t appears in, that names are unique
// among the account's trails and that there are at most five of them.
func (s *Service) checkRoom(c Caller, all []*Trail, t *Trail) error {
	regions := []string{t.HomeRegion}
	if t.IsMultiRegionTrail {
		regions = s.opts.Regions
	}
	for _, r := range regions {
		rc := Caller{Account: c.Account, Region: r}
		n := 0
		for _, o := range all {
			if o.ARN == t.ARN || !s.visible(rc, o) || o.Account != c.Account {
				continue
			}
			if o.Name == t.Name {
				return awsproto.Errorf(awsproto.TrailAlreadyExistsException, "Trail %s already exists for the user: %s", t.Name, c.Account)
			}
			n++
		}
		if n >= MaxTrailsPerRegion {
			return awsproto.Errorf(awsproto.MaximumNumberOfTrailsExceededException,
				"User: %s already has %d trails in %s; the limit is %d.", c.Account, n, r, MaxTrailsPerRegion)
		}
	}
	return nil
}

// UpdateTrail implements the operation.
func (s *Service) UpdateTrail(ctx context.Context, c Caller, in UpdateTrailInput) (*Trail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.resolve(ctx, c, deref(in.Name), writeHome)
	if err != nil {
		return nil, err
	}
	if err := s.apply(ctx, c, t, settings{in.S3BucketName, in.S3KeyPrefix, in.SnsTopicName, in.IncludeGlobalServiceEvents,
		in.IsMultiRegionTrail, in.EnableLogFileValidation, in.CloudWatchLogsLogGroupArn, in.CloudWatchLogsRoleArn,
		in.KmsKeyId, in.IsOrganizationTrail}, false); err != nil {
		return nil, err
	}
	if t.IsMultiRegionTrail {
		all, err := s.All(ctx)
		if err != nil {
			return nil, err
		}
		if err := s.checkRoom(c, all, t); err != nil {
			return nil, err
		}
	}
	// The bucket, prefix and key the trail keeps must be usable too (a
	// trail saved before the ownership rules may name another's bucket).
	if err := s.claimAndSave(ctx, t, false); err != nil {
		return nil, err
	}
	return t, nil
}

// DeleteTrail implements the operation. Delivered files stay where they are.
func (s *Service) DeleteTrail(ctx context.Context, c Caller, name string) (*Trail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.resolve(ctx, c, name, writeHome)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteTrail(ctx, t.ARN); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound(name, c.Account)
		}
		return nil, err
	}
	return t, nil
}

// GetTrail implements the operation: the trail name means for c, also a
// shadow.
func (s *Service) GetTrail(ctx context.Context, c Caller, name string) (*Trail, error) {
	return s.resolve(ctx, c, name, readAny)
}

// DescribeTrails implements the operation: the trails c sees in its region
// (those names names, when given), by name.
func (s *Service) DescribeTrails(ctx context.Context, c Caller, names []string, includeShadow *bool) ([]*Trail, error) {
	all, err := s.All(ctx)
	if err != nil {
		return nil, err
	}
	shadows := includeShadow == nil || *includeShadow
	for _, n := range names {
		if IsARN(n) {
			if _, err := ParseARN(n); err != nil {
				return nil, err
			}
		} else if err := ValidateName(n); err != nil {
			return nil, err
		}
	}
	var out []*Trail
	for _, t := range all {
		// A trail of another region is listed when named by its ARN (as
		// CloudTrail's reference says: "to return information about a
		// trail in another Region, you must specify its trail ARN").
		if !s.visible(c, t) && !(slices.Contains(names, t.ARN) && s.owned(c, t)) {
			continue
		}
		if !shadows && (t.IsShadowIn(c.Region) || t.Account != c.Account) {
			continue
		}
		// A name matches only the caller's own trail of this region; other
		// trails (shadows, the organization's) are named by ARN.
		byName := slices.Contains(names, t.Name) && t.Account == c.Account && t.HomeRegion == c.Region
		if len(names) > 0 && !byName && !slices.Contains(names, t.ARN) {
			continue
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *Trail) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ListTrails implements the operation: every trail of the account in any
// region (and the organization's, for a member), a page at a time in ARN
// order, and the token of the next page.
func (s *Service) ListTrails(ctx context.Context, c Caller, token *string) ([]*Trail, *string, error) {
	all, err := s.All(ctx)
	if err != nil {
		return nil, nil, err
	}
	after := ""
	if token != nil {
		b, err := base64.RawURLEncoding.DecodeString(*token)
		if err != nil || !strings.HasPrefix(string(b), "arn:") {
			return nil, nil, awsproto.Errorf(awsproto.InvalidNextTokenException, "The NextToken is not valid.")
		}
		after = string(b)
	}
	var list []*Trail
	for _, t := range all {
		if s.owned(c, t) {
			list = append(list, t)
		}
	}
	slices.SortFunc(list, func(a, b *Trail) int { return strings.Compare(a.ARN, b.ARN) })
	start := 0
	for start < len(list) && after != "" && list[start].ARN <= after {
		start++
	}
	page := list[start:]
	var next *string
	if len(page) > listPageSize {
		page = page[:listPageSize]
		n := base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1].ARN))
		next = &n
	}
	return page, next, nil
}

// GetTrailStatus resolves the trail of a GetTrailStatus call: the trail
// name means for c, also a shadow. Its logging state is the trail's; what
// delivery reports comes from delivery (StatusSource).
func (s *Service) GetTrailStatus(ctx context.Context, c Caller, name string) (*Trail, error) {
	return s.resolve(ctx, c, name, readAny)
}

// SetLogging implements StartLogging and StopLogging.
func (s *Service) SetLogging(ctx context.Context, c Caller, name string, on bool) (*Trail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.resolve(ctx, c, name, writeHome)
	if err != nil {
		return nil, err
	}
	if on {
		// As delivery will: a trail that may not write to its bucket (or
		// use its key or prefix) does not start, and says why.
		if err := s.owners.CheckDelivery(ctx, t); err != nil {
			return nil, err
		}
	}
	if t.IsLogging != on {
		t.IsLogging = on
		if on {
			st, err := s.store.Stats(ctx)
			if err != nil {
				return nil, err
			}
			t.StartLoggingTime = s.now().UTC()
			t.LoggingEpoch++
			t.StartSeq = st.LastSeq
		} else {
			st, err := s.store.Stats(ctx)
			if err != nil {
				return nil, err
			}
			t.StopLoggingTime = s.now().UTC()
			t.StopSeq = st.LastSeq
		}
		if err := s.save(ctx, t, false); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// PutEventSelectors implements the operation: basic or advanced selectors,
// each replacing the other.
func (s *Service) PutEventSelectors(ctx context.Context, c Caller, name string, basic []EventSelector, advanced []AdvancedEventSelector) (*Trail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.resolve(ctx, c, name, writeHome)
	if err != nil {
		return nil, err
	}
	if err := ValidateSelectors(basic, advanced, s.partition()); err != nil {
		return nil, err
	}
	if len(advanced) > 0 {
		t.EventSelectors, t.AdvancedEventSelectors = nil, advanced
	} else {
		t.EventSelectors, t.AdvancedEventSelectors = NormalizeBasic(basic), nil
	}
	if err := s.save(ctx, t, false); err != nil {
		return nil, err
	}
	return t, nil
}

// GetEventSelectors implements the operation: the trail, from its home
// region (see Trail.Selectors).
func (s *Service) GetEventSelectors(ctx context.Context, c Caller, name string) (*Trail, error) {
	return s.resolve(ctx, c, name, readHome)
}

// PutInsightSelectors implements the operation for trails.
func (s *Service) PutInsightSelectors(ctx context.Context, c Caller, name string, sel []InsightSelector) (*Trail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.resolve(ctx, c, name, writeHome)
	if err != nil {
		return nil, err
	}
	if err := ValidateInsightSelectors(sel); err != nil {
		return nil, err
	}
	if err := checkInsightsFit(t, sel); err != nil {
		return nil, err
	}
	norm := make([]InsightSelector, len(sel))
	for i, x := range sel {
		if len(x.EventCategories) == 0 {
			x.EventCategories = []string{"Management"}
		}
		norm[i] = x
	}
	t.InsightSelectors = norm
	if err := s.save(ctx, t, false); err != nil {
		return nil, err
	}
	return t, nil
}

// GetInsightSelectors implements the operation for trails.
func (s *Service) GetInsightSelectors(ctx context.Context, c Caller, name string) (*Trail, error) {
	t, err := s.resolve(ctx, c, name, readHome)
	if err != nil {
		return nil, err
	}
	if len(t.InsightSelectors) == 0 {
		return nil, awsproto.Errorf(awsproto.InsightNotEnabledException, "Trail %s does not have Insights enabled. Enable Insights with PutInsightSelectors.", t.Name)
	}
	return t, nil
}

// tagTarget resolves a tag operation's ResourceId (a trail ARN) for c.
func (s *Service) tagTarget(ctx context.Context, c Caller, id string, a access) (*Trail, error) {
	if !IsARN(id) {
		return nil, awsproto.Errorf(awsproto.CloudTrailARNInvalidException, "ResourceId %q must be a trail ARN such as arn:aws:cloudtrail:us-east-2:123456789012:trail/MyTrail.", id)
	}
	p, err := ParseARN(id)
	if err != nil {
		return nil, err
	}
	if a == writeHome && p.Region != c.Region && p.Account == c.Account {
		return nil, awsproto.Errorf(awsproto.CloudTrailARNInvalidException, "Region in ARN is wrong, you can only access resources in region %s.", c.Region)
	}
	t, err := s.resolve(ctx, c, id, a)
	if err != nil {
		var ae *awsproto.Error
		if errors.As(err, &ae) && ae.Code == awsproto.TrailNotFoundException {
			return nil, awsproto.Errorf(awsproto.ResourceNotFoundException, "Trail %s does not exist for the user: %s", id, c.Account)
		}
		return nil, err
	}
	return t, nil
}

// AddTags implements the operation: new keys are added, existing keys get
// the new value.
func (s *Service) AddTags(ctx context.Context, c Caller, id string, tags []Tag) (*Trail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tagTarget(ctx, c, id, writeHome)
	if err != nil {
		return nil, err
	}
	if err := ValidateTags(tags); err != nil {
		return nil, err
	}
	merged := append([]Tag{}, t.Tags...)
	for _, nt := range tags {
		i := slices.IndexFunc(merged, func(x Tag) bool { return deref(x.Key) == deref(nt.Key) })
		if i >= 0 {
			merged[i] = nt
		} else {
			merged = append(merged, nt)
		}
	}
	if len(merged) > 50 {
		return nil, awsproto.Errorf(awsproto.TagsLimitExceededException, "A trail can have at most 50 tags; this would make %d.", len(merged))
	}
	t.Tags = merged
	if err := s.save(ctx, t, false); err != nil {
		return nil, err
	}
	return t, nil
}

// RemoveTags implements the operation.
func (s *Service) RemoveTags(ctx context.Context, c Caller, id string, tags []Tag) (*Trail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tagTarget(ctx, c, id, writeHome)
	if err != nil {
		return nil, err
	}
	for i, rt := range tags {
		if rt.Key == nil || *rt.Key == "" {
			return nil, awsproto.Errorf(awsproto.InvalidTagParameterException, "Tag %d: a key is required.", i+1)
		}
	}
	t.Tags = slices.DeleteFunc(t.Tags, func(x Tag) bool {
		return slices.ContainsFunc(tags, func(rt Tag) bool {
			return deref(rt.Key) == deref(x.Key) && (rt.Value == nil || deref(rt.Value) == deref(x.Value))
		})
	})
	if err := s.save(ctx, t, false); err != nil {
		return nil, err
	}
	return t, nil
}

// ListTags implements the operation (at most 20 trail ARNs): the trails,
// in the order of ids.
func (s *Service) ListTags(ctx context.Context, c Caller, ids []string) ([]*Trail, error) {
	if len(ids) == 0 || len(ids) > 20 {
		return nil, awsproto.Errorf(awsproto.InvalidParameterException, "ResourceIdList must name 1 to 20 trails; got %d.", len(ids))
	}
	out := make([]*Trail, 0, len(ids))
	for _, id := range ids {
		t, err := s.tagTarget(ctx, c, id, readAny)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
