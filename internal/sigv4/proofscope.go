package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxPresignedExpiry is the longest a presigned URL is taken to be valid:
// SigV4's X-Amz-Expires is at most 7 days, and a SigV2 URL (which names
// its expiry, not when it was signed) counts as signed at most 7 days
// before it expires.
const MaxPresignedExpiry = 7 * 24 * time.Hour

// ProofScope is what a proof's signature was made for, as far as the
// string to sign tells: the service and region of a SigV4 credential
// scope (SigV2 is S3's only and names no region: Service "s3", Region ""),
// and the times [From, To] at which a request it signed can have been
// made: 15 minutes either side of a signed date; for a presigned URL, from
// 15 minutes before it was signed until it expires.
type ProofScope struct {
	Service, Region string
	From, To        time.Time
}

// Scope reads the proof's scope from its string to sign (and, for a SigV4
// presigned URL, its canonical request, when it is there and is the one
// the string to sign hashes; without it the URL counts as valid for 15
// minutes). It reports false when the string to sign is malformed.
func (p Proof) Scope() (ProofScope, bool) {
	switch p.Version {
	case "SigV4":
		return p.v4Scope()
	case "SigV2":
		return p.v2Scope()
	}
	return ProofScope{}, false
}

func (p Proof) v4Scope() (ProofScope, bool) {
	lines := strings.Split(p.StringToSign, "\n")
	if len(lines) != 4 || lines[0] != Algorithm {
		return ProofScope{}, false
	}
	signedAt, err := time.Parse(amzDateFormat, lines[1])
	scope := strings.Split(lines[2], "/")
	if err != nil || len(scope) != 4 || scope[3] != scopeTerminator {
		return ProofScope{}, false
	}
	ps := ProofScope{Service: scope[2], Region: scope[1], From: signedAt.Add(-MaxSkew), To: signedAt.Add(MaxSkew)}
	if p.Method == "QueryString" && p.CanonicalRequest != "" {
		sum := sha256.Sum256([]byte(p.CanonicalRequest))
		if hex.EncodeToString(sum[:]) != lines[3] {
			return ProofScope{}, false
		}
		if expires, ok := presignedExpires(p.CanonicalRequest); ok {
			ps.To = signedAt.Add(expires)
		}
	}
	return ps, true
}

// presignedExpires is the X-Amz-Expires of a presigned URL's canonical
// request (one whose query names the algorithm and credential: a request
// signed in its header that happens to carry the parameter is no
// presigned URL).
func presignedExpires(canonicalRequest string) (time.Duration, bool) {
	lines := strings.SplitN(canonicalRequest, "\n", 4)
	if len(lines) < 4 {
		return 0, false
	}
	q, err := url.ParseQuery(lines[2])
	if err != nil || len(q["X-Amz-Expires"]) != 1 || q.Get("X-Amz-Algorithm") != Algorithm || q.Get("X-Amz-Credential") == "" {
		return 0, false
	}
	n, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || n < 1 || time.Duration(n)*time.Second > MaxPresignedExpiry {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// v2Scope reads a SigV2 string to sign: method, Content-MD5, Content-Type,
// Date (or a presigned URL's Expires, or "" when X-Amz-Date is sent and
// then listed among the x-amz- headers), the x-amz- headers, the resource.
func (p Proof) v2Scope() (ProofScope, bool) {
	lines := strings.Split(p.StringToSign, "\n")
	if len(lines) < 5 {
		return ProofScope{}, false
	}
	ps := ProofScope{Service: "s3"}
	if p.Method == "QueryString" {
		exp, err := strconv.ParseInt(lines[3], 10, 64)
		if err != nil {
			return ProofScope{}, false
		}
		ps.To = time.Unix(exp, 0)
		ps.From = ps.To.Add(-MaxPresignedExpiry)
		return ps, true
	}
	when := lines[3]
	for _, l := range lines[4 : len(lines)-1] {
		if v, ok := strings.CutPrefix(l, "x-amz-date:"); ok {
			when = v
		}
	}
	t, err := http.ParseTime(when)
	if err != nil {
		t, err = time.Parse(amzDateFormat, when)
	}
	if err != nil {
		return ProofScope{}, false
	}
	ps.From, ps.To = t.Add(-MaxSkew), t.Add(MaxSkew)
	return ps, true
}
