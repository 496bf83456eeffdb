package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/sigv4"
	"github.com/cairn-audit/cairn/internal/spool"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// ingestStub is a Cairn server's POST /v1/events: down (503) or up, when
// it checks the signature and the declared payload hash, keeps every eventID it is sent and refuses
// records named "Refused".
type ingestStub struct {
	up       atomic.Bool
	attempts atomic.Int32
	mu       sync.Mutex
	got      map[string]int
	badSig   []string
}

func (s *ingestStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.attempts.Add(1)
	body, _ := io.ReadAll(r.Body)
	if !s.up.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"__type":"ServiceUnavailable"}`)
		return
	}
	// The sender declares its payload hash, so that Cairn checks the
	// signature before it reads the body.
	_, declared := sigv4.DeclaredPayloadHash(r)
	if _, err := sigv4.Verify(r, body, testCreds{}, "cloudtrail", time.Now()); err != nil || !declared || r.URL.Path != "/v1/events" {
		s.mu.Lock()
		s.badSig = append(s.badSig, fmt.Sprint(r.URL.Path, err))
		s.mu.Unlock()
		w.WriteHeader(http.StatusForbidden)
		return
	}
	var batch struct{ Records []map[string]any }
	if err := json.Unmarshal(body, &batch); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	type failure struct {
		Index        int    `json:"index"`
		ErrorCode    string `json:"errorCode"`
		ErrorMessage string `json:"errorMessage"`
	}
	failed := []failure{}
	s.mu.Lock()
	for i, rec := range batch.Records {
		if rec["eventName"] == "Refused" {
			failed = append(failed, failure{i, "InvalidData", "awsRegion \"mars-1\" is not a region this server serves"})
			continue
		}
		s.got[rec["eventID"].(string)]++
	}
	s.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{"accepted": len(batch.Records) - len(failed), "failed": failed})
}

func (s *ingestStub) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[id]
}

// TestProxySenderOutageAndRestart: while the server is down events stay in
// the spool, also across a restart of the proxy (spool closed and opened
// again); when it is back every event is delivered once, and a record the
// server refuses is kept in rejected.jsonl.
func TestProxySenderOutageAndRestart(t *testing.T) {
	stub := &ingestStub{got: map[string]int{}}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	dir := t.TempDir()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	rec := func(id, name string) []byte {
		return fmt.Appendf(nil, `{"eventID":%q,"eventName":%q,"eventSource":"sqs.amazonaws.com","awsRegion":"us-east-1","eventTime":"2026-01-01T00:00:00Z"}`, id, name)
	}
	run := func(sp *spool.Spool) (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			(&Sender{Spool: sp, Server: srv.URL, Key: testKey, Secret: testSecret, Dir: dir, Log: log}).Run(ctx)
			close(done)
		}()
		return func() { cancel(); <-done }
	}

	// The server is down: the sender retries, nothing leaves the spool.
	sp, err := spool.Open(dir, spool.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := sp.Append(rec(fmt.Sprintf("before-%d", i), "CreateQueue")); err != nil {
			t.Fatal(err)
		}
	}
	stop := run(sp)
	testutil.PollEvery(10*time.Second, 10*time.Millisecond, func() (bool, string) { return stub.attempts.Load() >= 2, "" })
	stop()
	if n := stub.attempts.Load(); n < 2 {
		t.Fatalf("the sender tried %d times in 10s against a down server", n)
	}
	if p := sp.Stats().Pending; p != 3 {
		t.Fatalf("after failed sends the spool holds %d events, want 3", p)
	}
	if !strings.Contains(logs.String(), "events not delivered yet; retrying") {
		t.Errorf("no retry log line:\n%s", logs)
	}
	if err := sp.Close(); err != nil { // the proxy stops
		t.Fatal(err)
	}

	// The proxy starts again with the same spool; the server comes back.
	sp, err = spool.Open(dir, spool.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if p := sp.Stats().Pending; p != 3 {
		t.Fatalf("after a restart the spool holds %d events, want 3", p)
	}
	if err := sp.Append(rec("after-0", "CreateQueue"), rec("refused-0", "Refused"), rec("after-1", "CreateQueue")); err != nil {
		t.Fatal(err)
	}
	stub.up.Store(true)
	stop = run(sp)
	defer stop()
	testutil.PollEvery(15*time.Second, 20*time.Millisecond, func() (bool, string) { return sp.Stats().Pending == 0, "" })
	if p := sp.Stats().Pending; p != 0 {
		t.Fatalf("15s after the server came back %d events are still spooled:\n%s", p, logs)
	}
	for _, id := range []string{"before-0", "before-1", "before-2", "after-0", "after-1"} {
		if n := stub.count(id); n != 1 {
			t.Errorf("event %s reached the server %d times, want 1", id, n)
		}
	}
	if stub.badSig != nil {
		t.Errorf("the server refused the sender's requests: %v", stub.badSig)
	}
	b, err := os.ReadFile(filepath.Join(dir, "rejected.jsonl"))
	if err != nil {
		t.Fatalf("rejected.jsonl: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var r struct {
		ErrorCode string         `json:"errorCode"`
		Record    map[string]any `json:"record"`
	}
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &r) != nil || r.ErrorCode != "InvalidData" || r.Record["eventID"] != "refused-0" {
		t.Errorf("rejected.jsonl = %s, want the refused record with its error code", b)
	}
}
