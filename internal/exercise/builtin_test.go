package exercise

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/cooperation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/workflow"
)

// The built-in scenario validates, names the demo's nodes, and plays the
// six workflows the issue lists.
func TestBuiltinValidates(t *testing.T) {
	s, err := Parse(BuiltinFile(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != BuiltinName {
		t.Errorf("name %q", s.Name)
	}
	want := []string{"cert-fr", "cert-ee", "cert-de", "cert-be", "cert-it", "cert-pl", "cert-eu"}
	for _, n := range want {
		found := false
		for _, p := range s.Participants {
			found = found || p == n
		}
		if !found {
			t.Errorf("participant %s missing", n)
		}
	}
	kinds := map[string]int{}
	chained := 0
	for _, in := range s.Injects {
		kinds[in.Kind]++
		if in.Chain != "" {
			chained++
		}
	}
	for _, k := range []string{"alert", "incident", "assist", "preservation", "notice", "ping"} {
		if kinds[k] == 0 {
			t.Errorf("no %s inject", k)
		}
	}
	if chained != 1 {
		t.Errorf("%d chained preservation requests; want 1", chained)
	}
	if Builtin().Name != BuiltinName {
		t.Error("Builtin()")
	}
}

// The built-in scenario plays to the end on the demo's seven nodes, on a
// fake clock the runner moves (as `entraide demo --headless` may play
// it): no event fails, and the scoreboard shows what the scenario meant —
// CERT-PL's missed acknowledgement, CERT-EE's late one, CERT-PL's late
// ping answer.
func TestPlayBuiltin(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("seven nodes")
	}
	ctx := context.Background()
	t0 := time.Date(2026, 11, 18, 6, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	names := []string{"fr", "ee", "de", "be", "it", "pl", "eu"}
	fed := fedtest.Start(t, fedtest.Options{Federation: fast(), Clock: clk, Kinds: cooperation.Kinds()}, names...)
	sc := Builtin()
	r := &Runner{Scenario: sc, Engines: engines(fed, names...), Clock: clk, SleepUntil: Warp(clk), MaxWait: 20 * time.Second}
	rep, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rep.Failed() {
		t.Errorf("%s %s %s (@%s): %s", e.Offset, e.Node, e.Action, e.Label, e.Error)
	}
	if !rep.Start.Equal(t0) {
		t.Errorf("start %v; want the clock's now", rep.Start)
	}
	var all []*workflow.Engine
	for _, e := range r.Engines {
		all = append(all, e)
	}
	b, err := Score(ctx, sc.Name, all, ScoreOptions{Scenario: sc, Start: rep.Start})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Cases) != len(sc.Injects) || !b.Over {
		t.Errorf("%d cases for %d injects; over %v", len(b.Cases), len(sc.Injects), b.Over)
	}
	var got []string
	for _, x := range b.Expected {
		if x.Status != Met {
			got = append(got, x.Status+" "+x.Node+" "+x.Action+" @"+x.Label)
		}
	}
	want := []string{"late cert-ee ack @be-alert", "missed cert-pl ack @be-alert", "late cert-pl answer @eu-ping"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("expectations not met:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
