package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/lake"
	"github.com/cairn-audit/cairn/internal/trail"
)

// The typed API: CloudTrail operations called in Go by a principal that is
// already authenticated (the console's session), with typed requests and
// answers. Each call is authorized, rate-limited and recorded exactly as
// the same operation sent as a signed HTTP request, and runs the same
// handler; only the decoding and encoding of the HTTP body are left out.

// Caller is who makes a typed call, and from where.
type Caller struct {
	// Principal is the authenticated caller.
	Principal *auth.Principal
	// Region is the region the call is made in.
	Region string
	// Request gives the caller's address, user agent and TLS, for the
	// call's audit record (required); its body is not read.
	Request *http.Request
}

// invokeTyped runs op for who on in through h: authorized, run and audited
// as invoke does an HTTP request's. The request is encoded only for the
// audit record's requestParameters.
func invokeTyped[In, Out any](ctx context.Context, s *Server, who Caller, op string, in In, h handler[In, Out]) (Out, error) {
	var out Out
	body, err := json.Marshal(in)
	if err != nil {
		return out, fmt.Errorf("server: %s request: %w", op, err)
	}
	c := &call{op: op, principal: who.Principal, region: who.Region, body: body, requestID: newRequestID(), r: who.Request.WithContext(ctx)}
	_, err = s.invoke(c, func(ctx context.Context, c *call) (any, error) {
		var err error
		out, err = h(ctx, c, in)
		return out, err
	})
	return out, err
}

// LookupEvents runs LookupEvents for who.
func (s *Server) LookupEvents(ctx context.Context, who Caller, in history.Input) (history.Output, error) {
	return invokeTyped(ctx, s, who, "LookupEvents", in, s.lookupEvents)
}

// LookupEventsPage runs one page of LookupEvents for who and, when asked,
// counts every event of the same filter over the whole range per time
// bucket (the console's table, totals and chart), and may leave out the
// read-only events. It is one LookupEvents call: the same authorization
// and rate, and one audit record whose requestParameters hold the filter,
// the page asked for and the bucket width.
func (s *Server) LookupEventsPage(ctx context.Context, who Caller, in history.PageInput) (history.PageOutput, error) {
	return invokeTyped(ctx, s, who, "LookupEvents", in, func(ctx context.Context, c *call, in history.PageInput) (history.PageOutput, error) {
		return s.opts.History.Page(ctx, c.principal.Account, c.region, in)
	})
}

// LookupEventsExport calls emit with every event of a LookupEvents filter,
// newest first, read from the store a page at a time (a download): one
// LookupEvents call, authorized, rate-counted and recorded once whatever
// the number of events. It stops at emit's first error.
func (s *Server) LookupEventsExport(ctx context.Context, who Caller, in history.ExportInput, emit func(history.Event) error) error {
	_, err := invokeTyped(ctx, s, who, "LookupEvents", in, func(ctx context.Context, c *call, in history.ExportInput) (struct{}, error) {
		return struct{}{}, s.opts.History.Export(ctx, c.principal.Account, c.region, in, emit)
	})
	return err
}

// CreateTrail runs CreateTrail for who.
func (s *Server) CreateTrail(ctx context.Context, who Caller, in trail.CreateTrailInput) (TrailOutput, error) {
	return invokeTyped(ctx, s, who, "CreateTrail", in, s.createTrail)
}

// UpdateTrail runs UpdateTrail for who.
func (s *Server) UpdateTrail(ctx context.Context, who Caller, in trail.UpdateTrailInput) (TrailOutput, error) {
	return invokeTyped(ctx, s, who, "UpdateTrail", in, s.updateTrail)
}

// DeleteTrail runs DeleteTrail for who.
func (s *Server) DeleteTrail(ctx context.Context, who Caller, in NameInput) error {
	_, err := invokeTyped(ctx, s, who, "DeleteTrail", in, s.deleteTrail)
	return err
}

// GetTrail runs GetTrail for who.
func (s *Server) GetTrail(ctx context.Context, who Caller, in NameInput) (GetTrailOutput, error) {
	return invokeTyped(ctx, s, who, "GetTrail", in, s.getTrail)
}

// DescribeTrails runs DescribeTrails for who.
func (s *Server) DescribeTrails(ctx context.Context, who Caller, in DescribeTrailsInput) (DescribeTrailsOutput, error) {
	return invokeTyped(ctx, s, who, "DescribeTrails", in, s.describeTrails)
}

// GetTrailStatus runs GetTrailStatus for who.
func (s *Server) GetTrailStatus(ctx context.Context, who Caller, in NameInput) (StatusOutput, error) {
	return invokeTyped(ctx, s, who, "GetTrailStatus", in, s.getTrailStatus)
}

// StartLogging runs StartLogging for who.
func (s *Server) StartLogging(ctx context.Context, who Caller, in NameInput) error {
	_, err := invokeTyped(ctx, s, who, "StartLogging", in, s.startLogging)
	return err
}

// StopLogging runs StopLogging for who.
func (s *Server) StopLogging(ctx context.Context, who Caller, in NameInput) error {
	_, err := invokeTyped(ctx, s, who, "StopLogging", in, s.stopLogging)
	return err
}

// PutEventSelectors runs PutEventSelectors for who.
func (s *Server) PutEventSelectors(ctx context.Context, who Caller, in PutEventSelectorsInput) (SelectorsOutput, error) {
	return invokeTyped(ctx, s, who, "PutEventSelectors", in, s.putEventSelectors)
}

// GetEventSelectors runs GetEventSelectors for who.
func (s *Server) GetEventSelectors(ctx context.Context, who Caller, in GetEventSelectorsInput) (SelectorsOutput, error) {
	return invokeTyped(ctx, s, who, "GetEventSelectors", in, s.getEventSelectors)
}

// AddTags runs AddTags for who.
func (s *Server) AddTags(ctx context.Context, who Caller, in TagsInput) error {
	_, err := invokeTyped(ctx, s, who, "AddTags", in, s.changeTags(s.opts.Trails.AddTags, s.lakeTags(true)))
	return err
}

// RemoveTags runs RemoveTags for who.
func (s *Server) RemoveTags(ctx context.Context, who Caller, in TagsInput) error {
	_, err := invokeTyped(ctx, s, who, "RemoveTags", in, s.changeTags(s.opts.Trails.RemoveTags, s.lakeTags(false)))
	return err
}

// ListTags runs ListTags for who.
func (s *Server) ListTags(ctx context.Context, who Caller, in ListTagsInput) (ListTagsOutput, error) {
	return invokeTyped(ctx, s, who, "ListTags", in, s.listTags)
}

// PutInsightSelectors runs PutInsightSelectors for who.
func (s *Server) PutInsightSelectors(ctx context.Context, who Caller, in PutInsightSelectorsInput) (InsightsOutput, error) {
	return invokeTyped(ctx, s, who, "PutInsightSelectors", in, s.putInsightSelectors)
}

// GetInsightSelectors runs GetInsightSelectors for who.
func (s *Server) GetInsightSelectors(ctx context.Context, who Caller, in GetInsightSelectorsInput) (InsightsOutput, error) {
	return invokeTyped(ctx, s, who, "GetInsightSelectors", in, s.getInsightSelectors)
}

// ListEventDataStores runs ListEventDataStores for who.
func (s *Server) ListEventDataStores(ctx context.Context, who Caller, in ListDataStoresInput) (ListDataStoresOutput, error) {
	return invokeTyped(ctx, s, who, "ListEventDataStores", in, s.listEventDataStores)
}

// GetEventDataStore runs GetEventDataStore for who.
func (s *Server) GetEventDataStore(ctx context.Context, who Caller, in DataStoreInput) (DataStoreOutput, error) {
	return invokeTyped(ctx, s, who, "GetEventDataStore", in, s.getEventDataStore)
}

// StartQuery runs StartQuery for who.
func (s *Server) StartQuery(ctx context.Context, who Caller, in lake.StartInput) (StartQueryOutput, error) {
	return invokeTyped(ctx, s, who, "StartQuery", in, s.startQuery)
}

// DescribeQuery runs DescribeQuery for who.
func (s *Server) DescribeQuery(ctx context.Context, who Caller, in QueryInput) (DescribeQueryOutput, error) {
	return invokeTyped(ctx, s, who, "DescribeQuery", in, s.describeQuery)
}

// GetQueryResults runs GetQueryResults for who.
func (s *Server) GetQueryResults(ctx context.Context, who Caller, in ResultsInput) (ResultsOutput, error) {
	return invokeTyped(ctx, s, who, "GetQueryResults", in, s.getQueryResults)
}

// GetQueryResultsExport streams a query's whole result (the console's
// CSV download): start is called once with the query's status and
// columns, then, for a finished query, row with each row in order, read a
// page at a time. It is one GetQueryResults call, authorized,
// rate-counted and recorded once whatever the number of rows, and stops
// at start's or row's first error.
func (s *Server) GetQueryResultsExport(ctx context.Context, who Caller, in QueryInput, start func(status string, columns []string) error, row func([]*string) error) error {
	_, err := invokeTyped(ctx, s, who, "GetQueryResults", in, func(ctx context.Context, c *call, in QueryInput) (empty, error) {
		if err := checkQueryInput(c, in); err != nil {
			return empty{}, err
		}
		var token *string
		for first := true; ; first = false {
			p, err := s.opts.Lake.Results(ctx, lakeCaller(c), in.QueryId, token, nil)
			if err != nil {
				return empty{}, err
			}
			if first {
				if err := start(p.Query.Status, p.Query.Columns); err != nil {
					return empty{}, err
				}
			}
			for _, r := range p.Rows {
				if err := row(r); err != nil {
					return empty{}, err
				}
			}
			if p.NextToken == "" {
				return empty{}, nil
			}
			token = &p.NextToken
		}
	})
	return err
}

// ListQueries runs ListQueries for who.
func (s *Server) ListQueries(ctx context.Context, who Caller, in lake.ListInput) (ListQueriesOutput, error) {
	return invokeTyped(ctx, s, who, "ListQueries", in, s.listQueries)
}

// CancelQuery runs CancelQuery for who.
func (s *Server) CancelQuery(ctx context.Context, who Caller, in QueryInput) (CancelQueryOutput, error) {
	return invokeTyped(ctx, s, who, "CancelQuery", in, s.cancelQuery)
}
