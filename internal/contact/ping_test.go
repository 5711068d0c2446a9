package contact_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/contact"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/stix/stixschema"
	"github.com/entraide/entraide/internal/store/pgtest"
	"github.com/entraide/entraide/internal/workflow"
)

func fast() federation.Config {
	return federation.Config{PollInterval: 20 * time.Millisecond, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond, CosignInterval: -1}
}

func TestPingStorySQLite(t *testing.T) { runPingStory(t, nil) }

func TestPingStoryPostgreSQL(t *testing.T) {
	runPingStory(t, func(t testing.TB, _ string) string { return pgtest.DSN(t) })
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

func detail(t *testing.T, v *workflow.View) contact.View {
	t.Helper()
	var d contact.View
	if err := json.Unmarshal(v.Detail, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func recipient(t *testing.T, n *fedtest.Node, id, node string) contact.Recipient {
	t.Helper()
	v := view(t, n, id)
	if v == nil {
		return contact.Recipient{}
	}
	for _, r := range detail(t, v).Recipients {
		if r.Node == node {
			return r
		}
	}
	t.Fatalf("%s is not a recipient of %s", node, id)
	return contact.Recipient{}
}

func directory(t *testing.T, n *fedtest.Node) *contact.Directory {
	t.Helper()
	ctx := context.Background()
	nodes, err := contact.Nodes(ctx, n.Node, n.Fed.Registry())
	if err != nil {
		t.Fatal(err)
	}
	pings, err := contact.Pings(ctx, n.Workflow, 0)
	if err != nil {
		t.Fatal(err)
	}
	return contact.Build(nodes, pings, n.Clock.Now())
}

func role(t *testing.T, d *contact.Directory, node, role string) contact.RoleEntry {
	t.Helper()
	for _, n := range d.Nodes {
		if n.Name != node {
			continue
		}
		for _, r := range n.Roles {
			if r.Role == role {
				return r
			}
		}
		t.Fatalf("%s has no role %s in the directory: %+v", node, role, n.Roles)
	}
	t.Fatalf("no node %s in the directory", node)
	return contact.RoleEntry{}
}

// The ping workflow across four nodes. de publishes its law-enforcement
// 24/7 contact on a new card, which fr pins. fr pings it with a challenge;
// de's officer answers with the code as she read it, four minutes later, and
// fr's directory shows who answered and how fast. fr pings ee's CSIRT while
// ee is down: ee receives the ping once back, misses the deadline, fr sees
// it overdue; an answer of ee's node with a wrong code is left out, the late
// answer with the right one counts as late. lv, a peer but no party, tries
// to answer and is refused and audited. fr pings lv and closes the ping:
// lv can no longer answer. Every object validates against the STIX schemas.
func runPingStory(t *testing.T, db func(t testing.TB, name string) string) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	fed := fedtest.Start(t, fedtest.Options{DB: db, Federation: fast(), Clock: clk, Kinds: []*workflow.Kind{contact.Kind}}, "fr", "de", "ee", "lv")
	fr, de, ee, lv := fed.Node("fr"), fed.Node("de"), fed.Node("ee"), fed.Node("lv")

	// de publishes its points of contact; fr pins the new card.
	officer, err := contact.Spec{Role: "budapest-24x7", Name: "BKA 24/7 desk", Unit: "Cybercrime centre", Email: "24x7@bka.de.example",
		Phone: "+49 611 55 0", Languages: []string{"DE", "en"}, Hours: "24x7", Channels: []string{"signal=+49 170 1234567"}}.Contact()
	if err != nil {
		t.Fatal(err)
	}
	if officer.Role != card.RoleLE24x7 || officer.Hours != "24/7" || officer.Languages[0] != "de" {
		t.Fatalf("spec: %+v", officer)
	}
	// As 'entraide poc set' and 'entraide card export' do, in their own
	// process: another handle on de's data directory.
	cli, err := node.Open(ctx, de.Dir, func(string) string { return "" }, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.SetContacts(contact.Set(cli.Identity.Contacts, officer, false)); err != nil {
		t.Fatal(err)
	}
	cardDE, err := cli.Card()
	cli.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fr.Fed.Registry().AddAs(ctx, cardDE, "cert-de", clk.Now()); err != nil {
		t.Fatalf("fr pins de's new card: %v", err)
	}
	le := role(t, directory(t, fr), "cert-de", card.RoleLE24x7)
	if len(le.Contacts) != 1 || le.Contacts[0].Unit != "Cybercrime centre" || le.Contacts[0].OnDuty == nil || !*le.Contacts[0].OnDuty {
		t.Fatalf("fr's directory, de le-24x7: %+v", le)
	}

	// fr pings de's law-enforcement 24/7 contact.
	challenge, err := contact.NewChallenge(bytes.NewReader([]byte("fixed randomness")))
	if err != nil {
		t.Fatal(err)
	}
	res, err := fr.Workflow.Open(ctx, "ping", "alice", mustJSON(t, map[string]any{
		"to": []string{"cert-de"}, "tlp": "amber", "role": "le-24x7", "message": "Quarterly ping test of the 24/7 network.", "challenge": challenge,
	}))
	if err != nil {
		t.Fatal(err)
	}
	pingDE := res.ID
	if !strings.HasPrefix(pingDE, contact.Type+"--") || res.Queued != 1 || len(res.Refused) != 0 {
		t.Fatalf("open: %+v", res)
	}
	sent := clk.Now()
	fed.WaitFor("de receives the ping", 10*time.Second, func() bool { return view(t, de, pingDE) != nil })
	d := detail(t, view(t, de, pingDE))
	if d.Role != card.RoleLE24x7 || d.Challenge != challenge || d.Message == "" || !d.AnswerBy.Equal(sent.Add(2*time.Hour).Truncate(time.Millisecond)) {
		t.Fatalf("de's view: %+v", d)
	}
	due, err := de.Workflow.Due(ctx, 0)
	if err != nil || len(due) != 1 || due[0].ID != pingDE || len(due[0].WaitingOn) != 1 || due[0].WaitingOn[0].ID != fed.ID("de") {
		t.Fatalf("de's due list: %+v, %v", due, err)
	}

	// Answers without the code, with a wrong one, or by the sender are refused.
	for _, in := range []map[string]any{{}, {"challenge": "AAAA-BBBB"}} {
		if _, err := de.Workflow.Act(ctx, pingDE, contact.ActionAnswer, "petra", mustJSON(t, in)); !errors.Is(err, workflow.ErrInput) {
			t.Errorf("answer %v: %v", in, err)
		}
	}
	if _, err := fr.Workflow.Act(ctx, pingDE, contact.ActionAnswer, "alice", mustJSON(t, map[string]any{"challenge": challenge})); !errors.Is(err, workflow.ErrNotParty) {
		t.Errorf("the sender answers: %v", err)
	}
	// Four minutes later, Petra answers with the code as she read it aloud.
	clk.Advance(4 * time.Minute)
	typed := strings.ToLower(strings.ReplaceAll(challenge, "-", " "))
	if _, err := de.Workflow.Act(ctx, pingDE, contact.ActionAnswer, "Petra Weber", mustJSON(t, map[string]any{"challenge": typed, "comment": "loud and clear"})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr sees de's answer", 10*time.Second, func() bool { return recipient(t, fr, pingDE, fed.ID("de")).AnsweredAt != nil })
	r := recipient(t, fr, pingDE, fed.ID("de"))
	if r.AnsweredBy != "Petra Weber" || r.ResponseTime() != 4*time.Minute || !r.OnTime || r.Comment != "loud and clear" {
		t.Fatalf("de's answer at fr: %+v", r)
	}
	if v := view(t, fr, pingDE); v.Open || v.Status != "answered by Petra Weber in 4m" {
		t.Fatalf("fr's ping after the answer: open %v, %q", v.Open, v.Status)
	}
	if _, err := de.Workflow.Act(ctx, pingDE, contact.ActionAnswer, "petra", mustJSON(t, map[string]any{"challenge": challenge})); !errors.Is(err, workflow.ErrInput) ||
		!strings.Contains(err.Error(), "answered the ping already") {
		t.Errorf("a second answer: %v", err)
	}
	if _, err := fr.Workflow.Act(ctx, pingDE, contact.ActionClose, "alice", nil); !errors.Is(err, workflow.ErrInput) {
		t.Errorf("closing an answered ping: %v", err)
	}

	// ee is down when fr pings its CSIRT; it receives the ping once back.
	fed.Stop("ee")
	res, err = fr.Workflow.Open(ctx, "ping", "alice", mustJSON(t, map[string]any{
		"to": []string{"cert-ee"}, "tlp": "amber", "role": "csirt-24x7", "challenge": "tallinn-42",
	}))
	if err != nil {
		t.Fatal(err)
	}
	pingEE := res.ID
	fed.Start("ee")
	fed.WaitFor("ee receives the ping once back", 10*time.Second, func() bool {
		clk.Advance(100 * time.Millisecond) // the retry's backoff runs on the node's clock
		return view(t, ee, pingEE) != nil
	})
	if c := detail(t, view(t, ee, pingEE)).Challenge; c != "TALLINN-42" {
		t.Fatalf("ee's challenge %q", c)
	}
	// The deadline passes: fr sees the ping overdue, waiting on ee.
	clk.Advance(2*time.Hour + time.Minute)
	v := view(t, fr, pingEE)
	if !v.Overdue || len(v.WaitingOn) != 1 || v.WaitingOn[0].Name != "cert-ee" {
		t.Fatalf("after the deadline: overdue %v, waiting on %+v", v.Overdue, v.WaitingOn)
	}
	if st := role(t, directory(t, fr), "cert-ee", card.RoleCSIRT24x7).Pings; st.Missed != 1 || st.AnswerRate == nil || *st.AnswerRate != 0 || st.Last.Status != "expired" {
		t.Fatalf("fr's statistics of ee's CSIRT: %+v", st)
	}

	// lv is a peer of fr but no party to the ping: its answer is refused
	// on arrival, and audited.
	step := func(answer, actor string) json.RawMessage {
		return mustJSON(t, map[string]any{"type": workflow.StepType, "spec_version": "2.1", "id": stix.NewID(workflow.StepType),
			"created": workflow.Timestamp(clk.Now()), "modified": workflow.Timestamp(clk.Now()),
			"case_ref": pingEE, "transition": "answer", "actor": actor, "challenge_response": answer,
			"extensions": map[string]any{workflow.StepExtension.ID: map[string]any{"extension_type": "new-sdo"}}})
	}
	if _, err := lv.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{step("TALLINN-42", "mallory")}, TLP: stix.TLPAmber, Nodes: []string{"cert-fr"}, Actor: "mallory"}); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr refuses lv's answer", 10*time.Second, func() bool {
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
	// An answer of ee's node with a wrong code (a node that does not check
	// it) reaches fr, and is left out.
	if _, err := ee.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{step("GUESS", "bot")}, TLP: stix.TLPAmber, Nodes: []string{"cert-fr"}, Actor: "bot"}); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr counts ee's wrong code", 10*time.Second, func() bool { return recipient(t, fr, pingEE, fed.ID("ee")).WrongChallenge == 1 })
	if r := recipient(t, fr, pingEE, fed.ID("ee")); r.AnsweredAt != nil {
		t.Fatalf("an answer with a wrong code counted: %+v", r)
	}
	// ee answers late, with the right code.
	if _, err := ee.Workflow.Act(ctx, pingEE, contact.ActionAnswer, "Eve Tamm", mustJSON(t, map[string]any{"challenge": "tallinn 42"})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr sees ee's late answer", 10*time.Second, func() bool { return recipient(t, fr, pingEE, fed.ID("ee")).AnsweredAt != nil })
	if r := recipient(t, fr, pingEE, fed.ID("ee")); r.OnTime || r.AnsweredBy != "Eve Tamm" {
		t.Fatalf("ee's late answer: %+v", r)
	}

	// fr's directory: de answered on time, ee late.
	dir := directory(t, fr)
	st := role(t, dir, "cert-de", card.RoleLE24x7).Pings
	if st.Pings != 1 || st.OnTime != 1 || *st.AnswerRate != 1 || *st.MedianResponseSeconds != 240 || st.Last.AnsweredBy != "Petra Weber" || st.Last.Status != "answered" {
		t.Fatalf("fr's statistics of de's le-24x7: %+v", st)
	}
	if st := role(t, dir, "cert-ee", card.RoleCSIRT24x7).Pings; st.Answered != 1 || st.OnTime != 0 || st.Missed != 1 || st.Last.Status != "answered late" {
		t.Fatalf("fr's statistics of ee's CSIRT: %+v", st)
	}
	// de's directory: its own role, pinged once and answered on time.
	if st := role(t, directory(t, de), "cert-de", card.RoleLE24x7).Pings; st.Pings != 1 || st.OnTime != 1 {
		t.Fatalf("de's statistics of its own role: %+v", st)
	}

	// fr pings lv's diplomatic contact and closes the ping: lv can no
	// longer answer.
	res, err = fr.Workflow.Open(ctx, "ping", "alice", mustJSON(t, map[string]any{"to": []string{"cert-lv"}, "tlp": "green", "role": "diplomatic"}))
	if err != nil {
		t.Fatal(err)
	}
	pingLV := res.ID
	fed.WaitFor("lv receives the ping", 10*time.Second, func() bool { return view(t, lv, pingLV) != nil })
	if by := detail(t, view(t, lv, pingLV)).AnswerBy; !by.Equal(clk.Now().Add(72 * time.Hour).Truncate(time.Millisecond)) {
		t.Errorf("default deadline of a diplomatic ping: %s", by)
	}
	if _, err := fr.Workflow.Act(ctx, pingLV, contact.ActionClose, "alice", mustJSON(t, map[string]any{"comment": "sent by mistake"})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("lv sees the ping closed", 10*time.Second, func() bool { return detail(t, view(t, lv, pingLV)).ClosedAt != nil })
	if _, err := lv.Workflow.Act(ctx, pingLV, contact.ActionAnswer, "Liga", nil); !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), "closed") {
		t.Errorf("answering a closed ping: %v", err)
	}
	if st := role(t, directory(t, fr), "cert-lv", card.RoleDiplomatic).Pings; st.Pings != 1 || st.AnswerRate != nil || st.Last.Status != "closed" {
		t.Errorf("a ping closed before its deadline counts: %+v", st)
	}

	// Every object emitted validates against the official schemas.
	for _, c := range []struct {
		n  *fedtest.Node
		id string
	}{{fr, pingDE}, {de, pingDE}, {fr, pingEE}, {ee, pingEE}, {fr, pingLV}, {lv, pingLV}} {
		cs, steps, err := c.n.Workflow.Load(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		stixschema.Validate(t, cs.Raw)
		for _, s := range steps {
			stixschema.Validate(t, s.Raw)
		}
	}
	stixschema.Validate(t, contact.Extension.Definition())
}

func TestOpenRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Kinds: []*workflow.Kind{contact.Kind}}, "fr", "de")
	fr := fed.Node("fr")
	base := map[string]any{"to": []string{"cert-de"}, "tlp": "amber", "role": "csirt-24x7"}
	for _, c := range []struct {
		name string
		set  map[string]any
		want string
	}{
		{"no role", map[string]any{"role": ""}, "role is required"},
		{"unknown role", map[string]any{"role": "csirt"}, `role "csirt": did you mean "csirt-24x7"?`},
		{"police", map[string]any{"role": "police"}, `did you mean "le-24x7"?`},
		{"typo", map[string]any{"role": "diplomatc"}, `did you mean "diplomatic"?`},
		{"nonsense role", map[string]any{"role": "zzzz"}, "want one of csirt-24x7 (CSIRT 24/7), le-24x7"},
		{"message too long", map[string]any{"message": strings.Repeat("x", 2001)}, "message is 2001 characters long"},
		{"deadline in the past", map[string]any{"answer_by": "2020-01-01T00:00:00Z"}, "in the past"},
		{"deadline too far", map[string]any{"answer_by": "5w"}, "more than 30 days away"},
		{"bad deadline", map[string]any{"answer_by": "soon"}, "neither a duration"},
		{"short challenge", map[string]any{"challenge": "AB"}, `challenge "AB": use 4 to 32`},
		{"challenge with spaces", map[string]any{"challenge": "AB CD"}, "challenge"},
		{"red", map[string]any{"tlp": "red"}, "cannot be TLP:RED"},
		{"unknown peer", map[string]any{"to": []string{"cert-xx"}}, `no peer "cert-xx"`},
		{"nobody", map[string]any{"to": []string{}}, "say who receives"},
		{"unknown field", map[string]any{"deadline": "2h"}, `unknown field "deadline"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := map[string]any{}
			for k, v := range base {
				in[k] = v
			}
			for k, v := range c.set {
				in[k] = v
			}
			_, err := fr.Workflow.Open(ctx, "ping", "alice", mustJSON(t, in))
			if !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an input error with %q", err, c.want)
			}
		})
	}
	if l, err := fr.Workflow.List(ctx, "", false, 0); err != nil || len(l) != 0 {
		t.Fatalf("list after refusals: %v, %v", l, err)
	}
}
