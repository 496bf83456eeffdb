package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// What must never show in logs, metrics or Cairn's own audit records.
const (
	secWrongSecret   = "wrong-secret-Zq9xK2vB7"
	secUnknownSecret = "unknown-secret-Pp3mW8rT1"
	secSessionToken  = "FwoGZXIvYXdzSESSIONTOKENqwertyuiop"
	secHookPassword  = "hook-password-Hn5tY6"
	secHunter        = "hunter2-Vb8nM1"
)

func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	var hookMu sync.Mutex
	hookCalls := 0
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookMu.Lock()
		hookCalls++
		hookMu.Unlock()
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusInternalServerError) // a failing webhook: its error is logged
	}))
	defer hook.Close()
	hu, _ := url.Parse(hook.URL)
	hookURL := "http://hook:" + secHookPassword + "@" + hu.Host + "/notify?token=" + secHookPassword
	cfg := StandardConfig + `
kms_keys:
  - {arn: "arn:aws:kms:us-east-1:111111111111:key/6f1c2a3b-1111-2222-3333-444455556666", account: "111111111111"}
topics:
  - {name: audit-topic, account: "111111111111", url: "` + hookURL + `"}
`
	srv := Start(t, Options{Config: cfg, Args: []string{"--log-level", "debug"}})
	ctx := context.Background()
	if err := os.MkdirAll(filepath.Join(srv.DataDir, "buckets", "secret-logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	users := []struct{ name, key, secret string }{
		{"alice", AdminKey, AdminSecret}, {"rita", ReaderKey, ReaderSecret}, {"ivan", IngestKey, IngestSecret},
		{"carl", CustomKey, CustomSecret}, {"bob", OtherKey, OtherSecret},
	}
	alice := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	if _, err := alice.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("sealed"), S3BucketName: aws.String("secret-logs"),
		KmsKeyId: aws.String("6f1c2a3b-1111-2222-3333-444455556666"), SnsTopicName: aws.String("audit-topic"),
		EnableLogFileValidation: aws.Bool(true)}); err != nil {
		t.Fatalf("CreateTrail: %v", err)
	}
	if _, err := alice.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("sealed")}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	for _, u := range users {
		for _, region := range []string{"us-east-1", "eu-west-1"} {
			c := srv.CloudTrail(u.key, u.secret, region)
			// Successful and refused calls of every kind.
			c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyAccessKeyId, u.key)})
			c.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
			c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("sealed")})
			c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("by-" + u.name), S3BucketName: aws.String("no-such-bucket")})
			c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("sealed"), KmsKeyId: aws.String("garbage key " + u.name)})
			c.ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{})
			c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String("arn:aws:cloudtrail:us-east-1:111111111111:trail/sealed"),
				TagsList: []types.Tag{{Key: aws.String("owner"), Value: aws.String(u.name)}}})
			// A wrong secret, an unknown key.
			srv.CloudTrail(u.key, secWrongSecret, region).LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
			srv.CloudTrail(u.key, secWrongSecret, region).DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("sealed")})
		}
		srv.CloudTrail("AKIAUNKNOWNKEY000001", secUnknownSecret, "us-east-1").ListTrails(ctx, &cloudtrail.ListTrailsInput{})
		// Ingest: events whose parameters hold a password, by each user,
		// with the right secret and a wrong one.
		rec := Record("ChangePassword", "iam.amazonaws.com", "us-east-1", at, map[string]any{
			"requestParameters": map[string]any{"userName": u.name, "password": secHunter, "newPassword": secHunter}})
		body := biMustJSON(t, map[string]any{"Records": []any{rec}})
		biSend(t, biSignedIngest(t, srv, u.key, u.secret, body))
		biSend(t, biSignedIngest(t, srv, u.key, secWrongSecret, body))
	}
	// A signed call that carries a session token.
	{
		body := []byte(`{"MaxResults":1}`)
		req := biApiReq(t, srv, "LookupEvents", body)
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: AdminKey, SecretAccessKey: AdminSecret, SessionToken: secSessionToken},
			req, hex.EncodeToString(sum[:]), "cloudtrail", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		biSend(t, req)
	}
	// Console sign-ins: right, wrong, and with the two fields swapped (a
	// secret typed into the key field, a common slip: AWS records such a
	// failed sign-in's user name as HIDDEN_DUE_TO_SECURITY_REASONS).
	consoleLogin := func(key, secret string) int {
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := hc.Get(srv.URL + "/console/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		u, _ := url.Parse(srv.URL + "/console/login")
		var csrf string
		for _, c := range jar.Cookies(u) {
			if c.Name == "cairn_login" {
				csrf = c.Value
			}
		}
		form := url.Values{"csrf": {csrf}, "access_key_id": {key}, "secret_access_key": {secret}, "next": {"/console/events"}}
		resp, err = hc.PostForm(srv.URL+"/console/login", form)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := consoleLogin(AdminKey, AdminSecret); st != http.StatusSeeOther {
		t.Errorf("console sign-in: HTTP %d", st)
	}
	if st := consoleLogin(ReaderKey, secWrongSecret); st != http.StatusUnauthorized {
		t.Errorf("console sign-in with a wrong secret: HTTP %d", st)
	}
	if st := consoleLogin(OtherSecret, OtherKey); st != http.StatusUnauthorized {
		t.Errorf("console sign-in with swapped fields: HTTP %d", st)
	}
	// Let delivery run (and the failing webhook be logged).
	testutil.PollEvery(20*time.Second, 200*time.Millisecond, func() (bool, string) {
		hookMu.Lock()
		defer hookMu.Unlock()
		return hookCalls > 0, ""
	})
	time.Sleep(time.Second)

	forbidden := map[string]string{
		"wrong secret": secWrongSecret, "unknown key's secret": secUnknownSecret, "session token": secSessionToken,
		"webhook password": secHookPassword, "Signature= value": "Signature=", "Authorization header": "AWS4-HMAC-SHA256 Credential",
		"credential scope": "/aws4_request",
	}
	for _, u := range users {
		forbidden[u.name+"'s secret"] = u.secret
	}
	check := func(where, text string) {
		t.Helper()
		for what, s := range forbidden {
			if i := strings.Index(text, s); i >= 0 {
				lo, hi := max(0, i-200), min(len(text), i+len(s)+100)
				t.Errorf("%s contains the %s: …%s…", where, what, text[lo:hi])
			}
		}
	}
	// The server's log; hunter2 travelled only in ingested records, which
	// the log must not copy either.
	forbidden["ingested password"] = secHunter
	check("the server log", srv.Log())
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsText, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(metricsText), "cairn_api_request_duration_seconds") {
		t.Errorf("/metrics: HTTP %d", resp.StatusCode)
	}
	check("/metrics", string(metricsText))
	// Cairn's own audit records of every call, every account and region.
	delete(forbidden, "ingested password")
	n := 0
	for _, u := range []struct{ key, secret string }{{AdminKey, AdminSecret}, {OtherKey, OtherSecret}} {
		for _, region := range []string{"us-east-1", "us-west-2", "eu-west-1"} {
			c := srv.CloudTrail(u.key, u.secret, region)
			for _, e := range lookupAll(t, c, &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventSource, "cloudtrail.amazonaws.com")}) {
				n++
				check(fmt.Sprintf("self-audit event %s (%s in %s)", aws.ToString(e.EventId), aws.ToString(e.EventName), region), aws.ToString(e.CloudTrailEvent))
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d self-audit events recorded", n)
	}
	if t.Failed() {
		t.Logf("server log:\n%s", srv.Log())
	}
	t.Logf("checked %d bytes of log, %d bytes of metrics, %d self-audit events", len(srv.Log()), len(metricsText), n)
}
