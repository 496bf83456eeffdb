package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// hiddenEvent is one appended event with what HideReadOnly decides by.
type hiddenEvent struct {
	e        *event.Event
	user     string
	readOnly string // "true", "false" or "" (no readOnly field)
	failed   bool
	counted  bool // the account and region asked about
}

// hiddenEvents builds events of alice and bob over two days before Base,
// read-only, not read-only and without readOnly, some failed, and
// read-only look-alikes of another account and region.
func hiddenEvents(t *testing.T, acct string) []hiddenEvent {
	var out []hiddenEvent
	first := Base.Add(-48 * time.Hour)
	for i := 0; i < 600; i++ {
		at := first.Add(time.Duration(i*i%172800) * time.Second)
		he := hiddenEvent{user: []string{"alice", "bob"}[i%2], readOnly: []string{"true", "false", "true", ""}[i%4],
			failed: i%5 == 0, counted: true}
		if i%3 == 0 {
			he.readOnly = "true" // mostly read-only, as real traffic is
		}
		account, region := acct, "us-east-1"
		if i%11 == 0 {
			account, he.counted = "999999999999", false
		} else if i%13 == 0 {
			region, he.counted = "eu-west-1", false
		}
		extra := map[string]any{"eventID": fmt.Sprintf("rrrrrrrr-0000-0000-0000-%012d", i),
			"userIdentity": map[string]any{"type": "IAMUser", "userName": he.user}}
		switch he.readOnly {
		case "true":
			extra["readOnly"] = true
		case "false":
			extra["readOnly"] = false
		}
		if he.failed {
			extra["errorCode"] = "AccessDenied"
		}
		he.e = Rec(t, account, region, "GetObject", at, extra)
		out = append(out, he)
	}
	return out
}

// testHideReadOnly checks HideReadOnly against a count of its own: the
// listing (paged) and the histogram both leave out exactly the read-only
// events, alone and with a lookup attribute, pending or indexed.
func testHideReadOnly(t *testing.T, s store.Store) {
	defer s.Close()
	acct := "111111111111"
	evs := hiddenEvents(t, acct)
	all := make([]*event.Event, 0, len(evs))
	for _, he := range evs {
		all = append(all, he.e)
	}
	appendHalves(t, s, all)
	start, end := Base.Add(-48*time.Hour), Base
	for _, user := range []string{"", "bob"} {
		want := map[string]bool{}
		wantErrors := 0
		for _, he := range evs {
			if he.counted && he.readOnly != "true" && (user == "" || he.user == user) {
				want[he.e.ID] = true
				if he.failed {
					wantErrors++
				}
			}
		}
		q := store.Query{Account: acct, Region: "us-east-1", Category: event.CategoryManagement, Start: start, End: end,
			Limit: 7, HideReadOnly: true}
		if user != "" {
			q.Attr, q.Value = event.AttrUsername, user
		}
		got := map[string]bool{}
		var last *event.Event
		for pages := 0; ; pages++ {
			if pages > 1000 {
				t.Fatal("paging does not end")
			}
			page, err := s.Lookup(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Events {
				if got[e.ID] || !want[e.ID] {
					t.Fatalf("user %q: listed %s (twice, or read-only)", user, e.ID)
				}
				if last != nil && e.Time.After(last.Time) {
					t.Fatalf("user %q: %s listed after a newer event", user, e.ID)
				}
				got[e.ID], last = true, e
			}
			if page.Next == nil {
				break
			}
			q.After = page.Next
		}
		if len(got) != len(want) {
			t.Errorf("user %q: listed %d events, want %d", user, len(got), len(want))
		}
		hq := store.HistogramQuery{Account: acct, Region: "us-east-1", Category: event.CategoryManagement,
			Start: start, End: end, Width: 6 * time.Hour, Errors: true, HideReadOnly: true}
		if user != "" {
			hq.Attr, hq.Value = event.AttrUsername, user
		}
		var total, errs int64
		for _, b := range histogram(t, s, hq) {
			total, errs = total+b.Count, errs+b.Errors
		}
		if total != int64(len(want)) || errs != int64(wantErrors) {
			t.Errorf("user %q: histogram counts %d events, %d failed; want %d, %d", user, total, errs, len(want), wantErrors)
		}
		// Without HideReadOnly, the read-only events are back.
		hq.HideReadOnly = false
		total = 0
		for _, b := range histogram(t, s, hq) {
			total += b.Count
		}
		if total <= int64(len(want)) {
			t.Errorf("user %q: %d events without HideReadOnly, want more than %d", user, total, len(want))
		}
	}
}
