package config

import (
	"strconv"
	"testing"
)

func TestLimitsRateDefaults(t *testing.T) {
	d := Default()
	if d.Limits.RequestsPerSecond != 0 || d.Limits.LookupsPerSecond != 0 || d.Limits.MaxInflightIngest != 64 {
		t.Fatalf("default limits = %+v, want unlimited rates and 64 ingest requests in flight", d.Limits)
	}
	got, err := Parse("limits.yaml", []byte("limits: {requests_per_second: 5, lookups_per_second: 2.5, max_inflight_ingest: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Limits.RequestsPerSecond != 5 || got.Limits.LookupsPerSecond != 2.5 || got.Limits.MaxInflightIngest != 2 ||
		got.Limits.MaxBodyBytes != 8<<20 || got.Limits.MaxBatchRecords != 1000 {
		t.Fatalf("limits = %+v", got.Limits)
	}
	got, err = Parse("zero.yaml", []byte("limits: {requests_per_second: 0, lookups_per_second: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Limits.RequestsPerSecond != 0 || got.Limits.LookupsPerSecond != 0 {
		t.Fatalf("limits = %+v", got.Limits)
	}
}

func TestLimitsRateInvalid(t *testing.T) {
	tests := []struct {
		name, data string
		line       int
		reason     string
	}{
		{"negative requests", "limits:\n  requests_per_second: -1\n", 2, "limits.requests_per_second: must be a non-negative number"},
		{"negative lookups", "limits:\n  max_batch_records: 5\n  lookups_per_second: -0.5\n", 3, "limits.lookups_per_second: must be a non-negative number"},
		{"nan lookups", "limits:\n  lookups_per_second: .nan\n", 2, "limits.lookups_per_second: must be a non-negative number"},
		{"infinite requests", "limits:\n  requests_per_second: .inf\n", 2, "limits.requests_per_second: must be a non-negative number"},
		{"rate not a number", "limits:\n  requests_per_second: fast\n", 2, `requests_per_second: expected a number, got "fast"`},
		{"inflight zero", "limits:\n  max_inflight_ingest: 0\n", 2, "limits.max_inflight_ingest: must be positive"},
		{"inflight not an integer", "limits:\n  max_inflight_ingest: 2.5\n", 2, "max_inflight_ingest: expected an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("bad.yaml", []byte(tt.data))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", cfg.Limits)
			}
			wantErr(t, err, "bad.yaml:"+strconv.Itoa(tt.line)+": ", tt.reason)
		})
	}
}
