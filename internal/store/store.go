// Package store defines Cairn's durable event log: the interface every
// backend provides (the embedded SQLite store, PostgreSQL for scale-out), the
// query and cursor types, and the stable keys events are indexed by.
package store

import (
	"bytes"
	"context"
	"errors"
	"math"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// Errors of the trail table.
var (
	// ErrClosed is returned by a store that has been closed.
	ErrClosed = errors.New("store: closed")
	// ErrExists: a row with that key is already stored.
	ErrExists = errors.New("store: already exists")
	// ErrConflict: the row changed since it was read.
	ErrConflict = errors.New("store: changed concurrently")
	// ErrNotFound: no such row.
	ErrNotFound = errors.New("store: not found")
)

// TrailRow is a stored trail: its identity and its configuration document.
type TrailRow struct {
	ARN     string
	Account string
	Region  string // home region
	Name    string
	Doc     []byte
	// Version is 1 for a new row and grows with each change.
	Version int64
}

// AppendResult says what became of one appended event.
type AppendResult struct {
	// Seq is the event's position in the log (of the earlier copy, for a
	// duplicate or a conflict).
	Seq int64
	// Duplicate is true when the account already had this event: the same
	// ID and the same content (byte for byte the same completed record), as
	// a retried batch resends it. Nothing was written for it.
	Duplicate bool
	// Conflict is true when the account already had an event with this ID
	// and different content. Nothing was written for it: the stored event
	// stays as it is, and the caller must not count this one as stored (an
	// event that took a future event's ID must not make that event vanish).
	Conflict bool
}

// Stored reports whether the event is in the log after the append: written
// now, or already there as a duplicate.
func (r AppendResult) Stored() bool { return !r.Conflict }

// Written reports whether this append wrote the event (it was new).
func (r AppendResult) Written() bool { return !r.Duplicate && !r.Conflict }

// SameContent reports whether a stored event's record and a new one's are
// the same event: byte for byte the same completed record. Ingest completes
// every record the same way (event.Decode: CloudTrail's field order, no
// whitespace, the same defaults), so a resent record is equal to its stored
// copy, and any change of a field, eventTime included, is a difference.
func SameContent(stored, incoming []byte) bool { return bytes.Equal(stored, incoming) }

// StateDoc is a small versioned document of Cairn's own state: delivery
// cursors and status, signing keys, digest chains.
type StateDoc struct {
	Key     string
	Doc     []byte
	Version int64
}

// Query asks the event history of one account and region.
type Query struct {
	Account  string
	Region   string
	Category string // event.CategoryManagement or event.CategoryInsight
	// Attr and Value restrict the events to those with this lookup attribute
	// value; an empty Attr asks for every event.
	Attr  event.Attribute
	Value string
	// Start and End bound eventTime, both inclusive.
	Start, End time.Time
	// After continues a listing: only events older than this position.
	After *Cursor
	// Limit is the most events to return.
	Limit int
	// HideReadOnly leaves out the read-only events (those indexed under
	// ReadOnly=true), as CloudTrail's console does by default. Lookups by
	// EventId ignore it.
	HideReadOnly bool
}

// Bounds is the inclusive eventTime range (Unix seconds) a query reads:
// its Start and End, a Start inside a second moved to the next (event times
// are whole seconds), and End clipped to the cursor of a continued listing.
// ok is false when nothing can match.
func (q Query) Bounds() (start, end int64, ok bool) {
	start, end = q.Start.Unix(), q.End.Unix()
	if q.Start.Nanosecond() != 0 {
		start++
	}
	if q.After != nil && q.After.Time < end {
		end = q.After.Time
	}
	return start, end, end >= start
}

// Cursor is a position in a newest-first listing: eventTime (Unix seconds) and sequence.
type Cursor struct {
	Time int64
	Seq  int64
}

// Page is one page of a listing. Next is set when more events may follow.
type Page struct {
	Events []*event.Event
	Next   *Cursor
}

// Stats describes the size of a store.
type Stats struct {
	// LastSeq is the highest sequence number assigned.
	LastSeq int64
	// Bytes is the space the store takes on disk (or in its database).
	Bytes int64
}

// ReadAll is the readTo of a Purge that no consumer holds back.
const ReadAll = math.MaxInt64

// The store is split by what its consumers use, so that each package takes
// the smallest interface it needs (and a test can hand it a small fake):
// the event log (Appender, Querier, LogReader, Purger), the trail table
// (TrailTable), Cairn's own state documents (StateDocs) and the store's size
// (Sizer). Store embeds them all; each backend implements Store.

// Appender writes events to the log (ingest).
type Appender interface {
	// Append writes events and returns once they are durable. Events whose
	// (Account, ID) is already stored are not written again: one with the
	// same content is a Duplicate, one with different content a Conflict
	// (SameContent decides). Within one call, a later event with the ID of
	// an earlier one is compared with it the same way. (The PostgreSQL
	// store keys events by eventTime too: there an event with a stored ID
	// and another eventTime is written as another event, never dropped.)
	// Either all events are durable or the call fails.
	Append(ctx context.Context, events []*event.Event) ([]AppendResult, error)
}

// Querier answers event history lookups (LookupEvents).
type Querier interface {
	// Lookup returns one page of the event history, newest first.
	Lookup(ctx context.Context, q Query) (Page, error)
}

// LogReader follows the log in sequence order (trail delivery).
type LogReader interface {
	// ReadLog returns up to limit events with Seq > after, in Seq order.
	// Every event a later ReadLog can return has a higher Seq than those
	// already returned: a consumer that remembers the last Seq it saw
	// never skips one.
	ReadLog(ctx context.Context, after int64, limit int) ([]*event.Event, error)
}

// Purger removes expired events (retention).
type Purger interface {
	// Purge removes events whose eventTime is before the cutoff and whose
	// sequence number is at most readTo: the log position every consumer
	// (trail delivery) has read past. Expired events a consumer has yet to
	// read stay in the log until it has. ReadAll (every position) removes
	// every expired event. It returns how many events it purged.
	Purge(ctx context.Context, before time.Time, readTo int64) (int64, error)
}

// EventLog is the whole durable event log: append, look up, follow, purge.
type EventLog interface {
	Appender
	Querier
	LogReader
	Purger
}

// TrailTable keeps the trails' configuration (the trail control plane).
type TrailTable interface {
	// Trails returns every stored trail.
	Trails(ctx context.Context) ([]TrailRow, error)
	// PutTrail creates the row (expectVersion 0; ErrExists if the ARN is
	// taken) or replaces it if it is still at expectVersion (else
	// ErrConflict; ErrNotFound if gone). It returns the new version.
	PutTrail(ctx context.Context, row TrailRow, expectVersion int64) (int64, error)
	// DeleteTrail removes a trail (ErrNotFound if there is none).
	DeleteTrail(ctx context.Context, arn string) error
}

// StateDocs keeps small versioned documents of Cairn's own state: delivery
// cursors and status, signing keys, digest chains, bucket claims, console
// sessions.
type StateDocs interface {
	// GetState reads a state document (ErrNotFound if absent).
	GetState(ctx context.Context, key string) (StateDoc, error)
	// PutState creates (expectVersion 0; ErrExists if present) or replaces
	// (ErrConflict if changed, ErrNotFound if gone) a state document, and
	// returns its new version.
	PutState(ctx context.Context, key string, doc []byte, expectVersion int64) (int64, error)
	// ListState returns the state documents whose keys start with prefix, in key order.
	ListState(ctx context.Context, prefix string) ([]StateDoc, error)
	// DeleteState removes a state document; absent is not an error.
	DeleteState(ctx context.Context, key string) error
}

// Sizer reports how large the store is (metrics, trail status).
type Sizer interface {
	// Stats reports the store's size.
	Stats(ctx context.Context) (Stats, error)
}

// Store is the durable event log with the trail table and state documents
// kept beside it: what a backend provides.
type Store interface {
	EventLog
	Histogrammer
	TrailTable
	StateDocs
	Sizer
	// Close releases the store; pending appends fail with ErrClosed.
	Close() error
}

// Key is the stable 64-bit index key of one lookup: an account, region and
// category with one attribute value (or none, for the listing of all events).
// It is the same in every process and backend, so indexes survive restarts.
func Key(account, region, category string, attr event.Attribute, value string) int64 {
	return keyFrom(keyPrefix(account, region, category), attr, value)
}

// keyPrefix is Key's hash state after account, region and category, which
// every key of one event shares.
func keyPrefix(account, region, category string) uint64 {
	// FNV-1a over the five strings, a zero byte between them.
	h := fnvString(fnvOffset, account) * fnvPrime
	h = fnvString(h, region) * fnvPrime
	return fnvString(h, category) * fnvPrime
}

func keyFrom(prefix uint64, attr event.Attribute, value string) int64 {
	return int64(fnvString(fnvString(prefix, string(attr))*fnvPrime, value))
}

// FNV-1a, 64 bits (hash/fnv's New64a, without its allocations).
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// HashPair is FNV-1a of a and b with a zero byte between them.
func HashPair(a, b string) int64 {
	return int64(fnvString(fnvString(fnvOffset, a)*fnvPrime, b))
}

// Day is the index partition an eventTime falls into (days since the epoch).
func Day(unix int64) int64 {
	if unix < 0 {
		return -1
	}
	return unix / 86400
}

// EventKeys lists the index keys an event is stored under: one for the
// listing of all its account's events and one per lookup attribute value.
// Data and network-activity events are not in event history and have none.
func EventKeys(e *event.Event) []int64 {
	if !e.InEventHistory() {
		return nil
	}
	prefix := keyPrefix(e.Account, e.Region, e.Category)
	keys := make([]int64, 0, len(e.Keys)+2)
	keys = append(keys, keyFrom(prefix, "", ""))
	for _, k := range e.Keys {
		keys = append(keys, keyFrom(prefix, k.Attr, k.Value))
	}
	if event.HasErrorCode(e.Record) {
		keys = append(keys, keyFrom(prefix, errorsAttr, ""))
	}
	return keys
}

// errorsAttr names the index key of the failed events (with an errorCode)
// of an account, region and category: not a lookup attribute, so no lookup
// asks for it.
const errorsAttr event.Attribute = "\x00errorCode"

// ErrorsKey is the index key of the failed events of an account, region
// and category (the histogram's error counts). Events stored before it was
// indexed are not under it: ErrorKeysFrom says from where it is complete.
func ErrorsKey(account, region, category string) int64 {
	return keyFrom(keyPrefix(account, region, category), errorsAttr, "")
}
