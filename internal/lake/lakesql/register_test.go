package lakesql

import (
	"database/sql"
	"testing"
)

// TestFunctionsRegisteredBeforeOpen: Lake's functions are on every SQLite
// connection from the start, not only after Open registered them, so no
// registration can race another store opening a connection (which crashed
// the server at start once).
func TestFunctionsRegisteredBeforeOpen(t *testing.T) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"SELECT lake_token()", "SELECT lake_rec(NULL, 0)", "SELECT lake_max_by(1, 2, 3)"} {
		if _, err := db.Exec(q); err != nil {
			t.Errorf("%s on a connection opened without lakesql.Open: %v", q, err)
		}
	}
}
