package web

import (
	"context"
	"encoding/json"
	"time"

	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// caseScan bounds how many case rows the lists that summarise many cases
// read (the alerts chart, the incidents by severity): the rows are read
// without their states (the store's index columns only). Lists that look
// for some cases among many — the alerts this node received among those
// it sent, those waiting on its answer — ask the store's indexes instead
// (store.WorkflowQuery NotOrigin, WaitingOn), so that no bound can hide
// one of them.
const caseScan = 2000

// scanCases reads at most caseScan summaries matching q (NoState), keeps
// those keep accepts, at most want of them, until keep says stop, and
// says whether it stopped before the end of the matching rows (more) and
// whether the scan itself was cut short (capped: older cases were not
// looked at).
func (s *Server) scanCases(ctx context.Context, q store.WorkflowQuery, want int, keep func(store.WorkflowCase) (keep, stop bool)) (kept []store.WorkflowCase, more, capped bool, err error) {
	ws, err := store.Workflows(s.st)
	if err != nil {
		return nil, false, false, err
	}
	q.NoState, q.Limit = true, caseScan
	cs, err := ws.WorkflowCases(ctx, q)
	if err != nil {
		return nil, false, false, err
	}
	for _, c := range cs {
		k, stop := keep(c)
		if stop {
			return kept, false, false, nil
		}
		if !k {
			continue
		}
		if len(kept) == want {
			return kept, true, false, nil
		}
		kept = append(kept, c)
	}
	return kept, false, len(cs) == caseScan, nil
}

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
