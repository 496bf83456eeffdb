package sigv4

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// canonicalURI returns the CanonicalURI line of the canonical request.
//
// The path is taken as it was sent (r.URL.EscapedPath). For every service
// except S3, AWS signers URI-encode that already-escaped path once more, one
// segment at a time ("double encoding"); S3 signs the escaped path as is.
// Neither form removes "." or ".." segments, matching aws-sdk-go-v2.
func canonicalURI(u *url.URL, service string) string {
	path := ""
	if u != nil {
		path = u.EscapedPath()
	}
	if path == "" {
		path = "/"
	}
	if service == "s3" {
		return path
	}
	return uriEncode(path, false)
}

// canonicalQuery returns the CanonicalQueryString line: every name and value
// decoded from rawQuery and re-encoded with the RFC 3986 unreserved set,
// sorted by name then value, each pair written as name=value.
// A "+" in the raw query is read as a space, as AWS SDKs do.
func canonicalQuery(rawQuery string) (string, error) {
	if rawQuery == "" {
		return "", nil
	}
	type pair struct{ name, value string }
	var pairs []pair
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		n, err := url.QueryUnescape(name)
		if err != nil {
			return "", err
		}
		v, err := url.QueryUnescape(value)
		if err != nil {
			return "", err
		}
		pairs = append(pairs, pair{uriEncode(n, true), uriEncode(v, true)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].name != pairs[j].name {
			return pairs[i].name < pairs[j].name
		}
		return pairs[i].value < pairs[j].value
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.name)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String(), nil
}

// uriEncode percent-encodes every byte of s outside the RFC 3986 unreserved
// set (A-Z a-z 0-9 - _ . ~) with upper-case hex. A "/" is kept as is unless
// encodeSlash is true.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xF])
		}
	}
	return b.String()
}

// headerValues returns the values of the named (lower-case) header as the
// server received it, or nil if the request has no such header. Go's
// net/http moves Host, Content-Length and Transfer-Encoding out of r.Header,
// so those are read from their own fields.
func headerValues(r *http.Request, lowered map[string][]string, name string, bodyLen int) []string {
	switch name {
	case "host":
		host := r.Host
		if host == "" && r.URL != nil {
			host = r.URL.Host
		}
		if host == "" {
			return nil
		}
		return []string{host}
	case "content-length":
		if v, ok := lowered[name]; ok {
			return v
		}
		n := r.ContentLength
		if n < 0 {
			n = int64(bodyLen)
		}
		return []string{strconv.FormatInt(n, 10)}
	case "transfer-encoding":
		if v, ok := lowered[name]; ok {
			return v
		}
		if len(r.TransferEncoding) == 0 {
			return nil
		}
		return r.TransferEncoding
	}
	return lowered[name]
}

// lowerHeaders indexes r.Header by lower-case name. Keys are visited in
// sorted order so that a hand-built header map holding the same name in two
// spellings still gives a deterministic value order.
func lowerHeaders(h http.Header) map[string][]string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string][]string, len(h))
	for _, k := range keys {
		lk := strings.ToLower(k)
		out[lk] = append(out[lk], h[k]...)
	}
	return out
}

// canonicalHeaderValue trims leading and trailing white space from each value,
// collapses inner runs of spaces to one, and joins multiple values with ",".
func canonicalHeaderValue(values []string) string {
	var b strings.Builder
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		v = strings.Trim(v, " \t")
		space := false
		for j := 0; j < len(v); j++ {
			c := v[j]
			if c == ' ' {
				if space {
					continue
				}
				space = true
			} else {
				space = false
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}
