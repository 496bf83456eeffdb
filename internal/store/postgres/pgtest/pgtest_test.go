package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

func exec1(t *testing.T, dsn, sql string) error {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), sql)
	return err
}

// This package runs without Main: the cluster lives while some test uses it.
func TestClusterLifecycle(t *testing.T) {
	var base string
	t.Run("use", func(t *testing.T) {
		a, b := Start(t), Start(t)
		if a == b {
			t.Fatalf("two Starts gave one database: %s", a)
		}
		if err := exec1(t, a, `CREATE TABLE only_in_a (x int)`); err != nil {
			t.Fatal(err)
		}
		if err := exec1(t, b, `SELECT * FROM only_in_a`); err == nil {
			t.Fatal("databases are not separate")
		}
		mu.Lock()
		base = running.base
		mu.Unlock()
		// A server named by the environment: databases are made on it.
		t.Setenv(EnvDSN, a)
		c := Start(t)
		if err := exec1(t, c, `CREATE TABLE in_c (x int)`); err != nil {
			t.Fatal(err)
		}
	})
	mu.Lock()
	defer mu.Unlock()
	if running != nil || users != 0 {
		t.Fatalf("cluster still held after its last user: running=%v users=%d", running != nil, users)
	}
	if _, err := os.Stat(base); !os.IsNotExist(err) {
		t.Fatalf("cluster files left at %s: %v", base, err)
	}
}

func TestDBName(t *testing.T) {
	n := dbName("TestConformance/Some-Very:Long name that goes on and on and on and on and on")
	if len(n) > 63 || unsafeChars.MatchString(n) {
		t.Fatalf("dbName = %q", n)
	}
}

func TestWithDatabase(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p@h:5/old?sslmode=disable": "postgres://u:p@h:5/new?sslmode=disable",
		"host=h port=5 dbname=old":               "host=h port=5 dbname=old dbname=new",
	} {
		if got, err := withDatabase(in, "new"); err != nil || got != want {
			t.Errorf("withDatabase(%q) = %q, %v", in, got, err)
		}
	}
}
