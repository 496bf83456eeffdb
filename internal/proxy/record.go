package proxy

import (
	"encoding/json"

	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/proxy/awsop"
	"github.com/cairn-audit/cairn/internal/sigv4"
)

// record is the CloudTrail record of one proxied call.
type record struct {
	EventVersion      string         `json:"eventVersion"`
	UserIdentity      map[string]any `json:"userIdentity"`
	EventTime         string         `json:"eventTime"`
	EventSource       string         `json:"eventSource"`
	EventName         string         `json:"eventName"`
	AWSRegion         string         `json:"awsRegion"`
	SourceIPAddress   string         `json:"sourceIPAddress"`
	UserAgent         string         `json:"userAgent,omitempty"`
	ErrorCode         string         `json:"errorCode,omitempty"`
	ErrorMessage      string         `json:"errorMessage,omitempty"`
	RequestParameters any            `json:"requestParameters"`
	ResponseElements  any            `json:"responseElements"`
	// AdditionalEventData says how a signed call was signed and whether
	// the signature was verified (the server sets SignatureVerified).
	AdditionalEventData map[string]any    `json:"additionalEventData,omitempty"`
	RequestID           string            `json:"requestID,omitempty"`
	EventID             string            `json:"eventID"`
	ReadOnly            bool              `json:"readOnly"`
	Resources           []event.Resource  `json:"resources,omitempty"`
	EventType           string            `json:"eventType"`
	APIVersion          string            `json:"apiVersion,omitempty"`
	ManagementEvent     bool              `json:"managementEvent"`
	RecipientAccountID  string            `json:"recipientAccountId,omitempty"`
	EventCategory       string            `json:"eventCategory"`
	TLSDetails          *event.TLSDetails `json:"tlsDetails,omitempty"`
	// SignatureProof lets the server check the caller's signature with
	// the key's secret; the server removes it before storing the record.
	SignatureProof *sigv4.Proof `json:"cairnSignatureProof,omitempty"`
}

// record builds the event of an exchange; nil when there is nothing to
// record.
func (p *Proxy) record(x *exchange) ([]byte, error) {
	r := x.req
	rec := record{
		EventVersion:       event.Version,
		EventTime:          x.start.UTC().Format(event.TimeFormat),
		SourceIPAddress:    p.sourceIP(r),
		UserAgent:          event.Clip(r.UserAgent(), 1024),
		EventID:            uuid.NewString(),
		EventType:          "AwsApiCall",
		RecipientAccountID: p.o.Account,
	}
	rec.TLSDetails = event.NewTLSDetails(r.TLS, r.Host)
	_, region, key := scope(r)
	route, params, ok := p.o.HTTP.match(r)
	if !ok && p.o.HTTP != nil && key == "" {
		// A plain HTTP call no route names: recorded under the API's own
		// event source, named by method and path.
		route, params, ok = &Route{Operation: r.Method + " " + r.URL.Path}, nil, true
	}
	if ok && key == "" {
		p.httpEvent(&rec, x, route, params)
	} else {
		p.awsEvent(&rec, x, region, key)
	}
	if x.err != nil {
		// The proxy answered for a service it could not reach.
		rec.ErrorCode, rec.ErrorMessage = "ServiceUnavailable", event.Clip("The proxy could not reach the service: "+x.err.Error(), 1024)
		rec.ResponseElements = nil
	}
	return json.Marshal(rec)
}

// awsEvent fills the record of a call in an AWS protocol.
func (p *Proxy) awsEvent(rec *record, x *exchange, region, key string) {
	op := awsop.Resolve(x.call())
	rec.UserIdentity = map[string]any{"type": "Unknown"}
	if key != "" {
		// The server completes a known key's identity when the signature
		// proves to be the key's.
		rec.UserIdentity["accessKeyId"] = key
		p.signatureProof(rec, x)
	}
	switch {
	case op.Global:
		rec.AWSRegion = p.o.GlobalRegion
	case region != "":
		rec.AWSRegion = region
	default:
		rec.AWSRegion = p.o.Region
	}
	rec.EventSource = op.EventSource
	if rec.EventSource == "" {
		rec.EventSource = "unknown.amazonaws.com"
	}
	rec.EventName = op.Name
	if rec.EventName == "" {
		rec.EventName = x.req.Method + " " + x.req.URL.Path
	}
	rec.ReadOnly = op.ReadOnly
	rec.Resources = op.Resources
	rec.ErrorCode, rec.ErrorMessage = op.ErrorCode, event.Clip(op.ErrorMessage, 1024)
	rec.RequestID = op.RequestID
	rec.APIVersion = op.APIVersion
	rec.EventCategory = op.Category
	if rec.EventCategory == "" {
		rec.EventCategory = event.CategoryManagement
	}
	rec.ManagementEvent = rec.EventCategory == event.CategoryManagement
	if len(op.RequestParameters) > 0 {
		rec.RequestParameters = op.RequestParameters
	}
	if op.ResponseElements != nil && op.ErrorCode == "" {
		rec.ResponseElements = op.ResponseElements
	}
}

// signatureProof adds what the server needs to check the call's
// signature (see sigv4.Proof), and additionalEventData saying how it was
// signed, not (yet) verified.
func (p *Proxy) signatureProof(rec *record, x *exchange) {
	sum, n := x.reqBody.sum()
	proof, ok := sigv4.NewProof(sigv4.Signed{Request: x.req, BodySHA256: sum, BodyLen: n,
		Bucket: awsop.VirtualBucket(x.req.Host), Now: x.start})
	if !ok {
		return
	}
	if proof.Problem != "" {
		p.o.Log.Debug("proxy: the signature cannot be checked", "method", x.req.Method, "path", x.req.URL.Path, "reason", proof.Problem)
	}
	rec.SignatureProof = &proof
	rec.AdditionalEventData = map[string]any{"SignatureVersion": proof.Version,
		"AuthenticationMethod": proof.Method, "SignatureVerified": false}
}
