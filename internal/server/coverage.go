package server

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/trail"
)

// Coverage is what the server's configuration says about which digest
// chains a trail has: the served regions (a multi-region trail's), the
// organization (an organization trail's accounts) and the digest cadence.
type Coverage struct {
	Regions        []string
	OrganizationID string
	Members        []string
	DigestInterval time.Duration
}

// coverageOp is the name under which a coverage request is authorized
// ("cloudtrail:GetTrailCoverage", allowed by "cloudtrail:Get*") and
// recorded.
const coverageOp = "GetTrailCoverage"

// trailCoverage is the answer of POST /v1/trail-coverage.
type trailCoverage struct {
	TrailARN       string
	OrganizationId string `json:",omitempty"`
	// Accounts and Regions are the accounts and regions the trail has a
	// digest chain for: every member account of an organization trail
	// (only the caller's own when the caller is a member, not the owner),
	// every served region of a multi-region trail.
	Accounts, Regions     []string
	DigestIntervalSeconds int64
	// IsLogging, StartLoggingTime and StopLoggingTime are GetTrailStatus's:
	// since when a chain must have digests, and whether it still must.
	// They are here so that a verifier whose key may not call
	// GetTrailStatus still learns them (without them a deleted newest
	// digest goes unnoticed).
	IsLogging        bool
	StartLoggingTime *awsproto.Time `json:",omitempty"`
	StopLoggingTime  *awsproto.Time `json:",omitempty"`
}

// serveTrailCoverage is POST /v1/trail-coverage, body {"Name": trail}: a
// Cairn extension that tells `cairn verify` which accounts and regions a
// trail covers, so that it does not take them from the bucket, where an
// attacker can delete a whole region or account. SigV4-signed (service
// cloudtrail); authorized and recorded as the operation GetTrailCoverage.
func (s *Server) serveTrailCoverage(w http.ResponseWriter, r *http.Request) {
	s.serveOperation(w, r, coverageOp)
}

// trailCoverage answers a coverage request for a trail the caller can see:
// its chains and its logging state (authorized as GetTrailCoverage alone).
func (s *Server) trailCoverage(ctx context.Context, c *call, in NameInput) (trailCoverage, error) {
	t, err := s.opts.Trails.GetTrail(ctx, caller(c), str(in.Name))
	if err != nil {
		return trailCoverage{}, err
	}
	c.about(t.ARN)
	p, err := trail.ParseARN(t.ARN)
	if err != nil {
		return trailCoverage{}, err
	}
	cov := s.opts.Coverage
	// The same rule as delivery's: the chains the trail keeps.
	out := trailCoverage{TrailARN: t.ARN, Regions: slices.Clone(trail.CoveredRegions(t.IsMultiRegionTrail, t.HomeRegion, cov.Regions)),
		Accounts: slices.Clone(trail.CoveredAccounts(t.IsOrganizationTrail, p.Account, cov.Members)), DigestIntervalSeconds: int64(cov.DigestInterval / time.Second),
		IsLogging: t.IsLogging, StartLoggingTime: awsproto.NewTime(t.StartLoggingTime), StopLoggingTime: awsproto.NewTime(t.StopLoggingTime)}
	if t.IsOrganizationTrail && len(cov.Members) > 0 {
		out.OrganizationId = cov.OrganizationID
		// A member account sees (and checks) only its own chains.
		if c.principal.Account != p.Account && slices.Contains(cov.Members, c.principal.Account) {
			out.Accounts = []string{c.principal.Account}
		}
	}
	return out, nil
}
