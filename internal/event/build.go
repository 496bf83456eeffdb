package event

import (
	"crypto/tls"
	"unicode/utf8"
)

// TLSDetails is a record's tlsDetails element: how a call over TLS reached
// its recorder.
type TLSDetails struct {
	TLSVersion               string `json:"tlsVersion"`
	CipherSuite              string `json:"cipherSuite"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader"`
}

// NewTLSDetails describes a connection state and the Host the client
// sent, as CloudTrail's tlsDetails do; nil when the call was not over TLS.
func NewTLSDetails(cs *tls.ConnectionState, host string) *TLSDetails {
	if cs == nil {
		return nil
	}
	return &TLSDetails{TLSVersion: tlsVersionName(cs.Version), CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
		ClientProvidedHostHeader: host}
}

// tlsVersionName is a TLS version as CloudTrail's tlsDetails name it.
func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS11:
		return "TLSv1.1"
	}
	return "TLSv1"
}

// Clip cuts s to at most n bytes without splitting a UTF-8 sequence: how
// recorders bound a user agent or an error message.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
