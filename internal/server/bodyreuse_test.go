package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/history"
)

// TestKeptSize: once a body has outgrown its first buffer, each next
// buffer is a kept size (so that the last one can go back to the pools)
// and never more than twice the one it replaces; a body that fits its
// first buffer gets one of its own length.
func TestKeptSize(t *testing.T) {
	for _, tc := range []struct{ next, prev, want int64 }{
		{100, 0, 100},                               // a small body: its own length
		{firstBodyBuffer, 0, firstBodyBuffer},       // the first buffer
		{100 << 10, firstBodyBuffer, 128 << 10},     // the last buffer, rounded up to a kept size
		{128 << 10, firstBodyBuffer, 128 << 10},     // a doubling
		{1300 << 10, 1 << 20, 2 << 20},              // an import batch of 1.3 MB
		{8 << 20, 4 << 20, 8 << 20},                 // the largest kept size
		{(8 << 20) + 1, 8 << 20, (8 << 20) + 1},     // beyond every kept size
		{(3 << 20) + 1, 1 << 20, (3 << 20) + 1},     // a kept size would be more than twice prev
		{200 << 10, firstBodyBuffer - 1, 200 << 10}, // not grown out of a first buffer
	} {
		if got := keptSize(tc.next, tc.prev); got != tc.want {
			t.Errorf("keptSize(%d, %d) = %d, want %d", tc.next, tc.prev, got, tc.want)
		}
	}
	// A body read after authentication ends in a kept-size buffer, holding
	// exactly the body.
	data := bytes.Repeat([]byte("y"), 1300<<10)
	got, err := readGrowing(bytes.NewReader(data), int64(len(data)), 8<<20, nil, &bodyBuffers{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if cap(got) != 2<<20 {
		t.Errorf("last buffer of a 1.3 MB body has capacity %d, want %d", cap(got), 2<<20)
	}
}

// TestIngestBodyBuffersReused: the buffer of an ingest body goes back to
// the pools after its answer and carries the next batches; the events of
// every batch are stored as sent, and a batch sent again after others
// is recognized as stored with the same content.
func TestIngestBodyBuffersReused(t *testing.T) {
	e := newLimitsEnv(t, Options{})
	const n = 800 // about 1.3 MB a batch: read into a 2 MiB kept buffer
	bodies := map[string][]byte{}
	for _, name := range []string{"ReuseA", "ReuseB", "ReuseC"} {
		bodies[name] = reuseBatch(name, n, e.clock.Now())
		if ans := e.postDeclared(t, bodies[name]); ans.Accepted != n || ans.Duplicates != 0 {
			t.Fatalf("%s: accepted %d, duplicates %d; want %d, 0", name, ans.Accepted, ans.Duplicates, n)
		}
	}
	// Sent again after the others: every record is found stored with the
	// same content.
	if ans := e.postDeclared(t, bodies["ReuseA"]); ans.Accepted != n || ans.Duplicates != n {
		t.Fatalf("ReuseA again: accepted %d, duplicates %d; want %d, %d", ans.Accepted, ans.Duplicates, n, n)
	}
	for _, name := range []string{"ReuseA", "ReuseB", "ReuseC"} {
		key, value, max := "EventName", name, 50
		out, err := e.srv.opts.History.Lookup(context.Background(), "111111111111", "us-east-1",
			history.Input{LookupAttributes: []history.LookupAttribute{{AttributeKey: &key, AttributeValue: &value}}, MaxResults: &max})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Events) != max {
			t.Fatalf("%s: %d events, want %d", name, len(out.Events), max)
		}
		for _, ev := range out.Events {
			var rec struct {
				EventName         string
				RequestParameters struct{ Note string }
			}
			if err := json.Unmarshal([]byte(ev.CloudTrailEvent), &rec); err != nil {
				t.Fatalf("%s: stored record %.200s: %v", name, ev.CloudTrailEvent, err)
			}
			if rec.EventName != name || rec.RequestParameters.Note != reuseNote(name) {
				t.Fatalf("%s: stored record %.300s is not the one sent", name, ev.CloudTrailEvent)
			}
		}
	}
}

// reuseBatch is a batch of n records of about 1.6 KB named name, whose
// content (eventIDs, a note) is its own.
func reuseBatch(name string, n int, at time.Time) []byte {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","accountId":"111111111111","userName":"alice"},`+
			`"eventTime":%q,"eventSource":"ec2.amazonaws.com","eventName":%q,"awsRegion":"us-east-1",`+
			`"requestParameters":{"note":%q},"eventID":"%s-%06d","recipientAccountId":"111111111111"}`,
			at.UTC().Format(time.RFC3339), name, reuseNote(name), strings.ToLower(name), i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// reuseNote is a batch's ~1.4 KB note: a record read through another
// batch's bytes would show another.
func reuseNote(name string) string { return strings.Repeat(name+"-", 1400/(len(name)+1)) }

// postDeclared posts an ingest batch signed with its payload hash in
// X-Amz-Content-Sha256 (as `cairn import` and the SDKs send it: the body
// is read after the signature is checked) and decodes the answer.
func (e *limitsEnv) postDeclared(t *testing.T, body []byte) (ans struct{ Accepted, Duplicates int }) {
	t.Helper()
	code, b := e.postEncoded(t, body, "")
	if code != http.StatusOK {
		t.Fatalf("HTTP %d: %.300s", code, b)
	}
	if err := json.Unmarshal(b, &ans); err != nil {
		t.Fatalf("answer %.300s: %v", b, err)
	}
	return ans
}
