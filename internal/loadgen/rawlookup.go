package loadgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
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
// the page held.
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

// httpCaller sends LookupEvents as AWS JSON 1.1 with net/http, signed
// with the SDK's SigV4 signer.
func httpCaller(endpoint, key, secret, region string, conns int, timeout time.Duration) lookupCaller {
	hc := &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConns: conns + 4, MaxIdleConnsPerHost: conns + 4}}
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}
	url := endpoint + "/"
	return func(ctx context.Context, in *cloudtrail.LookupEventsInput) (int, error) {
		body, err := json.Marshal(lookupBody(in))
		if err != nil {
			return 0, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents")
		sum := sha256.Sum256(body)
		if err := signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "cloudtrail", region, time.Now()); err != nil {
			return 0, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		answer, err := io.ReadAll(resp.Body)
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

// lookupBody is LookupEventsInput as the AWS JSON 1.1 wire has it.
func lookupBody(in *cloudtrail.LookupEventsInput) map[string]any {
	b := map[string]any{}
	if len(in.LookupAttributes) > 0 {
		var attrs []map[string]string
		for _, a := range in.LookupAttributes {
			attrs = append(attrs, map[string]string{"AttributeKey": string(a.AttributeKey), "AttributeValue": aws.ToString(a.AttributeValue)})
		}
		b["LookupAttributes"] = attrs
	}
	if in.StartTime != nil {
		b["StartTime"] = float64(in.StartTime.UnixMilli()) / 1000
	}
	if in.EndTime != nil {
		b["EndTime"] = float64(in.EndTime.UnixMilli()) / 1000
	}
	if in.MaxResults != nil {
		b["MaxResults"] = *in.MaxResults
	}
	if in.NextToken != nil {
		b["NextToken"] = *in.NextToken
	}
	if in.EventCategory != "" {
		b["EventCategory"] = string(in.EventCategory)
	}
	return b
}
