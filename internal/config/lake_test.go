package config

import (
	"strconv"
	"testing"
	"time"
)

func TestLakeConfig(t *testing.T) {
	if d := Default().Lake; d != defaultLake() || d.QueryTimeout.Duration != time.Hour || d.MaxConcurrentQueries != 10 || d.MaxKeptResultMiB != 1024 {
		t.Fatalf("default lake = %+v", d)
	}
	got, err := Parse("lake.yaml", []byte("lake: {query_timeout: 2m, max_result_rows: 50, max_result_mib: 8, max_kept_result_mib: 16, max_concurrent_queries: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l := got.Lake; l.QueryTimeout.Duration != 2*time.Minute || l.MaxResultRows != 50 || l.MaxResultMiB != 8 || l.MaxKeptResultMiB != 16 || l.MaxConcurrentQueries != 2 {
		t.Fatalf("lake = %+v", l)
	}
}

// TestLakeKeptResultDefault: an unset max_kept_result_mib follows a
// raised max_result_mib (a file with only max_result_mib: 2048 was valid
// before max_kept_result_mib existed and must stay valid).
func TestLakeKeptResultDefault(t *testing.T) {
	for _, tt := range []struct {
		data string
		want int
	}{
		{"lake:\n  max_result_mib: 2048\n", 2048},
		{"lake:\n  max_result_mib: 8\n", 1024},
		{"lake:\n  max_result_mib: 2048\n  max_kept_result_mib: 4096\n", 4096},
		{"listen: 127.0.0.1:0\n", 1024},
	} {
		cfg, err := Parse("lake.yaml", []byte(tt.data))
		if err != nil {
			t.Fatalf("%q: %v", tt.data, err)
		}
		if got := cfg.Lake.MaxKeptResultMiB; got != tt.want {
			t.Errorf("%q: max_kept_result_mib = %d, want %d", tt.data, got, tt.want)
		}
	}
}

func TestLakeConfigInvalid(t *testing.T) {
	tests := []struct {
		name, data string
		line       int
		reason     string
	}{
		{"timeout too short", "lake:\n  query_timeout: 10ms\n", 2, "lake.query_timeout: must be from 1s to 24h0m0s, got 10ms"},
		{"no rows", "lake:\n  max_result_rows: 0\n", 2, "lake.max_result_rows: must be from 1 to 10000000, got 0"},
		{"no bytes", "lake:\n  max_result_mib: 0\n", 2, "lake.max_result_mib: must be from 1 to 4096, got 0"},
		{"kept under one query's", "lake:\n  max_result_mib: 64\n  max_kept_result_mib: 32\n", 3, "lake.max_kept_result_mib: must be from lake.max_result_mib (64) to 1048576, got 32"},
		{"kept set under one query's, key first", "lake:\n  max_kept_result_mib: 1024\n  max_result_mib: 2048\n", 2, "lake.max_kept_result_mib: must be from lake.max_result_mib (2048) to 1048576, got 1024"},
		{"no queries", "lake:\n  max_concurrent_queries: 0\n", 2, "lake.max_concurrent_queries: must be from 1 to 1000, got 0"},
		{"unknown key", "lake:\n  timeout: 1m\n", 2, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("bad.yaml", []byte(tt.data))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", cfg.Lake)
			}
			wantErr(t, err, "bad.yaml:"+strconv.Itoa(tt.line)+": ", tt.reason)
		})
	}
}
