package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// Store is what the engine needs of the store: it follows the log, keeps a
// state document per destination and reads the log's end.
type Store interface {
	store.LogReader
	store.StateDocs
	store.Sizer
}

// statePrefix starts the keys of the destinations' state documents.
const statePrefix = "stream/"

// Defaults of Options.
const (
	defaultPoll       = 100 * time.Millisecond
	defaultMaxBackoff = 30 * time.Second
	defaultReadChunk  = 1000
	defaultGather     = 50 * time.Millisecond
	// leaseTTL is how long a node's claim on a destination lasts without
	// renewal; a Send must end sendMargin before the claim could lapse.
	leaseTTL   = 15 * time.Second
	sendMargin = 2 * time.Second
	// drainTime bounds the final passes at shutdown.
	drainTime = 5 * time.Second
	// retireEvery is how often state documents of destinations no source
	// lists any more are looked for, besides whenever the list changes.
	retireEvery = 30 * time.Second
)

// Options are the engine's settings.
type Options struct {
	// Node names the engine in leases; empty gives it a random name. A
	// node that restarts under the same name takes its destinations back
	// at once instead of waiting for its old leases to expire.
	Node string
	// Log receives the engine's errors; nil discards them.
	Log *slog.Logger
	// Metrics is told what is sent and what fails; nil tells nothing.
	Metrics Metrics
	// Poll is how often the log is read when the engine is not woken;
	// 0 means 100 ms.
	Poll time.Duration
	// MaxBackoff caps the wait after failures in a row (1 s, 2 s, 4 s …);
	// 0 means 30 s.
	MaxBackoff time.Duration
	// ReadChunk is how many log entries one Send covers at most; 0 means
	// 1000. It bounds what a crash can send twice.
	ReadChunk int
	// Gather is the least time from the start of one pass of a
	// destination to the next one a Wake (or poll) starts; 0 means 50 ms.
	// Under a steady ingest every acknowledged append wakes the engine:
	// gathering what arrives meanwhile makes one Send, one cursor save
	// (and one fsync, for a file) of many appends, at the cost of at most
	// Gather of latency. A catch-up is not held back by it.
	Gather time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Engine follows the log for every destination its sources list. Use New,
// then Run.
type Engine struct {
	st      Store
	sources []Source
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	node    string

	mu      sync.Mutex
	wakeCh  chan struct{}         // closed and replaced by Wake
	wakes   uint64                // Wake calls so far
	reads   map[int64]*sharedRead // recent log reads, by position (readLog)
	workers map[string]*worker    // by destination ID, while Run runs

	listMu sync.Mutex
	last   *listing // the latest listing of the destinations
}

// New makes an engine over the destinations of sources. A process runs one
// engine per store, with every source in it (trails' log groups, event
// buses, …): the engine removes the state of each stream/ destination its
// sources no longer list, so a second engine with other sources would
// remove the first one's.
func New(st Store, sources []Source, o Options) *Engine {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Poll <= 0 {
		o.Poll = defaultPoll
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = defaultMaxBackoff
	}
	if o.ReadChunk <= 0 {
		o.ReadChunk = defaultReadChunk
	}
	if o.Gather <= 0 {
		o.Gather = defaultGather
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Node == "" {
		o.Node = uuid.NewString()
	}
	return &Engine{st: st, sources: sources, opts: o, log: o.Log, now: o.Now, node: o.Node,
		wakeCh: make(chan struct{}), reads: map[int64]*sharedRead{}, workers: map[string]*worker{}}
}

// Wake makes every destination read the log now rather than at its next
// poll (ingest calls it once events are acknowledged).
func (e *Engine) Wake() {
	e.mu.Lock()
	close(e.wakeCh)
	e.wakeCh = make(chan struct{})
	e.wakes++
	e.mu.Unlock()
}

// woken returns the channel the next Wake closes.
func (e *Engine) woken() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.wakeCh
}

// state is a destination's state document.
type state struct {
	Kind   string
	Epoch  int64
	Cursor int64
	Lease  *lease `json:",omitempty"`

	Failures     int       `json:",omitempty"`
	RetryAt      time.Time `json:",omitzero"`
	LastDelivery time.Time `json:",omitzero"`
	LastAttempt  time.Time `json:",omitzero"`
	LastError    string    `json:",omitempty"`
	Sent         int64     `json:",omitempty"`
	Dropped      int64     `json:",omitempty"`
	// Parked is when the cursor of a destination that takes nothing was
	// last moved to the log's end.
	Parked time.Time `json:",omitzero"`
}

// lease says which node sends for a destination, until when.
type lease struct {
	Node  string
	Until time.Time
}

func stateKey(id string) string { return statePrefix + id }

// load reads a destination's state; version 0 means it has none yet.
func (e *Engine) load(ctx context.Context, id string) (*state, int64, error) {
	d, err := e.st.GetState(ctx, stateKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return &state{}, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var st state
	if err := json.Unmarshal(d.Doc, &st); err != nil {
		return nil, 0, fmt.Errorf("stream state %s: %w", d.Key, err)
	}
	return &st, d.Version, nil
}

// save stores st if the document is still at version (0: create it).
func (e *Engine) save(ctx context.Context, id string, st *state, version int64) (int64, error) {
	doc, err := json.Marshal(st)
	if err != nil {
		return 0, err
	}
	return e.st.PutState(ctx, stateKey(id), doc, version)
}

// errNotMine: another node holds the destination's lease (or took it
// while this one worked).
var errNotMine = errors.New("stream: destination leased by another node")

// Status reports a destination's delivery status; a destination the engine
// has not seen yet has the zero Status.
func (e *Engine) Status(ctx context.Context, id string) (Status, error) {
	st, _, err := e.load(ctx, id)
	if err != nil {
		return Status{}, err
	}
	return st.status(), nil
}

// backoff is the wait after the n-th failure in a row: 1 s, 2 s, 4 s … up
// to max.
func backoff(n int, max time.Duration) time.Duration {
	return min(time.Duration(1<<min(n-1, 20))*time.Second, max)
}

// held is a worker's copy of its destination's state document and its
// version, kept between passes while this node holds the lease: a pass
// then reads the document from the store only when it has no copy (the
// first pass, after a failed save, once the lease could have lapsed). Every
// change is still saved with PutState at the version the copy has, so a
// document another node (or retire) changed meanwhile fails the save, and
// the next pass reads it again.
type held struct {
	st      *state
	version int64
}

// pass does one step for destination d (see step) without a held copy: it
// reads the state document from the store.
func (e *Engine) pass(ctx context.Context, d Destination) (more bool, err error) {
	return e.step(ctx, d, nil)
}

// step does one step for destination d: take or renew its lease, start a
// new epoch, and send the next chunk of what it selects. more reports that
// the log has more to read at once (a catch-up). h, when not nil, is the
// worker's copy of the state document: used if it is still valid, and left
// with the document as this step saved it (or emptied).
func (e *Engine) step(ctx context.Context, d Destination, h *held) (more bool, err error) {
	now := e.now().UTC()
	st, version, err := e.loadHeld(ctx, d.ID, h, now)
	if err != nil {
		return false, err
	}
	if h != nil {
		// What the store has after this step: version < 0 when a save
		// failed (unknown), and only while the lease is this node's.
		defer func() {
			h.st, h.version = nil, 0
			if version > 0 && st.Lease != nil && st.Lease.Node == e.node {
				h.st, h.version = st, version
			}
		}()
	}
	if st.Lease != nil && st.Lease.Node != e.node && now.Before(st.Lease.Until) {
		return false, nil // another node sends for it
	}
	dirty := st.Kind != d.Kind
	st.Kind = d.Kind
	if version == 0 || st.Epoch != d.Epoch {
		start := d.Start
		if start < 0 {
			stats, err := e.st.Stats(ctx)
			if err != nil {
				return false, err
			}
			start = stats.LastSeq
		}
		st.Epoch, st.Cursor, st.Failures, st.RetryAt = d.Epoch, start, 0, time.Time{}
		dirty = true
	}
	if st.Lease == nil || st.Lease.Node != e.node || st.Lease.Until.Sub(now) < leaseTTL/2 {
		st.Lease = &lease{Node: e.node, Until: now.Add(leaseTTL)}
		dirty = true
	}
	if dirty {
		if version, err = e.save(ctx, d.ID, st, version); err != nil {
			version = -1
			if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
				return false, nil // another node claimed it first
			}
			return false, err
		}
	}
	if !st.RetryAt.IsZero() && now.Before(st.RetryAt) {
		return false, nil
	}
	if d.Bound < 0 {
		version, err = e.park(ctx, d, st, version, now)
		return false, err
	}
	if d.Bound > 0 && st.Cursor >= d.Bound {
		return false, nil // everything it takes is sent
	}
	// A worker (h != nil) shares its reads with the others; a lone pass
	// (RunOnce, tests) reads the log itself.
	read := e.st.ReadLog
	if h != nil {
		read = e.readLog
	}
	evs, err := read(ctx, st.Cursor, e.opts.ReadChunk)
	if err != nil {
		return false, err
	}
	if len(evs) == 0 {
		return false, nil
	}
	// What the destination takes of these events is decided by a listing
	// made after they were read: a change that came before an event (a
	// StopLogging before it was stored) applies to it.
	fresh, err := e.listedAfter(ctx, time.Now())
	if err != nil {
		return false, err
	}
	nd, listed := fresh[d.ID]
	if !listed || nd.Epoch != st.Epoch || nd.Bound < 0 || (nd.Bound > 0 && st.Cursor >= nd.Bound) {
		return false, nil // the next pass deals with what changed
	}
	d = nd
	more = len(evs) == e.opts.ReadChunk
	to := st.Cursor
	var take []*event.Event
	for _, ev := range evs {
		if d.Bound > 0 && ev.Seq > d.Bound {
			more = false
			break
		}
		to = ev.Seq
		if d.Select == nil || d.Select(ev) {
			take = append(take, ev)
		}
	}
	if len(take) > 0 {
		if err := e.send(ctx, d, st, take, now); err != nil {
			var serr error
			if version, serr = e.save(ctx, d.ID, st, version); serr != nil {
				version = -1
				err = errors.Join(err, serr)
			}
			return false, err
		}
	}
	st.Cursor = to
	if version, err = e.save(ctx, d.ID, st, version); err != nil {
		version = -1
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			return false, errNotMine
		}
		return false, err
	}
	return more, nil
}

// loadHeld returns h's copy of the state document while it is valid (this
// node's lease has not lapsed at now), else reads it from the store.
func (e *Engine) loadHeld(ctx context.Context, id string, h *held, now time.Time) (*state, int64, error) {
	if h != nil && h.st != nil && h.st.Lease != nil && h.st.Lease.Node == e.node && now.Before(h.st.Lease.Until) {
		return h.st, h.version, nil
	}
	return e.load(ctx, id)
}

// parkEvery is how often the cursor of a destination that takes nothing
// is moved to the log's end.
const parkEvery = time.Second

// park moves the cursor of a destination that takes nothing (Bound < 0)
// to the log's end, at most once every parkEvery: should it take events
// again in the same epoch, it takes them from about then on. It returns the
// document's version after it (-1 when a save failed).
func (e *Engine) park(ctx context.Context, d Destination, st *state, version int64, now time.Time) (int64, error) {
	if now.Sub(st.Parked) < parkEvery {
		return version, nil
	}
	stats, err := e.st.Stats(ctx)
	if err != nil || stats.LastSeq <= st.Cursor {
		return version, err
	}
	st.Cursor, st.Parked = stats.LastSeq, now
	nv, err := e.save(ctx, d.ID, st, version)
	if err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			return -1, errNotMine
		}
		return -1, err
	}
	return nv, nil
}

// send hands evs to d's Sink within the lease and records the outcome in
// st. An error means the events must be sent again.
func (e *Engine) send(ctx context.Context, d Destination, st *state, evs []*event.Event, now time.Time) error {
	sctx, cancel := context.WithDeadline(ctx, st.Lease.Until.Add(-sendMargin))
	err := d.Sink.Send(sctx, evs)
	cancel()
	st.LastAttempt = e.now().UTC()
	var dropped *DroppedError
	if err != nil && !errors.As(err, &dropped) {
		st.Failures++
		st.RetryAt = now.Add(backoff(st.Failures, e.opts.MaxBackoff))
		st.LastError = err.Error()
		if e.opts.Metrics != nil {
			e.opts.Metrics.StreamFailed(d.Kind)
		}
		e.log.Warn("stream: send failed; retrying", "destination", d.ID, "kind", d.Kind, "events", len(evs),
			"failures", st.Failures, "retry_at", st.RetryAt, "err", err)
		return fmt.Errorf("%s: %w", d.ID, err)
	}
	sent := len(evs)
	st.LastError = ""
	if dropped != nil {
		sent -= dropped.Count
		st.Dropped += int64(dropped.Count)
		st.LastError = dropped.Error()
		if e.opts.Metrics != nil {
			e.opts.Metrics.StreamDropped(d.Kind, dropped.Count)
		}
		e.log.Warn("stream: events not delivered", "destination", d.ID, "kind", d.Kind, "count", dropped.Count,
			"reason", dropped.Reason)
	}
	st.Failures, st.RetryAt = 0, time.Time{}
	if sent > 0 {
		st.LastDelivery = st.LastAttempt
		st.Sent += int64(sent)
		if e.opts.Metrics != nil {
			e.opts.Metrics.StreamSent(d.Kind, sent)
		}
	}
	return nil
}

// release gives up this node's lease on a destination (at shutdown), so
// another node takes it over at once.
func (e *Engine) release(ctx context.Context, id string) {
	st, version, err := e.load(ctx, id)
	if err != nil || version == 0 || st.Lease == nil || st.Lease.Node != e.node {
		return
	}
	st.Lease = nil
	e.save(ctx, id, st, version) // a conflict means another node has it already
}
