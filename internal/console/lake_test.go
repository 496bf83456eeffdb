package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/lake"
	"github.com/cairn-audit/cairn/internal/lake/lakesql"
	"github.com/cairn-audit/cairn/internal/server"
)

// The fake Lake: one store, EXAMPLE-store; StartQuery refuses a statement
// without SELECT as the engine does (line:column), and starts query q1,
// finished with two rows (one NULL). Other query IDs are not found.

const fakeStoreARN = "arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/EXAMPLE-store"

func (f *fakeAPI) ListEventDataStores(_ context.Context, who server.Caller, in server.ListDataStoresInput) (server.ListDataStoresOutput, error) {
	if _, err := f.enter("ListEventDataStores", who, in); err != nil {
		return server.ListDataStoresOutput{}, err
	}
	return server.ListDataStoresOutput{EventDataStores: []server.ListedDataStore{{EventDataStoreArn: fakeStoreARN, Name: "audit",
		Status: "ENABLED", RetentionPeriod: 2557, MultiRegionEnabled: true}}}, nil
}

func (f *fakeAPI) StartQuery(_ context.Context, who server.Caller, in lake.StartInput) (server.StartQueryOutput, error) {
	if _, err := f.enter("StartQuery", who, in); err != nil {
		return server.StartQueryOutput{}, err
	}
	if !strings.HasPrefix(*in.QueryStatement, "SELECT") {
		return server.StartQueryOutput{}, awsproto.Errorf(awsproto.InvalidQueryStatementException, "line 1:1: a statement starts with SELECT")
	}
	return server.StartQueryOutput{QueryId: "q1"}, nil
}

func fakeQuery(who server.Caller, id *string) error {
	if id == nil || *id != "q1" {
		return awsproto.Errorf(awsproto.QueryIdNotFoundException, "no query %v", id)
	}
	return nil
}

func (f *fakeAPI) DescribeQuery(_ context.Context, who server.Caller, in server.QueryInput) (server.DescribeQueryOutput, error) {
	if _, err := f.enter("DescribeQuery", who, in); err != nil {
		return server.DescribeQueryOutput{}, err
	}
	if err := fakeQuery(who, in.QueryId); err != nil {
		return server.DescribeQueryOutput{}, err
	}
	return server.DescribeQueryOutput{QueryId: "q1", QueryString: "SELECT eventName FROM EXAMPLE-store", QueryStatus: lake.QueryFinished,
		QueryStatistics: server.DescribeQueryStatistics{EventsMatched: 2, EventsScanned: 1234}}, nil
}

func fakeRows() (cols []string, rows [][]*string) {
	a, b := "=cmd", "CreateUser"
	return []string{"eventName", "n"}, [][]*string{{&a, nil}, {&b, &b}}
}

func (f *fakeAPI) GetQueryResults(_ context.Context, who server.Caller, in server.ResultsInput) (server.ResultsOutput, error) {
	if _, err := f.enter("GetQueryResults", who, in); err != nil {
		return server.ResultsOutput{}, err
	}
	if err := fakeQuery(who, in.QueryId); err != nil {
		return server.ResultsOutput{}, err
	}
	cols, rows := fakeRows()
	out := server.ResultsOutput{QueryStatus: lake.QueryFinished, QueryStatistics: server.ResultsStatistics{TotalResultsCount: len(rows)}}
	for _, r := range rows {
		row := []map[string]*string{}
		for i, v := range r {
			row = append(row, map[string]*string{cols[i]: v})
		}
		out.QueryResultRows = append(out.QueryResultRows, row)
	}
	return out, nil
}

func (f *fakeAPI) GetQueryResultsExport(_ context.Context, who server.Caller, in server.QueryInput, start func(string, []string) error, row func([]*string) error) error {
	if _, err := f.enter("GetQueryResults", who, in); err != nil {
		return err
	}
	if err := fakeQuery(who, in.QueryId); err != nil {
		return err
	}
	cols, rows := fakeRows()
	if err := start(lake.QueryFinished, cols); err != nil {
		return err
	}
	for _, r := range rows {
		if err := row(r); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeAPI) ListQueries(_ context.Context, who server.Caller, in lake.ListInput) (server.ListQueriesOutput, error) {
	if _, err := f.enter("ListQueries", who, in); err != nil {
		return server.ListQueriesOutput{}, err
	}
	return server.ListQueriesOutput{Queries: []server.ListedQuery{{QueryId: "q1", QueryStatus: lake.QueryFinished}}}, nil
}

func (f *fakeAPI) CancelQuery(_ context.Context, who server.Caller, in server.QueryInput) (server.CancelQueryOutput, error) {
	if _, err := f.enter("CancelQuery", who, in); err != nil {
		return server.CancelQueryOutput{}, err
	}
	return server.CancelQueryOutput{}, awsproto.Errorf(awsproto.InactiveQueryException, "The query q1 is FINISHED.")
}

// The Lake page lists the stores and fills the editor with a sample for
// the chosen store; Run answers with a redirect: to the query's page, or,
// for a refused statement, back to the editor with the SQL as typed and
// the error under it, shown once.
func TestConsoleLakeRun(t *testing.T) {
	e := newEnv(t)
	sc, csrf := e.login(adminKey, adminSecret)
	w := e.get("/console/lake?sample=no-mfa", sc)
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, "EXAMPLE-store") || !strings.Contains(body, `id="stores"`) ||
		!strings.Contains(body, "FROM\n    EXAMPLE-store") || !strings.Contains(body, `href="/console/lake/query?region=us-east-1&amp;store=EXAMPLE-store&amp;id=q1"`) {
		t.Fatalf("Lake page %d:\n%s", w.Code, body)
	}
	bad := "SELEC eventName FROM $EDS_ID"
	w = e.post("/console/lake/run", sc, url.Values{"csrf": {csrf}, "store": {"EXAMPLE-store"}, "sql": {bad}})
	to := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(to, "/console/lake?") || !strings.HasSuffix(to, "#editor") {
		t.Fatalf("a refused statement: %d to %q", w.Code, to)
	}
	body = e.get(strings.TrimSuffix(to, "#editor"), sc).Body.String()
	if !strings.Contains(body, `id="sql-error">InvalidQueryStatementException: line 1:1: a statement starts with SELECT</p>`) ||
		!strings.Contains(body, ">"+bad+"</textarea>") {
		t.Errorf("the editor after a refused statement:\n%s", body)
	}
	if body = e.get(strings.TrimSuffix(to, "#editor"), sc).Body.String(); strings.Contains(body, "sql-error") {
		t.Error("the error shows again on reload")
	}
	w = e.post("/console/lake/run", sc, url.Values{"csrf": {csrf}, "store": {"EXAMPLE-store"}, "sql": {"SELECT eventName FROM $EDS_ID"}})
	if to = w.Header().Get("Location"); w.Code != http.StatusSeeOther || to != "/console/lake/query?id=q1&region=us-east-1&store=EXAMPLE-store" {
		t.Fatalf("Run: %d to %q", w.Code, to)
	}
	if got := string(e.api.last("StartQuery").body); !strings.Contains(got, `FROM EXAMPLE-store`) {
		t.Errorf("StartQuery got %s: $EDS_ID is the chosen store", got)
	}
	body = e.get(to, sc).Body.String()
	if !strings.Contains(body, `<td>=cmd</td><td><span class="muted">NULL</span></td>`) || !strings.Contains(body, "1,234") ||
		!strings.Contains(body, `href="/console/lake/results.csv?id=q1&amp;region=us-east-1"`) {
		t.Errorf("query page:\n%s", body)
	}
}

// Another query's page, and its download, are not found.
func TestConsoleLakeNotFound(t *testing.T) {
	e := newEnv(t)
	sc, _ := e.login(adminKey, adminSecret)
	if w := e.get("/console/lake/query?id=someone-elses", sc); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "Query not found") {
		t.Errorf("another query's page: %d\n%s", w.Code, w.Body)
	}
	if w := e.get("/console/lake/results.csv?id=someone-elses", sc); w.Code != http.StatusNotFound || strings.Contains(w.Header().Get("Content-Type"), "csv") {
		t.Errorf("another query's download: %d %s", w.Code, w.Header())
	}
}

// The CSV download is the whole result, one GetQueryResults call, with
// formula-looking values quoted and NULL empty.
func TestConsoleLakeCSV(t *testing.T) {
	e := newEnv(t)
	sc, _ := e.login(adminKey, adminSecret)
	before := len(e.api.ops())
	w := e.get("/console/lake/results.csv?id=q1", sc)
	if w.Code != http.StatusOK || w.Body.String() != "eventName,n\n'=cmd,\nCreateUser,CreateUser\n" ||
		!strings.Contains(w.Header().Get("Content-Disposition"), "cairn-lake-q1.csv") {
		t.Errorf("download: %d %q %v", w.Code, w.Body, w.Header())
	}
	if ops := e.api.ops()[before:]; len(ops) != 1 || ops[0] != "GetQueryResults" {
		t.Errorf("calls %v, want one GetQueryResults", ops)
	}
}

// Every sample the editor offers runs on Cairn's engine as written (their
// answers are checked in lakesql's samples_test.go, from which they are
// taken).
func TestConsoleLakeSamplesRun(t *testing.T) {
	db, err := lakesql.Open(filepath.Join(t.TempDir(), "lake.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range lakeSamples {
		sql, ok := sampleSQL(s.ID, "EXAMPLE-store")
		if !ok || strings.Contains(sql, edsPlaceholder) {
			t.Fatalf("sample %s: %q", s.ID, sql)
		}
		st, err := lakesql.Parse(sql)
		if err != nil {
			t.Errorf("sample %s does not parse: %v", s.ID, err)
			continue
		}
		if _, err := db.Run(context.Background(), st, lakesql.RunOptions{Stores: map[string]string{"EXAMPLE-store": "s1"}}); err != nil {
			t.Errorf("sample %s does not run: %v", s.ID, err)
		}
	}
}

// A running query's page looks again after 1, 2, 4, 8 and then 10
// seconds; without the script, its Refresh link does.
func TestConsoleLakePollWait(t *testing.T) {
	var waits []int
	for poll := range 7 {
		waits = append(waits, queryPage{Poll: poll}.PollWait())
	}
	if fmt.Sprint(waits) != "[1 2 4 8 10 10 10]" {
		t.Errorf("waits %v", waits)
	}
	p := queryPage{base: base{Region: "us-east-1"}, ID: "q1", Store: "s", Poll: 2, PollNext: 3}
	if p.PollLink() != "/console/lake/query?id=q1&region=us-east-1&store=s&poll=3" || p.SelfLink() != "/console/lake/query?id=q1&region=us-east-1&store=s" {
		t.Errorf("links %s %s", p.PollLink(), p.SelfLink())
	}
}

// A read-only user sees the stores and the history but no Run button
// (cloudtrail:StartQuery), and no Cancel.
func TestConsoleLakeReadOnly(t *testing.T) {
	e := newEnv(t)
	sc, _ := e.login(readerKey, readerSec)
	body := e.get("/console/lake", sc).Body.String()
	if strings.Contains(body, `id="run"`) || !strings.Contains(body, "does not let you run queries") || !strings.Contains(body, `id="queries"`) ||
		!strings.Contains(body, `id="region"`) {
		t.Errorf("read-only Lake page:\n%s", body)
	}
	if body := e.get("/console/lake/query?id=q1", sc).Body.String(); strings.Contains(body, `id="cancel"`) || !strings.Contains(body, `id="results"`) {
		t.Errorf("read-only query page:\n%s", body)
	}
}

// TestConsoleLakeTypedPositions: an error's "line L:C" about the statement
// with $EDS_ID replaced by the store's ID points at the same place in the
// text as typed (the editor's), whatever the ID's length.
func TestConsoleLakeTypedPositions(t *testing.T) {
	const store = "7d528f91-2de0-4c4a-9e76-5f8720518095" // 36 characters
	typed := "SELECT eventName FROM $EDS_ID LIMIT 1 UNION SELECT x FROM $EDS_ID\nWHERE é = = $EDS_ID"
	for _, c := range []struct{ in, want string }{
		{"line 1:60: LIMIT is allowed only after the last SELECT", "line 1:31: LIMIT is allowed only after the last SELECT"},
		{"line 1:1: x", "line 1:1: x"},
		{"line 1:23: x", "line 1:23: x"}, // the start of the first ID
		{"line 1:40: x", "line 1:23: x"}, // inside it: the placeholder
		{"line 1:95: x", "line 1:59: x"}, // the second ID
		{"line 2:11: x", "line 2:11: x"}, // before any ID on line 2
		{"line 2:13: and line 1:66: y", "line 2:13: and line 1:37: y"},
		{"line 2:49: past the end", "line 2:20: past the end"},
	} {
		if got := typedPositions(c.in, typed, store); got != c.want {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
	}
	if got := typedPositions("line 1:60: x", "SELECT 1 FROM "+store, store); got != "line 1:60: x" {
		t.Errorf("without the placeholder: %q", got)
	}
}
