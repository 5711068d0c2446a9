package alert_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/alert"
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

func TestAlertStorySQLite(t *testing.T) { runAlertStory(t, nil) }

func TestAlertStoryPostgreSQL(t *testing.T) {
	runAlertStory(t, func(t testing.TB, _ string) string { return pgtest.DSN(t) })
}

func mustJSON(t *testing.T, v any) json.RawMessage {
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

func detail(t *testing.T, v *workflow.View) alert.View {
	t.Helper()
	var d alert.View
	if err := json.Unmarshal(v.Detail, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// The alert workflow across four nodes: fr alerts de and ee (ee is down
// when the alert leaves and receives it when it is back); each node
// records the receipt; de answers, its answer reaches fr; ee's deadline
// passes and fr sees it overdue; lv, a peer but not a recipient, tries to
// acknowledge and is refused and audited; a duplicated acknowledgement
// counts once; every object validates against the STIX schemas.
func runAlertStory(t *testing.T, db func(t testing.TB, name string) string) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	fed := fedtest.Start(t, fedtest.Options{DB: db, Federation: fast(), Clock: clk, Kinds: []*workflow.Kind{alert.Kind}}, "fr", "de", "ee", "lv")
	fr, de, ee, lv := fed.Node("fr"), fed.Node("de"), fed.Node("ee"), fed.Node("lv")
	fed.Stop("ee")

	res, err := fr.Workflow.Open(ctx, "alert", "alice", mustJSON(t, map[string]any{
		"to": []string{"cert-de", "cert-ee"}, "tlp": "amber",
		"title": "Wiper campaign against grid operators", "description": "Seen at two TSOs since 06:00 UTC.",
		"severity": "4", "sectors": []string{"energy"}, "countries": []string{"fr", "DE"},
		"ack_by": "4h",
	}))
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	if !strings.HasPrefix(id, alert.Type+"--") || res.Queued != 2 || len(res.Refused) != 0 {
		t.Fatalf("open: %+v", res)
	}
	fed.WaitFor("de receives the alert", 10*time.Second, func() bool { return view(t, de, id) != nil })
	dv := view(t, de, id)
	if dv.ReceivedAt == nil || dv.Severity != 4 || dv.Origin.Name != "cert-fr" || dv.TLP != "amber" {
		t.Fatalf("de's view: %+v", dv)
	}
	// ee is down: fr sees de's delivery, not ee's.
	fed.WaitFor("fr sees the delivery to de", 10*time.Second, func() bool {
		for _, p := range view(t, fr, id).Parties {
			if p.Name == "cert-de" && p.DeliveredAt != nil {
				return true
			}
		}
		return false
	})
	fed.Start("ee")
	fed.WaitFor("ee receives the alert once back", 10*time.Second, func() bool {
		clk.Advance(100 * time.Millisecond) // the retry's backoff runs on the node's clock
		return view(t, ee, id) != nil
	})

	// de answers; the answer flows back to fr.
	if _, err := de.Workflow.Act(ctx, id, alert.ActionAck, "bernd", mustJSON(t, map[string]any{"answer": "affected", "comment": "two substations"})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr sees de's answer", 10*time.Second, func() bool {
		v := view(t, fr, id)
		for _, r := range detail(t, v).Recipients {
			if r.Node == fed.ID("de") && r.Answer == "affected" && r.Comment == "two substations" && r.Actor == "bernd" {
				return true
			}
		}
		return false
	})
	// Bad answers are clear errors; the sender cannot acknowledge.
	if _, err := de.Workflow.Act(ctx, id, alert.ActionAck, "bernd", mustJSON(t, map[string]any{"answer": "maybe"})); !errors.Is(err, workflow.ErrInput) {
		t.Errorf("bad answer: %v", err)
	}
	if _, err := fr.Workflow.Act(ctx, id, alert.ActionAck, "alice", mustJSON(t, map[string]any{"answer": "affected"})); !errors.Is(err, workflow.ErrNotParty) {
		t.Errorf("sender acknowledges: %v", err)
	}

	// ee's deadline passes: fr sees it overdue, and the case waits on ee.
	clk.Advance(5 * time.Hour)
	v := view(t, fr, id)
	if !v.Overdue || len(v.WaitingOn) != 1 || v.WaitingOn[0].Name != "cert-ee" {
		t.Fatalf("after the deadline: overdue %v, waiting on %+v", v.Overdue, v.WaitingOn)
	}
	due, err := fr.Workflow.Due(ctx, 0)
	if err != nil || len(due) != 1 || due[0].ID != id || !due[0].Overdue {
		t.Fatalf("due: %+v, %v", due, err)
	}

	// lv is a peer of fr but no party to the alert: its acknowledgement is
	// refused on arrival, and audited.
	forged := mustJSON(t, map[string]any{"type": workflow.StepType, "spec_version": "2.1", "id": stix.NewID(workflow.StepType),
		"created": workflow.Timestamp(clk.Now()), "modified": workflow.Timestamp(clk.Now()),
		"case_ref": id, "transition": "ack", "actor": "mallory", "answer": "not-affected",
		"extensions": map[string]any{workflow.StepExtension.ID: map[string]any{"extension_type": "new-sdo"}}})
	if _, err := lv.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{forged}, TLP: stix.TLPAmber, Nodes: []string{"cert-fr"}, Actor: "mallory"}); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr refuses lv's acknowledgement", 10*time.Second, func() bool {
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
	if d := detail(t, view(t, fr, id)); d.Acknowledged != 1 {
		t.Fatalf("acknowledged after the forged ack: %d", d.Acknowledged)
	}

	// ee acknowledges (late); a duplicated delivery of the same step counts once.
	r, err := ee.Workflow.Act(ctx, id, alert.ActionAck, "eve", mustJSON(t, map[string]any{"answer": "investigating"}))
	if err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr sees ee's answer", 10*time.Second, func() bool { return detail(t, view(t, fr, id)).Acknowledged == 2 })
	_, steps, err := ee.Workflow.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	for _, s := range steps {
		if s.ID == r.Object {
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
			if e.Kind == audit.KindReceive && e.ObjectID == r.Object {
				n++
			}
		}
		return n == 2
	})
	v = view(t, fr, id)
	if d := detail(t, v); d.Acknowledged != 2 || v.Overdue || v.Status != "acknowledged" {
		t.Fatalf("after ee's ack: %+v, %s", d, v.Status)
	}
	// Both sides hold the same history.
	if a, b := len(view(t, fr, id).Timeline), len(view(t, ee, id).Timeline); a != 2 || b != 1 {
		// fr has both acks; ee has its own only (de's went to fr alone).
		t.Fatalf("timelines: fr %d, ee %d", a, b)
	}
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
	stixschema.Validate(t, alert.Extension.Definition())

	// A minimal alert (no sectors, countries or references) validates too:
	// absent lists, never empty ones. An exercise's alert says so, and so
	// do its steps.
	min, err := fr.Workflow.Open(ctx, "alert", "alice", mustJSON(t, map[string]any{"to": []string{"cert-de"}, "tlp": "clear", "title": "Minimal", "severity": "0", "exercise": "cyber-europe-2026"}))
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := fr.Workflow.Load(ctx, min.ID)
	if err != nil {
		t.Fatal(err)
	}
	stixschema.Validate(t, c.Raw)
	fed.WaitFor("de receives the exercise alert", 10*time.Second, func() bool { return view(t, de, min.ID) != nil })
	if v := view(t, de, min.ID); v.Exercise != "cyber-europe-2026" {
		t.Fatalf("exercise alert on de: %q", v.Exercise)
	}
	st, err := de.Workflow.Act(ctx, min.ID, alert.ActionAck, "bernd", mustJSON(t, map[string]any{"answer": "not-affected"}))
	if err != nil {
		t.Fatal(err)
	}
	_, steps, _ = de.Workflow.Load(ctx, min.ID)
	for _, s := range steps {
		if s.ID == st.Object && !strings.Contains(string(s.Raw), `"x_entraide_exercise":"cyber-europe-2026"`) {
			t.Fatalf("the exercise's step is not marked: %s", s.Raw)
		}
		stixschema.Validate(t, s.Raw)
	}
	if l, _ := de.Workflow.List(ctx, "alert", false, 0); l[0].Exercise != "cyber-europe-2026" {
		t.Fatalf("list: %+v", l[0])
	}
}

func TestOpenRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Kinds: []*workflow.Kind{alert.Kind}}, "fr", "de")
	fr := fed.Node("fr")
	base := map[string]any{"to": []string{"cert-de"}, "tlp": "green", "title": "t", "severity": "2"}
	for _, c := range []struct {
		name string
		set  map[string]any
		want string
	}{
		{"no title", map[string]any{"title": ""}, "title is required"},
		{"no severity", map[string]any{"severity": ""}, "severity is required"},
		{"bad severity", map[string]any{"severity": "7"}, "severity"},
		{"unknown sector", map[string]any{"sectors": []string{"enrgy"}}, `did you mean "energy"`},
		{"unknown country", map[string]any{"countries": []string{"XX"}}, "unknown country code"},
		{"deadline in the past", map[string]any{"ack_by": "2020-01-01T00:00:00Z"}, "in the past"},
		{"bad deadline", map[string]any{"ack_by": "soon"}, "neither a duration"},
		{"red", map[string]any{"tlp": "red"}, "cannot be TLP:RED"},
		{"no tlp", map[string]any{"tlp": ""}, "tlp is required"},
		{"unknown peer", map[string]any{"to": []string{"cert-xx"}}, `no peer "cert-xx"`},
		{"nobody", map[string]any{"to": []string{}}, "say who receives"},
		{"unknown field", map[string]any{"colour": "red"}, `unknown field "colour"`},
		{"bad ref", map[string]any{"refs": []string{"indicator--nope"}}, "reference"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := map[string]any{}
			for k, v := range base {
				in[k] = v
			}
			for k, v := range c.set {
				in[k] = v
			}
			_, err := fr.Workflow.Open(ctx, "alert", "alice", mustJSON(t, in))
			if !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an input error with %q", err, c.want)
			}
		})
	}
	// Nothing was written.
	if l, err := fr.Workflow.List(ctx, "", false, 0); err != nil || len(l) != 0 {
		t.Fatalf("list after refusals: %v, %v", l, err)
	}
}

// What is due on whom, per node, across four nodes: FR alerts DE, EE and
// PL; DE and PL acknowledge, EE never does. Once the deadline has passed,
// FR waits on EE, and so does EE (its own acknowledgement is overdue); DE
// and PL, who have acknowledged, wait on nobody — EE's deadline is FR's
// business, and its acknowledgement would never reach them anyway — and
// show the other recipients' answers as not known.
func TestRecipientsTrackTheirOwnDeadline(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Clock: clk, Kinds: []*workflow.Kind{alert.Kind}}, "fr", "de", "ee", "pl")
	fr, de, ee, pl := fed.Node("fr"), fed.Node("de"), fed.Node("ee"), fed.Node("pl")
	res, err := fr.Workflow.Open(ctx, "alert", "alice", mustJSON(t, map[string]any{
		"to": []string{"cert-de", "cert-ee", "cert-pl"}, "tlp": "amber", "title": "Wiper campaign", "severity": "4", "ack_by": "4h"}))
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	fed.WaitFor("the recipients receive the alert", 10*time.Second, func() bool {
		return view(t, de, id) != nil && view(t, ee, id) != nil && view(t, pl, id) != nil
	})
	// Before anyone acknowledges, a recipient's list shows its own deadline.
	l, err := ee.Workflow.List(ctx, "alert", false, 0)
	if err != nil || len(l) != 1 || l[0].Status != "awaiting this node's acknowledgement" || len(l[0].WaitingOn) != 1 || l[0].WaitingOn[0].Name != "cert-ee" {
		t.Fatalf("ee's list: %+v, %v", l, err)
	}
	for _, n := range []*fedtest.Node{de, pl} {
		if _, err := n.Workflow.Act(ctx, id, alert.ActionAck, "someone", mustJSON(t, map[string]any{"answer": "not-affected"})); err != nil {
			t.Fatal(err)
		}
	}
	fed.WaitFor("fr holds both acknowledgements", 10*time.Second, func() bool { return detail(t, view(t, fr, id)).Acknowledged == 2 })
	clk.Advance(5 * time.Hour)

	dueOn := func(n *fedtest.Node) []string {
		ds, err := n.Workflow.Due(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, d := range ds {
			if d.ID != id {
				t.Errorf("%s: unexpected case due: %+v", n.Name, d)
				continue
			}
			if !d.Overdue {
				t.Errorf("%s: due but not overdue: %+v", n.Name, d)
			}
			for _, w := range d.WaitingOn {
				out = append(out, w.Name)
			}
		}
		return out
	}
	for _, c := range []struct {
		n       *fedtest.Node
		waits   string
		status  string
		overdue bool
		known   int // recipients whose acknowledgement the node knows
	}{
		{fr, "[cert-ee]", "awaiting 1 of 3 acknowledgements", true, 3},
		{ee, "[cert-ee]", "awaiting this node's acknowledgement", true, 1},
		{de, "[]", "acknowledged by this node", false, 1},
		{pl, "[]", "acknowledged by this node", false, 1},
	} {
		if got := fmt.Sprint(dueOn(c.n)); got != c.waits {
			t.Errorf("%s waits on %s, want %s", c.n.Name, got, c.waits)
		}
		v := view(t, c.n, id)
		if v.Status != c.status || v.Overdue != c.overdue {
			t.Errorf("%s: status %q overdue %v; want %q, %v", c.n.Name, v.Status, v.Overdue, c.status, c.overdue)
		}
		for _, d := range v.Deadlines {
			if c.n != fr && d.Party != c.n.Identity.IdentityID {
				t.Errorf("%s tracks %s's deadline: %+v", c.n.Name, d.PartyName, d)
			}
		}
		d := detail(t, v)
		known := 0
		for _, r := range d.Recipients {
			if r.Known {
				known++
			} else if r.Answer != "" || r.AcknowledgedAt != nil {
				t.Errorf("%s shows an answer it cannot know: %+v", c.n.Name, r)
			}
		}
		if known != c.known || len(d.Recipients) != 3 || d.Sent != (c.n == fr) {
			t.Errorf("%s: %d known of %+v (sent %v)", c.n.Name, known, d.Recipients, d.Sent)
		}
		// The list (alert list --json) carries the same.
		l, err := c.n.Workflow.List(ctx, "alert", false, 0)
		if err != nil || len(l) != 1 || l[0].ID != id || l[0].Status != c.status || l[0].Overdue != c.overdue {
			t.Errorf("%s's list: %+v, %v", c.n.Name, l, err)
		}
	}
	// EE acknowledges late: nothing is due anywhere any more.
	if _, err := ee.Workflow.Act(ctx, id, alert.ActionAck, "eve", mustJSON(t, map[string]any{"answer": "investigating"})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr holds ee's acknowledgement", 10*time.Second, func() bool { return detail(t, view(t, fr, id)).Acknowledged == 3 })
	for _, n := range []*fedtest.Node{fr, de, ee, pl} {
		if got := dueOn(n); len(got) != 0 {
			t.Errorf("%s still waits on %v", n.Name, got)
		}
	}
	if v := view(t, fr, id); v.Status != "acknowledged" {
		t.Errorf("fr: %q", v.Status)
	}
}
