package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// lakeStoreID creates a store with ct and returns its ID.
func lakeStoreID(t *testing.T, ct *cloudtrail.Client, name string) string {
	t.Helper()
	out, err := ct.CreateEventDataStore(context.Background(), &cloudtrail.CreateEventDataStoreInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.EventDataStoreArn)
	return arn[strings.LastIndexByte(arn, '/')+1:]
}

// lakeStatuses are the statuses of queries ids.
func lakeStatuses(ct *cloudtrail.Client, ids []string) ([]types.QueryStatus, error) {
	var out []types.QueryStatus
	for _, id := range ids {
		d, err := ct.DescribeQuery(context.Background(), &cloudtrail.DescribeQueryInput{QueryId: aws.String(id)})
		if err != nil {
			return nil, err
		}
		out = append(out, d.QueryStatus)
	}
	return out, nil
}

// TestLakeStartQueryWhileEveryReadConnectionIsBusy: with every read
// connection of the engine held by heavy queries (three of one account,
// one of another: an account may hold three of the four), StartQuery
// still checks a statement without a connection: a good one is accepted
// (QUEUED) while the heavy ones are still RUNNING, and a bad one is
// refused with InvalidQueryStatementException saying where — not let
// through because its check could not get a connection in time.
func TestLakeStartQueryWhileEveryReadConnectionIsBusy(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	alice := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bob := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	as, bs := lakeStoreID(t, alice, "busy-alice"), lakeStoreID(t, bob, "busy-bob")
	ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-east-1", "A", 20)
	ingestLake(t, srv, OtherKey, OtherSecret, Account2, "us-east-1", "B", 20)

	// A six-way self join: billions of rows, it runs until cancelled.
	heavy := func(store string) string {
		return fmt.Sprintf("SELECT count(*) FROM %[1]s a CROSS JOIN %[1]s b CROSS JOIN %[1]s c CROSS JOIN %[1]s d CROSS JOIN %[1]s e CROSS JOIN %[1]s f WHERE a.eventName <> f.eventSource", store)
	}
	start := func(ct *cloudtrail.Client, sql string) string {
		t.Helper()
		out, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(sql)})
		if err != nil {
			t.Fatalf("StartQuery %q: %v", sql, err)
		}
		return aws.ToString(out.QueryId)
	}
	var aliceHeavy []string
	for range 3 {
		aliceHeavy = append(aliceHeavy, start(alice, heavy(as)))
	}
	bobHeavy := []string{start(bob, heavy(bs))}
	t.Cleanup(func() { // free the CPU for the tests after this one
		for _, id := range aliceHeavy {
			_, _ = alice.CancelQuery(ctx, &cloudtrail.CancelQueryInput{QueryId: aws.String(id)})
		}
		_, _ = bob.CancelQuery(ctx, &cloudtrail.CancelQueryInput{QueryId: aws.String(bobHeavy[0])})
	})
	allRunning := func() (bool, string) {
		a, err := lakeStatuses(alice, aliceHeavy)
		if err != nil {
			return false, err.Error()
		}
		b, err := lakeStatuses(bob, bobHeavy)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range append(a, b...) {
			if s != types.QueryStatusRunning {
				return false, fmt.Sprintf("heavy queries %v %v, want all RUNNING", a, b)
			}
		}
		return true, ""
	}
	testutil.WaitFor(t, 60*time.Second, allRunning)

	// Every read connection is held: a good statement is accepted and
	// waits its turn, the heavy queries still RUNNING when it is.
	light := start(alice, "SELECT eventName FROM "+as+" LIMIT 1")
	if ok, why := allRunning(); !ok {
		t.Fatalf("StartQuery answered only after a heavy query ended: %s", why)
	}
	if st, err := lakeStatuses(alice, []string{light}); err != nil || st[0] != types.QueryStatusQueued {
		t.Errorf("a query started while every slot is busy: %v, %v; want QUEUED", st, err)
	}
	bobLight := start(bob, "SELECT eventName FROM "+bs+" LIMIT 1")

	// A bad statement is refused, saying where, not let through.
	for _, bad := range []struct{ sql, where string }{
		{"SELECT eventNme FROM " + as, "line 1:8"},
		{"SELECT eventName FROM " + as + " WHERE eventName = = 'x'", "line 1:"},
		{"SELECT nosuchfn(eventName) FROM " + as, "line 1:8"},
	} {
		_, err := alice.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(bad.sql)})
		var iq *types.InvalidQueryStatementException
		if !errors.As(err, &iq) || !strings.Contains(err.Error(), bad.where) {
			t.Errorf("StartQuery %q while every connection is busy: %v; want InvalidQueryStatementException at %s", bad.sql, err, bad.where)
		}
	}
	if ok, why := allRunning(); !ok {
		t.Fatalf("refusing bad statements waited for a heavy query to end: %s", why)
	}

	// Once the heavy queries are cancelled the waiting ones run.
	for _, id := range aliceHeavy {
		if _, err := alice.CancelQuery(ctx, &cloudtrail.CancelQueryInput{QueryId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bob.CancelQuery(ctx, &cloudtrail.CancelQueryInput{QueryId: aws.String(bobHeavy[0])}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		ct *cloudtrail.Client
		id string
	}{{alice, light}, {bob, bobLight}} {
		testutil.WaitFor(t, 60*time.Second, func() (bool, string) {
			st, err := lakeStatuses(w.ct, []string{w.id})
			if err != nil {
				return false, err.Error()
			}
			return st[0] == types.QueryStatusFinished, fmt.Sprintf("the waiting query is %s", st[0])
		})
	}
}
