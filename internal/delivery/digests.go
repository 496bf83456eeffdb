package delivery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/digest"
	"github.com/cairn-audit/cairn/internal/trail"
)

// initChains starts a digest chain for every account and region the trail
// covers, at the time validation began.
func (e *Engine) initChains(t *trail.Trail, st *state, now time.Time) {
	if st.Chains == nil {
		st.Chains = map[string]*chain{}
	}
	for _, a := range e.accounts(t) {
		for _, r := range e.regions(t) {
			if st.Chains[a+"/"+r] == nil {
				st.Chains[a+"/"+r] = &chain{Start: now.Truncate(time.Second)}
			}
		}
	}
}

// covered lists the chains a trail has now, as "account/region".
func (e *Engine) covered(t *trail.Trail) map[string]bool {
	m := map[string]bool{}
	for _, a := range e.accounts(t) {
		for _, r := range e.regions(t) {
			m[a+"/"+r] = true
		}
	}
	return m
}

// closeChains writes a final digest for each chain (those not in keep), up
// to now, and ends it: a later start begins a new chain. A chain whose final
// digest cannot be written stays, to be retried after its backoff (and, if
// logging starts again first, it goes on as the new epoch's chain); the
// other chains close regardless.
func (e *Engine) closeChains(ctx context.Context, t *trail.Trail, st *state, now time.Time, keep map[string]bool) error {
	names := make([]string, 0, len(st.Chains))
	for k := range st.Chains {
		if !keep[k] {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	var errs []error
	for _, k := range names {
		c := st.Chains[k]
		if c.backingOff(now) {
			continue // stays for a later pass
		}
		end := c.PendingEnd
		if end.IsZero() {
			end = now.Truncate(time.Second)
			if !end.After(c.Start) {
				end = c.Start.Add(time.Second)
			}
		}
		if err := e.writeDigest(ctx, t, k, c, end); err != nil {
			errs = append(errs, e.digestFailed(st, c, k, now, err))
			continue
		}
		e.digestDelivered(st, k, now)
		delete(st.Chains, k)
	}
	return errors.Join(errs...)
}

// digests writes every digest that is due. Each is planned (its end time
// stored) before it is written, so a replay writes the same digest. Chains
// of regions or accounts the trail no longer covers get a final digest.
//
// Every chain stands alone: one that fails (a bucket that refuses the
// write, a digest key that is a folder) is retried after its own backoff
// and shows in its region's LatestDigestDeliveryError, while the others go
// on. changed reports that st must be saved; err joins the failures.
func (e *Engine) digests(ctx context.Context, t *trail.Trail, st *state, now time.Time) (changed bool, err error) {
	var errs []error
	cover := e.covered(t)
	for k := range st.Chains {
		if !cover[k] {
			if err := e.closeChains(ctx, t, st, now, cover); err != nil {
				errs = append(errs, err)
			}
			changed = true
			break
		}
	}
	names := make([]string, 0, len(st.Chains))
	for k := range st.Chains {
		if cover[k] {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		c := st.Chains[k]
		end := c.PendingEnd
		if end.IsZero() {
			if now.Before(c.Start.Add(e.digestI)) {
				continue
			}
			// One digest covers the whole time since the last (also after downtime).
			n := now.Sub(c.Start) / e.digestI
			end = c.Start.Add(n * e.digestI)
			c.PendingEnd = end
			// Written on the next pass, once the plan is saved: a crash
			// between writing and saving must not leave a digest the
			// chain does not know.
			changed = true
			continue
		}
		if c.backingOff(now) {
			continue
		}
		if err := e.writeDigest(ctx, t, k, c, end); err != nil {
			errs = append(errs, e.digestFailed(st, c, k, now, err))
			changed = true
			continue
		}
		c.Start, c.PendingEnd, c.Files = end, time.Time{}, nil
		e.digestDelivered(st, k, now)
		changed = true
	}
	return changed, errors.Join(errs...)
}

// backingOff reports whether the chain's last failure asks to wait still.
func (c *chain) backingOff(now time.Time) bool {
	return !c.RetryAt.IsZero() && now.Before(c.RetryAt)
}

// digestFailed records a chain's failure in its region's status and backs
// the chain off (2s, 4s … up to a minute), so that a chain that cannot be
// written costs one attempt (and one log line) per backoff, not one per
// pass. It returns err, naming the chain.
func (e *Engine) digestFailed(st *state, c *chain, chainKey string, now time.Time, err error) error {
	c.Failures++
	c.RetryAt = now.Add(backoff(c.Failures))
	st.status(regionOf(chainKey)).LatestDigestDeliveryError = err.Error()
	return fmt.Errorf("digest %s: %w", chainKey, err)
}

// digestDelivered records a chain's digest in its region's status. The
// region's error stays while another chain of the region (another account
// of an organization trail) still fails.
func (e *Engine) digestDelivered(st *state, chainKey string, now time.Time) {
	if c := st.Chains[chainKey]; c != nil {
		c.Failures, c.RetryAt = 0, time.Time{}
	}
	region := regionOf(chainKey)
	s := st.status(region)
	s.LatestDigestDeliveryTime = now
	for k, c := range st.Chains {
		if k != chainKey && regionOf(k) == region && c.Failures > 0 {
			return
		}
	}
	s.LatestDigestDeliveryError = ""
}

func regionOf(chainKey string) string {
	for i := 0; i < len(chainKey); i++ {
		if chainKey[i] == '/' {
			return chainKey[i+1:]
		}
	}
	return chainKey
}

func accountOf(chainKey string) string {
	for i := 0; i < len(chainKey); i++ {
		if chainKey[i] == '/' {
			return chainKey[:i]
		}
	}
	return chainKey
}

// writeDigest writes chain c's digest ending at end, to the trail's bucket,
// once the trail may write there.
func (e *Engine) writeDigest(ctx context.Context, t *trail.Trail, chainKey string, c *chain, end time.Time) error {
	if err := e.owners.CheckDelivery(ctx, t); err != nil {
		return err
	}
	bk, err := e.buckets.Open(t.S3BucketName)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", t.S3BucketName, err)
	}
	account, region := accountOf(chainKey), regionOf(chainKey)
	key, err := e.keys.At(ctx, region, end)
	if err != nil {
		return err
	}
	objKey := digest.DigestKey(t.S3KeyPrefix, t.OrganizationID, account, region, t.Name, t.HomeRegion, end)
	f := digest.File{
		AWSAccountID:               account,
		DigestStartTime:            c.Start,
		DigestEndTime:              end,
		DigestS3Bucket:             t.S3BucketName,
		DigestS3Object:             objKey,
		DigestPublicKeyFingerprint: key.Fingerprint,
		DigestSignatureAlgorithm:   "SHA256withRSA",
		LogFiles:                   c.Files,
	}
	if f.LogFiles == nil {
		f.LogFiles = []digest.LogFile{}
	}
	for _, lf := range c.Files {
		o, n := lf.OldestEventTime, lf.NewestEventTime
		if f.OldestEventTime == nil || o.Before(*f.OldestEventTime) {
			f.OldestEventTime = &o
		}
		if f.NewestEventTime == nil || n.After(*f.NewestEventTime) {
			f.NewestEventTime = &n
		}
	}
	if c.PrevKey != "" {
		algo := "SHA-256"
		f.PreviousDigestS3Bucket, f.PreviousDigestS3Object = &c.PrevBucket, &c.PrevKey
		f.PreviousDigestHashValue, f.PreviousDigestHashAlgorithm, f.PreviousDigestSignature = &c.PrevHash, &algo, &c.PrevSig
	}
	body, err := f.JSON()
	if err != nil {
		return err
	}
	sig, err := digest.Sign(key, digest.SignedString(end, t.S3BucketName, objKey, body, c.PrevSig))
	if err != nil {
		return err
	}
	gz, err := digest.Gzip(body)
	if err != nil {
		return err
	}
	// Digest files are never KMS-encrypted (CloudTrail uses SSE-S3 for them),
	// so that anyone with the public keys can validate them.
	obj := bucket.Object{Key: objKey, Body: gz, ContentType: "application/json",
		Metadata: map[string]string{"signature": sig, "signature-algorithm": "SHA256withRSA"}}
	if err := bk.Put(ctx, obj); err != nil {
		return fmt.Errorf("put digest %s: %w", objKey, err)
	}
	sum := sha256.Sum256(body)
	c.PrevBucket, c.PrevKey, c.PrevHash, c.PrevSig = t.S3BucketName, objKey, hex.EncodeToString(sum[:]), sig
	return nil
}
