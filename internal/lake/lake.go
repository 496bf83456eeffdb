// Package lake is Cairn's CloudTrail Lake: event data stores that fill
// from the event log by their advanced event selectors, and SQL queries
// over them (StartQuery, DescribeQuery, GetQueryResults, ListQueries,
// CancelQuery). The control plane (stores, queries, results) lives in the
// store's state documents, so every node of a PostgreSQL deployment sees
// the same stores and queries; the events of the stores live in the SQL
// engine (package lakesql), one copy per node, each filled from the shared
// log by that node's Filler.
package lake

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// Engine is what the Lake needs of its SQL engine: to keep the events of
// each store and to run queries over them. *lakesql.DB is one (through
// LakeSQL); tests use a fake.
type Engine interface {
	// Insert adds events to a store, idempotently on (storeID, eventID).
	Insert(ctx context.Context, storeID string, evs []*event.Event) error
	// InsertCount is Insert, and returns how many events it added (the
	// others were in the store already).
	InsertCount(ctx context.Context, storeID string, evs []*event.Event) (int64, error)
	// DeleteBefore removes a store's events whose eventTime is before t.
	DeleteBefore(ctx context.Context, storeID string, t time.Time) (int64, error)
	// DropStore removes every event of a store.
	DropStore(ctx context.Context, storeID string) error
	// Sync makes every write so far durable (the engine need not sync
	// each): called before anything records elsewhere that events are in.
	Sync(ctx context.Context) error
	// SetMark records a position with the writes before it: after a crash
	// Mark gives one no further than what the engine still holds.
	SetMark(ctx context.Context, name string, seq int64) error
	// Mark reads a position SetMark recorded; ok is false when none is.
	Mark(ctx context.Context, name string) (seq int64, ok bool, err error)
	// Compile parses a statement. A statement that does not parse is an
	// error whose text says where and why (it becomes an
	// InvalidQueryStatementException).
	Compile(sql string) (Compiled, error)
}

// Compiled is a parsed statement.
type Compiled interface {
	// Stores are the event data stores named after FROM and JOIN, as
	// written (IDs or ARNs).
	Stores() []string
	// Check checks the statement against the schema with stores mapped
	// as Run maps them, without running it: an error (an unknown column
	// or function, a type error) says where and why.
	Check(stores map[string]string) error
	// Run runs the statement; stores maps each name of Stores to the
	// store ID whose events it reads; at most maxRows rows are returned.
	Run(ctx context.Context, stores map[string]string, maxRows int) (*Result, error)
}

// Result is a query's answer: columns, rows (nil is SQL NULL) and what
// the engine read.
type Result struct {
	Columns []string
	Rows    [][]*string
	Stats   Stats
	// Truncated says the query had more rows than it was allowed to keep.
	Truncated bool
}

// Stats is what a query read and how long it ran.
type Stats struct {
	EventsMatched, EventsScanned, BytesScanned int64
	ExecutionTime                              time.Duration
}

// Store is what the Lake needs of Cairn's store: state documents for its
// control plane, the log to fill from and its last sequence number.
type Store interface {
	store.StateDocs
	store.LogReader
	store.Sizer
}

// Limits and defaults.
const (
	// PendingDeletion is how long a deleted store can be restored
	// (CloudTrail's seven days); then it is gone with its events.
	PendingDeletion = 7 * 24 * time.Hour
	// MaxStoresPerAccount is CloudTrail's limit of event data stores per
	// account and region.
	MaxStoresPerAccount = 10
	// DefaultMaxConcurrentQueries is CloudTrail's limit of queries queued
	// or running per account.
	DefaultMaxConcurrentQueries = 10
	// DefaultQueryTimeout bounds a query's run (CloudTrail: an hour).
	DefaultQueryTimeout = time.Hour
	// DefaultMaxResultRows bounds the rows a query keeps.
	DefaultMaxResultRows = 100_000
	// DefaultMaxResultBytes bounds the bytes of a query's kept rows.
	DefaultMaxResultBytes = 64 << 20
	// DefaultQuerySlots is how many queries run at once on a node: the
	// engine's read connections (lakesql.ReadConns).
	DefaultQuerySlots = 4
	// DefaultFillWait bounds how long a query waits, QUEUED, for the
	// events acknowledged before it to be filled into its stores.
	DefaultFillWait = 10 * time.Minute
	// QueryKeep is how long queries and their results are kept
	// (CloudTrail: seven days).
	QueryKeep = 7 * 24 * time.Hour
)

// Options configure the Lake.
type Options struct {
	// Partition is the ARN partition ("" means aws).
	Partition string
	// Ownership gives the organization (organization-wide stores).
	Ownership config.Ownership
	// Node names this node (queries it runs, its fill cursor).
	Node string
	// SingleNode says the store serves this node only (the embedded
	// SQLite store, one node per data directory): only this node's fill
	// cursor holds event-log retention back, and other nodes' cursors (of
	// an earlier node ID of the same data directory) are deleted.
	SingleNode bool
	// MaxConcurrentQueries, QueryTimeout, MaxResultRows, MaxResultBytes:
	// 0 means the Default… constants.
	MaxConcurrentQueries int
	QueryTimeout         time.Duration
	MaxResultRows        int
	MaxResultBytes       int
	// MaxKeptResultBytes bounds the bytes of results one account keeps
	// (0 means DefaultMaxKeptResultBytes; never less than
	// MaxResultBytes): a finishing query removes the account's oldest
	// results to fit.
	MaxKeptResultBytes int64
	// QuerySlots is how many queries run at once on this node (0 means
	// DefaultQuerySlots); the others wait QUEUED, handed slots fairly
	// across accounts (see scheduler).
	QuerySlots int
	// FillWait bounds a query's wait for the filler (0 means
	// DefaultFillWait).
	FillWait time.Duration
	// Buckets are where StartImport reads trail log files; nil refuses
	// imports.
	Buckets Buckets
	// Poll is how often the Filler looks for new events (default 1s).
	Poll time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Service is the Lake's control plane and query runner.
type Service struct {
	st     Store
	engine Engine
	opts   Options
	log    *slog.Logger
	filler *Filler
	sched  *scheduler

	// base is the context of the queries this node runs; Close ends it.
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // serializes this node's store changes (versions guard across nodes)
	// starting serializes StartQuery per account (its concurrency count).
	starting accountLocks
	expirer  *expirer
	// started are the queries this process runs (under mu).
	started map[string]bool
}

// New makes the Lake over st and engine.
func New(st Store, engine Engine, o Options) *Service {
	if o.Partition == "" {
		o.Partition = "aws"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxConcurrentQueries <= 0 {
		o.MaxConcurrentQueries = DefaultMaxConcurrentQueries
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = DefaultQueryTimeout
	}
	if o.MaxResultRows <= 0 {
		o.MaxResultRows = DefaultMaxResultRows
	}
	if o.MaxResultBytes <= 0 {
		o.MaxResultBytes = DefaultMaxResultBytes
	}
	if o.MaxKeptResultBytes <= 0 {
		o.MaxKeptResultBytes = DefaultMaxKeptResultBytes
	}
	o.MaxKeptResultBytes = max(o.MaxKeptResultBytes, int64(o.MaxResultBytes))
	if o.QuerySlots <= 0 {
		o.QuerySlots = DefaultQuerySlots
	}
	if o.FillWait <= 0 {
		o.FillWait = DefaultFillWait
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Node == "" {
		o.Node = "node"
	}
	s := &Service{st: st, engine: engine, opts: o, log: o.Log, started: map[string]bool{}}
	s.base, s.cancel = context.WithCancel(context.Background())
	s.filler = newFiller(s)
	s.sched = newScheduler(o.QuerySlots)
	s.expirer = newExpirer(s)
	return s
}

// Close stops the queries this node runs (they end FAILED) and waits for
// them.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

// Caller is who calls, in which region.
type Caller struct {
	Account string
	Region  string
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// errStopped is the cause of a query's end when its node shuts down.
var errStopped = errors.New("lake: the server stopped while the query ran")
