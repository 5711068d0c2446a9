package alert_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/alert"
	"github.com/entraide/entraide/internal/workflow"
)

const (
	nodeFR = "identity--00000000-0000-5000-8000-0000000000f1"
	nodeDE = "identity--00000000-0000-5000-8000-0000000000d1"
	nodeEE = "identity--00000000-0000-5000-8000-0000000000e1"
	nodePL = "identity--00000000-0000-5000-8000-0000000000a1"
	nodeLV = "identity--00000000-0000-5000-8000-0000000000b1" // holds the alert without being a recipient
)

var t0 = time.Date(2026, 12, 3, 9, 15, 0, 0, time.UTC)

func props(t testing.TB, m map[string]any) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	for k, v := range m {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = b
	}
	return out
}

// testCase is FR's alert to DE, EE and PL, to acknowledge within 4 hours.
func testCase(t testing.TB, viewer string) *workflow.Case {
	return &workflow.Case{
		ID: alert.Type + "--11111111-1111-4111-8111-111111111111", Type: alert.Type, Kind: alert.Kind.Name,
		Origin: nodeFR, Created: t0, Recipients: []string{nodeDE, nodeEE, nodePL}, Viewer: viewer,
		Props: props(t, map[string]any{"name": "Wiper campaign against grid operators", "common_severity": 4,
			"sectors": []string{"energy"}, "ack_by": workflow.Timestamp(t0.Add(4 * time.Hour))}),
	}
}

func step(t testing.TB, n int, node, action string, at time.Duration, m map[string]any) workflow.Step {
	return workflow.Step{ID: fmt.Sprintf("x-entraide-step--00000000-0000-4000-8000-%012d", n), Node: node, Actor: fmt.Sprint("a", n),
		Action: action, At: t0.Add(at), Props: props(t, m)}
}

func stateJSON(t testing.TB, st workflow.State) string {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// What each party holds of an alert, and what is due on whom from its
// point of view. FR alerts DE, EE and PL; DE answers investigating, then
// affected; PL answers not-affected; EE never answers. Acknowledgements go
// to FR alone. Each node folds the steps it holds, in any order and with
// duplicates, to the same state every time; FR tracks every recipient's
// deadline, a recipient only its own, and shows the others' answers as
// not known — never as not given.
func TestFoldPerViewer(t *testing.T) {
	deFirst := step(t, 1, nodeDE, alert.ActionAck, time.Hour, map[string]any{"answer": "investigating"})
	deLater := step(t, 2, nodeDE, alert.ActionAck, 2*time.Hour, map[string]any{"answer": "affected", "comment": "two substations"})
	pl := step(t, 3, nodePL, alert.ActionAck, 3*time.Hour, map[string]any{"answer": "not-affected"})
	holds := map[string][]workflow.Step{
		nodeFR: {deFirst, deLater, pl},
		nodeDE: {deFirst, deLater},
		nodeEE: nil,
		nodePL: {pl},
		nodeLV: nil,
	}
	type rc struct {
		known  bool
		answer string
	}
	for _, c := range []struct {
		viewer  string
		tracked []string // the parties whose deadline this node tracks
		open    []string // of which not met
		status  string
		acked   int
		unknown int
		sent    bool
		rcs     map[string]rc
	}{
		{nodeFR, []string{nodeDE, nodeEE, nodePL}, []string{nodeEE}, "awaiting 1 of 3 acknowledgements", 2, 0, true,
			map[string]rc{nodeDE: {true, "affected"}, nodeEE: {true, ""}, nodePL: {true, "not-affected"}}},
		{nodeDE, []string{nodeDE}, nil, "acknowledged by this node", 1, 2, false,
			map[string]rc{nodeDE: {true, "affected"}, nodeEE: {false, ""}, nodePL: {false, ""}}},
		{nodeEE, []string{nodeEE}, []string{nodeEE}, "awaiting this node's acknowledgement", 0, 2, false,
			map[string]rc{nodeDE: {false, ""}, nodeEE: {true, ""}, nodePL: {false, ""}}},
		{nodePL, []string{nodePL}, nil, "acknowledged by this node", 1, 2, false,
			map[string]rc{nodeDE: {false, ""}, nodeEE: {false, ""}, nodePL: {true, "not-affected"}}},
		{nodeLV, nil, nil, "received", 0, 3, false,
			map[string]rc{nodeDE: {false, ""}, nodeEE: {false, ""}, nodePL: {false, ""}}},
	} {
		t.Run(c.viewer[len(c.viewer)-2:], func(t *testing.T) {
			cs := testCase(t, c.viewer)
			steps := holds[c.viewer]
			st := alert.Kind.Fold(cs, steps)
			want := stateJSON(t, st)
			r := rand.New(rand.NewPCG(7, uint64(len(steps))))
			for i := 0; i < 200 && len(steps) > 0; i++ {
				shuffled := append([]workflow.Step(nil), steps...)
				for n := r.IntN(4); n > 0; n-- {
					shuffled = append(shuffled, steps[r.IntN(len(steps))])
				}
				r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
				if got := stateJSON(t, alert.Kind.Fold(cs, shuffled)); got != want {
					t.Fatalf("permutation %d:\n got %s\nwant %s", i, got, want)
				}
			}
			var tracked, open []string
			for _, d := range st.Deadlines {
				if d.What != "acknowledge" || !d.Due.Equal(t0.Add(4*time.Hour)) {
					t.Errorf("deadline %+v", d)
				}
				tracked = append(tracked, d.Party)
				if d.DoneAt == nil {
					open = append(open, d.Party)
				}
			}
			if fmt.Sprint(tracked) != fmt.Sprint(c.tracked) || fmt.Sprint(open) != fmt.Sprint(c.open) {
				t.Errorf("tracks %v, open %v; want %v, %v", tracked, open, c.tracked, c.open)
			}
			v := st.View.(alert.View)
			if st.Status != c.status || !st.Open || v.Acknowledged != c.acked || v.Unknown != c.unknown || v.Sent != c.sent {
				t.Errorf("status %q open %v, acknowledged %d, unknown %d, sent %v; want %q, %d, %d, %v",
					st.Status, st.Open, v.Acknowledged, v.Unknown, v.Sent, c.status, c.acked, c.unknown, c.sent)
			}
			if len(v.Recipients) != 3 {
				t.Fatalf("recipients: %+v", v.Recipients)
			}
			for _, got := range v.Recipients {
				if w := c.rcs[got.Node]; got.Known != w.known || got.Answer != w.answer {
					t.Errorf("%s: known %v, answer %q; want %v, %q", got.Node, got.Known, got.Answer, w.known, w.answer)
				}
			}
			// The first acknowledgement meets the deadline; the latest
			// answer counts.
			for _, got := range v.Recipients {
				if got.Node == nodeDE && got.Known {
					if !got.AcknowledgedAt.Equal(t0.Add(time.Hour)) || !got.AnsweredAt.Equal(t0.Add(2*time.Hour)) || got.Comment != "two substations" || got.Actor != "a2" {
						t.Errorf("DE's acknowledgement: %+v", got)
					}
				}
			}
		})
	}

	// An acknowledgement of another recipient that does reach a recipient
	// (passed on by hand) is shown, known, and still not tracked there.
	st := alert.Kind.Fold(testCase(t, nodeEE), []workflow.Step{pl})
	v := st.View.(alert.View)
	if len(st.Deadlines) != 1 || st.Deadlines[0].Party != nodeEE || v.Recipients[2].Answer != "not-affected" || !v.Recipients[2].Known || v.Unknown != 1 {
		t.Errorf("EE holding PL's acknowledgement: %+v\n%+v", st.Deadlines, v.Recipients)
	}

	// Closed: nothing is due anywhere, whoever looks.
	closeStep := step(t, 9, nodeFR, alert.ActionClose, 5*time.Hour, map[string]any{"comment": "contained"})
	for _, viewer := range []string{nodeFR, nodeEE} {
		st := alert.Kind.Fold(testCase(t, viewer), []workflow.Step{closeStep, deFirst})
		if st.Open || st.Status != "closed" {
			t.Errorf("%s after close: %q open %v", viewer, st.Status, st.Open)
		}
	}

	// No viewer set: the sender's view.
	if st := alert.Kind.Fold(testCase(t, ""), holds[nodeFR]); len(st.Deadlines) != 3 || st.Status != "awaiting 1 of 3 acknowledgements" {
		t.Errorf("no viewer: %q %+v", st.Status, st.Deadlines)
	}
}
