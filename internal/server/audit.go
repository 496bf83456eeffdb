package server

import (
	"context"
	"encoding/json"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
)

// auditRecord is the management event CloudTrail writes for a call of its
// own API.
type auditRecord struct {
	EventVersion       string            `json:"eventVersion"`
	UserIdentity       auditIdentity     `json:"userIdentity"`
	EventTime          string            `json:"eventTime"`
	EventSource        string            `json:"eventSource"`
	EventName          string            `json:"eventName"`
	AWSRegion          string            `json:"awsRegion"`
	SourceIPAddress    string            `json:"sourceIPAddress"`
	UserAgent          string            `json:"userAgent,omitempty"`
	ErrorCode          string            `json:"errorCode,omitempty"`
	ErrorMessage       string            `json:"errorMessage,omitempty"`
	RequestParameters  json.RawMessage   `json:"requestParameters"`
	ResponseElements   json.RawMessage   `json:"responseElements"`
	RequestID          string            `json:"requestID"`
	EventID            string            `json:"eventID"`
	ReadOnly           bool              `json:"readOnly"`
	Resources          []event.Resource  `json:"resources,omitempty"`
	EventType          string            `json:"eventType"`
	ManagementEvent    bool              `json:"managementEvent"`
	RecipientAccountID string            `json:"recipientAccountId"`
	EventCategory      string            `json:"eventCategory"`
	TLSDetails         *event.TLSDetails `json:"tlsDetails,omitempty"`
}

type auditIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	AccessKeyID string `json:"accessKeyId"`
	UserName    string `json:"userName"`
}

// audit records one API call, failed or not. Calls that change something
// are durable before the caller hears back; reads are written in the
// background.
func (s *Server) audit(c *call, readOnly bool, resp any, callErr error) {
	rec := auditRecord{
		EventVersion: event.Version,
		UserIdentity: auditIdentity{Type: "IAMUser", PrincipalID: c.principal.PrincipalID, ARN: c.principal.ARN,
			AccountID: c.principal.Account, AccessKeyID: c.principal.AccessKeyID, UserName: c.principal.UserName},
		EventTime:          s.opts.Now().UTC().Format(event.TimeFormat),
		EventSource:        "cloudtrail.amazonaws.com",
		EventName:          c.op,
		AWSRegion:          c.region,
		SourceIPAddress:    sourceIP(c.r),
		UserAgent:          event.Clip(c.r.UserAgent(), 1024),
		RequestParameters:  camelJSON(c.body),
		ResponseElements:   json.RawMessage("null"),
		RequestID:          c.requestID,
		EventID:            uuid.NewString(),
		ReadOnly:           readOnly,
		EventType:          "AwsApiCall",
		ManagementEvent:    true,
		RecipientAccountID: c.principal.Account,
		EventCategory:      event.CategoryManagement,
		Resources:          c.resources,
	}
	if callErr != nil {
		e := awsproto.As(callErr)
		rec.ErrorCode = string(e.Code)
		if e.Code == awsproto.AccessDeniedException {
			rec.ErrorCode = "AccessDenied"
		}
		rec.ErrorMessage = event.Clip(e.Message, 1024)
	} else if !readOnly && resp != nil {
		if b, err := json.Marshal(resp); err == nil {
			rec.ResponseElements = camelJSON(b)
		}
	}
	rec.TLSDetails = event.NewTLSDetails(c.r.TLS, c.r.Host)
	b, err := json.Marshal(rec)
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
