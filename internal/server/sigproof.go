package server

import (
	"bytes"
	"container/heap"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/proxy/awsop"
	"github.com/cairn-audit/cairn/internal/sigv4"
)

// signatureProofField is the member of a record in which cairn proxy sends
// the proof of the caller's signature (sigv4.Proof). It is read and removed
// here: it is never part of a stored record.
const signatureProofField = "cairnSignatureProof"

// signatureVerifiedField is the member of additionalEventData that says
// whether the server checked the caller's signature. It is the server's
// alone: a producer's value is never kept.
const signatureVerifiedField = "SignatureVerified"

// The two names as they stand in a record written plainly, and where
// their shared capital S is in each (see mayNameMarker).
const (
	signatureProofName    = `"` + signatureProofField + `"`
	signatureVerifiedName = `"` + signatureVerifiedField + `"`
	signatureProofS       = len(`"cairn`)
	signatureVerifiedS    = len(`"`)
)

// Limits on what a proof can vouch for (see proofChecker).
const (
	// proofRecordAge is how long before its arrival a record's eventTime
	// may be for its proof to count: a proxy's spool may hold records
	// through an outage of hours.
	proofRecordAge = 24 * time.Hour
	// proofRecordAhead is how far after its arrival a record's eventTime
	// may be (clock skew).
	proofRecordAhead = sigv4.MaxSkew
	// maxSeenProofs bounds each account's replay cache (about 200 bytes
	// a signature, some 50 MB when full).
	maxSeenProofs = 1 << 18
)

// proofChecker settles the identity of records that carry a signature
// proof. A proof names a key's owner only when all of these hold:
//
//   - the HMAC of its string to sign with the key's secret is the
//     signature recorded (sigv4.Proof.Check), and the proof's key is the
//     record's userIdentity.accessKeyId;
//   - it was made for the record's operation (signedOperation): the
//     method, path, query and signed headers it covers name the
//     record's eventName (and, for S3, its bucket and key);
//   - it was made for the record's call: its scope's service is the
//     record's eventSource (s3.amazonaws.com for SigV2), its region the
//     record's awsRegion (not checked for global services — IAM,
//     CloudFront, Organizations, Route 53, STS — which the proxy records in
//     its --global-region);
//   - the record's eventTime is when the signature was valid: within 15
//     minutes of its signed date, or, for a presigned URL, from 15 minutes
//     before it was signed until it expired (sigv4.Proof.Scope);
//   - the record's eventTime is at most proofRecordAge before the server
//     receives it and at most 15 minutes after;
//   - no record with another eventID was verified with the same signature
//     (a replay). A record sent again whole (same eventID) is verified
//     again. The replay cache is this node's memory: it holds each
//     signature until no record could use it any more (the end of its
//     validity plus proofRecordAge). Each account (the key's) has a
//     cache of its own, of at most maxSeenProofs signatures: when full it
//     forgets those whose validity ended first, and from then on refuses
//     every signature of that account whose validity ended no later. A
//     tenant's flood of proofs fills its own account's cache only;
//   - the caller that sends the record may write records for the key's
//     account. A signature is taken into the cache only then, so that a
//     record the server refuses for its recipient does not use up the
//     signature of someone else's call.
type proofChecker struct {
	dir  *auth.Directory
	now  func() time.Time
	seen *accountProofs
}

// newProofChecker checks proofs against dir's keys at the times now says.
func newProofChecker(dir *auth.Directory, now func() time.Time) *proofChecker {
	return newProofCheckerMax(dir, now, maxSeenProofs)
}

// newProofCheckerMax is newProofChecker with each account's replay cache
// holding at most max signatures.
func newProofCheckerMax(dir *auth.Directory, now func() time.Time, max int) *proofChecker {
	if now == nil {
		now = time.Now
	}
	return &proofChecker{dir: dir, now: now, seen: &accountProofs{max: max, byAccount: map[string]*seenProofs{}}}
}

// accountProofs is the replay cache, one seenProofs per account.
type accountProofs struct {
	mu        sync.Mutex
	max       int
	byAccount map[string]*seenProofs
}

// claim is seenProofs.claim in account's cache.
func (a *accountProofs) claim(account, sigHash, eventID string, until, now time.Time) bool {
	a.mu.Lock()
	s, ok := a.byAccount[account]
	if !ok {
		s = newSeenProofs(a.max)
		a.byAccount[account] = s
	}
	a.mu.Unlock()
	return s.claim(sigHash, eventID, until, now)
}

// verifySignatures settles, in place, the identity of every record that
// carries a signature proof, and removes additionalEventData's
// SignatureVerified from every record that carries none. The proxy cannot
// know the secret behind an access key, so it records the caller as
// {"type":"Unknown","accessKeyId":…} with the proof; here, where the
// secrets are known, the proof is checked (see proofChecker):
//
//   - verified: userIdentity becomes the key's IAM user, recipientAccountId
//     its account, additionalEventData.SignatureVerified true;
//   - not verified: userIdentity is {"type":"Unknown","accessKeyId":…}
//     whatever the record said, additionalEventData.SignatureVerified
//     false. Nobody is named on the strength of an unchecked signature.
//
// A record without a proof is otherwise left as its producer wrote it; an
// "Unknown" identity is not completed from its access key alone.
//
// caller is who sends the records: a proof verifies a record only when
// caller may write records for the key's account (nil: any account, for
// tests of the proofs alone).
func (c *proofChecker) verifySignatures(caller *auth.Principal, records []json.RawMessage) {
	for i, raw := range records {
		if !mayNameMarker(raw) {
			continue
		}
		if out, ok := c.settleIdentity(caller, raw); ok {
			records[i] = out
		}
	}
}

// mayNameMarker reports whether raw may have a member that a JSON decoder
// names cairnSignatureProof or SignatureVerified: it holds one of the
// names written plainly in quotes, or a \u escape of an ASCII letter (the
// only way to spell a name of letters without writing it plainly). It may
// say true of a record that has neither member (settleIdentity then
// changes nothing), never false of one that has.
//
// It is read for every record ingested, so it goes at the speed of
// bytes.IndexByte: it looks only at the capital S both names share and at
// backslashes, not at every quote as a search for the quoted names would.
func mayNameMarker(raw []byte) bool {
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], 'S')
		if j < 0 {
			break
		}
		j += i
		if nameAt(raw, j-signatureVerifiedS, signatureVerifiedName) || nameAt(raw, j-signatureProofS, signatureProofName) {
			return true
		}
		i = j + 1
	}
	return hasLetterEscape(raw)
}

// nameAt says whether raw holds name at offset at.
func nameAt(raw []byte, at int, name string) bool {
	return at >= 0 && len(raw)-at >= len(name) && string(raw[at:at+len(name)]) == name
}

// hasLetterEscape says whether raw has a \u escape of a character from
// U+0040 to U+007F, which hold every ASCII letter. The character after a
// backslash is what it escapes, so \\u0041 (an escaped backslash, then the
// text u0041) is not one.
func hasLetterEscape(raw []byte) bool {
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\\')
		if j < 0 {
			return false
		}
		j += i
		if len(raw)-j >= 6 && raw[j+1] == 'u' && raw[j+2] == '0' && raw[j+3] == '0' && raw[j+4] >= '4' && raw[j+4] <= '7' {
			return true
		}
		i = j + 2
	}
	return false
}

// settleIdentity checks one record's proof, or drops the SignatureVerified
// a record without one claims; ok is false when the record is left as it
// is (no JSON object, which ingest then refuses with the reason, or
// nothing to change).
func (c *proofChecker) settleIdentity(caller *auth.Principal, raw json.RawMessage) (json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, false
	}
	rawProof, ok := m[signatureProofField]
	if !ok {
		return dropVerifiedClaim(m)
	}
	delete(m, signatureProofField)
	var proof sigv4.Proof
	proofOK := json.Unmarshal(rawProof, &proof) == nil
	var claimed struct {
		AccessKeyID string `json:"accessKeyId"`
	}
	json.Unmarshal(m["userIdentity"], &claimed)
	key := proof.AccessKeyID
	if key == "" {
		key = claimed.AccessKeyID
	}
	verified := proofOK && claimed.AccessKeyID == proof.AccessKeyID && c.dir != nil && proof.Check(c.dir)
	var use proofUse
	if verified {
		use, verified = c.madeFor(proof, m)
	}
	var identity json.RawMessage
	var account string
	if verified {
		identity, account, verified = c.dir.Identity(key)
	}
	if verified && caller != nil && !caller.MayWriteFor(account) {
		// Ingest refuses the record (InvalidRecipient): it must not use
		// up the signature.
		verified = false
	}
	if verified {
		verified = c.seen.claim(account, proof.SignatureSHA256, use.eventID, use.until, use.now)
	}
	if verified {
		m["userIdentity"] = identity
		m["recipientAccountId"], _ = json.Marshal(account)
	} else {
		m["userIdentity"], _ = json.Marshal(map[string]string{"type": "Unknown", "accessKeyId": key})
	}
	extra := map[string]json.RawMessage{}
	if v, ok := m["additionalEventData"]; ok && json.Unmarshal(v, &extra) != nil {
		// Not an object: ingest refuses the record and says why.
		out, _ := json.Marshal(m)
		return out, true
	}
	if extra == nil {
		extra = map[string]json.RawMessage{}
	}
	extra[signatureVerifiedField], _ = json.Marshal(verified)
	m["additionalEventData"], _ = json.Marshal(extra)
	out, err := json.Marshal(m)
	if err != nil {
		return nil, false
	}
	return out, true
}

// dropVerifiedClaim removes additionalEventData.SignatureVerified from a
// record without a proof: only the server says a signature was verified.
func dropVerifiedClaim(m map[string]json.RawMessage) (json.RawMessage, bool) {
	var extra map[string]json.RawMessage
	if json.Unmarshal(m["additionalEventData"], &extra) != nil {
		return nil, false
	}
	if _, ok := extra[signatureVerifiedField]; !ok {
		return nil, false
	}
	delete(extra, signatureVerifiedField)
	m["additionalEventData"], _ = json.Marshal(extra)
	out, err := json.Marshal(m)
	if err != nil {
		return nil, false
	}
	return out, true
}

// recordFacts are the members of a record a proof is bound to.
type recordFacts struct {
	EventID     string `json:"eventID"`
	EventTime   string `json:"eventTime"`
	EventSource string `json:"eventSource"`
	AWSRegion   string `json:"awsRegion"`
}

// signedOperation reports whether the operation the proof's signature
// covers (sigv4.Proof.Call: method, path, query, signed headers) is the
// record's, as cairn proxy's own resolver (awsop) names it from those:
//
//   - when it names the operation (S3 by method, path and query, JSON
//     protocols by the signed X-Amz-Target, query protocols by an Action
//     in the query, REST protocols by method and path), it must be the
//     record's eventName, and for S3 the bucket and key it names must be
//     the record's requestParameters.bucketName and key;
//   - when it does not, the record's eventName must be the proxy's name
//     for such a call ("METHOD /path"), except for a call signed in its
//     Authorization header and sent as a form (a query protocol's
//     Action in the body, which the proof does not hold): then the
//     operation is not bound. A header signature is seen only by the
//     proxy and the service, never shared as a presigned URL is.
//
// A proof without its canonical request (one with a sensitive header or
// parameter) names no operation and is refused.
func signedOperation(p sigv4.Proof, scope sigv4.ProofScope, m map[string]json.RawMessage) bool {
	call, ok := p.Call()
	if !ok {
		return false
	}
	var name string
	if json.Unmarshal(m["eventName"], &name) != nil || name == "" {
		return false
	}
	op := awsop.Resolve(&awsop.Call{Method: call.Method, Host: call.Host, Path: call.Path, RawQuery: call.RawQuery,
		Header: call.Header, Service: call.Service, Region: scope.Region, Status: http.StatusOK})
	if op.Name == "" {
		if p.Method == "AuthHeader" && call.Method == http.MethodPost &&
			strings.HasPrefix(call.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			return true
		}
		path, err := url.PathUnescape(call.Path)
		return err == nil && name == call.Method+" "+path
	}
	if op.Name != name {
		return false
	}
	var params map[string]json.RawMessage
	json.Unmarshal(m["requestParameters"], &params)
	for _, k := range []string{"bucketName", "key"} {
		want, ok := op.RequestParameters[k]
		if !ok {
			continue
		}
		var got any
		if json.Unmarshal(params[k], &got) != nil || got != want {
			return false
		}
	}
	return true
}

// proofUse is what the replay cache needs of a record a proof is made
// for: its eventID, when the signature stops being usable, and now.
type proofUse struct {
	eventID    string
	until, now time.Time
}

// madeFor reports whether a proof whose signature checks was made for
// this record's call, at its time (see proofChecker). Whether it was
// verified for another record before is the replay cache's to say.
func (c *proofChecker) madeFor(p sigv4.Proof, m map[string]json.RawMessage) (proofUse, bool) {
	var f recordFacts
	for name, dst := range map[string]*string{"eventID": &f.EventID, "eventTime": &f.EventTime,
		"eventSource": &f.EventSource, "awsRegion": &f.AWSRegion} {
		if json.Unmarshal(m[name], dst) != nil {
			return proofUse{}, false
		}
	}
	scope, ok := p.Scope()
	if !ok || f.EventID == "" || f.EventSource != awsop.EventSource(scope.Service) {
		return proofUse{}, false
	}
	if scope.Region != "" && scope.Region != f.AWSRegion && !awsop.GlobalService(scope.Service) {
		return proofUse{}, false
	}
	if !signedOperation(p, scope, m) {
		return proofUse{}, false
	}
	at, err := time.Parse(time.RFC3339, f.EventTime)
	if err != nil || at.Before(scope.From) || at.After(scope.To) {
		return proofUse{}, false
	}
	now := c.now()
	if at.Before(now.Add(-proofRecordAge)) || at.After(now.Add(proofRecordAhead)) {
		return proofUse{}, false
	}
	return proofUse{eventID: f.EventID, until: scope.To.Add(proofRecordAge), now: now}, true
}

// seenProofs is one account's replay cache: the eventID each signature (by
// its SHA-256) was verified for, until the signature could no longer be
// used.
type seenProofs struct {
	mu    sync.Mutex
	max   int
	byKey map[[32]byte]*seenProof
	order seenHeap
	// floor: signatures usable no later than this were forgotten to keep
	// within max, so they are refused.
	floor time.Time
}

type seenProof struct {
	key     [32]byte
	eventID string
	until   time.Time
	index   int
}

func newSeenProofs(max int) *seenProofs {
	return &seenProofs{max: max, byKey: map[[32]byte]*seenProof{}}
}

// claim records that the signature whose SHA-256 is sigHash (hex) was
// verified for eventID and reports true, or reports false when it was
// verified for another eventID (a replay) or may have been and was
// forgotten, or sigHash is malformed. until is when the signature stops
// being usable by any record.
func (s *seenProofs) claim(sigHash, eventID string, until, now time.Time) bool {
	var key [32]byte
	if n, err := hex.Decode(key[:], []byte(sigHash)); err != nil || n != len(key) || len(sigHash) != 2*len(key) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.order) > 0 && s.order[0].until.Before(now) {
		delete(s.byKey, heap.Pop(&s.order).(*seenProof).key)
	}
	if e, ok := s.byKey[key]; ok {
		return e.eventID == eventID
	}
	if !until.After(s.floor) {
		return false
	}
	for len(s.order) >= s.max {
		old := heap.Pop(&s.order).(*seenProof)
		delete(s.byKey, old.key)
		if old.until.After(s.floor) {
			s.floor = old.until
		}
	}
	if !until.After(s.floor) {
		return false
	}
	e := &seenProof{key: key, eventID: eventID, until: until}
	heap.Push(&s.order, e)
	s.byKey[key] = e
	return true
}

// seenHeap orders remembered signatures by the end of their use.
type seenHeap []*seenProof

func (h seenHeap) Len() int           { return len(h) }
func (h seenHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h seenHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *seenHeap) Push(x any) {
	e := x.(*seenProof)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *seenHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
