package proxy

import (
	"net"
	"net/http"
	"strings"
)

// forwardedFor returns the caller's address when trusted proxies stand in
// front of this one: each proxy appends the address it was connected from
// to X-Forwarded-For, so the right-most entries are the trusted proxies'
// own, and the entry trusted places from the right is the address the
// outermost trusted proxy saw: the caller. Entries left of it were written
// by the caller and are ignored (a client can send any X-Forwarded-For).
// With fewer entries than trusted proxies, the left-most is taken (the
// request passed fewer proxies, each appending one). Every X-Forwarded-For
// header counts, in order. It returns "" when there is no usable address,
// and the caller then takes the connection's address.
func forwardedFor(h http.Header, trusted int) string {
	if trusted < 1 {
		return ""
	}
	var hops []string
	for _, v := range h.Values("X-Forwarded-For") {
		for _, hop := range strings.Split(v, ",") {
			if hop = strings.TrimSpace(hop); hop != "" {
				hops = append(hops, hop)
			}
		}
	}
	if len(hops) == 0 {
		return ""
	}
	return hopIP(hops[max(0, len(hops)-trusted)])
}

// hopIP is the IP address of one X-Forwarded-For entry ("203.0.113.7",
// "203.0.113.7:4711", "[2001:db8::1]:4711", "2001:db8::1"), or "" when it
// is none.
func hopIP(hop string) string {
	if ip := net.ParseIP(hop); ip != nil {
		return ip.String()
	}
	if host, _, err := net.SplitHostPort(hop); err == nil {
		if ip := net.ParseIP(host); ip != nil {
			return ip.String()
		}
	}
	return ""
}
