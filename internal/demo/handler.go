package demo

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"strings"

	"github.com/entraide/entraide/internal/api"
	"github.com/entraide/entraide/internal/contact"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/taxii"
	"github.com/entraide/entraide/internal/user"
	"github.com/entraide/entraide/internal/web"
	"github.com/entraide/entraide/internal/workflow"
)

// consolePrefix is where the console is mounted on the user listener.
const consolePrefix = web.Prefix

// Handler is a node's user listener, built as `entraide serve` builds it
// (internal/cli/cmd_serve.go): the web console under /console/ (a browser
// at / is sent there), the workflows' JSON API under /entraide/v1/, and
// TAXII 2.1 for everything else, every object filtered by the federation's
// sharing decision for users (TLP:RED only to its named users).
func Handler(ctx context.Context, n *node.Node, fed *federation.Federation, wf *workflow.Engine, log *slog.Logger) (http.Handler, error) {
	cfg := n.Config.Config
	sealer, err := n.Sealer()
	if err != nil {
		return nil, err
	}
	// One authenticator for TAXII, the API and the console: a password
	// guessed on one path counts on all of them.
	auth := user.NewAuthenticator(n.Store, n.Clock, log)
	srv := taxii.NewServer(store.WithSealer(n.Store, sealer), n.Clock, taxii.Config{
		Title:            cfg.APITitle,
		Description:      fmt.Sprintf("TAXII 2.1 API of %s (%s, %s)", n.Identity.Name, n.Identity.Org, n.Identity.Country),
		MaxContentLength: cfg.MaxContentLength,
		Visible:          fed.VisibleToUser,
		Auth:             auth,
	}, log)
	wfAPI, err := api.New(ctx, api.Options{Engine: wf, Store: n.Store, Clock: n.Clock, Log: log, Auth: auth})
	if err != nil {
		return nil, err
	}
	console, err := web.New(web.Options{Engine: wf, Federation: fed, Store: n.Store, Clock: n.Clock, Log: log, Auth: auth,
		Node:      web.NodeInfo{Name: n.Identity.Name, Org: n.Identity.Org, Country: n.Identity.Country},
		Directory: func(ctx context.Context) ([]contact.Node, error) { return contact.Nodes(ctx, n, fed.Registry()) }})
	if err != nil {
		return nil, err
	}
	taxiiHandler := srv.Handler()
	mux := http.NewServeMux()
	mux.Handle(api.Prefix, wfAPI.Handler())
	mux.Handle(web.Prefix, console.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if wantsHTML(r) {
			http.Redirect(w, r, web.Prefix, http.StatusFound)
			return
		}
		taxiiHandler.ServeHTTP(w, r)
	})
	mux.Handle("/", taxiiHandler)
	return mux, nil
}

// wantsHTML reports whether a request asks for HTML (browsers do; TAXII
// clients ask for TAXII's media types).
func wantsHTML(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(mt), "text/html") {
				return true
			}
		}
	}
	return false
}

// discardLog silences net/http's own messages (a browser refusing the
// self-signed certificate, mostly): the demo's log says what matters.
func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// quieter is a log handler that passes on only records at or above min:
// the federation logs every push it receives at info, which would drown
// the demo's own account of the exercise (deliveries are summed up by
// the demo's delivery watcher instead).
type quieter struct {
	slog.Handler
	min slog.Level
}

func (q quieter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= q.min && q.Handler.Enabled(ctx, l)
}

func (q quieter) WithAttrs(as []slog.Attr) slog.Handler {
	return quieter{q.Handler.WithAttrs(as), q.min}
}

func (q quieter) WithGroup(name string) slog.Handler {
	return quieter{q.Handler.WithGroup(name), q.min}
}
