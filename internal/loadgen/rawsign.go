package loadgen

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The one request the http client sends: LookupEvents in AWS JSON 1.1.
const (
	lookupContentType = "application/x-amz-json-1.1"
	lookupTarget      = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
	lookupService     = "cloudtrail"
	// lookupSignedHeaders are the headers the signature covers, as the SDK's
	// signer picks them for this request: all it has when signed.
	lookupSignedHeaders = "content-length;content-type;host;x-amz-date;x-amz-target"
	amzDateLayout       = "20060102T150405Z"
)

// lookupSigner signs LookupEvents requests with AWS Signature Version 4
// (header form) for one endpoint, region and access key. The request is
// always the same but for its body and time, so the canonical request is
// written straight into a reused buffer, and the signing key is derived
// once a day. A lookupSigner is for one goroutine.
type lookupSigner struct {
	key, secret, region string
	host                string // the Host header, without a default port
	uri                 string // the canonical URI

	day    string    // the date of the cached signing key
	mac    hash.Hash // HMAC-SHA256 keyed with the day's signing key
	canon  []byte    // the canonical request, then the string to sign
	sum    [sha256.Size]byte
	amzBuf [len(amzDateLayout)]byte
	hexBuf [2 * sha256.Size]byte
}

// newLookupSigner makes a signer for requests to u.
func newLookupSigner(u *url.URL, key, secret, region string) *lookupSigner {
	host := u.Host
	if port := u.Port(); port != "" && (strings.EqualFold(u.Scheme, "http") && port == "80" || strings.EqualFold(u.Scheme, "https") && port == "443") {
		host = u.Hostname() // as the SDK has it: an IPv6 address loses its brackets
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	// Each byte of the escaped path that is not unreserved is escaped
	// again, as AWS wants for every service but S3.
	var uri strings.Builder
	for i := range len(path) {
		c := path[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/", c) >= 0 {
			uri.WriteByte(c)
		} else {
			fmt.Fprintf(&uri, "%%%02X", c)
		}
	}
	return &lookupSigner{key: key, secret: secret, region: region, host: host, uri: uri.String()}
}

// sign returns the X-Amz-Date and Authorization header values of a
// LookupEvents request with body, sent at t.
func (s *lookupSigner) sign(body []byte, t time.Time) (amzDate, authorization string) {
	t = t.UTC()
	date := t.AppendFormat(s.amzBuf[:0], amzDateLayout)
	day := date[:8]
	if string(day) != s.day {
		s.day = string(day)
		s.mac = hmac.New(sha256.New, signingKey(s.secret, s.day, s.region, lookupService))
	}

	// The canonical request.
	c := s.canon[:0]
	c = append(c, "POST\n"...)
	c = append(c, s.uri...)
	c = append(c, "\n\ncontent-length:"...)
	c = strconv.AppendInt(c, int64(len(body)), 10)
	c = append(c, "\ncontent-type:"+lookupContentType+"\nhost:"...)
	c = append(c, s.host...)
	c = append(c, "\nx-amz-date:"...)
	c = append(c, date...)
	c = append(c, "\nx-amz-target:"+lookupTarget+"\n\n"+lookupSignedHeaders+"\n"...)
	s.sum = sha256.Sum256(body)
	c = hex.AppendEncode(c, s.sum[:])
	s.sum = sha256.Sum256(c)

	// The string to sign, in the same buffer.
	c = append(c[:0], "AWS4-HMAC-SHA256\n"...)
	c = append(c, date...)
	c = append(c, '\n')
	c = append(c, day...)
	c = append(c, '/')
	c = append(c, s.region...)
	c = append(c, "/"+lookupService+"/aws4_request\n"...)
	c = hex.AppendEncode(c, s.sum[:])
	s.mac.Reset()
	s.mac.Write(c)
	hex.Encode(s.hexBuf[:], s.mac.Sum(s.sum[:0]))

	// The Authorization header.
	c = append(c[:0], "AWS4-HMAC-SHA256 Credential="...)
	c = append(c, s.key...)
	c = append(c, '/')
	c = append(c, day...)
	c = append(c, '/')
	c = append(c, s.region...)
	c = append(c, "/"+lookupService+"/aws4_request, SignedHeaders="+lookupSignedHeaders+", Signature="...)
	c = append(c, s.hexBuf[:]...)
	s.canon = c
	return string(date), string(c)
}

// signingKey derives the SigV4 signing key of a day (yyyymmdd).
func signingKey(secret, day, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
