package sqlite

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

// TestAcknowledgedBeforeIndexed: an append is acknowledged once its frames
// are in the log, before the indexer writes them to the database. Events
// are readable at once, and a crash before indexing loses none of them:
// the next open indexes them from the log.
func TestAcknowledgedBeforeIndexed(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	indexed := storetest.Rec(t, "111111111111", "us-east-1", "Indexed", storetest.Base, nil)
	if _, err := s.Append(ctx, []*event.Event{indexed}); err != nil {
		t.Fatal(err)
	}
	waitIndexed(t, s)

	// Hold the database's one write connection: the indexer waits.
	conn, err := s.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var evs []*event.Event
	for _, name := range []string{"One", "Two", "Three"} {
		evs = append(evs, storetest.Rec(t, "111111111111", "us-east-1", name, storetest.Base, nil))
	}
	if _, err := s.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if n := s.pendingCount(); n != 3 {
		t.Fatalf("%d events pending, want 3", n)
	}
	check := func(t *testing.T, st store.Store) {
		t.Helper()
		p, err := st.Lookup(ctx, store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
			Attr: event.AttrEventName, Value: "Two", Start: storetest.Base, End: storetest.Base, Limit: 5})
		if err != nil || len(p.Events) != 1 || p.Events[0].ID != evs[1].ID {
			t.Fatalf("lookup by name: %+v, %v", p, err)
		}
		p, err = st.Lookup(ctx, store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
			Attr: event.AttrEventID, Value: evs[2].ID, Start: storetest.Base, End: storetest.Base, Limit: 5})
		if err != nil || len(p.Events) != 1 || p.Events[0].ID != evs[2].ID {
			t.Fatalf("lookup by eventID: %+v, %v", p, err)
		}
		p, err = st.Lookup(ctx, store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
			Start: storetest.Base, End: storetest.Base, Limit: 50})
		if err != nil || len(p.Events) != 4 {
			t.Fatalf("listing: %d events, %v", len(p.Events), err)
		}
		log, err := st.ReadLog(ctx, 0, 10)
		if err != nil || len(log) != 4 || log[3].ID != evs[2].ID {
			t.Fatalf("ReadLog: %d events, %v", len(log), err)
		}
		res, err := st.Append(ctx, []*event.Event{evs[0]})
		if err != nil || !res[0].Duplicate || res[0].Seq != evs[0].Seq {
			t.Fatalf("appended again: %+v, %v", res, err)
		}
	}
	t.Run("pending", func(t *testing.T) { check(t, s) })

	// A crash now: copy the directory as it is on disk.
	crashed := t.TempDir()
	copyDir(t, dir, crashed)
	conn.Close()

	r, err := Open(crashed)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n := r.pendingCount(); n != 0 {
		t.Fatalf("%d events still pending after open", n)
	}
	t.Run("recovered", func(t *testing.T) { check(t, r) })
	next := storetest.Rec(t, "111111111111", "us-east-1", "Next", storetest.Base, nil)
	res, err := r.Append(ctx, []*event.Event{next})
	if err != nil || res[0].Seq != evs[2].Seq+1 {
		t.Fatalf("append after recovery: %+v, %v", res, err)
	}
}

func waitIndexed(t *testing.T, s *Store) {
	t.Helper()
	s.pmu.Lock()
	defer s.pmu.Unlock()
	for s.pendingEvents > 0 {
		s.pcond.Wait()
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(dst)
		if err != nil {
			return err
		}
		defer out.Close()
		_, err = io.Copy(out, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
