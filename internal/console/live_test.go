package console

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/server"
	"github.com/cairn-audit/cairn/internal/store/storetest"
	"github.com/cairn-audit/cairn/internal/tail"
)

// Stream notes the call and answers with one canned event.
func (f *fakeAPI) Stream(w http.ResponseWriter, who server.Caller, patterns []string) {
	if _, err := f.enter("Stream", who, patterns); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Write([]byte(": stream open\n\ndata: {\"eventName\":\"Live\"}\n\n"))
}

// Each lookup attribute that maps to a pattern selects in Live mode what
// it selects in LookupEvents.
func TestLivePattern(t *testing.T) {
	ev := storetest.Rec(t, "111111111111", "us-east-1", "DeleteBucket", time.Now(), map[string]any{
		"eventID": "6f0c2ba3-0f0e-4b1c-9a52-0d6f7b0b1c11", "readOnly": false,
		"resources": []any{map[string]any{"ARN": "arn:aws:s3:::logs", "type": "AWS::S3::Bucket"}}})
	for _, c := range []struct {
		attr, value string
		match       bool
	}{
		{"EventName", "DeleteBucket", true}, {"EventName", "Delete", false},
		{"EventSource", "s3.amazonaws.com", true}, {"EventSource", "iam.amazonaws.com", false},
		{"EventId", "6f0c2ba3-0f0e-4b1c-9a52-0d6f7b0b1c11", true},
		{"AccessKeyId", "AKIAALICE", true}, {"Username", "alice", true}, {"Username", "bob", false},
		{"ResourceType", "AWS::S3::Bucket", true}, {"ResourceType", "AWS::IAM::User", false},
		{"ReadOnly", "false", true}, {"ReadOnly", "true", false},
	} {
		p := livePattern(c.attr, c.value)
		f, err := tail.Pattern(p)
		if err != nil {
			t.Fatalf("%s=%s: pattern %s: %v", c.attr, c.value, p, err)
		}
		if ok, err := f(&tail.Entry{Event: ev}); err != nil || ok != c.match {
			t.Errorf("%s=%s (%s): %v %v, want %v", c.attr, c.value, p, ok, err, c.match)
		}
	}
	for _, c := range [][2]string{{"ResourceName", "logs"}, {"ReadOnly", "maybe"}} {
		if p := livePattern(c[0], c[1]); p != "" {
			t.Errorf("%s=%s maps to %s; it has no exact pattern", c[0], c[1], p)
		}
	}
}

var liveRE = regexp.MustCompile(`id="live" data-stream="([^"]*)" data-note="([^"]*)"`)

// The event history offers Live mode with the page's filter as a pattern
// where one maps, and says so where none does.
func TestConsoleLiveMode(t *testing.T) {
	e := newEnv(t)
	sc, _ := e.login(adminKey, adminSecret)
	for _, c := range []struct {
		query, pattern, note string
	}{
		{"region=us-east-1&readonly=show", "", "the time range does not apply"},
		{"region=us-east-1&attr=EventName&value=DeleteBucket&readonly=show", `{"detail":{"eventName":["DeleteBucket"]}}`, "where EventName is DeleteBucket"},
		{"region=us-east-1&attr=ResourceName&value=logs&readonly=show", "", "The ResourceName filter does not apply in Live mode"},
		// The read-only events the table hides (by default) are hidden in
		// Live mode too.
		{"region=us-east-1", `{"detail":{"readOnly":[false,{"exists":false}]}}`, "us-east-1, read-only events hidden, as they arrive"},
		{"region=us-east-1&attr=EventName&value=DeleteBucket", `{"detail":{"eventName":["DeleteBucket"],"readOnly":[false,{"exists":false}]}}`,
			"where EventName is DeleteBucket, read-only events hidden"},
		{"region=us-east-1&attr=ResourceName&value=logs", `{"detail":{"readOnly":[false,{"exists":false}]}}`, "read-only events hidden, as they arrive. The ResourceName filter does not apply"},
		{"region=us-east-1&attr=ReadOnly&value=true", `{"detail":{"readOnly":[true]}}`, "where ReadOnly is true, as they arrive"},
	} {
		w := e.get("/console/events?"+c.query, sc)
		m := liveRE.FindStringSubmatch(w.Body.String())
		if m == nil {
			t.Fatalf("%s: no Live mode on the page", c.query)
		}
		u, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil || u.Path != "/console/stream" || u.Query().Get("region") != "us-east-1" || u.Query().Get("pattern") != c.pattern {
			t.Errorf("%s: stream URL %s", c.query, m[1])
		}
		if note := html.UnescapeString(m[2]); !strings.Contains(note, c.note) {
			t.Errorf("%s: note %q, want %q", c.query, note, c.note)
		}
	}

	// The stream runs as the session's user in the asked region, through
	// the typed API.
	w := e.get("/console/stream?region=eu-west-1&pattern="+url.QueryEscape(`{"source":["aws.s3"]}`), sc)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `data: {"eventName":"Live"}`) {
		t.Fatalf("stream: %d %s", w.Code, w.Body)
	}
	got := e.api.last("Stream")
	var patterns []string
	json.Unmarshal(got.body, &patterns)
	if got.region != "eu-west-1" || got.principal != "alice" || len(patterns) != 1 || patterns[0] != `{"source":["aws.s3"]}` ||
		!strings.HasPrefix(got.userAgent, userAgentPrefix) {
		t.Fatalf("stream call: %+v %v", got, patterns)
	}
	// Not signed in: no stream.
	if w := e.get("/console/stream?region=us-east-1", nil); w.Code == 200 {
		t.Fatalf("stream without a session: %d", w.Code)
	}
}
