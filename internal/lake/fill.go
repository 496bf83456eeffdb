package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/trail"
)

// Filler follows the event log and gives each event data store the events
// its selectors take, into this node's engine. Its cursor is a state
// document of its own node (lake/cursor/<node>): each node keeps its own
// copy of the stores' events, so each follows the log for itself, and no
// lease is needed. Insert is idempotent, so a pass cut short by a crash
// (events inserted, cursor not yet saved) is simply done again; and the
// engine keeps the cursor too, with the inserts (saveCursor), so one that
// lost its last writes in a power cut has them done again.
type Filler struct {
	s       *Service
	batch   int           // events a priority turn inserts at most; a main pass's first size
	maxPass int           // events a main pass reads at most
	perItem time.Duration // a main pass's time per event read, averaged (0: none yet)
	// lastWake is when ingest last said the log grew (Unix ns); deferFrom
	// when the main passes began to give way to it (zero: they do not).
	lastWake  atomic.Int64
	deferFrom time.Time

	mu      sync.Mutex
	reached int64         // the log position every store is filled to
	signal  chan struct{} // closed and replaced when reached or ahead moves
	// ahead is, for a store a priority pass filled past reached, the log
	// position it is filled to: the main pass does not insert those events
	// again. Entries at or below reached are dropped. Not saved: after a
	// restart the main pass inserts them again, which Insert ignores.
	ahead map[string]int64
	// waits are the queries waiting for their stores (WaitFilled), each
	// the log position it needs and the stores it reads.
	waits   map[*wait]struct{}
	matched map[string]compiled

	wake chan struct{}
	// idle is set while no event data store takes events (a pass found
	// none): passes then neither read nor write the cursor, until a store
	// is made or changed on this node (storesChanged) or idleRecheck
	// passes (a store made on another node).
	idle          bool
	idleSince     time.Time
	storesChanged atomic.Bool
}

// idleRecheck is how often an idle filler lists the stores again, for a
// store another node made (one made on this node wakes it at once).
const idleRecheck = 10 * time.Second

// compiled is a store's matcher, for the store's version it was made from.
type compiled struct {
	version int64
	m       *trail.Matcher
}

// retentionEvery is how often stores' expired events are removed.
const retentionEvery = time.Hour

// fillBatch is how many events of the log a pass reads at first, and
// at most in a priority turn. A store's insert costs per transaction as
// much as per event (every commit rewrites the index pages the events land
// on), so a backlog is taken in large passes: 5,000 cost ~30% less CPU per
// event than 1,000, 20,000 another ~20% (BENCHMARKS.md, "Lake").
const fillBatch = 5000

// Main passes are sized by time: each reads what the previous passes'
// cost per event says it fills in about passTarget (between minPass and
// maxPass events), so that a query's priority turn, which runs between
// main passes, waits about that long at most, whatever the machine. A
// priority turn inserts as many at most.
const (
	passTarget = 500 * time.Millisecond
	minPass    = 2000
	maxPass    = 20000
)

// fillEvery is the least time between two main passes that each found
// the log's end (the fill keeps up): the events of a trickle are filled
// within it, and at higher rates each pass takes what came meanwhile in
// one transaction instead of a transaction per ingest commit. While the
// fill is behind, passes follow each other at once; a query waiting for
// its stores does not wait for either (Priority).
const fillEvery = 200 * time.Millisecond

func newFiller(s *Service) *Filler {
	return &Filler{s: s, batch: fillBatch, maxPass: maxPass, reached: -1, signal: make(chan struct{}),
		ahead: map[string]int64{}, waits: map[*wait]struct{}{},
		matched: map[string]compiled{}, wake: make(chan struct{}, 1)}
}

// cursorPrefix starts the keys of the nodes' fill cursors.
const cursorPrefix = "lake/cursor/"

func (f *Filler) cursorKey() string { return cursorPrefix + f.s.opts.Node }

// changed wakes the filler (a store was made or changed), idle or not.
func (f *Filler) changed() {
	f.storesChanged.Store(true)
	f.nudge()
}

// nudge wakes the filler's loop.
func (f *Filler) nudge() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Wake tells the filler the log has new events (ingest's wake hook).
func (f *Filler) Wake() {
	f.lastWake.Store(time.Now().UnixNano())
	f.nudge()
}

// stillIdle reports whether the filler is idle (no store takes events)
// and nothing says that changed: the pass is skipped.
func (f *Filler) stillIdle() bool {
	if !f.idle {
		return false
	}
	if f.storesChanged.Swap(false) || time.Since(f.idleSince) >= idleRecheck {
		f.idle = false
		return false
	}
	return true
}

// Filler returns the service's filler, to run and to wake.
func (s *Service) Filler() *Filler { return s.filler }

// Run follows the log until ctx ends: a pass at each poll or wake, at
// once again while catching up; once an hour (and at start) it removes
// the stores' expired events and drops gone stores.
func (f *Filler) Run(ctx context.Context) {
	f.s.failOrphans(ctx)
	f.s.failOrphanImports(ctx)
	t := time.NewTicker(f.s.opts.Poll)
	defer t.Stop()
	var lastSweep, lastReplay time.Time
	for {
		if time.Since(lastReplay) >= replayEvery {
			if err := f.s.replayImports(ctx); err != nil && ctx.Err() == nil {
				f.s.log.Warn("lake: copying other nodes' imports failed", "err", err)
			}
			lastReplay = time.Now()
		}
		if time.Since(lastSweep) >= retentionEvery {
			if err := f.s.sweep(ctx); err != nil && ctx.Err() == nil {
				f.s.log.Warn("lake: retention sweep failed", "err", err)
			}
			if err := f.touchCursor(ctx); err != nil && ctx.Err() == nil {
				f.s.log.Warn("lake: refreshing the fill cursor failed", "err", err)
			}
			lastSweep = time.Now()
		}
		// Queries waiting for their stores come first: a priority pass
		// fills only their stores, so that a query waits for the events
		// of its own stores, not for the whole node's backlog.
		waiting, err := f.Priority(ctx)
		if err != nil && ctx.Err() == nil {
			f.s.log.Warn("lake: filling the event data stores queries wait for failed", "err", err)
		}
		if !waiting {
			if d := f.deferral(); d > 0 {
				f.pause(ctx, d)
				continue
			}
		}
		more := false
		if err == nil {
			more, err = f.Pass(ctx)
			if err != nil && ctx.Err() == nil {
				f.s.log.Warn("lake: filling event data stores failed", "err", err)
			}
			if !more && err == nil {
				f.deferFrom = time.Time{} // caught up
			}
		}
		if (more || waiting) && err == nil {
			continue
		}
		passed := time.Now()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.wake:
		}
		f.settle(ctx, passed)
	}
}

// Main passes give way to ingest: while events arrive (a wake within
// ingestQuiet), they wait, for at most maxDefer from the first wait until
// the fill has caught up again. A burst of ingest shorter than maxDefer
// then has the CPU to itself, and its events are filled after it in large
// passes (cheaper per event); a longer one is filled alongside from then
// on. The lag this adds to a store is at most maxDefer: events are in it
// at most maxDefer plus the time to fill the backlog after they were
// acknowledged. A query never waits for it: its stores are filled by
// Priority, which does not give way.
const (
	ingestQuiet = 100 * time.Millisecond
	maxDefer    = 5 * time.Second
)

// deferral is how long the next main pass should wait for ingest (0: run
// it now).
func (f *Filler) deferral() time.Duration {
	if time.Since(time.Unix(0, f.lastWake.Load())) >= ingestQuiet {
		return 0
	}
	if f.deferFrom.IsZero() {
		f.deferFrom = time.Now()
	}
	left := maxDefer - time.Since(f.deferFrom)
	if left <= 0 {
		return 0
	}
	return min(left, ingestQuiet)
}

// settle waits until fillEvery has passed since the last main pass, unless
// a query waits for its stores meanwhile (or ctx ends).
func (f *Filler) settle(ctx context.Context, passed time.Time) {
	f.pause(ctx, fillEvery-time.Since(passed))
}

// pause waits for d, or until a query waits for its stores or ctx ends.
func (f *Filler) pause(ctx context.Context, left time.Duration) {
	if left <= 0 || f.hasWaits() {
		return
	}
	timer := time.NewTimer(left)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		case <-f.wake:
			if f.hasWaits() {
				return
			}
		}
	}
}

// hasWaits reports whether a query waits for its stores.
func (f *Filler) hasWaits() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waits) > 0
}

// passSize is how many events the next main pass reads (see passTarget).
func (f *Filler) passSize() int {
	if f.perItem <= 0 || f.batch < minPass {
		return f.batch
	}
	return int(min(max(int64(passTarget/f.perItem), minPass), int64(f.maxPass)))
}

// measure folds a main pass's time into perItem.
func (f *Filler) measure(n int, d time.Duration) {
	if n < 100 {
		return // too few to say much; mostly the pass's fixed cost
	}
	per := d / time.Duration(n)
	if f.perItem == 0 {
		f.perItem = per
		return
	}
	f.perItem = (3*f.perItem + per) / 4
}

// cursor is the fill cursor's state document.
type cursor struct {
	Seq int64
	// Updated is when the node last wrote the document: at each move and
	// at least every retentionEvery (touchCursor), so that a cursor not
	// written for CursorStaleAfter is a node gone (staleCursor). Documents
	// of earlier versions have none.
	Updated time.Time `json:",omitempty"`
}

// CursorStaleAfter is how long another node's fill cursor may go
// unwritten before it stops holding event-log retention back and is
// deleted: a running node rewrites its cursor at least hourly, so such a
// node has been down (or gone for good, e.g. a container with a fresh
// data directory) that long.
const CursorStaleAfter = 7 * 24 * time.Hour

// Pass reads one batch of the log past the cursor, gives each store what
// it takes, and advances the cursor; more says the log has more.
func (f *Filler) Pass(ctx context.Context) (more bool, err error) {
	if f.idle {
		// The log's end is read first: a store made after the check
		// below takes only events past it.
		end, err := f.s.lastSeq(ctx)
		if err != nil {
			return false, err
		}
		if f.stillIdle() {
			// No store: nothing to read or record; every event up to
			// end is filled.
			f.advance(end)
			return false, nil
		}
	}
	// A store made or changed from here on is in the listing below, or
	// wakes the next pass.
	f.storesChanged.Store(false)
	pos, version, err := f.loadCursor(ctx)
	if err != nil {
		return false, err
	}
	// The log's end is read before the stores are listed: a store made
	// after the listing takes events only past its own start, which is at
	// or past end, so this pass gives every store it lists the events up
	// to end, and leaves the rest to the next pass (with a new listing).
	// When nothing past the cursor is found, every event acknowledged by
	// then is filled.
	end, err := f.s.lastSeq(ctx)
	if err != nil {
		return false, err
	}
	stores, err := f.s.all(ctx)
	if err != nil {
		return false, err
	}
	if !anyTakesAfter(stores, pos) {
		// No store takes anything past the cursor: the filler goes idle
		// (it holds no retention back, see ReadTo) without reading the
		// log or moving the cursor; a store made later starts at the
		// log's end then, and the cursor skips there (firstTaken).
		f.idle, f.idleSince = true, time.Now()
		f.advance(max(pos, end))
		return false, nil
	}
	if first := min(firstTaken(stores, pos), end); first > pos {
		// No store takes the events between the cursor and first (the
		// cursor stayed behind while the filler was idle): skip them.
		if err := f.saveCursor(ctx, first, version); err != nil {
			return false, err
		}
		f.advance(first)
		return true, nil
	}
	if floor := min(f.filledFloor(stores, pos), end); floor > pos {
		// Priority passes have filled every store that takes events past
		// the cursor further than it: move it there without reading the
		// log again.
		if err := f.saveCursor(ctx, floor, version); err != nil {
			return false, err
		}
		f.advance(floor)
		return true, nil
	}
	size := f.passSize()
	began := time.Now()
	evs, err := f.s.st.ReadLog(ctx, pos, size)
	if err != nil {
		return false, fmt.Errorf("lake: reading the log: %w", err)
	}
	full := len(evs) == size
	n := len(evs)
	for n > 0 && evs[n-1].Seq > end {
		n--
	}
	later := n < len(evs) // events past end: the next pass's
	evs = evs[:n]
	if len(evs) == 0 {
		f.advance(max(pos, end))
		return later, nil
	}
	if err := f.fill(ctx, stores, evs); err != nil {
		return false, err
	}
	f.measure(len(evs), time.Since(began))
	next := evs[len(evs)-1].Seq
	if err := f.saveCursor(ctx, next, version); err != nil {
		return false, err
	}
	f.advance(next)
	return full || later, nil
}

// fill inserts into each store the events of evs it takes.
func (f *Filler) fill(ctx context.Context, stores []*DataStore, evs []*event.Event) error {
	fields := make([]*trail.Fields, len(evs))
	for _, d := range stores {
		if d.Status == statusGone || len(d.Ingest) == 0 {
			continue
		}
		m, err := f.matcher(d)
		if err != nil {
			f.s.log.Error("lake: an event data store's selectors do not compile; it takes nothing", "store", d.ARN, "err", err)
			continue
		}
		var take []*event.Event
		cut := d.retentionCut(f.s.now())
		done := f.aheadOf(d.ID)
		for i, ev := range evs {
			if ev.Seq <= done || !d.takes(ev.Seq) || !d.covers(ev) || ev.Time.Before(cut) {
				continue
			}
			if fields[i] == nil {
				fl, err := trail.ParseFields(ev.Record)
				if err != nil {
					fl = trail.Fields{}
				}
				fields[i] = &fl
			}
			if m.Match(fields[i]) {
				take = append(take, ev)
			}
		}
		if len(take) == 0 {
			continue
		}
		if err := f.s.engine.Insert(ctx, d.ID, take); err != nil {
			return fmt.Errorf("lake: filling %s: %w", d.ARN, err)
		}
	}
	return nil
}

// retentionCut is the oldest eventTime the store keeps at now: older
// events are not copied in (fill, import) and the sweep removes them.
func (d *DataStore) retentionCut(now time.Time) time.Time {
	return now.AddDate(0, 0, -d.RetentionDays)
}

// covers reports whether the event is of the store's accounts and regions.
func (d *DataStore) covers(ev *event.Event) bool {
	if !d.MultiRegion && ev.Region != d.Region {
		return false
	}
	return ev.Account == d.Account || d.Organization && slices.Contains(d.Members, ev.Account)
}

// matcher is d's compiled selectors, cached by version.
func (f *Filler) matcher(d *DataStore) (*trail.Matcher, error) {
	if c, ok := f.matched[d.ID]; ok && c.version == d.version {
		return c.m, nil
	}
	m, err := storeMatcher(d)
	if err != nil {
		return nil, err
	}
	f.matched[d.ID] = compiled{version: d.version, m: m}
	return m, nil
}

// storeMatcher compiles d's selectors (every management event when it has
// none).
func storeMatcher(d *DataStore) (*trail.Matcher, error) {
	sel := d.Selectors
	if len(sel) == 0 {
		sel = DefaultSelectors()
	}
	return trail.Compile(nil, sel)
}

// fillMark is the name of the filler's position in the engine (SetMark).
const fillMark = "fill"

// loadCursor reads the cursor. A node without one starts where the
// earliest store began taking events (or at the log's end). The engine
// need not sync each insert, so after a power cut it may hold less than
// the cursor says: the position saveCursor recorded in the engine with
// the inserts is then behind the cursor, and the fill goes on from there
// (inserting again what it still holds, which Insert ignores). An engine
// with no position at all (a lake.db older than the node's first saved
// cursor, or one made anew) holds nothing the cursor vouches for: the
// fill starts over as for a node without a cursor, keeping the
// document's version.
func (f *Filler) loadCursor(ctx context.Context) (int64, int64, error) {
	doc, err := f.s.st.GetState(ctx, f.cursorKey())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, 0, err
	}
	var version int64
	if err == nil {
		var c cursor
		if err := json.Unmarshal(doc.Doc, &c); err != nil {
			return 0, 0, fmt.Errorf("lake: fill cursor: %w", err)
		}
		mark, ok, err := f.s.engine.Mark(ctx, fillMark)
		if err != nil {
			return 0, 0, err
		}
		if ok {
			return min(mark, c.Seq), doc.Version, nil
		}
		version = doc.Version
	}
	start, err := f.startPos(ctx)
	return start, version, err
}

// startPos is where a fill with no position starts: where the earliest
// store began taking events, or the log's end.
func (f *Filler) startPos(ctx context.Context) (int64, error) {
	stores, err := f.s.all(ctx)
	if err != nil {
		return 0, err
	}
	start, err := f.s.lastSeq(ctx)
	if err != nil {
		return 0, err
	}
	for _, d := range stores {
		for _, r := range d.Ingest {
			start = min(start, r.From)
		}
	}
	return start, nil
}

// saveCursor records seq in the engine, after the inserts it follows,
// and then in the cursor's document: the document is never further than
// the engine's mark, and loadCursor takes the lesser.
func (f *Filler) saveCursor(ctx context.Context, seq, version int64) error {
	if err := f.s.engine.SetMark(ctx, fillMark, seq); err != nil {
		return fmt.Errorf("lake: saving the fill cursor: %w", err)
	}
	b, _ := json.Marshal(cursor{Seq: seq, Updated: f.s.now().UTC()})
	_, err := f.s.st.PutState(ctx, f.cursorKey(), b, version)
	if err != nil {
		return fmt.Errorf("lake: saving the fill cursor at %s: %w", strconv.FormatInt(seq, 10), err)
	}
	return nil
}

// touchCursor rewrites this node's cursor document with the time now, so
// that other nodes see it alive (staleCursor) while it has nothing to
// copy. It runs in Run, between passes, so it races no pass of its own
// node.
func (f *Filler) touchCursor(ctx context.Context) error {
	doc, err := f.s.st.GetState(ctx, f.cursorKey())
	if errors.Is(err, store.ErrNotFound) {
		return nil // nothing copied yet: nothing to hold
	}
	if err != nil {
		return err
	}
	var c cursor
	if err := json.Unmarshal(doc.Doc, &c); err != nil {
		return fmt.Errorf("lake: fill cursor: %w", err)
	}
	c.Updated = f.s.now().UTC()
	b, _ := json.Marshal(c)
	if _, err := f.s.st.PutState(ctx, f.cursorKey(), b, doc.Version); err != nil {
		return fmt.Errorf("lake: refreshing the fill cursor: %w", err)
	}
	return nil
}

// advance records that every store is filled to at least seq.
func (f *Filler) advance(seq int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if seq > f.reached {
		f.reached = seq
		for id, p := range f.ahead {
			if p <= seq {
				delete(f.ahead, id)
			}
		}
		f.signalLocked()
	}
}

// signalLocked wakes the waiters (f.mu held).
func (f *Filler) signalLocked() {
	close(f.signal)
	f.signal = make(chan struct{})
}

// aheadOf is the log position store id is filled to past reached by
// priority passes (0: none).
func (f *Filler) aheadOf(id string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ahead[id]
}

// filledTo is the log position store id is filled to (f.mu held).
func (f *Filler) filledToLocked(id string) int64 {
	return max(f.reached, f.ahead[id])
}

// wait is a query waiting for stores to be filled to seq.
type wait struct {
	seq    int64
	stores []string
}

// WaitFilled waits until this node holds every event up to log position
// seq of the given stores — of every store when none is given — or ctx
// ends. While it waits, the filler fills the stores it names first (see
// Priority): a query waits for its own stores' events, not for other
// stores' backlog.
func (f *Filler) WaitFilled(ctx context.Context, seq int64, stores ...string) error {
	w := &wait{seq: seq, stores: stores}
	f.mu.Lock()
	f.waits[w] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.waits, w)
		f.mu.Unlock()
	}()
	for {
		f.mu.Lock()
		done, sig := f.satisfiedLocked(w), f.signal
		f.mu.Unlock()
		if done {
			return nil
		}
		f.changed()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sig:
		}
	}
}

// satisfiedLocked reports whether w's stores are filled to w.seq (f.mu
// held).
func (f *Filler) satisfiedLocked(w *wait) bool {
	if f.reached >= w.seq {
		return true
	}
	if len(w.stores) == 0 {
		return false
	}
	for _, id := range w.stores {
		if f.filledToLocked(id) < w.seq {
			return false
		}
	}
	return true
}

// priorityScan bounds the log positions one turn of a priority pass
// reads for a store: a store that takes few of them moves through a large
// backlog of other stores' events in a few turns (the events it does not
// take are skipped by account and region, without parsing), and a store
// that takes many stops at a main pass's worth of events inserted, so
// that the turns of the other waiting stores come soon.
const priorityScan = 20 * fillBatch

// Priority fills the stores that waiting queries read, each up to the log
// position its queries need: a turn per store (see priorityScan), so a
// store with little to insert is not held back by one with much. The
// positions reached are kept (ahead) so that the main pass does not insert
// those events again. waiting says queries still wait (another turn is
// due).
func (f *Filler) Priority(ctx context.Context) (waiting bool, err error) {
	targets := f.waitTargets()
	if len(targets) == 0 {
		return false, nil
	}
	// The saved cursor: every store is filled to it (reached is only
	// known once a main pass has run since the start).
	pos, _, err := f.loadCursor(ctx)
	if err != nil {
		return true, err
	}
	f.advance(pos)
	stores, err := f.s.all(ctx)
	if err != nil {
		return true, err
	}
	byID := make(map[string]*DataStore, len(stores))
	for _, d := range stores {
		byID[d.ID] = d
	}
	for _, id := range slices.Sorted(maps.Keys(targets)) {
		if err := f.priorityTurn(ctx, byID[id], id, targets[id]); err != nil {
			return true, err
		}
	}
	return len(f.waitTargets()) > 0, nil
}

// waitTargets is, for each store a waiting query reads and that is not
// filled far enough, the log position to fill it to.
func (f *Filler) waitTargets() map[string]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int64{}
	for w := range f.waits {
		for _, id := range w.stores {
			if f.filledToLocked(id) < w.seq {
				out[id] = max(out[id], w.seq)
			}
		}
	}
	return out
}

// priorityTurn fills store id (d, nil when it no longer exists) from
// where it is filled to towards log position to: it reads at most
// priorityScan log positions and inserts at most a main pass's worth of
// events (passSize).
func (f *Filler) priorityTurn(ctx context.Context, d *DataStore, id string, to int64) error {
	f.mu.Lock()
	pos := f.filledToLocked(id)
	f.mu.Unlock()
	if d == nil || d.Status == statusGone || len(d.Ingest) == 0 {
		f.setAhead(id, to) // takes nothing: filled
		return nil
	}
	m, err := f.matcher(d)
	if err != nil {
		f.setAhead(id, to) // takes nothing (Pass logs it)
		return nil
	}
	cut := d.retentionCut(f.s.now())
	var take []*event.Event
	limit, most := pos+priorityScan, f.passSize()
	for pos < to && pos < limit && len(take) < most {
		evs, err := f.s.st.ReadLog(ctx, pos, f.batch)
		if err != nil {
			return fmt.Errorf("lake: reading the log: %w", err)
		}
		if len(evs) == 0 {
			pos = to // the log ends before to: nothing more there
			break
		}
		for _, ev := range evs {
			if ev.Seq > to {
				pos = to // every event up to to has been seen
				break
			}
			if len(take) >= most {
				break
			}
			pos = ev.Seq
			if !d.takes(ev.Seq) || !d.covers(ev) || ev.Time.Before(cut) {
				continue
			}
			fl, err := trail.ParseFields(ev.Record)
			if err != nil {
				fl = trail.Fields{}
			}
			if m.Match(&fl) {
				take = append(take, ev)
			}
		}
	}
	if len(take) > 0 {
		if err := f.s.engine.Insert(ctx, d.ID, take); err != nil {
			return fmt.Errorf("lake: filling %s: %w", d.ARN, err)
		}
	}
	f.setAhead(id, pos)
	return nil
}

// setAhead records that store id is filled to log position pos.
func (f *Filler) setAhead(id string, pos int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pos > f.filledToLocked(id) {
		f.ahead[id] = pos
		f.signalLocked()
	}
}

// sweep removes expired events of every store, drops the events of gone
// stores, and forgets old tombstones, queries and results.
func (s *Service) sweep(ctx context.Context) error {
	stores, err := s.all(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	var errs []error
	for _, d := range stores {
		if d.gone(now) {
			errs = append(errs, s.bury(ctx, d, now))
			continue
		}
		cut := d.retentionCut(now)
		if n, err := s.engine.DeleteBefore(ctx, d.ID, cut); err != nil {
			errs = append(errs, fmt.Errorf("lake: retention of %s: %w", d.ARN, err))
		} else if n > 0 {
			s.log.Info("lake: expired events removed", "store", d.ARN, "events", n)
		}
	}
	errs = append(errs, s.forgetQueries(ctx, now))
	return errors.Join(errs...)
}

// bury drops a gone store's events on this node and keeps its tombstone
// for tombstoneKeep (for nodes that were down), then removes it.
func (s *Service) bury(ctx context.Context, d *DataStore, now time.Time) error {
	if err := s.engine.DropStore(ctx, d.ID); err != nil {
		return fmt.Errorf("lake: dropping %s: %w", d.ARN, err)
	}
	if d.Status != statusGone {
		d.Status, d.Updated = statusGone, now
		if err := s.put(ctx, d); err != nil {
			return err
		}
		s.log.Info("lake: event data store deleted after its pending deletion", "store", d.ARN)
		return nil
	}
	if now.Sub(d.Updated) >= tombstoneKeep {
		return s.st.DeleteState(ctx, storePrefix+d.ID)
	}
	return nil
}

// firstTaken is the log position after which the stores take events
// numbered above pos: the least start of a store's ingest range that
// takes any (pos itself when one starts at or before it).
func firstTaken(stores []*DataStore, pos int64) int64 {
	first := int64(math.MaxInt64)
	for _, d := range stores {
		if d.Status == statusGone {
			continue
		}
		for _, r := range d.Ingest {
			if r.To == 0 || r.To > pos {
				first = min(first, max(r.From, pos))
			}
		}
	}
	return first
}

// ReadTo is the log position every node's filler has copied past, for
// retention (retention.Options.ReadTo): an event numbered above it may
// yet be copied into a store, so the event log keeps it however old its
// eventTime, as it does for trail delivery. A filler holds back only the
// events some store takes: with no store taking events, it is the log's
// end as read before the stores were listed (a store made since starts
// at a later position). Other nodes' cursors hold retention back too,
// except those otherCursors drops: all of them on a single-node store,
// and on a shared store those not written for CursorStaleAfter.
func (f *Filler) ReadTo(ctx context.Context) (int64, error) {
	end, err := f.s.lastSeq(ctx)
	if err != nil {
		return 0, err
	}
	stores, err := f.s.all(ctx)
	if err != nil {
		return 0, err
	}
	own, _, err := f.loadCursor(ctx)
	if err != nil {
		return 0, err
	}
	others, err := f.otherCursors(ctx)
	if err != nil {
		return 0, err
	}
	to := end
	for _, pos := range append(others, own) {
		to = min(to, firstTaken(stores, pos))
	}
	return to, nil
}

// otherCursors returns the positions of the other nodes' cursors that
// hold retention back, and deletes those that no longer do: every one on
// a single-node store (an earlier node ID of this data directory), and a
// stale one (staleCursor) on a shared store. A cursor of an earlier
// version, without its time, is stamped with the time now, so that it
// goes stale CursorStaleAfter from now unless its node writes it.
func (f *Filler) otherCursors(ctx context.Context) ([]int64, error) {
	docs, err := f.s.st.ListState(ctx, cursorPrefix)
	if err != nil {
		return nil, err
	}
	now := f.s.now()
	var held []int64
	for _, doc := range docs {
		var c cursor
		if doc.Key == f.cursorKey() || json.Unmarshal(doc.Doc, &c) != nil {
			continue
		}
		if f.s.opts.SingleNode || staleCursor(c, now) {
			if err := f.s.st.DeleteState(ctx, doc.Key); err != nil {
				return nil, fmt.Errorf("lake: deleting the fill cursor %s: %w", doc.Key, err)
			}
			f.s.log.Info("lake: deleted another node's fill cursor", "key", doc.Key, "seq", c.Seq,
				"updated", c.Updated, "single_node", f.s.opts.SingleNode)
			continue
		}
		if c.Updated.IsZero() {
			c.Updated = now.UTC()
			b, _ := json.Marshal(c)
			// A conflict means its node wrote it meanwhile: alive.
			if _, err := f.s.st.PutState(ctx, doc.Key, b, doc.Version); err != nil &&
				!errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("lake: stamping the fill cursor %s: %w", doc.Key, err)
			}
		}
		held = append(held, c.Seq)
	}
	return held, nil
}

// staleCursor reports whether another node's cursor was last written more
// than CursorStaleAfter before now (never, for one without its time).
func staleCursor(c cursor, now time.Time) bool {
	return !c.Updated.IsZero() && now.Sub(c.Updated) > CursorStaleAfter
}

// anyTakesAfter reports whether a store takes events numbered above pos.
func anyTakesAfter(stores []*DataStore, pos int64) bool {
	return slices.ContainsFunc(stores, func(d *DataStore) bool { return d.takesAfter(pos) })
}

// takesAfter reports whether d takes events numbered above pos.
func (d *DataStore) takesAfter(pos int64) bool {
	if d.Status == statusGone {
		return false
	}
	for _, r := range d.Ingest {
		if r.To == 0 || r.To > pos {
			return true
		}
	}
	return false
}

// filledFloor is the log position (at least pos) to which every store
// that takes events past pos is filled, priority passes included.
func (f *Filler) filledFloor(stores []*DataStore, pos int64) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	floor := int64(-1)
	for _, d := range stores {
		if !d.takesAfter(pos) {
			continue
		}
		if p := max(pos, f.ahead[d.ID]); floor < 0 || p < floor {
			floor = p
		}
	}
	return max(floor, pos)
}
