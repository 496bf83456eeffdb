package eventbus

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/eventpattern"
	"github.com/cairn-audit/cairn/internal/stream"
)

func mkEvent(t testing.TB, i int, name string, pad int) *event.Event {
	t.Helper()
	rec := fmt.Sprintf(`{"eventVersion":"1.11","eventTime":"2026-12-06T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":%q,"awsRegion":"us-east-1","eventID":"00000000-0000-4000-8000-%012d","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111111111111","eventCategory":"Management","requestParameters":{"pad":%q}}`,
		name, i, strings.Repeat("x", pad))
	ev, ferr := event.Decode([]byte(rec), event.Context{Account: "111111111111", Now: time.Now()})
	if ferr != nil {
		t.Fatal(ferr)
	}
	return ev
}

// fakeAPI records PutEvents requests and fails entries as told.
type fakeAPI struct {
	mu       sync.Mutex
	requests [][]types.PutEventsRequestEntry
	// failFirst fails each entry's first put with this code.
	failFirst string
	seen      map[string]bool
}

func (f *fakeAPI) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, in.Entries)
	out := &eventbridge.PutEventsOutput{}
	for _, e := range in.Entries {
		if f.failFirst != "" && !f.seen[*e.Detail] {
			f.seen[*e.Detail] = true
			out.FailedEntryCount++
			out.Entries = append(out.Entries, types.PutEventsResultEntry{ErrorCode: aws.String(f.failFirst), ErrorMessage: aws.String("try later")})
			continue
		}
		out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String("id")})
	}
	return out, nil
}

func TestPutEventsBatchesWithinLimits(t *testing.T) {
	api := &fakeAPI{}
	p := newPutEvents(PutEventsOptions{SourcePrefix: "cairn."}, func(string) putEventsAPI { return api })
	var evs []*event.Event
	for i := 0; i < 25; i++ {
		evs = append(evs, mkEvent(t, i, "CreateUser", 0))
	}
	for i := 25; i < 30; i++ { // ~100 KB each: at most two a request
		evs = append(evs, mkEvent(t, i, "CreateUser", 100_000))
	}
	if err := p.Send(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, r := range api.requests {
		size := 0
		for _, e := range r {
			size += entrySize(e)
			if *e.Source != "cairn.iam" || *e.DetailType != "AWS API Call via CloudTrail" || *e.EventBusName != "default" {
				t.Fatalf("entry %+v", e)
			}
		}
		if len(r) > maxEntries || size > maxRequestBytes {
			t.Errorf("request of %d entries, %d bytes: over PutEvents' limits", len(r), size)
		}
		total += len(r)
	}
	if total != 30 {
		t.Errorf("sent %d entries, want 30", total)
	}
}

func TestPutEventsRetriesFailedEntries(t *testing.T) {
	api := &fakeAPI{failFirst: "ThrottlingException", seen: map[string]bool{}}
	p := newPutEvents(PutEventsOptions{}, func(string) putEventsAPI { return api })
	evs := []*event.Event{mkEvent(t, 1, "A", 0), mkEvent(t, 2, "B", 0)}
	if err := p.Send(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if len(api.requests) != 2 || len(api.requests[1]) != 2 {
		t.Fatalf("requests %d (second of %d), want the failed entries put again", len(api.requests), len(api.requests[len(api.requests)-1]))
	}
}

func TestPutEventsPermanentFailureDropped(t *testing.T) {
	api := &fakeAPI{failFirst: "MalformedDetail", seen: map[string]bool{}}
	p := newPutEvents(PutEventsOptions{}, func(string) putEventsAPI { return api })
	err := p.Send(context.Background(), []*event.Event{mkEvent(t, 1, "A", 0)})
	var de *stream.DroppedError
	if !errors.As(err, &de) || de.Count != 1 {
		t.Fatalf("err = %v, want a DroppedError of 1", err)
	}
}

func TestPutEventsOversizeDropped(t *testing.T) {
	api := &fakeAPI{}
	p := newPutEvents(PutEventsOptions{}, func(string) putEventsAPI { return api })
	// A record just under ingest's 256 KB makes an entry just over it.
	base := len(mkEvent(t, 2, "Big", 0).Record)
	big := mkEvent(t, 2, "Big", event.MaxRecordBytes-base-4)
	err := p.Send(context.Background(), []*event.Event{mkEvent(t, 1, "A", 0), big})
	var de *stream.DroppedError
	if !errors.As(err, &de) || de.Count != 1 || !strings.Contains(de.Reason, "256 KB") {
		t.Fatalf("err = %v, want one dropped over 256 KB", err)
	}
	if len(api.requests) != 1 || len(api.requests[0]) != 1 {
		t.Fatalf("requests = %d, want the small event sent", len(api.requests))
	}
}

func TestPutEventsPattern(t *testing.T) {
	api := &fakeAPI{}
	p := newPutEvents(PutEventsOptions{Pattern: eventpattern.MustCompile(`{"detail":{"eventName":[{"prefix":"Delete"}]}}`)},
		func(string) putEventsAPI { return api })
	if err := p.Send(context.Background(), []*event.Event{mkEvent(t, 1, "CreateUser", 0), mkEvent(t, 2, "DeleteUser", 0)}); err != nil {
		t.Fatal(err)
	}
	if len(api.requests) != 1 || len(api.requests[0]) != 1 || !strings.Contains(*api.requests[0][0].Detail, "DeleteUser") {
		t.Fatalf("requests %v, want DeleteUser only", api.requests)
	}
}

func TestWebhookSignedNDJSON(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	var fail bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if r.Header.Get("Content-Type") != ContentType || r.Header.Get(SignatureHeader) != Sign("k", b) {
			t.Errorf("headers %v", r.Header)
		}
		if n := bytes.Count(b, []byte("\n")); fmt.Sprint(n) != r.Header.Get(CountHeader) {
			t.Errorf("count header %s, %d lines", r.Header.Get(CountHeader), n)
		}
		bodies = append(bodies, b)
	}))
	defer srv.Close()
	w := NewWebhook(WebhookOptions{URL: srv.URL, Secret: "k", Pattern: eventpattern.MustCompile(`{"source":["aws.iam"],"detail":{"eventName":[{"anything-but":"Skip"}]}}`)})
	var evs []*event.Event
	for i := 0; i < 150; i++ {
		name := "Keep"
		if i%3 == 0 {
			name = "Skip"
		}
		evs = append(evs, mkEvent(t, i, name, 0))
	}
	if err := w.Send(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, b := range bodies {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var env map[string]any
			if err := json.Unmarshal(sc.Bytes(), &env); err != nil {
				t.Fatal(err)
			}
			if env["detail"].(map[string]any)["eventName"] != "Keep" {
				t.Errorf("sent %v", env["detail"])
			}
			lines++
		}
	}
	if lines != 100 || len(bodies) != 1 {
		t.Errorf("%d lines in %d bodies, want 100 in 1", lines, len(bodies))
	}
	mu.Lock()
	fail = true
	mu.Unlock()
	if err := w.Send(context.Background(), evs[1:2]); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("err = %v, want the 500", err)
	}
}

func TestWebhookErrorHidesToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer srv.Close()
	for _, u := range []string{srv.URL + "/h?token=hush", "http://user:hush@127.0.0.1:1/h?token=hush"} {
		err := NewWebhook(WebhookOptions{URL: u, Secret: "k"}).Send(context.Background(), []*event.Event{mkEvent(t, 1, "A", 0)})
		if err == nil || strings.Contains(err.Error(), "hush") {
			t.Errorf("err = %v, want an error without the url's secrets", err)
		}
	}
}

func TestWebhookRedirectIsFailure(t *testing.T) {
	srv := httptest.NewServer(http.RedirectHandler("http://127.0.0.1:1/elsewhere", http.StatusFound))
	defer srv.Close()
	w := NewWebhook(WebhookOptions{URL: srv.URL, Secret: "k"})
	if err := w.Send(context.Background(), []*event.Event{mkEvent(t, 1, "A", 0)}); err == nil {
		t.Fatal("a redirect counted as delivered")
	}
}

func TestDestinationIDStable(t *testing.T) {
	a := DestinationID("111111111111", "https://h.example.com/x?token=secret")
	if a != DestinationID("111111111111", "https://h.example.com/x?token=secret") || strings.Contains(a, "secret") {
		t.Fatalf("id %q", a)
	}
	if a == DestinationID("222222222222", "https://h.example.com/x?token=secret") || a == DestinationID("111111111111", "https://h.example.com/y") {
		t.Fatal("ids collide")
	}
}
