package assistance_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/assistance"
	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
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

func view(t *testing.T, n *fedtest.Node, id string) *workflow.View {
	t.Helper()
	v, err := n.Workflow.Get(context.Background(), id)
	if err != nil {
		return nil
	}
	return v
}

func detail(t *testing.T, v *workflow.View) assistance.View {
	t.Helper()
	var d assistance.View
	if v == nil {
		return d
	}
	if err := json.Unmarshal(v.Detail, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func offer(d assistance.View, id string) *assistance.Offer {
	for i := range d.Offers {
		if d.Offers[i].ID == id {
			return &d.Offers[i]
		}
	}
	return nil
}

func recipient(d assistance.View, node string) *assistance.Recipient {
	for i := range d.Recipients {
		if d.Recipients[i].Node == node {
			return &d.Recipients[i]
		}
	}
	return nil
}

func capability(d assistance.View, id string) assistance.CapabilityStatus {
	for _, c := range d.Capabilities {
		if c.ID == id {
			return c
		}
	}
	return assistance.CapabilityStatus{}
}

// request is a valid request; set overrides fields.
func request(set map[string]any) map[string]any {
	in := map[string]any{
		"to": []string{"cert-de"}, "tlp": "amber",
		"title":        "Ransomware at a regional hospital group",
		"incident_ref": "incident--0b6a1a39-3f35-4f7a-9b7e-1f1c2b3d4e5f",
		"capabilities": []string{"digital-forensics", "malware-analysis"},
		"urgency":      "immediate", "severity": "4", "entity_criticality": "essential",
		"mitigation": "Hospital network isolated from the internet at 06:10 UTC; domain admin passwords reset; backups taken offline.",
		"respond_by": "4h", "sectors": []string{"health"}, "countries": []string{"FR"},
	}
	for k, v := range set {
		if v == nil {
			delete(in, k)
			continue
		}
		in[k] = v
	}
	return in
}

func TestAssistanceStorySQLite(t *testing.T) { runStory(t, nil) }

func TestAssistanceStoryPostgreSQL(t *testing.T) {
	runStory(t, func(t testing.TB, _ string) string { return pgtest.DSN(t) })
}

// Mutual assistance across five nodes. FR, hit by ransomware at a hospital
// group, asks DE, EE and PL for forensics and malware analysis; EE is down
// when the request leaves and gets it (and the answers already given) when
// it is back. DE offers a forensics team, PL cannot help, FR accepts DE's
// offer; EE's answer is overdue, then comes: an offer it withdraws and
// makes again, which FR declines. LV, a peer of FR but no party to the
// request, forges an offer: refused and audited. A duplicated offer counts
// once. On DE the requests are listed by severity, criticality, urgency
// and age. FR closes with a report; nothing more can be done on it. Every
// object validates against the STIX schemas.
func runStory(t *testing.T, db func(t testing.TB, name string) string) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	fed := fedtest.Start(t, fedtest.Options{DB: db, Federation: fast(), Clock: clk, Kinds: []*workflow.Kind{assistance.Kind}}, "fr", "de", "ee", "pl", "lv")
	fr, de, ee, pl, lv := fed.Node("fr"), fed.Node("de"), fed.Node("ee"), fed.Node("pl"), fed.Node("lv")
	fed.Stop("ee")

	res, err := fr.Workflow.Open(ctx, assistance.KindName, "alice", mustJSON(t, request(map[string]any{"to": []string{"cert-de", "cert-ee", "cert-pl"}})))
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	if !strings.HasPrefix(id, assistance.Type+"--") || res.Queued != 3 || len(res.Refused) != 0 {
		t.Fatalf("open: %+v", res)
	}
	fed.WaitFor("de and pl receive the request", 10*time.Second, func() bool { return view(t, de, id) != nil && view(t, pl, id) != nil })
	dv := view(t, de, id)
	d := detail(t, dv)
	if dv.Severity != 4 || dv.Origin.Name != "cert-fr" || dv.TLP != "amber" || dv.ReceivedAt == nil ||
		d.Criticality != "essential" || d.Urgency != "immediate" || !strings.Contains(d.Mitigation, "isolated") ||
		len(d.Capabilities) != 2 || d.Capabilities[0].Label != "Digital forensics" || len(d.Recipients) != 3 {
		t.Fatalf("de's view: %+v\n%+v", dv, d)
	}
	// DE tracks its own answer, not EE's and PL's (their answers may
	// never reach it): one deadline, on DE.
	if len(dv.Deadlines) != 1 || dv.Deadlines[0].Party != fed.ID("de") || dv.Deadlines[0].Due.Sub(clk.Now().Add(4*time.Hour)).Abs() > time.Millisecond {
		t.Fatalf("deadlines: %+v", dv.Deadlines)
	}

	// DE offers a forensics team; the offer reaches FR, and PL (every
	// party DE is peered with).
	deRes, err := de.Workflow.Act(ctx, id, assistance.ActionOffer, "bernd", mustJSON(t, map[string]any{
		"capability": "digital-forensics", "team_size": 3, "available_until": "5d", "note": "Two analysts on site in Lyon by 18:00, one remote."}))
	if err != nil {
		t.Fatal(err)
	}
	deOffer := deRes.Object
	fed.WaitFor("fr and pl see de's offer", 10*time.Second, func() bool {
		a, b := offer(detail(t, view(t, fr, id)), deOffer), offer(detail(t, view(t, pl, id)), deOffer)
		return a != nil && b != nil && a.Status == assistance.StatusPending && a.TeamSize == 3 && a.Actor == "bernd" && a.AvailableUntil != nil
	})
	// Offers a partner cannot make.
	for _, c := range []struct {
		name string
		in   map[string]any
		want string
	}{
		{"unknown capability", map[string]any{"capability": "digital-forensic", "team_size": 1}, `unknown capability "digital-forensic" (did you mean "digital-forensics"?`},
		{"not requested", map[string]any{"capability": "legal-support", "team_size": 1}, "was not requested"},
		{"no capability", map[string]any{"team_size": 1}, "capability is required"},
		{"no team", map[string]any{"capability": "malware-analysis"}, "team_size is required"},
		{"huge team", map[string]any{"capability": "malware-analysis", "team_size": 9999}, "want 1 to 500"},
		{"until before from", map[string]any{"capability": "malware-analysis", "team_size": 1, "available_from": "2d", "available_until": "1d"}, "must be after available_from"},
		{"from in the past", map[string]any{"capability": "malware-analysis", "team_size": 1, "available_from": "2020-01-01T00:00:00Z"}, "in the past"},
		{"bad from", map[string]any{"capability": "malware-analysis", "team_size": 1, "available_from": "tomorrow"}, "neither now"},
		{"same offer twice", map[string]any{"capability": "digital-forensics", "team_size": 2}, "withdraw it first"},
		{"unknown field", map[string]any{"capability": "malware-analysis", "team_size": 1, "colour": "red"}, `unknown field "colour"`},
	} {
		if _, err := de.Workflow.Act(ctx, id, assistance.ActionOffer, "bernd", mustJSON(t, c.in)); !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an input error with %q", c.name, err, c.want)
		}
	}
	// Only recipients answer; only the requester decides.
	if _, err := fr.Workflow.Act(ctx, id, assistance.ActionOffer, "alice", mustJSON(t, map[string]any{"capability": "malware-analysis", "team_size": 1})); !errors.Is(err, workflow.ErrNotParty) {
		t.Errorf("requester offers: %v", err)
	}
	if _, err := de.Workflow.Act(ctx, id, assistance.ActionAccept, "bernd", mustJSON(t, map[string]any{"offer_ref": deOffer})); !errors.Is(err, workflow.ErrNotParty) {
		t.Errorf("offerer accepts: %v", err)
	}
	if _, err := lv.Workflow.Act(ctx, id, assistance.ActionOffer, "mallory", mustJSON(t, map[string]any{"capability": "malware-analysis", "team_size": 1})); err == nil {
		t.Errorf("lv, which does not hold the request, offers")
	}

	// PL cannot help.
	plRes, err := pl.Workflow.Act(ctx, id, assistance.ActionNoOffer, "piotr", mustJSON(t, map[string]any{"reason": "Our forensic team is deployed at home."}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pl.Workflow.Act(ctx, id, assistance.ActionNoOffer, "piotr", nil); !errors.Is(err, workflow.ErrInput) {
		t.Errorf("second no-offer: %v", err)
	}
	fed.WaitFor("fr sees pl's no-offer", 10*time.Second, func() bool {
		r := recipient(detail(t, view(t, fr, id)), fed.ID("pl"))
		return r != nil && r.Answer == assistance.AnswerNoOffer && r.Reason == "Our forensic team is deployed at home."
	})

	// FR decides: errors first, then it accepts DE's offer.
	for _, c := range []struct {
		name, action string
		in           map[string]any
		want         string
	}{
		{"a no-offer is no offer", assistance.ActionAccept, map[string]any{"offer_ref": plRes.Object}, "is a no-offer step of this request, not an offer"},
		{"unknown offer", assistance.ActionAccept, map[string]any{"offer_ref": stix.NewID(workflow.StepType)}, "no offer"},
		{"not an id", assistance.ActionAccept, map[string]any{"offer_ref": "offer-1"}, "offer_ref"},
		{"no offer named", assistance.ActionAccept, map[string]any{}, "offer_ref is required"},
		{"decline without reason", assistance.ActionDecline, map[string]any{"offer_ref": deOffer}, "reason is required"},
		{"accept takes no reason", assistance.ActionAccept, map[string]any{"offer_ref": deOffer, "reason": "x"}, `unknown field "reason"`},
		{"close without report", assistance.ActionClose, map[string]any{}, "report is required"},
	} {
		if _, err := fr.Workflow.Act(ctx, id, c.action, "alice", mustJSON(t, c.in)); !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an input error with %q", c.name, err, c.want)
		}
	}
	if _, err := fr.Workflow.Act(ctx, id, assistance.ActionAccept, "alice", mustJSON(t, map[string]any{"offer_ref": deOffer, "note": "Please report to the Lyon crisis cell."})); err != nil {
		t.Fatal(err)
	}
	if _, err := fr.Workflow.Act(ctx, id, assistance.ActionAccept, "alice", mustJSON(t, map[string]any{"offer_ref": deOffer})); !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), "already accepted") {
		t.Errorf("accept twice: %v", err)
	}
	fed.WaitFor("de sees its offer accepted", 10*time.Second, func() bool {
		o := offer(detail(t, view(t, de, id)), deOffer)
		return o != nil && o.Status == assistance.StatusAccepted && o.DecisionText == "Please report to the Lyon crisis cell." && o.DecidedBy == "alice"
	})
	v := view(t, fr, id)
	if d := detail(t, v); capability(d, "digital-forensics").Accepted != 1 || capability(d, "digital-forensics").People != 3 || d.Answered != 2 {
		t.Fatalf("fr after accepting: %+v", d)
	}
	if v.Status != "1 accepted, awaiting 1 of 3 answers" {
		t.Fatalf("status: %q", v.Status)
	}

	// EE's deadline passes while it is down.
	clk.Advance(5 * time.Hour)
	v = view(t, fr, id)
	if !v.Overdue || len(v.WaitingOn) != 1 || v.WaitingOn[0].Name != "cert-ee" {
		t.Fatalf("after the deadline: overdue %v, waiting on %+v", v.Overdue, v.WaitingOn)
	}
	due, err := fr.Workflow.Due(ctx, 0)
	if err != nil || len(due) != 1 || due[0].ID != id || !due[0].Overdue {
		t.Fatalf("due: %+v, %v", due, err)
	}

	// EE comes back: it gets the request, DE's offer, PL's no-offer and
	// FR's acceptance, in whatever order they arrive.
	fed.Start("ee")
	fed.WaitFor("ee catches up", 20*time.Second, func() bool {
		clk.Advance(100 * time.Millisecond) // the retries' backoff runs on the nodes' clock
		d := detail(t, view(t, ee, id))
		o := offer(d, deOffer)
		r := recipient(d, fed.ID("pl"))
		return o != nil && o.Status == assistance.StatusAccepted && r != nil && r.Answer == assistance.AnswerNoOffer
	})

	// EE offers, withdraws, offers again; FR declines.
	e1, err := ee.Workflow.Act(ctx, id, assistance.ActionOffer, "eve", mustJSON(t, map[string]any{"capability": "malware-analysis", "team_size": 2, "available_from": "2h"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := de.Workflow.Act(ctx, id, assistance.ActionWithdraw, "bernd", mustJSON(t, map[string]any{"offer_ref": e1.Object})); err == nil {
		t.Errorf("de withdraws ee's offer")
	}
	if _, err := ee.Workflow.Act(ctx, id, assistance.ActionWithdraw, "eve", mustJSON(t, map[string]any{"offer_ref": e1.Object, "reason": "Team recalled."})); err != nil {
		t.Fatal(err)
	}
	e2, err := ee.Workflow.Act(ctx, id, assistance.ActionOffer, "eve", mustJSON(t, map[string]any{"capability": "malware-analysis", "team_size": 1}))
	if err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr sees ee's offers", 10*time.Second, func() bool {
		d := detail(t, view(t, fr, id))
		a, b := offer(d, e1.Object), offer(d, e2.Object)
		return a != nil && b != nil && a.Status == assistance.StatusWithdrawn && a.WithdrawReason == "Team recalled." && b.Status == assistance.StatusPending
	})
	v = view(t, fr, id)
	if v.Overdue || v.Status != "1 accepted, 1 offer to decide" {
		t.Fatalf("after ee's answer: overdue %v, %q", v.Overdue, v.Status)
	}
	for _, dl := range v.Deadlines {
		if dl.Party == fed.ID("ee") && (dl.DoneAt == nil || !dl.DoneAt.After(dl.Due)) {
			t.Errorf("ee's late answer: %+v", dl)
		}
	}
	if _, err := fr.Workflow.Act(ctx, id, assistance.ActionDecline, "alice", mustJSON(t, map[string]any{"offer_ref": e1.Object, "reason": "x"})); !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), "withdrawn") {
		t.Errorf("decline a withdrawn offer: %v", err)
	}
	if _, err := fr.Workflow.Act(ctx, id, assistance.ActionDecline, "alice", mustJSON(t, map[string]any{"offer_ref": e2.Object, "reason": "Malware analysis is covered by ANSSI's lab."})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("ee sees its offer declined", 10*time.Second, func() bool {
		o := offer(detail(t, view(t, ee, id)), e2.Object)
		return o != nil && o.Status == assistance.StatusDeclined && o.DecisionText == "Malware analysis is covered by ANSSI's lab."
	})
	if _, err := ee.Workflow.Act(ctx, id, assistance.ActionWithdraw, "eve", mustJSON(t, map[string]any{"offer_ref": e2.Object})); !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), "declined") {
		t.Errorf("withdraw a declined offer: %v", err)
	}
	if _, err := ee.Workflow.Act(ctx, id, assistance.ActionWithdraw, "eve", mustJSON(t, map[string]any{"offer_ref": e1.Object})); !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), "already withdrawn") {
		t.Errorf("withdraw twice: %v", err)
	}
	if _, err := ee.Workflow.Act(ctx, id, assistance.ActionWithdraw, "eve", mustJSON(t, map[string]any{"offer_ref": deOffer})); !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), "another node's") {
		t.Errorf("withdraw de's offer: %v", err)
	}
	if _, err := de.Workflow.Act(ctx, id, assistance.ActionNoOffer, "bernd", nil); !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), "offers in force") {
		t.Errorf("no-offer with an accepted offer: %v", err)
	}
	// DE never saw EE's offers before (EE sends to every party), and sees
	// the decline with what was declined.
	fed.WaitFor("de sees ee's declined offer", 10*time.Second, func() bool {
		o := offer(detail(t, view(t, de, id)), e2.Object)
		return o != nil && o.Status == assistance.StatusDeclined && o.Capability == "malware-analysis" && o.Node == fed.ID("ee")
	})

	// LV, a peer of FR but no party to the request, forges an offer.
	forged := mustJSON(t, map[string]any{"type": workflow.StepType, "spec_version": "2.1", "id": stix.NewID(workflow.StepType),
		"created": workflow.Timestamp(clk.Now()), "modified": workflow.Timestamp(clk.Now()),
		"case_ref": id, "transition": assistance.ActionOffer, "actor": "mallory", "capability": "malware-analysis", "team_size": 50,
		"extensions": map[string]any{workflow.StepExtension.ID: map[string]any{"extension_type": "new-sdo"}}})
	if _, err := lv.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{forged}, TLP: stix.TLPAmber, Nodes: []string{"cert-fr"}, Actor: "mallory"}); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr refuses lv's offer", 10*time.Second, func() bool {
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
	if d := detail(t, view(t, fr, id)); len(d.Offers) != 3 {
		t.Fatalf("offers after lv's forgery: %+v", d.Offers)
	}

	// A duplicated delivery of EE's second offer counts once. (Shared again
	// at the same instant, the step is signed into the same bytes.)
	_, steps, err := ee.Workflow.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	for _, s := range steps {
		if s.ID == e2.Object {
			raw = s.Raw
		}
	}
	if _, err := ee.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{raw}, Nodes: []string{"cert-fr"}, Actor: "eve"}); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("the duplicate reaches fr", 10*time.Second, func() bool {
		es, _ := fr.Fed.Audit().Entries(ctx, audit.Query{})
		n := 0
		for _, e := range es {
			if e.Kind == audit.KindReceive && e.ObjectID == e2.Object {
				n++
			}
		}
		return n == 2
	})
	if d := detail(t, view(t, fr, id)); len(d.Offers) != 3 || capability(d, "malware-analysis").Offered != 0 || len(d.Ignored) != 0 {
		t.Fatalf("after the duplicate: %+v", d)
	}

	// Two more requests reach DE: it lists the open ones by severity,
	// criticality, urgency, then age.
	lower, err := fr.Workflow.Open(ctx, assistance.KindName, "alice", mustJSON(t, request(map[string]any{
		"title": "Phishing wave at a water utility", "entity_criticality": "important", "urgency": "24h", "respond_by": nil})))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	higher, err := fr.Workflow.Open(ctx, assistance.KindName, "alice", mustJSON(t, request(map[string]any{
		"title": "Grid operator wiped", "severity": "5", "entity_criticality": "other", "urgency": "planned", "respond_by": nil})))
	if err != nil {
		t.Fatal(err)
	}
	order := func() []string {
		l, err := de.Workflow.List(ctx, assistance.KindName, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range assistance.Order(l) {
			ids = append(ids, s.ID)
		}
		return ids
	}
	fed.WaitFor("de lists the three requests in order", 10*time.Second, func() bool {
		return slices.Equal(order(), []string{higher.ID, id, lower.ID})
	})

	// FR closes the first request with a report.
	if _, err := fr.Workflow.Act(ctx, id, assistance.ActionClose, "alice", mustJSON(t, map[string]any{
		"report": "DE's team imaged 14 servers; the intrusion vector was a VPN appliance. Services restored on day 3."})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("de and ee see it closed", 10*time.Second, func() bool {
		a, b := view(t, de, id), view(t, ee, id)
		return a != nil && b != nil && a.Status == "closed" && !a.Open && b.Status == "closed" && strings.Contains(detail(t, b).Report, "VPN appliance")
	})
	if _, err := de.Workflow.Act(ctx, id, assistance.ActionWithdraw, "bernd", mustJSON(t, map[string]any{"offer_ref": deOffer})); !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), "closed") {
		t.Errorf("withdraw after closure: %v", err)
	}
	if _, err := fr.Workflow.Act(ctx, id, assistance.ActionClose, "alice", mustJSON(t, map[string]any{"report": "again"})); !errors.Is(err, workflow.ErrInput) {
		t.Errorf("close twice: %v", err)
	}
	if got := order(); !slices.Equal(got, []string{higher.ID, lower.ID, id}) {
		t.Errorf("after closing, the closed request goes last: %v", got)
	}

	// Every object emitted validates against the official schemas.
	for _, n := range []*fedtest.Node{fr, de, ee, pl} {
		for _, cid := range []string{id, lower.ID, higher.ID} {
			c, steps, err := n.Workflow.Load(ctx, cid)
			if err != nil {
				if n == de || cid == id {
					t.Fatal(err)
				}
				continue
			}
			stixschema.Validate(t, c.Raw)
			for _, s := range steps {
				stixschema.Validate(t, s.Raw)
			}
		}
	}
	stixschema.Validate(t, assistance.Extension.Definition())
}

func TestOpenRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Clock: clock.NewFake(time.Now()), Kinds: []*workflow.Kind{assistance.Kind}}, "fr", "de")
	fr := fed.Node("fr")
	for _, c := range []struct {
		name string
		set  map[string]any
		want string
	}{
		{"no incident", map[string]any{"incident_ref": nil}, "incident_ref is required"},
		{"incident not an id", map[string]any{"incident_ref": "INC-2026-042"}, "reference"},
		{"incident of another type", map[string]any{"incident_ref": "indicator--0b6a1a39-3f35-4f7a-9b7e-1f1c2b3d4e5f"}, "want an object of type incident"},
		{"no capability", map[string]any{"capabilities": []string{}}, "name at least one capability"},
		{"unknown capability", map[string]any{"capabilities": []string{"malware-analysys"}}, `unknown capability "malware-analysys" (did you mean "malware-analysis"?`},
		{"no urgency", map[string]any{"urgency": nil}, "urgency is required: immediate, 24h, 72h, planned"},
		{"unknown urgency", map[string]any{"urgency": "asap"}, `urgency "asap": want immediate`},
		{"no criticality", map[string]any{"entity_criticality": nil}, "entity_criticality is required"},
		{"unknown criticality", map[string]any{"entity_criticality": "vital"}, `entity_criticality "vital": want essential, important, other`},
		{"no mitigation", map[string]any{"mitigation": nil}, "mitigation is required"},
		{"blank mitigation", map[string]any{"mitigation": "   "}, "mitigation is required"},
		{"long mitigation", map[string]any{"mitigation": strings.Repeat("x", assistance.MaxMitigation+1)}, "at most 10000"},
		{"no severity", map[string]any{"severity": nil}, "severity is required"},
		{"bad severity", map[string]any{"severity": "9"}, "severity"},
		{"deadline in the past", map[string]any{"respond_by": "2020-01-01T00:00:00Z"}, "in the past"},
		{"bad deadline", map[string]any{"respond_by": "soon"}, "neither a duration"},
		{"unknown sector", map[string]any{"sectors": []string{"helth"}}, `did you mean "health"`},
		{"unknown country", map[string]any{"countries": []string{"XX"}}, "unknown country code"},
		{"long title", map[string]any{"title": strings.Repeat("t", 301)}, "at most 300"},
		{"red", map[string]any{"tlp": "red"}, "cannot be TLP:RED"},
		{"no tlp", map[string]any{"tlp": nil}, "tlp is required"},
		{"nobody", map[string]any{"to": []string{}}, "say who receives"},
		{"unknown field", map[string]any{"priority": "high"}, `unknown field "priority"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := fr.Workflow.Open(ctx, assistance.KindName, "alice", mustJSON(t, request(c.set)))
			if !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an input error with %q", err, c.want)
			}
		})
	}
	if l, err := fr.Workflow.List(ctx, "", false, 0); err != nil || len(l) != 0 {
		t.Fatalf("list after refusals: %v, %v", l, err)
	}
	// Without a title, the capabilities make one; the urgency sets the
	// default deadline; without sectors and countries, the lists are
	// absent (STIX refuses empty lists).
	res, err := fr.Workflow.Open(ctx, assistance.KindName, "alice", mustJSON(t, request(map[string]any{"title": nil, "respond_by": nil, "urgency": "72h",
		"sectors": nil, "countries": nil})))
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := fr.Workflow.Load(ctx, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	stixschema.Validate(t, c.Raw)
	if strings.Contains(string(c.Raw), `"sectors"`) || strings.Contains(string(c.Raw), `"countries"`) {
		t.Errorf("empty lists written: %s", c.Raw)
	}
	v := view(t, fr, res.ID)
	if v.Title != "Assistance requested: Digital forensics, Malware analysis" {
		t.Errorf("default title: %q", v.Title)
	}
	if d := detail(t, v); (d.RespondBy.Sub(v.Opened) - 24*time.Hour).Abs() > time.Millisecond {
		t.Errorf("default respond_by for 72h: %v after opening", d.RespondBy.Sub(v.Opened))
	}
}

// The shipped extension id is the UUIDv5 of its schema URL, the
// definition validates, the schema is JSON with that $id, and every
// property the schema names as required is one open writes.
func TestExtension(t *testing.T) {
	if want := workflow.ExtensionID("https://entraide.example/schemas/assistance-v1.json"); assistance.Extension.ID != want {
		t.Fatalf("id %s, want %s", assistance.Extension.ID, want)
	}
	stixschema.Validate(t, assistance.Extension.Definition())
	if _, err := stix.Parse(assistance.Extension.Definition()); err != nil {
		t.Fatal(err)
	}
	var s struct {
		ID         string                     `json:"$id"`
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	}
	if err := json.Unmarshal(assistance.Extension.Schema, &s); err != nil || s.ID != assistance.SchemaURL {
		t.Fatalf("schema: %v, $id %q", err, s.ID)
	}
	for _, r := range s.Required {
		if _, ok := s.Properties[r]; !ok {
			t.Errorf("required %q is not a property", r)
		}
	}
	var urg, crit struct {
		Enum []string `json:"enum"`
	}
	json.Unmarshal(s.Properties["urgency"], &urg)
	json.Unmarshal(s.Properties["entity_criticality"], &crit)
	for i, u := range assistance.Urgencies {
		if i >= len(urg.Enum) || urg.Enum[i] != u.ID {
			t.Errorf("schema urgencies %v, code %v", urg.Enum, u.ID)
		}
	}
	for i, c := range assistance.Criticalities {
		if i >= len(crit.Enum) || crit.Enum[i] != c.ID {
			t.Errorf("schema criticalities %v, code %v", crit.Enum, c.ID)
		}
	}
}

// What is due on whom, per node, across four nodes: FR asks DE, EE and PL;
// DE offers and FR accepts; PL cannot help; EE never answers. Once the
// answer deadline has passed, FR and EE see EE's answer overdue; DE and
// PL, who have answered, owe nothing and wait on nobody — EE's deadline is
// FR's business, not theirs — although EE's silence reaches them too.
func TestPartnersTrackTheirOwnDeadlines(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Clock: clk, Kinds: []*workflow.Kind{assistance.Kind}}, "fr", "de", "ee", "pl")
	fr, de, ee, pl := fed.Node("fr"), fed.Node("de"), fed.Node("ee"), fed.Node("pl")
	res, err := fr.Workflow.Open(ctx, assistance.KindName, "alice", mustJSON(t, request(map[string]any{"to": []string{"cert-de", "cert-ee", "cert-pl"}})))
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	fed.WaitFor("the partners receive the request", 10*time.Second, func() bool {
		return view(t, de, id) != nil && view(t, ee, id) != nil && view(t, pl, id) != nil
	})
	offer, err := de.Workflow.Act(ctx, id, assistance.ActionOffer, "bernd", mustJSON(t, map[string]any{"capability": "digital-forensics", "team_size": 2}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pl.Workflow.Act(ctx, id, assistance.ActionNoOffer, "piotr", mustJSON(t, map[string]any{"reason": "all teams deployed"})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr holds both answers", 10*time.Second, func() bool { return detail(t, view(t, fr, id)).Answered == 2 })
	if _, err := fr.Workflow.Act(ctx, id, assistance.ActionAccept, "alice", mustJSON(t, map[string]any{"offer_ref": offer.Object})); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*fedtest.Node{de, ee, pl} {
		fed.WaitFor(n.Name+" sees the acceptance", 10*time.Second, func() bool {
			for _, o := range detail(t, view(t, n, id)).Offers {
				if o.ID == offer.Object && o.Status == assistance.StatusAccepted {
					return true
				}
			}
			return false
		})
	}
	clk.Advance(5 * time.Hour) // past respond_by (immediate: 2 hours)
	dueOn := func(n *fedtest.Node) []string {
		ds, err := n.Workflow.Due(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			if d.ID != id {
				continue
			}
			for _, w := range d.WaitingOn {
				out = append(out, w.Name)
			}
			if !d.Overdue {
				t.Errorf("%s: %s is due but not overdue", n.Name, id)
			}
		}
		return out
	}
	for _, c := range []struct {
		n    *fedtest.Node
		want string
	}{{fr, "[cert-ee]"}, {ee, "[cert-ee]"}, {de, "[]"}, {pl, "[]"}} {
		if got := fmt.Sprint(dueOn(c.n)); got != c.want {
			t.Errorf("%s waits on %s, want %s", c.n.Name, got, c.want)
		}
		v := view(t, c.n, id)
		for _, d := range v.Deadlines {
			if d.Overdue && c.n != fr && d.Party != c.n.Identity.IdentityID {
				t.Errorf("%s shows %s's deadline overdue: %+v", c.n.Name, d.PartyName, d)
			}
		}
	}
	if v := view(t, pl, id); v.Status != "1 accepted" || v.Open != true {
		t.Errorf("pl's status: %q", v.Status)
	}
	if v := view(t, ee, id); v.Status != "1 accepted, awaiting this node's answer" || !v.Overdue {
		t.Errorf("ee's status: %q, overdue %v", v.Status, v.Overdue)
	}
}
