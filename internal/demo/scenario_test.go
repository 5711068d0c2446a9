package demo

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/exercise"
)

// nodeNames are the node names of a demo federation of n nations.
func nodeNames(n int) []string {
	var out []string
	for _, nat := range Nations[:n] {
		out = append(out, nat.NodeName())
	}
	return append(out, HubName)
}

func fit(t *testing.T, nodes []string) (*exercise.Scenario, []Change) {
	t.Helper()
	b, notes, err := FitScenario(exercise.BuiltinFile(), nodes, 0)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := exercise.Parse(b, time.Now())
	if err != nil {
		t.Fatalf("fitted to %v: %v\n%s", nodes, err, b)
	}
	return sc, notes
}

func labels(sc *exercise.Scenario) []string {
	var out []string
	for _, in := range sc.Injects {
		out = append(out, in.Label)
	}
	return out
}

func inputOf(t *testing.T, in exercise.Inject) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(in.Input, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func injectByLabel(sc *exercise.Scenario, label string) *exercise.Inject {
	for i := range sc.Injects {
		if sc.Injects[i].Label == label {
			return &sc.Injects[i]
		}
	}
	return nil
}

// The default federation is the one the built-in scenario is written for:
// nothing changes.
func TestFitDefault(t *testing.T) {
	sc, notes := fit(t, nodeNames(DefaultNations))
	if len(notes) != 0 {
		t.Errorf("changes: %+v", notes)
	}
	if !slices.Equal(labels(sc), labels(exercise.Builtin())) || len(sc.Events()) != len(exercise.Builtin().Events()) {
		t.Errorf("injects %v", labels(sc))
	}
}

// Three nations (France, Estonia, Germany) and the hub: Belgium's alert
// and Italy's notice are left out, the rest plays without the nodes that
// are not there, and references to what was left out are dropped.
func TestFitThreeNations(t *testing.T) {
	sc, notes := fit(t, nodeNames(3))
	want := []string{"eu-alert", "fr-incident", "fr-assist", "fr-preservation", "fr-preservation-de", "eu-ping"}
	if got := labels(sc); !slices.Equal(got, want) {
		t.Errorf("injects %v; want %v", got, want)
	}
	if !slices.Equal(sc.Participants, []string{"cert-fr", "cert-ee", "cert-de", "cert-eu"}) {
		t.Errorf("participants %v", sc.Participants)
	}
	eu := inputOf(t, *injectByLabel(sc, "eu-alert"))
	if _, ok := eu["refs"]; ok {
		t.Errorf("eu-alert still refers to the Belgian alert: %v", eu["refs"])
	}
	if to := eu["to"].([]any); len(to) != 3 {
		t.Errorf("eu-alert to %v", to)
	}
	inc := inputOf(t, *injectByLabel(sc, "fr-incident"))
	if refs := inc["refs"].([]any); len(refs) != 1 || refs[0] != "@eu-alert" {
		t.Errorf("fr-incident refs %v", refs)
	}
	for _, in := range sc.Injects {
		for _, e := range in.Expect {
			if !slices.Contains(sc.Participants, e.Node) {
				t.Errorf("@%s expects %s of %s, not started", in.Label, e.Action, e.Node)
			}
		}
	}
	var texts []string
	for _, n := range notes {
		if !n.Response {
			texts = append(texts, n.Text)
		}
	}
	wantNotes := []string{"@be-alert left out: cert-be is not started", "@it-notice left out: cert-it is not started"}
	if !slices.Equal(texts, wantNotes) {
		t.Errorf("changes %q; want %q", texts, wantNotes)
	}
}

// Two nations: Germany's part goes, the chained request to Germany with it,
// and Estonia's offer (which France accepts by its label) stays.
func TestFitTwoNations(t *testing.T) {
	sc, _ := fit(t, nodeNames(2))
	if injectByLabel(sc, "fr-preservation-de") != nil {
		t.Error("the request chained to Germany is played without Germany")
	}
	assist := injectByLabel(sc, "fr-assist")
	if assist == nil {
		t.Fatal("no assistance request")
	}
	var actions []string
	for _, e := range assist.Expect {
		actions = append(actions, e.Node+" "+e.Action)
	}
	if !slices.Equal(actions, []string{"cert-ee offer", "cert-fr accept"}) {
		t.Errorf("assistance responses %v", actions)
	}
}

// Nations the scenario does not name join its broadcasts, each with a
// simulated answer a minute after the other, without another node's words.
func TestFitExtraNations(t *testing.T) {
	sc, notes := fit(t, nodeNames(8)) // + the Netherlands and Spain
	for _, label := range []string{"be-alert", "eu-alert", "eu-ping"} {
		in := injectByLabel(sc, label)
		to := inputOf(t, *in)["to"].([]any)
		if !slices.Contains(to, any("cert-nl")) || !slices.Contains(to, any("cert-es")) {
			t.Errorf("@%s to %v", label, to)
		}
		var nl *exercise.Expect
		for i := range in.Expect {
			if in.Expect[i].Node == "cert-nl" {
				nl = &in.Expect[i]
			}
		}
		if nl == nil || nl.Auto == nil {
			t.Fatalf("@%s: no simulated answer for cert-nl", label)
		}
		if strings.Contains(string(nl.Auto.Input), "comment") {
			t.Errorf("@%s: cert-nl answers with another node's comment: %s", label, nl.Auto.Input)
		}
	}
	// Not broadcasts: the incident stays between its parties.
	if to := inputOf(t, *injectByLabel(sc, "fr-incident"))["to"].([]any); slices.Contains(to, any("cert-nl")) {
		t.Errorf("fr-incident to %v", to)
	}
	ping := injectByLabel(sc, "eu-ping")
	var nl, es time.Duration
	for _, e := range ping.Expect {
		switch e.Node {
		case "cert-nl":
			nl = e.Auto.AfterDuration()
		case "cert-es":
			es = e.Auto.AfterDuration()
		}
	}
	if nl != 3*time.Minute || es != 4*time.Minute {
		t.Errorf("ping answers after %v and %v; want 3m and 4m (cert-ee's 2m, then a minute apart)", nl, es)
	}
	if len(notes) != 3 {
		t.Errorf("changes %+v", notes)
	}
}

// Every size of federation the demo starts gets a valid scenario that
// names only nodes that are started.
func TestFitEverySize(t *testing.T) {
	for n := MinNations; n <= MaxNations; n++ {
		nodes := nodeNames(n)
		sc, _ := fit(t, nodes)
		if len(sc.Injects) < 4 {
			t.Errorf("%d nations: only %d injects", n, len(sc.Injects))
		}
		for _, p := range sc.Participants {
			if !slices.Contains(nodes, p) {
				t.Errorf("%d nations: participant %s not started", n, p)
			}
		}
		for _, in := range sc.Injects {
			for _, to := range strs(inputOf(t, in)["to"]) {
				if !slices.Contains(nodes, to) {
					t.Errorf("%d nations: @%s to %s, not started", n, in.Label, to)
				}
			}
		}
	}
}

// An inject that needs an id of something left out (an assistance request
// for an incident that is not played) is left out too; the speed is set.
func TestFitRequiredReference(t *testing.T) {
	file := []byte(`{"name":"t","speed":60,"participants":["cert-fr","cert-ee","cert-de"],"injects":[
 {"label":"inc","at":"+0m","from":"cert-de","kind":"incident","input":{"to":["cert-fr"],"tlp":"amber","title":"x","severity":"3"}},
 {"label":"help","at":"+10m","from":"cert-fr","kind":"assist","input":{"to":["cert-ee"],"tlp":"amber","incident_ref":"@inc"}},
 {"label":"ping","at":"+20m","from":"cert-fr","kind":"ping","input":{"to":["cert-ee"],"tlp":"green","role":"csirt-24x7","note":"@@inc is not a reference"}}]}`)
	b, notes, err := FitScenario(file, []string{"cert-fr", "cert-ee"}, 120)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Speed   float64 `json:"speed"`
		Injects []struct {
			Label string `json:"label"`
		} `json:"injects"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Speed != 120 || len(got.Injects) != 1 || got.Injects[0].Label != "ping" {
		t.Errorf("fitted: %s", b)
	}
	want := []Change{{Text: "@inc left out: cert-de is not started"}, {Text: "@help left out: it needs @inc, left out"}}
	if !slices.Equal(notes, want) {
		t.Errorf("changes %+v; want %+v", notes, want)
	}
	if _, _, err := FitScenario([]byte(`[1]`), []string{"cert-fr"}, 0); err == nil {
		t.Error("a file that is not a JSON object was fitted")
	}
	if _, _, err := FitScenario(exercise.BuiltinFile(), nil, 0); err == nil {
		t.Error("fitted to no nodes")
	}
}

// FitScenario takes any bytes: it never panics, and what it returns is
// JSON.
func FuzzFitScenario(f *testing.F) {
	f.Add(exercise.BuiltinFile(), uint32(0b1111))
	f.Add([]byte(`{"participants":["cert-fr"],"injects":[{"from":"cert-fr","input":{"to":["cert-ee"],"refs":["@x",["@y"]]},"expect":[{"node":"cert-ee","auto":{"after":"x"}}]}]}`), uint32(1))
	f.Add([]byte(`{"injects":[1,"a",null,{"expect":[null]}]}`), uint32(3))
	names := nodeNames(MaxNations)
	f.Fuzz(func(t *testing.T, b []byte, mask uint32) {
		var nodes []string
		for i, n := range names {
			if mask&(1<<uint(i%32)) != 0 {
				nodes = append(nodes, n)
			}
		}
		if len(nodes) == 0 {
			nodes = names[:1]
		}
		out, _, err := FitScenario(b, nodes, 0)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("not JSON: %s", out)
		}
	})
}
