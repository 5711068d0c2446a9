package web

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/policy"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// Sharing an object to a community from its page goes through the same
// federation.Share as `entraide share`: marked, signed, decided by the
// sharing policy per member, stored with one delivery queued per allowed
// member in one transaction, and audited (with path console). The console
// adds nothing to the decision; it only says in the person's language what
// the policy decided.
//
// Only objects this node created and signed are offered: Share signs as
// this node, and a node never signs what another created (a partner's
// object goes on only as its own policy and its marking allow, by relay).
// Objects of a cooperation case (an alert, an incident…) are not offered
// either: their parties are decided by the case, not by a community.

// shareData is the share section of an object's page.
type shareData struct {
	CanShare    bool   // the role may share and the object is this node's
	Why         string // why it cannot be shared from here, when the role could share
	Communities []store.Community
	Chosen      []string
	Result      *shareOutcome
	Error       string // why the share was not made
	ErrorEN     bool   // Error is the federation's own words, in English
}

// shareOutcome is what the policy decided for each member.
type shareOutcome struct {
	Communities []string
	Queued      []shareTarget
	Refused     []shareTarget
}

// shareTarget is one recipient of a share and, when refused, why.
type shareTarget struct {
	Node      string // the peer's name; "" for a community unknown here
	Community string
	Reason    string // in the person's language when the rule is known, else the policy's English words
	English   bool
}

// policyReasons are the policy rules a share to a community can end in
// that the console says in each language (message key "policy.RULE"),
// with what each message needs. Any other rule shows the policy's own
// (English) reason.
var policyReasons = map[policy.Rule]func(t shareTarget, tlp, max, typ string) []any{
	policy.RuleCommunityUnknown:   func(t shareTarget, _, _, _ string) []any { return []any{t.Community} },
	policy.RuleSenderNotMember:    func(t shareTarget, _, _, _ string) []any { return []any{t.Community} },
	policy.RuleRecipientNotMember: func(t shareTarget, _, _, _ string) []any { return []any{t.Node, t.Community} },
	policy.RuleCommunityMaxTLP:    func(t shareTarget, tlp, max, _ string) []any { return []any{t.Community, max, tlp} },
	policy.RuleCommunityType:      func(t shareTarget, _, _, typ string) []any { return []any{t.Community, typ} },
	policy.RuleCommunityNotChosen: func(t shareTarget, tlp, _, _ string) []any { return []any{tlp, t.Community} },
	policy.RuleRedNotNamed:        func(t shareTarget, _, _, _ string) []any { return []any{t.Node} },
	policy.RuleUnmarkedRed:        func(shareTarget, string, string, string) []any { return nil },
}

// memberCommunities are the communities this node belongs to: the only
// ones it may share to.
func (s *Server) memberCommunities(ctx context.Context) ([]store.Community, error) {
	cs, err := s.st.Communities(ctx)
	if err != nil {
		return nil, err
	}
	self := s.wf.Self()
	out := cs[:0:0]
	for _, c := range cs {
		if slices.Contains(c.Members, self) {
			out = append(out, c)
		}
	}
	return out, nil
}

// shareable fills the share section of an object's page for the person:
// whether the form is offered, and if not, why.
func (s *Server) shareable(ctx context.Context, q *req, d *objectData) error {
	if !Can(q.role, CapIntelAct) {
		return nil
	}
	switch {
	case !d.Own || !d.Signed:
		if d.Origin != "" && !d.Own {
			d.Share.Why = q.c.T("share.notours", d.Origin)
		} else {
			d.Share.Why = q.c.T("share.unsigned")
		}
		return nil
	}
	ws, err := store.Workflows(s.st)
	if err != nil {
		return err
	}
	if _, err := ws.WorkflowItem(ctx, d.Entry.ID); err == nil {
		d.Share.Why = q.c.T("share.case")
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	cs, err := s.memberCommunities(ctx)
	if err != nil {
		return err
	}
	d.Share.Communities = cs
	if len(cs) == 0 {
		d.Share.Why = q.c.T("share.nocommunity")
		return nil
	}
	d.Share.CanShare = true
	return nil
}

// intelShare shares the object to the communities the form names, as the
// logged-in person, and shows its page with what the policy decided for
// each member.
func (s *Server) intelShare(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	if err := parseForm(w, r); err != nil {
		return err
	}
	d, err := s.loadObject(ctx, q, r.PathValue("coll"), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.shareable(ctx, q, d); err != nil {
		return err
	}
	if !d.Share.CanShare {
		// The page says why; nothing was done.
		return s.renderObject(w, r, q, d, http.StatusBadRequest)
	}
	chosen := r.PostForm["community"]
	d.Share.Chosen = chosen
	if len(chosen) == 0 {
		d.Share.Error = q.c.T("share.choose")
		return s.renderObject(w, r, q, d, http.StatusBadRequest)
	}
	byName := map[string]store.Community{}
	for _, c := range d.Share.Communities {
		byName[c.Name] = c
	}
	for _, name := range chosen {
		if _, ok := byName[name]; !ok {
			d.Share.Error = q.c.T("share.notmember", name)
			return s.renderObject(w, r, q, d, http.StatusBadRequest)
		}
	}
	res, err := s.fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{d.Entry.Raw}, Communities: chosen,
		Actor: q.u.Name, Path: policy.PathConsole})
	if err != nil {
		s.log.Info("console: share failed", "user", q.u.Name, "id", d.Entry.ID, "err", err)
		d.Share.Error, d.Share.ErrorEN = err.Error(), true
		return s.renderObject(w, r, q, d, http.StatusBadRequest)
	}
	so := res.Objects[0]
	if so.Outcome == store.Conflict {
		d.Share.Error = q.c.T("share.conflict")
		return s.renderObject(w, r, q, d, http.StatusConflict)
	}
	out := &shareOutcome{Communities: chosen}
	typ := d.Entry.Type
	tlp := tlpText(q, d.TLP)
	for _, t := range so.To {
		out.Queued = append(out.Queued, shareTarget{Node: s.wf.NodeName(t.Node), Community: t.Community})
	}
	for _, t := range so.Refused {
		st := shareTarget{Community: t.Community}
		if t.Node != "" {
			st.Node = s.wf.NodeName(t.Node)
		}
		max := ""
		if c, ok := byName[t.Community]; ok {
			max = c.MaxTLP.String()
		}
		if args, ok := policyReasons[t.Decision.Rule]; ok {
			st.Reason = q.c.T("policy."+string(t.Decision.Rule), args(st, tlp, max, typ)...)
		} else {
			st.Reason, st.English = t.Decision.Reason, true
		}
		out.Refused = append(out.Refused, st)
	}
	d.Share.Result = out
	s.log.Info("console: shared", "user", q.u.Name, "id", d.Entry.ID, "communities", chosen, "queued", len(so.To), "refused", len(so.Refused))
	status := http.StatusOK
	if len(out.Queued) == 0 {
		// Nothing will leave the node: the policy refused every member.
		status = http.StatusForbidden
	}
	return s.renderObject(w, r, q, d, status)
}

// tlpText is a level as the policy's messages write it; an unmarked
// object is at the node's default level, which the console does not
// know: it says so.
func tlpText(q *req, t stix.TLP) string {
	if !t.Valid() {
		return q.c.T("share.unmarked")
	}
	return t.String()
}
