package delivery

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/loadgen"
	"github.com/cairn-audit/cairn/internal/store/sqlite/sqlitetest"
	"github.com/cairn-audit/cairn/internal/testutil"
	"github.com/cairn-audit/cairn/internal/trail"
)

// BenchmarkDeliver delivers the records the load generator sends (1 KB, a
// mix of services, one account and region) through the engine to a
// directory bucket: each iteration is a new logging trail with the
// default selectors (every management event) that plans and writes every
// stored record, as cairn serve does with one trail. It reports the
// process's CPU per delivered event.
func BenchmarkDeliver(b *testing.B) {
	const n = 4000
	ctx := context.Background()
	st := sqlitetest.Open(b)
	evs, err := loadgen.Events(n, 1024, time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.Append(ctx, evs); err != nil {
		b.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.Regions = []string{"us-east-1"}
	cfg.Accounts = []config.Account{{ID: loadgen.DefaultAccount}}
	cfg.Buckets = []config.Bucket{{Name: "logs", URL: "file://" + b.TempDir(), Account: loadgen.DefaultAccount}}
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	e := New(st, nil, resolverOf(cfg), optionsOf(cfg, "node-1"))
	e.draining = true // every batch is due at once
	delivered := 0
	start := testutil.CPUTime()
	i := 0
	for b.Loop() {
		i++
		name := fmt.Sprintf("bench-%d", i)
		tr := &trail.Trail{ID: name, Account: loadgen.DefaultAccount, HomeRegion: "us-east-1", Name: name,
			ARN: trail.ARN("aws", "us-east-1", loadgen.DefaultAccount, name), S3BucketName: "logs", IsMultiRegionTrail: true,
			IncludeGlobalServiceEvents: true, IsLogging: true, LoggingEpoch: 1}
		for {
			if err := e.deliverTrail(ctx, tr, math.MaxInt64); err != nil {
				b.Fatal(err)
			}
			s, _, err := e.load(ctx, stateKey(tr))
			if err != nil {
				b.Fatal(err)
			}
			if s.Cursor >= int64(n) {
				break
			}
		}
		delivered += n
	}
	if cpu := testutil.CPUTime() - start; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(delivered), "cpu-µs/event")
	}
}
