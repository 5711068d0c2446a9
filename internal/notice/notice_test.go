package notice_test

import (
	"bytes"
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
	"github.com/entraide/entraide/internal/notice"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/stix/stixschema"
	"github.com/entraide/entraide/internal/store/pgtest"
	"github.com/entraide/entraide/internal/workflow"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

func fast() federation.Config {
	return federation.Config{PollInterval: 20 * time.Millisecond, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond, CosignInterval: -1}
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

func detail(t *testing.T, v *workflow.View) notice.View {
	t.Helper()
	var d notice.View
	if v == nil {
		return d
	}
	if err := json.Unmarshal(v.Detail, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func recipient(t *testing.T, n *fedtest.Node, id, node string) notice.Recipient {
	t.Helper()
	for _, r := range detail(t, view(t, n, id)).Recipients {
		if r.Node == node {
			return r
		}
	}
	return notice.Recipient{}
}

// near says whether t is within a millisecond of want (STIX timestamps
// keep milliseconds).
func near(t *time.Time, want time.Time) bool { return t != nil && t.Sub(want).Abs() < time.Millisecond }

// refused waits until node n has refused, and audited, a step from peer
// whose reason says want.
func refused(t *testing.T, fed *fedtest.Federation, n *fedtest.Node, peer, want string) {
	t.Helper()
	fed.WaitFor(n.Name+" refuses "+peer+"'s step", 10*time.Second, func() bool {
		es, err := n.Fed.Audit().Entries(context.Background(), audit.Query{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Kind == audit.KindRefuse && e.Peer == fed.ID(peer) && strings.Contains(e.Reason, want) {
				return true
			}
		}
		return false
	})
}

// forge builds a step signed by whichever node shares it.
func forge(t *testing.T, now time.Time, caseID, action string, props map[string]any) json.RawMessage {
	m := map[string]any{"type": workflow.StepType, "spec_version": "2.1", "id": stix.NewID(workflow.StepType),
		"created": workflow.Timestamp(now), "modified": workflow.Timestamp(now),
		"case_ref": caseID, "transition": action, "actor": "mallory",
		"extensions": map[string]any{workflow.StepExtension.ID: map[string]any{"extension_type": "new-sdo"}}}
	for k, v := range props {
		m[k] = v
	}
	return mustJSON(t, m)
}

func TestNoticeStorySQLite(t *testing.T) { runNoticeStory(t, nil) }

func TestNoticeStoryPostgreSQL(t *testing.T) {
	runNoticeStory(t, func(t testing.TB, _ string) string { return pgtest.DSN(t) })
}

// The due-diligence story across four nodes. fr notifies de and ee that a
// DDoS is driven from infrastructure on their territory; ee is down when
// the notice leaves and receives it once back. de responds "investigating"
// after two hours and "action-taken" three hours later: fr sees both
// delays. ee lets the deadline pass: fr sees it overdue, reminds it with a
// new deadline, and ee declines in time, with a reason. lv, a peer but no
// party, answers anyway and is refused and audited; de tries to close fr's
// notice and is refused too. A duplicated response counts once. fr closes:
// de sees it closed, and a response after that is refused. Answers go to
// fr only: de never sees ee's. Every object validates against the STIX
// schemas.
func runNoticeStory(t *testing.T, db func(t testing.TB, name string) string) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	fed := fedtest.Start(t, fedtest.Options{DB: db, Federation: fast(), Clock: clk, Kinds: []*workflow.Kind{notice.Kind}}, "fr", "de", "ee", "lv")
	fr, de, ee, lv := fed.Node("fr"), fed.Node("de"), fed.Node("ee"), fed.Node("lv")
	fed.Stop("ee")

	evidence := stix.NewID("observed-data")
	res, err := fr.Workflow.Open(ctx, "notice", "alice", mustJSON(t, map[string]any{
		"to": []string{"cert-de", "cert-ee"}, "tlp": "amber",
		"title":       "DDoS against the tax portal driven from hosted C2",
		"description": "Layer-7 flood since 06:00 UTC; the bots are told what to hit by the hosts below.",
		"activity":    []string{"availability:ddos", "malicious-code:c2-server"},
		"indicators":  []string{"198.51.100.7", "203.0.113.0/24", "hxxp://c2[.]example[.]net/gate.php", "AS64500", "2001:db8::7"},
		"evidence":    []string{evidence}, "requested_action": "Take the C2 hosts offline and preserve their logs for 90 days.",
		"severity": "3", "first_seen": workflow.Timestamp(clk.Now().Add(-6 * time.Hour)),
	}))
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	if !strings.HasPrefix(id, notice.Type+"--") || res.Queued != 2 || len(res.Refused) != 0 {
		t.Fatalf("send: %+v", res)
	}
	fed.WaitFor("de receives the notice", 10*time.Second, func() bool { return view(t, de, id) != nil })
	dv := view(t, de, id)
	d := detail(t, dv)
	if dv.ReceivedAt == nil || dv.Origin.Name != "cert-fr" || dv.TLP != "amber" || dv.Severity != 3 || len(d.Indicators) != 5 ||
		d.Indicators[2].Value != "http://c2.example.net/gate.php" || d.Indicators[3].Number != 64500 || d.Evidence[0] != evidence ||
		d.FirstSeen == nil || d.Activity[1] != "malicious-code:c2-server" {
		t.Fatalf("de's view: %+v\n%+v", dv, d)
	}

	// de investigates after 2h, acts 3h later; fr sees both delays.
	clk.Advance(2 * time.Hour)
	if _, err := de.Workflow.Act(ctx, id, notice.ActionRespond, "bernd", mustJSON(t, map[string]any{"answer": "investigating", "comment": "hosting provider contacted"})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr sees de investigating", 10*time.Second, func() bool { return recipient(t, fr, id, fed.ID("de")).Answer == "investigating" })
	clk.Advance(3 * time.Hour)
	r, err := de.Workflow.Act(ctx, id, notice.ActionRespond, "bernd", mustJSON(t, map[string]any{"answer": "action-taken", "action_taken": "Two servers seized; logs preserved."}))
	if err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr sees de's action", 10*time.Second, func() bool { return recipient(t, fr, id, fed.ID("de")).Answer == "action-taken" })
	rd := recipient(t, fr, id, fed.ID("de"))
	if *rd.FirstDelay != 2*3600 || *rd.FinalDelay != 5*3600 || rd.Late || rd.ActionTaken != "Two servers seized; logs preserved." || rd.Comment != "" || rd.Actor != "bernd" || rd.Responses != 2 {
		t.Fatalf("de's response as fr sees it: %+v", rd)
	}

	// A duplicated delivery of de's response counts once (re-shared at
	// the same instant, it is the same signed object).
	_, steps, err := de.Workflow.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var dup []byte
	for _, s := range steps {
		if s.ID == r.Object {
			dup = s.Raw
		}
	}
	if _, err := de.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{dup}, Nodes: []string{"cert-fr"}, Actor: "bernd"}); err != nil {
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
	if rd := recipient(t, fr, id, fed.ID("de")); rd.Responses != 2 {
		t.Fatalf("after the duplicate: %+v", rd)
	}

	// ee comes back and receives the notice.
	fed.Start("ee")
	fed.WaitFor("ee receives the notice once back", 10*time.Second, func() bool {
		clk.Advance(100 * time.Millisecond) // the retry's backoff runs on the node's clock
		return view(t, ee, id) != nil
	})
	// A recipient does not see another's answer: they went to fr alone.
	if e := recipient(t, ee, id, fed.ID("de")); e.Answer != "" {
		t.Fatalf("ee sees de's answer: %+v", e)
	}

	// ee's deadline (72h) passes: fr sees it overdue, the case waits on ee.
	clk.Advance(68 * time.Hour)
	v := view(t, fr, id)
	if !v.Overdue || len(v.WaitingOn) != 1 || v.WaitingOn[0].Name != "cert-ee" || v.Status != "awaiting 1 of 2 responses" {
		t.Fatalf("after the deadline: overdue %v, waiting on %+v, %s", v.Overdue, v.WaitingOn, v.Status)
	}
	due, err := fr.Workflow.Due(ctx, 0)
	if err != nil || len(due) != 1 || due[0].ID != id || !due[0].Overdue {
		t.Fatalf("due: %+v, %v", due, err)
	}
	// fr reminds, with a new deadline for ee; ee sees the reminder.
	if _, err := fr.Workflow.Act(ctx, id, notice.ActionRemind, "alice", mustJSON(t, map[string]any{"comment": "The attack goes on.", "respond_by": "24h"})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("ee sees the reminder", 10*time.Second, func() bool { return len(detail(t, view(t, ee, id)).Reminders) == 1 })
	if v := view(t, fr, id); v.Overdue || !near(v.NextDue, clk.Now().Add(24*time.Hour)) {
		t.Fatalf("after the reminder: overdue %v, next due %v (now %v)", v.Overdue, v.NextDue, clk.Now())
	}
	if e := recipient(t, ee, id, fed.ID("ee")); e.Reminded != 1 {
		t.Fatalf("ee's own row: %+v", e)
	}

	// lv, a peer but not a party, answers: refused on arrival, audited.
	if _, err := lv.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{forge(t, clk.Now(), id, notice.ActionRespond, map[string]any{"answer": "no-action", "reason": "x"})},
		TLP: stix.TLPAmber, Nodes: []string{"cert-fr"}, Actor: "mallory"}); err != nil {
		t.Fatal(err)
	}
	refused(t, fed, fr, "lv", "not a party")
	// de, a party, tries to close fr's notice: refused, audited.
	if _, err := de.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{forge(t, clk.Now(), id, notice.ActionClose, map[string]any{"outcome": "done"})},
		TLP: stix.TLPAmber, Nodes: []string{"cert-fr"}, Actor: "mallory"}); err != nil {
		t.Fatal(err)
	}
	refused(t, fed, fr, "de", "only the sender of a notice may close it")
	if v := view(t, fr, id); v.Status != "awaiting 1 of 2 responses" || !v.Open {
		t.Fatalf("after the refused steps: %s", v.Status)
	}

	// ee declines, with a reason, in time for the new deadline.
	clk.Advance(10 * time.Hour)
	if _, err := ee.Workflow.Act(ctx, id, notice.ActionRespond, "eve", mustJSON(t, map[string]any{"answer": "no-action"})); !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), "reason is required") {
		t.Fatalf("no-action without a reason: %v", err)
	}
	if _, err := ee.Workflow.Act(ctx, id, notice.ActionRespond, "eve", mustJSON(t, map[string]any{"answer": "no-action", "reason": "The addresses are not announced from EE.", "comment": "See RIPE"})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr sees ee's answer", 10*time.Second, func() bool { return recipient(t, fr, id, fed.ID("ee")).Answer == "no-action" })
	re := recipient(t, fr, id, fed.ID("ee"))
	if re.Late || re.Reason != "The addresses are not announced from EE." || re.Reminded != 1 || *re.FirstDelay < 80*3600 || *re.FirstDelay != *re.FinalDelay {
		t.Fatalf("ee's answer as fr sees it: %+v", re)
	}
	if v := view(t, fr, id); v.Status != "answered" || v.NextDue != nil {
		t.Fatalf("all answered: %s, next due %v", v.Status, v.NextDue)
	}

	// The sender cannot respond; fr closes; de sees it closed and can no
	// longer respond.
	if _, err := fr.Workflow.Act(ctx, id, notice.ActionRespond, "alice", mustJSON(t, map[string]any{"answer": "investigating"})); !errors.Is(err, workflow.ErrNotParty) {
		t.Fatalf("the sender responds: %v", err)
	}
	if _, err := fr.Workflow.Act(ctx, id, notice.ActionClose, "alice", mustJSON(t, map[string]any{"outcome": "C2 seized in DE; EE not concerned."})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("de sees the notice closed", 10*time.Second, func() bool { v := view(t, de, id); return v != nil && v.Status == "closed" })
	if d := detail(t, view(t, de, id)); d.Outcome != "C2 seized in DE; EE not concerned." {
		t.Fatalf("de's view of the close: %+v", d)
	}
	if _, err := de.Workflow.Act(ctx, id, notice.ActionRespond, "bernd", mustJSON(t, map[string]any{"answer": "investigating"})); !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("respond after close: %v", err)
	}
	// The lists agree: fr's shows the notice closed with both delays.
	l, err := fr.Workflow.List(ctx, "notice", false, 0)
	if err != nil || len(l) != 1 || l[0].Status != "closed" {
		t.Fatalf("list: %+v, %v", l, err)
	}
	var ld notice.View
	if err := json.Unmarshal(l[0].Detail, &ld); err != nil || ld.Answered != 2 {
		t.Fatalf("list detail: %+v, %v", ld, err)
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
	stixschema.Validate(t, notice.Extension.Definition())
	// And against the schemas the extension-definitions publish.
	c, steps, err := fr.Workflow.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ownSchema(t, notice.Extension, c.Raw)
	for _, s := range steps {
		ownSchema(t, workflow.StepExtension, s.Raw)
	}
}

// ownSchema checks raw against the JSON schema an extension publishes.
func ownSchema(t *testing.T, e workflow.Extension, raw []byte) {
	t.Helper()
	if err := schemaCheck(t, e, raw); err != nil {
		t.Errorf("%s does not accept the object: %v\n%s", e.SchemaURL, err, raw)
	}
}

func schemaCheck(t *testing.T, e workflow.Extension, raw []byte) error {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(e.Schema))
	if err != nil {
		t.Fatalf("%s: %v", e.SchemaURL, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(e.SchemaURL, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(e.SchemaURL)
	if err != nil {
		t.Fatalf("%s: %v", e.SchemaURL, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(inst)
}

// The extension-definition's id is part of the wire format: every node
// must compute the same one.
func TestExtensionID(t *testing.T) {
	if got, want := notice.Extension.ID, "extension-definition--6eb6adba-8453-5af6-b049-b22bf028c018"; got != want {
		t.Fatalf("extension id %s, want %s", got, want)
	}
	if notice.Extension.ID != workflow.ExtensionID(notice.Extension.SchemaURL) {
		t.Fatal("the id is not derived from the schema URL")
	}
	var sch struct {
		ID string `json:"$id"`
	}
	if err := json.Unmarshal(notice.Extension.Schema, &sch); err != nil || sch.ID != notice.Extension.SchemaURL {
		t.Fatalf("schema $id %q, want %q (%v)", sch.ID, notice.Extension.SchemaURL, err)
	}
	// The schema refuses what a notice must not be.
	ok := map[string]any{"type": notice.Type, "name": "n", "activity_types": []string{"availability:ddos"},
		"indicators":       []any{map[string]any{"type": "ipv4-addr", "value": "198.51.100.7"}, map[string]any{"type": "autonomous-system", "number": 64500}},
		"requested_action": "r", "respond_by": "2026-03-05T06:00:00.000Z", "recipient_refs": []string{"identity--5b1e2c2a-3b4e-4c7a-9a41-1d2c3b4a5e6f"}}
	if err := schemaCheck(t, notice.Extension, mustJSON(t, ok)); err != nil {
		t.Fatalf("a minimal notice: %v", err)
	}
	for name, bad := range map[string]map[string]any{
		"no indicators": {"indicators": nil},
		"AS with value": {"indicators": []any{map[string]any{"type": "autonomous-system", "value": "AS1"}}},
		"unknown type":  {"indicators": []any{map[string]any{"type": "email-addr", "value": "a@b.example"}}},
		"bad evidence":  {"evidence_refs": []string{"identity--5b1e2c2a-3b4e-4c7a-9a41-1d2c3b4a5e6f"}},
		"no recipients": {"recipient_refs": []string{}},
		"bad severity":  {"common_severity": 6},
		"no request":    {"requested_action": ""},
		"no activity":   {"activity_types": []string{}},
	} {
		m := map[string]any{}
		for k, v := range ok {
			m[k] = v
		}
		for k, v := range bad {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		if schemaCheck(t, notice.Extension, mustJSON(t, m)) == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
	}
}

// The response deadline, on the fake clock: 72h by default; overdue at
// 72h and not a second before; a late first response meets it late; a
// reminder's new deadline applies to those who have not responded; every
// action refuses what it does not take.
func TestNoticeDeadline(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC))
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Clock: clk, Kinds: []*workflow.Kind{notice.Kind}}, "fr", "de", "ee")
	fr, de, ee := fed.Node("fr"), fed.Node("de"), fed.Node("ee")
	res, err := fr.Workflow.Open(ctx, "notice", "alice", mustJSON(t, map[string]any{
		"to": []string{"cert-de", "cert-ee"}, "tlp": "green", "title": "Phishing kit hosted on two domains",
		"activity": []string{"fraud:phishing"}, "indicators": []string{"login-bank.example", "https://login-bank.example/kit/"},
		"requested_action": "Suspend the domains.",
	}))
	if err != nil {
		t.Fatal(err)
	}
	id := res.ID
	opened := clk.Now()
	for _, n := range []*fedtest.Node{de, ee} {
		fed.WaitFor(n.Name+" receives the notice", 10*time.Second, func() bool { return view(t, n, id) != nil })
	}
	if d := detail(t, view(t, fr, id)); !d.RespondBy.Equal(opened.Add(notice.DefaultRespondWithin)) {
		t.Fatalf("default deadline %v, want %v", d.RespondBy, opened.Add(notice.DefaultRespondWithin))
	}
	clk.Set(opened.Add(72*time.Hour - time.Second))
	if v := view(t, fr, id); v.Overdue || len(v.WaitingOn) != 2 {
		t.Fatalf("a second before the deadline: overdue %v, waiting on %+v", v.Overdue, v.WaitingOn)
	}
	clk.Set(opened.Add(72*time.Hour + time.Second))
	v := view(t, fr, id)
	if !v.Overdue || len(v.WaitingOn) != 2 {
		t.Fatalf("a second after: overdue %v, waiting on %+v", v.Overdue, v.WaitingOn)
	}
	for _, dl := range v.Deadlines {
		if !dl.Overdue || dl.What != "respond" {
			t.Fatalf("deadline: %+v", dl)
		}
	}
	// de's own node sees its deadline overdue too.
	if v := view(t, de, id); !v.Overdue {
		t.Fatal("de does not see its deadline overdue")
	}

	// Input errors of the actions.
	for _, c := range []struct {
		name   string
		n      *fedtest.Node
		action string
		in     map[string]any
		want   string
		kind   error
	}{
		{"no answer", de, notice.ActionRespond, map[string]any{}, `answer ""`, workflow.ErrInput},
		{"bad answer", de, notice.ActionRespond, map[string]any{"answer": "done"}, "want action-taken, investigating or no-action", workflow.ErrInput},
		{"action-taken without the action", de, notice.ActionRespond, map[string]any{"answer": "action-taken"}, "action_taken is required", workflow.ErrInput},
		{"reason with action-taken", de, notice.ActionRespond, map[string]any{"answer": "action-taken", "action_taken": "x", "reason": "y"}, "reason goes with answer no-action", workflow.ErrInput},
		{"action with investigating", de, notice.ActionRespond, map[string]any{"answer": "investigating", "action_taken": "x"}, "action_taken goes with answer action-taken", workflow.ErrInput},
		{"unknown field", de, notice.ActionRespond, map[string]any{"answer": "investigating", "outcome": "x"}, `unknown field "outcome"`, workflow.ErrInput},
		{"too long", de, notice.ActionRespond, map[string]any{"answer": "investigating", "comment": strings.Repeat("x", 5001)}, "at most 5000", workflow.ErrInput},
		{"close without outcome", fr, notice.ActionClose, map[string]any{}, "outcome is required", workflow.ErrInput},
		{"remind in the past", fr, notice.ActionRemind, map[string]any{"respond_by": "2020-01-01T00:00:00Z"}, "in the past", workflow.ErrInput},
		{"recipient closes", de, notice.ActionClose, map[string]any{"outcome": "x"}, "only the sender", workflow.ErrNotParty},
		{"recipient reminds", de, notice.ActionRemind, map[string]any{}, "only the sender", workflow.ErrNotParty},
		{"sender responds", fr, notice.ActionRespond, map[string]any{"answer": "investigating"}, "does not respond", workflow.ErrNotParty},
		{"unknown action", fr, "ack", map[string]any{}, "not an action of the notice workflow", workflow.ErrInput},
	} {
		_, err := c.n.Workflow.Act(ctx, id, c.action, "x", mustJSON(t, c.in))
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %v with %q", c.name, err, c.kind, c.want)
		}
	}

	// de responds late.
	if _, err := de.Workflow.Act(ctx, id, notice.ActionRespond, "bernd", mustJSON(t, map[string]any{"answer": "investigating"})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr sees de's late response", 10*time.Second, func() bool { return recipient(t, fr, id, fed.ID("de")).FirstResponseAt != nil })
	if rd := recipient(t, fr, id, fed.ID("de")); !rd.Late {
		t.Fatalf("de's late response: %+v", rd)
	}
	v = view(t, fr, id)
	if len(v.WaitingOn) != 1 || v.WaitingOn[0].Name != "cert-ee" || !v.Overdue {
		t.Fatalf("waiting on %+v, overdue %v", v.WaitingOn, v.Overdue)
	}
	// A reminder gives ee one more day; de has responded: its deadline stays.
	clk.Advance(time.Minute)
	if _, err := fr.Workflow.Act(ctx, id, notice.ActionRemind, "alice", mustJSON(t, map[string]any{"respond_by": "1d"})); err != nil {
		t.Fatal(err)
	}
	v = view(t, fr, id)
	if v.Overdue || !near(v.NextDue, clk.Now().Add(24*time.Hour)) {
		t.Fatalf("after the reminder: overdue %v, next due %v", v.Overdue, v.NextDue)
	}
	if rd, re := recipient(t, fr, id, fed.ID("de")), recipient(t, fr, id, fed.ID("ee")); !rd.RespondBy.Equal(opened.Add(72*time.Hour)) ||
		!near(&re.RespondBy, clk.Now().Add(24*time.Hour)) || rd.Reminded != 1 || re.Reminded != 1 {
		t.Fatalf("only ee's deadline moves: de %+v\nee %+v", rd, re)
	}
	clk.Advance(25 * time.Hour)
	if v := view(t, fr, id); !v.Overdue {
		t.Fatal("the reminder's deadline passed: not overdue")
	}
	if _, err := ee.Workflow.Act(ctx, id, notice.ActionRespond, "eve", mustJSON(t, map[string]any{"answer": "action-taken", "action_taken": "Domains suspended at the registrar."})); err != nil {
		t.Fatal(err)
	}
	if _, err := de.Workflow.Act(ctx, id, notice.ActionRespond, "bernd", mustJSON(t, map[string]any{"answer": "no-action", "reason": "Registrar outside our jurisdiction."})); err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("fr sees both answers", 10*time.Second, func() bool { v := view(t, fr, id); return v.Status == "answered" })
	if re := recipient(t, fr, id, fed.ID("ee")); !re.Late || re.FinalAt == nil {
		t.Fatalf("ee: %+v", re)
	}
	if v := view(t, fr, id); v.Overdue || v.NextDue != nil {
		t.Fatalf("answered: overdue %v, next %v", v.Overdue, v.NextDue)
	}
	// Everyone has a final answer: nobody to remind.
	if _, err := fr.Workflow.Act(ctx, id, notice.ActionRemind, "alice", nil); !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), "nobody to remind") {
		t.Fatalf("remind when all answered: %v", err)
	}
}

func TestSendRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Kinds: []*workflow.Kind{notice.Kind}}, "fr", "de")
	fr := fed.Node("fr")
	base := map[string]any{"to": []string{"cert-de"}, "tlp": "amber", "title": "t", "activity": []string{"availability:ddos"},
		"indicators": []string{"198.51.100.7"}, "requested_action": "Stop it."}
	for _, c := range []struct {
		name string
		set  map[string]any
		want string
	}{
		{"no title", map[string]any{"title": ""}, "title is required"},
		{"no activity", map[string]any{"activity": nil}, "activity is required"},
		{"activity class only", map[string]any{"activity": []string{"availability"}}, `"availability" is an RSIT class: give one of its types`},
		{"unknown activity", map[string]any{"activity": []string{"availability:ddoss"}}, `did you mean "availability:ddos"`},
		{"no indicators", map[string]any{"indicators": []string{}}, "indicators are required"},
		{"private address", map[string]any{"indicators": []string{"198.51.100.7", "10.0.0.1"}}, `"10.0.0.1" is a private address`},
		{"bad domain", map[string]any{"indicators": []string{"evil..example"}}, `"evil..example" is not a domain name`},
		{"bad URL scheme", map[string]any{"indicators": []string{"ftp://evil.example/"}}, `scheme "ftp"`},
		{"bad AS", map[string]any{"indicators": []string{"AS65000"}}, "private-use AS number"},
		{"evidence of the wrong type", map[string]any{"evidence": []string{"identity--5b1e2c2a-3b4e-4c7a-9a41-1d2c3b4a5e6f"}}, "want an object of type indicator, observed-data"},
		{"bad evidence id", map[string]any{"evidence": []string{"indicator--nope"}}, `reference "indicator--nope"`},
		{"no requested action", map[string]any{"requested_action": " "}, "requested_action is required: say what you ask"},
		{"deadline in the past", map[string]any{"respond_by": "2020-01-01T00:00:00Z"}, "in the past"},
		{"bad deadline", map[string]any{"respond_by": "soon"}, "neither a duration"},
		{"first seen in the future", map[string]any{"first_seen": "2999-01-01T00:00:00Z"}, "first_seen: 2999-01-01T00:00:00Z is in the future"},
		{"bad last seen", map[string]any{"last_seen": "yesterday"}, "not an RFC 3339 time"},
		{"last before first", map[string]any{"first_seen": "2025-01-02T00:00:00Z", "last_seen": "2025-01-01T00:00:00Z"}, "is before first_seen"},
		{"bad severity", map[string]any{"severity": "9"}, "severity"},
		{"red", map[string]any{"tlp": "red"}, "cannot be TLP:RED"},
		{"unknown peer", map[string]any{"to": []string{"cert-xx"}}, `no peer "cert-xx"`},
		{"nobody", map[string]any{"to": []string{}}, "say who receives"},
		{"unknown field", map[string]any{"ips": []string{"198.51.100.7"}}, `unknown field "ips"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := map[string]any{}
			for k, v := range base {
				in[k] = v
			}
			for k, v := range c.set {
				in[k] = v
			}
			_, err := fr.Workflow.Open(ctx, "notice", "alice", mustJSON(t, in))
			if !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an input error with %q", err, c.want)
			}
		})
	}
	if l, err := fr.Workflow.List(ctx, "", false, 0); err != nil || len(l) != 0 {
		t.Fatalf("list after refusals: %v, %v", l, err)
	}
	// Severity is optional; without it the case has none.
	res, err := fr.Workflow.Open(ctx, "notice", "alice", mustJSON(t, base))
	if err != nil {
		t.Fatal(err)
	}
	if v := view(t, fr, res.ID); v.Severity != -1 || detail(t, v).Severity != -1 {
		t.Fatalf("no severity: %d", v.Severity)
	}
}
