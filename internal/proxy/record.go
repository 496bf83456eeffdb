package proxy

import (
	"encoding/json"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/proxy/awsop"
	"github.com/cairn-audit/cairn/internal/sigv4"
)

// record is the CloudTrail record of one proxied call, with what the
// server needs to check the caller's signature.
type record struct {
	event.Call
	// SignatureProof lets the server check the caller's signature with
	// the key's secret; the server removes it before storing the record.
	SignatureProof *sigv4.Proof `json:"cairnSignatureProof,omitempty"`
}

// record builds the event of an exchange; nil when there is nothing to
// record.
func (p *Proxy) record(x *exchange) ([]byte, error) {
	r := x.req
	rec := record{Call: event.NewCall(x.start)}
	rec.From(p.sourceIP(r), r.UserAgent(), event.NewTLSDetails(r.TLS, r.Host))
	rec.RecipientAccountID = p.o.Account
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
		rec.Fail("ServiceUnavailable", "The proxy could not reach the service: "+x.err.Error())
		rec.ResponseElements = nil
	}
	// A record over CloudTrail's limits would be refused by the server:
	// oversized members are marked omitted instead.
	rec.Bound()
	return json.Marshal(rec)
}

// awsEvent fills the record of a call in an AWS protocol.
func (p *Proxy) awsEvent(rec *record, x *exchange, region, key string) {
	op := awsop.Resolve(x.call())
	// The server completes a known key's identity when the signature
	// proves to be the key's.
	rec.UserIdentity = event.UnknownIdentity(key)
	if key != "" {
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
	rec.Fail(op.ErrorCode, op.ErrorMessage)
	rec.RequestID = op.RequestID
	rec.APIVersion = op.APIVersion
	rec.SetCategory(op.Category)
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
