package incident_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/incident"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/workflow"
)

const (
	nodeA = "identity--aaaaaaaa-aaaa-5aaa-8aaa-aaaaaaaaaaaa" // the opener
	nodeB = "identity--bbbbbbbb-bbbb-5bbb-8bbb-bbbbbbbbbbbb"
	nodeC = "identity--cccccccc-cccc-5ccc-8ccc-cccccccccccc" // invited later
)

var t0 = time.Date(2026, 3, 14, 6, 0, 0, 0, time.UTC)

func rawProps(t testing.TB, m map[string]any) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	for k, v := range m {
		out[k] = mustJSON(t, v)
	}
	return out
}

// newCase is an incident A opened at t0 with B and C listed (C as Invite
// lists it), detected an hour before.
func newCase(t testing.TB, props map[string]any) *workflow.Case {
	t.Helper()
	p := map[string]any{"common_severity": 3, "status": "analysis", "sectors": []string{"health"}, "countries": []string{"FR"},
		"detected": workflow.Timestamp(t0.Add(-time.Hour)), "nis2_reporting": true, "recipient_refs": []string{nodeB, nodeC},
		"extension_type": "property-extension"}
	for k, v := range props {
		p[k] = v
	}
	c := &workflow.Case{ID: stix.NewID(incident.Type), Type: incident.Type, Kind: "incident", Origin: nodeA, Created: t0,
		Recipients: []string{nodeB, nodeC}, Props: rawProps(t, p), Top: rawProps(t, map[string]any{"name": "Ransomware"})}
	return c
}

func newStep(t testing.TB, node string, at time.Duration, action string, props map[string]any) workflow.Step {
	t.Helper()
	return workflow.Step{ID: stix.NewID(workflow.StepType), Node: node, Actor: "someone", Action: action, At: t0.Add(at), Props: rawProps(t, props)}
}

func foldJSON(t testing.TB, c *workflow.Case, steps []workflow.Step) string {
	t.Helper()
	return string(mustJSON(t, incident.Kind.Fold(c, steps)))
}

func viewOf(t testing.TB, st workflow.State) incident.View {
	t.Helper()
	var v incident.View
	if err := json.Unmarshal(mustJSON(t, st.View), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// draft asks the kind for a step as node would take it at the time, on the
// state folded from steps.
func draft(t testing.TB, c *workflow.Case, steps []workflow.Step, node string, at time.Duration, action string, in map[string]any) workflow.Step {
	t.Helper()
	st := incident.Kind.Fold(c, steps)
	env := &workflow.Env{Self: node, Now: t0.Add(at), Actor: "someone", Known: func(string) bool { return true }}
	d, err := incident.Kind.Act(env, c, &st, action, mustJSON(t, in))
	if err != nil {
		t.Fatalf("%s by %s: %v", action, node, err)
	}
	s := newStep(t, node, at, action, nil)
	s.Props = rawProps(t, d.Props)
	return s
}

// story is a full history: updates by A, B and C, an invitation of C with
// its snapshot, tasks, NIS2 reports with a correction, a close. It returns
// the case, the steps in time order and the index of the invitation.
func story(t testing.TB) (*workflow.Case, []workflow.Step, int) {
	t.Helper()
	c := newCase(t, nil)
	var steps []workflow.Step
	add := func(s workflow.Step) workflow.Step { steps = append(steps, s); return s }
	add(newStep(t, nodeB, 1*time.Minute, incident.ActionJoin, map[string]any{"note": "on it"}))
	add(newStep(t, nodeB, 10*time.Minute, incident.ActionUpdate, map[string]any{"status": "containment", "common_severity": 4, "note": "spreading"}))
	add(newStep(t, nodeA, 20*time.Minute, incident.ActionUpdate, map[string]any{"rsit": "malicious-code:infected-system", "countries": []string{"FR", "DE"}, "object_refs": []string{"indicator--0b9f5f84-6f8b-4a4c-9a52-36c2d1e3a111"}}))
	task := add(draft(t, c, steps, nodeA, 30*time.Minute, incident.ActionTaskAdd, map[string]any{"title": "Collect samples", "owner": nodeB, "due": "4h"}))
	add(newStep(t, nodeA, 40*time.Minute, incident.ActionNIS2Sent, map[string]any{"report": "early-warning", "sent_at": workflow.Timestamp(t0.Add(35 * time.Minute)), "sent_to": "CSIRT"}))
	add(draft(t, c, steps, nodeB, 50*time.Minute, incident.ActionTaskDone, map[string]any{"task": task.ID[len(workflow.StepType)+2:][:6], "note": "in MISP"}))
	inv := len(steps)
	add(draft(t, c, steps, nodeA, time.Hour, incident.ActionJoin, map[string]any{"nodes": []string{nodeC}, "note": "same vendor"}))
	add(newStep(t, nodeC, 61*time.Minute, incident.ActionJoin, nil))
	add(newStep(t, nodeC, 70*time.Minute, incident.ActionUpdate, map[string]any{"outlook": "improving", "sectors": []string{"health", "digital-infrastructure"}}))
	add(newStep(t, nodeB, 80*time.Minute, incident.ActionTaskAdd, map[string]any{"title": "Patch the PACS", "owner_ref": nodeC}))
	add(newStep(t, nodeA, 90*time.Minute, incident.ActionNIS2Sent, map[string]any{"report": "notification", "sent_at": workflow.Timestamp(t0.Add(85 * time.Minute))}))
	add(newStep(t, nodeA, 100*time.Minute, incident.ActionNIS2Sent, map[string]any{"report": "early-warning", "sent_at": workflow.Timestamp(t0.Add(36 * time.Minute)), "note": "corrected"}))
	add(newStep(t, nodeA, 110*time.Minute, incident.ActionClose, map[string]any{"note": "restored"}))
	return c, steps, inv
}

// The state depends on the set of steps only: any order of arrival, any
// duplicates, the same state.
func TestFoldIgnoresOrderAndDuplicates(t *testing.T) {
	c, steps, _ := story(t)
	want := foldJSON(t, c, steps)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		in := append([]workflow.Step(nil), steps...)
		for n := rng.IntN(len(steps)); n > 0; n-- {
			in = append(in, steps[rng.IntN(len(steps))])
		}
		rng.Shuffle(len(in), func(a, b int) { in[a], in[b] = in[b], in[a] })
		if got := foldJSON(t, c, in); got != want {
			t.Fatalf("round %d: a shuffled, duplicated history folds differently:\n got %s\nwant %s", i, got, want)
		}
	}
	// And what it is.
	st := incident.Kind.Fold(c, steps)
	v := viewOf(t, st)
	if st.Status != "closed, NIS2 reports pending" || !st.Open || st.Severity != 4 || st.Title != "Ransomware" {
		t.Fatalf("state: %s open %v severity %d title %q", st.Status, st.Open, st.Severity, st.Title)
	}
	if v.Status != "containment" || v.RSIT != "malicious-code:infected-system" || v.Outlook != "improving" ||
		!reflect.DeepEqual(v.Countries, []string{"FR", "DE"}) || !reflect.DeepEqual(v.Sectors, []string{"health", "digital-infrastructure"}) ||
		len(v.Refs) != 1 {
		t.Fatalf("fields: %+v", v)
	}
	if ch := v.Changed["status"]; ch.Node != nodeB || !ch.At.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("status changed: %+v", ch)
	}
	if len(v.Participants) != 3 || !v.Participants[0].Opener || v.Participants[1].Node != nodeB || v.Participants[1].JoinedAt == nil ||
		v.Participants[2].Node != nodeC || !v.Participants[2].InvitedAt.Equal(t0.Add(time.Hour)) || v.Participants[2].Invitation == "" {
		t.Fatalf("participants: %+v", v.Participants)
	}
	if len(v.Tasks) != 2 || v.Tasks[0].DoneAt == nil || v.Tasks[0].DoneBy != nodeB || v.Tasks[1].DoneAt != nil {
		t.Fatalf("tasks: %+v", v.Tasks)
	}
	// The latest record of the early warning counts (a correction).
	if r := v.NIS2.Reports[0]; r.Report != incident.EarlyWarning || !r.SentAt.Equal(t0.Add(36*time.Minute)) || r.Note != "corrected" {
		t.Fatalf("early warning: %+v", r)
	}
	if v.Closed == nil || v.Closed.Note != "restored" {
		t.Fatalf("closed: %+v", v.Closed)
	}
}

// A node invited later holds the invitation and what follows it, not what
// came before: the snapshot gives it the same picture as the others.
func TestSnapshotGivesTheInvitedTheSamePicture(t *testing.T) {
	c, steps, inv := story(t)
	all := viewOf(t, incident.Kind.Fold(c, steps))
	late := viewOf(t, incident.Kind.Fold(c, steps[inv:]))
	if len(late.Timeline) != len(steps)-inv {
		t.Fatalf("the late node's timeline has %d entries, want %d", len(late.Timeline), len(steps)-inv)
	}
	all.Timeline, late.Timeline = nil, nil
	if !reflect.DeepEqual(all, late) {
		t.Fatalf("pictures differ:\n all %s\nlate %s", mustJSON(t, all), mustJSON(t, late))
	}
}

// A step older than a value the snapshot carries, arriving after the
// invitation, does not overwrite that value; a newer one does.
func TestSnapshotKeepsEachValuesTime(t *testing.T) {
	c, steps, inv := story(t)
	old := newStep(t, nodeB, 5*time.Minute, incident.ActionUpdate, map[string]any{"status": "eradication"})
	v := viewOf(t, incident.Kind.Fold(c, append(steps[inv:], old)))
	if v.Status != "containment" {
		t.Fatalf("an older update overwrote the snapshot's newer status: %s", v.Status)
	}
	newer := newStep(t, nodeB, 15*time.Minute, incident.ActionUpdate, map[string]any{"status": "eradication"})
	v = viewOf(t, incident.Kind.Fold(c, append(steps[inv:], newer)))
	if v.Status != "eradication" {
		t.Fatalf("a newer update lost to the snapshot: %s", v.Status)
	}
}

// What the fold leaves out, and says so in the timeline: the opener's
// fields set by a participant, a report or a close by a participant, a task
// done by a node that may not, an unknown task, malformed values from a
// partner.
func TestFoldLeavesOutWhatIsNotAllowedOrMalformed(t *testing.T) {
	c := newCase(t, nil)
	task := newStep(t, nodeA, time.Minute, incident.ActionTaskAdd, map[string]any{"title": "Image the DC", "owner_ref": nodeB})
	steps := []workflow.Step{
		task,
		newStep(t, nodeB, 2*time.Minute, incident.ActionUpdate, map[string]any{"detected": workflow.Timestamp(t0), "nis2_reporting": false, "status": "recovery"}),
		newStep(t, nodeB, 3*time.Minute, incident.ActionNIS2Sent, map[string]any{"report": "early-warning", "sent_at": workflow.Timestamp(t0)}),
		newStep(t, nodeC, 4*time.Minute, incident.ActionTaskDone, map[string]any{"task_ref": task.ID}),
		newStep(t, nodeB, 5*time.Minute, incident.ActionTaskDone, map[string]any{"task_ref": stix.NewID(workflow.StepType)}),
		newStep(t, nodeB, 6*time.Minute, incident.ActionUpdate, map[string]any{"status": "pwned", "common_severity": 9, "sectors": []string{"nope"}, "countries": []string{"XX"}, "rsit": "bad"}),
		newStep(t, nodeB, 7*time.Minute, incident.ActionTaskAdd, map[string]any{"title": "", "owner_ref": nodeB}),
		newStep(t, nodeB, 8*time.Minute, incident.ActionClose, nil),
	}
	st := incident.Kind.Fold(c, steps)
	v := viewOf(t, st)
	if v.Status != "recovery" || v.Severity != 3 || !v.NIS2.Applies || !v.Detected.Equal(t0.Add(-time.Hour)) || !reflect.DeepEqual(v.Sectors, []string{"health"}) {
		t.Fatalf("fields: %+v", v)
	}
	if v.NIS2.Reports[0].SentAt != nil || v.Closed != nil || !st.Open || len(v.Tasks) != 1 || v.Tasks[0].DoneAt != nil {
		t.Fatalf("report %+v, closed %+v, tasks %+v", v.NIS2.Reports[0], v.Closed, v.Tasks)
	}
	for i, want := range []string{"", "only the opener sets detected, nis2_reporting", "only the opener records", "only the task's owner",
		"no such task", "", "malformed task", "only the opener closes"} {
		if got := v.Timeline[i].Ignored; want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("step %d (%s): ignored %q, want %q", i, v.Timeline[i].Action, got, want)
		}
	}
	if len(v.Timeline[5].Changes) != 0 {
		t.Errorf("malformed values were applied: %v", v.Timeline[5].Changes)
	}
}

// Fold never panics on what a partner signs, and stays deterministic.
func FuzzFold(f *testing.F) {
	f.Add("update", `{"status":"containment","common_severity":4,"national_severity":{"scale":"x","level":"1"}}`)
	f.Add("join", `{"snapshot":{"fields":[{"field":"status","value":"recovery","set_at":"2026-03-14T06:00:00Z","set_by_ref":"x-entraide-step--0b9f5f84-6f8b-4a4c-9a52-36c2d1e3a111","node_ref":"identity--bbbbbbbb-bbbb-5bbb-8bbb-bbbbbbbbbbbb"}],"tasks":[{"task_ref":"x"}]}}`)
	f.Add("task-done", `{"task_ref":"x-entraide-step--0b9f5f84-6f8b-4a4c-9a52-36c2d1e3a111"}`)
	f.Add("nis2-sent", `{"report":"final-report","sent_at":"2026-03-14T06:00:00Z"}`)
	f.Add("task-add", `{"title":"t","owner_ref":"identity--bbbbbbbb-bbbb-5bbb-8bbb-bbbbbbbbbbbb","due":"nope"}`)
	f.Fuzz(func(t *testing.T, action, props string) {
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(props), &m) != nil {
			return
		}
		c := newCase(t, nil)
		s1 := workflow.Step{ID: stix.NewID(workflow.StepType), Node: nodeA, Actor: "x", Action: action, At: t0.Add(time.Minute), Props: m}
		s2 := workflow.Step{ID: stix.NewID(workflow.StepType), Node: nodeB, Actor: "x", Action: action, At: t0.Add(time.Minute), Props: m}
		a := foldJSON(t, c, []workflow.Step{s1, s2})
		if b := foldJSON(t, c, []workflow.Step{s2, s1, s2}); a != b {
			t.Fatalf("order changes the state:\n%s\n%s", a, b)
		}
	})
}
