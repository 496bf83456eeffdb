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
		s.opts.Metrics.Request("IngestEvents", string(awsproto.As(err).Code), time.Since(start))
		writeError(w, requestID, err)
	}
	// Authenticate and read the body first (see receive), then take an
	// ingest slot, so that at most MaxInflightIngest batches are processed
	// at once; beyond that the caller hears 429 now rather than queueing
	// without bound. A slot is held only by a caller whose signed body has
	// arrived: neither a stranger nor a tenant that sends signed heads and
	// no body holds one (the latter is bounded by MaxInflightPerKey and
	// MaxInflightPerAddress while its bodies are awaited).
	req, done, err := s.receive(w, r, s.opts.MaxIngestBytes, s.admitIngest)
	if err != nil {
		fail(err)
		return
	}
	defer done()
	p, body := req.principal, req.body
	// Nothing keeps the body past the answer: records are decoded into
	// events of their own (event.Decode copies what it keeps), so its
	// buffer goes back for the next bodies.
	body, inflated, err := inflateBody(r, body, s.opts.MaxIngestBytes, s.preAuth.buffers)
	if err != nil {
		s.preAuth.buffers.put(req.body)
		fail(err)
		return
	}
	if inflated {
		// Nothing reads the bytes sent once they are inflated: a request
		// holds one body's buffer, not two, while its events are stored.
		s.preAuth.buffers.put(req.body)
	}
	defer s.preAuth.buffers.put(body)
	records, err := batchRecords(body)
	if err != nil {
		fail(err)
		return
	}
	if n := len(records); n > s.opts.MaxIngestRecords {
		fail(awsproto.Errorf(awsproto.LimitExceededException, "A batch holds at most %d records; this one has %d.", s.opts.MaxIngestRecords, n))
		return
	}
	s.proofs.verifySignatures(p, records)
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

// admitIngest lets an authenticated ingest request, its body read, in:
// within its key's rate, with the ingest action, and with an ingest slot,
// which the returned func gives back.
func (s *Server) admitIngest(p *auth.Principal) (func(), error) {
	if !s.requests.allow(p.AccessKeyID) {
		return nil, tooManyRequests()
	}
	if !p.Allows(auth.ActionIngest) {
		return nil, awsproto.Errorf(awsproto.AccessDeniedException, "User: %s is not authorized to perform: %s", p.ARN, auth.ActionIngest)
	}
	select {
	case s.ingestSlots <- struct{}{}:
		return func() { <-s.ingestSlots }, nil
	default:
		return nil, tooManyRequests()
	}
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
		return nil, awsproto.Errorf(awsproto.SerializationException, "The body must be a JSON object {\"Records\":[…]} of CloudTrail records: %v", err)
	}
	raw, ok := members["Records"]
	if !ok {
		return nil, awsproto.Errorf(awsproto.SerializationException, "The body has no Records list.")
	}
	records, err := event.SplitArray(raw)
	if err != nil {
		return nil, awsproto.Errorf(awsproto.SerializationException, "Records must be a list of CloudTrail records.")
	}
	return records, nil
}
