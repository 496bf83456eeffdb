package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// DefaultMaxAttempts is how many times a batch is sent (throttled, 5xx or
// a network error) before it counts as failed: with the backoff, about a
// minute, which rides out a server's restart.
const DefaultMaxAttempts = 10

// Client posts batches to a Cairn server's POST /v1/events.
type Client struct {
	url    string
	region string
	creds  aws.Credentials
	hc     *http.Client
	signer *v4.Signer
	// MaxAttempts bounds the attempts of one batch (throttled, 5xx or a
	// network error); Backoff is the first wait, doubled each time up to
	// MaxBackoff, with jitter.
	MaxAttempts         int
	Backoff, MaxBackoff time.Duration
}

// NewClient returns a client of endpoint signing with the key pair (SigV4,
// service cloudtrail, region region), with conns connections.
func NewClient(endpoint, region, keyID, secret string, conns int) *Client {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns + 4,
		MaxIdleConnsPerHost: conns + 4,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	return &Client{
		url: strings.TrimRight(endpoint, "/") + "/v1/events", region: region,
		creds: aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
		hc:    &http.Client{Transport: tr, Timeout: 5 * time.Minute}, signer: v4.NewSigner(),
		MaxAttempts: DefaultMaxAttempts, Backoff: 200 * time.Millisecond, MaxBackoff: 30 * time.Second,
	}
}

// Answer is the server's answer to a batch (README "Send events").
type Answer struct {
	Accepted int      `json:"accepted"`
	EventIDs []string `json:"eventIDs"`
	// Duplicates is how many accepted records were stored already, when
	// the server says (nil when it does not).
	Duplicates *int      `json:"duplicates"`
	Failed     []Refusal `json:"failed"`
}

// Refusal is one record the server refused.
type Refusal struct {
	Index        int    `json:"index"`
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

// BatchError is a batch the server would not take as a whole: the records
// in it are not stored.
type BatchError struct {
	Status  int
	Code    string
	Message string
	// Retryable says that sending it again later may succeed (throttled,
	// a 5xx, a network error); the client did so MaxAttempts times.
	Retryable  bool
	retryAfter time.Duration
}

// authCodes are the error codes of a request whose key the server did not
// take (SigV4 and IAM codes: those Cairn answers, and those of AWS and of
// proxies in front of a server): sending more batches with the same key
// cannot pass.
var authCodes = map[string]bool{
	"InvalidSignatureException": true, "IncompleteSignatureException": true,
	"MissingAuthenticationTokenException": true, "MissingAuthenticationToken": true,
	"UnrecognizedClientException": true, "InvalidClientTokenId": true, "SignatureDoesNotMatch": true,
	"InvalidAccessKeyId": true, "AuthFailure": true, "ExpiredToken": true, "ExpiredTokenException": true,
	"RequestExpired": true, "AccessDeniedException": true, "AccessDenied": true, "NotAuthorized": true,
	"NotAuthorizedException": true, "UnauthorizedOperation": true,
}

// AuthFailure reports whether the server refused the batch for its key:
// the signature, the key or its permission (HTTP 401 or 403, or one of
// authCodes).
func (e *BatchError) AuthFailure() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || authCodes[e.Code]
}

// Unreachable reports whether no attempt of the batch had an answer (a
// network error every time, or a transport failure before sending).
func (e *BatchError) Unreachable() bool { return e.Status == 0 && e.Retryable }

func (e *BatchError) Error() string {
	if e.Status == 0 {
		return e.Message
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Send posts the body made of parts (size bytes, a {"Records":[…]} of n
// records, or gzip'd when gz says so, n then -1: unknown) until it is
// answered,
// retrying throttling, 5xx answers and network errors with backoff. A batch
// refused as a whole (bad credentials, access denied, too large) is not
// retried. retries counts the attempts that were retried.
func (c *Client) Send(ctx context.Context, parts net.Buffers, size, n int, gz bool) (ans Answer, retries int, err error) {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	hash := hex.EncodeToString(h.Sum(nil))
	wait := c.Backoff
	for attempt := 1; ; attempt++ {
		// Reading net.Buffers consumes its slice: each attempt reads a copy.
		body := &stoppableBody{parts: slices.Clone(parts)}
		ans, err = c.post(ctx, body, int64(size), hash, gz)
		body.stop()
		var be *BatchError
		if err == nil || !errors.As(err, &be) || !be.Retryable || attempt >= c.MaxAttempts || ctx.Err() != nil {
			if err == nil && n >= 0 && ans.Accepted+len(ans.Failed) != n {
				err = &BatchError{Message: fmt.Sprintf("the server answered for %d of %d records (accepted %d, failed %d)",
					ans.Accepted+len(ans.Failed), n, ans.Accepted, len(ans.Failed))}
			}
			return ans, retries, err
		}
		retries++
		d := wait/2 + rand.N(wait/2+1)
		if ra := be.retryAfter; ra > d {
			d = ra
		}
		select {
		case <-ctx.Done():
			return ans, retries, err
		case <-time.After(d):
		}
		wait = min(2*wait, c.MaxBackoff)
	}
}

// stoppableBody is a request body that stops being read once stop is
// called. net/http may still be writing a body after the answer has come
// (a server may answer before reading it all), and the bytes of a batch go
// back to a pool once answered: after stop no read touches them.
type stoppableBody struct {
	mu      sync.Mutex
	parts   net.Buffers
	stopped bool
}

func (b *stoppableBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return 0, errBodyStopped
	}
	return b.parts.Read(p)
}

// stop ends the reads; it returns once no read is in progress.
func (b *stoppableBody) stop() {
	b.mu.Lock()
	b.stopped = true
	b.parts = nil
	b.mu.Unlock()
}

// errBodyStopped is what a read of a body answered already gets.
var errBodyStopped = errors.New("the batch was answered already")

// post makes one attempt.
func (c *Client) post(ctx context.Context, body io.Reader, size int64, hash string, gz bool) (Answer, error) {
	// The request outlives ctx's cancellation: a batch in flight when the
	// import is stopped still hears its answer, so its files can be
	// checkpointed.
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, c.url, body)
	if err != nil {
		return Answer{}, &BatchError{Message: err.Error()}
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if err := c.signer.SignHTTP(ctx, c.creds, req, hash, "cloudtrail", c.region, time.Now()); err != nil {
		return Answer{}, &BatchError{Message: "signing: " + err.Error()}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return Answer{}, retryable(&BatchError{Message: "POST /v1/events: " + err.Error()})
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	resp.Body.Close()
	if err != nil {
		return Answer{}, retryable(&BatchError{Status: resp.StatusCode, Message: "reading the answer: " + err.Error()})
	}
	if resp.StatusCode != http.StatusOK {
		return Answer{}, answerError(resp, b)
	}
	var ans Answer
	if err := json.Unmarshal(b, &ans); err != nil {
		return Answer{}, &BatchError{Status: resp.StatusCode, Message: fmt.Sprintf("an answer that is not {\"accepted\":…}: %.200s", b)}
	}
	return ans, nil
}

// retryable marks a BatchError as worth retrying.
func retryable(e *BatchError) *BatchError {
	e.Retryable = true
	return e
}

// answerError reads an AWS error answer: throttling (429, or 400
// ThrottlingException) and 5xx are retryable.
func answerError(resp *http.Response, b []byte) *BatchError {
	var shape struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
		Msg     string `json:"Message"`
	}
	_ = json.Unmarshal(b, &shape)
	code := shape.Type
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	msg := shape.Message + shape.Msg
	if msg == "" {
		msg = strings.TrimSpace(string(b))
		if len(msg) > 300 {
			msg = msg[:300]
		}
	}
	e := &BatchError{Status: resp.StatusCode, Code: code, Message: msg}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || code == "ThrottlingException" {
		e.Retryable = true
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			e.retryAfter = time.Duration(s) * time.Second
		}
	}
	return e
}
