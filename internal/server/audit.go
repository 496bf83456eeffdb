package server

import (
	"context"
	"encoding/json"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
)

// audit records one API call, failed or not. Calls that change something
// are durable before the caller hears back; reads are written in the
// background.
func (s *Server) audit(c *call, readOnly bool, resp any, callErr error) {
	b, err := s.auditEvent(c, readOnly, resp, callErr)
	if err != nil {
		s.opts.Log.Error("server: audit record", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.opts.Ingest.Record(ctx, c.principal.Account, b, !readOnly); err != nil {
		s.opts.Log.Error("server: audit record not stored", "operation", c.op, "err", err)
	}
}

// auditEvent is the management event CloudTrail writes for a call of its
// own API: by the caller, in the call's region, its parameters as
// CloudTrail writes them (camelJSON), the answer of a call that changed
// something, the error of one that failed. Members over CloudTrail's
// limits are left out and marked (see event.Call.Bound), so that the
// record is always stored.
func (s *Server) auditEvent(c *call, readOnly bool, resp any, callErr error) ([]byte, error) {
	rec := event.NewCall(s.opts.Now())
	rec.By(c.principal.UserIdentity())
	rec.From(sourceIP(c.r), c.r.UserAgent(), event.NewTLSDetails(c.r.TLS, c.r.Host))
	rec.EventSource = "cloudtrail.amazonaws.com"
	rec.EventName = c.op
	rec.AWSRegion = c.region
	rec.RequestParameters = camelJSON(c.body)
	rec.RequestID = c.requestID
	rec.ReadOnly = readOnly
	rec.Resources = c.resources
	if callErr != nil {
		e := awsproto.As(callErr)
		code := string(e.Code)
		if e.Code == awsproto.AccessDeniedException {
			// CloudTrail records a denied call of its API as AccessDenied.
			code = "AccessDenied"
		}
		rec.Fail(code, e.Message)
	} else if c.responseElements != nil {
		if b, err := json.Marshal(c.responseElements); err == nil {
			rec.ResponseElements = camelJSON(b)
		}
	} else if !readOnly && resp != nil {
		if b, err := json.Marshal(resp); err == nil {
			rec.ResponseElements = camelJSON(b)
		}
	}
	// Oversized parameters or answers are marked omitted, never a reason
	// to lose the call's record.
	rec.Bound()
	return json.Marshal(rec)
}

// camelJSON rewrites an API body's member names the way CloudTrail records
// them (lowerCamelCase: S3BucketName becomes s3BucketName). An empty body is
// null.
func camelJSON(body []byte) json.RawMessage {
	if len(body) == 0 {
		return json.RawMessage("null")
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return json.RawMessage("null")
	}
	if m, ok := v.(map[string]any); ok && len(m) == 0 {
		return json.RawMessage("null")
	}
	out, err := json.Marshal(camel(v))
	if err != nil {
		return json.RawMessage("null")
	}
	return out
}

func camel(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			m[lowerFirst(k)] = camel(val)
		}
		return m
	case []any:
		for i := range x {
			x[i] = camel(x[i])
		}
		return x
	}
	return v
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}
