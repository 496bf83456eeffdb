package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// Defaults of StreamOptions left zero.
const (
	DefaultHeartbeat   = 15 * time.Second
	DefaultWriteWindow = time.Minute
)

// StreamOptions tune how a subscription is written as Server-Sent Events.
type StreamOptions struct {
	// Heartbeat is how long the stream may stay silent: then a comment
	// line (": keep-alive") keeps proxies and clients from closing it.
	Heartbeat time.Duration
	// WriteWindow is how long one write may take: a client that reads
	// nothing for that long is cut off (its place is given back).
	WriteWindow time.Duration
}

// Opened is the comment that starts every stream: the subscription is in
// place, so every event acknowledged from now on that matches will follow.
const Opened = ": stream open"

// Stream writes the subscription's events to w as Server-Sent Events until
// ctx ends, the client goes away or the hub closes (then it ends the
// stream cleanly and returns nil). Each event is
//
//	data: <the CloudTrail record, one line of JSON>
//
// followed by a blank line. Events carry no id: a log position would tell
// a tenant how many events everyone else sends, and a stream does not
// resume (a client that reconnects starts at the log's end again). The server's read and write timeouts would
// cut a long stream: Stream lifts the read deadline (the request has no
// body) and moves the write deadline before every write instead.
func Stream(ctx context.Context, w http.ResponseWriter, s *Subscription, o StreamOptions) error {
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.WriteWindow <= 0 {
		o.WriteWindow = DefaultWriteWindow
	}
	rc := http.NewResponseController(w)
	// Best effort: a writer without deadlines (a test recorder) streams
	// all the same.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	sw := &sseWriter{w: w, rc: rc, window: o.WriteWindow}
	if err := sw.comment(Opened[2:]); err != nil {
		return err
	}
	var buf bytes.Buffer
	for {
		evs, err := s.Next(ctx, o.Heartbeat)
		switch {
		case errors.Is(err, ErrClosed):
			_ = sw.comment("server shutting down")
			return nil
		case ctx.Err() != nil:
			return nil
		case err != nil:
			_ = sw.comment("stream ended: server error")
			return err
		case len(evs) == 0:
			if err := sw.comment("keep-alive"); err != nil {
				return err
			}
			continue
		}
		if err := sw.events(&buf, evs); err != nil {
			return err
		}
	}
}

// writePiece is how many bytes of events are gathered before a write: the
// buffer a stream holds stays near it, however many events one step gives.
const writePiece = 256 << 10

// events writes evs in pieces of about writePiece bytes.
func (sw *sseWriter) events(buf *bytes.Buffer, evs []*Entry) error {
	buf.Reset()
	for i, ev := range evs {
		appendEvent(buf, ev.Record)
		if buf.Len() >= writePiece || i == len(evs)-1 {
			if err := sw.write(buf.Bytes()); err != nil {
				return err
			}
			buf.Reset()
		}
	}
	if buf.Cap() > 2*writePiece+event.MaxRecordBytes {
		*buf = bytes.Buffer{} // a large record grew it: let it go
	}
	return nil
}

// appendEvent writes one event: its record as data lines (a record is
// one line of JSON; a line break in it would start another data line,
// which SSE joins back with "\n").
func appendEvent(buf *bytes.Buffer, record []byte) {
	for line := range bytes.Lines(record) {
		line = bytes.TrimRight(line, "\r\n")
		buf.WriteString("data: ")
		buf.Write(line)
		buf.WriteByte('\n')
	}
	buf.WriteByte('\n')
}

// sseWriter writes and flushes, each write within its window.
type sseWriter struct {
	w      io.Writer
	rc     *http.ResponseController
	window time.Duration
}

func (sw *sseWriter) comment(text string) error {
	return sw.write([]byte(": " + text + "\n\n"))
}

func (sw *sseWriter) write(b []byte) error {
	_ = sw.rc.SetWriteDeadline(time.Now().Add(sw.window))
	if _, err := sw.w.Write(b); err != nil {
		return fmt.Errorf("tail: writing the stream: %w", err)
	}
	if err := sw.rc.Flush(); err != nil {
		return fmt.Errorf("tail: writing the stream: %w", err)
	}
	return nil
}
