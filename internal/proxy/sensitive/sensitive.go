// Package sensitive is the one list of parameter names whose values cairn
// proxy never records, shared by its AWS-protocol and plain-HTTP modes.
//
// A name is read as words: it is split at '-', '_', '.', '/', spaces and
// camel-case boundaries ("x-api-key", "api_key", "apiKey", "APIKey" are all
// the words "api key"; "APIKEY" and "apikey" are the one word "apikey").
// Values are hidden (recorded as HIDDEN_DUE_TO_SECURITY_REASONS):
//
//   - wholly, when the name with its separators removed contains password,
//     passwd, passphrase, secret, token, privatekey, apikey, signature,
//     customerkey (S3's SSE-C key) or messagebody (SQS message contents),
//     unless it names an identifier, a setting or a fact about the secret
//     rather than the secret itself: its last word is one of id, ids, arn,
//     arns, name, names, type, types, count, length, required, enabled,
//     date, time, timestamp, version, versions, stage, stages, policy,
//     policies, age, expiration, expiry, expires, period, duration, status,
//     list, md5, algorithm, mode, format, method, flow, provider, region,
//     config, configuration, rotation, used, usage, location, url, uri,
//     prevention, valid, source, expression, supported (SecretId, TokenType,
//     SignatureVersion, PasswordLastUsed are recorded), or it is a
//     pagination or idempotency token (NextToken, next_token, ClientToken,
//     ContinuationToken…);
//   - in its strings and numbers, when the name's last word is pwd, sig,
//     auth, authorization, cookie, session, credential or credentials, or
//     the name ends with the words "access key" (access_key, accessKey,
//     AWS_ACCESS_KEY, ACCESSKEY). These words are matched whole and last
//     only, because inside names they mostly name settings: RoleSessionName,
//     SessionTimeout, AuthType, AccessKeyId and "design" are recorded. An
//     object under such a name is kept and its members judged by their own
//     names: STS's Credentials keep AccessKeyId and Expiration, and hide
//     SecretAccessKey and SessionToken; booleans are kept. A presigned
//     URL's X-Amz-Credential (access key id and scope) is recorded, as
//     CloudTrail does;
//   - in its strings and numbers too, when the whole name (a leading "x"
//     or "x-amz" aside) is a session identifier (session_id, sessionId,
//     SessionId, sessionid, JSESSIONID, PHPSESSID, ASPSESSIONID, sid), a
//     bearer credential (bearer, X-Amz-Bearer) or a DSN (dsn; also db_dsn,
//     database_dsn, sentry_dsn, sql_dsn); when its last word is jwt, otp or
//     pin; when it names a one-time code: its last word is code (digits
//     after it allowed: AuthenticationCode1) after mfa, auth,
//     authentication, authorization, otp, totp, verification, confirmation
//     or activation, or is mfacode, authcode, otpcode. Whole names only for
//     the first group, because AWS's compound names are identifiers
//     (GameSessionId, TrafficMirrorSessionId, ChimeBearer is an ARN,
//     MessageDsn a mail notification); code alone (an error or country
//     code) and key alone (S3's object Key) are recorded;
//   - wholly, when the name holds passcode or "credentials json"
//     (credentials_json), or ends with the words "service account key";
//   - in its strings and numbers, except a string that only refers to a
//     key or an endpoint kept elsewhere (an ARN, a KMS alias or key id, a
//     host name, a URL with no user, path or query), when its last word is
//     key after signing, encryption, hmac, master, private or priv
//     (signing_key, EncryptionKey, privKey, HMAC_KEY, masterKey; also
//     written as one word: signingkey…), or the name is a connection
//     string (ConnectionString). AWS's EncryptionKey and ConnectionString
//     members mostly hold a KMS key ARN or a host name: those are
//     recorded; key material and "Server=…;Password=…" are not.
package sensitive

import (
	"net/url"
	"slices"
	"strings"
	"unicode"
)

// Hidden is what CloudTrail records in place of a sensitive value.
const Hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

// stems make a name sensitive wherever they appear in it, its separators
// removed and lower-cased.
var stems = []string{"password", "passwd", "passphrase", "secret", "token", "privatekey", "apikey", "signature",
	"customerkey", "messagebody", "passcode", "credentialsjson", "credentialjson"}

// lastWords make a name sensitive when its last word is exactly one of
// them: too short or too common to look for inside other words ("sig" is
// in "design", "auth" in "author") or in the middle of a name
// (RoleSessionName, SessionTimeout, AuthType are settings).
var lastWords = []string{"pwd", "sig", "auth", "authorization", "cookie", "session", "credential", "credentials",
	"jwt", "otp", "pin"}

// wholeNames make a name sensitive (in its scalars) when they are the
// whole name, its separators removed and a leading "x" or "x amz" word
// aside: as parts of longer names they are identifiers (GameSessionId) or
// not secret at all (ChimeBearer is an ARN).
var wholeNames = []string{"sessionid", "jsessionid", "phpsessid", "aspsessionid", "sid", "bearer", "dsn",
	"dbdsn", "databasedsn", "sentrydsn", "sqldsn"}

// codeWords, before a last word "code", make it a one-time code.
var codeWords = []string{"mfa", "auth", "authentication", "authorization", "otp", "totp", "verification",
	"confirmation", "activation"}

// codeNames are one-time codes written as one word.
var codeNames = []string{"mfacode", "authcode", "otpcode", "totpcode"}

// keyWords, before a last word "key", make it key material; keyNames are
// the same written as one word.
var (
	keyWords = []string{"signing", "encryption", "hmac", "master", "private", "priv"}
	keyNames = []string{"signingkey", "encryptionkey", "hmackey", "masterkey", "privkey"}
)

// settingWords, as a name's last word, mark an identifier, a setting or a
// fact about a secret, recorded even when the name holds a word above.
var settingWords = []string{"id", "ids", "arn", "arns", "name", "names", "type", "types", "count", "length",
	"required", "enabled", "date", "time", "timestamp", "version", "versions", "stage", "stages", "policy",
	"policies", "age", "expiration", "expiry", "expires", "period", "duration", "status", "list", "md5",
	"algorithm", "mode", "format", "method", "flow", "provider", "region", "config", "configuration",
	"rotation", "used", "usage", "location", "url", "uri", "prevention", "valid", "source", "expression", "supported"}

// settingSuffixes are setting words that names write without a boundary
// (kmskeyid, x-amz-server-side-encryption-customer-key-MD5).
var settingSuffixes = []string{"keyid", "keyarn", "md5", "reuseprevention"}

// notSensitive are pagination and idempotency tokens, digests of message
// bodies and a presigned URL's X-Amz-Credential (the access key id and
// scope, which CloudTrail records), which reveal nothing secret
// (separators removed, lower case).
var notSensitive = []string{"nexttoken", "continuationtoken", "paginationtoken", "starttoken", "clienttoken",
	"clientrequesttoken", "idempotencytoken", "nextcontinuationtoken", "pagetoken", "nextpagetoken",
	"xamzsecuritytokenpresent", "md5ofmessagebody", "md5ofmessageattributes", "md5ofmessagesystemattributes", "xamzcredential"}

// Kind says how much of a value a name hides.
type Kind int

const (
	// None: the value is recorded.
	None Kind = iota
	// Value: the whole value is hidden, whatever it is.
	Value
	// Scalars: strings, numbers and lists of them are hidden; an object
	// is kept and its members are judged by their own names (so a
	// "Credentials" structure keeps its AccessKeyId and Expiration and
	// hides its SecretAccessKey and SessionToken).
	Scalars
	// References: as Scalars, except that a string which only refers to a
	// key or an endpoint kept elsewhere (IsReference) is recorded.
	References
)

// Name reports whether the value of a parameter, header or member called
// name is hidden, wholly or in part (see Classify).
func Name(name string) bool { return Classify(name) != None }

// Classify says how the value of a parameter, header or member called name
// is recorded.
func Classify(name string) Kind {
	ws := Words(name)
	if len(ws) == 0 {
		return None
	}
	joined := strings.Join(ws, "")
	if slices.Contains(notSensitive, joined) {
		return None
	}
	last := ws[len(ws)-1]
	if slices.Contains(wholeNames, strings.Join(withoutPrefix(ws), "")) || oneTimeCode(ws) {
		return Scalars
	}
	if slices.Contains(lastWords, last) || strings.HasSuffix(joined, "accesskey") &&
		(last == "accesskey" || len(ws) >= 2 && ws[len(ws)-2] == "access" && last == "key") {
		return Scalars
	}
	hit := false
	for _, s := range stems {
		if strings.Contains(joined, s) {
			hit = true
			break
		}
	}
	if !hit {
		return keyMaterial(ws)
	}
	if slices.Contains(settingWords, last) {
		return None
	}
	for _, s := range settingSuffixes {
		if strings.HasSuffix(joined, s) {
			return None
		}
	}
	return Value
}

// withoutPrefix is a name's words without a leading "x" or "x amz".
func withoutPrefix(ws []string) []string {
	if len(ws) > 1 && ws[0] == "x" {
		ws = ws[1:]
		if len(ws) > 1 && ws[0] == "amz" {
			ws = ws[1:]
		}
	}
	return ws
}

// oneTimeCode reports whether a name is a one-time code: a last word
// "code" (digits after it allowed) after one of codeWords, or one of
// codeNames.
func oneTimeCode(ws []string) bool {
	last := strings.TrimRight(ws[len(ws)-1], "0123456789")
	if slices.Contains(codeNames, last) {
		return true
	}
	return last == "code" && len(ws) >= 2 && slices.Contains(codeWords, ws[len(ws)-2])
}

// keyMaterial is the kind of a name no stem made sensitive: References
// for key material and connection strings, Value for a service account
// key, else None.
func keyMaterial(ws []string) Kind {
	n := len(ws)
	last := ws[n-1]
	switch {
	case n >= 3 && ws[n-3] == "service" && ws[n-2] == "account" && last == "key",
		n >= 2 && ws[n-2] == "serviceaccount" && last == "key", last == "serviceaccountkey":
		return Value
	case slices.Contains(keyNames, last), last == "key" && n >= 2 && slices.Contains(keyWords, ws[n-2]),
		strings.HasSuffix(strings.Join(ws, ""), "connectionstring") && (last == "string" || last == "connectionstring"):
		return References
	}
	return None
}

// IsReference reports whether a string only refers to a key or an
// endpoint kept elsewhere, so that it is no secret: an ARN, a KMS alias or
// key id, a host name, or a URL with a host and no user, path or query.
func IsReference(s string) bool {
	switch {
	case strings.HasPrefix(s, "arn:"), strings.HasPrefix(s, "alias/"), kmsKeyID(s):
		return true
	case hostName(s):
		return true
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.User == nil && hostName(u.Hostname()) && (u.Path == "" || u.Path == "/") &&
		u.RawQuery == "" && u.Fragment == "" && !strings.Contains(s, "@")
}

// kmsKeyID reports whether s is a KMS key id: a UUID, or "mrk-" and 32
// hexadecimal digits.
func kmsKeyID(s string) bool {
	if rest, ok := strings.CutPrefix(s, "mrk-"); ok {
		return len(rest) == 32 && strings.Trim(rest, "0123456789abcdef") == ""
	}
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if r != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// hostName reports whether s is a DNS name of two labels or more (or
// "localhost"): letters, digits and hyphens, dot-separated.
func hostName(s string) bool {
	if s == "localhost" {
		return true
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 || len(s) > 253 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
			return false
		}
	}
	return true
}

// Words splits a name into its lower-case words: at every character that
// is not a letter or a digit, before an upper-case letter that follows a
// lower-case letter or a digit, and before the last upper-case letter of
// a run followed by a lower-case one ("APIKey" → api, key).
func Words(name string) []string {
	var out []string
	rs := []rune(name)
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			out = append(out, strings.ToLower(string(rs[start:end])))
		}
		start = -1
	}
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		prev := rs[i-1]
		switch {
		case unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
			flush(i)
			start = i
		case unicode.IsUpper(r) && unicode.IsUpper(prev) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
			flush(i)
			start = i
		}
	}
	flush(len(rs))
	return out
}

// Hide replaces, in a decoded JSON value, the values of sensitive keys
// (at any depth) as Classify says; it changes v in place and returns it.
func Hide(v any) any {
	return hide(v, 0)
}

// maxDepth bounds the walk over decoded values; deeper values are hidden.
const maxDepth = 128

func hide(v any, depth int) any {
	if depth > maxDepth {
		return Hidden
	}
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			x[k] = HideAs(Classify(k), hide(val, depth+1))
		}
	case []any:
		for i := range x {
			x[i] = hide(x[i], depth+1)
		}
	}
	return v
}

// HideAs hides a value (already walked for its own members' names) as
// kind says: nil stays nil (nothing was sent), Value hides everything,
// Scalars hides strings and numbers, in lists too, and keeps objects and
// booleans.
func HideAs(kind Kind, v any) any {
	if v == nil || kind == None {
		return v
	}
	if kind == Value {
		return Hidden
	}
	switch x := v.(type) {
	case map[string]any, bool:
		return v
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = HideAs(kind, e)
		}
		return out
	case string:
		if kind == References && IsReference(x) {
			return v
		}
	}
	return Hidden
}
