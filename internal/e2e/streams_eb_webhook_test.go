package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestStreamsWebhookPatternAndSelection: through the real binary, a webhook
// with a pattern receives exactly the events that match, signed; a bus sends
// write management events (console sign-ins among them) by default, reads
// and data events only when read_only_events / data_events say so, and only
// its own account's.
func TestStreamsWebhookPatternAndSelection(t *testing.T) {
	t.Parallel()
	hookA := newEBHook(t, "secret-a") // account 1, pattern
	hookB := newEBHook(t, "secret-b") // account 1, everything the bus sends
	hookC := newEBHook(t, "secret-c") // account 2, reads and data events too
	cfg := ebConfig(
		ebBus(Account1, "",
			ebWebhookTarget(hookA.URL(), "secret-a", `{"source":["aws.iam"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventName":[{"prefix":"Delete"}]}}`),
			ebWebhookTarget(hookB.URL(), "secret-b", "")),
		ebBus(Account2, "    read_only_events: true\n    data_events: true\n",
			ebWebhookTarget(hookC.URL(), "secret-c", "")),
	)
	srv := Start(t, Options{Config: cfg})

	data := map[string]any{"eventCategory": "Data", "managementEvent": false,
		"resources": []map[string]any{{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::photos/a.png"}}}
	signin := map[string]any{"eventType": "AwsConsoleSignIn", "responseElements": map[string]any{"ConsoleLogin": "Success"}}
	dlIngest(t, srv,
		ebRecord("DeleteUser", "iam.amazonaws.com", Account1, false, nil),
		ebRecord("CreateUser", "iam.amazonaws.com", Account1, false, nil),
		ebRecord("DeleteBucket", "s3.amazonaws.com", Account1, false, nil),
		ebRecord("DeleteVirtualMFADeviceRead", "iam.amazonaws.com", Account1, true, nil),
		ebRecord("ListUsers", "iam.amazonaws.com", Account1, true, nil),
		ebRecord("GetObject", "s3.amazonaws.com", Account1, true, data),
		ebRecord("ConsoleLogin", "signin.amazonaws.com", Account1, false, signin),
		ebRecord("CreateUser", "iam.amazonaws.com", Account2, false, nil),
		ebRecord("ListUsers", "iam.amazonaws.com", Account2, true, nil),
		ebRecord("GetObject", "s3.amazonaws.com", Account2, true, data),
	)
	// Sentinels come last in the log: once they are in, whatever would
	// have been sent before them is too.
	ids := dlIngest(t, srv,
		ebRecord("DeleteSentinel", "iam.amazonaws.com", Account1, false, nil),
		ebRecord("DeleteSentinel", "iam.amazonaws.com", Account2, false, nil))
	ebWaitFor(t, "the sentinels", 30*time.Second, func() bool {
		return hookA.has(ids[0]) && hookB.has(ids[0]) && hookC.has(ids[1])
	})

	want := map[*ebHook][]string{
		hookA: {"DeleteSentinel", "DeleteUser"},
		hookB: {"ConsoleLogin", "CreateUser", "DeleteBucket", "DeleteSentinel", "DeleteUser"},
		hookC: {"CreateUser", "DeleteSentinel", "GetObject", "ListUsers"},
	}
	for h, names := range want {
		if got := ebNames(h.snapshot()); !slices.Equal(got, names) {
			t.Errorf("hook %s received %v, want %v", h.URL(), got, names)
		}
		if h.badSig != 0 {
			t.Errorf("hook %s: %d requests with a bad signature, content type or count", h.URL(), h.badSig)
		}
	}
	for _, env := range hookB.snapshot() {
		wantType, wantSource := "AWS API Call via CloudTrail", "aws.iam"
		switch env.eventName() {
		case "ConsoleLogin":
			wantType, wantSource = "AWS Console Sign In via CloudTrail", "aws.signin"
		case "DeleteBucket":
			wantSource = "aws.s3"
		}
		if env.Version != "0" || env.DetailType != wantType || env.Source != wantSource || env.Account != Account1 ||
			env.Region != "us-east-1" || env.Time != env.Detail["eventTime"] || len(env.ID) != 36 {
			t.Errorf("envelope %+v", env)
		}
	}
	for _, env := range hookC.snapshot() {
		if env.eventName() == "GetObject" && !slices.Equal(env.Resources, []string{"arn:aws:s3:::photos/a.png"}) {
			t.Errorf("resources %v, want the record's ARNs", env.Resources)
		}
	}
}

// TestStreamsWebhookDownCatchesUp: a webhook that answers 500 for a while is
// retried with backoff and, once it answers 2xx, receives every event,
// nothing lost and nothing twice.
func TestStreamsWebhookDownCatchesUp(t *testing.T) {
	t.Parallel()
	hook := newEBHook(t, "s")
	hook.setFail(http.StatusInternalServerError)
	srv := Start(t, Options{Config: ebConfig(ebBus(Account1, "", ebWebhookTarget(hook.URL(), "s", "")))})
	var ids []string
	for b := 0; b < 3; b++ {
		var recs []map[string]any
		for i := 0; i < 10; i++ {
			recs = append(recs, ebRecord(fmt.Sprintf("PutThing%d", b*10+i), "iam.amazonaws.com", Account1, false, nil))
		}
		ids = append(ids, dlIngest(t, srv, recs...)...)
	}
	ebWaitFor(t, "two refused attempts", 30*time.Second, func() bool {
		hook.mu.Lock()
		defer hook.mu.Unlock()
		return hook.failed >= 2
	})
	// The failure shows in the log, under the ID the target was announced with.
	id := regexp.MustCompile(`msg="event bus target" destination=(\S+) kind=webhook`).FindStringSubmatch(srv.Log())
	if id == nil {
		t.Fatalf("the target was not announced:\n%s", srv.Log())
	}
	ebWaitFor(t, "the failure in the log", 30*time.Second, func() bool {
		return regexp.MustCompile(`stream: send failed; retrying" destination=` + regexp.QuoteMeta(id[1]) + ` .*webhook POST http://127\.0\.0\.1:[0-9]+/hook answered 500`).MatchString(srv.Log())
	})
	hook.setFail(0)
	ebWaitFor(t, "every event after the webhook came back", 60*time.Second, func() bool { return hook.has(ids...) })
	seen := map[string]int{}
	for _, env := range hook.snapshot() {
		seen[env.eventID()]++
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("event %s received %d times, want once", id, seen[id])
		}
	}
	if len(seen) != len(ids) {
		t.Errorf("received %d distinct events, want %d", len(seen), len(ids))
	}
}

// TestStreamsWebhookSIGKILL: a server killed with SIGKILL while it streams
// loses nothing it acknowledged: after a restart on the same data, the
// webhook receives every event (a batch may come twice).
func TestStreamsWebhookSIGKILL(t *testing.T) {
	t.Parallel()
	hook := newEBHook(t, "s")
	cfg := ebConfig(ebBus(Account1, "", ebWebhookTarget(hook.URL(), "s", "")))
	srv := Start(t, Options{Config: cfg})
	var ids []string
	batch := func(srv *Server, b int) {
		var recs []map[string]any
		for i := 0; i < 20; i++ {
			recs = append(recs, ebRecord(fmt.Sprintf("PutThing%d", b*20+i), "iam.amazonaws.com", Account1, false, nil))
		}
		ids = append(ids, dlIngest(t, srv, recs...)...)
	}
	for b := 0; b < 5; b++ {
		batch(srv, b)
	}
	srv.Kill() // right after the acknowledgements: some are not sent yet
	srv2 := Start(t, Options{Config: cfg, DataDir: srv.DataDir})
	for b := 5; b < 10; b++ {
		batch(srv2, b)
	}
	ebWaitFor(t, "every acknowledged event", 60*time.Second, func() bool { return hook.has(ids...) })
	seen := map[string]int{}
	for _, env := range hook.snapshot() {
		seen[env.eventID()]++
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	if len(seen) != len(ids) {
		t.Errorf("received %d distinct events, want %d", len(seen), len(ids))
	}
	// At most one batch (ReadChunk, 1000 log entries) comes twice.
	if dups > 1000 {
		t.Errorf("%d duplicates, more than one batch", dups)
	}
	t.Logf("%d events, %d sent twice after the SIGKILL", len(ids), dups)
}

// TestStreamsEventBusBadPattern: a bad pattern (or target) in event_buses
// stops the server at start with the file, line and reason.
func TestStreamsEventBusBadPattern(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, target, where, reason string }{
		{"unknown operator", ebWebhookTarget("http://127.0.0.1:9/h", "s", `{"detail":{"eventName":[{"prefx":"Delete"}]}}`), ":31:",
			`event_buses[0].targets[0].pattern: event pattern: at detail.eventName[0]: unknown operator "prefx"`},
		{"bad numeric range", ebWebhookTarget("http://127.0.0.1:9/h", "s", `{"detail":{"n":[{"numeric":[">",5,"<",1]}]}}`), ":31:",
			"event pattern: at detail.n[0].numeric: bad range"},
		{"empty array", ebWebhookTarget("http://127.0.0.1:9/h", "s", `{"source":[]}`), ":31:", "event pattern: at source: empty array"},
		{"webhook without secret", "      - url: http://127.0.0.1:9/h\n", ":29:", "a webhook needs a secret"},
		{"eventbridge url", "      - url: \"eventbridge://?endpoint=http://127.0.0.1:9&queue=x\"\n", ":29:", `unknown parameter "queue"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "cairn.yaml")
			if err := os.WriteFile(file, []byte(ebConfig(ebBus(Account1, "", c.target))), 0o600); err != nil {
				t.Fatal(err)
			}
			_, stderr, code, _ := startupRun(t, nil, "serve", "--listen", "127.0.0.1:0", "--data-dir", PrivateDir(t), "--config", file)
			if code == 0 || strings.Contains(stderr, "cairn serving") {
				t.Fatalf("exit %d; the server started with a bad event_buses entry:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, file+c.where) || !strings.Contains(stderr, c.reason) {
				t.Errorf("stderr lacks %q and %q:\n%s", file+c.where, c.reason, stderr)
			}
		})
	}
}
