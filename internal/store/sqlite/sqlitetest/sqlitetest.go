// Package sqlitetest opens SQLite stores for other packages' unit tests.
package sqlitetest

import (
	"testing"

	"github.com/cairn-audit/cairn/internal/store/sqlite"
)

// Open opens a store in a new temporary directory of t, closed when t
// ends; it fails t if the store cannot be opened.
func Open(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
