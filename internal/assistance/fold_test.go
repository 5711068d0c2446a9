package assistance_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/assistance"
	"github.com/entraide/entraide/internal/workflow"
)

const (
	nodeFR = "identity--00000000-0000-5000-8000-0000000000f1"
	nodeDE = "identity--00000000-0000-5000-8000-0000000000d1"
	nodeEE = "identity--00000000-0000-5000-8000-0000000000e1"
	nodePL = "identity--00000000-0000-5000-8000-0000000000a1"
)

var t0 = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

func props(t testing.TB, m map[string]any) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	for k, v := range m {
		out[k] = mustJSON(t, v)
	}
	return out
}

func testCase(t testing.TB) *workflow.Case {
	return &workflow.Case{
		ID: assistance.Type + "--11111111-1111-4111-8111-111111111111", Type: assistance.Type, Kind: assistance.KindName,
		Origin: nodeFR, Created: t0, Recipients: []string{nodeDE, nodeEE, nodePL},
		Props: props(t, map[string]any{
			"name": "Ransomware at a hospital group", "incident_ref": "incident--0b6a1a39-3f35-4f7a-9b7e-1f1c2b3d4e5f",
			"capabilities": []string{"digital-forensics", "malware-analysis"}, "urgency": "24h", "common_severity": 4,
			"entity_criticality": "essential", "mitigation": "isolated", "respond_by": workflow.Timestamp(t0.Add(8 * time.Hour)),
			"sectors": []string{"health"}, "countries": []string{"FR"},
		}),
	}
}

func step(t testing.TB, n int, node, action string, at time.Duration, m map[string]any) workflow.Step {
	return workflow.Step{ID: fmt.Sprintf("x-entraide-step--00000000-0000-4000-8000-%012d", n), Node: node, Actor: "a" + fmt.Sprint(n),
		Action: action, At: t0.Add(at), Props: props(t, m)}
}

// history is a request's life with every irregularity the network can
// produce: a decision stamped before its offer (the requester's clock is
// behind), a second decision on a decided offer, a withdrawal of another
// node's offer, a decision on an offer that never reached this node, two
// closes, and an offer made after the close.
func history(t testing.TB) []workflow.Step {
	id := func(n int) string { return fmt.Sprintf("x-entraide-step--00000000-0000-4000-8000-%012d", n) }
	return []workflow.Step{
		step(t, 1, nodeDE, assistance.ActionOffer, 1*time.Hour, map[string]any{"capability": "digital-forensics", "team_size": 3,
			"available_from": workflow.Timestamp(t0.Add(2 * time.Hour)), "note": "two on site"}),
		step(t, 2, nodeEE, assistance.ActionOffer, 2*time.Hour, map[string]any{"capability": "malware-analysis", "team_size": 2}),
		step(t, 3, nodePL, assistance.ActionNoOffer, 3*time.Hour, map[string]any{"reason": "deployed at home"}),
		step(t, 4, nodeFR, assistance.ActionAccept, 4*time.Hour, map[string]any{"offer_ref": id(1), "offerer_ref": nodeDE, "capability": "digital-forensics", "team_size": 3, "note": "welcome"}),
		step(t, 5, nodeFR, assistance.ActionDecline, 4*time.Hour+time.Minute, map[string]any{"offer_ref": id(1), "offerer_ref": nodeDE, "capability": "digital-forensics", "team_size": 3, "reason": "changed my mind"}),
		step(t, 6, nodeDE, assistance.ActionWithdraw, 4*time.Hour+2*time.Minute, map[string]any{"offer_ref": id(2)}),
		// DE's second offer, and FR's acceptance stamped a minute before it.
		step(t, 8, nodeFR, assistance.ActionAccept, 5*time.Hour-time.Minute, map[string]any{"offer_ref": id(7), "offerer_ref": nodeDE, "capability": "malware-analysis", "team_size": 1}),
		step(t, 7, nodeDE, assistance.ActionOffer, 5*time.Hour, map[string]any{"capability": "malware-analysis", "team_size": 1}),
		step(t, 9, nodeEE, assistance.ActionWithdraw, 5*time.Hour+time.Minute, map[string]any{"offer_ref": id(2), "reason": "recalled"}),
		// An offer this node never received (PL's, to FR only), known by its acceptance.
		step(t, 10, nodeFR, assistance.ActionAccept, 6*time.Hour, map[string]any{"offer_ref": id(99), "offerer_ref": nodePL, "capability": "malware-analysis", "team_size": 4}),
		step(t, 11, nodeFR, assistance.ActionAccept, 6*time.Hour+time.Minute, map[string]any{"offer_ref": id(3)}),
		step(t, 12, nodeFR, assistance.ActionClose, 7*time.Hour, map[string]any{"report": "done"}),
		step(t, 13, nodeFR, assistance.ActionClose, 8*time.Hour, map[string]any{"report": "again"}),
		step(t, 14, nodeEE, assistance.ActionOffer, 9*time.Hour, map[string]any{"capability": "malware-analysis", "team_size": 9}),
		// A step from a node not allowed to take the action (the engine
		// leaves it out; the fold must too).
		step(t, 15, nodeDE, assistance.ActionClose, 6*time.Hour+30*time.Minute, map[string]any{"report": "not mine"}),
	}
}

func stateJSON(t testing.TB, st workflow.State) string {
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The fold is a function of the set of steps: any order, any number of
// copies of a step, the same state.
func TestFoldOrderAndDuplicates(t *testing.T) {
	c := testCase(t)
	steps := history(t)
	want := assistance.Kind.Fold(c, steps)
	wantJSON := stateJSON(t, want)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		shuffled := append([]workflow.Step(nil), steps...)
		for n := r.IntN(5); n > 0; n-- {
			shuffled = append(shuffled, steps[r.IntN(len(steps))])
		}
		r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		if got := stateJSON(t, assistance.Kind.Fold(c, shuffled)); got != wantJSON {
			t.Fatalf("permutation %d:\n got %s\nwant %s", i, got, wantJSON)
		}
	}

	v := want.View.(assistance.View)
	if want.Open || want.Status != "closed" || v.Report != "done" || v.ClosedBy != "a12" {
		t.Errorf("closure: open %v, %q, report %q by %q", want.Open, want.Status, v.Report, v.ClosedBy)
	}
	id := func(n int) string { return fmt.Sprintf("x-entraide-step--00000000-0000-4000-8000-%012d", n) }
	offers := map[string]assistance.Offer{}
	for _, o := range v.Offers {
		offers[o.ID] = o
	}
	for _, c := range []struct {
		id             string
		status         string
		known          bool
		node           string
		decisionByText string
	}{
		{id(1), assistance.StatusAccepted, true, nodeDE, "welcome"}, // the first decision counts
		{id(2), assistance.StatusWithdrawn, true, nodeEE, ""},       // by EE, not by DE
		{id(7), assistance.StatusAccepted, true, nodeDE, ""},        // decided "before" it was made
		{id(99), assistance.StatusAccepted, false, nodePL, ""},      // known by its acceptance only
	} {
		o, ok := offers[c.id]
		if !ok || o.Status != c.status || o.Known != c.known || o.Node != c.node || o.DecisionText != c.decisionByText {
			t.Errorf("offer %s: %+v", c.id, o)
		}
	}
	if len(v.Offers) != 4 {
		t.Errorf("offers: %+v", v.Offers)
	}
	if o := offers[id(2)]; o.WithdrawReason != "recalled" {
		t.Errorf("withdrawal: %+v", o)
	}
	ignored := map[string]string{}
	for _, s := range v.Ignored {
		ignored[s.ID] = s.Reason
	}
	for n, want := range map[int]string{
		5:  "already accepted",
		6:  "another node's offer",
		11: "a no-offer step, not an offer",
		13: "already closed",
		14: "after the request was closed",
		15: "only the requesting node closes",
	} {
		if !strings.Contains(ignored[id(n)], want) {
			t.Errorf("step %d: ignored %q, want %q", n, ignored[id(n)], want)
		}
	}
	if len(ignored) != 6 {
		t.Errorf("ignored: %v", ignored)
	}
	// Answers: DE offered; EE withdrew its only offer; PL said no.
	ans := map[string]string{}
	for _, r := range v.Recipients {
		ans[r.Node] = r.Answer
	}
	if ans[nodeDE] != assistance.AnswerOffered || ans[nodeEE] != assistance.AnswerWithdrawn || ans[nodePL] != assistance.AnswerNoOffer || v.Answered != 3 {
		t.Errorf("answers: %v (%d answered)", ans, v.Answered)
	}
	// Coverage counts accepted offers in force.
	for _, cs := range v.Capabilities {
		switch cs.ID {
		case "digital-forensics":
			if cs.Accepted != 1 || cs.People != 3 {
				t.Errorf("%+v", cs)
			}
		case "malware-analysis":
			if cs.Accepted != 2 || cs.People != 5 {
				t.Errorf("%+v", cs)
			}
		}
	}
	// Deadlines: one answer per recipient, one decision per offer held.
	if len(want.Deadlines) != 3+3 {
		t.Errorf("deadlines: %+v", want.Deadlines)
	}
	for _, d := range want.Deadlines {
		if d.DoneAt == nil {
			t.Errorf("open deadline on a closed request: %+v", d)
		}
		if strings.HasPrefix(d.What, "decide") && (d.Party != nodeFR || d.Due.Sub(t0) > 9*time.Hour) {
			t.Errorf("decision deadline: %+v", d)
		}
	}
}

// Statuses while a request is open.
func TestFoldStatus(t *testing.T) {
	c := testCase(t)
	id := func(n int) string { return fmt.Sprintf("x-entraide-step--00000000-0000-4000-8000-%012d", n) }
	offerDE := step(t, 1, nodeDE, assistance.ActionOffer, time.Hour, map[string]any{"capability": "digital-forensics", "team_size": 3})
	for _, c2 := range []struct {
		steps []workflow.Step
		want  string
	}{
		{nil, "awaiting 3 of 3 answers"},
		{[]workflow.Step{offerDE}, "1 offer to decide, awaiting 2 of 3 answers"},
		{[]workflow.Step{offerDE, step(t, 2, nodeFR, assistance.ActionAccept, 2*time.Hour, map[string]any{"offer_ref": id(1)})}, "1 accepted, awaiting 2 of 3 answers"},
		{[]workflow.Step{
			step(t, 3, nodeDE, assistance.ActionNoOffer, time.Hour, nil),
			step(t, 4, nodeEE, assistance.ActionNoOffer, time.Hour, nil),
			step(t, 5, nodePL, assistance.ActionNoOffer, time.Hour, nil),
		}, "no partner can help"},
		{[]workflow.Step{offerDE,
			step(t, 2, nodeFR, assistance.ActionDecline, 2*time.Hour, map[string]any{"offer_ref": id(1), "reason": "no"}),
			step(t, 4, nodeEE, assistance.ActionNoOffer, time.Hour, nil),
			step(t, 5, nodePL, assistance.ActionNoOffer, time.Hour, nil),
		}, "no offer in force"},
	} {
		st := assistance.Kind.Fold(c, c2.steps)
		if st.Status != c2.want || !st.Open {
			t.Errorf("%d steps: %q, want %q", len(c2.steps), st.Status, c2.want)
		}
	}
	// The decision deadline follows the urgency (24h: 4 hours from the offer).
	st := assistance.Kind.Fold(c, []workflow.Step{offerDE})
	var found bool
	for _, d := range st.Deadlines {
		if strings.HasPrefix(d.What, "decide") {
			found = true
			if d.Party != nodeFR || !d.Due.Equal(t0.Add(5*time.Hour)) || d.DoneAt != nil {
				t.Errorf("decision deadline: %+v", d)
			}
		}
	}
	if !found {
		t.Error("no decision deadline")
	}
}

// Who may take which action.
func TestAllowed(t *testing.T) {
	c := testCase(t)
	for _, x := range []struct {
		node, action string
		ok           bool
	}{
		{nodeDE, assistance.ActionOffer, true},
		{nodeDE, assistance.ActionNoOffer, true},
		{nodeDE, assistance.ActionWithdraw, true},
		{nodeDE, assistance.ActionAccept, false},
		{nodeDE, assistance.ActionDecline, false},
		{nodeDE, assistance.ActionClose, false},
		{nodeFR, assistance.ActionOffer, false},
		{nodeFR, assistance.ActionNoOffer, false},
		{nodeFR, assistance.ActionWithdraw, false},
		{nodeFR, assistance.ActionAccept, true},
		{nodeFR, assistance.ActionDecline, true},
		{nodeFR, assistance.ActionClose, true},
		{nodeFR, "ack", false},
	} {
		if err := assistance.Kind.Allowed(c, x.node, x.action); (err == nil) != x.ok {
			t.Errorf("%s %s: %v", x.node, x.action, err)
		}
	}
}

// Steps from a partner are untrusted: whatever their properties, the fold
// does not panic and its state marshals.
func FuzzFold(f *testing.F) {
	f.Add([]byte(`{"capability":"digital-forensics","team_size":3}`), []byte(`{"offer_ref":"x-entraide-step--00000000-0000-4000-8000-000000000001"}`), uint8(0))
	f.Add([]byte(`{"capability":7,"team_size":"x","available_from":"never"}`), []byte(`{"offer_ref":7}`), uint8(3))
	f.Add([]byte(`{}`), []byte(`{"offer_ref":"","offerer_ref":""}`), uint8(9))
	f.Fuzz(func(t *testing.T, p1, p2 []byte, k uint8) {
		var m1, m2 map[string]json.RawMessage
		if json.Unmarshal(p1, &m1) != nil || json.Unmarshal(p2, &m2) != nil {
			return
		}
		c := testCase(t)
		actions := assistance.Kind.Actions
		nodes := []string{nodeFR, nodeDE, nodeEE, nodePL}
		steps := []workflow.Step{
			{ID: "x-entraide-step--00000000-0000-4000-8000-000000000001", Node: nodes[int(k)%4], Action: actions[int(k)%len(actions)], At: t0.Add(time.Hour), Props: m1},
			{ID: "x-entraide-step--00000000-0000-4000-8000-000000000002", Node: nodes[int(k/4)%4], Action: actions[int(k/16)%len(actions)], At: t0.Add(time.Duration(k) * time.Minute), Props: m2},
		}
		st := assistance.Kind.Fold(c, steps)
		if _, err := json.Marshal(st); err != nil {
			t.Fatal(err)
		}
	})
}

// What each party holds of a request, and what is due on whom from its
// point of view. FR asks DE, EE and PL. DE offers (the offer reaches FR
// and EE; PL does not peer with DE), FR accepts it, EE makes an offer
// (to FR alone: EE peers with nobody else), PL says no-offer (to FR
// alone). Each node folds the steps it holds, in any order and with
// duplicates, to the same view every time; and it tracks only what it can
// know: FR every answer and its decisions; a partner its own answer and
// the decisions on its own offers — another partner's answer, which may
// never reach it, is never due from its point of view.
func TestFoldPerParty(t *testing.T) {
	id := func(n int) string { return fmt.Sprintf("x-entraide-step--00000000-0000-4000-8000-%012d", n) }
	offerDE := step(t, 1, nodeDE, assistance.ActionOffer, time.Hour, map[string]any{"capability": "digital-forensics", "team_size": 3})
	accept := step(t, 2, nodeFR, assistance.ActionAccept, 2*time.Hour, map[string]any{"offer_ref": id(1), "offerer_ref": nodeDE, "capability": "digital-forensics", "team_size": 3})
	offerEE := step(t, 3, nodeEE, assistance.ActionOffer, 3*time.Hour, map[string]any{"capability": "malware-analysis", "team_size": 1})
	noPL := step(t, 4, nodePL, assistance.ActionNoOffer, 3*time.Hour, nil)
	holds := map[string][]workflow.Step{
		nodeFR: {offerDE, accept, offerEE, noPL},
		nodeDE: {offerDE, accept},
		nodeEE: {offerDE, accept, offerEE},
		nodePL: {accept, noPL},
	}
	type due struct{ what, party string }
	for _, c := range []struct {
		viewer  string
		open    []due // deadlines not done, by what and party
		status  string
		answers map[string]string // recipient → answer as this node knows it
		known   map[string]bool
	}{
		{nodeFR, []due{{"decide", nodeFR}}, "1 accepted, 1 offer to decide",
			map[string]string{nodeDE: "offered", nodeEE: "offered", nodePL: "no-offer"}, map[string]bool{nodeDE: true, nodeEE: true, nodePL: true}},
		{nodeDE, nil, "1 accepted",
			map[string]string{nodeDE: "offered", nodeEE: "", nodePL: ""}, map[string]bool{nodeDE: true, nodeEE: false, nodePL: false}},
		{nodeEE, []due{{"decide", nodeFR}}, "1 accepted, 1 offer to decide",
			map[string]string{nodeDE: "offered", nodeEE: "offered", nodePL: ""}, map[string]bool{nodeDE: true, nodeEE: true, nodePL: false}},
		{nodePL, nil, "1 accepted",
			map[string]string{nodeDE: "offered", nodeEE: "", nodePL: "no-offer"}, map[string]bool{nodeDE: true, nodeEE: false, nodePL: true}},
	} {
		cs := testCase(t)
		cs.Viewer = c.viewer
		steps := holds[c.viewer]
		want := stateJSON(t, assistance.Kind.Fold(cs, steps))
		r := rand.New(rand.NewPCG(3, uint64(len(c.viewer))))
		for i := 0; i < 200; i++ {
			shuffled := append([]workflow.Step(nil), steps...)
			for n := r.IntN(4); n > 0; n-- {
				shuffled = append(shuffled, steps[r.IntN(len(steps))])
			}
			r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
			if got := stateJSON(t, assistance.Kind.Fold(cs, shuffled)); got != want {
				t.Fatalf("%s, permutation %d:\n got %s\nwant %s", c.viewer, i, got, want)
			}
		}
		st := assistance.Kind.Fold(cs, steps)
		v := st.View.(assistance.View)
		var open []due
		for _, d := range st.Deadlines {
			if c.viewer != nodeFR && d.Party != c.viewer && d.Party != nodeFR {
				t.Errorf("%s tracks a deadline on another partner: %+v", c.viewer, d)
			}
			if d.DoneAt == nil {
				what, _, _ := strings.Cut(d.What, " ")
				p := d.Party
				if what == "answer" {
					p = "" // which recipient: checked below
				}
				open = append(open, due{what, p})
			}
		}
		if fmt.Sprint(open) != fmt.Sprint(c.open) || st.Status != c.status {
			t.Errorf("%s: open deadlines %v, status %q; want %v, %q", c.viewer, open, st.Status, c.open, c.status)
		}
		for _, rc := range v.Recipients {
			if rc.Answer != c.answers[rc.Node] || rc.Known != c.known[rc.Node] {
				t.Errorf("%s sees %s's answer %q (known %v), want %q (%v)", c.viewer, rc.Node, rc.Answer, rc.Known, c.answers[rc.Node], c.known[rc.Node])
			}
		}
		// PL holds FR's acceptance of DE's offer, not the offer: DE's
		// answer is inferred from it.
		if c.viewer == nodePL {
			for _, rc := range v.Recipients {
				if rc.Node == nodeDE && !rc.Inferred {
					t.Errorf("PL: DE's answer not inferred from the acceptance: %+v", rc)
				}
			}
		}
	}
	// A partner that answered "no offer" does not conclude that no partner
	// can help: it knows only its own answer.
	for _, c2 := range []struct {
		viewer string
		steps  []workflow.Step
		want   string
	}{
		{nodePL, []workflow.Step{step(t, 3, nodePL, assistance.ActionNoOffer, time.Hour, nil)}, "this node answered: no offer"},
		{nodeFR, []workflow.Step{
			step(t, 3, nodeDE, assistance.ActionNoOffer, time.Hour, nil),
			step(t, 4, nodeEE, assistance.ActionNoOffer, time.Hour, nil),
			step(t, 5, nodePL, assistance.ActionNoOffer, time.Hour, nil),
		}, "no partner can help"},
	} {
		cs := testCase(t)
		cs.Viewer = c2.viewer
		if st := assistance.Kind.Fold(cs, c2.steps); st.Status != c2.want {
			t.Errorf("viewer %s after %d no-offers: %q, want %q", c2.viewer, len(c2.steps), st.Status, c2.want)
		}
	}
	// A partner that has not answered yet sees its own answer due, and
	// nothing on the others.
	cs := testCase(t)
	cs.Viewer = nodePL
	st := assistance.Kind.Fold(cs, []workflow.Step{accept})
	if len(st.Deadlines) != 1 || st.Deadlines[0].Party != nodePL || st.Deadlines[0].DoneAt != nil || st.Status != "1 accepted, awaiting this node's answer" {
		t.Errorf("PL before answering: %q %+v", st.Status, st.Deadlines)
	}
}
