package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// Defaults of a batch: the server takes at most 1,000 records and 8 MiB.
const (
	DefaultBatchRecords = 1000
	DefaultBatchBytes   = 6 << 20
	DefaultParallel     = 8
)

// unit is a piece of an import that is checkpointed as a whole: a log file,
// or a window of an account's event history. Its records are sent in
// batches; once every record is acknowledged (accepted or refused and
// listed), the unit is marked done.
type unit struct {
	name    string
	records []json.RawMessage
	// filtered counts the records left out by the time filter.
	filtered int
	// buf, when not nil, holds the records (a gunzipped log file): it goes
	// back to the pool once every record is answered.
	buf *[]byte
	// gz, when not nil, is a log file as it was read (gzip'd), sent to the
	// server as it is; records is then empty.
	gz []byte
}

// unitState tracks a unit's records in flight.
type unitState struct {
	name      string
	remaining atomic.Int64
	failed    atomic.Bool
	buf       *[]byte
	gz        []byte
}

// batch is one POST /v1/events: the body's pieces (the records are not
// copied: the pieces point into the gunzipped log files) and, for each
// record, its unit and its index in the unit.
type batch struct {
	parts net.Buffers
	size  int
	recs  []batchRec
	// whole, when not nil, is the one unit of a batch that is a log file
	// sent as it is (parts is its gzip'd bytes; recs is empty).
	whole *unitState
}

type batchRec struct {
	u      *unitState
	index  int
	record []byte
}

// The body's fixed pieces.
var (
	bodyOpen  = []byte(`{"Records":[`)
	bodyComma = []byte(`,`)
	bodyClose = []byte(`]}`)
)

// Stats are an import's counters (safe for concurrent use).
type Stats struct {
	UnitsTotal, UnitsDone, UnitsFailed, UnitsEarlier atomic.Int64
	Events, Filtered, Accepted, Refused, Failed      atomic.Int64
	Duplicates                                       atomic.Int64
	DuplicatesKnown                                  atomic.Bool
	Retries, Batches                                 atomic.Int64

	mu      sync.Mutex
	reasons map[string]int
}

func (s *Stats) refused(code string) {
	s.Refused.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reasons == nil {
		s.reasons = map[string]int{}
	}
	s.reasons[code]++
}

// Reasons renders the refusal codes and their counts, most frequent first.
func (s *Stats) Reasons() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	codes := make([]string, 0, len(s.reasons))
	for c := range s.reasons {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if s.reasons[codes[i]] != s.reasons[codes[j]] {
			return s.reasons[codes[i]] > s.reasons[codes[j]]
		}
		return codes[i] < codes[j]
	})
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%s %d", c, s.reasons[c])
	}
	return strings.Join(parts, ", ")
}

// Refusals lists refused records and failed units, one JSON object a line:
// {"file":…,"record":i,"eventID":…,"errorCode":…,"errorMessage":…}.
type Refusals struct {
	mu sync.Mutex
	w  io.Writer
}

// refusalLine is one line of the refusals list.
type refusalLine struct {
	File         string `json:"file"`
	Record       *int   `json:"record,omitempty"`
	EventID      string `json:"eventID,omitempty"`
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

func (r *Refusals) write(l refusalLine) {
	b, _ := json.Marshal(l)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.w.Write(append(b, '\n'))
}

// producer is what the goroutines that read units (log files, event
// history windows) share: the way to hand a unit on, and to report one
// that could not be read.
type producer struct {
	ctx      context.Context
	units    chan<- unit
	refusals *Refusals
	stats    *Stats
	mu       sync.Mutex
	res      *Result
	// bufs are the buffers log files are gunzipped into.
	bufs *bufPool
}

// emit hands a unit to the sender; false when the import is stopping.
func (p *producer) emit(u unit) bool {
	select {
	case p.units <- u:
		return true
	case <-p.ctx.Done():
		return false
	}
}

// fail lists a unit that could not be read (unless the import is
// stopping, which is the reason).
func (p *producer) fail(name, code string, err error) {
	if p.ctx.Err() != nil {
		return
	}
	p.mu.Lock()
	p.res.Unreadable++
	p.mu.Unlock()
	p.stats.UnitsFailed.Add(1)
	p.refusals.write(refusalLine{File: name, ErrorCode: code, ErrorMessage: err.Error()})
}

// pump runs n producers (work(p, i) for i in [0, n)) and sends what they
// emit until they are done or the import stops.
func pump(ctx context.Context, o Options, n int, work func(p *producer, i int)) (Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var res Result
	refusals := &Refusals{w: o.Refusals}
	units := make(chan unit, n)
	bufs := &bufPool{}
	p := &producer{ctx: ctx, units: units, refusals: refusals, stats: o.Stats, res: &res, bufs: bufs}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(p, i)
		}()
	}
	go func() {
		wg.Wait()
		close(units)
	}()
	s := &sender{client: o.Client, cp: o.Checkpoint, stats: o.Stats, refusals: refusals,
		maxRecords: o.BatchRecords, maxBytes: o.BatchBytes, parallel: o.Parallel, cancel: cancel, bufs: bufs,
		unreadable: func(name string, err error) { p.fail(name, "UnreadableLogFile", err) }}
	s.run(ctx, units)
	res.Interrupted = ctx.Err() != nil && s.fatal == nil
	return res, s.fatal
}

// sender sends units' records in batches and checkpoints finished units.
type sender struct {
	client     *Client
	cp         *Checkpoint
	stats      *Stats
	refusals   *Refusals
	maxRecords int
	maxBytes   int
	parallel   int
	// fatal is set by the first batch refused as a whole for a reason
	// that will not pass (access denied, bad credentials): the import
	// stops.
	fatalOnce sync.Once
	fatal     error
	cancel    context.CancelFunc
	// failedInARow counts the batches answered in a row that failed after
	// their retries (5xx, throttled); at maxFailedInARow the import stops.
	failedInARow atomic.Int64
	// bufs takes back a unit's buffer once its records are all answered.
	bufs *bufPool
	// unreadable lists a log file sent whole that the server would not
	// take and that cannot be read here either.
	unreadable func(name string, err error)
}

// maxFailedInARow is how many batches in a row may fail after all their
// retries before the import stops: each took about a minute of retries,
// and a server that fails them all (its disk full, its store down) would
// otherwise be sent the whole archive, every file listed as failed.
const maxFailedInARow = 3

// run batches the units it receives and sends the batches with s.parallel
// senders; it returns when units is closed and every batch is answered, or
// ctx is canceled (units not wholly sent are not checkpointed).
func (s *sender) run(ctx context.Context, units <-chan unit) {
	batches := make(chan *batch, s.parallel)
	var wg sync.WaitGroup
	for range s.parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if ctx.Err() != nil {
					continue // not sent: its units stay unfinished
				}
				s.send(ctx, b)
			}
		}()
	}
	s.batchUnits(ctx, units, batches)
	close(batches)
	wg.Wait()
}

// batchUnits packs records into batches of at most maxRecords records and
// maxBytes bytes.
func (s *sender) batchUnits(ctx context.Context, units <-chan unit, out chan<- *batch) {
	cur := s.newBatch()
	emit := func(b *batch) bool {
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for u := range units {
		if ctx.Err() != nil {
			continue // drain
		}
		if u.gz != nil {
			// Its records are counted once the server says how many.
			st := &unitState{name: u.name, gz: u.gz}
			st.remaining.Store(1)
			select {
			case out <- &batch{parts: net.Buffers{u.gz}, size: len(u.gz), whole: st}:
			case <-ctx.Done():
			}
			continue
		}
		s.stats.Events.Add(int64(len(u.records)))
		s.stats.Filtered.Add(int64(u.filtered))
		st := &unitState{name: u.name, buf: u.buf}
		if len(u.records) == 0 {
			s.finish(st)
			continue
		}
		st.remaining.Store(int64(len(u.records)))
		if cur = s.pack(cur, st, u.records, emit); cur == nil {
			cur = s.newBatch() // stopping: what follows is drained
		}
	}
	if len(cur.recs) > 0 {
		cur.add(bodyClose)
		emit(cur)
	}
}

// pack adds u's records to cur, a batch being filled, closing and handing
// to emit each batch that is full and going on in a new one. It returns
// the batch being filled, or nil once emit says to stop.
func (s *sender) pack(cur *batch, u *unitState, recs []json.RawMessage, emit func(*batch) bool) *batch {
	for i, r := range recs {
		if len(cur.recs) > 0 && (len(cur.recs) >= s.maxRecords || cur.size+len(r)+3 > s.maxBytes) {
			cur.add(bodyClose)
			if !emit(cur) {
				return nil
			}
			cur = s.newBatch()
		}
		if len(cur.recs) > 0 {
			cur.add(bodyComma)
		}
		cur.add(r)
		cur.recs = append(cur.recs, batchRec{u: u, index: i, record: r})
	}
	return cur
}

func (s *sender) newBatch() *batch {
	b := &batch{parts: make(net.Buffers, 0, 2*s.maxRecords+1), recs: make([]batchRec, 0, s.maxRecords)}
	b.add(bodyOpen)
	return b
}

// add appends a piece to the body.
func (b *batch) add(p []byte) {
	b.parts = append(b.parts, p)
	b.size += len(p)
}

// send posts one batch and accounts for each of its records.
func (s *sender) send(ctx context.Context, b *batch) {
	if b.whole != nil {
		s.sendWhole(ctx, b)
		return
	}
	ans, retries, err := s.client.Send(ctx, b.parts, b.size, len(b.recs), false)
	s.stats.Retries.Add(int64(retries))
	s.stats.Batches.Add(1)
	if err != nil {
		s.stats.Failed.Add(int64(len(b.recs)))
		s.batchFailed(ctx, err)
		seen := map[*unitState]bool{}
		for _, r := range b.recs {
			if !seen[r.u] {
				seen[r.u] = true
				s.unitFailed(r.u, err)
			}
			s.done(r.u)
		}
		return
	}
	s.answered(ans)
	for _, f := range ans.Failed {
		if f.Index < 0 || f.Index >= len(b.recs) {
			continue
		}
		r := b.recs[f.Index]
		s.stats.refused(f.ErrorCode)
		idx := r.index
		s.refusals.write(refusalLine{File: r.u.name, Record: &idx, EventID: eventID(r.record),
			ErrorCode: f.ErrorCode, ErrorMessage: f.ErrorMessage})
	}
	for _, r := range b.recs {
		s.done(r.u)
	}
}

// batchFailed counts a batch the server did not take, and stops the import
// when that is the thing to do (stopping).
func (s *sender) batchFailed(ctx context.Context, err error) {
	stop := stopping(err)
	if n := s.failedInARow.Add(1); stop == nil && n >= maxFailedInARow {
		stop = fmt.Errorf("the server failed %d batches in a row after their retries: %w", n, err)
	}
	if stop != nil && ctx.Err() == nil {
		s.fatalOnce.Do(func() {
			s.fatal = stop
			s.cancel()
		})
	}
}

// unitFailed lists a unit with records in a batch that was not stored.
func (s *sender) unitFailed(u *unitState, err error) {
	u.failed.Store(true)
	s.refusals.write(refusalLine{File: u.name, ErrorCode: "BatchFailed",
		ErrorMessage: "records of this file were in a batch that was not stored (" + err.Error() + "); run the import again to retry"})
}

// answered counts what a batch's answer says was stored.
func (s *sender) answered(ans Answer) {
	s.failedInARow.Store(0)
	s.stats.Accepted.Add(int64(ans.Accepted))
	if ans.Duplicates != nil {
		s.stats.DuplicatesKnown.Store(true)
		s.stats.Duplicates.Add(int64(*ans.Duplicates))
	}
}

// sendWhole posts a log file as it was read (gzip'd) and accounts for its
// records. A file the server will not take as it is (more records than it
// takes at once, a body that inflates past its limit, a file that is not
// a log file, a server that does not inflate bodies) is split here and
// sent as any other.
func (s *sender) sendWhole(ctx context.Context, b *batch) {
	u := b.whole
	ans, retries, err := s.client.Send(ctx, b.parts, b.size, -1, true)
	s.stats.Retries.Add(int64(retries))
	s.stats.Batches.Add(1)
	var be *BatchError
	if err != nil && errors.As(err, &be) && !be.Retryable && !be.AuthFailure() && be.Status >= 400 && be.Status < 500 {
		s.sendSplit(ctx, u)
		return
	}
	if err != nil {
		// Its records count as read and failed, as a split batch's do.
		if split, serr := splitLogFile(u.name, u.gz, Filter{}, s.bufs); serr == nil {
			s.stats.Events.Add(int64(len(split.records)))
			s.stats.Failed.Add(int64(len(split.records)))
			s.bufs.put(split.buf)
		}
		s.batchFailed(ctx, err)
		s.unitFailed(u, err)
		s.done(u)
		return
	}
	s.answered(ans)
	s.stats.Events.Add(int64(ans.Accepted + len(ans.Failed)))
	if len(ans.Failed) > 0 {
		// The refusals name their records' eventIDs: read the file here.
		var recs []json.RawMessage
		split, serr := splitLogFile(u.name, u.gz, Filter{}, s.bufs)
		if serr == nil {
			recs = split.records
			defer s.bufs.put(split.buf)
		}
		for _, f := range ans.Failed {
			s.stats.refused(f.ErrorCode)
			idx := f.Index
			l := refusalLine{File: u.name, Record: &idx, ErrorCode: f.ErrorCode, ErrorMessage: f.ErrorMessage}
			if idx >= 0 && idx < len(recs) {
				l.EventID = eventID(recs[idx])
			}
			s.refusals.write(l)
		}
	}
	s.done(u)
}

// sendSplit gunzips and splits a log file the server would not take as it
// is, and sends its records in batches of their own.
func (s *sender) sendSplit(ctx context.Context, u *unitState) {
	split, err := splitLogFile(u.name, u.gz, Filter{}, s.bufs)
	if err != nil {
		s.unreadable(u.name, err)
		return
	}
	u.buf = split.buf
	s.stats.Events.Add(int64(len(split.records)))
	u.remaining.Add(int64(len(split.records)))
	// send is called here, not by run's loop: a canceled import sends no
	// more, and the file, unfinished, is not checkpointed.
	emit := func(b *batch) bool {
		if ctx.Err() != nil {
			return false
		}
		s.send(ctx, b)
		return true
	}
	b := s.pack(s.newBatch(), u, split.records, emit)
	if b == nil {
		return
	}
	if len(b.recs) > 0 {
		b.add(bodyClose)
		if !emit(b) {
			return
		}
	}
	s.done(u)
}

// stopping says whether a failed batch stops the import, and why: a batch
// refused as a whole for a reason that will not pass (the key: a wrong
// secret fails every batch alike, and on a large archive would list every
// file; a body the server will not take), or a server that did not answer
// any of the client's attempts (down, or the wrong --endpoint). A batch
// that was answered but still failed after its retries (5xx, throttled)
// is listed and the import goes on, unless maxFailedInARow did so in a
// row (sender.send). nil: it does not stop.
func stopping(err error) error {
	var be *BatchError
	switch {
	case !errors.As(err, &be):
		return nil
	case be.AuthFailure():
		return fmt.Errorf("the server did not take the key: %w", err)
	case be.Unreachable():
		return fmt.Errorf("the server did not answer: %w", err)
	case !be.Retryable && be.Status != 0:
		return fmt.Errorf("the server refused a batch: %w", err)
	}
	return nil
}

// done counts one record of u as answered, and finishes u after its last.
func (s *sender) done(u *unitState) {
	if u.remaining.Add(-1) == 0 {
		s.finish(u)
	}
}

// finish checkpoints a unit whose records are all answered; a unit with a
// failed batch is left for the next run.
func (s *sender) finish(u *unitState) {
	// Every batch that held the unit's records has been answered: nothing
	// reads its buffer any more (Client.Send stops the body's reads before
	// it returns).
	s.bufs.put(u.buf)
	u.buf = nil
	if u.failed.Load() {
		s.stats.UnitsFailed.Add(1)
		return
	}
	s.cp.Mark(u.name)
	s.stats.UnitsDone.Add(1)
}

// eventID reads a record's eventID for the refusals list ("" if none).
func eventID(record []byte) string {
	var id string
	event.EachMember(record, func(name, value []byte) {
		if string(name) == "eventID" {
			if s, err := event.Unquote(value); err == nil {
				id = s
			}
		}
	})
	return id
}

// inRange says whether a record's eventTime is within [start, end] (zero
// bounds are open). A record without a readable eventTime is kept: the
// server refuses it with a reason, which the import lists.
func inRange(record []byte, start, end time.Time) bool {
	if start.IsZero() && end.IsZero() {
		return true
	}
	var t time.Time
	found := false
	event.EachMember(record, func(name, value []byte) {
		if !found && string(name) == "eventTime" {
			if s, err := event.Unquote(value); err == nil {
				if v, err := time.Parse(time.RFC3339, s); err == nil {
					t, found = v, true
				}
			}
		}
	})
	if !found {
		return true
	}
	return (start.IsZero() || !t.Before(start)) && (end.IsZero() || !t.After(end))
}
