package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-audit/cairn/internal/e2e"
)

// TestBenchAgainstServer runs a tiny ingest and lookup run against a real
// server and checks that the numbers add up.
func TestBenchAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	srv := e2e.Start(t, e2e.Options{Config: e2e.StandardConfig})
	ctx := context.Background()

	ing, err := RunIngest(ctx, IngestConfig{
		Endpoint: srv.URL, AccessKeyID: e2e.AdminKey, SecretAccessKey: e2e.AdminSecret,
		Clients: 2, Batch: 100, Total: 2000,
		Gen: GenOptions{RecordBytes: 1024, Regions: []string{"us-east-1"}, Spread: 6 * time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ing.WriteText(&out)
	t.Logf("\n%s", out.String())
	if !ing.OK() || ing.EventsAcknowledged != 2000 || ing.EventsSent != 2000 || ing.BatchesOK != 20 ||
		ing.Latency.Count != 20 || len(ing.Errors) != 0 {
		t.Fatalf("ingest: %d of %d events acknowledged in %d of %d batches, %d latency samples, errors %v",
			ing.EventsAcknowledged, ing.EventsSent, ing.BatchesOK, ing.Batches, ing.Latency.Count, ing.Errors)
	}
	if ing.EventsPerSec <= 0 || ing.Latency.P50 <= 0 || ing.Latency.Max < ing.Latency.P99 {
		t.Errorf("ingest numbers: %+v", ing)
	}

	// The events are all there: page through the event history.
	ct := srv.CloudTrail(e2e.AdminKey, e2e.AdminSecret, "us-east-1")
	stored := 0
	p := cloudtrail.NewLookupEventsPaginator(ct, &cloudtrail.LookupEventsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			if aws.ToString(e.EventSource) != "cloudtrail.amazonaws.com" { // not the self-audit of these calls
				stored++
			}
		}
	}
	if stored != 2000 {
		t.Errorf("event history holds %d synthetic events, want 2000", stored)
	}

	// Both clients: the SDK's, and net/http with only a split of each answer.
	var last *LookupReport
	for _, client := range []string{ClientSDK, ClientHTTP} {
		t.Run(client, func(t *testing.T) {
			look, err := RunLookup(ctx, LookupConfig{
				Endpoint: srv.URL, AccessKeyID: e2e.AdminKey, SecretAccessKey: e2e.AdminSecret,
				Region: "us-east-1", Requests: 50, Concurrency: 4, Client: client,
			})
			if err != nil {
				t.Fatal(err)
			}
			out.Reset()
			look.WriteText(&out)
			t.Logf("\n%s", out.String())
			if !look.OK() || look.Requests != 50 || look.Failed != 0 || look.Latency.Count != 50 || len(look.Skipped) != 0 {
				t.Fatalf("lookup: %d calls, %d failed, %d samples, skipped %v, errors %v",
					look.Requests, look.Failed, look.Latency.Count, look.Skipped, look.Errors)
			}
			var found int64
			byQuery := map[string]QueryStats{}
			for _, q := range look.Queries {
				byQuery[q.Query] = q
				found += q.Events
				if q.Requests == 0 {
					t.Errorf("query %q was not run", q.Query)
				}
			}
			if len(look.Queries) != 14 || found == 0 {
				t.Errorf("%d kinds of query found %d events", len(look.Queries), found)
			}
			// Values taken from the stored events find them.
			for _, name := range []string{"EventId", "ResourceName (ARN)", "ResourceName (short)", "none, page 2", "EventSource, page 2", "none, 1h window"} {
				if q := byQuery[name]; q.Empty != 0 {
					t.Errorf("%s: %d of %d answers were empty", name, q.Empty, q.Requests)
				}
			}
			if q := byQuery["EventId"]; q.Events != int64(q.Requests) {
				t.Errorf("EventId lookups returned %d events in %d calls", q.Events, q.Requests)
			}
			last = look
		})
	}

	// Paced (an open loop): the report says so, and every call is made.
	t.Run("paced", func(t *testing.T) {
		look, err := RunLookup(ctx, LookupConfig{
			Endpoint: srv.URL, AccessKeyID: e2e.AdminKey, SecretAccessKey: e2e.AdminSecret,
			Region: "us-east-1", Requests: 40, Concurrency: 2, Client: ClientHTTP, Rate: 400,
		})
		if err != nil {
			t.Fatal(err)
		}
		out.Reset()
		look.WriteText(&out)
		if !look.OK() || look.Requests != 40 || look.Latency.Count != 40 || look.Params.Rate != 400 ||
			!strings.Contains(out.String(), "paced       400 calls/s") {
			t.Fatalf("paced lookup: %d calls, %d samples, rate %v, errors %v\n%s",
				look.Requests, look.Latency.Count, look.Params.Rate, look.Errors, out.String())
		}
		if _, err := RunLookup(ctx, LookupConfig{Endpoint: srv.URL, AccessKeyID: e2e.AdminKey, SecretAccessKey: e2e.AdminSecret,
			Requests: 1, Concurrency: 1, Rate: -1}); err == nil || !strings.Contains(err.Error(), "rate") {
			t.Errorf("a negative rate: %v, want it refused", err)
		}
	})

	// A follow-up LookupEvents by a synthetic user finds events.
	res, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{{
		AttributeKey: types.LookupAttributeKeyUsername, AttributeValue: aws.String("deploy-bot")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) == 0 {
		t.Error("no events of user deploy-bot")
	}

	// The JSON report names the parameters and the environment.
	look := last
	if look == nil {
		t.Fatal("no lookup report")
	}
	path := filepath.Join(t.TempDir(), "lookup.json")
	if err := WriteJSONFile(path, look); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var j map[string]any
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	env, _ := j["env"].(map[string]any)
	params, _ := j["params"].(map[string]any)
	if env["go_version"] == "" || env["gomaxprocs"] == nil || env["time"] == nil || params["requests"] != 50.0 || j["latency"] == nil {
		t.Errorf("JSON report: %s", b)
	}
}

// TestIngestReportsErrors checks that refusals are counted, not hidden:
// a wrong key, and records for a region the server does not serve.
func TestIngestReportsErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	srv := e2e.Start(t, e2e.Options{Config: e2e.StandardConfig})
	ctx := context.Background()
	bad, err := RunIngest(ctx, IngestConfig{Endpoint: srv.URL, AccessKeyID: e2e.AdminKey, SecretAccessKey: "wrong",
		Clients: 1, Batch: 10, Total: 30, Gen: GenOptions{RecordBytes: 600}})
	if err != nil {
		t.Fatal(err)
	}
	if bad.OK() || bad.EventsAcknowledged != 0 || bad.EventsInFailedReqs != 30 || len(bad.Errors) != 1 || bad.Errors[0].Count != 3 {
		t.Errorf("wrong secret: %+v", bad)
	}
	// A run whose requests all fail gives up instead of hammering the server.
	doomed, err := RunIngest(ctx, IngestConfig{Endpoint: srv.URL, AccessKeyID: e2e.AdminKey, SecretAccessKey: "wrong",
		Clients: 2, Batch: 10, Duration: time.Minute, Gen: GenOptions{RecordBytes: 600}})
	if err != nil {
		t.Fatal(err)
	}
	if doomed.OK() || doomed.Aborted == "" || doomed.Elapsed > 20*time.Second || doomed.Batches < abandonAfter {
		t.Errorf("all requests failing: aborted %q after %v and %d requests", doomed.Aborted, doomed.Elapsed, doomed.Batches)
	}
	look, err := RunLookup(ctx, LookupConfig{Endpoint: srv.URL, AccessKeyID: e2e.AdminKey, SecretAccessKey: "wrong", Requests: 10, Concurrency: 1})
	if err == nil || !strings.Contains(err.Error(), "discovery") {
		t.Errorf("lookup with a wrong secret: %v, %+v", err, look)
	}
	// Canceling stops new batches; those in flight are still counted.
	// Long enough for the batches to be prepared on a loaded machine.
	cctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	stopped, err := RunIngest(cctx, IngestConfig{Endpoint: srv.URL, AccessKeyID: e2e.AdminKey, SecretAccessKey: e2e.AdminSecret,
		Clients: 2, Batch: 50, Duration: time.Minute, Gen: GenOptions{RecordBytes: 600}})
	if err != nil {
		t.Fatal(err)
	}
	if !stopped.Interrupted || stopped.Elapsed > 20*time.Second || stopped.EventsAcknowledged == 0 ||
		stopped.EventsAcknowledged != stopped.EventsSent || len(stopped.Errors) != 0 {
		t.Errorf("canceled run: %+v", stopped)
	}
	// Records for several accounts, from a key allowed to write for both.
	multi, err := RunIngest(ctx, IngestConfig{Endpoint: srv.URL, AccessKeyID: e2e.IngestKey, SecretAccessKey: e2e.IngestSecret,
		Clients: 2, Batch: 25, Total: 100, Gen: GenOptions{RecordBytes: 700, Accounts: []string{e2e.Account1, e2e.Account2}}})
	if err != nil {
		t.Fatal(err)
	}
	if !multi.OK() || multi.EventsAcknowledged != 100 {
		t.Errorf("two accounts: %d acknowledged, errors %v", multi.EventsAcknowledged, multi.Errors)
	}
	other, err := srv.CloudTrail(e2e.OtherKey, e2e.OtherSecret, "us-east-1").LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(other.Events); n < 20 || n > 50 { // about half of 100, plus this call's audit event
		t.Errorf("account 2 sees %d events", n)
	}
	for _, e := range other.Events {
		if aws.ToString(e.EventSource) != "cloudtrail.amazonaws.com" && !strings.Contains(aws.ToString(e.CloudTrailEvent), `"accountId":"222222222222"`) {
			t.Errorf("account 2's event names another account: %.300s", aws.ToString(e.CloudTrailEvent))
		}
	}
	mixed, err := RunIngest(ctx, IngestConfig{Endpoint: srv.URL, AccessKeyID: e2e.AdminKey, SecretAccessKey: e2e.AdminSecret,
		Clients: 2, Batch: 50, Total: 200, Gen: GenOptions{RecordBytes: 600, Regions: []string{"us-east-1", "ap-south-1"}}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	mixed.WriteText(&out)
	t.Logf("\n%s", out.String())
	if mixed.OK() || mixed.EventsSent != 200 || mixed.EventsRefused == 0 || mixed.EventsAcknowledged+mixed.EventsRefused != 200 {
		t.Errorf("half the records in an unserved region: %+v", mixed)
	}
}
