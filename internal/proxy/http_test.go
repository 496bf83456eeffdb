package proxy

// Plain HTTP APIs: the proxy config file maps routes to operations, names
// the event source and says where the caller is (a header or a claim of a
// bearer JWT); path parameters become request parameters and resources;
// secrets are hidden.

import (
	"encoding/base64"
	"encoding/json"
	"github.com/cairn-audit/cairn/internal/event"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ordersConfig is the example of the README's "Record your own HTTP API".
const ordersConfig = `
http:
  event_source: orders.example.internal
  identity:
    header: X-User
    jwt_claim: sub
  routes:
    - {method: POST, path: /v1/orders, operation: CreateOrder}
    - {method: GET, path: /v1/orders, operation: ListOrders}
    - {method: GET, path: "/v1/orders/{id}", operation: GetOrder, resource_type: "Example::Orders::Order"}
    - {method: DELETE, path: "/v1/orders/{id}", operation: CancelOrder, resource_type: "Example::Orders::Order"}
    - {method: POST, path: "/v1/orders/{id}/quote", operation: QuoteOrder, read_only: true, resource_type: "Example::Orders::Order"}
    - {method: GET, path: "/v1/files/{path+}", operation: GetFile, resource_type: "Example::Files::File"}
`

func writeConfig(t testing.TB, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "proxy.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// jwt makes an unsigned-looking bearer token with claims.
func jwt(claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	c, _ := json.Marshal(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(c) + ".c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
}

// ordersAPI is a tiny orders service.
func ordersAPI(t testing.TB) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "orders-req-1")
		switch {
		case r.URL.Path == "/v1/orders/missing":
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"code":"OrderNotFound","message":"no order missing"}`)
		case r.URL.Path == "/v1/orders/huge":
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"code":"`+strings.Repeat("C", 5000)+`","message":"a code longer than a record may hold"}`)
		case r.URL.Path == "/v1/orders/broken":
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `oops`)
		case r.Method == http.MethodPost && r.URL.Path == "/v1/orders":
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":"o-1","status":"new","paymentToken":"tok_live_abcdef"}`)
		default:
			io.WriteString(w, `{"id":"o-1","status":"new"}`)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func TestProxyHTTPRoutes(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, ordersConfig))
	if err != nil {
		t.Fatal(err)
	}
	upstream := ordersAPI(t)
	carolJWT := jwt(map[string]any{"sub": "dave", "email": "dave@example.com", "exp": 4102444800})

	type req struct {
		method, path, body string
		header             map[string]string
	}
	cases := []struct {
		name  string
		req   req
		check func(t *testing.T, e map[string]any, raw string)
	}{{
		name: "POST /v1/orders: CreateOrder, caller from the header, secrets hidden",
		req: req{http.MethodPost, "/v1/orders", `{"item":"book","qty":2,"password":"hunter2","card":{"number":"4111","cvv_token":"t-123"}}`,
			map[string]string{"X-User": "carol", "Content-Type": "application/json"}},
		check: func(t *testing.T, e map[string]any, raw string) {
			want(t, e, "eventName", "CreateOrder")
			want(t, e, "readOnly", false)
			want(t, e, "userIdentity.userName", "carol")
			want(t, e, "userIdentity.principalId", "carol")
			want(t, e, "requestParameters.item", "book")
			want(t, e, "requestParameters.qty", 2.0)
			want(t, e, "requestParameters.password", "HIDDEN_DUE_TO_SECURITY_REASONS")
			want(t, e, "requestParameters.card.number", "4111")
			want(t, e, "requestParameters.card.cvv_token", "HIDDEN_DUE_TO_SECURITY_REASONS")
			want(t, e, "responseElements.id", "o-1")
			want(t, e, "responseElements.paymentToken", "HIDDEN_DUE_TO_SECURITY_REASONS")
			want(t, e, "requestID", "orders-req-1")
			for _, s := range []string{"hunter2", "t-123", "tok_live_abcdef"} {
				if strings.Contains(raw, s) {
					t.Errorf("the event contains the secret %q", s)
				}
			}
		},
	}, {
		name: "GET /v1/orders/{id}: GetOrder, the id a parameter and a resource, caller from the JWT",
		req:  req{http.MethodGet, "/v1/orders/o-1", "", map[string]string{"Authorization": "Bearer " + carolJWT}},
		check: func(t *testing.T, e map[string]any, raw string) {
			want(t, e, "eventName", "GetOrder")
			want(t, e, "readOnly", true)
			want(t, e, "userIdentity.userName", "dave")
			want(t, e, "requestParameters.id", "o-1")
			want(t, e, "responseElements", nil) // read-only calls record none
			res, _ := e["resources"].([]any)
			if len(res) != 1 || mustJSON(res[0]) != `{"ARN":"o-1","type":"Example::Orders::Order"}` {
				t.Errorf("resources = %s, want the order o-1 of type Example::Orders::Order", mustJSON(e["resources"]))
			}
			if strings.Contains(raw, carolJWT) || strings.Contains(raw, strings.Split(carolJWT, ".")[1]) || strings.Contains(raw, "Bearer") {
				t.Errorf("the event contains the bearer token:\n%s", raw)
			}
		},
	}, {
		name: "the header wins over the JWT",
		req:  req{http.MethodGet, "/v1/orders/o-2", "", map[string]string{"Authorization": "Bearer " + carolJWT, "X-User": "erin"}},
		check: func(t *testing.T, e map[string]any, raw string) {
			want(t, e, "userIdentity.userName", "erin")
		},
	}, {
		name: "a token that is not a JWT names nobody",
		req:  req{http.MethodGet, "/v1/orders/o-3", "", map[string]string{"Authorization": "Bearer opaque-token-value"}},
		check: func(t *testing.T, e map[string]any, raw string) {
			want(t, e, "eventName", "GetOrder")
			want(t, e, "userIdentity.userName", nil)
			want(t, e, "userIdentity.type", "Unknown")
			if strings.Contains(raw, "opaque-token-value") {
				t.Errorf("the event contains the bearer token:\n%s", raw)
			}
		},
	}, {
		name: "query parameters, a secret one hidden",
		req:  req{http.MethodGet, "/v1/orders?status=new&limit=5&access_token=qs-secret-1", "", map[string]string{"X-User": "carol"}},
		check: func(t *testing.T, e map[string]any, raw string) {
			want(t, e, "eventName", "ListOrders")
			want(t, e, "requestParameters.status", "new")
			want(t, e, "requestParameters.limit", "5")
			want(t, e, "requestParameters.access_token", "HIDDEN_DUE_TO_SECURITY_REASONS")
			if strings.Contains(raw, "qs-secret-1") {
				t.Errorf("the event contains the query's token")
			}
		},
	}, {
		name: "DELETE: write; read_only overrides the method",
		req:  req{http.MethodDelete, "/v1/orders/o-1", "", nil},
		check: func(t *testing.T, e map[string]any, raw string) {
			want(t, e, "eventName", "CancelOrder")
			want(t, e, "readOnly", false)
		},
	}, {
		name: "read_only: true on a POST",
		req:  req{http.MethodPost, "/v1/orders/o-1/quote", `{"currency":"EUR"}`, nil},
		check: func(t *testing.T, e map[string]any, raw string) {
			want(t, e, "eventName", "QuoteOrder")
			want(t, e, "readOnly", true)
			want(t, e, "requestParameters.id", "o-1")
			want(t, e, "requestParameters.currency", "EUR")
		},
	}, {
		name: "{path+} takes the rest of the path",
		req:  req{http.MethodGet, "/v1/files/reports/2026/q1.pdf", "", nil},
		check: func(t *testing.T, e map[string]any, raw string) {
			want(t, e, "eventName", "GetFile")
			want(t, e, "requestParameters.path", "reports/2026/q1.pdf")
		},
	}, {
		name: "an error answer: its code and message",
		req:  req{http.MethodGet, "/v1/orders/missing", "", nil},
		check: func(t *testing.T, e map[string]any, raw string) {
			want(t, e, "errorCode", "OrderNotFound")
			want(t, e, "errorMessage", "no order missing")
		},
	}, {
		name: "an error answer with a code longer than a record holds: clipped",
		req:  req{http.MethodGet, "/v1/orders/huge", "", nil},
		check: func(t *testing.T, e map[string]any, raw string) {
			want(t, e, "errorCode", strings.Repeat("C", event.TextLimit))
			want(t, e, "errorMessage", "a code longer than a record may hold")
		},
	}, {
		name: "an error answer without JSON: the status",
		req:  req{http.MethodGet, "/v1/orders/broken", "", nil},
		check: func(t *testing.T, e map[string]any, raw string) {
			if code, _ := e["errorCode"].(string); code == "" {
				t.Errorf("a 500 answer is recorded without an errorCode")
			}
			want(t, e, "responseElements", nil)
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &memRecorder{}
			front := newTestProxy(t, upstream.URL, rec, func(o *Options) {
				o.HTTP, o.Region, o.Account = cfg, "eu-west-1", "222222222222"
			})
			var body io.Reader
			if c.req.body != "" {
				body = strings.NewReader(c.req.body)
			}
			r, _ := http.NewRequest(c.req.method, front+c.req.path, body)
			for k, v := range c.req.header {
				r.Header.Set(k, v)
			}
			do(t, r)
			e := rec.wait(t, 1)[0]
			want(t, e, "eventSource", "orders.example.internal")
			want(t, e, "awsRegion", "eu-west-1")
			want(t, e, "recipientAccountId", "222222222222")
			want(t, e, "eventCategory", "Management")
			want(t, e, "managementEvent", true)
			want(t, e, "eventType", "AwsApiCall")
			c.check(t, e, rec.raw(0))
			for _, k := range keysOf(e) {
				if strings.EqualFold(k, "authorization") {
					t.Errorf("the event has an %q member", k)
				}
			}
		})
	}
}

// TestProxyHTTPRouteMismatch: a method the config does not map is not
// taken for another route's operation.
func TestProxyHTTPRouteMismatch(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, ordersConfig))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path string }{
		{http.MethodPut, "/v1/orders"},         // no PUT route
		{http.MethodGet, "/v1/orders/o-1/x/y"}, // {id} is one segment
		{http.MethodGet, "/v2/orders"},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		if rt, _, ok := cfg.match(r); ok {
			t.Errorf("%s %s matched %s", c.method, c.path, rt.Operation)
		}
	}
}

// TestProxyHTTPConfigErrors: a bad config file is refused with the file
// (and, for YAML errors, the line) named.
func TestProxyHTTPConfigErrors(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"no event source", "http:\n  routes: [{method: GET, path: /x, operation: X}]\n", "event_source is required"},
		{"unknown field", "http:\n  event_source: a.example\n  identity: {cookie: session}\n", "line 3"},
		{"route without operation", "http:\n  event_source: a.example\n  routes: [{method: GET, path: /x}]\n", "routes[0]"},
		{"path without /", "http:\n  event_source: a.example\n  routes: [{method: GET, path: x, operation: X}]\n", "routes[0]"},
		{"not YAML", "http: [\n", "proxy.yaml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeConfig(t, c.yaml)
			_, err := LoadConfig(p)
			if err == nil {
				t.Fatalf("LoadConfig accepted:\n%s", c.yaml)
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q should name %s and say %q", err, p, c.want)
			}
		})
	}
	if cfg, err := LoadConfig(writeConfig(t, "# nothing for HTTP APIs\n{}\n")); cfg != nil || err != nil {
		t.Errorf("a config without http: gives %v, %v; want nil, nil", cfg, err)
	}
}

// want checks the value at a dotted path of an event.
func want(t *testing.T, e map[string]any, path string, v any) {
	t.Helper()
	var cur any = e
	for _, p := range strings.Split(path, ".") {
		m, _ := cur.(map[string]any)
		cur = m[p]
	}
	if mustJSON(cur) != mustJSON(v) {
		t.Errorf("%s = %s, want %s", path, mustJSON(cur), mustJSON(v))
	}
}
