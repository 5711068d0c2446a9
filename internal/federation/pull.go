package federation

import (
	"context"
	"io"
	"log"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/policy"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// visible filters what a peer pulls: each entry is served only if the
// policy would have let this node push that object to that peer for this
// collection's community. A peer never obtains by pulling what it would not
// have been sent.
func (f *Federation) visible(ctx context.Context, u store.User, c store.Collection, entries []store.Entry) ([]store.Entry, error) {
	p, ok := f.peerOf(u)
	if !ok || len(entries) == 0 {
		return nil, nil
	}
	eng, cs, err := f.engine(ctx)
	if err != nil {
		return nil, err
	}
	com, viaCommunity := communityOf(cs, c)
	if !viaCommunity { // the inbox is write-only for peers
		return nil, nil
	}
	// Markings are in the objects; listings without bodies (manifest,
	// versions) fetch them in one query. Sealed entries are RED by their flag.
	bodies, err := f.bodiesOf(ctx, c, entries)
	if err != nil {
		return nil, err
	}
	refs := make([]store.ObjectRef, len(entries))
	for i, e := range entries {
		refs[i] = store.ObjectRef{ID: e.ID, Version: e.Version}
	}
	provs, err := f.st.Provenance(ctx, refs)
	if err != nil {
		return nil, err
	}
	var (
		out []store.Entry
		es  []audit.Entry
		s   store.Sealer
	)
	for i, e := range entries {
		raw := e.Raw
		if raw == nil && !e.Sealed {
			raw = bodies[refs[i]]
		}
		obj := policyObject(e.ID, e.Type, raw, e.Sealed, provs[refs[i]])
		if raw == nil && !e.Sealed { // no body to read the level from: the strictest reading
			obj.TLP = stix.TLPRed
		}
		d := eng.Decide(policy.Request{Object: obj, To: policy.Recipient{Node: p.IdentityID}, Path: policy.PathPull, Community: com.Name})
		if d.Audit {
			kind := audit.KindRedAccess
			if !d.Allow {
				kind = audit.KindPolicyDeny
			}
			es = append(es, audit.Entry{Kind: kind, Actor: p.Name, Peer: p.IdentityID, ObjectID: e.ID, ObjectVersion: e.Version,
				Community: com.Name, TLP: tlpName(stix.TLPRed), Reason: d.Reason, Detail: map[string]string{"path": string(policy.PathPull), "rule": string(d.Rule)}})
		}
		if !d.Allow {
			continue
		}
		if e.Sealed && e.Ciphertext != nil { // a RED object for a node with a named recipient
			if s == nil {
				if s, err = f.n.Sealer(); err != nil {
					return nil, err
				}
			}
			if e.Raw, err = store.OpenEntry(s, e); err != nil {
				return nil, err
			}
			e.Ciphertext = nil
		}
		out = append(out, e)
	}
	if err := f.auditRed(ctx, es); err != nil {
		return nil, err
	}
	return out, nil
}

// policyObject is what the policy engine needs to know of a stored object.
// A sealed object is TLP:RED (only RED is sealed), read without opening it.
func policyObject(id, typ string, raw []byte, sealed bool, pr store.Provenance) policy.Object {
	o := policy.Object{ID: id, Type: typ, Origin: pr.Origin, ReceivedFrom: pr.ReceivedFrom, ReceivedVia: pr.ReceivedVia,
		Distribution: policy.Distribution{Communities: pr.Distribution.Communities, Nodes: pr.Distribution.Nodes}}
	for _, r := range pr.RedRecipients {
		o.RedRecipients = append(o.RedRecipients, policy.Person{Node: r.Node, User: r.User})
	}
	switch {
	case sealed:
		o.TLP = stix.TLPRed
	case raw != nil:
		if so, err := stix.Parse(raw); err == nil {
			o.TLP, _ = so.TLP()
		} else {
			o.TLP = stix.TLPRed // unreadable: the strictest reading
		}
	}
	return o
}
