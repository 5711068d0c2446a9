package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// Invite makes nodes (peer names or identity ids) participants in an
// incident this node opened, in two signed objects: a new version of the
// incident whose recipient_refs name them (shared with every participant,
// old and new, so that each node's engine admits their steps), then the
// join step that records the invitation in the timeline and carries the
// snapshot of the current picture. The incident's own content does not
// change: only its recipient_refs and modified.
//
// A new version rather than the engine's Draft.AddParties: AddParties
// re-shares the incident as first signed, which federation.Share signs
// again with a new signature time, so that the store refuses it as a
// different object under the same version once the clock has moved; and a
// node invited later would not learn of the parties added before it,
// whose steps it would then refuse. The new version lists them all.
func Invite(ctx context.Context, wf *workflow.Engine, fed *federation.Federation, caseID, actor string, nodes []string, note string) (*workflow.Result, error) {
	c, _, err := wf.Load(ctx, caseID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, workflow.Inputf("no incident %s on this node: see 'entraide incident list'", caseID)
	}
	if err != nil {
		return nil, err
	}
	if c.Kind != Kind.Name {
		return nil, workflow.Inputf("%s is a %s, not an incident", caseID, c.Kind)
	}
	self := wf.Self()
	if c.Origin != self {
		return nil, fmt.Errorf("%w: only the node that opened the incident invites others; ask %s to run 'entraide incident join %s --node NODE'",
			workflow.ErrNotParty, wf.NodeName(c.Origin), caseID)
	}
	gv, err := wf.Get(ctx, caseID)
	if err != nil {
		return nil, err
	}
	var v View
	if err := json.Unmarshal(gv.Detail, &v); err != nil {
		return nil, fmt.Errorf("incident %s: state: %v", caseID, err)
	}
	if v.Closed != nil {
		return nil, workflow.Inputf("the incident was closed at %s: nobody can be invited any more", v.Closed.At.UTC().Format(time.RFC3339))
	}
	if len(nodes) == 0 {
		return nil, workflow.Inputf("say whom to invite: at least one node")
	}
	if _, err := workflow.Text("note", note, false, maxNote); err != nil {
		return nil, err
	}
	var ids []string
	for _, n := range nodes {
		id, err := wf.ResolveNode(ctx, n)
		if err != nil {
			return nil, err
		}
		if id == self {
			return nil, workflow.Inputf("this node opened the incident: invite other nodes")
		}
		if v.isParticipant(id) || slices.Contains(c.Recipients, id) {
			return nil, workflow.Inputf("%s is already a participant", wf.NodeName(id))
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	all := append(slices.Clone(c.Recipients), ids...)
	raw, err := withRecipients(c.Raw, all, wf.Now())
	if err != nil {
		return nil, err
	}
	shared, err := fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{raw}, Nodes: all, Actor: actor})
	if err != nil {
		return nil, err
	}
	if so := shared.Objects[0]; so.Outcome != store.Added {
		return nil, fmt.Errorf("incident %s: new version not stored: %s", caseID, so.Message)
	}
	// The nodes are participants from here on; if the join step fails,
	// the timeline lacks the invitation and its snapshot, nothing else.
	res, err := wf.Act(ctx, caseID, ActionJoin, actor, mustJSON(JoinInput{Nodes: ids, Note: note}))
	if err != nil {
		return nil, fmt.Errorf("%s are participants, but the invitation step failed: %w", names(wf, ids), err)
	}
	res.Queued += shared.Queued
	for _, t := range shared.Objects[0].Refused {
		res.Refused = append(res.Refused, workflow.RefusedDelivery{Node: t.Node, Name: wf.NodeName(t.Node), Reason: t.Decision.Reason})
	}
	return res, nil
}

// withRecipients is a new version of a case object with these
// recipient_refs, modified now (or just after its last version).
func withRecipients(raw []byte, recipients []string, now time.Time) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	var exts map[string]map[string]json.RawMessage
	if err := json.Unmarshal(top["extensions"], &exts); err != nil {
		return nil, fmt.Errorf("incident: extensions: %v", err)
	}
	mine, ok := exts[Extension.ID]
	if !ok {
		return nil, errors.New("incident: the case carries no incident extension")
	}
	mine["recipient_refs"] = mustJSON(recipients)
	var prev string
	_ = json.Unmarshal(top["modified"], &prev)
	last, err := stix.ParseTimestamp(prev)
	if err != nil {
		return nil, fmt.Errorf("incident: modified: %v", err)
	}
	mod := now.UTC().Truncate(time.Microsecond)
	if !mod.After(last) {
		mod = last.Add(time.Microsecond)
	}
	top["modified"] = mustJSON(stix.FormatTimestamp(mod))
	top["extensions"] = mustJSON(exts)
	return json.Marshal(top)
}

func names(wf *workflow.Engine, ids []string) string {
	var out []string
	for _, id := range ids {
		out = append(out, wf.NodeName(id))
	}
	return listOrNone(out)
}
