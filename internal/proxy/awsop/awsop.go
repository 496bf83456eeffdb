// Package awsop turns one captured HTTP exchange with an AWS-style service
// into the CloudTrail description of the call: the service and its event
// source, the operation's name, whether it is read-only, its category, the
// resources it touched, its request parameters and response elements (with
// sensitive values hidden), and the error code and message of a failed call.
//
// The protocol is told from the request itself: an X-Amz-Target header is
// JSON 1.0/1.1 (DynamoDB, SQS, KMS…), a "smithy-protocol: rpc-v2-cbor" header
// or a /service/S/operation/O path is Smithy RPC v2 CBOR, an Action
// parameter is the query protocol (IAM, STS, SNS, SQS's old mode, EC2), and
// anything else is REST: S3 (both addressing styles, see Options) or a
// rest-json / rest-xml service whose routes come from botocore's models
// (models_gen.go, written by internal/gen; see go:generate in model.go).
// The service is the SigV4 scope's signing name; unsigned requests fall back
// to the target prefix or the host name.
//
// Read-only operations are those whose names start with one of Get, List,
// Describe, Head, Lookup, Select, Scan, Query, BatchGet, BatchDescribe,
// Search, Check, Simulate, Estimate, Preview, Validate, Verify (followed by
// an upper-case letter, a digit or nothing).
//
// Sensitive values are recorded as HIDDEN_DUE_TO_SECURITY_REASONS: members
// whose model shape is sensitive, and members, parameters and headers whose
// name is on the proxy's one list of sensitive names (package sensitive,
// shared with the plain-HTTP mode).
package awsop

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/cairn-audit/cairn/internal/event"
)

// Call is one captured exchange. Bodies may be truncated (the proxy streams
// large bodies and keeps at most the first 1 MiB).
type Call struct {
	Method, Host, Path, RawQuery string // Path as sent (escaped form: r.URL.EscapedPath())
	Header                       http.Header
	Body                         []byte
	BodyTruncated                bool
	Status                       int
	RespHeader                   http.Header
	RespBody                     []byte
	RespTruncated                bool
	// From the SigV4 scope (Authorization header or X-Amz-Credential query); empty if unsigned.
	Service, Region string
}

// Operation is what the call was, as CloudTrail records it.
type Operation struct {
	Service           string           // signing name, e.g. "s3", "iam", "dynamodb", "sqs"
	EventSource       string           // "<service>.amazonaws.com"
	Name              string           // API operation, e.g. "PutObject"; "" if unknown
	ReadOnly          bool             // by the operation's name (see the package doc)
	Category          string           // "Data" for S3 object-level and DynamoDB item-level operations, else "Management"
	Global            bool             // iam, sts (global endpoint), cloudfront, organizations, route53
	Resources         []event.Resource // best effort (partition "aws", account may be empty)
	RequestParameters map[string]any   // CloudTrail style; sensitive values hidden
	ResponseElements  any              // successful non-read-only calls with a JSON, XML or CBOR body; nil otherwise
	ErrorCode         string           // when Status >= 300 (304 excepted)
	ErrorMessage      string
	RequestID         string
	APIVersion        string // for query/EC2 protocols (the Version parameter)
}

// Options tune Resolve. The zero value is what Resolve uses.
type Options struct {
	// S3Hosts are host names (without port) of S3-compatible endpoints:
	// a request to "<bucket>.<one of these>" is virtual-hosted. Without
	// them the rule of virtualBucket applies.
	S3Hosts []string
}

// Resolve describes a call; it never fails: what cannot be told is left
// empty.
func Resolve(c *Call) Operation { return Options{}.Resolve(c) }

// Resolve describes a call with these options.
func (o Options) Resolve(c *Call) Operation {
	if c == nil {
		return Operation{}
	}
	r := &resolver{c: c, opt: o}
	r.run()
	return r.op
}

// resolver holds one Resolve's state.
type resolver struct {
	c     *Call
	opt   Options
	op    Operation
	proto string // protocol the request spoke
	query url.Values
	model *svcModel
	info  *opInfo
	s3    *s3Loc
	resp  *respBody
}

func (r *resolver) run() {
	c := r.c
	if c.Header == nil {
		c = copyCall(c)
		c.Header = http.Header{}
		r.c = c
	}
	r.query = parseQuery(c.RawQuery)
	r.op.Service = strings.ToLower(strings.TrimSpace(c.Service))
	switch {
	case r.jsonTarget():
	case r.cbor():
	case r.queryProtocol():
	default:
		r.rest()
	}
	op := &r.op
	if op.Service != "" {
		op.EventSource = eventSource(op.Service)
	}
	op.ReadOnly = readOnly(op.Name)
	op.Category = category(op.Service, op.Name)
	op.Global = r.global()
	if len(op.RequestParameters) == 0 {
		op.RequestParameters = nil
	}
	if c.Status >= 300 && c.Status != http.StatusNotModified {
		op.ErrorCode, op.ErrorMessage = r.parseError()
	} else if c.Status >= 200 && c.Status < 300 && op.Name != "" && !op.ReadOnly {
		op.ResponseElements = r.responseElements()
	}
	op.RequestID = r.requestID()
	op.Resources = r.resources()
}

func copyCall(c *Call) *Call {
	cc := *c
	return &cc
}

func parseQuery(raw string) url.Values {
	v, _ := url.ParseQuery(raw)
	if v == nil {
		v = url.Values{}
	}
	return v
}

// EventSource is CloudTrail's eventSource for the calls signed with a
// SigV4 signing name (a credential scope's service), as Resolve records it.
func EventSource(signingName string) string {
	return eventSource(strings.ToLower(strings.TrimSpace(signingName)))
}

// GlobalService reports whether calls signed for this signing name may be
// recorded in the global region rather than the scope's region: IAM,
// CloudFront, Organizations, Route 53, and STS (whose global endpoint is).
func GlobalService(signingName string) bool {
	s := strings.ToLower(strings.TrimSpace(signingName))
	return globalServices[s] || s == "sts"
}

// eventSource is CloudTrail's eventSource for a signing name.
func eventSource(service string) string {
	if s, ok := eventSources[service]; ok {
		return s
	}
	return service + ".amazonaws.com"
}

// eventSources are the signing names whose event source is not
// "<name>.amazonaws.com".
var eventSources = map[string]string{
	"email": "ses.amazonaws.com",
}

// readOnlyPrefixes name read-only operations (see the package doc).
var readOnlyPrefixes = []string{"Get", "List", "Describe", "Head", "Lookup", "Select", "Scan", "Query",
	"BatchGet", "BatchDescribe", "Search", "Check", "Simulate", "Estimate", "Preview", "Validate", "Verify"}

func readOnly(name string) bool {
	for _, p := range readOnlyPrefixes {
		if rest, ok := strings.CutPrefix(name, p); ok && (rest == "" || rest[0] >= 'A' && rest[0] <= 'Z' || rest[0] >= '0' && rest[0] <= '9') {
			return true
		}
	}
	return false
}

// dynamoDBItemOps are DynamoDB's data-event operations.
var dynamoDBItemOps = map[string]bool{
	"GetItem": true, "PutItem": true, "UpdateItem": true, "DeleteItem": true, "Query": true, "Scan": true,
	"BatchGetItem": true, "BatchWriteItem": true, "TransactGetItems": true, "TransactWriteItems": true,
	"ExecuteStatement": true, "BatchExecuteStatement": true, "ExecuteTransaction": true,
}

// sqsMessageOps are SQS's message-level operations (data events).
var sqsMessageOps = map[string]bool{
	"SendMessage": true, "SendMessageBatch": true, "ReceiveMessage": true, "DeleteMessage": true,
	"DeleteMessageBatch": true, "ChangeMessageVisibility": true, "ChangeMessageVisibilityBatch": true,
}

// s3BucketDataOps are S3 operations on a bucket's objects whose route has
// no object key; every operation whose route has {Key+} is a data event too.
var s3BucketDataOps = map[string]bool{
	"DeleteObjects": true, "ListObjects": true, "ListObjectsV2": true, "ListObjectVersions": true,
	"ListMultipartUploads": true, "WriteGetObjectResponse": true,
}

func category(service, name string) string {
	switch service {
	case "s3":
		if s3BucketDataOps[name] || s3ObjectOp(name) {
			return event.CategoryData
		}
	case "dynamodb":
		if dynamoDBItemOps[name] {
			return event.CategoryData
		}
	case "sqs":
		// CloudTrail logs SQS message operations as data events.
		if sqsMessageOps[name] {
			return event.CategoryData
		}
	}
	return event.CategoryManagement
}

// globalServices log their events in the global region (us-east-1).
var globalServices = map[string]bool{"iam": true, "cloudfront": true, "organizations": true, "route53": true}

// global reports whether the call belongs to the global region: IAM,
// CloudFront, Organizations and Route 53 always; STS when it was sent to the
// global endpoint sts.amazonaws.com (regional STS endpoints, and emulators,
// log in their own region).
func (r *resolver) global() bool {
	if globalServices[r.op.Service] {
		return true
	}
	if r.op.Service == "sts" {
		return hostname(r.host()) == "sts.amazonaws.com"
	}
	return false
}

func (r *resolver) host() string {
	if r.c.Host != "" {
		return r.c.Host
	}
	return r.c.Header.Get("Host")
}

// hostname is a Host without its port, lower-cased.
func hostname(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if strings.HasPrefix(h, "[") {
		if i := strings.Index(h, "]"); i > 0 {
			return h[1:i]
		}
		return h
	}
	if i := strings.LastIndex(h, ":"); i >= 0 && strings.Count(h, ":") == 1 {
		return h[:i]
	}
	return h
}

// hostService guesses the signing name of an unsigned request from its
// host: S3 when the host is virtual-hosted S3 (see virtualBucket), else an
// AWS host name "[<bucket or account>.]<endpointPrefix>[.<region>].amazonaws.com".
func (r *resolver) hostService() string {
	h := hostname(r.host())
	if virtualBucket(h, r.opt) != "" {
		return "s3"
	}
	for _, suffix := range []string{".amazonaws.com.cn", ".amazonaws.com", ".api.aws"} {
		rest, ok := strings.CutSuffix(h, suffix)
		if !ok {
			continue
		}
		labels := strings.Split(rest, ".")
		for i := 0; i < len(labels) && i < 2; i++ {
			// Longest first: "api.ecr" before "api".
			for j := len(labels); j > i; j-- {
				if ms := modelsForEndpoint(strings.Join(labels[i:j], ".")); len(ms) > 0 {
					return ms[0].signing()
				}
			}
		}
	}
	return ""
}

// firstModel returns the first model accepted.
func firstModel(ms []*modelSrc, accept func(*modelSrc) bool) *modelSrc {
	for _, m := range ms {
		if accept(m) {
			return m
		}
	}
	return nil
}

// jsonTarget handles JSON 1.0/1.1 requests (X-Amz-Target "<prefix>.<Op>").
func (r *resolver) jsonTarget() bool {
	target := strings.TrimSpace(r.c.Header.Get("X-Amz-Target"))
	i := strings.LastIndex(target, ".")
	if i <= 0 || i == len(target)-1 {
		return false
	}
	prefix, name := target[:i], target[i+1:]
	r.proto = protoJSON
	r.op.Name = name
	var m *modelSrc
	if r.op.Service != "" {
		m = firstModel(modelsFor(r.op.Service), func(m *modelSrc) bool { return m.targetPrefix == prefix })
	}
	if m == nil {
		ms := modelsForTarget(prefix)
		m = firstModel(ms, func(m *modelSrc) bool { return r.op.Service == "" || m.signing() == r.op.Service })
		if m == nil && len(ms) > 0 {
			m = ms[0]
		}
	}
	if m == nil && r.op.Service != "" {
		m = firstModel(modelsFor(r.op.Service), func(m *modelSrc) bool { return m.protocol == protoJSON })
	}
	if r.op.Service == "" {
		if m != nil {
			r.op.Service = m.signing()
		} else {
			r.op.Service = r.hostService()
		}
	}
	r.useModel(m)
	if !r.c.BodyTruncated {
		if v, ok := decodeJSON(r.c.Body); ok {
			r.op.RequestParameters = asParams(transform(v, r.inNode(), true, 0))
		}
	}
	return true
}

// cbor handles Smithy RPC v2 CBOR requests (POST
// /service/<ServiceName>/operation/<Op>).
func (r *resolver) cbor() bool {
	segs := pathSegments(r.c.Path)
	n := len(segs)
	if n < 4 || segs[n-4] != "service" || segs[n-2] != "operation" {
		return false
	}
	if !strings.EqualFold(r.c.Header.Get("Smithy-Protocol"), "rpc-v2-cbor") &&
		!strings.Contains(strings.ToLower(r.c.Header.Get("Content-Type")), "cbor") {
		return false
	}
	svcName, name := segs[n-3], segs[n-1]
	if name == "" {
		return false
	}
	r.proto = protoCBOR
	r.op.Name = name
	var m *modelSrc
	ms := modelsForTarget(svcName)
	m = firstModel(ms, func(m *modelSrc) bool { return r.op.Service == "" || m.signing() == r.op.Service })
	if m == nil && r.op.Service != "" {
		m = firstModel(modelsFor(r.op.Service), func(*modelSrc) bool { return true })
	}
	if r.op.Service == "" && m != nil {
		r.op.Service = m.signing()
	}
	r.useModel(m)
	if !r.c.BodyTruncated {
		if v, ok := decodeCBOR(r.c.Body); ok {
			r.op.RequestParameters = asParams(transform(v, r.inNode(), true, 0))
		}
	}
	return true
}

// sigV2Query are the parameters of query-string (SigV2) authentication.
var sigV2Query = map[string]bool{"AWSAccessKeyId": true, "Signature": true, "SignatureMethod": true,
	"SignatureVersion": true, "Timestamp": true, "Expires": true, "SecurityToken": true}

// queryProtocol handles query and EC2 requests (Action=…&Version=…).
func (r *resolver) queryProtocol() bool {
	form := url.Values{}
	for k, v := range r.query {
		form[k] = append(form[k], v...)
	}
	ct := strings.ToLower(r.c.Header.Get("Content-Type"))
	if len(r.c.Body) > 0 && (strings.Contains(ct, "x-www-form-urlencoded") ||
		ct == "" && r.c.Body[0] != '{' && r.c.Body[0] != '<') {
		body := string(r.c.Body)
		if r.c.BodyTruncated {
			// The last parameter may be cut short: leave it out.
			if i := strings.LastIndex(body, "&"); i >= 0 {
				body = body[:i]
			} else {
				body = ""
			}
		}
		for k, v := range parseQuery(body) {
			form[k] = append(form[k], v...)
		}
	}
	action := strings.TrimSpace(form.Get("Action"))
	if action == "" {
		return false
	}
	service := r.op.Service
	if service == "" {
		service = r.hostService()
	}
	ms := modelsFor(service)
	if len(ms) > 0 && firstModel(ms, func(m *modelSrc) bool { return !m.rest() }) == nil {
		return false // a REST service: Action is one of its parameters
	}
	r.proto = protoQuery
	r.op.Service = service
	r.op.Name = action
	r.op.APIVersion = form.Get("Version")
	m := firstModel(ms, func(m *modelSrc) bool {
		if m.protocol != protoQuery && m.protocol != protoEC2 {
			return false
		}
		_, ok := parsed(m).ops[action]
		return ok
	})
	if m == nil {
		m = firstModel(ms, func(m *modelSrc) bool { return m.protocol == protoQuery || m.protocol == protoEC2 })
	}
	if m != nil && m.protocol == protoEC2 {
		r.proto = protoEC2
	}
	r.useModel(m)
	params := url.Values{}
	for k, v := range form {
		if k == "Action" || k == "Version" || sigV2Query[k] || isSigV4Query(k) {
			continue
		}
		params[k] = v
	}
	r.op.RequestParameters = asParams(transform(rebuildForm(params), r.inNode(), true, 0))
	return true
}

// useModel sets the model and, when the model knows it, the operation.
func (r *resolver) useModel(m *modelSrc) {
	if m == nil {
		return
	}
	r.model = parsed(m)
	r.info = r.model.ops[r.op.Name]
}

func (r *resolver) inNode() *node {
	if r.info == nil {
		return nil
	}
	return r.info.in
}

func (r *resolver) outNode() *node {
	if r.info == nil {
		return nil
	}
	return r.info.out
}

func asParams(v any) map[string]any {
	m, _ := v.(map[string]any)
	if len(m) == 0 {
		return nil
	}
	return m
}

// rest handles REST requests: S3, or a rest-json / rest-xml service
// routed by its models' requestUri templates.
func (r *resolver) rest() {
	service := r.op.Service
	if service == "" {
		service = r.hostService()
	}
	r.op.Service = service
	if service == "" {
		return
	}
	if service == "s3" && !r.s3Control() {
		r.s3Rest()
		return
	}
	var routes []*route
	for _, m := range modelsFor(service) {
		if m.rest() {
			routes = append(routes, parsed(m).routes...)
		}
	}
	match := matchRoute(routes, r.c.Method, pathSegments(r.c.Path), r.query, r.c.Header)
	if match == nil {
		return
	}
	r.model = match.route.model
	r.info = match.route.op
	r.proto = r.model.src.protocol
	r.op.Name = r.info.name
	r.op.RequestParameters = asParams(transform(r.restParams(match), r.info.in, true, 0))
}

// s3Control reports whether an "s3"-signed request is for S3 Control
// (account-level API under /v20180820/).
func (r *resolver) s3Control() bool {
	return strings.HasPrefix(r.c.Path, "/v20180820/") || strings.Contains(hostname(r.host()), ".s3-control.")
}

// restParams gathers a rest request's parameters keyed by member name
// (URI labels, query string, header members) and wire name (body).
func (r *resolver) restParams(m *routeMatch) map[string]any {
	op := m.route.op
	params := map[string]any{}
	for label, v := range m.labels {
		name := label
		if n, ok := op.labels[label]; ok {
			name = n
		}
		params[name] = v
	}
	for k, vs := range r.query {
		if k == "" || k == "x-id" || isSigV4Query(k) {
			continue
		}
		isLiteral := false
		for _, l := range m.route.literal {
			if l.key == k {
				isLiteral = true
			}
		}
		if isLiteral {
			continue
		}
		name := k
		if n, ok := op.query[k]; ok {
			name = n
		}
		if len(vs) == 1 {
			params[name] = vs[0]
		} else {
			l := make([]any, len(vs))
			for i, v := range vs {
				l[i] = v
			}
			params[name] = l
		}
	}
	for wire, name := range op.headers {
		if v := r.c.Header.Get(wire); v != "" {
			params[name] = v
		}
	}
	if len(r.c.Body) == 0 || r.c.BodyTruncated || op.blobBody {
		return params
	}
	var body any
	if v, ok := decodeJSON(r.c.Body); ok {
		body = v
	} else if root := parseXML(r.c.Body); root != nil {
		// The root element is the payload member, or the input itself.
		body = root.value(false, 0)
	}
	if body == nil {
		return params
	}
	if op.payload != "" {
		params[op.payload] = body
	} else {
		mergeValues(params, body)
	}
	return params
}
