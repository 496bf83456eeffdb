package config

import (
	"strconv"
	"testing"
	"time"
)

func TestTailConfig(t *testing.T) {
	d := Default()
	if d.Tail.MaxStreams != 256 || d.Tail.MaxStreamsPerKey != 8 || d.Tail.Heartbeat.Duration != 15*time.Second {
		t.Fatalf("default tail = %+v", d.Tail)
	}
	got, err := Parse("tail.yaml", []byte("tail: {max_streams: 3, max_streams_per_key: 2, heartbeat: 2s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Tail.MaxStreams != 3 || got.Tail.MaxStreamsPerKey != 2 || got.Tail.Heartbeat.Duration != 2*time.Second {
		t.Fatalf("tail = %+v", got.Tail)
	}
}

func TestTailConfigInvalid(t *testing.T) {
	tests := []struct {
		name, data string
		line       int
		reason     string
	}{
		{"no streams", "tail:\n  max_streams: 0\n", 2, "tail.max_streams: must be from 1 to 100000, got 0"},
		{"per key above all", "tail:\n  max_streams: 4\n  max_streams_per_key: 5\n", 3, "tail.max_streams_per_key: must be from 1 to tail.max_streams (4), got 5"},
		{"heartbeat too short", "tail:\n  heartbeat: 10ms\n", 2, "tail.heartbeat: must be from 1s to 5m0s, got 10ms"},
		{"unknown key", "tail:\n  max_stream: 4\n", 2, "max_stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("bad.yaml", []byte(tt.data))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", cfg.Tail)
			}
			wantErr(t, err, "bad.yaml:"+strconv.Itoa(tt.line)+": ", tt.reason)
		})
	}
}
