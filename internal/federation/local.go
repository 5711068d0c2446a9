package federation

import (
	"context"
	"fmt"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/policy"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// The local paths out of the node — the user API, search, the console and
// bulk export — decide here, in one place, with the same engine as push and
// pull. What they add to policy.Engine.Decide is what the engine cannot do
// as a pure function: reading what the store knows of each entry, opening
// the TLP:RED objects it allows (they are sealed at rest), and writing the
// audit entries every RED decision asks for (Decision.Audit), before
// anything is served. An audit entry that cannot be written fails the
// request: a RED object is never shown without a trace.

// VisibleToUser is the taxii.Config.Visible hook of the user API (serve's
// user listener): each entry is decided for path api and local user
// u.Name. Everything but TLP:RED is shown; a RED object only to its named
// recipients at this node — an administrator who is not named does not see
// it either, RED is personal — opened from its sealed form, and audited
// (red-access) each time it is served. A RED entry refused is audited too
// (policy-deny). Listings without bodies (manifest, versions) are decided
// the same way; their entries stay without bodies.
func (f *Federation) VisibleToUser(ctx context.Context, u store.User, c store.Collection, entries []store.Entry) ([]store.Entry, error) {
	bodies, err := f.bodiesOf(ctx, c, entries)
	if err != nil {
		return nil, err
	}
	return f.readable(ctx, policy.PathAPI, u.Name, entries, bodies)
}

// VisibleOnConsole is VisibleToUser for the web console (package web): the
// same decision for local user u.Name, on path console, so that its audit
// entries say the object was read in the console, not through the API.
func (f *Federation) VisibleOnConsole(ctx context.Context, u store.User, c store.Collection, entries []store.Entry) ([]store.Entry, error) {
	bodies, err := f.bodiesOf(ctx, c, entries)
	if err != nil {
		return nil, err
	}
	return f.readable(ctx, policy.PathConsole, u.Name, entries, bodies)
}

// Readable is the search path (the console has VisibleOnConsole):
// it keeps the entries user may read, with each RED object allowed opened
// and audited, as VisibleToUser does. The entries must have been listed
// with bodies: an entry that is neither sealed nor has its body cannot be
// told from a RED one, and is decided as RED (shown to no one unnamed).
func (f *Federation) Readable(ctx context.Context, user string, entries []store.Entry) ([]store.Entry, error) {
	return f.readable(ctx, policy.PathSearch, user, entries, nil)
}

// Exportable decides a page of a bulk export by user (path export): it
// returns the entries to write and how many TLP:RED entries it withheld.
// RED is never exported in bulk, so a sealed entry is refused on its flag
// alone and never opened; every refusal is audited.
func (f *Federation) Exportable(ctx context.Context, user string, entries []store.Entry) (keep []store.Entry, withheld int, err error) {
	ds, err := f.decideLocal(ctx, policy.PathExport, user, entries, nil)
	if err != nil {
		return nil, 0, err
	}
	keep = entries[:0:0]
	var es []audit.Entry
	for i, e := range entries {
		d := ds[i]
		if d.Audit {
			es = append(es, localAudit(policy.PathExport, user, e, d))
		}
		if !d.Allow {
			withheld++
			continue
		}
		keep = append(keep, e)
	}
	if err := f.auditRed(ctx, es); err != nil {
		return nil, 0, err
	}
	return keep, withheld, nil
}

func (f *Federation) readable(ctx context.Context, path policy.Path, user string, entries []store.Entry, bodies map[store.ObjectRef][]byte) ([]store.Entry, error) {
	if len(entries) == 0 {
		return entries, nil
	}
	ds, err := f.decideLocal(ctx, path, user, entries, bodies)
	if err != nil {
		return nil, err
	}
	var (
		out []store.Entry
		es  []audit.Entry
		s   store.Sealer
	)
	for i, e := range entries {
		d := ds[i]
		if d.Audit {
			es = append(es, localAudit(path, user, e, d))
		}
		if !d.Allow {
			continue
		}
		if e.Sealed && e.Ciphertext != nil {
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
	// Audited before anything is served: no trace, no RED.
	if err := f.auditRed(ctx, es); err != nil {
		return nil, err
	}
	return out, nil
}

// decideLocal asks the engine about each entry for a local user. The level
// of an entry is RED when it is sealed, else read from its body (or from
// bodies, for a listing without them); an entry whose body is unknown is
// decided as RED, the strictest reading.
func (f *Federation) decideLocal(ctx context.Context, path policy.Path, user string, entries []store.Entry, bodies map[store.ObjectRef][]byte) ([]policy.Decision, error) {
	ds := make([]policy.Decision, len(entries))
	if len(entries) == 0 {
		return ds, nil
	}
	eng, _, err := f.engine(ctx)
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
	self := f.n.Identity.IdentityID
	for i, e := range entries {
		raw := e.Raw
		if raw == nil && !e.Sealed {
			raw = bodies[refs[i]]
		}
		obj := policyObject(e.ID, e.Type, raw, e.Sealed, provs[refs[i]])
		if raw == nil && !e.Sealed {
			obj.TLP = stix.TLPRed
		}
		ds[i] = eng.Decide(policy.Request{Object: obj, To: policy.Recipient{Node: self, User: user}, Path: path})
	}
	return ds, nil
}

// bodiesOf reads, in one listing, the bodies of the entries of c that
// came without one and are not sealed (manifest and versions listings), so
// that their markings can be read: a sealed entry is RED by its flag.
func (f *Federation) bodiesOf(ctx context.Context, c store.Collection, entries []store.Entry) (map[store.ObjectRef][]byte, error) {
	var missing []string
	for _, e := range entries {
		if e.Raw == nil && !e.Sealed {
			missing = append(missing, e.ID)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	bodies := map[store.ObjectRef][]byte{}
	q := store.Query{IDs: missing, Versions: []string{"all"}, Limit: 10000}
	for {
		pg, err := f.st.ListObjects(ctx, c.ID, q, true)
		if err != nil {
			return nil, err
		}
		for _, e := range pg.Entries {
			if !e.Sealed {
				bodies[store.ObjectRef{ID: e.ID, Version: e.Version}] = e.Raw
			}
		}
		if pg.Next == "" {
			return bodies, nil
		}
		q.Next = pg.Next
	}
}

// localAudit is the audit entry of a RED decision on a local path: a
// red-access when the object is served, a policy-deny when it is not.
func localAudit(path policy.Path, user string, e store.Entry, d policy.Decision) audit.Entry {
	kind := audit.KindRedAccess
	if !d.Allow {
		kind = audit.KindPolicyDeny
	}
	return audit.Entry{Kind: kind, Actor: user, ObjectID: e.ID, ObjectVersion: e.Version, TLP: tlpName(stix.TLPRed),
		Reason: d.Reason, Detail: map[string]string{"path": string(path), "rule": string(d.Rule)}}
}

// auditRed appends the entries of RED decisions, and fails when it cannot:
// the caller then serves nothing.
func (f *Federation) auditRed(ctx context.Context, es []audit.Entry) error {
	if len(es) == 0 {
		return nil
	}
	if _, err := f.audit.Append(ctx, es); err != nil {
		return fmt.Errorf("auditing access to TLP:RED objects: %w", err)
	}
	return nil
}
