package incident_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/incident"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/stix/stixschema"
	"github.com/entraide/entraide/internal/store/pgtest"
	"github.com/entraide/entraide/internal/workflow"
)

func fast() federation.Config {
	return federation.Config{PollInterval: 20 * time.Millisecond, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond, CosignInterval: -1}
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func view(t testing.TB, n *fedtest.Node, id string) *workflow.View {
	t.Helper()
	v, err := n.Workflow.Get(context.Background(), id)
	if err != nil {
		return nil
	}
	return v
}

func detail(t testing.TB, v *workflow.View) incident.View {
	t.Helper()
	var d incident.View
	if v == nil {
		return d
	}
	if err := json.Unmarshal(v.Detail, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// act takes an action and fails the test on an error.
func act(t testing.TB, n *fedtest.Node, id, action, actor string, in map[string]any) *workflow.Result {
	t.Helper()
	r, err := n.Workflow.Act(context.Background(), id, action, actor, mustJSON(t, in))
	if err != nil {
		t.Fatalf("%s %s by %s: %v", action, id, n.Name, err)
	}
	return r
}

func timelineHas(d incident.View, step string) bool {
	for _, e := range d.Timeline {
		if e.ID == step {
			return true
		}
	}
	return false
}

func TestIncidentStorySQLite(t *testing.T) { runIncidentStory(t, nil) }

func TestIncidentStoryPostgreSQL(t *testing.T) {
	runIncidentStory(t, func(t testing.TB, _ string) string { return pgtest.DSN(t) })
}

// The incident workflow across four nodes. fr opens an incident with de
// (ransomware at a hospital group, detected two hours ago); de confirms it
// takes part and moves it to containment; fr invites ee while ee is down,
// and ee, once back, sees the current picture from the invitation's
// snapshot; a task fr gives de is done by de; ee's update reaches fr and
// de directly; the NIS2 clock runs on the fake clock (early warning
// overdue, then sent late; the final report's deadline follows the
// notification); lv, a peer but no participant, forges an update that fr
// refuses and audits; a duplicated step counts once; fr and de end with
// the same state, ee with the same picture; closing keeps the incident due
// until the final report is recorded; every object validates.
func runIncidentStory(t *testing.T, db func(t testing.TB, name string) string) {
	ctx := context.Background()
	start := time.Now().UTC().Truncate(time.Second)
	clk := clock.NewFake(start)
	fed := fedtest.Start(t, fedtest.Options{DB: db, Federation: fast(), Clock: clk, Kinds: []*workflow.Kind{incident.Kind}}, "fr", "de", "ee", "lv")
	fr, de, ee, lv := fed.Node("fr"), fed.Node("de"), fed.Node("ee"), fed.Node("lv")
	fed.Stop("ee")

	res, err := fr.Workflow.Open(ctx, "incident", "alice", mustJSON(t, map[string]any{
		"to": []string{"cert-de"}, "tlp": "amber",
		"title": "Ransomware at a regional hospital group", "description": "Encrypted PACS and HIS servers at three sites.",
		"severity": "3", "rsit": "malicious-code:infected-system", "sectors": []string{"health"}, "countries": []string{"fr"},
		"impact": "Emergency admissions diverted at two sites.", "detected": "2h ago",
	}))
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	if !strings.HasPrefix(id, incident.Type+"--") || res.Queued != 1 || len(res.Refused) != 0 {
		t.Fatalf("open: %+v", res)
	}
	detected := start.Add(-2 * time.Hour)
	fed.WaitFor("de receives the incident", 10*time.Second, func() bool { return view(t, de, id) != nil })
	dv := view(t, de, id)
	dd := detail(t, dv)
	if dv.Severity != 3 || dv.Status != "analysis" || dv.Origin.Name != "cert-fr" || dv.TLP != "amber" || !dd.Detected.Equal(detected) ||
		dd.RSIT != "malicious-code:infected-system" || !reflect.DeepEqual(dd.Countries, []string{"FR"}) {
		t.Fatalf("de's view: %+v\n%+v", dv, dd)
	}
	// de sees fr's NIS2 clock: the early warning is due 24 hours after
	// detection, on fr.
	if dv.NextDue == nil || !dv.NextDue.Equal(detected.Add(24*time.Hour)) || len(dv.WaitingOn) != 1 || dv.WaitingOn[0].Name != "cert-fr" {
		t.Fatalf("de's next deadline: %v on %+v", dv.NextDue, dv.WaitingOn)
	}

	// de confirms it takes part, then moves the incident to containment.
	act(t, de, id, incident.ActionJoin, "bernd", map[string]any{"note": "DE-CERT duty officer on it"})
	up := act(t, de, id, incident.ActionUpdate, "bernd", map[string]any{
		"status": "containment", "severity": "4", "add_countries": []string{"DE"}, "note": "Same strain at a clinic in Saarland.",
	})
	fed.WaitFor("fr sees de's update", 10*time.Second, func() bool {
		d := detail(t, view(t, fr, id))
		return timelineHas(d, up.Object) && d.Status == "containment" && d.Severity == 4 &&
			reflect.DeepEqual(d.Countries, []string{"FR", "DE"}) && d.Participants[1].JoinedAt != nil
	})
	if v := view(t, fr, id); v.Severity != 4 || v.Status != "containment" {
		t.Fatalf("fr's summary: severity %d, status %s", v.Severity, v.Status)
	}

	// A duplicated delivery of de's update counts once (shared again
	// before the clock moves: a later signature would make it another
	// object under the same version).
	before := len(detail(t, view(t, fr, id)).Timeline)
	_, steps, err := de.Workflow.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	for _, s := range steps {
		if s.ID == up.Object {
			raw = s.Raw
		}
	}
	if _, err := de.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{raw}, Nodes: []string{"cert-fr"}, Actor: "bernd"}); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("the duplicate reaches fr", 10*time.Second, func() bool {
		es, _ := fr.Fed.Audit().Entries(ctx, audit.Query{})
		n := 0
		for _, e := range es {
			if e.Kind == audit.KindReceive && e.ObjectID == up.Object {
				n++
			}
		}
		return n == 2
	})
	if after := len(detail(t, view(t, fr, id)).Timeline); after != before {
		t.Fatalf("timeline after a duplicate: %d entries, was %d", after, before)
	}

	// fr invites ee, which is down; once back, ee holds the incident and
	// the invitation, whose snapshot gives it the current picture.
	clk.Advance(time.Minute)
	inv, err := incident.Invite(ctx, fr.Workflow, id, "alice", []string{"cert-ee"}, "EE runs the same PACS vendor")
	if err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("de sees ee invited", 10*time.Second, func() bool { return timelineHas(detail(t, view(t, de, id)), inv.Object) })
	fed.Start("ee")
	fed.WaitFor("ee receives the incident once back", 10*time.Second, func() bool {
		clk.Advance(100 * time.Millisecond) // the retry's backoff runs on the node's clock
		return timelineHas(detail(t, view(t, ee, id)), inv.Object)
	})
	ed := detail(t, view(t, ee, id))
	if ed.Status != "containment" || ed.Severity != 4 || !reflect.DeepEqual(ed.Countries, []string{"FR", "DE"}) || len(ed.Participants) != 3 {
		t.Fatalf("ee's picture after the invitation: %+v", ed)
	}

	// fr gives de a task; de does it; everyone sees it done.
	task := act(t, fr, id, incident.ActionTaskAdd, "alice", map[string]any{"title": "Share the ransom note and samples", "owner": fed.ID("de"), "due": "2d"})
	fed.WaitFor("de sees its task", 10*time.Second, func() bool { return len(detail(t, view(t, de, id)).Tasks) == 1 })
	done := act(t, de, id, incident.ActionTaskDone, "bernd", map[string]any{"task": strings.TrimPrefix(task.Object, workflow.StepType+"--")[:8], "note": "MISP event 4411"})
	for _, n := range []*fedtest.Node{fr, ee} {
		fed.WaitFor(n.Name+" sees the task done", 10*time.Second, func() bool {
			ts := detail(t, view(t, n, id)).Tasks
			return len(ts) == 1 && ts[0].DoneAt != nil && ts[0].DoneBy == fed.ID("de") && ts[0].DoneStep == done.Object
		})
	}
	// ee confirms and reports; its steps reach fr and de directly.
	act(t, ee, id, incident.ActionJoin, "eve", nil)
	eu := act(t, ee, id, incident.ActionUpdate, "eve", map[string]any{"outlook": "improving", "note": "Vendor patch applied at EE sites."})
	for _, n := range []*fedtest.Node{fr, de} {
		fed.WaitFor(n.Name+" sees ee's update", 10*time.Second, func() bool {
			d := detail(t, view(t, n, id))
			return timelineHas(d, eu.Object) && d.Outlook == "improving"
		})
	}

	// The NIS2 clock: 23 hours on, the early warning (due 22 hours after
	// opening) is overdue on fr and seen so on de.
	clk.Advance(23 * time.Hour)
	v := view(t, fr, id)
	if !v.Overdue || len(v.WaitingOn) != 1 || v.WaitingOn[0].Name != "cert-fr" || !v.NextDue.Equal(detected.Add(24*time.Hour)) {
		t.Fatalf("after 23 hours: overdue %v, next %v on %+v", v.Overdue, v.NextDue, v.WaitingOn)
	}
	due, err := de.Workflow.Due(ctx, 0)
	if err != nil || len(due) != 1 || due[0].ID != id || !due[0].Overdue {
		t.Fatalf("de's due list: %+v, %v", due, err)
	}
	// A participant does not record fr's reports, nor move its clock.
	if _, err := de.Workflow.Act(ctx, id, incident.ActionNIS2Sent, "bernd", mustJSON(t, map[string]any{"report": "early-warning"})); !errors.Is(err, workflow.ErrNotParty) {
		t.Errorf("de records fr's early warning: %v", err)
	}
	if _, err := de.Workflow.Act(ctx, id, incident.ActionUpdate, "bernd", mustJSON(t, map[string]any{"detected": "1h ago"})); !errors.Is(err, workflow.ErrNotParty) {
		t.Errorf("de moves the detection time: %v", err)
	}
	ew := act(t, fr, id, incident.ActionNIS2Sent, "alice", map[string]any{"report": "early-warning", "at": "30m ago", "sent_to": "CERT-FR"})
	fed.WaitFor("de sees the early warning sent", 10*time.Second, func() bool {
		r := detail(t, view(t, de, id)).NIS2.Reports[0]
		return r.Report == incident.EarlyWarning && r.SentAt != nil && r.SentAt.Equal(clk.Now().Add(-30*time.Minute)) && r.Step == ew.Object
	})
	v = view(t, de, id)
	if v.Overdue || !v.NextDue.Equal(detected.Add(72*time.Hour)) {
		t.Fatalf("after the early warning: overdue %v, next %v", v.Overdue, v.NextDue)
	}
	if dl := v.Deadlines[0]; dl.What != "NIS2 early warning" || dl.DoneAt == nil || dl.Overdue {
		t.Fatalf("early-warning deadline: %+v", dl)
	}
	// Until the notification is sent, the final report counts from its
	// deadline; once sent, from when it was sent.
	fd := detail(t, v).NIS2.Reports[2]
	if fd.Report != incident.FinalReport || !fd.Due.Equal(incident.AddMonth(detected.Add(72*time.Hour))) {
		t.Fatalf("final report before the notification: %+v", fd)
	}
	clk.Advance(10 * time.Hour)
	act(t, fr, id, incident.ActionNIS2Sent, "alice", map[string]any{"report": "notification"})
	sentAt := clk.Now().Truncate(time.Microsecond)
	fed.WaitFor("ee sees the final report's deadline follow the notification", 10*time.Second, func() bool {
		r := detail(t, view(t, ee, id)).NIS2.Reports
		return len(r) == 3 && r[1].SentAt != nil && r[2].Due != nil && r[2].Due.Equal(incident.AddMonth(sentAt))
	})

	// lv is a peer of fr but no participant: its update is refused on
	// arrival, and audited.
	forged := mustJSON(t, map[string]any{"type": workflow.StepType, "spec_version": "2.1", "id": stix.NewID(workflow.StepType),
		"created": workflow.Timestamp(clk.Now()), "modified": workflow.Timestamp(clk.Now()),
		"case_ref": id, "transition": "update", "actor": "mallory", "status": "recovery", "common_severity": 0,
		"extensions": map[string]any{workflow.StepExtension.ID: map[string]any{"extension_type": "new-sdo"}}})
	if _, err := lv.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{forged}, TLP: stix.TLPAmber, Nodes: []string{"cert-fr"}, Actor: "mallory"}); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr refuses lv's update", 10*time.Second, func() bool {
		es, err := fr.Fed.Audit().Entries(ctx, audit.Query{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Kind == audit.KindRefuse && e.Peer == fed.ID("lv") && strings.Contains(e.Reason, "not a party") {
				return true
			}
		}
		return false
	})
	if v := view(t, fr, id); v.Status != "containment" || v.Severity != 4 {
		t.Fatalf("after lv's forged update: %s, severity %d", v.Status, v.Severity)
	}

	// fr and de hold the same history, so the same state; ee, invited
	// later, lacks the steps before its invitation but has the same
	// picture.
	fed.WaitFor("fr, de and ee agree", 10*time.Second, func() bool {
		a, b, c := detail(t, view(t, fr, id)), detail(t, view(t, de, id)), detail(t, view(t, ee, id))
		if !reflect.DeepEqual(a, b) {
			return false
		}
		a.Timeline, c.Timeline = nil, nil
		return reflect.DeepEqual(a, c)
	})

	// fr closes with the final report still due: the incident stays due.
	act(t, fr, id, incident.ActionClose, "alice", map[string]any{"note": "Systems restored from backups."})
	fed.WaitFor("de sees it closed", 10*time.Second, func() bool { return detail(t, view(t, de, id)).Closed != nil })
	v = view(t, de, id)
	if v.Status != "closed, NIS2 reports pending" || !v.Open || !v.NextDue.Equal(incident.AddMonth(sentAt)) {
		t.Fatalf("closed with the final report due: %s, open %v, next %v", v.Status, v.Open, v.NextDue)
	}
	if _, err := de.Workflow.Act(ctx, id, incident.ActionUpdate, "bernd", mustJSON(t, map[string]any{"note": "late"})); !errors.Is(err, workflow.ErrInput) {
		t.Errorf("update after close: %v", err)
	}
	act(t, fr, id, incident.ActionNIS2Sent, "alice", map[string]any{"report": "final-report"})
	fed.WaitFor("de sees the incident done", 10*time.Second, func() bool {
		v := view(t, de, id)
		return v.Status == "closed" && !v.Open && v.NextDue == nil
	})

	// Every object emitted validates against the official schemas.
	for _, n := range []*fedtest.Node{fr, de, ee} {
		c, steps, err := n.Workflow.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		stixschema.Validate(t, c.Raw)
		for _, s := range steps {
			stixschema.Validate(t, s.Raw)
		}
	}
	stixschema.Validate(t, incident.Extension.Definition())
}

// The extension id is UUIDv5 of its schema URL (recomputed with another
// implementation); its definition and schema are well formed.
func TestExtension(t *testing.T) {
	x := incident.Extension
	if want := "extension-definition--" + uuid.NewSHA1(uuid.NameSpaceURL, []byte(x.SchemaURL)).String(); x.ID != want {
		t.Errorf("id %s, want %s", x.ID, want)
	}
	stixschema.Validate(t, x.Definition())
	if _, err := stix.Parse(x.Definition()); err != nil {
		t.Error(err)
	}
	var s map[string]any
	if err := json.Unmarshal(x.Schema, &s); err != nil || s["$id"] != x.SchemaURL {
		t.Errorf("schema: %v, $id %v", err, s["$id"])
	}
	if x.Type != "property-extension" || !incident.Kind.PropertyExtension || incident.Kind.CaseType != "incident" {
		t.Errorf("an incident is the standard SDO with a property extension: %+v", x)
	}
}
