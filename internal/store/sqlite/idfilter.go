package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
)

// The writer checks every appended event's eventID against the stored
// ones. Almost every event is new, and asking the ID index for each costs
// a random B-tree probe; a Bloom filter of the stored ID hashes answers
// "certainly new" for almost all of them in memory, and only the rest are
// looked up. Its size is fixed, whatever the history holds: it only grows
// less exact as more IDs are added, and is rebuilt from the ID index
// (which retention keeps to the history) when enough have been.

const (
	filterBits   = 1 << 28 // 32 MiB
	filterProbes = 4
	// filterRebuildAfter is how many adds make a filter worth rebuilding:
	// about 1 false "maybe" in 15 by then.
	filterRebuildAfter = 48_000_000
)

// idFilter is a Bloom filter of ID hashes, safe for concurrent adds and
// tests.
type idFilter struct {
	words []atomic.Uint64
}

func newIDFilter() *idFilter { return &idFilter{words: make([]atomic.Uint64, filterBits/64)} }

// probes calls f with each bit of h.
func probes(h int64, f func(bit uint64) bool) bool {
	a, b := uint64(h), uint64(h)>>32|1
	for i := range uint64(filterProbes) {
		if !f((a + i*b) % filterBits) {
			return false
		}
	}
	return true
}

func (f *idFilter) add(h int64) {
	probes(h, func(bit uint64) bool {
		w := &f.words[bit/64]
		if m := uint64(1) << (bit % 64); w.Load()&m == 0 {
			w.Or(m)
		}
		return true
	})
}

// has is false when h was never added.
func (f *idFilter) has(h int64) bool {
	return probes(h, func(bit uint64) bool { return f.words[bit/64].Load()&(1<<(bit%64)) != 0 })
}

// idFilters is the store's filter in use (nil until the first is built)
// and the one being built.
type idFilters struct {
	mu       sync.Mutex
	live     *idFilter
	next     *idFilter
	added    int // to live since it was built
	building sync.WaitGroup
	quit     chan struct{}
}

// current is the filter to ask (nil: none is built yet).
func (fs *idFilters) current() *idFilter {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.live
}

// targets returns the filters new IDs go to, and notes n more adds.
func (fs *idFilters) targets(n int) (live, next *idFilter, rebuild bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.added += n
	return fs.live, fs.next, fs.live != nil && fs.next == nil && fs.added >= filterRebuildAfter
}

// addIDs adds the hashes of IDs being made pending; the caller holds idMu
// (see startFilterBuild for why).
func (s *Store) addIDs(ids []idEntry) {
	live, next, rebuild := s.filters.targets(len(ids))
	for _, f := range []*idFilter{live, next} {
		if f != nil {
			for _, id := range ids {
				f.add(id.h)
			}
		}
	}
	if rebuild {
		s.startFilterBuild()
	}
}

// startFilterBuild builds a new filter in the background unless one is
// being built. The caller holds idMu.
func (s *Store) startFilterBuild() {
	fs := &s.filters
	fs.mu.Lock()
	if fs.next != nil {
		fs.mu.Unlock()
		return
	}
	next := newIDFilter()
	fs.next = next
	fs.mu.Unlock()
	// Every ID is in the new filter once built: IDs pending now are added
	// here, and IDs made pending later by the writer (addIDs, under idMu
	// like this). What is indexed is read from the ID index after this
	// point, so an ID indexed meanwhile is read or was pending.
	s.pendingIDs.each(next.add)
	fs.building.Add(1)
	go func() {
		defer fs.building.Done()
		n, err := s.readIDIndex(next)
		fs.mu.Lock()
		defer fs.mu.Unlock()
		fs.next = nil
		if err != nil {
			// Reads go on with the old filter (or none: the ID index).
			return
		}
		fs.live, fs.added = next, n
	}()
}

// readIDIndex adds every hash of the ID index to f, a generation at a
// time, and returns how many it read.
func (s *Store) readIDIndex(f *idFilter) (int, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.filters.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	var lo, hi sql.NullInt64
	if err := s.r.QueryRowContext(ctx, genRange).Scan(&lo, &hi); err != nil {
		return 0, fmt.Errorf("sqlite: read ID index: %w", err)
	}
	n := 0
	for g := lo.Int64; lo.Valid && g <= hi.Int64; g++ {
		rows, err := s.r.QueryContext(ctx, `SELECT seq0, data FROM id_runs WHERE g = ?`, g)
		if err != nil {
			return n, fmt.Errorf("sqlite: read ID index: %w", err)
		}
		for rows.Next() {
			var seq0 int64
			var data sql.RawBytes
			if err := rows.Scan(&seq0, &data); err != nil {
				rows.Close()
				return n, fmt.Errorf("sqlite: read ID index: %w", err)
			}
			if err := eachIDEntry(seq0, data, func(h, _ int64) { f.add(h); n++ }); err != nil {
				rows.Close()
				return n, err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, fmt.Errorf("sqlite: read ID index: %w", err)
		}
	}
	return n, nil
}
