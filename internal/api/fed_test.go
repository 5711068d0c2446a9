package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/api"
	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/cooperation"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/policy"
	"github.com/entraide/entraide/internal/stix/stixschema"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/store/pgtest"
	"github.com/entraide/entraide/internal/workflow"
)

func fast() federation.Config {
	return federation.Config{PollInterval: 20 * time.Millisecond, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond, CosignInterval: -1}
}

func TestAPIStorySQLite(t *testing.T) {
	t.Parallel()
	runAPIStory(t, nil)
}

func TestAPIStoryPostgreSQL(t *testing.T) {
	t.Parallel()
	runAPIStory(t, func(t testing.TB, _ string) string { return pgtest.DSN(t) })
}

// The alert story through the API of two nodes: alice (a writer at FR)
// opens an alert to DE over POST; bob (a reader at DE) sees it arrive but
// may not acknowledge; duty (a writer at DE) acknowledges, and the step FR
// receives names duty as its actor; FR's due list shows the deadline and,
// once the clock passes it without an acknowledgement, the overdue count;
// FR may not acknowledge its own alert (403), DE may not close it (403); a
// bad answer is a 400 from the kind; FR closes it.
func runAPIStory(t *testing.T, db func(t testing.TB, name string) string) {
	clk := clock.NewFake(time.Now())
	fed := fedtest.Start(t, fedtest.Options{DB: db, Federation: fast(), Clock: clk, Kinds: cooperation.Kinds()}, "fr", "de")
	fr, de := fed.Node("fr"), fed.Node("de")
	frAPI := serveAPI(t, fr.Workflow, fr.Store, clk)
	deAPI := serveAPI(t, de.Workflow, de.Store, clk)
	frDef, deDef := defaultCollection(t, fr.Store).ID, defaultCollection(t, de.Store).ID
	alice := bearer(frAPI, t, addUser(t, fr.Store, "alice", false, map[string]store.Permission{frDef: {Read: true, Write: true}}))
	bob := bearer(deAPI, t, addUser(t, de.Store, "bob", false, map[string]store.Permission{deDef: {Read: true}}))
	duty := bearer(deAPI, t, addUser(t, de.Store, "duty", false, map[string]store.Permission{deDef: {Write: true}}))

	a := alice.do("POST", "/entraide/v1/workflows/alert", mustJSON(t, map[string]any{
		"to": []string{"cert-de"}, "tlp": "amber",
		"title": "Wiper campaign against grid operators", "severity": "high", "sectors": []string{"energy"}, "countries": []string{"FR", "DE"},
		"ack_by": "4h",
	}))
	if a.status != 201 {
		t.Fatalf("open: %d %s", a.status, a.body)
	}
	var opened workflow.Result
	a.decode(t, &opened)
	if !strings.HasPrefix(opened.ID, "x-entraide-alert--") || opened.Object != opened.ID || opened.Queued != 1 || len(opened.Refused) != 0 {
		t.Fatalf("open result %s", a.body)
	}
	loc := a.header.Get("Location")
	if loc != "/entraide/v1/workflows/"+opened.ID {
		t.Fatalf("Location %q", loc)
	}
	// The share was audited with alice as the actor.
	if !audited(t, fr, opened.ID, "alice") {
		t.Fatal("the share of the alert is not audited with alice as actor")
	}

	var v workflow.View
	a = alice.do("GET", loc, "")
	if a.status != 200 {
		t.Fatalf("get: %d %s", a.status, a.body)
	}
	a.decode(t, &v)
	if v.Kind != "alert" || v.Title != "Wiper campaign against grid operators" || v.Severity != 3 || v.TLP != "amber" || !v.Open {
		t.Fatalf("view %s", a.body)
	}
	stixschema.Validate(t, v.Case)

	// DE receives it; bob reads it but may not act.
	fed.WaitFor("the alert at DE", 10*time.Second, func() bool {
		return bob.do("GET", loc, "").status == 200
	})
	if a := bob.do("POST", loc+"/ack", `{"answer":"investigating"}`); a.status != 403 {
		t.Fatalf("bob acknowledges: %d %s", a.status, a.body)
	}
	var list []workflow.Summary
	bob.do("GET", "/entraide/v1/workflows?kind=alert&open=true", "").decode(t, &list)
	if len(list) != 1 || list[0].ID != opened.ID || list[0].Origin.Name != "cert-fr" {
		t.Fatalf("DE's list: %+v", list)
	}

	// FR's due list: awaiting DE, not overdue; then overdue once the
	// deadline passes.
	var due api.DueAnswer
	alice.do("GET", "/entraide/v1/workflows/due", "").decode(t, &due)
	if len(due.Due) != 1 || due.Overdue != 0 || len(due.Due[0].WaitingOn) != 1 || due.Due[0].WaitingOn[0].Name != "cert-de" {
		t.Fatalf("due before the deadline: %+v", due)
	}
	clk.Advance(5 * time.Hour)
	alice.do("GET", "/entraide/v1/workflows/due?limit=10", "").decode(t, &due)
	if len(due.Due) != 1 || due.Overdue != 1 || !due.Due[0].Overdue {
		t.Fatalf("due after the deadline: %+v", due)
	}

	// Refusals from the engine and the kind.
	for _, c := range []struct {
		who    client
		action string
		body   string
		status int
		want   string
	}{
		{alice, "ack", `{"answer":"affected"}`, 403, "does not acknowledge"},
		{duty, "close", `{}`, 403, "only the sender closes"},
		{duty, "ack", `{"answer":"maybe"}`, 400, "affected, not-affected or investigating"},
		{duty, "ack", `{"answer":"affected","extra":1}`, 400, "extra"},
		{duty, "escalate", `{}`, 400, "ack, close"},
	} {
		a := c.who.do("POST", loc+"/"+c.action, c.body)
		if a.status != c.status || !strings.Contains(a.errorMessage(), c.want) {
			t.Fatalf("%s %s: %d %s, want %d %q", c.action, c.body, a.status, a.body, c.status, c.want)
		}
	}

	// duty acknowledges; the step reaches FR with duty as its actor.
	a = duty.do("POST", loc+"/ack", `{"answer":"affected","comment":"two substations"}`)
	if a.status != 201 || a.header.Get("Location") != loc {
		t.Fatalf("ack: %d %s (Location %q)", a.status, a.body, a.header.Get("Location"))
	}
	var acked workflow.Result
	a.decode(t, &acked)
	if acked.ID != opened.ID || !strings.HasPrefix(acked.Object, "x-entraide-step--") || acked.Queued != 1 {
		t.Fatalf("ack result %s", a.body)
	}
	fed.WaitFor("the acknowledgement at FR", 10*time.Second, func() bool {
		clk.Advance(time.Second) // let a retry backoff elapse
		var v workflow.View
		alice.do("GET", loc, "").decode(t, &v)
		return len(v.Timeline) == 1
	})
	alice.do("GET", loc, "").decode(t, &v)
	ev := v.Timeline[0]
	if ev.Actor != "duty" || ev.Action != "ack" || ev.Node.Name != "cert-de" || ev.Ignored != "" || v.Status != "acknowledged" {
		t.Fatalf("FR sees %+v (status %q)", ev, v.Status)
	}
	var step struct {
		Actor      string `json:"actor"`
		Transition string `json:"transition"`
	}
	if err := json.Unmarshal(ev.Object, &step); err != nil || step.Actor != "duty" || step.Transition != "ack" {
		t.Fatalf("signed step %s", ev.Object)
	}
	stixschema.Validate(t, ev.Object)
	alice.do("GET", "/entraide/v1/workflows/due", "").decode(t, &due)
	if len(due.Due) != 0 || due.Overdue != 0 {
		t.Fatalf("due after the acknowledgement: %+v", due)
	}

	// FR closes; the list of open alerts is empty, the full list is not.
	if a := alice.do("POST", loc+"/close", `{"comment":"contained"}`); a.status != 201 {
		t.Fatalf("close: %d %s", a.status, a.body)
	}
	alice.do("GET", "/entraide/v1/workflows?kind=alert&open=true", "").decode(t, &list)
	if len(list) != 0 {
		t.Fatalf("open alerts after closing: %+v", list)
	}
	alice.do("GET", "/entraide/v1/workflows?limit=1", "").decode(t, &list)
	if len(list) != 1 || list[0].Status != "closed" || list[0].Open {
		t.Fatalf("all alerts: %+v", list)
	}
	// What people did through the API is audited as done through it: the
	// alert and its closure at FR, the acknowledgement at DE.
	apiShares(t, fr, "alice", 2)
	apiShares(t, de, "duty", 1)
}

// apiShares checks that n's audit log holds exactly want shares by actor,
// and that each says it was asked for through the API.
func apiShares(t *testing.T, n *fedtest.Node, actor string, want int) {
	t.Helper()
	es, err := n.Fed.Audit().Entries(t.Context(), audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, e := range es {
		if e.Kind != audit.KindShare || e.Actor != actor {
			continue
		}
		got++
		if e.Detail["path"] != string(policy.PathAPI) {
			t.Errorf("%s: %s's share of %s is audited with path %q, want %q", n.Name, actor, e.ObjectID, e.Detail["path"], policy.PathAPI)
		}
	}
	if got != want {
		t.Errorf("%s: %d shares by %s in the audit log, want %d", n.Name, got, actor, want)
	}
}

// audited reports whether n's audit log holds a share of id by actor.
func audited(t *testing.T, n *fedtest.Node, id, actor string) bool {
	t.Helper()
	es, err := n.Fed.Audit().Entries(t.Context(), audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Kind == audit.KindShare && e.ObjectID == id && e.Actor == actor {
			return true
		}
	}
	return false
}
