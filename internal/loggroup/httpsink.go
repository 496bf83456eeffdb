package loggroup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// Limits of one POST to an http(s) destination.
const (
	maxPostBytes   = 1 << 20
	maxPostRecords = 500
	postTimeout    = 15 * time.Second
)

// HTTP posts records to an http(s) endpoint as NDJSON (Content-Type
// application/x-ndjson, one record a line), in bodies of at most 1 MiB or
// 500 records. A 2xx answer accepts a body; anything else (a redirect too)
// is a failure, retried by the engine with the whole batch.
type HTTP struct {
	url    string
	group  string
	client *http.Client
}

// NewHTTP makes the sink posting the records of log group group to url.
func NewHTTP(url, group string) *HTTP {
	return &HTTP{url: url, group: group, client: &http.Client{Timeout: postTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Send posts evs in order.
func (s *HTTP) Send(ctx context.Context, evs []*event.Event) error {
	var b bytes.Buffer
	n := 0
	for i, ev := range evs {
		b.Write(ev.Record)
		b.WriteByte('\n')
		n++
		if last := i == len(evs)-1; last || n == maxPostRecords || b.Len()+len(evs[i+1].Record)+1 > maxPostBytes {
			if err := s.post(ctx, b.Bytes()); err != nil {
				return err
			}
			b.Reset()
			n = 0
		}
	}
	return nil
}

func (s *HTTP) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("User-Agent", "cairn")
	req.Header.Set("X-Cairn-Log-Group", s.group)
	resp, err := s.client.Do(req)
	if err != nil {
		// The client's error quotes the whole url, query (a token) and
		// user name included: the status shows it to the trail's owner
		// and the log to its readers, so keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("POST %s: %w", redact(s.url), err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", redact(s.url), resp.Status, strings.TrimSpace(string(snippet)))
	}
	return nil
}

// redact leaves a URL's credentials and query out of error messages (they
// may carry a token).
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid url)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
