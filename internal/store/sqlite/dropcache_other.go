//go:build !linux

package sqlite

// dropsFileCache says that dropFileCache does nothing: a log cache size
// other than the default is refused (OpenWith).
const dropsFileCache = false

// dropFileCache leaves the page cache to the OS where Cairn does not ask
// it to drop a file's pages (posix_fadvise is Linux's here).
func dropFileCache(string) {}
