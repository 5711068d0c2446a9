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
	if vw.Kind == "alert" {
		http.Redirect(w, r, Prefix+"alerts/"+url.PathEscape(id), http.StatusSeeOther)
		return nil
	}
	d := caseData{View: vw}
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
	s.render(w, http.StatusOK, v)
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
	}
	return "overview"
}
