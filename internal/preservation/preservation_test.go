package preservation_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/preservation"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/stix/stixschema"
	"github.com/entraide/entraide/internal/store/pgtest"
	"github.com/entraide/entraide/internal/workflow"
)

func fast() federation.Config {
	return federation.Config{PollInterval: 20 * time.Millisecond, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond, CosignInterval: -1}
}

func TestPreservationStorySQLite(t *testing.T) { runStory(t, nil) }

func TestPreservationStoryPostgreSQL(t *testing.T) {
	runStory(t, func(t testing.TB, _ string) string { return pgtest.DSN(t) })
}

func get(n *fedtest.Node, id string) *workflow.View {
	v, err := n.Workflow.Get(context.Background(), id)
	if err != nil {
		return nil
	}
	return v
}

func detail(t *testing.T, v *workflow.View) preservation.View {
	t.Helper()
	d, err := preservation.Decode(v.Detail)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// refused waits until node saw a step of from refused with a reason
// containing why.
func refused(t *testing.T, fed *fedtest.Federation, node, from, why string) {
	t.Helper()
	fed.WaitFor(node+" refuses "+from+"'s step", 10*time.Second, func() bool {
		es, err := fed.Node(node).Fed.Audit().Entries(context.Background(), audit.Query{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Kind == audit.KindRefuse && e.Peer == fed.ID(from) && strings.Contains(e.Reason, why) {
				return true
			}
		}
		return false
	})
}

// The story across four nodes: FR asks EE to preserve a mailbox's logs;
// EE acknowledges after 2 hours and executes after 20, disclosing (Art.
// 30) a relay provider in LV; DE, a peer but no party, forges an execution
// and is refused and audited; FR chains a request to LV from EE's
// disclosure while LV is down; LV's acknowledgement falls overdue; LV,
// back, receives the request and refuses it on sovereignty; FR's expiry
// reminder falls due 10 days before the preservation ends, FR asks an
// extension, EE grants it, FR records the MLA request; the report tells
// how long EE and LV took; every object validates.
func runStory(t *testing.T, db func(t testing.TB, name string) string) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	fed := fedtest.Start(t, fedtest.Options{DB: db, Federation: fast(), Clock: clk, Kinds: []*workflow.Kind{preservation.Kind}}, "fr", "ee", "lv", "de")
	fr, ee, lv, de := fed.Node("fr"), fed.Node("ee"), fed.Node("lv"), fed.Node("de")

	in := with(request(), "to", []string{"cert-ee"}, "tlp", "amber+strict")
	res, err := fr.Workflow.Open(ctx, preservation.KindName, "alice", mustJSON(t, in))
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	if !strings.HasPrefix(id, preservation.Type+"--") || res.Queued != 1 || len(res.Refused) != 0 {
		t.Fatalf("open: %+v", res)
	}
	fed.WaitFor("EE receives the request", 10*time.Second, func() bool { return get(ee, id) != nil })
	ev := get(ee, id)
	if ev.TLP != "amber+strict" || ev.Origin.Name != "cert-fr" || ev.Status != "awaiting acknowledgement" || detail(t, ev).TargetCountry != "EE" {
		t.Fatalf("EE's view: %+v", ev)
	}
	// The request reached EE alone: LV and DE hold nothing.
	if fed.Has("lv", id) || fed.Has("de", id) {
		t.Fatal("the request reached a node that is not its recipient")
	}

	// EE acknowledges after 2 hours.
	clk.Advance(2 * time.Hour)
	if _, err := fr.Workflow.Act(ctx, id, preservation.ActionAcknowledge, "alice", nil); !errors.Is(err, workflow.ErrNotParty) {
		t.Fatalf("FR acknowledges its own request: %v", err)
	}
	if _, err := ee.Workflow.Act(ctx, id, preservation.ActionAcknowledge, "eve", mustJSON(t, map[string]any{"reference": "EE-2026-113"})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("FR sees the acknowledgement", 10*time.Second, func() bool {
		d := detail(t, get(fr, id))
		return d.AcknowledgedAt != nil && d.Reference == "EE-2026-113"
	})

	// Executing for less than 60 days, or refusing without a ground, are errors.
	clk.Advance(18 * time.Hour)
	if _, err := ee.Workflow.Act(ctx, id, preservation.ActionExecute, "eve", mustJSON(t, map[string]any{"preserved_until": "30d"})); !errors.Is(err, workflow.ErrInput) ||
		!strings.Contains(err.Error(), "less than 60 days ahead") {
		t.Fatalf("30 days: %v", err)
	}
	if _, err := ee.Workflow.Act(ctx, id, preservation.ActionRefuse, "eve", mustJSON(t, map[string]any{"explanation": "no"})); !errors.Is(err, workflow.ErrInput) ||
		!strings.Contains(err.Error(), "ground required") {
		t.Fatalf("refusal without a ground: %v", err)
	}
	exec, err := ee.Workflow.Act(ctx, id, preservation.ActionExecute, "eve", mustJSON(t, map[string]any{"preserved_until": "90d",
		"disclosures": []map[string]any{{"country": "LV", "provider": "Balt Relay SIA", "note": "SMTP relay 192.0.2.7, 2026-11-28 03:12 UTC"}}}))
	if err != nil {
		t.Fatal(err)
	}
	until := clk.Now().Add(90 * day)
	fed.WaitFor("FR sees the execution", 10*time.Second, func() bool { return detail(t, get(fr, id)).Answer == preservation.AnswerExecuted })
	fv := get(fr, id)
	d := detail(t, fv)
	if !near(*d.PreservedUntil, until) {
		t.Fatalf("preserved until %v, want %v", d.PreservedUntil, until)
	}
	if len(d.Disclosures) != 1 || d.Disclosures[0].Step != exec.Object || fv.Status != "preserved until "+until.UTC().Format(time.DateOnly) {
		t.Fatalf("FR's view after execution: %s %+v", fv.Status, d)
	}

	// DE is a peer of FR but no party: its forged execution is refused on arrival, and audited.
	forged := mustJSON(t, map[string]any{"type": workflow.StepType, "spec_version": "2.1", "id": stix.NewID(workflow.StepType),
		"created": workflow.Timestamp(clk.Now()), "modified": workflow.Timestamp(clk.Now()),
		"case_ref": id, "transition": "refuse", "actor": "mallory", "ground": "security", "explanation": "forged",
		"extensions": map[string]any{workflow.StepExtension.ID: map[string]any{"extension_type": "new-sdo"}}})
	if _, err := de.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{forged}, TLP: stix.TLPAmberStrict, Nodes: []string{"cert-fr"}, Actor: "mallory"}); err != nil {
		t.Fatal(err)
	}
	refused(t, fed, "fr", "de", "not a party")
	if d := detail(t, get(fr, id)); d.Answer != preservation.AnswerExecuted || d.Refusal != nil {
		t.Fatalf("the forged refusal counted: %+v", d)
	}

	// Art. 30: FR chains a request to LV from EE's disclosure; LV is down.
	fed.Stop("lv")
	c, steps, err := fr.Workflow.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := preservation.Chain(c, steps, exec.Object, "LV")
	if err != nil {
		t.Fatal(err)
	}
	cin := map[string]any{}
	if err := json.Unmarshal(mustJSON(t, chain), &cin); err != nil {
		t.Fatal(err)
	}
	cin["to"], cin["tlp"] = []string{"cert-lv"}, "amber+strict"
	cres, err := fr.Workflow.Open(ctx, preservation.KindName, "alice", mustJSON(t, cin))
	if err != nil {
		t.Fatal(err)
	}
	cid := cres.ID
	chainedAt := clk.Now()
	// LV's acknowledgement falls overdue while it is down.
	clk.Advance(25 * time.Hour)
	cv := get(fr, cid)
	if !cv.Overdue || len(cv.WaitingOn) != 1 || cv.WaitingOn[0].Name != "cert-lv" {
		t.Fatalf("the chained request while LV is down: overdue %v, waiting on %+v", cv.Overdue, cv.WaitingOn)
	}
	fed.Start("lv")
	fed.WaitFor("LV receives the chained request once back", 20*time.Second, func() bool {
		clk.Advance(100 * time.Millisecond) // the retry's backoff runs on the node's clock
		return get(lv, cid) != nil
	})
	lvv := get(lv, cid)
	ld := detail(t, lvv)
	var custodian, facts string
	_ = json.Unmarshal(caseProp(lvv.Case, "custodian"), &custodian)
	_ = json.Unmarshal(caseProp(lvv.Case, "facts"), &facts)
	if ld.ChainedFromRef != exec.Object || ld.ChainedFromCaseRef != id || ld.TargetCountry != "LV" || custodian != "Balt Relay SIA" || facts != request()["facts"] {
		t.Fatalf("LV's view of the chained request: %+v (custodian %q)", ld, custodian)
	}

	// LV refuses, with a ground.
	if _, err := lv.Workflow.Act(ctx, cid, preservation.ActionRefuse, "liis", mustJSON(t, map[string]any{"explanation": "x"})); !errors.Is(err, workflow.ErrInput) {
		t.Fatalf("LV refuses without a ground: %v", err)
	}
	if _, err := lv.Workflow.Act(ctx, cid, preservation.ActionRefuse, "liis", mustJSON(t, map[string]any{
		"ground": "sovereignty", "explanation": "the relay is operated for a state authority"})); err != nil {
		t.Fatal(err)
	}
	lvAnswered := clk.Now()
	fed.WaitFor("FR sees LV's refusal", 10*time.Second, func() bool {
		v := get(fr, cid)
		return v.Status == "refused (sovereignty)" && !v.Open
	})

	// The expiry reminder: 10 days before the preservation ends, FR must
	// send the MLA request or ask an extension.
	if due, err := fr.Workflow.Due(ctx, 0); err != nil || len(due) != 1 || due[0].ID != id || due[0].Overdue || !near(*due[0].NextDue, until.Add(-10*day)) {
		t.Fatalf("due before the reminder: %+v %v", due, err)
	}
	clk.Set(until.Add(-10*day + time.Hour))
	due, err := fr.Workflow.Due(ctx, 0)
	if err != nil || len(due) != 1 || due[0].ID != id || !due[0].Overdue || len(due[0].WaitingOn) != 1 || due[0].WaitingOn[0].Name != "cert-fr" {
		t.Fatalf("due at the reminder: %+v %v", due, err)
	}
	extAt := clk.Now()
	if _, err := fr.Workflow.Act(ctx, id, preservation.ActionExtend, "alice", mustJSON(t, map[string]any{"preserved_until": "60d"})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("EE sees the extension asked", 10*time.Second, func() bool {
		d := detail(t, get(ee, id))
		return d.PendingExtension() != nil
	})
	if due, _ := fr.Workflow.Due(ctx, 0); len(due) != 1 || due[0].WaitingOn[0].Name != "cert-ee" {
		t.Fatalf("due after asking the extension: %+v", due)
	}
	if _, err := ee.Workflow.Act(ctx, id, preservation.ActionExtendGranted, "eve", nil); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("FR sees the extension granted", 10*time.Second, func() bool {
		return get(fr, id).Status == "preserved until "+extAt.Add(60*day).UTC().Format(time.DateOnly)
	})
	if _, err := fr.Workflow.Act(ctx, id, preservation.ActionMLASent, "alice", mustJSON(t, map[string]any{"mla_reference": "FR-EE-MLA-2027-0042"})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("EE sees the MLA request recorded", 10*time.Second, func() bool { return detail(t, get(ee, id)).MLA != nil })
	if due, _ := fr.Workflow.Due(ctx, 0); len(due) != 0 {
		t.Fatalf("due after the MLA request: %+v", due)
	}

	// The report: EE acknowledged after 2h and executed after 20h; LV answered (refusing) after its downtime.
	list, err := fr.Workflow.List(ctx, preservation.KindName, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	var views []preservation.View
	for _, s := range list {
		v, err := preservation.Decode(s.Detail)
		if err != nil {
			t.Fatal(err)
		}
		views = append(views, v)
	}
	r := preservation.Build(views)
	if len(r.Countries) != 2 {
		t.Fatalf("report: %+v", r)
	}
	e, l := r.Countries[0], r.Countries[1]
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	if e.Country != "EE" || e.Requests != 1 || e.Executed != 1 || e.Disclosures != 1 || e.Extensions != 1 || e.Granted != 1 || e.MLASent != 1 ||
		ms(*e.Acknowledge.Median) != 2*time.Hour || ms(*e.Answer.Max) != 20*time.Hour {
		t.Errorf("EE in the report: %+v (ack %v, answer %v)", e, *e.Acknowledge.Median, *e.Answer.Max)
	}
	lvTook := lvAnswered.Sub(chainedAt)
	if l.Country != "LV" || l.Refused != 1 || l.Chained != 1 || l.RefusalsByGround["sovereignty"] != 1 ||
		ms(*l.Acknowledge.Median) != ms(lvTook) || ms(*l.Answer.Median) != ms(lvTook) || lvTook < 25*time.Hour {
		t.Errorf("LV in the report: %+v (took %v, want %v)", l, *l.Answer.Median, lvTook)
	}

	// Both sides hold the same history, and every object validates.
	if a, b := len(get(fr, id).Timeline), len(get(ee, id).Timeline); a != 5 || b != 5 {
		t.Errorf("timelines: FR %d, EE %d steps", a, b)
	}
	for _, n := range []*fedtest.Node{fr, ee, lv} {
		for _, cid := range []string{id, cid} {
			c, steps, err := n.Workflow.Load(ctx, cid)
			if err != nil {
				continue // EE does not hold the chained request, LV not the original
			}
			stixschema.Validate(t, c.Raw)
			for _, s := range steps {
				stixschema.Validate(t, s.Raw)
			}
		}
	}
	stixschema.Validate(t, preservation.Extension.Definition())
}

func caseProp(raw json.RawMessage, name string) json.RawMessage {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	return m[name]
}

func near(a, b time.Time) bool { return a.Sub(b).Abs() < time.Millisecond }

// The extension id is a constant of the wire format: derived from the
// schema's URL, and pinned here so that neither changes by accident.
func TestExtensionID(t *testing.T) {
	const want = "extension-definition--0727370f-e8d6-5067-9c35-8882bc2ed391"
	if got := preservation.Extension.ID; got != want || got != workflow.ExtensionID(preservation.Extension.SchemaURL) {
		t.Fatalf("extension id %s, want %s", got, want)
	}
	var s map[string]any
	if err := json.Unmarshal(preservation.Extension.Schema, &s); err != nil || s["$id"] != preservation.Extension.SchemaURL || s["title"] != preservation.Type {
		t.Fatalf("schema: %v %v", err, s["$id"])
	}
}
