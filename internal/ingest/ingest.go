// Package ingest is the one path by which events enter Cairn: it validates
// and completes records, checks that the caller may write them for their
// account and region, and appends them durably to the event log.
package ingest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/metrics"
	"github.com/cairn-audit/cairn/internal/sched"
	"github.com/cairn-audit/cairn/internal/store"
)

// Service ingests events. Use New.
type Service struct {
	store   store.Appender
	regions map[string]bool
	now     func() time.Time
	metrics *metrics.Metrics
	log     *slog.Logger
	// Records written in the background (Record without wait): a queue
	// that one goroutine at a time appends, all it holds at once.
	bg        sync.WaitGroup
	bgMu      sync.Mutex
	bgQueue   []*event.Event
	bgRunning bool

	// gate is where decoding steps aside for lookups in flight (nil:
	// never); set by YieldTo before the service is used.
	gate *sched.Gate
}

// YieldTo makes Submit's decoding step aside for the urgent work g counts
// (lookups): every yieldEvery records it waits, boundedly, while any is
// in flight. Call it before the service is used. Only decoding yields:
// once records are handed to the store, their append and the wait for
// them to be durable are never delayed.
func (s *Service) YieldTo(g *sched.Gate) { s.gate = g }

// yieldEvery is how many records Submit decodes between yield points: a
// 500-record batch takes a few ms of CPU to decode and steps aside twice,
// so that a batch waits at most 2 × sched.DefaultMaxWait for lookups
// (a client that sends one batch at a time loses little throughput).
const yieldEvery = 250

// New makes the ingest service for the served regions.
func New(st store.Appender, regions []string, m *metrics.Metrics, log *slog.Logger) *Service {
	s := &Service{store: st, regions: map[string]bool{}, now: time.Now, metrics: m, log: log}
	for _, r := range regions {
		s.regions[r] = true
	}
	return s
}

// ErrEventIDConflict is the per-record error code of a record whose eventID
// its account already has with different content: the stored event stays,
// this record is not stored. (A record with the same content is a resend:
// accepted, stored once.)
const ErrEventIDConflict = "EventIdConflict"

// Failure is one refused record.
type Failure struct {
	Index        int    `json:"index"`
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

// Result is the answer to one batch: how many records are stored (a record
// already stored with the same content counts as accepted, so a retried
// batch gets the same answer), their eventIDs in input order, and the
// records refused, in input order.
type Result struct {
	Accepted int `json:"accepted"`
	// Duplicates are the accepted records whose eventIDs were stored
	// already with the same content (stored once; a retry or re-import).
	Duplicates int       `json:"duplicates"`
	EventIDs   []string  `json:"eventIDs"`
	Failed     []Failure `json:"failed"`
}

// Serves reports whether region is served.
func (s *Service) Serves(region string) bool { return s.regions[region] }

// Submit validates records for the caller and stores every valid one. It
// returns once the accepted records are durable; an error means none of them
// may be considered stored.
func (s *Service) Submit(ctx context.Context, p *auth.Principal, records []json.RawMessage) (Result, error) {
	res := Result{EventIDs: []string{}, Failed: []Failure{}}
	c := event.Context{Account: p.Account, MayWriteFor: p.MayWriteFor, ServesRegion: s.Serves, Now: s.now()}
	evs := make([]*event.Event, 0, len(records))
	index := make([]int, 0, len(records)) // evs[j] is records[index[j]]
	for i, raw := range records {
		if i%yieldEvery == 0 {
			s.gate.Yield(ctx)
		}
		e, ferr := event.Decode(raw, c)
		if ferr != nil {
			res.Failed = append(res.Failed, Failure{Index: i, ErrorCode: ferr.Code, ErrorMessage: ferr.Message})
			continue
		}
		evs = append(evs, e)
		index = append(index, i)
	}
	appended, err := s.store.Append(ctx, evs)
	if err != nil {
		s.log.Error("ingest: append failed", "events", len(evs), "err", err)
		return Result{}, awsproto.Unavailable("The event store could not write the events; nothing from this request was stored. Retry later.")
	}
	dups, conflicts := 0, 0
	for j, e := range evs {
		switch {
		case appended[j].Conflict:
			conflicts++
			res.Failed = append(res.Failed, conflictFailure(index[j], e))
			continue
		case appended[j].Duplicate:
			dups++
		}
		res.EventIDs = append(res.EventIDs, e.ID)
	}
	if conflicts > 0 {
		slices.SortFunc(res.Failed, func(a, b Failure) int { return cmp.Compare(a.Index, b.Index) })
		s.log.Warn("ingest: records refused: their eventIDs are stored with different content",
			"caller", p.ARN, "records", conflicts)
	}
	res.Accepted = len(evs) - conflicts
	res.Duplicates = dups
	s.metrics.Ingested(len(records), res.Accepted, dups, len(res.Failed))
	return res, nil
}

// conflictFailure is the failure of a record whose eventID is stored with
// other content.
func conflictFailure(i int, e *event.Event) Failure {
	return Failure{Index: i, ErrorCode: ErrEventIDConflict, ErrorMessage: fmt.Sprintf(
		"eventID %q is already stored for account %s with different content; the stored event is kept. "+
			"Resend an event unchanged, or give a new event a new eventID.", e.ID, e.Account)}
}

// Record stores one event Cairn itself produced (the audit record of an API
// call) for account. With wait it returns once the event is durable;
// otherwise it is written in the background and Close waits for it.
func (s *Service) Record(ctx context.Context, account string, record []byte, wait bool) error {
	e, ferr := event.Decode(record, event.Context{Account: account, Now: s.now()})
	if ferr != nil {
		s.log.Error("ingest: own record refused", "err", ferr)
		return ferr
	}
	if wait {
		res, err := s.store.Append(ctx, []*event.Event{e})
		if err == nil && res[0].Conflict {
			return fmt.Errorf("ingest: eventID %q is stored with different content", e.ID)
		}
		return err
	}
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	s.bgQueue = append(s.bgQueue, e)
	if !s.bgRunning {
		// One writer at a time takes the whole queue: records of calls
		// made meanwhile share its append (and its fsync).
		s.bgRunning = true
		s.bg.Add(1)
		go s.writeBackground()
	}
	return nil
}

// writeBackground appends queued records until the queue is empty.
func (s *Service) writeBackground() {
	defer s.bg.Done()
	for {
		s.bgMu.Lock()
		batch := s.bgQueue
		s.bgQueue = nil
		if len(batch) == 0 {
			s.bgRunning = false
			s.bgMu.Unlock()
			return
		}
		s.bgMu.Unlock()
		res, err := s.store.Append(context.Background(), batch)
		if err != nil {
			for _, e := range batch {
				s.log.Error("ingest: audit record lost", "eventID", e.ID, "err", err)
			}
			continue
		}
		for i, e := range batch {
			if res[i].Conflict {
				s.log.Error("ingest: audit record lost: its eventID is stored with different content", "eventID", e.ID)
			}
		}
	}
}

// Close waits for background writes.
func (s *Service) Close() { s.bg.Wait() }
