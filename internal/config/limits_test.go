package config

import (
	"strconv"
	"testing"
	"time"
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

func TestLimitsUnauthenticatedDefaults(t *testing.T) {
	d := Default()
	if d.Limits.BodyReadTimeout.Duration != 10*time.Second || d.Limits.UnauthenticatedBodyBytes != 64<<20 ||
		d.Limits.UnauthenticatedBytesPerAddress != 16<<20 || d.Limits.UnauthenticatedRequestsPerAddress != 16 ||
		d.Limits.UnauthenticatedBytesPerKey != 8<<20 || d.Limits.MaxInflightPerKey != 16 || d.Limits.MaxInflightPerAddress != 32 {
		t.Fatalf("default limits = %+v", d.Limits)
	}
	got, err := Parse("limits.yaml", []byte("limits:\n  max_body_bytes: 2097152\n  body_read_timeout: 3s\n"+
		"  unauthenticated_body_bytes: 8388608\n  unauthenticated_bytes_per_address: 2097152\n  unauthenticated_requests_per_address: 2\n"+
		"  unauthenticated_bytes_per_key: 2097152\n  max_inflight_per_key: 3\n  max_inflight_per_address: 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Limits.BodyReadTimeout.Duration != 3*time.Second || got.Limits.UnauthenticatedBodyBytes != 8<<20 ||
		got.Limits.UnauthenticatedBytesPerAddress != 2<<20 || got.Limits.UnauthenticatedRequestsPerAddress != 2 ||
		got.Limits.UnauthenticatedBytesPerKey != 2<<20 || got.Limits.MaxInflightPerKey != 3 || got.Limits.MaxInflightPerAddress != 5 {
		t.Fatalf("limits = %+v", got.Limits)
	}
}

func TestLimitsUnauthenticatedInvalid(t *testing.T) {
	tests := []struct {
		name, data string
		line       int
		reason     string
	}{
		{"timeout zero", "limits:\n  body_read_timeout: 0s\n", 2, "limits.body_read_timeout: must be greater than 0 and at most 2m0s"},
		{"timeout beyond the server's", "limits:\n  body_read_timeout: 3m\n", 2, "limits.body_read_timeout: must be greater than 0 and at most 2m0s"},
		{"timeout not a duration", "limits:\n  body_read_timeout: soon\n", 2, "body_read_timeout"},
		{"requests per address zero", "limits:\n  unauthenticated_requests_per_address: 0\n", 2, "limits.unauthenticated_requests_per_address: must be positive"},
		{"per address below the largest body", "limits:\n  unauthenticated_bytes_per_address: 4194304\n", 2,
			"limits.unauthenticated_bytes_per_address: must be at least the largest request body (max_body_bytes, and 1048576 for API calls), 8388608; got 4194304"},
		{"per address below an API body", "limits:\n  max_body_bytes: 1000\n  unauthenticated_bytes_per_address: 1000\n", 3,
			"limits.unauthenticated_bytes_per_address: must be at least the largest request body"},
		{"total below per address", "limits:\n  unauthenticated_body_bytes: 8388608\n", 2,
			"limits.unauthenticated_body_bytes: must be at least unauthenticated_bytes_per_address (16777216); got 8388608"},
		{"per key below the largest body", "limits:\n  unauthenticated_bytes_per_key: 4194304\n", 2,
			"limits.unauthenticated_bytes_per_key: must be at least the largest request body (max_body_bytes, and 1048576 for API calls), 8388608; got 4194304"},
		{"in flight per key zero", "limits:\n  max_inflight_per_key: 0\n", 2, "limits.max_inflight_per_key: must be positive, got 0"},
		{"in flight per address negative", "limits:\n  max_inflight_per_address: -1\n", 2, "limits.max_inflight_per_address: must be positive, got -1"},
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
