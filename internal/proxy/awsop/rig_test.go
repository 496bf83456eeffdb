package awsop

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cairn-audit/cairn/internal/event"
)

// canned is the response the capturing server gives.
type canned struct {
	status int
	header map[string]string
	body   string
}

// rig is an httptest server that records every request the SDK clients
// send it as a Call (with the canned response), the way the proxy will.
// Its clients dial the server whatever host they address, so that
// virtual-hosted S3 requests keep their Host.
type rig struct {
	srv  *httptest.Server
	mu   sync.Mutex
	next canned
	got  []*Call

	s3Path, s3Virtual *s3.Client
	iam               *iam.Client
	sts               *sts.Client
	ddb               *dynamodb.Client
	sqs               *sqs.Client
	sns               *sns.Client
	lambda            *lambda.Client
}

var scopeRE = regexp.MustCompile(`Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request`)

func newRig(t *testing.T) *rig {
	rg := &rig{}
	rg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rg.mu.Lock()
		resp := rg.next
		rg.mu.Unlock()
		if resp.status == 0 {
			resp.status = 200
		}
		c := &Call{
			Method: r.Method, Host: r.Host, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
			Header: r.Header.Clone(), Body: body,
			Status: resp.status, RespHeader: http.Header{}, RespBody: []byte(resp.body),
		}
		if m := scopeRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
			c.Region, c.Service = m[1], m[2]
		}
		for k, v := range resp.header {
			c.RespHeader.Set(k, v)
			w.Header().Set(k, v)
		}
		rg.mu.Lock()
		rg.got = append(rg.got, c)
		rg.mu.Unlock()
		w.WriteHeader(resp.status)
		if r.Method != http.MethodHead {
			io.WriteString(w, resp.body)
		}
	}))
	t.Cleanup(rg.srv.Close)
	addr := rg.srv.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}}}
	t.Cleanup(hc.CloseIdleConnections)
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		HTTPClient:       hc,
		RetryMaxAttempts: 1,
	}
	local := "http://localhost:" + port
	rg.s3Path = s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(local); o.UsePathStyle = true })
	rg.s3Virtual = s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String("http://s3.cairn.test:" + port) })
	rg.iam = iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(local) })
	rg.sts = sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(local) })
	rg.ddb = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(local) })
	rg.sqs = sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(local) })
	rg.sns = sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(local) })
	rg.lambda = lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(local) })
	return rg
}

// capture runs one SDK call against the canned response and returns the
// request it sent as a Call.
func (rg *rig) capture(t *testing.T, resp canned, call func(context.Context, *rig) error) *Call {
	t.Helper()
	rg.mu.Lock()
	rg.next = resp
	n := len(rg.got)
	rg.mu.Unlock()
	_ = call(context.Background(), rg) // errors are part of some exchanges
	rg.mu.Lock()
	defer rg.mu.Unlock()
	if len(rg.got) != n+1 {
		t.Fatalf("captured %d requests, want 1", len(rg.got)-n)
	}
	return rg.got[n]
}

// want is what a test expects of Resolve. Params and Resp are compared as
// JSON; ParamKeys, if set, is the exact set of top-level parameter keys.
type want struct {
	Service, Source, Name string
	ReadOnly, Global      bool
	Category              string
	Resources             []event.Resource
	ParamKeys             []string
	Params                map[string]any // each key's value must match
	Resp                  any            // exact; nil means ResponseElements must be nil
	ErrCode, ErrMsg       string
	RequestID             string
	APIVersion            string
	Hidden                []string // dotted paths in params or "resp." paths in responses that must be hidden
}

func checkOp(t *testing.T, c *Call, got Operation, w want) {
	t.Helper()
	if got.Service != w.Service || got.EventSource != w.Source || got.Name != w.Name {
		t.Errorf("service/source/name = %q %q %q, want %q %q %q\ncall: %s %s %s?%s", got.Service, got.EventSource, got.Name,
			w.Service, w.Source, w.Name, c.Method, c.Host, c.Path, c.RawQuery)
	}
	if got.ReadOnly != w.ReadOnly {
		t.Errorf("ReadOnly = %v, want %v", got.ReadOnly, w.ReadOnly)
	}
	cat := w.Category
	if cat == "" {
		cat = "Management"
	}
	if got.Category != cat {
		t.Errorf("Category = %q, want %q", got.Category, cat)
	}
	if got.Global != w.Global {
		t.Errorf("Global = %v, want %v", got.Global, w.Global)
	}
	if !reflect.DeepEqual(got.Resources, w.Resources) {
		t.Errorf("Resources = %+v, want %+v", got.Resources, w.Resources)
	}
	if w.ParamKeys != nil {
		var keys []string
		for k := range got.RequestParameters {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		wk := slices.Clone(w.ParamKeys)
		slices.Sort(wk)
		if !slices.Equal(keys, wk) {
			t.Errorf("parameter keys = %q, want %q", keys, wk)
		}
	}
	for k, v := range w.Params {
		if js(got.RequestParameters[k]) != js(v) {
			t.Errorf("requestParameters[%q] = %s, want %s", k, js(got.RequestParameters[k]), js(v))
		}
	}
	if js(got.ResponseElements) != js(w.Resp) {
		t.Errorf("responseElements = %s\nwant %s", js(got.ResponseElements), js(w.Resp))
	}
	if got.ErrorCode != w.ErrCode || got.ErrorMessage != w.ErrMsg {
		t.Errorf("error = %q %q, want %q %q", got.ErrorCode, got.ErrorMessage, w.ErrCode, w.ErrMsg)
	}
	if got.RequestID != w.RequestID {
		t.Errorf("RequestID = %q, want %q", got.RequestID, w.RequestID)
	}
	if got.APIVersion != w.APIVersion {
		t.Errorf("APIVersion = %q, want %q", got.APIVersion, w.APIVersion)
	}
	for _, p := range w.Hidden {
		var v any = got.RequestParameters
		if rest, ok := strings.CutPrefix(p, "resp."); ok {
			v, p = got.ResponseElements, rest
		}
		for _, k := range strings.Split(p, ".") {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		if v != Hidden {
			t.Errorf("%s = %v, want hidden", p, v)
		}
	}
	// What the proxy will do with it: marshal into a record.
	if _, err := json.Marshal(got.RequestParameters); err != nil {
		t.Errorf("requestParameters do not marshal: %v", err)
	}
	if _, err := json.Marshal(got.ResponseElements); err != nil {
		t.Errorf("responseElements do not marshal: %v", err)
	}
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "!" + err.Error()
	}
	return string(b)
}

// obj is shorthand for JSON objects in expectations.
type obj = map[string]any
