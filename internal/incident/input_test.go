package incident_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/incident"
	"github.com/entraide/entraide/internal/workflow"
)

func TestOpenRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Kinds: []*workflow.Kind{incident.Kind}}, "fr", "de")
	fr := fed.Node("fr")
	base := map[string]any{"to": []string{"cert-de"}, "tlp": "amber", "title": "t", "severity": "2"}
	for _, c := range []struct {
		name string
		set  map[string]any
		want string
	}{
		{"no title", map[string]any{"title": " "}, "title is required"},
		{"long title", map[string]any{"title": strings.Repeat("x", 301)}, "at most 300"},
		{"no severity", map[string]any{"severity": ""}, "severity is required"},
		{"bad severity", map[string]any{"severity": "7"}, "severity"},
		{"national without a scale", map[string]any{"national_severity": "1"}, "declares no national scale"},
		{"unknown status", map[string]any{"status": "fixed"}, `status "fixed": want one of analysis, containment`},
		{"closed status", map[string]any{"status": "closed"}, "entraide incident close"},
		{"unknown RSIT", map[string]any{"rsit": "phishng"}, `did you mean "fraud:phishing"`},
		{"unknown sector", map[string]any{"sectors": []string{"helth"}}, `did you mean "health"`},
		{"unknown country", map[string]any{"countries": []string{"XX"}}, "unknown country code"},
		{"unknown outlook", map[string]any{"outlook": "bright"}, "outlook"},
		{"unknown root cause", map[string]any{"root_cause": "aliens"}, "root cause"},
		{"detected in the future", map[string]any{"detected": "2099-01-01T00:00:00Z"}, "is in the future"},
		{"detected unreadable", map[string]any{"detected": "this morning"}, "neither an RFC 3339 time"},
		{"red", map[string]any{"tlp": "red"}, "cannot be TLP:RED"},
		{"no tlp", map[string]any{"tlp": ""}, "tlp is required"},
		{"unknown peer", map[string]any{"to": []string{"cert-xx"}}, `no peer "cert-xx"`},
		{"nobody", map[string]any{"to": []string{}}, "say who receives"},
		{"unknown field", map[string]any{"priority": "high"}, `unknown field "priority"`},
		{"bad ref", map[string]any{"refs": []string{"indicator--nope"}}, "reference"},
		{"nis2 not a boolean", map[string]any{"nis2": "yes"}, "nis2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := map[string]any{}
			for k, v := range base {
				in[k] = v
			}
			for k, v := range c.set {
				in[k] = v
			}
			_, err := fr.Workflow.Open(ctx, "incident", "alice", mustJSON(t, in))
			if !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an input error with %q", err, c.want)
			}
		})
	}
	if l, err := fr.Workflow.List(ctx, "", false, 0); err != nil || len(l) != 0 {
		t.Fatalf("list after refusals: %v, %v", l, err)
	}
}

func TestActRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Clock: clk, Kinds: []*workflow.Kind{incident.Kind}}, "fr", "de", "ee")
	fr, de := fed.Node("fr"), fed.Node("de")
	res, err := fr.Workflow.Open(ctx, "incident", "alice", mustJSON(t, map[string]any{
		"to": []string{"cert-de"}, "tlp": "amber", "title": "Data leak at a ministry", "severity": "3", "countries": []string{"FR"}}))
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	fed.WaitFor("de receives the incident", 10*time.Second, func() bool { return view(t, de, id) != nil })
	task := act(t, fr, id, incident.ActionTaskAdd, "alice", map[string]any{"title": "Rotate credentials", "owner": fed.ID("de")})
	fed.WaitFor("de sees the task", 10*time.Second, func() bool { return len(detail(t, view(t, de, id)).Tasks) == 1 })
	act(t, de, id, incident.ActionJoin, "bernd", nil)
	taskPrefix := strings.TrimPrefix(task.Object, workflow.StepType+"--")[:8]

	input, forbidden := workflow.ErrInput, workflow.ErrNotParty
	for _, c := range []struct {
		name   string
		node   *fedtest.Node
		action string
		in     map[string]any
		kind   error
		want   string
	}{
		{"empty update", de, incident.ActionUpdate, nil, input, "nothing to update"},
		{"update to the same values", de, incident.ActionUpdate, map[string]any{"status": "analysis", "add_countries": []string{"fr"}}, input, "nothing changes"},
		{"unknown status", de, incident.ActionUpdate, map[string]any{"status": "solved"}, input, "want one of"},
		{"remove a country not listed", de, incident.ActionUpdate, map[string]any{"remove_countries": []string{"DE"}}, input, "country DE is not listed (listed: FR)"},
		{"unknown sector added", de, incident.ActionUpdate, map[string]any{"add_sectors": []string{"enrgy"}}, input, `did you mean "energy"`},
		{"participant moves detection", de, incident.ActionUpdate, map[string]any{"detected": "1h ago"}, forbidden, "the opener's"},
		{"participant switches NIS2", de, incident.ActionUpdate, map[string]any{"nis2": false}, forbidden, "the opener's"},
		{"note too long", de, incident.ActionUpdate, map[string]any{"note": strings.Repeat("n", 5001)}, input, "at most 5000"},
		{"unknown field", de, incident.ActionUpdate, map[string]any{"severity_level": 3}, input, `unknown field "severity_level"`},
		{"task without title", de, incident.ActionTaskAdd, map[string]any{"owner": "self"}, input, "title is required"},
		{"task for a non-participant", fr, incident.ActionTaskAdd, map[string]any{"title": "x", "owner": fed.ID("ee")}, input, "is not a participant"},
		{"task due in the past", fr, incident.ActionTaskAdd, map[string]any{"title": "x", "due": "2020-01-01T00:00:00Z"}, input, "in the past"},
		{"task done: none given", de, incident.ActionTaskDone, nil, input, "say which task"},
		{"task done: too short", de, incident.ActionTaskDone, map[string]any{"task": "ab"}, input, "at least 4 characters"},
		{"task done: unknown", de, incident.ActionTaskDone, map[string]any{"task": "ffffffff"}, input, "no task"},
		{"report unknown", fr, incident.ActionNIS2Sent, map[string]any{"report": "warning"}, input, "want one of early-warning"},
		{"report by a participant", de, incident.ActionNIS2Sent, map[string]any{"report": "notification"}, forbidden, "only the node that opened"},
		{"invitation by a participant", de, incident.ActionJoin, map[string]any{"nodes": []string{fed.ID("ee")}}, forbidden, "only the node that opened"},
		{"joining twice", de, incident.ActionJoin, nil, input, "already joined"},
		{"invitation without nodes", fr, incident.ActionJoin, nil, input, "say whom to invite"},
		{"invitation of a node not pinned", fr, incident.ActionJoin, map[string]any{"nodes": []string{"identity--44444444-4444-5444-8444-444444444444"}}, input, "is not a pinned peer"},
		{"close by a participant", de, incident.ActionClose, nil, forbidden, "only the node that opened"},
		{"unknown action", fr, "reopen", nil, input, "not an action of the incident workflow"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.node.Workflow.Act(ctx, id, c.action, "someone", mustJSON(t, c.in))
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a %v error with %q", err, c.kind, c.want)
			}
		})
	}
	for _, c := range []struct {
		name  string
		node  *fedtest.Node
		nodes []string
		kind  error
		want  string
	}{
		{"a participant invites", de, []string{"cert-ee"}, forbidden, "only the node that opened"},
		{"nobody", fr, nil, input, "say whom to invite"},
		{"an unknown peer", fr, []string{"cert-xx"}, input, `no peer "cert-xx"`},
		{"a participant", fr, []string{"cert-de"}, input, "cert-de is already a participant"},
		{"itself", fr, []string{"self"}, input, "invite other nodes"},
	} {
		t.Run("invite "+c.name, func(t *testing.T) {
			_, err := incident.Invite(ctx, c.node.Workflow, id, "someone", c.nodes, "")
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a %v error with %q", err, c.kind, c.want)
			}
		})
	}

	// Done twice; NIS2 switched off; closed: what follows is refused.
	act(t, de, id, incident.ActionTaskDone, "bernd", map[string]any{"task": taskPrefix})
	if _, err := de.Workflow.Act(ctx, id, incident.ActionTaskDone, "bernd", mustJSON(t, map[string]any{"task": taskPrefix})); !errors.Is(err, input) || !strings.Contains(err.Error(), "was done at") {
		t.Errorf("task done twice: %v", err)
	}
	act(t, fr, id, incident.ActionUpdate, "alice", map[string]any{"nis2": false, "note": "below the NIS2 thresholds"})
	if _, err := fr.Workflow.Act(ctx, id, incident.ActionNIS2Sent, "alice", mustJSON(t, map[string]any{"report": "early-warning"})); !errors.Is(err, input) || !strings.Contains(err.Error(), "does not apply") {
		t.Errorf("report without NIS2: %v", err)
	}
	if v := view(t, fr, id); v.NextDue != nil || len(v.Deadlines) != 0 {
		t.Errorf("deadlines without NIS2: %+v", v.Deadlines)
	}
	act(t, fr, id, incident.ActionClose, "alice", nil)
	if v := view(t, fr, id); v.Open || v.Status != "closed" {
		t.Errorf("closed: open %v, status %s", v.Open, v.Status)
	}
	if _, err := fr.Workflow.Act(ctx, id, incident.ActionTaskAdd, "alice", mustJSON(t, map[string]any{"title": "late"})); !errors.Is(err, input) || !strings.Contains(err.Error(), "was closed") {
		t.Errorf("task after close: %v", err)
	}
	if _, err := incident.Invite(ctx, fr.Workflow, id, "alice", []string{"cert-ee"}, ""); !errors.Is(err, input) || !strings.Contains(err.Error(), "was closed") {
		t.Errorf("invitation after close: %v", err)
	}
}
