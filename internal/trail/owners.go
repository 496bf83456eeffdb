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
// belongs to the only configured account, or else to the first account
// that names it in a trail: that claim is a state document in the store,
// so it survives restarts and is shared by every node.

// bucketOwnerPrefix starts the keys of the state documents that record who
// claimed an unlisted directory bucket.
const bucketOwnerPrefix = "bucket-owner/"

// bucketClaim is the state document of a claimed bucket.
type bucketClaim struct {
	Account string
}

// ClaimDocs keeps the bucket claims: the part of the store's state
// documents the ownership rules read and write.
type ClaimDocs interface {
	GetState(ctx context.Context, key string) (store.StateDoc, error)
	PutState(ctx context.Context, key string, doc []byte, expectVersion int64) (int64, error)
}

// Owners answers who may use a bucket, KMS key or topic. It is safe for
// concurrent use.
type Owners struct {
	cfg   *config.Config
	store ClaimDocs

	mu     sync.Mutex
	claims map[string]string // bucket → claiming account (claims never change)
}

// NewOwners makes the ownership rules of cfg, with bucket claims kept in st.
func NewOwners(cfg *config.Config, st ClaimDocs) *Owners {
	return &Owners{cfg: cfg, store: st, claims: map[string]string{}}
}

// bucketPolicyError is CloudTrail's answer to a bucket the trail may not
// write to.
func bucketPolicyError(name string) error {
	return awsproto.Errorf("InsufficientS3BucketPolicyException", "Incorrect S3 bucket policy is detected for bucket: %s", name)
}

// encryptionPolicyError is CloudTrail's answer to a KMS key the trail may not
// use.
func encryptionPolicyError(bucket, key string) error {
	return awsproto.Errorf("InsufficientEncryptionPolicyException",
		"Insufficient permissions to access S3 bucket %s or KMS key %s.", bucket, key)
}

// topicPolicyError is CloudTrail's answer to a topic the trail may not post to.
func topicPolicyError(topicARN string) error {
	return awsproto.Errorf("InsufficientSnsTopicPolicyException",
		"SNS Topic does not exist or the topic policy is incorrect! (%s)", topicARN)
}

// permits reports whether a trail of account (an organization trail when
// org) may use what owner owns with grants.
func (o *Owners) permits(owner string, grants []string, account string, org bool) bool {
	if o.cfg.Permits(owner, grants, account) {
		return true
	}
	return org && o.cfg.Organization != nil && o.cfg.OwnerOf(owner) == o.cfg.Organization.ManagementAccount &&
		account == o.cfg.Organization.ManagementAccount
}

// listedBucket returns the buckets: entry of name.
func (o *Owners) listedBucket(name string) (config.Bucket, bool) {
	for _, b := range o.cfg.Buckets {
		if b.Name == name {
			return b, true
		}
	}
	return config.Bucket{}, false
}

// bucketOwner returns the owner of bucket name and the other accounts that
// may write there; owner is "" for an unlisted bucket nobody claimed yet.
func (o *Owners) bucketOwner(ctx context.Context, name string) (owner string, grants []string, err error) {
	if b, ok := o.listedBucket(name); ok {
		return o.cfg.OwnerOf(b.Account), b.Writers, nil
	}
	if len(o.cfg.Accounts) == 1 {
		return o.cfg.Accounts[0].ID, nil, nil
	}
	o.mu.Lock()
	owner, ok := o.claims[name]
	o.mu.Unlock()
	if ok {
		return owner, nil, nil
	}
	d, err := o.store.GetState(ctx, bucketOwnerPrefix+name)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("bucket %s: owner: %w", name, err)
	}
	var c bucketClaim
	if err := json.Unmarshal(d.Doc, &c); err != nil {
		return "", nil, fmt.Errorf("bucket %s: owner document: %w", name, err)
	}
	o.remember(name, c.Account)
	return c.Account, nil, nil
}

func (o *Owners) remember(bucket, account string) {
	o.mu.Lock()
	o.claims[bucket] = account
	o.mu.Unlock()
}

// CheckBucket says whether a trail of account (an organization trail when
// org) may write to bucket: nil, or InsufficientS3BucketPolicyException.
// An unlisted bucket nobody claimed yet passes; see ClaimBucket.
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

// ClaimBucket makes account the owner of an unlisted bucket nobody owns yet
// (stored, so that every node and every later start agrees), then checks as
// CheckBucket does. Two accounts claiming at once: one claim is stored, and
// the other account is refused.
func (o *Owners) ClaimBucket(ctx context.Context, bucket, account string, org bool) error {
	owner, _, err := o.bucketOwner(ctx, bucket)
	if err != nil {
		return err
	}
	if owner == "" {
		doc, _ := json.Marshal(bucketClaim{Account: account})
		_, err := o.store.PutState(ctx, bucketOwnerPrefix+bucket, doc, 0)
		switch {
		case err == nil:
			o.remember(bucket, account)
		case errors.Is(err, store.ErrExists):
			// Another request (or node) claimed it first: its claim stands.
		default:
			return fmt.Errorf("bucket %s: claim: %w", bucket, err)
		}
	}
	return o.CheckBucket(ctx, bucket, account, org)
}

// CheckKMSKey says whether a trail of account may encrypt with the
// configured key keyARN for bucket: nil, or
// InsufficientEncryptionPolicyException (also for a key not configured).
func (o *Owners) CheckKMSKey(bucket, keyARN, account string, org bool) error {
	for _, k := range o.cfg.KMSKeys {
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
		for _, tp := range o.cfg.Topics {
			if tp.Name == name && o.cfg.OwnerOf(tp.Account) == owner && o.permits(owner, nil, account, org) {
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
// where it may not; the error goes to that trail's status only. Such a
// trail claims an unlisted bucket nobody owns, as CreateTrail would.
func (o *Owners) CheckDelivery(ctx context.Context, t *Trail) error {
	if err := ValidatePrefix(t.S3KeyPrefix); err != nil {
		return err
	}
	if err := o.ClaimBucket(ctx, t.S3BucketName, t.Account, t.IsOrganizationTrail); err != nil {
		return err
	}
	if t.KmsKeyId != "" {
		return o.CheckKMSKey(t.S3BucketName, t.KmsKeyId, t.Account, t.IsOrganizationTrail)
	}
	return nil
}
