package config

import (
	"fmt"
	"net/url"
)

// apiURLForm describes a destination url that names an AWS API (or a
// compatible server) by query parameters alone: <scheme>://?endpoint=URL
// &region=R[&…], every parameter optional. CloudWatch Logs and EventBridge
// destinations have this form.
type apiURLForm struct {
	scheme string
	// usage is the url's form, shown when a url has a host or path.
	usage string
	// names lists the parameters taken, for the error of an unknown one.
	names string
	// extra checks each parameter besides endpoint and region by name: it
	// returns the error's text (after "<scheme> url <raw>: ").
	extra map[string]func(v string) string
}

// parse checks raw against the form and returns its parameters by name:
// no host, path or user information; each parameter at most once;
// endpoint an http(s) URL with a host; region a region name; others as
// extra checks them.
func (f apiURLForm) parse(raw string) (map[string]string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid url %q", raw)
	}
	if u.Scheme != f.scheme {
		return nil, fmt.Errorf("url %q is not a %s:// url", raw, f.scheme)
	}
	if u.Host != "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return nil, fmt.Errorf("%s url %q has a host or path (want %s)", f.scheme, raw, f.usage)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%s url %q: invalid query: %v", f.scheme, raw, err)
	}
	out := make(map[string]string, len(q))
	for name, vals := range q {
		if len(vals) != 1 {
			return nil, fmt.Errorf("%s url %q: %s given %d times", f.scheme, raw, name, len(vals))
		}
		v := vals[0]
		var bad string
		switch check, ok := f.extra[name]; {
		case name == "endpoint":
			if e, err := url.Parse(v); err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				bad = fmt.Sprintf("endpoint %q is not an http(s) URL", v)
			}
		case name == "region":
			if !regionRE.MatchString(v) {
				bad = fmt.Sprintf("invalid region %q", v)
			}
		case ok:
			bad = check(v)
		default:
			bad = fmt.Sprintf("unknown parameter %q (want %s)", name, f.names)
		}
		if bad != "" {
			return nil, fmt.Errorf("%s url %q: %s", f.scheme, raw, bad)
		}
		out[name] = v
	}
	return out, nil
}
