package federation_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/incident"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// A step from a party newly added to a case that reaches a node before the
// step that adds it is refused for now, not for good: FR opens an incident
// with DE, invites EE while DE is down, and goes offline; EE's update
// reaches DE first and is refused (audited, "retry later"); EE's outbox
// keeps it pending; once FR is back and its invitation reaches DE, EE's
// next attempt is accepted and every node folds the step. A stranger's
// step (LV is never a party) is refused at every attempt and fails for good
// after Config.DeferredAttempts.
func TestStepBeforeItsInvitationIsRetried(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	cfg := fast()
	cfg.DeferredAttempts = 10
	fed := fedtest.Start(t, fedtest.Options{Federation: cfg, Clock: clk, Kinds: []*workflow.Kind{incident.Kind}}, "fr", "de", "ee", "lv")
	fr, de, ee, lv := fed.Node("fr"), fed.Node("de"), fed.Node("ee"), fed.Node("lv")

	in, _ := json.Marshal(map[string]any{"to": []string{"cert-de"}, "tlp": "green", "title": "Wiper at a grid operator", "severity": "3",
		"sectors": []string{"energy"}, "countries": []string{"fr"}, "detected": "1h ago"})
	res, err := fr.Workflow.Open(ctx, "incident", "alice", in)
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	fed.WaitFor("DE receives the incident", 10*time.Second, func() bool { return caseView(t, de, id) != nil })

	fed.Stop("de")
	clk.Advance(time.Minute)
	inv, err := incident.Invite(ctx, fr.Workflow, id, "alice", []string{"cert-ee"}, "EE runs the same SCADA vendor")
	if err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("EE receives the incident and its invitation", 10*time.Second, func() bool { return hasEvent(caseView(t, ee, id), inv.Object) })
	fed.Stop("fr") // its invitation to DE stays in its outbox

	clk.Advance(time.Minute)
	up, err := ee.Workflow.Act(ctx, id, incident.ActionUpdate, "eve", json.RawMessage(`{"note":"same firmware here, isolating"}`))
	if err != nil {
		t.Fatal(err)
	}
	fed.Start("de")
	deferred := func() bool {
		for _, r := range pendingTo(t, ee, fed.ID("de")) {
			if strings.HasPrefix(r.LastError, "not accepted yet by cert-de") {
				return true
			}
		}
		return false
	}
	fed.WaitFor("DE refuses EE's step for now", 10*time.Second, func() bool {
		clk.Advance(time.Second) // EE's retry after DE was down
		return deferred()
	})
	if hasEvent(caseView(t, de, id), up.Object) {
		t.Fatal("DE folded EE's step before EE was a party there")
	}
	if n := refusals(t, fed, "de", up.Object, "retry later"); n == 0 {
		t.Error("DE's refusal of EE's step is not audited")
	}

	fed.Start("fr")
	fed.WaitFor("DE accepts EE's step once FR's invitation arrived", 15*time.Second, func() bool {
		clk.Advance(time.Second)
		return hasEvent(caseView(t, de, id), inv.Object) && hasEvent(caseView(t, de, id), up.Object)
	})
	fed.WaitFor("every node folds EE's step", 10*time.Second, func() bool {
		clk.Advance(time.Second)
		return hasEvent(caseView(t, fr, id), up.Object) && hasEvent(caseView(t, ee, id), up.Object)
	})
	for _, n := range []*fedtest.Node{fr, de, ee} {
		for _, e := range caseView(t, n, id).Timeline {
			if e.ID == up.Object && e.Ignored != "" {
				t.Errorf("%s ignores EE's step: %s", n.Name, e.Ignored)
			}
		}
	}
	if st := stats(t, ee)[fed.ID("de")]; st.Failed != 0 {
		t.Errorf("EE's queue to DE: %+v, want no final failure", st)
	}

	// LV, never a party, sends a step of its own to DE, after an indicator
	// (so LV's worker knows DE is up).
	first := share(t, fed, "lv", stix.TLPGreen, nil, []string{"cert-de"}, fedtest.Indicator("before the stray step"))
	fed.WaitFor("DE receives LV's indicator", 10*time.Second, func() bool { return fed.Has("de", first.Objects[0].ID) })
	now := stix.FormatTimestamp(clk.Now())
	stray, _ := json.Marshal(map[string]any{"type": workflow.StepType, "spec_version": "2.1", "id": stix.NewID(workflow.StepType),
		"created": now, "modified": now, "case_ref": id, "transition": incident.ActionUpdate, "actor": "mallory", "note": "closing this",
		"extensions": map[string]any{workflow.StepExtension.ID: map[string]any{"extension_type": "new-sdo"}}})
	sr, err := lv.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{stray}, TLP: stix.TLPGreen, Nodes: []string{"cert-de"}})
	if err != nil {
		t.Fatal(err)
	}
	strayID := sr.Objects[0].ID
	fed.WaitFor("DE refuses LV's step for now", 10*time.Second, func() bool { return refusals(t, fed, "de", strayID, "retry later") == 1 })
	// A row the peer asked to retry waits out its backoff even though the
	// peer is up: the next push (the clock not moving) does not carry it.
	next := share(t, fed, "lv", stix.TLPGreen, nil, []string{"cert-de"}, fedtest.Indicator("after the stray step"))
	fed.WaitFor("DE receives LV's next indicator", 10*time.Second, func() bool { return fed.Has("de", next.Objects[0].ID) })
	for _, r := range pendingTo(t, lv, fed.ID("de")) {
		if r.ID == strayID && r.Attempts != 1 {
			t.Errorf("LV's stray step was tried %d times before its retry time", r.Attempts)
		}
	}
	fed.WaitFor("LV's step ends refused for good", 20*time.Second, func() bool {
		clk.Advance(time.Second)
		return stats(t, lv)[fed.ID("de")].Failed == 1
	})
	if fed.Has("de", strayID) {
		t.Error("DE stored a stranger's step")
	}
	if n := refusals(t, fed, "de", strayID, "not a party"); n != cfg.DeferredAttempts {
		t.Errorf("DE audited %d refusals of LV's step, want one per attempt (%d)", n, cfg.DeferredAttempts)
	}
	log, err := lv.Store.SharingLog(ctx, time.Time{}, fed.ID("de"), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range log {
		if r.ObjectID == strayID && (!r.Failed || !strings.Contains(r.LastError, "still refused after 10 attempts")) {
			t.Errorf("LV's row: %+v", r)
		}
	}
}

func caseView(t *testing.T, n *fedtest.Node, id string) *workflow.View {
	t.Helper()
	v, err := n.Workflow.Get(context.Background(), id)
	if err != nil {
		return nil
	}
	return v
}

func hasEvent(v *workflow.View, id string) bool {
	if v == nil {
		return false
	}
	for _, e := range v.Timeline {
		if e.ID == id {
			return true
		}
	}
	return false
}

func pendingTo(t *testing.T, n *fedtest.Node, peer string) []store.OutboxRow {
	t.Helper()
	rows, err := n.Store.PendingOutbox(context.Background(), peer, time.Now().Add(100*365*24*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func stats(t *testing.T, n *fedtest.Node) map[string]store.QueueStats {
	t.Helper()
	m, err := n.Store.OutboxStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// refusals counts the refusals node name audited of object id whose reason
// contains what.
func refusals(t *testing.T, fed *fedtest.Federation, name, id, what string) int {
	t.Helper()
	es, err := fed.Node(name).Fed.Audit().Entries(context.Background(), audit.Query{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Kind == audit.KindRefuse && e.ObjectID == id && strings.Contains(e.Reason, what) {
			n++
		}
	}
	return n
}
