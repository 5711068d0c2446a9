package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/severity"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// Engine runs the workflows of one node: it opens cases and takes actions
// (each one signed object shared through the federation), indexes and
// admits the workflow objects that cross the node (it is the federation's
// WorkflowHook), folds cases into their states, and answers queries.
type Engine struct {
	n      *node.Node
	fed    *federation.Federation
	st     store.WorkflowStore
	kinds  map[string]*Kind
	byType map[string]*Kind
	names  []string
}

// New makes the engine of a node with the given kinds and installs it as
// the federation's workflow hook.
func New(n *node.Node, fed *federation.Federation, kinds ...*Kind) (*Engine, error) {
	ws, err := store.Workflows(n.Store)
	if err != nil {
		return nil, err
	}
	e := &Engine{n: n, fed: fed, st: ws, kinds: map[string]*Kind{}, byType: map[string]*Kind{}}
	for _, k := range kinds {
		if k.Name == "" || k.CaseType == "" || k.Open == nil || k.Act == nil || k.Allowed == nil || k.Fold == nil {
			return nil, fmt.Errorf("workflow: kind %q is incomplete", k.Name)
		}
		if err := k.checkLimits(); err != nil {
			return nil, err
		}
		if _, dup := e.kinds[k.Name]; dup {
			return nil, fmt.Errorf("workflow: kind %q twice", k.Name)
		}
		if _, dup := e.byType[k.CaseType]; dup {
			return nil, fmt.Errorf("workflow: case type %q twice", k.CaseType)
		}
		e.kinds[k.Name], e.byType[k.CaseType] = k, k
		e.names = append(e.names, k.Name)
	}
	sort.Strings(e.names)
	fed.SetWorkflow(e)
	return e, nil
}

// Kind returns a registered kind.
func (e *Engine) Kind(name string) (*Kind, bool) {
	k, ok := e.kinds[name]
	return k, ok
}

// Kinds lists the registered kinds' names.
func (e *Engine) Kinds() []string { return slices.Clone(e.names) }

// Self is this node's identity id.
func (e *Engine) Self() string { return e.n.Identity.IdentityID }

// Now is the node's clock.
func (e *Engine) Now() time.Time { return e.n.Clock.Now() }

// NodeName names a node identity id: this node's name, a peer's name, or
// the id itself.
func (e *Engine) NodeName(id string) string {
	if id == e.Self() {
		return e.n.Identity.Name
	}
	if p, ok := e.fed.Registry().ByIdentity(id); ok {
		return p.Name
	}
	return id
}

// ResolveNode turns a peer name or identity id (or "self" or this node's
// name) into an identity id; ErrInput when there is no such peer.
func (e *Engine) ResolveNode(ctx context.Context, nameOrID string) (string, error) {
	if nameOrID == "self" || nameOrID == e.n.Identity.Name || nameOrID == e.Self() {
		return e.Self(), nil
	}
	// The registry's snapshot first: a case sent to thirty peers names
	// thirty of them, and reading each from the store (with a parse of
	// its card) was most of the cost of opening the case. The store
	// answers for a peer the snapshot does not know yet (pinned by
	// another process within peer.RefreshEvery).
	reg := e.fed.Registry()
	if p, ok := reg.ByName(nameOrID); ok {
		return p.IdentityID, nil
	}
	if p, ok := reg.ByIdentity(nameOrID); ok {
		return p.IdentityID, nil
	}
	p, err := reg.Get(ctx, nameOrID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", Inputf("no peer %q: see 'entraide peer list'", nameOrID)
		}
		return "", err
	}
	return p.IdentityID, nil
}

func (e *Engine) env(actor string) *Env {
	scale, _ := severity.LoadScale(e.n.Dir) // a broken scale file is reported by check-config
	return &Env{Self: e.Self(), Now: e.Now(), Actor: actor, Scale: scale, Known: func(id string) bool {
		if id == e.Self() {
			return true
		}
		_, ok := e.fed.Registry().ByIdentity(id)
		return ok
	}}
}

// ---- federation.WorkflowHook ----

var _ federation.WorkflowHook = (*Engine)(nil)

// Index implements federation.WorkflowHook.
func (e *Engine) Index(o *stix.Object, signer string) (store.WorkflowItem, bool, error) {
	var k *Kind
	step := o.Type == StepType
	if !step {
		k = e.byType[o.Type]
		if k == nil {
			return store.WorkflowItem{}, false, nil
		}
		if k.PropertyExtension && !hasExtension(o.Raw, k.Extension.ID) {
			return store.WorkflowItem{}, false, nil // a plain incident, say
		}
	}
	if t, _ := o.TLP(); t == stix.TLPRed {
		return store.WorkflowItem{}, false, errors.New("a workflow object is never TLP:RED: share the sensitive details as a separate TLP:RED object and reference it")
	}
	var top struct {
		Created string `json:"created"`
		CaseRef string `json:"case_ref"`
		Action  string `json:"transition"`
		Actor   string `json:"actor"`
	}
	if err := json.Unmarshal(o.Raw, &top); err != nil {
		return store.WorkflowItem{}, false, err
	}
	at, err := stix.ParseTimestamp(top.Created)
	if err != nil {
		return store.WorkflowItem{}, false, fmt.Errorf("created: %v", err)
	}
	it := store.WorkflowItem{Node: signer, At: at}
	if !step {
		it.Case, it.Kind = o.ID, k.Name
		return it, true, nil
	}
	typ, _, ok := strings.Cut(top.CaseRef, "--")
	if !ok {
		return it, false, fmt.Errorf("%s: case_ref %q is not an identifier", StepType, top.CaseRef)
	}
	if k = e.byType[typ]; k == nil {
		return it, false, fmt.Errorf("%s: case_ref %q names no kind of workflow this node runs", StepType, top.CaseRef)
	}
	if !slices.Contains(k.Actions, top.Action) {
		return it, false, fmt.Errorf("%s: %q is not an action of the %s workflow (%s)", StepType, top.Action, k.Name, strings.Join(k.Actions, ", "))
	}
	if top.Actor == "" {
		return it, false, fmt.Errorf("%s: actor is required", StepType)
	}
	it.Case, it.Kind, it.Step, it.Action = top.CaseRef, k.Name, true, top.Action
	return it, true, nil
}

// Admit implements federation.WorkflowHook: a step is refused when its
// signer is not a party to the case, or may not take its action. A step
// that arrives before its case is accepted; the fold leaves it out until
// the case arrives if its signer turns out not to be a party. A signer not
// a party here may be one the case's creator added by a step that has not
// reached this node yet (the creator offline, its push still queued): that
// refusal wraps federation.ErrRetryLater, so the sender tries again (for a
// bounded number of attempts) and the step is admitted once the step that
// adds the party has arrived; a node that never becomes a party ends
// refused for good by its own outbox.
func (e *Engine) Admit(ctx context.Context, signer string, o *stix.Object, it store.WorkflowItem) error {
	if !it.Step {
		return nil // a case is its creator's: the signature proved it
	}
	items, err := e.st.WorkflowItems(ctx, it.Case)
	if err != nil {
		return err
	}
	c, steps, err := e.parseItems(items)
	if err != nil {
		return err
	}
	if c == nil {
		return nil // not arrived yet
	}
	k := e.kinds[c.Kind]
	parties := e.parties(k, c, steps)
	if !parties[signer] {
		return fmt.Errorf("%w: %s is not a party to %s %s (%w: the step that makes it one may still be on its way)",
			ErrNotParty, e.NodeName(signer), k.Name, c.ID, federation.ErrRetryLater)
	}
	if err := k.Allowed(c, signer, it.Action); err != nil {
		return fmt.Errorf("%w: %v", ErrNotParty, err)
	}
	return nil
}

// Changed implements federation.WorkflowHook. The cases were folded in
// the transaction that stored their items (FoldCase).
func (e *Engine) Changed(ctx context.Context, cases []string) {
	e.catchUp(ctx, cases)
}

// ---- folding ----

// parseItems reads a case's items: the case (nil when it has not arrived)
// and its steps, without duplicates, ordered by (At, ID).
func (e *Engine) parseItems(items []store.WorkflowItem) (*Case, []Step, error) {
	var c *Case
	seen := map[string]bool{}
	var steps []Step
	for _, it := range items {
		if !it.Step {
			if c != nil && c.Raw != nil && it.Version <= versionOf(c.Raw) {
				continue
			}
			k := e.kinds[it.Kind]
			if k == nil {
				return nil, nil, fmt.Errorf("workflow: unknown kind %q", it.Kind)
			}
			pc, err := parseCase(k, it)
			if err != nil {
				return nil, nil, err
			}
			c = pc
			continue
		}
		if seen[it.ObjectID] {
			continue // steps are never versioned; a second version counts once
		}
		seen[it.ObjectID] = true
		s, err := parseStep(it)
		if err != nil {
			return nil, nil, err
		}
		steps = append(steps, s)
	}
	sort.SliceStable(steps, func(i, j int) bool {
		if !steps[i].At.Equal(steps[j].At) {
			return steps[i].At.Before(steps[j].At)
		}
		return steps[i].ID < steps[j].ID
	})
	return c, steps, nil
}

func versionOf(raw []byte) string {
	var v struct {
		Modified string `json:"modified"`
	}
	_ = json.Unmarshal(raw, &v)
	return v.Modified
}

func parseCase(k *Kind, it store.WorkflowItem) (*Case, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(it.Raw, &top); err != nil {
		return nil, fmt.Errorf("workflow: case %s: %v", it.ObjectID, err)
	}
	c := &Case{ID: it.ObjectID, Kind: k.Name, Origin: it.Node, Created: it.At, Top: top, Raw: it.Raw}
	_ = json.Unmarshal(top["type"], &c.Type)
	props := top
	if k.PropertyExtension {
		var exts map[string]map[string]json.RawMessage
		_ = json.Unmarshal(top["extensions"], &exts)
		props = exts[k.Extension.ID]
	}
	c.Props = props
	_ = json.Unmarshal(props["recipient_refs"], &c.Recipients)
	if o, err := stix.Parse(it.Raw); err == nil {
		c.TLP, _ = o.TLP()
	}
	return c, nil
}

func parseStep(it store.WorkflowItem) (Step, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(it.Raw, &top); err != nil {
		return Step{}, fmt.Errorf("workflow: step %s: %v", it.ObjectID, err)
	}
	s := Step{ID: it.ObjectID, Version: it.Version, Node: it.Node, Action: it.Action, At: it.At, Props: top, Raw: it.Raw}
	_ = json.Unmarshal(top["actor"], &s.Actor)
	return s, nil
}

// parties returns who is a party to the case after its steps: its creator,
// its recipients, and the nodes its creator added.
func (e *Engine) parties(k *Kind, c *Case, steps []Step) map[string]bool {
	ps := map[string]bool{c.Origin: true}
	for _, r := range c.Recipients {
		ps[r] = true
	}
	for _, s := range steps {
		if s.Node != c.Origin {
			continue
		}
		var add []string
		s.Get("party_refs_added", &add)
		for _, a := range add {
			ps[a] = true
		}
	}
	return ps
}

// folded is the state row's JSON: what show and the API return.
type folded struct {
	State    State    `json:"state"`
	Exercise string   `json:"exercise,omitempty"`
	Parties  []string `json:"parties"`
	// Added are the parties the case's creator added after it opened it
	// (party_refs_added): they did not receive the earlier steps, which
	// the parties send them (ShareHistory, catchUp).
	Added    []string    `json:"added_parties,omitempty"`
	Timeline []Step      `json:"-"`
	Events   []eventJSON `json:"timeline"`
}

type eventJSON struct {
	ID      string          `json:"id"`
	At      time.Time       `json:"at"`
	Node    string          `json:"node"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Ignored string          `json:"ignored,omitempty"`
	Object  json.RawMessage `json:"object"`
}

// Fold computes a case's state from its items and stores it.
func (e *Engine) Fold(ctx context.Context, caseID string) error {
	items, err := e.st.WorkflowItems(ctx, caseID)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return fmt.Errorf("workflow: %s: %w", caseID, store.ErrNotFound)
	}
	var upTo int64
	for _, it := range items {
		upTo = max(upTo, it.Seq)
	}
	wc, ok, err := e.FoldCase(caseID, items)
	if err != nil {
		return err
	}
	if !ok {
		// Steps before their case: nothing to fold yet. The case's
		// arrival folds them.
		return e.st.MarkWorkflowApplied(ctx, caseID, upTo)
	}
	return e.st.PutWorkflowCase(ctx, wc, upTo)
}

// FoldCase implements federation.WorkflowHook (store.CaseFolder): the
// state of a case from its items, ok false while its case object has not
// arrived. It reads no workflow data from the store (only the peers'
// names, for the timeline), so that the federation can fold a case inside
// the transaction that stores its items.
func (e *Engine) FoldCase(caseID string, items []store.WorkflowItem) (store.WorkflowCase, bool, error) {
	c, steps, err := e.parseItems(items)
	if err != nil || c == nil {
		return store.WorkflowCase{}, false, err
	}
	k := e.kinds[c.Kind]
	f := e.fold(k, c, steps)
	body, err := json.Marshal(f)
	if err != nil {
		return store.WorkflowCase{}, false, err
	}
	wc := store.WorkflowCase{ID: c.ID, Kind: k.Name, Origin: c.Origin, Title: f.State.Title, Severity: f.State.Severity,
		Status: f.State.Status, Open: f.State.Open, Opened: c.Created, Updated: c.Created, State: body, FoldVersion: foldVersion(k)}
	for _, s := range steps {
		if s.At.After(wc.Updated) {
			wc.Updated = s.At
		}
	}
	for _, d := range f.State.Deadlines {
		if d.DoneAt != nil || !f.State.Open {
			continue
		}
		switch {
		case wc.NextDue.IsZero() || d.Due.Before(wc.NextDue):
			wc.NextDue, wc.WaitingOn = d.Due, []string{d.Party}
		case d.Due.Equal(wc.NextDue) && !slices.Contains(wc.WaitingOn, d.Party):
			wc.WaitingOn = append(wc.WaitingOn, d.Party)
		}
	}
	return wc, true, nil
}

func (e *Engine) fold(k *Kind, c *Case, steps []Step) folded {
	c.Viewer = e.Self()
	ps := map[string]bool{c.Origin: true}
	for _, r := range c.Recipients {
		ps[r] = true
	}
	// The parties the creator added, whatever the time of the step that
	// added them (as Admit reads them): a new party's step stamped at the
	// same instant, or by a clock running behind, still counts.
	var lateAdded []string
	for _, s := range steps {
		if s.Node != c.Origin || !k.allowedStep(c, s) {
			continue
		}
		var add []string
		s.Get("party_refs_added", &add)
		for _, a := range add {
			if !ps[a] {
				ps[a] = true
				lateAdded = append(lateAdded, a)
			}
		}
	}
	// A partner's case that breaks the kind's limits (opened by another
	// version, or by a node that does not check them) is shown for what
	// it is, and nothing it asks is due.
	broken := k.CheckRecipients(len(c.Recipients))
	if broken == nil && c.TLP.Valid() {
		broken = k.CheckTLP(c.TLP)
	}
	var kept []Step
	for i := range steps {
		s := &steps[i]
		switch {
		case broken != nil:
			s.Ignored = "the case is not valid: " + strings.TrimPrefix(broken.Error(), ErrInput.Error()+": ")
		case !ps[s.Node]:
			s.Ignored = e.NodeName(s.Node) + " is not a party to the case"
		default:
			if err := k.Allowed(c, s.Node, s.Action); err != nil {
				s.Ignored = err.Error()
			}
		}
		if s.Ignored != "" {
			continue
		}
		kept = append(kept, *s)
	}
	st := k.Fold(c, kept)
	if broken != nil {
		st.Status = "not valid: " + strings.TrimPrefix(broken.Error(), ErrInput.Error()+": ")
		st.Open, st.Deadlines = false, nil
	}
	if st.Deadlines == nil {
		st.Deadlines = []Deadline{}
	}
	f := folded{State: st, Exercise: c.Exercise(), Added: lateAdded}
	sort.Strings(f.Added)
	for p := range ps {
		f.Parties = append(f.Parties, p)
	}
	sort.Strings(f.Parties)
	f.Events = []eventJSON{}
	for _, s := range steps {
		f.Events = append(f.Events, eventJSON{ID: s.ID, At: s.At, Node: s.Node, Actor: s.Actor, Action: s.Action, Ignored: s.Ignored, Object: s.Raw})
	}
	return f
}

// EngineFoldVersion is the version of the engine's part of every fold
// (parties, steps left out, deadlines per viewer, the stored view): raise it
// by one whenever a change makes the engine fold another state from the same
// objects. 1: folds are per viewer (Case.Viewer) — a node owns only the
// deadlines it can know are met.
const EngineFoldVersion = 1

// foldVersion is the version a case of kind k is folded with: the sum of the
// engine's and the kind's, each only ever raised, so that a change of
// either raises it.
func foldVersion(k *Kind) int { return EngineFoldVersion + k.FoldVersion }

// Reconcile folds every case that has items its state does not take into
// account yet (a node stopped between storing an object and folding its
// case), and every case whose state an older fold computed (its
// FoldVersion below foldVersion: this version folds the same objects
// differently; one it cannot fold keeps its state). It stops after a
// bounded number of rounds.
func (e *Engine) Reconcile(ctx context.Context) error {
	if err := e.refoldStale(ctx); err != nil {
		return err
	}
	for round := 0; round < 1000; round++ {
		ids, err := e.st.UnappliedWorkflowCases(ctx, 500)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		for _, id := range ids {
			if err := e.Fold(ctx, id); err != nil {
				return fmt.Errorf("workflow: fold %s: %w", id, err)
			}
		}
	}
	return errors.New("workflow: reconcile did not finish in 1000 rounds")
}

// refoldStale folds again the cases of every kind whose stored state an
// older fold computed. A case that fails to fold is left as it is.
func (e *Engine) refoldStale(ctx context.Context) error {
	for _, name := range e.names {
		k := e.kinds[name]
		v := foldVersion(k)
		after := ""
		for {
			ids, err := e.st.StaleWorkflowCases(ctx, k.Name, v, after, 500)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				break
			}
			for _, id := range ids {
				// A case this version cannot fold keeps the state an
				// older one computed (and its version: the next open
				// tries again) rather than keep the node from opening.
				if err := e.Fold(ctx, id); err != nil && ctx.Err() != nil {
					return ctx.Err()
				}
			}
			after = ids[len(ids)-1]
		}
	}
	return nil
}

// ---- acting ----

// Result is what opening a case or taking an action did.
type Result struct {
	ID      string            `json:"id"`      // the case's id
	Object  string            `json:"object"`  // the id of the object written (the case, or the step)
	Queued  int               `json:"queued"`  // deliveries queued
	Refused []RefusedDelivery `json:"refused"` // recipients the sharing policy refused
}

// RefusedDelivery is a recipient the sharing policy refused, with why.
type RefusedDelivery struct {
	Node   string `json:"node"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Common are the fields of every open request that the engine reads itself.
type Common struct {
	To          []string `json:"to"`          // peers (names or identity ids)
	Communities []string `json:"communities"` // communities: their members receive the case
	TLP         string   `json:"tlp"`         // clear, green, amber, amber+strict
	// Exercise names the exercise the case belongs to ("" for real
	// traffic): the case and every step carry it (ExerciseProperty), and
	// every view shows it.
	Exercise string `json:"exercise"`
}

// ExerciseProperty is the custom property that marks a workflow object as
// part of an exercise, never to be confused with real traffic: its value
// is the exercise's name. Steps of a case carry their case's.
const ExerciseProperty = "x_entraide_exercise"

// splitCommon takes the engine's fields out of an open request.
func splitCommon(in json.RawMessage) (Common, json.RawMessage, error) {
	var m map[string]json.RawMessage
	if len(in) == 0 {
		in = json.RawMessage("{}")
	}
	if err := json.Unmarshal(in, &m); err != nil {
		return Common{}, nil, Inputf("the request is not a JSON object: %v", err)
	}
	var c Common
	for name, dst := range map[string]any{"to": &c.To, "communities": &c.Communities, "tlp": &c.TLP, "exercise": &c.Exercise} {
		if raw, ok := m[name]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return Common{}, nil, Inputf("%s: %v", name, err)
			}
			delete(m, name)
		}
	}
	rest, err := json.Marshal(m)
	return c, rest, err
}

// Open opens a case of a kind: in is a JSON object with the engine's
// fields (Common) and the kind's. The case object is signed, stored and
// queued for every recipient in one transaction.
func (e *Engine) Open(ctx context.Context, kind, actor string, in json.RawMessage) (*Result, error) {
	k, ok := e.kinds[kind]
	if !ok {
		return nil, Inputf("no workflow %q (%s)", kind, strings.Join(e.names, ", "))
	}
	common, rest, err := splitCommon(in)
	if err != nil {
		return nil, err
	}
	tlp := k.DefaultTLP
	if common.TLP != "" {
		if tlp, err = stix.ParseTLP(common.TLP); err != nil {
			return nil, Inputf("tlp: %v", err)
		}
	} else if tlp == 0 {
		return nil, Inputf("tlp is required: the marking decides who may receive the %s", kind)
	}
	if err := k.CheckTLP(tlp); err != nil {
		return nil, err
	}
	d, err := k.Open(e.env(actor), rest)
	if err != nil {
		return nil, err
	}
	var nodes []string
	for _, name := range append(slices.Clone(common.To), d.Recipients...) {
		id, err := e.ResolveNode(ctx, name)
		if err != nil {
			return nil, err
		}
		if id != e.Self() && !slices.Contains(nodes, id) {
			nodes = append(nodes, id)
		}
	}
	recipients := slices.Clone(nodes)
	for _, cn := range common.Communities {
		c, err := e.n.Store.Community(ctx, cn)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, Inputf("no community %q: see 'entraide community list'", cn)
			}
			return nil, err
		}
		for _, m := range c.Members {
			if m != e.Self() && !slices.Contains(recipients, m) {
				recipients = append(recipients, m)
			}
		}
	}
	if len(recipients) == 0 {
		return nil, Inputf("say who receives the %s: at least one peer (to) or a community with other members", kind)
	}
	if err := k.CheckRecipients(len(recipients)); err != nil {
		return nil, err
	}
	sort.Strings(recipients)
	now := e.Now()
	id := stix.NewID(k.CaseType)
	obj := map[string]any{}
	for key, v := range d.Top {
		obj[key] = v
	}
	obj["type"], obj["spec_version"], obj["id"] = k.CaseType, "2.1", id
	obj["created"], obj["modified"] = stix.FormatTimestamp(now), stix.FormatTimestamp(now)
	if common.Exercise != "" {
		if _, err := Text("exercise", common.Exercise, true, 200); err != nil {
			return nil, err
		}
		obj[ExerciseProperty] = common.Exercise
	}
	props := map[string]any{}
	for key, v := range d.Props {
		props[key] = v
	}
	props["recipient_refs"] = recipients
	if k.PropertyExtension {
		props["extension_type"] = "property-extension"
		obj["extensions"] = map[string]any{k.Extension.ID: props}
	} else {
		for key, v := range props {
			obj[key] = v
		}
		obj["extensions"] = map[string]any{k.Extension.ID: map[string]any{"extension_type": "new-sdo"}}
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return e.share(ctx, id, raw, tlp, common.Communities, nodes, actor)
}

func (e *Engine) share(ctx context.Context, caseID string, raw []byte, tlp stix.TLP, communities, nodes []string, actor string) (*Result, error) {
	res, err := e.fed.Share(ctx, federation.ShareRequest{Objects: [][]byte{raw}, TLP: tlp, Communities: communities, Nodes: nodes, Actor: actor})
	if err != nil {
		return nil, err
	}
	so := res.Objects[0]
	if so.Outcome != store.Added && so.Outcome != store.Duplicate {
		return nil, fmt.Errorf("workflow: %s not stored: %s", so.ID, so.Message)
	}
	r := &Result{ID: caseID, Object: so.ID, Queued: res.Queued, Refused: []RefusedDelivery{}}
	for _, t := range so.Refused {
		r.Refused = append(r.Refused, RefusedDelivery{Node: t.Node, Name: e.NodeName(t.Node), Reason: t.Decision.Reason})
	}
	return r, nil
}

// Load returns a case and its steps as this node holds them;
// store.ErrNotFound (wrapped) when the node holds no such case.
func (e *Engine) Load(ctx context.Context, caseID string) (*Case, []Step, error) {
	items, err := e.st.WorkflowItems(ctx, caseID)
	if err != nil {
		return nil, nil, err
	}
	c, steps, err := e.parseItems(items)
	if err != nil {
		return nil, nil, err
	}
	if c == nil {
		return nil, nil, fmt.Errorf("workflow: no case %s here: %w", caseID, store.ErrNotFound)
	}
	return c, steps, nil
}

// Act takes an action on a case as this node: the step is signed, stored
// and queued — to every other party when the case's creator acts, to the
// creator otherwise (and to the draft's extra recipients).
func (e *Engine) Act(ctx context.Context, caseID, action, actor string, in json.RawMessage) (*Result, error) {
	c, steps, err := e.Load(ctx, caseID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, Inputf("no case %s on this node: see the list commands", caseID)
		}
		return nil, err
	}
	k := e.kinds[c.Kind]
	if !slices.Contains(k.Actions, action) {
		return nil, Inputf("%q is not an action of the %s workflow (%s)", action, k.Name, strings.Join(k.Actions, ", "))
	}
	self := e.Self()
	f := e.fold(k, c, steps)
	if !slices.Contains(f.Parties, self) {
		return nil, fmt.Errorf("%w: this node is not a party to %s", ErrNotParty, caseID)
	}
	if err := k.Allowed(c, self, action); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotParty, err)
	}
	env := e.env(actor)
	d, err := k.Act(env, c, &f.State, action, in)
	if err != nil {
		return nil, err
	}
	if actor == "" {
		actor = "unknown"
	}
	now := e.Now()
	id := stix.NewID(StepType)
	obj := map[string]any{}
	for key, v := range d.Props {
		obj[key] = v
	}
	obj["type"], obj["spec_version"], obj["id"] = StepType, "2.1", id
	obj["created"], obj["modified"] = stix.FormatTimestamp(now), stix.FormatTimestamp(now)
	obj["case_ref"], obj["transition"], obj["actor"] = c.ID, action, actor
	if ex := c.Exercise(); ex != "" {
		obj[ExerciseProperty] = ex
	}
	obj["extensions"] = map[string]any{StepExtension.ID: map[string]any{"extension_type": "new-sdo"}}
	var added []string
	if len(d.AddParties) > 0 {
		if self != c.Origin {
			return nil, fmt.Errorf("%w: only the node that opened %s adds parties", ErrNotParty, caseID)
		}
		for _, a := range d.AddParties {
			id, err := e.ResolveNode(ctx, a)
			if err != nil {
				return nil, err
			}
			if !slices.Contains(f.Parties, id) && !slices.Contains(added, id) {
				added = append(added, id)
			}
		}
		if len(added) > 0 {
			obj["party_refs_added"] = added
		}
	}
	var to []string
	if self == c.Origin {
		for _, p := range f.Parties {
			if p != self {
				to = append(to, p)
			}
		}
	} else {
		to = []string{c.Origin}
	}
	for _, r := range d.Recipients {
		rid, err := e.ResolveNode(ctx, r)
		if err != nil {
			return nil, err
		}
		if rid != self && !slices.Contains(to, rid) && !slices.Contains(added, rid) {
			to = append(to, rid)
		}
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	if len(to) == 0 {
		// Every other party is new: the step goes to them with the
		// history, below; Share needs a recipient, so it is stored alone.
		to = added
	}
	r, err := e.share(ctx, c.ID, raw, c.TLP, nil, to, actor)
	if err != nil {
		return nil, err
	}
	if len(added) > 0 {
		// The new parties get the case and every step so far, this one
		// included, in one run of the outbox.
		h, err := e.ShareHistory(ctx, c.ID, added, actor)
		if err != nil {
			return nil, fmt.Errorf("%s are parties now, but sending them the case's history failed (run the action again later): %w", strings.Join(e.nodeNames(added), ", "), err)
		}
		r.Queued += h.Queued
		r.Refused = append(r.Refused, h.Refused...)
	}
	return r, nil
}

func (e *Engine) nodeNames(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = e.NodeName(id)
	}
	return out
}

// ShareHistory sends nodes (parties added to a case after it was opened)
// what this node holds of the case that they should hold as parties: on
// the node that opened the case, the case and every step that counts,
// whoever signed it; on another party, its own steps. Steps signed by
// other nodes are relayed as they are (federation.Relay): their
// signatures still verify at the new party, and the sharing policy
// decides each as any relay — a partner's TLP:AMBER step is not passed
// on, and its signer sends it itself (catchUp). The steps that add
// parties go first, so that the new party admits the steps of the parties
// they add whatever the order of arrival; then the others, oldest first.
// A node that is not a pinned peer is skipped.
func (e *Engine) ShareHistory(ctx context.Context, caseID string, nodes []string, actor string) (*Result, error) {
	c, steps, err := e.Load(ctx, caseID)
	if err != nil {
		return nil, err
	}
	k := e.kinds[c.Kind]
	f := e.fold(k, c, steps)
	self := e.Self()
	var to []string
	for _, n := range nodes {
		if _, ok := e.fed.Registry().ByIdentity(n); ok && n != self && !slices.Contains(to, n) {
			to = append(to, n)
		}
	}
	r := &Result{ID: c.ID, Object: c.ID, Refused: []RefusedDelivery{}}
	if len(to) == 0 {
		return r, nil
	}
	var first, rest [][]byte
	if c.Origin == self {
		first = append(first, c.Raw)
	}
	for _, ev := range f.Events {
		if ev.Ignored != "" || (c.Origin != self && ev.Node != self) {
			continue
		}
		var add struct {
			Added []string `json:"party_refs_added"`
		}
		_ = json.Unmarshal(ev.Object, &add)
		if ev.Node == c.Origin && len(add.Added) > 0 {
			first = append(first, ev.Object)
		} else {
			rest = append(rest, ev.Object)
		}
	}
	res, err := e.fed.Relay(ctx, federation.RelayRequest{Objects: append(first, rest...), Nodes: to, Actor: actor})
	if err != nil {
		return nil, err
	}
	r.Queued = res.Queued
	seen := map[string]bool{}
	for _, so := range res.Objects {
		for _, t := range so.Refused {
			if key := t.Node + "\x00" + t.Decision.Reason; !seen[key] {
				seen[key] = true
				r.Refused = append(r.Refused, RefusedDelivery{Node: t.Node, Name: e.NodeName(t.Node), Reason: t.Decision.Reason})
			}
		}
	}
	return r, nil
}

// catchUp runs on a party that did not open the case, after a batch that
// touched cases was stored: when the creator added parties after the
// case was opened, this node sends them its own steps that they do not
// have yet (no outbox row for them), since the creator may not pass on
// a partner's TLP:AMBER step itself. It does what ShareHistory does for
// this node's steps, once per step and new party, whenever the news of
// the new party arrives (the creator's step that adds it, or this node's
// restart: Reconcile does not run it, the next change of the case does).
// Errors are logged: the next change of the case tries again.
func (e *Engine) catchUp(ctx context.Context, cases []string) {
	self := e.Self()
	for _, id := range cases {
		wc, err := e.st.WorkflowCase(ctx, id)
		if err != nil || wc.Origin == self {
			continue
		}
		var f struct {
			Added    []string    `json:"added_parties"`
			Timeline []eventJSON `json:"timeline"`
		}
		if json.Unmarshal(wc.State, &f) != nil || len(f.Added) == 0 {
			continue
		}
		var to []string
		for _, a := range f.Added {
			if _, ok := e.fed.Registry().ByIdentity(a); ok && a != self {
				to = append(to, a)
			}
		}
		if len(to) == 0 {
			continue
		}
		missing := map[string][][]byte{} // node → this node's steps it lacks, oldest first
		for _, ev := range f.Timeline {
			if ev.Node != self || ev.Ignored != "" {
				continue
			}
			ds, err := e.st.Deliveries(ctx, ev.ID, versionOf(ev.Object))
			if err != nil {
				missing = nil
				break
			}
			for _, n := range to {
				if _, ok := ds[n]; !ok {
					missing[n] = append(missing[n], ev.Object)
				}
			}
		}
		for _, n := range to {
			if len(missing[n]) > 0 {
				// An error leaves the rows unwritten: the next change
				// of the case finds them missing again.
				_, _ = e.fed.Relay(ctx, federation.RelayRequest{Objects: missing[n], Nodes: []string{n}, Actor: "workflow"})
			}
		}
	}
}

// ---- reading ----

// View is one case as show and the API present it.
type View struct {
	ID         string          `json:"id"`
	Kind       string          `json:"kind"`
	Origin     PartyView       `json:"origin"`
	Opened     time.Time       `json:"opened"`
	Updated    time.Time       `json:"updated"`
	TLP        string          `json:"tlp"`
	Title      string          `json:"title"`
	Severity   int             `json:"severity"`
	Status     string          `json:"status"`
	Open       bool            `json:"open"`
	NextDue    *time.Time      `json:"next_due,omitempty"`
	Overdue    bool            `json:"overdue"`
	WaitingOn  []PartyView     `json:"waiting_on"`
	Parties    []PartyView     `json:"parties"`
	Deadlines  []DeadlineView  `json:"deadlines"`
	Timeline   []EventView     `json:"timeline"`
	Detail     json.RawMessage `json:"detail,omitempty"` // the kind's view
	Case       json.RawMessage `json:"object"`
	ReceivedAt *time.Time      `json:"received_at,omitempty"` // when this node received the case (a partner's)
	Exercise   string          `json:"exercise,omitempty"`    // the exercise it belongs to; "" for real traffic
}

// PartyView is a party to a case; on the case's creator, the delivery of
// the case to it.
type PartyView struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	Attempts    int        `json:"attempts,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
}

// DeadlineView is a deadline with whether it is overdue now.
type DeadlineView struct {
	Deadline
	PartyName string `json:"party_name"`
	Overdue   bool   `json:"overdue"`
}

// EventView is one step of the timeline.
type EventView struct {
	ID      string          `json:"id"`
	At      time.Time       `json:"at"`
	Node    PartyView       `json:"node"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Ignored string          `json:"ignored,omitempty"`
	Object  json.RawMessage `json:"object"`
}

func (e *Engine) party(id string) PartyView { return PartyView{ID: id, Name: e.NodeName(id)} }

// Get returns a case's view; store.ErrNotFound (wrapped) when the node
// holds no such case.
func (e *Engine) Get(ctx context.Context, id string) (*View, error) {
	wc, err := e.st.WorkflowCase(ctx, id)
	if err != nil {
		return nil, err
	}
	var f struct {
		State    State       `json:"state"`
		Parties  []string    `json:"parties"`
		Timeline []eventJSON `json:"timeline"`
	}
	if err := json.Unmarshal(wc.State, &f); err != nil {
		return nil, fmt.Errorf("workflow: case %s: state: %v", id, err)
	}
	c, _, err := e.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	now := e.Now()
	v := &View{ID: wc.ID, Kind: wc.Kind, Origin: e.party(wc.Origin), Opened: wc.Opened, Updated: wc.Updated,
		Title: wc.Title, Severity: wc.Severity, Status: wc.Status, Open: wc.Open, Case: c.Raw, Exercise: c.Exercise(),
		WaitingOn: []PartyView{}, Parties: []PartyView{}, Deadlines: []DeadlineView{}, Timeline: []EventView{}}
	if c.TLP.Valid() {
		v.TLP = strings.ToLower(strings.TrimPrefix(c.TLP.String(), "TLP:"))
	}
	if !wc.NextDue.IsZero() {
		nd := wc.NextDue
		v.NextDue, v.Overdue = &nd, nd.Before(now)
	}
	for _, w := range wc.WaitingOn {
		v.WaitingOn = append(v.WaitingOn, e.party(w))
	}
	var deliveries map[string]store.Delivery
	if wc.Origin == e.Self() {
		if deliveries, err = e.st.Deliveries(ctx, c.ID, versionOf(c.Raw)); err != nil {
			return nil, err
		}
	} else {
		prov, err := e.n.Store.Provenance(ctx, []store.ObjectRef{{ID: c.ID, Version: versionOf(c.Raw)}})
		if err != nil {
			return nil, err
		}
		for _, p := range prov {
			t := p.ReceivedAt
			v.ReceivedAt = &t
		}
	}
	for _, p := range f.Parties {
		pv := e.party(p)
		if d, ok := deliveries[p]; ok {
			if !d.DeliveredAt.IsZero() {
				t := d.DeliveredAt
				pv.DeliveredAt = &t
			}
			pv.Attempts, pv.LastError = d.Attempts, d.LastError
		}
		v.Parties = append(v.Parties, pv)
	}
	for _, d := range f.State.Deadlines {
		v.Deadlines = append(v.Deadlines, DeadlineView{Deadline: d, PartyName: e.NodeName(d.Party),
			Overdue: d.DoneAt == nil && wc.Open && d.Due.Before(now)})
	}
	for _, ev := range f.Timeline {
		v.Timeline = append(v.Timeline, EventView{ID: ev.ID, At: ev.At, Node: e.party(ev.Node), Actor: ev.Actor,
			Action: ev.Action, Ignored: ev.Ignored, Object: ev.Object})
	}
	if f.State.View != nil {
		if v.Detail, err = json.Marshal(f.State.View); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Summary is one case in a list.
type Summary struct {
	ID        string      `json:"id"`
	Kind      string      `json:"kind"`
	Origin    PartyView   `json:"origin"`
	Opened    time.Time   `json:"opened"`
	Updated   time.Time   `json:"updated"`
	Title     string      `json:"title"`
	Severity  int         `json:"severity"`
	Status    string      `json:"status"`
	Open      bool        `json:"open"`
	NextDue   *time.Time  `json:"next_due,omitempty"`
	Overdue   bool        `json:"overdue"`
	WaitingOn []PartyView `json:"waiting_on"`
	// Detail is the kind's view (only in List, not in Due).
	Detail json.RawMessage `json:"detail,omitempty"`
	// Exercise is the exercise the case belongs to (only in List).
	Exercise string `json:"exercise,omitempty"`
}

func (e *Engine) summary(wc store.WorkflowCase, now time.Time) Summary {
	s := Summary{ID: wc.ID, Kind: wc.Kind, Origin: e.party(wc.Origin), Opened: wc.Opened, Updated: wc.Updated,
		Title: wc.Title, Severity: wc.Severity, Status: wc.Status, Open: wc.Open, WaitingOn: []PartyView{}}
	if !wc.NextDue.IsZero() {
		nd := wc.NextDue
		s.NextDue, s.Overdue = &nd, nd.Before(now)
	}
	for _, w := range wc.WaitingOn {
		s.WaitingOn = append(s.WaitingOn, e.party(w))
	}
	return s
}

// List lists the cases of a kind ("" for all), newest first.
func (e *Engine) List(ctx context.Context, kind string, openOnly bool, limit int) ([]Summary, error) {
	cs, err := e.st.WorkflowCases(ctx, store.WorkflowQuery{Kind: kind, OpenOnly: openOnly, Limit: limit})
	if err != nil {
		return nil, err
	}
	now := e.Now()
	out := make([]Summary, 0, len(cs))
	for _, wc := range cs {
		s := e.summary(wc, now)
		var f struct {
			State struct {
				View json.RawMessage `json:"view"`
			} `json:"state"`
			Exercise string `json:"exercise"`
		}
		if json.Unmarshal(wc.State, &f) == nil {
			if len(f.State.View) > 0 {
				s.Detail = f.State.View
			}
			s.Exercise = f.Exercise
		}
		out = append(out, s)
	}
	return out, nil
}

// DueCounts counts the open cases with an open deadline, and the overdue
// ones, whatever their number (Due lists at most its limit).
func (e *Engine) DueCounts(ctx context.Context) (due, overdue int, err error) {
	return e.st.WorkflowDueCounts(ctx, e.Now())
}

// Due lists the open cases with an open deadline, the earliest first: what
// is overdue, then what is due, and on whom each waits. limit ≤ 0: 1000.
func (e *Engine) Due(ctx context.Context, limit int) ([]Summary, error) {
	cs, err := e.st.WorkflowCases(ctx, store.WorkflowQuery{DueOnly: true, Limit: limit, NoState: true})
	if err != nil {
		return nil, err
	}
	now := e.Now()
	out := make([]Summary, 0, len(cs))
	for _, wc := range cs {
		out = append(out, e.summary(wc, now))
	}
	return out, nil
}

// hasExtension reports whether the object's extensions hold id.
func hasExtension(raw []byte, id string) bool {
	var o struct {
		Extensions map[string]json.RawMessage `json:"extensions"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return false
	}
	_, ok := o.Extensions[id]
	return ok
}
