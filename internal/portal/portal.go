// Package portal is a node's user listener: the one HTTP handler that
// serves the node's own people — TAXII 2.1 for their tools, the JSON API
// of the cooperation workflows, and the web console — built the same way
// by `entraide serve` and `entraide demo`.
//
// It owns how the three share the listener (the console under
// web.Prefix, a browser at / sent there, the API under api.Prefix, TAXII
// everything else) and what they share: ONE user.Authenticator, so that a
// password guessed on one path counts on all of them and the bound on
// concurrent argon2id runs holds for the process, and the federation's
// sharing decision for users on every object they read.
package portal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

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

// Handler is the user listener of node n, whose federation and workflow
// engine cooperation.Open returned: the web console under /console/ (a
// browser at / is sent there), the workflows' JSON API under
// /entraide/v1/, and TAXII 2.1 for everything else, every object filtered
// by the federation's sharing decision for users (TLP:RED only to its
// named users, opened from its sealed form and audited; RED objects users
// add are sealed at rest). A nil log discards.
func Handler(ctx context.Context, n *node.Node, fed *federation.Federation, wf *workflow.Engine, log *slog.Logger, opts ...Option) (http.Handler, error) {
	if n == nil || fed == nil || wf == nil {
		return nil, errors.New("portal: a node, its federation and its workflow engine are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := n.Config.Config
	sealer, err := n.Sealer()
	if err != nil {
		return nil, err
	}
	auth := user.NewAuthenticator(n.Store, n.Clock, log)
	tx := taxii.NewServer(store.WithSealer(n.Store, sealer), n.Clock, taxii.Config{
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
	wo := web.Options{Engine: wf, Federation: fed, Store: n.Store, Clock: n.Clock, Log: log, Auth: auth,
		Node:      web.NodeInfo{Name: n.Identity.Name, Org: n.Identity.Org, Country: n.Identity.Country},
		Directory: func(ctx context.Context) ([]contact.Node, error) { return contact.Nodes(ctx, n, fed.Registry()) }}
	for _, o := range opts {
		o(&wo)
	}
	console, err := web.New(wo)
	if err != nil {
		return nil, err
	}
	taxiiHandler := tx.Handler()
	mux := http.NewServeMux()
	mux.Handle(api.Prefix, wfAPI.Handler())
	mux.Handle(web.Prefix, console.Handler())
	// A browser at the root goes to the console; TAXII clients (which do
	// not ask for HTML) get TAXII's answer.
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if WantsHTML(r) {
			http.Redirect(w, r, web.Prefix, http.StatusFound)
			return
		}
		taxiiHandler.ServeHTTP(w, r)
	})
	mux.Handle("/", taxiiHandler)
	return mux, nil
}

// Option changes how the listener is built; serve uses none.
type Option func(*web.Options)

// SessionLifetimes sets how long a console session lasts without a request
// (idle) and at most (maxAge), on the node's clock; ≤ 0 keeps the console's
// default. The demo needs it: while its exercise plays, the nodes' clocks
// run hundreds of times faster than real time, and an hour of idleness on
// them is a few real seconds.
func SessionLifetimes(idle, maxAge time.Duration) Option {
	return func(o *web.Options) { o.IdleTimeout, o.MaxAge = idle, maxAge }
}

// WantsHTML reports whether a request's Accept header asks for HTML
// (browsers do; TAXII clients ask for TAXII's media types).
func WantsHTML(r *http.Request) bool {
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
