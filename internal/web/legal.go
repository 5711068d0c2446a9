package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/entraide/entraide/internal/preservation"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// A Budapest preservation request's page shows, beyond the generic case,
// the Art. 30 disclosures its answers made (a service provider in another
// State took part in the transmission) and, on the requesting node, a
// button per disclosed country that chains a new request to that
// country's node in one action, as `entraide legal preserve --chain` does:
// preservation.Chain prefills it from the original request and the
// disclosure, and the engine opens it (signed, marked as the original,
// checked by the sharing policy, audited with path console).

// legalData is the Budapest part of a preservation request's page.
type legalData struct {
	Disclosures []preservation.DisclosureView
	Chains      []chainOption
	ChainedFrom string // the request this one was chained from (Art. 30), "" if none
	Chained     []chainedRow
	ChainedMore bool // the chained requests were looked for among the newest only
}

// chainedRow is a request chained from this one.
type chainedRow struct {
	workflow.Summary
	Country, Target string
}

// chainOption is one country a request can be chained to: the step that
// disclosed providers there, and the peers of that country.
type chainOption struct {
	Step      string
	Country   string
	Providers []string
	Peers     []store.Peer
}

// legalChainScan bounds how many preservation requests are read to list
// those chained from one.
const legalChainScan = 400

// legalDetail reads a preservation request's disclosures and chains for
// its page; nil for any other kind.
func (s *Server) legalDetail(ctx context.Context, q *req, vw *workflow.View) (*legalData, error) {
	if vw.Kind != preservation.KindName {
		return nil, nil
	}
	var v preservation.View
	if err := json.Unmarshal(vw.Detail, &v); err != nil {
		return nil, err
	}
	d := &legalData{Disclosures: v.Disclosures, ChainedFrom: v.ChainedFromCaseRef}
	if vw.Origin.ID != s.wf.Self() {
		return d, nil // only the requesting node chains, and knows its chains
	}
	list, err := s.wf.List(ctx, preservation.KindName, false, legalChainScan)
	if err != nil {
		return nil, err
	}
	d.ChainedMore = len(list) == legalChainScan
	for _, sm := range list {
		var cv preservation.View
		if json.Unmarshal(sm.Detail, &cv) == nil && cv.ChainedFromCaseRef == vw.ID {
			d.Chained = append(d.Chained, chainedRow{Summary: sm, Country: cv.TargetCountry, Target: s.wf.NodeName(cv.Target)})
		}
	}
	if !canActKind(q.role, preservation.KindName) || len(v.Disclosures) == 0 {
		return d, nil
	}
	peers, err := s.st.Peers(ctx)
	if err != nil {
		return nil, err
	}
	for _, x := range v.Disclosures {
		i := slices.IndexFunc(d.Chains, func(c chainOption) bool { return c.Step == x.Step && c.Country == x.Country })
		if i < 0 {
			c := chainOption{Step: x.Step, Country: x.Country}
			for _, p := range peers {
				if p.Country == x.Country {
					c.Peers = append(c.Peers, p)
				}
			}
			d.Chains = append(d.Chains, c)
			i = len(d.Chains) - 1
		}
		d.Chains[i].Providers = append(d.Chains[i].Providers, x.Provider)
	}
	return d, nil
}

// legalChain opens, in one action, the request to a third country that an
// Art. 30 disclosure calls for: the form names the disclosing step and the
// peer (the 24/7 point of contact's node) in the disclosed country; the
// request is prefilled from the original and the disclosure and marked as
// the original.
func (s *Server) legalChain(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := stix.ParseID(id); err != nil {
		return notFound()
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	vw, err := s.wf.Get(ctx, id)
	if err != nil {
		return err
	}
	if vw.Kind != preservation.KindName {
		return notFound()
	}
	if !canSeeKind(q.role, vw.Kind) || !canActKind(q.role, vw.Kind) {
		return &pageError{status: http.StatusForbidden, key: "error.forbidden"}
	}
	refuse := func(msg string) error {
		return s.renderCaseForm(w, r, q, vw, http.StatusBadRequest, "chain", msg, false)
	}
	if vw.Origin.ID != s.wf.Self() {
		return s.renderCaseForm(w, r, q, vw, http.StatusForbidden, "chain", q.c.T("legal.chain.notours", vw.Origin.Name), false)
	}
	step, to := r.PostFormValue("step"), r.PostFormValue("to")
	if _, err := stix.ParseID(step); err != nil {
		return refuse(q.c.T("legal.chain.nostep"))
	}
	peers, err := s.st.Peers(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(peers, func(p store.Peer) bool { return to != "" && (p.Name == to || p.IdentityID == to) })
	if i < 0 {
		return refuse(q.c.T("legal.chain.nopeer"))
	}
	peer := peers[i]
	c, steps, err := s.wf.Load(ctx, id)
	if err != nil {
		return err
	}
	in, err := preservation.Chain(c, steps, step, peer.Country)
	if err == nil {
		var body json.RawMessage
		if body, err = chainRequest(in, peer.IdentityID, vw.TLP); err != nil {
			return err
		}
		var res *workflow.Result
		if res, err = s.wf.Open(ctx, preservation.KindName, q.u.Name, body); err == nil {
			s.log.Info("console: request chained", "user", q.u.Name, "from", id, "step", step, "to", peer.Name, "id", res.ID)
			http.Redirect(w, r, caseHref(preservation.KindName, res.ID)+"?done=chained", http.StatusSeeOther)
			return nil
		}
	}
	if errors.Is(err, workflow.ErrInput) || errors.Is(err, workflow.ErrNotParty) {
		pe := classify(err)
		return s.renderCase(w, r, q, vw, pe.status, "chain", pe.detail)
	}
	return err
}

// chainRequest is the engine's input of a chained request: the prefilled
// items, to the peer, under the original's marking.
func chainRequest(in preservation.Input, to, tlp string) (json.RawMessage, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	req := map[string]any{}
	if err := json.Unmarshal(b, &req); err != nil {
		return nil, err
	}
	req["to"], req["tlp"] = []string{to}, tlp
	return json.Marshal(req)
}
