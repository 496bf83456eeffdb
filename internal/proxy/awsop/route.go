package awsop

import (
	"net/http"
	"net/url"
	"strings"
)

// routeMatch is a rest route that fits a request, with the URI labels'
// values (keyed by label name without the greedy "+").
type routeMatch struct {
	route  *route
	labels map[string]string
}

// pathSegments splits an escaped request path into unescaped segments.
// "/" has none; a trailing slash leaves a trailing empty segment.
func pathSegments(escaped string) []string {
	p := strings.TrimPrefix(escaped, "/")
	if p == "" {
		return nil
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if u, err := url.PathUnescape(s); err == nil {
			segs[i] = u
		}
	}
	return segs
}

// matchPath matches request segments against a route template. It returns
// the label values and the number of literal segments matched. A greedy
// label ({Key+}) takes one or more segments, leaving enough for the
// template's segments after it; a trailing slash is ignored unless the
// template ends with a greedy label (an S3 key may end with "/").
func matchPath(tsegs, rsegs []string) (map[string]string, int, bool) {
	if n := len(tsegs); (n == 0 || !strings.HasSuffix(tsegs[n-1], "+}")) && len(rsegs) > 0 && rsegs[len(rsegs)-1] == "" {
		rsegs = rsegs[:len(rsegs)-1]
	}
	labels := map[string]string{}
	lit, i := 0, 0
	for ti, t := range tsegs {
		if name, ok := strings.CutPrefix(t, "{"); ok && strings.HasSuffix(name, "}") {
			name = strings.TrimSuffix(name, "}")
			if greedy, ok := strings.CutSuffix(name, "+"); ok {
				end := len(rsegs) - (len(tsegs) - ti - 1)
				if end <= i {
					return nil, 0, false
				}
				v := strings.Join(rsegs[i:end], "/")
				if v == "" {
					return nil, 0, false
				}
				labels[greedy] = v
				i = end
				continue
			}
			if i >= len(rsegs) || rsegs[i] == "" {
				return nil, 0, false
			}
			labels[name] = rsegs[i]
		} else {
			if i >= len(rsegs) || rsegs[i] != t {
				return nil, 0, false
			}
			lit++
		}
		i++
	}
	if i != len(rsegs) {
		return nil, 0, false
	}
	return labels, lit, true
}

// hasRequired reports whether the request carries a route's required
// query-string and header members, and how many there are.
func hasRequired(op *opInfo, q url.Values, h http.Header) (int, bool) {
	for _, r := range op.required {
		kind, name, _ := strings.Cut(r, ":")
		switch kind {
		case "q":
			if _, ok := q[name]; !ok {
				return 0, false
			}
		case "h":
			if h.Get(name) == "" {
				return 0, false
			}
		}
	}
	return len(op.required), true
}

// matchRoute picks the operation a rest request calls among routes: the
// method, path template and literal query keys of the requestUri must fit,
// and so must the operation's required query-string and header members (if
// no route has them all, they are ignored). Among the routes that fit, the
// most specific wins: more literal path segments, then the same trailing
// slash (or none) as the request, more non-greedy labels, more query literals, more required members, not deprecated. The
// "x-id" query parameter that AWS SDKs add to S3 requests names the
// operation outright when it names one that fits.
func matchRoute(routes []*route, method string, rsegs []string, q url.Values, h http.Header) *routeMatch {
	method = strings.ToUpper(method)
	xid := q.Get("x-id")
	slash := len(rsegs) > 0 && rsegs[len(rsegs)-1] == ""
	type cand struct {
		m     routeMatch
		score [6]int
		req   bool
	}
	var cands []cand
	for _, r := range routes {
		if r.op.method != method {
			continue
		}
		labels, lit, ok := matchPath(r.segs, rsegs)
		if !ok {
			continue
		}
		okLit := true
		for _, l := range r.literal {
			v, present := q[l.key]
			if !present || l.hasValue && (len(v) == 0 || v[0] != l.value) {
				okLit = false
				break
			}
		}
		if !okLit {
			continue
		}
		nreq, req := hasRequired(r.op, q, h)
		c := cand{m: routeMatch{route: r, labels: labels}, req: req}
		nonGreedy := 0
		for _, s := range r.segs {
			if strings.HasPrefix(s, "{") && !strings.HasSuffix(s, "+}") {
				nonGreedy++
			}
		}
		notDeprecated := 1
		if r.op.deprecated {
			notDeprecated = 0
		}
		slashMatch := 0
		if r.slash == slash {
			slashMatch = 1
		}
		c.score = [6]int{lit, slashMatch, nonGreedy, len(r.literal), nreq, notDeprecated}
		if xid != "" && r.op.name == xid {
			m := c.m
			return &m
		}
		cands = append(cands, c)
	}
	var best *cand
	for _, needReq := range []bool{true, false} {
		for i := range cands {
			c := &cands[i]
			if needReq && !c.req {
				continue
			}
			if best == nil || better(c.score, best.score) {
				best = c
			}
		}
		if best != nil {
			break
		}
	}
	if best == nil {
		return nil
	}
	return &best.m
}

func better(a, b [6]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return false
}
