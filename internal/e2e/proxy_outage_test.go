package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
	"github.com/cairn-audit/cairn/internal/spool"
)

// TestProxyOutageExactlyOnce: the Cairn server stops while calls go
// through the proxy (they succeed: the proxy does not need the server), the
// proxy is restarted while the server is still down (more calls), then the
// server comes back: every call's event arrives, exactly once.
func TestProxyOutageExactlyOnce(t *testing.T) {
	t.Parallel()
	moto := buckettest.StartMoto(t)
	// The server keeps its address across the restart, so the proxy's
	// --server stays valid.
	addr := pxFreeAddr(t)
	srv := Start(t, Options{Config: pxConfig, Args: []string{"--listen", addr}})
	if srv.Addr != addr {
		t.Fatalf("the server listens on %s, not the %s it was given", srv.Addr, addr)
	}
	spoolDir := t.TempDir()
	px := startProxy(t, pxOptions{Upstream: moto, Server: srv.URL, SpoolDir: spoolDir})
	west := srv.CloudTrail(AdminKey, AdminSecret, "us-west-2")
	id := pxSuffix()
	ctx := context.Background()

	createQueues := func(endpoint string, names ...string) {
		t.Helper()
		c := sqs.New(sqs.Options{Region: "us-west-2", BaseEndpoint: aws.String(endpoint),
			Credentials: credentials.NewStaticCredentialsProvider(AdminKey, AdminSecret, ""), RetryMaxAttempts: 1})
		for _, n := range names {
			if _, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(n)}); err != nil {
				t.Fatalf("CreateQueue %s through the proxy: %v", n, err)
			}
		}
	}
	names := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s-%s-%02d", prefix, id, i)
		}
		return out
	}
	before, during, afterRestart := names("q-before", 1), names("q-outage", 12), names("q-restart", 6)

	// The pipeline works.
	createQueues(px.URL, before...)
	if evs := pxWaitLookup(t, west, "CreateQueue", 30*time.Second, pxParam("queueName", before[0])); len(evs) != 1 {
		t.Fatalf("the call before the outage: %d events\nproxy log:\n%s", len(evs), px.Log())
	}

	// The server stops; calls go on.
	srv.Stop(t)
	createQueues(px.URL, during...)
	if !dlPoll(20*time.Second, func() bool { return strings.Contains(px.Log(), "events not delivered yet; retrying") }) {
		t.Errorf("the proxy does not say it is retrying:\n%s", px.Log())
	}

	// The proxy stops; its events wait in the spool.
	px.Stop(t)
	sp, err := spool.Open(spoolDir, spool.Options{})
	if err != nil {
		t.Fatalf("the stopped proxy's spool: %v", err)
	}
	if p := sp.Stats().Pending; p != int64(len(during)) {
		t.Errorf("the stopped proxy's spool holds %d events, want the %d of the outage", p, len(during))
	}
	sp.Close()

	// The proxy starts again, the server is still down: more calls.
	px2 := startProxy(t, pxOptions{Upstream: moto, Server: srv.URL, SpoolDir: spoolDir})
	createQueues(px2.URL, afterRestart...)

	// The server comes back on the same data, store and address.
	srv2 := Start(t, Options{Config: pxStartedConfig(t, srv), DataDir: srv.DataDir, Args: []string{"--listen", addr}})
	west = srv2.CloudTrail(AdminKey, AdminSecret, "us-west-2")
	all := append(append(append([]string{}, before...), during...), afterRestart...)
	counts := func() map[string]int {
		m := map[string]int{}
		for _, e := range pxLookup(t, west, "CreateQueue", nil) {
			if n, _ := pxGet(e.Record, "requestParameters.queueName").(string); strings.Contains(n, id) {
				m[n]++
			}
		}
		return m
	}
	var got map[string]int
	ok := dlPoll(60*time.Second, func() bool {
		got = counts()
		for _, n := range all {
			if got[n] == 0 {
				return false
			}
		}
		return true
	})
	if !ok {
		var missing []string
		for _, n := range all {
			if got[n] == 0 {
				missing = append(missing, n)
			}
		}
		t.Fatalf("60s after the server came back, %d of %d events are missing: %v\nproxy log:\n%s\nserver log:\n%s",
			len(missing), len(all), missing, dlTail(px2.Log(), 30), dlTail(srv2.Log(), 30))
	}
	// A few seconds more: nothing arrives twice.
	time.Sleep(3 * time.Second)
	got = counts()
	for _, n := range all {
		if got[n] != 1 {
			t.Errorf("%s: %d events, want exactly 1", n, got[n])
		}
	}
	if len(got) != len(all) {
		t.Errorf("%d distinct queues recorded, want %d: %v", len(got), len(all), got)
	}
	for _, e := range pxLookup(t, west, "CreateQueue", pxParam("queueName", during[0])) {
		pxExpect(t, "CreateQueue during the outage", e.Record, pxMerge(pxAlice(), map[string]any{
			"eventSource": "sqs.amazonaws.com", "awsRegion": "us-west-2", "readOnly": false,
		}))
	}
}

// pxStartedConfig is the config file a server was started with, as the
// harness wrote it (with the store it chose, e.g. a PostgreSQL database), so
// that a restart finds the same events.
func pxStartedConfig(t *testing.T, srv *Server) string {
	t.Helper()
	i := slices.Index(srv.cmd.Args, "--config")
	if i < 0 || i+1 >= len(srv.cmd.Args) {
		t.Fatalf("the server was started without --config: %q", srv.cmd.Args)
	}
	b, err := os.ReadFile(srv.cmd.Args[i+1])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
