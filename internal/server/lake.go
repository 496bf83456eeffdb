package server

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/lake"
	"github.com/cairn-audit/cairn/internal/trail"
)

// The CloudTrail Lake operations: event data stores and queries over them.
// Their rules live in package lake.

// lakeOps are the operations, when the server has Options.Lake.
func (s *Server) lakeOps() map[string]operation {
	if s.opts.Lake == nil {
		return nil
	}
	return map[string]operation{
		"CreateEventDataStore":         write(s.createEventDataStore),
		"GetEventDataStore":            read(s.getEventDataStore),
		"ListEventDataStores":          read(s.listEventDataStores),
		"UpdateEventDataStore":         write(s.updateEventDataStore),
		"DeleteEventDataStore":         write(s.deleteEventDataStore),
		"RestoreEventDataStore":        write(s.restoreEventDataStore),
		"StartEventDataStoreIngestion": write(s.setIngestion(true)),
		"StopEventDataStoreIngestion":  write(s.setIngestion(false)),
		// StartQuery is recorded as CloudTrail records it: readOnly true,
		// since it reads events and changes no resource.
		"StartQuery":      read(s.startQuery),
		"DescribeQuery":   read(s.describeQuery),
		"GetQueryResults": read(s.getQueryResults),
		"ListQueries":     read(s.listQueries),
		"CancelQuery":     write(s.cancelQuery),
	}
}

func lakeCaller(c *call) lake.Caller {
	return lake.Caller{Account: c.principal.Account, Region: c.region}
}

// aboutStore names the event data store a call was about, for its audit
// record.
func (c *call) aboutStore(arn string) {
	if arn != "" {
		c.resources = []event.Resource{{ARN: arn, Type: "AWS::CloudTrail::EventDataStore"}}
	}
}

// aboutStores names the event data stores a query reads (by ID, as
// lake.Query.Stores holds them) for its audit record. Each is looked up in
// the caller's own account, so a record never names another account's
// store; one gone since the query ran is left out.
func (s *Server) aboutStores(ctx context.Context, c *call, ids []string) {
	var rs []event.Resource
	for _, id := range ids {
		d, err := s.opts.Lake.Get(ctx, lakeCaller(c), &id)
		if err != nil {
			continue
		}
		rs = append(rs, event.Resource{ARN: d.ARN, Type: "AWS::CloudTrail::EventDataStore"})
	}
	slices.SortFunc(rs, func(a, b event.Resource) int { return strings.Compare(a.ARN, b.ARN) })
	c.resources = rs
}

// aboutQuery names the stores of the caller's query id, for the audit
// record of a call about it; an unknown query names none.
func (s *Server) aboutQuery(ctx context.Context, c *call, id *string) {
	if q, err := s.opts.Lake.Describe(ctx, lakeCaller(c), id); err == nil {
		s.aboutStores(ctx, c, q.Stores)
	}
}

// DataStoreOutput is the answer of Create/Get/Update/RestoreEventDataStore.
type DataStoreOutput struct {
	EventDataStoreArn            string
	Name                         string
	Status                       string
	AdvancedEventSelectors       []trail.AdvancedEventSelector
	MultiRegionEnabled           bool
	OrganizationEnabled          bool
	RetentionPeriod              int
	TerminationProtectionEnabled bool
	TagsList                     []trail.Tag `json:",omitempty"`
	CreatedTimestamp             awsproto.Time
	UpdatedTimestamp             awsproto.Time
	BillingMode                  string
}

func dataStoreOutput(d *lake.DataStore) DataStoreOutput {
	sel := d.Selectors
	if sel == nil {
		sel = lake.DefaultSelectors()
	}
	return DataStoreOutput{EventDataStoreArn: d.ARN, Name: d.Name, Status: d.Status, AdvancedEventSelectors: sel,
		MultiRegionEnabled: d.MultiRegion, OrganizationEnabled: d.Organization, RetentionPeriod: d.RetentionDays,
		TerminationProtectionEnabled: d.TerminationProtection, CreatedTimestamp: awsproto.Time{Time: d.Created},
		UpdatedTimestamp: awsproto.Time{Time: d.Updated}, BillingMode: d.BillingMode}
}

// DataStoreInput names an event data store.
type DataStoreInput struct {
	EventDataStore *string
}

func (s *Server) createEventDataStore(ctx context.Context, c *call, in lake.CreateInput) (DataStoreOutput, error) {
	d, err := s.opts.Lake.Create(ctx, lakeCaller(c), in)
	if err != nil {
		return DataStoreOutput{}, err
	}
	c.aboutStore(d.ARN)
	out := dataStoreOutput(d)
	out.TagsList = d.Tags
	return out, nil
}

func (s *Server) getEventDataStore(ctx context.Context, c *call, in DataStoreInput) (DataStoreOutput, error) {
	d, err := s.opts.Lake.Get(ctx, lakeCaller(c), in.EventDataStore)
	if err != nil {
		return DataStoreOutput{}, err
	}
	c.aboutStore(d.ARN)
	return dataStoreOutput(d), nil
}

func (s *Server) updateEventDataStore(ctx context.Context, c *call, in lake.UpdateInput) (DataStoreOutput, error) {
	d, err := s.opts.Lake.Update(ctx, lakeCaller(c), in)
	if err != nil {
		return DataStoreOutput{}, err
	}
	c.aboutStore(d.ARN)
	return dataStoreOutput(d), nil
}

func (s *Server) deleteEventDataStore(ctx context.Context, c *call, in DataStoreInput) (empty, error) {
	d, err := s.opts.Lake.Delete(ctx, lakeCaller(c), in.EventDataStore)
	if err != nil {
		return empty{}, err
	}
	c.aboutStore(d.ARN)
	return empty{}, nil
}

func (s *Server) restoreEventDataStore(ctx context.Context, c *call, in DataStoreInput) (DataStoreOutput, error) {
	d, err := s.opts.Lake.Restore(ctx, lakeCaller(c), in.EventDataStore)
	if err != nil {
		return DataStoreOutput{}, err
	}
	c.aboutStore(d.ARN)
	return dataStoreOutput(d), nil
}

func (s *Server) setIngestion(on bool) handler[DataStoreInput, empty] {
	return func(ctx context.Context, c *call, in DataStoreInput) (empty, error) {
		d, err := s.opts.Lake.SetIngestion(ctx, lakeCaller(c), in.EventDataStore, on)
		if err != nil {
			return empty{}, err
		}
		c.aboutStore(d.ARN)
		return empty{}, nil
	}
}

// ListDataStoresInput is ListEventDataStoresRequest.
type ListDataStoresInput struct {
	NextToken  *string
	MaxResults *int
}

// ListedDataStore is one entry of ListEventDataStores.
type ListedDataStore struct {
	EventDataStoreArn            string
	Name                         string
	TerminationProtectionEnabled bool
	Status                       string
	AdvancedEventSelectors       []trail.AdvancedEventSelector
	MultiRegionEnabled           bool
	OrganizationEnabled          bool
	RetentionPeriod              int
	CreatedTimestamp             awsproto.Time
	UpdatedTimestamp             awsproto.Time
}

// ListDataStoresOutput is ListEventDataStoresResponse.
type ListDataStoresOutput struct {
	EventDataStores []ListedDataStore
	NextToken       string `json:",omitempty"`
}

// A ListEventDataStores token is base64 of "eds:<offset>".
func (s *Server) listEventDataStores(ctx context.Context, c *call, in ListDataStoresInput) (ListDataStoresOutput, error) {
	n := 1000
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return ListDataStoresOutput{}, awsproto.Errorf(awsproto.InvalidMaxResultsException, "MaxResults must be 1 to 1000; got %d.", *in.MaxResults)
		}
		n = *in.MaxResults
	}
	list, err := s.opts.Lake.List(ctx, lakeCaller(c))
	if err != nil {
		return ListDataStoresOutput{}, err
	}
	from := 0
	if in.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err == nil && len(b) > 4 && string(b[:4]) == "eds:" {
			from, err = strconv.Atoi(string(b[4:]))
		}
		if err != nil || len(b) <= 4 || from < 0 || from > len(list) {
			return ListDataStoresOutput{}, awsproto.Errorf(awsproto.InvalidNextTokenException, "NextToken was not made by ListEventDataStores.")
		}
	}
	to := min(from+n, len(list))
	out := ListDataStoresOutput{EventDataStores: []ListedDataStore{}}
	for _, d := range list[from:to] {
		o := dataStoreOutput(d)
		out.EventDataStores = append(out.EventDataStores, ListedDataStore{EventDataStoreArn: o.EventDataStoreArn, Name: o.Name,
			TerminationProtectionEnabled: o.TerminationProtectionEnabled, Status: o.Status, AdvancedEventSelectors: o.AdvancedEventSelectors,
			MultiRegionEnabled: o.MultiRegionEnabled, OrganizationEnabled: o.OrganizationEnabled, RetentionPeriod: o.RetentionPeriod,
			CreatedTimestamp: o.CreatedTimestamp, UpdatedTimestamp: o.UpdatedTimestamp})
	}
	if to < len(list) {
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte("eds:" + strconv.Itoa(to)))
	}
	return out, nil
}

// StartQueryOutput is StartQueryResponse.
type StartQueryOutput struct {
	QueryId                      string
	EventDataStoreOwnerAccountId string `json:",omitempty"`
}

func (s *Server) startQuery(ctx context.Context, c *call, in lake.StartInput) (StartQueryOutput, error) {
	q, err := s.opts.Lake.Start(ctx, lakeCaller(c), in)
	if err != nil {
		return StartQueryOutput{}, err
	}
	// CloudTrail records StartQuery's queryId though the call is
	// read-only, and the stores it reads as its resources.
	s.aboutStores(ctx, c, q.Stores)
	c.responseElements = struct{ QueryId string }{q.ID}
	return StartQueryOutput{QueryId: q.ID, EventDataStoreOwnerAccountId: str(in.EventDataStoreOwnerAccountId)}, nil
}

// QueryInput names a query (DescribeQuery, CancelQuery).
type QueryInput struct {
	EventDataStore               *string
	QueryId                      *string
	QueryAlias                   *string
	RefreshId                    *string
	EventDataStoreOwnerAccountId *string
}

// DescribeQueryOutput is DescribeQueryResponse.
type DescribeQueryOutput struct {
	QueryId         string
	QueryString     string
	QueryStatus     string
	QueryStatistics DescribeQueryStatistics
	ErrorMessage    string `json:",omitempty"`
}

// DescribeQueryStatistics is QueryStatisticsForDescribeQuery.
type DescribeQueryStatistics struct {
	EventsMatched         int64
	EventsScanned         int64
	BytesScanned          int64
	ExecutionTimeInMillis int64
	CreationTime          awsproto.Time
}

// checkQueryInput refuses what Cairn cannot answer a query by.
func checkQueryInput(c *call, in QueryInput) error {
	if in.QueryAlias != nil || in.RefreshId != nil {
		return awsproto.Errorf(awsproto.UnsupportedOperationException, "Cairn has no saved queries or dashboards: name the query by QueryId.")
	}
	if in.EventDataStoreOwnerAccountId != nil && *in.EventDataStoreOwnerAccountId != c.principal.Account {
		return awsproto.Errorf(awsproto.EventDataStoreNotFoundException, "Account %s has shared no event data store with this account.", *in.EventDataStoreOwnerAccountId)
	}
	return nil
}

func (s *Server) describeQuery(ctx context.Context, c *call, in QueryInput) (DescribeQueryOutput, error) {
	if err := checkQueryInput(c, in); err != nil {
		return DescribeQueryOutput{}, err
	}
	q, err := s.opts.Lake.Describe(ctx, lakeCaller(c), in.QueryId)
	if err != nil {
		return DescribeQueryOutput{}, err
	}
	s.aboutStores(ctx, c, q.Stores)
	return DescribeQueryOutput{QueryId: q.ID, QueryString: q.Statement, QueryStatus: q.Status, ErrorMessage: q.Error,
		QueryStatistics: DescribeQueryStatistics{EventsMatched: q.EventsMatched, EventsScanned: q.EventsScanned,
			BytesScanned: q.BytesScanned, ExecutionTimeInMillis: q.ExecMillis, CreationTime: awsproto.Time{Time: q.Created}}}, nil
}

// ResultsInput is GetQueryResultsRequest.
type ResultsInput struct {
	EventDataStore               *string
	QueryId                      *string
	NextToken                    *string
	MaxQueryResults              *int
	EventDataStoreOwnerAccountId *string
}

// ResultsOutput is GetQueryResultsResponse: each row a list of one-entry
// maps, column name to value, in the columns' order (a NULL is null).
type ResultsOutput struct {
	QueryStatus     string
	QueryStatistics ResultsStatistics
	QueryResultRows [][]map[string]*string
	NextToken       string `json:",omitempty"`
	ErrorMessage    string `json:",omitempty"`
}

// ResultsStatistics is QueryStatistics.
type ResultsStatistics struct {
	ResultsCount      int
	TotalResultsCount int
	BytesScanned      int64
}

func (s *Server) getQueryResults(ctx context.Context, c *call, in ResultsInput) (ResultsOutput, error) {
	if err := checkQueryInput(c, QueryInput{EventDataStoreOwnerAccountId: in.EventDataStoreOwnerAccountId}); err != nil {
		return ResultsOutput{}, err
	}
	if in.QueryId == nil {
		return ResultsOutput{}, awsproto.Errorf(awsproto.InvalidParameterException, "QueryId is required.")
	}
	s.aboutQuery(ctx, c, in.QueryId)
	p, err := s.opts.Lake.ResultsIn(ctx, lakeCaller(c), in.EventDataStore, in.QueryId, in.NextToken, in.MaxQueryResults)
	if err != nil {
		return ResultsOutput{}, err
	}
	q := p.Query
	out := ResultsOutput{QueryStatus: q.Status, ErrorMessage: q.Error, NextToken: p.NextToken,
		QueryStatistics: ResultsStatistics{ResultsCount: len(p.Rows), TotalResultsCount: q.Rows, BytesScanned: q.BytesScanned},
		QueryResultRows: make([][]map[string]*string, len(p.Rows))}
	for i, r := range p.Rows {
		row := make([]map[string]*string, len(r))
		for j, v := range r {
			name := ""
			if j < len(q.Columns) {
				name = q.Columns[j]
			}
			row[j] = map[string]*string{name: v}
		}
		out.QueryResultRows[i] = row
	}
	return out, nil
}

// ListQueriesOutput is ListQueriesResponse.
type ListQueriesOutput struct {
	Queries   []ListedQuery
	NextToken string `json:",omitempty"`
}

// ListedQuery is one entry of ListQueries.
type ListedQuery struct {
	QueryId      string
	QueryStatus  string
	CreationTime awsproto.Time
}

func (s *Server) listQueries(ctx context.Context, c *call, in lake.ListInput) (ListQueriesOutput, error) {
	if d, err := s.opts.Lake.Get(ctx, lakeCaller(c), in.EventDataStore); err == nil {
		c.aboutStore(d.ARN)
	}
	list, next, err := s.opts.Lake.ListQueries(ctx, lakeCaller(c), in)
	if err != nil {
		return ListQueriesOutput{}, err
	}
	out := ListQueriesOutput{Queries: make([]ListedQuery, len(list)), NextToken: next}
	for i, q := range list {
		out.Queries[i] = ListedQuery{QueryId: q.ID, QueryStatus: q.Status, CreationTime: awsproto.Time{Time: q.Created}}
	}
	return out, nil
}

// CancelQueryOutput is CancelQueryResponse.
type CancelQueryOutput struct {
	QueryId                      string
	QueryStatus                  string
	EventDataStoreOwnerAccountId string `json:",omitempty"`
}

func (s *Server) cancelQuery(ctx context.Context, c *call, in QueryInput) (CancelQueryOutput, error) {
	if err := checkQueryInput(c, in); err != nil {
		return CancelQueryOutput{}, err
	}
	s.aboutQuery(ctx, c, in.QueryId)
	q, err := s.opts.Lake.Cancel(ctx, lakeCaller(c), in.QueryId)
	if err != nil {
		return CancelQueryOutput{}, err
	}
	return CancelQueryOutput{QueryId: q.ID, QueryStatus: q.Status, EventDataStoreOwnerAccountId: str(in.EventDataStoreOwnerAccountId)}, nil
}

// lakeTagChange adds or removes an event data store's tags.
type lakeTagChange func(ctx context.Context, c lake.Caller, ref string, tags []trail.Tag) (*lake.DataStore, error)

// lakeTags is the Lake's AddTags (add) or RemoveTags; nil without a Lake
// (changeTags then never calls it).
func (s *Server) lakeTags(add bool) lakeTagChange {
	if s.opts.Lake == nil {
		return nil
	}
	if add {
		return s.opts.Lake.AddTags
	}
	return s.opts.Lake.RemoveTags
}

// The Lake's imports: StartImport, GetImport, ListImports, StopImport,
// ListImportFailures.
func (s *Server) importOps() map[string]operation {
	if s.opts.Lake == nil {
		return nil
	}
	return map[string]operation{
		"StartImport":        write(s.startImport),
		"StopImport":         write(s.stopImport),
		"GetImport":          read(s.getImport),
		"ListImports":        read(s.listImports),
		"ListImportFailures": read(s.listImportFailures),
	}
}

// ImportSourceShape is ImportSource.
type ImportSourceShape struct {
	S3 lake.ImportSource
}

// ImportOutput is the answer of StartImport, GetImport and StopImport.
type ImportOutput struct {
	ImportId         string
	Destinations     []string
	ImportSource     ImportSourceShape
	StartEventTime   *awsproto.Time `json:",omitempty"`
	EndEventTime     *awsproto.Time `json:",omitempty"`
	ImportStatus     string
	CreatedTimestamp awsproto.Time
	UpdatedTimestamp awsproto.Time
	ImportStatistics *lake.ImportStats `json:",omitempty"`
}

func importOutput(im *lake.Import, stats bool) ImportOutput {
	out := ImportOutput{ImportId: im.ID, Destinations: []string{im.Destination}, ImportSource: ImportSourceShape{S3: im.Source},
		StartEventTime: awsproto.NewTime(im.Start), EndEventTime: awsproto.NewTime(im.End), ImportStatus: im.Status,
		CreatedTimestamp: awsproto.Time{Time: im.Created}, UpdatedTimestamp: awsproto.Time{Time: im.Updated}}
	if stats {
		st := im.Stats
		out.ImportStatistics = &st
	}
	return out
}

func (s *Server) startImport(ctx context.Context, c *call, in lake.StartImportInput) (ImportOutput, error) {
	im, err := s.opts.Lake.StartImport(ctx, lakeCaller(c), in)
	if err != nil {
		return ImportOutput{}, err
	}
	c.aboutStore(im.Destination)
	return importOutput(im, false), nil
}

// ImportInput names an import.
type ImportInput struct {
	ImportId *string
}

func (s *Server) getImport(ctx context.Context, c *call, in ImportInput) (ImportOutput, error) {
	im, err := s.opts.Lake.GetImport(ctx, lakeCaller(c), in.ImportId)
	if err != nil {
		return ImportOutput{}, err
	}
	return importOutput(im, true), nil
}

func (s *Server) stopImport(ctx context.Context, c *call, in ImportInput) (ImportOutput, error) {
	im, err := s.opts.Lake.StopImport(ctx, lakeCaller(c), in.ImportId)
	if err != nil {
		return ImportOutput{}, err
	}
	c.aboutStore(im.Destination)
	return importOutput(im, true), nil
}

// ListImportsInput is ListImportsRequest.
type ListImportsInput struct {
	MaxResults   *int
	Destination  *string
	ImportStatus *string
	NextToken    *string
}

// ListedImport is ImportsListItem.
type ListedImport struct {
	ImportId         string
	ImportStatus     string
	Destinations     []string
	CreatedTimestamp awsproto.Time
	UpdatedTimestamp awsproto.Time
}

// ListImportsOutput is ListImportsResponse.
type ListImportsOutput struct {
	Imports   []ListedImport
	NextToken string `json:",omitempty"`
}

// page reads a list's MaxResults and NextToken (base64 of "<what>:<offset>")
// and returns the bounds of the page of n items and the next token.
func page(what string, max *int, token *string, n int) (from, to int, next string, err error) {
	size := 1000
	if max != nil {
		if *max < 1 || *max > 1000 {
			return 0, 0, "", awsproto.Errorf(awsproto.InvalidMaxResultsException, "MaxResults must be 1 to 1000; got %d.", *max)
		}
		size = *max
	}
	if token != nil {
		b, derr := base64.RawURLEncoding.DecodeString(*token)
		rest, ok := strings.CutPrefix(string(b), what+":")
		from, err = strconv.Atoi(rest)
		if derr != nil || !ok || err != nil || from < 0 || from > n {
			return 0, 0, "", awsproto.Errorf(awsproto.InvalidNextTokenException, "NextToken was not made by this operation.")
		}
	}
	to = min(from+size, n)
	if to < n {
		next = base64.RawURLEncoding.EncodeToString([]byte(what + ":" + strconv.Itoa(to)))
	}
	return from, to, next, nil
}

func (s *Server) listImports(ctx context.Context, c *call, in ListImportsInput) (ListImportsOutput, error) {
	list, err := s.opts.Lake.ListImports(ctx, lakeCaller(c), in.Destination, in.ImportStatus)
	if err != nil {
		return ListImportsOutput{}, err
	}
	from, to, next, err := page("imports", in.MaxResults, in.NextToken, len(list))
	if err != nil {
		return ListImportsOutput{}, err
	}
	out := ListImportsOutput{Imports: []ListedImport{}, NextToken: next}
	for _, im := range list[from:to] {
		out.Imports = append(out.Imports, ListedImport{ImportId: im.ID, ImportStatus: im.Status, Destinations: []string{im.Destination},
			CreatedTimestamp: awsproto.Time{Time: im.Created}, UpdatedTimestamp: awsproto.Time{Time: im.Updated}})
	}
	return out, nil
}

// ListImportFailuresInput is ListImportFailuresRequest.
type ListImportFailuresInput struct {
	ImportId   *string
	MaxResults *int
	NextToken  *string
}

// ListedImportFailure is ImportFailureListItem.
type ListedImportFailure struct {
	Location        string
	Status          string
	ErrorType       string
	ErrorMessage    string
	LastUpdatedTime awsproto.Time
}

// ListImportFailuresOutput is ListImportFailuresResponse.
type ListImportFailuresOutput struct {
	Failures  []ListedImportFailure
	NextToken string `json:",omitempty"`
}

func (s *Server) listImportFailures(ctx context.Context, c *call, in ListImportFailuresInput) (ListImportFailuresOutput, error) {
	im, err := s.opts.Lake.GetImport(ctx, lakeCaller(c), in.ImportId)
	if err != nil {
		return ListImportFailuresOutput{}, err
	}
	from, to, next, err := page("failures", in.MaxResults, in.NextToken, len(im.Failures))
	if err != nil {
		return ListImportFailuresOutput{}, err
	}
	out := ListImportFailuresOutput{Failures: []ListedImportFailure{}, NextToken: next}
	for _, f := range im.Failures[from:to] {
		out.Failures = append(out.Failures, ListedImportFailure{Location: f.Location, Status: f.Status, ErrorType: f.ErrorType,
			ErrorMessage: f.ErrorMessage, LastUpdatedTime: awsproto.Time{Time: f.Updated}})
	}
	return out, nil
}
