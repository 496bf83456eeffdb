//go:build unix

package e2e

// The data directory holds the digest signing keys (in events.db), the
// administrator's credentials and KMS key material; the proxy's spool holds
// recorded requests. Whatever the umask and whatever existed before the
// first start, everything in them is private to the user Cairn runs as, and
// a directory that other users may reach is refused with the command that
// fixes it. Shown with the real binary, file modes, and (as root) another
// OS user trying to read the files.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// ddNobody is the uid and gid of the other user (nobody).
const ddNobody = 65534

// ddOtherUserReads reports whether user nobody can read the file at path
// (only asked when the tests run as root).
func ddOtherUserReads(t *testing.T, path string) bool {
	t.Helper()
	cmd := exec.Command("cat", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: ddNobody, Gid: ddNobody}}
	cmd.Stdout = io.Discard
	return cmd.Run() == nil
}

// ddModes walks dir and returns the entries (relative paths) whose mode is
// not private: files other than 0600, folders other than 0700. buckets/ is
// left out: directory buckets keep the modes their users gave them.
func ddModes(t *testing.T, dir string) (loose []string, seen map[string]bool) {
	t.Helper()
	seen = map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a file SQLite or delivery removed meanwhile
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "buckets" {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		seen[filepath.ToSlash(rel)] = true
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			loose = append(loose, fmt.Sprintf("%s is %04o, want %04o", rel, fi.Mode().Perm(), want))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return loose, seen
}

// TestDataDirPrivateWhateverTheUmask: a data directory made (0700) before
// the first start, under umask 022: after a quick start, an ingest, and a
// trail with log file validation (a digest signing key) and a KMS key,
// every file in it is 0600 and every folder 0700 (files left 0644 are
// tightened at start, and the log says so), while the server runs
// (events.db-wal and -shm exist then); and another user, given a way into
// the directory, reads none of them. Not parallel: it sets the umask.
func TestDataDirPrivateWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := PrivateDir(t)

	// A quick start (no config, no key in the environment) keeps its
	// generated credentials in the data dir.
	q := Start(t, Options{DataDir: dir})
	creds := startupReadCreds(t, filepath.Join(dir, "admin-credentials"))
	res := q.Ingest(t, creds["CAIRN_ACCESS_KEY_ID"], creds["CAIRN_SECRET_ACCESS_KEY"],
		Record("QuickStartProbe", "s3.amazonaws.com", "us-east-1", cliBaseTime(), nil))
	if res.Accepted != 1 {
		t.Fatalf("quick start ingest: %+v", res)
	}
	q.Stop(t)
	// As an older version, a copy or a careless chmod would leave them.
	for path, mode := range map[string]os.FileMode{"admin-credentials": 0o644, "node-id": 0o644} {
		if err := os.Chmod(filepath.Join(dir, path), mode); err != nil {
			t.Fatal(err)
		}
	}

	// The same data dir with a config: a trail with a digest signing key
	// and a KMS key whose material the server generates.
	const keyARN = "arn:aws:kms:us-east-1:111111111111:key/0d0d0d0d-1111-2222-3333-444455556666"
	srv := Start(t, Options{DataDir: dir, Config: dlConfig(`
kms_keys:
  - {arn: "` + keyARN + `", account: "111111111111"}
`)})
	bucketDir := dlMkBucket(t, srv, "private-logs")
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	dlTrail(t, c, "private", "private-logs", dlAll(dlValidation, func(in *cloudtrail.CreateTrailInput) {
		in.KmsKeyId = aws.String(keyARN)
	}))
	start := time.Now()
	dlIngest(t, srv, dlEvent("PrivateProbe", "s3.amazonaws.com", "us-east-1", Account1, nil))
	dlWaitDigests(t, srv, dlDir{name: "private-logs", dir: bucketDir}, start, 1, "/CloudTrail-Digest/us-east-1/")
	if _, err := c.ListPublicKeys(context.Background(), &cloudtrail.ListPublicKeysInput{}); err != nil {
		t.Fatalf("ListPublicKeys: %v", err)
	}

	for _, name := range []string{"admin-credentials", "node-id"} {
		if !strings.Contains(srv.Log(), "made private what other users could read\" path="+filepath.Join(dir, name)) {
			t.Errorf("no log line says %s was made private:\n%s", name, dlTail(srv.Log(), 20))
		}
	}
	loose, seen := ddModes(t, dir)
	want := []string{"admin-credentials", "node-id", "kms"}
	if os.Getenv(EnvStore) != "postgres" {
		want = append(want, "events.db", "events.db-wal", "events.db-shm", "log")
	}
	for _, name := range want {
		if !seen[name] {
			t.Errorf("%s is not in the data dir (have %v): the test does not see what it checks", name, seen)
		}
	}
	if len(loose) > 0 {
		t.Errorf("under umask 022 in a data dir made before the first start:\n  %s", strings.Join(loose, "\n  "))
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir: %v, %v; want mode 0700", fi, err)
	}

	if os.Geteuid() != 0 {
		t.Log("not root: another user's reads are not tried; the modes above are the check")
		return
	}
	// Another user, let into the directory (as a careless chmod or a
	// backup tool's ACL would), still reads nothing: the files themselves
	// are private. A world-readable file put there shows the check works.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(d, 0o700)
	}
	control := filepath.Join(dir, "control")
	if err := os.WriteFile(control, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(control)
	if !ddOtherUserReads(t, control) {
		t.Fatalf("user %d cannot read a 0644 file in the data dir: the check would show nothing", ddNobody)
	}
	for name := range seen {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && name != "control" && ddOtherUserReads(t, p) {
			t.Errorf("user %d (nobody) read %s", ddNobody, p)
		}
	}
}

// ddRun starts the binary with args in cwd and waits until it exits or logs
// ready (then stops it). It returns the exit code (-1 when it ran) and what
// it wrote on stderr.
func ddRun(t *testing.T, cwd string, env []string, ready string, args ...string) (code int, stderr string) {
	t.Helper()
	cmd := exec.Command(Binary(t), args...)
	cmd.Dir = cwd
	cmd.Env = append(cleanEnv(), env...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(90 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				err := cmd.Wait()
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					return ee.ExitCode(), out.String()
				}
				return 0, out.String()
			}
			out.WriteString(line + "\n")
			if strings.Contains(line, ready) {
				cmd.Process.Signal(syscall.SIGTERM)
				for range lines {
				}
				cmd.Wait()
				return -1, out.String()
			}
		case <-deadline:
			cmd.Process.Kill()
			for range lines {
			}
			cmd.Wait()
			t.Fatalf("cairn %q neither exited nor got ready in 90s:\n%s", args, out.String())
		}
	}
}

// TestDataDirOpenToOthersRefused: cairn serve refuses a data directory that
// other users may read (0755, as mkdir makes it under umask 022) or that
// its group may read (0750), says how to fix it, and writes nothing there;
// once fixed it starts. A data dir it creates itself (./cairn-data by
// default) is 0700.
func TestDataDirOpenToOthersRefused(t *testing.T) {
	t.Parallel()
	for _, mode := range []os.FileMode{0o755, 0o750} {
		t.Run(fmt.Sprintf("%04o", mode), func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(PrivateDir(t), "data")
			if err := os.Mkdir(dir, mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			code, stderr := ddRun(t, PrivateDir(t), nil, "cairn serving", "serve", "--listen", "127.0.0.1:0", "--data-dir", dir)
			if code == -1 {
				msg := ""
				if os.Geteuid() == 0 && ddOtherUserReads(t, filepath.Join(dir, "events.db")) {
					msg = " and user nobody read events.db (the digest signing keys)"
				}
				t.Fatalf("cairn serve served on a data dir of mode %04o%s:\n%s", mode, msg, stderr)
			}
			want := fmt.Sprintf("cairn serve: data directory %s is readable by other users (mode %04o): run chmod 700 %s", dir, mode, dir)
			if code == 0 || !strings.Contains(stderr, want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant a failure saying %q", code, stderr, want)
			}
			if entries, err := os.ReadDir(dir); err != nil || len(entries) > 0 {
				t.Errorf("the refused data dir holds %v (%v)", entries, err)
			}
			if err := os.Chmod(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if code, stderr := ddRun(t, PrivateDir(t), nil, "cairn serving", "serve", "--listen", "127.0.0.1:0", "--data-dir", dir); code != -1 {
				t.Fatalf("after chmod 700: exit %d:\n%s", code, stderr)
			}
		})
	}
	t.Run("default ./cairn-data", func(t *testing.T) {
		t.Parallel()
		cwd := PrivateDir(t)
		if code, stderr := ddRun(t, cwd, nil, "cairn serving", "serve", "--listen", "127.0.0.1:0"); code != -1 {
			t.Fatalf("quick start: exit %d:\n%s", code, stderr)
		}
		loose, seen := ddModes(t, filepath.Join(cwd, "cairn-data"))
		if !seen["admin-credentials"] || len(loose) > 0 {
			t.Errorf("./cairn-data after the first start: %v, not private: %v", seen, loose)
		}
		if fi, err := os.Stat(filepath.Join(cwd, "cairn-data")); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("./cairn-data: %v, %v; want mode 0700", fi, err)
		}
	})
}

// TestProxySpoolDirPrivate: cairn proxy refuses a spool directory others
// may read with the command that fixes it, and in an accepted one makes
// private a file left readable by others.
func TestProxySpoolDirPrivate(t *testing.T) {
	t.Parallel()
	env := []string{"CAIRN_ACCESS_KEY_ID=" + IngestKey, "CAIRN_SECRET_ACCESS_KEY=" + IngestSecret}
	args := func(spool string) []string {
		return []string{"proxy", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:9", "--server", "http://127.0.0.1:9", "--spool-dir", spool}
	}
	spool := filepath.Join(PrivateDir(t), "spool")
	if err := os.Mkdir(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	code, stderr := ddRun(t, PrivateDir(t), env, "cairn proxy listening", args(spool)...)
	want := fmt.Sprintf("spool directory %s is readable by other users (mode 0755): run chmod 700 %s", spool, spool)
	if code == -1 || code == 0 || !strings.Contains(stderr, want) {
		t.Fatalf("spool dir 0755: exit %d (-1: it ran), stderr:\n%s\nwant a failure saying %q", code, stderr, want)
	}

	if err := os.Chmod(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(spool, "rejected.jsonl")
	if err := os.WriteFile(left, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(left, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stderr := ddRun(t, PrivateDir(t), env, "cairn proxy listening", args(spool)...); code != -1 {
		t.Fatalf("spool dir 0700: exit %d:\n%s", code, stderr)
	}
	if loose, seen := ddModes(t, spool); len(loose) > 0 || !seen["rejected.jsonl"] {
		t.Errorf("spool after start: %v, not private: %v", seen, loose)
	}
}
