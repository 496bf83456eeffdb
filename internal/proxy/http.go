package proxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/proxy/sensitive"
)

// HTTPConfig describes a plain HTTP API that speaks no AWS protocol: which
// routes are which operations, what the event source is called, and how to
// find the caller.
type HTTPConfig struct {
	// EventSource names the service in events, e.g. orders.example.internal.
	EventSource string `yaml:"event_source"`
	// Identity says where the caller's name is.
	Identity Identity `yaml:"identity"`
	// Routes map method and path templates to operations.
	Routes []Route `yaml:"routes"`
}

// Identity finds the caller of a plain HTTP call.
type Identity struct {
	// Header is a request header holding the caller's name.
	Header string `yaml:"header"`
	// JWTClaim is a claim of the bearer token (Authorization: Bearer) that
	// names the caller, usually "sub". The token is not verified: the
	// upstream does that; the proxy only records who it said it was.
	JWTClaim string `yaml:"jwt_claim"`
}

// Route maps one method and path template ("/v1/orders/{id}", "{rest+}"
// for the rest of the path) to an operation.
type Route struct {
	Method    string `yaml:"method"`
	Path      string `yaml:"path"`
	Operation string `yaml:"operation"`
	// ReadOnly overrides the default (GET, HEAD and OPTIONS are read-only).
	ReadOnly *bool `yaml:"read_only"`
	// ResourceType types the resources named by the path's parameters
	// (each parameter a resource, its value the ARN; a parameter with a
	// sensitive name, such as {token}, is hidden in requestParameters and
	// is no resource).
	ResourceType string `yaml:"resource_type"`

	re     *regexp.Regexp
	params []string
}

// proxyFile is the proxy's config file.
type proxyFile struct {
	HTTP *HTTPConfig `yaml:"http"`
}

// LoadConfig reads the proxy's config file; errors name the file and line.
func LoadConfig(path string) (*HTTPConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f proxyFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.HTTP == nil {
		return nil, nil
	}
	if err := f.HTTP.compile(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f.HTTP, nil
}

var paramRE = regexp.MustCompile(`^\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}$`)

func (c *HTTPConfig) compile() error {
	if c.EventSource == "" {
		return fmt.Errorf("http.event_source is required")
	}
	if h := c.Identity.Header; h != "" && sensitive.Name(h) {
		return fmt.Errorf("http.identity.header %q is a secret's name (see the proxy's sensitive names); its value would be recorded as the caller's name", h)
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		if r.Operation == "" || !strings.HasPrefix(r.Path, "/") {
			return fmt.Errorf("http.routes[%d]: method, a path starting with / and an operation are required", i)
		}
		r.Method = strings.ToUpper(r.Method)
		var pat strings.Builder
		pat.WriteString("^")
		for _, seg := range strings.Split(strings.TrimPrefix(r.Path, "/"), "/") {
			pat.WriteString("/")
			if m := paramRE.FindStringSubmatch(seg); m != nil {
				r.params = append(r.params, m[1])
				if m[2] == "+" {
					pat.WriteString("(.+)")
				} else {
					pat.WriteString("([^/]+)")
				}
				continue
			}
			pat.WriteString(regexp.QuoteMeta(seg))
		}
		pat.WriteString("$")
		r.re = regexp.MustCompile(pat.String())
	}
	return nil
}

// match finds the route of a request.
func (c *HTTPConfig) match(r *http.Request) (*Route, map[string]string, bool) {
	if c == nil {
		return nil, nil, false
	}
	for i := range c.Routes {
		rt := &c.Routes[i]
		if rt.Method != "" && rt.Method != r.Method {
			continue
		}
		m := rt.re.FindStringSubmatch(r.URL.Path)
		if m == nil {
			continue
		}
		params := map[string]string{}
		for j, name := range rt.params {
			params[name] = m[j+1]
		}
		return rt, params, true
	}
	return nil, nil, false
}

// httpEvent fills the record of a plain HTTP call. Values of sensitive
// names (package sensitive, the same list as the AWS mode's) are hidden in
// path, query and JSON body parameters and in response elements.
func (p *Proxy) httpEvent(rec *record, x *exchange, rt *Route, params map[string]string) {
	c := p.o.HTTP
	r := x.req
	rec.EventSource = c.EventSource
	rec.EventName = rt.Operation
	rec.AWSRegion = p.o.Region
	rec.EventCategory = event.CategoryManagement
	rec.ManagementEvent = true
	rec.ReadOnly = r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions
	if rt.ReadOnly != nil {
		rec.ReadOnly = *rt.ReadOnly
	}
	id := event.UnknownIdentity("")
	if who := c.caller(r); who != "" {
		id["principalId"] = who
		id["userName"] = who
	}
	rec.UserIdentity = id
	reqParams := map[string]any{}
	for k, v := range params {
		reqParams[k] = v
	}
	for k, vs := range r.URL.Query() {
		if len(vs) == 1 {
			reqParams[k] = vs[0]
		} else {
			reqParams[k] = vs
		}
	}
	var body map[string]any
	if b := x.reqBody.bytes(); !x.reqBody.truncated && json.Unmarshal(b, &body) == nil {
		for k, v := range body {
			reqParams[k] = v
		}
	}
	if len(reqParams) > 0 {
		rec.RequestParameters = sensitive.Hide(reqParams)
	}
	for _, name := range rt.params {
		// A path parameter with a secret's name ({token}, {api_key}) is no
		// resource: its value would be the ARN.
		if sensitive.Name(name) {
			continue
		}
		rec.Resources = append(rec.Resources, event.Resource{ARN: params[name], Type: rt.ResourceType})
	}
	if x.status >= 400 {
		code, message := http.StatusText(x.status), ""
		if code == "" {
			code = fmt.Sprintf("HTTP%d", x.status)
		}
		var e struct {
			Code, Message, Error string
		}
		if x.resp != nil && json.Unmarshal(x.resp.bytes(), &e) == nil {
			if e.Code != "" {
				code = e.Code
			}
			message = e.Message + e.Error
		}
		// The service's code and message are clipped as a record holds
		// them: an upstream's long code must not make the record refused.
		rec.Fail(code, message)
	} else if !rec.ReadOnly && x.resp != nil && !x.resp.truncated {
		var resp any
		if json.Unmarshal(x.resp.bytes(), &resp) == nil {
			rec.ResponseElements = sensitive.Hide(resp)
		}
	}
	rec.RequestID = firstHeader(x.header, "X-Request-Id", "X-Amzn-RequestId", "X-Correlation-Id")
}

// caller names the caller of a plain HTTP call.
func (c *HTTPConfig) caller(r *http.Request) string {
	if c.Identity.Header != "" {
		if v := r.Header.Get(c.Identity.Header); v != "" {
			return v
		}
	}
	if c.Identity.JWTClaim != "" {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		parts := strings.Split(strings.TrimSpace(tok), ".")
		if ok && len(parts) == 3 {
			payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
			var claims map[string]any
			if err == nil && json.Unmarshal(payload, &claims) == nil {
				if v, ok := claims[c.Identity.JWTClaim].(string); ok {
					return v
				}
			}
		}
	}
	return ""
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}
