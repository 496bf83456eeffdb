package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/cairn-audit/cairn/internal/event"
)

// Client kinds of a lookup run.
const (
	// ClientSDK calls through aws-sdk-go-v2: what an SDK user sees,
	// including the SDK's own decoding of each page.
	ClientSDK = "sdk"
	// ClientHTTP signs and sends the same calls with net/http and only
	// scans the answer (see scanAnswer): the server's time, with as little
	// of the client's CPU as can be on a machine they share.
	ClientHTTP = "http"
)

// lookupCaller makes one LookupEvents call and returns how many events
// the page held. A caller is used by one goroutine at a time.
type lookupCaller func(ctx context.Context, in *cloudtrail.LookupEventsInput) (int, error)

func sdkCaller(c *cloudtrail.Client) lookupCaller {
	return func(ctx context.Context, in *cloudtrail.LookupEventsInput) (int, error) {
		out, err := c.LookupEvents(ctx, in)
		if err != nil {
			return 0, err
		}
		return len(out.Events), nil
	}
}

// httpLookups sends LookupEvents calls as AWS JSON 1.1 with net/http,
// SigV4-signed, and only scans the answers; its callers share one pool of
// connections.
type httpLookups struct {
	hc                  *http.Client
	url                 *url.URL
	key, secret, region string
}

func newHTTPLookups(endpoint, key, secret, region string, conns int, timeout time.Duration) (*httpLookups, error) {
	u, err := url.Parse(endpoint + "/")
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not an http or https URL", endpoint)
	}
	hc := &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConns: conns + 4, MaxIdleConnsPerHost: conns + 4}}
	return &httpLookups{hc: hc, url: u, key: key, secret: secret, region: region}, nil
}

// Header values the same in every request (net/http only reads them).
var (
	lookupContentTypeValue = []string{lookupContentType}
	lookupTargetValue      = []string{lookupTarget}
)

// caller makes a caller for one goroutine, with its own signer and a
// buffer for answers that it keeps from call to call.
func (h *httpLookups) caller() lookupCaller {
	signer := newLookupSigner(h.url, h.key, h.secret, h.region)
	var answer []byte
	return func(ctx context.Context, in *cloudtrail.LookupEventsInput) (int, error) {
		// The body and headers are new for each request: after a failed
		// call the transport may still be writing the last one.
		body := appendLookupBody(make([]byte, 0, 256), in)
		date, auth := signer.sign(body, time.Now())
		req := (&http.Request{
			Method: http.MethodPost, URL: h.url, Host: signer.host,
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": lookupContentTypeValue, "X-Amz-Target": lookupTargetValue,
				"X-Amz-Date": {date}, "Authorization": {auth}},
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		}).WithContext(ctx)
		resp, err := h.hc.Do(req)
		if err != nil {
			return 0, err
		}
		answer, err = readAnswer(answer[:0], resp)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, answer)
		}
		n, _, err := scanAnswer(answer)
		return n, err
	}
}

// maxPresize bounds the buffer readAnswer sizes from Content-Length.
const maxPresize = 64 << 20

// readAnswer appends resp's body to buf, sized once from Content-Length,
// and reads to the end so that the connection is reused.
func readAnswer(buf []byte, resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= maxPresize {
		buf = slices.Grow(buf, int(n)+512) // room for the read that sees EOF
	}
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, max(cap(buf), 4096))
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// appendLookupBody appends LookupEventsInput as the AWS JSON 1.1 wire has
// it (what json.Marshal makes of it, in another order of members).
func appendLookupBody(b []byte, in *cloudtrail.LookupEventsInput) []byte {
	b = append(b, '{')
	first := len(b)
	sep := func() {
		if len(b) > first {
			b = append(b, ',')
		}
	}
	if len(in.LookupAttributes) > 0 {
		b = append(b, `"LookupAttributes":[`...)
		for i, a := range in.LookupAttributes {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"AttributeKey":`...)
			b = event.AppendString(b, string(a.AttributeKey))
			b = append(b, `,"AttributeValue":`...)
			b = event.AppendString(b, aws.ToString(a.AttributeValue))
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if in.StartTime != nil {
		sep()
		b = append(b, `"StartTime":`...)
		b = strconv.AppendFloat(b, float64(in.StartTime.UnixMilli())/1000, 'f', -1, 64)
	}
	if in.EndTime != nil {
		sep()
		b = append(b, `"EndTime":`...)
		b = strconv.AppendFloat(b, float64(in.EndTime.UnixMilli())/1000, 'f', -1, 64)
	}
	if in.MaxResults != nil {
		sep()
		b = append(b, `"MaxResults":`...)
		b = strconv.AppendInt(b, int64(*in.MaxResults), 10)
	}
	if in.NextToken != nil {
		sep()
		b = append(b, `"NextToken":`...)
		b = event.AppendString(b, *in.NextToken)
	}
	if in.EventCategory != "" {
		sep()
		b = append(b, `"EventCategory":`...)
		b = event.AppendString(b, string(in.EventCategory))
	}
	return append(b, '}')
}
