package federation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/policy"
	"github.com/entraide/entraide/internal/provenance"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// ShareRequest is what `entraide share` asks: objects this node creates (or
// adopts as its own), a TLP level to mark them with, and a distribution.
type ShareRequest struct {
	Objects     [][]byte // unsigned objects, or objects this node signed before
	TLP         stix.TLP // the marking to add; 0 keeps the objects' own TLP marking
	Communities []string // community names
	Nodes       []string // peer names or identity ids
	// RedTo names the recipients of TLP:RED objects, USER@NODE (NODE a
	// peer name or identity id, or "self"): required for RED, refused for
	// any other level. Their nodes are added to Nodes.
	RedTo []string
	Actor string // the local user sharing, for the audit log
	// Path is the local path the share was asked through (policy.PathConsole,
	// policy.PathAPI), written in its audit entries; "" takes the one the
	// context names (WithPath), and none is written when neither does.
	Path policy.Path
}

type pathKey struct{}

// WithPath names, for the shares made under ctx (a workflow step asked for
// in the console goes through the engine to Share), the local path the
// person used; Share writes it in its audit entries. It changes no
// decision: the sharing policy decides a share the same way whatever the
// path it was asked through.
func WithPath(ctx context.Context, p policy.Path) context.Context {
	return context.WithValue(ctx, pathKey{}, p)
}

// sharePath is the path a share was asked through, "" when unknown.
func sharePath(ctx context.Context, req ShareRequest) policy.Path {
	if req.Path != "" {
		return req.Path
	}
	p, _ := ctx.Value(pathKey{}).(policy.Path)
	return p
}

// ShareResult says what happened, per object and per recipient.
type ShareResult struct {
	Objects []SharedObject
	Queued  int // outbox rows written
}

// SharedObject is one object of a share.
type SharedObject struct {
	ID, Version string
	Outcome     store.AddOutcome
	Message     string
	To          []policy.Target // recipients the policy allowed (a delivery is queued for each)
	Refused     []policy.Target // recipients it refused, with the reason
}

// Share signs the objects as this node's, records them with their
// distribution, and queues one delivery per object and allowed recipient,
// all in one transaction; then wakes the delivery workers. An object that
// cannot be marked or signed fails the whole share before anything is
// written.
func (f *Federation) Share(ctx context.Context, req ShareRequest) (*ShareResult, error) {
	if len(req.Objects) == 0 {
		return nil, errors.New("nothing to share")
	}
	if len(req.Communities) == 0 && len(req.Nodes) == 0 && len(req.RedTo) == 0 {
		return nil, errors.New("say where to share: at least one community or node")
	}
	red, err := f.resolveRed(ctx, req.RedTo)
	if err != nil {
		return nil, err
	}
	eng, cs, err := f.engine(ctx)
	if err != nil {
		return nil, err
	}
	dist := policy.Distribution{Communities: req.Communities}
	var also []string
	for _, name := range req.Communities {
		c, ok := cs[name]
		if !ok {
			return nil, fmt.Errorf("no community %q", name)
		}
		also = append(also, c.Collection)
	}
	for _, n := range req.Nodes {
		p, err := f.peer(ctx, n)
		if err != nil {
			return nil, err
		}
		dist.Nodes = append(dist.Nodes, p.IdentityID)
	}
	self := f.n.Identity.IdentityID
	// A RED object goes to the nodes of its named people (and nowhere else:
	// the policy allows no other node).
	for _, r := range red {
		if r.Node != self && !slices.Contains(dist.Nodes, r.Node) {
			dist.Nodes = append(dist.Nodes, r.Node)
		}
	}
	now := f.clk.Now()
	ownKeys := provenance.Keys{self: f.n.Keys}
	objs := make([]*stix.Object, len(req.Objects))
	reds := make([][]store.Recipient, len(req.Objects))
	for i, raw := range req.Objects {
		if req.TLP != 0 {
			if raw, err = markTLP(raw, req.TLP); err != nil {
				return nil, fmt.Errorf("object %d: %w", i+1, err)
			}
		}
		if raw, reds[i], err = markRedShare(raw, red); err != nil {
			return nil, fmt.Errorf("object %d: %w", i+1, err)
		}
		// An object this node signed before, unchanged by the marking, is
		// shared as it is: signing it again would make another version of
		// the same (id, modified) — a conflict everywhere it already is.
		signed := raw
		if res, err := provenance.Verify(raw, ownKeys); err != nil || res.Signer != self {
			if signed, err = provenance.Sign(raw, f.n.Signer, self, now); err != nil {
				return nil, fmt.Errorf("object %d: %w", i+1, err)
			}
		}
		if objs[i], err = stix.Parse(signed); err != nil {
			return nil, fmt.Errorf("object %d: %w", i+1, err)
		}
	}
	res := &ShareResult{Objects: make([]SharedObject, len(objs))}
	wh := f.workflowHook()
	var windex []store.WorkflowIndex
	if wh != nil {
		for i, o := range objs {
			it, ok, err := wh.Index(o, self)
			if err != nil {
				return nil, fmt.Errorf("object %d: %w", i+1, err)
			}
			if ok {
				windex = append(windex, store.WorkflowIndex{ObjectIndex: i, Item: it})
			}
		}
	}
	var outbox []store.OutboxItem
	var entries []audit.Entry
	via := sharePath(ctx, req)
	withPath := func(d map[string]string) map[string]string {
		if via != "" {
			if d == nil {
				d = map[string]string{}
			}
			d["path"] = string(via)
		}
		return d
	}
	provs := make([]store.Provenance, len(objs))
	for i, o := range objs {
		tlp, _ := o.TLP()
		po := policy.Object{ID: o.ID, Type: o.Type, TLP: tlp, Origin: self, Distribution: dist, RedRecipients: personsOf(reds[i])}
		allowed, denied := eng.Recipients(po, dist)
		res.Objects[i] = SharedObject{ID: o.ID, Version: o.Version(), To: allowed, Refused: denied}
		for _, t := range allowed {
			outbox = append(outbox, store.OutboxItem{Peer: t.Node, ObjectIndex: i, Community: t.Community})
		}
		for _, t := range denied {
			entries = append(entries, audit.Entry{Kind: audit.KindPolicyDeny, Actor: req.Actor, Peer: t.Node,
				ObjectID: o.ID, ObjectVersion: o.Version(), Community: t.Community, TLP: tlpName(tlp), Reason: t.Decision.Reason,
				Detail: withPath(nil)})
		}
		provs[i] = store.Provenance{Origin: self, Distribution: store.Distribution{Communities: dist.Communities, Nodes: dist.Nodes},
			RedRecipients: reds[i], ReceivedAt: now}
	}
	def, err := f.defaultCollection(ctx)
	if err != nil {
		return nil, err
	}
	sealer, err := f.n.Sealer()
	if err != nil {
		return nil, err
	}
	// The share entries (and the denials) are written with the objects.
	ba := &batchAudit{log: f.audit, before: entries, after: func(results []store.AddResult) []audit.Entry {
		var es []audit.Entry
		for i, r := range results {
			if r.Outcome == store.Conflict {
				continue
			}
			tlp, _ := objs[i].TLP()
			es = append(es, audit.Entry{Kind: audit.KindShare, Actor: req.Actor, ObjectID: r.ID, ObjectVersion: r.Version,
				TLP: tlpName(tlp), Detail: withPath(map[string]string{"communities": strings.Join(dist.Communities, ","), "nodes": strings.Join(dist.Nodes, ","),
					"recipients": fmt.Sprint(len(res.Objects[i].To))})})
		}
		return es
	}}
	results, err := f.st.AddObjectsWith(ctx, def.ID, objs, store.AddOptions{AlsoCollections: also, Provenance: provs, Outbox: outbox, Sealer: sealer, Workflow: windex,
		Fold: workflowFold(wh), Audit: ba.build})
	if err != nil {
		return nil, err
	}
	f.workflowChanged(ctx, wh, windex)
	for i, r := range results {
		so := &res.Objects[i]
		so.Outcome, so.Message = r.Outcome, r.Message
		if r.Outcome != store.Conflict {
			res.Queued += len(so.To)
		}
	}
	if !ba.written {
		f.appendAudit(ctx, append(entries, ba.after(results)...)...)
	}
	for _, t := range outbox {
		f.Wake(t.Peer)
	}
	return res, nil
}

// markRedShare names the RED recipients inside a TLP:RED object before it
// is signed, and returns them; an object of another level must not be given
// any. A RED object must name at least one person.
func markRedShare(raw []byte, red []store.Recipient) ([]byte, []store.Recipient, error) {
	o, err := stix.Parse(raw)
	if err != nil {
		return nil, nil, err
	}
	if t, ok := o.TLP(); !ok || t != stix.TLPRed {
		if len(red) > 0 {
			return nil, nil, fmt.Errorf("%s is not marked TLP:RED: named recipients are for TLP:RED only", o.ID)
		}
		return raw, nil, nil
	}
	if len(red) == 0 {
		cur, present, err := redRecipientsOf(o.Raw)
		if err != nil || !present || len(cur) == 0 {
			return nil, nil, fmt.Errorf("%s is TLP:RED: name at least one person who may read it (USER@NODE)", o.ID)
		}
		return o.Raw, cur, nil
	}
	out, err := markRed(o.Raw, red)
	return out, red, err
}

func (f *Federation) defaultCollection(ctx context.Context) (store.Collection, error) {
	cols, err := f.st.Collections(ctx)
	if err != nil {
		return store.Collection{}, err
	}
	for _, c := range cols {
		if c.Alias == node.DefaultCollectionAlias {
			return c, nil
		}
	}
	return store.Collection{}, errors.New("the node has no default collection")
}

// markTLP adds the TLP 2.0 marking of level t to an object's
// object_marking_refs. It edits the bytes (appending the property when
// absent) so that the rest of the object is kept as written; an object that
// already carries another TLP level is refused rather than silently
// re-marked.
func markTLP(raw []byte, t stix.TLP) ([]byte, error) {
	o, err := stix.Parse(raw)
	if err != nil {
		return nil, err
	}
	if cur, ok := o.TLP(); ok {
		if cur != t {
			return nil, fmt.Errorf("%s is already marked TLP:%s; refusing to re-mark it TLP:%s", o.ID, cur, t)
		}
		return o.Raw, nil
	}
	id := t.MarkingID()
	if len(o.ObjectMarkingRefs) == 0 {
		b := bytes.TrimRight(o.Raw, " \t\r\n")
		if len(b) < 2 || b[len(b)-1] != '}' {
			return nil, errors.New("not a JSON object")
		}
		out := append([]byte{}, b[:len(b)-1]...)
		out = append(out, `,"object_marking_refs":["`+id+`"]}`...)
		return out, nil
	}
	// Other (non-TLP) markings are present: insert ours first in the array.
	key := []byte(`"object_marking_refs":[`)
	k := bytes.Index(o.Raw, key)
	if k < 0 {
		return nil, fmt.Errorf("%s: cannot add a TLP marking to its object_marking_refs", o.ID)
	}
	k += len(key)
	out := append([]byte{}, o.Raw[:k]...)
	out = append(out, `"`+id+`",`...)
	return append(out, o.Raw[k:]...), nil
}
