package incident_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/incident"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// A participant invited late receives the incident and every earlier step:
// fr opens an incident with de, de updates it, then fr invites ee; ee's
// fold equals fr's. At TLP:CLEAR fr relays de's step byte for byte, and ee
// holds it as de's (its signature verified at ee) received from fr, even
// with de offline. At TLP:AMBER the sharing policy refuses fr the relay of
// de's step (audited), and de sends its own step to ee itself.
func TestInvitedLateGetsTheHistory(t *testing.T) {
	for _, c := range []struct {
		tlp       string
		deOffline bool // de is down from before the invitation on: only fr can bring its step to ee
	}{
		{"clear", true},
		{"amber", false},
	} {
		t.Run(c.tlp, func(t *testing.T) { inviteLate(t, c.tlp, c.deOffline) })
	}
}

func inviteLate(t *testing.T, tlp string, deOffline bool) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Clock: clk, Kinds: []*workflow.Kind{incident.Kind}}, "fr", "de", "ee")
	fr, de, ee := fed.Node("fr"), fed.Node("de"), fed.Node("ee")

	res, err := fr.Workflow.Open(ctx, "incident", "alice", mustJSON(t, map[string]any{
		"to": []string{"cert-de"}, "tlp": tlp, "title": "Wiper at a grid operator", "severity": "3",
		"sectors": []string{"energy"}, "countries": []string{"fr"}, "detected": "1h ago",
	}))
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	fed.WaitFor("de receives the incident", 10*time.Second, func() bool { return view(t, de, id) != nil })
	clk.Advance(time.Minute)
	up := act(t, de, id, incident.ActionUpdate, "bernd", map[string]any{"status": "containment", "severity": "4", "add_countries": []string{"DE"}})
	clk.Advance(time.Minute)
	task := act(t, fr, id, incident.ActionTaskAdd, "alice", map[string]any{"title": "Share the samples", "owner": fed.ID("de")})
	fed.WaitFor("fr and de hold both steps", 10*time.Second, func() bool {
		return timelineHas(detail(t, view(t, fr, id)), up.Object) && timelineHas(detail(t, view(t, de, id)), task.Object)
	})
	if deOffline {
		fed.Stop("de")
	}

	clk.Advance(time.Minute)
	inv, err := incident.Invite(ctx, fr.Workflow, id, "alice", []string{"cert-ee"}, "EE runs the same SCADA vendor")
	if err != nil {
		t.Fatal(err)
	}
	refused := false
	for _, r := range inv.Refused {
		refused = refused || r.Node == fed.ID("ee") && strings.Contains(r.Reason, "AMBER")
	}
	if refused != (tlp == "amber") {
		t.Fatalf("the relay of de's step to ee at %s: refused %v (%+v)", tlp, refused, inv.Refused)
	}
	same := func() bool {
		a, b := view(t, fr, id), view(t, ee, id)
		return a != nil && b != nil && timelineHas(detail(t, b), up.Object) && timelineHas(detail(t, b), inv.Object) && sameFold(a, b) == ""
	}
	fed.WaitFor("ee folds the incident as fr does", 15*time.Second, same)
	if why := sameFold(view(t, fr, id), view(t, ee, id)); why != "" {
		t.Fatal(why)
	}
	d := detail(t, view(t, ee, id))
	if d.Status != "containment" || d.Severity != 4 || len(d.Participants) != 3 || len(d.Tasks) != 1 {
		t.Fatalf("ee's picture: %+v", d)
	}

	// Who brought de's step to ee, and as whose.
	prov, err := ee.Store.Provenance(ctx, []store.ObjectRef{{ID: up.Object, Version: version(t, de, id, up.Object)}})
	if err != nil {
		t.Fatal(err)
	}
	var p store.Provenance
	for _, v := range prov {
		p = v
	}
	want := fed.ID("de") // AMBER: de itself
	if deOffline {
		want = fed.ID("fr") // CLEAR, de down: fr's relay
	}
	if p.Origin != fed.ID("de") || p.ReceivedFrom != want {
		t.Fatalf("de's step at ee: origin %s, received from %s; want origin de, from %s", p.Origin, p.ReceivedFrom, want)
	}
	if tlp == "amber" {
		es, err := fr.Fed.Audit().Entries(ctx, audit.Query{})
		if err != nil {
			t.Fatal(err)
		}
		denied := false
		for _, e := range es {
			denied = denied || e.Kind == audit.KindPolicyDeny && e.ObjectID == up.Object && e.Peer == fed.ID("ee") && e.Detail["relay"] == "true"
		}
		if !denied {
			t.Fatal("fr's refused relay of de's AMBER step is not in its audit log")
		}
	}

	// What ee does next counts everywhere: it joins, and fr and de see it.
	if deOffline {
		// de learns that ee is a participant before ee's first step
		// reaches it: a step of a party whose addition has not arrived is
		// refused (see Engine.Admit).
		fed.Start("de")
		fed.WaitFor("de sees ee invited", 10*time.Second, func() bool {
			clk.Advance(100 * time.Millisecond)
			return timelineHas(detail(t, view(t, de, id)), inv.Object)
		})
	}
	j := act(t, ee, id, incident.ActionJoin, "eve", map[string]any{"note": "on it"})
	for _, n := range []*fedtest.Node{fr, de} {
		fed.WaitFor(n.Name+" sees ee join", 10*time.Second, func() bool {
			clk.Advance(100 * time.Millisecond)
			return timelineHas(detail(t, view(t, n, id)), j.Object)
		})
	}
	// The catch-up is not repeated: de's step went to ee once.
	ws, err := store.Workflows(de.Store)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := ws.Deliveries(ctx, up.Object, version(t, de, id, up.Object))
	if err != nil {
		t.Fatal(err)
	}
	if tlp == "amber" {
		if _, ok := ds[fed.ID("ee")]; !ok {
			t.Fatal("de has no delivery of its step to ee")
		}
	}
}

// sameFold says how two views of one case differ, "" when they do not
// (what a node sees of deliveries and receipt aside).
func sameFold(a, b *workflow.View) string {
	if a == nil || b == nil {
		return "a view is missing"
	}
	if a.Status != b.Status || a.Severity != b.Severity || a.Title != b.Title || a.Open != b.Open {
		return "summary differs: " + a.Status + " / " + b.Status
	}
	var da, db any
	_ = json.Unmarshal(a.Detail, &da)
	_ = json.Unmarshal(b.Detail, &db)
	if !reflect.DeepEqual(da, db) {
		return "details differ:\n" + string(a.Detail) + "\n" + string(b.Detail)
	}
	ids := func(v *workflow.View) (out []string) {
		for _, e := range v.Timeline {
			out = append(out, e.ID+" "+e.Ignored)
		}
		return out
	}
	if !reflect.DeepEqual(ids(a), ids(b)) {
		return "timelines differ: " + strings.Join(ids(a), ",") + " / " + strings.Join(ids(b), ",")
	}
	pa, pb := []string{}, []string{}
	for _, p := range a.Parties {
		pa = append(pa, p.ID)
	}
	for _, p := range b.Parties {
		pb = append(pb, p.ID)
	}
	if !reflect.DeepEqual(pa, pb) {
		return "parties differ"
	}
	if !reflect.DeepEqual(a.Deadlines, b.Deadlines) {
		return "deadlines differ"
	}
	return ""
}

// version is the version of a step as a node holds it.
func version(t *testing.T, n *fedtest.Node, caseID, stepID string) string {
	t.Helper()
	_, steps, err := n.Workflow.Load(context.Background(), caseID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.ID == stepID {
			return s.Version
		}
	}
	t.Fatalf("%s holds no step %s", n.Name, stepID)
	return ""
}
