package delivery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// to now, and ends it: a later start begins a new chain.
func (e *Engine) closeChains(ctx context.Context, t *trail.Trail, st *state, now time.Time, keep map[string]bool) error {
	names := make([]string, 0, len(st.Chains))
	for k := range st.Chains {
		if !keep[k] {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	var bk bucket.Bucket
	for _, k := range names {
		c := st.Chains[k]
		end := c.PendingEnd
		if end.IsZero() {
			end = now.Truncate(time.Second)
			if !end.After(c.Start) {
				end = c.Start.Add(time.Second)
			}
		}
		if bk == nil {
			var err error
			if bk, err = e.buckets.Open(t.S3BucketName); err != nil {
				return e.digestFailed(st, k, now, fmt.Errorf("bucket %s: %w", t.S3BucketName, err))
			}
		}
		if err := e.writeDigest(ctx, t, bk, k, c, end); err != nil {
			return e.digestFailed(st, k, now, err)
		}
		st.status(regionOf(k)).LatestDigestDeliveryTime = now
		st.status(regionOf(k)).LatestDigestDeliveryError = ""
		delete(st.Chains, k)
	}
	return nil
}

// digests writes every digest that is due. Each is planned (its end time
// stored) before it is written, so a replay writes the same digest. Chains
// of regions or accounts the trail no longer covers get a final digest.
func (e *Engine) digests(ctx context.Context, t *trail.Trail, st *state, now time.Time) (changed bool, err error) {
	cover := e.covered(t)
	for k := range st.Chains {
		if !cover[k] {
			if err := e.closeChains(ctx, t, st, now, cover); err != nil {
				return true, err
			}
			changed = true
			break
		}
	}
	names := make([]string, 0, len(st.Chains))
	for k := range st.Chains {
		names = append(names, k)
	}
	slices.Sort(names)
	var bk bucket.Bucket
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
		if bk == nil {
			if bk, err = e.buckets.Open(t.S3BucketName); err != nil {
				return changed, e.digestFailed(st, k, now, fmt.Errorf("bucket %s: %w", t.S3BucketName, err))
			}
		}
		if err := e.writeDigest(ctx, t, bk, k, c, end); err != nil {
			return changed, e.digestFailed(st, k, now, err)
		}
		c.Start, c.PendingEnd, c.Files = end, time.Time{}, nil
		st.status(regionOf(k)).LatestDigestDeliveryTime = now
		st.status(regionOf(k)).LatestDigestDeliveryError = ""
		changed = true
	}
	return changed, nil
}

func (e *Engine) digestFailed(st *state, chainKey string, now time.Time, err error) error {
	st.status(regionOf(chainKey)).LatestDigestDeliveryError = err.Error()
	return err
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

func (e *Engine) writeDigest(ctx context.Context, t *trail.Trail, bk bucket.Bucket, chainKey string, c *chain, end time.Time) error {
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
	gz, err := gzipBytes(body)
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
