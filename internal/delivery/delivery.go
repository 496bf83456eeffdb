// Package delivery turns the event log into CloudTrail log files: for every
// logging trail it follows the log with a cursor kept in the store, applies
// the trail's selectors and region rules, writes gzip'd {"Records":[…]}
// files to the trail's bucket, and — with log file validation — an hourly
// signed, chained digest per account and region.
//
// Exactly once: a batch is planned (its sequence range and file names) and
// the plan is stored before any file is written; the cursor moves past the
// batch only after every file is written. A crash between the two replays
// the stored plan, which writes the same files under the same names.
package delivery

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/digest"
	"github.com/cairn-audit/cairn/internal/envelope"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/trail"
)

// Tunables.
const (
	// scanChunk is how many log entries one read takes.
	scanChunk = 5000
	// maxFileRecords bounds the records of one log file.
	maxFileRecords = 2000
	// tick is how often the engine looks for work. An event is seen up to
	// a tick after it is stored, and its batch is written within a tick of
	// being due: batches are due dueEarly before their oldest event has
	// waited the flush interval, so that no event waits longer, with room
	// for writing the files on a busy server.
	tick     = 100 * time.Millisecond
	dueEarly = 5 * tick
)

// Trails lists the configured trails (the control plane provides it).
type Trails interface {
	All(ctx context.Context) ([]*trail.Trail, error)
}

// Store is what delivery keeps in and reads from the event store: it follows
// the log, keeps cursors, plans, status, signing keys and bucket claims in
// state documents, and reads the log's last sequence number.
type Store interface {
	store.LogReader
	store.StateDocs
	store.Sizer
}

// Options are the engine's settings: what it reads of the configuration,
// its key material and its log.
type Options struct {
	// Owners are the destinations trails may name and who owns them:
	// delivery checks them again before it writes (see trail.Owners).
	Owners trail.OwnersOptions
	// Partition is the ARN partition of the digest signing keys.
	Partition string
	// Regions are the served regions (a multi-region trail's).
	Regions []string
	// GlobalRegion is where global services' events land.
	GlobalRegion string
	// FlushInterval is how long an event may wait for its log file; 0
	// means 5 seconds.
	FlushInterval time.Duration
	// DigestInterval is how often digest files are written; 0 means an
	// hour.
	DigestInterval time.Duration
	// KMS has the key material that seals log files for trails with a
	// KMS key.
	KMS envelope.Keys
	// Node names the engine in delivery leases; empty gives it a random
	// name, new in each process. A node that restarts under the same name
	// takes its trails back at once instead of waiting for its old
	// leases to expire.
	Node string
	// Log receives delivery's errors; nil discards them.
	Log *slog.Logger
}

// Engine delivers every logging trail. Use New, then Run.
type Engine struct {
	store   Store
	trails  Trails
	buckets *bucket.Resolver
	opts    Options
	keys    *Keys
	log     *slog.Logger
	now     func() time.Time
	flush   time.Duration
	digestI time.Duration
	notify  *notifier
	kms     envelope.Keys
	owners  *trail.Owners

	node    string // this engine's name in leases
	mu      sync.Mutex
	waiting map[string]time.Time // trail ARN → when matching events were first seen undelivered
	// draining is set at shutdown: every waiting batch is due.
	draining bool
	// scans are plan's findings for batches not yet due, by state key:
	// the next pass goes on from where the last one stopped reading.
	scans map[string]*scan
	wake  chan struct{}
}

// New makes the engine.
func New(st Store, trails Trails, buckets *bucket.Resolver, o Options) *Engine {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{store: st, trails: trails, buckets: buckets, opts: o, log: o.Log, now: time.Now, node: o.Node,
		flush: o.FlushInterval, digestI: o.DigestInterval, kms: o.KMS,
		waiting: map[string]time.Time{}, scans: map[string]*scan{}, wake: make(chan struct{}, 1)}
	if e.node == "" {
		e.node = uuid.NewString()
	}
	if e.kms == nil {
		e.kms = noKeys{}
	}
	if e.flush <= 0 {
		e.flush = 5 * time.Second
	}
	if e.digestI <= 0 {
		e.digestI = time.Hour
	}
	e.keys = NewKeys(st, o.Partition)
	e.owners = trail.NewOwners(o.Owners, st, trails)
	e.notify = newNotifier(o.Owners, o.Log, e.owners)
	return e
}

// noKeys is the key material of an engine given none: a trail with a KMS
// key gets an error in its status rather than a file sealed with nothing.
type noKeys struct{}

func (noKeys) Material(keyARN string) ([]byte, error) {
	return nil, fmt.Errorf("delivery: no key material for %s: the engine was given no KMS keys", keyARN)
}

// Keys returns the signing keys (for ListPublicKeys).
func (e *Engine) Keys() *Keys { return e.keys }

// Run delivers until ctx ends.
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if err := e.RunOnce(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("delivery: pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			// Shutting down: write what is waiting now rather than at the
			// next start.
			e.mu.Lock()
			e.draining = true
			e.mu.Unlock()
			dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := e.RunOnce(dctx); err != nil {
				e.log.Warn("delivery: final pass failed; the rest is delivered at the next start", "err", err)
			}
			cancel()
			e.notify.wait()
			return
		case <-t.C:
		case <-e.wake:
		}
	}
}

// RunOnce makes one delivery pass over every trail.
//
// The pass reads the log only up to its end as it was before the trails
// were listed: an event it reads was stored before the listing began, so a
// change that came before the event (a StopLogging) is in the listing and
// applies to it. Events stored since wait for the next pass.
func (e *Engine) RunOnce(ctx context.Context) error {
	stats, err := e.store.Stats(ctx)
	if err != nil {
		return err
	}
	all, err := e.trails.All(ctx)
	if err != nil {
		return err
	}
	var errs []error
	live := map[string]bool{}
	for _, t := range all {
		live[stateKey(t)] = true
		if err := e.deliverTrail(ctx, t, stats.LastSeq); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.ARN, err))
		}
	}
	// Trails that were deleted: finish what they had planned, close their
	// digest chains, forget them.
	docs, err := e.store.ListState(ctx, statePrefix)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, d := range docs {
		if !live[d.Key] {
			if err := e.retire(ctx, d.Key); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.Key, err))
			}
		}
	}
	return errors.Join(errs...)
}

// state is a trail's delivery state, one store document per trail.
type state struct {
	// Epoch is the logging epoch the cursor belongs to (see trail.Trail).
	Epoch int64
	// Cursor is the last log sequence fully handled.
	Cursor int64
	// Pending is a planned batch not yet confirmed.
	Pending *batch `json:",omitempty"`
	// Chains are the digest chains, by "account/region".
	Chains map[string]*chain `json:",omitempty"`
	// Status is per region.
	Status map[string]*trail.DeliveryStatus `json:",omitempty"`
	// Trail is the trail as last seen: a deleted trail's last digests are
	// written with it.
	Trail        *trail.Trail `json:",omitempty"`
	TrailVersion int64        `json:",omitempty"`
	// Lease says which node delivers the trail, until when. Nodes that
	// share a store take turns through it; a node that dies loses it when
	// it expires.
	Lease *lease `json:",omitempty"`
	// RetryAt delays the next attempt after a failure.
	RetryAt  time.Time `json:",omitzero"`
	Failures int       `json:",omitempty"`

	dirtyCursor bool // the cursor moved past events no trail file needs
}

// batch is a planned delivery: the events of (From, To] that the trail
// takes, in the files named.
type batch struct {
	From, To int64
	Planned  time.Time
	Files    []plannedFile

	// taken is what plan found the trail takes of (From, To], by file
	// (account, region, kind), in log order: write, when it follows plan
	// in the same pass, writes them without reading and matching the log
	// again. A batch loaded from the store (replayed after a crash, or
	// retried after a failure) has none, and write reads the log.
	taken map[[3]string][]*event.Event
}

type plannedFile struct {
	Account, Region, Key string
	Count                int
	// Kind is kindInsight for a CloudTrail-Insight/ file.
	Kind string `json:",omitempty"`
}

// chain is one digest chain: the files delivered since the last digest and
// the link to it.
type chain struct {
	Start      time.Time
	PrevBucket string `json:",omitempty"`
	PrevKey    string `json:",omitempty"`
	PrevHash   string `json:",omitempty"`
	PrevSig    string `json:",omitempty"`
	Files      []digest.LogFile
	// PendingEnd is the end of a digest being written (replayed after a crash).
	PendingEnd time.Time `json:",omitzero"`
	// RetryAt delays the chain's next digest attempt after Failures
	// failures in a row; other chains do not wait for it.
	RetryAt  time.Time `json:",omitzero"`
	Failures int       `json:",omitempty"`
}

// leaseTTL is how long a node's claim on a trail lasts without renewal.
const leaseTTL = 10 * time.Second

type lease struct {
	Node  string
	Until time.Time
}

// claim makes this node the trail's deliverer, or reports that another
// node is. The claim is saved before any work, so two nodes never deliver
// the same trail at once: the store's versions let only one save win.
func (e *Engine) claim(ctx context.Context, key string, st *state, version int64, now time.Time) (int64, bool, error) {
	if st.Lease != nil && st.Lease.Node != e.node && now.Before(st.Lease.Until) {
		return version, false, nil
	}
	if st.Lease != nil && st.Lease.Node == e.node && st.Lease.Until.Sub(now) > leaseTTL/2 {
		return version, true, nil
	}
	st.Lease = &lease{Node: e.node, Until: now.Add(leaseTTL)}
	v, err := e.save(ctx, key, st, version)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
		return version, false, nil
	}
	return v, err == nil, err
}

// statePrefix starts the keys of delivery state documents.
const statePrefix = "delivery/"

// ReadTo is the log position every trail has delivered past: an event
// numbered above it is, or may yet be, in some trail's next log file, so
// retention must keep it however old its eventTime. It counts a trail that
// is logging, one that has stopped but not yet delivered what came before
// the stop, and a planned batch (of a deleted trail too). With none, it is
// the log's end as it was before the trails were read: a trail started
// since delivers from a later position, but an event stored since may be
// its first.
func (e *Engine) ReadTo(ctx context.Context) (int64, error) {
	stats, err := e.store.Stats(ctx)
	if err != nil {
		return 0, err
	}
	all, err := e.trails.All(ctx)
	if err != nil {
		return 0, err
	}
	states, err := store.DecodeStates[state](ctx, e.store, statePrefix, "delivery state")
	if err != nil {
		return 0, err
	}
	readTo := stats.LastSeq
	hold := func(pos int64) { readTo = min(readTo, pos) }
	for _, t := range all {
		st := states[stateKey(t)]
		delete(states, stateKey(t))
		if st == nil {
			st = &state{}
		}
		switch {
		case st.Pending != nil:
			hold(st.Pending.From)
		case t.LoggingEpoch > 0 && st.Epoch != t.LoggingEpoch:
			// Started since its last pass: it delivers from the start.
			if t.IsLogging || t.StartSeq < t.StopSeq {
				hold(t.StartSeq)
			}
		case t.IsLogging || st.Cursor < t.StopSeq:
			hold(st.Cursor)
		}
	}
	for _, st := range states { // deleted trails
		if st.Pending != nil {
			hold(st.Pending.From)
		}
	}
	return readTo, nil
}

// stateKey names a trail's delivery state: by ARN and creation, so that a
// trail made again under a deleted one's name starts afresh.
func stateKey(t *trail.Trail) string { return statePrefix + t.ARN + "#" + t.ID }

func (e *Engine) load(ctx context.Context, key string) (*state, int64, error) {
	d, err := e.store.GetState(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return &state{}, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var st state
	if err := json.Unmarshal(d.Doc, &st); err != nil {
		return nil, 0, fmt.Errorf("delivery state %s: %w", key, err)
	}
	return &st, d.Version, nil
}

func (e *Engine) save(ctx context.Context, key string, st *state, version int64) (int64, error) {
	doc, err := json.Marshal(st)
	if err != nil {
		return 0, err
	}
	return e.store.PutState(ctx, key, doc, version)
}

// DeliveryStatus implements trail.StatusSource.
func (e *Engine) DeliveryStatus(ctx context.Context, t *trail.Trail, region string) (trail.DeliveryStatus, error) {
	arn := t.ARN
	st, _, err := e.load(ctx, stateKey(t))
	if err != nil {
		return trail.DeliveryStatus{}, err
	}
	var out trail.DeliveryStatus
	if s := st.Status[region]; s != nil {
		out = *s
	}
	if n := e.notify.status(arn); n != nil {
		out.LatestNotificationTime = n.LatestNotificationTime
		out.LatestNotificationAttemptTime = n.LatestNotificationAttemptTime
		out.LatestNotificationError = n.LatestNotificationError
	}
	return out, nil
}

// regions are the regions a trail delivers.
func (e *Engine) regions(t *trail.Trail) []string {
	return trail.CoveredRegions(t.IsMultiRegionTrail, t.HomeRegion, e.opts.Regions)
}

// accounts are the accounts whose events a trail takes.
func (e *Engine) accounts(t *trail.Trail) []string {
	return trail.CoveredAccounts(t.IsOrganizationTrail, t.Account, e.opts.Owners.Ownership.OrganizationMembers())
}

// takes reports whether trail t (with matcher m) delivers event ev (see
// trail.Takes: the trail's log group takes the same events).
func (e *Engine) takes(t *trail.Trail, m *trail.Matcher, accounts map[string]bool, regions map[string]bool, ev *event.Event) (bool, error) {
	return trail.Takes(t, m, accounts, regions, e.opts.GlobalRegion, ev)
}

// deliverTrail does what is due for one trail: replay a pending batch,
// plan and write the next, write due digests — and, once logging stops,
// deliver what was recorded before the stop and close the digest chains.
// It reads the log up to end, the log's end before t was listed.
func (e *Engine) deliverTrail(ctx context.Context, t *trail.Trail, end int64) error {
	key := stateKey(t)
	st, version, err := e.load(ctx, key)
	if err != nil {
		return err
	}
	now := e.now().UTC()
	// A failed batch waits for its backoff; the digest chains go on, each
	// with its own.
	filesWait := !st.RetryAt.IsZero() && now.Before(st.RetryAt)
	version, mine, err := e.claim(ctx, key, st, version, now)
	if err != nil || !mine {
		e.log.Debug("delivery: trail leased elsewhere", "trail", t.ARN, "err", err)
		return err
	}
	var errs []error
	snapshot := *t
	changed := st.Trail == nil || st.TrailVersion != t.Version
	st.Trail, st.TrailVersion = &snapshot, t.Version
	if st.Pending == nil && t.LoggingEpoch > 0 && st.Epoch != t.LoggingEpoch {
		// Logging (re)started since the last pass: deliver from the log
		// position of the start, in new digest chains. A chain whose final
		// digest fails goes on instead, so the new log files wait for no
		// digest.
		if len(st.Chains) > 0 {
			if err := e.closeChains(ctx, t, st, now, nil); err != nil {
				errs = append(errs, err)
			}
		}
		st.Epoch, st.Cursor, changed = t.LoggingEpoch, t.StartSeq, true
	}
	// bound is the last log position the trail takes: once logging stops,
	// what was recorded before the stop.
	bound := int64(math.MaxInt64)
	if !t.IsLogging {
		bound = max(st.Cursor, t.StopSeq)
	}
	if t.IsLogging && t.LogFileValidationEnabled {
		e.initChains(t, st, now)
	}
	if st.Pending == nil && st.Cursor < bound && !filesWait {
		planned, err := e.plan(ctx, t, st, now, bound, end)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		if planned || st.dirtyCursor {
			st.dirtyCursor, changed = false, false
			if version, err = e.save(ctx, key, st, version); err != nil {
				return errors.Join(append(errs, err)...)
			}
		}
	}
	if st.Pending != nil && !filesWait {
		if err := e.write(ctx, t, st, now); err != nil {
			e.fail(st, st.Pending.Files, now, err)
			errs = append(errs, err)
			changed = true
		} else {
			delivered := st.Pending
			st.Cursor, st.Pending = delivered.To, nil
			st.RetryAt, st.Failures = time.Time{}, 0
			if version, err = e.save(ctx, key, st, version); err != nil {
				return errors.Join(append(errs, err)...)
			}
			changed = false
			e.mu.Lock()
			delete(e.waiting, t.ARN)
			e.mu.Unlock()
			e.notify.delivered(t, delivered.Files)
		}
	}
	switch {
	case t.IsLogging && t.LogFileValidationEnabled:
		dchanged, err := e.digests(ctx, t, st, now)
		changed = changed || dchanged
		if err != nil {
			errs = append(errs, err)
		}
	case len(st.Chains) > 0 && st.Pending == nil && (t.IsLogging || st.Cursor >= bound):
		// Validation turned off, or logging stopped and everything recorded
		// before the stop is delivered: a final digest ends each chain.
		if err := e.closeChains(ctx, t, st, now, nil); err != nil {
			errs = append(errs, err)
		}
		changed = true
	}
	if changed {
		if _, err := e.save(ctx, key, st, version); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// retire finishes a deleted trail: its planned batch, then a final digest
// per chain; then its state goes.
func (e *Engine) retire(ctx context.Context, key string) error {
	st, version, err := e.load(ctx, key)
	if err != nil || st.Trail == nil {
		return err
	}
	t, now := st.Trail, e.now().UTC()
	e.mu.Lock()
	delete(e.scans, key) // the trail is gone: it plans nothing more
	e.mu.Unlock()
	if !st.RetryAt.IsZero() && now.Before(st.RetryAt) {
		return nil
	}
	version, mine, err := e.claim(ctx, key, st, version, now)
	if err != nil || !mine {
		return err
	}
	if st.Pending != nil {
		if err := e.write(ctx, t, st, now); err != nil {
			e.fail(st, st.Pending.Files, now, err)
			e.save(ctx, key, st, version)
			return err
		}
		st.Cursor, st.Pending = st.Pending.To, nil
		if version, err = e.save(ctx, key, st, version); err != nil {
			return err
		}
	}
	if len(st.Chains) > 0 {
		err := e.closeChains(ctx, t, st, now, nil)
		if len(st.Chains) > 0 {
			// Some final digests wait for their retry: keep the state.
			if _, serr := e.save(ctx, key, st, version); serr != nil {
				err = errors.Join(err, serr)
			}
			return err
		}
	}
	return e.store.DeleteState(ctx, key)
}

// backoff is how long to wait after the n-th failure in a row: 2s, 4s …
// up to a minute.
func backoff(n int) time.Duration {
	return min(time.Duration(1<<min(n, 6))*time.Second, time.Minute)
}

func (e *Engine) fail(st *state, files []plannedFile, now time.Time, err error) {
	st.Failures++
	st.RetryAt = now.Add(backoff(st.Failures))
	for _, f := range files {
		s := st.status(f.Region)
		s.LatestDeliveryAttemptTime = now
		s.LatestDeliveryError = err.Error()
	}
}

func (st *state) status(region string) *trail.DeliveryStatus {
	if st.Status == nil {
		st.Status = map[string]*trail.DeliveryStatus{}
	}
	s := st.Status[region]
	if s == nil {
		s = &trail.DeliveryStatus{}
		st.Status[region] = s
	}
	return s
}

// plan reads the log past the cursor and, when a batch is due (enough
// events, or the oldest has waited the flush interval), stores it as
// Pending. It reads no further than end (see RunOnce). It reports whether
// it planned one.
func (e *Engine) plan(ctx context.Context, t *trail.Trail, st *state, now time.Time, bound, end int64) (bool, error) {
	m, err := trail.Compile(t.EventSelectors, t.AdvancedEventSelectors)
	if err != nil {
		return false, err
	}
	sc, err := e.resumeScan(t, st.Cursor)
	if err != nil {
		return false, err
	}
	accounts, regions := setOf(sc.accounts), setOf(sc.regions)
	taken, total, to := sc.taken, sc.total, sc.to
	full, atEnd := false, false
	for !full && !atEnd {
		evs, err := e.store.ReadLog(ctx, to, scanChunk)
		if err != nil {
			return false, err
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			if ev.Seq > bound {
				full = true // everything up to the bound is planned: flush now
				break
			}
			if ev.Seq > end {
				atEnd = true // stored after the trails were listed: the next pass
				break
			}
			ok, err := e.takes(t, m, accounts, regions, ev)
			if err != nil {
				e.log.Warn("delivery: unreadable record skipped", "seq", ev.Seq, "err", err)
			}
			to = ev.Seq
			if !ok {
				continue
			}
			k := [3]string{ev.Account, ev.Region, kindOf(ev)}
			taken[k] = append(taken[k], ev)
			total++
			if len(taken[k]) >= maxFileRecords {
				full = true
				break
			}
		}
		if len(evs) < scanChunk {
			break
		}
	}
	if bound != math.MaxInt64 {
		full = true // logging stopped: no reason to wait
	}
	if total == 0 {
		if to != st.Cursor {
			st.Cursor = to
			st.dirtyCursor = true
		}
		return false, nil
	}
	e.mu.Lock()
	since, seen := e.waiting[t.ARN]
	if !seen {
		since = now
		e.waiting[t.ARN] = now
	}
	if e.draining {
		full = true
	}
	e.mu.Unlock()
	if !full && now.Sub(since)+dueEarly < e.flush {
		sc.total, sc.to = total, to
		e.keepScan(stateKey(t), sc)
		return false, nil
	}
	b := &batch{From: st.Cursor, To: to, Planned: now, taken: taken}
	keys := make([][3]string, 0, len(taken))
	for k := range taken {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [3]string) int { return strings.Compare(a[0]+a[1]+"|"+a[2], b[0]+b[1]+"|"+b[2]) })
	for _, k := range keys {
		seed := fmt.Sprintf("%s|%s|%s|%d|%d", t.ARN, k[0], k[1], b.From, b.To)
		key := digest.LogKey
		if k[2] == kindInsight {
			seed += "|" + kindInsight
			key = digest.InsightLogKey
		}
		b.Files = append(b.Files, plannedFile{Account: k[0], Region: k[1], Count: len(taken[k]), Kind: k[2],
			Key: key(t.S3KeyPrefix, t.OrganizationID, k[0], k[1], now, digest.UniqueName([]byte(seed)))})
	}
	st.Pending = b
	return true, nil
}

// scan is what plan found in the log past a trail's cursor, for a batch
// not yet due: the next pass reads on from to rather than from the cursor.
// It holds for the trail, cursor, accounts and regions it was made with
// (takes is a function of them and of the log entries, which do not
// change).
type scan struct {
	key               string // stateKey of the trail
	trail             []byte // the trail's JSON
	cursor            int64
	accounts, regions []string
	taken             map[[3]string][]*event.Event
	total             int
	to                int64
}

// resumeScan returns the kept scan of trail t if it still holds (the
// trail, its cursor, accounts and regions are as they were), else a new
// one that starts at the cursor. Either way the kept one is dropped: plan
// keeps it again only if its batch is still not due.
func (e *Engine) resumeScan(t *trail.Trail, cursor int64) (*scan, error) {
	doc, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	fresh := &scan{key: stateKey(t), trail: doc, cursor: cursor, accounts: e.accounts(t), regions: e.regions(t),
		taken: map[[3]string][]*event.Event{}, to: cursor}
	e.mu.Lock()
	kept := e.scans[fresh.key]
	delete(e.scans, fresh.key)
	e.mu.Unlock()
	if kept == nil || kept.cursor != cursor || !bytes.Equal(kept.trail, doc) ||
		!slices.Equal(kept.accounts, fresh.accounts) || !slices.Equal(kept.regions, fresh.regions) {
		return fresh, nil
	}
	return kept, nil
}

// keepScan keeps sc for the trail's next pass.
func (e *Engine) keepScan(key string, sc *scan) {
	e.mu.Lock()
	e.scans[key] = sc
	e.mu.Unlock()
}

// write writes every file of the pending batch and records them in the
// digest chains and the status.
func (e *Engine) write(ctx context.Context, t *trail.Trail, st *state, now time.Time) error {
	b := st.Pending
	var m *trail.Matcher
	if b.taken == nil {
		var err error
		if m, err = trail.Compile(t.EventSelectors, t.AdvancedEventSelectors); err != nil {
			return err
		}
	}
	if err := e.owners.CheckDelivery(ctx, t); err != nil {
		return err
	}
	files := b.taken
	if files == nil {
		var err error
		if files, err = e.readBatch(ctx, t, m, b); err != nil {
			return err
		}
	}
	bk, err := e.buckets.Open(t.S3BucketName)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", t.S3BucketName, err)
	}
	// Files enter the digest chains only once the whole batch is written,
	// so a batch retried after a partial failure lists each file once.
	type written struct {
		chain string
		file  digest.LogFile
	}
	var done []written
	for _, pf := range b.Files {
		evs := files[[3]string{pf.Account, pf.Region, pf.Kind}]
		if len(evs) == 0 {
			continue // the trail changed since planning: nothing left to write
		}
		body, oldest, newest := logFile(evs)
		gz, err := digest.Gzip(body)
		if err != nil {
			return err
		}
		obj := bucket.Object{Key: pf.Key, Body: gz, ContentType: "application/json"}
		switch {
		case t.KmsKeyId == "":
		case bucket.Local(bk):
			// A directory has no SSE-KMS: seal the file in an envelope.
			if obj.Body, err = envelope.Seal(e.kms, t.KmsKeyId, gz); err != nil {
				return fmt.Errorf("encrypt %s: %w", pf.Key, err)
			}
		default:
			obj.SSEKMSKeyID = t.KmsKeyId
		}
		if err := bk.Put(ctx, obj); err != nil {
			return fmt.Errorf("put %s: %w", pf.Key, err)
		}
		sum := sha256.Sum256(body)
		s := st.status(pf.Region)
		s.LatestDeliveryTime, s.LatestDeliveryAttemptTime, s.LatestDeliveryError = now, now, ""
		done = append(done, written{pf.Account + "/" + pf.Region, digest.LogFile{S3Bucket: t.S3BucketName, S3Object: pf.Key,
			SHA256: sum[:], OldestEventTime: oldest, NewestEventTime: newest}})
	}
	for _, w := range done {
		if c := st.Chains[w.chain]; c != nil {
			c.Files = append(c.Files, w.file)
		}
	}
	return nil
}

// readBatch reads the events of the batch b that trail t (with matcher m)
// takes, by file (account, region, kind), in log order: what plan found,
// for a batch replayed or retried, when plan's findings are gone.
func (e *Engine) readBatch(ctx context.Context, t *trail.Trail, m *trail.Matcher, b *batch) (map[[3]string][]*event.Event, error) {
	accounts, regions := setOf(e.accounts(t)), setOf(e.regions(t))
	files := map[[3]string][]*event.Event{}
	for after := b.From; after < b.To; {
		evs, err := e.store.ReadLog(ctx, after, scanChunk)
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			if ev.Seq > b.To {
				break
			}
			after = ev.Seq
			if ok, _ := e.takes(t, m, accounts, regions, ev); ok {
				k := [3]string{ev.Account, ev.Region, kindOf(ev)}
				files[k] = append(files[k], ev)
			}
		}
		if evs[len(evs)-1].Seq >= b.To || len(evs) < scanChunk {
			break
		}
	}
	return files, nil
}

// logFile builds a log file's uncompressed body, records in log order.
func logFile(evs []*event.Event) (body []byte, oldest, newest time.Time) {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i, ev := range evs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(ev.Record)
		if oldest.IsZero() || ev.Time.Before(oldest) {
			oldest = ev.Time
		}
		if ev.Time.After(newest) {
			newest = ev.Time
		}
	}
	b.WriteString(`]}`)
	return b.Bytes(), oldest, newest
}

func setOf(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, v := range list {
		m[v] = true
	}
	return m
}
