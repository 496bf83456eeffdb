package e2e

// Issue 14, review finding 8 through the real binaries: cairn proxy in
// plain-HTTP mode in front of an API, cairn serve receiving its records.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestProxyPlainHTTPSessionAndKeySecretsHidden: session ids, bearer
// credentials, one-time codes, PINs, key material, connection strings and
// DSNs are hidden in event history, in the query, the JSON body and the
// response; the identifiers and references that share their words (a
// GameSessionId, an error code, an object key, a KMS key ARN under
// encryption_key) are kept.
func TestProxyPlainHTTPSessionAndKeySecretsHidden(t *testing.T) {
	t.Parallel()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"JSESSIONID":"resp-sessionid-secret","jwt":"resp-jwt-secret","dsn":"resp-dsn-secret"}`)
	}))
	t.Cleanup(api.Close)
	srv := Start(t, Options{Config: pxConfig})
	px := startProxy(t, pxOptions{Upstream: api.URL, Server: srv.URL, SpoolDir: t.TempDir(), Config: `
http:
  event_source: accounts.example.internal
  identity: {header: X-User}
  routes:
    - {method: POST, path: /v1/session, operation: CreateSession}
`})
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	id := pxSuffix()
	names := []string{"session_id", "sessionid", "SessionId", "JSESSIONID", "PHPSESSID", "sid", "jwt", "bearer", "otp",
		"passcode", "mfa_code", "auth_code", "pin", "privKey", "signing_key", "encryption_key", "hmac_key", "master_key",
		"service_account_key", "credentials_json", "connection_string", "dsn"}
	const kms = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	// One call with the names in its query, one in its JSON body (a body
	// member would replace a query parameter of the same name).
	q := url.Values{"who": {id + "-q"}}
	body := map[string]any{"GameSessionId": "kept-" + id, "ErrorCode": "kept-code", "Key": "kept-key",
		"kms": map[string]any{"encryption_key": kms}}
	for _, n := range names {
		q.Set(n, "q-secret-"+n)
		body[n] = "b-secret-" + n
	}
	body["connection_string"] = "Server=db;User Id=app;Password=b-secret-conn"
	body["credentials_json"] = map[string]any{"private_key_id": "b-secret-x", "client_email": "b-secret-y"}
	b, _ := json.Marshal(body)
	for _, call := range []struct {
		query string
		body  []byte
	}{{q.Encode(), []byte(`{}`)}, {"who=" + id + "-b", b}} {
		req, _ := http.NewRequest(http.MethodPost, px.URL+"/v1/session?"+call.query, bytes.NewReader(call.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-User", "carol")
		pxHTTPDo(t, req)
	}

	const H = "HIDDEN_DUE_TO_SECURITY_REASONS"
	for _, who := range []string{id + "-q", id + "-b"} {
		evs := pxWaitLookup(t, east, "CreateSession", 30*time.Second, pxParam("who", who))
		if len(evs) != 1 {
			t.Fatalf("%d CreateSession events, want 1\nproxy log:\n%s", len(evs), dlTail(px.Log(), 20))
		}
		raw := aws.ToString(evs[0].CloudTrailEvent)
		for _, n := range names {
			if v := pxGet(evs[0].Record, "requestParameters."+n); v != H {
				t.Errorf("%s: requestParameters.%s = %v, want hidden", who, n, v)
			}
		}
		if strings.Contains(raw, "-secret-") {
			t.Errorf("the CreateSession event holds a secret:\n%s", raw)
		}
		pxExpect(t, "CreateSession", evs[0].Record, map[string]any{"responseElements.ok": true,
			"responseElements.JSESSIONID": H, "responseElements.jwt": H, "responseElements.dsn": H})
		if strings.HasSuffix(who, "-b") {
			pxExpect(t, "CreateSession", evs[0].Record, map[string]any{"requestParameters.GameSessionId": "kept-" + id,
				"requestParameters.ErrorCode": "kept-code", "requestParameters.Key": "kept-key",
				"requestParameters.kms.encryption_key": kms, "requestParameters.credentials_json": H})
		}
	}
}
