package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// tailURL is the stream's URL on srv with an optional pattern.
func tailURL(srv *Server, pattern string) string {
	u := srv.URL + "/v1/stream"
	if pattern != "" {
		u += "?pattern=" + url.QueryEscape(pattern)
	}
	return u
}

// signedTailRequest is GET /v1/stream signed with aws-sdk-go-v2's v4
// signer for region (service cloudtrail), as any SigV4 client signs it.
func signedTailRequest(t testing.TB, ctx context.Context, srv *Server, key, secret, region, pattern string) *http.Request {
	t.Helper()
	return signedGet(t, ctx, tailURL(srv, pattern), key, secret, region)
}

// signedGet is GET rawURL signed with aws-sdk-go-v2's v4 signer for
// region (service cloudtrail).
func signedGet(t testing.TB, ctx context.Context, rawURL, key, secret, region string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(nil)
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "cloudtrail", region, time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

// tailStream is an open live tail: its data lines, decoded.
type tailStream struct {
	events chan map[string]any
	done   chan error
	cancel context.CancelFunc
}

// openTail opens a stream for key in region (with pattern, if any),
// fails the test unless it is answered 200, and returns once the server
// says the stream is open: every event acknowledged from then on that
// matches will arrive. The stream is closed when the test ends.
func openTail(t testing.TB, srv *Server, key, secret, region, pattern string) *tailStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := http.DefaultClient.Do(signedTailRequest(t, ctx, srv, key, secret, region, pattern))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("GET /v1/stream: HTTP %d: %s", resp.StatusCode, b)
	}
	s := &tailStream{events: make(chan map[string]any, 10000), done: make(chan error, 1), cancel: cancel}
	opened := make(chan struct{})
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		first := true
		for sc.Scan() {
			line := sc.Text()
			if first {
				first = false
				if line == ": stream open" {
					close(opened)
				}
				continue
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var rec map[string]any
				if err := json.Unmarshal([]byte(data), &rec); err != nil {
					s.done <- err
					return
				}
				s.events <- rec
			}
		}
		s.done <- sc.Err()
	}()
	t.Cleanup(cancel)
	select {
	case <-opened:
	case err := <-s.done:
		t.Fatalf("the stream ended before it said it was open: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the stream did not say it was open")
	}
	return s
}

// until collects events until one named last arrives (failing after a
// minute) and returns them, last included.
func (s *tailStream) until(t testing.TB, last string) []map[string]any {
	t.Helper()
	var got []map[string]any
	timeout := time.After(time.Minute)
	for {
		select {
		case rec := <-s.events:
			got = append(got, rec)
			if rec["eventName"] == last {
				return got
			}
		case err := <-s.done:
			t.Fatalf("the stream ended after %d events, before %s: %v", len(got), last, err)
		case <-timeout:
			t.Fatalf("%s did not arrive within a minute; got %d events", last, len(got))
		}
	}
}

// ingested are the names of the events of recs (ignoring the server's
// own records, eventSource cloudtrail.amazonaws.com).
func ingested(recs []map[string]any) []string {
	var names []string
	for _, r := range recs {
		if r["eventSource"] != "cloudtrail.amazonaws.com" {
			names = append(names, r["eventName"].(string))
		}
	}
	return names
}

// getStatus sends req and returns the status and body.
func getStatus(t testing.TB, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b
}
