package trail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/store"
)

// Ownership of what trails write to, as AWS does it with bucket, key and
// topic policies (SPEC §8): a trail may name a bucket, KMS key or topic
// only if its account owns it or is listed as one of its writers / users;
// an organization trail also when the management account owns it.
//
// A bucket listed under buckets: is owned by its account: (the only
// configured account when it is left out). An unlisted directory bucket
// belongs to the account of the earliest-created stored trail that names
// it; when no trail names it, to the account its claim names (a state
// document in the store, so that it survives restarts, deleted trails and
// a second account added later, and is shared by every node); else to the
// only configured account; else to nobody yet, and the first account that
// names it in a trail claims it. Trails come before the claim because a
// trail could name a bucket before claims were stored (an older version,
// or a single-account server): its account was there first, and a claim
// made later by someone else must not take its bucket away.

// bucketOwnerPrefix starts the keys of the state documents that record who
// claimed an unlisted directory bucket.
const bucketOwnerPrefix = "bucket-owner/"

// bucketClaim is the state document of a claimed bucket.
type bucketClaim struct {
	Account string
}

// ClaimDocs keeps the bucket claims: the part of the store's state
// documents the ownership rules read and write (a claim is deleted only
// when the trail it was made for could not be saved).
type ClaimDocs interface {
	GetState(ctx context.Context, key string) (store.StateDoc, error)
	PutState(ctx context.Context, key string, doc []byte, expectVersion int64) (int64, error)
	DeleteState(ctx context.Context, key string) error
}

// TrailSource lists the stored trails: the trails that name an unlisted
// bucket decide who owns it.
type TrailSource interface {
	All(ctx context.Context) ([]*Trail, error)
}

// OwnersOptions are what the ownership rules read of the configuration:
// the accounts and the organization, and the configured buckets, KMS keys
// and topics with their owners and grants.
type OwnersOptions struct {
	Ownership config.Ownership
	Buckets   []config.Bucket
	KMSKeys   []config.KMSKey
	Topics    []config.Topic
}

// Owners answers who may use a bucket, KMS key or topic. It is safe for
// concurrent use.
type Owners struct {
	opts   OwnersOptions
	store  ClaimDocs
	trails TrailSource

	mu     sync.Mutex
	claims map[string]storedClaim // bucket → its claim document, as last read or written
}

// NewOwners makes the ownership rules of o, with bucket claims kept in st
// and the stored trails read from trails (whose buckets they decide).
func NewOwners(o OwnersOptions, st ClaimDocs, trails TrailSource) *Owners {
	return &Owners{opts: o, store: st, trails: trails, claims: map[string]storedClaim{}}
}

// bucketPolicyError is CloudTrail's answer to a bucket the trail may not
// write to.
func bucketPolicyError(name string) error {
	return awsproto.Errorf(awsproto.InsufficientS3BucketPolicyException, "Incorrect S3 bucket policy is detected for bucket: %s", name)
}

// encryptionPolicyError is CloudTrail's answer to a KMS key the trail may not
// use.
func encryptionPolicyError(bucket, key string) error {
	return awsproto.Errorf(awsproto.InsufficientEncryptionPolicyException,
		"Insufficient permissions to access S3 bucket %s or KMS key %s.", bucket, key)
}

// topicPolicyError is CloudTrail's answer to a topic the trail may not post to.
func topicPolicyError(topicARN string) error {
	return awsproto.Errorf(awsproto.InsufficientSnsTopicPolicyException,
		"SNS Topic does not exist or the topic policy is incorrect! (%s)", topicARN)
}

// permits reports whether a trail of account (an organization trail when
// org) may use what owner owns with grants.
func (o *Owners) permits(owner string, grants []string, account string, org bool) bool {
	if o.opts.Ownership.Permits(owner, grants, account) {
		return true
	}
	return org && o.opts.Ownership.Organization != nil && o.opts.Ownership.OwnerOf(owner) == o.opts.Ownership.Organization.ManagementAccount &&
		account == o.opts.Ownership.Organization.ManagementAccount
}

// listedBucket returns the buckets: entry of name.
func (o *Owners) listedBucket(name string) (config.Bucket, bool) {
	for _, b := range o.opts.Buckets {
		if b.Name == name {
			return b, true
		}
	}
	return config.Bucket{}, false
}

// bucketOwner returns the owner of bucket name and the other accounts that
// may write there; owner is "" for an unlisted bucket nobody owns yet.
func (o *Owners) bucketOwner(ctx context.Context, name string) (owner string, grants []string, err error) {
	if b, ok := o.listedBucket(name); ok {
		return o.opts.Ownership.OwnerOf(b.Account), b.Writers, nil
	}
	owner, err = o.recordedOwner(ctx, name)
	if err != nil || owner != "" {
		return owner, nil, err
	}
	if len(o.opts.Ownership.Accounts) == 1 {
		return o.opts.Ownership.Accounts[0], nil, nil
	}
	return "", nil, nil
}

// recordedOwner returns the owner of the unlisted bucket name that the store
// records: the account of the earliest-created trail naming it, else its
// claim's account, else "".
func (o *Owners) recordedOwner(ctx context.Context, name string) (string, error) {
	owner, err := o.trailOwner(ctx, name)
	if err != nil || owner != "" {
		return owner, err
	}
	c, err := o.claim(ctx, name)
	return c.Account, err
}

// trailOwner returns the account of the earliest-created stored trail that
// names bucket (ties broken by ARN), or "" when no trail names it.
func (o *Owners) trailOwner(ctx context.Context, bucket string) (string, error) {
	trails, err := o.trails.All(ctx)
	if err != nil {
		return "", fmt.Errorf("bucket %s: owner: %w", bucket, err)
	}
	return earliestUser(trails, bucket), nil
}

// earliestUser returns the account of the earliest-created trail of trails
// that names bucket, or "".
func earliestUser(trails []*Trail, bucket string) string {
	var first *Trail
	for _, t := range trails {
		if t.S3BucketName != bucket {
			continue
		}
		if first == nil || t.Created.Before(first.Created) || t.Created.Equal(first.Created) && t.ARN < first.ARN {
			first = t
		}
	}
	if first == nil {
		return ""
	}
	return first.Account
}

// storedClaim is a bucket's claim document and its version (0: none).
type storedClaim struct {
	Account string
	Version int64
}

// claim reads bucket's claim document.
func (o *Owners) claim(ctx context.Context, bucket string) (storedClaim, error) {
	o.mu.Lock()
	c, ok := o.claims[bucket]
	o.mu.Unlock()
	if ok {
		return c, nil
	}
	d, err := o.store.GetState(ctx, bucketOwnerPrefix+bucket)
	if errors.Is(err, store.ErrNotFound) {
		return storedClaim{}, nil
	}
	if err != nil {
		return storedClaim{}, fmt.Errorf("bucket %s: owner: %w", bucket, err)
	}
	var doc bucketClaim
	if err := json.Unmarshal(d.Doc, &doc); err != nil {
		return storedClaim{}, fmt.Errorf("bucket %s: owner document: %w", bucket, err)
	}
	c = storedClaim{Account: doc.Account, Version: d.Version}
	o.remember(bucket, c)
	return c, nil
}

// remember caches a claim this node read or wrote. A claim changes only
// when it is repaired to agree with the trails (see writeClaim), which the
// trails themselves already decide.
func (o *Owners) remember(bucket string, c storedClaim) {
	o.mu.Lock()
	o.claims[bucket] = c
	o.mu.Unlock()
}

// forget drops bucket's cached claim.
func (o *Owners) forget(bucket string) {
	o.mu.Lock()
	delete(o.claims, bucket)
	o.mu.Unlock()
}

// writeClaim makes account the claimant of the unlisted bucket: it creates
// the claim document, or replaces one that names another account (a claim
// the trails overrule). created says it made a new document (see
// ReleaseClaim); lost says another request or node wrote first, whose
// claim stands: the caller checks again.
func (o *Owners) writeClaim(ctx context.Context, bucket, account string) (created, lost bool, err error) {
	c, err := o.claim(ctx, bucket)
	if err != nil || c.Account == account {
		return false, false, err
	}
	doc, _ := json.Marshal(bucketClaim{Account: account})
	v, err := o.store.PutState(ctx, bucketOwnerPrefix+bucket, doc, c.Version)
	switch {
	case err == nil:
		o.remember(bucket, storedClaim{Account: account, Version: v})
		return c.Version == 0, false, nil
	case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		o.forget(bucket)
		return false, true, nil
	default:
		return false, false, fmt.Errorf("bucket %s: claim: %w", bucket, err)
	}
}

// CheckBucket says whether a trail of account (an organization trail when
// org) may write to bucket: nil, or InsufficientS3BucketPolicyException.
// An unlisted bucket nobody owns yet passes; see ClaimBucket.
func (o *Owners) CheckBucket(ctx context.Context, bucket, account string, org bool) error {
	owner, grants, err := o.bucketOwner(ctx, bucket)
	if err != nil {
		return err
	}
	if owner == "" || o.permits(owner, grants, account, org) {
		return nil
	}
	return bucketPolicyError(bucket)
}

// ClaimBucket checks as CheckBucket does and, when account may write to an
// unlisted bucket, stores account's claim on it (also with a single
// configured account, so that adding another later frees nothing), so
// that every node and every later start agrees. Two accounts claiming at
// once: one claim is stored, and the other account is refused. created
// says a new claim document was made, which the caller takes back with
// ReleaseClaim if what it claimed for is not saved.
func (o *Owners) ClaimBucket(ctx context.Context, bucket, account string, org bool) (created bool, err error) {
	owner, grants, err := o.bucketOwner(ctx, bucket)
	if err != nil {
		return false, err
	}
	if owner != "" && !o.permits(owner, grants, account, org) {
		return false, bucketPolicyError(bucket)
	}
	if _, listed := o.listedBucket(bucket); listed || owner != "" && owner != account {
		// A listed bucket needs no claim; an unlisted one the management
		// account's organization trail may use stays its owner's.
		return false, nil
	}
	created, lost, err := o.writeClaim(ctx, bucket, account)
	if err != nil {
		return false, err
	}
	if lost {
		return false, o.CheckBucket(ctx, bucket, account, org)
	}
	return created, nil
}

// ReleaseClaim removes the claim ClaimBucket created for account, when the
// trail it was made for was not saved after all.
func (o *Owners) ReleaseClaim(ctx context.Context, bucket, account string) error {
	o.forget(bucket)
	c, err := o.claim(ctx, bucket)
	if err != nil || c.Account != account {
		return err
	}
	if owner, err := o.trailOwner(ctx, bucket); err != nil || owner != "" {
		return err
	}
	o.forget(bucket)
	if err := o.store.DeleteState(ctx, bucketOwnerPrefix+bucket); err != nil {
		return fmt.Errorf("bucket %s: release claim: %w", bucket, err)
	}
	return nil
}

// ClaimNamedBuckets stores, for every unlisted bucket that stored trails
// name, the claim of its owner by the trails (the earliest-created trail's
// account). The server calls it at start: trails saved by an older version
// or while only one account was configured then keep their buckets even
// after they are deleted or a second account is configured.
func (o *Owners) ClaimNamedBuckets(ctx context.Context) error {
	trails, err := o.trails.All(ctx)
	if err != nil {
		return fmt.Errorf("bucket claims: %w", err)
	}
	done := map[string]bool{}
	for _, t := range trails {
		b := t.S3BucketName
		if _, listed := o.listedBucket(b); listed || b == "" || done[b] {
			continue
		}
		done[b] = true
		if _, _, err := o.writeClaim(ctx, b, earliestUser(trails, b)); err != nil {
			return err
		}
	}
	return nil
}

// CheckKMSKey says whether a trail of account may encrypt with the
// configured key keyARN for bucket: nil, or
// InsufficientEncryptionPolicyException (also for a key not configured).
func (o *Owners) CheckKMSKey(bucket, keyARN, account string, org bool) error {
	for _, k := range o.opts.KMSKeys {
		if k.ARN == keyARN {
			if o.permits(k.Account, k.Users, account, org) {
				return nil
			}
			break
		}
	}
	return encryptionPolicyError(bucket, keyARN)
}

// CheckTopic says whether a trail of account may post to the configured
// topic topicARN (arn:<partition>:sns:<region>:<owner>:<name>): only its
// owner's trails may. The answer is nil or InsufficientSnsTopicPolicyException.
func (o *Owners) CheckTopic(topicARN, account string, org bool) error {
	owner, name, ok := topicOwnerName(topicARN)
	if ok {
		for _, tp := range o.opts.Topics {
			if tp.Name == name && o.opts.Ownership.OwnerOf(tp.Account) == owner && o.permits(owner, nil, account, org) {
				return nil
			}
		}
	}
	return topicPolicyError(topicARN)
}

// topicOwnerName splits a topic ARN's account and name.
func topicOwnerName(arn string) (account, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sns" {
		return "", "", false
	}
	return parts[4], parts[5], true
}

// CheckDelivery says whether trail t may deliver as it is configured: its
// prefix keeps within its own place, and its account may write to its
// bucket and use its KMS key. Delivery calls it before writing, so that a
// trail stored before these rules (or a config changed since) cannot write
// where it may not; the error goes to that trail's status only.
// StartLogging and UpdateTrail call it too, and return its error. Such a
// trail claims an unlisted bucket it may use, as CreateTrail would.
func (o *Owners) CheckDelivery(ctx context.Context, t *Trail) error {
	if err := ValidatePrefix(t.S3KeyPrefix); err != nil {
		return err
	}
	if _, err := o.ClaimBucket(ctx, t.S3BucketName, t.Account, t.IsOrganizationTrail); err != nil {
		return err
	}
	if t.KmsKeyId != "" {
		return o.CheckKMSKey(t.S3BucketName, t.KmsKeyId, t.Account, t.IsOrganizationTrail)
	}
	return nil
}

// BucketOwner returns the account that owns bucket name: the account its
// buckets: entry names, or for an unlisted bucket the account that claimed
// it (the only configured account when there is one); "" when nobody
// does. CloudTrail Lake's StartImport reads only buckets of the caller's
// account.
func (s *Service) BucketOwner(ctx context.Context, name string) (string, error) {
	owner, _, err := s.owners.bucketOwner(ctx, name)
	return owner, err
}
