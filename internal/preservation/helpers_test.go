package preservation_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/preservation"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/workflow"
)

// A request folded without a federation: the kind's functions called the
// way the engine calls them, on a clock the test moves.

var (
	frID = stix.NewID("identity")
	eeID = stix.NewID("identity")
	lvID = stix.NewID("identity")
)

// t0 is when the tests' requests are opened.
var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// request is a complete Art. 29 request to EE, as the API takes it.
func request() map[string]any {
	return map[string]any{
		"requesting_authority": "Paris public prosecutor, J3 cybercrime section",
		"offence":              "extortion by ransomware (art. 312-1 code pénal)",
		"facts":                "On 28 November a hospital in Lyon was encrypted; the ransom note names a mailbox at mail.example.ee.",
		"stored_data":          "subscriber data and connection logs of the mailbox extort@mail.example.ee, 1–30 November 2026",
		"relation":             "the mailbox received the ransom negotiations",
		"custodian":            "Example Mail OÜ, Tallinn",
		"reason":               "the provider deletes connection logs after 30 days",
		"mla_intent":           "disclosure of the preserved data by a request under Art. 31",
		"target_country":       "ee",
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func env(self string, now time.Time) *workflow.Env {
	return &workflow.Env{Self: self, Now: now, Actor: "tester", Known: func(string) bool { return true }}
}

func props(t testing.TB, m map[string]any) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	for k, v := range m {
		out[k] = mustJSON(t, v)
	}
	return out
}

// world is one request and its steps.
type world struct {
	t     testing.TB
	now   time.Time
	c     *workflow.Case
	steps []workflow.Step
}

// open opens a request from fr to ee (or to), as the engine would.
func open(t testing.TB, in map[string]any, to ...string) *world {
	t.Helper()
	if len(to) == 0 {
		to = []string{eeID}
	}
	d, err := preservation.Kind.Open(env(frID, t0), mustJSON(t, in))
	if err != nil {
		t.Fatal(err)
	}
	p := props(t, d.Props)
	p["recipient_refs"] = mustJSON(t, to)
	return &world{t: t, now: t0, c: &workflow.Case{ID: stix.NewID(preservation.Type), Type: preservation.Type, Kind: preservation.KindName,
		Origin: frID, Created: t0, Recipients: to, Props: p}}
}

func (w *world) state() workflow.State { return preservation.Kind.Fold(w.c, w.steps) }

func (w *world) view() preservation.View {
	st := w.state()
	return st.View.(preservation.View)
}

// act takes an action as node after d has passed, as the engine would:
// Allowed, then Act on the folded state; the step is kept.
func (w *world) act(node string, d time.Duration, action string, in map[string]any) (workflow.Step, error) {
	w.t.Helper()
	w.now = w.now.Add(d)
	if err := preservation.Kind.Allowed(w.c, node, action); err != nil {
		return workflow.Step{}, err
	}
	st := w.state()
	dr, err := preservation.Kind.Act(env(node, w.now), w.c, &st, action, mustJSON(w.t, in))
	if err != nil {
		return workflow.Step{}, err
	}
	s := workflow.Step{ID: stix.NewID(workflow.StepType), Version: workflow.Timestamp(w.now), Node: node, Actor: "tester",
		Action: action, At: w.now, Props: props(w.t, dr.Props)}
	w.steps = append(w.steps, s)
	return s, nil
}

func (w *world) must(node string, d time.Duration, action string, in map[string]any) workflow.Step {
	w.t.Helper()
	s, err := w.act(node, d, action, in)
	if err != nil {
		w.t.Fatalf("%s: %v", action, err)
	}
	return s
}

const day = 24 * time.Hour
