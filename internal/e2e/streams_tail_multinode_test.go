package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/store/postgres/pgtest"
)

// TestTailMultiNode: two nodes on one PostgreSQL store; a stream opened on
// one carries the events acknowledged by the other (each node's tail
// follows the shared log, not its own ingest), in order, and still only
// its account's.
func TestTailMultiNode(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Start(t)
	cfg := StandardConfig + fmt.Sprintf("\nstore: {driver: postgres, dsn: %q}\n", dsn)
	a := Start(t, Options{Config: cfg})
	b := Start(t, Options{Config: cfg})
	onA := openTail(t, a, AdminKey, AdminSecret, "us-east-1", `{"source":["aws.s3"]}`)
	onB := openTail(t, b, AdminKey, AdminSecret, "us-east-1", `{"source":["aws.s3"]}`)
	now := time.Now().UTC()
	var want []string
	for i := range 5 {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		name := fmt.Sprintf("Node%d", i)
		want = append(want, name)
		srv.Ingest(t, AdminKey, AdminSecret, Record(name, "s3.amazonaws.com", "us-east-1", now, nil))
		srv.Ingest(t, OtherKey, OtherSecret, Record("Other"+name, "s3.amazonaws.com", "us-east-1", now, nil))
	}
	last := want[len(want)-1]
	for node, s := range map[string]*tailStream{"A": onA, "B": onB} {
		if got := ingested(s.until(t, last)); !slices.Equal(got, want) {
			t.Errorf("node %s's stream: %v, want %v", node, got, want)
		}
	}
}
