package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/console"
	"github.com/cairn-audit/cairn/internal/delivery"
	"github.com/cairn-audit/cairn/internal/envelope"
	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/ingest"
	"github.com/cairn-audit/cairn/internal/insights/counts"
	"github.com/cairn-audit/cairn/internal/insights/query"
	"github.com/cairn-audit/cairn/internal/lake"
	"github.com/cairn-audit/cairn/internal/loggroup"
	"github.com/cairn-audit/cairn/internal/metrics"
	"github.com/cairn-audit/cairn/internal/privdir"
	"github.com/cairn-audit/cairn/internal/retention"
	"github.com/cairn-audit/cairn/internal/sched"
	"github.com/cairn-audit/cairn/internal/server"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/postgres"
	"github.com/cairn-audit/cairn/internal/store/sqlite"
	"github.com/cairn-audit/cairn/internal/stream"
	"github.com/cairn-audit/cairn/internal/tail"
	"github.com/cairn-audit/cairn/internal/trail"
)

const serveHelp = `Usage: cairn serve [flags]

Runs the Cairn server: the CloudTrail API (LookupEvents and the rest), the
native ingest API (POST /v1/events), /healthz and /metrics, on one address.

Credentials: a config file's accounts; or, without them, the administrator
"admin" of account CAIRN_ACCOUNT_ID (default 123456789012) whose key pair is
CAIRN_ACCESS_KEY_ID / CAIRN_SECRET_ACCESS_KEY; or, with neither, a key pair
generated on first start and kept in <data-dir>/admin-credentials (mode 0600).

The data directory holds the digest signing keys and credentials: it is
created with mode 0700, files in it 0600; a data directory other users may
read (group or world permissions) is refused until you chmod 700 it.

A trail with a CloudWatch Logs log group (CloudWatchLogsLogGroupArn) sends
each event it selects, within seconds, to where the config's log_groups:
entry for that group points: the CloudWatch Logs API (cloudwatch-logs://),
an NDJSON file (file://) or an endpoint taking NDJSON POSTs (http(s)://).

Each account in the config's event_buses: gets its events as CloudTrail sends
them to EventBridge (write management events, reads and data events when
asked, Insights, console sign-ins), in CloudTrail's EventBridge envelope:
through PutEvents to an EventBridge API (eventbridge://?endpoint=URL) or as
signed NDJSON POSTs to webhooks that filter with an EventBridge event pattern.

The server runs twice as many Go processors as the runtime would choose
(CPUs, or the container's CPU quota): woken writers and lookups then get a
processor at once. GOMAXPROCS in the environment sets the number instead.

Flags (each also settable in the config file; a flag wins):
`

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", os.Getenv("CAIRN_CONFIG"), "YAML config `file` (env CAIRN_CONFIG)")
	listen := fs.String("listen", "", "listen `address` (default 127.0.0.1:4590)")
	dataDir := fs.String("data-dir", "", "data `directory` (default ./cairn-data)")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn, error")
	pprofAddr := fs.String("pprof", "", "serve Go's profiler (net/http/pprof) on this `address`, e.g. 127.0.0.1:6060")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate `file` (PEM, with its chain)")
	tlsKey := fs.String("tls-key", "", "the certificate's private key `file` (PEM)")
	if code, ok := parseFlags(fs, args, serveHelp, stdout, stderr); !ok {
		return code
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "cairn serve: bad --log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg := config.Default()
	if *configPath != "" {
		var err error
		if cfg, err = config.Load(*configPath); err != nil {
			fmt.Fprintf(stderr, "cairn serve: %v\n", err)
			return 1
		}
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if err := privdir.Prepare(cfg.DataDir, privdir.Options{What: "data directory", Skip: sharedInDataDir(cfg), Log: log}); err != nil {
		fmt.Fprintf(stderr, "cairn serve: %v\n", err)
		return 1
	}
	// One server per data directory, whatever the store driver: two would
	// append to one event log (and share lake.db, node-id, the KMS keys).
	// Taken before anything in the directory is written; held until exit.
	lock, err := privdir.Lock(cfg.DataDir, "data directory")
	if err != nil {
		fmt.Fprintf(stderr, "cairn serve: %v\n", err)
		return 1
	}
	defer lock.Unlock()
	if len(cfg.Accounts) == 0 {
		var err error
		if cfg, err = quickStart(cfg, stdout); err != nil {
			fmt.Fprintf(stderr, "cairn serve: %v\n", err)
			return 1
		}
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "cairn serve: %v\n", err)
		return 1
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		fmt.Fprintln(stderr, "cairn serve: --tls-cert and --tls-key go together")
		return 2
	}
	procs := setServerProcs(os.Getenv("GOMAXPROCS"))
	log.Info("go processors", "gomaxprocs", procs, "cpus", runtime.NumCPU())
	if *pprofAddr != "" {
		go servePprof(*pprofAddr, log)
	}
	if err := serve(cfg, log, *tlsCert, *tlsKey); err != nil {
		log.Error("cairn serve: stopped", "err", err)
		return 1
	}
	return 0
}

// sharedInDataDir reports which paths in the data directory hold what is
// meant to be read by others, and keep the modes they have: directory
// buckets (<data_dir>/buckets, and a configured file:// bucket inside the
// data directory), whose log files consumers such as a SIEM read. They are
// still reachable only through the data directory, which is private: a
// bucket others must read belongs outside it (a file:// URL).
func sharedInDataDir(cfg *config.Config) func(rel string) bool {
	shared := map[string]bool{"buckets": true}
	if base, err := filepath.Abs(cfg.DataDir); err == nil {
		for _, b := range cfg.Buckets {
			u, err := url.Parse(b.URL)
			if err != nil || u.Scheme != "file" {
				continue
			}
			if rel, err := filepath.Rel(base, filepath.Clean(u.Path)); err == nil && rel != "." && filepath.IsLocal(rel) {
				shared[filepath.ToSlash(rel)] = true
			}
		}
	}
	return func(rel string) bool { return shared[rel] }
}

// servePprof serves the profiler on its own listener, apart from the API.
func servePprof(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	log.Info("pprof serving", "address", addr)
	if err := http.ListenAndServe(addr, mux); err != nil {
		log.Error("pprof stopped", "err", err)
	}
}

// quickStart gives a config without accounts its administrator: from the
// environment, or from a key pair generated once and kept in the data dir.
func quickStart(cfg *config.Config, stdout io.Writer) (*config.Config, error) {
	account := os.Getenv("CAIRN_ACCOUNT_ID")
	if account == "" {
		account = "123456789012"
	}
	if !accountRE.MatchString(account) {
		return nil, fmt.Errorf("CAIRN_ACCOUNT_ID %q must be 12 digits", account)
	}
	id, secret := os.Getenv("CAIRN_ACCESS_KEY_ID"), os.Getenv("CAIRN_SECRET_ACCESS_KEY")
	if id != "" || secret != "" {
		if id == "" || secret == "" {
			return nil, errors.New("set both CAIRN_ACCESS_KEY_ID and CAIRN_SECRET_ACCESS_KEY, or neither")
		}
		if !keyIDRE.MatchString(id) {
			return nil, fmt.Errorf("CAIRN_ACCESS_KEY_ID %q must be 16 to 128 uppercase letters and digits", id)
		}
		return config.FromEnv(cfg, account, id, secret), nil
	}
	path := filepath.Join(cfg.DataDir, "admin-credentials")
	creds, err := readCredentials(path)
	if errors.Is(err, os.ErrNotExist) {
		creds = map[string]string{
			"CAIRN_ACCOUNT_ID":        account,
			"CAIRN_ACCESS_KEY_ID":     "AKIA" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
			"CAIRN_SECRET_ACCESS_KEY": randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
		}
		if err := writeCredentials(path, creds); err != nil {
			return nil, err
		}
		fmt.Fprintf(stdout, "Generated an administrator key pair for account %s and saved it in %s (mode 0600).\n"+
			"Load it into your shell with:  set -a; . %s; set +a\n", creds["CAIRN_ACCOUNT_ID"], path, path)
	} else if err != nil {
		return nil, err
	} else {
		fmt.Fprintf(stdout, "Administrator credentials: %s\n", path)
	}
	return config.FromEnv(cfg, creds["CAIRN_ACCOUNT_ID"], creds["CAIRN_ACCESS_KEY_ID"], creds["CAIRN_SECRET_ACCESS_KEY"]), nil
}

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	keyIDRE   = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
)

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func readCredentials(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			m[k] = v
		}
	}
	if m["CAIRN_ACCOUNT_ID"] == "" || m["CAIRN_ACCESS_KEY_ID"] == "" || m["CAIRN_SECRET_ACCESS_KEY"] == "" {
		return nil, fmt.Errorf("%s: incomplete credentials file", path)
	}
	return m, sc.Err()
}

func writeCredentials(path string, m map[string]string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	body := fmt.Sprintf("# Cairn administrator credentials, generated %s\nCAIRN_ACCOUNT_ID=%s\nCAIRN_ACCESS_KEY_ID=%s\nCAIRN_SECRET_ACCESS_KEY=%s\n",
		time.Now().UTC().Format(time.RFC3339), m["CAIRN_ACCOUNT_ID"], m["CAIRN_ACCESS_KEY_ID"], m["CAIRN_SECRET_ACCESS_KEY"])
	return os.WriteFile(path, []byte(body), 0o600)
}

func openStore(cfg *config.Config, log *slog.Logger) (store.Store, error) {
	switch cfg.Store.Driver {
	case config.DriverSQLite, "":
		return sqlite.OpenWith(cfg.DataDir, sqlite.Options{CacheBytes: int64(cfg.Store.CacheMiB) << 20,
			LogCacheBytes: int64(cfg.Store.LogCacheMiB) << 20, Logger: log})
	case config.DriverPostgres:
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return postgres.Open(ctx, cfg.Store.DSN)
	}
	return nil, fmt.Errorf("store driver %q is not available in this build yet", cfg.Store.Driver)
}

// serve runs the server until SIGINT or SIGTERM, then shuts down gracefully.
func serve(cfg *config.Config, log *slog.Logger, tlsCert, tlsKey string) error {
	st, err := openStore(cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	m := metrics.New(st)
	hub := tail.New(st, tail.Options{MaxStreams: cfg.Tail.MaxStreams, MaxStreamsPerKey: cfg.Tail.MaxStreamsPerKey, Log: log})
	dir := auth.NewDirectory(auth.Options{Partition: cfg.Partition, Accounts: cfg.Accounts})
	buckets := bucket.NewResolver(bucket.ResolverOptions{DataDir: cfg.DataDir, Buckets: cfg.Buckets})
	owners := trail.OwnersOptions{Ownership: cfg.Ownership(), Buckets: cfg.Buckets, KMSKeys: cfg.KMSKeys, Topics: cfg.Topics}
	trails := trail.NewService(st, trail.Options{OwnersOptions: owners, Partition: cfg.Partition, Regions: cfg.Regions,
		LogGroups: cfg.LogGroups}, buckets)
	// Buckets that trails already name stay their accounts' (trails saved
	// by an older version, or while only one account was configured).
	cctx, cancelClaims := context.WithTimeout(context.Background(), time.Minute)
	err = trails.ClaimUsedBuckets(cctx)
	cancelClaims()
	if err != nil {
		return err
	}
	node, err := nodeName(cfg.DataDir)
	if err != nil {
		log.Warn("delivery: no node name kept; a restart waits for its old leases", "err", err)
	}
	engine := delivery.New(st, trails, buckets, delivery.Options{Owners: owners, Partition: cfg.Partition,
		Regions: cfg.Regions, GlobalRegion: cfg.GlobalRegion,
		FlushInterval: cfg.Delivery.FlushInterval.Duration, DigestInterval: cfg.Delivery.DigestInterval.Duration,
		KMS:  envelope.NewConfigKeys(envelope.KeysOptions{DataDir: cfg.DataDir, KMSKeys: cfg.KMSKeys, Create: true}),
		Node: node, Log: log})
	lakeDB, err := openLake(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lakeDB.Close()
	go func() {
		if err := lakeDB.ReframeErr(); err != nil {
			log.Warn("lake: blocks of the format before frames are left as they are until the next start", "err", err)
		}
	}()
	lakes := lake.New(st, lakeEngine{lakeDB}, lake.Options{Partition: cfg.Partition, Ownership: cfg.Ownership(), Node: node, Log: log,
		SingleNode:   cfg.Store.Driver == config.DriverSQLite,
		Buckets:      importBuckets{buckets, trails},
		QueryTimeout: cfg.Lake.QueryTimeout.Duration, MaxResultRows: cfg.Lake.MaxResultRows,
		MaxResultBytes: cfg.Lake.MaxResultMiB << 20, MaxKeptResultBytes: int64(cfg.Lake.MaxKeptResultMiB) << 20,
		MaxConcurrentQueries: cfg.Lake.MaxConcurrentQueries,
		QuerySlots:           lakeQuerySlots})
	defer lakes.Close()
	logGroups := loggroup.NewResolver(cfg.LogGroups)
	defer logGroups.Close()
	buses, err := eventBusSource(st, cfg, log)
	if err != nil {
		return err
	}
	streams := stream.New(st, []stream.Source{
		loggroup.NewSource(trails, trail.Scope{Regions: cfg.Regions, GlobalRegion: cfg.GlobalRegion, Members: cfg.OrganizationMembers()}, logGroups),
		buses,
	}, stream.Options{Node: node, Log: log, Metrics: m})
	m.WatchStreams(streams.Lag, hub.Streams)
	// Streams and the live tail hear of this node's acknowledged events at
	// once rather than at their next poll (other nodes' within it).
	ing := ingest.New(store.WakeAfter(st, streams.Wake, hub.Wake, lakes.Filler().Wake), cfg.Regions, m, log)
	defer ing.Close()
	// Lookups take the CPU first: ingest decoding (server.New wires it)
	// and the embedded store's indexer step aside while any is in flight
	// (package sched).
	gate := sched.New(0)
	if y, ok := st.(interface{ YieldTo(*sched.Gate) }); ok {
		y.YieldTo(gate)
	}
	hist := history.New(st, cfg.EventHistoryDays)
	insightCounts := counts.New(st, nil, log)
	srv := server.New(server.Options{
		Directory:        dir,
		Ingest:           ing,
		History:          hist,
		Insights:         query.New(insightCounts, trails, hist, nil),
		Trails:           trails,
		Lake:             lakes,
		Status:           loggroup.Status{Delivery: engine, Streams: streams},
		Keys:             engine.Keys(),
		Coverage:         coverage(cfg),
		Metrics:          m,
		Log:              log,
		MaxIngestBytes:   cfg.Limits.MaxBodyBytes,
		MaxIngestRecords: cfg.Limits.MaxBatchRecords,

		RequestsPerSecond: cfg.Limits.RequestsPerSecond,
		LookupsPerSecond:  cfg.Limits.LookupsPerSecond,
		MaxInflightIngest: cfg.Limits.MaxInflightIngest,

		BodyReadTimeout:                   cfg.Limits.BodyReadTimeout.Duration,
		UnauthenticatedBodyBytes:          cfg.Limits.UnauthenticatedBodyBytes,
		UnauthenticatedBytesPerAddress:    cfg.Limits.UnauthenticatedBytesPerAddress,
		UnauthenticatedRequestsPerAddress: cfg.Limits.UnauthenticatedRequestsPerAddress,
		UnauthenticatedBytesPerKey:        cfg.Limits.UnauthenticatedBytesPerKey,
		MaxInflightPerKey:                 cfg.Limits.MaxInflightPerKey,
		MaxInflightPerAddress:             cfg.Limits.MaxInflightPerAddress,

		Tail:       hub,
		TailStream: tail.StreamOptions{Heartbeat: cfg.Tail.Heartbeat.Duration},
		Streams:    streams,
		Gate:       gate,

		Console: func(api *server.Server) http.Handler {
			return console.New(console.Options{Directory: dir, API: api, Regions: cfg.Regions, Log: log, Sessions: st,
				// Sign-ins are recorded as the server's own API calls are: durable
				// before the browser hears back.
				Record: func(ctx context.Context, account string, record []byte) error {
					return ing.Record(ctx, account, record, true)
				},
				GlobalRegion: cfg.GlobalRegion,
				SessionTTL:   cfg.Console.SessionTTL.Duration,
				SignIn: console.SignInLimits{
					FailuresPerKey:     cfg.Console.SignIn.FailuresPerKey,
					FailuresPerAddress: cfg.Console.SignIn.FailuresPerAddress,
					FirstWait:          cfg.Console.SignIn.FirstWait.Duration,
					MaxWait:            cfg.Console.SignIn.MaxWait.Duration,
				},
			})
		},
	})
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	// Headers must arrive within 10s (slow-header callers are cut off), a
	// body within limits.body_read_timeout once its handler reads it, and
	// a whole request within config.MaxRequestReadTime.
	hs := &http.Server{
		Handler:           srv.Handler(),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       config.MaxRequestReadTime,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Shutdown waits for connections to go idle, which a stream never
	// does: closing the hub ends every stream cleanly first.
	hs.RegisterOnShutdown(hub.Close)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tctx, stopTail := context.WithCancel(context.Background())
	defer stopTail()
	go hub.Run(tctx)
	insightsReadTo, stopInsights := runInsights(st, trails, insightCounts, cfg, log, node, m)
	defer stopInsights()
	go retention.Run(ctx, retention.Options{Events: st, ReadTo: readToAll(engine.ReadTo, insightsReadTo, streams.ReadTo, lakes.Filler().ReadTo),
		Days: cfg.EventHistoryDays, Logger: log})
	delivered := make(chan struct{})
	dctx, stopDelivery := context.WithCancel(context.Background())
	go func() { engine.Run(dctx); close(delivered) }()
	defer func() { stopDelivery(); <-delivered }()
	// The Lake fills this node's copy of the event data stores.
	filled := make(chan struct{})
	lctx, stopLake := context.WithCancel(context.Background())
	go func() { lakes.Filler().Run(lctx); close(filled) }()
	defer func() { stopLake(); <-filled }()
	// Streams stop after the listener: what was acknowledged is sent (or,
	// past a few seconds, left to the next start).
	streamed := make(chan struct{})
	sctx, stopStreams := context.WithCancel(context.Background())
	go func() { streams.Run(sctx); close(streamed) }()
	defer func() { stopStreams(); <-streamed }()
	errc := make(chan error, 1)
	go func() {
		if tlsCert != "" {
			errc <- hs.ServeTLS(ln, tlsCert, tlsKey)
			return
		}
		errc <- hs.Serve(ln)
	}()
	log.Info("cairn serving", "address", ln.Addr().String(), "tls", tlsCert != "", "data_dir", cfg.DataDir,
		"store", cfg.Store.Driver, "accounts", len(cfg.Accounts), "regions", len(cfg.Regions))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("cairn shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}

// nodeName is this node's lasting name (kept in the data directory), used
// in delivery leases.
func nodeName(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "node-id")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	name := randomString(20, "abcdefghijklmnopqrstuvwxyz0123456789")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	return name, os.WriteFile(path, []byte(name+"\n"), 0o600)
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if code, ok := parseFlags(fs, args, "Usage: cairn version\n\nPrints the version and build information.\n", stdout, stderr); !ok {
		return code
	}
	fmt.Fprintf(stdout, "cairn %s\n", version)
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(stdout, "go: %s\n", bi.GoVersion)
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.time" || s.Key == "vcs.modified" {
				fmt.Fprintf(stdout, "%s: %s\n", s.Key, s.Value)
			}
		}
	}
	return 0
}

// coverage is what the server tells cairn verify about trails' digest
// chains: the served regions, the organization, the digest interval.
func coverage(cfg *config.Config) server.Coverage {
	c := server.Coverage{Regions: cfg.Regions, Members: cfg.OrganizationMembers(), DigestInterval: cfg.Delivery.DigestInterval.Duration}
	if cfg.Organization != nil {
		c.OrganizationID = cfg.Organization.ID
	}
	return c
}
