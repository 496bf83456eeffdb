package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cairn-audit/cairn/internal/privdir"
	"github.com/cairn-audit/cairn/internal/proxy"
	"github.com/cairn-audit/cairn/internal/spool"
)

const proxyHelp = `Usage: cairn proxy --upstream URL --server URL --spool-dir DIR [flags]

Runs a recording reverse proxy in front of another service: every request
goes to --upstream unchanged (bodies streamed, the Host header the client
signed kept) and is recorded as a CloudTrail event after the response.

AWS-style services (S3-compatible stores, AWS emulators, anything spoken to
with SigV4) are understood per protocol: JSON (X-Amz-Target), query
(Action=…), S3's REST API and the REST-JSON APIs of the AWS models; the
caller is the access key of the signature, named as its IAM user only when
the server, which knows the key's secret, verified the signature
(additionalEventData.SignatureVerified); the service and region come from
the credential scope. A plain HTTP API is described in --config (routes to
operations, the caller's header or JWT claim). Values of sensitive names
(password, secret, token, api-key, private-key, passwd, pwd, auth, session,
sig, access_key… in any spelling) are recorded as
HIDDEN_DUE_TO_SECURITY_REASONS in both modes.

Behind load balancers or other proxies, --trust-forwarded takes the
caller's address from X-Forwarded-For: the entry --trusted-proxies hops
from its right (default 1: the address the nearest proxy appended). What a
client writes itself at the left is never taken.

Events are written to a durable spool in --spool-dir first and sent from
there to the Cairn server at --server (POST /v1/events, signed with
CAIRN_ACCESS_KEY_ID / CAIRN_SECRET_ACCESS_KEY: a user with the ingest
policy): when the server is down, they wait in the spool, also across a
restart of the proxy.

Flags:
`

func runProxy(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:4591", "listen `address`")
	upstream := fs.String("upstream", "", "the service to proxy, a `URL` (required)")
	server := fs.String("server", "", "the Cairn server's `URL` (required)")
	spoolDir := fs.String("spool-dir", "", "`directory` of the durable event spool (required)")
	configPath := fs.String("config", "", "YAML `file` describing a plain HTTP API (http: event_source, identity, routes)")
	account := fs.String("account", "", "`account` that owns events of callers the server cannot identify (default: the proxy credentials' account)")
	region := fs.String("region", "us-east-1", "`region` of calls that name none (unsigned calls, plain HTTP)")
	globalRegion := fs.String("global-region", "us-east-1", "`region` where calls of global services (IAM, STS, CloudFront…) are recorded")
	trustForwarded := fs.Bool("trust-forwarded", false, "take the caller's address from X-Forwarded-For, as the proxies in front of this one (--trusted-proxies) wrote it")
	trustedProxies := fs.Int("trusted-proxies", 1, "with --trust-forwarded: how many proxies in front of this one append to X-Forwarded-For; the caller is that many `hops` from its right")
	spoolMax := fs.Int64("spool-max-bytes", 256<<20, "most `bytes` of unsent events kept in the spool")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate `file` (PEM); events then carry tlsDetails")
	tlsKey := fs.String("tls-key", "", "the certificate's private key `file` (PEM)")
	if code, ok := parseFlags(fs, args, proxyHelp, stdout, stderr); !ok {
		return code
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "cairn proxy: "+format+"\n", a...)
		return 2
	}
	if *upstream == "" || *server == "" || *spoolDir == "" {
		return fail("--upstream, --server and --spool-dir are required")
	}
	if flagSet(fs, "trusted-proxies") && !*trustForwarded {
		return fail("--trusted-proxies needs --trust-forwarded")
	}
	if *trustedProxies < 1 {
		return fail("--trusted-proxies must be at least 1")
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return fail("--tls-cert and --tls-key go together")
	}
	up, err := url.Parse(*upstream)
	if err != nil || up.Host == "" {
		return fail("--upstream %q is not a URL", *upstream)
	}
	key, secret := os.Getenv("CAIRN_ACCESS_KEY_ID"), os.Getenv("CAIRN_SECRET_ACCESS_KEY")
	if key == "" || secret == "" {
		return fail("set CAIRN_ACCESS_KEY_ID and CAIRN_SECRET_ACCESS_KEY (a user with the ingest policy)")
	}
	var httpCfg *proxy.HTTPConfig
	if *configPath != "" {
		if httpCfg, err = proxy.LoadConfig(*configPath); err != nil {
			return fail("%v", err)
		}
	}
	// The spool holds recorded requests: private to this user, like a data dir.
	if err := privdir.Prepare(*spoolDir, privdir.Options{What: "spool directory", Log: log}); err != nil {
		return fail("%v", err)
	}
	sp, err := spool.Open(*spoolDir, spool.Options{MaxBytes: *spoolMax, Logger: log})
	if err != nil {
		return fail("%v", err)
	}
	defer sp.Close()
	p, err := proxy.New(proxy.Options{Upstream: up, Recorder: sp, Account: *account, Region: *region,
		GlobalRegion: *globalRegion, TrustForwarded: *trustForwarded, TrustedProxies: *trustedProxies, HTTP: httpCfg, Log: log})
	if err != nil {
		return fail("%v", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fail("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sctx, stopSender := context.WithCancel(context.Background())
	sent := make(chan struct{})
	go func() {
		(&proxy.Sender{Spool: sp, Server: *server, Key: key, Secret: secret, Dir: *spoolDir, Log: log}).Run(sctx)
		close(sent)
	}()
	hs := &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() {
		if *tlsCert != "" {
			errc <- hs.ServeTLS(ln, *tlsCert, *tlsKey)
			return
		}
		errc <- hs.Serve(ln)
	}()
	log.Info("cairn proxy listening", "address", ln.Addr().String(), "upstream", up.String(), "server", *server, "spool", *spoolDir)
	select {
	case err = <-errc:
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = hs.Shutdown(shut)
		cancel()
	}
	p.Close() // every finished call is in the spool
	// Give the sender a moment to deliver what is spooled; the rest waits
	// in the spool for the next start.
	drain, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for sp.Stats().Pending > 0 && drain.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	stopSender()
	<-sent
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("cairn proxy stopped", "err", err)
		return 1
	}
	return 0
}

// flagSet reports whether the command line gave the flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
