package exercise

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC)

// base is a small valid scenario: fr alerts ee and de, ee answers; fr
// opens an incident; fr asks for assistance, ee offers and fr accepts.
func base() map[string]any {
	return map[string]any{
		"name":         "drill-1",
		"title":        "A drill",
		"start":        "2026-11-18T09:00:00Z",
		"speed":        60,
		"participants": []any{"cert-fr", "cert-ee", "cert-de"},
		"injects": []any{
			map[string]any{
				"label": "a", "at": "+0m", "from": "cert-fr", "kind": "alert",
				"input": map[string]any{"to": []any{"cert-ee", "cert-de"}, "tlp": "amber", "title": "Wiper", "severity": "4"},
				"expect": []any{
					map[string]any{"node": "cert-ee", "action": "ack", "within": "30m", "auto": map[string]any{"after": "10m", "input": map[string]any{"answer": "affected"}}},
					map[string]any{"node": "cert-de", "action": "ack", "within": "30m"},
				},
			},
			map[string]any{
				"label": "inc", "at": "+15m", "from": "cert-fr", "kind": "incident",
				"input": map[string]any{"to": []any{"cert-ee"}, "tlp": "amber", "title": "Wiper at a TSO", "severity": "3", "refs": []any{"@a"}},
			},
			map[string]any{
				"label": "help", "at": "+20m", "from": "cert-fr", "kind": "assist",
				"input": map[string]any{"to": []any{"cert-ee"}, "tlp": "amber", "incident_ref": "@inc", "capabilities": []any{"digital-forensics"},
					"urgency": "24h", "entity_criticality": "essential", "severity": "3", "mitigation": "isolated"},
				"expect": []any{
					map[string]any{"node": "cert-ee", "action": "offer", "auto": map[string]any{"label": "offer", "after": "5m", "input": map[string]any{"capability": "digital-forensics", "team_size": 2}}},
					map[string]any{"node": "cert-fr", "action": "accept", "auto": map[string]any{"after": "10m", "input": map[string]any{"offer_ref": "@offer"}}},
				},
			},
		},
	}
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func inject(m map[string]any, i int) map[string]any { return m["injects"].([]any)[i].(map[string]any) }
func input(m map[string]any, i int) map[string]any  { return inject(m, i)["input"].(map[string]any) }
func expect(m map[string]any, i, j int) map[string]any {
	return inject(m, i)["expect"].([]any)[j].(map[string]any)
}

func TestParseValid(t *testing.T) {
	s, err := Parse(mustMarshal(t, base()), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := s.StartTime(); !ok || !st.Equal(testNow) || s.SpeedFactor() != 60 {
		t.Errorf("start %v %v speed %v", st, ok, s.SpeedFactor())
	}
	var got []string
	for _, e := range s.Events() {
		got = append(got, FormatOffset(e.At)+" "+e.Node+" "+e.Action)
	}
	want := "+0m cert-fr open|+10m cert-ee ack|+15m cert-fr open|+20m cert-fr open|+25m cert-ee offer|+30m cert-fr accept"
	if strings.Join(got, "|") != want {
		t.Errorf("play order:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if s.End() != 30*time.Minute {
		t.Errorf("end %v", s.End())
	}
	// Marshal → Parse is the same scenario.
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Parse(b, testNow)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, b)
	}
	b2, _ := s2.Marshal()
	if string(b) != string(b2) {
		t.Errorf("not stable:\n%s\n%s", b, b2)
	}
}

// Out of order is fine: the injects play by offset, and a reference to
// one played before is valid whatever the file's order.
func TestParseOutOfOrder(t *testing.T) {
	m := base()
	inj := m["injects"].([]any)
	inj[0], inj[1] = inj[1], inj[0]
	s, err := Parse(mustMarshal(t, m), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if ev := s.Events()[0]; ev.Inject != 1 || ev.Label != "a" {
		t.Errorf("first event %+v", ev)
	}
}

func TestParseProblems(t *testing.T) {
	for _, c := range []struct {
		name   string
		raw    string // a whole file, instead of a change to base
		change func(m map[string]any)
		want   []string
	}{
		{name: "syntax", raw: "{\n  \"name\": \"x\",\n  \"speed\": ,\n}", want: []string{"malformed JSON at line 3, column 12"}},
		{name: "truncated", raw: `{"name": "x"`, want: []string{"the file ends at line 1"}},
		{name: "not an object", raw: `[1]`, want: []string{"a scenario is a JSON object"}},
		{name: "empty", raw: "  ", want: []string{"the file is empty"}},
		{name: "twice", raw: `{"name": "a", "injects": [{"at": "+1m", "at": "+2m"}]}`, want: []string{`"injects"[0].at appears twice, the second time at line 1, column 41`}},
		{name: "trailing", raw: `{"name": "a"} {}`, want: []string{"data after the scenario object"}},
		{name: "unknown field", change: func(m map[string]any) { inject(m, 0)["atx"] = "+1m" }, want: []string{`injects[0]: unknown field "atx": did you mean "at"?`}},
		{name: "unknown top field", change: func(m map[string]any) { m["participents"] = []any{} }, want: []string{`unknown field "participents": did you mean "participants"?`}},
		{name: "wrong type", change: func(m map[string]any) { inject(m, 0)["at"] = 5 }, want: []string{`injects[0].at: want a string such as "+15m"`}},
		{name: "no name", change: func(m map[string]any) { delete(m, "name") }, want: []string{"name: required"}},
		{name: "bad name", change: func(m map[string]any) { m["name"] = "Drill 1" }, want: []string{`name: "Drill 1": use lowercase letters`}},
		{name: "bad start", change: func(m map[string]any) { m["start"] = "tomorrow" }, want: []string{`start: "tomorrow": want an RFC 3339 time`}},
		{name: "speed zero", change: func(m map[string]any) { m["speed"] = 0 }, want: []string{"speed: want a number from 1"}},
		{name: "speed too high", change: func(m map[string]any) { m["speed"] = 1e6 }, want: []string{"speed: want a number from 1"}},
		{name: "no participants", change: func(m map[string]any) { m["participants"] = []any{} }, want: []string{"participants: required"}},
		{name: "participant twice", change: func(m map[string]any) { m["participants"] = []any{"cert-fr", "cert-ee", "cert-de", "cert-ee"} }, want: []string{`participants[3]: "cert-ee" is listed twice`}},
		{name: "no injects", change: func(m map[string]any) { m["injects"] = []any{} }, want: []string{"injects: required"}},
		{name: "unknown kind", change: func(m map[string]any) { inject(m, 0)["kind"] = "phone" }, want: []string{`injects[0] (@a).kind: unknown kind "phone": want one of alert, preservation, ping, incident, assist, notice`}},
		{name: "cli kind name", change: func(m map[string]any) { inject(m, 0)["kind"] = "legal" }, want: []string{`injects[0] (@a).kind: "legal": the workflow is called "preservation" in a scenario`}},
		{name: "from not participant", change: func(m map[string]any) { inject(m, 0)["from"] = "cert-xx" }, want: []string{`injects[0] (@a).from: "cert-xx" is not a participant (cert-fr, cert-ee, cert-de)`}},
		{name: "bad offset", change: func(m map[string]any) { inject(m, 1)["at"] = "+15x" }, want: []string{`injects[1] (@inc).at: "+15x" is not a duration`}},
		{name: "negative offset", change: func(m map[string]any) { inject(m, 1)["at"] = "-5m" }, want: []string{`injects[1] (@inc).at: "-5m" is negative`}},
		{name: "no offset", change: func(m map[string]any) { delete(inject(m, 1), "at") }, want: []string{`injects[1] (@inc).at: required`}},
		{name: "duplicate label", change: func(m map[string]any) { inject(m, 1)["label"] = "a" }, want: []string{`injects[1] (@a).label: @a is already the label of injects[0] (@a)`}},
		{name: "label of an auto twice", change: func(m map[string]any) { expect(m, 2, 0)["auto"].(map[string]any)["label"] = "inc" }, want: []string{`injects[2] (@help).expect[0].auto.label: @inc is already the label of injects[1] (@inc)`}},
		{name: "unknown label", change: func(m map[string]any) { input(m, 1)["refs"] = []any{"@b"} }, want: []string{`injects[1] (@inc).input.refs[0]: no inject or automated response is labelled @b`}},
		{name: "label played later", change: func(m map[string]any) { inject(m, 0)["at"] = "+16m" }, want: []string{`injects[1] (@inc).input.refs[0]: @a is played after this`}},
		{name: "same time later in file", change: func(m map[string]any) { inject(m, 1)["at"] = "+20m"; input(m, 1)["refs"] = []any{"@help"} }, want: []string{`@help is played after this (or at the same moment, later in the file)`}},
		{name: "exercise in input", change: func(m map[string]any) { input(m, 0)["exercise"] = "x" }, want: []string{`injects[0] (@a).input.exercise: leave it out`}},
		{name: "no tlp", change: func(m map[string]any) { delete(input(m, 0), "tlp") }, want: []string{`injects[0] (@a).input.tlp: required`}},
		{name: "red", change: func(m map[string]any) { input(m, 0)["tlp"] = "red" }, want: []string{`injects[0] (@a).input.tlp: a workflow case is never TLP:RED`}},
		{name: "to unknown", change: func(m map[string]any) { input(m, 0)["to"] = []any{"cert-ee", "cert-lv"} }, want: []string{`injects[0] (@a).input.to[1]: "cert-lv" is not a participant`}},
		{name: "to self", change: func(m map[string]any) { input(m, 0)["to"] = []any{"cert-fr", "cert-ee"} }, want: []string{`injects[0] (@a).input.to[0]: cert-fr opens the case`}},
		{name: "nobody", change: func(m map[string]any) { delete(input(m, 1), "to") }, want: []string{`injects[1] (@inc).input: say who receives the incident`}},
		{name: "kind's field", change: func(m map[string]any) { delete(input(m, 0), "title") }, want: []string{`injects[0] (@a).input: title is required`}},
		{name: "kind's unknown field", change: func(m map[string]any) { input(m, 0)["colour"] = "red" }, want: []string{`injects[0] (@a).input: json: unknown field "colour"`}},
		{name: "ref of the wrong type", change: func(m map[string]any) { input(m, 2)["incident_ref"] = "@a" }, want: []string{`injects[2] (@help).input: reference "@a": want an object of type incident`}},
		{name: "action of another kind", change: func(m map[string]any) { expect(m, 0, 0)["action"] = "answer" }, want: []string{`injects[0] (@a).expect[0].action: "answer" is not an action of the alert workflow (ack, close)`}},
		{name: "expect not a party", change: func(m map[string]any) { input(m, 0)["to"] = []any{"cert-ee"} }, want: []string{`injects[0] (@a).expect[1].node: cert-de is not a party to this alert (from cert-fr to cert-ee): it cannot ack it`}},
		{name: "not allowed", change: func(m map[string]any) { expect(m, 0, 1)["node"] = "cert-fr" }, want: []string{`injects[0] (@a).expect[1].action: cert-fr may not ack: the sender of an alert does not acknowledge it`}},
		{name: "within zero", change: func(m map[string]any) { expect(m, 0, 1)["within"] = "0" }, want: []string{`injects[0] (@a).expect[1].within: 0: give the time allowed`}},
		{name: "auto without after", change: func(m map[string]any) { delete(expect(m, 0, 0)["auto"].(map[string]any), "after") }, want: []string{`injects[0] (@a).expect[0].auto.after: required`}},
		{name: "auto input not an object", change: func(m map[string]any) { expect(m, 0, 0)["auto"].(map[string]any)["input"] = []any{1} }, want: []string{`injects[0] (@a).expect[0].auto.input: want a JSON object`}},
		{name: "auto input unknown field", change: func(m map[string]any) {
			expect(m, 0, 0)["auto"].(map[string]any)["input"] = map[string]any{"anwser": "affected"}
		},
			want: []string{`injects[0] (@a).expect[0].auto.input: json: unknown field "anwser"`}},
		{name: "auto input wrong type", change: func(m map[string]any) {
			expect(m, 2, 0)["auto"].(map[string]any)["input"] = map[string]any{"capability": "digital-forensics", "team_size": "2"}
		}, want: []string{`injects[2] (@help).expect[0].auto.input: json: cannot unmarshal string into Go struct field OfferInput.team_size of type int`}},
		{name: "preservation action's fields", change: func(m map[string]any) {
			inject(m, 1)["kind"] = "preservation"
			inject(m, 1)["input"] = map[string]any{"to": []any{"cert-ee"}, "tlp": "amber", "target_country": "EE", "requesting_authority": "x",
				"offence": "x", "facts": "x", "stored_data": "x", "relation": "x", "custodian": "x", "reason": "x", "mla_intent": true}
			inject(m, 1)["expect"] = []any{map[string]any{"node": "cert-ee", "action": "execute", "auto": map[string]any{"after": "1m", "input": map[string]any{"ground": "security", "preserved_until": "90d"}}}}
		}, want: []string{`injects[1] (@inc).expect[0].auto.input: execute takes no ground (it takes preserved_until, reference, disclosures, comment)`}},
		{name: "step never received", change: func(m map[string]any) {
			input(m, 2)["to"] = []any{"cert-ee", "cert-de"}
			inject(m, 2)["expect"] = append(inject(m, 2)["expect"].([]any), map[string]any{"node": "cert-de", "action": "offer",
				"auto": map[string]any{"after": "20m", "input": map[string]any{"capability": "@offer", "team_size": 1}}})
		}, want: []string{`injects[2] (@help).expect[2].auto.input.capability: @offer is a step of cert-ee that cert-de never receives`}},
		{name: "case never received", change: func(m map[string]any) {
			input(m, 1)["to"] = []any{"cert-ee"}
			inject(m, 1)["from"] = "cert-de"
			input(m, 1)["refs"] = []any{"@help"}
			inject(m, 1)["at"] = "+21m"
		}, want: []string{`@help is a case cert-de never receives (from cert-fr to cert-ee)`}},
		{name: "chain on an alert", change: func(m map[string]any) { inject(m, 0)["chain"] = "@inc" }, want: []string{`injects[0] (@a).chain: only a preservation request is chained`}},
		{name: "preservation to two", change: func(m map[string]any) {
			inject(m, 1)["kind"] = "preservation"
			inject(m, 1)["input"] = map[string]any{"to": []any{"cert-ee", "cert-de"}, "tlp": "amber", "target_country": "EE"}
		}, want: []string{`injects[1] (@inc).input.to: a preservation request goes to one node`}},
		{name: "chain from another node", change: func(m map[string]any) {
			inject(m, 1)["kind"] = "preservation"
			inject(m, 1)["input"] = map[string]any{"to": []any{"cert-ee"}, "tlp": "amber", "target_country": "EE", "requesting_authority": "x",
				"offence": "x", "facts": "x", "stored_data": "x", "relation": "x", "custodian": "x", "reason": "x", "mla_intent": true}
			delete(inject(m, 1), "expect")
			m["injects"] = append(m["injects"].([]any), map[string]any{"at": "+1h", "from": "cert-ee", "kind": "preservation", "chain": "@inc",
				"input": map[string]any{"to": []any{"cert-de"}, "tlp": "amber", "target_country": "DE"}})
		}, want: []string{`injects[3].chain: @inc is not a preservation request sent by cert-ee`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := []byte(c.raw)
			if c.raw == "" {
				m := base()
				c.change(m)
				b = mustMarshal(t, m)
			}
			_, err := Parse(b, testNow)
			if err == nil {
				t.Fatalf("accepted:\n%s", b)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// Every problem is reported at once, each naming where it is.
func TestParseReportsEveryProblem(t *testing.T) {
	m := base()
	inject(m, 0)["from"] = "cert-xx"
	inject(m, 1)["kind"] = "phone"
	expect(m, 0, 1)["within"] = "soon"
	_, err := Parse(mustMarshal(t, m), testNow)
	var e *Error
	if !errors.As(err, &e) || len(e.Problems) != 3 {
		t.Fatalf("want 3 problems: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "3 problems in the scenario:\n  injects[0] (@a).from:") {
		t.Errorf("message:\n%v", err)
	}
}

// A string starting with @@ stands for one starting with @; other strings
// starting with @ that are not labels are text.
func TestParseAtSigns(t *testing.T) {
	m := base()
	input(m, 0)["description"] = "@@a is not a reference"
	input(m, 1)["description"] = "@ mentions, not labels: @Someone said so"
	if _, err := Parse(mustMarshal(t, m), testNow); err != nil {
		t.Fatal(err)
	}
}

func TestRename(t *testing.T) {
	s, err := Parse(mustMarshal(t, base()), testNow)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Rename(map[string]string{"cert-fr": "anssi", "cert-ee": "ria"}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if r.Participants[0] != "anssi" || r.Injects[0].From != "anssi" || r.Injects[0].Expect[0].Node != "ria" ||
		!strings.Contains(string(r.Injects[0].Input), `"to":["ria","cert-de"]`) {
		t.Errorf("renamed: %+v", r)
	}
	if s.Participants[0] != "cert-fr" {
		t.Error("Rename changed the original")
	}
	if _, err := s.Rename(map[string]string{"cert-fr": "cert-ee"}, testNow); err == nil {
		t.Error("renaming two nodes to one name was accepted")
	}
}

func TestParseOffset(t *testing.T) {
	for in, want := range map[string]time.Duration{"+0m": 0, "0": 0, "+15m": 15 * time.Minute, "2h": 2 * time.Hour, "+1d": 24 * time.Hour, "+1h30m": 90 * time.Minute} {
		if d, err := ParseOffset(in); err != nil || d != want {
			t.Errorf("%q: %v %v", in, d, err)
		}
	}
	for _, in := range []string{"", "+", "soon", "-1m", "+400d", "1.5d"} {
		if _, err := ParseOffset(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	for d, want := range map[time.Duration]string{0: "+0m", 90 * time.Minute: "+1h30m", 26 * time.Hour: "+1d02h00m", 30 * time.Second: "+0m30s"} {
		if got := FormatOffset(d); got != want {
			t.Errorf("FormatOffset(%v) = %q; want %q", d, got, want)
		}
	}
}

func TestIsBuiltin(t *testing.T) {
	for arg, want := range map[string]bool{"builtin": true, "builtin:ransomware-hospitals": true, "builtins.json": false, "x.json": false} {
		if got, err := IsBuiltin(arg); got != want || err != nil {
			t.Errorf("%q: %v %v", arg, got, err)
		}
	}
	if ok, err := IsBuiltin("builtin:other"); !ok || err == nil {
		t.Error("builtin:other")
	}
}

// The complete example of docs/exercises.md is a valid scenario, and the
// one the federation tests play.
func TestDocumentedExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "exercises.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## A complete example")
	_, rest, ok2 := strings.Cut(rest, "```json\n")
	block, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("no JSON example in docs/exercises.md")
	}
	s, err := Parse([]byte(block), testNow)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse([]byte(drill), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Events()) != len(d.Events()) || s.Name != d.Name {
		t.Errorf("the documented example is not the tests' drill: %d events, %d", len(s.Events()), len(d.Events()))
	}
	for i, e := range s.Events() {
		if f := d.Events()[i]; e.At != f.At || e.Node != f.Node || e.Action != f.Action {
			t.Errorf("event %d: %+v in the docs, %+v in the tests", i, e, f)
		}
	}
}
