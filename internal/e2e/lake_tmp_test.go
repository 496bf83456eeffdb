package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// openUnder lists the files process pid has open under dir (their names
// as /proc gives them, " (deleted)" included: SQLite unlinks its
// temporary files as it opens them).
func openUnder(pid int, dir string) []string {
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	var out []string
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(target, dir+string(os.PathSeparator)) {
			out = append(out, target)
		}
	}
	return out
}

// TestLakeQueryTempFilesUnderDataDir: a query's temporary files (the spill
// files of a large DISTINCT) are made in <data_dir>/lake/tmp, a private
// directory the server empties when it starts, not in the system's
// temporary directory.
func TestLakeQueryTempFilesUnderDataDir(t *testing.T) {
	cfg := StandardConfig + "lake: {query_timeout: 2m}\n"
	srv := Start(t, Options{Config: cfg})
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	id := lakeStoreID(t, ct, "tmp")
	ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-east-1", "Tmp", 20)
	tmp := filepath.Join(srv.DataDir, "lake", "tmp")
	if fi, err := os.Stat(tmp); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("%s: %v %v; want a directory with mode 0700", tmp, fi, err)
	}

	spillUnder(t, srv, ct, id, tmp)

	// A file left there (a crash) is gone after a restart.
	stale := filepath.Join(tmp, "etilqs_left_behind")
	if err := os.WriteFile(stale, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)
	Start(t, Options{Config: cfg, DataDir: srv.DataDir})
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("%s survived a restart: %v", stale, err)
	}
	if fi, err := os.Stat(tmp); err != nil || !fi.IsDir() {
		t.Errorf("%s after a restart: %v %v", tmp, fi, err)
	}
}

// TestLakeTmpSymlinkKept: a <data_dir>/lake/tmp that is a symbolic link to
// another directory (as a mount point is, something the server cannot
// remove) is kept when the server starts: the link stays, what was in its
// target is gone, and queries' temporary files go to the target. The
// server used to remove the link and make a directory in its place (and on
// a mount point, fail to start after deleting the mount's contents).
func TestLakeTmpSymlinkKept(t *testing.T) {
	dataDir := PrivateDir(t)
	target := PrivateDir(t)
	stale := filepath.Join(target, "etilqs_left_behind")
	if err := os.WriteFile(stale, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dataDir, "lake"), 0o700); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dataDir, "lake", "tmp")
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	cfg := StandardConfig + "lake: {query_timeout: 2m}\n"
	srv := Start(t, Options{Config: cfg, DataDir: dataDir})
	if fi, err := os.Lstat(tmp); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("%s after start: %v %v; want the symbolic link kept", tmp, fi, err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("%s survived the start: %v", stale, err)
	}

	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	id := lakeStoreID(t, ct, "tmplink")
	ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-east-1", "TmpLink", 20)
	spillUnder(t, srv, ct, id, target)
}

// spillUnder runs a query on store id whose DISTINCT (millions of keys,
// far past the cache) spills to temporary files, waits until the server
// holds one open under dir, and cancels the query.
func spillUnder(t *testing.T, srv *Server, ct *cloudtrail.Client, id, dir string) {
	t.Helper()
	ctx := context.Background()
	heavy := fmt.Sprintf("SELECT count(*) AS n FROM (SELECT DISTINCT a.eventID || b.eventID || c.eventID || d.eventID || e.eventID AS k "+
		"FROM %[1]s a CROSS JOIN %[1]s b CROSS JOIN %[1]s c CROSS JOIN %[1]s d CROSS JOIN %[1]s e)", id)
	start, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(heavy)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = ct.CancelQuery(ctx, &cloudtrail.CancelQueryInput{QueryId: start.QueryId}) })
	testutil.WaitFor(t, 90*time.Second, func() (bool, string) {
		return len(openUnder(srv.Pid(), dir)) > 0, "no temporary file of the query under " + dir
	})
	if _, err := ct.CancelQuery(ctx, &cloudtrail.CancelQueryInput{QueryId: start.QueryId}); err != nil {
		t.Fatal(err)
	}
	lakeEnd(t, ct, start.QueryId)
}
