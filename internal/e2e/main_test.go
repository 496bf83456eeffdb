package e2e

import (
	"os"
	"testing"

	"github.com/cairn-audit/cairn/internal/store/postgres/pgtest"
)

// TestMain keeps one PostgreSQL cluster for the whole run (for the tests
// that use PostgreSQL), stopped at the end.
func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	RemoveBinary()
	os.Exit(code)
}
