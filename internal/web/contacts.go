package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/contact"
	"github.com/entraide/entraide/internal/workflow"
)

// contactPings bounds the pings the directory reads (newest first): its
// answer rates are over the latest ones.
const contactPings = 500

// pingRow is one ping as the contacts page lists it.
type pingRow struct {
	contact.Ping
	Exercise  string
	OriginNm  string
	Sent      bool // this node sent it
	Ours      *contact.Recipient
	Rows      []pingRecipient
	CanAnswer bool
	CanClose  bool
	Overdue   bool
}

type pingRecipient struct {
	contact.Recipient
	Name    string
	Outcome string
}

type contactsData struct {
	Dir       *contact.Directory
	NoDir     bool
	ToAnswer  []pingRow
	Sent      []pingRow
	CanSend   bool
	Peers     []contact.NodeEntry
	Roles     []card.Role
	Form      pingForm
	FormError string
	FormCase  string // the ping a refused answer was for
	Chart     *svgChart
}

type pingForm struct {
	To, Role, Message, AnswerBy string
}

func (s *Server) contacts(w http.ResponseWriter, r *http.Request, q *req) error {
	return s.renderContacts(w, r, q, http.StatusOK, pingForm{}, "", "")
}

func (s *Server) renderContacts(w http.ResponseWriter, r *http.Request, q *req, status int, f pingForm, formErr, formCase string) error {
	ctx := r.Context()
	list, err := s.wf.List(ctx, "ping", false, contactPings)
	if err != nil {
		return err
	}
	self := s.wf.Self()
	d := contactsData{CanSend: Can(q.role, CapPingSend), Roles: card.Roles, Form: f, FormError: formErr, FormCase: formCase}
	pings := make([]contact.Ping, 0, len(list))
	for _, sm := range list {
		p := contact.Ping{ID: sm.ID, Origin: sm.Origin.ID, Status: sm.Status, Open: sm.Open}
		if err := json.Unmarshal(sm.Detail, &p.View); err != nil {
			s.log.Warn("console: ping state does not read", "id", sm.ID, "err", err)
			continue
		}
		pings = append(pings, p)
		row := pingRow{Ping: p, Exercise: sm.Exercise, OriginNm: sm.Origin.Name, Sent: sm.Origin.ID == self}
		for i, rc := range p.View.Recipients {
			row.Rows = append(row.Rows, pingRecipient{Recipient: rc, Name: s.wf.NodeName(rc.Node), Outcome: contact.Outcome(p.View, rc, q.now)})
			if rc.Node == self {
				row.Ours = &p.View.Recipients[i]
			}
		}
		switch {
		case row.Sent:
			row.CanClose = sm.Open && Can(q.role, CapPingSend)
			if len(d.Sent) < 50 {
				d.Sent = append(d.Sent, row)
			}
		case row.Ours != nil && row.Ours.AnsweredAt == nil && p.View.ClosedAt == nil:
			row.CanAnswer = Can(q.role, CapPingAnswer)
			row.Overdue = p.View.AnswerBy.Before(q.now)
			d.ToAnswer = append(d.ToAnswer, row)
		}
	}
	if s.directory == nil {
		d.NoDir = true
	} else {
		nodes, err := s.directory(ctx)
		if err != nil {
			return err
		}
		d.Dir = contact.Build(nodes, pings, q.now)
		for _, n := range d.Dir.Nodes {
			if !n.Self {
				d.Peers = append(d.Peers, n)
			}
		}
		d.Chart = responsivenessChart(q.c, d.Dir)
	}
	v := s.newView(r, q, q.c, "contacts")
	v.Title = q.c.T("contacts.title")
	v.Data = d
	s.render(w, status, v)
	return nil
}

// pingSend pings a partner's role, as the logged-in person, with a fresh
// challenge the person there types back.
func (s *Server) pingSend(w http.ResponseWriter, r *http.Request, q *req) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := pingForm{To: r.PostFormValue("to"), Role: r.PostFormValue("role"), Message: strings.TrimSpace(r.PostFormValue("message")),
		AnswerBy: strings.TrimSpace(r.PostFormValue("answer_by"))}
	ch, err := contact.NewChallenge(nil)
	if err != nil {
		return err
	}
	in := inputOf(map[string]any{"tlp": "green", "role": f.Role, "challenge": ch},
		map[string]string{"message": f.Message, "answer_by": f.AnswerBy}, nil)
	if f.To != "" {
		in["to"] = []string{f.To}
	}
	res, err := s.openCase(r, q, "ping", in, func(status int, detail string) error {
		return s.renderContacts(w, r, q, status, f, detail, "")
	})
	if res == nil {
		return err
	}
	s.log.Info("console: ping sent", "user", q.u.Name, "id", res.ID, "to", f.To, "role", f.Role)
	http.Redirect(w, r, Prefix+"contacts?done=pinged#ping-"+url.QueryEscape(res.ID), http.StatusSeeOther)
	return nil
}

// pingAnswer answers a ping received, as the logged-in person.
func (s *Server) pingAnswer(w http.ResponseWriter, r *http.Request, q *req) error {
	id := r.PathValue("id")
	if err := parseForm(w, r); err != nil {
		return err
	}
	in, err := actionInput(actionFields["ping"]["answer"], r.PostForm)
	if err != nil {
		return err
	}
	if _, err := s.wf.Act(r.Context(), id, contact.ActionAnswer, q.u.Name, in); err != nil {
		if errors.Is(err, workflow.ErrInput) || errors.Is(err, workflow.ErrNotParty) {
			pe := classify(err)
			return s.renderContacts(w, r, q, pe.status, pingForm{}, pe.detail, id)
		}
		return err
	}
	s.log.Info("console: ping answered", "user", q.u.Name, "id", id)
	http.Redirect(w, r, Prefix+"contacts?done=answered", http.StatusSeeOther)
	return nil
}

// responsivenessChart draws, per partner, the median time its points of
// contact took to answer this node's pings, and their on-time rate.
func responsivenessChart(cat *catalogue, dir *contact.Directory) *svgChart {
	type bar struct {
		name   string
		median time.Duration
		rate   *float64
	}
	var bars []bar
	for _, n := range dir.Nodes {
		if n.Self {
			continue
		}
		var times []int64
		var onTime, decided int
		for _, re := range n.Roles {
			if re.Pings.MedianResponseSeconds != nil {
				times = append(times, *re.Pings.MedianResponseSeconds)
			}
			onTime += re.Pings.OnTime
			decided += re.Pings.OnTime + re.Pings.Missed // answered on time, late or never
		}
		if len(times) == 0 && decided == 0 {
			continue
		}
		b := bar{name: n.Name + " (" + n.Country + ")"}
		if len(times) > 0 {
			slices.Sort(times)
			b.median = time.Duration(times[len(times)/2]) * time.Second
		}
		if decided > 0 {
			r := float64(onTime) / float64(decided)
			b.rate = &r
		}
		bars = append(bars, b)
	}
	if len(bars) == 0 {
		return nil
	}
	const rowH, labelW, barW = 22, 170, 240
	c := &svgChart{ID: "chart-responsiveness", Title: cat.T("chart.poc.title"), Desc: cat.T("chart.poc.desc", len(bars)),
		Width: labelW + barW + 150, Height: rowH*len(bars) + 4}
	var maxD time.Duration = time.Minute
	for _, b := range bars {
		maxD = max(maxD, b.median)
	}
	for i, b := range bars {
		y := i*rowH + 4
		c.Labels = append(c.Labels, svgText{X: labelW - 6, Y: y + rowH/2 + 4, Text: b.name, Anchor: "end"})
		w := 0
		if b.median > 0 {
			w = max(2, int(int64(b.median)*barW/int64(maxD)))
		}
		label := cat.Span(b.median)
		if b.median == 0 {
			label = "—"
		}
		if b.rate != nil {
			label += " · " + cat.T("chart.poc.ontime", int(*b.rate*100+0.5))
		}
		c.Bars = append(c.Bars, svgBar{X: labelW, Y: y, W: w, H: rowH - 6, Class: "bar received", Tip: b.name + ": " + label})
		c.Labels = append(c.Labels, svgText{X: labelW + w + 6, Y: y + rowH/2 + 4, Text: label, Anchor: "start", Class: "num"})
	}
	return c
}
