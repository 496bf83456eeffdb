package postgres

import (
	"slices"
	"testing"
)

// The analyzer runs ANALYZE on a day once analyzeFirst events were appended
// to it, then each time its count has doubled, and never two at a time.
func TestAnalyzeSchedule(t *testing.T) {
	var a analyzer
	step := func(n int64) bool {
		t.Helper()
		due := a.added(map[int64]int64{7: n})
		if due != nil {
			if !slices.Equal(due, []int64{7}) {
				t.Fatalf("due %v, want [7]", due)
			}
			a.running = false
			a.wg.Done()
		}
		return due != nil
	}
	var at []int64
	total := int64(0)
	for range 10_000 {
		total += 1_000
		if step(1_000) {
			at = append(at, total)
		}
	}
	want := []int64{10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000, 1_280_000, 2_560_000, 5_120_000}
	if !slices.Equal(at, want) {
		t.Errorf("analyzed at %v events, want %v", at, want)
	}

	// While one runs, none starts; the day stays due and starts after.
	var b analyzer
	if due := b.added(map[int64]int64{1: analyzeFirst}); len(due) != 1 {
		t.Fatalf("first: due %v", due)
	}
	if due := b.added(map[int64]int64{2: analyzeFirst}); due != nil {
		t.Fatalf("due %v while one runs", due)
	}
	b.running = false
	b.wg.Done()
	if due := b.added(map[int64]int64{2: 1}); !slices.Equal(due, []int64{2}) {
		t.Fatalf("after the running one: due %v, want [2]", due)
	}
	b.wg.Done()
}

// A partition that other nodes filled is analyzed again only once this node
// has appended as many events as it held.
func TestAnalyzeScheduleSharedDay(t *testing.T) {
	var a analyzer
	if due := a.added(map[int64]int64{7: analyzeFirst}); len(due) != 1 {
		t.Fatalf("due %v", due)
	}
	a.held(7, 1_000_000)
	a.running = false
	a.wg.Done()
	if due := a.added(map[int64]int64{7: 999_999}); due != nil {
		t.Fatalf("due %v after 999,999 more", due)
	}
	if due := a.added(map[int64]int64{7: 1}); len(due) != 1 {
		t.Fatalf("not due after 1,000,000 more")
	}
	a.wg.Done()
}
