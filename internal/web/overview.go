package web

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// Bounds of the overview: it reads at most this much, whatever the size of
// the node, and says when there is more.
const (
	overviewDue    = 30 // deadlines shown
	overviewAlerts = 15 // of which shown
)

// dueItem is one deadline on the overview.
type dueItem struct {
	workflow.Summary
	What     string // the deadline's name in the kind ("acknowledge", "early warning"), "" if unknown
	Ours     bool   // this node is one of those it waits on
	Exercise string
}

// pendingAlert is an alert received that this node has not acknowledged.
type pendingAlert struct {
	workflow.Summary
	AckBy   time.Time
	Overdue bool
}

type sevCount struct {
	Level int
	Count int
}

type overviewData struct {
	Due          []dueItem
	DueMore      bool
	Overdue      int
	Alerts       []pendingAlert
	AlertsTotal  int
	Incidents    []sevCount // open incidents per common level, 5 to 0 then none (-1)
	IncidentsAll int
	Peers        []federation.PeerStatus
	PeersUp      int
	QueuePending int
	QueueFailed  int
	Forks        int
	PeersErr     bool
	Chart        *svgChart
	CanIncidents bool
}

// overview is what needs a person now: deadlines (overdue first, then the
// soonest), alerts received and not yet acknowledged, open incidents by
// severity, and the federation's health.
func (s *Server) overview(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	d := overviewData{CanIncidents: Can(q.role, CapIncidents)}
	due, err := s.wf.Due(ctx, overviewDue+1)
	if err != nil {
		return err
	}
	if len(due) > overviewDue {
		due, d.DueMore = due[:overviewDue], true
	}
	extras := s.caseExtras(ctx, due)
	self := s.wf.Self()
	for _, sm := range due {
		if !canSeeKind(q.role, sm.Kind) {
			continue
		}
		it := dueItem{Summary: sm, What: extras[sm.ID].what, Exercise: extras[sm.ID].exercise}
		for _, p := range sm.WaitingOn {
			it.Ours = it.Ours || p.ID == self
		}
		if sm.Overdue {
			d.Overdue++
		}
		d.Due = append(d.Due, it)
	}

	if Can(q.role, CapAlerts) {
		// The alerts received that wait on this node's acknowledgement are
		// the open alerts of another node whose next deadline waits on us
		// (all recipients of an alert share its deadline): this node's
		// range of the store's waiting index, the most urgent first,
		// counted there too, without reading states.
		ws, err := store.Workflows(s.st)
		if err != nil {
			return err
		}
		wq := store.WorkflowQuery{Kind: "alert", WaitingOn: self, NotOrigin: self, Limit: overviewAlerts, NoState: true}
		shown, err := ws.WorkflowCases(ctx, wq)
		if err != nil {
			return err
		}
		if d.AlertsTotal, err = ws.WorkflowCount(ctx, wq); err != nil {
			return err
		}
		extras := s.caseExtras(ctx, summaries(shown))
		for _, c := range shown {
			sm := s.summarize(c, q.now)
			sm.Exercise = extras[c.ID].exercise
			d.Alerts = append(d.Alerts, pendingAlert{Summary: sm, AckBy: c.NextDue, Overdue: c.NextDue.Before(q.now)})
		}
	}

	if d.CanIncidents {
		// Every open incident, counted per severity by the store in one
		// grouped query: no bound can leave one out.
		ws, err := store.Workflows(s.st)
		if err != nil {
			return err
		}
		bySev, err := ws.WorkflowCountBy(ctx, store.WorkflowQuery{Kind: "incident", OpenOnly: true}, store.GroupSeverity)
		if err != nil {
			return err
		}
		counts := map[int]int{}
		for lv, n := range bySev {
			if lv < 0 || lv > 5 {
				lv = -1
			}
			counts[int(lv)] += n
			d.IncidentsAll += n
		}
		for lv := 5; lv >= -1; lv-- {
			d.Incidents = append(d.Incidents, sevCount{Level: lv, Count: counts[lv]})
		}
		d.Chart = severityChart(q.c, d.Incidents)
	}

	peers, err := s.fed.Status(ctx)
	if err != nil {
		s.log.Warn("console: federation status", "err", err)
		d.PeersErr = true
	}
	for _, p := range peers {
		if p.Reachable {
			d.PeersUp++
		}
		d.QueuePending += p.Queue.Pending
		d.QueueFailed += p.Queue.Failed
		d.Forks += p.Forks
	}
	// Down first, then by name: what is wrong comes first.
	slices.SortStableFunc(peers, func(a, b federation.PeerStatus) int {
		if a.Reachable != b.Reachable {
			if !a.Reachable {
				return -1
			}
			return 1
		}
		return 0
	})
	d.Peers = peers

	v := s.newView(r, q, q.c, "overview")
	v.Title = q.c.T("overview.title")
	v.Data = d
	s.render(w, http.StatusOK, v)
	return nil
}

// extra is what the overview shows of a case beyond its summary.
type extra struct {
	what     string
	exercise string
}

// summaries are the ids and deadlines of case rows, for caseExtras.
func summaries(cs []store.WorkflowCase) []workflow.Summary {
	out := make([]workflow.Summary, len(cs))
	for i, c := range cs {
		out[i].ID = c.ID
		if !c.NextDue.IsZero() {
			nd := c.NextDue
			out[i].NextDue = &nd
		}
	}
	return out
}

// caseExtras reads, for a bounded list of cases, the exercise each
// belongs to and the name of its next deadline, from the folded states
// (one indexed read per case). A case that cannot be read is shown
// without them.
func (s *Server) caseExtras(ctx context.Context, cases []workflow.Summary) map[string]extra {
	out := map[string]extra{}
	ws, err := store.Workflows(s.st)
	if err != nil {
		return out
	}
	for _, c := range cases {
		wc, err := ws.WorkflowCase(ctx, c.ID)
		if err != nil {
			continue
		}
		var f struct {
			State struct {
				Deadlines []workflow.Deadline `json:"deadlines"`
			} `json:"state"`
			Exercise string `json:"exercise"`
		}
		if json.Unmarshal(wc.State, &f) != nil {
			continue
		}
		e := extra{exercise: f.Exercise}
		for _, dl := range f.State.Deadlines {
			if dl.DoneAt == nil && c.NextDue != nil && dl.Due.Equal(*c.NextDue) {
				e.what = dl.What
				break
			}
		}
		out[c.ID] = e
	}
	return out
}
