package tail

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// ClientOptions say what a Follow client reads and where it writes.
type ClientOptions struct {
	// Endpoint is the server's base URL.
	Endpoint string
	// Region is the region whose events are streamed (the SigV4 region).
	Region string
	// AccessKeyID and SecretAccessKey sign the requests.
	AccessKeyID, SecretAccessKey string
	// Pattern is an EventBridge event pattern; empty streams every event.
	Pattern string
	// Out receives one record a line; Status the client's notices.
	Out, Status io.Writer
	// MaxBackoff caps the wait between reconnections; zero means 30s.
	MaxBackoff time.Duration
	// Client sends the requests; nil means a client without a timeout.
	Client *http.Client
}

// RefusedError is a stream the server refused for good (bad credentials,
// no permission, a bad pattern): reconnecting would not help.
type RefusedError struct {
	Status int
	Body   string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("the server refused the stream: HTTP %d: %s", e.Status, e.Body)
}

// Follow streams the events to o.Out until ctx ends (then it returns nil)
// or the server refuses the stream (a *RefusedError). A stream that drops,
// or a server that is down or busy (HTTP 429, 5xx), is retried with
// capped exponential backoff; each gap is reported on o.Status with its
// time range, since the events acknowledged while disconnected are not
// replayed (look them up with LookupEvents).
func Follow(ctx context.Context, o ClientOptions) error {
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	backoff := time.Second
	var lostAt time.Time
	for {
		opened, err := followOnce(ctx, o, lostAt)
		if ctx.Err() != nil {
			return nil
		}
		var refused *RefusedError
		if errors.As(err, &refused) {
			return err
		}
		if opened {
			backoff = time.Second
			lostAt = time.Now().UTC()
		} else if lostAt.IsZero() {
			lostAt = time.Now().UTC()
		}
		fmt.Fprintf(o.Status, "cairn tail: %v; reconnecting in %s (events acknowledged until then will not be shown)\n", err, backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, o.MaxBackoff)
	}
}

// followOnce opens one stream and copies its events until it ends. opened
// says whether the server opened it (the backoff starts over).
func followOnce(ctx context.Context, o ClientOptions, lostAt time.Time) (opened bool, err error) {
	req, err := o.request(ctx)
	if err != nil {
		return false, err
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		body := strings.TrimSpace(string(b))
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return false, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
		}
		return false, &RefusedError{Status: resp.StatusCode, Body: body}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 2<<20)
	w := bufio.NewWriter(o.Out)
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case string(line) == Opened:
			opened = true
			if lostAt.IsZero() {
				fmt.Fprintf(o.Status, "cairn tail: streaming the events of %s from now on (Ctrl-C ends)\n", o.Region)
			} else {
				fmt.Fprintf(o.Status, "cairn tail: reconnected; events from %s to %s may be missing (see them with aws cloudtrail lookup-events --start-time %s)\n",
					lostAt.Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339), lostAt.Format(time.RFC3339))
			}
		case len(line) > 6 && string(line[:6]) == "data: ":
			w.Write(line[6:])
			w.WriteByte('\n')
		case len(line) == 0:
			// The end of an event: show what arrived.
			if err := w.Flush(); err != nil {
				return opened, err
			}
		}
	}
	if err := w.Flush(); err != nil {
		return opened, err
	}
	if err := sc.Err(); err != nil {
		return opened, fmt.Errorf("stream lost: %w", err)
	}
	return opened, errors.New("the server ended the stream")
}

// request is the signed GET /v1/stream.
func (o ClientOptions) request(ctx context.Context) (*http.Request, error) {
	u := strings.TrimSuffix(o.Endpoint, "/") + "/v1/stream"
	if o.Pattern != "" {
		u += "?pattern=" + url.QueryEscape(o.Pattern)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(nil)
	hash := hex.EncodeToString(sum[:])
	// Declared (and signed), so that the server checks the signature
	// without waiting for a body.
	req.Header.Set("X-Amz-Content-Sha256", hash)
	req.Header.Set("Accept", "text/event-stream")
	err = v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: o.AccessKeyID, SecretAccessKey: o.SecretAccessKey},
		req, hash, "cloudtrail", o.Region, time.Now())
	return req, err
}
