package sqlite

import "github.com/cairn-audit/cairn/internal/sched"

// YieldTo makes the indexer step aside for the urgent work g counts
// (lookups): between the statements of an index transaction it waits,
// at most g's bound each time, while any is in flight. Appends and their
// fsync never wait for g: only indexing, which acknowledged events do not
// need to be durable (they are in the log), is delayed.
func (s *Store) YieldTo(g *sched.Gate) { s.gate.Store(g) }
