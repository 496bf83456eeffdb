package lake

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/store"
)

// Query status values (QueryStatus).
const (
	QueryQueued    = "QUEUED"
	QueryRunning   = "RUNNING"
	QueryFinished  = "FINISHED"
	QueryFailed    = "FAILED"
	QueryCancelled = "CANCELLED"
	QueryTimedOut  = "TIMED_OUT"
)

var queryStatuses = []string{QueryQueued, QueryRunning, QueryFinished, QueryFailed, QueryCancelled, QueryTimedOut}

const (
	queryPrefix  = "lake/query/"
	resultPrefix = "lake/result/"
	// chunkRows is how many result rows one state document holds.
	chunkRows = 1000
)

// Query is a query as kept in its state document
// (lake/query/<account>/<id>); its rows are kept in chunks of chunkRows
// (lake/result/<id>/<n>), written before the query shows FINISHED.
type Query struct {
	ID        string
	Account   string
	Region    string
	Statement string
	// Stores are the IDs of the stores the query reads.
	Stores  []string
	Status  string
	Error   string `json:",omitempty"`
	Node    string
	Created time.Time
	// Started is when the query began to run (zero while QUEUED).
	Started time.Time `json:",omitzero"`
	// Seq is the log's end when the query was made: it sees every event
	// acknowledged before it.
	Seq           int64
	EventsMatched int64
	EventsScanned int64
	BytesScanned  int64
	ExecMillis    int64
	Columns       []string `json:",omitempty"`
	Rows          int
	Chunks        int
	// ResultBytes is the size of the kept rows (as chunk counts them);
	// ResultsExpired says they were removed to keep the account's results
	// under MaxKeptResultBytes (see makeRoom).
	ResultBytes    int64 `json:",omitempty"`
	ResultsExpired bool  `json:",omitempty"`

	version int64
}

// ended reports whether the query has come to an end.
func (q *Query) ended() bool {
	return q.Status != QueryQueued && q.Status != QueryRunning
}

func queryKey(account, id string) string { return queryPrefix + account + "/" + id }

func chunkKey(id string, n int) string { return fmt.Sprintf("%s%s/%06d", resultPrefix, id, n) }

// StartInput is StartQueryRequest.
type StartInput struct {
	QueryStatement               *string
	DeliveryS3Uri                *string
	QueryAlias                   *string
	QueryParameters              []string
	EventDataStoreOwnerAccountId *string
}

// Start checks a statement and queues it to run on this node (StartQuery).
func (s *Service) Start(ctx context.Context, c Caller, in StartInput) (*Query, error) {
	switch {
	case in.QueryAlias != nil || in.QueryParameters != nil:
		return nil, awsproto.Errorf(awsproto.UnsupportedOperationException,
			"Cairn has no saved queries: give the SQL in QueryStatement (QueryAlias and QueryParameters are not supported).")
	case in.DeliveryS3Uri != nil:
		return nil, awsproto.Errorf(awsproto.UnsupportedOperationException,
			"Cairn does not deliver query results to S3; leave DeliveryS3Uri out and read them with GetQueryResults.")
	case in.QueryStatement == nil || strings.TrimSpace(*in.QueryStatement) == "":
		return nil, awsproto.Errorf(awsproto.InvalidParameterException, "QueryStatement is required.")
	case utf8.RuneCountInString(*in.QueryStatement) > 10000:
		return nil, awsproto.Errorf(awsproto.InvalidParameterException, "QueryStatement is %d characters; the limit is 10000.", utf8.RuneCountInString(*in.QueryStatement))
	case in.EventDataStoreOwnerAccountId != nil && *in.EventDataStoreOwnerAccountId != c.Account:
		return nil, awsproto.Errorf(awsproto.EventDataStoreNotFoundException,
			"Account %s has shared no event data store with this account.", *in.EventDataStoreOwnerAccountId)
	}
	compiled, err := s.engine.Compile(*in.QueryStatement)
	if err != nil {
		return nil, awsproto.Errorf(awsproto.InvalidQueryStatementException, "%s", err.Error())
	}
	names := compiled.Stores()
	if len(names) == 0 {
		return nil, awsproto.Errorf(awsproto.InvalidQueryStatementException,
			"The query names no event data store: write its ID after FROM, e.g. SELECT eventName FROM <event data store ID>.")
	}
	ids := map[string]string{}
	retention := map[string]int{} // store ID: RetentionDays
	for _, n := range names {
		d, err := s.Get(ctx, c, &n)
		var ae *awsproto.Error
		if errors.As(err, &ae) && ae.Code == awsproto.EventDataStoreARNInvalidException {
			return nil, awsproto.Errorf(awsproto.InvalidQueryStatementException,
				"%q after FROM is not an event data store ID or ARN.", n)
		}
		if err != nil {
			return nil, err
		}
		if d.Status == StatusPendingDeletion {
			return nil, inactive(d)
		}
		ids[n] = d.ID
		retention[d.ID] = d.RetentionDays
	}
	if err := compiled.Check(ids); err != nil {
		return nil, awsproto.Errorf(awsproto.InvalidQueryStatementException, "%s", err.Error())
	}
	unlock := s.starting.lock(c.Account)
	defer unlock()
	if err := s.checkConcurrency(ctx, c); err != nil {
		return nil, err
	}
	seq, err := s.lastSeq(ctx)
	if err != nil {
		return nil, err
	}
	q := &Query{ID: uuid.NewString(), Account: c.Account, Region: c.Region, Statement: *in.QueryStatement,
		Stores: slicesOf(ids), Status: QueryQueued, Node: s.opts.Node, Created: s.now(), Seq: seq}
	// Marked started before it is written, so that failOrphans never
	// takes it for a query this node left behind.
	s.mu.Lock()
	s.started[q.ID] = true
	s.mu.Unlock()
	if err := s.putQuery(ctx, q); err != nil {
		s.mu.Lock()
		delete(s.started, q.ID)
		s.mu.Unlock()
		return nil, err
	}
	s.wg.Add(1)
	mine := *q // the run's own copy: the caller reads q
	go func() {
		defer s.wg.Done()
		s.run(&mine, compiled, ids, retention)
		s.mu.Lock()
		delete(s.started, q.ID)
		s.mu.Unlock()
	}()
	return q, nil
}

func slicesOf(m map[string]string) []string {
	var out []string
	for _, id := range m {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// checkConcurrency refuses a query when the account has
// MaxConcurrentQueries queued or running.
func (s *Service) checkConcurrency(ctx context.Context, c Caller) error {
	qs, err := s.queries(ctx, c.Account)
	if err != nil {
		return err
	}
	n := 0
	for _, q := range qs {
		if !s.view(q).ended() {
			n++
		}
	}
	if n >= s.opts.MaxConcurrentQueries {
		return awsproto.Errorf(awsproto.MaxConcurrentQueriesException,
			"This account has %d queries queued or running, the most it may have; wait for one to end or cancel one.", n)
	}
	return nil
}

// view is q as callers see it: a query whose node went away without
// ending it has timed out — a running one older than the timeout and a
// minute since it started, a queued one older than the longest it may
// wait (for the filler and for a slot) and a minute.
func (s *Service) view(q *Query) *Query {
	limit, since := s.opts.QueryTimeout, q.Started
	if q.Status == QueryQueued || since.IsZero() {
		limit, since = s.opts.FillWait+2*s.opts.QueryTimeout, q.Created
	}
	if !q.ended() && s.now().Sub(since) > limit+time.Minute {
		v := *q
		v.Status, v.Error = QueryTimedOut, "The query did not end within its time limit."
		return &v
	}
	return q
}

// errFillWait and errSlotWait end a query that waited too long before it
// could run.
var (
	errFillWait = errors.New("lake: fill wait")
	errSlotWait = errors.New("lake: slot wait")
)

// run waits, QUEUED, until this node's stores hold every event
// acknowledged before the query (at most FillWait) and for a running slot
// (at most QueryTimeout); then it runs the query RUNNING for at most
// QueryTimeout and records how it ended. Neither wait counts against the
// query's own time limit.
func (s *Service) run(q *Query, compiled Compiled, ids map[string]string, retention map[string]int) {
	base, cancel := context.WithCancel(s.base)
	defer cancel()
	stop := s.watchCancel(base, q, cancel)
	defer stop()
	if err := s.waitFilled(base, q.Seq, q.Stores); err != nil {
		s.finish(q, nil, err, 0)
		return
	}
	release, err := s.waitSlot(base, q.Account)
	if err != nil {
		s.finish(q, nil, err, 0)
		return
	}
	defer release()
	// The run's time counts from when its time limit starts, so that a
	// query that reaches it reports at least query_timeout.
	start := time.Now()
	ctx, cancelRun := context.WithTimeout(base, s.opts.QueryTimeout)
	defer cancelRun()
	if err := s.setRunning(ctx, q); err != nil {
		s.finish(q, nil, err, 0)
		return
	}
	if err := s.expire(ctx, retention); err != nil {
		s.finish(q, nil, err, time.Since(start))
		return
	}
	res, err := compiled.Run(ctx, ids, s.opts.MaxResultRows)
	s.finish(q, res, err, time.Since(start))
}

// expire removes the events of the query's stores that are past their
// retention now, so that a query never sees them (the hourly sweep would
// remove them up to an hour late). The expirer batches these deletes
// across queries and skips a store already cut this second, so that
// queries do not each queue a write on the engine's one writer.
func (s *Service) expire(ctx context.Context, retention map[string]int) error {
	return s.expirer.expire(ctx, retention)
}

// waitFilled waits at most FillWait for the filler to fill stores (the
// query's) to seq.
func (s *Service) waitFilled(ctx context.Context, seq int64, stores []string) error {
	wctx, cancel := context.WithTimeoutCause(ctx, s.opts.FillWait, errFillWait)
	defer cancel()
	if err := s.filler.WaitFilled(wctx, seq, stores...); err != nil {
		if errors.Is(context.Cause(wctx), errFillWait) {
			return errFillWait
		}
		return err
	}
	return nil
}

// waitSlot waits at most QueryTimeout for a running slot.
func (s *Service) waitSlot(ctx context.Context, account string) (func(), error) {
	wctx, cancel := context.WithTimeoutCause(ctx, s.opts.QueryTimeout, errSlotWait)
	defer cancel()
	release, err := s.sched.acquire(wctx, account)
	if err != nil && errors.Is(context.Cause(wctx), errSlotWait) {
		return nil, errSlotWait
	}
	return release, err
}

// watchCancel ends the run's context when the query's document says it
// was cancelled (CancelQuery may be served by any node).
func (s *Service) watchCancel(ctx context.Context, q *Query, cancel context.CancelFunc) (stop func()) {
	done := make(chan struct{})
	account, id := q.Account, q.ID // (run changes *q meanwhile)
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			cur, err := s.loadQuery(context.WithoutCancel(ctx), account, id)
			if err == nil && cur.Status == QueryCancelled {
				cancel()
				return
			}
		}
	}()
	return func() { close(done) }
}

func (s *Service) setRunning(ctx context.Context, q *Query) error {
	cur, err := s.loadQuery(ctx, q.Account, q.ID)
	if err != nil {
		return err
	}
	if cur.Status != QueryQueued {
		return context.Canceled
	}
	cur.Status, cur.Started = QueryRunning, s.now()
	if err := s.putQuery(ctx, cur); err != nil {
		return err
	}
	*q = *cur
	return nil
}

// finish records a run's end: its rows and statistics, or why it failed.
// A query cancelled meanwhile stays CANCELLED.
func (s *Service) finish(q *Query, res *Result, runErr error, ran time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	status, msg := QueryFinished, ""
	switch {
	case runErr == nil:
	case errors.Is(runErr, errFillWait):
		status, msg = QueryTimedOut, fmt.Sprintf("The query did not run: events acknowledged before the query were still being filled into the event data store after %s.", s.opts.FillWait)
	case errors.Is(runErr, errSlotWait):
		status, msg = QueryTimedOut, fmt.Sprintf("The query did not run: it waited %s for other queries to end.", s.opts.QueryTimeout)
	case errors.Is(runErr, context.DeadlineExceeded):
		status, msg = QueryTimedOut, fmt.Sprintf("The query ran longer than its limit of %s.", s.opts.QueryTimeout)
	case errors.Is(runErr, context.Canceled):
		if s.base.Err() != nil {
			status, msg = QueryFailed, errStopped.Error()
		} else {
			status = QueryCancelled
		}
	default:
		// The engine's message is the user's (it names no internal
		// table); what it wraps, if anything, is for the log.
		status, msg = QueryFailed, runErr.Error()
		if inner := errors.Unwrap(runErr); inner != nil {
			s.log.Warn("lake: a query failed in the engine", "query", q.ID, "err", inner)
		}
	}
	var chunks [][][]*string
	var size int64
	if status == QueryFinished {
		var over bool
		if chunks, size, over = s.chunk(res); over {
			status, msg = QueryFailed, fmt.Sprintf("The query's results are over %d MiB; select fewer columns or add a LIMIT.", s.opts.MaxResultBytes>>20)
		} else if res.Truncated {
			msg = fmt.Sprintf("The query had more than %d rows; the first %d are kept. Add a LIMIT or narrow the query.", s.opts.MaxResultRows, len(res.Rows))
		}
	}
	if len(chunks) > 0 {
		if err := s.makeRoom(ctx, q.Account, q.ID, size); err != nil {
			status, msg, chunks = QueryFailed, "The query's results could not be kept: "+err.Error(), nil
		}
	}
	for n, rows := range chunks {
		b, _ := json.Marshal(rows)
		if err := s.putDoc(ctx, chunkKey(q.ID, n), b); err != nil {
			status, msg, chunks = QueryFailed, "The query's results could not be kept: "+err.Error(), nil
			break
		}
	}
	for attempt := 0; attempt < 5; attempt++ {
		cur, err := s.loadQuery(ctx, q.Account, q.ID)
		if err != nil {
			s.log.Error("lake: recording a query's end failed", "query", q.ID, "err", err)
			return
		}
		if cur.Status == QueryCancelled || cur.ended() {
			s.dropChunks(ctx, q.ID, len(chunks))
			if cur.Status == QueryCancelled && ran > 0 && cur.ExecMillis != ran.Milliseconds() {
				// It ran until cancelled: that is its execution time, as
				// on AWS (Cancel recorded an estimate).
				cur.ExecMillis = ran.Milliseconds()
				if err := s.putQuery(ctx, cur); errors.Is(err, store.ErrConflict) {
					continue
				}
			}
			return
		}
		cur.Status, cur.Error = status, msg
		cur.ExecMillis = ran.Milliseconds()
		if res != nil {
			cur.EventsMatched, cur.EventsScanned, cur.BytesScanned = res.Stats.EventsMatched, res.Stats.EventsScanned, res.Stats.BytesScanned
			cur.ExecMillis = res.Stats.ExecutionTime.Milliseconds()
			cur.Columns = res.Columns
		}
		if status == QueryFinished {
			cur.Rows, cur.Chunks, cur.ResultBytes = len(res.Rows), len(chunks), size
		}
		err = s.putQuery(ctx, cur)
		if err == nil {
			return
		}
		if !errors.Is(err, store.ErrConflict) {
			s.log.Error("lake: recording a query's end failed", "query", q.ID, "err", err)
			return
		}
	}
}

// chunk splits a result's rows into chunks and counts their bytes; over
// says they are more than MaxResultBytes (and none are returned).
func (s *Service) chunk(res *Result) (chunks [][][]*string, size int64, over bool) {
	for _, r := range res.Rows {
		for _, v := range r {
			if v != nil {
				size += int64(len(*v)) + 8
			}
		}
		if size > int64(s.opts.MaxResultBytes) {
			return nil, 0, true
		}
	}
	for i := 0; i < len(res.Rows); i += chunkRows {
		chunks = append(chunks, res.Rows[i:min(i+chunkRows, len(res.Rows))])
	}
	return chunks, size, false
}

func (s *Service) dropChunks(ctx context.Context, id string, n int) {
	for i := range n {
		_ = s.st.DeleteState(ctx, chunkKey(id, i))
	}
}

// putDoc writes a document whatever its version.
func (s *Service) putDoc(ctx context.Context, key string, b []byte) error {
	var version int64
	if doc, err := s.st.GetState(ctx, key); err == nil {
		version = doc.Version
	}
	_, err := s.st.PutState(ctx, key, b, version)
	return err
}

// Describe returns a query of the caller's account (DescribeQuery).
func (s *Service) Describe(ctx context.Context, c Caller, id *string) (*Query, error) {
	if id == nil || *id == "" {
		return nil, awsproto.Errorf(awsproto.InvalidParameterException, "QueryId is required (Cairn has no saved queries to name by QueryAlias).")
	}
	q, err := s.loadQuery(ctx, c.Account, *id)
	if errors.Is(err, store.ErrNotFound) || err == nil && q.Region != c.Region {
		return nil, awsproto.Errorf(awsproto.QueryIdNotFoundException, "No query %s in this account and region.", *id)
	}
	if err != nil {
		return nil, err
	}
	return s.view(q), nil
}

// Page is one page of a query's results (GetQueryResults).
type Page struct {
	Query     *Query
	Rows      [][]*string
	NextToken string
}

// Results returns a page of a finished query's rows: up to max (1..1000)
// from the position token names.
func (s *Service) Results(ctx context.Context, c Caller, id *string, token *string, maxRows *int) (Page, error) {
	q, err := s.Describe(ctx, c, id)
	if err != nil {
		return Page{}, err
	}
	n := 1000
	if maxRows != nil {
		if *maxRows < 1 || *maxRows > 1000 {
			return Page{}, awsproto.Errorf(awsproto.InvalidMaxResultsException, "MaxQueryResults must be 1 to 1000; got %d.", *maxRows)
		}
		n = *maxRows
	}
	from := 0
	if token != nil {
		if from, err = readToken(*token, q.ID); err != nil || from > q.Rows {
			return Page{}, awsproto.Errorf(awsproto.InvalidNextTokenException, "NextToken was not made by GetQueryResults for this query.")
		}
	}
	p := Page{Query: q}
	if q.Status != QueryFinished {
		return p, nil
	}
	if q.ResultsExpired {
		return Page{}, s.errResultsExpired(q)
	}
	to := min(from+n, q.Rows)
	for i := from; i < to; {
		chunk, err := s.loadChunk(ctx, q.ID, i/chunkRows)
		if err != nil {
			return Page{}, err
		}
		off := i % chunkRows
		take := min(to-i, len(chunk)-off)
		if take <= 0 {
			return Page{}, fmt.Errorf("lake: query %s: result chunk %d is short", q.ID, i/chunkRows)
		}
		p.Rows = append(p.Rows, chunk[off:off+take]...)
		i += take
	}
	if to < q.Rows {
		p.NextToken = makeToken(q.ID, to)
	}
	return p, nil
}

// ResultsIn is Results for a GetQueryResults that names EventDataStore
// (deprecated in the model, still accepted): the store must be one of the
// caller's (EventDataStoreNotFoundException otherwise) and one the query
// read (QueryIdNotFoundException otherwise). A nil store is Results.
func (s *Service) ResultsIn(ctx context.Context, c Caller, store, id, token *string, maxRows *int) (Page, error) {
	if store != nil {
		d, err := s.Get(ctx, c, store)
		if err != nil {
			return Page{}, err
		}
		q, err := s.Describe(ctx, c, id)
		if err != nil {
			return Page{}, err
		}
		if !slices.Contains(q.Stores, d.ID) {
			return Page{}, awsproto.Errorf(awsproto.QueryIdNotFoundException, "No query %s of event data store %s.", q.ID, d.ID)
		}
	}
	return s.Results(ctx, c, id, token, maxRows)
}

func (s *Service) loadChunk(ctx context.Context, id string, n int) ([][]*string, error) {
	doc, err := s.st.GetState(ctx, chunkKey(id, n))
	if err != nil {
		return nil, fmt.Errorf("lake: query %s result chunk %d: %w", id, n, err)
	}
	var rows [][]*string
	if err := json.Unmarshal(doc.Doc, &rows); err != nil {
		return nil, fmt.Errorf("lake: query %s result chunk %d: %w", id, n, err)
	}
	return rows, nil
}

// A results token is base64 of "<query id>:<row offset>".
func makeToken(id string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id + ":" + strconv.Itoa(offset)))
}

func readToken(tok, id string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, err
	}
	qid, off, ok := strings.Cut(string(b), ":")
	n, err := strconv.Atoi(off)
	if !ok || qid != id || err != nil || n < 0 {
		return 0, errors.New("bad token")
	}
	return n, nil
}

// Cancel cancels a queued or running query (CancelQuery).
func (s *Service) Cancel(ctx context.Context, c Caller, id *string) (*Query, error) {
	for {
		q, err := s.Describe(ctx, c, id)
		if err != nil {
			return nil, err
		}
		if q.ended() {
			return nil, awsproto.Errorf(awsproto.InactiveQueryException, "The query %s is %s; only a queued or running query can be cancelled.", q.ID, q.Status)
		}
		if q.Status == QueryRunning && !q.Started.IsZero() {
			// The time it ran until now; the run records the exact
			// time when it stops.
			q.ExecMillis = max(s.now().Sub(q.Started).Milliseconds(), 1)
		}
		q.Status = QueryCancelled
		err = s.putQuery(ctx, q)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return q, err
	}
}

// ListInput is ListQueriesRequest.
type ListInput struct {
	EventDataStore *string
	NextToken      *string
	MaxResults     *int
	StartTime      *awsproto.Time
	EndTime        *awsproto.Time
	QueryStatus    *string
}

// ListQueries lists the caller's queries of a store, newest first
// (ListQueries).
func (s *Service) ListQueries(ctx context.Context, c Caller, in ListInput) ([]*Query, string, error) {
	d, err := s.Get(ctx, c, in.EventDataStore)
	if err != nil {
		return nil, "", err
	}
	if d.Status == StatusPendingDeletion {
		return nil, "", inactive(d)
	}
	n := 1000
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return nil, "", awsproto.Errorf(awsproto.InvalidMaxResultsException, "MaxResults must be 1 to 1000; got %d.", *in.MaxResults)
		}
		n = *in.MaxResults
	}
	if in.QueryStatus != nil && !slices.Contains(queryStatuses, *in.QueryStatus) {
		return nil, "", awsproto.Errorf(awsproto.InvalidQueryStatusException, "QueryStatus must be one of %s; got %q.", strings.Join(queryStatuses, ", "), *in.QueryStatus)
	}
	if in.StartTime != nil && in.EndTime != nil && in.StartTime.After(in.EndTime.Time) {
		return nil, "", awsproto.Errorf(awsproto.InvalidDateRangeException, "StartTime is after EndTime.")
	}
	qs, err := s.queries(ctx, c.Account)
	if err != nil {
		return nil, "", err
	}
	var out []*Query
	for _, q := range qs {
		q = s.view(q)
		switch {
		case q.Region != c.Region || !slices.Contains(q.Stores, d.ID):
		case in.StartTime != nil && q.Created.Before(in.StartTime.Time):
		case in.EndTime != nil && q.Created.After(in.EndTime.Time):
		case in.QueryStatus != nil && q.Status != *in.QueryStatus:
		default:
			out = append(out, q)
		}
	}
	slices.SortFunc(out, func(a, b *Query) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	from := 0
	if in.NextToken != nil {
		if from, err = readToken(*in.NextToken, d.ID); err != nil || from > len(out) {
			return nil, "", awsproto.Errorf(awsproto.InvalidNextTokenException, "NextToken was not made by ListQueries for this event data store.")
		}
	}
	to := min(from+n, len(out))
	next := ""
	if to < len(out) {
		next = makeToken(d.ID, to)
	}
	return out[from:to], next, nil
}

// queries are every kept query of an account.
func (s *Service) queries(ctx context.Context, account string) ([]*Query, error) {
	m, err := store.DecodeStates[Query](ctx, s.st, queryPrefix+account+"/", "lake query")
	if err != nil {
		return nil, err
	}
	out := make([]*Query, 0, len(m))
	for _, q := range m {
		out = append(out, q)
	}
	return out, nil
}

func (s *Service) loadQuery(ctx context.Context, account, id string) (*Query, error) {
	doc, err := s.st.GetState(ctx, queryKey(account, id))
	if err != nil {
		return nil, err
	}
	q := new(Query)
	if err := json.Unmarshal(doc.Doc, q); err != nil {
		return nil, fmt.Errorf("lake: query %s: %w", id, err)
	}
	q.version = doc.Version
	return q, nil
}

func (s *Service) putQuery(ctx context.Context, q *Query) error {
	b, err := json.Marshal(q)
	if err != nil {
		return err
	}
	v, err := s.st.PutState(ctx, queryKey(q.Account, q.ID), b, q.version)
	if err != nil {
		return err
	}
	q.version = v
	return nil
}

// failOrphans ends the queries this node had queued or running when it
// stopped: nothing runs them any more.
func (s *Service) failOrphans(ctx context.Context) {
	docs, err := s.st.ListState(ctx, queryPrefix)
	if err != nil {
		s.log.Warn("lake: listing queries failed", "err", err)
		return
	}
	for _, doc := range docs {
		q := new(Query)
		if json.Unmarshal(doc.Doc, q) != nil || q.Node != s.opts.Node || q.ended() {
			continue
		}
		s.mu.Lock()
		running := s.running(q.ID)
		s.mu.Unlock()
		if running {
			continue
		}
		q.version = doc.Version
		q.Status, q.Error = QueryFailed, errStopped.Error()
		_ = s.putQuery(ctx, q)
	}
}

// running reports whether this process runs query id (caller holds mu).
func (s *Service) running(id string) bool {
	return s.started[id]
}

// forgetQueries removes queries (and their results) older than QueryKeep.
func (s *Service) forgetQueries(ctx context.Context, now time.Time) error {
	docs, err := s.st.ListState(ctx, queryPrefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, doc := range docs {
		q := new(Query)
		if json.Unmarshal(doc.Doc, q) != nil || now.Sub(q.Created) < QueryKeep || !q.ended() && now.Sub(q.Created) < QueryKeep+s.opts.QueryTimeout {
			continue
		}
		s.dropChunks(ctx, q.ID, q.Chunks)
		errs = append(errs, s.st.DeleteState(ctx, doc.Key))
	}
	return errors.Join(errs...)
}
