package server

import (
	"net/http"
	"sync"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
)

// DefaultMaxInflightIngest is the number of /v1/events requests served at
// once when Options.MaxInflightIngest is zero.
const DefaultMaxInflightIngest = 64

// rateLimiter is a set of token buckets, one per key: each refills at rate
// tokens a second up to burst (twice the rate, at least one). A nil
// rateLimiter allows everything. The keys are access key IDs or
// account/region pairs of the configuration, so the set stays bounded.
type rateLimiter struct {
	rate, burst float64
	now         func() time.Time

	mu      sync.Mutex
	buckets map[string]*tokenBucket
}

type tokenBucket struct {
	tokens float64
	last   time.Time
}

// newRateLimiter returns a limiter of perSecond requests a second per key,
// or nil (unlimited) when perSecond is not positive.
func newRateLimiter(perSecond float64, now func() time.Time) *rateLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &rateLimiter{rate: perSecond, burst: max(2*perSecond, 1), now: now, buckets: map[string]*tokenBucket{}}
}

// allow takes a token from key's bucket and says whether there was one.
func (l *rateLimiter) allow(key string) bool {
	if l == nil {
		return true
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		b = &tokenBucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// throttled is the answer to a caller beyond its rate: CloudTrail's
// ThrottlingException, HTTP 400 as AWS sends it.
func throttled() *awsproto.Error {
	return &awsproto.Error{Code: awsproto.ThrottlingException, Message: "Rate exceeded", Status: http.StatusBadRequest}
}

// tooManyRequests is the answer to a request beyond capacity: HTTP 429
// with the AWS error body ThrottlingException; writeError adds
// Retry-After.
func tooManyRequests() *awsproto.Error {
	e := throttled()
	e.Status = http.StatusTooManyRequests
	return e
}

// writeError writes err in the AWS error shape; an answer of HTTP 429 says
// Retry-After: 1.
func writeError(w http.ResponseWriter, requestID string, err error) {
	if awsproto.As(err).Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	awsproto.WriteError(w, requestID, err)
}

// overRate says whether a CloudTrail API call is over its principal's
// request rate or, for LookupEvents, its account and region's lookup rate.
// It takes a token when it is not.
func (s *Server) overRate(c *call) bool {
	if !s.requests.allow(c.principal.AccessKeyID) {
		return true
	}
	return c.op == "LookupEvents" && !s.lookups.allow(c.principal.Account+"/"+c.region)
}
