package console

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode"

	"github.com/cairn-audit/cairn/internal/history"
)

// csvHeader is the first line of a CSV download.
var csvHeader = []string{"Event time", "User name", "Event name", "Event source", "Resource type", "Resource name",
	"Read-only", "Error code", "Event ID", "AWS access key", "Source IP address"}

// csvRecord is the CSV line of one event.
func (r row) csvRecord() []string {
	return []string{r.Time.Format(time.RFC3339), cell(r.User), cell(r.Name), cell(r.Source), cell(r.ResourceTypes),
		cell(r.ResourceNames), cell(r.ReadOnly), cell(r.ErrorCode), cell(r.ID), cell(r.AccessKey), cell(r.SourceIP)}
}

// cell keeps a spreadsheet from reading a value as a formula (OWASP's
// CSV injection advice): a value that starts with a tab or a carriage
// return, or whose first character after any leading whitespace or
// invisible formatting characters (line breaks, spaces, no-break spaces,
// zero-width spaces, byte order marks…) is a formula character, gets a
// leading ' so that the spreadsheet shows it as text. Spreadsheets skip
// such leading characters before they look for a formula, so " =1+1" and
// "\u00a0@SUM(1)" are formulas to them just as "=1+1" is.
func cell(v string) string {
	if needsQuote(v) {
		return "'" + v
	}
	return v
}

// needsQuote reports whether a spreadsheet could read v as a formula.
func needsQuote(v string) bool {
	if v == "" {
		return false
	}
	if v[0] == '\t' || v[0] == '\r' {
		return true
	}
	for _, r := range v {
		switch {
		case formulaStart(r):
			return true
		case unicode.IsSpace(r) || unicode.Is(unicode.Cf, r):
			continue // skipped by spreadsheets: look further
		default:
			return false
		}
	}
	return false
}

// formulaStart reports whether r starts a formula: = + - @ and their
// full-width and small forms, and the minus sign, which spreadsheets with
// East Asian input methods take for the ASCII ones.
func formulaStart(r rune) bool {
	switch r {
	case '=', '+', '-', '@',
		'\uFF1D', '\uFF0B', '\uFF0D', '\uFF20', // full-width ＝ ＋ － ＠
		'\uFE66', '\uFE62', '\uFE63', '\uFE6B', // small ﹦ ﹢ ﹣ ﹫
		'\u2212': // minus sign −
		return true
	}
	return false
}

func (c *Console) downloadCSV(w http.ResponseWriter, r *http.Request, s *session) {
	c.download(w, r, s, "csv")
}

func (c *Console) downloadJSON(w http.ResponseWriter, r *http.Request, s *session) {
	c.download(w, r, s, "json")
}

// download streams every event of the filter as CSV or as CloudTrail's
// {"Records":[…]} JSON: one LookupEventsExport call (one audit record),
// which reads the store a page at a time; nothing is held beyond one.
// The answer begins with the first event (or the end): a refusal before
// it is a page that says why.
func (c *Console) download(w http.ResponseWriter, r *http.Request, s *session, format string) {
	region, _ := c.region(r, s)
	f, problem := c.parseFilter(r, region)
	if problem != "" {
		c.downloadFailed(w, r, s, region, problem)
		return
	}
	d := &downloader{w: w, rc: http.NewResponseController(w), format: format,
		name: "cairn-events-" + region + "-" + c.now().UTC().Format("20060102T150405Z") + "." + format}
	err := c.opts.API.LookupEventsExport(r.Context(), c.caller(r, s, region), f.exportInput(format), d.write)
	if err == nil {
		d.finish()
		return
	}
	if !d.started {
		c.downloadFailed(w, r, s, region, errText(c.refused("LookupEvents", err)))
		return
	}
	// The answer has begun: cut it off, so that the browser reports a
	// failed download rather than a short file.
	c.opts.Log.Error("console: download failed", "user", s.principal.ARN, "err", err)
	panic(http.ErrAbortHandler)
}

// downloader writes a download's events as they come.
type downloader struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	format  string
	name    string
	cw      *csv.Writer
	started bool
	n       int
}

// flushEvery is how many events a download writes between flushes (and
// write deadlines).
const flushEvery = 500

// begin writes the headers and the start of the file.
func (d *downloader) begin() {
	d.started = true
	d.rc.SetWriteDeadline(time.Now().Add(2 * time.Minute))
	h := d.w.Header()
	h.Set("Content-Disposition", `attachment; filename="`+d.name+`"`)
	if d.format == "csv" {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		d.cw = csv.NewWriter(d.w)
		d.cw.Write(csvHeader)
		return
	}
	h.Set("Content-Type", "application/json")
	io.WriteString(d.w, `{"Records":[`)
}

// write writes one event; its error (the browser gone) ends the export.
func (d *downloader) write(e history.Event) error {
	if !d.started {
		d.begin()
	}
	if d.cw != nil {
		d.cw.Write(toRow(e).csvRecord())
	} else {
		if d.n > 0 {
			io.WriteString(d.w, ",\n")
		}
		writeRecord(d.w, e)
	}
	d.n++
	if d.n%flushEvery != 0 {
		return nil
	}
	if d.cw != nil {
		d.cw.Flush()
		if err := d.cw.Error(); err != nil {
			return err
		}
	}
	d.rc.SetWriteDeadline(time.Now().Add(2 * time.Minute))
	return d.rc.Flush()
}

// finish ends the file (a download of no events is a header, or an empty
// list).
func (d *downloader) finish() {
	if !d.started {
		d.begin()
	}
	if d.cw != nil {
		d.cw.Flush()
		return
	}
	io.WriteString(d.w, "]}\n")
}

// writeRecord writes an event's full record (its CloudTrailEvent).
func writeRecord(w io.Writer, e history.Event) {
	if json.Valid([]byte(e.CloudTrailEvent)) {
		io.WriteString(w, e.CloudTrailEvent)
		return
	}
	b, _ := json.Marshal(e.CloudTrailEvent)
	w.Write(b)
}

func (c *Console) downloadFailed(w http.ResponseWriter, r *http.Request, s *session, region, msg string) {
	c.render(w, http.StatusBadRequest, "message.html", messagePage{base: c.base(s, r, "Download failed", "events", region),
		Heading: "Download failed", Message: msg, Link: "/console/events?region=" + urlQueryEscape(region), LinkText: "Back to event history"})
}

// resumeParam names the download an events page offers again (csv or
// json): the one asked for without a session.
const resumeParam = "download"

// resumeDownload is a download the events page offers again.
type resumeDownload struct {
	Format string // "CSV" or "JSON"
	URL    string
}

// resume is the download of format ("csv", "json") for the page's filter,
// or nil for anything else.
func (p eventsPage) resume(format string) *resumeDownload {
	switch format {
	case "csv":
		return &resumeDownload{Format: "CSV", URL: p.CSVURL}
	case "json":
		return &resumeDownload{Format: "JSON", URL: p.JSONURL}
	}
	return nil
}

// signInNext is where a GET without a session returns after signing in:
// the page it asked for, except a download. A download's answer never
// shows in the tab (it is saved as a file), so after signing in the tab
// would stay on the sign-in page while the file arrives; the browser
// returns instead to event history with the download's filter, which
// offers the download (resumeParam).
func signInNext(r *http.Request) string {
	return returnTo(r.URL.RequestURI())
}

// returnTo is where a browser goes after signing in to come back to uri
// (a console path and query): uri itself, or for a download the event
// history page that offers it (signInNext).
func returnTo(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	switch u.Path {
	case "/console/events.csv", "/console/events.json":
		q := u.Query()
		q.Set(resumeParam, strings.TrimPrefix(path.Ext(u.Path), "."))
		return "/console/events?" + q.Encode()
	}
	return uri
}
