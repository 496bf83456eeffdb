package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/sqlite/sqlitetest"
)

const (
	acctA = "111111111111"
	acctB = "222222222222"
	acctC = "333333333333"
)

// newService is the one place these tests construct the service (so a
// change of New's signature is a one-line change here).
func newService(st store.Store) *Service {
	return New(st, []string{"us-east-1", "eu-west-1"}, nil, slog.New(slog.DiscardHandler))
}

// setup is a service on a new store, and the caller.
func setup(t *testing.T) (store.Store, *Service, *auth.Principal) {
	t.Helper()
	st := sqlitetest.Open(t)
	return st, newService(st), caller(t)
}

// caller is an ingest user of account A that may also write for B.
func caller(t *testing.T) *auth.Principal {
	t.Helper()
	d := auth.NewDirectory(auth.Options{Accounts: []config.Account{
		{ID: acctA, Users: []config.User{{Name: "sender", Policy: config.Policy{Preset: "ingest"}, IngestAccounts: []string{acctB},
			AccessKeys: []config.AccessKey{{ID: "AKIASENDER", Secret: "s"}}}}},
		{ID: acctB}, {ID: acctC},
	}})
	p, ok := d.Principal("AKIASENDER")
	if !ok {
		t.Fatal("no principal")
	}
	return p
}

// rec is a CloudTrail record; fields override or (with a nil value) remove
// the defaults.
func rec(id string, fields map[string]any) json.RawMessage {
	r := map[string]any{"eventVersion": "1.08", "eventTime": "2026-11-26T09:00:00Z", "eventSource": "ec2.amazonaws.com",
		"eventName": "RunInstances", "awsRegion": "us-east-1", "eventID": id}
	for k, v := range fields {
		if v == nil {
			delete(r, k)
		} else {
			r[k] = v
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	return b
}

// storedEvents reads the whole event log.
func storedEvents(t *testing.T, st store.Store) []*event.Event {
	t.Helper()
	evs, err := st.ReadLog(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func failureCodes(fs []Failure) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%d:%s", f.Index, f.ErrorCode))
	}
	return out
}

// Each bad record fails on its own, with its index and code; the good
// records of the same batch are stored, their IDs in input order.
func TestSubmitPerRecordFailures(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t)
	s := newService(st)
	records := []json.RawMessage{
		rec("ok-1", nil),
		rec("no-name", map[string]any{"eventName": nil}),
		rec("bad-region", map[string]any{"awsRegion": "mars-north-1"}),
		rec("ok-2", map[string]any{"recipientAccountId": acctB}),
		rec("walled", map[string]any{"recipientAccountId": acctC}),
		json.RawMessage(`{"eventName": "x"`),
		rec("long", map[string]any{"eventName": strings.Repeat("n", 200_000)}),
		rec("ok-3", map[string]any{"awsRegion": "eu-west-1"}),
	}
	res, err := s.Submit(ctx, caller(t), records)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 3 || !slices.Equal(res.EventIDs, []string{"ok-1", "ok-2", "ok-3"}) {
		t.Errorf("accepted %d %v, want 3 [ok-1 ok-2 ok-3]", res.Accepted, res.EventIDs)
	}
	want := []string{"1:" + event.ErrFieldNotFound, "2:" + event.ErrInvalidData, "4:" + event.ErrInvalidRecipient,
		"5:" + event.ErrInvalidData, "6:" + event.ErrFieldTooLong}
	if got := failureCodes(res.Failed); !slices.Equal(got, want) {
		t.Errorf("failures %v, want %v", got, want)
	}
	for _, f := range res.Failed {
		if f.ErrorMessage == "" {
			t.Errorf("failure %d has no message", f.Index)
		}
	}
	evs := storedEvents(t, st)
	var got []string
	for _, e := range evs {
		got = append(got, e.Account+"/"+e.Region+"/"+e.ID)
	}
	if want := []string{acctA + "/us-east-1/ok-1", acctB + "/us-east-1/ok-2", acctA + "/eu-west-1/ok-3"}; !slices.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

// A batch sent again gets the same answer and stores nothing twice; a
// batch of nothing but failures stores nothing.
func TestSubmitIdempotent(t *testing.T) {
	ctx := context.Background()
	st, s, p := setup(t)
	batch := []json.RawMessage{rec("a", nil), rec("b", map[string]any{"eventName": nil}), rec("c", nil)}
	first, err := s.Submit(ctx, p, batch)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		again, err := s.Submit(ctx, p, batch)
		if err != nil {
			t.Fatal(err)
		}
		if again.Accepted != first.Accepted || !slices.Equal(again.EventIDs, first.EventIDs) ||
			!slices.Equal(failureCodes(again.Failed), failureCodes(first.Failed)) {
			t.Errorf("resend answered %+v, first answer %+v", again, first)
		}
	}
	if n := len(storedEvents(t, st)); n != 2 {
		t.Errorf("%d events stored after three sends of 2 good records, want 2", n)
	}
	none, err := s.Submit(ctx, p, []json.RawMessage{json.RawMessage(`[]`)})
	if err != nil || none.Accepted != 0 || len(none.EventIDs) != 0 || len(none.Failed) != 1 {
		t.Errorf("all-bad batch: %+v, %v", none, err)
	}
	empty, err := s.Submit(ctx, p, nil)
	if err != nil || empty.Accepted != 0 || empty.EventIDs == nil || empty.Failed == nil {
		t.Errorf("empty batch: %+v, %v (want empty, non-nil lists)", empty, err)
	}
}

// The EventIdConflict rule: a record whose eventID its account already has
// with other content is refused, the stored event stays; the same eventID
// in another account is another event; the rest of the batch is stored and
// failures stay in input order.
func TestSubmitEventIDConflict(t *testing.T) {
	ctx := context.Background()
	st, s, p := setup(t)
	orig := rec("dup", nil)
	if res, err := s.Submit(ctx, p, []json.RawMessage{orig}); err != nil || res.Accepted != 1 {
		t.Fatalf("first send: %+v, %v", res, err)
	}
	res, err := s.Submit(ctx, p, []json.RawMessage{
		rec("dup", map[string]any{"eventName": "TerminateInstances"}), // conflict
		rec("bad", map[string]any{"eventSource": nil}),                // decode failure
		rec("dup", map[string]any{"recipientAccountId": acctB}),       // another account's event
		rec("new", nil),
		orig, // a resend: accepted
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 3 || !slices.Equal(res.EventIDs, []string{"dup", "new", "dup"}) {
		t.Errorf("accepted %d %v, want 3 [dup new dup]", res.Accepted, res.EventIDs)
	}
	if got, want := failureCodes(res.Failed), []string{"0:" + ErrEventIDConflict, "1:" + event.ErrFieldNotFound}; !slices.Equal(got, want) {
		t.Errorf("failures %v, want %v", got, want)
	}
	if msg := res.Failed[0].ErrorMessage; !strings.Contains(msg, `"dup"`) || !strings.Contains(msg, acctA) {
		t.Errorf("conflict message %q names neither the eventID nor the account", msg)
	}
	var names []string
	for _, e := range storedEvents(t, st) {
		f := map[string]any{}
		if err := json.Unmarshal(e.Record, &f); err != nil {
			t.Fatal(err)
		}
		names = append(names, fmt.Sprintf("%s/%s/%v", e.Account, e.ID, f["eventName"]))
	}
	want := []string{acctA + "/dup/RunInstances", acctB + "/dup/RunInstances", acctA + "/new/RunInstances"}
	if !slices.Equal(names, want) {
		t.Errorf("stored %v, want %v", names, want)
	}
}

// failingStore is a store whose appends fail.
type failingStore struct{ store.Store }

func (failingStore) Append(context.Context, []*event.Event) ([]store.AppendResult, error) {
	return nil, errors.New("disk on fire")
}

// A store that cannot append answers ServiceUnavailable for the whole
// request and no partial result.
func TestSubmitStoreFailure(t *testing.T) {
	s := newService(failingStore{sqlitetest.Open(t)})
	res, err := s.Submit(context.Background(), caller(t), []json.RawMessage{rec("a", nil)})
	var ae *awsproto.Error
	if !errors.As(err, &ae) || ae.Code != "ServiceUnavailableException" || ae.Status != 503 {
		t.Fatalf("error %v, want ServiceUnavailableException (503)", err)
	}
	if res.Accepted != 0 || len(res.EventIDs) != 0 || len(res.Failed) != 0 {
		t.Errorf("result %+v alongside the error, want none", res)
	}
}

// Cairn's own records: with wait they are durable on return; without, Close
// waits for them; an invalid one is an error; one whose eventID is stored
// with other content is an error with wait.
func TestRecord(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t)
	s := newService(st)
	if err := s.Record(ctx, acctA, rec("own-1", nil), true); err != nil {
		t.Fatal(err)
	}
	if n := len(storedEvents(t, st)); n != 1 {
		t.Fatalf("%d events after a waited Record, want 1", n)
	}
	for i := range 20 {
		if err := s.Record(ctx, acctA, rec(fmt.Sprintf("bg-%d", i), nil), false); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if n := len(storedEvents(t, st)); n != 21 {
		t.Errorf("%d events after Close, want 21", n)
	}
	if err := s.Record(ctx, acctA, json.RawMessage(`{"eventID":"x"}`), true); err == nil {
		t.Error("an invalid own record was accepted")
	}
	if err := s.Record(ctx, acctA, rec("own-1", map[string]any{"eventName": "Other"}), true); err == nil ||
		!strings.Contains(err.Error(), "different content") {
		t.Errorf("conflicting own record: %v, want a different-content error", err)
	}
	if !s.Serves("eu-west-1") || s.Serves("mars-north-1") {
		t.Error("Serves does not follow the configured regions")
	}
}

// A user whose ingest_accounts is "*" writes for every configured account,
// never for an account named "*".
func TestSubmitWildcardIsNoAccount(t *testing.T) {
	st := sqlitetest.Open(t)
	s := newService(st)
	d := auth.NewDirectory(auth.Options{Accounts: []config.Account{
		{ID: acctA, Users: []config.User{{Name: "collector", Policy: config.Policy{Preset: "ingest"}, IngestAccounts: []string{"*"},
			AccessKeys: []config.AccessKey{{ID: "AKIACOLLECTOR", Secret: "s"}}}}},
		{ID: acctB},
	}})
	p, ok := d.Principal("AKIACOLLECTOR")
	if !ok {
		t.Fatal("no principal")
	}
	res, err := s.Submit(context.Background(), p, []json.RawMessage{
		rec("to-b", map[string]any{"recipientAccountId": acctB}),
		rec("to-star", map[string]any{"recipientAccountId": "*"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := failureCodes(res.Failed), []string{"1:" + event.ErrInvalidRecipient}; !slices.Equal(got, want) {
		t.Errorf("failures %v, want %v", got, want)
	}
	for _, e := range storedEvents(t, st) {
		if e.Account != acctB {
			t.Errorf("stored %s in account %q", e.ID, e.Account)
		}
	}
}
