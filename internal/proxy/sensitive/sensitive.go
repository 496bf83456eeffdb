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
//     CloudTrail does.
package sensitive

import (
	"slices"
	"strings"
	"unicode"
)

// Hidden is what CloudTrail records in place of a sensitive value.
const Hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

// stems make a name sensitive wherever they appear in it, its separators
// removed and lower-cased.
var stems = []string{"password", "passwd", "passphrase", "secret", "token", "privatekey", "apikey", "signature",
	"customerkey", "messagebody"}

// lastWords make a name sensitive when its last word is exactly one of
// them: too short or too common to look for inside other words ("sig" is
// in "design", "auth" in "author") or in the middle of a name
// (RoleSessionName, SessionTimeout, AuthType are settings).
var lastWords = []string{"pwd", "sig", "auth", "authorization", "cookie", "session", "credential", "credentials"}

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
	if !hit || slices.Contains(settingWords, last) {
		return None
	}
	for _, s := range settingSuffixes {
		if strings.HasSuffix(joined, s) {
			return None
		}
	}
	return Value
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
			out[i] = HideAs(Scalars, e)
		}
		return out
	}
	return Hidden
}
