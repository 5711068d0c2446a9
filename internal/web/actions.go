package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/workflow"
)

// field is one form field an action reads, and how it goes into the
// engine's JSON.
type field struct {
	form, json string
	list       bool // a list typed as "a, b c"
	upper      bool // country codes
}

// actionFields says, per kind and action, which form fields the console
// passes to Engine.Act; anything else in the form is ignored. Alerts have
// their own handlers (alerts.go).
var actionFields = map[string]map[string][]field{
	"incident": {
		"update": {{form: "status", json: "status"}, {form: "severity", json: "severity"},
			{form: "national_severity", json: "national_severity"}, {form: "rsit", json: "rsit"},
			{form: "impact", json: "impact"}, {form: "outlook", json: "outlook"}, {form: "root_cause", json: "root_cause"},
			{form: "add_sectors", json: "add_sectors", list: true}, {form: "add_countries", json: "add_countries", list: true, upper: true},
			{form: "note", json: "note"}},
		"task-add":  {{form: "title", json: "title"}, {form: "owner", json: "owner"}, {form: "due", json: "due"}, {form: "note", json: "note"}},
		"task-done": {{form: "task", json: "task"}, {form: "note", json: "note"}},
		"nis2-sent": {{form: "report", json: "report"}, {form: "sent_to", json: "sent_to"}, {form: "at", json: "at"}, {form: "note", json: "note"}},
		"join":      {{form: "note", json: "note"}},
		"close":     {{form: "note", json: "note"}},
	},
	"ping": {
		"answer": {{form: "challenge", json: "challenge"}, {form: "comment", json: "comment"}},
		"close":  {{form: "comment", json: "comment"}},
	},
}

// actionInput builds the engine's JSON from a form: empty fields are left
// out (the kinds read "absent" as "unchanged").
func actionInput(fs []field, form url.Values) (json.RawMessage, error) {
	in := map[string]any{}
	for _, f := range fs {
		v := strings.TrimSpace(form.Get(f.form))
		if v == "" {
			continue
		}
		if f.upper {
			v = strings.ToUpper(v)
		}
		if f.list {
			in[f.json] = words(v)
		} else {
			in[f.json] = v
		}
	}
	return json.Marshal(in)
}

// caseAct takes an action on a case of any kind the console knows the
// form of, as the logged-in person, when the role may act on that kind.
// The answer goes back to the case's page, with the engine's words when
// it refused.
func (s *Server) caseAct(w http.ResponseWriter, r *http.Request, q *req) error {
	id, action := r.PathValue("id"), r.PathValue("action")
	if _, err := stix.ParseID(id); err != nil {
		return notFound()
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	vw, err := s.wf.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if !canSeeKind(q.role, vw.Kind) || !canActKind(q.role, vw.Kind) {
		s.log.Info("console: refused", "user", q.u.Name, "role", q.role, "case", id, "action", action)
		return &pageError{status: http.StatusForbidden, key: "error.forbidden"}
	}
	fs, ok := actionFields[vw.Kind][action]
	if !ok {
		return notFound()
	}
	in, err := actionInput(fs, r.PostForm)
	if err != nil {
		return err
	}
	if _, err := s.wf.Act(r.Context(), id, action, q.u.Name, in); err != nil {
		if errors.Is(err, workflow.ErrInput) || errors.Is(err, workflow.ErrNotParty) {
			pe := classify(err)
			return s.showCase(w, r, q, vw, pe.status, action, pe.detail)
		}
		return err
	}
	s.log.Info("console: action", "user", q.u.Name, "case", id, "kind", vw.Kind, "action", action)
	http.Redirect(w, r, caseHref(vw.Kind, id)+"?done=acted", http.StatusSeeOther)
	return nil
}

// caseHref is the page of a case.
func caseHref(kind, id string) string {
	switch kind {
	case "alert":
		return Prefix + "alerts/" + url.PathEscape(id)
	case "incident":
		return Prefix + "incidents/" + url.PathEscape(id)
	}
	return Prefix + "cases/" + url.PathEscape(id)
}

// showCase renders a case's own page (after a refused action, with the
// engine's words next to the form that failed).
func (s *Server) showCase(w http.ResponseWriter, r *http.Request, q *req, vw *workflow.View, status int, action, msg string) error {
	switch vw.Kind {
	case "incident":
		return s.renderIncident(w, r, q, vw, status, action, msg)
	}
	return s.renderCase(w, r, q, vw, status, action, msg)
}
