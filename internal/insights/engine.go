package insights

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/trail"
)

// Store is what the engine needs of the store: it follows the log, appends
// the Insights records it makes, and keeps its lease and checkpoint in
// state documents.
type Store interface {
	store.LogReader
	store.Appender
	store.StateDocs
}

// Trails lists the configured trails (the control plane provides it).
type Trails interface {
	All(ctx context.Context) ([]*trail.Trail, error)
}

// State document keys.
const (
	leaseKey      = "insights/lease"
	checkpointKey = "insights/checkpoint"
)

// Tunables.
const (
	// tick is how often the engine reads the log and closes minutes.
	tick = time.Second
	// readChunk is how many log entries one read takes; maxChunks bounds
	// the reads of one pass, so that the lease is renewed during a long
	// catch-up.
	readChunk = 5000
	maxChunks = 20
	// checkpointEvery is the longest the checkpoint lags the log when
	// nothing closes: a restart re-reads at most this much.
	checkpointEvery = 30 * time.Second
	// leaseTTL is how long a node's claim lasts without renewal.
	leaseTTL = 15 * time.Second
)

// Engine is the Insights consumer of the event log. Use NewEngine, then Run.
type Engine struct {
	st      Store
	trails  Trails
	cfg     Config
	settle  time.Duration
	log     *slog.Logger
	now     func() time.Time
	node    string
	served  []string // the served regions (multi-region trails cover them)
	members []string // the organization's members (organization trails cover them)
	// dataKeys are the keys counted from data events: their Insights go
	// to trails that select Data.
	dataKeys map[Key]bool
	// counts keeps the per-minute counts for ListInsightsMetricData (nil:
	// not kept).
	counts Counter
	// untracked is told of events not counted because their account and
	// region track insights.max_apis keys already; warned is when each
	// (account, region) was last warned of it in the log.
	untracked func(account, region string, n uint64)
	warned    map[[2]string]time.Time

	det      *Detector // nil until the lease is held and the checkpoint loaded
	cursor   int64
	leaseVer int64
	savedVer int64
	savedAt  time.Time
	dirty    bool
}

// EngineOption configures an Engine.
type EngineOption func(*Engine)

// WithNode names the engine in its lease (see delivery.WithNode).
func WithNode(name string) EngineOption {
	return func(e *Engine) {
		if name != "" {
			e.node = name
		}
	}
}

// WithUntracked sets the function told, per account and region, how many
// events were not counted because the account and region were at the cap
// of tracked APIs (the server counts them in a Prometheus metric).
func WithUntracked(f func(account, region string, n uint64)) EngineOption {
	return func(e *Engine) { e.untracked = f }
}

// WithClock sets the engine's clock (tests).
func WithClock(now func() time.Time) EngineOption { return func(e *Engine) { e.now = now } }

// Options configure an Engine.
type Options struct {
	// Window is insights.baseline_window; Settle is insights.settle.
	Window, Settle time.Duration
	// MaxAPIs is insights.max_apis (zero: DefaultMaxAPIs).
	MaxAPIs int
	// Regions are the served regions; Members the organization's accounts.
	Regions, Members []string
	Log              *slog.Logger
}

// NewEngine makes the engine.
func NewEngine(st Store, trails Trails, o Options, opts ...EngineOption) *Engine {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{st: st, trails: trails, cfg: Config{Window: o.Window, MaxAPIs: o.MaxAPIs}, settle: o.Settle, log: log, now: time.Now,
		node: uuid.NewString(), served: o.Regions, members: o.Members, dataKeys: map[Key]bool{},
		warned: map[[2]string]time.Time{}}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Run makes a pass every tick until ctx ends.
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if err := e.RunOnce(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("insights: pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce holds the lease, reads the log past the cursor, closes the
// minutes that are due, appends the Insights records they make, and
// checkpoints.
func (e *Engine) RunOnce(ctx context.Context) error {
	now := e.now().UTC()
	mine, err := e.claim(ctx, now)
	if err != nil || !mine {
		e.det = nil // another node works; reload when the lease comes back
		return err
	}
	if e.det == nil {
		if err := e.load(ctx, now); err != nil {
			return err
		}
	}
	wants, err := e.selections(ctx)
	if err != nil {
		return err
	}
	if wants.none() {
		return e.idle(ctx, now, wants)
	}
	caughtUp, err := e.read(ctx, wants)
	e.reportUntracked(now)
	if err != nil {
		return err
	}
	closed := e.det.Closed()
	if caughtUp {
		if through := ClosedThrough(now, e.settle); through > closed {
			trs := e.det.Close(through, wants.insight)
			if err := e.emit(ctx, trs, now); err != nil {
				// The minutes stay closed in memory but not in the store:
				// drop the memory, so the next pass re-reads from the
				// checkpoint and makes the same records again.
				e.det = nil
				return err
			}
			e.dirty = true
			e.pruneDataKeys()
		}
	}
	if e.dirty && (e.det.Closed() != closed || now.Sub(e.savedAt) >= checkpointEvery) {
		return e.checkpoint(ctx, now)
	}
	return nil
}

// idle is a pass while no trail asks for Insights: the log is not read, so
// Insights cost nothing until a trail asks. Minutes still close (an open
// Insight ends), so that when a selector appears, the events stored
// meanwhile are read as late ones: they form the baselines and start no
// Insight for minutes long past.
func (e *Engine) idle(ctx context.Context, now time.Time, wants *wanted) error {
	through := ClosedThrough(now, e.settle)
	if through <= e.det.Closed() {
		return nil
	}
	if err := e.emit(ctx, e.det.Close(through, wants.insight), now); err != nil {
		e.det = nil
		return err
	}
	e.dirty = true
	return e.checkpoint(ctx, now)
}

// reportUntracked passes on the counts of events not counted because
// their account and region were full, and logs a warning for each account
// and region at most once an hour.
func (e *Engine) reportUntracked(now time.Time) {
	if e.det == nil {
		return
	}
	for ar, n := range e.det.TakeUntracked() {
		if e.untracked != nil {
			e.untracked(ar[0], ar[1], n)
		}
		if last, ok := e.warned[ar]; ok && now.Sub(last) < time.Hour {
			continue
		}
		e.warned[ar] = now
		e.log.Warn("insights: account and region track insights.max_apis APIs already; calls of new APIs are not counted",
			"account", ar[0], "region", ar[1], "max_apis", e.det.cfg.MaxAPIs, "events", n)
	}
}

// pruneDataKeys forgets the data-event keys the detector no longer tracks.
func (e *Engine) pruneDataKeys() {
	for k := range e.dataKeys {
		if !e.det.Tracks(k) {
			delete(e.dataKeys, k)
		}
	}
}

// ReadTo is the log position the engine has read past, as retention asks
// it (retention.Options.ReadTo): the cursor of its stored checkpoint, so
// expired events it has yet to read — and that may still count in a
// baseline when event_history_days is shorter than the baseline window —
// are not purged before it reads them. While no trail asks for Insights
// the engine reads nothing and holds nothing back (store.ReadAll): the
// events stored meanwhile are purged as they expire, as the retention
// says. Before the first checkpoint it is 0 (holds every event).
func (e *Engine) ReadTo(ctx context.Context) (int64, error) {
	w, err := e.selections(ctx)
	if err != nil {
		return 0, err
	}
	if w.none() {
		return store.ReadAll, nil
	}
	doc, err := e.st.GetState(ctx, checkpointKey)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var c checkpointDoc
	if err := json.Unmarshal(doc.Doc, &c); err != nil {
		return 0, fmt.Errorf("insights checkpoint: %w", err)
	}
	return c.Cursor, nil
}

// lease is the claim of one node on the engine's work.
type lease struct {
	Node  string
	Until time.Time
}

// claim makes this node the one that runs Insights, or reports that
// another node is: the store's versions let only one claim win.
func (e *Engine) claim(ctx context.Context, now time.Time) (bool, error) {
	doc, err := e.st.GetState(ctx, leaseKey)
	var l lease
	switch {
	case errors.Is(err, store.ErrNotFound):
		doc.Version = 0
	case err != nil:
		return false, err
	default:
		if err := json.Unmarshal(doc.Doc, &l); err != nil {
			return false, fmt.Errorf("insights lease: %w", err)
		}
	}
	if l.Node != "" && l.Node != e.node && now.Before(l.Until) {
		return false, nil
	}
	if l.Node == e.node && doc.Version == e.leaseVer && l.Until.Sub(now) > leaseTTL/2 {
		return true, nil
	}
	b, _ := json.Marshal(lease{Node: e.node, Until: now.Add(leaseTTL)})
	v, err := e.st.PutState(ctx, leaseKey, b, doc.Version)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if l.Node != e.node || doc.Version != e.leaseVer {
		e.det = nil // taken over (or first claim): load the latest checkpoint
	}
	e.leaseVer = v
	return true, nil
}

// checkpointDoc is the stored position and detector state.
type checkpointDoc struct {
	Cursor int64
	State  []byte
	// DataKeys are the tracked keys counted from data events (at most the
	// tracked APIs), so that a minute read before a restart and closed
	// after it is judged for the trails that ask for data events.
	DataKeys []Key `json:",omitempty"`
}

// load starts from the stored checkpoint, or — the first time — from the
// start of the log with every minute before now closed, so that the whole
// stored history forms the baselines.
func (e *Engine) load(ctx context.Context, now time.Time) error {
	e.resetCounts()
	if e.cfg.Secret == nil {
		secret, err := loadSecret(ctx, e.st)
		if err != nil {
			return err
		}
		e.cfg.Secret = secret
	}
	doc, err := e.st.GetState(ctx, checkpointKey)
	clear(e.dataKeys)
	if errors.Is(err, store.ErrNotFound) {
		e.det, e.cursor, e.savedVer = NewDetector(e.cfg, ClosedThrough(now, e.settle)), 0, 0
		return nil
	}
	if err != nil {
		return err
	}
	var c checkpointDoc
	if err := json.Unmarshal(doc.Doc, &c); err != nil {
		return fmt.Errorf("insights checkpoint: %w", err)
	}
	det, err := UnmarshalDetector(e.cfg, c.State)
	if err != nil {
		return err
	}
	e.det, e.cursor, e.savedVer, e.savedAt = det, c.Cursor, doc.Version, now
	for _, k := range c.DataKeys {
		e.dataKeys[k] = true
	}
	return nil
}

func (e *Engine) checkpoint(ctx context.Context, now time.Time) error {
	if err := e.flushCounts(ctx, true); err != nil {
		return err
	}
	state, err := e.det.MarshalBinary()
	if err != nil {
		return err
	}
	dataKeys := slices.SortedFunc(maps.Keys(e.dataKeys), compareKeys)
	b, err := json.Marshal(checkpointDoc{Cursor: e.cursor, State: state, DataKeys: dataKeys})
	if err != nil {
		return err
	}
	v, err := e.st.PutState(ctx, checkpointKey, b, e.savedVer)
	if err != nil {
		// Another node wrote it (our lease lapsed): start again from its.
		e.det = nil
		return fmt.Errorf("insights checkpoint: %w", err)
	}
	e.savedVer, e.savedAt, e.dirty = v, now, false
	return nil
}

// read follows the log from the cursor: events are counted, Insights
// records restore the Insights they describe. It reports whether it read
// to the end of the log.
func (e *Engine) read(ctx context.Context, w *wanted) (bool, error) {
	for range maxChunks {
		evs, err := e.st.ReadLog(ctx, e.cursor, readChunk)
		if err != nil {
			return false, err
		}
		for _, ev := range evs {
			e.observe(ev, w)
			e.cursor = ev.Seq
			e.dirty = true
		}
		e.det.Flush()
		if err := e.flushCounts(ctx, false); err != nil {
			return false, err
		}
		if len(evs) < readChunk {
			return true, nil
		}
	}
	return false, nil
}

// fields are the parts of a record Insights counts by.
type fields struct {
	EventSource, EventName, ErrorCode, UserAgent, UserARN string
	// Write is true unless the record says readOnly true (CloudTrail
	// counts a record without readOnly as a write).
	Write bool
}

// fieldsOf reads a stored record's fields with the event package's
// scanner (names matched exactly, no map built: several times faster than
// encoding/json, which matters on the ingest path's heels).
func fieldsOf(record []byte) (fields, bool) {
	f := fields{Write: true}
	ok := event.EachMember(record, func(name, v []byte) {
		switch string(name) {
		case "eventSource":
			f.EventSource = jsonString(v)
		case "eventName":
			f.EventName = jsonString(v)
		case "errorCode":
			f.ErrorCode = jsonString(v)
		case "userAgent":
			f.UserAgent = jsonString(v)
		case "readOnly":
			f.Write = string(v) != "true"
		case "userIdentity":
			event.EachMember(v, func(name, v []byte) {
				if string(name) == "arn" {
					f.UserARN = jsonString(v)
				}
			})
		}
	})
	return f, ok && f.EventSource != "" && f.EventName != ""
}

// jsonString is the value of a JSON string ("" for anything else).
func jsonString(raw json.RawMessage) string {
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	if !bytes.ContainsRune(raw, '\\') {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// observe counts one event of the log. An Insights record restores the
// Insight it describes only if the engine made it (its IDs verify under
// the store's secret): records a producer sent are stored and shown, but
// never steer the engine.
func (e *Engine) observe(ev *event.Event, w *wanted) {
	if ev.Category == event.CategoryInsight {
		if tr, ok := ParseRecord(ev.Record); ok && tr.Key.Account == ev.Account && tr.Key.Region == ev.Region &&
			ev.ID == tr.EventID && verified(e.cfg.Secret, tr) {
			e.det.Restore(tr)
		}
		return
	}
	e.det.Seen(ev.Account, ev.Region, ev.Time)
	data := ev.Category == event.CategoryData
	if ev.Category != event.CategoryManagement && !(data && w.data[[2]string{ev.Account, ev.Region}]) {
		return
	}
	f, ok := fieldsOf(ev.Record)
	if !ok {
		return
	}
	a := Attrs{UserIdentityARN: f.UserARN, UserAgent: f.UserAgent, ErrorCode: f.ErrorCode}
	k := Key{Account: ev.Account, Region: ev.Region, EventSource: f.EventSource, EventName: f.EventName}
	if f.Write {
		k.InsightType = TypeCallRate
		e.track(k, ev, a, "", data)
	}
	if f.ErrorCode != "" {
		k.InsightType = TypeErrorRate
		e.track(k, ev, a, f.ErrorCode, data)
	}
}

// track counts one event of k (code: its errorCode, for the error rate) in
// the detector and, when the detector tracks k, in the per-minute counts: an
// API past insights.max_apis of its account and region is in neither.
func (e *Engine) track(k Key, ev *event.Event, a Attrs, code string, data bool) {
	if !e.det.Observe(k, ev.Time, a) {
		return
	}
	e.count(ev.Seq, k, ev.Time, code)
	if data {
		e.dataKeys[k] = true
	}
}

// wanted says which Insights the trails ask for: per account and region,
// the insight types of management and of data events.
type wanted struct {
	mgmt, dataT map[[3]string]bool // (account, region, type)
	data        map[[2]string]bool // (account, region) whose data events are counted
	dataKeys    map[Key]bool       // keys counted from data events
}

// none reports whether no trail wants any Insights.
func (w *wanted) none() bool { return len(w.mgmt) == 0 && len(w.dataT) == 0 }

// insight reports whether some trail wants k's Insights.
func (w *wanted) insight(k Key) bool {
	ar := [3]string{k.Account, k.Region, k.InsightType}
	if w.dataKeys[k] {
		return w.dataT[ar]
	}
	return w.mgmt[ar]
}

// selections reads the trails' insight selectors.
func (e *Engine) selections(ctx context.Context) (*wanted, error) {
	all, err := e.trails.All(ctx)
	if err != nil {
		return nil, err
	}
	w := &wanted{mgmt: map[[3]string]bool{}, dataT: map[[3]string]bool{}, data: map[[2]string]bool{}, dataKeys: e.dataKeys}
	for _, t := range all {
		if !t.IsLogging || len(t.InsightSelectors) == 0 {
			continue
		}
		for _, acct := range e.accounts(t) {
			for _, region := range e.regions(t) {
				for _, s := range t.InsightSelectors {
					if s.InsightType == nil {
						continue
					}
					for _, c := range s.EventCategories {
						k := [3]string{acct, region, *s.InsightType}
						if c == "Data" {
							w.dataT[k] = true
							w.data[[2]string{acct, region}] = true
						} else {
							w.mgmt[k] = true
						}
					}
				}
			}
		}
	}
	return w, nil
}

// regions are the regions a trail covers; accounts the accounts.
func (e *Engine) regions(t *trail.Trail) []string {
	return trail.CoveredRegions(t.IsMultiRegionTrail, t.HomeRegion, e.served)
}

func (e *Engine) accounts(t *trail.Trail) []string {
	return trail.CoveredAccounts(t.IsOrganizationTrail, t.Account, e.members)
}

// emit appends the records of the transitions. Their eventIDs come from
// the Insight and the store's secret, so a record made again (after a crash before the
// checkpoint) is a duplicate the store does not write twice.
func (e *Engine) emit(ctx context.Context, trs []Transition, now time.Time) error {
	if len(trs) == 0 {
		return nil
	}
	evs := make([]*event.Event, 0, len(trs))
	for _, tr := range trs {
		ev, ferr := event.Decode(Record(tr), event.Context{Account: tr.Key.Account, Now: now})
		if ferr != nil {
			return fmt.Errorf("insights: own record refused: %w", ferr)
		}
		evs = append(evs, ev)
	}
	res, err := e.st.Append(ctx, evs)
	if err != nil {
		return err
	}
	for i, r := range res {
		if r.Conflict {
			e.log.Error("insights: an event with this Insight's eventID is stored with other content; kept",
				"eventID", evs[i].ID)
		}
		tr := trs[i]
		e.log.Info("insights: "+tr.State, "type", tr.Key.InsightType, "account", tr.Key.Account, "region", tr.Key.Region,
			"eventSource", tr.Key.EventSource, "eventName", tr.Key.EventName, "sharedEventID", tr.SharedEventID)
	}
	return nil
}
