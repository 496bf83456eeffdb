package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// TestTailOwnAccountAndRegionOnly: GET /v1/stream, signed with SigV4, sees
// the new events of the caller's account in the region it signed for, and
// nothing older; another account's events (a hostile tenant's, and those
// an ingest principal writes for that account) and other regions' never
// appear. Opening the stream is recorded once as a LookupEvents call.
func TestTailOwnAccountAndRegionOnly(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	now := time.Now().UTC()
	srv.Ingest(t, AdminKey, AdminSecret, Record("Before", "s3.amazonaws.com", "us-east-1", now, nil))

	alice := openTail(t, srv, AdminKey, AdminSecret, "us-east-1", "")
	bob := openTail(t, srv, OtherKey, OtherSecret, "us-east-1", "")

	srv.Ingest(t, OtherKey, OtherSecret, Record("BobSecret1", "iam.amazonaws.com", "us-east-1", now, nil))
	srv.Ingest(t, IngestKey, IngestSecret, Record("ForAccount2", "s3.amazonaws.com", "us-east-1", now,
		map[string]any{"recipientAccountId": Account2}))
	srv.Ingest(t, AdminKey, AdminSecret, Record("West", "s3.amazonaws.com", "us-west-2", now, nil),
		Record("A1", "s3.amazonaws.com", "us-east-1", now, nil))
	srv.Ingest(t, OtherKey, OtherSecret, Record("BobLast", "iam.amazonaws.com", "us-east-1", now, nil))
	srv.Ingest(t, AdminKey, AdminSecret, Record("A2", "ec2.amazonaws.com", "us-east-1", now, nil),
		Record("ALast", "s3.amazonaws.com", "us-east-1", now, nil))

	got := alice.until(t, "ALast")
	if names := ingested(got); !slices.Equal(names, []string{"A1", "A2", "ALast"}) {
		t.Errorf("alice's stream: %v, want [A1 A2 ALast]", names)
	}
	for _, r := range got {
		if r["recipientAccountId"] != Account1 || r["awsRegion"] != "us-east-1" {
			t.Errorf("alice's stream carried %v of %v in %v", r["eventName"], r["recipientAccountId"], r["awsRegion"])
		}
	}
	if names := ingested(bob.until(t, "BobLast")); !slices.Equal(names, []string{"BobSecret1", "ForAccount2", "BobLast"}) {
		t.Errorf("bob's stream: %v, want [BobSecret1 ForAccount2 BobLast]", names)
	}

	// Opening the stream was recorded, once, as a read management event.
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	waitFor(t, "the stream's LookupEvents record", func() bool {
		out, err := ct.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{
			{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("LookupEvents")}}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range out.Events {
			var rec struct {
				ReadOnly          bool
				RequestParameters map[string]any
				EventCategory     string
				UserIdentity      struct{ AccessKeyID string }
			}
			json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec)
			if rec.RequestParameters["liveTail"] == true {
				if !rec.ReadOnly || rec.EventCategory != "Management" || rec.UserIdentity.AccessKeyID != AdminKey {
					t.Fatalf("stream record: %s", aws.ToString(e.CloudTrailEvent))
				}
				n++
			}
		}
		if n > 1 {
			t.Fatalf("%d records of one stream", n)
		}
		return n == 1
	})
}

// waitFor polls cond until it holds, failing after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTailPattern: with ?pattern= (an EventBridge event pattern evaluated
// against the EventBridge envelope) the stream carries exactly the events
// that match; a bad pattern is a 400 in the AWS error shape with the
// matcher's reason.
func TestTailPattern(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	now := time.Now().UTC()
	deletes := openTail(t, srv, AdminKey, AdminSecret, "us-east-1", `{"detail":{"eventName":[{"prefix":"Delete"}]}}`)
	iam := openTail(t, srv, AdminKey, AdminSecret, "us-east-1", `{"source":["aws.iam"],"detail-type":["AWS API Call via CloudTrail"]}`)
	srv.Ingest(t, AdminKey, AdminSecret,
		Record("GetObject", "s3.amazonaws.com", "us-east-1", now, nil),
		Record("DeleteBucket", "s3.amazonaws.com", "us-east-1", now, nil),
		Record("CreateUser", "iam.amazonaws.com", "us-east-1", now, nil),
		Record("PutObject", "s3.amazonaws.com", "us-east-1", now, nil),
		Record("DeleteUser", "iam.amazonaws.com", "us-east-1", now, nil),
		Record("DeleteLast", "s3.amazonaws.com", "us-east-1", now, nil),
		Record("IAMLast", "iam.amazonaws.com", "us-east-1", now, nil))
	if got := ingested(deletes.until(t, "DeleteLast")); !slices.Equal(got, []string{"DeleteBucket", "DeleteUser", "DeleteLast"}) {
		t.Errorf("deletes: %v", got)
	}
	if got := ingested(iam.until(t, "IAMLast")); !slices.Equal(got, []string{"CreateUser", "DeleteUser", "IAMLast"}) {
		t.Errorf("iam: %v", got)
	}
	// Nothing else arrived on the pattern streams (their own LookupEvents
	// records do not match either pattern).
	srv.Ingest(t, AdminKey, AdminSecret, Record("DeleteFinal", "iam.amazonaws.com", "us-east-1", now, nil))
	if got := ingested(deletes.until(t, "DeleteFinal")); !slices.Equal(got, []string{"DeleteFinal"}) {
		t.Errorf("deletes after: %v", got)
	}

	for _, bad := range []string{`{"detail":{"eventName":[{"prefix":1}]}}`, `not json`, `["aws.s3"]`} {
		status, body := getStatus(t, signedTailRequest(t, context.Background(), srv, AdminKey, AdminSecret, "us-east-1", bad))
		if status != http.StatusBadRequest || !strings.Contains(string(body), "InvalidParameterException") ||
			!strings.Contains(string(body), "event pattern") {
			t.Errorf("pattern %s: HTTP %d %s", bad, status, body)
		}
	}
}

// TestTailRefusals: an unsigned request, a bad signature, an unknown key,
// a principal without cloudtrail:LookupEvents and a region the server does
// not serve are refused in the AWS error shape, and no stream opens.
func TestTailRefusals(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	unsigned, _ := http.NewRequest(http.MethodGet, tailURL(srv, ""), nil)
	for _, c := range []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"unsigned", unsigned, http.StatusForbidden, "MissingAuthenticationToken"},
		{"bad signature", signedTailRequest(t, ctx, srv, AdminKey, "not-the-secret", "us-east-1", ""), http.StatusBadRequest, "InvalidSignatureException"},
		{"unknown key", signedTailRequest(t, ctx, srv, "AKIANOSUCHKEY0000001", "x", "us-east-1", ""), http.StatusForbidden, "UnrecognizedClient"},
		{"no LookupEvents", signedTailRequest(t, ctx, srv, IngestKey, IngestSecret, "us-east-1", ""), http.StatusBadRequest, "AccessDeniedException"},
		{"unserved region", signedTailRequest(t, ctx, srv, AdminKey, AdminSecret, "ap-south-2", ""), http.StatusBadRequest, "UnsupportedOperationException"},
	} {
		status, body := getStatus(t, c.req)
		if status < 400 || !strings.Contains(string(body), c.code) {
			t.Errorf("%s: HTTP %d %s; want %s", c.name, status, body, c.code)
		}
		if strings.Contains(string(body), "stream open") {
			t.Errorf("%s: a stream opened", c.name)
		}
	}
	// HEAD does not open (nor audit) a stream: Go's mux would route it to
	// GET's handler.
	head := signedTailRequest(t, ctx, srv, AdminKey, AdminSecret, "us-east-1", "")
	head.Method = http.MethodHead
	if resp, err := http.DefaultClient.Do(head); err != nil {
		t.Errorf("HEAD /v1/stream: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
			t.Errorf("HEAD /v1/stream: HTTP %d, Allow %q; want 405 and Allow: GET", resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	// A principal allowed only cloudtrail:LookupEvents may stream.
	carl := openTail(t, srv, CustomKey, CustomSecret, "us-east-1", "")
	srv.Ingest(t, AdminKey, AdminSecret, Record("ForCarl", "s3.amazonaws.com", "us-east-1", time.Now(), nil))
	carl.until(t, "ForCarl")
}

// TestTailStreamLimits: beyond tail.max_streams_per_key of one key, or
// tail.max_streams in all, a stream is refused with HTTP 429 in the AWS
// error shape; a closed stream gives its place back.
func TestTailStreamLimits(t *testing.T) {
	t.Parallel()
	// Two API requests of a key in flight at most: open streams must not
	// hold those places.
	srv := Start(t, Options{Config: StandardConfig + "\ntail: {max_streams: 3, max_streams_per_key: 2}\nlimits: {max_inflight_per_key: 2}\n"})
	ctx := context.Background()
	first := openTail(t, srv, AdminKey, AdminSecret, "us-east-1", "")
	openTail(t, srv, AdminKey, AdminSecret, "us-east-1", "")
	refused := func(key, secret string) {
		t.Helper()
		status, body := getStatus(t, signedTailRequest(t, ctx, srv, key, secret, "us-east-1", ""))
		if status != http.StatusTooManyRequests || !strings.Contains(string(body), "ThrottlingException") {
			t.Fatalf("stream beyond the limit of %s: HTTP %d %s", key, status, body)
		}
	}
	refused(AdminKey, AdminSecret)
	openTail(t, srv, OtherKey, OtherSecret, "us-east-1", "")
	refused(CustomKey, CustomSecret)
	// The key's API calls are not held by its streams.
	if _, err := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1").DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{}); err != nil {
		t.Fatalf("DescribeTrails with streams open: %v", err)
	}
	first.cancel()
	waitFor(t, "the closed stream's place", func() bool {
		req := signedTailRequest(t, ctx, srv, CustomKey, CustomSecret, "us-east-1", "")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// TestTailShutdown: a server shutting down ends its streams cleanly (a
// last comment, then the end of the response) instead of waiting for them.
func TestTailShutdown(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	req := signedTailRequest(t, context.Background(), srv, AdminKey, AdminSecret, "us-east-1", "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		buf := make([]byte, 4096)
		var pending string
		for {
			n, err := resp.Body.Read(buf)
			pending += string(buf[:n])
			for {
				line, rest, ok := strings.Cut(pending, "\n")
				if !ok {
					break
				}
				lines <- line
				pending = rest
			}
			if err != nil {
				lines <- fmt.Sprintf("end: %v", err)
				return
			}
		}
	}()
	if l := <-lines; l != ": stream open" {
		t.Fatalf("first line %q", l)
	}
	srv.Stop(t)
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	if !slices.Contains(rest, ": server shutting down") || rest[len(rest)-1] != "end: EOF" {
		t.Fatalf("the stream ended with %q", rest)
	}
}
