package preservation_test

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/preservation"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/workflow"
)

// history is a full request: acknowledged, executed with an Art. 30
// disclosure, a second disclosure, an extension asked and granted, the MLA
// request sent.
func history(t *testing.T) *world {
	w := open(t, request())
	w.must(eeID, 3*time.Hour, "acknowledge", map[string]any{"reference": "EE-2026-113"})
	w.must(eeID, 20*time.Hour, "execute", map[string]any{"preserved_until": "90d",
		"disclosures": []map[string]any{{"country": "LV", "provider": "Balt Relay SIA", "note": "SMTP relay 192.0.2.7"}}})
	w.must(eeID, time.Hour, "disclose", map[string]any{"disclosures": []map[string]any{{"country": "DE", "provider": "Hosting GmbH"}}})
	w.must(frID, 70*day, "extend", map[string]any{"preserved_until": "60d", "comment": "MLA request in translation"})
	w.must(eeID, 2*day, "extend-granted", nil)
	w.must(frID, 30*day, "mla-sent", map[string]any{"mla_reference": "FR-EE-MLA-2027-0042"})
	return w
}

func folded(t *testing.T, c *workflow.Case, steps []workflow.Step) string {
	t.Helper()
	b, err := json.Marshal(preservation.Kind.Fold(c, steps))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The state is a function of the set of steps: shuffled, and with steps
// delivered twice, the fold is the same.
func TestFoldIgnoresOrderAndDuplicates(t *testing.T) {
	w := history(t)
	want := folded(t, w.c, w.steps)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		steps := append([]workflow.Step{}, w.steps...)
		for n := rng.IntN(4); n > 0; n-- {
			steps = append(steps, w.steps[rng.IntN(len(w.steps))])
		}
		rng.Shuffle(len(steps), func(a, b int) { steps[a], steps[b] = steps[b], steps[a] })
		if got := folded(t, w.c, steps); got != want {
			t.Fatalf("order %d differs:\n%s\nwant\n%s", i, got, want)
		}
	}
	// And the history is what it says.
	v := w.view()
	if v.Answer != preservation.AnswerExecuted || v.Reference != "EE-2026-113" || len(v.Disclosures) != 2 ||
		v.Disclosures[0].Country != "LV" || v.Disclosures[1].Provider != "Hosting GmbH" || v.MLA == nil || v.MLA.Reference != "FR-EE-MLA-2027-0042" ||
		len(v.Extensions) != 1 || v.Extensions[0].Decision != "granted" || len(v.Warnings) != 0 {
		t.Fatalf("view: %+v", v)
	}
	if st := w.state(); st.Status != "preserved until "+w.steps[4].At.Add(-2*day).Add(60*day).Format(time.DateOnly)+", MLA request FR-EE-MLA-2027-0042 sent" || !st.Open {
		t.Fatalf("status %q", st.Status)
	}
}

func deadline(t *testing.T, st workflow.State, prefix string) []workflow.Deadline {
	t.Helper()
	var out []workflow.Deadline
	for _, d := range st.Deadlines {
		if strings.HasPrefix(d.What, prefix) {
			out = append(out, d)
		}
	}
	return out
}

// The deadlines of a request through its life: acknowledgement by the
// target; the reminder on the requester 10 days before each expiry, done
// by asking an extension or sending the MLA request; the decision on an
// extension, due by the expiry.
func TestFoldDeadlines(t *testing.T) {
	w := open(t, with(request(), "ack_by", "4h"))
	st := w.state()
	ack := deadline(t, st, "acknowledge")
	if len(ack) != 1 || ack[0].Party != eeID || !ack[0].Due.Equal(t0.Add(4*time.Hour)) || ack[0].DoneAt != nil || st.Status != "awaiting acknowledgement" {
		t.Fatalf("opened: %+v", st)
	}
	// The execution acknowledges, late.
	w.must(eeID, 6*time.Hour, "execute", map[string]any{"reference": "R", "preserved_until": "2027-03-31"})
	st = w.state()
	until := time.Date(2027, 3, 31, 23, 59, 59, 0, time.UTC)
	ack = deadline(t, st, "acknowledge")
	exp := deadline(t, st, "send the MLA request")
	if !ack[0].DoneAt.Equal(t0.Add(6*time.Hour)) || len(exp) != 1 || exp[0].Party != frID || !exp[0].Due.Equal(until.Add(-10*day)) ||
		exp[0].DoneAt != nil || exp[0].What != "send the MLA request or ask an extension: preservation ends 2027-03-31" || st.Status != "preserved until 2027-03-31" {
		t.Fatalf("executed: %+v", st)
	}
	// The requester asks an extension: the reminder is done; the target must decide by the expiry.
	x := w.must(frID, 100*24*time.Hour, "extend", map[string]any{"preserved_until": "2027-05-31"})
	st = w.state()
	exp, dec := deadline(t, st, "send the MLA request"), deadline(t, st, "decide on the extension")
	if len(exp) != 1 || !exp[0].DoneAt.Equal(x.At) || len(dec) != 1 || dec[0].Party != eeID || !dec[0].Due.Equal(until) || dec[0].DoneAt != nil ||
		st.Status != "preserved until 2027-03-31, extension to 2027-05-31 asked" {
		t.Fatalf("extension asked: %+v", st)
	}
	// Declined: the reminder on the same expiry stands again.
	no := w.must(eeID, day, "extend-declined", map[string]any{"explanation": "the provider cannot keep the logs longer"})
	st = w.state()
	exp, dec = deadline(t, st, "send the MLA request"), deadline(t, st, "decide on the extension")
	if len(exp) != 2 || exp[1].DoneAt != nil || !exp[1].Due.Equal(until.Add(-10*day)) || !dec[0].DoneAt.Equal(no.At) {
		t.Fatalf("extension declined: %+v", st)
	}
	// Asked again and granted: a new reminder on the new expiry.
	w.must(frID, time.Hour, "extend", map[string]any{"preserved_until": "2027-04-30"})
	w.must(eeID, time.Hour, "extend-granted", map[string]any{"preserved_until": "2027-04-15"})
	st = w.state()
	exp = deadline(t, st, "send the MLA request")
	granted := time.Date(2027, 4, 15, 23, 59, 59, 0, time.UTC)
	if len(exp) != 3 || exp[1].DoneAt == nil || exp[2].DoneAt != nil || !exp[2].Due.Equal(granted.Add(-10*day)) || !w.view().PreservedUntil.Equal(granted) {
		t.Fatalf("extension granted: %+v", st)
	}
	// The MLA request closes every reminder.
	m := w.must(frID, time.Hour, "mla-sent", map[string]any{"mla_reference": "M-1", "sent_on": "2026-12-20"})
	st = w.state()
	for _, d := range st.Deadlines {
		if d.DoneAt == nil {
			t.Fatalf("open deadline after the MLA request: %+v", d)
		}
	}
	if v := w.view(); !v.MLA.At.Equal(m.At) || !v.MLA.SentOn.Equal(time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("mla: %+v", v.MLA)
	}
}

// An MLA request sent before the execution: the reminder is born done.
func TestFoldMLABeforeExecution(t *testing.T) {
	w := open(t, request())
	w.must(frID, time.Hour, "mla-sent", map[string]any{"mla_reference": "M-0"})
	w.must(eeID, time.Hour, "partial", map[string]any{"reference": "R", "preserved_until": "61d", "preserved": "logs", "not_preserved": "content: already deleted"})
	st := w.state()
	exp := deadline(t, st, "send the MLA request")
	if len(exp) != 1 || exp[0].DoneAt == nil || !strings.HasPrefix(st.Status, "partially preserved until") || !strings.HasSuffix(st.Status, "MLA request M-0 sent") {
		t.Fatalf("%+v", st)
	}
	// Executing the rest later completes it, superseding the partial period.
	w.must(eeID, day, "execute", map[string]any{"preserved_until": "90d"})
	v := w.view()
	if v.Answer != preservation.AnswerExecuted || v.Preserved != "" || v.NotPreserved != "" || v.Reference != "R" || !v.AnsweredAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("after completing: %+v", v)
	}
}

// Steps the fold leaves out, with why: a withdrawal crossing an
// execution, steps from the wrong node, answers that break Art. 29(7).
func TestFoldLeavesOut(t *testing.T) {
	w := open(t, request())
	w.must(frID, time.Hour, "withdraw", map[string]any{"comment": "suspect arrested, data seized at home"})
	// EE had not received the withdrawal when it executed.
	late := workflow.Step{ID: stix.NewID(workflow.StepType), Node: eeID, Action: "execute", At: t0.Add(2 * time.Hour),
		Props: props(t, map[string]any{"preserved_until": workflow.Timestamp(t0.Add(90 * day)), "reference": "R"})}
	w.steps = append(w.steps, late)
	st := w.state()
	v := w.view()
	if st.Open || st.Status != "withdrawn" || v.Answer != "" || v.AcknowledgedAt != nil || len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "withdrawn before") {
		t.Fatalf("%+v / %+v", st, v)
	}

	w = open(t, request())
	at := t0.Add(time.Hour)
	w.steps = append(w.steps,
		workflow.Step{ID: stix.NewID(workflow.StepType), Node: lvID, Action: "acknowledge", At: at, Props: props(t, map[string]any{})},
		workflow.Step{ID: stix.NewID(workflow.StepType), Node: eeID, Action: "mla-sent", At: at, Props: props(t, map[string]any{"mla_reference": "x"})},
		workflow.Step{ID: stix.NewID(workflow.StepType), Node: eeID, Action: "execute", At: at.Add(time.Hour),
			Props: props(t, map[string]any{"preserved_until": workflow.Timestamp(at.Add(30 * day)), "reference": "R"})},
		workflow.Step{ID: stix.NewID(workflow.StepType), Node: eeID, Action: "refuse", At: at.Add(2 * time.Hour),
			Props: props(t, map[string]any{"ground": "security", "explanation": "x"})},
	)
	v = w.view()
	ws := strings.Join(v.Warnings, "\n")
	for _, want := range []string{"acknowledge", "not from the requested Party's node", "mla-sent", "not from the requesting Party's node",
		"less than 60 days after", "already executed"} {
		if !strings.Contains(ws, want) {
			t.Errorf("warnings lack %q:\n%s", want, ws)
		}
	}
	if v.Answer != preservation.AnswerExecuted || v.MLA != nil || !v.AcknowledgedAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("%+v", v)
	}
}

func TestFoldRefusal(t *testing.T) {
	w := open(t, request())
	w.must(eeID, 2*time.Hour, "acknowledge", nil)
	w.must(eeID, 5*time.Hour, "refuse", map[string]any{"ground": "political-offence", "explanation": "the acts are the subject of a political asylum"})
	st := w.state()
	v := w.view()
	if st.Open || st.Status != "refused (political-offence)" || v.Refusal.Ground != "political-offence" || !v.AnsweredAt.Equal(t0.Add(7*time.Hour)) ||
		!v.AcknowledgedAt.Equal(t0.Add(2*time.Hour)) || len(deadline(t, st, "send the MLA")) != 0 {
		t.Fatalf("%+v %+v", st, v)
	}
}

// Each node stamps its steps with its own clock: EE's clock runs two
// seconds behind FR's, so its answers carry times before the requests
// they answer. The fold applies them all the same.
func TestFoldClockSkew(t *testing.T) {
	w := open(t, request())
	w.must(eeID, time.Hour, "execute", map[string]any{"reference": "R", "preserved_until": "90d"})
	x := w.must(frID, 80*day, "extend", map[string]any{"preserved_until": "150d"})
	g := w.must(eeID, 0, "extend-granted", nil)
	g.At = x.At.Add(-2 * time.Second)
	w.steps[len(w.steps)-1] = g
	v := w.view()
	if len(v.Warnings) != 0 || len(v.Extensions) != 1 || v.Extensions[0].Decision != "granted" || !v.PreservedUntil.Equal(x.At.Add(150*day)) {
		t.Fatalf("%+v", v)
	}
	exp := deadline(t, w.state(), "send the MLA request")
	if len(exp) != 2 || exp[0].DoneAt == nil || exp[1].DoneAt != nil {
		t.Fatalf("reminders: %+v", exp)
	}
}
