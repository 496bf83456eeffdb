package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestProxyOversizedCallIsRecorded: a call through `cairn proxy` whose
// body (300 KB, under the 1 MiB the proxy keeps) is larger than a record
// may hold is still recorded, its requestParameters replaced with
// CloudTrail's {"omitted": true} marker, instead of being refused by the
// server and lost.
func TestProxyOversizedCallIsRecorded(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"o-1","status":"new"}`)
	}))
	defer api.Close()
	srv := Start(t, Options{Config: pxConfig})
	px := startProxy(t, pxOptions{Upstream: api.URL, Server: srv.URL, SpoolDir: t.TempDir(), Config: pxReadmeConfig(t)})
	id := pxSuffix()
	body, _ := json.Marshal(map[string]any{"item": strings.Repeat("b", 300*1024), "qty": 2})
	req, _ := http.NewRequest(http.MethodPost, px.URL+"/v1/orders", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-User", "carol-"+id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/orders: HTTP %d", resp.StatusCode)
	}
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	evs := pxWaitLookup(t, east, "CreateOrder", 30*time.Second, func(rec map[string]any) bool {
		return pxStr(rec, "userIdentity.userName") == "carol-"+id
	})
	if len(evs) != 1 {
		t.Fatalf("%d CreateOrder events, want 1\nproxy log:\n%s", len(evs), px.Log())
	}
	if got := pxGet(evs[0].Record, "requestParameters.omitted"); got != true {
		t.Errorf("requestParameters.omitted = %v; want true (record %.300s)", got, mustMarshal(evs[0].Record))
	}
	if got := pxStr(evs[0].Record, "responseElements.id"); got != "o-1" {
		t.Errorf("responseElements.id = %q; want o-1", got)
	}
}
