// Package api is the JSON API of the cooperation workflows — alerts,
// incidents, assistance, preservation requests, notices, pings — served by
// `entraide serve` beside TAXII on the user listener, under Prefix, with the
// same authentication (HTTP Basic or a bearer token of a local user).
//
// It is generic over the kinds the workflow engine runs: every kind is
// opened, read and acted on through the same endpoints with the same JSON
// the engine takes (workflow.Engine.Open and Act), so a new workflow needs
// no code here. The engine signs and shares what people do; this package
// decides who may ask (any user who may read the node's default
// collection reads; acting needs write permission on it, or the admin
// flag), records the authenticated user as the actor of each signed
// object, and turns the engine's errors into HTTP statuses. See
// docs/api.md.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/policy"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
	"github.com/entraide/entraide/internal/workflow"
)

// Prefix is where the API is mounted; every path it serves starts with it.
const Prefix = "/entraide/v1/"

// Engine is what the API asks of the workflow engine (*workflow.Engine).
// Open and Act return workflow.ErrInput errors for a mistake in the
// request, workflow.ErrNotParty ones when this node may not act; Get
// returns store.ErrNotFound (wrapped) for a case the node does not hold.
type Engine interface {
	Kinds() []string
	Kind(name string) (*workflow.Kind, bool)
	List(ctx context.Context, kind string, openOnly bool, limit int) ([]workflow.Summary, error)
	Due(ctx context.Context, limit int) ([]workflow.Summary, error)
	DueCounts(ctx context.Context) (due, overdue int, err error)
	Get(ctx context.Context, id string) (*workflow.View, error)
	Open(ctx context.Context, kind, actor string, in json.RawMessage) (*workflow.Result, error)
	Act(ctx context.Context, caseID, action, actor string, in json.RawMessage) (*workflow.Result, error)
}

var _ Engine = (*workflow.Engine)(nil)

// Options configure a Server.
type Options struct {
	Engine Engine
	// Store holds the users, their tokens and permissions, and the
	// collections.
	Store store.Store
	// Collection is the id of the collection whose permissions govern the
	// API; "" for the node's default collection (alias "default"), where
	// the workflow objects are stored.
	Collection string
	Clock      clock.Clock  // nil: the system clock
	Log        *slog.Logger // nil: discard
	MaxBody    int64        // the largest request body; ≤ 0: DefaultMaxBody
	// Auth checks the credentials of local users. A node gives the API,
	// TAXII and the console the same one, so that failed logins count on
	// all of them; nil: the API makes its own.
	Auth *user.Authenticator
}

// Server serves the API. Create it with New.
type Server struct {
	wf      Engine
	st      store.Store
	coll    store.Collection
	log     *slog.Logger
	auth    *authenticator
	maxBody int64
	newID   func() string
}

// New makes the API server; it fails when the governing collection does
// not exist.
func New(ctx context.Context, o Options) (*Server, error) {
	if o.Engine == nil || o.Store == nil {
		return nil, errors.New("api: an engine and a store are required")
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	coll, err := governing(ctx, o.Store, o.Collection)
	if err != nil {
		return nil, err
	}
	return &Server{wf: o.Engine, st: o.Store, coll: coll, log: o.Log, auth: newAuthenticator(o.Auth, o.Store, o.Clock, o.Log),
		maxBody: o.MaxBody, newID: func() string { return strings.TrimPrefix(stix.NewID("x"), "x--") }}, nil
}

func governing(ctx context.Context, st store.Store, id string) (store.Collection, error) {
	if id != "" {
		c, err := st.Collection(ctx, id)
		if err != nil {
			return store.Collection{}, fmt.Errorf("api: collection %s: %w", id, err)
		}
		return c, nil
	}
	cs, err := st.Collections(ctx)
	if err != nil {
		return store.Collection{}, err
	}
	for _, c := range cs {
		if c.Alias == node.DefaultCollectionAlias {
			return c, nil
		}
	}
	return store.Collection{}, fmt.Errorf("api: the node has no collection with alias %q (init creates it)", node.DefaultCollectionAlias)
}

// handler is an endpoint: it answers, or returns an error to answer.
type handler func(w http.ResponseWriter, r *http.Request, u store.User) error

// Handler serves every path under Prefix. Every request needs an Accept
// header that admits application/json (or none) and a user's credentials.
// A path may end with "/" or not.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.serve(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) error {
	if !acceptsJSON(r.Header.Values("Accept")) {
		return errorf(http.StatusNotAcceptable, "this API answers only in %s; send an Accept header that admits it", MediaType)
	}
	u, err := s.auth.authenticate(r)
	if err != nil {
		return err
	}
	methods, err := s.route(r.URL.Path)
	if err != nil {
		return err
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	h, ok := methods[method]
	if !ok {
		allow := make([]string, 0, len(methods)+1)
		for m := range methods {
			allow = append(allow, m)
		}
		if _, ok := methods[http.MethodGet]; ok {
			allow = append(allow, http.MethodHead)
		}
		slices.Sort(allow)
		return &Error{Status: http.StatusMethodNotAllowed, Allow: allow,
			Message: fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, strings.Join(allow, ", "))}
	}
	if method == http.MethodGet && !s.canRead(u) {
		s.log.Info("api request refused", "user", u.Name, "method", r.Method, "path", r.URL.Path, "reason", "no read permission")
		return errorf(http.StatusForbidden, "user %s may not read the cooperation workflows: that needs read permission on collection %q (entraide user grant NAME --read %s) or the admin flag",
			u.Name, s.collName(), s.collName())
	}
	if method == http.MethodPost && !s.canAct(u) {
		s.log.Info("api request refused", "user", u.Name, "method", r.Method, "path", r.URL.Path, "reason", "no write permission")
		return errorf(http.StatusForbidden, "user %s may not act on the cooperation workflows: that needs write permission on collection %q (entraide user grant NAME --write %s) or the admin flag",
			u.Name, s.collName(), s.collName())
	}
	// What a user does through the API is audited as done through it: the
	// shares the engine makes for their requests (a case opened, a step
	// taken) name this path, as the console's name theirs.
	return h(w, r.WithContext(federation.WithPath(r.Context(), policy.PathAPI)), u)
}

func (s *Server) collName() string {
	if s.coll.Alias != "" {
		return s.coll.Alias
	}
	return s.coll.ID
}

// canRead: the workflow objects are stored in the governing collection, so
// who may read them through TAXII may read them here (writing implies
// reading: a person acting on a case must see it).
func (s *Server) canRead(u store.User) bool {
	if u.Disabled {
		return false
	}
	p := u.Permissions[s.coll.ID]
	return u.Admin || p.Read || p.Write
}

// canAct: opening a case or taking an action adds a signed object to the
// governing collection and sends it to partners, which is writing.
func (s *Server) canAct(u store.User) bool {
	return !u.Disabled && (u.Admin || u.Permissions[s.coll.ID].Write)
}

// endpoints lists what the API serves, for the answer to an unknown path.
const endpoints = "GET " + Prefix + "kinds, GET " + Prefix + "workflows, GET " + Prefix + "workflows/due, GET " + Prefix +
	"workflows/{id}, POST " + Prefix + "workflows/{kind}, POST " + Prefix + "workflows/{id}/{action}"

// route maps a path to the handlers of its methods.
func (s *Server) route(path string) (map[string]handler, error) {
	rest, ok := strings.CutPrefix(path, Prefix)
	if !ok && path+"/" != Prefix {
		return nil, errorf(http.StatusNotFound, "no endpoint %s; the API serves %s", path, endpoints)
	}
	seg := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	switch {
	case len(seg) == 1 && seg[0] == "":
		return map[string]handler{http.MethodGet: s.index}, nil
	case len(seg) == 1 && seg[0] == "kinds":
		return map[string]handler{http.MethodGet: s.kinds}, nil
	case len(seg) == 1 && seg[0] == "workflows":
		return map[string]handler{http.MethodGet: s.list}, nil
	case len(seg) == 2 && seg[0] == "workflows" && seg[1] == "due":
		return map[string]handler{http.MethodGet: s.due}, nil
	case len(seg) == 2 && seg[0] == "workflows" && seg[1] != "":
		return s.routeName(seg[1])
	case len(seg) == 3 && seg[0] == "workflows" && seg[1] != "" && seg[2] != "":
		id, action := seg[1], seg[2]
		if _, err := stix.ParseID(id); err != nil {
			return nil, s.noCase(id)
		}
		return map[string]handler{http.MethodPost: func(w http.ResponseWriter, r *http.Request, u store.User) error {
			return s.act(w, r, u, id, action)
		}}, nil
	}
	return nil, errorf(http.StatusNotFound, "no endpoint %s; the API serves %s", path, endpoints)
}

// routeName: /workflows/{name} is a kind (POST opens a case of it) or a
// case (GET reads it).
func (s *Server) routeName(name string) (map[string]handler, error) {
	if _, ok := s.wf.Kind(name); ok {
		return map[string]handler{http.MethodPost: func(w http.ResponseWriter, r *http.Request, u store.User) error {
			return s.open(w, r, u, name)
		}}, nil
	}
	if _, err := stix.ParseID(name); err == nil {
		return map[string]handler{http.MethodGet: func(w http.ResponseWriter, r *http.Request, u store.User) error {
			return s.get(w, r, u, name)
		}}, nil
	}
	return nil, errorf(http.StatusNotFound, "%q is neither a workflow kind (%s) nor a case id (such as x-entraide-alert--<uuid>)",
		name, strings.Join(s.wf.Kinds(), ", "))
}

func (s *Server) noCase(id string) error {
	return errorf(http.StatusNotFound, "no case %s on this node: case ids look like x-entraide-alert--<uuid>; list them with GET %sworkflows", id, Prefix)
}

// ---- answers ----

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		id := s.newID()
		s.log.Error("api: cannot encode response", "err", err, "error_id", id)
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: "internal error", Status: status, ErrorID: id})
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", MediaType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError answers err. Errors that are not an *Error are internal: the
// client gets a generic message and an error_id, the log the detail.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = engineError(err).(*Error)
	}
	body := errorBody{Error: e.Message, Status: e.Status}
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", e.Status}
	if e.Err != nil {
		attrs = append(attrs, "err", e.Err.Error())
	}
	if e.Status >= 500 {
		body.ErrorID = s.newID()
		s.log.Error("api request failed", append(attrs, "error_id", body.ErrorID)...)
	} else {
		s.log.Debug("api request refused", append(attrs, "message", e.Message)...)
	}
	h := w.Header()
	switch e.Status {
	case http.StatusUnauthorized:
		h.Add("WWW-Authenticate", `Basic realm="entraide", charset="UTF-8"`)
		h.Add("WWW-Authenticate", `Bearer realm="entraide"`)
	case http.StatusTooManyRequests:
		if e.RetryAfter > 0 {
			h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
		}
	case http.StatusMethodNotAllowed:
		h.Set("Allow", strings.Join(e.Allow, ", "))
	case http.StatusRequestEntityTooLarge:
		h.Set("Connection", "close") // the rest of the body is not read
	}
	s.writeJSON(w, e.Status, body)
}

// location is the URL path of a case.
func location(id string) string { return Prefix + "workflows/" + url.PathEscape(id) }
