package console

// The event history's table and filter form: the time zone the user
// chose, the page size, the value hints and the table's columns.

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	// The binary may run where the system has no zone data (a scratch
	// container): the zones the console offers are built in.
	_ "time/tzdata"

	"github.com/cairn-audit/cairn/internal/event"
)

// zoneCookie remembers the time zone the user chose (an IANA name; console.js
// sets it). It is a display preference, not a secret.
const zoneCookie = "cairn_tz"

// zoneName is the shape of an IANA zone name ("Europe/Paris",
// "America/Argentina/Buenos_Aires", "Etc/GMT+5", "UTC").
var zoneName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$`)

var errZone = errors.New("not a time zone name")

// loadZone is the IANA zone named name. Only names of the tz database's shape
// are looked up ("Local", the server's own zone, is not one the user can
// choose), from the data built into the binary when the system has none.
func loadZone(name string) (*time.Location, error) {
	if len(name) > 64 || !zoneName.MatchString(name) || name == "Local" {
		return nil, errZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errZone
	}
	return loc, nil
}

// zoneOf is the zone a request shows times in and the zone its custom
// range's start and end are written in. The URL's tz names both; without
// it, times show in the zone the user chose (the cookie) and the URL's
// start and end are UTC (as links built without a zone are). problem is set
// when the URL names no zone the server knows.
func zoneOf(r *http.Request) (show, read *time.Location, problem string) {
	show, read = time.UTC, time.UTC
	if v := r.URL.Query().Get("tz"); v != "" {
		loc, err := loadZone(v)
		if err != nil {
			return show, read, "The time zone " + strconv.Quote(v) + " is not one this server knows; times are shown in UTC."
		}
		return loc, loc, ""
	}
	if ck, err := r.Cookie(zoneCookie); err == nil {
		if v, err := url.QueryUnescape(ck.Value); err == nil {
			if loc, err := loadZone(v); err == nil {
				show = loc
			}
		}
	}
	return show, read, ""
}

// pageSizes are the table's page sizes (LookupEvents' MaxResults).
var pageSizes = []int{10, 25, 50}

// parseSize is the page size a URL asks for (pageSize unless it names one
// of pageSizes).
func parseSize(v string) int {
	if n, err := strconv.Atoi(v); err == nil && slices.Contains(pageSizes, n) {
		return n
	}
	return pageSize
}

// sizeLink is one of the page-size choices above the table.
type sizeLink struct {
	Size    int
	URL     string
	Current bool
}

// sizeLinks are the page-size choices: the filter's first page at each size.
func (f filter) sizeLinks() []sizeLink {
	var out []sizeLink
	for _, n := range pageSizes {
		g := f
		g.Size = n
		out = append(out, sizeLink{Size: n, URL: "/console/events?" + g.query().Encode(), Current: n == f.Size})
	}
	return out
}

// Shapes a lookup value can take to match anything (see valueHint).
var (
	hostName    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)
	eventIDLike = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	accessKey   = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	// maxEventID is the longest eventID a record may carry.
	maxEventID = 128
)

// valueHint says why a lookup value will likely not match, or "" when it
// may. LookupEvents matches exactly (case and all) the values the store
// indexes: ReadOnly only as "true" or "false"; EventId as the record's
// eventID (a UUID unless the record came with its own, at most 128
// characters); EventSource, AccessKeyId and EventName as the record has
// them.
func valueHint(attr, value string) string {
	if value == "" {
		return ""
	}
	switch attr {
	case "ReadOnly":
		if value != "true" && value != "false" {
			return "Read-only is true or false (lower case); no event matches " + strconv.Quote(value) + "."
		}
	case "EventSource":
		if !hostName.MatchString(value) {
			hint := "Event sources are a service's host name, such as s3.amazonaws.com (lower case, matched exactly)"
			if lower := strings.ToLower(value); hostName.MatchString(lower+".amazonaws.com") && !hostName.MatchString(lower) {
				hint += "; did you mean " + lower + ".amazonaws.com?"
			} else {
				hint += "."
			}
			return hint
		}
	case "EventId":
		if len(value) > maxEventID {
			return "Event IDs are at most 128 characters; no event matches this one."
		}
		if !eventIDLike.MatchString(value) {
			return "Event IDs look like 3f1c2a9e-5b7d-4e0f-8a61-2c9d0b4e7f13 (lower case); only an event sent with its own ID of another shape can match."
		}
	case "AccessKeyId":
		if !accessKey.MatchString(value) {
			return "AWS access key IDs are 16 to 128 upper-case letters and digits, such as AKIAIOSFODNN7EXAMPLE."
		}
	case "EventName":
		if i := strings.IndexByte(value, ':'); i > 0 {
			return "Event names are the API's name without its service, such as " + value[i+1:] + " (not " + value + ")."
		}
		if first := value[0]; first >= 'a' && first <= 'z' {
			hint := "Event names are matched exactly, case and all; AWS's start with a capital letter (RunInstances, GetObject)"
			if strings.ContainsFunc(value[1:], unicode.IsUpper) {
				return hint + "; did you mean " + strings.ToUpper(value[:1]) + value[1:] + "?"
			}
			return hint + "."
		}
	}
	return ""
}

// resource is one resource of an event as the table shows it: its short
// name, with the full name (usually an ARN) on hover and in the record.
type resource struct {
	Type  string
	Short string
	Full  string
}

// resourcesOf are an event's named resources.
func resourcesOf(types, names []string) []resource {
	out := make([]resource, 0, len(names))
	for i, n := range names {
		r := resource{Short: event.ShortName(n), Full: n}
		if i < len(types) {
			r.Type = types[i]
		}
		out = append(out, r)
	}
	return out
}

// column is one of the table's columns; the user chooses which show
// (console.js remembers the choice; without it the default ones show).
type column struct {
	Key, Label string
	Default    bool
}

var columns = []column{
	{"user", "User name", true},
	{"name", "Event name", true},
	{"source", "Event source", true},
	{"rtype", "Resource type", true},
	{"rname", "Resource name", true},
	{"readonly", "Read-only", true},
	{"error", "Error code", true},
	{"key", "AWS access key", false},
	{"ip", "Source IP address", false},
	{"id", "Event ID", false},
	{"region", "AWS region", false},
}

// defaultColumns is the table's data-cols attribute: the columns that show
// until the user chooses others.
func defaultColumns() string {
	s := ""
	for _, c := range columns {
		if c.Default {
			if s != "" {
				s += " "
			}
			s += c.Key
		}
	}
	return s
}

// unusedParams are the parameters of an events URL its search does not use:
// a preset's start and end (the form sends the hidden custom inputs), an
// empty value and the attribute of none, a UTC zone. ok is false when
// there are none.
func unusedParams(q url.Values) (clean url.Values, ok bool) {
	clean = url.Values{}
	for k, v := range q {
		clean[k] = v
	}
	preset := q.Get("range") != "custom"
	drop := func(k string) {
		if _, has := clean[k]; has {
			delete(clean, k)
			ok = true
		}
	}
	if preset {
		drop("start")
		drop("end")
		drop("tz")
	}
	if q.Get("tz") == "UTC" {
		drop("tz")
	}
	if q.Get("value") == "" {
		drop("value")
		drop("attr")
	}
	if q.Get("size") == strconv.Itoa(pageSize) {
		drop("size")
	}
	return clean, ok
}
