package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/alert"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// Alert lists read the newest alerts, at most this many (a "more" link
// raises it up to alertListMax).
const (
	alertListDefault = 50
	alertListMax     = 200
)

// alertRow is one alert in the inbox or the sent list.
type alertRow struct {
	workflow.Summary
	AckBy        time.Time
	Acknowledged int
	Recipients   int
	Ours         *alert.Recipient // this node's acknowledgement, for an alert received
	Overdue      bool
	StatusText   string
}

type alertsData struct {
	Box      string // inbox, sent
	OpenOnly bool
	Rows     []alertRow
	Limit    int
	More     string // the URL showing more, "" when everything is shown
	CanAct   bool
	Chart    *svgChart
}

// alertStatus says where an alert stands as this node can know it, in the
// person's language (the engine's own status text is English). The sender
// holds every recipient's acknowledgement and counts them; a recipient
// holds its own only (acknowledgements go to the sender alone), so it says
// where its own stands and never counts the others' as awaited. ours is
// this node's acknowledgement, nil when it is not a recipient.
func alertStatus(cat *catalogue, v alert.View, open, sent bool, ours *alert.Recipient) string {
	switch {
	case v.ClosedAt != nil || !open:
		return cat.T("alert.status.closed")
	case !sent && ours == nil:
		return cat.T("alert.status.received")
	case !sent && ours.AcknowledgedAt == nil:
		return cat.T("alert.status.yours")
	case !sent:
		return cat.T("alert.status.ackedhere")
	case v.Acknowledged == len(v.Recipients):
		return cat.T("alert.status.acknowledged")
	}
	return cat.T("alert.status.awaiting", len(v.Recipients)-v.Acknowledged, len(v.Recipients))
}

// alertSent says whether this node sent the alert: the fold says so
// (View.Sent); a state folded before it did is told by its origin.
func alertSent(v alert.View, origin, self string) bool {
	return v.Sent || origin == self
}

// ourRecipient is this node's entry among an alert's recipients, nil when
// it is not one.
func ourRecipient(v *alert.View, self string) *alert.Recipient {
	for i := range v.Recipients {
		if v.Recipients[i].Node == self {
			return &v.Recipients[i]
		}
	}
	return nil
}

func (s *Server) alerts(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	qs := r.URL.Query()
	d := alertsData{Box: qs.Get("box"), OpenOnly: qs.Get("open") == "1", CanAct: Can(q.role, CapAlertsAct)}
	if d.Box != "sent" {
		d.Box = "inbox"
	}
	d.Limit = alertListDefault
	if n, err := strconv.Atoi(qs.Get("limit")); err == nil && n > 0 {
		d.Limit = min(n, alertListMax)
	}
	self := s.wf.Self()
	sent := d.Box == "sent"
	cases, more, err := s.alertBox(ctx, d.OpenOnly, sent, d.Limit, q.now)
	if err != nil {
		return err
	}
	for _, fc := range cases {
		var v alert.View
		if err := json.Unmarshal(fc.View, &v); err != nil {
			s.log.Warn("console: alert state does not read", "id", fc.Summary.ID, "err", err)
			continue
		}
		row := alertRow{Summary: fc.Summary, AckBy: v.AckBy, Acknowledged: v.Acknowledged, Recipients: len(v.Recipients),
			Ours: ourRecipient(&v, self)}
		// Each box is answered from the origin index, so the box says who
		// sent it; the view agrees.
		rowSent := alertSent(v, fc.Summary.Origin.ID, self)
		row.StatusText = alertStatus(q.c, v, fc.Summary.Open, rowSent, row.Ours)
		// Overdue is what this node waits for and does not have: every
		// recipient's acknowledgement on the sender, its own on a
		// recipient — never another recipient's, which it cannot know.
		row.Overdue = fc.Summary.Open && v.AckBy.Before(q.now) &&
			(rowSent && v.Acknowledged < len(v.Recipients) || !rowSent && row.Ours != nil && row.Ours.AcknowledgedAt == nil)
		d.Rows = append(d.Rows, row)
	}
	if more && d.Limit < alertListMax {
		u := url.Values{"box": {d.Box}, "limit": {strconv.Itoa(min(d.Limit*4, alertListMax))}}
		if d.OpenOnly {
			u.Set("open", "1")
		}
		d.More = Prefix + "alerts?" + u.Encode()
	}
	if d.Chart, err = s.alertsChart(ctx, q); err != nil {
		return err
	}
	v := s.newView(r, q, q.c, "alerts")
	v.Title = q.c.T("alerts.title")
	v.Data = d
	s.render(w, http.StatusOK, v)
	return nil
}

// alertsChart draws the alerts of the last two weeks per UTC day, sent and
// received, from two grouped counts on the store's origin index: every
// alert counts, however many there are.
func (s *Server) alertsChart(ctx context.Context, q *req) (*svgChart, error) {
	ws, err := store.Workflows(s.st)
	if err != nil {
		return nil, err
	}
	self := s.wf.Self()
	today := q.now.UTC().Truncate(24 * time.Hour)
	wq := store.WorkflowQuery{Kind: "alert", OpenedSince: today.AddDate(0, 0, -(alertDays - 1)), OpenedBefore: today.AddDate(0, 0, 1)}
	sq, rq := wq, wq
	sq.Origin, rq.NotOrigin = self, self
	sent, err := ws.WorkflowCountBy(ctx, sq, store.GroupOpenedDay)
	if err != nil {
		return nil, err
	}
	recv, err := ws.WorkflowCountBy(ctx, rq, store.GroupOpenedDay)
	if err != nil {
		return nil, err
	}
	return alertsOverTime(q.c, sent, recv, q.now), nil
}

// alertBox reads the newest alerts of one box with their states, in one
// query on the store's origin index: those this node opened (sent) or
// those any other node opened (received), however many of the others
// there are.
func (s *Server) alertBox(ctx context.Context, openOnly, sent bool, limit int, now time.Time) (cases []fullCase, more bool, err error) {
	ws, err := store.Workflows(s.st)
	if err != nil {
		return nil, false, err
	}
	q := store.WorkflowQuery{Kind: "alert", OpenOnly: openOnly, Limit: limit + 1}
	if sent {
		q.Origin = s.wf.Self()
	} else {
		q.NotOrigin = s.wf.Self()
	}
	cs, err := ws.WorkflowCases(ctx, q)
	if err != nil {
		return nil, false, err
	}
	if len(cs) > limit {
		cs, more = cs[:limit], true
	}
	for _, c := range cs {
		if fc, ok := s.fullRow(c, now); ok {
			cases = append(cases, fc)
		}
	}
	return cases, more, nil
}

// alertDetailData is one alert with its recipients and what this person
// may do with it.
type alertDetailData struct {
	*workflow.View
	Alert      alert.View
	Rows       []recipientRow
	StatusText string
	Sent       bool // this node sent it
	Unknown    int  // recipients whose acknowledgements do not reach this node
	Ours       *alert.Recipient
	CanAck     bool
	CanClose   bool
	Answers    []string
	Form       ackForm
	FormError  string
}

type recipientRow struct {
	alert.Recipient
	Name        string
	DeliveredAt *time.Time // known to the sender only
	Attempts    int
	LastError   string
	Overdue     bool
}

type ackForm struct{ Answer, Comment string }

func (s *Server) alertDetail(w http.ResponseWriter, r *http.Request, q *req) error {
	return s.showAlert(w, r, q, r.PathValue("id"), http.StatusOK, ackForm{}, "")
}

func (s *Server) showAlert(w http.ResponseWriter, r *http.Request, q *req, id string, status int, form ackForm, formErr string) error {
	if _, err := stix.ParseID(id); err != nil {
		return notFound()
	}
	vw, err := s.wf.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if vw.Kind != "alert" {
		http.Redirect(w, r, Prefix+"cases/"+url.PathEscape(id), http.StatusSeeOther)
		return nil
	}
	d := alertDetailData{View: vw, Answers: alert.Answers, Form: form, FormError: formErr}
	if err := json.Unmarshal(vw.Detail, &d.Alert); err != nil {
		return err
	}
	self := s.wf.Self()
	d.Sent = alertSent(d.Alert, vw.Origin.ID, self)
	d.Ours = ourRecipient(&d.Alert, self)
	delivered := map[string]workflow.PartyView{}
	for _, p := range vw.Parties {
		delivered[p.ID] = p
	}
	for _, rc := range d.Alert.Recipients {
		// What this node can know of a recipient's acknowledgement: all
		// of it on the sender, its own on a recipient; another
		// recipient's is not known here — neither given nor missing, and
		// never overdue here.
		rc.Known = d.Sent || rc.Known || rc.Node == self
		row := recipientRow{Recipient: rc, Name: s.wf.NodeName(rc.Node),
			Overdue: vw.Open && rc.Known && (d.Sent || rc.Node == self) && rc.AcknowledgedAt == nil && d.Alert.AckBy.Before(q.now)}
		if p, ok := delivered[rc.Node]; ok && d.Sent {
			row.DeliveredAt, row.Attempts, row.LastError = p.DeliveredAt, p.Attempts, p.LastError
		}
		if !rc.Known {
			d.Unknown++
		}
		d.Rows = append(d.Rows, row)
	}
	d.StatusText = alertStatus(q.c, d.Alert, vw.Open, d.Sent, d.Ours)
	act := Can(q.role, CapAlertsAct) && vw.Open
	d.CanAck = act && !d.Sent && d.Ours != nil
	d.CanClose = act && d.Sent
	v := s.newView(r, q, q.c, "alert")
	v.Title = vw.Title
	v.Section = "alerts"
	v.Data = d
	s.render(w, status, v)
	return nil
}

// alertAck acknowledges an alert received, as the logged-in person.
func (s *Server) alertAck(w http.ResponseWriter, r *http.Request, q *req) error {
	id := r.PathValue("id")
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := ackForm{Answer: r.PostFormValue("answer"), Comment: strings.TrimSpace(r.PostFormValue("comment"))}
	in, err := json.Marshal(alert.AckInput{Answer: f.Answer, Comment: f.Comment})
	if err != nil {
		return err
	}
	if _, err := s.wf.Act(r.Context(), id, alert.ActionAck, q.u.Name, in); err != nil {
		if errors.Is(err, workflow.ErrInput) || errors.Is(err, workflow.ErrNotParty) {
			pe := classify(err)
			return s.showAlert(w, r, q, id, pe.status, f, pe.detail)
		}
		return err
	}
	s.log.Info("console: alert acknowledged", "user", q.u.Name, "id", id, "answer", f.Answer)
	http.Redirect(w, r, Prefix+"alerts/"+url.PathEscape(id)+"?done=ack", http.StatusSeeOther)
	return nil
}

// alertClose closes an alert this node sent.
func (s *Server) alertClose(w http.ResponseWriter, r *http.Request, q *req) error {
	id := r.PathValue("id")
	if err := parseForm(w, r); err != nil {
		return err
	}
	comment := strings.TrimSpace(r.PostFormValue("comment"))
	in, err := json.Marshal(alert.AckInput{Comment: comment})
	if err != nil {
		return err
	}
	if _, err := s.wf.Act(r.Context(), id, alert.ActionClose, q.u.Name, in); err != nil {
		if errors.Is(err, workflow.ErrInput) || errors.Is(err, workflow.ErrNotParty) {
			pe := classify(err)
			return s.showAlert(w, r, q, id, pe.status, ackForm{}, pe.detail)
		}
		return err
	}
	s.log.Info("console: alert closed", "user", q.u.Name, "id", id)
	http.Redirect(w, r, Prefix+"alerts/"+url.PathEscape(id)+"?done=close", http.StatusSeeOther)
	return nil
}

// sendForm is the form of a new alert, kept as typed when it comes back
// with an error.
type sendForm struct {
	Title, Description, Severity, National, Sectors, Countries, Refs, AckBy, TLP, Exercise string
	To, Communities                                                                        []string
}

type sendData struct {
	Form        sendForm
	Error       string
	Peers       []store.Peer
	Communities []store.Community
	Levels      []int
	TLPs        []string
}

func (s *Server) alertNew(w http.ResponseWriter, r *http.Request, q *req) error {
	return s.showSendForm(w, r, q, http.StatusOK, sendForm{AckBy: "24h", TLP: "amber", Severity: "2"}, "")
}

func (s *Server) showSendForm(w http.ResponseWriter, r *http.Request, q *req, status int, f sendForm, msg string) error {
	peers, err := s.st.Peers(r.Context())
	if err != nil {
		return err
	}
	comms, err := s.st.Communities(r.Context())
	if err != nil {
		return err
	}
	v := s.newView(r, q, q.c, "alert_new")
	v.Title = q.c.T("alertnew.title")
	v.Section = "alerts"
	v.Data = sendData{Form: f, Error: msg, Peers: peers, Communities: comms, Levels: []int{0, 1, 2, 3, 4, 5},
		TLPs: []string{"clear", "green", "amber", "amber+strict"}}
	s.render(w, status, v)
	return nil
}

// words splits a list typed as "energy, health" or "FR EE".
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// alertSend opens an alert with what the form says, as the logged-in
// person; a mistake comes back to the form with the engine's words.
func (s *Server) alertSend(w http.ResponseWriter, r *http.Request, q *req) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	pf := r.PostForm
	f := sendForm{Title: strings.TrimSpace(pf.Get("title")), Description: strings.TrimSpace(pf.Get("description")),
		Severity: pf.Get("severity"), National: strings.TrimSpace(pf.Get("national_severity")), Sectors: pf.Get("sectors"),
		Countries: pf.Get("countries"), Refs: pf.Get("refs"), AckBy: strings.TrimSpace(pf.Get("ack_by")), TLP: pf.Get("tlp"),
		Exercise: strings.TrimSpace(pf.Get("exercise")), To: pf["to"], Communities: pf["communities"]}
	in := inputOf(map[string]any{"title": f.Title, "tlp": f.TLP},
		map[string]string{"description": f.Description, "severity": f.Severity, "national_severity": f.National,
			"ack_by": f.AckBy, "exercise": f.Exercise},
		map[string][]string{"sectors": words(f.Sectors), "countries": words(strings.ToUpper(f.Countries)),
			"refs": words(f.Refs), "to": f.To, "communities": f.Communities})
	res, err := s.openCase(r, q, "alert", in, func(status int, detail string) error {
		return s.showSendForm(w, r, q, status, f, detail)
	})
	if res == nil {
		return err
	}
	s.log.Info("console: alert sent", "user", q.u.Name, "id", res.ID, "queued", res.Queued, "refused", len(res.Refused))
	done := "sent"
	if len(res.Refused) > 0 {
		done = "sentrefused"
	}
	http.Redirect(w, r, Prefix+"alerts/"+url.PathEscape(res.ID)+"?done="+done, http.StatusSeeOther)
	return nil
}
