package taxii

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
)

// Config describes the server's one API root and its limits. The zero value
// of each field means its default.
type Config struct {
	Title, Description, Contact string // of the discovery and API root resources
	// APIRoot is the API root's path segment: "api" serves /api/. It must be
	// one URL path segment of unreserved characters and not "taxii2".
	APIRoot string
	// MaxContentLength is the largest request body accepted, in bytes
	// (default 10 MiB); it is advertised as max_content_length.
	MaxContentLength int64
	// DefaultLimit is the page size when a request gives no limit (1000);
	// MaxLimit caps the limit a request may ask for (10000).
	DefaultLimit, MaxLimit int

	// The hooks below let the federation listener serve the same TAXII API
	// to peers: identity from the pinned TLS certificate, signatures and
	// the sharing policy on what comes in and what goes out. Nil means the
	// local-user behaviour.

	// Authenticate identifies the requester in place of HTTP Basic and
	// bearer tokens. To refuse, it returns an *Error (of KindUnauthorized
	// or KindForbidden) or any error (answered as 401).
	Authenticate func(r *http.Request) (store.User, error)
	// Ingest stores the objects of an Add Objects request in place of
	// stix.Parse and store.AddObjects, and returns one Outcome per raw
	// object, in order. An error fails the whole request (nothing may have
	// been stored then).
	Ingest func(ctx context.Context, u store.User, c store.Collection, raws []json.RawMessage) ([]Outcome, error)
	// Visible filters the entries of every listing (objects, one object,
	// versions, manifest) before they are served; dropped entries are not
	// revealed. Entries carry Raw only for the objects endpoints.
	Visible func(ctx context.Context, u store.User, c store.Collection, entries []store.Entry) ([]store.Entry, error)

	// Auth checks the credentials of local users (when Authenticate is
	// nil). A node gives every server on its user listener the same one,
	// so that failed logins count on all of them; nil: the server makes
	// its own.
	Auth *user.Authenticator
}

// Outcome is what an Ingest hook did with one object.
type Outcome struct {
	ID, Version string
	OK          bool   // stored, or already present
	Message     string // why not, or a note ("already present")
}

// Defaults for Config.
const (
	DefaultAPIRoot          = "api"
	DefaultMaxContentLength = 10 << 20
	DefaultPageLimit        = 1000
	DefaultMaxLimit         = 10000
)

func (c Config) withDefaults() Config {
	if c.Title == "" {
		c.Title = "Entraide TAXII server"
	}
	if c.APIRoot == "" {
		c.APIRoot = DefaultAPIRoot
	}
	if c.MaxContentLength <= 0 {
		c.MaxContentLength = DefaultMaxContentLength
	}
	if c.MaxLimit <= 0 {
		c.MaxLimit = DefaultMaxLimit
	}
	if c.DefaultLimit <= 0 {
		c.DefaultLimit = DefaultPageLimit
	}
	c.DefaultLimit = min(c.DefaultLimit, c.MaxLimit)
	return c
}

func validRoot(s string) bool {
	if s == "" || s == "taxii2" || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
			return false
		}
	}
	return true
}

// Server serves TAXII 2.1 from a store. Create it with NewServer.
type Server struct {
	st    store.Store
	clk   clock.Clock
	cfg   Config
	log   *slog.Logger
	auth  *authenticator
	newID func() string // status and error ids; replaced by tests for golden files
}

// NewServer returns a server over st. It panics if cfg.APIRoot is not a
// valid path segment: that is a configuration error to catch at start-up.
// A nil log discards.
func NewServer(st store.Store, clk clock.Clock, cfg Config, log *slog.Logger) *Server {
	cfg = cfg.withDefaults()
	if !validRoot(cfg.APIRoot) {
		panic(fmt.Sprintf("taxii: API root %q is not a single URL path segment (or is the reserved taxii2)", cfg.APIRoot))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		st:    st,
		clk:   clk,
		cfg:   cfg,
		log:   log,
		auth:  newAuthenticator(cfg.Auth, st, clk, log),
		newID: newUUID,
	}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand.Read panics rather than returning an error)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// handlerFunc is an endpoint: it gets the authenticated user and returns an
// error for the wrapper to answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request, u store.User) error

// Handler returns the HTTP handler of the discovery endpoint and the API
// root. Every endpoint needs authentication (HTTP Basic or a bearer token)
// and an Accept header that admits TAXII 2.1.
//
// Paths are those of the specification, ending in "/". A request whose path
// lacks the final slash is served as if it had it, rather than redirected:
// a redirect turns a POST into a GET in many HTTP clients, and serving it
// costs nothing.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	root := "/" + s.cfg.APIRoot
	coll := root + "/collections/{collection}"
	object := coll + "/objects/{object}"
	routes := []struct {
		path    string
		methods map[string]handlerFunc
	}{
		{"/taxii2/{$}", map[string]handlerFunc{"GET": s.discovery}},
		{root + "/{$}", map[string]handlerFunc{"GET": s.apiRoot}},
		{root + "/status/{status}/{$}", map[string]handlerFunc{"GET": s.status}},
		{root + "/collections/{$}", map[string]handlerFunc{"GET": s.collections}},
		{coll + "/{$}", map[string]handlerFunc{"GET": s.collection}},
		{coll + "/manifest/{$}", map[string]handlerFunc{"GET": s.manifest}},
		{coll + "/objects/{$}", map[string]handlerFunc{"GET": s.getObjects, "POST": s.addObjects}},
		{object + "/{$}", map[string]handlerFunc{"GET": s.getObject, "DELETE": s.deleteObject}},
		{object + "/versions/{$}", map[string]handlerFunc{"GET": s.versions}},
	}
	for _, rt := range routes {
		mux.Handle(rt.path, s.endpoint(rt.methods))
	}
	mux.Handle("/", s.endpoint(nil))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/") {
			r2 := r.Clone(r.Context())
			r2.URL.Path += "/"
			if r2.URL.RawPath != "" {
				r2.URL.RawPath += "/"
			}
			r = r2
		}
		mux.ServeHTTP(w, r)
	})
}

// endpoint checks what every endpoint needs (an acceptable Accept header, a
// user, a method it serves), calls the handler for the method and answers
// its error. methods nil is the catch-all for unknown paths.
func (s *Server) endpoint(methods map[string]handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.serve(w, r, methods); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, methods map[string]handlerFunc) error {
	if !acceptable(r.Header.Values("Accept")) {
		return &Error{Kind: KindNotAcceptable, Title: "Not acceptable",
			Description: "this server answers only in " + MediaType + "; send an Accept header that admits it"}
	}
	var u store.User
	var err error
	if s.cfg.Authenticate != nil {
		u, err = s.cfg.Authenticate(r)
		var e *Error
		if err != nil && !errors.As(err, &e) {
			err = &Error{Kind: KindUnauthorized, Title: "Unauthorized", Description: "the client is not a known peer", Err: err}
		}
	} else {
		u, err = s.auth.authenticate(r)
	}
	if err != nil {
		return err
	}
	if methods == nil {
		return errNotFound("resource " + r.URL.Path)
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet // net/http drops the body of a HEAD response
	}
	h, ok := methods[method]
	if !ok {
		allow := make([]string, 0, len(methods))
		for m := range methods {
			allow = append(allow, m)
		}
		if _, ok := methods["GET"]; ok {
			allow = append(allow, "HEAD")
		}
		slices.Sort(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return &Error{Kind: KindInvalid, Status: http.StatusMethodNotAllowed, Title: "Method not allowed",
			Description: r.Method + " is not allowed here; allowed: " + strings.Join(allow, ", ")}
	}
	return h(w, r, u)
}

// writeError answers err as a TAXII error message. Errors that are not an
// *Error are internal: their detail is logged under an error_id that the
// client sees, and the client gets a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		switch {
		case errors.Is(err, store.ErrNotFound):
			e = errNotFound("resource")
			e.Err = err
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			e = errUnavailable(err)
		default:
			e = errInternal(err)
		}
	}
	status := e.httpStatus()
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status, "kind", string(e.Kind)}
	if e.Err != nil {
		attrs = append(attrs, "err", e.Err.Error())
	}
	if status >= 500 {
		if e.ID == "" {
			e.ID = s.newID()
		}
		attrs = append(attrs, "error_id", e.ID)
		s.log.Error("taxii request failed", attrs...)
	} else {
		s.log.Debug("taxii request refused", attrs...)
	}
	h := w.Header()
	switch e.Kind {
	case KindUnauthorized:
		h.Add("WWW-Authenticate", `Basic realm="entraide", charset="UTF-8"`)
		h.Add("WWW-Authenticate", `Bearer realm="entraide"`)
	case KindTooManyRequests:
		if ra, ok := e.Details["retry_after"].(int); ok {
			h.Set("Retry-After", strconv.Itoa(ra))
		}
	}
	if status == http.StatusRequestEntityTooLarge {
		h.Set("Connection", "close") // the rest of the body is not read
	}
	s.writeJSON(w, status, e)
}

// writeJSON answers v with the TAXII media type.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("taxii: cannot encode response", "err", err)
		status = http.StatusInternalServerError
		b = []byte(`{"title":"Internal server error","http_status":"500"}`)
	}
	s.writeBody(w, status, b)
}

func (s *Server) writeBody(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", MediaType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// setDateAdded sets the X-TAXII-Date-Added-First and -Last headers. They are
// set only when the response holds at least one record: their value must be
// a timestamp, and an empty page has no first or last record to name.
func setDateAdded(w http.ResponseWriter, entries []store.Entry) {
	if len(entries) == 0 {
		return
	}
	w.Header().Set("X-TAXII-Date-Added-First", stix.FormatTimestamp(entries[0].DateAdded))
	w.Header().Set("X-TAXII-Date-Added-Last", stix.FormatTimestamp(entries[len(entries)-1].DateAdded))
}

// envelopeJSON writes an envelope around the stored objects' exact bytes,
// without decoding and re-encoding them.
func envelopeJSON(entries []store.Entry, next string) []byte {
	n := 64 + len(next)
	for _, e := range entries {
		n += len(e.Raw) + 1
	}
	var b bytes.Buffer
	b.Grow(n)
	b.WriteByte('{')
	sep := ""
	if next != "" {
		nb, _ := json.Marshal(next)
		b.WriteString(`"more":true,"next":`)
		b.Write(nb)
		sep = ","
	}
	if len(entries) > 0 {
		b.WriteString(sep + `"objects":[`)
		for i, e := range entries {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(e.Raw)
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return b.Bytes()
}
