package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/chromedp/chromedp"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// lcHistoryIDs are the query IDs of the Lake page's history table.
func lcHistoryIDs(t *testing.T, ctx context.Context) []string {
	t.Helper()
	return conGet(t, ctx, "the history's query IDs", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#queries tbody tr a.query-link")].map(a => a.innerText.trim())`))
}

// TestLakeConsoleHistoryPages: the Lake page's query history shows the
// newest 25 queries and an "Older queries" link to the rest, page by
// page, and a link back to the newest; a tampered page token is refused
// on the page, not a failure.
func TestLakeConsoleHistoryPages(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	sdk := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	store := lakeStoreID(t, sdk, "history-store")

	// 31 queries, newest last, each ended before the next batch starts
	// (an account may have 10 queued or running).
	var started []string
	for len(started) < 31 {
		batch := min(8, 31-len(started))
		var ids []string
		for range batch {
			out, err := sdk.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String("SELECT eventName FROM " + store + " LIMIT 1")})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, aws.ToString(out.QueryId))
		}
		testutil.WaitFor(t, 60*time.Second, func() (bool, string) {
			st, err := lakeStatuses(sdk, ids)
			if err != nil {
				return false, err.Error()
			}
			for _, s := range st {
				if s == types.QueryStatusQueued || s == types.QueryStatusRunning {
					return false, fmt.Sprint(st)
				}
			}
			return true, ""
		})
		started = append(started, ids...)
	}
	newestFirst := slices.Clone(started)
	slices.Reverse(newestFirst)

	bctx, problems := conBrowser(t)
	conSignIn(t, bctx, srv, AdminKey, AdminSecret)
	conRun(t, bctx, "the Lake page", chromedp.Navigate(srv.URL+"/console/lake?store="+store), chromedp.WaitVisible(chromedp.ID("queries")))
	if got := lcHistoryIDs(t, bctx); !slices.Equal(got, newestFirst[:25]) {
		t.Fatalf("the first history page lists %d queries %v,\nwant the newest 25 %v", len(got), got, newestFirst[:25])
	}
	if n := conGet(t, bctx, "newest link", chromedp.Evaluate[int](`document.querySelectorAll("#history-newest").length`)); n != 0 {
		t.Error("the first history page links to the newest queries: it is them")
	}
	conRun(t, bctx, "Older queries", conSubmit("#history-older"), chromedp.WaitVisible(chromedp.ID("queries")))
	if loc := conGet(t, bctx, "the URL", chromedp.Location()); !strings.Contains(loc, "hist=") || !strings.Contains(loc, "store="+store) {
		t.Errorf("the older page is at %s", loc)
	}
	if got := lcHistoryIDs(t, bctx); !slices.Equal(got, newestFirst[25:]) {
		t.Errorf("the older history page lists %v, want the oldest 6 %v", got, newestFirst[25:])
	}
	if n := conGet(t, bctx, "older link", chromedp.Evaluate[int](`document.querySelectorAll("#history-older").length`)); n != 0 {
		t.Error("the last history page links to older queries")
	}
	conRun(t, bctx, "Newest queries", conSubmit("#history-newest"), chromedp.WaitVisible(chromedp.ID("queries")))
	if got := lcHistoryIDs(t, bctx); !slices.Equal(got, newestFirst[:25]) {
		t.Errorf("back to the newest: %v", got)
	}

	// A token that ListQueries did not make: said on the page.
	conRun(t, bctx, "a bad page token", chromedp.Navigate(srv.URL+"/console/lake?store="+store+"&hist=bm9wZQ"), chromedp.WaitVisible(chromedp.ID("history")))
	page := conGet(t, bctx, "the page", chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(page, "InvalidNextTokenException") {
		t.Errorf("a bad history token: the page says\n%s", page)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("page problems: %v", p)
	}
}
