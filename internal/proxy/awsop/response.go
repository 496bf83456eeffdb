package awsop

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/cairn-audit/cairn/internal/event"
)

// respBody is the response body as decoded: JSON, CBOR or XML.
type respBody struct {
	json any
	xml  *xnode
	ok   bool
}

// decodeResp decodes the response body once.
func (r *resolver) decodeResp() respBody {
	if r.resp == nil {
		b := r.decodeRespBody()
		r.resp = &b
	}
	return *r.resp
}

func (r *resolver) decodeRespBody() respBody {
	b := bytes.TrimSpace(r.c.RespBody)
	if len(b) == 0 || r.c.RespTruncated {
		return respBody{}
	}
	ct := ""
	if r.c.RespHeader != nil {
		ct = strings.ToLower(r.c.RespHeader.Get("Content-Type"))
	}
	if strings.Contains(ct, "cbor") || r.proto == protoCBOR && b[0] != '{' && b[0] != '<' {
		if v, ok := decodeCBOR(b); ok {
			return respBody{json: v, ok: true}
		}
	}
	if v, ok := decodeJSON(b); ok {
		return respBody{json: v, ok: true}
	}
	if root := parseXML(b); root != nil {
		return respBody{xml: root, ok: true}
	}
	return respBody{}
}

// responseElements converts a successful response's body: JSON as it is,
// XML with the query protocol's <OpResponse><OpResult> wrappers unwrapped
// and ResponseMetadata dropped, rest-xml's root element unwrapped; keys
// lowerCamel'd (map keys excepted) and sensitive values hidden.
func (r *resolver) responseElements() any {
	body := r.decodeResp()
	var v any
	switch {
	case body.json != nil:
		v = body.json
	case body.xml != nil:
		root := body.xml
		switch r.proto {
		case protoQuery:
			if res := root.child(r.op.Name + "Result"); res != nil {
				if len(res.kids) > 0 {
					v = res.value(false, 0)
				}
			} else {
				v = root.valueWithout(false, "ResponseMetadata")
			}
		case protoEC2:
			v = root.valueWithout(false, "requestId", "ResponseMetadata")
		default:
			if len(root.kids) > 0 {
				v = root.value(false, 0)
			}
		}
	}
	if v != nil {
		v = transform(v, r.outNode(), true, 0)
	}
	if r.s3 != nil {
		v = r.s3ResponseElements(v)
	}
	if m, ok := v.(map[string]any); ok && len(m) == 0 {
		return nil
	}
	return v
}

// parseError finds a failed call's error code and message: the
// x-amzn-query-error header (query-compatible JSON services such as SQS),
// the body (XML <Error><Code>/<Message> of S3, rest-xml and query,
// <Response><Errors><Error> of EC2, JSON or CBOR __type/code and
// message), the x-amzn-ErrorType header, and failing all of these the
// HTTP status text ("NotFound" for a HEAD's 404).
func (r *resolver) parseError() (code, msg string) {
	h := r.c.RespHeader
	if h == nil {
		h = http.Header{}
	}
	if q := h.Get("X-Amzn-Query-Error"); q != "" {
		code, _, _ = strings.Cut(q, ";")
		code = strings.TrimSpace(code)
	}
	body := r.decodeResp()
	switch {
	case body.json != nil:
		if m, ok := body.json.(map[string]any); ok {
			for _, k := range []string{"__type", "code", "Code", "errorCode", "ErrorCode"} {
				if s := jsonString(m, k); s != "" {
					if code == "" {
						code = cleanErrorType(s)
					}
					break
				}
			}
			for _, k := range []string{"message", "Message", "errorMessage", "ErrorMessage"} {
				if s := jsonString(m, k); s != "" {
					msg = s
					break
				}
			}
			if e, ok := m["Error"].(map[string]any); ok {
				if code == "" {
					code = cleanErrorType(jsonString(e, "Code"))
				}
				if msg == "" {
					msg = jsonString(e, "Message")
				}
			}
		}
	case body.xml != nil:
		e := body.xml.find("Error", 3)
		if e == nil && body.xml.child("Code") != nil {
			e = body.xml
		}
		if e != nil {
			if code == "" {
				code = e.child("Code").str()
			}
			msg = e.child("Message").str()
		}
	}
	if code == "" {
		code = cleanErrorType(h.Get("X-Amzn-Errortype"))
	}
	if msg == "" {
		msg = h.Get("X-Amzn-Error-Message")
	}
	if code == "" {
		code = strings.ReplaceAll(http.StatusText(r.c.Status), " ", "")
		if code == "" {
			code = "HTTP" + strconv.Itoa(r.c.Status)
		}
	}
	return event.Clip(code, 1024), event.Clip(msg, 1024)
}

// cleanErrorType turns "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
// or "ResourceNotFoundException:http://internal.amazon.com/…" into the code.
func cleanErrorType(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, ":"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, "#"); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// requestID is the service's request ID: the x-amzn-RequestId or
// x-amz-request-id header, else a RequestId element of an XML body or a
// RequestId key of a JSON one.
func (r *resolver) requestID() string {
	if h := r.c.RespHeader; h != nil {
		for _, k := range []string{"X-Amzn-Requestid", "X-Amz-Request-Id", "X-Amzn-Request-Id"} {
			if v := strings.TrimSpace(h.Get(k)); v != "" {
				return event.Clip(v, 1024)
			}
		}
	}
	body := r.decodeResp()
	switch {
	case body.xml != nil:
		for _, k := range []string{"RequestId", "RequestID"} {
			if e := body.xml.find(k, 4); e != nil && len(e.kids) == 0 {
				return event.Clip(e.str(), 1024)
			}
		}
	case body.json != nil:
		if m, ok := body.json.(map[string]any); ok {
			for _, k := range []string{"RequestId", "requestId", "RequestID"} {
				if s := jsonString(m, k); s != "" {
					return event.Clip(s, 1024)
				}
			}
		}
	}
	return ""
}
