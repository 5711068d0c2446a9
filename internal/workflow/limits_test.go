package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/alert"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/contact"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/preservation"
	"github.com/entraide/entraide/internal/provenance"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/workflow"
)

func fastFed() federation.Config {
	return federation.Config{PollInterval: 20 * time.Millisecond, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond, CosignInterval: -1}
}

func preservationRequest(kv ...any) json.RawMessage {
	m := map[string]any{
		"requesting_authority": "Paris public prosecutor, J3 cybercrime section",
		"offence":              "extortion by ransomware",
		"facts":                "a hospital in Lyon was encrypted; the ransom note names a mailbox at mail.example.ee",
		"stored_data":          "connection logs of the mailbox, 1–30 November",
		"relation":             "the mailbox received the ransom negotiations",
		"custodian":            "Example Mail OÜ, Tallinn",
		"reason":               "the provider deletes connection logs after 30 days",
		"mla_intent":           true,
		"target_country":       "EE",
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return b
}

// The kind's declarative limits hold on Open whatever the caller (the CLI,
// the API, the console and exercises all call Engine.Open), and a
// partner's case that breaks them is shown as not valid, with nothing due.
func TestKindLimitsAcrossNodes(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	fed := fedtest.Start(t, fedtest.Options{Federation: fastFed(), Clock: clk,
		Kinds: []*workflow.Kind{preservation.Kind, contact.Kind, alert.Kind}}, "fr", "ee", "de")
	fed.Community("budapest", stix.TLPAmberStrict, "fr", "ee", "de")
	fr, ee := fed.Node("fr"), fed.Node("ee")

	for _, c := range []struct {
		name string
		in   json.RawMessage
		want []string
	}{
		{"two nodes", preservationRequest("to", []string{"cert-ee", "cert-de"}), []string{"exactly 1 node", "send one request per country", "this one goes to 2"}},
		{"a community", preservationRequest("communities", []string{"budapest"}), []string{"exactly 1 node", "this one goes to 2"}},
		{"a node and a community", preservationRequest("to", []string{"cert-ee"}, "communities", []string{"budapest"}), []string{"this one goes to 2"}},
		{"RED", preservationRequest("to", []string{"cert-ee"}, "tlp", "red"), []string{"cannot be TLP:RED"}},
		{"no tlp, no default", nil, []string{"tlp is required"}},
	} {
		kind := preservation.KindName
		in := c.in
		if in == nil {
			kind, in = "alert", json.RawMessage(`{"to":["cert-ee"],"title":"Wiper","severity":"3"}`)
		}
		_, err := fr.Workflow.Open(ctx, kind, "alice", in)
		if !errors.Is(err, workflow.ErrInput) {
			t.Fatalf("%s: %v, want an input error", c.name, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.name, err, w)
			}
		}
	}
	if cs, err := fr.Workflow.List(ctx, "", false, 0); err != nil || len(cs) != 0 {
		t.Fatalf("refused requests left cases: %v %v", cs, err)
	}

	// Without tlp, a preservation request is AMBER+STRICT and a ping AMBER.
	res, err := fr.Workflow.Open(ctx, preservation.KindName, "alice", preservationRequest("to", []string{"cert-ee"}))
	if err != nil {
		t.Fatal(err)
	}
	ping, err := fr.Workflow.Open(ctx, contact.Kind.Name, "alice", json.RawMessage(`{"to":["cert-ee"],"role":"csirt-24x7"}`))
	if err != nil {
		t.Fatal(err)
	}
	fed.WaitFor("EE receives both", 10*time.Second, func() bool {
		_, e1 := ee.Workflow.Get(ctx, res.ID)
		_, e2 := ee.Workflow.Get(ctx, ping.ID)
		return e1 == nil && e2 == nil
	})
	if v, _ := ee.Workflow.Get(ctx, res.ID); v.TLP != "amber+strict" || !v.Open {
		t.Fatalf("the request as EE sees it: tlp %q open %v", v.TLP, v.Open)
	}
	if v, _ := ee.Workflow.Get(ctx, ping.ID); v.TLP != "amber" {
		t.Fatalf("the ping as EE sees it: tlp %q", v.TLP)
	}

	// A node that does not check the limits (an older version, a forger)
	// sends a request to two nodes: each shows it as not valid, owes
	// nothing, and cannot answer it.
	c, _, err := fr.Workflow.Load(ctx, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(c.Raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m["extensions"].(map[string]any), provenance.ExtensionID)
	m["id"], m["recipient_refs"] = stix.NewID(preservation.Type), []string{fed.ID("ee"), fed.ID("de")}
	raw, _ := json.Marshal(m)
	rogue, err := fr.Fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{raw}, Nodes: []string{"cert-ee", "cert-de"}})
	if err != nil {
		t.Fatal(err)
	}
	id := rogue.Objects[0].ID
	for _, name := range []string{"ee", "de"} {
		n := fed.Node(name)
		fed.WaitFor(name+" receives the request to two", 10*time.Second, func() bool { _, err := n.Workflow.Get(ctx, id); return err == nil })
		v, _ := n.Workflow.Get(ctx, id)
		if v.Open || !strings.HasPrefix(v.Status, "not valid: ") || !strings.Contains(v.Status, "this one goes to 2") || len(v.Deadlines) != 0 || v.NextDue != nil {
			t.Fatalf("%s's view of a request to two nodes: open %v, status %q, deadlines %v", name, v.Open, v.Status, v.Deadlines)
		}
		due, err := n.Workflow.Due(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range due {
			if d.ID == id {
				t.Fatalf("%s lists the request to two nodes as due: %+v", name, d)
			}
		}
		if _, err := n.Workflow.Act(ctx, id, preservation.ActionAcknowledge, "eve", nil); err == nil {
			t.Fatalf("%s acknowledged a request to two nodes", name)
		}
	}
}

// A kind's limits are checked when the engine is made: limits that no
// case could meet are a programming error, said at once.
func TestKindLimitsChecked(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(k *workflow.Kind)
	}{
		{"max below min", func(k *workflow.Kind) { k.MinRecipients, k.MaxRecipients = 3, 2 }},
		{"negative", func(k *workflow.Kind) { k.MaxRecipients = -1 }},
		{"default not allowed", func(k *workflow.Kind) { k.TLPs, k.DefaultTLP = []stix.TLP{stix.TLPAmber}, stix.TLPClear }},
		{"RED allowed", func(k *workflow.Kind) { k.TLPs = []stix.TLP{stix.TLPRed} }},
	} {
		k := *alert.Kind
		c.edit(&k)
		if err := newEngineWith(t, &k); err == nil {
			t.Errorf("%s: the engine accepted the kind", c.name)
		}
	}
	k := *alert.Kind
	k.TLPs = []stix.TLP{stix.TLPAmber, stix.TLPAmberStrict}
	if err := k.CheckTLP(stix.TLPGreen); !errors.Is(err, workflow.ErrInput) || !strings.Contains(err.Error(), "use amber, amber+strict") {
		t.Fatalf("green for a kind that allows amber only: %v", err)
	}
	if err := k.CheckTLP(stix.TLPAmberStrict); err != nil {
		t.Fatal(err)
	}
	k.MinRecipients, k.MaxRecipients = 2, 3
	for n, ok := range map[int]bool{0: false, 1: false, 2: true, 3: true, 4: false} {
		if err := k.CheckRecipients(n); (err == nil) != ok {
			t.Errorf("%d recipients for 2–3: %v", n, err)
		}
	}
}

// newEngineWith makes the engine of a fresh node with one kind.
func newEngineWith(t *testing.T, k *workflow.Kind) error {
	t.Helper()
	n, _ := newEngine(t, clock.NewFake(time.Now()))
	fed, err := federation.New(context.Background(), n, federation.Config{CosignInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = workflow.New(n, fed, k)
	return err
}
