package lakesql

import (
	"database/sql"
	"fmt"
)

// SetTempDir makes dir the directory of SQLite's temporary files (the
// spill files of DISTINCT, GROUP BY, ORDER BY and joins) for the whole
// process: SQLite's sqlite3_temp_directory, set by PRAGMA
// temp_store_directory, which modernc.org/sqlite consults before
// SQLITE_TMPDIR, TMPDIR and /var/tmp. It is process-wide, so it is set
// once, at start, before any query runs (SQLite does not guard the
// setting against connections using it meanwhile).
func SetTempDir(dir string) error {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return fmt.Errorf("lakesql: temporary directory: %w", err)
	}
	defer db.Close()
	if _, err := db.Exec(`PRAGMA temp_store_directory = ` + quoteSQL(dir)); err != nil {
		return fmt.Errorf("lakesql: temporary directory %s: %w", dir, err)
	}
	var got string
	if err := db.QueryRow(`PRAGMA temp_store_directory`).Scan(&got); err != nil || got != dir {
		return fmt.Errorf("lakesql: temporary directory %s was not taken (%q, %v)", dir, got, err)
	}
	return nil
}
