package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// List limits.
const (
	DefaultListLimit = 200
	MaxListLimit     = 1000
)

// Index is the answer to GET Prefix: what the API serves.
type Index struct {
	Endpoints []string `json:"endpoints"`
	Kinds     []string `json:"kinds"`
}

func (s *Server) index(w http.ResponseWriter, r *http.Request, _ store.User) error {
	if err := query(r.URL.Query()); err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, Index{Endpoints: strings.Split(endpoints, ", "), Kinds: s.wf.Kinds()})
	return nil
}

// KindInfo describes one workflow kind: how to open its cases, the actions
// its steps take, and the extension-definitions that declare its objects.
type KindInfo struct {
	Name string `json:"name"`
	// CaseType is the STIX type of its cases; with PropertyExtension, a
	// standard SDO carrying the kind's properties in the extension.
	CaseType          string        `json:"case_type"`
	PropertyExtension bool          `json:"property_extension"`
	Actions           []string      `json:"actions"`
	Extension         ExtensionInfo `json:"extension"`
	StepType          string        `json:"step_type"`
	StepExtension     ExtensionInfo `json:"step_extension"`
	Open              string        `json:"open"` // the path that opens a case
}

// ExtensionInfo names an extension-definition.
type ExtensionInfo struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Version       string `json:"version"`
	Schema        string `json:"schema"`
	ExtensionType string `json:"extension_type"`
}

func extensionInfo(e workflow.Extension) ExtensionInfo {
	return ExtensionInfo{ID: e.ID, Name: e.Name, Version: e.Version, Schema: e.SchemaURL, ExtensionType: e.Type}
}

func (s *Server) kinds(w http.ResponseWriter, r *http.Request, _ store.User) error {
	if err := query(r.URL.Query()); err != nil {
		return err
	}
	out := []KindInfo{}
	for _, name := range s.wf.Kinds() {
		k, ok := s.wf.Kind(name)
		if !ok {
			continue
		}
		out = append(out, KindInfo{Name: k.Name, CaseType: k.CaseType, PropertyExtension: k.PropertyExtension,
			Actions: append([]string{}, k.Actions...), Extension: extensionInfo(k.Extension),
			StepType: workflow.StepType, StepExtension: extensionInfo(workflow.StepExtension), Open: Prefix + "workflows/" + k.Name})
	}
	s.writeJSON(w, http.StatusOK, out)
	return nil
}

// query checks that a request's query holds only the named parameters,
// each at most once.
func query(q url.Values, allowed ...string) error {
	for name, vs := range q {
		if !slices.Contains(allowed, name) {
			if len(allowed) == 0 {
				return errorf(http.StatusBadRequest, "unknown query parameter %q: this endpoint takes none", name)
			}
			return errorf(http.StatusBadRequest, "unknown query parameter %q: this endpoint takes %s", name, strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return errorf(http.StatusBadRequest, "query parameter %q is given %d times: give it once", name, len(vs))
		}
	}
	return nil
}

func limitParam(q url.Values, def int) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxListLimit {
		return 0, errorf(http.StatusBadRequest, "limit %q: want a whole number from 1 to %d", v, MaxListLimit)
	}
	return n, nil
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, _ store.User) error {
	q := r.URL.Query()
	if err := query(q, "kind", "open", "limit"); err != nil {
		return err
	}
	kind := q.Get("kind")
	if _, ok := s.wf.Kind(kind); kind != "" && !ok {
		return errorf(http.StatusBadRequest, "kind %q: no such workflow; kinds are %s", kind, strings.Join(s.wf.Kinds(), ", "))
	}
	open := false
	if v := q.Get("open"); v != "" {
		var err error
		if open, err = strconv.ParseBool(v); err != nil {
			return errorf(http.StatusBadRequest, "open %q: want true or false", v)
		}
	}
	limit, err := limitParam(q, DefaultListLimit)
	if err != nil {
		return err
	}
	list, err := s.wf.List(r.Context(), kind, open, limit)
	if err != nil {
		return engineError(err)
	}
	if list == nil {
		list = []workflow.Summary{}
	}
	s.writeJSON(w, http.StatusOK, list)
	return nil
}

// DueAnswer is the answer to GET workflows/due: the open cases with an
// open deadline, earliest first, and how many of them are overdue.
type DueAnswer struct {
	Due     []workflow.Summary `json:"due"`
	Count   int                `json:"count"` // every open case with an open deadline, beyond the list's limit too
	Overdue int                `json:"overdue"`
}

func (s *Server) due(w http.ResponseWriter, r *http.Request, _ store.User) error {
	q := r.URL.Query()
	if err := query(q, "limit"); err != nil {
		return err
	}
	limit, err := limitParam(q, MaxListLimit)
	if err != nil {
		return err
	}
	list, err := s.wf.Due(r.Context(), limit)
	if err != nil {
		return engineError(err)
	}
	a := DueAnswer{Due: list}
	if a.Due == nil {
		a.Due = []workflow.Summary{}
	}
	if a.Count, a.Overdue, err = s.wf.DueCounts(r.Context()); err != nil {
		return engineError(err)
	}
	s.writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, _ store.User, id string) error {
	if err := query(r.URL.Query()); err != nil {
		return err
	}
	v, err := s.wf.Get(r.Context(), id)
	if err != nil {
		if e := engineError(err).(*Error); e.Status == http.StatusNotFound {
			return s.noCase(id)
		}
		return engineError(err)
	}
	s.writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) open(w http.ResponseWriter, r *http.Request, u store.User, kind string) error {
	if err := query(r.URL.Query()); err != nil {
		return err
	}
	in, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	res, err := s.wf.Open(r.Context(), kind, u.Name, in)
	if err != nil {
		return engineError(err)
	}
	s.log.Info("workflow opened", "user", u.Name, "kind", kind, "case", res.ID, "queued", res.Queued, "refused", len(res.Refused))
	s.created(w, res)
	return nil
}

func (s *Server) act(w http.ResponseWriter, r *http.Request, u store.User, id, action string) error {
	if err := query(r.URL.Query()); err != nil {
		return err
	}
	v, err := s.wf.Get(r.Context(), id)
	if err != nil {
		if e := engineError(err).(*Error); e.Status == http.StatusNotFound {
			return s.noCase(id)
		}
		return engineError(err)
	}
	k, ok := s.wf.Kind(v.Kind)
	if !ok {
		return fmt.Errorf("api: case %s is of kind %q, which the engine does not run", id, v.Kind)
	}
	if !slices.Contains(k.Actions, action) {
		return errorf(http.StatusBadRequest, "%q is not an action of the %s workflow; its actions are %s", action, k.Name, strings.Join(k.Actions, ", "))
	}
	in, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	res, err := s.wf.Act(r.Context(), id, action, u.Name, in)
	if err != nil {
		return engineError(err)
	}
	s.log.Info("workflow action", "user", u.Name, "kind", k.Name, "case", id, "action", action, "step", res.Object, "queued", res.Queued, "refused", len(res.Refused))
	s.created(w, res)
	return nil
}

func (s *Server) created(w http.ResponseWriter, res *workflow.Result) {
	if res.Refused == nil {
		res.Refused = []workflow.RefusedDelivery{}
	}
	w.Header().Set("Location", location(res.ID))
	s.writeJSON(w, http.StatusCreated, res)
}
