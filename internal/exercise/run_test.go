package exercise

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/cooperation"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/store/pgtest"
	"github.com/entraide/entraide/internal/workflow"
)

func fast() federation.Config {
	return federation.Config{PollInterval: 20 * time.Millisecond, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond, CosignInterval: -1}
}

// drill is the scenario the federation tests play on cert-fr, cert-ee,
// cert-de and cert-be: every workflow, automated answers, one answer
// never given (cert-be's acknowledgement) and one given late (cert-de's
// ping answer), at 60 times real time.
const drill = `{
  "name": "drill-2026",
  "title": "Wiper drill",
  "speed": 60,
  "participants": ["cert-fr", "cert-ee", "cert-de", "cert-be"],
  "injects": [
    {"label": "wiper", "at": "+0m", "from": "cert-fr", "kind": "alert",
     "input": {"to": ["cert-ee", "cert-de", "cert-be"], "tlp": "amber", "title": "Wiper against grid operators", "severity": "4", "sectors": ["energy"], "ack_by": "1h"},
     "expect": [
       {"node": "cert-ee", "action": "ack", "within": "30m", "auto": {"after": "10m", "input": {"answer": "affected", "comment": "two substations"}}},
       {"node": "cert-de", "action": "ack", "within": "30m", "auto": {"after": "20m", "input": {"answer": "investigating"}}},
       {"node": "cert-be", "action": "ack", "within": "30m"},
       {"node": "cert-fr", "action": "close", "auto": {"after": "4h"}}
     ]},
    {"label": "inc", "at": "+15m", "from": "cert-fr", "kind": "incident",
     "input": {"to": ["cert-ee", "cert-de"], "tlp": "amber", "title": "Wiper at a TSO", "severity": "4", "refs": ["@wiper"]},
     "expect": [
       {"node": "cert-ee", "action": "join", "within": "1h", "auto": {"after": "5m"}},
       {"node": "cert-de", "action": "update", "auto": {"after": "30m", "input": {"note": "same wiper here"}}}
     ]},
    {"label": "help", "at": "+30m", "from": "cert-fr", "kind": "assist",
     "input": {"to": ["cert-ee"], "tlp": "amber", "incident_ref": "@inc", "capabilities": ["digital-forensics"], "urgency": "24h",
               "entity_criticality": "essential", "severity": "4", "mitigation": "networks isolated"},
     "expect": [
       {"node": "cert-ee", "action": "offer", "within": "1h", "auto": {"label": "offer", "after": "10m", "input": {"capability": "digital-forensics", "team_size": 2}}},
       {"node": "cert-fr", "action": "accept", "auto": {"after": "20m", "input": {"offer_ref": "@offer"}}}
     ]},
    {"label": "pres", "at": "+45m", "from": "cert-fr", "kind": "preservation",
     "input": {"to": ["cert-ee"], "tlp": "amber+strict", "requesting_authority": "Paris prosecutor", "offence": "sabotage",
               "facts": "the wiper's loader was served from a VPS", "stored_data": "connection logs of the VPS", "relation": "it served the loader",
               "custodian": "Example Hosting OÜ", "reason": "logs are rotated weekly", "mla_intent": true, "target_country": "EE"},
     "expect": [
       {"node": "cert-ee", "action": "acknowledge", "within": "24h", "auto": {"after": "5m"}},
       {"node": "cert-ee", "action": "execute", "auto": {"after": "20m", "input": {"preserved_until": "90d", "reference": "EE-1",
         "disclosures": [{"country": "DE", "provider": "Beispiel Cloud GmbH", "note": "relay at 203.0.113.77"}]}}}
     ]},
    {"label": "pres-de", "at": "+1h30m", "from": "cert-fr", "kind": "preservation", "chain": "@pres",
     "input": {"to": ["cert-de"], "tlp": "amber+strict", "target_country": "DE"},
     "expect": [{"node": "cert-de", "action": "acknowledge", "within": "24h", "auto": {"after": "10m"}}]},
    {"label": "dd", "at": "+1h40m", "from": "cert-be", "kind": "notice",
     "input": {"to": ["cert-de"], "tlp": "amber", "title": "C2 server in Germany", "activity": ["malicious-code:c2-server"],
               "indicators": ["198.51.100.45"], "requested_action": "take it down"},
     "expect": [{"node": "cert-de", "action": "respond", "within": "72h", "auto": {"after": "30m", "input": {"answer": "action-taken", "action_taken": "taken down"}}}]},
    {"label": "ping", "at": "+2h", "from": "cert-fr", "kind": "ping",
     "input": {"to": ["cert-ee", "cert-de", "cert-be"], "tlp": "green", "role": "csirt-24x7", "challenge": "DRILL-42", "answer_by": "1h"},
     "expect": [
       {"node": "cert-ee", "action": "answer", "within": "15m", "auto": {"after": "1m", "input": {"challenge": "DRILL-42"}}},
       {"node": "cert-de", "action": "answer", "within": "15m", "auto": {"after": "20m", "input": {"challenge": "drill 42"}}},
       {"node": "cert-be", "action": "answer", "within": "15m", "auto": {"after": "2m", "input": {"challenge": "DRILL-42"}}}
     ]}
  ]
}`

func TestPlayDrillSQLite(t *testing.T) { playDrill(t, nil) }

func TestPlayDrillPostgreSQL(t *testing.T) {
	playDrill(t, func(t testing.TB, _ string) string { return pgtest.DSN(t) })
}

func engines(fed *fedtest.Federation, names ...string) map[string]*workflow.Engine {
	m := map[string]*workflow.Engine{}
	for _, n := range names {
		m["cert-"+n] = fed.Node(n).Workflow
	}
	return m
}

// playDrill plays the drill in one process on a fake clock that the runner
// moves, the nodes on the scenario's time, and checks every object, the
// report and the scoreboard's numbers.
func playDrill(t *testing.T, db func(t testing.TB, name string) string) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	fed := fedtest.Start(t, fedtest.Options{DB: db, Federation: fast(), Clock: clk, Kinds: cooperation.Kinds()}, "fr", "ee", "de", "be")
	sc, err := Parse([]byte(drill), t0)
	if err != nil {
		t.Fatal(err)
	}
	start := t0.Add(time.Minute)
	var progress []string
	r := &Runner{Scenario: sc, Engines: engines(fed, "fr", "ee", "de", "be"), Clock: clk, SleepUntil: Warp(clk), ScenarioTime: true, Start: start,
		MaxWait: 20 * time.Second, Progress: func(e EventResult) { progress = append(progress, e.Offset+" "+e.Node+" "+e.Action) }}
	rep, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f := rep.Failed(); len(f) > 0 {
		t.Fatalf("failed events: %+v", f)
	}
	if len(rep.Events) != 21 || len(progress) != 21 || !rep.Start.Equal(start) {
		t.Fatalf("%d events, %d progress, start %v", len(rep.Events), len(progress), rep.Start)
	}
	if progress[0] != "+0m cert-fr open" || progress[20] != "+4h00m cert-fr close" {
		t.Errorf("progress: %q", progress)
	}
	byLabel := map[string]string{}
	for _, e := range rep.Events {
		if e.Skipped != "" || e.PlayedAt == nil || e.Case == "" || e.Object == "" {
			t.Errorf("event not played: %+v", e)
		}
		// On the fake clock every event happens exactly on time.
		if !e.PlayedAt.Equal(e.Scheduled) {
			t.Errorf("%s %s %s played at %v, scheduled %v", e.Offset, e.Node, e.Action, e.PlayedAt, e.Scheduled)
		}
		if e.Expect < 0 {
			byLabel[e.Label] = e.Case
		}
	}
	if !rep.ScenarioTime || !clk.Now().Equal(start.Add(4*time.Hour)) {
		t.Errorf("the clock is at %v; want the last event's time", clk.Now())
	}

	// Every object the exercise created is marked, on every node that
	// holds it: the case, every step, every view.
	for _, n := range []string{"fr", "ee", "de", "be"} {
		e := fed.Node(n).Workflow
		list, err := e.List(ctx, "", false, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			v, err := e.Get(ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if s.Exercise != sc.Name || v.Exercise != sc.Name || marker(t, v.Case) != sc.Name {
				t.Errorf("%s: %s %s not marked: summary %q, view %q, object %q", n, s.Kind, s.ID, s.Exercise, v.Exercise, marker(t, v.Case))
			}
			for _, ev := range v.Timeline {
				if marker(t, ev.Object) != sc.Name {
					t.Errorf("%s: step %s (%s) of %s not marked", n, ev.ID, ev.Action, s.ID)
				}
			}
		}
	}
	// The chained request carries the Art. 30 disclosure and the chain.
	fv, err := fed.Node("de").Workflow.Get(ctx, byLabel["pres-de"])
	if err != nil {
		t.Fatal(err)
	}
	var chained struct {
		From     string `json:"chained_from_case_ref"`
		Custody  string `json:"custodian"`
		Exercise string `json:"x_entraide_exercise"`
	}
	_ = json.Unmarshal(fv.Case, &chained)
	if chained.From != byLabel["pres"] || chained.Custody != "Beispiel Cloud GmbH" || chained.Exercise != sc.Name {
		t.Errorf("chained request: %+v", chained)
	}

	// The scoreboard, read from every node (each case from its opener,
	// whatever the order the nodes are given in).
	all := []*workflow.Engine{fed.Node("de").Workflow, fed.Node("be").Workflow, fed.Node("ee").Workflow, fed.Node("fr").Workflow}
	b, err := Score(ctx, sc.Name, all, ScoreOptions{Scenario: sc, Start: rep.Start, ScenarioTime: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Cases) != 7 || !b.Over || b.Speed != 60 || !b.ScenarioTime {
		t.Fatalf("board: %d cases, over %v, speed %v", len(b.Cases), b.Over, b.Speed)
	}
	nodes := map[string]NodeScore{}
	for _, n := range b.Nodes {
		nodes[n.Node] = n
	}
	fr, ee, de, be := nodes["cert-fr"], nodes["cert-ee"], nodes["cert-de"], nodes["cert-be"]
	check := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v; want %v", what, got, want)
		}
	}
	check("fr opened", fr.Opened, 6)
	// fr opened six cases: the alert it closed at +4h and the ping, over
	// once its last answer came (20m) are closed.
	check("fr closed", fr.Closed, 2)
	check("fr closure", []float64{secs(fr.Closure.Median), secs(fr.Closure.Max)}, []float64{(20*60 + 4*3600) / 2, 4 * 3600})
	// ee: receipt immediate; acknowledged alert 10m, incident 5m, assist
	// 10m, preservation 5m, ping 1m; answered alert 10m, assist 10m,
	// preservation (executed) 20m, ping 1m.
	check("ee received", ee.Received, 5)
	check("ee receipt max", secs(ee.Receipt.Max), 0)
	check("ee acknowledged", ee.Acknowledged, 5)
	check("ee ack median", secs(ee.Ack.Median), 300)
	check("ee ack max", secs(ee.Ack.Max), 600)
	check("ee answered", ee.Answered, 4)
	check("ee answer max", secs(ee.Answer.Max), 1200)
	check("ee expected", []int{ee.Met, ee.Late, ee.Missed, ee.Pending}, []int{6, 0, 0, 0})
	// de: alert ack after 20m (investigating: not an answer), incident
	// update 30m, chained request 10m, notice 30m, ping 20m (late).
	check("de acknowledged", de.Acknowledged, 5)
	check("de ack max", secs(de.Ack.Max), 1800)
	check("de answered", de.Answered, 3) // update, notice, ping
	check("de expected", []int{de.Met, de.Late, de.Missed, de.Pending}, []int{4, 1, 0, 0})
	// be: opened the notice; never acknowledged the alert (missed), ping 2m.
	check("be opened", be.Opened, 1)
	check("be acknowledged", be.Acknowledged, 1)
	check("be expected", []int{be.Met, be.Late, be.Missed, be.Pending}, []int{1, 0, 1, 0})
	check("fr expected", []int{fr.Met, fr.Late, fr.Missed, fr.Pending}, []int{2, 0, 0, 0})
	var missed, late []string
	for _, x := range b.Expected {
		switch x.Status {
		case Missed:
			missed = append(missed, x.Node+" "+x.Action+" @"+x.Label+": "+x.Why)
		case Late:
			late = append(late, x.Node+" "+x.Action+" @"+x.Label+": "+x.Why)
		}
	}
	check("missed", missed, []string{"cert-be ack @wiper: no ack by cert-be within 30m of the alert"})
	check("late", late, []string{"cert-de answer @ping: 20m after the ping was opened; expected within 15m"})
	for _, c := range b.Cases {
		if c.Label == "" || c.Inject < 0 || c.From != "cert-"+strings.TrimPrefix(c.Origin, "cert-") {
			t.Errorf("case %s: label %q inject %d from %s (origin %s)", c.ID, c.Label, c.Inject, c.From, c.Origin)
		}
	}

	// Two hours later, the alert's 1-hour acknowledgement deadline would
	// be overdue for be but the alert is closed (nothing is overdue
	// there), and the ping's is overdue for nobody.
	clk.Advance(2 * time.Hour)
	b2, err := Score(ctx, sc.Name, all, ScoreOptions{Scenario: sc, Start: rep.Start, ScenarioTime: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range b2.Nodes {
		if n.Node == "cert-be" && n.Overdue != 0 {
			t.Errorf("be overdue on a closed alert: %+v", n)
		}
	}

	// One node's own scoreboard: ee sees its own times on partners'
	// cases, and the scenario's expectations of it.
	be2, err := Score(ctx, sc.Name, []*workflow.Engine{fed.Node("ee").Workflow}, ScoreOptions{Scenario: sc, Start: rep.Start, ScenarioTime: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range be2.Nodes {
		if n.Node == "cert-ee" && (n.Acknowledged != 5 || n.Received != 5 || n.Met != 6) {
			t.Errorf("ee's own board: %+v", n)
		}
		if n.Node == "cert-be" && (n.Missed != 0 || n.Met != 0) {
			t.Errorf("ee's board judges be's steps it cannot see: %+v", n)
		}
	}

	// The exercises the nodes have seen.
	ls, err := List(ctx, all...)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || ls[0].Name != sc.Name || ls[0].Cases != 7 || ls[0].Kinds["preservation"] != 2 || ls[0].Origins["cert-be"] != 1 {
		t.Errorf("list: %+v", ls)
	}
}

func secs(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}

func marker(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var o map[string]json.RawMessage
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatal(err)
	}
	var s string
	_ = json.Unmarshal(o[workflow.ExerciseProperty], &s)
	return s
}

// The same drill across "real" nodes: one runner per node, each with its
// own engine only, on the system clock at 3600 times real time. Each
// plays only its node's events and finds the others' cases and steps as
// they arrive (cert-fr accepts cert-ee's offer, chains from cert-ee's
// disclosure; cert-ee answers cert-fr's cases).
func TestPlayAcrossNodes(t *testing.T) {
	ctx := context.Background()
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Kinds: cooperation.Kinds()}, "fr", "ee", "de", "be")
	var m map[string]any
	if err := json.Unmarshal([]byte(drill), &m); err != nil {
		t.Fatal(err)
	}
	m["speed"] = 3600
	sc, err := Parse(mustMarshal(t, m), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Add(300 * time.Millisecond)
	reps := map[string]*Report{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range []string{"fr", "ee", "de", "be"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &Runner{Scenario: sc, Engines: map[string]*workflow.Engine{"cert-" + n: fed.Node(n).Workflow}, Clock: clock.System{},
				Start: start, MaxWait: 20 * time.Second}
			rep, err := r.Run(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			reps[n] = rep
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	played := 0
	for n, rep := range reps {
		for _, e := range rep.Events {
			if e.Error != "" {
				t.Errorf("%s: %s %s %s: %s", n, e.Offset, e.Node, e.Action, e.Error)
			}
			if e.Skipped == "" {
				played++
				if e.Node != "cert-"+n {
					t.Errorf("%s played %s's event", n, e.Node)
				}
			}
		}
	}
	if played != 21 {
		t.Errorf("%d events played in all; want 21", played)
	}
	// fr accepted ee's offer: the accept names the offer ee made.
	var accept, offer string
	for _, e := range reps["fr"].Events {
		if e.Action == "accept" {
			accept = e.Object
		}
	}
	for _, e := range reps["ee"].Events {
		if e.Action == "offer" {
			offer = e.Object
		}
	}
	fed.WaitFor("fr's scoreboard complete", 10*time.Second, func() bool {
		b, err := Score(ctx, sc.Name, []*workflow.Engine{fed.Node("fr").Workflow}, ScoreOptions{Scenario: sc, Start: start})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range b.Nodes {
			if n.Node == "cert-ee" && n.Met+n.Late == 6 {
				return true
			}
		}
		return false
	})
	_, steps, err := fed.Node("fr").Workflow.Load(ctx, reps["fr"].Events[0].Case)
	if err != nil || len(steps) == 0 {
		t.Fatalf("fr's alert: %v", err)
	}
	for _, e := range reps["fr"].Events {
		if e.Action != "accept" {
			continue
		}
		_, steps, err := fed.Node("fr").Workflow.Load(ctx, e.Case)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			if s.ID == accept {
				var ref string
				s.Get("offer_ref", &ref)
				if ref != offer || offer == "" {
					t.Errorf("fr accepted %q; ee offered %q", ref, offer)
				}
			}
		}
	}
}

// clockDrill: at speed 60, cert-fr alerts cert-ee and cert-de with a
// 10-minute ack_by (cert-ee acknowledges after 5 minutes, nobody at cert-de
// ever does), pings cert-ee with a 10-minute answer_by (answered after 12)
// and opens an incident whose NIS2 clock runs from now; cert-ee's update a
// day later keeps the exercise going past the early warning's 24 hours.
const clockDrill = `{
  "name": "clock-drill",
  "speed": 60,
  "participants": ["cert-fr", "cert-ee", "cert-de"],
  "injects": [
    {"label": "wiper", "at": "+0m", "from": "cert-fr", "kind": "alert",
     "input": {"to": ["cert-ee", "cert-de"], "tlp": "amber", "title": "Wiper", "severity": "3", "ack_by": "10m"},
     "expect": [
       {"node": "cert-ee", "action": "ack", "within": "10m", "auto": {"after": "5m", "input": {"answer": "affected"}}},
       {"node": "cert-de", "action": "ack", "within": "10m"}
     ]},
    {"label": "ping", "at": "+1m", "from": "cert-fr", "kind": "ping",
     "input": {"to": ["cert-ee"], "tlp": "green", "role": "csirt-24x7", "challenge": "CLOCK-1", "answer_by": "10m"},
     "expect": [{"node": "cert-ee", "action": "answer", "within": "10m", "auto": {"after": "12m", "input": {"challenge": "CLOCK-1"}}}]},
    {"label": "inc", "at": "+2m", "from": "cert-fr", "kind": "incident",
     "input": {"to": ["cert-ee"], "tlp": "amber", "title": "Wiper at a TSO", "severity": "3"},
     "expect": [{"node": "cert-ee", "action": "update", "auto": {"after": "24h8m", "input": {"note": "still here"}}}]}
  ]
}`

// Deadlines inside injects live in scenario time: at speed 60 the nodes
// run on the scenario's clock (exercise.Clock) while the exercise plays,
// so a 10-minute ack_by falls due 10 scenario minutes — 10 seconds of the
// real clock — after the alert; a 10-minute answer_by met after 12 is
// late; the NIS2 early warning falls due 24 scenario hours after
// detection (24 real minutes). The real clock is a fake one that the
// scenario clock moves as far as real time would have passed: nothing
// sleeps. The scoreboard reports each: cert-de's acknowledgement overdue
// and missed, cert-ee's ping answer late, cert-fr's early warning overdue.
func TestDeadlinesInScenarioTime(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC)
	real := clock.NewFake(t0)
	clk := NewClock(real)
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Clock: clk, Kinds: cooperation.Kinds()}, "fr", "ee", "de")
	sc, err := Parse([]byte(clockDrill), t0)
	if err != nil {
		t.Fatal(err)
	}
	realStart := real.Now()
	start := clk.Now()
	var alertOpened, answeredReal time.Time
	r := &Runner{Scenario: sc, Engines: engines(fed, "fr", "ee", "de"), Clock: clk, ScenarioTime: true, Start: start, MaxWait: 20 * time.Second,
		Progress: func(e EventResult) {
			if e.Label == "wiper" {
				alertOpened = *e.PlayedAt
			}
			// The ping's answer (+13m) comes 13 s of the real clock
			// after the start: the scenario clock ran 60 times as fast.
			if e.Action == "answer" {
				answeredReal = real.Now()
			}
		}}
	if clk.Rate() != 1 {
		t.Fatalf("a new scenario clock runs at %v", clk.Rate())
	}
	rep, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f := rep.Failed(); len(f) > 0 {
		t.Fatalf("failed events: %+v", f)
	}
	if clk.Rate() != 1 {
		t.Errorf("the scenario clock still runs at %v after the exercise", clk.Rate())
	}
	for _, e := range rep.Events {
		if !e.PlayedAt.Equal(e.Scheduled) || !e.Scheduled.Equal(start.Add(e.At)) {
			t.Errorf("%s %s %s played at %v, scheduled %v; want start + offset", e.Offset, e.Node, e.Action, e.PlayedAt, e.Scheduled)
		}
	}
	// 24 h 10 min of scenario, 24 min 10 s of the real clock.
	if got, want := clk.Now().Sub(start), 24*time.Hour+10*time.Minute; got != want {
		t.Errorf("the scenario clock moved %v; want %v", got, want)
	}
	if got, want := real.Now().Sub(realStart), 24*time.Minute+10*time.Second; got != want {
		t.Errorf("the real clock moved %v; want %v", got, want)
	}
	if got := answeredReal.Sub(realStart); got != 13*time.Second {
		t.Errorf("the ping was answered %v after the start on the real clock; want 13 s", got)
	}

	// The alert's deadline is 10 scenario minutes after it was opened,
	// as every node holds it.
	fr := fed.Node("fr").Workflow
	byLabel := map[string]string{}
	for _, e := range rep.Events {
		if e.Expect < 0 {
			byLabel[e.Label] = e.Case
		}
	}
	v, err := fr.Get(ctx, byLabel["wiper"])
	if err != nil {
		t.Fatal(err)
	}
	if !v.Opened.Equal(alertOpened.Truncate(time.Millisecond)) {
		t.Errorf("alert opened %v; played %v", v.Opened, alertOpened)
	}
	due := map[string]workflow.DeadlineView{}
	for _, d := range v.Deadlines {
		due[d.PartyName] = d
	}
	for _, n := range []string{"cert-ee", "cert-de"} {
		if got := due[n].Due.Sub(v.Opened); got != 10*time.Minute {
			t.Errorf("%s's acknowledgement falls due %v after the alert; want 10m (scenario time)", n, got)
		}
	}
	if !due["cert-de"].Overdue || due["cert-ee"].Overdue || due["cert-ee"].DoneAt == nil {
		t.Errorf("deadlines: %+v", v.Deadlines)
	}
	inc, err := fr.Get(ctx, byLabel["inc"])
	if err != nil {
		t.Fatal(err)
	}
	var early *workflow.DeadlineView
	for i, d := range inc.Deadlines {
		if d.What == "NIS2 early warning" {
			early = &inc.Deadlines[i]
		}
	}
	if early == nil || early.Due.Sub(inc.Opened) != 24*time.Hour || !early.Overdue {
		t.Errorf("the NIS2 early warning: %+v (incident opened %v)", early, inc.Opened)
	}

	// The scoreboard reports the miss, the late answer and the overdue
	// deadlines, in scenario time.
	all := []*workflow.Engine{fr, fed.Node("ee").Workflow, fed.Node("de").Workflow}
	b, err := Score(ctx, sc.Name, all, ScoreOptions{Scenario: sc, Start: rep.Start, ScenarioTime: rep.ScenarioTime})
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]NodeScore{}
	for _, n := range b.Nodes {
		nodes[n.Node] = n
	}
	if n := nodes["cert-de"]; n.Overdue != 1 || n.Missed != 1 {
		t.Errorf("cert-de: %d overdue, %d missed; want its acknowledgement overdue and missed: %+v", n.Overdue, n.Missed, n)
	}
	if n := nodes["cert-ee"]; n.Overdue != 0 || n.DeadlineLate != 1 || n.Late != 1 || n.Met != 2 {
		t.Errorf("cert-ee: %+v; want the ping's answer late (12m), the rest met", n)
	}
	if n := nodes["cert-fr"]; n.Overdue != 1 {
		t.Errorf("cert-fr: %d overdue; want the NIS2 early warning: %+v", n.Overdue, n)
	}
	var buf strings.Builder
	if err := b.WriteText(&buf, TextOptions{Scenario: sc, Cases: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"MISSED  cert-de ack on @wiper (a person): no ack by cert-de within 10m of the alert",
		"LATE    cert-ee answer on @ping (a simulated player): 12m after the ping was opened; expected within 10m",
		"cert-de    received 0s, acknowledged -, answered -; OVERDUE acknowledge, due 2026-11-18T09:10:00Z",
		"late answer the ping, due 2026-11-18T09:11:00Z",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the scoreboard lacks %q:\n%s", want, buf.String())
		}
	}

	// The same drill with the nodes on the real clock (a real node's
	// run): the 10-minute ack_by is 10 minutes of that clock, 10 hours of
	// the scenario.
	real2 := clock.NewFake(t0)
	fed2 := fedtest.Start(t, fedtest.Options{Federation: fast(), Clock: real2, Kinds: cooperation.Kinds()}, "fr", "ee", "de")
	r2 := &Runner{Scenario: sc, Engines: engines(fed2, "fr", "ee", "de"), Clock: real2, SleepUntil: Warp(real2), Start: t0, MaxWait: 20 * time.Second}
	rep2, err := r2.Run(ctx)
	if err != nil || len(rep2.Failed()) > 0 || rep2.ScenarioTime {
		t.Fatalf("%v %+v", err, rep2)
	}
	v2, err := fed2.Node("fr").Workflow.Get(ctx, rep2.Events[0].Case)
	if err != nil {
		t.Fatal(err)
	}
	if got := v2.Deadlines[0].Due.Sub(v2.Opened); got != 10*time.Minute || real2.Now().Sub(t0) != 24*time.Minute+10*time.Second {
		t.Errorf("on the real clock: deadline %v after the alert, run took %v", got, real2.Now().Sub(t0))
	}
}

// A runner asked to play in scenario time refuses a clock it cannot run
// at the scenario's speed.
func TestScenarioTimeNeedsAScenarioClock(t *testing.T) {
	sc, err := Parse([]byte(clockDrill), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Scenario: sc, Engines: map[string]*workflow.Engine{"cert-fr": nil}, Clock: clock.System{}, ScenarioTime: true}
	if _, err := r.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot run at speed 60") {
		t.Errorf("Run: %v", err)
	}
}
