// Package exercise rehearses cooperation: a scenario of timed injects
// (alerts, incidents, assistance and preservation requests, due-diligence
// notices, pings) played across the federation on the injected clock, in
// real time or accelerated, with simulated players answering when a
// scenario says so, and a scoreboard of each participant's times to
// receipt, acknowledgement, answer and closure, and of what it missed.
//
// An exercise adds no second path: every inject is opened, and every
// automated answer taken, through the node's workflow engine
// (workflow.Engine.Open and Act), signed, policy-checked, delivered and
// audited like real traffic. What sets it apart is the exercise marker: the
// runner puts the scenario's name in "exercise" of every open request, so
// the case and every step of it carry x_entraide_exercise
// (workflow.ExerciseProperty), and every view shows it — exercise traffic
// is never confused with real traffic.
//
// The same scenario file plays in one process with several nodes (the
// demo and the tests: the Runner gets every node's engine and plays every
// inject and every automated answer), or across real nodes, each running
// `entraide exercise run` with the same file: each plays only what its
// own node does, and the shared start time aligns them. The format is
// documented in docs/exercises.md.
package exercise

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/alert"
	"github.com/entraide/entraide/internal/assistance"
	"github.com/entraide/entraide/internal/contact"
	"github.com/entraide/entraide/internal/cooperation"
	"github.com/entraide/entraide/internal/incident"
	"github.com/entraide/entraide/internal/notice"
	"github.com/entraide/entraide/internal/preservation"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/workflow"
)

// Scenario is an exercise: who takes part, and the injects each node plays
// at its offset from the start.
type Scenario struct {
	// Name is the exercise's name: the marker every object it creates
	// carries (x_entraide_exercise), and what `exercise score` takes.
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	// Start is when offset +0 falls: an RFC 3339 time, or "now" (the
	// default: when the runner starts).
	Start string `json:"start,omitempty"`
	// Speed compresses time: 1 is real time, 60 plays one scenario minute
	// per real second (default 1).
	Speed float64 `json:"speed,omitempty"`
	// Participants are the nodes taking part, by the names the nodes give
	// each other (entraide peer list).
	Participants []string `json:"participants"`
	Injects      []Inject `json:"injects"`

	start  time.Time         // zero for "now"
	events []Event           // play order
	labels map[string]target // label → what it names
}

// Inject is one case a node opens during the exercise.
type Inject struct {
	// Label names the inject, so that later injects and answers refer to
	// the case it opens as "@label".
	Label string `json:"label,omitempty"`
	// At is the offset from the start, on the scenario's clock: "+0m",
	// "+15m", "+2h", "+1d", "+1h30m".
	At   string `json:"at"`
	From string `json:"from"` // the node that opens the case
	Kind string `json:"kind"` // alert, incident, assist, preservation, notice, ping
	// Actor is the person recorded in the signed case (default
	// "exercise-control").
	Actor string `json:"actor,omitempty"`
	Note  string `json:"note,omitempty"` // for the exercise director; not sent
	// Chain, on a preservation inject, is "@label" of an earlier
	// preservation request of the same node: the new request is prefilled
	// from the Art. 30 disclosure that request received for the input's
	// target_country (preservation.Chain), then the input's fields apply.
	Chain string `json:"chain,omitempty"`
	// Input is the JSON object workflow.Engine.Open takes for the kind
	// (to, communities, tlp and the kind's fields), without "exercise",
	// which the runner sets. A string "@label" anywhere in it is replaced
	// by the id of what that label names; "@@…" stands for "@…".
	Input  json.RawMessage `json:"input"`
	Expect []Expect        `json:"expect,omitempty"`

	offset time.Duration
}

// Expect is a response the scenario expects from a node on the inject's
// case — an action of the kind — scored on the scoreboard, and played by a
// simulated player when Auto is set.
type Expect struct {
	Node   string `json:"node"`
	Action string `json:"action"`
	// Within is how long after the case was opened the action is due, on
	// the scenario's clock ("30m"); "" for no time limit (due by the end
	// of the exercise).
	Within string `json:"within,omitempty"`
	Note   string `json:"note,omitempty"`
	// Auto makes a simulated player take the action; without it, a person
	// must.
	Auto *Auto `json:"auto,omitempty"`

	within time.Duration
}

// Auto is an automated response: the action is taken After the inject
// (on the scenario's clock) with Input (the action's JSON object).
type Auto struct {
	Label string          `json:"label,omitempty"` // "@label" names the step it creates
	After string          `json:"after"`
	Actor string          `json:"actor,omitempty"` // default "exercise-player"
	Input json.RawMessage `json:"input,omitempty"`

	after time.Duration
}

// The default actors recorded in the signed objects.
const (
	ControlActor = "exercise-control"
	PlayerActor  = "exercise-player"
)

// Limits of a scenario.
const (
	MaxFileSize     = 4 << 20
	MaxInjects      = 10000
	MaxExpects      = 100
	MaxParticipants = 200
	MaxSpeed        = 86400
	MaxOffset       = 366 * 24 * time.Hour
	maxProblems     = 100
)

// Event is one thing the scenario makes a node do: open an inject's case
// (Expect < 0) or take an automated action on it.
type Event struct {
	Seq    int           `json:"seq"`             // position in play order
	Inject int           `json:"inject"`          // index in Injects
	Expect int           `json:"expect"`          // index in the inject's Expect; -1 for the inject itself
	Node   string        `json:"node"`            // the node that acts
	Kind   string        `json:"kind"`            // the inject's kind
	Action string        `json:"action"`          // "open", or the automated action
	Label  string        `json:"label,omitempty"` // the inject's or the automated response's label
	At     time.Duration `json:"-"`               // offset from the start, on the scenario's clock
}

// Problem is one thing wrong in a scenario: where (a path such as
// injects[2] (@be-alert).expect[0].node) and what.
type Problem struct {
	Path string `json:"path"`
	Msg  string `json:"message"`
}

// Error lists a scenario's problems.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("1 problem in the scenario:")
	} else {
		fmt.Fprintf(&b, "%d problems in the scenario:", len(e.Problems))
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		if p.Path != "" {
			b.WriteString(p.Path + ": ")
		}
		b.WriteString(p.Msg)
	}
	return b.String()
}

type problems struct{ list []Problem }

func (p *problems) add(path, format string, a ...any) {
	if len(p.list) < maxProblems {
		p.list = append(p.list, Problem{Path: path, Msg: fmt.Sprintf(format, a...)})
	}
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &Error{Problems: slices.Clone(p.list)}
}

var (
	nameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	labelRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	refRE   = regexp.MustCompile(`^@[a-z0-9][a-z0-9._-]{0,63}$`)
)

// Kinds maps the workflow kinds an exercise plays, by name.
func kinds() map[string]*workflow.Kind {
	m := map[string]*workflow.Kind{}
	for _, k := range cooperation.Kinds() {
		m[k.Name] = k
	}
	return m
}

// aliases are the command-line names of kinds whose workflow is named
// otherwise.
var aliases = map[string]string{"legal": "preservation", "poc": "ping", "assistance": "assist"}

// Parse reads and validates a scenario. now is the time "now" stands for
// when the scenario starts "now" (the checks of deadlines in inputs are
// made against start + offset). Every problem found is reported (an *Error
// listing up to 100), each naming the inject and the field.
func Parse(b []byte, now time.Time) (*Scenario, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("the scenario is %d bytes long; at most %d", len(b), MaxFileSize)
	}
	if err := checkJSON(b); err != nil {
		return nil, err
	}
	var p problems
	s := decodeScenario(b, &p)
	if err := p.err(); err != nil {
		return nil, err
	}
	if err := s.validate(now); err != nil {
		return nil, err
	}
	return s, nil
}

// decode reads one JSON object's members, refusing those not in allowed
// (with a suggestion when one is close).
func decodeObject(raw json.RawMessage, path string, allowed []string, p *problems) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		p.add(path, "want a JSON object ({…})")
		return nil
	}
	var unknown []string
	for k := range m {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		msg := fmt.Sprintf("unknown field %q", k)
		if g := closest(k, allowed); g != "" {
			msg += fmt.Sprintf(": did you mean %q?", g)
		} else {
			msg += " (the fields are " + strings.Join(allowed, ", ") + ")"
		}
		p.add(path, "%s", msg)
	}
	return m
}

func field[T any](m map[string]json.RawMessage, name, path, want string, p *problems) (T, bool) {
	var v T
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return v, false
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		p.add(at(path, name), "want %s", want)
		return v, false
	}
	return v, true
}

func at(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func decodeScenario(b []byte, p *problems) *Scenario {
	s := &Scenario{}
	m := decodeObject(b, "", []string{"name", "title", "description", "start", "speed", "participants", "injects"}, p)
	if m == nil {
		return s
	}
	s.Name, _ = field[string](m, "name", "", "a string", p)
	s.Title, _ = field[string](m, "title", "", "a string", p)
	s.Description, _ = field[string](m, "description", "", "a string", p)
	s.Start, _ = field[string](m, "start", "", `a string: an RFC 3339 time or "now"`, p)
	if raw, ok := m["speed"]; ok && string(raw) != "null" {
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			p.add("speed", "want a number (1 is real time, 60 plays a scenario minute per second)")
		} else {
			s.Speed = f
			if f == 0 {
				s.Speed = math.NaN() // an explicit 0 is a mistake, not "the default"
			}
		}
	}
	s.Participants, _ = field[[]string](m, "participants", "", "a list of node names", p)
	raws, _ := field[[]json.RawMessage](m, "injects", "", "a list of injects", p)
	if len(raws) > MaxInjects {
		p.add("injects", "%d injects; at most %d", len(raws), MaxInjects)
		return s
	}
	for i, raw := range raws {
		s.Injects = append(s.Injects, decodeInject(raw, fmt.Sprintf("injects[%d]", i), p))
	}
	return s
}

func decodeInject(raw json.RawMessage, path string, p *problems) Inject {
	var in Inject
	m := decodeObject(raw, path, []string{"label", "at", "from", "kind", "actor", "note", "chain", "input", "expect"}, p)
	if m == nil {
		return in
	}
	in.Label, _ = field[string](m, "label", path, "a string", p)
	in.At, _ = field[string](m, "at", path, `a string such as "+15m"`, p)
	in.From, _ = field[string](m, "from", path, "a node name", p)
	in.Kind, _ = field[string](m, "kind", path, "a string", p)
	in.Actor, _ = field[string](m, "actor", path, "a string", p)
	in.Note, _ = field[string](m, "note", path, "a string", p)
	in.Chain, _ = field[string](m, "chain", path, `a string "@label"`, p)
	if raw, ok := m["input"]; ok {
		in.Input = compact(raw)
	}
	raws, _ := field[[]json.RawMessage](m, "expect", path, "a list of expected responses", p)
	if len(raws) > MaxExpects {
		p.add(at(path, "expect"), "%d expected responses; at most %d", len(raws), MaxExpects)
		return in
	}
	for j, raw := range raws {
		in.Expect = append(in.Expect, decodeExpect(raw, fmt.Sprintf("%s.expect[%d]", path, j), p))
	}
	return in
}

func decodeExpect(raw json.RawMessage, path string, p *problems) Expect {
	var e Expect
	m := decodeObject(raw, path, []string{"node", "action", "within", "note", "auto"}, p)
	if m == nil {
		return e
	}
	e.Node, _ = field[string](m, "node", path, "a node name", p)
	e.Action, _ = field[string](m, "action", path, "a string", p)
	e.Within, _ = field[string](m, "within", path, `a string such as "30m"`, p)
	e.Note, _ = field[string](m, "note", path, "a string", p)
	if raw, ok := m["auto"]; ok && string(raw) != "null" {
		ap := path + ".auto"
		am := decodeObject(raw, ap, []string{"label", "after", "actor", "input"}, p)
		if am != nil {
			a := &Auto{}
			a.Label, _ = field[string](am, "label", ap, "a string", p)
			a.After, _ = field[string](am, "after", ap, `a string such as "10m"`, p)
			a.Actor, _ = field[string](am, "actor", ap, "a string", p)
			if raw, ok := am["input"]; ok {
				a.Input = compact(raw)
			}
			e.Auto = a
		}
	}
	return e
}

func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return slices.Clone(raw)
	}
	return b.Bytes()
}

// ParseOffset reads an offset or a delay: a duration with an optional
// leading "+" ("+15m", "2h", "1d", "1h30m"), not negative.
func ParseOffset(s string) (time.Duration, error) {
	v := strings.TrimSpace(s)
	if v == "" {
		return 0, errors.New(`empty: give a duration such as "+15m", "2h" or "1d"`)
	}
	v = strings.TrimPrefix(v, "+")
	if v == "0" {
		return 0, nil
	}
	d, err := workflow.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: write \"+15m\", \"+2h\", \"+1d\" or \"+1h30m\"", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative: offsets count from the start, delays from the inject", s)
	}
	if d > MaxOffset {
		return 0, fmt.Errorf("%q is more than a year", s)
	}
	return d, nil
}

func injectPath(i int, in *Inject) string {
	if in.Label != "" && labelRE.MatchString(in.Label) {
		return fmt.Sprintf("injects[%d] (@%s)", i, in.Label)
	}
	return fmt.Sprintf("injects[%d]", i)
}

// target is what a label names: an inject's case or an automated step.
type target struct {
	event  int // index in events
	inject int
	expect int // -1: the inject's case
}

// validate checks everything that can be checked without the nodes, and
// computes offsets and the play order.
func (s *Scenario) validate(now time.Time) error {
	var p problems
	ks := kinds()
	switch {
	case s.Name == "":
		p.add("name", "required: the exercise's name, which every object it creates carries (e.g. \"cyber-europe-2026\")")
	case !nameRE.MatchString(s.Name):
		p.add("name", "%q: use lowercase letters, digits, '-', '_' and '.', at most 64, starting with a letter or digit", s.Name)
	}
	if n := len([]rune(s.Title)); n > 300 {
		p.add("title", "%d characters long; at most 300", n)
	}
	if n := len([]rune(s.Description)); n > 20000 {
		p.add("description", "%d characters long; at most 20000", n)
	}
	s.start = time.Time{}
	switch strings.TrimSpace(s.Start) {
	case "", "now":
	default:
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s.Start))
		if err != nil {
			p.add("start", "%q: want an RFC 3339 time (2026-11-18T09:00:00Z) or \"now\"", s.Start)
		} else {
			s.start = t.UTC()
		}
	}
	speed := s.Speed
	if speed == 0 {
		speed = 1
	}
	if math.IsNaN(speed) || speed < 1 || speed > MaxSpeed {
		p.add("speed", "want a number from 1 (real time) to %d (a scenario day per second); 60 plays a scenario minute per second", MaxSpeed)
		speed = 1
	}
	if len(s.Participants) == 0 {
		p.add("participants", "required: the nodes taking part, by the names they give each other (entraide peer list)")
	}
	if len(s.Participants) > MaxParticipants {
		p.add("participants", "%d participants; at most %d", len(s.Participants), MaxParticipants)
	}
	seen := map[string]bool{}
	for i, n := range s.Participants {
		switch {
		case strings.TrimSpace(n) == "" || n != strings.TrimSpace(n) || len(n) > 128 || strings.ContainsAny(n, " \t\r\n@"):
			p.add(fmt.Sprintf("participants[%d]", i), "%q is not a node name", n)
		case seen[n]:
			p.add(fmt.Sprintf("participants[%d]", i), "%q is listed twice", n)
		}
		seen[n] = true
	}
	isNode := func(path, what, n string) bool {
		if n == "" {
			p.add(path, "required: %s", what)
			return false
		}
		if !seen[n] {
			p.add(path, "%q is not a participant (%s)", n, strings.Join(s.Participants, ", "))
			return false
		}
		return true
	}
	if len(s.Injects) == 0 {
		p.add("injects", "required: at least one inject")
	}

	// Pass 1: each inject and expected response on its own; labels.
	labels := map[string]target{}
	labelAt := map[string]string{}
	addLabel := func(path, label string, t target) {
		if label == "" {
			return
		}
		if !labelRE.MatchString(label) {
			p.add(path, "%q: use lowercase letters, digits, '-', '_' and '.', at most 64, starting with a letter or digit", label)
			return
		}
		if prev, dup := labelAt[label]; dup {
			p.add(path, "@%s is already the label of %s: labels are unique in a scenario", label, prev)
			return
		}
		labelAt[label] = strings.TrimSuffix(path, ".label")
		labels[label] = t
	}
	type ev struct {
		Event
		file int // order of appearance
	}
	var evs []ev
	for i := range s.Injects {
		in := &s.Injects[i]
		path := injectPath(i, in)
		addLabel(at(path, "label"), in.Label, target{inject: i, expect: -1})
		if d, err := ParseOffset(in.At); err != nil {
			if in.At == "" {
				p.add(at(path, "at"), "required: the offset from the start (\"+0m\", \"+15m\", \"+2h\")")
			} else {
				p.add(at(path, "at"), "%v", err)
			}
		} else {
			in.offset = d
		}
		isNode(at(path, "from"), "the node that opens the case", in.From)
		if a, ok := aliases[in.Kind]; ok {
			p.add(at(path, "kind"), "%q: the workflow is called %q in a scenario", in.Kind, a)
		} else if _, ok := ks[in.Kind]; !ok {
			if in.Kind == "" {
				p.add(at(path, "kind"), "required: one of %s", kindList(ks))
			} else {
				p.add(at(path, "kind"), "unknown kind %q: want one of %s", in.Kind, kindList(ks))
			}
		}
		if n := len([]rune(in.Actor)); n > 100 {
			p.add(at(path, "actor"), "%d characters long; at most 100", n)
		}
		if n := len([]rune(in.Note)); n > 5000 {
			p.add(at(path, "note"), "%d characters long; at most 5000", n)
		}
		evs = append(evs, ev{Event{Inject: i, Expect: -1, Node: in.From, Kind: in.Kind, Action: "open", Label: in.Label, At: in.offset}, len(evs)})
		for j := range in.Expect {
			e := &in.Expect[j]
			ep := fmt.Sprintf("%s.expect[%d]", path, j)
			isNode(at(ep, "node"), "the node expected to act", e.Node)
			if k := ks[in.Kind]; k != nil && !slices.Contains(k.Actions, e.Action) {
				if e.Action == "" {
					p.add(at(ep, "action"), "required: one of the %s actions (%s)", k.Name, strings.Join(k.Actions, ", "))
				} else {
					p.add(at(ep, "action"), "%q is not an action of the %s workflow (%s)", e.Action, k.Name, strings.Join(k.Actions, ", "))
				}
			}
			if e.Within != "" {
				if d, err := ParseOffset(e.Within); err != nil {
					p.add(at(ep, "within"), "%v", err)
				} else if d == 0 {
					p.add(at(ep, "within"), "0: give the time allowed (\"30m\"), or leave within out for no limit")
				} else {
					e.within = d
				}
			}
			if n := len([]rune(e.Note)); n > 5000 {
				p.add(at(ep, "note"), "%d characters long; at most 5000", n)
			}
			if a := e.Auto; a != nil {
				addLabel(at(ep, "auto.label"), a.Label, target{inject: i, expect: j})
				if d, err := ParseOffset(a.After); err != nil {
					if a.After == "" {
						p.add(at(ep, "auto.after"), "required: how long after the inject the simulated player acts (\"10m\")")
					} else {
						p.add(at(ep, "auto.after"), "%v", err)
					}
				} else if in.offset+d > MaxOffset {
					p.add(at(ep, "auto.after"), "%s after the inject is more than a year after the start", a.After)
				} else {
					a.after = d
				}
				if n := len([]rune(a.Actor)); n > 100 {
					p.add(at(ep, "auto.actor"), "%d characters long; at most 100", n)
				}
				evs = append(evs, ev{Event{Inject: i, Expect: j, Node: e.Node, Kind: in.Kind, Action: e.Action, Label: a.Label, At: in.offset + a.after}, len(evs)})
			}
		}
	}
	if len(p.list) > 0 {
		return p.err()
	}

	// The play order: by time on the scenario's clock, then as written
	// (an inject before its automated responses).
	sort.SliceStable(evs, func(a, b int) bool { return evs[a].At < evs[b].At })
	s.events = make([]Event, len(evs))
	pos := map[[2]int]int{}
	for n, e := range evs {
		e.Seq = n
		s.events[n] = e.Event
		pos[[2]int{e.Inject, e.Expect}] = n
	}
	for l, t := range labels {
		t.event = pos[[2]int{t.inject, t.expect}]
		labels[l] = t
	}
	s.labels = labels

	// Pass 2: inputs, references, who may do what.
	start := s.start
	if start.IsZero() {
		start = now
	}
	for i := range s.Injects {
		in := &s.Injects[i]
		path := injectPath(i, in)
		k := ks[in.Kind]
		ev := pos[[2]int{i, -1}]
		parties, known, isObject := s.checkInput(in, path, &p)
		// References in the input, and the chain.
		var open json.RawMessage
		if isObject {
			ctx := refContext{s: s, labels: labels, event: ev, node: in.From, path: at(path, "input")}
			open = ctx.substitute(in.Input, &p)
		}
		if in.Chain != "" {
			cp := at(path, "chain")
			switch {
			case in.Kind != preservation.KindName:
				p.add(cp, "only a preservation request is chained (from an Art. 30 disclosure)")
			case !refRE.MatchString(in.Chain):
				p.add(cp, "%q: want \"@label\" of an earlier preservation request of %s", in.Chain, in.From)
			default:
				t, ok := labels[in.Chain[1:]]
				switch {
				case !ok:
					p.add(cp, "no inject is labelled %s", in.Chain)
				case t.expect >= 0:
					p.add(cp, "%s is an automated response, not a preservation request", in.Chain)
				case s.Injects[t.inject].Kind != preservation.KindName || s.Injects[t.inject].From != in.From:
					p.add(cp, "%s is not a preservation request sent by %s: only the requesting node chains a request from a disclosure made to it", in.Chain, in.From)
				case t.event >= ev:
					p.add(cp, "%s is played after this inject: chain from a request played before it", in.Chain)
				default:
					open = chainPrefill(s.Injects[t.inject].Input, open)
				}
			}
		}
		if k != nil && open != nil {
			env := &workflow.Env{Self: in.From, Now: start.Add(time.Duration(float64(in.offset) / speed)), Actor: ControlActor,
				Known: func(string) bool { return true }}
			if _, err := k.Open(env, staticInput(open)); err != nil {
				p.add(at(path, "input"), "%s", s.unplaceholder(strings.TrimPrefix(err.Error(), workflow.ErrInput.Error()+": ")))
			}
		}
		for j := range in.Expect {
			e := &in.Expect[j]
			ep := fmt.Sprintf("%s.expect[%d]", path, j)
			if k != nil && known {
				if !slices.Contains(parties, e.Node) {
					p.add(at(ep, "node"), "%s is not a party to this %s (%s): it cannot %s it", e.Node, in.Kind, partyText(in.From, parties), e.Action)
				} else if slices.Contains(k.Actions, e.Action) {
					c := &workflow.Case{ID: "exercise", Kind: k.Name, Origin: in.From, Recipients: without(parties, in.From), Props: map[string]json.RawMessage{}, Top: map[string]json.RawMessage{}}
					if err := k.Allowed(c, e.Node, e.Action); err != nil {
						p.add(at(ep, "action"), "%s may not %s: %v", e.Node, e.Action, err)
					}
				}
			}
			if e.Auto != nil {
				actx := refContext{s: s, labels: labels, event: pos[[2]int{i, j}], node: e.Node, path: at(ep, "auto.input")}
				if len(e.Auto.Input) > 0 {
					var m map[string]json.RawMessage
					if json.Unmarshal(e.Auto.Input, &m) != nil || m == nil {
						p.add(at(ep, "auto.input"), "want a JSON object (the action's input; {} when it takes nothing)")
						continue
					}
				}
				if ai := actx.substitute(e.Auto.Input, &p); ai != nil {
					if err := checkActionInput(in.Kind, e.Action, ai); err != nil {
						p.add(at(ep, "auto.input"), "%s", s.unplaceholder(err.Error()))
					}
				}
			}
		}
	}
	return p.err()
}

func kindList(ks map[string]*workflow.Kind) string {
	var names []string
	for _, k := range cooperation.Kinds() {
		if ks[k.Name] != nil {
			names = append(names, k.Name)
		}
	}
	return strings.Join(names, ", ")
}

func partyText(from string, parties []string) string {
	others := without(parties, from)
	if len(others) == 0 {
		return "opened by " + from
	}
	return "from " + from + " to " + strings.Join(others, ", ")
}

func without(list []string, x string) []string {
	var out []string
	for _, v := range list {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

// checkInput checks the engine's fields of an inject's input (to,
// communities, tlp; no exercise) and returns the parties to the case when
// they are known without the nodes (no community among the recipients).
func (s *Scenario) checkInput(in *Inject, path string, p *problems) (parties []string, known, isObject bool) {
	ip := at(path, "input")
	if len(in.Input) == 0 || string(in.Input) == "null" {
		p.add(ip, "required: the JSON object the %s workflow opens a case with (to, tlp and its fields)", in.Kind)
		return nil, false, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(in.Input, &m); err != nil || m == nil {
		p.add(ip, "want a JSON object (to, tlp and the %s's fields)", in.Kind)
		return nil, false, false
	}
	if _, ok := m["exercise"]; ok {
		p.add(at(ip, "exercise"), "leave it out: the runner marks every object with the scenario's name (%q)", s.Name)
	}
	var to, communities []string
	if raw, ok := m["to"]; ok {
		if err := json.Unmarshal(raw, &to); err != nil {
			p.add(at(ip, "to"), "want a list of node names")
		}
	}
	if raw, ok := m["communities"]; ok {
		if err := json.Unmarshal(raw, &communities); err != nil {
			p.add(at(ip, "communities"), "want a list of community names")
		}
	}
	parties = []string{in.From}
	for j, n := range to {
		tp := fmt.Sprintf("%s.to[%d]", ip, j)
		switch {
		case n == in.From:
			p.add(tp, "%s opens the case: list the other parties", n)
		case !slices.Contains(s.Participants, n):
			p.add(tp, "%q is not a participant (%s)", n, strings.Join(s.Participants, ", "))
		case !slices.Contains(parties, n):
			parties = append(parties, n)
		}
	}
	for j, c := range communities {
		if strings.TrimSpace(c) == "" {
			p.add(fmt.Sprintf("%s.communities[%d]", ip, j), "empty community name")
		}
	}
	if len(to) == 0 && len(communities) == 0 {
		p.add(ip, "say who receives the %s: \"to\" (participants) or \"communities\"", in.Kind)
	}
	if in.Kind == preservation.KindName && (len(to) != 1 || len(communities) > 0) {
		p.add(at(ip, "to"), "a preservation request goes to one node, the requested Party's 24/7 point of contact: give one node in \"to\" and no community")
	}
	var tlp string
	if raw, ok := m["tlp"]; !ok {
		p.add(at(ip, "tlp"), "required: clear, green, amber or amber+strict")
	} else if err := json.Unmarshal(raw, &tlp); err != nil {
		p.add(at(ip, "tlp"), "want a string: clear, green, amber or amber+strict")
	} else if t, err := stix.ParseTLP(tlp); err != nil {
		p.add(at(ip, "tlp"), "%v", err)
	} else if t == stix.TLPRed {
		p.add(at(ip, "tlp"), "a workflow case is never TLP:RED: share the sensitive details as a separate TLP:RED object")
	}
	return parties, len(communities) == 0, true
}

// actionInputs are the input types of the kinds' actions, so that a
// simulated player's input is checked before the exercise (its fields and
// their types; the rest depends on the case's state when it is played).
var actionInputs = map[string]func() any{
	"alert/ack": func() any { return new(alert.AckInput) }, "alert/close": func() any { return new(alert.AckInput) },
	"incident/update": func() any { return new(incident.UpdateInput) }, "incident/task-add": func() any { return new(incident.TaskAddInput) },
	"incident/task-done": func() any { return new(incident.TaskDoneInput) }, "incident/nis2-sent": func() any { return new(incident.NIS2SentInput) },
	"incident/join": func() any { return new(incident.JoinInput) }, "incident/close": func() any { return new(incident.CloseInput) },
	"assist/offer": func() any { return new(assistance.OfferInput) }, "assist/no-offer": func() any { return new(assistance.NoOfferInput) },
	"assist/withdraw": func() any { return new(assistance.WithdrawInput) }, "assist/accept": func() any { return new(assistance.AcceptInput) },
	"assist/decline": func() any { return new(assistance.DeclineInput) }, "assist/close": func() any { return new(assistance.CloseInput) },
	"notice/respond": func() any { return new(notice.RespondInput) }, "notice/remind": func() any { return new(notice.RemindInput) },
	"notice/close": func() any { return new(notice.CloseInput) },
	"ping/answer":  func() any { return new(contact.AnswerInput) }, "ping/close": func() any { return new(contact.AnswerInput) },
}

// checkActionInput checks a simulated player's input against its action's
// input type: no unknown field, the right types; for a preservation
// request, only the fields the action takes.
func checkActionInput(kind, action string, in json.RawMessage) error {
	if kind == preservation.KindName {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(in, &m)
		fields := preservation.Fields(action)
		var extra []string
		for k := range m {
			if !slices.Contains(fields, k) {
				extra = append(extra, k)
			}
		}
		sort.Strings(extra)
		if len(extra) > 0 {
			return fmt.Errorf("%s takes no %s (it takes %s)", action, strings.Join(extra, ", "), strings.Join(fields, ", "))
		}
		return trimInput(workflow.DecodeStrict(in, new(preservation.StepInput)))
	}
	f := actionInputs[kind+"/"+action]
	if f == nil {
		return nil
	}
	return trimInput(workflow.DecodeStrict(in, f()))
}

func trimInput(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(strings.TrimPrefix(err.Error(), workflow.ErrInput.Error()+": "))
}

// staticInput is an inject's input as the kind's Open checks it without
// the node: the engine's fields taken out, and a national severity (which
// only the node's scale can read) replaced by a common level when none is
// given. The national level is checked when the inject is played.
func staticInput(in json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(in, &m) != nil || m == nil {
		return in
	}
	for _, k := range []string{"to", "communities", "tlp", "exercise"} {
		delete(m, k)
	}
	if _, ok := m["national_severity"]; ok {
		delete(m, "national_severity")
		if _, ok := m["severity"]; !ok {
			m["severity"] = json.RawMessage(`"0"`)
		}
	}
	b, _ := json.Marshal(m)
	return b
}

// chainPrefill is what validation assumes a chained request will hold:
// the Art. 29 items of the request it is chained from, a custodian and the
// chain references (filled by preservation.Chain when played), under the
// inject's own fields.
func chainPrefill(from, own json.RawMessage) json.RawMessage {
	var f, o map[string]json.RawMessage
	_ = json.Unmarshal(from, &f)
	if json.Unmarshal(own, &o) != nil || o == nil {
		return own
	}
	out := map[string]json.RawMessage{}
	for _, k := range []string{"requesting_authority", "offence", "facts", "stored_data", "relation", "reason", "mla_intent", "remind_before"} {
		if v, ok := f[k]; ok {
			out[k] = v
		}
	}
	out["custodian"] = json.RawMessage(`"the provider the disclosure names"`)
	out["chained_from_ref"] = json.RawMessage(strconvQuote(placeholder(workflow.StepType, "chain")))
	out["chained_from_case_ref"] = json.RawMessage(strconvQuote(placeholder(preservation.Type, "chain")))
	for k, v := range o {
		out[k] = v
	}
	b, _ := json.Marshal(out)
	return b
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// placeholderNS is the namespace of the ids validation puts where a label
// will name a real object.
var placeholderNS = [16]byte{0x45, 0x78, 0x65, 0x72, 0x63, 0x69, 0x73, 0x65, 0x2d, 0x70, 0x6c, 0x61, 0x63, 0x65, 0x68, 0x6f}

func placeholder(typ, label string) string { return stix.DerivedID(typ, placeholderNS, []byte(label)) }

// unplaceholder puts the labels back where a message quotes the ids
// validation stood in for them.
func (s *Scenario) unplaceholder(msg string) string {
	if !strings.Contains(msg, "--") {
		return msg
	}
	for l, t := range s.labels {
		typ := workflow.StepType
		if t.expect < 0 {
			typ = kindType(s.Injects[t.inject].Kind)
		}
		msg = strings.ReplaceAll(msg, placeholder(typ, l), "@"+l)
	}
	msg = strings.ReplaceAll(msg, placeholder(workflow.StepType, "chain"), "(the disclosure it is chained from)")
	return strings.ReplaceAll(msg, placeholder(preservation.Type, "chain"), "(the request it is chained from)")
}

// refContext checks the "@label" references of one input.
type refContext struct {
	s      *Scenario
	labels map[string]target
	event  int    // the referring event's position in play order
	node   string // the node that plays it
	path   string
}

// substitute checks the references of an input and returns it with
// placeholder ids of the right types in their place (nil when the input is
// not JSON).
func (c refContext) substitute(in json.RawMessage, p *problems) json.RawMessage {
	if len(in) == 0 {
		return in
	}
	out, err := walkStrings(in, func(path, s string) (string, bool) {
		if strings.HasPrefix(s, "@@") {
			return s[1:], true
		}
		if !refRE.MatchString(s) {
			return s, true
		}
		where := c.path + path
		t, ok := c.labels[s[1:]]
		if !ok {
			p.add(where, "no inject or automated response is labelled %s (write @@ for a text that starts with @)", s)
			return s, false
		}
		if t.event >= c.event {
			p.add(where, "%s is played after this (or at the same moment, later in the file): refer to what is played before", s)
			return s, false
		}
		in := &c.s.Injects[t.inject]
		parties, known := partiesOf(in)
		if t.expect < 0 {
			if known && !slices.Contains(parties, c.node) {
				p.add(where, "%s is a case %s never receives (%s): its node cannot refer to it", s, c.node, partyText(in.From, parties))
				return s, false
			}
			return placeholder(kindType(in.Kind), s[1:]), true
		}
		// A step: a partner's goes to the case's opener only, the
		// opener's to every party.
		by := in.Expect[t.expect].Node
		if known && c.node != by && c.node != in.From && !(by == in.From && slices.Contains(parties, c.node)) {
			p.add(where, "%s is a step of %s that %s never receives (a partner's step goes to the case's opener, %s)", s, by, c.node, in.From)
			return s, false
		}
		return placeholder(workflow.StepType, s[1:]), true
	})
	if err != nil {
		p.add(c.path, "want a JSON object")
		return nil
	}
	return out
}

func partiesOf(in *Inject) ([]string, bool) {
	var m struct {
		To          []string `json:"to"`
		Communities []string `json:"communities"`
	}
	_ = json.Unmarshal(in.Input, &m)
	parties := []string{in.From}
	for _, n := range m.To {
		if !slices.Contains(parties, n) {
			parties = append(parties, n)
		}
	}
	return parties, len(m.Communities) == 0
}

func kindType(kind string) string {
	if k := kinds()[kind]; k != nil {
		return k.CaseType
	}
	return "x-entraide-case"
}

// walkStrings rewrites every string value of a JSON document (not member
// names) with f, which gets the value's path (".a.b[2]") and returns the
// new value; numbers keep their exact form.
func walkStrings(in json.RawMessage, f func(path, s string) (string, bool)) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	v = walk(v, "", f)
	return json.Marshal(v)
}

func walk(v any, path string, f func(path, s string) (string, bool)) any {
	switch x := v.(type) {
	case string:
		s, _ := f(path, x)
		return s
	case []any:
		for i := range x {
			x[i] = walk(x[i], fmt.Sprintf("%s[%d]", path, i), f)
		}
		return x
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // problems in a stable order
		for _, k := range keys {
			x[k] = walk(x[k], path+"."+k, f)
		}
		return x
	}
	return v
}

// closest is the allowed name a mistyped one most likely meant.
func closest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(strings.ToLower(s), n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// ---- reading a validated scenario ----

// StartTime is the scenario's start, and false when it starts "now".
func (s *Scenario) StartTime() (time.Time, bool) { return s.start, !s.start.IsZero() }

// SpeedFactor is the scenario's speed (1 when not given).
func (s *Scenario) SpeedFactor() float64 {
	if s.Speed == 0 || math.IsNaN(s.Speed) {
		return 1
	}
	return s.Speed
}

// Events lists what the scenario makes nodes do, in play order: by offset,
// then in the order of the file (an inject before its automated
// responses).
func (s *Scenario) Events() []Event { return slices.Clone(s.events) }

// End is the offset of the last event.
func (s *Scenario) End() time.Duration {
	if len(s.events) == 0 {
		return 0
	}
	return s.events[len(s.events)-1].At
}

// Offset is the inject's offset from the start.
func (in *Inject) Offset() time.Duration { return in.offset }

// WithinDuration is how long the expected response may take (0: no limit).
func (e *Expect) WithinDuration() time.Duration { return e.within }

// AfterDuration is the simulated player's delay after the inject.
func (a *Auto) AfterDuration() time.Duration { return a.after }

// Marshal writes the scenario as a file Parse reads back.
func (s *Scenario) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WithStart returns a copy of the scenario starting at t (and at speed
// when speed > 0): what a node saves of an exercise it played, so that
// its scoreboard knows when it started.
func (s *Scenario) WithStart(t time.Time, speed float64) (*Scenario, error) {
	c, err := s.clone()
	if err != nil {
		return nil, err
	}
	c.Start = t.UTC().Format(time.RFC3339Nano)
	if speed > 0 {
		c.Speed = speed
	}
	if err := c.validate(t); err != nil {
		return nil, err
	}
	return c, nil
}

func (s *Scenario) clone() (*Scenario, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var p problems
	c := decodeScenario(b, &p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// Rename gives the scenario's nodes other names (old → new): in the
// participants, each inject's from and its input's "to", and each expected
// response's node. Node names elsewhere in inputs are left as they are. The
// renamed scenario is validated again (now as in Parse).
func (s *Scenario) Rename(names map[string]string, now time.Time) (*Scenario, error) {
	c, err := s.clone()
	if err != nil {
		return nil, err
	}
	rn := func(n string) string {
		if v, ok := names[n]; ok {
			return v
		}
		return n
	}
	for i, n := range c.Participants {
		c.Participants[i] = rn(n)
	}
	for i := range c.Injects {
		in := &c.Injects[i]
		in.From = rn(in.From)
		var m map[string]json.RawMessage
		if json.Unmarshal(in.Input, &m) == nil && m != nil {
			var to []string
			if raw, ok := m["to"]; ok && json.Unmarshal(raw, &to) == nil {
				for j := range to {
					to[j] = rn(to[j])
				}
				m["to"], _ = json.Marshal(to)
				in.Input, _ = json.Marshal(m)
			}
		}
		for j := range in.Expect {
			in.Expect[j].Node = rn(in.Expect[j].Node)
		}
	}
	if err := c.validate(now); err != nil {
		return nil, err
	}
	return c, nil
}
