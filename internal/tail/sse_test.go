package tail

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store/sqlite/sqlitetest"
)

// A stream outlives the server's read and write timeouts: it lifts the
// read deadline and moves the write deadline with every write.
func TestStreamOutlivesServerTimeouts(t *testing.T) {
	st := sqlitetest.Open(t)
	h := New(st, Options{PollInterval: 5 * time.Millisecond})
	runHub(t, h)
	const timeout = 100 * time.Millisecond
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := h.Subscribe(r.Context(), "k", all)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer s.Close()
		Stream(r.Context(), w, s, StreamOptions{Heartbeat: 10 * time.Millisecond, WriteWindow: time.Minute})
	}))
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = timeout, timeout
	srv.Start()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	opened := time.Now()
	sent := false
	for sc.Scan() {
		line := sc.Text()
		if !sent && line == ": keep-alive" && time.Since(opened) > 5*timeout {
			// Well past both timeouts: an event still arrives.
			appendNames(t, st, "Late")
			sent = true
		}
		if strings.HasPrefix(line, "data: ") {
			if !sent || !strings.Contains(line, `"eventName":"Late"`) {
				t.Fatalf("unexpected event %s", line)
			}
			return
		}
	}
	t.Fatalf("the stream ended (sent=%v): %v", sent, sc.Err())
}

func TestAppendEvent(t *testing.T) {
	var buf bytes.Buffer
	appendEvent(&buf, []byte(`{"a":1}`))
	appendEvent(&buf, []byte("{\"b\":\n2}\r\n"))
	want := "data: {\"a\":1}\n\ndata: {\"b\":\ndata: 2}\n\n"
	if buf.String() != want {
		t.Fatalf("got %q\nwant %q", buf.String(), want)
	}
}

// countingWriter counts writes and the largest one.
type countingWriter struct {
	writes, largest int
	bytes.Buffer
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	c.largest = max(c.largest, len(p))
	return c.Buffer.Write(p)
}

// Many events of one step are written in pieces of about writePiece
// bytes, not gathered into one buffer of them all.
func TestEventsWrittenInPieces(t *testing.T) {
	rec := httptest.NewRecorder()
	cw := &countingWriter{}
	sw := &sseWriter{w: cw, rc: http.NewResponseController(rec), window: time.Minute}
	record := []byte(`{"eventName":"` + strings.Repeat("x", 10<<10) + `"}`)
	var evs []*Entry
	for range 100 { // about 1 MiB
		evs = append(evs, &Entry{Event: &event.Event{Record: record}})
	}
	var buf bytes.Buffer
	if err := sw.events(&buf, evs); err != nil {
		t.Fatal(err)
	}
	if cw.writes < 4 || cw.largest > writePiece+len(record)+64 {
		t.Fatalf("%d writes, largest %d bytes: want pieces of about %d", cw.writes, cw.largest, writePiece)
	}
	if n := strings.Count(cw.String(), "data: "); n != len(evs) {
		t.Fatalf("%d events written, want %d", n, len(evs))
	}
}
