package proxy

// Issue 14, item 7: in plain-HTTP mode every spelling of a secret's name is
// hidden, in the query, the JSON body, the response and a path parameter,
// and a path parameter with a secret's name is no resource; names that only
// share a word with a secret are kept.

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// secretsConfig routes a login, a reset link whose path carries a token and
// a key lookup whose path carries an API key.
const secretsConfig = `
http:
  event_source: accounts.example.internal
  identity: {header: X-User}
  routes:
    - {method: POST, path: /v1/login, operation: Login}
    - {method: GET, path: /v1/search, operation: Search}
    - {method: POST, path: "/v1/reset/{token}", operation: ResetPassword, resource_type: "Example::Accounts::Reset"}
    - {method: GET, path: "/v1/users/{user}/keys/{api_key}", operation: GetKey, resource_type: "Example::Accounts::Key"}
`

// secretNames are the names of issue 14 in the spellings clients use.
var secretNames = []string{"api-key", "api_key", "apiKey", "ApiKey", "APIKEY", "x-api-key", "private-key", "privateKey",
	"passwd", "pwd", "auth", "session", "sig", "access_key", "accessKey", "AWS_ACCESS_KEY", "password", "client_secret",
	"refresh_token",
	// review finding 8
	"session_id", "sessionid", "SessionId", "JSESSIONID", "PHPSESSID", "sid", "jwt", "bearer", "otp", "passcode",
	"mfa_code", "auth_code", "pin", "privKey", "signing_key", "encryption_key", "hmac_key", "master_key",
	"service_account_key", "credentials_json", "connection_string", "dsn"}

// keptNames share a word with a secret's name but are settings or
// identifiers.
var keptNames = []string{"RoleSessionName", "sessionTimeout", "authType", "signatureVersion", "AccessKeyId", "design",
	"GameSessionId", "ErrorCode", "Key", "code", "key"}

func secretValue(name string) string {
	return "s3cr3t-" + strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(name))
}

func TestProxyHTTPHidesSecretNames(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, secretsConfig))
	if err != nil {
		t.Fatal(err)
	}
	// The upstream echoes every secret name in its answer.
	var respBody strings.Builder
	respBody.WriteString(`{"ok":true`)
	for _, n := range secretNames {
		respBody.WriteString(`,"` + n + `":"resp-` + secretValue(n) + `"`)
	}
	respBody.WriteString(`}`)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, respBody.String())
	}))
	t.Cleanup(upstream.Close)
	rec := &memRecorder{}
	front := newTestProxy(t, upstream.URL, rec, func(o *Options) { o.HTTP = cfg })

	q := url.Values{}
	var body strings.Builder
	body.WriteString(`{"user":"carol","nested":{"list":[{`)
	for i, n := range secretNames {
		q.Set(n, "q-"+secretValue(n))
		if i > 0 {
			body.WriteString(",")
		}
		body.WriteString(`"` + n + `":"b-` + secretValue(n) + `"`)
	}
	body.WriteString(`}]}`)
	for _, n := range secretNames {
		body.WriteString(`,"` + n + `":"b-` + secretValue(n) + `"`)
	}
	for _, n := range keptNames {
		q.Set(n, "kept-"+n)
		body.WriteString(`,"body_` + n + `":"kept-` + n + `"`)
	}
	body.WriteString(`}`)

	calls := []*http.Request{}
	r, _ := http.NewRequest(http.MethodPost, front+"/v1/login?"+q.Encode(), strings.NewReader(body.String()))
	r.Header.Set("Content-Type", "application/json")
	calls = append(calls, r)
	r, _ = http.NewRequest(http.MethodGet, front+"/v1/search?"+q.Encode(), nil)
	calls = append(calls, r)
	r, _ = http.NewRequest(http.MethodPost, front+"/v1/reset/path-token-8f3a1c", strings.NewReader(`{"new_passwd":"b-newpass"}`))
	calls = append(calls, r)
	r, _ = http.NewRequest(http.MethodGet, front+"/v1/users/carol/keys/path-apikey-77de", nil)
	calls = append(calls, r)
	for _, c := range calls {
		c.Header.Set("X-User", "carol")
		do(t, c)
	}
	evs := rec.wait(t, len(calls))
	byName := map[string]int{}
	for i, e := range evs {
		byName[e["eventName"].(string)] = i
	}
	const H = "HIDDEN_DUE_TO_SECURITY_REASONS"
	for _, op := range []string{"Login", "Search"} {
		e, raw := evs[byName[op]], rec.raw(byName[op])
		for _, n := range secretNames {
			want(t, e, "requestParameters."+n, H)
			if op == "Login" {
				want(t, e, "responseElements."+n, H)
			}
			for _, v := range []string{"q-", "b-", "resp-"} {
				if strings.Contains(raw, v+secretValue(n)) {
					t.Errorf("%s: the event holds %s's value %q", op, n, v+secretValue(n))
				}
			}
		}
		for _, n := range keptNames {
			want(t, e, "requestParameters."+n, "kept-"+n)
		}
	}
	e := evs[byName["Login"]]
	want(t, e, "requestParameters.user", "carol")
	want(t, e, "responseElements.ok", true)
	for _, n := range keptNames {
		want(t, e, "requestParameters.body_"+n, "kept-"+n)
	}
	// A path parameter named like a secret: hidden, and no resource.
	e, raw := evs[byName["ResetPassword"]], rec.raw(byName["ResetPassword"])
	want(t, e, "requestParameters.token", H)
	want(t, e, "requestParameters.new_passwd", H)
	want(t, e, "resources", nil)
	if strings.Contains(raw, "path-token-8f3a1c") || strings.Contains(raw, "b-newpass") {
		t.Errorf("ResetPassword: the event holds the path's token:\n%s", raw)
	}
	e, raw = evs[byName["GetKey"]], rec.raw(byName["GetKey"])
	want(t, e, "requestParameters.api_key", H)
	want(t, e, "requestParameters.user", "carol")
	want(t, e, "resources", []any{map[string]any{"ARN": "carol", "type": "Example::Accounts::Key"}})
	if strings.Contains(raw, "path-apikey-77de") {
		t.Errorf("GetKey: the event holds the path's API key:\n%s", raw)
	}
}

// TestProxyHTTPIdentityHeaderNotSecret: a config naming a secret's header
// as the caller's name is refused; it would record the secret.
func TestProxyHTTPIdentityHeaderNotSecret(t *testing.T) {
	for _, h := range []string{"X-Api-Key", "Authorization", "X-Session"} {
		p := writeConfig(t, "http:\n  event_source: a.example\n  identity: {header: "+h+"}\n")
		if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), h) {
			t.Errorf("identity.header %s: LoadConfig gives %v, want an error naming it", h, err)
		}
	}
}

// TestProxyAWSHidesSecretNames: the AWS-protocol mode hides the same names
// (a JSON-protocol call the models do not know, and STS's query protocol)
// and keeps RoleSessionName.
func TestProxyAWSHidesSecretNames(t *testing.T) {
	upstream := cannedUpstream(t, http.StatusOK, "application/x-amz-json-1.1", `{"Session":"resp-sess-1","SessionTimeout":30}`)
	rec := &memRecorder{}
	front := newTestProxy(t, upstream.URL, rec, nil)
	var body strings.Builder
	body.WriteString(`{"RoleSessionName":"kept-rsn","AuthType":"kept-at"`)
	for _, n := range secretNames {
		body.WriteString(`,"` + n + `":"b-` + secretValue(n) + `"`)
	}
	body.WriteString(`}`)
	r, _ := http.NewRequest(http.MethodPost, front+"/", strings.NewReader(body.String()))
	r.Header.Set("X-Amz-Target", "ExampleService_20260101.PutThing")
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	sign(t, r, sha256Hex(body.String()), "example", "us-east-1", "")
	do(t, r)
	e, raw := rec.wait(t, 1)[0], rec.raw(0)
	for _, n := range secretNames {
		want(t, e, "requestParameters."+lowerFirstForTest(n), "HIDDEN_DUE_TO_SECURITY_REASONS")
		if strings.Contains(raw, "b-"+secretValue(n)) {
			t.Errorf("the event holds %s's value", n)
		}
	}
	want(t, e, "requestParameters.roleSessionName", "kept-rsn")
	want(t, e, "requestParameters.authType", "kept-at")
	want(t, e, "responseElements.session", "HIDDEN_DUE_TO_SECURITY_REASONS")
	want(t, e, "responseElements.sessionTimeout", 30)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func lowerFirstForTest(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
