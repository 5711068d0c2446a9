// Package workflow runs the cooperation workflows between nodes — alerts,
// incidents, mutual assistance, preservation requests, due-diligence
// notices, contact pings — on one model:
//
//   - A case is one STIX object, created and signed by the node that opens
//     it: a custom SDO of the kind's own type (x-entraide-alert, …) declared
//     by the kind's extension-definition (extension_type new-sdo), or, for
//     incidents, the standard incident SDO carrying the kind's property
//     extension. Its recipient_refs name the nodes that are parties to it
//     besides its creator.
//   - Every state change is one more signed STIX object, a step
//     (x-entraide-step): case_ref, transition (the action), actor, and the action's own
//     properties. Objects are never rewritten: the history of a case is the
//     list of its steps, and both sides hold the same signed objects, so
//     they see the same history.
//   - The state of a case is a pure function of the case and its steps
//     (Kind.Fold), computed again whenever an item arrives, whatever the
//     order in which they arrive; a duplicated step is the same object
//     (same id and version) and counts once.
//
// Steps travel through the federation like any object (marked with the
// case's TLP level, signed, policy-checked, audited); the receive path asks
// the Engine (federation.WorkflowHook) whether the signer is a party to the
// case and may take the action, and refuses — with an audit entry — a state
// change from any other node. Deadlines are instants in the folded state;
// whether one is overdue is decided at read time against the injected
// clock, so tests move time without sleeping.
package workflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/severity"
	"github.com/entraide/entraide/internal/stix"
)

// StepType is the STIX type of every state change.
const StepType = "x-entraide-step"

// Kind describes one workflow. Every function must be pure (no I/O, no
// clock: Env carries what they may read) and deterministic.
type Kind struct {
	Name      string    // the kind's name: alert, incident, …
	CaseType  string    // the STIX type of its case objects
	Extension Extension // declares CaseType (new-sdo) or its property extension (PropertyExtension)
	// PropertyExtension: the kind's case properties live inside
	// extensions[Extension.ID] of a standard SDO (CaseType) rather than at
	// the top level of a custom one.
	PropertyExtension bool
	// Actions lists the step actions of the kind, for help texts and to
	// refuse an unknown action before anything else.
	Actions []string

	// Open checks a request to open a case (a JSON object of the kind's
	// fields; the engine has taken out "to", "communities" and "tlp") and
	// returns the case's properties. A missing required field, a deadline in
	// the past or an unknown vocabulary term is an error (ErrInput).
	Open func(env *Env, in json.RawMessage) (Draft, error)
	// Act checks that this node (env.Self) may take action on the case in
	// state st, with the action's input, and returns the step's properties.
	Act func(env *Env, c *Case, st *State, action string, in json.RawMessage) (Draft, error)
	// Allowed says whether node may take action on the case (node is a
	// party: the engine has checked it). It is asked on receipt, before a
	// partner's step is stored, and again when a case is folded.
	Allowed func(c *Case, node, action string) error
	// Fold computes the state of the case from its steps, in order (steps
	// from non-parties and disallowed actions are already left out).
	Fold func(c *Case, steps []Step) State
	// FoldVersion is the version of Fold (and of Allowed, as the fold reads
	// it): raise it by one whenever a change makes Fold compute another
	// state from the same objects. A node folds again, when it opens
	// (Engine.Reconcile), every case of the kind folded by an older one.
	FoldVersion int

	// Declarative limits, enforced by the engine when a case is opened,
	// whatever the path (CLI, API, console, exercise), and when a case is
	// folded (a partner's case that breaks them is shown, every step left
	// out, with why). Zero values: no bound, tlp required, every level
	// but RED.

	// MinRecipients and MaxRecipients bound the number of nodes a case
	// goes to besides its creator (its recipient_refs, after communities
	// are expanded): 0 is no bound (a case always needs at least one).
	MinRecipients, MaxRecipients int
	// RecipientsRule says, in a sentence for the person who opens a case,
	// why the bounds are what they are ("a preservation request goes to
	// one node, the requested Party's 24/7 point of contact").
	RecipientsRule string
	// DefaultTLP is the marking of a case opened without one; 0: the
	// request must say (the marking decides who may receive it).
	DefaultTLP stix.TLP
	// TLPs are the levels a case of the kind may be marked with; empty:
	// CLEAR, GREEN, AMBER and AMBER+STRICT. RED is never allowed: a case
	// must reach nodes, not named people.
	TLPs []stix.TLP
}

// allTLPs are the levels a workflow object may carry.
var allTLPs = []stix.TLP{stix.TLPClear, stix.TLPGreen, stix.TLPAmber, stix.TLPAmberStrict}

// Levels are the TLP levels a case of the kind may be marked with.
func (k *Kind) Levels() []stix.TLP {
	if len(k.TLPs) == 0 {
		return slices.Clone(allTLPs)
	}
	return slices.Clone(k.TLPs)
}

// checkLimits refuses limits that no case could meet.
func (k *Kind) checkLimits() error {
	switch {
	case k.MinRecipients < 0 || k.MaxRecipients < 0:
		return fmt.Errorf("workflow: kind %q: negative recipient bound", k.Name)
	case k.MaxRecipients > 0 && k.MaxRecipients < max(k.MinRecipients, 1):
		return fmt.Errorf("workflow: kind %q: MaxRecipients %d is below MinRecipients %d", k.Name, k.MaxRecipients, k.MinRecipients)
	}
	for _, t := range k.TLPs {
		if !slices.Contains(allTLPs, t) {
			return fmt.Errorf("workflow: kind %q: TLP level %v is not allowed for a workflow object", k.Name, t)
		}
	}
	if k.DefaultTLP != 0 && !slices.Contains(k.Levels(), k.DefaultTLP) {
		return fmt.Errorf("workflow: kind %q: DefaultTLP %v is not one of its levels", k.Name, k.DefaultTLP)
	}
	return nil
}

// CheckRecipients says whether n recipients (besides the creator) are
// within the kind's bounds; the error (ErrInput) says what the bounds are
// and why.
func (k *Kind) CheckRecipients(n int) error {
	lo, hi := max(k.MinRecipients, 1), k.MaxRecipients
	if n >= lo && (hi == 0 || n <= hi) {
		return nil
	}
	var want string
	switch {
	case lo == hi:
		want = fmt.Sprintf("exactly %d %s", lo, nodes(lo))
	case hi == 0:
		want = fmt.Sprintf("at least %d %s", lo, nodes(lo))
	case n < lo:
		want = fmt.Sprintf("at least %d %s", lo, nodes(lo))
	default:
		want = fmt.Sprintf("at most %d %s", hi, nodes(hi))
	}
	why := ""
	if k.RecipientsRule != "" {
		why = " (" + k.RecipientsRule + ")"
	}
	return Inputf("a %s case goes to %s besides the node that opens it%s; this one goes to %d", k.Name, want, why, n)
}

func nodes(n int) string {
	if n == 1 {
		return "node"
	}
	return "nodes"
}

// CheckTLP says whether a case of the kind may be marked t.
func (k *Kind) CheckTLP(t stix.TLP) error {
	if t == stix.TLPRed {
		return Inputf("the objects of the %s workflow cannot be TLP:RED (they must reach nodes, not named people): share the sensitive details as a separate TLP:RED object and reference it", k.Name)
	}
	levels := k.Levels()
	if slices.Contains(levels, t) {
		return nil
	}
	var names []string
	for _, l := range levels {
		names = append(names, strings.ToLower(strings.TrimPrefix(l.String(), "TLP:")))
	}
	return Inputf("a %s cannot be marked %v: use %s", k.Name, t, strings.Join(names, ", "))
}

// Draft is what Kind.Open or Kind.Act produce: the properties of the new
// object and, for a case, where it goes.
type Draft struct {
	// Props are the kind's properties of the object (at the top level of a
	// step or a custom case object; inside the property extension of an
	// extended standard one). Values are marshalled with encoding/json.
	Props map[string]any
	// Top are properties set at the top level of a case object whatever
	// the kind (the standard SDO's own: name, description, …).
	Top map[string]any
	// Recipients adds nodes (names or identity ids) to a case's parties,
	// besides the engine's "to" and "communities"; for a step, extra nodes
	// to send it to (its default recipients: every other party when the
	// case's creator acts, the creator otherwise).
	Recipients []string
	// AddParties, on a step by the case's creator, makes these nodes
	// (names or identity ids) parties from this step on: they receive the
	// case and its history.
	AddParties []string
}

// Case is a case object as the kinds read it.
type Case struct {
	ID         string
	Type       string
	Kind       string
	Origin     string    // identity id of the node that opened it (its signer)
	Created    time.Time // when it was opened
	Recipients []string  // recipient_refs: the other parties when it was opened
	TLP        stix.TLP  // its TLP marking; every step carries the same one
	Props      map[string]json.RawMessage
	Top        map[string]json.RawMessage // the object's top-level properties
	Raw        json.RawMessage
	// Viewer is the node that folds the case (the engine sets its own
	// identity id): a kind whose parties hold different parts of the
	// history (a partner does not receive the others' answers) folds
	// what is due on whom as this node can know it. "" folds the view of
	// the node that opened the case.
	Viewer string
}

// ViewedBy says which node folds the case: its Viewer, or its creator.
func (c *Case) ViewedBy() string {
	if c.Viewer == "" {
		return c.Origin
	}
	return c.Viewer
}

// Step is one state change as the kinds read it.
type Step struct {
	ID      string
	Version string
	Node    string // identity id of the node that made it (its signer)
	Actor   string // the person, as the node names them
	Action  string
	At      time.Time // created
	Props   map[string]json.RawMessage
	Raw     json.RawMessage
	// Ignored says why the fold left the step out ("" when it counts).
	Ignored string `json:",omitempty"`
}

// Get decodes property name of the step into v; false when absent.
func (s *Step) Get(name string, v any) bool { return get(s.Props, name, v) }

// Get decodes the kind's property name of the case into v; false when absent.
func (c *Case) Get(name string, v any) bool { return get(c.Props, name, v) }

// Party reports whether node is a party to the case as it was opened.
func (c *Case) Party(node string) bool {
	if node == c.Origin {
		return true
	}
	for _, r := range c.Recipients {
		if r == node {
			return true
		}
	}
	return false
}

func get(m map[string]json.RawMessage, name string, v any) bool {
	raw, ok := m[name]
	if !ok {
		return false
	}
	return json.Unmarshal(raw, v) == nil
}

// State is a case's folded state.
type State struct {
	Title     string     `json:"title"`
	Severity  int        `json:"severity"` // common level 0–5, -1 for none
	Status    string     `json:"status"`
	Open      bool       `json:"open"`
	Deadlines []Deadline `json:"deadlines"`
	// View is the kind's own view of the case (per-recipient answers,
	// offers, the NIS2 clock, …), marshalled into the case's state.
	View any `json:"view,omitempty"`
}

// Deadline is something a party must do by an instant.
type Deadline struct {
	What   string     `json:"what"`  // e.g. "acknowledge", "early warning"
	Party  string     `json:"party"` // identity id of the node that must act
	Due    time.Time  `json:"due"`
	DoneAt *time.Time `json:"done_at,omitempty"` // when it was done; nil while open
}

// Env is what the kinds may read besides their arguments.
type Env struct {
	Self  string    // this node's identity id
	Now   time.Time // the injected clock's now
	Actor string    // the local person acting
	// Known reports whether a node (identity id) is a pinned peer or self.
	Known func(node string) bool
	// Scale is the node's national severity scale (nil: none declared).
	Scale *severity.Scale
}

// ErrInput marks an error in what a person asked: a missing field, a
// deadline in the past, an unknown capability. The CLI exits 2 on it, the
// API answers 400.
var ErrInput = errors.New("invalid input")

// Inputf returns an ErrInput error.
func Inputf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInput, fmt.Sprintf(format, args...))
}

// ErrNotParty refuses a state change from a node that is not a party to
// the case, or an action that node may not take.
var ErrNotParty = errors.New("not a party")

// DecodeStrict decodes a JSON object into v, refusing unknown fields and
// trailing data, with errors that name the field (ErrInput).
func DecodeStrict(in json.RawMessage, v any) error {
	if len(in) == 0 {
		in = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytesReader(in))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Inputf("%v", err)
	}
	if dec.More() {
		return Inputf("trailing data after the JSON object")
	}
	return nil
}

// Exercise is the exercise the case belongs to ("" for real traffic).
func (c *Case) Exercise() string {
	var ex string
	if raw, ok := c.Top[ExerciseProperty]; ok {
		_ = json.Unmarshal(raw, &ex)
	}
	return ex
}

// allowedStep reports whether the kind lets the step's signer take its
// action (Allowed), for the engine's passes over the steps.
func (k *Kind) allowedStep(c *Case, s Step) bool { return k.Allowed(c, s.Node, s.Action) == nil }
