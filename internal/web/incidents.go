package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/incident"
	"github.com/entraide/entraide/internal/severity"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/workflow"
)

const (
	incidentListDefault = 100
	incidentListMax     = 400
)

type incidentRow struct {
	workflow.Summary
	Phase        string
	National     *severity.National
	Participants int
	Tasks, Done  int
	NextReport   *incident.Report // the next NIS2 report due, not sent
	Overdue      bool
}

type incidentsData struct {
	OpenOnly bool
	Rows     []incidentRow
	More     string
}

func (s *Server) incidents(w http.ResponseWriter, r *http.Request, q *req) error {
	qs := r.URL.Query()
	d := incidentsData{OpenOnly: qs.Get("all") != "1"}
	limit := incidentListDefault
	if n, err := strconv.Atoi(qs.Get("limit")); err == nil && n > 0 {
		limit = min(n, incidentListMax)
	}
	list, err := s.wf.List(r.Context(), "incident", d.OpenOnly, limit)
	if err != nil {
		return err
	}
	for _, sm := range list {
		var v incident.View
		if err := json.Unmarshal(sm.Detail, &v); err != nil {
			s.log.Warn("console: incident state does not read", "id", sm.ID, "err", err)
			continue
		}
		row := incidentRow{Summary: sm, Phase: v.Status, National: v.NationalSeverity, Participants: len(v.Participants), Tasks: len(v.Tasks)}
		for _, t := range v.Tasks {
			if t.DoneAt != nil {
				row.Done++
			}
		}
		if v.NIS2.Applies {
			for i := range v.NIS2.Reports {
				rp := &v.NIS2.Reports[i]
				if rp.SentAt == nil && rp.Due != nil && (row.NextReport == nil || rp.Due.Before(*row.NextReport.Due)) {
					row.NextReport = rp
				}
			}
		}
		row.Overdue = sm.Overdue
		d.Rows = append(d.Rows, row)
	}
	if len(list) == limit && limit < incidentListMax {
		u := url.Values{"limit": {strconv.Itoa(min(limit*4, incidentListMax))}}
		if !d.OpenOnly {
			u.Set("all", "1")
		}
		d.More = Prefix + "incidents?" + u.Encode()
	}
	v := s.newView(r, q, q.c, "incidents")
	v.Title = q.c.T("incidents.title")
	v.Data = d
	s.render(w, http.StatusOK, v)
	return nil
}

// sevPoint is one value of the incident's severity: the common level and
// the national one given with it, side by side.
type sevPoint struct {
	At       time.Time
	Node     string
	Actor    string
	Common   int
	National *severity.National
}

type participantRow struct {
	incident.Participant
	Name string
}

type taskRow struct {
	incident.Task
	OwnerName string
	Overdue   bool
}

type incidentData struct {
	*workflow.View
	Inc          incident.View
	Participants []participantRow
	Tasks        []taskRow
	History      []sevPoint
	Reports      []reportRow
	Entries      []entryRow
	Opener       bool // this node opened it
	Self         string
	Joined       bool // this node has confirmed taking part
	CanAct       bool
	FormError    string
	FormAction   string
	Statuses     []string
	Outlooks     []string
	RootCauses   []string
	ReportNames  []string
	Levels       []int
}

type reportRow struct {
	incident.Report
	Overdue bool
}

type entryRow struct {
	incident.Entry
	NodeName string
}

func (s *Server) incidentDetail(w http.ResponseWriter, r *http.Request, q *req) error {
	id := r.PathValue("id")
	if _, err := stix.ParseID(id); err != nil {
		return notFound()
	}
	vw, err := s.wf.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if vw.Kind != "incident" {
		http.Redirect(w, r, caseHref(vw.Kind, id), http.StatusSeeOther)
		return nil
	}
	return s.renderIncident(w, r, q, vw, http.StatusOK, "", "")
}

func (s *Server) renderIncident(w http.ResponseWriter, r *http.Request, q *req, vw *workflow.View, status int, action, msg string) error {
	d := incidentData{View: vw, FormError: msg, FormAction: action, Statuses: incident.Statuses, Outlooks: incident.Outlooks,
		RootCauses: incident.RootCauses, ReportNames: incident.Reports, Levels: []int{0, 1, 2, 3, 4, 5}}
	if err := json.Unmarshal(vw.Detail, &d.Inc); err != nil {
		return err
	}
	self := s.wf.Self()
	d.Self, d.Opener = self, vw.Origin.ID == self
	for _, p := range d.Inc.Participants {
		d.Participants = append(d.Participants, participantRow{Participant: p, Name: s.wf.NodeName(p.Node)})
		if p.Node == self && p.JoinedAt != nil {
			d.Joined = true
		}
	}
	for _, t := range d.Inc.Tasks {
		d.Tasks = append(d.Tasks, taskRow{Task: t, OwnerName: s.wf.NodeName(t.Owner),
			Overdue: vw.Open && t.DoneAt == nil && t.Due != nil && t.Due.Before(q.now)})
	}
	for _, rp := range d.Inc.NIS2.Reports {
		d.Reports = append(d.Reports, reportRow{Report: rp, Overdue: vw.Open && rp.SentAt == nil && rp.Due != nil && rp.Due.Before(q.now)})
	}
	for _, e := range d.Inc.Timeline {
		d.Entries = append(d.Entries, entryRow{Entry: e, NodeName: s.wf.NodeName(e.Node)})
	}
	d.History = severityHistory(vw, s.wf.NodeName)
	d.CanAct = Can(q.role, CapIncidentsAct) && vw.Open
	v := s.newView(r, q, q.c, "incident")
	v.Title = vw.Title
	v.Section = "incidents"
	v.Data = d
	s.render(w, status, v)
	return nil
}

// severityHistory reads the severity the incident was opened with and
// every update that set it, from the signed objects themselves: the
// common level and the national one next to it.
func severityHistory(vw *workflow.View, name func(string) string) []sevPoint {
	var out []sevPoint
	var c struct {
		Created    time.Time                  `json:"created"`
		Extensions map[string]json.RawMessage `json:"extensions"`
	}
	if json.Unmarshal(vw.Case, &c) == nil {
		var p struct {
			Common   *int               `json:"common_severity"`
			National *severity.National `json:"national_severity"`
		}
		if json.Unmarshal(c.Extensions[incident.Extension.ID], &p) == nil && p.Common != nil {
			out = append(out, sevPoint{At: vw.Opened, Node: vw.Origin.Name, Common: *p.Common, National: p.National})
		}
	}
	for _, e := range vw.Timeline {
		if e.Action != incident.ActionUpdate || e.Ignored != "" {
			continue
		}
		var p struct {
			Common   *int               `json:"common_severity"`
			National *severity.National `json:"national_severity"`
		}
		if json.Unmarshal(e.Object, &p) != nil || p.Common == nil {
			continue
		}
		out = append(out, sevPoint{At: e.At, Node: e.Node.Name, Actor: e.Actor, Common: *p.Common, National: p.National})
	}
	return out
}

// incidentForm is the form of a new incident, kept as typed when it comes
// back with an error.
type incidentForm struct {
	Title, Description, Severity, National, Status, RSIT, Impact, Sectors, Countries, Detected, TLP, Exercise string
	NIS2                                                                                                      bool
	To, Communities                                                                                           []string
}

type incidentNewData struct {
	sendData
	Inc      incidentForm
	Statuses []string
}

func (s *Server) incidentNew(w http.ResponseWriter, r *http.Request, q *req) error {
	return s.showIncidentForm(w, r, q, http.StatusOK, incidentForm{Severity: "2", TLP: "amber", Status: incident.DefaultStatus, NIS2: true}, "")
}

func (s *Server) showIncidentForm(w http.ResponseWriter, r *http.Request, q *req, status int, f incidentForm, msg string) error {
	peers, err := s.st.Peers(r.Context())
	if err != nil {
		return err
	}
	comms, err := s.st.Communities(r.Context())
	if err != nil {
		return err
	}
	v := s.newView(r, q, q.c, "incident_new")
	v.Title = q.c.T("incidentnew.title")
	v.Section = "incidents"
	v.Data = incidentNewData{sendData: sendData{Error: msg, Peers: peers, Communities: comms, Levels: []int{0, 1, 2, 3, 4, 5},
		TLPs: []string{"clear", "green", "amber", "amber+strict"}}, Inc: f, Statuses: incident.Statuses}
	s.render(w, status, v)
	return nil
}

// incidentOpen opens an incident with what the form says, as the
// logged-in person.
func (s *Server) incidentOpen(w http.ResponseWriter, r *http.Request, q *req) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	pf := r.PostForm
	f := incidentForm{Title: strings.TrimSpace(pf.Get("title")), Description: strings.TrimSpace(pf.Get("description")),
		Severity: pf.Get("severity"), National: strings.TrimSpace(pf.Get("national_severity")), Status: pf.Get("status"),
		RSIT: strings.TrimSpace(pf.Get("rsit")), Impact: strings.TrimSpace(pf.Get("impact")), Sectors: pf.Get("sectors"),
		Countries: pf.Get("countries"), Detected: strings.TrimSpace(pf.Get("detected")), TLP: pf.Get("tlp"),
		Exercise: strings.TrimSpace(pf.Get("exercise")), NIS2: pf.Get("nis2") == "1", To: pf["to"], Communities: pf["communities"]}
	in := inputOf(map[string]any{"title": f.Title, "tlp": f.TLP, "nis2": f.NIS2},
		map[string]string{"description": f.Description, "severity": f.Severity, "national_severity": f.National,
			"status": f.Status, "rsit": f.RSIT, "impact": f.Impact, "detected": f.Detected, "exercise": f.Exercise},
		map[string][]string{"sectors": words(f.Sectors), "countries": words(strings.ToUpper(f.Countries)),
			"to": f.To, "communities": f.Communities})
	res, err := s.openCase(r, q, "incident", in, func(status int, detail string) error {
		return s.showIncidentForm(w, r, q, status, f, detail)
	})
	if res == nil {
		return err
	}
	s.log.Info("console: incident opened", "user", q.u.Name, "id", res.ID, "queued", res.Queued, "refused", len(res.Refused))
	done := "opened"
	if len(res.Refused) > 0 {
		done = "sentrefused"
	}
	http.Redirect(w, r, Prefix+"incidents/"+url.PathEscape(res.ID)+"?done="+done, http.StatusSeeOther)
	return nil
}
