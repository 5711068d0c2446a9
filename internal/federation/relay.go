package federation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/policy"
	"github.com/entraide/entraide/internal/provenance"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// RelayRequest asks to send objects this node holds — its own or its
// partners' — to more nodes, as they are.
type RelayRequest struct {
	// Objects are stored objects, their exact signed bytes (a
	// workflow.Step's Raw, say). They are sent in this order.
	Objects [][]byte
	Nodes   []string // identity ids (or peer names) to send them to
	Actor   string   // who or what asked, for the audit log
}

// Relay queues objects the node already holds for more nodes, byte for
// byte: nothing is signed again, so the originator's signature still
// verifies at the recipient, who records the originator as it. The sharing
// policy decides each (object, node) exactly as for any send: this node's
// own objects as a share to the named nodes, a partner's as a relay
// (policy.PathRelay, from the provenance recorded when it arrived, so that
// an AMBER object received from a partner is not passed on, and a GREEN
// one only within the community it came through). Refusals are audited
// (policy-deny) and returned, like Share's; a node never gets its own
// object back. An object whose signature does not verify, or that this
// node does not hold, fails the whole relay before anything is written.
// The outbox rows are written in one transaction, in the order of
// Objects, so that a recipient receives them in that order.
func (f *Federation) Relay(ctx context.Context, req RelayRequest) (*ShareResult, error) {
	if len(req.Objects) == 0 || len(req.Nodes) == 0 {
		return &ShareResult{}, nil
	}
	var nodes []string
	for _, n := range req.Nodes {
		p, err := f.reg.Get(ctx, n)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(nodes, p.IdentityID) {
			nodes = append(nodes, p.IdentityID)
		}
	}
	eng, cs, err := f.engine(ctx)
	if err != nil {
		return nil, err
	}
	self := f.n.Identity.IdentityID
	objs := make([]*stix.Object, len(req.Objects))
	signers := make([]string, len(req.Objects))
	refs := make([]store.ObjectRef, len(req.Objects))
	for i, raw := range req.Objects {
		res, err := provenance.Verify(raw, f.reg)
		if err != nil {
			return nil, fmt.Errorf("relay: object %d: %w", i+1, err)
		}
		if objs[i], err = stix.Parse(raw); err != nil {
			return nil, fmt.Errorf("relay: object %d: %w", i+1, err)
		}
		if t, _ := objs[i].TLP(); t == stix.TLPRed {
			return nil, fmt.Errorf("relay: %s is TLP:RED: only its originator sends it, to its named people", objs[i].ID)
		}
		signers[i] = res.Signer
		refs[i] = store.ObjectRef{ID: objs[i].ID, Version: objs[i].Version()}
	}
	provs, err := f.st.Provenance(ctx, refs)
	if err != nil {
		return nil, err
	}
	def, err := f.defaultCollection(ctx)
	if err != nil {
		return nil, err
	}
	res := &ShareResult{Objects: make([]SharedObject, len(objs))}
	var entries []audit.Entry
	// Each object is written again to the collection that holds it (a
	// duplicate there changes nothing), in one batch per collection, so
	// that relaying never adds an object to a collection its readers
	// could not see it in before.
	type batch struct {
		objs   []*stix.Object
		at     []int
		outbox []store.OutboxItem
	}
	batches := map[string]*batch{}
	var order []string
	for i, o := range objs {
		pr, ok := provs[refs[i]]
		if !ok {
			return nil, fmt.Errorf("relay: %s (%s) is not held here", o.ID, o.Version())
		}
		if pr.Origin != signers[i] {
			return nil, fmt.Errorf("relay: %s was recorded as %s's, but is signed by %s", o.ID, pr.Origin, signers[i])
		}
		tlp, _ := o.TLP()
		po := policy.Object{ID: o.ID, Type: o.Type, TLP: tlp, Origin: pr.Origin, ReceivedFrom: pr.ReceivedFrom, ReceivedVia: pr.ReceivedVia}
		var to []string
		for _, n := range nodes {
			if n != signers[i] {
				to = append(to, n)
			}
		}
		dist := policy.Distribution{Nodes: to}
		col := def.ID
		if pr.Origin == self {
			po.Distribution = dist
		} else if pr.ReceivedVia != "" {
			c, ok := cs[pr.ReceivedVia]
			if !ok {
				return nil, fmt.Errorf("relay: %s came through community %s, which is no longer configured here", o.ID, pr.ReceivedVia)
			}
			col = c.Collection
		} else {
			col = f.inbox.ID
		}
		allowed, denied := eng.Recipients(po, dist)
		res.Objects[i] = SharedObject{ID: o.ID, Version: o.Version(), Outcome: store.Duplicate, To: allowed, Refused: denied}
		for _, t := range denied {
			entries = append(entries, audit.Entry{Kind: audit.KindPolicyDeny, Actor: req.Actor, Peer: t.Node,
				ObjectID: o.ID, ObjectVersion: o.Version(), TLP: tlpName(tlp), Reason: t.Decision.Reason,
				Detail: map[string]string{"relay": "true", "origin": pr.Origin}})
		}
		if len(allowed) == 0 {
			continue
		}
		b := batches[col]
		if b == nil {
			b = &batch{}
			batches[col] = b
			order = append(order, col)
		}
		for _, t := range allowed {
			b.outbox = append(b.outbox, store.OutboxItem{Peer: t.Node, ObjectIndex: len(b.objs), Community: t.Community})
		}
		b.objs, b.at = append(b.objs, o), append(b.at, i)
	}
	sealer, err := f.n.Sealer()
	if err != nil {
		return nil, err
	}
	woken := map[string]bool{}
	for _, col := range order {
		b := batches[col]
		results, err := f.st.AddObjectsWith(ctx, col, b.objs, store.AddOptions{Outbox: b.outbox, Sealer: sealer})
		if err != nil {
			return nil, err
		}
		for k, r := range results {
			i := b.at[k]
			so := &res.Objects[i]
			so.Outcome, so.Message = r.Outcome, r.Message
			if r.Outcome != store.Added && r.Outcome != store.Duplicate {
				// It was verified and is held here: another content under
				// the same version is a store problem, said as such.
				return nil, errors.New("relay: " + r.ID + ": " + r.Message)
			}
			res.Queued += len(so.To)
			var to []string
			for _, t := range so.To {
				to = append(to, t.Node)
				woken[t.Node] = true
			}
			tlp, _ := objs[i].TLP()
			entries = append(entries, audit.Entry{Kind: audit.KindShare, Actor: req.Actor, ObjectID: r.ID, ObjectVersion: r.Version,
				TLP: tlpName(tlp), Detail: map[string]string{"relay": "true", "origin": signers[i], "nodes": strings.Join(to, ","),
					"recipients": fmt.Sprint(len(so.To))}})
		}
	}
	f.appendAudit(ctx, entries...)
	for n := range woken {
		f.Wake(n)
	}
	return res, nil
}
