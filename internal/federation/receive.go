package federation

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/peer"
	"github.com/entraide/entraide/internal/policy"
	"github.com/entraide/entraide/internal/provenance"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/taxii"
)

// peerPrefix marks the principal of a peer, so that it can never be taken for
// a local user's name.
const peerPrefix = "peer:"

// authenticate maps the pinned TLS client certificate to a principal. The
// handshake already refused unpinned keys; this finds which peer it is and
// what it may touch: it may push into our inbox and into the collection of
// every community both of us belong to, and pull from those communities'
// collections (each entry then filtered by the policy).
func (f *Federation) authenticate(r *http.Request) (store.User, error) {
	p, ok := f.reg.PeerFromConn(r.TLS)
	if !ok {
		return store.User{}, &taxii.Error{Kind: taxii.KindUnauthorized, Title: "Unknown peer",
			Description: "this federation endpoint serves pinned peers only"}
	}
	perms := map[string]store.Permission{f.inbox.ID: {Write: true}}
	cs, err := f.st.Communities(r.Context())
	if err != nil {
		return store.User{}, err
	}
	self := f.n.Identity.IdentityID
	for _, c := range cs {
		if member(c.Members, p.IdentityID) && member(c.Members, self) {
			perms[c.Collection] = store.Permission{Read: true, Write: true}
		}
	}
	return store.User{Name: peerPrefix + p.IdentityID, Permissions: perms}, nil
}

func member(ms []string, id string) bool {
	for _, m := range ms {
		if m == id {
			return true
		}
	}
	return false
}

func (f *Federation) peerOf(u store.User) (peer.Peer, bool) {
	if len(u.Name) <= len(peerPrefix) || u.Name[:len(peerPrefix)] != peerPrefix {
		return peer.Peer{}, false
	}
	return f.reg.ByIdentity(u.Name[len(peerPrefix):])
}

// communityOf returns the community whose collection c is, if any.
func communityOf(cs map[string]store.Community, c store.Collection) (store.Community, bool) {
	com, ok := cs[c.Alias]
	if ok && com.Collection == c.ID {
		return com, true
	}
	return store.Community{}, false
}

// ingest is the receive path. For every object: verify its signature
// against its originator's keys (whoever delivered it), validate it, check
// that the sender could send it to us here, then store what passed with its
// provenance, in one transaction; audit each receipt and each refusal.
func (f *Federation) ingest(ctx context.Context, u store.User, c store.Collection, raws []json.RawMessage) ([]taxii.Outcome, error) {
	p, ok := f.peerOf(u)
	if !ok {
		return nil, errors.New("federation: ingest without a peer")
	}
	pcs, cs, err := f.communities(ctx)
	if err != nil {
		return nil, err
	}
	// The sender's decision is checked again here, with the same engine
	// configured as the sender: a peer that relays what it may not, or
	// pushes beyond a community's bounds, is refused on arrival.
	senderEngine, err := policy.New(policy.Config{Self: p.IdentityID, Communities: pcs})
	if err != nil {
		return nil, err
	}
	self := f.n.Identity.IdentityID
	com, viaCommunity := communityOf(cs, c)
	now := f.clk.Now()
	outs := make([]taxii.Outcome, len(raws))
	var objs []*stix.Object
	var provs []store.Provenance
	var at []int
	var entries []audit.Entry
	refusal := func(id, version, reason string) audit.Entry {
		return audit.Entry{Kind: audit.KindRefuse, Actor: p.Name, Peer: p.IdentityID,
			ObjectID: id, ObjectVersion: version, Community: com.Name, Reason: reason}
	}
	refuse := func(i int, id, version, reason string) {
		outs[i] = taxii.Outcome{ID: id, Version: version, Message: reason}
		entries = append(entries, refusal(id, version, reason))
	}
	wh := f.workflowHook()
	var windex []store.WorkflowIndex
	checked := verifyAndParse(raws, f.reg)
	for i, raw := range raws {
		res, o := checked[i].res, checked[i].obj
		if err := checked[i].verifyErr; err != nil {
			id, ver := peekIDVersion(raw)
			if reason := provenance.Reason(err); reason != "" {
				refuse(i, id, ver, "signature: "+err.Error())
				continue
			}
			return nil, err // the key lookup failed: nothing is known about the object
		}
		if err := checked[i].parseErr; err != nil {
			id, ver := peekIDVersion(raw)
			refuse(i, id, ver, err.Error())
			continue
		}
		tlp, _ := o.TLP()
		// A RED object names its people inside the signed bytes; it must
		// name one here, or nobody here could ever read it.
		red, _, err := redRecipientsOf(o.Raw)
		if err != nil {
			refuse(i, o.ID, o.Version(), err.Error())
			continue
		}
		if tlp == stix.TLPRed && !namesAt(red, self) {
			refuse(i, o.ID, o.Version(), "TLP:RED object names no recipient at "+f.n.Identity.Name)
			continue
		}
		if tlp != stix.TLPRed {
			red = nil
		}
		req := policy.Request{Object: policy.Object{ID: o.ID, Type: o.Type, TLP: tlp, Origin: res.Signer, RedRecipients: personsOf(red)},
			To: policy.Recipient{Node: self}, Path: policy.PathPush}
		if viaCommunity {
			req.Community = com.Name
		}
		if res.Signer == p.IdentityID { // the sender's own object: sent for this community, or to us by name
			if viaCommunity {
				req.Object.Distribution = policy.Distribution{Communities: []string{com.Name}}
			} else {
				req.Object.Distribution = policy.Distribution{Nodes: []string{self}}
			}
		} else { // a relay: the sender received it, via this community or directly
			req.Path = policy.PathRelay
			req.Object.ReceivedFrom = res.Signer
			if viaCommunity {
				req.Object.ReceivedVia = com.Name
			}
		}
		if d := senderEngine.Decide(req); !d.Allow {
			refuse(i, o.ID, o.Version(), "sharing policy: "+d.Reason)
			continue
		}
		if wh != nil {
			it, isWorkflow, err := wh.Index(o, res.Signer)
			if err == nil && isWorkflow {
				err = wh.Admit(ctx, res.Signer, o, it)
			}
			if err != nil {
				reason := "workflow: " + err.Error()
				if errors.Is(err, ErrRetryLater) {
					reason = retryLaterPrefix + reason
				}
				refuse(i, o.ID, o.Version(), reason)
				continue
			}
			if isWorkflow {
				windex = append(windex, store.WorkflowIndex{ObjectIndex: len(objs), Item: it})
			}
		}
		objs = append(objs, o)
		at = append(at, i)
		pr := store.Provenance{Origin: res.Signer, ReceivedFrom: p.IdentityID, RedRecipients: red, ReceivedAt: now}
		if viaCommunity {
			pr.ReceivedVia = com.Name
		}
		provs = append(provs, pr)
	}
	if len(objs) > 0 {
		sealer, err := f.n.Sealer()
		if err != nil {
			return nil, err
		}
		// The receipts (and the refusals before them) are written with
		// the objects: a crash keeps both or neither.
		ba := &batchAudit{log: f.audit, before: entries, after: func(results []store.AddResult) []audit.Entry {
			var es []audit.Entry
			for k, r := range results {
				switch r.Outcome {
				case store.Added, store.Duplicate:
					tlp, _ := objs[k].TLP()
					es = append(es, audit.Entry{Kind: audit.KindReceive, Actor: p.Name, Peer: p.IdentityID,
						ObjectID: r.ID, ObjectVersion: r.Version, Community: com.Name, TLP: tlpName(tlp),
						Detail: map[string]string{"outcome": r.Outcome.String(), "origin": provs[k].Origin}})
				default:
					es = append(es, refusal(r.ID, r.Version, r.Message))
				}
			}
			return es
		}}
		results, err := f.st.AddObjectsWith(ctx, c.ID, objs, store.AddOptions{Provenance: provs, Sealer: sealer, Workflow: windex,
			Fold: workflowFold(wh), Audit: ba.build})
		if err != nil {
			return nil, err
		}
		f.workflowChanged(ctx, wh, windex)
		for k, r := range results {
			i := at[k]
			switch r.Outcome {
			case store.Added, store.Duplicate:
				msg := ""
				if r.Outcome == store.Duplicate {
					msg = "already present"
				}
				outs[i] = taxii.Outcome{ID: r.ID, Version: r.Version, OK: true, Message: msg}
			default:
				outs[i] = taxii.Outcome{ID: r.ID, Version: r.Version, Message: r.Message}
			}
		}
		if ba.written {
			entries = nil
		} else {
			entries = append(entries, ba.after(results)...)
		}
	}
	f.appendAudit(ctx, entries...)
	f.recordContact(ctx, p.IdentityID, now, "")
	return outs, nil
}

// checkedObject is one received object after its signature check and parse.
type checkedObject struct {
	res       provenance.Result
	verifyErr error
	obj       *stix.Object
	parseErr  error // set only when the signature verified
}

// verifyAndParse verifies and parses a push's objects, spread over the CPUs:
// the two are most of the receive path's CPU, each object stands alone, and
// a push carries up to BatchSize objects while the rest of ingest (policy,
// one transaction, the audit) is serial anyway.
func verifyAndParse(raws []json.RawMessage, keys provenance.KeyResolver) []checkedObject {
	out := make([]checkedObject, len(raws))
	check := func(i int) {
		c := &out[i]
		if c.res, c.verifyErr = provenance.Verify(raws[i], keys); c.verifyErr == nil {
			c.obj, c.parseErr = stix.Parse(raws[i])
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(raws)/32)
	if workers < 2 {
		for i := range raws {
			check(i)
		}
		return out
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(raws); i = int(next.Add(1) - 1) {
				check(i)
			}
		})
	}
	wg.Wait()
	return out
}

func tlpName(t stix.TLP) string {
	if !t.Valid() {
		return ""
	}
	return t.String()
}

// peekIDVersion reads id and modified/created from JSON that did not
// validate, for the status line and the audit entry.
func peekIDVersion(raw []byte) (id, version string) {
	var h struct {
		ID       string `json:"id"`
		Modified string `json:"modified"`
		Created  string `json:"created"`
	}
	if json.Unmarshal(raw, &h) != nil || len(h.ID) > 300 {
		return "", ""
	}
	if h.Modified != "" {
		return h.ID, h.Modified
	}
	return h.ID, h.Created
}
