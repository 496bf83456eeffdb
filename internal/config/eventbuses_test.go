package config

import (
	"strconv"
	"testing"
)

func TestEventBusesParse(t *testing.T) {
	t.Setenv("HOOK_SECRET", "s3cr3t")
	cfg, err := Parse("ok.yaml", []byte(header+`event_buses:
  - account: "111111111111"
    regions: [us-east-1]
    read_only_events: true
    targets:
      - url: "eventbridge://?endpoint=http://127.0.0.1:5000&bus=audit&region=us-east-1"
        access_key_id: KEY
        secret_access_key: SECRET
        source_prefix: cairn.
      - url: https://hooks.example.com/cairn
        pattern: '{"source":["aws.iam"],"detail":{"eventName":[{"prefix":"Delete"}]}}'
        secret: "${HOOK_SECRET}"
`))
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.EventBuses[0]
	if !b.ReadOnlyEvents || b.DataEvents || len(b.Targets) != 2 {
		t.Fatalf("bus = %+v", b)
	}
	if b.Targets[1].Secret != "s3cr3t" {
		t.Errorf("secret = %q, want the environment's", b.Targets[1].Secret)
	}
	if !b.Targets[0].IsEventBridge() || b.Targets[1].IsEventBridge() {
		t.Error("IsEventBridge wrong")
	}
	if got := b.Targets[0].SourcePrefixOrDefault(); got != "cairn." {
		t.Errorf("source prefix = %q", got)
	}
	if got := b.Targets[1].SourcePrefixOrDefault(); got != "aws." {
		t.Errorf("default source prefix = %q", got)
	}
	u, err := ParseEventBridgeURL(b.Targets[0].URL)
	if err != nil || u.Endpoint != "http://127.0.0.1:5000" || u.Bus != "audit" || u.Region != "us-east-1" {
		t.Errorf("ParseEventBridgeURL = %+v, %v", u, err)
	}
	if u, _ := ParseEventBridgeURL("eventbridge://"); u.Bus != "default" || u.Endpoint != "" || u.Region != "" {
		t.Errorf("defaults = %+v", u)
	}
	if got := cfg.BusRegions(EventBus{}); len(got) != len(cfg.Regions) {
		t.Errorf("BusRegions default = %v, want every served region %v", got, cfg.Regions)
	}
}

func TestEventBusesRefused(t *testing.T) {
	bus := header + "event_buses:\n  - account: \"111111111111\"\n    targets:\n"
	tests := []struct {
		name   string
		data   string
		line   int
		reason string
	}{
		{"bad pattern", bus + "      - url: http://127.0.0.1:9/h\n        secret: s\n        pattern: '{\"source\":[{\"prefx\":\"aws.\"}]}'\n", 12,
			`event_buses[0].targets[0].pattern: event pattern: at source[0]: unknown operator "prefx"`},
		{"pattern not json", bus + "      - url: http://127.0.0.1:9/h\n        secret: s\n        pattern: '{\"source\":'\n", 12, "invalid JSON"},
		{"webhook without secret", bus + "      - url: http://127.0.0.1:9/h\n", 10, "a webhook needs a secret"},
		{"bad scheme", bus + "      - url: ftp://x/y\n        secret: s\n", 10, "invalid url"},
		{"eb unknown parameter", bus + "      - url: \"eventbridge://?endpoint=http://127.0.0.1:5000&queue=x\"\n", 10, `unknown parameter "queue"`},
		{"eb host", bus + "      - url: \"eventbridge://events.example.com\"\n", 10, "has a host or path"},
		{"eb bad endpoint", bus + "      - url: \"eventbridge://?endpoint=ftp://h\"\n", 10, "is not an http(s) URL"},
		{"eb bad bus", bus + "      - url: \"eventbridge://?bus=a%20b\"\n", 10, "invalid bus"},
		{"eb half credentials", bus + "      - url: \"eventbridge://\"\n        access_key_id: K\n", 10, "must be set together"},
		{"eb secret", bus + "      - url: \"eventbridge://\"\n        secret: s\n", 11, "secret only applies to http(s) webhooks"},
		{"webhook credentials", bus + "      - url: http://127.0.0.1:9/h\n        secret: s\n        access_key_id: K\n        secret_access_key: S\n", 10, "only apply to eventbridge://"},
		{"bad source prefix", bus + "      - url: \"eventbridge://\"\n        source_prefix: cairn\n", 11, "invalid source prefix"},
		{"duplicate target", bus + "      - url: \"eventbridge://\"\n      - url: \"eventbridge://\"\n", 11, "duplicate target"},
		{"no targets", header + "event_buses:\n  - account: \"111111111111\"\n", 8, "must list at least one target"},
		{"unknown account", header + "event_buses:\n  - account: \"999999999999\"\n    targets: [{url: \"eventbridge://\"}]\n", 8, "is not a configured account"},
		{"region not served", header + "event_buses:\n  - account: \"111111111111\"\n    regions: [ap-south-7]\n    targets: [{url: \"eventbridge://\"}]\n", 9, `region "ap-south-7" is not served`},
		{"duplicate account", header + "event_buses:\n  - {account: \"111111111111\", targets: [{url: \"eventbridge://\"}]}\n  - {account: \"111111111111\", targets: [{url: \"eventbridge://\"}]}\n", 9, "duplicate event bus"},
		{"unknown key", bus + "      - url: \"eventbridge://\"\n        patern: x\n", 11, "patern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("bad.yaml", []byte(tt.data))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", cfg.EventBuses)
			}
			wantErr(t, err, "bad.yaml:"+strconv.Itoa(tt.line)+": ", tt.reason)
		})
	}
}
