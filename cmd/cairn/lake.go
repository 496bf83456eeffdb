package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/lake"
	"github.com/cairn-audit/cairn/internal/lake/lakesql"
	"github.com/cairn-audit/cairn/internal/privdir"
	"github.com/cairn-audit/cairn/internal/trail"
)

// openLake opens this node's copy of the event data stores' events:
// <data_dir>/lake/lake.db, the SQL engine's SQLite file. Queries' temporary
// files go to <data_dir>/lake/tmp, emptied here (what a crash left there
// is of no use), not to the system's temporary directory. lake/tmp may be
// a mount point or a symbolic link (to bound the queries' scratch space):
// only its entries are removed, never the directory or the link.
func openLake(dataDir string) (*lakesql.DB, error) {
	dir := filepath.Join(dataDir, "lake")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := privdir.Empty(tmp, "lake temporary directory"); err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	if err := lakesql.SetTempDir(tmp); err != nil {
		return nil, err
	}
	db, err := lakesql.Open(filepath.Join(dir, "lake.db"))
	if err != nil {
		return nil, fmt.Errorf("lake: opening %s: %w", dir, err)
	}
	return db, nil
}

// importBuckets are the buckets StartImport reads and their owners (the
// trail control plane's ownership rules).
type importBuckets struct {
	*bucket.Resolver
	*trail.Service
}

// lakeEngine is the SQL engine as package lake uses it.
type lakeEngine struct{ *lakesql.DB }

// Compile parses a statement; a syntax error says where (line:column).
func (e lakeEngine) Compile(sql string) (lake.Compiled, error) {
	st, err := lakesql.Parse(sql)
	if err != nil {
		return nil, err // a *SyntaxError says "line L:C: why"
	}
	return lakeStatement{db: e.DB, st: st}, nil
}

type lakeStatement struct {
	db *lakesql.DB
	st *lakesql.Statement
}

func (s lakeStatement) Stores() []string { return s.st.Stores() }

// Check compiles the statement against the schema and the stores without
// reading events: what it finds is a *SyntaxError or an *UnknownStoreError.
func (s lakeStatement) Check(stores map[string]string) error {
	return s.db.Check(s.st, lakesql.RunOptions{Stores: stores})
}

func (s lakeStatement) Run(ctx context.Context, stores map[string]string, maxRows int) (*lake.Result, error) {
	res, err := s.db.Run(ctx, s.st, lakesql.RunOptions{Stores: stores, MaxRows: maxRows})
	if err != nil {
		return nil, err
	}
	return &lake.Result{Columns: res.Columns, Rows: res.Rows, Stats: lake.Stats{EventsMatched: res.Stats.EventsMatched,
		EventsScanned: res.Stats.EventsScanned, BytesScanned: res.Stats.BytesScanned, ExecutionTime: res.Stats.ExecutionTime},
		Truncated: res.Truncated}, nil
}

// lakeQuerySlots is how many Lake queries run at once: one per read
// connection of the engine, so a running query never waits for one.
const lakeQuerySlots = lakesql.ReadConns
