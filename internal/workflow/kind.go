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
