package event

import (
	"crypto/tls"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNewTLSDetails(t *testing.T) {
	if NewTLSDetails(nil, "h") != nil {
		t.Error("details of a call without TLS")
	}
	for v, want := range map[uint16]string{tls.VersionTLS13: "TLSv1.3", tls.VersionTLS12: "TLSv1.2", tls.VersionTLS11: "TLSv1.1", tls.VersionTLS10: "TLSv1"} {
		d := NewTLSDetails(&tls.ConnectionState{Version: v, CipherSuite: tls.TLS_AES_128_GCM_SHA256}, "cairn.example:8443")
		if d.TLSVersion != want || d.CipherSuite != "TLS_AES_128_GCM_SHA256" || d.ClientProvidedHostHeader != "cairn.example:8443" {
			t.Errorf("version %x: %+v", v, d)
		}
	}
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"}, // é is two bytes: not split
		{"€€", 4, "€"}, // € is three bytes
		{"日本", 0, ""},
		{strings.Repeat("x", 2000), 1024, strings.Repeat("x", 1024)},
	} {
		got := Clip(c.s, c.n)
		if got != c.want || !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}
