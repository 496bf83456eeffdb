// Package e2e runs the real cairn binary and drives it through the
// interfaces users have: aws-sdk-go-v2 clients, the AWS CLI, curl and plain
// signed HTTP. The harness here builds the binary once per test process,
// starts servers on free loopback ports, and stops every process it started.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/cairn-audit/cairn/internal/store/postgres/pgtest"
	"github.com/cairn-audit/cairn/internal/testutil"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds ./cmd/cairn once and returns the path of the executable.
// Under -short it skips t: building and running the binary is the slow
// tier, and every end-to-end test comes through here.
func Binary(t testing.TB) string {
	t.Helper()
	testutil.SkipShort(t, "end-to-end test: builds and runs the cairn binary")
	buildOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			buildErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		dir, err := os.MkdirTemp("", "cairn-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "cairn")
		cmd := exec.Command("go", "build", "-race", "-o", binPath, "./cmd/cairn")
		if os.Getenv("CAIRN_E2E_NORACE") != "" {
			cmd = exec.Command("go", "build", "-o", binPath, "./cmd/cairn")
		}
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, b)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// RemoveBinary removes the binary Binary built (and its folder), once the
// package's tests are done: each run would otherwise leave ~80 MB in the
// temporary directory.
func RemoveBinary() {
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
}

// Standard accounts and keys of the test configuration.
const (
	Account1 = "111111111111"
	Account2 = "222222222222"

	AdminKey     = "AKIAALICEADMIN000001" // alice, admin of Account1
	AdminSecret  = "alice-secret-key-0001"
	ReaderKey    = "AKIARITAREADONLY0001" // rita, read-only in Account1
	ReaderSecret = "rita-secret-key-0001"
	IngestKey    = "AKIAIVANINGEST000001" // ivan, ingest in Account1, may write for Account2
	IngestSecret = "ivan-secret-key-0001"
	CustomKey    = "AKIACARLCUSTOM000001" // carl, allowed only cloudtrail:LookupEvents
	CustomSecret = "carl-secret-key-0001"
	OtherKey     = "AKIABOBOTHERACCT0001" // bob, admin of Account2
	OtherSecret  = "bob-secret-key-00001"
)

// StandardConfig is the YAML of the usual test server: two accounts, users
// of each policy, three regions.
const StandardConfig = `
regions: [us-east-1, us-west-2, eu-west-1]
global_region: us-east-1
accounts:
  - id: "111111111111"
    alias: main
    users:
      - name: alice
        access_keys: [{id: AKIAALICEADMIN000001, secret: alice-secret-key-0001}]
        policy: admin
      - name: rita
        access_keys: [{id: AKIARITAREADONLY0001, secret: rita-secret-key-0001}]
        policy: read-only
      - name: ivan
        access_keys: [{id: AKIAIVANINGEST000001, secret: ivan-secret-key-0001}]
        policy: ingest
        ingest_accounts: ["222222222222"]
      - name: carl
        access_keys: [{id: AKIACARLCUSTOM000001, secret: carl-secret-key-0001}]
        policy: ["cloudtrail:LookupEvents"]
  - id: "222222222222"
    users:
      - name: bob
        access_keys: [{id: AKIABOBOTHERACCT0001, secret: bob-secret-key-00001}]
        policy: admin
`

// EnvStore names the environment variable that runs the e2e tests on
// another store: "postgres" gives every server started with a config file
// its own PostgreSQL database.
const EnvStore = "CAIRN_E2E_STORE"

// Options say how to start a server.
type Options struct {
	// Config is the YAML config file content; empty starts without one.
	Config string
	// DataDir reuses a data directory (for restarts); empty makes a new one.
	DataDir string
	// Env adds environment variables.
	Env []string
	// Args adds flags after "serve".
	Args []string
}

// PrivateDir returns a new empty directory with mode 0700, removed when the
// test ends. t.TempDir's are 0777 less the umask (0755), which cairn serve
// refuses as a data directory and cairn proxy as a spool directory.
func PrivateDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Server is a running cairn serve.
type Server struct {
	URL     string
	Addr    string
	DataDir string
	cmd     *exec.Cmd
	mu      sync.Mutex
	log     bytes.Buffer
	exited  chan struct{}
	stdout  bytes.Buffer
}

var addrRE = regexp.MustCompile(`msg="cairn serving" address=([0-9.]+:[0-9]+)`)

// Start starts cairn serve and waits until it listens. The server is
// stopped when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	bin := Binary(t)
	s := &Server{DataDir: o.DataDir, exited: make(chan struct{})}
	if s.DataDir == "" {
		s.DataDir = PrivateDir(t)
	}
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", s.DataDir}
	if os.Getenv(EnvStore) == "postgres" && o.Config != "" && !strings.Contains(o.Config, "\nstore:") {
		// Run the same test on the PostgreSQL store: a database per data
		// directory, so that a restart finds its events again.
		mark := filepath.Join(s.DataDir, "e2e-postgres-dsn")
		dsn, err := os.ReadFile(mark)
		if err != nil {
			dsn = []byte(pgtest.Start(t))
			if err := os.WriteFile(mark, dsn, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		o.Config += fmt.Sprintf("\nstore: {driver: postgres, dsn: %q}\n", dsn)
	}
	if o.Config != "" {
		path := filepath.Join(t.TempDir(), "cairn.yaml")
		if err := os.WriteFile(path, []byte(o.Config), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", path)
	}
	if os.Getenv("CAIRN_E2E_DEBUG") != "" {
		args = append(args, "--log-level", "debug")
	}
	args = append(args, o.Args...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = append(cleanEnv(), o.Env...)
	s.cmd.Stdout = &s.stdout
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			if m := addrRE.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() { s.Stop(t) })
	select {
	case a := <-addr:
		s.Addr = a
		s.URL = "http://" + a
	case <-s.exited:
		t.Fatalf("cairn serve exited before listening:\n%s", s.Log())
	case <-time.After(60 * time.Second):
		t.Fatalf("cairn serve did not start listening:\n%s", s.Log())
	}
	return s
}

// cleanEnv is the test process's environment without AWS or Cairn settings
// that would change the server's behaviour.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CAIRN_") || strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Log returns what the server logged so far.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Stdout returns what the server printed on standard output.
func (s *Server) Stdout() string { return s.stdout.String() }

// Stop ends the server gracefully (SIGTERM), killing it if it lingers.
func (s *Server) Stop(t testing.TB) {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		t.Errorf("cairn serve did not stop on SIGTERM:\n%s", s.Log())
	}
}

// Pid is the server process's id (to read its /proc entries).
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Kill ends the server with SIGKILL, as a crash would.
func (s *Server) Kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

// CloudTrail returns an aws-sdk-go-v2 CloudTrail client for the server.
func (s *Server) CloudTrail(key, secret, region string) *cloudtrail.Client {
	return cloudtrail.New(cloudtrail.Options{
		Region:           region,
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, ""),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Transport: readingTransport{http.DefaultTransport}},
	})
}

// readingTransport reads each response body completely before handing the
// response to the SDK. The SDK's clients close the connection of an unread
// response from time to time when its body is larger than a few KB
// (aws-sdk-go-v2 issues #1825, #2737: "deserialization failed, failed to
// decode response body, ... use of closed network connection"; raw HTTP
// against the same server never fails); with the body read at once that
// client-side race cannot happen, and a failure is the server's.
type readingTransport struct{ http.RoundTripper }

func (f readingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := f.RoundTripper.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// IngestResult is the answer of POST /v1/events.
type IngestResult struct {
	Accepted int `json:"accepted"`
	// Duplicates are the accepted records that were stored already.
	Duplicates int      `json:"duplicates"`
	EventIDs   []string `json:"eventIDs"`
	Failed     []struct {
		Index        int    `json:"index"`
		ErrorCode    string `json:"errorCode"`
		ErrorMessage string `json:"errorMessage"`
	} `json:"failed"`
}

// Post sends a SigV4-signed request (service cloudtrail, region us-east-1)
// and returns the status and body.
func (s *Server) Post(t testing.TB, key, secret, path string, body []byte, header map[string]string) (int, []byte) {
	t.Helper()
	return s.PostAt(t, key, secret, path, body, header, time.Now())
}

// PostAt is Post with the signature made at a given time.
func (s *Server) PostAt(t testing.TB, key, secret, path string, body []byte, header map[string]string, at time.Time) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(s.SignedRequest(t, key, secret, path, body, header, at, false))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// SignedRequest is a POST of body to path, signed with aws-sdk-go-v2's v4
// signer (service cloudtrail, region us-east-1) at time at, Content-Type
// application/json unless header names another. With declared the body's
// hash is also sent, signed, in X-Amz-Content-Sha256 (as S3 clients do);
// without it the server must read the body before it can check the
// signature, as with botocore and the AWS CLI.
func (s *Server) SignedRequest(t testing.TB, key, secret, path string, body []byte, header map[string]string, at time.Time, declared bool) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(body)
	if declared {
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "cloudtrail", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return req
}

// Ingest posts records to /v1/events and decodes a 200 answer.
func (s *Server) Ingest(t testing.TB, key, secret string, records ...map[string]any) IngestResult {
	t.Helper()
	body, err := json.Marshal(map[string]any{"Records": records})
	if err != nil {
		t.Fatal(err)
	}
	status, b := s.Post(t, key, secret, "/v1/events", body, nil)
	if status != http.StatusOK {
		t.Fatalf("ingest: HTTP %d: %s", status, b)
	}
	var res IngestResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("ingest answer %s: %v", b, err)
	}
	return res
}

// Record builds a CloudTrail record for tests.
func Record(name, source, region string, at time.Time, extra map[string]any) map[string]any {
	r := map[string]any{
		"eventTime":       at.UTC().Format("2006-01-02T15:04:05Z"),
		"eventSource":     source,
		"eventName":       name,
		"awsRegion":       region,
		"sourceIPAddress": "192.0.2.10",
		"userAgent":       "e2e-test",
		"userIdentity": map[string]any{"type": "IAMUser", "principalId": "AIDATEST", "userName": "tester",
			"accessKeyId": "AKIATESTER", "arn": "arn:aws:iam::111111111111:user/tester", "accountId": "111111111111"},
	}
	for k, v := range extra {
		r[k] = v
	}
	return r
}
