package loggroup

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/trail"
)

func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestFileAppendsRotatesAndCutsPartialLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "trail.ndjson")
	now := time.Now()
	evs := []*event.Event{ev("111111111111", "us-east-1", now, 300), ev("111111111111", "us-east-1", now, 300)}
	f := NewFile(path, 1000, 2)
	defer f.Close()
	if err := f.Send(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if got := lines(t, path); len(got) != 2 || got[0] != string(evs[0].Record) {
		t.Fatalf("file holds %q", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	// Past 1000 bytes the file is rotated: trail.ndjson.1, then .2; a
	// third rotation drops the oldest.
	for range 4 {
		if err := f.Send(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{path + ".1", path + ".2"} {
		if got := lines(t, p); len(got) != 4 {
			t.Errorf("%s holds %d lines, want 4", p, len(got))
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("a third rotated file is kept: %v", err)
	}
	// A crash left a partial line: it is cut off before the next append.
	f.Close()
	af, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	af.WriteString(string(evs[0].Record) + "\n" + `{"partial":`)
	af.Close()
	f2 := NewFile(path, 1<<20, 2)
	defer f2.Close()
	if err := f2.Send(context.Background(), evs[:1]); err != nil {
		t.Fatal(err)
	}
	got := lines(t, path)
	for _, l := range got {
		if l != string(evs[0].Record) && l != string(evs[1].Record) {
			t.Fatalf("a line is not a whole record: %q", l)
		}
	}
}

func TestHTTPPostsNDJSON(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Content-Type") != "application/x-ndjson" || r.Method != http.MethodPost {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if status != http.StatusOK {
			http.Error(w, "down for maintenance", status)
			return
		}
		bodies = append(bodies, string(b))
	}))
	defer srv.Close()
	s := NewHTTP(srv.URL+"/ingest?token=secret", "arn:aws:logs:us-east-1:111111111111:log-group:g")
	var evs []*event.Event
	for range 501 {
		evs = append(evs, ev("111111111111", "us-east-1", time.Now(), 100))
	}
	if err := s.Send(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 2 || strings.Count(bodies[0], "\n") != 500 || bodies[1] != string(evs[500].Record)+"\n" {
		t.Fatalf("bodies: %d, first with %d lines", len(bodies), strings.Count(bodies[0], "\n"))
	}
	status = http.StatusInternalServerError
	err := s.Send(context.Background(), evs[:1])
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "down for maintenance") {
		t.Fatalf("Send to a failing endpoint = %v", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("the error shows the url's query: %v", err)
	}
}

// trailsOf is a Trails of fixed trails.
type trailsOf []*trail.Trail

func (t trailsOf) All(context.Context) ([]*trail.Trail, error) { return t, nil }

func TestSourceDestinations(t *testing.T) {
	group := "arn:aws:logs:us-east-1:111111111111:log-group:g"
	base := trail.Trail{ID: "id1", Account: "111111111111", HomeRegion: "us-east-1", Name: "t",
		ARN: "arn:aws:cloudtrail:us-east-1:111111111111:trail/t", CloudWatchLogsLogGroupArn: group + ":*",
		IsLogging: true, LoggingEpoch: 2, StartSeq: 10}
	logging := base
	stopped := base
	stopped.IsLogging, stopped.StopSeq = false, 20
	stoppedEmpty := base
	stoppedEmpty.IsLogging, stoppedEmpty.StopSeq = false, 10
	noGroup := base
	noGroup.CloudWatchLogsLogGroupArn = ""
	never := base
	never.IsLogging, never.LoggingEpoch, never.StartSeq = false, 0, 0
	r := NewResolver([]config.LogGroup{{ARN: group, Account: "111111111111", URL: "file://" + filepath.Join(t.TempDir(), "x.ndjson")}})
	src := NewSource(trailsOf{&logging, &stopped, &stoppedEmpty, &noGroup, &never}, trail.Scope{Regions: []string{"us-east-1"}, GlobalRegion: "us-east-1"}, r)
	ds, err := src.Destinations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		bound int64
		kind  string
	}{{0, KindFile}, {20, KindFile}, {-1, KindCloudWatchLogs}, {-1, KindCloudWatchLogs}, {-1, KindCloudWatchLogs}} {
		d := ds[i]
		if d.Bound != want.bound || d.Kind != want.kind || d.Epoch != []int64{2, 2, 2, 2, 0}[i] {
			t.Errorf("destination %d: bound %d kind %s epoch %d; want bound %d kind %s", i, d.Bound, d.Kind, d.Epoch, want.bound, want.kind)
		}
	}
	if ds[0].ID != "cwl/"+base.ARN+"#id1" || ds[0].Start != 10 || ds[0].Select == nil {
		t.Errorf("logging trail's destination: %+v", ds[0])
	}
	// A group not configured: a sink that says so.
	other := base
	other.CloudWatchLogsLogGroupArn = "arn:aws:logs:us-east-1:111111111111:log-group:gone"
	ds, _ = NewSource(trailsOf{&other}, trail.Scope{}, r).Destinations(context.Background())
	if err := ds[0].Sink.Send(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("sink of an unconfigured group: %v", err)
	}
}
