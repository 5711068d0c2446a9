package web

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/assistance"
	"github.com/entraide/entraide/internal/workflow"
)

// An assistance request's page shows, beyond the generic case, where the
// request stands and each partner's answer as this node can know them.
// Answers go to the requester (and to the partners each answering node is
// peered with): the requester tracks every partner's answer; a partner
// tracks its own, and shows another partner's as "not known here" —
// neither missing nor overdue — unless it reached this node, or the
// requester's decision on one of its offers tells it (inferred).

// assistData is the assistance part of a request's page.
type assistData struct {
	StatusText string
	Requester  bool      // this node asked for help
	RespondBy  time.Time // when the partners' answers are due
	Rows       []assistRow
	Unknown    int // partners whose answers do not reach this node
}

// assistRow is one partner asked, and its answer as known here.
type assistRow struct {
	assistance.Recipient
	Name       string
	AnswerText string // the answer in the person's language; "" when none is known
	Ours       bool   // this node
	Overdue    bool   // an answer this node waits for, past respond_by
}

// assistDetail reads an assistance request's answers for its page; nil
// for any other kind.
func (s *Server) assistDetail(q *req, vw *workflow.View) (*assistData, error) {
	if vw.Kind != assistance.KindName {
		return nil, nil
	}
	var v assistance.View
	if err := json.Unmarshal(vw.Detail, &v); err != nil {
		return nil, err
	}
	self := s.wf.Self()
	d := &assistData{Requester: vw.Origin.ID == self, RespondBy: v.RespondBy}
	var ours *assistance.Recipient
	for i, r := range v.Recipients {
		// The requester holds every answer; a partner its own, and the
		// others' as far as they reach it.
		r.Known = d.Requester || r.Known || r.Node == self
		row := assistRow{Recipient: r, Name: s.wf.NodeName(r.Node), Ours: r.Node == self}
		if row.Ours {
			ours = &v.Recipients[i]
		}
		if !r.Known {
			d.Unknown++
		} else {
			row.AnswerText = assistAnswer(q.c, r)
		}
		row.Overdue = vw.Open && r.Known && (d.Requester || row.Ours) && r.AnsweredAt == nil && !r.Inferred &&
			!v.RespondBy.IsZero() && v.RespondBy.Before(q.now)
		d.Rows = append(d.Rows, row)
	}
	d.StatusText = assistStatus(q.c, v, vw.Open, d.Requester, ours)
	return d, nil
}

// assistAnswer is a partner's answer in the person's language.
func assistAnswer(cat *catalogue, r assistance.Recipient) string {
	switch {
	case r.Inferred:
		return cat.T("assist.answer.inferred")
	case r.Answer == assistance.AnswerOffered:
		return cat.T("assist.answer.offered")
	case r.Answer == assistance.AnswerNoOffer:
		return cat.T("assist.answer.nooffer")
	case r.Answer == assistance.AnswerWithdrawn:
		return cat.T("assist.answer.withdrawn")
	case r.Answer != "":
		return r.Answer // an answer a newer node gives
	}
	return ""
}

// assistStatus says where a request stands as this node can know it, in
// the person's language: the requester counts the answers awaited; a
// partner says where its own answer stands, never counting the others'.
// ours is this node's entry among the partners asked, nil if it is not one.
func assistStatus(cat *catalogue, v assistance.View, open, requester bool, ours *assistance.Recipient) string {
	if v.ClosedAt != nil || !open {
		return cat.T("assist.status.closed")
	}
	accepted, pending := 0, 0
	for _, o := range v.Offers {
		switch o.Status {
		case assistance.StatusAccepted:
			accepted++
		case assistance.StatusPending:
			pending++
		}
	}
	var parts []string
	if !requester {
		switch {
		case ours == nil:
			parts = append(parts, cat.T("assist.status.notasked"))
		case ours.AnsweredAt == nil && !ours.Inferred:
			parts = append(parts, cat.T("assist.status.yours"))
		default:
			parts = append(parts, cat.T("assist.status.answeredhere"))
		}
	}
	if accepted > 0 {
		parts = append(parts, cat.T("assist.status.accepted", accepted))
	}
	if pending > 0 {
		parts = append(parts, cat.T("assist.status.pending", pending))
	}
	if requester {
		if n := len(v.Recipients) - v.Answered; n > 0 {
			parts = append(parts, cat.T("assist.status.awaiting", n, len(v.Recipients)))
		}
		if len(parts) == 0 {
			if len(v.Offers) == 0 {
				parts = append(parts, cat.T("assist.status.nohelp"))
			} else {
				parts = append(parts, cat.T("assist.status.noneinforce"))
			}
		}
	}
	return strings.Join(parts, ", ")
}
