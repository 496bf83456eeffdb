// Package ingest is the one path by which events enter Cairn: it validates
// and completes records, checks that the caller may write them for their
// account and region, and appends them durably to the event log.
package ingest

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/metrics"
	"github.com/cairn-audit/cairn/internal/store"
)

// Service ingests events. Use New.
type Service struct {
	store   store.Store
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
	// identify completes identities recorders could not know (see event.Context).
	identify func(accessKeyID string) (json.RawMessage, string, bool)
}

// SetIdentify lets ingest complete "Unknown" identities from access keys.
func (s *Service) SetIdentify(f func(accessKeyID string) (json.RawMessage, string, bool)) {
	s.identify = f
}

// New makes the ingest service for the served regions.
func New(st store.Store, regions []string, m *metrics.Metrics, log *slog.Logger) *Service {
	s := &Service{store: st, regions: map[string]bool{}, now: time.Now, metrics: m, log: log}
	for _, r := range regions {
		s.regions[r] = true
	}
	return s
}

// Failure is one refused record.
type Failure struct {
	Index        int    `json:"index"`
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

// Result is the answer to one batch: how many records are stored (a record
// already stored counts as accepted, so a retried batch gets the same answer),
// their eventIDs in input order, and the records refused.
type Result struct {
	Accepted int       `json:"accepted"`
	EventIDs []string  `json:"eventIDs"`
	Failed   []Failure `json:"failed"`
}

// Serves reports whether region is served.
func (s *Service) Serves(region string) bool { return s.regions[region] }

// Submit validates records for the caller and stores every valid one. It
// returns once the accepted records are durable; an error means none of them
// may be considered stored.
func (s *Service) Submit(ctx context.Context, p *auth.Principal, records []json.RawMessage) (Result, error) {
	res := Result{EventIDs: []string{}, Failed: []Failure{}}
	c := event.Context{Account: p.Account, MayWriteFor: p.MayWriteFor, ServesRegion: s.Serves, Now: s.now(), Identify: s.identify}
	evs := make([]*event.Event, 0, len(records))
	for i, raw := range records {
		e, ferr := event.Decode(raw, c)
		if ferr != nil {
			res.Failed = append(res.Failed, Failure{Index: i, ErrorCode: ferr.Code, ErrorMessage: ferr.Message})
			continue
		}
		evs = append(evs, e)
	}
	appended, err := s.store.Append(ctx, evs)
	if err != nil {
		s.log.Error("ingest: append failed", "events", len(evs), "err", err)
		return Result{}, awsproto.Unavailable("The event store could not write the events; nothing from this request was stored. Retry later.")
	}
	dups := 0
	for i, e := range evs {
		res.EventIDs = append(res.EventIDs, e.ID)
		if appended[i].Duplicate {
			dups++
		}
	}
	res.Accepted = len(evs)
	s.metrics.Ingested(len(records), res.Accepted, dups, len(res.Failed))
	return res, nil
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
		_, err := s.store.Append(ctx, []*event.Event{e})
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
		if _, err := s.store.Append(context.Background(), batch); err != nil {
			for _, e := range batch {
				s.log.Error("ingest: audit record lost", "eventID", e.ID, "err", err)
			}
		}
	}
}

// Close waits for background writes.
func (s *Service) Close() { s.bg.Wait() }
