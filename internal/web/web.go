// Package web is the web console of a node: the pages CSIRT analysts,
// liaison officers and the node's administrator work in, served by
// `entraide serve` on the user listener under Prefix, beside TAXII and the
// JSON API (docs/console.md).
//
// It is server-rendered html/template with a little plain JavaScript, and
// its assets are embedded: no build step, nothing fetched from elsewhere.
// Every answer carries a strict Content-Security-Policy (no inline script
// or style at all); state-changing requests pass
// http.CrossOriginProtection; the session cookie is Secure, HttpOnly and
// SameSite=Strict, and carries a random 256-bit token the database keeps
// only hashed (session.go), with an idle and an absolute expiry on the
// injected clock.
// People log in with the node's users (argon2id passwords, failed logins
// throttled). Each user has a role (store.RoleAdmin …, see roles.go): every
// page and every action asks for a capability of the role, and the
// navigation shows only what the role may open.
//
// The console decides nothing the rest of the node does not: cases are
// read and acted on through the workflow engine (the signed steps name the
// logged-in person as the actor), objects are shown only when the
// collection permissions and the federation's sharing policy allow it
// (federation.VisibleOnConsole: a TLP:RED object only to its named users,
// and audited with path console), and TLP is shown on every object as
// FIRST colours it.
// Everything is in English and French (i18n.go).
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/contact"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/policy"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
	"github.com/entraide/entraide/internal/workflow"
)

// Prefix is where the console is mounted; every path it serves starts
// with it.
const Prefix = "/console/"

// Engine is what the console asks of the workflow engine
// (*workflow.Engine): the same calls as the JSON API, and the node's
// identity and partners' names.
type Engine interface {
	Kinds() []string
	Kind(name string) (*workflow.Kind, bool)
	Self() string
	NodeName(id string) string
	List(ctx context.Context, kind string, openOnly bool, limit int) ([]workflow.Summary, error)
	Due(ctx context.Context, limit int) ([]workflow.Summary, error)
	Get(ctx context.Context, id string) (*workflow.View, error)
	Load(ctx context.Context, caseID string) (*workflow.Case, []workflow.Step, error)
	Open(ctx context.Context, kind, actor string, in json.RawMessage) (*workflow.Result, error)
	Act(ctx context.Context, caseID, action, actor string, in json.RawMessage) (*workflow.Result, error)
}

var _ Engine = (*workflow.Engine)(nil)

// Federation is what the console asks of the node's federation
// (*federation.Federation): its health, the sharing decision for local
// users on the console's own path (policy.PathConsole, decided exactly as
// the API's), sharing an object (as `entraide share` does), and the audit
// log.
type Federation interface {
	Status(ctx context.Context) ([]federation.PeerStatus, error)
	VisibleOnConsole(ctx context.Context, u store.User, c store.Collection, entries []store.Entry) ([]store.Entry, error)
	Share(ctx context.Context, req federation.ShareRequest) (*federation.ShareResult, error)
	Audit() *audit.Log
}

var _ Federation = (*federation.Federation)(nil)

// NodeInfo is how the console names its node.
type NodeInfo struct {
	Name    string // e.g. cert-fr
	Org     string
	Country string // ISO 3166-1 alpha-2
}

// Options configure a Server.
type Options struct {
	Engine     Engine
	Federation Federation
	// Store holds the users (with their roles), the collections and the
	// objects; the console reads objects through it and Federation's
	// decision.
	Store store.Store
	Node  NodeInfo
	Clock clock.Clock  // nil: the system clock
	Log   *slog.Logger // nil: discard
	// Directory lists this node and its peers with their points of
	// contact (contact.Nodes on the node and its registry); nil: the
	// contacts page shows the pings only.
	Directory func(ctx context.Context) ([]contact.Node, error)
	// IdleTimeout and MaxAge end sessions (≤ 0: DefaultIdleTimeout,
	// DefaultMaxAge).
	IdleTimeout time.Duration
	MaxAge      time.Duration
	// Auth checks the login form's passwords. A node gives the console,
	// TAXII and the JSON API the same one, so that failed logins count on
	// all of them; nil: the console makes its own.
	Auth *user.Authenticator
}

// Server serves the console. Create it with New.
type Server struct {
	wf    Engine
	fed   Federation
	st    store.Store
	roles store.RoleStore
	node  NodeInfo
	clk   clock.Clock
	log   *slog.Logger
	sess  *sessions
	login *loginChecker
	cats  map[string]*catalogue
	pages map[string]map[string]*pageTemplate // language → page name → template
	asset map[string]asset

	directory func(ctx context.Context) ([]contact.Node, error)
}

// New makes the console.
func New(o Options) (*Server, error) {
	if o.Engine == nil || o.Federation == nil || o.Store == nil {
		return nil, errors.New("web: an engine, a federation and a store are required")
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	roles, err := store.Roles(o.Store)
	if err != nil {
		return nil, err
	}
	cats, err := loadCatalogues()
	if err != nil {
		return nil, err
	}
	s := &Server{wf: o.Engine, fed: o.Federation, st: o.Store, roles: roles, node: o.Node, clk: o.Clock, log: o.Log,
		sess: newSessions(o.Store, o.Clock, o.Log, o.IdleTimeout, o.MaxAge), login: newLoginChecker(o.Auth, o.Store, o.Clock, o.Log), cats: cats,
		directory: o.Directory}
	if s.asset, err = loadAssets(); err != nil {
		return nil, err
	}
	if s.pages, err = s.parseTemplates(); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler serves every path under Prefix.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	p := strings.TrimSuffix(Prefix, "/")
	mux.HandleFunc("GET "+p+"/static/{file}", s.serveAsset)
	mux.HandleFunc("GET "+p+"/login", s.loginPage)
	mux.HandleFunc("POST "+p+"/login", s.loginSubmit)
	mux.HandleFunc("POST "+p+"/logout", s.logout)
	mux.HandleFunc("POST "+p+"/lang", s.setLang)
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, s.authed(rt.cap, rt.h))
	}
	mux.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, nil, notFound())
	})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Info("console: cross-origin request refused", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		s.fail(w, r, nil, &pageError{status: http.StatusForbidden, key: "error.crossorigin"})
	}))
	return securityHeaders(cop.Handler(mux))
}

// route is a page or an action: a pattern of http.ServeMux, the
// capability it needs, and its handler.
type route struct {
	pattern string
	cap     Cap
	h       handler
}

// handler serves a request of a logged-in person; it answers, or returns
// an error to answer (a *pageError, or anything else for a 500).
type handler func(w http.ResponseWriter, r *http.Request, q *req) error

// req is what a handler knows of the request beyond it.
type req struct {
	u    store.User
	role string
	c    *catalogue
	now  time.Time
}

func (s *Server) routes() []route {
	p := strings.TrimSuffix(Prefix, "/")
	return []route{
		{"GET " + p + "/{$}", CapOverview, s.overview},
		{"GET " + p + "/alerts", CapAlerts, s.alerts},
		{"GET " + p + "/alerts/new", CapAlertsAct, s.alertNew},
		{"POST " + p + "/alerts", CapAlertsAct, s.alertSend},
		{"GET " + p + "/alerts/{id}", CapAlerts, s.alertDetail},
		{"POST " + p + "/alerts/{id}/ack", CapAlertsAct, s.alertAck},
		{"POST " + p + "/alerts/{id}/close", CapAlertsAct, s.alertClose},
		{"GET " + p + "/cases/{id}", CapOverview, s.caseDetail},
		{"GET " + p + "/kinds/{kind}", CapOverview, s.caseList},
		{"POST " + p + "/cases/{id}/{action}", CapOverview, s.caseAct},
		{"POST " + p + "/cases/{id}/chain", CapLegalAct, s.legalChain},
		{"GET " + p + "/contacts", CapContacts, s.contacts},
		{"POST " + p + "/pings", CapPingSend, s.pingSend},
		{"POST " + p + "/pings/{id}/answer", CapPingAnswer, s.pingAnswer},
		{"GET " + p + "/peers", CapPeers, s.peers},
		{"GET " + p + "/audit", CapAudit, s.auditLog},
		{"GET " + p + "/sharing", CapSharing, s.sharing},
		{"GET " + p + "/incidents", CapIncidents, s.incidents},
		{"GET " + p + "/incidents/{id}", CapIncidents, s.incidentDetail},
		{"GET " + p + "/incidents/new", CapIncidentsAct, s.incidentNew},
		{"POST " + p + "/incidents", CapIncidentsAct, s.incidentOpen},
		{"GET " + p + "/intel", CapIntel, s.intel},
		{"GET " + p + "/intel/{coll}/{id}", CapIntel, s.intelObject},
		{"POST " + p + "/intel/{coll}/{id}/share", CapIntelAct, s.intelShare},
	}
}

// authed runs h for a logged-in person whose role holds c. Without a
// session, a GET is sent to the login page (and back after it), anything
// else refused; a role without c gets a 403 page.
func (s *Server) authed(c Cap, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cat := s.cats[negotiate(r)]
		q, err := s.person(r, cat)
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		if q == nil {
			clearSessionCookie(w)
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, Prefix+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.fail(w, r, nil, &pageError{status: http.StatusUnauthorized, key: "error.session"})
			return
		}
		if !Can(q.role, c) {
			s.log.Info("console: refused", "user", q.u.Name, "role", q.role, "method", r.Method, "path", r.URL.Path, "needs", string(c))
			s.fail(w, r, q, &pageError{status: http.StatusForbidden, key: "error.forbidden"})
			return
		}
		// What the person does here is audited as done in the console:
		// the shares the engine makes for their actions name this path.
		r = r.WithContext(federation.WithPath(r.Context(), policy.PathConsole))
		if err := h(w, r, q); err != nil {
			s.fail(w, r, q, err)
		}
	})
}

// person returns the logged-in person of a request, nil when there is
// none (see sessionOf). The user and the role are read from the store on
// every request, so that disabling a user or changing a role takes effect
// at once. Without a language cookie, the session's language is used.
func (s *Server) person(r *http.Request, cat *catalogue) (*req, error) {
	ss, u, role, err := s.sessionOf(r)
	if ss == nil || err != nil {
		return nil, err
	}
	if _, err := r.Cookie(langCookie); err != nil && s.cats[ss.lang] != nil {
		cat = s.cats[ss.lang]
	}
	return &req{u: u, role: role, c: cat, now: s.clk.Now()}, nil
}

// pageError is an error a person sees: a status and a message key (with
// arguments), and possibly the engine's own words (Detail, in English).
type pageError struct {
	status int
	key    string
	args   []any
	detail string
	err    error // logged, never shown
}

func (e *pageError) Error() string {
	if e.err != nil {
		return fmt.Sprintf("%d %s: %v", e.status, e.key, e.err)
	}
	return fmt.Sprintf("%d %s", e.status, e.key)
}

func notFound() *pageError { return &pageError{status: http.StatusNotFound, key: "error.notfound"} }

// fail answers err as an error page. Errors that are not a *pageError are
// internal: the person sees an error id, the log the detail.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, q *req, err error) {
	var pe *pageError
	if !errors.As(err, &pe) {
		pe = classify(err)
	}
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", pe.status}
	if q != nil {
		attrs = append(attrs, "user", q.u.Name)
	}
	if pe.err != nil {
		attrs = append(attrs, "err", pe.err.Error())
	}
	id := ""
	if pe.status >= 500 {
		id = newErrorID()
		s.log.Error("console request failed", append(attrs, "error_id", id)...)
	} else if pe.status != http.StatusNotFound {
		s.log.Debug("console request refused", append(attrs, "key", pe.key)...)
	}
	cat := s.cats[negotiate(r)]
	if q != nil {
		cat = q.c
	}
	v := s.newView(r, q, cat, "error")
	v.Title = cat.T("error.title." + fmt.Sprint(pe.status/100*100))
	v.Data = map[string]any{"Status": pe.status, "Message": cat.T(pe.key, pe.args...), "Detail": pe.detail, "ErrorID": id}
	if pe.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "60")
	}
	s.render(w, pe.status, v)
}

// classify turns an engine or store error into a page error.
func classify(err error) *pageError {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &pageError{status: http.StatusNotFound, key: "error.notfound", err: err}
	case errors.Is(err, workflow.ErrNotParty):
		return &pageError{status: http.StatusForbidden, key: "error.notparty", detail: publicDetail(err), err: err}
	case errors.Is(err, workflow.ErrInput):
		return &pageError{status: http.StatusBadRequest, key: "error.input", detail: publicDetail(err), err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &pageError{status: http.StatusServiceUnavailable, key: "error.unavailable", err: err}
	}
	return &pageError{status: http.StatusInternalServerError, key: "error.internal", err: err}
}

// publicDetail is the engine's message without its error-kind prefix.
func publicDetail(err error) string {
	m := err.Error()
	for _, p := range []string{workflow.ErrInput.Error() + ": ", workflow.ErrNotParty.Error() + ": "} {
		if i := strings.Index(m, p); i >= 0 {
			m = m[i+len(p):]
		}
	}
	return m
}

func newErrorID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// csp allows nothing but the console's own scripts, styles and forms: no
// inline script or style, no frames, no other origin.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets, on every answer, the headers that keep a browser
// strict with the console's pages.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		hd.Set("Strict-Transport-Security", "max-age=31536000")
		h.ServeHTTP(w, r)
	})
}

// localPath returns p when it is a path of the console (for "next" and
// "back" parameters), else the overview: never a redirect elsewhere.
func localPath(p string) string {
	if !strings.HasPrefix(p, Prefix) || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") ||
		strings.Contains(p, "/../") || strings.HasPrefix(p, Prefix+"login") || len(p) > 2048 {
		return Prefix
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" {
		return Prefix
	}
	return p
}
