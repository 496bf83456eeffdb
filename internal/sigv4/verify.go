// Package sigv4 verifies AWS Signature Version 4 (AWS4-HMAC-SHA256) on
// incoming HTTP requests, so that Cairn accepts requests signed by AWS SDKs,
// the AWS CLI and curl --aws-sigv4 with a known access key and secret.
//
// Only the Authorization header form is supported (not presigned URLs or
// streaming/chunked payload signatures). The canonical request is rebuilt
// from what Go's net/http server hands the handler; see Verify. As AWS
// wants, every x-amz-* header of a request must be signed. A request that
// declares its payload hash (X-Amz-Content-Sha256) can be verified before
// its body is read (Verifier.VerifyDeclared, then CheckPayload).
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
)

// Algorithm is the only signing algorithm Verify accepts.
const Algorithm = "AWS4-HMAC-SHA256"

// MaxSkew is how far the request's X-Amz-Date may be from the server clock.
const MaxSkew = 15 * time.Minute

// UnsignedPayload is the X-Amz-Content-Sha256 value that opts out of
// body hashing.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// AWS error codes that Verify returns in Error.Code: awsproto's codes of
// request signing, as strings (sigv4 answers in no particular protocol).
const (
	// CodeMissingAuthenticationToken means the request has no Authorization header.
	CodeMissingAuthenticationToken = string(awsproto.MissingAuthenticationTokenException)
	// CodeIncompleteSignature means the Authorization header or the headers it
	// refers to are malformed or missing.
	CodeIncompleteSignature = string(awsproto.IncompleteSignatureException)
	// CodeUnrecognizedClient means the access key id is unknown.
	CodeUnrecognizedClient = string(awsproto.UnrecognizedClientException)
	// CodeInvalidSignature means the signature is well formed but wrong, expired,
	// or scoped to another service.
	CodeInvalidSignature = string(awsproto.InvalidSignatureException)
)

const (
	amzDateFormat   = "20060102T150405Z"
	scopeDateFormat = "20060102"
	scopeTerminator = "aws4_request"
)

// Credentials resolves an access key id to its secret; ok=false for an unknown key.
type Credentials interface {
	SecretFor(accessKeyID string) (secret string, ok bool)
}

// Result describes a request whose signature Verify accepted.
type Result struct {
	AccessKeyID string
	Region      string // from the credential scope
	Service     string // from the credential scope
	SignedAt    time.Time
}

// Error is returned by Verify; Code is one of the AWS error codes
// (CodeMissingAuthenticationToken, CodeIncompleteSignature,
// CodeUnrecognizedClient, CodeInvalidSignature) and Message explains it.
type Error struct {
	Code    string
	Message string
}

// Error returns "Code: Message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// authorization is a parsed Authorization header.
type authorization struct {
	accessKeyID   string
	scopeDate     string // yyyymmdd
	region        string
	service       string
	signedHeaders []string // lower case, sorted
	signature     []byte
}

// scope returns the credential scope without the access key id.
func (a *authorization) scope() string {
	return a.scopeDate + "/" + a.region + "/" + a.service + "/" + scopeTerminator
}

// Verify checks the request's Authorization header (AWS4-HMAC-SHA256, header form)
// against body (the full request body, already read by the caller) and returns who signed it.
// service is the expected signing name (e.g. "cloudtrail"); a scope naming another service fails.
// now is the server clock; a signature whose X-Amz-Date is more than 15 minutes away fails.
//
// Any failure is an *Error. The host header is read from r.Host and
// content-length from r.ContentLength, as net/http servers provide them.
// An X-Amz-Content-Sha256 header other than UNSIGNED-PAYLOAD must match the
// SHA-256 of body; UNSIGNED-PAYLOAD is accepted, as S3 accepts it (a
// Verifier with RequireSignedPayload refuses it). Every x-amz-* header of
// the request must be signed.
func Verify(r *http.Request, body []byte, creds Credentials, service string, now time.Time) (Result, error) {
	return Verifier{Credentials: creds, Service: service}.Verify(r, body, now)
}

// Verifier verifies the signatures of requests for one service.
type Verifier struct {
	// Credentials resolves access keys; nil knows no key.
	Credentials Credentials
	// Service is the signing name the credential scope must name.
	Service string
	// RequireSignedPayload refuses X-Amz-Content-Sha256: UNSIGNED-PAYLOAD,
	// so that the signature always covers the body. AWS's JSON APIs such as
	// CloudTrail's hash the body themselves; only S3 takes UNSIGNED-PAYLOAD.
	RequireSignedPayload bool
}

// Verify checks r's signature against its full body (see the package
// function Verify).
func (v Verifier) Verify(r *http.Request, body []byte, now time.Time) (Result, error) {
	if r == nil {
		return Result{}, errorf(CodeMissingAuthenticationToken, "Request is missing Authentication Token")
	}
	bodySum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(bodySum[:])
	if values, ok := lowerHeaders(r.Header)["x-amz-content-sha256"]; ok {
		sent := canonicalHeaderValue(values)
		if sent != UnsignedPayload && !strings.EqualFold(sent, payloadHash) {
			// Checked after the signature: a malformed or unsigned request
			// hears about that first.
			res, err := v.verify(r, sent, len(body), now)
			if err != nil {
				return res, err
			}
			return Result{}, payloadMismatch()
		}
		payloadHash = sent
	}
	return v.verify(r, payloadHash, len(body), now)
}

// DeclaredPayloadHash returns the payload hash that r declares in its
// X-Amz-Content-Sha256 header, lower-cased, when it is one SHA-256 in hex
// (64 hex digits): the request's signature can then be verified before its
// body is read (VerifyDeclared), and the body checked afterwards
// (CheckPayload). ok is false for a request without the header, with
// UNSIGNED-PAYLOAD or with anything else; such a request is verified with
// its body (Verify).
func DeclaredPayloadHash(r *http.Request) (hash string, ok bool) {
	if r == nil {
		return "", false
	}
	v := lowerHeaders(r.Header)["x-amz-content-sha256"]
	if len(v) != 1 {
		return "", false
	}
	h := strings.ToLower(strings.Trim(v[0], " \t"))
	if len(h) != 2*sha256.Size {
		return "", false
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", false
	}
	return h, true
}

// VerifyDeclared checks r's signature with the payload hash r declares
// (DeclaredPayloadHash), without reading the body: a caller that has not
// proven who it is then holds no buffer. The body is not yet checked: read
// it and pass it to CheckPayload before trusting it. A request that
// declares no hash fails with CodeIncompleteSignature.
func (v Verifier) VerifyDeclared(r *http.Request, now time.Time) (Result, error) {
	hash, ok := DeclaredPayloadHash(r)
	if !ok {
		return Result{}, errorf(CodeIncompleteSignature, "The request declares no payload hash in 'x-amz-content-sha256'.")
	}
	bodyLen := -1
	if r.ContentLength >= 0 {
		bodyLen = int(r.ContentLength)
	}
	return v.verify(r, hash, bodyLen, now)
}

// CheckPayload says whether body is the payload that hash (as returned by
// DeclaredPayloadHash) names, with CodeInvalidSignature when it is not.
func CheckPayload(hash string, body []byte) error {
	sum := sha256.Sum256(body)
	want, err := hex.DecodeString(hash)
	if err != nil || !hmac.Equal(sum[:], want) {
		return payloadMismatch()
	}
	return nil
}

func payloadMismatch() *Error {
	return errorf(CodeInvalidSignature, "The provided 'x-amz-content-sha256' header does not match what was computed.")
}

// Precheck checks everything about r's signature that can be checked
// without its body: an Authorization header of the right form naming a
// known access key, scoped to the Verifier's service, an X-Amz-Date within
// MaxSkew of now, every x-amz-* header signed and, with
// RequireSignedPayload, no UNSIGNED-PAYLOAD. Only the signature itself is
// left, which covers the body. It returns the access key id the request
// names: a server may then give the request's body room, counted against
// that key, knowing it names a real key with a current date (the key id is
// not a secret; the signature, checked once the body is in, proves it).
// Any failure is an *Error with the code Verify would give.
func (v Verifier) Precheck(r *http.Request, now time.Time) (accessKeyID string, err error) {
	bodyLen := -1
	if r != nil && r.ContentLength >= 0 {
		bodyLen = int(r.ContentLength)
	}
	payload := ""
	if r != nil {
		if values, ok := lowerHeaders(r.Header)["x-amz-content-sha256"]; ok {
			payload = canonicalHeaderValue(values)
		}
	}
	p, perr := v.prepare(r, payload, bodyLen, now)
	if perr != nil {
		return "", perr
	}
	return p.auth.accessKeyID, nil
}

// prepared is a request whose signature is checked but for the HMAC: the
// parts of the string to sign, and the key's secret.
type prepared struct {
	auth         *authorization
	amzDate      string
	signedAt     time.Time
	canonHeaders string
	query        string
	secret       string
}

// verify checks r's Authorization header with payloadHash as the canonical
// request's payload line. bodyLen stands in for a content-length header a
// chunked request lacks (-1: unknown).
func (v Verifier) verify(r *http.Request, payloadHash string, bodyLen int, now time.Time) (Result, error) {
	p, err := v.prepare(r, payloadHash, bodyLen, now)
	if err != nil {
		return Result{}, err
	}
	auth := p.auth
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	canonicalRequest := strings.Join([]string{
		method,
		canonicalURI(r.URL, v.Service),
		p.query,
		p.canonHeaders,
		strings.Join(auth.signedHeaders, ";"),
		payloadHash,
	}, "\n")
	requestSum := sha256.Sum256([]byte(canonicalRequest))
	stringToSign := Algorithm + "\n" + p.amzDate + "\n" + auth.scope() + "\n" + hex.EncodeToString(requestSum[:])

	key := signingKey(p.secret, auth.scopeDate, auth.region, auth.service)
	want := hmacSHA256(key, []byte(stringToSign))
	if !hmac.Equal(want, auth.signature) {
		return Result{}, errorf(CodeInvalidSignature, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return Result{
		AccessKeyID: auth.accessKeyID,
		Region:      auth.region,
		Service:     auth.service,
		SignedAt:    p.signedAt,
	}, nil
}

// prepare checks all of r's signature but the HMAC (see Precheck), with
// payloadHash the payload line the signature is to cover.
func (v Verifier) prepare(r *http.Request, payloadHash string, bodyLen int, now time.Time) (*prepared, *Error) {
	if r == nil {
		return nil, errorf(CodeMissingAuthenticationToken, "Request is missing Authentication Token")
	}
	headers := lowerHeaders(r.Header)

	authValues := headers["authorization"]
	if len(authValues) == 0 || (len(authValues) == 1 && strings.TrimSpace(authValues[0]) == "") {
		return nil, errorf(CodeMissingAuthenticationToken, "Request is missing Authentication Token")
	}
	if len(authValues) > 1 {
		return nil, errorf(CodeIncompleteSignature, "Request has %d Authorization headers; send exactly one", len(authValues))
	}
	auth, err := parseAuthorization(authValues[0])
	if err != nil {
		return nil, err
	}

	dateValues := headers["x-amz-date"]
	if len(dateValues) != 1 {
		return nil, errorf(CodeIncompleteSignature, "Authorization header requires exactly one 'X-Amz-Date' header (yyyymmddThhmmssZ); the request has %d", len(dateValues))
	}
	amzDate := strings.TrimSpace(dateValues[0])
	signedAt, perr := time.Parse(amzDateFormat, amzDate)
	if perr != nil || len(amzDate) != len(amzDateFormat) {
		return nil, errorf(CodeIncompleteSignature, "X-Amz-Date %q is not a date of the form yyyymmddThhmmssZ", amzDate)
	}
	if auth.scopeDate != amzDate[:8] {
		return nil, errorf(CodeIncompleteSignature, "Date in Credential scope %q does not match YYYYMMDD from X-Amz-Date %q", auth.scopeDate, amzDate)
	}

	if !slices.Contains(auth.signedHeaders, "host") {
		return nil, errorf(CodeIncompleteSignature, "SignedHeaders must include 'host'")
	}
	// Build the canonical headers now: a signed header the request lacks is
	// a malformed request, whatever the key.
	var canonHeaders strings.Builder
	for _, name := range auth.signedHeaders {
		values := headerValues(r, headers, name, bodyLen)
		if values == nil {
			return nil, errorf(CodeIncompleteSignature, "SignedHeaders names %q but the request has no such header", name)
		}
		canonHeaders.WriteString(name)
		canonHeaders.WriteByte(':')
		canonHeaders.WriteString(canonicalHeaderValue(values))
		canonHeaders.WriteByte('\n')
	}
	if unsigned := unsignedAmzHeaders(headers, auth.signedHeaders); len(unsigned) > 0 {
		return nil, errorf(CodeInvalidSignature, "There were headers present in the request which were not signed: %s. Every x-amz-* header must be listed in SignedHeaders.", strings.Join(unsigned, ", "))
	}
	if v.RequireSignedPayload && payloadHash == UnsignedPayload {
		return nil, errorf(CodeInvalidSignature, "This API does not accept 'x-amz-content-sha256: %s': sign the request body (its SHA-256 in hex).", UnsignedPayload)
	}
	rawQuery := ""
	if r.URL != nil {
		rawQuery = r.URL.RawQuery
	}
	query, qerr := canonicalQuery(rawQuery)
	if qerr != nil {
		return nil, errorf(CodeIncompleteSignature, "Query string is not validly percent-encoded: %v", qerr)
	}

	if auth.service != v.Service {
		return nil, errorf(CodeInvalidSignature, "Credential should be scoped to correct service: '%s'.", v.Service)
	}

	if v.Credentials == nil {
		return nil, errorf(CodeUnrecognizedClient, "The security token included in the request is invalid.")
	}
	secret, ok := v.Credentials.SecretFor(auth.accessKeyID)
	if !ok {
		return nil, errorf(CodeUnrecognizedClient, "The security token included in the request is invalid.")
	}

	now = now.UTC()
	if skew := now.Sub(signedAt); skew > MaxSkew {
		return nil, errorf(CodeInvalidSignature, "Signature expired: %s is now earlier than %s (%s - 15 min.)",
			amzDate, now.Add(-MaxSkew).Format(amzDateFormat), now.Format(amzDateFormat))
	} else if skew < -MaxSkew {
		return nil, errorf(CodeInvalidSignature, "Signature not yet current: %s is still later than %s (%s + 15 min.)",
			amzDate, now.Add(MaxSkew).Format(amzDateFormat), now.Format(amzDateFormat))
	}

	return &prepared{auth: auth, amzDate: amzDate, signedAt: signedAt, canonHeaders: canonHeaders.String(), query: query, secret: secret}, nil
}

// unsignedAmzHeaders returns, sorted, the x-amz-* headers of the request
// (lower-case names) that signed does not list. AWS wants every x-amz-*
// header signed: one that is not (X-Amz-Target, X-Amz-Security-Token, …)
// could be added or changed by anyone on the way without the signature
// noticing. x-amzn-* headers (such as X-Amzn-Trace-Id) are not x-amz-*.
func unsignedAmzHeaders(headers map[string][]string, signed []string) []string {
	var out []string
	for name := range headers {
		if strings.HasPrefix(name, "x-amz-") && !slices.Contains(signed, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// parseAuthorization parses
//
//	AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/<service>/aws4_request, SignedHeaders=a;b;c, Signature=<64 hex>
func parseAuthorization(h string) (*authorization, *Error) {
	h = strings.TrimSpace(h)
	alg, rest, _ := strings.Cut(h, " ")
	if alg != Algorithm {
		return nil, errorf(CodeIncompleteSignature, "Unsupported Authorization algorithm %q; only %s is supported", alg, Algorithm)
	}

	params := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, found := strings.Cut(part, "=")
		if !found {
			return nil, errorf(CodeIncompleteSignature, "Authorization header part %q is not of the form key=value", part)
		}
		switch k {
		case "Credential", "SignedHeaders", "Signature":
		default:
			return nil, errorf(CodeIncompleteSignature, "Authorization header has unknown part %q; expected Credential, SignedHeaders and Signature", k)
		}
		if _, dup := params[k]; dup {
			return nil, errorf(CodeIncompleteSignature, "Authorization header repeats '%s'", k)
		}
		params[k] = v
	}
	var missing []string
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if params[k] == "" {
			missing = append(missing, fmt.Sprintf("Authorization header requires '%s' parameter.", k))
		}
	}
	if len(missing) > 0 {
		return nil, errorf(CodeIncompleteSignature, "%s", strings.Join(missing, " "))
	}

	a := &authorization{}
	cred := params["Credential"]
	fields := strings.Split(cred, "/")
	if len(fields) != 5 || fields[0] == "" || fields[2] == "" || fields[3] == "" || fields[4] != scopeTerminator {
		return nil, errorf(CodeIncompleteSignature, "Credential %q must have the form <access key id>/<yyyymmdd>/<region>/<service>/aws4_request", cred)
	}
	if _, err := time.Parse(scopeDateFormat, fields[1]); err != nil || len(fields[1]) != len(scopeDateFormat) {
		return nil, errorf(CodeIncompleteSignature, "Credential scope date %q is not a date of the form yyyymmdd", fields[1])
	}
	a.accessKeyID, a.scopeDate, a.region, a.service = fields[0], fields[1], fields[2], fields[3]

	a.signedHeaders = strings.Split(params["SignedHeaders"], ";")
	for i, name := range a.signedHeaders {
		if name == "" || name != strings.ToLower(name) || strings.ContainsAny(name, " \t:") {
			return nil, errorf(CodeIncompleteSignature, "SignedHeaders %q must be non-empty lower-case header names separated by ';'", params["SignedHeaders"])
		}
		if i > 0 && a.signedHeaders[i-1] >= name {
			return nil, errorf(CodeIncompleteSignature, "SignedHeaders %q must be sorted and without duplicates", params["SignedHeaders"])
		}
	}

	sig, err := hex.DecodeString(params["Signature"])
	if err != nil || len(sig) != sha256.Size {
		return nil, errorf(CodeIncompleteSignature, "Signature must be %d hexadecimal characters", 2*sha256.Size)
	}
	a.signature = sig
	return a, nil
}

// signingKey returns the SigV4 signing key of a secret for a day, region
// and service. It is the same for every request of that scope, so it is
// derived once and kept.
func signingKey(secret, date, region, service string) []byte {
	ck := keyCacheKey{secret, date, region, service}
	keyCache.Lock()
	k, ok := keyCache.m[ck]
	keyCache.Unlock()
	if ok {
		return k
	}
	k = deriveSigningKey(secret, date, region, service)
	keyCache.Lock()
	if keyCache.m == nil || len(keyCache.m) >= maxCachedKeys {
		keyCache.m = map[keyCacheKey][]byte{} // start over: old days age out
	}
	keyCache.m[ck] = k
	keyCache.Unlock()
	return k
}

type keyCacheKey struct{ secret, date, region, service string }

// keyCache holds derived signing keys; maxCachedKeys bounds it (a few keys
// a day per access key, region and service in use).
var keyCache struct {
	sync.Mutex
	m map[keyCacheKey][]byte
}

const maxCachedKeys = 4096

// deriveSigningKey derives the SigV4 signing key:
// HMAC("AWS4"+secret, date) → region → service → "aws4_request".
func deriveSigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte(scopeTerminator))
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}
