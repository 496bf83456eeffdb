package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
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
	detail := liveMatch(attr, value)
	if detail == nil {
		return ""
	}
	return patternOf(detail)
}

// liveMatch is the "detail" part of livePattern, or nil.
func liveMatch(attr, value string) map[string]any {
	field := func(path ...string) map[string]any {
		var v any = []string{value}
		for i := len(path) - 1; i > 0; i-- {
			v = map[string]any{path[i]: v}
		}
		return map[string]any{path[0]: v}
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
			return map[string]any{"readOnly": []bool{value == "true"}}
		}
	}
	return nil
}

// notReadOnly matches what event history shows when it hides the read-only
// events: records whose readOnly is false or missing (Insights events).
var notReadOnly = []any{false, map[string]any{"exists": false}}

func patternOf(detail map[string]any) string {
	b, _ := json.Marshal(map[string]any{"detail": detail})
	return string(b)
}

// live is Live mode's stream for filter f: the filter's value where a
// pattern maps it, and the read-only events left out when the page hides
// them, as the table does.
func live(f filter) liveFilter {
	q := url.Values{"region": {f.Region}}
	detail := map[string]any{}
	what := ""
	unmapped := ""
	if f.Value != "" {
		if m := liveMatch(f.Attr, f.Value); m != nil {
			detail = m
			what = " where " + f.Attr + " is " + f.Value
		} else {
			unmapped = " The " + f.Attr + " filter does not apply in Live mode (nor does the time range): every new event is shown."
		}
	}
	hidden := ""
	if f.Hides() {
		detail["readOnly"] = notReadOnly
		hidden = ", read-only events hidden"
	}
	if len(detail) > 0 {
		q.Set("pattern", patternOf(detail))
	}
	lf := liveFilter{URL: "/console/stream?" + q.Encode()}
	if unmapped != "" {
		lf.Note = "Live: new events of " + f.Region + hidden + ", as they arrive." + unmapped
	} else {
		lf.Note = "Live: new events of " + f.Region + what + hidden + ", as they arrive (the time range does not apply)."
	}
	return lf
}

// stream serves Live mode's Server-Sent Events for the signed-in user.
func (c *Console) stream(w http.ResponseWriter, r *http.Request, s *session) {
	region, ok := c.region(r, s)
	if !ok {
		http.Error(w, "Region "+r.URL.Query().Get("region")+" is not served here.", http.StatusBadRequest)
		return
	}
	// The stream ends with the session: at its expiry, or when it is
	// signed out (on any node) or its key changes. The browser's
	// EventSource then reconnects, is sent to sign in, and Live mode says
	// it stopped.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go c.watchSession(ctx, cancel, s)
	c.opts.API.Stream(w, c.caller(r.WithContext(ctx), s, region), r.URL.Query()["pattern"])
}

// sessionWatchEvery is how often an open stream checks that its session
// is still live.
const sessionWatchEvery = 10 * time.Second

// watchSession calls end once s has expired or is gone, checking every
// c.watchEvery until ctx is done.
func (c *Console) watchSession(ctx context.Context, end context.CancelFunc, s *session) {
	every := c.watchEvery
	if every <= 0 {
		every = sessionWatchEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := c.now()
		if !now.Before(s.expires) {
			end()
			return
		}
		live, _, err := c.sessions.get(ctx, s.id, now)
		if err == nil && live == nil {
			end()
			return
		}
	}
}
