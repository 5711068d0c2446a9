package notice

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/workflow"
)

const (
	fr = "identity--00000000-0000-4000-8000-0000000000f1"
	de = "identity--00000000-0000-4000-8000-0000000000d1"
	ee = "identity--00000000-0000-4000-8000-0000000000e1"
	lv = "identity--00000000-0000-4000-8000-0000000000a1"
	xx = "identity--00000000-0000-4000-8000-0000000000ff" // no party
)

var t0 = time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)

func raw(t *testing.T, m map[string]any) map[string]json.RawMessage {
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

func testCase(t *testing.T) *workflow.Case {
	return &workflow.Case{ID: Type + "--00000000-0000-4000-8000-000000000001", Type: Type, Kind: "notice", Origin: fr,
		Created: t0, Recipients: []string{de, ee, lv}, Props: raw(t, map[string]any{
			"name": "DDoS from a botnet C2", "activity_types": []string{"availability:ddos"},
			"indicators":       []Indicator{{Type: TypeIPv4, Value: "198.51.100.7"}, {Type: TypeAS, Number: 64500}},
			"requested_action": "Take the C2 down", "respond_by": workflow.Timestamp(t0.Add(72 * time.Hour)),
			"common_severity": 3, "recipient_refs": []string{de, ee, lv},
		})}
}

func step(t *testing.T, n int, node, action string, after time.Duration, props map[string]any) workflow.Step {
	return workflow.Step{ID: fmt.Sprintf("%s--00000000-0000-4000-8000-%012d", workflow.StepType, n), Node: node, Actor: "p" + fmt.Sprint(n),
		Action: action, At: t0.Add(after), Props: raw(t, props)}
}

// The story the fold must tell whatever the order: de investigates, then
// acts; lv acts, then withdraws to investigating; fr reminds after the
// deadline, moving ee's deadline; ee declines in time for the new one; fr
// closes. Steps the fold must leave out: a response by the sender, one by
// a node that is not a recipient, a reminder by a recipient, a second close.
func storySteps(t *testing.T) []workflow.Step {
	h := time.Hour
	return []workflow.Step{
		step(t, 1, de, ActionRespond, 2*h, map[string]any{"answer": "investigating", "comment": "looking"}),
		step(t, 2, lv, ActionRespond, 1*h, map[string]any{"answer": "action-taken", "action_taken": "null-routed"}),
		step(t, 3, lv, ActionRespond, 5*h, map[string]any{"answer": "investigating", "comment": "came back"}),
		step(t, 4, de, ActionRespond, 30*h, map[string]any{"answer": "action-taken", "action_taken": "server seized"}),
		step(t, 5, fr, ActionRemind, 80*h, map[string]any{"comment": "please answer", "respond_by": workflow.Timestamp(t0.Add(120 * h))}),
		step(t, 6, ee, ActionRespond, 100*h, map[string]any{"answer": "no-action", "reason": "not in our jurisdiction"}),
		step(t, 7, fr, ActionRespond, 3*h, map[string]any{"answer": "action-taken", "action_taken": "x"}),
		step(t, 8, xx, ActionRespond, 3*h, map[string]any{"answer": "no-action", "reason": "x"}),
		step(t, 9, de, ActionRemind, 90*h, map[string]any{"respond_by": workflow.Timestamp(t0.Add(500 * h))}),
		step(t, 10, fr, ActionClose, 200*h, map[string]any{"outcome": "C2 seized in DE; EE declined"}),
		step(t, 11, fr, ActionClose, 201*h, map[string]any{"outcome": "again"}),
		step(t, 12, de, ActionRespond, 50*h, map[string]any{"answer": "maybe"}),
	}
}

func TestFoldStory(t *testing.T) {
	c := testCase(t)
	st := Kind.Fold(c, storySteps(t))
	v := st.View.(View)
	if st.Status != "closed" || st.Open || st.Title != "DDoS from a botnet C2" || st.Severity != 3 {
		t.Fatalf("state: %+v", st)
	}
	if v.Outcome != "C2 seized in DE; EE declined" || v.ClosedAt == nil || !v.ClosedAt.Equal(t0.Add(200*time.Hour)) || v.ClosedBy != "p10" {
		t.Fatalf("close: %+v", v)
	}
	byNode := map[string]Recipient{}
	for _, r := range v.Recipients {
		byNode[r.Node] = r
	}
	sec := func(h int) int64 { return int64(h) * 3600 }
	d := byNode[de]
	if d.Answer != "action-taken" || d.ActionTaken != "server seized" || d.Comment != "" || d.Responses != 2 ||
		*d.FirstDelay != sec(2) || *d.FinalDelay != sec(30) || d.Late || d.Reminded != 0 || !d.RespondBy.Equal(t0.Add(72*time.Hour)) {
		t.Errorf("de: %+v", d)
	}
	if len(d.History) != 2 || d.History[0].Answer != "investigating" || d.History[0].Comment != "looking" || d.History[1].ActionTaken != "server seized" {
		t.Errorf("de's history: %+v", d.History)
	}
	l := byNode[lv]
	if l.Answer != "investigating" || l.FinalAt != nil || l.FinalDelay != nil || *l.FirstDelay != sec(1) || l.Responses != 2 ||
		l.Reminded != 1 || l.Comment != "came back" || l.ActionTaken != "" || !l.RespondBy.Equal(t0.Add(72*time.Hour)) {
		t.Errorf("lv: %+v", l)
	}
	e := byNode[ee]
	if e.Answer != "no-action" || e.Reason != "not in our jurisdiction" || *e.FirstDelay != sec(100) || *e.FinalDelay != sec(100) ||
		e.Late || e.Reminded != 1 || !e.RespondBy.Equal(t0.Add(120*time.Hour)) || e.Actor != "p6" {
		t.Errorf("ee: %+v", e)
	}
	if v.Responded != 3 || v.Answered != 2 || len(v.Reminders) != 1 || v.Reminders[0].Comment != "please answer" {
		t.Errorf("counts: responded %d answered %d reminders %+v", v.Responded, v.Answered, v.Reminders)
	}
	for _, dl := range st.Deadlines {
		if dl.What != "respond" || dl.DoneAt == nil {
			t.Errorf("deadline: %+v", dl)
		}
	}
}

// The fold's result depends on the set of steps only: any order, any
// number of copies of a step.
func TestFoldOrderAndDuplicates(t *testing.T) {
	c := testCase(t)
	steps := storySteps(t)
	want, err := json.Marshal(Kind.Fold(c, steps))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 300; round++ {
		var in []workflow.Step
		for _, s := range steps {
			for n := rng.IntN(3) + 1; n > 0; n-- {
				in = append(in, s)
			}
		}
		rng.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
		got, err := json.Marshal(Kind.Fold(c, in))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: the state depends on the order or copies of the steps\n got %s\nwant %s", round, got, want)
		}
	}
	// Steps sharing an instant are ordered by id: still the same result.
	same := []workflow.Step{
		step(t, 21, de, ActionRespond, time.Hour, map[string]any{"answer": "investigating"}),
		step(t, 22, de, ActionRespond, time.Hour, map[string]any{"answer": "action-taken", "action_taken": "done"}),
	}
	a := Kind.Fold(c, same).View.(View)
	b := Kind.Fold(c, []workflow.Step{same[1], same[0]}).View.(View)
	if a.Recipients[0].Answer != "action-taken" || b.Recipients[0].Answer != "action-taken" {
		t.Fatalf("same instant: %s, %s", a.Recipients[0].Answer, b.Recipients[0].Answer)
	}
}

func TestFoldStatus(t *testing.T) {
	c := testCase(t)
	h := time.Hour
	for _, tc := range []struct {
		name  string
		steps []workflow.Step
		want  string
	}{
		{"nothing yet", nil, "awaiting 3 of 3 responses"},
		{"one investigating", []workflow.Step{step(t, 1, de, ActionRespond, h, map[string]any{"answer": "investigating"})}, "awaiting 2 of 3 responses"},
		{"all responded", []workflow.Step{
			step(t, 1, de, ActionRespond, h, map[string]any{"answer": "investigating"}),
			step(t, 2, ee, ActionRespond, h, map[string]any{"answer": "action-taken", "action_taken": "x"}),
			step(t, 3, lv, ActionRespond, h, map[string]any{"answer": "no-action", "reason": "y"}),
		}, "investigating (2 of 3 answered)"},
		{"all answered", []workflow.Step{
			step(t, 1, de, ActionRespond, h, map[string]any{"answer": "no-action", "reason": "z"}),
			step(t, 2, ee, ActionRespond, h, map[string]any{"answer": "action-taken", "action_taken": "x"}),
			step(t, 3, lv, ActionRespond, h, map[string]any{"answer": "no-action", "reason": "y"}),
		}, "answered"},
	} {
		st := Kind.Fold(c, tc.steps)
		if st.Status != tc.want || !st.Open {
			t.Errorf("%s: status %q open %v, want %q", tc.name, st.Status, st.Open, tc.want)
		}
	}
	// A response after the deadline is late; the reminder moves the
	// deadline of those who have not responded only.
	st := Kind.Fold(c, []workflow.Step{
		step(t, 1, de, ActionRespond, 73*h, map[string]any{"answer": "investigating"}),
		step(t, 2, fr, ActionRemind, 74*h, map[string]any{"respond_by": workflow.Timestamp(t0.Add(100 * h))}),
		step(t, 3, ee, ActionRespond, 99*h, map[string]any{"answer": "investigating"}),
	})
	v := st.View.(View)
	if !v.Recipients[0].Late || v.Recipients[1].Late || !v.Recipients[0].RespondBy.Equal(t0.Add(72*h)) ||
		!v.Recipients[1].RespondBy.Equal(t0.Add(100*h)) || !v.Recipients[2].RespondBy.Equal(t0.Add(100*h)) {
		t.Fatalf("late and deadlines: %+v", v.Recipients)
	}
	if st.Deadlines[2].DoneAt != nil || !st.Deadlines[2].Due.Equal(t0.Add(100*h)) {
		t.Fatalf("lv's deadline: %+v", st.Deadlines[2])
	}
}
