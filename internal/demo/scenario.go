package demo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/exercise"
)

// FitScenario adapts a scenario file written for some nodes (the built-in
// one names the six default nations and the hub) to the nodes actually
// started, so that `--nations N` plays a coherent exercise for any N:
//
//   - an inject whose opener is not started is left out, and so is one
//     whose recipients ("to") are all missing, or which refers to a left-out
//     inject where one id is required (a chain, an incident_ref);
//   - missing recipients are taken out of "to", references to left-out
//     injects out of lists ("refs"), and the expected responses of missing
//     nodes (or that refer to a left-out response) are dropped;
//   - nodes the scenario does not name take part in its broadcasts: an
//     inject addressed to every other participant is also addressed to
//     them, each with an automated response modelled on the scenario's
//     first one (its free-text comment left out), a minute apart.
//
// speed > 0 replaces the scenario's speed. It returns the new file and
// what changed, for the log. The result is checked by exercise.Parse like
// any scenario file.
func FitScenario(file []byte, nodes []string, speed float64) ([]byte, []Change, error) {
	if len(nodes) == 0 {
		return nil, nil, errors.New("no nodes to fit the scenario to")
	}
	var sc map[string]any
	if err := decodeJSON(file, &sc); err != nil || sc == nil {
		return nil, nil, fmt.Errorf("the scenario is not a JSON object: %v", err)
	}
	parts := strs(sc["participants"])
	present := map[string]bool{}
	for _, n := range nodes {
		present[n] = true
	}
	var extras []string
	for _, n := range nodes {
		if !slices.Contains(parts, n) {
			extras = append(extras, n)
		}
	}
	injects, _ := sc["injects"].([]any)

	// Leaving out an inject or a response can orphan what refers to its
	// label: repeat until nothing more is left out (each round either adds
	// a dead label or is the last, so this ends).
	dead := map[string]bool{}
	var out []any
	var notes []Change
	for round := 0; ; round++ {
		before := len(dead)
		out, notes = fitInjects(injects, parts, present, extras, dead)
		if len(dead) == before || round > len(injects)+1 {
			break
		}
	}
	var newParts []string
	for _, p := range parts {
		if present[p] {
			newParts = append(newParts, p)
		}
	}
	newParts = append(newParts, extras...)
	sc["participants"] = newParts
	sc["injects"] = out
	if speed > 0 {
		sc["speed"] = speed
	}
	b, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	return b, notes, nil
}

func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// Change is one way FitScenario changed the scenario.
type Change struct {
	Text string `json:"change"`
	// Response says it concerns one expected response (left out with its
	// node), not a whole inject.
	Response bool `json:"response,omitempty"`
}

// fitInjects is one pass of FitScenario over deep copies of the injects.
func fitInjects(injects []any, parts []string, present map[string]bool, extras []string, dead map[string]bool) ([]any, []Change) {
	var out []any
	var notes []Change
	for i, raw := range injects {
		m, ok := deepCopy(raw).(map[string]any)
		if !ok {
			out = append(out, raw) // not ours to judge: Parse says what is wrong
			continue
		}
		from, _ := m["from"].(string)
		label, _ := m["label"].(string)
		name := label
		if name == "" {
			name = fmt.Sprintf("inject %d", i)
		} else {
			name = "@" + name
		}
		drop := func(why string) {
			if label != "" {
				dead[label] = true
			}
			for _, e := range list(m["expect"]) {
				if l := autoLabel(e); l != "" {
					dead[l] = true
				}
			}
			notes = append(notes, Change{Text: fmt.Sprintf("%s left out: %s", name, why)})
		}
		if !present[from] {
			drop(from + " is not started")
			continue
		}
		if ch, _ := m["chain"].(string); ch != "" && dead[strings.TrimPrefix(ch, "@")] {
			drop("it chains from " + ch + ", left out")
			continue
		}
		input, _ := m["input"].(map[string]any)
		var origTo []string
		broadcast := false
		if input != nil {
			if _, ok := input["to"]; ok {
				origTo = strs(input["to"])
				broadcast = len(origTo) > 0
				for _, p := range parts {
					if p != from && !slices.Contains(origTo, p) {
						broadcast = false
					}
				}
				var to []string
				for _, t := range origTo {
					if present[t] {
						to = append(to, t)
					}
				}
				if broadcast {
					for _, x := range extras {
						if x != from {
							to = append(to, x)
						}
					}
				}
				if len(to) == 0 {
					drop("none of its recipients is started")
					continue
				}
				input["to"] = to
			}
			if ref, ok := pruneRefs(input, dead); !ok {
				drop("it needs " + ref + ", left out")
				continue
			}
		}
		var expects []any
		var template map[string]any
		for _, e := range list(m["expect"]) {
			em, ok := e.(map[string]any)
			if !ok {
				expects = append(expects, e)
				continue
			}
			node, _ := em["node"].(string)
			action, _ := em["action"].(string)
			dropE := func(why string) {
				if l := autoLabel(em); l != "" {
					dead[l] = true
				}
				notes = append(notes, Change{Text: fmt.Sprintf("%s: %s's %s left out: %s", name, node, action, why), Response: true})
			}
			if !present[node] {
				dropE(node + " is not started")
				continue
			}
			if auto, ok := em["auto"].(map[string]any); ok {
				if ain, ok := auto["input"].(map[string]any); ok {
					if ref, ok := pruneRefs(ain, dead); !ok {
						dropE("it needs " + ref + ", left out")
						continue
					}
				}
				if template == nil && slices.Contains(origTo, node) {
					template = em
				}
			}
			expects = append(expects, em)
		}
		if broadcast && template != nil {
			after, err := exercise.ParseOffset(fmt.Sprint(template["auto"].(map[string]any)["after"]))
			if err == nil {
				k := 0
				for _, x := range extras {
					if x == from {
						continue
					}
					k++
					e := deepCopy(template).(map[string]any)
					e["node"] = x
					delete(e, "note")
					auto := e["auto"].(map[string]any)
					delete(auto, "label")
					auto["after"] = strings.TrimPrefix(exercise.FormatOffset(after+time.Duration((k-1)%10+1)*time.Minute), "+")
					if ain, ok := auto["input"].(map[string]any); ok {
						delete(ain, "comment")
						delete(ain, "note")
					}
					expects = append(expects, e)
				}
				if k > 0 {
					notes = append(notes, Change{Text: fmt.Sprintf("%s: also to %d more nodes, answering as %s does", name, k, template["node"])})
				}
			}
		}
		if _, ok := m["expect"]; ok {
			m["expect"] = expects
		}
		out = append(out, m)
	}
	return out, notes
}

// pruneRefs takes the references to dead labels out of the lists of v
// (in place). It reports false, and the reference, when one is a value
// of its own (an id the input cannot do without).
func pruneRefs(v any, dead map[string]bool) (string, bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && isDeadRef(s, dead) {
				return s, false
			}
			if l, ok := e.([]any); ok {
				kept := l[:0:0]
				for _, it := range l {
					if s, ok := it.(string); ok && isDeadRef(s, dead) {
						continue
					}
					kept = append(kept, it)
				}
				if len(kept) == 0 && len(l) > 0 {
					delete(x, k)
					continue
				}
				x[k] = kept
			}
			if ref, ok := pruneRefs(x[k], dead); !ok {
				return ref, false
			}
		}
	case []any:
		for _, e := range x {
			if ref, ok := pruneRefs(e, dead); !ok {
				return ref, false
			}
		}
	}
	return "", true
}

func isDeadRef(s string, dead map[string]bool) bool {
	return strings.HasPrefix(s, "@") && !strings.HasPrefix(s, "@@") && dead[s[1:]]
}

func autoLabel(e any) string {
	em, _ := e.(map[string]any)
	auto, _ := em["auto"].(map[string]any)
	l, _ := auto["label"].(string)
	return l
}

func list(v any) []any { l, _ := v.([]any); return l }

func strs(v any) []string {
	var out []string
	for _, e := range list(v) {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}
