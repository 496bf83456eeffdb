package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
)

// SignedCall is what a proof's signature covers of the call it signed:
// the method, the path (as sent, escaped), the query and the signed
// headers. For SigV4 it is read from the proof's canonical request, which
// must be the one the string to sign hashes; for S3's SigV2 from the
// string to sign itself (method, Content-Type, x-amz- headers and the
// resource: path-style path and the signed sub-resources).
type SignedCall struct {
	Method, Host, Path, RawQuery string
	Header                       http.Header
	// Service is the SigV4 scope's service ("s3" for SigV2).
	Service string
}

// Call reports what the proof's signature covers of its call, or false
// when the proof does not hold it (a SigV4 proof without its canonical
// request, or one whose canonical request is not the one signed).
func (p Proof) Call() (SignedCall, bool) {
	switch p.Version {
	case "SigV4":
		return p.v4Call()
	case "SigV2":
		return p.v2Call()
	}
	return SignedCall{}, false
}

func (p Proof) v4Call() (SignedCall, bool) {
	sts := strings.Split(p.StringToSign, "\n")
	if len(sts) != 4 || p.CanonicalRequest == "" {
		return SignedCall{}, false
	}
	scope := strings.Split(sts[2], "/")
	sum := sha256.Sum256([]byte(p.CanonicalRequest))
	if len(scope) != 4 || hex.EncodeToString(sum[:]) != sts[3] {
		return SignedCall{}, false
	}
	// method, URI, query, header lines…, "", signed header names, payload.
	lines := strings.Split(p.CanonicalRequest, "\n")
	n := len(lines)
	if n < 6 || lines[n-3] != "" {
		return SignedCall{}, false
	}
	c := SignedCall{Method: lines[0], RawQuery: lines[2], Header: http.Header{}, Service: scope[2]}
	c.Path = lines[1]
	if c.Service != "s3" {
		// Other services' canonical URI is the escaped path escaped once more.
		path, err := url.PathUnescape(lines[1])
		if err != nil {
			return SignedCall{}, false
		}
		c.Path = path
	}
	for _, h := range lines[3 : n-3] {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return SignedCall{}, false
		}
		c.Header.Add(name, value)
	}
	c.Host = c.Header.Get("Host")
	return c, true
}

func (p Proof) v2Call() (SignedCall, bool) {
	lines := strings.Split(p.StringToSign, "\n")
	if len(lines) < 5 {
		return SignedCall{}, false
	}
	c := SignedCall{Method: lines[0], Header: http.Header{}, Service: "s3", Host: "s3.amazonaws.com"}
	if lines[2] != "" {
		c.Header.Set("Content-Type", lines[2])
	}
	for _, h := range lines[4 : len(lines)-1] {
		if name, value, ok := strings.Cut(h, ":"); ok {
			c.Header.Add(name, value)
		}
	}
	c.Path, c.RawQuery, _ = strings.Cut(lines[len(lines)-1], "?")
	return c, true
}
