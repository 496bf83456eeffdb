package config

import (
	"strconv"
	"testing"
	"time"
)

func TestConsoleSignInDefaults(t *testing.T) {
	got, err := Parse("console.yaml", []byte("console:\n  sign_in: {failures_per_address: 50, max_wait: 1h}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Console.SignIn; s.FailuresPerKey != 5 || s.FailuresPerAddress != 50 || s.FirstWait.Duration != 30*time.Second ||
		s.MaxWait.Duration != time.Hour {
		t.Fatalf("console.sign_in = %+v", s)
	}
}

func TestConsoleSignInInvalid(t *testing.T) {
	tests := []struct {
		name, data string
		line       int
		reason     string
	}{
		{"no free failures", "console:\n  sign_in:\n    failures_per_key: 0\n", 3, "console.sign_in.failures_per_key: must be at least 1, got 0"},
		{"address below key", "console:\n  sign_in:\n    failures_per_key: 10\n    failures_per_address: 5\n", 4,
			"console.sign_in.failures_per_address: must be at least failures_per_key (10), got 5"},
		{"no first wait", "console:\n  sign_in:\n    first_wait: 0s\n", 3, "console.sign_in.first_wait: must be positive, got 0s"},
		{"max below first", "console:\n  sign_in:\n    first_wait: 1h\n", 2, "console.sign_in.max_wait: must be at least first_wait (1h0m0s), got 15m0s"},
		{"max too long", "console:\n  sign_in:\n    max_wait: 48h\n", 3, "console.sign_in.max_wait: must be at most 24h0m0s, got 48h0m0s"},
		{"not a duration", "console:\n  sign_in:\n    first_wait: soon\n", 3, `invalid duration "soon"`},
		{"unknown key", "console:\n  sign_in:\n    lockout: 5\n", 3, "lockout"},
		{"session too short", "console:\n  session_ttl: 1s\n", 2, "console.session_ttl: must be between 5s and 168h0m0s, got 1s"},
		{"session too long", "console:\n  session_ttl: 720h\n", 2, "console.session_ttl: must be between 5s and 168h0m0s, got 720h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("bad.yaml", []byte(tt.data))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", cfg.Console)
			}
			wantErr(t, err, "bad.yaml:"+strconv.Itoa(tt.line)+": ", tt.reason)
		})
	}
}

func TestConsoleSessionTTL(t *testing.T) {
	def, err := Parse("console.yaml", []byte("console:\n  sign_in: {max_wait: 1h}\n"))
	if err != nil || def.Console.SessionTTL.Duration != 8*time.Hour {
		t.Fatalf("default console.session_ttl: %v, %v", def.Console.SessionTTL, err)
	}
	got, err := Parse("console.yaml", []byte("console:\n  session_ttl: 30m\n"))
	if err != nil || got.Console.SessionTTL.Duration != 30*time.Minute {
		t.Fatalf("console.session_ttl: 30m gave %v, %v", got.Console.SessionTTL, err)
	}
}
