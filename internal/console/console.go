// Package console is Cairn's web console, served at /console/: event
// history you can see, search, chart and download, and trails you can
// manage. Pages are rendered on the server with html/template; the few
// assets (a stylesheet, a small script, an icon) are embedded, so the
// console works offline and builds with go build alone.
//
// The console holds no business rules and reads no store: every read and
// every change goes through Options.API, the server's typed CloudTrail API
// for an authenticated principal. So the console sees only what
// the signed-in user's policy allows, in the user's account, and every
// console action is recorded in event history like an API call, with a
// user agent that says it came from the console.
//
// Signing in is the one thing the console records itself: each sign-in
// whose key pair it checked is a ConsoleLogin event (Options.Record), as
// CloudTrail records sign-ins to the AWS Management Console. Failed
// sign-ins are slowed down per access key and address, and per address
// (throttle.go).
package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/insights/query"
	"github.com/cairn-audit/cairn/internal/lake"
	"github.com/cairn-audit/cairn/internal/server"
	"github.com/cairn-audit/cairn/internal/stream"
	"github.com/cairn-audit/cairn/internal/trail"
)

// Prefix is where the console is mounted.
const Prefix = "/console/"

// API is the part of the CloudTrail API the console calls: the server's
// typed calls (server.Server), each authorized, run and recorded as the
// same operation sent as a signed request.
type API interface {
	LookupEvents(ctx context.Context, who server.Caller, in history.Input) (history.Output, error)
	// LookupEventsPage is one page of event history with its counts (one
	// LookupEvents call).
	LookupEventsPage(ctx context.Context, who server.Caller, in history.PageInput) (history.PageOutput, error)
	// LookupEventsExport streams every matching event (one LookupEvents call).
	LookupEventsExport(ctx context.Context, who server.Caller, in history.ExportInput, emit func(history.Event) error) error
	DescribeTrails(ctx context.Context, who server.Caller, in server.DescribeTrailsInput) (server.DescribeTrailsOutput, error)
	GetTrail(ctx context.Context, who server.Caller, in server.NameInput) (server.GetTrailOutput, error)
	GetTrailStatus(ctx context.Context, who server.Caller, in server.NameInput) (server.StatusOutput, error)
	GetEventSelectors(ctx context.Context, who server.Caller, in server.GetEventSelectorsInput) (server.SelectorsOutput, error)
	ListTags(ctx context.Context, who server.Caller, in server.ListTagsInput) (server.ListTagsOutput, error)
	CreateTrail(ctx context.Context, who server.Caller, in trail.CreateTrailInput) (server.TrailOutput, error)
	UpdateTrail(ctx context.Context, who server.Caller, in trail.UpdateTrailInput) (server.TrailOutput, error)
	DeleteTrail(ctx context.Context, who server.Caller, in server.NameInput) error
	StartLogging(ctx context.Context, who server.Caller, in server.NameInput) error
	StopLogging(ctx context.Context, who server.Caller, in server.NameInput) error
	PutEventSelectors(ctx context.Context, who server.Caller, in server.PutEventSelectorsInput) (server.SelectorsOutput, error)
	AddTags(ctx context.Context, who server.Caller, in server.TagsInput) error
	RemoveTags(ctx context.Context, who server.Caller, in server.TagsInput) error
	PutInsightSelectors(ctx context.Context, who server.Caller, in server.PutInsightSelectorsInput) (server.InsightsOutput, error)
	GetInsightSelectors(ctx context.Context, who server.Caller, in server.GetInsightSelectorsInput) (server.InsightsOutput, error)
	ListInsightsMetricData(ctx context.Context, who server.Caller, in query.MetricInput) (server.InsightsMetricOutput, error)
	// The Lake: its stores, queries and results (lake.go).
	ListEventDataStores(ctx context.Context, who server.Caller, in server.ListDataStoresInput) (server.ListDataStoresOutput, error)
	StartQuery(ctx context.Context, who server.Caller, in lake.StartInput) (server.StartQueryOutput, error)
	DescribeQuery(ctx context.Context, who server.Caller, in server.QueryInput) (server.DescribeQueryOutput, error)
	GetQueryResults(ctx context.Context, who server.Caller, in server.ResultsInput) (server.ResultsOutput, error)
	// GetQueryResultsExport streams a query's whole result (one
	// GetQueryResults call).
	GetQueryResultsExport(ctx context.Context, who server.Caller, in server.QueryInput, start func(status string, columns []string) error, row func([]*string) error) error
	ListQueries(ctx context.Context, who server.Caller, in lake.ListInput) (server.ListQueriesOutput, error)
	CancelQuery(ctx context.Context, who server.Caller, in server.QueryInput) (server.CancelQueryOutput, error)
	// Stream serves the live tail (Server-Sent Events) for who.
	Stream(w http.ResponseWriter, who server.Caller, patterns []string)
	// Streams lists who's account's streaming destinations and their status.
	Streams(ctx context.Context, who server.Caller) ([]stream.View, error)
}

// Options are the console's dependencies.
type Options struct {
	// Directory checks the access key pairs people sign in with.
	Directory *auth.Directory
	// API runs CloudTrail operations; every read and change goes through it.
	API API
	// Regions are the regions the server serves; the first is the default.
	Regions []string
	// Log receives the console's own errors.
	Log *slog.Logger
	// SessionTTL is how long a sign-in lasts; zero means 8 hours.
	SessionTTL time.Duration
	// Sessions keeps the signed-in sessions (the event store, shared by
	// every node).
	Sessions SessionDocs
	// Record stores the ConsoleLogin event of each checked sign-in; nil
	// records none.
	Record RecordFunc
	// GlobalRegion is where sign-ins are recorded, as CloudTrail records
	// console sign-ins in its global region; empty means Regions[0].
	GlobalRegion string
	// SignIn slows down guessing at the sign-in form; zero fields take
	// DefaultSignInLimits.
	SignIn SignInLimits
}

// DefaultSessionTTL is how long a sign-in lasts unless Options say otherwise.
const DefaultSessionTTL = 8 * time.Hour

// userAgentPrefix starts the User-Agent of every call the console makes, so
// that audit records say the console made them.
const userAgentPrefix = "cairn-console/1"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Console is the console's HTTP handler.
type Console struct {
	opts     Options
	mux      *http.ServeMux
	sessions *sessionStore
	logins   *throttle
	pages    map[string]*template.Template
	static   map[string]asset
	now      func() time.Time

	// watchEvery is how often a Live mode stream checks its session
	// (sessionWatchEvery unless a test says otherwise).
	watchEvery time.Duration
}

// asset is one embedded static file.
type asset struct {
	body        []byte
	contentType string
	version     string
}

// New makes the console handler.
func New(o Options) http.Handler { return newConsole(o) }

func newConsole(o Options) *Console {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if len(o.Regions) == 0 {
		o.Regions = []string{"us-east-1"}
	}
	if o.GlobalRegion == "" {
		o.GlobalRegion = o.Regions[0]
	}
	c := &Console{
		opts:     o,
		sessions: &sessionStore{docs: o.Sessions, dir: o.Directory, log: o.Log},
		logins:   newThrottle(o.SignIn),
		static:   loadStatic(),
		now:      time.Now,
	}
	c.pages = c.parseTemplates()
	c.routes()
	return c
}

func loadStatic() map[string]asset {
	m := map[string]asset{}
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := types[path.Ext(p)]
		if ct == "" {
			ct = "application/octet-stream"
		}
		m[path.Base(p)] = asset{body: b, contentType: ct, version: hex.EncodeToString(sum[:6])}
		return nil
	})
	if err != nil {
		panic("console: embedded assets: " + err.Error())
	}
	return m
}

// routes registers every page. Paths are absolute: the console is mounted
// at Prefix without stripping it.
func (c *Console) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /console/static/{name}", c.serveStatic)
	m.HandleFunc("GET /console/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/events", http.StatusSeeOther)
	})
	m.HandleFunc("GET /console/login", c.loginPage)
	m.HandleFunc("POST /console/login", c.login)
	m.HandleFunc("POST /console/logout", c.signedIn(c.logout))
	m.HandleFunc("GET /console/events", c.signedIn(c.eventsPage))
	m.HandleFunc("GET /console/events/{id}", c.signedIn(c.recordPage))
	m.HandleFunc("GET /console/events.csv", c.signedIn(c.downloadCSV))
	m.HandleFunc("GET /console/events.json", c.signedIn(c.downloadJSON))
	m.HandleFunc("GET /console/stream", c.signedIn(c.stream))
	m.HandleFunc("GET /console/insights", c.signedIn(c.insightsPage))
	m.HandleFunc("GET /console/insight", c.signedIn(c.insightPage))
	m.HandleFunc("GET /console/trails", c.signedIn(c.trailsPage))
	m.HandleFunc("GET /console/streams", c.signedIn(c.streamsPage))
	m.HandleFunc("GET "+lakePath, c.signedIn(c.lakePage))
	m.HandleFunc("POST "+lakeRunPath, c.signedIn(c.runQuery))
	m.HandleFunc("GET "+lakeQueryPath, c.signedIn(c.queryPage))
	m.HandleFunc("POST "+lakeCancel, c.signedIn(c.cancelQuery))
	m.HandleFunc("GET "+lakeCSVPath, c.signedIn(c.downloadResults))
	m.HandleFunc("GET /console/trails/new", c.signedIn(c.newTrailPage))
	m.HandleFunc("POST /console/trails/new", c.signedIn(c.createTrail))
	m.HandleFunc("GET /console/trail", c.signedIn(c.trailPage))
	m.HandleFunc("POST /console/trail/{action}", c.signedIn(c.trailAction))
	m.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		c.notFound(w, r)
	})
	c.mux = m
}

// ServeHTTP sets the security headers of every console response and
// dispatches.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// contentSecurityPolicy allows only the console's own scripts, styles and
// images: no inline script or style, no framing, forms only to itself.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	a, ok := c.static[r.PathValue("name")]
	if !ok {
		c.notFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	if r.URL.Query().Get("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", `"`+a.version+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// staticURL is the versioned URL of an embedded asset.
func (c *Console) staticURL(name string) string {
	a, ok := c.static[name]
	if !ok {
		panic("console: no asset " + name)
	}
	return "/console/static/" + name + "?v=" + a.version
}

// base is what every page's template sees.
type base struct {
	Title    string
	Nav      string
	Region   string
	Regions  []string
	CSRF     string
	Flash    string
	FlashErr bool
	Error    string
	User     string
	Account  string
	ARN      string
	// Zone is the time zone the page shows times in ("" for UTC).
	Zone      string
	principal *auth.Principal
	// loc is the zone the user chose to see times in (zoneOf); nil is
	// UTC.
	loc *time.Location

	// Kept is the form of this page sent after the session ended, to
	// fill in again (kept.go).
	Kept *keptView
}

// Can reports whether the signed-in user's policy allows a CloudTrail
// operation; pages hide what it does not.
func (b base) Can(op string) bool {
	return b.principal != nil && b.principal.Allows("cloudtrail:"+op)
}

// In is t in the zone the page shows times in.
func (b base) In(t time.Time) time.Time {
	if b.loc == nil {
		return t.UTC()
	}
	return t.In(b.loc)
}

// ZoneName names the zone the page shows times in.
func (b base) ZoneName() string {
	if b.loc == nil {
		return "UTC"
	}
	return b.loc.String()
}

// RegionQuery is "region=<region>", for links.
func (b base) RegionQuery() template.URL {
	return template.URL("region=" + urlQueryEscape(b.Region))
}

func (c *Console) base(s *session, r *http.Request, title, nav, region string) base {
	b := base{Title: title, Nav: nav, Region: region, Regions: c.opts.Regions}
	if s != nil {
		b.CSRF = s.csrf
		b.User = s.principal.UserName
		b.Account = s.principal.Account
		b.ARN = s.principal.ARN
		b.principal = s.principal
		if r != nil {
			// Times show in the zone the user chose for event history
			// (UTC or the browser's), on every page.
			if show, _, _ := zoneOf(r); show != time.UTC {
				b.loc, b.Zone = show, show.String()
			}
		}
		b.Flash, b.FlashErr = s.takeFlash()
		if r != nil && r.Method == http.MethodGet {
			b.Kept = viewOf(s.takeKeptFor(r.URL.RequestURI(), c.now()))
		}
	}
	return b
}

// region is the region a request asks for (a served one), remembered per
// session; ok is false when it named a region the server does not serve.
func (c *Console) region(r *http.Request, s *session) (string, bool) {
	want := r.FormValue("region")
	if want != "" && slices.Contains(c.opts.Regions, want) {
		s.setRegion(want)
		return want, true
	}
	if reg := s.getRegion(); reg != "" {
		return reg, want == ""
	}
	return c.opts.Regions[0], want == ""
}

func (c *Console) render(w http.ResponseWriter, status int, page string, data any) {
	t, ok := c.pages[page]
	if !ok {
		panic("console: no template " + page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		c.opts.Log.Error("console: rendering page", "page", page, "err", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type messagePage struct {
	base
	Heading  string
	Message  string
	Link     string
	LinkText string
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusNotFound, "message.html", messagePage{base: base{Title: "Not found"},
		Heading: "Not found", Message: "The console has no page at " + r.URL.Path + ".", Link: "/console/events", LinkText: "Event history"})
}

// unavailable answers a request that needed the session store when it
// could not be reached.
func (c *Console) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	c.opts.Log.Error("console: session store", "err", err, "path", r.URL.Path)
	c.render(w, http.StatusServiceUnavailable, "message.html", messagePage{base: base{Title: "Unavailable"},
		Heading: "Unavailable", Message: "The console cannot reach its store just now. Try again in a moment.",
		Link: "/console/", LinkText: "Try again"})
}

// staleTokenMsg says why a signed-in user's form with another token was
// refused: most often a page opened before the user last signed in.
const staleTokenMsg = "The form was not sent: its security token is out of date (the page was opened before you last " +
	"signed in, or in another session), so nothing was changed. Enter your change again here and send it."

// unreadableForm says why a signed-in user's form could not be read.
func unreadableForm(err error) string {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return "The form was not sent: it is larger than " + strconv.Itoa(maxFormBytes>>10) + " KiB, so nothing was changed."
	}
	return "The form could not be read, so nothing was changed."
}

// formRefused answers a signed-in user's form that is not applied (a bad
// token, another site's, unreadable): like any form's answer, a redirect
// (303) to a page, so that reloading sends nothing again. The page is the
// one the form was sent from (event history if that is not a console
// page), scrolled to msg, which it shows as an error.
func (c *Console) formRefused(w http.ResponseWriter, r *http.Request, s *session, msg string) {
	c.opts.Log.Warn("console: form refused", "user", s.principal.ARN, "path", r.URL.Path, "ip", clientIP(r), "why", msg)
	s.setFlash(msg, true)
	to := formPage(r)
	if to == "" {
		to = "/console/events"
	}
	// To the top of the page's content, where the message is: the form's
	// own fragment (#settings) would keep it out of sight.
	http.Redirect(w, r, to+"#main", http.StatusSeeOther)
}

// apiError is an API error as the console shows it.
type apiError struct {
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// caller is who the console calls the API as: the session's principal in
// region, with the browser's request (its address and TLS) and the
// console's user agent.
func (c *Console) caller(r *http.Request, s *session, region string) server.Caller {
	return server.Caller{Principal: s.principal, Region: region, Request: consoleRequest(r)}
}

// refused is the error of a failed call of op as the console shows it; an
// internal failure is logged.
func (c *Console) refused(op string, err error) error {
	if err == nil {
		return nil
	}
	e := awsproto.As(err)
	if e.Code == awsproto.InternalFailure {
		c.opts.Log.Error("console: API call failed", "operation", op, "err", err)
	}
	return &apiError{Code: string(e.Code), Message: e.Message}
}

// errText is what the console shows for a failed call.
func errText(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Code + ": " + ae.Message
	}
	return "The request failed: " + err.Error()
}

// consoleRequest is the request the API sees: the browser's, without its
// body, with a User-Agent naming the console and the browser.
func consoleRequest(r *http.Request) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Body = http.NoBody
	r2.ContentLength = 0
	ua := r.UserAgent()
	if len(ua) > 512 {
		ua = ua[:512]
	}
	if ua == "" {
		r2.Header.Set("User-Agent", userAgentPrefix)
	} else {
		r2.Header.Set("User-Agent", userAgentPrefix+" ("+ua+")")
	}
	return r2
}

// safeNext is a local console path to return to after signing in, or the
// event history.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "/console//") ||
		strings.ContainsAny(next, "\\\r\n") || strings.HasPrefix(next, "/console/login") || strings.HasPrefix(next, "/console/logout") ||
		!cleanPath(next) {
		return "/console/events"
	}
	return next
}

// cleanPath reports whether the path of next (before its query), unescaped,
// has no dot segments: the redirect, or the browser, would resolve them
// and could leave /console/ ("/console/../metrics") or reach a page
// safeNext refuses.
func cleanPath(next string) bool {
	p, _, _ := strings.Cut(next, "?")
	p, err := url.PathUnescape(p)
	if err != nil {
		return false
	}
	return path.Clean(p) == strings.TrimSuffix(p, "/")
}

// partials are the templates every page may use.
var partials = []string{"templates/layout.html", "templates/trail_form.html"}

func (c *Console) parseTemplates() map[string]*template.Template {
	funcs := template.FuncMap{
		"static": c.staticURL,
		"num":    formatNum,
		"num64":  func(n int64) string { return formatNum(int(n)) },
		"list":   func(v ...string) []string { return v },
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"login.html", "message.html", "events.html", "record.html", "trails.html", "trail_new.html", "trail.html", "insights.html", "insight.html", "streams.html", "lake.html", "lake_query.html"} {
		t := template.New(name).Funcs(funcs)
		pages[name] = template.Must(t.ParseFS(templateFS, append(slices.Clone(partials), "templates/"+name)...))
	}
	return pages
}

// formatNum writes n with thousands separators.
func formatNum(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + formatNum(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
