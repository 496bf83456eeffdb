package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/tail"
)

// The live tail: GET /v1/stream[?pattern=<EventBridge event pattern>],
// Server-Sent Events of the caller's account's events in the region the
// request is signed for (as LookupEvents reads one region), from the
// moment of the request. Opening a stream is a LookupEvents call: it needs
// cloudtrail:LookupEvents, counts against the same rates, and is recorded
// in event history once per stream (a management read event, eventName
// LookupEvents, requestParameters {"liveTail": true, "eventPattern": …}),
// not once per event it carries.

// streamOp is the operation a stream is authorized and recorded as.
const streamOp = "LookupEvents"

// streamRequest is what a stream's audit record says it asked for.
type streamRequest struct {
	LiveTail     bool    `json:"LiveTail"`
	EventPattern *string `json:"EventPattern,omitempty"`
}

// serveStream serves GET /v1/stream signed with SigV4.
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	requestID := newRequestID()
	if s.opts.Tail == nil {
		s.answerFailure(w, streamOp, requestID, start, awsproto.Errorf(awsproto.UnsupportedOperationException, "This server has no live tail."))
		return
	}
	req, done, err := s.receive(w, r, 0, nil)
	if err != nil {
		s.answerFailure(w, streamOp, requestID, start, err)
		return
	}
	// A stream holds no in-flight place of its key and address once it is
	// authenticated (it would hold it for hours and starve the key's API
	// calls): the stream limits bound it instead.
	done()
	q := r.URL.Query()
	s.stream(w, r, Caller{Principal: req.principal, Region: req.region, Request: r}, q["pattern"], unknownParams(q), requestID, start)
}

// unknownParams are the names of q other than pattern, sorted: a
// misspelt ?patern= must not open a stream of every event.
func unknownParams(q url.Values) []string {
	var out []string
	for name := range q {
		if name != "pattern" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Stream serves a live tail for who, already authenticated (the console's
// session): as GET /v1/stream does for a signed request. patterns are the
// request's pattern parameters (at most one).
func (s *Server) Stream(w http.ResponseWriter, who Caller, patterns []string) {
	start := time.Now()
	requestID := newRequestID()
	if s.opts.Tail == nil {
		s.answerFailure(w, streamOp, requestID, start, awsproto.Errorf(awsproto.UnsupportedOperationException, "This server has no live tail."))
		return
	}
	s.stream(w, who.Request, who, patterns, nil, requestID, start)
}

// stream authorizes, subscribes, records and then serves the stream;
// unknown names request parameters it does not take (refused).
func (s *Server) stream(w http.ResponseWriter, r *http.Request, who Caller, patterns, unknown []string, requestID string, start time.Time) {
	in := streamRequest{LiveTail: true}
	if len(patterns) > 0 {
		in.EventPattern = &patterns[0]
	}
	body, _ := json.Marshal(in)
	c := &call{op: streamOp, principal: who.Principal, region: who.Region, body: body, requestID: requestID, r: r}
	var sub *tail.Subscription
	_, err := s.invoke(c, func(ctx context.Context, c *call) (any, error) {
		if len(unknown) > 0 {
			return nil, awsproto.Errorf(awsproto.InvalidParameterException, "Unknown parameter %q: GET /v1/stream takes only pattern.", unknown[0])
		}
		filter, err := s.streamFilter(c, patterns)
		if err != nil {
			return nil, err
		}
		sub, err = s.opts.Tail.Subscribe(ctx, c.principal.AccessKeyID, filter)
		switch {
		case errors.Is(err, tail.ErrTooMany):
			return nil, streamsExhausted()
		case errors.Is(err, tail.ErrClosed):
			return nil, &awsproto.Error{Code: awsproto.ServiceUnavailableException, Message: "The server is shutting down.", Status: http.StatusServiceUnavailable}
		}
		return nil, err
	})
	if err != nil {
		s.answerFailure(w, streamOp, requestID, start, err)
		return
	}
	defer sub.Close()
	s.opts.Metrics.Request(streamOp, "OK", time.Since(start))
	w.Header().Set("X-Amzn-RequestId", requestID)
	if err := tail.Stream(r.Context(), w, sub, s.opts.TailStream); err != nil {
		s.opts.Log.Debug("server: stream ended", "requestId", requestID, "err", err)
	}
}

// streamFilter is what a stream of c takes: the events of c's account and
// region that event history shows (management and insight events, as
// LookupEvents reads them) and that match the pattern, if any.
func (s *Server) streamFilter(c *call, patterns []string) (tail.Filter, error) {
	var match tail.Filter
	switch {
	case len(patterns) > 1:
		return nil, awsproto.Errorf(awsproto.InvalidParameterException, "Give at most one pattern.")
	case len(patterns) == 1:
		var err error
		if match, err = tail.Pattern(patterns[0]); err != nil {
			// The matcher's message says where and what (e.g. "event
			// pattern: at detail.eventName[0]: unknown operator").
			return nil, awsproto.Errorf(awsproto.InvalidParameterException, "%v", err)
		}
	}
	account, region := c.principal.Account, c.region
	return func(ev *tail.Entry) (bool, error) {
		if ev.Account != account || ev.Region != region || !ev.InEventHistory() {
			return false, nil
		}
		if match == nil {
			return true, nil
		}
		return match(ev)
	}, nil
}

// streamsExhausted is the answer beyond the stream limits: HTTP 429, as
// other requests beyond capacity are answered.
func streamsExhausted() *awsproto.Error {
	e := tooManyRequests()
	e.Message = "Too many live tail streams are open (of this access key, or on this server). Close one and try again."
	return e
}
