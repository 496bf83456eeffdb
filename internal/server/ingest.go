package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
)

// serveIngest is POST /v1/events: a batch of CloudTrail records in the log
// file format, {"Records":[…]}.
func (s *Server) serveIngest(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	requestID := newRequestID()
	fail := func(err error) {
		s.opts.Metrics.Request("IngestEvents", awsproto.As(err).Code, time.Since(start))
		awsproto.WriteError(w, requestID, err)
	}
	// Take an in-flight slot before reading the body, so that at most
	// MaxInflightIngest bodies are held at once; beyond that the caller
	// hears 429 now rather than queueing without bound.
	select {
	case s.ingestSlots <- struct{}{}:
		defer func() { <-s.ingestSlots }()
	default:
		fail(writeTooMany(w, requestID))
		return
	}
	body, err := readBody(w, r, s.opts.MaxIngestBytes)
	if err != nil {
		fail(err)
		return
	}
	p, _, err := s.authenticate(r, body, "cloudtrail")
	if err != nil {
		fail(err)
		return
	}
	if !s.requests.allow(p.AccessKeyID) {
		fail(writeTooMany(w, requestID))
		return
	}
	if !p.Allows(auth.ActionIngest) {
		fail(awsproto.Errorf("AccessDeniedException", "User: %s is not authorized to perform: %s", p.ARN, auth.ActionIngest))
		return
	}
	records, err := batchRecords(body)
	if err != nil {
		fail(err)
		return
	}
	if n := len(records); n > s.opts.MaxIngestRecords {
		fail(awsproto.Errorf("LimitExceededException", "A batch holds at most %d records; this one has %d.", s.opts.MaxIngestRecords, n))
		return
	}
	verifySignatures(s.opts.Directory, records)
	res, err := s.opts.Ingest.Submit(r.Context(), p, records)
	if err != nil {
		fail(err)
		return
	}
	s.opts.Metrics.Request("IngestEvents", "OK", time.Since(start))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", requestID)
	json.NewEncoder(w).Encode(res)
}

// batchRecords splits a body {"Records":[…]} into its records: in one pass
// when Records is its only member (a failed split of that shape, such as
// more members after the list, is left to the general path), else through
// its members.
func batchRecords(body []byte) ([]json.RawMessage, error) {
	if raw, ok := event.OnlyRecords(body); ok {
		if records, err := event.SplitArray(raw); err == nil {
			return records, nil
		}
	}
	members, err := event.Members(body)
	if err != nil {
		return nil, awsproto.Errorf("SerializationException", "The body must be a JSON object {\"Records\":[…]} of CloudTrail records: %v", err)
	}
	raw, ok := members["Records"]
	if !ok {
		return nil, awsproto.Errorf("SerializationException", "The body has no Records list.")
	}
	records, err := event.SplitArray(raw)
	if err != nil {
		return nil, awsproto.Errorf("SerializationException", "Records must be a list of CloudTrail records.")
	}
	return records, nil
}
