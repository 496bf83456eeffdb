package console

// The Lake page: the account's event data stores, a SQL editor with AWS's
// sample queries, the query history of a store, and each query's page
// (status while it runs, statistics, results a page at a time, Cancel and
// a CSV download). Every read and change is one call of the typed API
// (ListEventDataStores, StartQuery, DescribeQuery, GetQueryResults,
// ListQueries, CancelQuery), recorded like the same call made with the
// SDK. Run and Cancel are forms answered with a redirect (303): a reload
// never starts a second query, and a statement the engine refuses comes
// back in the editor with the error under it (answered.go).

import (
	"encoding/csv"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/lake"
	"github.com/cairn-audit/cairn/internal/server"
)

// Paths of the Lake pages and forms.
const (
	lakePath      = "/console/lake"
	lakeQueryPath = "/console/lake/query"
	lakeRunPath   = "/console/lake/run"
	lakeCSVPath   = "/console/lake/results.csv"
	lakeCancel    = "/console/lake/cancel"
	// lakePageRows is how many result rows a query's page shows.
	lakePageRows = 50
	// lakeHistoryRows is how many queries the history lists.
	lakeHistoryRows = 25
	// maxPoll bounds the wait (in seconds) between two looks at a running
	// query: the page's script waits 1, 2, 4… seconds up to it.
	maxPoll = 10
)

// edsPlaceholder stands for the store in AWS's sample queries.
const edsPlaceholder = "$EDS_ID"

// lakeSample is one of AWS's CloudTrail Lake sample queries, as AWS
// publishes it (the store's ID goes in place of $EDS_ID). Each runs on
// Cairn's engine: internal/lake/lakesql/samples_test.go checks their
// answers.
type lakeSample struct {
	ID, Title, About, SQL string
}

var lakeSamples = []lakeSample{
	{ID: "by-name", Title: "Events by name and region", About: "how many events of each name each region had",
		SQL: "SELECT eventName, awsRegion, count(*) FROM $EDS_ID GROUP BY eventName, awsRegion"},
	{ID: "first-100", Title: "First 100 events", About: "the store's oldest events, in time order",
		SQL: "SELECT * FROM $EDS_ID ORDER BY eventTime LIMIT 100;"},
	{ID: "access-key", Title: "Activity of an access key", About: "one user's calls (put in the access key and the dates)",
		SQL: "SELECT eventSource,eventName,sourceIPAddress,eventTime,errorCode\nFROM $EDS_ID\nWHERE userIdentity.accessKeyId = 'AKIAIOSFODNN7EXAMPLE'\nAND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'\norder by eventTime;"},
	{ID: "no-mfa", Title: "Console sign-ins without MFA", About: "ConsoleLogin events whose MFAUsed is No",
		SQL: "SELECT\n    *\nFROM\n    $EDS_ID \nWHERE\n    eventsource = 'signin.amazonaws.com'  \n    AND eventname = 'ConsoleLogin'  \n    AND Element_at(additionaleventdata, 'MFAUsed' \n    ) = 'No'"},
	{ID: "s3-bucket", Title: "Top S3 actions on a bucket", About: "the data events on one bucket by name (put in the bucket and the dates)",
		SQL: "SELECT\n    eventName, COUNT(*\n    ) as requestCount\nFROM\n    $EDS_ID\nWHERE\n    eventSource = 's3.amazonaws.com' \n    AND eventCategory = 'Data' \n    AND eventTime > '2022-01-01 00:00:00' \n    AND eventTime < '2022-01-01 00:00:00' \n    AND element_at(requestParameters, 'bucketName'\n    ) = 'my-bucket-name'\nGROUP\n    BY eventName\nORDER BY requestCount DESC"},
	{ID: "errors", Title: "Top errors", About: "the most frequent error codes and messages (put in the dates)",
		SQL: "SELECT\n    errorCode,  errorMessage,  COUNT(*\n    ) as eventCount\nFROM\n    $EDS_ID\nWHERE\n    eventTime > '2022-01-01 00:00:00' \n    AND eventTime < '2022-01-01 00:00:00' \n    AND (errorCode is not null \n        or errorMessage is not null\n    )\nGROUP\n    BY errorCode, errorMessage\nORDER BY eventCount DESC\nLIMIT 10;"},
	{ID: "trail-changes", Title: "CloudTrail configuration changes", About: "trails created, changed, deleted, started and stopped (put in the dates)",
		SQL: "SELECT\n    eventName, element_at(requestParameters,'name' \n    ), userIdentity.principalid, eventTime\nFROM\n    $EDS_ID \nWHERE\n    eventTime > '2022-01-01 00:00:00'  \n    AND eventTime < '2022-01-01 00:00:00'  \n    AND ( eventName = 'CreateTrail'  \n        or eventName = 'UpdateTrail'  \n        or eventName = 'DeleteTrail'  \n        or eventName = 'StartLogging'  \n        or eventName = 'StopLogging'  \n    )"},
}

// sampleSQL is sample id's statement for store (the placeholder kept
// when no store is chosen); ok is false for an unknown id.
func sampleSQL(id, store string) (string, bool) {
	for _, s := range lakeSamples {
		if s.ID == id {
			if store == "" {
				return s.SQL, true
			}
			return strings.ReplaceAll(s.SQL, edsPlaceholder, store), true
		}
	}
	return "", false
}

// storeRow is one event data store as the Lake page lists it.
type storeRow struct {
	ID, ARN, Name, Status string
	Retention             int
	MultiRegion, Org      bool
	Created               string
}

// historyRow is one query of the history.
type historyRow struct {
	ID, Status, Created string
}

type lakePage struct {
	base
	Stores  []storeRow
	Store   string // the chosen store's ID
	Loaded  bool
	SQL     string
	SQLErr  string
	Samples []lakeSample
	Sample  string
	History []historyRow
	HistErr string
	// HistOlder links to the next (older) page of the history, and
	// HistNewest back to its first page when this is not it.
	HistOlder, HistNewest string
}

// storeID is the ID at the end of an event data store's ARN.
func storeID(arn string) string {
	return arn[strings.LastIndexByte(arn, '/')+1:]
}

// lakeLink is the Lake page for store in region, with extra query
// parameters.
func lakeLink(region, store string, extra ...string) string {
	q := url.Values{"region": {region}}
	if store != "" {
		q.Set("store", store)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return lakePath + "?" + q.Encode()
}

// queryLink is the page of query id (of store) in region, at results
// token next ("" for the first page).
func queryLink(region, store, id, next string, from ...int) string {
	q := url.Values{"region": {region}, "id": {id}}
	if len(from) > 0 && next != "" {
		q.Set("from", strconv.Itoa(from[0]))
	}
	if store != "" {
		q.Set("store", store)
	}
	if next != "" {
		q.Set("next", next)
	}
	return lakeQueryPath + "?" + q.Encode()
}

// lakePage shows the stores, the editor and the chosen store's history.
func (c *Console) lakePage(w http.ResponseWriter, r *http.Request, s *session) {
	region, _ := c.region(r, s)
	p := lakePage{base: c.base(s, r, "Lake", "lake", region), Samples: lakeSamples}
	who := c.caller(r, s, region)
	out, err := c.opts.API.ListEventDataStores(r.Context(), who, server.ListDataStoresInput{})
	if err := c.refused("ListEventDataStores", err); err != nil {
		p.Error = errText(err)
	} else {
		p.Loaded = true
		for _, d := range out.EventDataStores {
			p.Stores = append(p.Stores, storeRow{ID: storeID(d.EventDataStoreArn), ARN: d.EventDataStoreArn, Name: d.Name,
				Status: d.Status, Retention: d.RetentionPeriod, MultiRegion: d.MultiRegionEnabled, Org: d.OrganizationEnabled,
				Created: fmtStamp(d.CreatedTimestamp.Time, p.base)})
		}
	}
	p.Store = r.URL.Query().Get("store")
	if p.Store == "" && len(p.Stores) > 0 {
		p.Store = p.Stores[0].ID
	}
	p.Sample = r.URL.Query().Get("sample")
	if sql, ok := sampleSQL(p.Sample, p.Store); ok {
		p.SQL = sql
	} else {
		p.SQL, _ = sampleSQL(lakeSamples[0].ID, p.Store)
	}
	// A statement the engine refused: as typed, with the error, this once.
	if a := s.takeAnswer(r, c.now()); a != nil && a.Action == lakeRunPath {
		v := a.values()
		p.SQL, p.SQLErr = v.Get("sql"), a.Errs["sql"]
	}
	if p.Store != "" && p.Can("ListQueries") {
		token := r.URL.Query().Get("hist")
		var next string
		p.History, next, p.HistErr = c.history(r, who, p.Store, token, p.base)
		if next != "" {
			p.HistOlder = lakeLink(region, p.Store, "hist", next) + "#history"
		}
		if token != "" {
			p.HistNewest = lakeLink(region, p.Store) + "#history"
		}
	}
	c.render(w, http.StatusOK, "lake.html", p)
}

// history is a page of store's queries, newest first, from ListQueries'
// token ("" for the newest), and the token of the next, older, page.
func (c *Console) history(r *http.Request, who server.Caller, store, token string, b base) (rows []historyRow, next, problem string) {
	n := lakeHistoryRows
	in := lake.ListInput{EventDataStore: &store, MaxResults: &n}
	if token != "" {
		in.NextToken = &token
	}
	out, err := c.opts.API.ListQueries(r.Context(), who, in)
	if err := c.refused("ListQueries", err); err != nil {
		return nil, "", errText(err)
	}
	for _, q := range out.Queries {
		rows = append(rows, historyRow{ID: q.QueryId, Status: q.QueryStatus, Created: fmtStamp(q.CreationTime.Time, b)})
	}
	return rows, out.NextToken, ""
}

// runQuery starts the editor's statement (StartQuery) and redirects to
// the query's page; a refused statement goes back to the editor, as
// typed, with the error under it.
func (c *Console) runQuery(w http.ResponseWriter, r *http.Request, s *session) {
	region, _ := c.region(r, s)
	store := strings.TrimSpace(r.PostForm.Get("store"))
	typed := r.PostForm.Get("sql")
	sql := typed
	if store != "" {
		sql = strings.ReplaceAll(sql, edsPlaceholder, store)
	}
	out, err := c.opts.API.StartQuery(r.Context(), c.caller(r, s, region), lake.StartInput{QueryStatement: &sql})
	if err := c.refused("StartQuery", err); err != nil {
		msg := errText(err)
		if store != "" {
			msg = typedPositions(msg, typed, store)
		}
		a := answeredForm{Page: lakeLink(region, store), Action: lakeRunPath, Fields: formFields(r.PostForm), Errs: fieldErrs{"sql": msg}}
		http.Redirect(w, r, s.answer(a, "#editor", c.now()), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, queryLink(region, store, out.QueryId, ""), http.StatusSeeOther)
}

// errPosition is a "line L:C" position in an error about a statement.
var errPosition = regexp.MustCompile(`\bline (\d+):(\d+)`)

// typedPositions rewrites each "line L:C" of msg, a position in the
// statement StartQuery saw (typed with $EDS_ID replaced by store), as
// the same place in the text as typed, which the editor shows and the
// script puts the cursor at. A position inside a replaced store ID is
// the placeholder's start.
func typedPositions(msg, typed, store string) string {
	if !strings.Contains(typed, edsPlaceholder) {
		return msg
	}
	return errPosition.ReplaceAllStringFunc(msg, func(m string) string {
		sub := errPosition.FindStringSubmatch(m)
		line, err1 := strconv.Atoi(sub[1])
		col, err2 := strconv.Atoi(sub[2])
		if err1 != nil || err2 != nil {
			return m
		}
		return "line " + sub[1] + ":" + strconv.Itoa(typedColumn(typed, store, line, col))
	})
}

// typedColumn is the column (from 1, in characters, as the statement's
// errors count) in line of typed that column col of the same line after
// the placeholder's replacement by store stands for. Neither holds a
// newline, so lines are the same in both texts.
func typedColumn(typed, store string, line, col int) int {
	lines := strings.Split(typed, "\n")
	if line < 1 || line > len(lines) {
		return col
	}
	text, storeLen := lines[line-1], utf8.RuneCountInString(store)
	at, typedAt := 1, 1 // columns in the replaced and the typed line
	for text != "" {
		if strings.HasPrefix(text, edsPlaceholder) {
			if col < at+storeLen {
				return typedAt
			}
			at, typedAt, text = at+storeLen, typedAt+len(edsPlaceholder), text[len(edsPlaceholder):]
			continue
		}
		if col == at {
			return typedAt
		}
		_, size := utf8.DecodeRuneInString(text)
		at, typedAt, text = at+1, typedAt+1, text[size:]
	}
	return typedAt + col - at
}

// cancelQuery cancels a queued or running query and goes back to its page.
func (c *Console) cancelQuery(w http.ResponseWriter, r *http.Request, s *session) {
	region, _ := c.region(r, s)
	id, store := r.PostForm.Get("id"), r.PostForm.Get("store")
	_, err := c.opts.API.CancelQuery(r.Context(), c.caller(r, s, region), server.QueryInput{QueryId: &id})
	if err := c.refused("CancelQuery", err); err != nil {
		s.setFlash(errText(err), true)
	} else {
		s.setFlash("Query "+id+" was cancelled.", false)
	}
	http.Redirect(w, r, queryLink(region, store, id, "")+"#main", http.StatusSeeOther)
}

type queryPage struct {
	base
	Found          bool
	ID, Store      string
	Status, SQL    string
	QueryErr       string
	Running        bool
	Matched        int64
	Scanned        int64
	Bytes          int64
	Millis         int64
	Created        string
	Columns        []string
	Rows           [][]resultCell
	Total, From    int
	Next, Token    string
	Poll, PollNext int
	ResultsErr     string
}

// resultCell is one value of a result row; Null tells NULL from "".
// Long marks a value that needs a wider column to stay readable.
type resultCell struct {
	Value string
	Null  bool
	Long  bool
}

// SelfLink is this page again (its results page), for the refresh link.
func (p queryPage) SelfLink() string { return queryLink(p.Region, p.Store, p.ID, p.Token, p.From) }

// PollLink is the page the script goes to while the query runs: poll
// counts the looks, which set the wait before the next.
func (p queryPage) PollLink() string {
	return queryLink(p.Region, p.Store, p.ID, "") + "&poll=" + strconv.Itoa(p.PollNext)
}

// PollWait is the seconds the script waits before looking again.
func (p queryPage) PollWait() int { return min(1<<min(p.Poll, 4), maxPoll) }

// NextLink is the next page of results.
func (p queryPage) NextLink() string {
	return queryLink(p.Region, p.Store, p.ID, p.Next, p.From+len(p.Rows))
}

// FirstRow and LastRow number the rows shown (from 1).
func (p queryPage) FirstRow() int { return p.From + 1 }

// LastRow is the number of the last row shown.
func (p queryPage) LastRow() int { return p.From + len(p.Rows) }

// FirstLink is the first page of results.
func (p queryPage) FirstLink() string { return queryLink(p.Region, p.Store, p.ID, "") }

// CSVLink downloads the whole result.
func (p queryPage) CSVLink() string {
	return lakeCSVPath + "?" + url.Values{"region": {p.Region}, "id": {p.ID}}.Encode()
}

// HistoryLink is the Lake page of the query's store.
func (p queryPage) HistoryLink() string { return lakeLink(p.Region, p.Store) + "#history" }

// queryPage shows a query: its status and statistics, and, once it has
// finished, a page of its rows. A query that is not the account's is not
// found: the page says so and shows nothing of it.
func (c *Console) queryPage(w http.ResponseWriter, r *http.Request, s *session) {
	region, _ := c.region(r, s)
	q := r.URL.Query()
	p := queryPage{base: c.base(s, r, "Lake query", "lake", region), ID: q.Get("id"), Store: q.Get("store"), Token: q.Get("next")}
	if p.Token != "" {
		p.From, _ = strconv.Atoi(q.Get("from"))
		p.From = max(p.From, 0)
	}
	p.Poll, _ = strconv.Atoi(q.Get("poll"))
	p.Poll = max(min(p.Poll, 100), 0)
	p.PollNext = p.Poll + 1
	who := c.caller(r, s, region)
	d, err := c.opts.API.DescribeQuery(r.Context(), who, server.QueryInput{QueryId: &p.ID})
	if err := c.refused("DescribeQuery", err); err != nil {
		if notFound(err) {
			c.render(w, http.StatusNotFound, "message.html", messagePage{base: p.base, Heading: "Query not found",
				Message: "Account " + p.Account + " has no query " + p.ID + " in " + region + ".", Link: lakeLink(region, ""), LinkText: "Lake"})
			return
		}
		p.Error = errText(err)
		c.render(w, http.StatusOK, "lake_query.html", p)
		return
	}
	p.Found = true
	p.Status, p.SQL, p.QueryErr = d.QueryStatus, d.QueryString, d.ErrorMessage
	p.Running = p.Status == lake.QueryQueued || p.Status == lake.QueryRunning
	st := d.QueryStatistics
	p.Matched, p.Scanned, p.Bytes, p.Millis = st.EventsMatched, st.EventsScanned, st.BytesScanned, st.ExecutionTimeInMillis
	p.Created = fmtStamp(st.CreationTime.Time, p.base)
	if p.Status == lake.QueryFinished {
		c.loadResults(r, who, &p)
	}
	c.render(w, http.StatusOK, "lake_query.html", p)
}

// loadResults reads the page of rows p.Token names (GetQueryResults).
func (c *Console) loadResults(r *http.Request, who server.Caller, p *queryPage) {
	n := lakePageRows
	in := server.ResultsInput{QueryId: &p.ID, MaxQueryResults: &n}
	if p.Token != "" {
		in.NextToken = &p.Token
	}
	out, err := c.opts.API.GetQueryResults(r.Context(), who, in)
	if err := c.refused("GetQueryResults", err); err != nil {
		p.ResultsErr = errText(err)
		return
	}
	p.Total, p.Next = out.QueryStatistics.TotalResultsCount, out.NextToken
	for _, row := range out.QueryResultRows {
		cells := make([]resultCell, len(row))
		for i, m := range row {
			for name, v := range m {
				if len(p.Columns) < len(row) && p.Rows == nil {
					p.Columns = append(p.Columns, name)
				}
				if v == nil {
					cells[i] = resultCell{Null: true}
				} else {
					cells[i] = resultCell{Value: *v, Long: len(*v) > 60}
				}
			}
		}
		p.Rows = append(p.Rows, cells)
	}
}

// notFound reports whether a refused call says the query or store is not
// the caller's (or does not exist).
func notFound(err error) bool {
	var ae *apiError
	if !errors.As(err, &ae) {
		return false
	}
	switch awsproto.Code(ae.Code) {
	case awsproto.QueryIdNotFoundException, awsproto.EventDataStoreNotFoundException:
		return true
	}
	return false
}

// downloadResults streams a finished query's whole result as CSV: one
// GetQueryResults call whatever its size (server.GetQueryResultsExport).
func (c *Console) downloadResults(w http.ResponseWriter, r *http.Request, s *session) {
	region, _ := c.region(r, s)
	id := r.URL.Query().Get("id")
	var out *csv.Writer
	status := ""
	start := func(st string, columns []string) error {
		status = st
		if st != lake.QueryFinished {
			return nil
		}
		h := w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="cairn-lake-`+safeFileName(id)+`.csv"`)
		out = csv.NewWriter(w)
		head := make([]string, len(columns))
		for i, col := range columns {
			head[i] = cell(col)
		}
		return out.Write(head)
	}
	row := func(vals []*string) error {
		rec := make([]string, len(vals))
		for i, v := range vals {
			if v != nil {
				rec[i] = cell(*v)
			}
		}
		return out.Write(rec)
	}
	err := c.opts.API.GetQueryResultsExport(r.Context(), c.caller(r, s, region), server.QueryInput{QueryId: &id}, start, row)
	if out != nil {
		out.Flush()
		if err != nil {
			// The rows are partly sent: the download ends short.
			c.opts.Log.Warn("console: Lake download ended early", "query", id, "err", err)
		}
		return
	}
	if err := c.refused("GetQueryResults", err); err != nil {
		code := http.StatusBadRequest
		if notFound(err) {
			code = http.StatusNotFound
		}
		c.render(w, code, "message.html", messagePage{base: c.base(s, r, "Download", "lake", region), Heading: "No download",
			Message: errText(err), Link: lakeLink(region, ""), LinkText: "Lake"})
		return
	}
	c.render(w, http.StatusConflict, "message.html", messagePage{base: c.base(s, r, "Download", "lake", region), Heading: "No download",
		Message: "Query " + id + " is " + status + ": only a finished query's results can be downloaded.",
		Link:    queryLink(region, "", id, ""), LinkText: "The query"})
}

// safeFileName keeps the letters, digits and dashes of s, for a file name.
func safeFileName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "query"
	}
	return b.String()
}
