// Package server is Cairn's HTTP front door: the CloudTrail JSON 1.1 API,
// the native ingest API, health and metrics on one listener. Handlers
// authenticate (SigV4), authorize (the principal's policy), decode, call a
// service, encode, and record every CloudTrail API call as a management
// event; the business rules live in the services.
package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/ingest"
	"github.com/cairn-audit/cairn/internal/insights/query"
	"github.com/cairn-audit/cairn/internal/lake"
	"github.com/cairn-audit/cairn/internal/metrics"
	"github.com/cairn-audit/cairn/internal/sched"
	"github.com/cairn-audit/cairn/internal/sigv4"
	"github.com/cairn-audit/cairn/internal/tail"
	"github.com/cairn-audit/cairn/internal/trail"
)

// Options are the server's dependencies and limits.
type Options struct {
	Directory *auth.Directory
	Ingest    *ingest.Service
	History   *history.Service
	Trails    *trail.Service
	Keys      PublicKeys
	Metrics   *metrics.Metrics
	Log       *slog.Logger
	// MaxIngestBytes bounds a /v1/events body; MaxIngestRecords its records.
	MaxIngestBytes   int64
	MaxIngestRecords int
	// RequestsPerSecond limits the requests of each access key (API calls
	// and ingest), with bursts of twice the rate; 0 is unlimited.
	RequestsPerSecond float64
	// LookupsPerSecond limits LookupEvents per account and region, with
	// bursts of twice the rate; 0 is unlimited.
	LookupsPerSecond float64
	// MaxInflightIngest bounds the /v1/events requests served at once
	// (taken once a request is authenticated and its body read); beyond it
	// a request is answered 429 at once. 0 means DefaultMaxInflightIngest.
	MaxInflightIngest int
	// MaxInflightPerKey and MaxInflightPerAddress bound the authenticated
	// requests (API and ingest) in flight, from their signature's check
	// until their answer, of one access key and of one client address;
	// beyond them a request is answered 429. 0 means the Default…
	// constants.
	MaxInflightPerKey     int
	MaxInflightPerAddress int
	// BodyReadTimeout bounds the time a request body takes to arrive; 0
	// means DefaultBodyReadTimeout.
	BodyReadTimeout time.Duration
	// UnauthenticatedBodyBytes bounds the body bytes buffered, over all
	// clients, before signatures are verified; UnauthenticatedBytesPerAddress
	// and UnauthenticatedRequestsPerAddress bound the bytes and the requests
	// of one client address (IPv4 address or IPv6 /64) meanwhile. Beyond
	// them a request is answered 429. 0 means the Default… constants.
	UnauthenticatedBodyBytes          int64
	UnauthenticatedBytesPerAddress    int64
	UnauthenticatedRequestsPerAddress int
	// UnauthenticatedBytesPerKey bounds those bytes for the requests that
	// name one access key (console forms, which name none, count as one
	// key); 0 means DefaultUnauthenticatedBytesPerKey.
	UnauthenticatedBytesPerKey int64
	// Now is the clock (for SigV4 skew checks); nil means time.Now.
	Now func() time.Time
	// Coverage tells cairn verify which digest chains a trail has (see
	// serveTrailCoverage).
	Coverage Coverage

	// Insights answers ListInsightsMetricData and ListInsightsData; nil
	// leaves them unsupported.
	Insights *query.Service

	// Lake serves CloudTrail Lake's event data stores and queries; nil
	// leaves them unsupported.
	Lake *lake.Service

	// Status reports what delivery knows of a trail, for GetTrailStatus
	// (the delivery engine); nil reports nothing.
	Status trail.StatusSource

	// Console, when set, makes the web console New mounts at /console/.
	// It is handed the server, through whose typed API calls (api.go) the
	// console runs every CloudTrail operation (the console and the server
	// each need the other, so the server makes it).
	Console func(api *Server) http.Handler

	// Tail serves the live tail (GET /v1/stream and the console's Live
	// mode); nil serves none. TailStream tunes its streams.
	Tail       *tail.Hub
	TailStream tail.StreamOptions

	// Streams reports the streaming destinations of an account (the
	// console's Streams page); nil reports none.
	Streams StreamViews

	// Gate counts the LookupEvents calls in flight, from their
	// authentication to their answer, so that background work steps
	// aside for them (package sched): New makes Ingest's decoding yield
	// to it; the caller makes the store's indexer yield too. Nil: lookups
	// take their turn like any other work.
	Gate *sched.Gate
}

// maxAPIBytes bounds a CloudTrail API request body (config.MaxAPIBodyBytes).
const maxAPIBytes = 1 << 20

// maxConsoleFormBytes is what a console request is counted for before its
// sign-in is known: the console reads at most 256 KiB of a form.
const maxConsoleFormBytes = 256 << 10

// Server serves Cairn's HTTP APIs.
type Server struct {
	opts    Options
	ops     map[string]operation
	console http.Handler
	// requests and lookups are the per-principal rate limits (nil:
	// unlimited); ingestSlots bounds the ingest requests in flight.
	requests    *rateLimiter
	lookups     *rateLimiter
	ingestSlots chan struct{}
	// preAuth bounds what requests hold before they are authenticated;
	// inflight what authenticated requests of a key or address hold.
	preAuth  *preAuth
	inflight *inflight
	// proven remembers the addresses each key proved itself from lately.
	proven *proven
	// verifier checks signatures: service cloudtrail, body always signed.
	verifier sigv4.Verifier
	// proofs checks the signature proofs cairn proxy sends with records.
	proofs *proofChecker
}

// operation is one implemented CloudTrail API operation.
type operation struct {
	readOnly bool
	// handle decodes the call's body and runs the operation.
	handle handleFunc
}

// handleFunc runs one call and returns its answer.
type handleFunc func(ctx context.Context, c *call) (any, error)

// handler runs one operation on its decoded request.
type handler[In, Out any] func(ctx context.Context, c *call, in In) (Out, error)

// read and write make the operation of h, one that only reads or one that
// changes something: its HTTP requests' bodies are decoded into In.
func read[In, Out any](h handler[In, Out]) operation {
	return operation{readOnly: true, handle: decoded(h)}
}

func write[In, Out any](h handler[In, Out]) operation {
	return operation{handle: decoded(h)}
}

// decoded is h run on a call's body decoded into In.
func decoded[In, Out any](h handler[In, Out]) handleFunc {
	return func(ctx context.Context, c *call) (any, error) {
		var in In
		if err := awsproto.Decode(c.body, &in); err != nil {
			return nil, err
		}
		return h(ctx, c, in)
	}
}

// call is one authenticated API request.
type call struct {
	op        string
	principal *auth.Principal
	region    string
	body      []byte
	requestID string
	r         *http.Request
	// resources are the resources the call was about (for its audit record).
	resources []event.Resource
	// responseElements, when set, are what the audit record holds as
	// responseElements for a read-only call CloudTrail still records an
	// answer for (StartQuery's queryId). A call that changes something
	// records its whole answer without this.
	responseElements any
}

// New makes the server.
func New(o Options) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Gate != nil && o.Ingest != nil {
		o.Ingest.YieldTo(o.Gate)
	}
	orDefault(&o.MaxIngestBytes, 8<<20)
	orDefault(&o.MaxIngestRecords, 1000)
	orDefault(&o.MaxInflightIngest, DefaultMaxInflightIngest)
	orDefault(&o.BodyReadTimeout, DefaultBodyReadTimeout)
	orDefault(&o.UnauthenticatedBodyBytes, DefaultUnauthenticatedBodyBytes)
	orDefault(&o.UnauthenticatedBytesPerAddress, DefaultUnauthenticatedBytesPerAddress)
	orDefault(&o.UnauthenticatedRequestsPerAddress, DefaultUnauthenticatedRequestsPerAddress)
	orDefault(&o.UnauthenticatedBytesPerKey, DefaultUnauthenticatedBytesPerKey)
	orDefault(&o.MaxInflightPerKey, DefaultMaxInflightPerKey)
	orDefault(&o.MaxInflightPerAddress, DefaultMaxInflightPerAddress)
	s := &Server{opts: o,
		requests:    newRateLimiter(o.RequestsPerSecond, o.Now),
		lookups:     newRateLimiter(o.LookupsPerSecond, o.Now),
		ingestSlots: make(chan struct{}, o.MaxInflightIngest),
		preAuth: newPreAuth(o.UnauthenticatedRequestsPerAddress, o.UnauthenticatedBytesPerAddress,
			o.UnauthenticatedBytesPerKey, o.UnauthenticatedBodyBytes),
		inflight: newInflight(o.MaxInflightPerKey, o.MaxInflightPerAddress),
		proven:   newProven(),
		verifier: sigv4.Verifier{Credentials: o.Directory, Service: "cloudtrail", RequireSignedPayload: true},
		proofs:   newProofChecker(o.Directory, o.Now),
	}
	o.Metrics.WatchUnauthenticated(s.preAuth.usage)
	s.ops = s.trailOps()
	s.ops["LookupEvents"] = read(s.lookupEvents)
	maps.Copy(s.ops, s.insightsOps())
	maps.Copy(s.ops, s.lakeOps())
	maps.Copy(s.ops, s.importOps())
	s.ops[coverageOp] = read(s.trailCoverage)
	if o.Keys != nil {
		s.ops["ListPublicKeys"] = read(s.listPublicKeys)
	}
	if o.Console != nil {
		s.console = o.Console(s)
	}
	return s
}

// Handler returns the HTTP handler of every surface.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", s.serveAPI)
	mux.HandleFunc("POST /v1/events", s.serveIngest)
	mux.HandleFunc("POST /v1/trail-coverage", s.serveTrailCoverage)
	mux.HandleFunc("GET /v1/stream", s.serveStream)
	// HEAD would reach GET's handler and open (and audit) a stream.
	mux.HandleFunc("HEAD /v1/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodGet)
		w.WriteHeader(http.StatusMethodNotAllowed)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	if s.opts.Metrics != nil {
		mux.Handle("GET /metrics", s.opts.Metrics.Handler())
	}
	if s.console != nil {
		mux.Handle("/console/", s.boundForms(s.console))
		mux.Handle("GET /console", http.RedirectHandler("/console/", http.StatusSeeOther))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		awsproto.WriteError(w, newRequestID(), &awsproto.Error{Code: awsproto.UnknownOperationException,
			Message: "No API is served at " + r.Method + " " + r.URL.Path + ".", Status: http.StatusNotFound})
	})
	return recoverer(s.opts.Log, mux)
}

// recoverer turns a panic in a handler into an InternalFailure answer, so
// that no request can take the server down.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("server: handler panic", "method", r.Method, "path", r.URL.Path, "panic", v)
				awsproto.WriteError(w, "", awsproto.Internal())
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func newRequestID() string { return uuid.NewString() }

// authenticate verifies the request's signature for service against its
// body and returns the principal and the region it was signed for.
func (s *Server) authenticate(r *http.Request, body []byte, service string) (*auth.Principal, string, error) {
	v := s.verifier
	v.Service = service
	res, err := v.Verify(r, body, s.opts.Now())
	if err != nil {
		return nil, "", signatureError(err)
	}
	p, err := s.principal(res.AccessKeyID)
	if err != nil {
		return nil, "", err
	}
	return p, res.Region, nil
}

// principal is the principal of a verified access key.
func (s *Server) principal(accessKeyID string) (*auth.Principal, error) {
	p, ok := s.opts.Directory.Principal(accessKeyID)
	if !ok {
		return nil, awsproto.Errorf(awsproto.UnrecognizedClientException, "The security token included in the request is invalid.")
	}
	return p, nil
}

// signatureError is a sigv4 error in the AWS error shape.
func signatureError(err error) error {
	var se *sigv4.Error
	if errors.As(err, &se) {
		return awsproto.Errorf(awsproto.Code(se.Code), "%s", se.Message)
	}
	return err
}

// boundForms counts a console request with a body against the bounds of
// requests not yet authenticated (for as long as it is served: a console
// form is read before its session or sign-in is checked), and gives its
// body BodyReadTimeout to arrive.
func (s *Server) boundForms(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		h, ok := s.preAuth.enter(clientKey(r.RemoteAddr), consoleKey, false)
		if !ok {
			s.refuseUnread(w, r)
			writeError(w, newRequestID(), tooManyRequests())
			return
		}
		defer h.release()
		// The bytes are reserved as the console reads them: a
		// Content-Length alone reserves nothing.
		most := int64(maxConsoleFormBytes) + 1 // the console's limit and the byte that finds it exceeded
		if r.ContentLength > 0 {
			most = min(most, r.ContentLength)
		}
		r.Body = &formBody{ReadCloser: r.Body, h: h, most: most}
		// net/http lifts the deadline when the body has been read.
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.opts.BodyReadTimeout))
		next.ServeHTTP(w, r)
	})
}

// formBody is a console request's body that reserves its bytes from its
// hold as they are read, at most most in all; a read the hold's bounds
// cannot take fails with errOverBudget (the console then refuses the form).
type formBody struct {
	io.ReadCloser
	h    *hold
	read int64
	most int64
}

func (b *formBody) Read(p []byte) (int, error) {
	if b.read >= b.most {
		return 0, io.EOF
	}
	want := min(b.read+int64(len(p)), b.most)
	if want > b.h.bytes {
		got, ok := b.h.grow(want, b.read+1)
		if !ok {
			return 0, errOverBudget
		}
		want = got
	}
	n, err := b.ReadCloser.Read(p[:want-b.read])
	b.read += int64(n)
	return n, err
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	name, ok := awsproto.Operation(r.Header.Get("X-Amz-Target"))
	if !ok || !awsproto.Operations[name] {
		s.refuseUnread(w, r)
		s.answerFailure(w, "unknown", newRequestID(), time.Now(),
			awsproto.Errorf(awsproto.UnknownOperationException, "The X-Amz-Target header %q names no CloudTrail operation.", r.Header.Get("X-Amz-Target")))
		return
	}
	s.serveOperation(w, r, name)
}

// serveOperation authenticates, authorizes, calls and answers operation op
// of an API request, and records it (CloudTrail's operations at POST /,
// and Cairn's own at routes of their own).
func (s *Server) serveOperation(w http.ResponseWriter, r *http.Request, op string) {
	start := time.Now()
	requestID := newRequestID()
	req, done, err := s.receive(w, r, maxAPIBytes, nil)
	if err != nil {
		s.answerFailure(w, op, requestID, start, err)
		return
	}
	defer done()
	if urgent(op) {
		defer s.opts.Gate.Urgent()()
	}
	resp, err := s.invoke(&call{op: op, principal: req.principal, region: req.region, body: req.body, requestID: requestID, r: r}, nil)
	if err != nil {
		s.answerFailure(w, op, requestID, start, err)
		return
	}
	s.opts.Metrics.Request(op, "OK", time.Since(start))
	awsproto.WriteJSON(w, requestID, resp)
}

// urgent says whether calls of op take the CPU before background work:
// LookupEvents, whose latency people and their tools wait on. Only an
// authenticated call counts (one over its account's lookup rate only
// until it is refused), so a stranger cannot hold the ingest back, and
// a tenant only boundedly (sched.DefaultMaxWait a yield point) and as
// long as its lookups last.
func urgent(op string) bool { return op == "LookupEvents" }

// answerFailure answers a failed API request in the AWS error shape; an
// error that is not an AWS error is answered as InternalFailure, its cause
// only in the log.
func (s *Server) answerFailure(w http.ResponseWriter, op, requestID string, start time.Time, err error) {
	var ae *awsproto.Error
	if !errors.As(err, &ae) {
		s.opts.Log.Error("server: internal error", "operation", op, "requestId", requestID, "err", err)
	}
	s.opts.Metrics.Request(op, string(awsproto.As(err).Code), time.Since(start))
	writeError(w, requestID, err)
}

// invoke authorizes, runs and audits one call; handle runs it (nil: the
// operation's own, which decodes the call's body).
func (s *Server) invoke(c *call, handle handleFunc) (any, error) {
	impl, implemented := s.ops[c.op]
	if handle == nil {
		handle = impl.handle
	}
	var resp any
	var err error
	switch {
	case !s.opts.Ingest.Serves(c.region):
		err = awsproto.Errorf(awsproto.UnsupportedOperationException, "This Cairn server does not serve region %s.", c.region)
	case s.overRate(c):
		err = throttled()
	case !c.principal.Allows("cloudtrail:" + c.op):
		err = awsproto.Errorf(awsproto.AccessDeniedException, "User: %s is not authorized to perform: cloudtrail:%s", c.principal.ARN, c.op)
	case !implemented:
		err = awsproto.Errorf(awsproto.UnsupportedOperationException, "Cairn does not support %s yet.", c.op)
	default:
		resp, err = handle(c.r.Context(), c)
	}
	if s.opts.Ingest.Serves(c.region) {
		s.audit(c, implemented && impl.readOnly || readOnlyName(c.op), resp, err)
	}
	return resp, err
}

// readOnlyName says whether an operation only reads, by CloudTrail's naming.
func readOnlyName(op string) bool {
	for _, p := range []string{"Get", "List", "Describe", "Lookup", "Search"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

func (s *Server) lookupEvents(ctx context.Context, c *call, in history.Input) (history.Output, error) {
	return s.opts.History.Lookup(ctx, c.principal.Account, c.region, in)
}

// sourceIP is the caller's address as CloudTrail records it.
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// orDefault sets *v to d when it is zero or negative (an option left unset).
func orDefault[T int | int64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}
