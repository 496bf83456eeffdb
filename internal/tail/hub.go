// Package tail provides the live tail of the event log: one reader per
// process follows the store's log (so events acknowledged on any node that
// shares the store appear) and fans the events out to any number of
// subscribers, each with its own position and filter. It is what
// GET /v1/stream, `cairn tail` and the console's Live mode read.
//
// Memory is bounded whatever the subscribers do: the hub keeps only a
// window of the newest events (Options.WindowEvents, WindowBytes) that
// every subscriber shares. A subscriber that falls behind the window (a
// slow client) is not dropped and loses nothing: it reads on from the
// store at its own position, at its own pace, until it is back inside the
// window. No subscriber ever waits for another.
package tail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/eventpattern"
	"github.com/cairn-audit/cairn/internal/store"
)

// ErrClosed is returned by a subscription once its hub is closed (the
// server is shutting down).
var ErrClosed = errors.New("tail: closed")

// ErrTooMany is returned by Subscribe beyond the hub's stream limits.
var ErrTooMany = errors.New("tail: too many streams")

// Log is what the hub reads: the log in sequence order and its end.
type Log interface {
	store.LogReader
	store.Sizer
}

// Defaults of Options left zero.
const (
	DefaultPollInterval     = 100 * time.Millisecond
	DefaultWindowEvents     = 4096
	DefaultWindowBytes      = 16 << 20
	DefaultMaxStreams       = 256
	DefaultMaxStreamsPerKey = 8
	DefaultGather           = 5 * time.Millisecond
)

// readChunk is the most events one read of the store returns for the
// hub's window.
const readChunk = 256

// behindChunk is the most events a subscriber behind the window reads from
// the store at once. Each stream holds what it read until it is written, so
// this bounds a slow reader's memory: at most behindChunk records of at
// most event.MaxRecordBytes (4 MiB) a stream, however large the records.
const behindChunk = 16

// Options tune a hub.
type Options struct {
	// PollInterval is how often the hub reads the log while anyone
	// subscribes (Wake reads at once).
	PollInterval time.Duration
	// Gather is the least time between two reads a Wake starts: appends
	// that come closer together than that are read together, so that
	// small appends in quick succession do not each cost a read. 0 means
	// DefaultGather; negative reads at every Wake.
	Gather time.Duration
	// WindowEvents and WindowBytes bound the newest events the hub keeps
	// for its subscribers.
	WindowEvents int
	WindowBytes  int64
	// MaxStreams bounds the subscriptions open at once; MaxStreamsPerKey
	// those of one key (an access key, or a console user).
	MaxStreams       int
	MaxStreamsPerKey int
	Log              *slog.Logger
}

// Hub follows the log for its subscribers.
type Hub struct {
	log  Log
	opts Options
	wake chan struct{}

	mu      sync.Mutex
	closed  bool
	live    bool // the window follows the log (someone subscribes)
	subs    int
	perKey  map[string]int
	epoch   int64         // grows when the window restarts (see Subscribe)
	lo, hi  int64         // the window holds every event with lo < Seq <= hi
	window  []*Entry      // in Seq order
	bytes   int64         // the window's record bytes
	changed chan struct{} // closed (and replaced) when the window grows or the hub closes
}

// New makes a hub reading log; Run makes it follow the log.
func New(log Log, o Options) *Hub {
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.WindowEvents <= 0 {
		o.WindowEvents = DefaultWindowEvents
	}
	if o.WindowBytes <= 0 {
		o.WindowBytes = DefaultWindowBytes
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = DefaultMaxStreams
	}
	if o.MaxStreamsPerKey <= 0 {
		o.MaxStreamsPerKey = DefaultMaxStreamsPerKey
	}
	if o.Gather == 0 {
		o.Gather = DefaultGather
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Hub{log: log, opts: o, wake: make(chan struct{}, 1), perKey: map[string]int{}, changed: make(chan struct{})}
}

// Wake makes the hub read the log now (ingest calls it after an append on
// this node); it never blocks.
func (h *Hub) Wake() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Close ends every subscription (their Next returns ErrClosed) and refuses
// new ones: the server calls it when it shuts down, so that streams end
// cleanly rather than hold the shutdown.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.changed)
	}
}

// Run follows the log until ctx ends: while anyone subscribes, it reads
// the events after the window's end every PollInterval (or when woken)
// and adds them to the window.
func (h *Hub) Run(ctx context.Context) {
	t := time.NewTicker(h.opts.PollInterval)
	defer t.Stop()
	for {
		read := time.Now()
		more, err := h.poll(ctx)
		if err != nil && ctx.Err() == nil {
			h.opts.Log.Warn("tail: reading the log", "err", err)
		}
		if more {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-h.wake:
			if !h.gather(ctx, read) {
				return
			}
		}
	}
}

// gather waits until Gather has passed since the last read began, so that
// the appends of that time are read together; false means ctx ended.
func (h *Hub) gather(ctx context.Context, last time.Time) bool {
	wait := h.opts.Gather - time.Since(last)
	if wait <= 0 {
		return true
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// poll reads one chunk after the window's end when anyone subscribes, and
// says whether the log may hold more already.
func (h *Hub) poll(ctx context.Context) (bool, error) {
	h.mu.Lock()
	if !h.live || h.closed {
		h.mu.Unlock()
		return false, nil
	}
	epoch, after := h.epoch, h.hi
	h.mu.Unlock()
	evs, err := h.log.ReadLog(ctx, after, readChunk)
	if err != nil || len(evs) == 0 {
		return false, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.epoch != epoch || !h.live || h.closed {
		// The window restarted meanwhile: these may be from before it.
		return false, nil
	}
	h.add(evs)
	return len(evs) == readChunk, nil
}

// add appends evs (the events after hi, in order) to the window, drops
// its oldest beyond the bounds and tells the subscribers; h.mu is held.
func (h *Hub) add(evs []*event.Event) {
	for _, ev := range evs {
		h.bytes += int64(len(ev.Record))
		h.window = append(h.window, &Entry{Event: ev})
	}
	h.hi = evs[len(evs)-1].Seq
	drop := 0
	for drop < len(h.window)-1 && (len(h.window)-drop > h.opts.WindowEvents || h.bytes > h.opts.WindowBytes) {
		h.bytes -= int64(len(h.window[drop].Record))
		drop++
	}
	if drop > 0 {
		h.lo = h.window[drop-1].Seq
		// Re-slicing (never clearing or copying over) the front keeps
		// intact the events a subscriber took from the window and reads
		// outside the lock; the old array goes when append outgrows it.
		h.window = h.window[drop:]
	}
	close(h.changed)
	h.changed = make(chan struct{})
}

// Entry is one event of the log as the hub hands it to its subscribers'
// filters: the event, and its EventBridge envelope decoded once for every
// subscriber whose pattern looks at it (not once per subscriber).
type Entry struct {
	*event.Event
	once   sync.Once
	env    *eventpattern.Event
	envErr error
}

// Envelope is the entry's EventBridge envelope, decoded for the pattern
// matcher (see Pattern); it is decoded on first use and shared.
func (e *Entry) Envelope() (*eventpattern.Event, error) {
	e.once.Do(func() { e.env, e.envErr = envelopeOf(e.Event) })
	return e.env, e.envErr
}

// entries wraps events read from the store.
func entries(evs []*event.Event) []*Entry {
	out := make([]*Entry, len(evs))
	for i, ev := range evs {
		out[i] = &Entry{Event: ev}
	}
	return out
}

// Filter says whether a subscriber takes an event.
type Filter func(e *Entry) (bool, error)

// Subscription is one subscriber's position in the log and its filter.
// It is for one goroutine.
type Subscription struct {
	h       *Hub
	key     string
	filter  Filter
	pos     int64
	dropped bool
}

// Subscribe starts a subscription of key (whose streams are counted
// against MaxStreamsPerKey) at the log's end now: it sees the events
// appended from now on that filter takes, and nothing older. It returns
// ErrTooMany beyond the limits and ErrClosed once the hub is closed.
// The caller must Close the subscription.
func (h *Hub) Subscribe(ctx context.Context, key string, filter Filter) (*Subscription, error) {
	if err := h.enter(key); err != nil {
		return nil, err
	}
	st, err := h.log.Stats(ctx)
	if err != nil {
		h.leave(key)
		return nil, fmt.Errorf("tail: the log's end: %w", err)
	}
	s := &Subscription{h: h, key: key, filter: filter, pos: st.LastSeq}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.live {
		// The first subscriber: the window starts where it does (the
		// hub read nothing while no one subscribed).
		h.live = true
		h.epoch++
		h.lo, h.hi, h.window, h.bytes = s.pos, s.pos, nil, 0
	}
	h.Wake()
	return s, nil
}

// enter counts a new subscription of key within the limits.
func (h *Hub) enter(key string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return ErrClosed
	case h.subs >= h.opts.MaxStreams || h.perKey[key] >= h.opts.MaxStreamsPerKey:
		return ErrTooMany
	}
	h.subs++
	h.perKey[key]++
	return nil
}

// leave gives back a subscription's place.
func (h *Hub) leave(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs--
	if h.perKey[key]--; h.perKey[key] <= 0 {
		delete(h.perKey, key)
	}
	if h.subs == 0 {
		h.live, h.window, h.bytes = false, nil, 0
	}
}

// Streams reports the subscriptions open (for metrics and tests).
func (h *Hub) Streams() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.subs
}

// Close ends the subscription and gives back its place; later calls do
// nothing.
func (s *Subscription) Close() {
	if !s.dropped {
		s.dropped = true
		s.h.leave(s.key)
	}
}

// Next waits until events after the subscription's position pass its
// filter and returns them in log order, or returns no events and no error
// when wait passes first (time for a heartbeat). It returns ctx's error
// when ctx ends and ErrClosed when the hub closes. A filter's error skips
// that event and is logged.
func (s *Subscription) Next(ctx context.Context, wait time.Duration) ([]*Entry, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		evs, changed, err := s.step(ctx)
		if err != nil || len(evs) > 0 {
			return evs, err
		}
		if changed == nil {
			continue // read on from the store
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
			return nil, nil
		case <-changed:
		}
	}
}

// step takes the events after the position: from the hub's window when
// the position is inside it, else one chunk from the store. It returns the
// ones the filter takes, and the channel that tells when the window grows
// (nil when the store may hold more for it at once).
func (s *Subscription) step(ctx context.Context) ([]*Entry, <-chan struct{}, error) {
	h := s.h
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, nil, ErrClosed
	}
	changed := h.changed
	if s.pos >= h.lo {
		i := sort.Search(len(h.window), func(i int) bool { return h.window[i].Seq > s.pos })
		evs, hi := h.window[i:len(h.window):len(h.window)], h.hi
		h.mu.Unlock()
		if hi > s.pos {
			s.pos = hi
		}
		return s.take(evs), changed, nil
	}
	lo := h.lo
	h.mu.Unlock()
	// Behind the window: read on from the store at our own position.
	evs, err := h.log.ReadLog(ctx, s.pos, behindChunk)
	if err != nil {
		return nil, nil, fmt.Errorf("tail: reading the log: %w", err)
	}
	if len(evs) == 0 {
		// Nothing left before the window (purged): join it.
		s.pos = lo
		return nil, nil, nil
	}
	s.pos = evs[len(evs)-1].Seq
	return s.take(entries(evs)), nil, nil
}

// take is the events of evs the filter takes.
func (s *Subscription) take(evs []*Entry) []*Entry {
	var out []*Entry
	for _, ev := range evs {
		ok, err := s.filter(ev)
		if err != nil {
			s.h.opts.Log.Warn("tail: event skipped", "seq", ev.Seq, "err", err)
			continue
		}
		if ok {
			out = append(out, ev)
		}
	}
	return out
}

// Position is the last log position the subscription has looked at.
func (s *Subscription) Position() int64 { return s.pos }
