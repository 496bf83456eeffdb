package config

import "time"

// Lake bounds CloudTrail Lake's queries.
type Lake struct {
	// QueryTimeout is how long a query may run before it ends TIMED_OUT.
	QueryTimeout Duration `yaml:"query_timeout"`
	// MaxResultRows bounds the rows a query keeps for GetQueryResults;
	// MaxResultMiB the size of those rows (a query over it ends FAILED).
	MaxResultRows int `yaml:"max_result_rows"`
	MaxResultMiB  int `yaml:"max_result_mib"`
	// MaxKeptResultMiB bounds the results one account keeps at once
	// (results are kept seven days): a finishing query removes the
	// account's oldest results to fit. At least MaxResultMiB.
	MaxKeptResultMiB int `yaml:"max_kept_result_mib"`
	// MaxConcurrentQueries bounds the queries of one account queued or
	// running at once (MaxConcurrentQueriesException beyond it).
	MaxConcurrentQueries int `yaml:"max_concurrent_queries"`
}

// Bounds of the lake section.
const (
	minLakeQueryTimeout = time.Second
	maxLakeQueryTimeout = 24 * time.Hour
	maxLakeResultRows   = 10_000_000
	maxLakeResultMiB    = 4096
	maxLakeKeptMiB      = 1 << 20
	maxLakeQueries      = 1000
)

// defaultLake is the lake section of Default: CloudTrail's hour and ten
// queries; 100,000 rows and 64 MiB of results per query, 1 GiB of kept
// results per account.
func defaultLake() Lake {
	return Lake{QueryTimeout: Duration{time.Hour}, MaxResultRows: 100_000, MaxResultMiB: 64, MaxKeptResultMiB: 1024, MaxConcurrentQueries: 10}
}

// deriveDefaults sets the fields whose default depends on another field,
// when the file did not set them (set reports whether it set a path):
// lake.max_kept_result_mib defaults to max(1024, lake.max_result_mib), so
// a file raising only max_result_mib stays valid.
func (c *Config) deriveDefaults(set func(path string) bool) {
	if !set("lake.max_kept_result_mib") {
		c.Lake.MaxKeptResultMiB = max(defaultLake().MaxKeptResultMiB, c.Lake.MaxResultMiB)
	}
}

func (c *Config) checkLake(v *validator) {
	l := c.Lake
	if d := l.QueryTimeout.Duration; d < minLakeQueryTimeout || d > maxLakeQueryTimeout {
		v.add("lake.query_timeout", "must be from %s to %s, got %s", minLakeQueryTimeout, maxLakeQueryTimeout, d)
	}
	if l.MaxResultRows < 1 || l.MaxResultRows > maxLakeResultRows {
		v.add("lake.max_result_rows", "must be from 1 to %d, got %d", maxLakeResultRows, l.MaxResultRows)
	}
	if l.MaxResultMiB < 1 || l.MaxResultMiB > maxLakeResultMiB {
		v.add("lake.max_result_mib", "must be from 1 to %d, got %d", maxLakeResultMiB, l.MaxResultMiB)
	}
	if l.MaxKeptResultMiB < l.MaxResultMiB || l.MaxKeptResultMiB > maxLakeKeptMiB {
		v.add("lake.max_kept_result_mib", "must be from lake.max_result_mib (%d) to %d, got %d", l.MaxResultMiB, maxLakeKeptMiB, l.MaxKeptResultMiB)
	}
	if l.MaxConcurrentQueries < 1 || l.MaxConcurrentQueries > maxLakeQueries {
		v.add("lake.max_concurrent_queries", "must be from 1 to %d, got %d", maxLakeQueries, l.MaxConcurrentQueries)
	}
}
