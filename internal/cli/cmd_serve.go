package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/entraide/entraide/internal/api"
	"github.com/entraide/entraide/internal/cooperation"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/portal"
	"github.com/entraide/entraide/internal/web"
)

// shutdownGrace bounds how long serve waits for requests in flight on SIGINT/SIGTERM.
const shutdownGrace = 20 * time.Second

func runServe(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "serve", "serve --data DIR [--listen ADDR] [--fed-listen ADDR] [--db URL]", `
Serve the node: TAXII 2.1 over HTTPS (TLS 1.2 minimum, 1.3 preferred) on the
user listener, with the certificate init created. Discovery is at
https://ADDR/taxii2/ and the API root at https://ADDR/api/. Users log in with
HTTP Basic (password) or a bearer token (entraide user token).

The same listener serves the JSON API of the cooperation workflows (alerts
and every other kind: list, read, open, act) at https://ADDR/entraide/v1/,
with the same logins: users who may read the default collection read the
cases, users who may write it (or admins) open cases and act, and the signed
objects name them as the actor. See docs/api.md.

The web console is at https://ADDR/console/ (https://ADDR/ leads a browser
there): the node's users log in with their password and work by role —
admin, analyst, liaison or viewer (entraide user set-role). See
docs/console.md.

With --fed-listen, also serve the federation: TAXII 2.1 over mutual TLS 1.3
for pinned peers only (their pushes are verified, policy-checked and
audited; their pulls are filtered by the sharing policy), and run the
delivery workers that push each peer's queue.

SIGINT or SIGTERM stops the server gracefully: it stops accepting, lets
requests in flight finish (up to 20 s) and closes the database.`)
	data := dataFlag(fs)
	fs.String("listen", "", "address of the user listener, host:port (default 127.0.0.1:8443)")
	fs.String("fed-listen", "", "address of the federation listener, host:port (default: not served)")
	fs.String("db", "", "database URL (postgres://…); default: the embedded SQLite file")
	fs.String("log-level", "", "debug, info, warn or error (default info)")
	fs.String("log-format", "", "text or json (default text)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	cfg := n.Config.Config
	log := newLogger(env.Stderr, cfg.LogLevel, cfg.LogFormat).With("node", n.Identity.Name)
	tlsCfg, err := n.TLSConfig()
	if err != nil {
		return err
	}
	// The cooperation workflows see every workflow object that crosses
	// the node (their hook admits or refuses a partner's state change).
	fed, wf, err := cooperation.Open(ctx, n, federation.Config{Log: log})
	if err != nil {
		return err
	}
	// The user listener: TAXII, the workflow API and the console, with
	// one authenticator, every object a user reads passing the sharing
	// policy (internal/portal, as the demo serves it).
	mux, err := portal.Handler(ctx, n, fed, wf, log)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           mux,
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		WriteTimeout:      10 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slogErrorLog(log),
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	log.Info("serving TAXII 2.1", "url", "https://"+ln.Addr().String()+"/taxii2/", "db", dbKind(cfg.DB))
	log.Info("serving the workflow API", "url", "https://"+ln.Addr().String()+api.Prefix, "kinds", wf.Kinds())
	log.Info("serving the web console", "url", "https://"+ln.Addr().String()+web.Prefix)
	errc := make(chan error, 2)
	go func() { errc <- hs.ServeTLS(ln, "", "") }()
	var fedDone sync.WaitGroup
	if cfg.FedListen != "" {
		fln, err := net.Listen("tcp", cfg.FedListen)
		if err != nil {
			return fmt.Errorf("listening on %s: %w", cfg.FedListen, err)
		}
		log.Info("serving the federation (mutual TLS, pinned peers only)", "addr", fln.Addr().String(), "endpoint", n.Identity.FedEndpoint)
		fedDone.Add(2)
		go func() {
			defer fedDone.Done()
			if err := fed.Serve(ctx, fln); err != nil {
				errc <- fmt.Errorf("federation listener: %w", err)
			}
		}()
		go func() { defer fedDone.Done(); fed.RunDelivery(ctx) }()
	}
	select {
	case err := <-errc:
		stop()
		fedDone.Wait()
		return err
	case <-ctx.Done():
	}
	fedDone.Wait()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("requests still in flight at shutdown", "err", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

func dbKind(url string) string {
	if url == "" {
		return "sqlite (embedded)"
	}
	return "postgresql"
}
