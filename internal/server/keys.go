package server

import (
	"context"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/digest"
)

// PublicKeys lists a region's digest signing keys (the delivery engine's).
type PublicKeys interface {
	Public(ctx context.Context, region string, from, to time.Time) ([]digest.PublicKey, error)
	// At returns the key that signs the region's digests at t, making one
	// when none is valid then.
	At(ctx context.Context, region string, t time.Time) (digest.KeyPair, error)
}

type publicKey struct {
	Value             []byte
	ValidityStartTime awsproto.Time
	ValidityEndTime   awsproto.Time
	Fingerprint       string
}

// listPublicKeysInput is ListPublicKeysRequest.
type listPublicKeysInput struct {
	StartTime *awsproto.Time
	EndTime   *awsproto.Time
	NextToken *string
}

// listPublicKeys answers ListPublicKeys: the public keys whose private keys
// signed (or sign) digests of the caller's region in the time range; with no
// range, the current key.
func (s *Server) listPublicKeys(ctx context.Context, c *call, in listPublicKeysInput) (any, error) {
	now := s.opts.Now().UTC()
	from, to := now, now
	if in.StartTime != nil {
		from = in.StartTime.Time
		to = now
	}
	if in.EndTime != nil {
		to = in.EndTime.Time
		if in.StartTime == nil {
			from = to
		}
	}
	if from.After(to) {
		return nil, awsproto.Errorf(awsproto.InvalidTimeRangeException, "StartTime must be before or equal to EndTime.")
	}
	if in.NextToken != nil {
		return nil, awsproto.Errorf(awsproto.InvalidTokenException, "The NextToken is not valid.")
	}
	// CloudTrail always has a current key for each region; Cairn makes a
	// region's key at its first digest, so a range that holds now (as the
	// default does) makes sure the current key exists first.
	if !from.After(now) && !to.Before(now) {
		if _, err := s.opts.Keys.At(ctx, c.region, now); err != nil {
			return nil, err
		}
	}
	keys, err := s.opts.Keys.Public(ctx, c.region, from, to)
	if err != nil {
		return nil, err
	}
	out := []publicKey{}
	for _, k := range keys {
		out = append(out, publicKey{Value: k.DER, ValidityStartTime: awsproto.Time{Time: k.ValidFrom},
			ValidityEndTime: awsproto.Time{Time: k.ValidTo}, Fingerprint: k.Fingerprint})
	}
	return struct{ PublicKeyList []publicKey }{out}, nil
}
