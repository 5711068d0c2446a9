package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// Invite makes nodes (peer names or identity ids) participants in an
// incident this node opened: one signed join step that names them
// (invited_refs, and party_refs_added for the engine) and carries the
// snapshot of the current picture. The engine sends the step to every
// participant, and sends the new ones the incident and its whole history
// (workflow.Engine.ShareHistory): the steps signed by other participants
// are relayed as they are, where the sharing policy allows it, and each
// participant also sends them its own steps, so that the new ones fold
// the same incident as everyone else.
//
// (Nodes of an earlier version published a new version of the incident
// naming the new participants instead; the fold still reads those.)
func Invite(ctx context.Context, wf *workflow.Engine, caseID, actor string, nodes []string, note string) (*workflow.Result, error) {
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
	var ids []string
	for _, n := range nodes {
		id, err := wf.ResolveNode(ctx, n)
		if err != nil {
			return nil, err
		}
		if id == self {
			return nil, workflow.Inputf("this node opened the incident: invite other nodes")
		}
		if v.isParticipant(id) {
			return nil, workflow.Inputf("%s is already a participant", wf.NodeName(id))
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return wf.Act(ctx, caseID, ActionJoin, actor, mustJSON(JoinInput{Nodes: ids, Note: note}))
}
