package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/workflow"
)

// caseData is any case as the generic page shows it: state, parties,
// deadlines, timeline, and the kind's own view as the engine gives it.
type caseData struct {
	*workflow.View
	DetailJSON string
	FormError  string
	FormAction string
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

func (s *Server) renderCase(w http.ResponseWriter, r *http.Request, q *req, vw *workflow.View, status int, action, msg string) error {
	d := caseData{View: vw, FormError: msg, FormAction: action}
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
