package eventbus

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/eventpattern"
	"github.com/cairn-audit/cairn/internal/stream"
)

// Webhook request settings.
const (
	// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>".
	SignatureHeader = "X-Cairn-Signature"
	// CountHeader says how many envelopes (lines) the body holds.
	CountHeader = "X-Cairn-Event-Count"
	// ContentType of every webhook body: NDJSON, one envelope a line.
	ContentType = "application/x-ndjson"
	// webhookMaxEvents and webhookMaxBytes bound one request (a record is
	// at most 256 KB, so one envelope always fits).
	webhookMaxEvents = 100
	webhookMaxBytes  = 1 << 20
	webhookTimeout   = 10 * time.Second
)

// WebhookOptions configure NewWebhook.
type WebhookOptions struct {
	// URL receives the POSTs.
	URL string
	// Secret keys the HMAC-SHA256 signature of each body.
	Secret string
	// SourcePrefix replaces "aws." in source ("" keeps it).
	SourcePrefix string
	// Pattern, when set, sends only the envelopes it matches.
	Pattern *eventpattern.Pattern
	// Client makes the requests; nil means one with a 10 s timeout that
	// follows no redirects.
	Client *http.Client
}

// Webhook POSTs envelopes to an http(s) URL: NDJSON bodies of up to 100
// envelopes (1 MiB), Content-Type application/x-ndjson, X-Cairn-Event-Count
// the number of lines and X-Cairn-Signature "sha256=" and the hex
// HMAC-SHA256 of the body keyed with the secret. Any answer but 2xx, and a
// timeout, fail the Send (the engine retries it with backoff).
type Webhook struct {
	opts   WebhookOptions
	client *http.Client
}

// NewWebhook makes a webhook sink.
func NewWebhook(o WebhookOptions) *Webhook {
	c := o.Client
	if c == nil {
		c = &http.Client{
			Timeout: webhookTimeout,
			Transport: &http.Transport{
				Proxy:                 http.ProxyFromEnvironment,
				DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
				ResponseHeaderTimeout: webhookTimeout,
				MaxIdleConnsPerHost:   4,
			},
			// A redirect is an answer other than 2xx: the body and its
			// signature go only to the configured URL.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Webhook{opts: o, client: c}
}

// Sign returns the X-Cairn-Signature value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Send posts the envelopes of evs that the pattern matches, in order.
func (w *Webhook) Send(ctx context.Context, evs []*event.Event) error {
	var body []byte
	var drops stream.Drops
	n := 0
	for _, ev := range evs {
		env, ok, err := envelope(ev, w.opts.SourcePrefix, w.opts.Pattern)
		if err != nil {
			drops.Add(1, "not a readable record")
			continue
		}
		if !ok {
			continue
		}
		line := env.Marshal()
		if n > 0 && (n == webhookMaxEvents || len(body)+len(line)+1 > webhookMaxBytes) {
			if err := w.post(ctx, body, n); err != nil {
				return err
			}
			body, n = body[:0], 0
		}
		body = append(append(body, line...), '\n')
		n++
	}
	if n > 0 {
		if err := w.post(ctx, body, n); err != nil {
			return err
		}
	}
	return drops.Err("not sent")
}

// post sends one body.
func (w *Webhook) post(ctx context.Context, body []byte, n int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.opts.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set(CountHeader, strconv.Itoa(n))
	req.Header.Set(SignatureHeader, Sign(w.opts.Secret, body))
	req.Header.Set("User-Agent", "cairn-webhook")
	resp, err := w.client.Do(req)
	if err != nil {
		// The url's query may hold a token: errors (kept in the status and
		// logs) name the endpoint without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook POST %s: %w", redact(w.opts.URL), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook POST %s answered %s", redact(w.opts.URL), resp.Status)
	}
	return nil
}

// redact is a url without its user information, query and fragment.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid url)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
