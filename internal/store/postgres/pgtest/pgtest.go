// Package pgtest gives tests a throw-away PostgreSQL database: from the
// server named by CAIRN_TEST_POSTGRES_DSN, or else from a cluster it starts
// itself (initdb and postgres from PATH or /usr/lib/postgresql/*/bin, run as
// the postgres OS user when the tests run as root) on a free 127.0.0.1 port.
//
// Every Start makes a new database, dropped when its test ends. The cluster
// is started by the first Start and stopped when the last test using it
// ends; a package that calls Start from many top-level tests should run its
// tests with Main, which keeps one cluster for the whole package run.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// EnvDSN names the environment variable with the DSN of a server to create
// test databases on (its user needs CREATEDB) instead of starting a cluster.
const EnvDSN = "CAIRN_TEST_POSTGRES_DSN"

var (
	mu      sync.Mutex
	running *cluster
	users   int  // tests holding the cluster
	pinned  bool // Main is running: keep the cluster until it returns
	dbSeq   atomic.Int64
)

// Start returns the DSN of a new, empty database, dropped (with its
// connections) when t ends. It fails t when PostgreSQL cannot be found or
// started; it never skips, except under -short, where PostgreSQL tests are
// the slow tier.
func Start(t testing.TB) string {
	t.Helper()
	testutil.SkipShort(t, "PostgreSQL test: starts a cluster")
	admin := os.Getenv(EnvDSN)
	if admin == "" {
		mu.Lock()
		if running == nil {
			c, err := startCluster()
			if err != nil {
				mu.Unlock()
				t.Fatalf("pgtest: %v", err)
			}
			running = c
		}
		users++
		admin = running.dsn("postgres")
		mu.Unlock()
		t.Cleanup(release)
	}
	name := dbName(t.Name())
	if err := adminExec(admin, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := adminExec(admin, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// Main runs a package's tests (call it from TestMain: os.Exit(pgtest.Main(m)))
// with one cluster for all of them, stopped after the last.
func Main(m *testing.M) int {
	mu.Lock()
	pinned = true
	mu.Unlock()
	code := m.Run()
	mu.Lock()
	pinned = false
	c := running
	if users == 0 {
		running = nil
	} else {
		c = nil
	}
	mu.Unlock()
	if c != nil {
		if err := c.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	return code
}

// release lets go of the cluster at the end of a test; the last user stops it.
func release() {
	mu.Lock()
	users--
	var c *cluster
	if users == 0 && !pinned {
		c, running = running, nil
	}
	mu.Unlock()
	if c != nil {
		if err := c.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// dbName is a fresh database name that says which test it belongs to.
func dbName(test string) string {
	n := fmt.Sprintf("cairn_%d_%d_", os.Getpid(), dbSeq.Add(1))
	s := unsafeChars.ReplaceAllString(strings.ToLower(test), "_")
	return n + s[:min(len(s), 63-len(n))]
}

func adminExec(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase returns dsn naming another database.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("%s: %w", EnvDSN, err)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil // a later keyword wins
}

// cluster is a running PostgreSQL server this package started.
type cluster struct {
	base   string // holds data/, the socket and postgres.log
	bin    string
	port   int
	attr   func() *syscall.SysProcAttr
	cmd    *exec.Cmd
	exited chan struct{}
}

func (c *cluster) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// findBin finds the directory with initdb, pg_ctl and postgres.
func findBin() (string, error) {
	has := func(dir string) bool {
		for _, p := range []string{"initdb", "pg_ctl", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, p)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if dir := filepath.Dir(p); has(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest major version first.
	version := func(dir string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, dir := range dirs {
		if has(dir) {
			return dir, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in PATH or /usr/lib/postgresql/*/bin: " +
		"run ./scripts/test, which installs postgresql, or set " + EnvDSN)
}

// startCluster runs initdb into a new temporary directory and starts the
// server, retrying on another port if the one it picked was taken meanwhile.
func startCluster() (*cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, and there is no postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	base, err := os.MkdirTemp("", "cairn-pgtest-")
	if err != nil {
		return nil, err
	}
	c := &cluster{base: base, bin: bin, attr: func() *syscall.SysProcAttr { return sysProcAttr(cred) }}
	fail := func(err error) (*cluster, error) {
		os.RemoveAll(base)
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(base, int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(err)
		}
	}
	if out, err := c.run("initdb", "-D", filepath.Join(base, "data"), "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync"); err != nil {
		return fail(fmt.Errorf("initdb: %v\n%s", err, out))
	}
	for attempt := 0; ; attempt++ {
		err := c.start()
		if err == nil {
			return c, nil
		}
		if attempt == 4 || !errors.Is(err, errPortTaken) {
			return fail(err)
		}
	}
}

var errPortTaken = errors.New("port taken")

// start starts the server on a free port and waits until it accepts connections.
func (c *cluster) start() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	logPath := filepath.Join(c.base, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(c.bin, "postgres"), "-D", filepath.Join(c.base, "data"),
		"-p", strconv.Itoa(c.port), "-k", c.base,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300")
	cmd.Dir = c.base
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = c.attr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.cmd = cmd
	c.exited = make(chan struct{})
	go func() {
		cmd.Wait()
		close(c.exited)
	}()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := pgx.Connect(ctx, c.dsn("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-c.exited:
			log, _ := os.ReadFile(logPath)
			if bytes.Contains(log, []byte("could not bind")) || bytes.Contains(log, []byte("already in use")) {
				return errPortTaken
			}
			return fmt.Errorf("postgres exited at start:\n%s", log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.cmd.Process.Kill()
			<-c.exited
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres did not accept connections within a minute: %v\n%s", err, log)
		}
	}
}

// stop shuts the server down (pg_ctl stop -m fast) and removes its files.
func (c *cluster) stop() error {
	var errs []error
	if out, err := c.run("pg_ctl", "stop", "-D", filepath.Join(c.base, "data"), "-m", "fast", "-w", "-t", "60"); err != nil {
		errs = append(errs, fmt.Errorf("pg_ctl stop: %v\n%s", err, out))
		c.cmd.Process.Kill()
	}
	<-c.exited
	errs = append(errs, os.RemoveAll(c.base))
	return errors.Join(errs...)
}

// run runs one of the PostgreSQL programs, as the postgres user if need be.
func (c *cluster) run(prog string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.base
	cmd.SysProcAttr = c.attr()
	return cmd.CombinedOutput()
}
