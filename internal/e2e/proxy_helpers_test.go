package e2e

// Helpers of the proxy tests (proxy_*_test.go): run `cairn proxy`, the AWS
// CLI and boto3 through it, and find what it recorded in event history and
// in a trail's log files.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
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
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// pxConfig is the standard server configuration with fast delivery.
const pxConfig = StandardConfig + `
delivery: {flush_interval: 1s, digest_interval: 1h}
`

// pxOptions say how to start a proxy.
type pxOptions struct {
	Upstream, Server, SpoolDir string
	Account                    string // --account
	Config                     string // the YAML of --config; empty for none
	Args                       []string
}

// pxProc is a running cairn proxy.
type pxProc struct {
	URL, Addr string
	cmd       *exec.Cmd
	mu        sync.Mutex
	log       bytes.Buffer
	exited    chan struct{}
}

var pxAddrRE = regexp.MustCompile(`msg="cairn proxy listening" address=([0-9.]+:[0-9]+)`)

// startProxy starts cairn proxy with ivan's ingest key and waits until it
// listens. It is stopped (SIGTERM, then SIGKILL) when the test ends.
func startProxy(t testing.TB, o pxOptions) *pxProc {
	t.Helper()
	// cairn proxy refuses a spool directory other users may read, and
	// t.TempDir's are 0755.
	if err := os.Chmod(o.SpoolDir, 0o700); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	args := []string{"proxy", "--listen", "127.0.0.1:0", "--upstream", o.Upstream, "--server", o.Server, "--spool-dir", o.SpoolDir}
	if o.Account != "" {
		args = append(args, "--account", o.Account)
	}
	if o.Config != "" {
		p := filepath.Join(t.TempDir(), "proxy.yaml")
		if err := os.WriteFile(p, []byte(o.Config), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", p)
	}
	args = append(args, o.Args...)
	p := &pxProc{exited: make(chan struct{})}
	p.cmd = exec.Command(Binary(t), args...)
	p.cmd.Env = append(cleanEnv(), "CAIRN_ACCESS_KEY_ID="+IngestKey, "CAIRN_SECRET_ACCESS_KEY="+IngestSecret)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := pxAddrRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.Stop(t) })
	select {
	case a := <-addr:
		p.Addr, p.URL = a, "http://"+a
	case <-p.exited:
		t.Fatalf("cairn proxy exited before listening:\n%s", p.Log())
	case <-time.After(60 * time.Second):
		t.Fatalf("cairn proxy did not start listening:\n%s", p.Log())
	}
	return p
}

// Log is what the proxy logged so far.
func (p *pxProc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Stop ends the proxy with SIGTERM, killing it by its PID if it lingers.
func (p *pxProc) Stop(t testing.TB) {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		t.Errorf("cairn proxy did not stop on SIGTERM:\n%s", p.Log())
	}
}

// pxFreeAddr is a loopback address that was free a moment ago.
func pxFreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// pxEnv is the environment of an AWS CLI or boto3 run as key/secret in
// region, isolated from the machine's own AWS configuration.
func pxEnv(t testing.TB, key, secret, region string) []string {
	dir := t.TempDir()
	return []string{
		"AWS_ACCESS_KEY_ID=" + key,
		"AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "nonexistent-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "nonexistent-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
		"AWS_PAGER=",
		"NO_PROXY=127.0.0.1,localhost",
		"no_proxy=127.0.0.1,localhost",
	}
}

// pxAWS runs `aws --endpoint-url endpoint ARGS...` as key/secret in region.
func pxAWS(t testing.TB, endpoint, key, secret, region string, args ...string) cliResult {
	t.Helper()
	cliAWSBinary(t)
	return pxRun(t, pxEnv(t, key, secret, region), "aws", append([]string{"--endpoint-url", endpoint, "--output", "json"}, args...)...)
}

// pxAWSOK is pxAWS for a command that must succeed.
func pxAWSOK(t testing.TB, endpoint, key, secret, region string, args ...string) string {
	t.Helper()
	res := pxAWS(t, endpoint, key, secret, region, args...)
	if res.code != 0 {
		t.Fatalf("aws %q: exit %d\nstdout: %s\nstderr: %s", args, res.code, res.stdout, res.stderr)
	}
	return res.stdout
}

// pxPython runs a Python program with boto3 as key/secret in region; the
// proxy's URL is in the environment as PROXY, with env added. It fails the
// test if the program fails.
func pxPython(t testing.TB, endpoint, key, secret, region, program string, env ...string) string {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatalf("python3 with boto3 is required for this test but is not on PATH: %v", err)
	}
	res := pxRun(t, append(append(pxEnv(t, key, secret, region), "PROXY="+endpoint), env...), "python3", "-c", program)
	if res.code != 0 {
		t.Fatalf("python3 (boto3) failed: exit %d\n%s\nstdout: %s", res.code, res.stderr, res.stdout)
	}
	return res.stdout
}

// pxRun runs a command with env added to the clean environment.
func pxRun(t testing.TB, env []string, name string, args ...string) cliResult {
	t.Helper()
	return runCommand(t, env, name, args...)
}

// pxEvent is one event of event history: what LookupEvents says of it and
// its record.
type pxEvent struct {
	types.Event
	Record map[string]any
}

// pxLookup returns the events named name in c's account and region whose
// record match accepts (all of them with a nil match).
func pxLookup(t testing.TB, c *cloudtrail.Client, name string, match func(map[string]any) bool) []pxEvent {
	t.Helper()
	var out []pxEvent
	p := cloudtrail.NewLookupEventsPaginator(c, &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String(name)}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("LookupEvents %s: %v", name, err)
		}
		for _, e := range page.Events {
			var rec map[string]any
			if err := json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec); err != nil {
				t.Fatalf("CloudTrailEvent of %s is not JSON: %v", aws.ToString(e.EventId), err)
			}
			if match == nil || match(rec) {
				out = append(out, pxEvent{Event: e, Record: rec})
			}
		}
	}
	return out
}

// pxWaitLookup polls pxLookup until it finds at least one event, for up to
// timeout, and returns what it found last.
func pxWaitLookup(t testing.TB, c *cloudtrail.Client, name string, timeout time.Duration, match func(map[string]any) bool) []pxEvent {
	t.Helper()
	var evs []pxEvent
	dlPoll(timeout, func() bool {
		evs = pxLookup(t, c, name, match)
		return len(evs) > 0
	})
	return evs
}

// pxGet is the value at a dotted path of a record ("requestParameters.key").
func pxGet(rec map[string]any, path string) any {
	var cur any = rec
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// pxStr is the string at a dotted path of a record, "" if there is none.
func pxStr(rec map[string]any, path string) string {
	s, _ := pxGet(rec, path).(string)
	return s
}

// pxParam reports whether a record's requestParameters has k = v.
func pxParam(k, v string) func(map[string]any) bool {
	return func(rec map[string]any) bool { return pxGet(rec, "requestParameters."+k) == v }
}

// pxExpect checks a record's fields: each path of want must hold its value
// (compared as JSON); a value of pxPresent only needs the path to exist.
func pxExpect(t testing.TB, what string, rec map[string]any, want map[string]any) {
	t.Helper()
	for path, v := range want {
		got := pxGet(rec, path)
		if v == pxPresent {
			if got == nil {
				t.Errorf("%s: %s is missing", what, path)
			}
			continue
		}
		if g, w := mustMarshal(got), mustMarshal(v); g != w {
			t.Errorf("%s: %s = %s, want %s", what, path, g, w)
		}
	}
	if t.Failed() {
		t.Logf("%s: the record: %s", what, mustMarshal(rec))
	}
}

// pxPresent in pxExpect's want means "any value".
const pxPresent = "\x00present"

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// pxAlice is alice's identity as the server completes it once her
// signature is verified.
func pxAlice() map[string]any {
	return map[string]any{
		"additionalEventData.SignatureVerified": true,
		"userIdentity.type":                     "IAMUser",
		"userIdentity.userName":                 "alice",
		"userIdentity.accessKeyId":              AdminKey,
		"userIdentity.accountId":                Account1,
		"userIdentity.arn":                      "arn:aws:iam::" + Account1 + ":user/alice",
		"recipientAccountId":                    Account1,
	}
}

// pxMerge merges maps of expectations.
func pxMerge(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// pxRecords are every record of the log files of b.
func pxRecords(t *testing.T, b dlBucket) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, f := range dlLogs(t, b, "") {
		out = append(out, f.Records...)
	}
	return out
}

// pxFindRecords returns the records of recs that match.
func pxFindRecords(recs []map[string]any, match func(map[string]any) bool) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if match(r) {
			out = append(out, r)
		}
	}
	return out
}

// pxNamed matches records by eventName and more.
func pxNamed(name string, more ...func(map[string]any) bool) func(map[string]any) bool {
	return func(r map[string]any) bool {
		if r["eventName"] != name {
			return false
		}
		for _, m := range more {
			if !m(r) {
				return false
			}
		}
		return true
	}
}

// pxSuffix is a short random lower-case suffix for resource names.
func pxSuffix() string { return strings.ToLower(dlNewID()[:8]) }

// pxNoSecrets fails if a record holds a secret.
func pxNoSecrets(t testing.TB, what string, rec map[string]any, secrets ...string) {
	t.Helper()
	raw := mustMarshal(rec)
	for _, s := range append(secrets, AdminSecret, "AWS4-HMAC-SHA256 Credential=", "Signature=") {
		if s != "" && strings.Contains(raw, s) {
			t.Errorf("%s: the record contains %q:\n%s", what, s, raw)
		}
	}
	if strings.Contains(strings.ToLower(raw), `"authorization"`) {
		t.Errorf("%s: the record has an Authorization member:\n%s", what, raw)
	}
}
