package web

import (
	"encoding/json"
	"time"

	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// The console's lists read case rows from the store's indexes
// (store.WorkflowQuery Origin, NotOrigin, WaitingOn) up to the rows they
// show, and its summaries — the alerts per day, the open incidents per
// severity — are the store's grouped counts (WorkflowCountBy): none reads
// a bounded window of rows that could leave a case out.

// fullCase reads one case's folded state: the kind's view and the
// exercise it belongs to.
type fullCase struct {
	Summary  workflow.Summary
	View     json.RawMessage
	Exercise string
}

// summarize is workflow.Engine's summary of a case row, with the
// partners' names.
func (s *Server) summarize(c store.WorkflowCase, now time.Time) workflow.Summary {
	sm := workflow.Summary{ID: c.ID, Kind: c.Kind, Origin: workflow.PartyView{ID: c.Origin, Name: s.wf.NodeName(c.Origin)},
		Opened: c.Opened, Updated: c.Updated, Title: c.Title, Severity: c.Severity, Status: c.Status, Open: c.Open,
		WaitingOn: []workflow.PartyView{}}
	if !c.NextDue.IsZero() {
		nd := c.NextDue
		sm.NextDue, sm.Overdue = &nd, nd.Before(now)
	}
	for _, w := range c.WaitingOn {
		sm.WaitingOn = append(sm.WaitingOn, workflow.PartyView{ID: w, Name: s.wf.NodeName(w)})
	}
	return sm
}

// fullRow is a case row read with its state as the console shows it; a
// state that does not read is logged and left out.
func (s *Server) fullRow(wc store.WorkflowCase, now time.Time) (fullCase, bool) {
	var f struct {
		State struct {
			View json.RawMessage `json:"view"`
		} `json:"state"`
		Exercise string `json:"exercise"`
	}
	if err := json.Unmarshal(wc.State, &f); err != nil {
		s.log.Warn("console: case state does not read", "id", wc.ID, "err", err)
		return fullCase{}, false
	}
	sm := s.summarize(wc, now)
	sm.Exercise = f.Exercise
	return fullCase{Summary: sm, View: f.State.View, Exercise: f.Exercise}, true
}
