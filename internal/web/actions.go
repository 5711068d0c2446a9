package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/entraide/entraide/internal/notice"
	"github.com/entraide/entraide/internal/preservation"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/workflow"
)

// field is one form field an action reads, and how it goes into the
// engine's JSON.
type field struct {
	form, json string
	list       bool     // a list typed as "a, b c"
	upper      bool     // country codes
	number     bool     // a whole number
	long       bool     // several lines
	choices    []string // the values offered (a select), when the kind has a list
	disclosure bool     // a part of the one Art. 30 disclosure the form carries (disclosureFields)
}

// text is a field whose form name is its JSON name.
func text(name string) field { return field{form: name, json: name} }

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
	"notice": {
		"respond": {{form: "answer", json: "answer", choices: notice.Answers}, text("action_taken"), text("reason"), {form: "comment", json: "comment", long: true}},
		"remind":  {text("respond_by"), {form: "comment", json: "comment", long: true}},
		"close":   {text("outcome")},
	},
	"assist": {
		"offer":    {text("capability"), {form: "team_size", json: "team_size", number: true}, text("available_from"), text("available_until"), text("note")},
		"no-offer": {text("reason")},
		"withdraw": {text("offer_ref"), text("reason")},
		"accept":   {text("offer_ref"), text("note")},
		"decline":  {text("offer_ref"), text("reason")},
		"close":    {{form: "report", json: "report", long: true}},
	},
	"preservation": preservationForms(),
}

// disclosureFields are the form fields of one Art. 30 disclosure (a
// service provider in another State that took part in the transmission),
// as `entraide legal respond` takes it: the form's answer carries them as
// the one element of "disclosures". A response that names several
// providers is sent once per provider (disclose), or from the command line.
var disclosureFields = []field{
	{form: "provider_country", json: "provider_country", upper: true, disclosure: true},
	{form: "provider", json: "provider", disclosure: true},
	{form: "provider_note", json: "provider_note", long: true, disclosure: true},
}

// errDisclosureIncomplete: a disclosure names its provider's country and
// name; the page says so in the person's language.
var errDisclosureIncomplete = fmt.Errorf("%w: an Art. 30 disclosure needs the provider's country and its name", workflow.ErrInput)

// preservationForms are the forms of the Budapest workflow's actions, from
// the fields each takes (preservation.Fields); disclosures are asked one at
// a time (disclosureFields).
func preservationForms() map[string][]field {
	out := map[string][]field{}
	for _, a := range preservation.Kind.Actions {
		var fs []field
		for _, name := range preservation.Fields(a) {
			switch name {
			case "disclosures":
				fs = append(fs, disclosureFields...)
			case "comment", "explanation", "preserved", "not_preserved":
				fs = append(fs, field{form: name, json: name, long: true})
			default:
				fs = append(fs, text(name))
			}
		}
		out[a] = fs
	}
	return out
}

// actionInput builds the engine's JSON from a form: empty fields are left
// out (the kinds read "absent" as "unchanged").
func actionInput(fs []field, form url.Values) (json.RawMessage, error) {
	in := map[string]any{}
	var disc preservation.Disclosure
	for _, f := range fs {
		v := strings.TrimSpace(form.Get(f.form))
		if v == "" {
			continue
		}
		if f.upper {
			v = strings.ToUpper(v)
		}
		if f.disclosure {
			switch f.json {
			case "provider_country":
				disc.Country = v
			case "provider":
				disc.Provider = v
			case "provider_note":
				disc.Note = v
			}
			continue
		}
		if f.number {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, workflow.Inputf("%s: %q is not a whole number", f.json, v)
			}
			in[f.json] = n
			continue
		}
		if f.list {
			in[f.json] = words(v)
		} else {
			in[f.json] = v
		}
	}
	if disc != (preservation.Disclosure{}) {
		if disc.Country == "" || disc.Provider == "" {
			return nil, errDisclosureIncomplete
		}
		in["disclosures"] = []preservation.Disclosure{disc}
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
	if err == nil {
		_, err = s.wf.Act(r.Context(), id, action, q.u.Name, in)
	}
	if errors.Is(err, errDisclosureIncomplete) {
		return s.renderCaseForm(w, r, q, vw, http.StatusBadRequest, action, q.c.T("legal.disclosure.incomplete"), false)
	}
	if err != nil {
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

// actionForm is one action a person may take on a case now, with its
// fields.
type actionForm struct {
	Name   string
	Fields []field
}

// Form, JSON and the others let templates read a field.
func (f field) Name() string      { return f.form }
func (f field) Number() bool      { return f.number }
func (f field) Long() bool        { return f.long }
func (f field) Choices() []string { return f.choices }

// allowedActions lists the actions of a case the person may take here and
// now: the role may act on the kind, the case is open, the console knows
// the action's form, and the kind allows this node to take it (who opened
// the case, who received it). Whether the step fits the case's state is
// the engine's to say when the form is sent.
func (s *Server) allowedActions(ctx context.Context, q *req, vw *workflow.View) []actionForm {
	forms := actionFields[vw.Kind]
	if !vw.Open || len(forms) == 0 || !canActKind(q.role, vw.Kind) {
		return nil
	}
	k, ok := s.wf.Kind(vw.Kind)
	if !ok {
		return nil
	}
	c, _, err := s.wf.Load(ctx, vw.ID)
	if err != nil {
		s.log.Warn("console: case does not load", "id", vw.ID, "err", err)
		return nil
	}
	var out []actionForm
	for _, a := range k.Actions {
		fs, ok := forms[a]
		if !ok || (k.Allowed != nil && k.Allowed(c, s.wf.Self(), a) != nil) {
			continue
		}
		out = append(out, actionForm{Name: a, Fields: fs})
	}
	return out
}
