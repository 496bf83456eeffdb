package sqlite

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cairn-audit/cairn/internal/store"
)

// An append is acknowledged once its frames are synced in the segment
// file: that is the commit. The group commit goroutine (the writer) checks
// eventIDs, numbers the events, writes and syncs their frames, and hands
// the batch to the indexer, which writes blocks, the ID index and postings
// to the database in transactions of many batches. Until then a batch is
// pending: reads find its events in memory, so every acknowledged event is
// visible at once. After a crash, open re-indexes the frames past the last
// indexed position.

// maxPending bounds the events written but not yet indexed; the writer
// waits for the indexer beyond it (and fails the append if it cannot
// catch up within pendingWait). It leaves the writer room for half a
// transaction's worth while the indexer writes one of maxIndexBatch.
const (
	maxPending  = maxIndexBatch * 3 / 2
	pendingWait = 10 * time.Second
)

// maxKeptFrames bounds the frame buffer the writer keeps between commits.
const maxKeptFrames = 32 << 20

// batch is one commit's events between the writer and the indexer.
type batch struct {
	b          block
	tmin, tmax int64
	ids        []idEntry
	// postings by lookup key, each list in seq order. Kept by key alone,
	// not by day and key: events spread over many days (a backfill) then
	// cost the writer no more than live ones; the indexer splits by day.
	postings map[int64][]store.Posting
}

type idEntry struct {
	h   int64 // idHash of the event's account and ID
	seq int64
}

type idKey struct{ account, id string }

// errIndexBehind fails an append while the indexer cannot keep up.
var errIndexBehind = errors.New("sqlite: the index is too far behind the log; retry later")

// waitRoom blocks until the pending batches leave room for more.
func (s *Store) waitRoom() error {
	deadline := time.Now().Add(pendingWait)
	s.pmu.Lock()
	defer s.pmu.Unlock()
	for s.pendingEvents >= maxPending {
		if time.Now().After(deadline) {
			return errIndexBehind
		}
		s.kickIndexer()
		select {
		case s.full <- struct{}{}:
		default:
		}
		s.pcond.Wait()
	}
	return nil
}

// commit is the writer's: it runs one group.
func (s *Store) commit(group []*store.AppendRequest) error {
	if err := s.waitRoom(); err != nil {
		return err
	}
	existing, err := s.findExisting(context.Background(), group)
	if err != nil {
		return err
	}
	first := s.next + 1
	seq := s.next
	size, events, nkeys := 0, 0, 0
	for _, r := range group {
		events += len(r.Events)
		for _, e := range r.Events {
			size += frameHeader + 64 + len(e.Account) + len(e.Region) + len(e.Category) + len(e.ID) + 8*(len(e.Keys)+1) + len(e.Record)
			nkeys += len(e.Keys)
		}
	}
	bt := &batch{tmin: math.MaxInt64, tmax: math.MinInt64, ids: make([]idEntry, 0, events),
		postings: make(map[int64][]store.Posting, min(nkeys, s.keysPerKilo*events/1000+16))}
	// The first posting of each key is cut from one slab (capacity cut to
	// one, so a key's second posting moves its list out): an import's
	// one-off keys cost no allocation each.
	slab := make([]store.Posting, 0, nkeys)
	frames := slices.Grow(s.frames[:0], size) // the writer's; nothing keeps it past the write
	var lens []byte
	for _, r := range group {
		r.Results = make([]store.AppendResult, len(r.Events))
		prep := r.Prepared.([]prepared)
		for i, e := range r.Events {
			key := idKey{e.Account, e.ID}
			if old, ok := existing[key]; ok {
				same := store.SameContent(old.record, e.Record)
				r.Results[i] = store.AppendResult{Seq: old.seq, Duplicate: same, Conflict: !same}
				continue
			}
			seq++
			existing[key] = stored{seq, e.Record}
			r.Results[i] = store.AppendResult{Seq: seq}
			keys := prep[i].keys
			n := len(frames)
			frames = appendFrame(frames, e, seq, keys)
			lens = binary.AppendUvarint(lens, uint64(len(frames)-n))
			bt.ids = append(bt.ids, idEntry{h: prep[i].h, seq: seq})
			t := e.Time.Unix()
			bt.tmin, bt.tmax = min(bt.tmin, t), max(bt.tmax, t)
			for _, k := range keys {
				p := store.Posting{Time: t, Seq: seq}
				if ps, ok := bt.postings[k]; ok {
					bt.postings[k] = append(ps, p)
					continue
				}
				slab = append(slab, p)
				bt.postings[k] = slab[len(slab)-1 : len(slab) : len(slab)]
			}
		}
	}
	if events > 0 {
		s.keysPerKilo = len(bt.postings) * 1000 / events
	}
	if cap(frames) <= maxKeptFrames {
		s.frames = frames
	}
	if seq >= first {
		seg, off, err := s.segs.write(frames, first)
		if err != nil {
			return err
		}
		s.next = seq
		bt.b = block{seq0: first, seqN: seq, seg: seg, off: off, size: int64(len(frames)), lens: lens}.withMarks()
		s.addPending(bt)
	}
	for _, r := range group {
		for i, e := range r.Events {
			if r.Results[i].Written() {
				e.Seq = r.Results[i].Seq
			}
		}
	}
	return nil
}

// stored is an event the writer found stored (or written earlier in the
// same group) under an ID: its seq and its record, which a later event
// with the ID is compared with.
type stored struct {
	seq    int64
	record []byte
}

func (s *Store) addPending(bt *batch) {
	s.widenDays(bt.tmin, bt.tmax) // before any read can find the batch
	// The IDs first, under idMu: a lookup by eventID that finds one before
	// its batch is pending below finds no event for it (bySeq skips a seq
	// neither pending nor indexed), and the batch is not acknowledged yet.
	// Under pmu, they held every lookup for ~40 % longer.
	s.idMu.RLock()
	need := s.pendingIDs.grows(len(bt.ids))
	s.idMu.RUnlock()
	var spare *idTable
	if need > 0 {
		spare = newIDTable(need)
	}
	s.idMu.Lock()
	if spare != nil {
		s.pendingIDs.reserve(spare, len(bt.ids))
	}
	for _, id := range bt.ids {
		s.pendingIDs.add(id.h, id.seq)
	}
	s.addIDs(bt.ids)
	s.idMu.Unlock()
	s.pmu.Lock()
	s.pending = append(s.pending, bt)
	if len(s.pending) == 1 {
		s.firstPending.Store(bt.b.seq0)
	}
	s.pendingEvents += len(bt.ids)
	full := s.pendingEvents >= indexTrigger
	s.last.Store(bt.b.seqN)
	s.pmu.Unlock()
	s.kickIndexer()
	if full {
		select {
		case s.full <- struct{}{}:
		default:
		}
	}
}

// flushIndex returns once every batch pending now is indexed (or the
// store closes).
func (s *Store) flushIndex() {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if len(s.pending) == 0 {
		return
	}
	through := s.pending[len(s.pending)-1].b.seqN
	for len(s.pending) > 0 && s.pending[0].b.seq0 <= through {
		select {
		case <-s.ixDone: // closed: nothing will index them now
			return
		default:
		}
		s.kickIndexer()
		select {
		case s.full <- struct{}{}:
		case <-s.ixDone:
			return
		default:
		}
		s.pcond.Wait()
		if msg, _ := s.indexErr.Load().(string); msg != "" {
			return
		}
	}
}

// pendingCount is the number of events not yet indexed.
func (s *Store) pendingCount() int {
	s.pmu.RLock()
	defer s.pmu.RUnlock()
	return s.pendingEvents
}

func (s *Store) kickIndexer() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// findExisting finds which events of the group are already stored, with
// their records: in a pending batch, or in the ID index (whose hashes are
// confirmed against the stored event's account and eventID). Pending
// batches are looked at first: one the indexer takes away meanwhile is in
// the index by then. Records are read only for IDs found stored, so a
// group of new events costs no read (the ID filter answers for most).
func (s *Store) findExisting(ctx context.Context, group []*store.AppendRequest) (map[idKey]stored, error) {
	// commit adds every new event of the group: made at that size, the map
	// is never rehashed as it grows.
	n := 0
	for _, r := range group {
		n += len(r.Events)
	}
	existing := make(map[idKey]stored, n)
	var hashes, pendingSeqs []int64
	filter := s.filters.current()
	s.idMu.RLock()
	for _, r := range group {
		prep := r.Prepared.([]prepared)
		for i := range r.Events {
			// A pending seq found by the hash may be another ID's: the
			// index is asked too (a pending ID is in the filter, so this
			// costs only a resent event a query).
			h := prep[i].h
			pendingSeqs = s.pendingIDs.get(h, pendingSeqs)
			if filter == nil || filter.has(h) {
				hashes = append(hashes, h)
			}
		}
	}
	s.idMu.RUnlock()
	candidates, err := s.seqsByHash(ctx, hashes)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find duplicates: %w", err)
	}
	candidates = append(candidates, pendingSeqs...)
	if len(candidates) == 0 {
		return existing, nil
	}
	evs, err := s.bySeq(ctx, candidates, false)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		existing[idKey{e.Account, e.ID}] = stored{e.Seq, e.Record}
	}
	return existing, nil
}

// pendingBlocks returns the pending batches' blocks, oldest first.
func (s *Store) pendingBlocks() []block {
	s.pmu.RLock()
	defer s.pmu.RUnlock()
	out := make([]block, len(s.pending))
	for i, bt := range s.pending {
		out[i] = bt.b
	}
	return out
}

// pendingPostings returns the pending postings of key on days [d0, d1].
func (s *Store) pendingPostings(key, d0, d1 int64) []store.Posting {
	ps, _ := s.pendingSnapshot([]int64{key}, d0, d1)
	return ps[0]
}

// offerPending offers top the pending postings of key, in place: a busy
// key's lists (every event's, under the listing of all events) hold up to
// maxPending postings, which a copy would take the lock longer for. Some
// may be indexed already (a transaction's batches stay pending until it
// has committed): TopK keeps a posting offered twice once.
func (s *Store) offerPending(top *store.TopK, key int64) {
	s.pmu.RLock()
	defer s.pmu.RUnlock()
	s.eachPendingList(key, top.AddPostings)
}

// eachPendingList calls f with key's postings in each pending batch, in
// seq order. The caller holds pmu.
//
// Reads look in each batch's own map rather than in one map of all the
// pending batches' postings by key: a lookup asks for one or two keys in
// each pending batch (one per group commit since the last index
// transaction: hundreds, a few thousand while a long one runs; 3 % of an
// idle lookup's CPU at 1,400 lookups/s, each recorded), while that map cost
// the writer a probe of a map of up to millions of keys for each key of
// each event (an import's one-off keys), 2–3 % of the server's CPU, and
// the indexer a map to make for each transaction.
func (s *Store) eachPendingList(key int64, f func([]store.Posting)) {
	for _, bt := range s.pending {
		if ps, ok := bt.postings[key]; ok {
			f(ps)
		}
	}
}
