package console

import (
	"net/http"
	"strconv"
	"time"

	"github.com/cairn-audit/cairn/internal/stream"
)

// streamRow is one streaming destination as the Streams page shows it.
type streamRow struct {
	Kind, Name                       string
	LastDelivery, LastAttempt, Retry string
	LastError                        string
	Sent, Dropped                    int
	// Behind is how many log entries it has yet to handle; "" when the
	// engine has not started it yet.
	Behind string
	Down   bool
}

type streamsPage struct {
	base
	Streams []streamRow
	Loaded  bool
}

// viewStream is v with its times in the page's zone (b.In).
func viewStream(v stream.View, b base) streamRow {
	st := v.Status
	row := streamRow{Kind: v.Kind, Name: v.Name, LastDelivery: fmtStamp(st.LastDelivery, b), LastAttempt: fmtStamp(st.LastAttempt, b),
		LastError: st.LastError, Sent: int(st.Sent), Dropped: int(st.Dropped), Down: st.Failures > 0}
	if st.Failures > 0 {
		row.Retry = fmtStamp(st.RetryAt, b)
	}
	if v.Started {
		row.Behind = strconv.FormatInt(v.Behind, 10)
	}
	return row
}

// fmtStamp is a time as the console shows it, in the page's zone (b.In),
// with the zone's abbreviation when it is not UTC; "" for none.
func fmtStamp(t time.Time, b base) string {
	if t.IsZero() {
		return ""
	}
	t = b.In(t)
	if b.loc == nil {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("2006-01-02 15:04:05 MST")
}

// streamsPage lists the signed-in account's streaming destinations (its
// trails' log groups, its event buses' targets) with their status: the
// one place a webhook's or an EventBridge target's error shows.
func (c *Console) streamsPage(w http.ResponseWriter, r *http.Request, s *session) {
	region, _ := c.region(r, s)
	p := streamsPage{base: c.base(s, r, "Streams", "streams", region)}
	views, err := c.opts.API.Streams(r.Context(), c.caller(r, s, region))
	if err := c.refused("DescribeTrails", err); err != nil {
		p.Error = errText(err)
		c.render(w, http.StatusOK, "streams.html", p)
		return
	}
	p.Loaded = true
	for _, v := range views {
		p.Streams = append(p.Streams, viewStream(v, p.base))
	}
	c.render(w, http.StatusOK, "streams.html", p)
}
