package sigv4

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-audit/cairn/internal/proxy/sensitive"
)

// Proof is what a recorder (cairn proxy) keeps of a signed request it
// passed on, so that whoever knows the key's secret (the Cairn server) can
// later tell whether the key's owner signed that request: the string to
// sign, rebuilt by the recorder from the request as it arrived, and the
// SHA-256 of the signature. The signature itself is never kept: with the
// request's parameters it could be a usable presigned URL.
//
// Signature Version 4 is checked in both forms (Authorization header and
// presigned URL), S3's Signature Version 2 likewise (header "AWS key:sig"
// and ?AWSAccessKeyId=…&Signature=…&Expires=…). A streaming upload
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) is checked on its seed signature;
// its chunk signatures are the service's to check.
type Proof struct {
	// Version is "SigV4" or "SigV2", as CloudTrail's
	// additionalEventData.SignatureVersion.
	Version string `json:"signatureVersion"`
	// Method is "AuthHeader" or "QueryString", as CloudTrail's
	// additionalEventData.AuthenticationMethod.
	Method      string `json:"authenticationMethod"`
	AccessKeyID string `json:"accessKeyId"`
	// StringToSign is the string the signature must be the HMAC of.
	StringToSign string `json:"stringToSign,omitempty"`
	// SignatureSHA256 is the hex SHA-256 of the signature's bytes.
	SignatureSHA256 string `json:"signatureSha256,omitempty"`
	// CanonicalRequest is, for Signature Version 4, the canonical request
	// whose SHA-256 ends StringToSign: the method, path, query and signed
	// headers the signature covers (never the signature), so that the
	// checker can tell which operation was signed (Proof.Call) and, for
	// a presigned URL, how long it was valid (its X-Amz-Expires). It is
	// left out when a query parameter or signed header has a sensitive
	// name (a security token, an SSE-C key, an API's token…): the proof
	// then names no operation and is never verified.
	CanonicalRequest string `json:"canonicalRequest,omitempty"`
	// Problem says why the signature cannot be checked (then it never
	// counts as verified): malformed, expired, or the body not seen whole.
	Problem string `json:"problem,omitempty"`
}

// Signed is a request a recorder passed on, and what it saw of its body.
type Signed struct {
	Request *http.Request
	// BodySHA256 is the hex SHA-256 of the whole body; "" when the
	// recorder did not see all of it.
	BodySHA256 string
	// BodyLen is the body's length when seen whole.
	BodyLen int64
	// Bucket is the bucket of a virtual-hosted S3 request ("" for path
	// style): SigV2 signs the path with the bucket in front.
	Bucket string
	// Now is when the request arrived; a signature outside its validity
	// (15 minutes around X-Amz-Date, a presigned URL's expiry) is not
	// checked.
	Now time.Time
}

// NewProof rebuilds what the request's signature covers. It reports
// false when the request carries no signature it knows (unsigned, or
// another scheme).
func NewProof(s Signed) (Proof, bool) {
	r := s.Request
	if r == nil || r.URL == nil {
		return Proof{}, false
	}
	authz := strings.TrimSpace(r.Header.Get("Authorization"))
	q, _ := url.ParseQuery(r.URL.RawQuery)
	switch {
	case strings.HasPrefix(authz, Algorithm+" "):
		return v4Header(s, authz), true
	case q.Get("X-Amz-Algorithm") != "" || q.Get("X-Amz-Credential") != "":
		return v4Query(s, q), true
	case strings.HasPrefix(authz, "AWS "):
		return v2(s, q, false), true
	case q.Get("AWSAccessKeyId") != "":
		return v2(s, q, true), true
	}
	return Proof{}, false
}

// Check reports whether the proof's signature is the key's: the key is
// known to creds and the HMAC of the string to sign with its secret is the
// signature recorded.
func (p Proof) Check(creds Credentials) bool {
	if p.Problem != "" || p.StringToSign == "" || p.AccessKeyID == "" || creds == nil {
		return false
	}
	want, err := hex.DecodeString(p.SignatureSHA256)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	secret, ok := creds.SecretFor(p.AccessKeyID)
	if !ok {
		return false
	}
	var mac []byte
	switch p.Version {
	case "SigV4":
		lines := strings.Split(p.StringToSign, "\n")
		if len(lines) != 4 || lines[0] != Algorithm {
			return false
		}
		scope := strings.Split(lines[2], "/")
		if len(scope) != 4 || scope[3] != scopeTerminator || !strings.HasPrefix(lines[1], scope[0]) {
			return false
		}
		mac = hmacSHA256(signingKey(secret, scope[0], scope[1], scope[2]), []byte(p.StringToSign))
	case "SigV2":
		m := hmac.New(sha1.New, []byte(secret))
		m.Write([]byte(p.StringToSign))
		mac = m.Sum(nil)
	default:
		return false
	}
	got := sha256.Sum256(mac)
	return hmac.Equal(got[:], want)
}

// signatureSHA256 is the hex SHA-256 of a signature's bytes.
func signatureSHA256(sig []byte) string {
	sum := sha256.Sum256(sig)
	return hex.EncodeToString(sum[:])
}

// v4Header rebuilds the string to sign of an Authorization header.
func v4Header(s Signed, authz string) Proof {
	p := Proof{Version: "SigV4", Method: "AuthHeader"}
	a, aerr := parseAuthorization(authz)
	if aerr != nil {
		p.Problem = aerr.Message
		return p
	}
	p.AccessKeyID = a.accessKeyID
	headers := lowerHeaders(s.Request.Header)
	if len(headers["x-amz-date"]) != 1 {
		p.Problem = "the request has no single X-Amz-Date header"
		return p
	}
	amzDate := strings.TrimSpace(headers["x-amz-date"][0])
	signedAt, err := time.Parse(amzDateFormat, amzDate)
	if err != nil || a.scopeDate != amzDate[:8] {
		p.Problem = "X-Amz-Date is malformed or not the credential scope's date"
		return p
	}
	if d := s.Now.Sub(signedAt); d > MaxSkew || d < -MaxSkew {
		p.Problem = "the signature's X-Amz-Date is more than 15 minutes from the time of the request"
		return p
	}
	payload, problem := payloadHash(headers, s.BodySHA256, "")
	if problem != "" {
		p.Problem = problem
		return p
	}
	query := ""
	if s.Request.URL != nil {
		query = s.Request.URL.RawQuery
	}
	return finishV4(p, s, headers, a.signedHeaders, query, amzDate, a.scope(), a.service, payload, a.signature)
}

// v4Query rebuilds the string to sign of a presigned URL.
func v4Query(s Signed, q url.Values) Proof {
	p := Proof{Version: "SigV4", Method: "QueryString"}
	cred := strings.Split(q.Get("X-Amz-Credential"), "/")
	if q.Get("X-Amz-Algorithm") != Algorithm || len(cred) != 5 || cred[0] == "" || cred[4] != scopeTerminator {
		p.Problem = "X-Amz-Algorithm or X-Amz-Credential is malformed"
		if len(cred) > 0 {
			p.AccessKeyID = cred[0]
		}
		return p
	}
	p.AccessKeyID = cred[0]
	amzDate := q.Get("X-Amz-Date")
	signedAt, err := time.Parse(amzDateFormat, amzDate)
	if err != nil || amzDate[:8] != cred[1] {
		p.Problem = "X-Amz-Date is malformed or not the credential scope's date"
		return p
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || expires < 1 || expires > 7*24*3600 {
		p.Problem = "X-Amz-Expires is not a number of seconds from 1 to 604800"
		return p
	}
	if s.Now.Before(signedAt.Add(-MaxSkew)) || s.Now.After(signedAt.Add(time.Duration(expires)*time.Second)) {
		p.Problem = "the presigned URL was used outside its validity"
		return p
	}
	sig, err := hex.DecodeString(q.Get("X-Amz-Signature"))
	if err != nil || len(sig) != sha256.Size {
		p.Problem = "X-Amz-Signature is not 64 hexadecimal characters"
		return p
	}
	signed := strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	if !slices.IsSorted(signed) || !slices.Contains(signed, "host") {
		p.Problem = "X-Amz-SignedHeaders is malformed"
		return p
	}
	headers := lowerHeaders(s.Request.Header)
	defaultPayload := ""
	if cred[3] == "s3" {
		defaultPayload = UnsignedPayload
	}
	payload, problem := payloadHash(headers, s.BodySHA256, defaultPayload)
	if problem != "" {
		p.Problem = problem
		return p
	}
	scope := strings.Join(cred[1:], "/")
	return finishV4(p, s, headers, signed, withoutSignature(s.Request.URL.RawQuery), amzDate, scope, cred[3], payload, sig)
}

// finishV4 builds the canonical request and the string to sign.
func finishV4(p Proof, s Signed, headers map[string][]string, signed []string, rawQuery, amzDate, scope, service, payload string, sig []byte) Proof {
	var canon strings.Builder
	for _, name := range signed {
		values := headerValues(s.Request, headers, name, int(s.BodyLen))
		if values == nil {
			p.Problem = "a signed header is missing: " + name
			return p
		}
		canon.WriteString(name + ":" + canonicalHeaderValue(values) + "\n")
	}
	query, err := canonicalQuery(rawQuery)
	if err != nil {
		p.Problem = "the query string is not validly percent-encoded"
		return p
	}
	method := s.Request.Method
	if method == "" {
		method = http.MethodGet
	}
	cr := strings.Join([]string{method, canonicalURI(s.Request.URL, service), query, canon.String(),
		strings.Join(signed, ";"), payload}, "\n")
	sum := sha256.Sum256([]byte(cr))
	p.StringToSign = Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	p.SignatureSHA256 = signatureSHA256(sig)
	if !holdsSecret(rawQuery, signed) {
		p.CanonicalRequest = cr
	}
	return p
}

// holdsSecret reports whether a presigned URL's query parameters or signed
// headers have a name whose value cairn never keeps (sensitive.Name).
func holdsSecret(rawQuery string, signedHeaders []string) bool {
	for _, part := range strings.Split(rawQuery, "&") {
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err != nil || sensitive.Name(n) {
			return true
		}
	}
	return slices.ContainsFunc(signedHeaders, sensitive.Name)
}

// payloadHash is the payload line of the canonical request: the
// X-Amz-Content-Sha256 header when sent (a hash there must be the body's
// when the body was seen whole), else def when given, else the body's
// hash, which needs the whole body.
func payloadHash(headers map[string][]string, bodySHA256, def string) (string, string) {
	if v, ok := headers["x-amz-content-sha256"]; ok {
		sent := canonicalHeaderValue(v)
		if len(sent) == 2*sha256.Size && bodySHA256 != "" && !strings.EqualFold(sent, bodySHA256) {
			return "", "the body does not match its X-Amz-Content-Sha256 header"
		}
		return sent, ""
	}
	if def != "" {
		return def, ""
	}
	if bodySHA256 == "" {
		return "", "the body was not seen whole, so its hash is unknown"
	}
	return bodySHA256, ""
}

// withoutSignature is a raw query string without its X-Amz-Signature.
func withoutSignature(raw string) string {
	parts := strings.Split(raw, "&")
	out := parts[:0]
	for _, part := range parts {
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil && n == "X-Amz-Signature" {
			continue
		}
		out = append(out, part)
	}
	return strings.Join(out, "&")
}

// v2SubResources are the query parameters S3's Signature Version 2 signs
// (as botocore's HmacV1Auth lists them).
var v2SubResources = []string{"accelerate", "acl", "cors", "defaultObjectAcl", "location", "logging", "partNumber",
	"policy", "requestPayment", "torrent", "versioning", "versionId", "versions", "website", "uploads", "uploadId",
	"response-content-type", "response-content-language", "response-expires", "response-cache-control",
	"response-content-disposition", "response-content-encoding", "delete", "lifecycle", "tagging", "restore",
	"storageClass", "notification", "replication", "analytics", "metrics", "inventory", "select", "select-type",
	"object-lock"}

// v2 rebuilds the string to sign of S3's Signature Version 2:
// method, Content-MD5, Content-Type, Date (or Expires), the x-amz-
// headers, and the resource.
func v2(s Signed, q url.Values, query bool) Proof {
	r := s.Request
	p := Proof{Version: "SigV2", Method: "AuthHeader"}
	headers := lowerHeaders(r.Header)
	var sigText, date string
	if query {
		p.Method = "QueryString"
		p.AccessKeyID, sigText, date = q.Get("AWSAccessKeyId"), q.Get("Signature"), q.Get("Expires")
		exp, err := strconv.ParseInt(date, 10, 64)
		if err != nil {
			p.Problem = "Expires is not a number of seconds since 1970"
			return p
		}
		if s.Now.After(time.Unix(exp, 0)) {
			p.Problem = "the presigned URL was used after it expired"
			return p
		}
	} else {
		key, sig, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "AWS ")), ":")
		p.AccessKeyID, sigText = key, sig
		if !ok {
			p.Problem = "the Authorization header is not AWS key:signature"
			return p
		}
		when := r.Header.Get("X-Amz-Date")
		if when == "" {
			date = r.Header.Get("Date")
			when = date
		}
		t, err := http.ParseTime(when)
		if err != nil {
			t, err = time.Parse(amzDateFormat, when)
		}
		if err != nil {
			p.Problem = "the request has no valid Date or X-Amz-Date header"
			return p
		}
		if d := s.Now.Sub(t); d > MaxSkew || d < -MaxSkew {
			p.Problem = "the request's date is more than 15 minutes from the time of the request"
			return p
		}
	}
	sig, err := base64.StdEncoding.DecodeString(sigText)
	if err != nil || len(sig) != sha1.Size {
		p.Problem = "the signature is not a base64 HMAC-SHA1"
		return p
	}
	if _, ok := headers["x-amz-security-token"]; ok || q.Get("x-amz-security-token") != "" {
		p.Problem = "temporary credentials (a security token) are not checked"
		return p
	}
	// The string to sign holds the x-amz- headers as sent: never keep an
	// SSE-C key in it.
	for _, h := range []string{"x-amz-server-side-encryption-customer-key", "x-amz-copy-source-server-side-encryption-customer-key"} {
		if _, ok := headers[h]; ok || q.Get(h) != "" {
			p.Problem = "the request carries an encryption key, which is not kept to check its signature"
			return p
		}
	}
	// Presigning moves x-amz- headers, Content-MD5 and Content-Type into
	// the query; they were signed as headers.
	get := func(name string) []string {
		if query {
			if v, ok := q[name]; ok {
				return v
			}
		}
		return headers[name]
	}
	amz := map[string][]string{}
	for k, v := range headers {
		if strings.HasPrefix(k, "x-amz-") {
			amz[k] = v
		}
	}
	if query {
		for k, v := range q {
			if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
				amz[lk] = v
			}
		}
	}
	var b strings.Builder
	b.WriteString(strings.ToUpper(r.Method) + "\n")
	b.WriteString(strings.TrimSpace(strings.Join(get("content-md5"), ",")) + "\n")
	b.WriteString(strings.TrimSpace(strings.Join(get("content-type"), ",")) + "\n")
	b.WriteString(date + "\n")
	names := make([]string, 0, len(amz))
	for k := range amz {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		vs := make([]string, len(amz[k]))
		for i, v := range amz[k] {
			vs[i] = strings.TrimSpace(v)
		}
		b.WriteString(k + ":" + strings.Join(vs, ",") + "\n")
	}
	if s.Bucket != "" {
		b.WriteString("/" + s.Bucket)
	}
	b.WriteString(r.URL.EscapedPath())
	b.WriteString(v2Resource(r.URL.RawQuery))
	p.StringToSign = b.String()
	p.SignatureSHA256 = signatureSHA256(sig)
	return p
}

// v2Resource is the signed part of the query: the sub-resources, sorted,
// values decoded, "?name[=value]&…"; "" when there are none.
func v2Resource(raw string) string {
	var parts [][2]string
	for _, part := range strings.Split(raw, "&") {
		name, value, hasValue := strings.Cut(part, "=")
		if !slices.Contains(v2SubResources, name) {
			continue
		}
		if hasValue {
			if v, err := url.PathUnescape(value); err == nil {
				value = v
			}
			parts = append(parts, [2]string{name, "=" + value})
		} else {
			parts = append(parts, [2]string{name, ""})
		}
	}
	if len(parts) == 0 {
		return ""
	}
	slices.SortStableFunc(parts, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	var b strings.Builder
	for i, p := range parts {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(p[0] + p[1])
	}
	return b.String()
}
