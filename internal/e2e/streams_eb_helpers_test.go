package e2e

// Helpers of the EventBridge stream tests (streams_eb_*_test.go): a webhook
// receiver that checks signatures and can be made to fail, a fake
// EventBridge PutEvents endpoint, and polling.

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/ebevent"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// ebEnvelope is an EventBridge event from CloudTrail as received, its
// detail (the record) decoded.
type ebEnvelope struct {
	ebevent.Envelope
	Detail map[string]any `json:"detail"`
}

func (e ebEnvelope) eventID() string   { s, _ := e.Detail["eventID"].(string); return s }
func (e ebEnvelope) eventName() string { s, _ := e.Detail["eventName"].(string); return s }

// ebHook is a webhook receiver on 127.0.0.1 that keeps every envelope of
// the requests it accepts, checks X-Cairn-Signature with its secret, and
// answers failStatus instead while that is set.
type ebHook struct {
	srv    *httptest.Server
	secret string

	mu         sync.Mutex
	envs       []ebEnvelope
	arrived    map[string]time.Time // first arrival by eventID
	requests   int
	failed     int
	badSig     int
	failStatus int
}

func newEBHook(t testing.TB, secret string) *ebHook {
	h := &ebHook{secret: secret, arrived: map[string]time.Time{}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *ebHook) URL() string { return h.srv.URL + "/hook" }

func (h *ebHook) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if h.failStatus != 0 {
		h.failed++
		w.WriteHeader(h.failStatus)
		return
	}
	m := hmac.New(sha256.New, []byte(h.secret))
	m.Write(body)
	if r.Header.Get("X-Cairn-Signature") != "sha256="+hex.EncodeToString(m.Sum(nil)) ||
		r.Header.Get("Content-Type") != "application/x-ndjson" {
		h.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 2<<20)
	lines := 0
	for sc.Scan() {
		var env ebEnvelope
		if err := json.Unmarshal(sc.Bytes(), &env); err != nil {
			h.badSig++
			continue
		}
		lines++
		h.envs = append(h.envs, env)
		if _, ok := h.arrived[env.eventID()]; !ok {
			h.arrived[env.eventID()] = now
		}
	}
	if fmt.Sprint(lines) != r.Header.Get("X-Cairn-Event-Count") {
		h.badSig++
	}
}

func (h *ebHook) setFail(status int) {
	h.mu.Lock()
	h.failStatus = status
	h.mu.Unlock()
}

// snapshot returns a copy of the envelopes received so far.
func (h *ebHook) snapshot() []ebEnvelope {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]ebEnvelope(nil), h.envs...)
}

// has reports whether every id has arrived.
func (h *ebHook) has(ids ...string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range ids {
		if _, ok := h.arrived[id]; !ok {
			return false
		}
	}
	return true
}

// names returns the sorted eventNames received (duplicates kept).
func ebNames(envs []ebEnvelope) []string {
	var out []string
	for _, e := range envs {
		out = append(out, e.eventName())
	}
	sort.Strings(out)
	return out
}

// ebWaitFor polls cond until it holds or the deadline passes.
func ebWaitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	if ok, _ := testutil.PollEvery(d, 20*time.Millisecond, func() (bool, string) { return cond(), "" }); !ok {
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// ebBus is one event_buses entry of a config.
func ebBus(account string, extra string, targets ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - account: %q\n", account)
	if extra != "" {
		b.WriteString(extra)
	}
	b.WriteString("    targets:\n")
	for _, t := range targets {
		b.WriteString(t)
	}
	return b.String()
}

// ebWebhookTarget is a webhook target with an optional pattern.
func ebWebhookTarget(url, secret, pattern string) string {
	s := fmt.Sprintf("      - url: %q\n        secret: %q\n", url, secret)
	if pattern != "" {
		s += fmt.Sprintf("        pattern: '%s'\n", pattern)
	}
	return s
}

// ebConfig is the standard test config with event_buses entries.
func ebConfig(buses ...string) string {
	return StandardConfig + "event_buses:\n" + strings.Join(buses, "")
}

// ebRecord is a record of account with a fresh eventID; readOnly and
// category as given.
func ebRecord(name, source, account string, readOnly bool, extra map[string]any) map[string]any {
	r := dlEvent(name, source, "us-east-1", account, extra)
	r["readOnly"] = readOnly
	return r
}

// ebFakeEventBridge is a PutEvents endpoint (AWS JSON 1.1) that notes when
// each entry arrives, by its record's eventID.
type ebFakeEventBridge struct {
	srv     *httptest.Server
	mu      sync.Mutex
	arrived map[string]time.Time
	entries int
}

func newEBFakeEventBridge(t testing.TB) *ebFakeEventBridge {
	f := &ebFakeEventBridge{arrived: map[string]time.Time{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Entries []struct{ Detail string }
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		now := time.Now()
		out := struct {
			FailedEntryCount int
			Entries          []map[string]string
		}{}
		f.mu.Lock()
		for i, e := range in.Entries {
			var d struct{ EventID string }
			_ = json.Unmarshal([]byte(e.Detail), &d)
			if _, ok := f.arrived[d.EventID]; !ok {
				f.arrived[d.EventID] = now
			}
			f.entries++
			out.Entries = append(out.Entries, map[string]string{"EventId": fmt.Sprintf("e-%d", i)})
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *ebFakeEventBridge) arrivedAt(id string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	at, ok := f.arrived[id]
	return at, ok
}
