package e2e

// The console's Lake page in headless Chromium against the real binary:
// a store made with the SDK, events ingested, AWS's sample query run from
// the editor and its table checked against an answer computed here; a
// second query paged and downloaded as CSV; a refused statement shown
// under the editor with the SQL kept; a reload after Run that starts no
// second query; Cancel; the history; another account's query URL.

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/chromedp/chromedp"
)

// lcConsoleCalls counts the console's recorded calls of op. The SDK's
// ListEventDataStores call made first is a barrier: once its record is
// visible, so is every call made before it.
func lcConsoleCalls(t *testing.T, sdk *cloudtrail.Client, op string) int {
	t.Helper()
	ctx := context.Background()
	barrier := func() int {
		return len(lookupAll(t, sdk, &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventName, "ListEventDataStores")}))
	}
	n := barrier()
	if _, err := sdk.ListEventDataStores(ctx, &cloudtrail.ListEventDataStoresInput{}); err != nil {
		t.Fatal(err)
	}
	if !dlPoll(30*time.Second, func() bool { return barrier() > n }) {
		t.Fatal("the barrier call was never recorded")
	}
	count := 0
	for _, e := range lookupAll(t, sdk, &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventName, op)}) {
		var r struct {
			UserAgent string `json:"userAgent"`
		}
		json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &r)
		if strings.Contains(r.UserAgent, "cairn-console") {
			count++
		}
	}
	return count
}

// lcTable is the results table of the page: its header and rows.
type lcTable struct {
	Head []string
	Rows [][]string
}

func lcResults(t *testing.T, ctx context.Context) lcTable {
	t.Helper()
	conRun(t, ctx, "the results", chromedp.WaitVisible(chromedp.ID("results")))
	return conGet(t, ctx, "the table", chromedp.Evaluate[lcTable](`({
		Head: [...document.querySelectorAll("#results thead th")].map(c => c.textContent),
		Rows: [...document.querySelectorAll("#results tbody tr")].map(r => [...r.querySelectorAll("td")].map(c => c.innerText)),
	})`))
}

// TestLakeConsole takes 15 to 25 s on 2 busy cores: one server, two
// browsers, six queries (one a join left running until it is cancelled),
// screenshots at two widths, and barriers that wait for audit records.
func TestLakeConsole(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	sdk := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	created, err := sdk.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("console-store"), RetentionPeriod: aws.Int32(90)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.EventDataStoreArn)
	store := arn[strings.LastIndexByte(arn, '/')+1:]
	// 60 events of 7 names: the answer per name is counted here.
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var recs []map[string]any
	want := map[string]int{}
	for i := range 60 {
		name := fmt.Sprintf("LakeCon%c", 'A'+i%7)
		want[name]++
		recs = append(recs, Record(name, lakeSource, "us-east-1", at.Add(time.Duration(i)*time.Second), map[string]any{"recipientAccountId": Account1}))
	}
	res := srv.Ingest(t, AdminKey, AdminSecret, recs...)
	if res.Accepted != len(recs) {
		t.Fatalf("ingest: %+v", res)
	}
	ids := slices.Clone(res.EventIDs)
	slices.Sort(ids)

	shots := conShots(t)
	bctx, problems := conBrowser(t)
	conSignIn(t, bctx, srv, AdminKey, AdminSecret)
	conRun(t, bctx, "the Lake link", chromedp.Click(chromedp.CSS(`nav a[href^="/console/lake"]`)), chromedp.WaitVisible(chromedp.ID("stores")))
	storeText := conGet(t, bctx, "the stores", chromedp.Text(chromedp.ID("stores")))
	for _, s := range []string{"console-store", store, "ENABLED", "90 days", "Yes"} {
		if !strings.Contains(storeText, s) {
			t.Errorf("the stores table has no %q:\n%s", s, storeText)
		}
	}
	conLabelled(t, bctx, "the Lake page")

	// AWS's sample "events by name and region", for the chosen store.
	conRun(t, bctx, "a sample", chromedp.Click(chromedp.ID("sample-by-name")), conWaitURL("sample=by-name"), chromedp.WaitVisible(chromedp.ID("sql")))
	sql := conGet(t, bctx, "the editor", chromedp.Value(chromedp.ID("sql")))
	if sql != "SELECT eventName, awsRegion, count(*) FROM "+store+" GROUP BY eventName, awsRegion" {
		t.Errorf("the sample in the editor: %q", sql)
	}
	before := lcConsoleCalls(t, sdk, "StartQuery")
	conRun(t, bctx, "Run", conSubmit("#run"), conWaitURL("/console/lake/query?"))
	table := lcResults(t, bctx)
	got := map[string]int{}
	for _, r := range table.Rows {
		if strings.HasPrefix(r[0], "LakeCon") {
			if r[1] != "us-east-1" {
				t.Errorf("row %v: region", r)
			}
			var n int
			fmt.Sscan(r[2], &n)
			got[r[0]] = n
		}
	}
	if len(table.Head) != 3 || table.Head[0] != "eventName" || table.Head[1] != "awsRegion" || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the sample's table %v %v, want counts %v", table.Head, got, want)
	}
	if s := conGet(t, bctx, "the status", chromedp.Text(chromedp.ID("query-status"))); !strings.Contains(s, "FINISHED") {
		t.Errorf("status %q", s)
	}
	matched := conGet(t, bctx, "matched", chromedp.Text(chromedp.ID("stat-matched")))
	if matched == "0" || matched == "" {
		t.Errorf("events matched %q", matched)
	}
	ctShots(t, bctx, shots, "console-lake-results")
	firstQuery := conGet(t, bctx, "the URL", chromedp.Location())
	// A reload shows the query again and starts none.
	conRun(t, bctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("results")))
	if n := lcConsoleCalls(t, sdk, "StartQuery"); n != before+1 {
		t.Errorf("Run and a reload recorded %d StartQuery calls, want 1", n-before)
	}

	// A wide result (every column) scrolls in its box, not the page.
	conRun(t, bctx, "the wide sample", chromedp.Navigate(srv.URL+"/console/lake?sample=first-100"), chromedp.WaitVisible(chromedp.ID("sql")),
		conSubmit("#run"), conWaitURL("/console/lake/query?"))
	if wide := lcResults(t, bctx); len(wide.Head) < 10 || len(wide.Rows) == 0 {
		t.Errorf("SELECT * shows %d columns, %d rows", len(wide.Head), len(wide.Rows))
	}
	ctShots(t, bctx, t.TempDir(), "console-lake-wide") // checked for width, too tall to keep

	// A query of every event, paged 50 rows at a time, and its CSV.
	conRun(t, bctx, "the editor", chromedp.Navigate(srv.URL+"/console/lake"), chromedp.WaitVisible(chromedp.ID("sql")),
		chromedp.SetValue(chromedp.ID("sql"), "SELECT eventID, eventName FROM $EDS_ID WHERE eventSource = '"+lakeSource+"' ORDER BY eventID"),
		conSubmit("#run"), conWaitURL("/console/lake/query?"))
	page1 := lcResults(t, bctx)
	if c := conGet(t, bctx, "count", chromedp.Text(chromedp.ID("results-count"))); !strings.Contains(c, "Rows 1–50 of 60") {
		t.Errorf("count line %q", c)
	}
	conRun(t, bctx, "next page", conSubmit("#next-page"), chromedp.WaitVisible(chromedp.ID("results")))
	page2 := lcResults(t, bctx)
	if c := conGet(t, bctx, "count", chromedp.Text(chromedp.ID("results-count"))); !strings.Contains(c, "Rows 51–60 of 60") {
		t.Errorf("count line of page 2 %q", c)
	}
	var paged []string
	for _, r := range append(page1.Rows, page2.Rows...) {
		paged = append(paged, r[0])
	}
	if !slices.Equal(paged, ids) {
		t.Errorf("the pages' event IDs %v, want %v", paged, ids)
	}
	reads := lcConsoleCalls(t, sdk, "GetQueryResults")
	body := conGet(t, bctx, "the CSV", chromedp.Evaluate[string](
		`fetch(document.getElementById("download-csv").href).then(r => r.ok ? r.text() : "HTTP " + r.status)`, chromedp.EvalAwaitPromise))
	if n := lcConsoleCalls(t, sdk, "GetQueryResults"); n != reads+1 {
		t.Errorf("the download recorded %d GetQueryResults calls, want 1", n-reads)
	}
	lines, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(lines) != 61 || !slices.Equal(lines[0], []string{"eventID", "eventName"}) {
		t.Fatalf("the CSV (%v): %.300s", err, body)
	}
	var inCSV []string
	for _, l := range lines[1:] {
		inCSV = append(inCSV, l[0])
	}
	if !slices.Equal(inCSV, ids) {
		t.Errorf("the CSV's event IDs %v, want %v", inCSV, ids)
	}

	// A refused statement: the error under the editor, the SQL as typed.
	bad := "SELECT eventName\nFROM " + store + "\nWHERE eventName = = 'x'"
	conRun(t, bctx, "a bad query", chromedp.Navigate(srv.URL+"/console/lake"), chromedp.WaitVisible(chromedp.ID("sql")),
		chromedp.SetValue(chromedp.ID("sql"), bad), conSubmit("#run"), chromedp.WaitVisible(chromedp.ID("sql-error")))
	errText := conGet(t, bctx, "the error", chromedp.Text(chromedp.ID("sql-error")))
	if !strings.Contains(errText, "InvalidQueryStatementException") || !strings.Contains(errText, "line 3:") {
		t.Errorf("the error %q", errText)
	}
	if v := conGet(t, bctx, "the SQL kept", chromedp.Value(chromedp.ID("sql"))); v != bad {
		t.Errorf("the editor holds %q, want %q", v, bad)
	}
	placed := conGet(t, bctx, "placement", chromedp.Evaluate[bool](`document.getElementById("sql-error").previousElementSibling.id === "sql" &&
		document.getElementById("sql").getAttribute("aria-describedby") === "sql-error"`))
	if !placed {
		t.Error("the error is not under the editor")
	}
	// With the script, the editor's cursor is where the error points
	// (line 3, column 19: the second "=").
	wantAt := strings.LastIndex(bad, "=")
	if at := conGet(t, bctx, "the cursor", chromedp.Evaluate[int](`document.getElementById("sql").selectionStart`)); at != wantAt {
		t.Errorf("the cursor is at %d, want %d (where the error points)", at, wantAt)
	}
	if loc := conGet(t, bctx, "the URL", chromedp.Location()); !strings.Contains(loc, "/console/lake?") {
		t.Errorf("a refused Run ended at %s, want the Lake page (a GET)", loc)
	}
	ctShots(t, bctx, shots, "console-lake-error")

	// A refused statement with $EDS_ID: the position is in the text as
	// typed (the console replaces the placeholder by the 36-character ID
	// before StartQuery), and so is the cursor.
	badEDS := "SELECT eventName FROM $EDS_ID LIMIT 1 UNION SELECT eventName FROM $EDS_ID"
	conRun(t, bctx, "a bad query with $EDS_ID", chromedp.Navigate(srv.URL+"/console/lake?store="+store), chromedp.WaitVisible(chromedp.ID("sql")),
		chromedp.SetValue(chromedp.ID("sql"), badEDS), conSubmit("#run"), chromedp.WaitVisible(chromedp.ID("sql-error")))
	limitAt := strings.Index(badEDS, "LIMIT")
	if e := conGet(t, bctx, "the error", chromedp.Text(chromedp.ID("sql-error"))); !strings.Contains(e, fmt.Sprintf("line 1:%d: LIMIT is allowed only after the last SELECT", limitAt+1)) {
		t.Errorf("the error %q, want line 1:%d (LIMIT in the text as typed)", e, limitAt+1)
	}
	if at := conGet(t, bctx, "the cursor", chromedp.Evaluate[int](`document.getElementById("sql").selectionStart`)); at != limitAt {
		t.Errorf("the cursor is at %d, want %d (LIMIT)", at, limitAt)
	}

	// Cancel: a query that would run for ages (a five-way self join).
	slow := fmt.Sprintf("SELECT count(*) FROM %[1]s a CROSS JOIN %[1]s b CROSS JOIN %[1]s c CROSS JOIN %[1]s d CROSS JOIN %[1]s e WHERE a.eventName <> e.eventSource", store)
	conRun(t, bctx, "a slow query", chromedp.Navigate(srv.URL+"/console/lake"), chromedp.WaitVisible(chromedp.ID("sql")),
		chromedp.SetValue(chromedp.ID("sql"), slow), conSubmit("#run"), conWaitURL("/console/lake/query?"), chromedp.WaitVisible(chromedp.ID("cancel")))
	if s := conGet(t, bctx, "running", chromedp.Text(chromedp.ID("query-status"))); !strings.Contains(s, "RUNNING") && !strings.Contains(s, "QUEUED") {
		t.Errorf("the slow query's status %q", s)
	}
	if href := conGet(t, bctx, "refresh link", chromedp.AttributeValue(chromedp.ID("refresh"), "href")); !strings.Contains(href.Value, "/console/lake/query?") {
		t.Errorf("no refresh link: %+v", href)
	}
	ctShots(t, bctx, shots, "console-lake-running")
	conRun(t, bctx, "Cancel", conSubmit("#cancel"), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if s := conGet(t, bctx, "cancelled", chromedp.Text(chromedp.ID("query-status"))); !strings.Contains(s, "CANCELLED") {
		t.Errorf("after Cancel the status is %q", s)
	}

	// The history: newest first, every query of the store, with links.
	conRun(t, bctx, "the history", chromedp.Navigate(srv.URL+"/console/lake?store="+store), chromedp.WaitVisible(chromedp.ID("queries")))
	hist := conGet(t, bctx, "history rows", chromedp.Evaluate[[][]string](`[...document.querySelectorAll("#queries tbody tr")].map(r => [...r.querySelectorAll("td")].map(c => c.innerText))`))
	if len(hist) != 4 || !strings.Contains(hist[0][2], "CANCELLED") || !strings.Contains(hist[1][2], "FINISHED") || !strings.Contains(hist[3][2], "FINISHED") ||
		!strings.Contains(firstQuery, "id="+hist[3][1]+"&") {
		t.Errorf("history %v (the first query was %s)", hist, firstQuery)
	}
	ctShots(t, bctx, shots, "console-lake")

	// Choosing another store puts its ID after FROM.
	other, err := sdk.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("second-store")})
	if err != nil {
		t.Fatal(err)
	}
	otherID := aws.ToString(other.EventDataStoreArn)[strings.LastIndexByte(aws.ToString(other.EventDataStoreArn), '/')+1:]
	conRun(t, bctx, "the Lake page", chromedp.Navigate(srv.URL+"/console/lake?store="+store), chromedp.WaitVisible(chromedp.ID("sql")))
	chosen := conGet(t, bctx, "choose a store", chromedp.Evaluate[string](`(() => { const s = document.getElementById("store");
		s.value = "`+otherID+`"; s.dispatchEvent(new Event("change")); return document.getElementById("sql").value; })()`))
	if chosen != "SELECT eventName, awsRegion, count(*) FROM "+otherID+" GROUP BY eventName, awsRegion" {
		t.Errorf("after choosing the second store the editor holds %q", chosen)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("page problems: %v", p)
	}

	// Another account's user: the query's URL is not found, its CSV too.
	octx, _ := conBrowser(t)
	conSignIn(t, octx, srv, OtherKey, OtherSecret)
	conRun(t, octx, "alice's query", chromedp.Navigate(firstQuery), chromedp.WaitVisible(chromedp.CSS("main h1")))
	page := conGet(t, octx, "the page", chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(page, "Query not found") || strings.Contains(page, "LakeCon") || strings.Contains(page, "GROUP BY") {
		t.Errorf("another account's query page:\n%s", page)
	}
	conRun(t, octx, "alice's store", chromedp.Navigate(srv.URL+"/console/lake?store="+store), chromedp.WaitVisible(chromedp.ID("sql")))
	page = conGet(t, octx, "the page", chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(page, "EventDataStoreNotFoundException") || strings.Contains(page, "console-store") || strings.Contains(page, hist[0][1]) {
		t.Errorf("another account's store in the URL:\n%s", page)
	}
	qid := firstQuery[strings.Index(firstQuery, "id=")+3:]
	qid, _, _ = strings.Cut(qid, "&")
	status := conGet(t, octx, "alice's CSV", chromedp.Evaluate[int](`fetch("/console/lake/results.csv?id=`+qid+`").then(r => r.status)`, chromedp.EvalAwaitPromise))
	if status != 404 {
		t.Errorf("another account's CSV: HTTP %d, want 404", status)
	}
}
