package sigv4

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// verifyingServer answers 200 with the signer's access key when Verify
// accepts the request for service, and 403 with the AWS error code otherwise.
func verifyingServer(t *testing.T, service string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res, err := Verify(r, body, goodCreds, service, time.Now())
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			e, _ := err.(*Error)
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"accessKeyId": res.AccessKeyID, "region": res.Region})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// runCurl runs the real curl binary and returns the HTTP status and body.
func runCurl(t *testing.T, args ...string) (status string, body string) {
	t.Helper()
	path, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl is required for this test (apt-get install curl): %v", err)
	}
	help, err := exec.Command(path, "--help", "all").Output()
	if err != nil || !strings.Contains(string(help), "--aws-sigv4") {
		t.Fatalf("this curl has no --aws-sigv4 (need curl >= 7.75): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := append([]string{"-sS", "--noproxy", "*", "-w", "\n%{http_code}"}, args...)
	cmd := exec.CommandContext(ctx, path, full...)
	cmd.Env = append(os.Environ(), "CURL_HOME=/nonexistent") // ignore any ~/.curlrc
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %q: %v\n%s", full, err, out)
	}
	s := strings.TrimRight(string(out), "\n")
	i := strings.LastIndexByte(s, '\n')
	if i < 0 {
		t.Fatalf("unexpected curl output %q", s)
	}
	return s[i+1:], s[:i]
}

func TestCurlAWSSigV4(t *testing.T) {
	cases := []struct {
		name       string
		service    string // what the server expects
		sigv4      string
		user       string
		target     string
		wantStatus string
		wantInBody string
	}{
		{"events ok", "cloudtrail", "aws:amz:us-east-1:cloudtrail", testKey + ":" + testSecret,
			"/v1/events", "200", `"accessKeyId":"` + testKey + `"`},
		{"other region ok", "cloudtrail", "aws:amz:eu-central-1:cloudtrail", testKey + ":" + testSecret,
			"/v1/events", "200", `"region":"eu-central-1"`},
		// The query is sent pre-encoded: curl (7.x and 8.x up to at least
		// 8.2, curl/curl#11794) signs raw ':' and '/' in query values
		// without encoding them, which AWS itself rejects too.
		{"query ok", "cloudtrail-data", "aws:amz:us-east-1:cloudtrail-data", testKey + ":" + testSecret,
			"/PutAuditEvents?channelArn=arn%3Aaws%3Acloudtrail%3Aus-east-1%3A123456789012%3Achannel%2Fabc", "200", testKey},
		{"wrong secret", "cloudtrail", "aws:amz:us-east-1:cloudtrail", testKey + ":wrong-secret",
			"/v1/events", "403", CodeInvalidSignature},
		{"unknown key", "cloudtrail", "aws:amz:us-east-1:cloudtrail", "AKIDUNKNOWN:" + testSecret,
			"/v1/events", "403", CodeUnrecognizedClient},
		{"wrong service", "cloudtrail", "aws:amz:us-east-1:s3", testKey + ":" + testSecret,
			"/v1/events", "403", "scoped to correct service"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := verifyingServer(t, c.service)
			status, body := runCurl(t,
				"--aws-sigv4", c.sigv4,
				"--user", c.user,
				"-d", `{"Records":[]}`,
				"-H", "Content-Type: application/json",
				srv.URL+c.target)
			if status != c.wantStatus || !strings.Contains(body, c.wantInBody) {
				t.Fatalf("curl got %s %s; want %s containing %q", status, body, c.wantStatus, c.wantInBody)
			}
		})
	}
}

func TestCurlWithoutSignature(t *testing.T) {
	srv := verifyingServer(t, "cloudtrail")
	status, body := runCurl(t, "-d", `{"Records":[]}`, srv.URL+"/v1/events")
	if status != "403" || !strings.Contains(body, CodeMissingAuthenticationToken) {
		t.Fatalf("got %s %s", status, body)
	}
}
