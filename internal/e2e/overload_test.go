package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-audit/cairn/internal/testutil"
)

func wantHealthy(t *testing.T, srv *Server) {
	t.Helper()
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "ok\n" {
		t.Fatalf("healthz: HTTP %d %q", resp.StatusCode, b)
	}
}

// isThrottling says whether err is CloudTrail's ThrottlingException: the
// SDK's types.ThrottlingException for operations that model it, a generic
// API error with that code for the others (LookupEvents does not model it).
func isThrottling(err error) bool {
	var te *types.ThrottlingException
	return errors.As(err, &te) || apiCode(err) == "ThrottlingException"
}

func TestOverloadLookupThrottling(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig + "limits: {requests_per_second: 5, lookups_per_second: 2}\n"})
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	ctx := context.Background()

	ok, throttled := burst(t, 40, func() error {
		_, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(1)})
		return err
	})
	t.Logf("burst of 40 LookupEvents: %d succeeded, %d throttled", ok, throttled)
	if ok == 0 || throttled == 0 {
		t.Fatalf("LookupEvents burst: %d succeeded, %d throttled; want some of each", ok, throttled)
	}
	wantHealthy(t, srv)

	// The other limit: a principal's requests (5/s, bursts of 10) for any
	// operation; rita has her own bucket.
	rita := srv.CloudTrail(ReaderKey, ReaderSecret, "us-east-1")
	ok, throttled = burst(t, 40, func() error {
		_, err := rita.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
		return err
	})
	if ok == 0 || throttled == 0 {
		t.Fatalf("DescribeTrails burst: %d succeeded, %d throttled; want some of each", ok, throttled)
	}

	// Buckets refill: after a second there are tokens again.
	time.Sleep(1100 * time.Millisecond)
	if _, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(1)}); err != nil {
		t.Fatalf("LookupEvents after 1s: %v", err)
	}
	if _, err := rita.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{}); err != nil {
		t.Fatalf("DescribeTrails after 1s: %v", err)
	}

	// The throttled calls are in event history as failed calls.
	testutil.WaitForEvery(t, 90*time.Second, 700*time.Millisecond, func() (bool, string) {
		found, err := findThrottledCall(ctx, ct)
		return found, fmt.Sprintf("no LookupEvents record with errorCode ThrottlingException in event history (last error %v)", err)
	})
	wantHealthy(t, srv)
}

// burst makes n calls at once and counts the successes and the
// ThrottlingExceptions; any other answer fails the test.
func burst(t *testing.T, n int, call func() error) (ok, throttled int) {
	t.Helper()
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			<-start
			errs[i] = call()
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case isThrottling(err):
			throttled++
			if !strings.Contains(err.Error(), "Rate exceeded") {
				t.Errorf("call %d: throttling message: %v", i, err)
			}
		default:
			t.Fatalf("call %d: %v (code %q), want success or ThrottlingException", i, err, apiCode(err))
		}
	}
	return ok, throttled
}

// findThrottledCall pages through the LookupEvents calls in event history
// for one that failed with ThrottlingException, pacing itself under the
// lookup limit; a throttled page ends the search for this round.
func findThrottledCall(ctx context.Context, ct *cloudtrail.Client) (bool, error) {
	in := &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(50), LookupAttributes: attr(types.LookupAttributeKeyEventName, "LookupEvents")}
	for {
		out, err := ct.LookupEvents(ctx, in)
		if err != nil {
			return false, err
		}
		for _, e := range out.Events {
			var rec struct {
				ErrorCode    string `json:"errorCode"`
				ErrorMessage string `json:"errorMessage"`
				EventSource  string `json:"eventSource"`
			}
			if json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec) == nil &&
				rec.ErrorCode == "ThrottlingException" && rec.ErrorMessage == "Rate exceeded" &&
				rec.EventSource == "cloudtrail.amazonaws.com" {
				return true, nil
			}
		}
		if out.NextToken == nil {
			return false, nil
		}
		in.NextToken = out.NextToken
		time.Sleep(700 * time.Millisecond)
	}
}

// floodRequest makes a signed POST /v1/events request ready to send.
func floodRequest(t *testing.T, srv *Server, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: IngestKey, SecretAccessKey: IngestSecret},
		req, hex.EncodeToString(sum[:]), "cloudtrail", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestOverloadIngestInflight(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig + "limits: {max_inflight_ingest: 2}\n"})
	const (
		clients = 20
		perReq  = 200
		source  = "overload.amazonaws.com"
	)
	pad := strings.Repeat("x", 1000)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)

	type answer struct {
		status     int
		retryAfter string
		body       []byte
		err        error
	}
	accepted, tooMany := 0, 0
	for round := 0; round < 5 && (tooMany == 0 || round == 0); round++ {
		reqs := make([]*http.Request, clients)
		for i := range reqs {
			records := make([]map[string]any, perReq)
			for j := range records {
				records[j] = Record(fmt.Sprintf("Flood%d", round), source, "us-east-1", at,
					map[string]any{"requestParameters": map[string]any{"round": round, "client": i, "n": j, "pad": pad}})
			}
			body, err := json.Marshal(map[string]any{"Records": records})
			if err != nil {
				t.Fatal(err)
			}
			reqs[i] = floodRequest(t, srv, body)
		}
		answers := make([]answer, clients)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, req := range reqs {
			wg.Go(func() {
				<-start
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					answers[i].err = err
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				answers[i] = answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: b}
			})
		}
		close(start)
		wg.Wait()
		for i, a := range answers {
			switch {
			case a.err != nil:
				t.Fatalf("round %d client %d: %v", round, i, a.err)
			case a.status == http.StatusOK:
				var res IngestResult
				if err := json.Unmarshal(a.body, &res); err != nil {
					t.Fatalf("round %d client %d: answer %s: %v", round, i, a.body, err)
				}
				if res.Accepted != perReq || len(res.Failed) != 0 {
					t.Fatalf("round %d client %d: accepted %d of %d, failed %+v", round, i, res.Accepted, perReq, res.Failed)
				}
				accepted += res.Accepted
			case a.status == http.StatusTooManyRequests:
				tooMany++
				if a.retryAfter == "" {
					t.Errorf("round %d client %d: 429 without Retry-After", round, i)
				}
				var e struct {
					Type string `json:"__type"`
				}
				if json.Unmarshal(a.body, &e); e.Type != "ThrottlingException" {
					t.Errorf("round %d client %d: 429 body %s, want ThrottlingException", round, i, a.body)
				}
			default:
				t.Fatalf("round %d client %d: HTTP %d %s, want 200 or 429", round, i, a.status, a.body)
			}
		}
		t.Logf("round %d: %d events accepted so far, %d answers 429", round, accepted, tooMany)
	}
	if tooMany == 0 {
		t.Fatalf("no request was refused with 429 in 5 rounds of %d concurrent batches at max_inflight_ingest 2", clients)
	}
	if accepted == 0 {
		t.Fatal("no batch was accepted")
	}
	wantHealthy(t, srv)

	// Every acknowledged event is stored, and nothing else.
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	in := &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventSource, source)}
	testutil.WaitForEvery(t, 60*time.Second, 200*time.Millisecond, func() (bool, string) {
		got := len(lookupAll(t, ct, in))
		if got > accepted {
			t.Fatalf("event history holds %d %s events, want the %d acknowledged", got, source, accepted)
		}
		return got == accepted, fmt.Sprintf("event history holds %d %s events, want the %d acknowledged", got, source, accepted)
	})
	// The server still takes ingest once the flood is over.
	if res := srv.Ingest(t, IngestKey, IngestSecret, Record("AfterFlood", source, "us-east-1", at, nil)); res.Accepted != 1 {
		t.Fatalf("after the flood: %+v", res)
	}
}
