package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/workflow"
)

// caseData is any case as the generic page shows it: state, parties,
// deadlines, timeline, and the kind's own view as the engine gives it.
type caseData struct {
	*workflow.View
	DetailJSON  string
	FormError   string
	FormErrorEN bool // FormError is the engine's words, in English
	FormAction  string
	Actions     []actionForm
	Legal       *legalData  // a Budapest preservation request's disclosures and chains
	Assist      *assistData // an assistance request's answers as this node knows them
}

// caseDetail shows a case of any kind the role may see; kinds with their
// own page are sent there.
func (s *Server) caseDetail(w http.ResponseWriter, r *http.Request, q *req) error {
	id := r.PathValue("id")
	if _, err := stix.ParseID(id); err != nil {
		return notFound()
	}
	vw, err := s.wf.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if !canSeeKind(q.role, vw.Kind) {
		return &pageError{status: http.StatusForbidden, key: "error.forbidden"}
	}
	if href := caseHref(vw.Kind, id); href != Prefix+"cases/"+url.PathEscape(id) {
		http.Redirect(w, r, href, http.StatusSeeOther)
		return nil
	}
	return s.renderCase(w, r, q, vw, http.StatusOK, "", "")
}

// renderCase renders a case's page; msg, next to the form of action, is
// the engine's (English) words when it refused a step.
func (s *Server) renderCase(w http.ResponseWriter, r *http.Request, q *req, vw *workflow.View, status int, action, msg string) error {
	return s.renderCaseForm(w, r, q, vw, status, action, msg, true)
}

// renderCaseForm is renderCase with a message in the person's language
// (english false) or the engine's.
func (s *Server) renderCaseForm(w http.ResponseWriter, r *http.Request, q *req, vw *workflow.View, status int, action, msg string, english bool) error {
	d := caseData{View: vw, FormError: msg, FormErrorEN: english && msg != "", FormAction: action, Actions: s.allowedActions(r.Context(), q, vw)}
	var err error
	if d.Legal, err = s.legalDetail(r.Context(), q, vw); err != nil {
		return err
	}
	if d.Assist, err = s.assistDetail(q, vw); err != nil {
		return err
	}
	if len(vw.Detail) > 0 {
		var b bytes.Buffer
		if json.Indent(&b, vw.Detail, "", "  ") == nil {
			d.DetailJSON = b.String()
		}
	}
	v := s.newView(r, q, q.c, "case")
	v.Title = vw.Title
	v.Section = sectionOfKind(vw.Kind)
	v.Data = d
	s.render(w, status, v)
	return nil
}

// sectionOfKind is the navigation item a kind's cases belong to.
func sectionOfKind(kind string) string {
	switch kind {
	case "alert":
		return "alerts"
	case "incident":
		return "incidents"
	case "ping":
		return "contacts"
	case "assist":
		return "assist"
	case "preservation":
		return "legal"
	case "notice":
		return "notices"
	}
	return "overview"
}

// kindPages are the kinds listed by the generic case list, with their
// navigation item.
var kindPages = map[string]string{"assist": "assist", "preservation": "legal", "notice": "notices"}

type casesData struct {
	Kind     string
	OpenOnly bool
	Rows     []workflow.Summary
	More     string
	Extras   map[string]extra
}

// caseList lists the cases of one kind the role may see (assistance
// requests, legal requests, due-diligence notices): state, next deadline
// and countdown, on whom it waits.
func (s *Server) caseList(w http.ResponseWriter, r *http.Request, q *req) error {
	kind := r.PathValue("kind")
	section, ok := kindPages[kind]
	if !ok {
		return notFound()
	}
	if !canSeeKind(q.role, kind) {
		return &pageError{status: http.StatusForbidden, key: "error.forbidden"}
	}
	qs := r.URL.Query()
	d := casesData{Kind: kind, OpenOnly: qs.Get("all") != "1"}
	limit := incidentListDefault
	if n, err := strconv.Atoi(qs.Get("limit")); err == nil && n > 0 {
		limit = min(n, incidentListMax)
	}
	list, err := s.wf.List(r.Context(), kind, d.OpenOnly, limit)
	if err != nil {
		return err
	}
	d.Rows = list
	if len(list) == limit && limit < incidentListMax {
		u := url.Values{"limit": {strconv.Itoa(min(limit*4, incidentListMax))}}
		if !d.OpenOnly {
			u.Set("all", "1")
		}
		d.More = Prefix + "kinds/" + kind + "?" + u.Encode()
	}
	v := s.newView(r, q, q.c, "cases")
	v.Title = kindName(q.c, kind+".plural")
	v.Section = section
	v.Data = d
	s.render(w, http.StatusOK, v)
	return nil
}
