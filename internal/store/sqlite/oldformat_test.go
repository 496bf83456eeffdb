package sqlite

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the segment files in testdata/oldlog")

// oldLogDir holds segment files written by the store before the segment
// code moved to internal/segment (the generator below, run with -update on
// that code, wrote them): a data directory written then must stay readable.
const oldLogDir = "testdata/oldlog"

// fixtureEvents are the events of the fixture: two commits in the first
// segment, one in the second.
func fixtureEvents(t testing.TB) [][]*event.Event {
	at := storetest.Base.Add(-time.Hour)
	var groups [][]*event.Event
	for g, n := range []int{3, 2, 4} {
		var evs []*event.Event
		for i := range n {
			name := fmt.Sprintf("Op%d_%d", g, i)
			evs = append(evs, storetest.Rec(t, "111111111111", "us-east-1", name, at.Add(time.Duration(g*10+i)*time.Second),
				map[string]any{"eventID": fmt.Sprintf("fixture-%d-%d", g, i)}))
		}
		groups = append(groups, evs)
	}
	return groups
}

// TestGenerateOldLog writes the segment files of a store whose events are
// fixtureEvents (the last group in a second segment) and checks that they
// are, byte for byte, the files in testdata/oldlog, which the code before
// the segment package wrote: the format has not changed. With -update it
// rewrites testdata/oldlog instead.
func TestGenerateOldLog(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	groups := fixtureEvents(t)
	for i, evs := range groups {
		if i == len(groups)-1 {
			forceRoll(s)
		}
		if _, err := s.Append(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.RemoveAll(oldLogDir); err != nil {
			t.Fatal(err)
		}
		copyDir(t, filepath.Join(dir, "log"), oldLogDir)
		return
	}
	want, err := os.ReadDir(oldLogDir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadDir(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d segment files written, testdata has %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Name() != w.Name() {
			t.Fatalf("segment file %d is %s, testdata has %s", i, got[i].Name(), w.Name())
		}
		a, err := os.ReadFile(filepath.Join(dir, "log", w.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(oldLogDir, w.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the current code writes %d bytes that differ from the earlier code's %d", w.Name(), len(a), len(b))
		}
	}
}

// TestOpensOldLog opens a data directory whose segment files were written
// by the earlier code and whose database is new: every event is indexed
// from the log and found, and appends go on after them.
func TestOpensOldLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	copyDir(t, oldLogDir, filepath.Join(dir, "log"))
	if segs, _ := filepath.Glob(filepath.Join(dir, "log", "*.seg")); len(segs) != 2 {
		t.Fatalf("fixture segments: %v", segs)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var want []*event.Event
	for _, evs := range fixtureEvents(t) {
		want = append(want, evs...)
	}
	got, err := s.ReadLog(ctx, 0, 100)
	if err != nil || len(got) != len(want) {
		t.Fatalf("ReadLog: %d events, %v; want %d", len(got), err, len(want))
	}
	for i, e := range got {
		if e.Seq != int64(i+1) || e.ID != want[i].ID || string(e.Record) != string(want[i].Record) ||
			!e.Time.Equal(want[i].Time) || e.Account != want[i].Account || e.Region != want[i].Region {
			t.Fatalf("event %d: %+v, want %+v", i, e, want[i])
		}
	}
	for _, w := range []*event.Event{want[0], want[4], want[8]} {
		p, err := s.Lookup(ctx, store.Query{Account: w.Account, Region: w.Region, Category: event.CategoryManagement,
			Attr: event.AttrEventID, Value: w.ID, Start: storetest.Base.Add(-2 * time.Hour), End: storetest.Base, Limit: 5})
		if err != nil || len(p.Events) != 1 || p.Events[0].ID != w.ID {
			t.Fatalf("lookup %s: %+v, %v", w.ID, p, err)
		}
	}
	more := storetest.Rec(t, "111111111111", "us-east-1", "After", storetest.Base, nil)
	if _, err := s.Append(ctx, []*event.Event{more}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReadLog(ctx, int64(len(want)), 10); err != nil || len(got) != 1 || got[0].ID != more.ID {
		t.Fatalf("after the fixture: %d events, %v", len(got), err)
	}
}

// forceRoll makes the writer's next commit start a new segment.
func forceRoll(s *Store) {
	s.segs.wmu.Lock()
	s.segs.end = segmentBytes
	s.segs.wmu.Unlock()
}
