package e2e

// Tests of `cairn serve` start-up, the command line, health, metrics and
// restarts, through the built binary.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// startupRun runs the binary with args and a clean environment plus env, and
// returns its output and exit code.
func startupRun(t *testing.T, env []string, args ...string) (stdout, stderr string, code int, took time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary(t), args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Dir = t.TempDir()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	start := time.Now()
	err := cmd.Run()
	took = time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("cairn %q did not exit within 30s\nstdout: %s\nstderr: %s", args, o.String(), e.String())
	}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("cairn %q: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return o.String(), e.String(), code, took
}

// startupLookup runs LookupEvents with one EventName attribute through the SDK.
func startupLookup(t *testing.T, c *cloudtrail.Client, eventName string) []types.Event {
	t.Helper()
	in := &cloudtrail.LookupEventsInput{}
	if eventName != "" {
		in.LookupAttributes = []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String(eventName)}}
	}
	out, err := c.LookupEvents(context.Background(), in)
	if err != nil {
		t.Fatalf("LookupEvents %q: %v", eventName, err)
	}
	return out.Events
}

func startupAPICode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func startupRecord(t *testing.T, e types.Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &m); err != nil {
		t.Fatalf("CloudTrailEvent: %v", err)
	}
	return m
}

func TestStartupEnvCredentials(t *testing.T) {
	t.Parallel()
	const key, secret = "AKIAENVADMIN00000001", "env-admin-secret-0001"
	srv := Start(t, Options{Env: []string{
		"CAIRN_ACCESS_KEY_ID=" + key, "CAIRN_SECRET_ACCESS_KEY=" + secret, "CAIRN_ACCOUNT_ID=333333333333"}})
	ct := srv.CloudTrail(key, secret, "us-east-1")
	startupLookup(t, ct, "")

	res := srv.Ingest(t, key, secret, Record("EnvStartProbe", "env.example.com", "us-east-1", cliBaseTime(), nil))
	if res.Accepted != 1 {
		t.Fatalf("ingest: %+v", res)
	}
	evs := startupLookup(t, ct, "EnvStartProbe")
	if len(evs) != 1 || aws.ToString(evs[0].EventId) != res.EventIDs[0] {
		t.Fatalf("lookup: %+v, want %v", evs, res.EventIDs)
	}
	if acct := startupRecord(t, evs[0])["recipientAccountId"]; acct != "333333333333" {
		t.Errorf("recipientAccountId = %v, want 333333333333", acct)
	}

	// The key is the only way in.
	_, err := srv.CloudTrail(key, "wrong-secret", "us-east-1").LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{})
	if code := startupAPICode(err); code != "InvalidSignatureException" {
		t.Errorf("wrong secret: %v (code %q), want InvalidSignatureException", err, code)
	}

	t.Run("only one variable", func(t *testing.T) {
		t.Parallel()
		_, stderr, code, _ := startupRun(t, []string{"CAIRN_ACCESS_KEY_ID=" + key},
			"serve", "--listen", "127.0.0.1:0", "--data-dir", PrivateDir(t))
		if code == 0 || !strings.Contains(stderr, "CAIRN_SECRET_ACCESS_KEY") {
			t.Errorf("CAIRN_ACCESS_KEY_ID without a secret: exit %d, stderr:\n%s", code, stderr)
		}
		if strings.Contains(stderr, "cairn serving") {
			t.Errorf("served without a usable key:\n%s", stderr)
		}
	})
	t.Run("bad account id", func(t *testing.T) {
		t.Parallel()
		_, stderr, code, _ := startupRun(t, []string{"CAIRN_ACCESS_KEY_ID=" + key, "CAIRN_SECRET_ACCESS_KEY=" + secret,
			"CAIRN_ACCOUNT_ID=12345"}, "serve", "--listen", "127.0.0.1:0", "--data-dir", PrivateDir(t))
		if code == 0 || !strings.Contains(stderr, `"12345"`) || strings.Contains(stderr, "cairn serving") {
			t.Errorf("CAIRN_ACCOUNT_ID=12345: exit %d, stderr:\n%s", code, stderr)
		}
	})
}

// startupReadCreds reads KEY=VALUE lines.
func startupReadCreds(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			m[k] = v
		}
	}
	return m
}

func TestStartupGeneratedCredentials(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{})
	path := filepath.Join(srv.DataDir, "admin-credentials")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no generated credentials file: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("%s has mode %o, want 600", path, perm)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	creds := startupReadCreds(t, path)
	key, secret := creds["CAIRN_ACCESS_KEY_ID"], creds["CAIRN_SECRET_ACCESS_KEY"]
	if key == "" || secret == "" {
		t.Fatalf("%s lacks CAIRN_ACCESS_KEY_ID/CAIRN_SECRET_ACCESS_KEY:\n%s", path, before)
	}
	startupLookup(t, srv.CloudTrail(key, secret, "us-east-1"), "")
	res := srv.Ingest(t, key, secret, Record("GeneratedKeyProbe", "gen.example.com", "us-east-1", cliBaseTime(), nil))
	if res.Accepted != 1 {
		t.Fatalf("ingest with the generated key: %+v", res)
	}
	// Not an open server.
	_, err = srv.CloudTrail("AKIANOBODY0000000001", "x", "us-east-1").LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{})
	if code := startupAPICode(err); code != "UnrecognizedClientException" {
		t.Errorf("unknown key: %v (code %q), want UnrecognizedClientException", err, code)
	}
	srv.Stop(t)
	if out := srv.Stdout(); !strings.Contains(out, path) {
		t.Errorf("first start did not print where it stored the credentials (%s); stdout:\n%s", path, out)
	}
	if strings.Contains(srv.Stdout(), secret) || strings.Contains(srv.Log(), secret) {
		t.Errorf("the generated secret was printed:\nstdout: %s\nlog: %s", srv.Stdout(), srv.Log())
	}

	// A second start reuses the key pair.
	srv2 := Start(t, Options{DataDir: srv.DataDir})
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("second start rewrote %s:\nbefore:\n%s\nafter:\n%s", path, before, after)
	}
	evs := startupLookup(t, srv2.CloudTrail(key, secret, "us-east-1"), "GeneratedKeyProbe")
	if len(evs) != 1 {
		t.Errorf("second start: lookup with the first key: %+v", evs)
	}
	srv2.Stop(t)
	if out := srv2.Stdout(); strings.Contains(strings.ReplaceAll(out, path, ""), "Generated") || !strings.Contains(out, path) {
		t.Errorf("second start's stdout, want a reference to %s and no new key:\n%s", path, out)
	}
}

// TestStartupLakeMaxResultOnly: a lake section raising only
// max_result_mib starts (max_kept_result_mib follows it when unset); it
// used to be refused because max_kept_result_mib's fixed default, 1024,
// was under it.
func TestStartupLakeMaxResultOnly(t *testing.T) {
	t.Parallel()
	Start(t, Options{Config: StandardConfig + "lake:\n  max_result_mib: 2048\n"})
}

func TestStartupBadConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, config, reason string
	}{
		{"unknown key", "listen: 127.0.0.1:0\nregions: [us-east-1]\nlisten_adress: 127.0.0.1:1\n", `unknown field "listen_adress"`},
		{"bad account id", "regions: [us-east-1]\naccounts:\n  - id: \"12345\"\n    users:\n      - name: alice\n" +
			"        access_keys: [{id: AKIAEXAMPLEALICE0001, secret: s3cret}]\n        policy: admin\n", `invalid account id "12345"`},
		{"syntax error", "listen: 127.0.0.1:0\naccounts:\n  - id: \"1\n", "YAML syntax error"},
		{"lake kept results under one query's", "listen: 127.0.0.1:0\nlake:\n  max_kept_result_mib: 1024\n  max_result_mib: 2048\n",
			"lake.max_kept_result_mib: must be from lake.max_result_mib (2048) to 1048576, got 1024"},
		{"index cache too small", "listen: 127.0.0.1:0\nregions: [us-east-1]\nstore: {driver: sqlite, cache_mib: 8}\n", "store.cache_mib: must be between 16 and 65536"},
	}
	for _, c := range cases {
		for _, viaEnv := range []bool{false, true} {
			name := c.name
			if viaEnv {
				name += " via CAIRN_CONFIG"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				file := filepath.Join(t.TempDir(), "bad.yaml")
				if err := os.WriteFile(file, []byte(c.config), 0o600); err != nil {
					t.Fatal(err)
				}
				args := []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", PrivateDir(t)}
				var env []string
				if viaEnv {
					env = []string{"CAIRN_CONFIG=" + file}
				} else {
					args = append(args, "--config", file)
				}
				_, stderr, code, took := startupRun(t, env, args...)
				if code == 0 {
					t.Errorf("exit 0 with a bad config")
				}
				if !strings.Contains(stderr, file+":3:") || !strings.Contains(stderr, c.reason) {
					t.Errorf("stderr lacks %q and %q:\n%s", file+":3:", c.reason, stderr)
				}
				if strings.Contains(stderr, "cairn serving") {
					t.Errorf("listened despite a bad config:\n%s", stderr)
				}
				if took > 15*time.Second {
					t.Errorf("took %v to refuse a bad config", took)
				}
			})
		}
	}

	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "absent.yaml")
		_, stderr, code, _ := startupRun(t, nil, "serve", "--listen", "127.0.0.1:0", "--config", file)
		if code == 0 || !strings.Contains(stderr, file) || strings.Contains(stderr, "cairn serving") {
			t.Errorf("missing config: exit %d, stderr:\n%s", code, stderr)
		}
	})
}

func TestHelpAndUnknownCommand(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want []string // in stdout
	}{
		{[]string{"--help"}, []string{"Usage", "serve", "version"}},
		{[]string{"help"}, []string{"Usage", "serve"}},
		{[]string{"serve", "--help"}, []string{"Usage: cairn serve", "-listen", "-data-dir", "-config"}},
		{[]string{"serve", "-h"}, []string{"Usage: cairn serve"}},
		{[]string{"version", "--help"}, []string{"Usage: cairn version"}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code, _ := startupRun(t, nil, c.args...)
			if code != 0 {
				t.Errorf("exit %d, want 0\nstderr: %s", code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("help on stdout lacks %q\nstdout:\n%s\nstderr:\n%s", w, stdout, stderr)
				}
			}
			// Help that was asked for is output, not an error: printed once,
			// on stdout.
			if stderr != "" {
				t.Errorf("asking for help wrote to stderr:\n%s", stderr)
			}
		})
	}
	t.Run("version", func(t *testing.T) {
		t.Parallel()
		stdout, _, code, _ := startupRun(t, nil, "version")
		if code != 0 || !strings.HasPrefix(stdout, "cairn ") {
			t.Errorf("cairn version: exit %d, stdout %q", code, stdout)
		}
	})
	for _, args := range [][]string{{"nope"}, {}, {"serve", "--no-such-flag"}} {
		t.Run("exit 2 "+strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			_, stderr, code, _ := startupRun(t, nil, args...)
			if code != 2 {
				t.Errorf("cairn %q: exit %d, want 2", args, code)
			}
			if !strings.Contains(stderr, "Usage") && !strings.Contains(stderr, "usage") {
				t.Errorf("cairn %q: stderr shows no usage:\n%s", args, stderr)
			}
		})
	}
}

func startupGet(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})

	status, body, _ := startupGet(t, srv.URL+"/healthz")
	if status != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %d %q, want 200 ok", status, body)
	}

	const secretName, secretSource, secretUser = "SecretOperationXYZ", "secret-source-xyz.example.com", "secret-user-xyz"
	rec := Record(secretName, secretSource, "us-east-1", cliBaseTime(), map[string]any{
		"userIdentity":      cliIdentity(secretUser, "AKIASECRETUSER000001"),
		"requestParameters": map[string]any{"secretParam": "secret-value-xyz"},
	})
	if res := srv.Ingest(t, IngestKey, IngestSecret, rec); res.Accepted != 1 {
		t.Fatalf("ingest: %+v", res)
	}
	if evs := startupLookup(t, srv.CloudTrail(AdminKey, AdminSecret, "us-east-1"), secretName); len(evs) != 1 {
		t.Fatalf("lookup: %+v", evs)
	}

	// The request metric is observed as the call ends; give it a moment.
	var metrics string
	lookupRE := regexp.MustCompile(`(?m)^cairn_api_request_duration_seconds_count\{[^}]*operation="LookupEvents"[^}]*\} [1-9]`)
	testutil.PollEvery(10*time.Second, 100*time.Millisecond, func() (bool, string) {
		var hdr http.Header
		status, metrics, hdr = startupGet(t, srv.URL+"/metrics")
		if status != 200 {
			t.Fatalf("/metrics: HTTP %d\n%s", status, metrics)
		}
		if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("/metrics Content-Type %q, want the Prometheus text format", ct)
		}
		return lookupRE.MatchString(metrics), ""
	})
	for _, re := range []string{
		`(?m)^# TYPE cairn_ingest_events_total counter$`,
		`(?m)^cairn_ingest_events_total\{result="accepted"\} [1-9]`,
		`(?m)^# TYPE cairn_api_request_duration_seconds histogram$`,
		lookupRE.String(),
		`(?m)^cairn_api_request_duration_seconds_count\{[^}]*operation="IngestEvents"[^}]*\} [1-9]`,
		`(?m)^# TYPE cairn_store_bytes gauge$`,
		`(?m)^cairn_store_bytes [0-9.e+]+$`,
	} {
		if !regexp.MustCompile(re).MatchString(metrics) {
			t.Errorf("/metrics lacks %s", re)
		}
	}
	for _, leak := range []string{secretName, secretSource, secretUser, "secret-value-xyz",
		AdminSecret, ReaderSecret, IngestSecret, CustomSecret, OtherSecret} {
		if strings.Contains(metrics, leak) {
			t.Errorf("/metrics exposes %q", leak)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", metrics)
	}
}

func TestRestartKeepsEvents(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	base := cliBaseTime()
	res := srv.Ingest(t, AdminKey, AdminSecret,
		Record("RestartProbe", "restart.example.com", "us-east-1", base, nil),
		Record("RestartProbe", "restart.example.com", "us-east-1", base.Add(time.Second), nil),
		Record("RestartProbe", "restart.example.com", "eu-west-1", base, nil))
	if res.Accepted != 3 {
		t.Fatalf("ingest: %+v", res)
	}
	// A read whose audit record is written in the background: a graceful
	// stop must not lose it.
	const marker = "RestartAuditMarker"
	startupLookup(t, srv.CloudTrail(AdminKey, AdminSecret, "us-east-1"), marker)
	srv.Stop(t)

	srv2 := Start(t, Options{Config: StandardConfig, DataDir: srv.DataDir})
	ct := srv2.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	evs := startupLookup(t, ct, "RestartProbe")
	var got []string
	for _, e := range evs {
		got = append(got, aws.ToString(e.EventId))
	}
	if want := []string{res.EventIDs[1], res.EventIDs[0]}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("after restart, us-east-1 lookup: %v, want %v", got, want)
	}
	if evs := startupLookup(t, srv2.CloudTrail(AdminKey, AdminSecret, "eu-west-1"), "RestartProbe"); len(evs) != 1 ||
		aws.ToString(evs[0].EventId) != res.EventIDs[2] {
		t.Errorf("after restart, eu-west-1 lookup: %+v, want %s", evs, res.EventIDs[2])
	}
	found := false
	for _, e := range startupLookup(t, ct, "LookupEvents") {
		params, _ := startupRecord(t, e)["requestParameters"].(map[string]any)
		las, _ := params["lookupAttributes"].([]any)
		if len(las) == 1 {
			if la, _ := las[0].(map[string]any); la["attributeValue"] == marker {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("the audit record of the LookupEvents call made before the restart is missing")
	}
	// Ingest still works on the reopened store, and a retried batch does
	// not duplicate across the restart.
	again := srv2.Ingest(t, AdminKey, AdminSecret,
		Record("RestartProbe", "restart.example.com", "us-east-1", base, nil))
	if again.Accepted != 1 || again.EventIDs[0] != res.EventIDs[0] {
		t.Errorf("re-ingest after restart: %+v, want eventID %s", again, res.EventIDs[0])
	}
	if evs := startupLookup(t, ct, "RestartProbe"); len(evs) != 2 {
		t.Errorf("after re-ingest: %d events, want 2 (no duplicate)", len(evs))
	}
}

// TestServeGoProcessors: cairn serve runs twice as many Go processors as
// the runtime would choose by itself (see BENCHMARKS.md, "Go processors"),
// unless GOMAXPROCS sets them; /metrics shows the number in effect.
func TestServeGoProcessors(t *testing.T) {
	t.Parallel()
	want := 2 * runtime.GOMAXPROCS(0)
	if env := os.Getenv("GOMAXPROCS"); env != "" {
		want = runtime.GOMAXPROCS(0) // the test's own setting is the server's too
	}
	for _, c := range []struct {
		env  []string
		want int
	}{{nil, want}, {[]string{"GOMAXPROCS=3"}, 3}} {
		srv := Start(t, Options{Config: StandardConfig, Env: c.env})
		re := regexp.MustCompile(`(?m)^go_sched_gomaxprocs_threads (\d+)$`)
		status, metrics, _ := startupGet(t, srv.URL+"/metrics")
		m := re.FindStringSubmatch(metrics)
		if status != 200 || m == nil {
			t.Fatalf("/metrics (HTTP %d) lacks go_sched_gomaxprocs_threads:\n%s", status, metrics)
		}
		if m[1] != strconv.Itoa(c.want) {
			t.Errorf("env %v: go_sched_gomaxprocs_threads %s, want %d", c.env, m[1], c.want)
		}
		if !strings.Contains(srv.Log(), fmt.Sprintf(`msg="go processors" gomaxprocs=%d`, c.want)) {
			t.Errorf("env %v: the log does not say gomaxprocs=%d:\n%s", c.env, c.want, srv.Log())
		}
		srv.Stop(t)
	}
}
