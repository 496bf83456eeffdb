package console

import (
	"encoding/json"
	"net/http"
	"net/url"
)

// The event history's Live mode: the page opens an EventSource on
// /console/stream (the session cookie is scoped to /console/, so the
// console serves the same stream as GET /v1/stream, through the server's
// typed API: authorized as LookupEvents and recorded once per stream) and
// prepends each event as it arrives.

// liveFilter is what Live mode shows for the page's filter: the stream's
// URL (with the filter as an EventBridge pattern where one maps) and a
// note saying what of the filter applies.
type liveFilter struct {
	URL  string
	Note string
}

// livePattern is the EventBridge pattern (over the envelope, the record
// being "detail") that selects what a lookup attribute's value selects in
// LookupEvents, or "" when none does exactly.
func livePattern(attr, value string) string {
	field := func(path ...string) string {
		var v any = []string{value}
		for i := len(path) - 1; i >= 0; i-- {
			v = map[string]any{path[i]: v}
		}
		b, _ := json.Marshal(map[string]any{"detail": v})
		return string(b)
	}
	switch attr {
	case "EventName":
		return field("eventName")
	case "EventSource":
		return field("eventSource")
	case "EventId":
		return field("eventID")
	case "AccessKeyId":
		return field("userIdentity", "accessKeyId")
	case "Username":
		return field("userIdentity", "userName")
	case "ResourceType":
		return field("resources", "type")
	case "ReadOnly":
		if value == "true" || value == "false" {
			return `{"detail":{"readOnly":[` + value + `]}}`
		}
	}
	return ""
}

// live is Live mode's stream for filter f.
func live(f filter) liveFilter {
	q := url.Values{"region": {f.Region}}
	lf := liveFilter{Note: "Live: new events of " + f.Region + " as they arrive (the time range does not apply)."}
	if f.Value != "" {
		if p := livePattern(f.Attr, f.Value); p != "" {
			q.Set("pattern", p)
			lf.Note = "Live: new events of " + f.Region + " where " + f.Attr + " is " + f.Value +
				", as they arrive (the time range does not apply)."
		} else {
			lf.Note = "Live: new events of " + f.Region + " as they arrive. The " + f.Attr +
				" filter does not apply in Live mode (nor does the time range): every new event is shown."
		}
	}
	lf.URL = "/console/stream?" + q.Encode()
	return lf
}

// stream serves Live mode's Server-Sent Events for the signed-in user.
func (c *Console) stream(w http.ResponseWriter, r *http.Request, s *session) {
	region, ok := c.region(r, s)
	if !ok {
		http.Error(w, "Region "+r.URL.Query().Get("region")+" is not served here.", http.StatusBadRequest)
		return
	}
	c.opts.API.Stream(w, c.caller(r, s, region), r.URL.Query()["pattern"])
}
