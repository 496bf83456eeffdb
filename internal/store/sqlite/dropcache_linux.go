package sqlite

import (
	"os"

	"golang.org/x/sys/unix"
)

// dropsFileCache says that dropFileCache does drop pages.
const dropsFileCache = true

// dropFileCache asks the OS to drop the cached pages of the file at path
// (clean ones: the writer synced them). A file gone meanwhile (retention)
// has none; a failure only leaves pages cached.
func dropFileCache(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
