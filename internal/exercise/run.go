package exercise

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/preservation"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// Runner plays a scenario for the nodes whose engines it holds.
//
// With every participant's engine (one process, several nodes: the demo,
// the tests) it plays every inject and every automated response, and
// after each one waits until the object has reached the other engines, so
// that times on a fake clock are exact. With some of them (a real node:
// `entraide exercise run`) it plays only what those nodes do, and finds
// what the others did in its own store as it arrives: the k-th case of a
// kind a node opens in the exercise is its k-th inject of that kind (in
// play order), the k-th step of an action a node takes on a case its k-th
// automated response of that action there.
type Runner struct {
	Scenario *Scenario
	// Engines are the nodes the runner plays for, by the names the
	// scenario gives them.
	Engines map[string]*workflow.Engine
	// Clock tells the time the schedule is read on (the nodes' clock).
	Clock clock.Clock
	// ScenarioTime says the nodes' clock tells the scenario's time: an
	// exercise.Clock (the runner makes it run at the scenario's speed
	// while it plays, then at 1 again), or a fake clock moved by Warp.
	// Events then fall at start + offset, and every deadline the
	// workflows compute — an alert's ack_by, a ping's answer_by, a
	// preservation's expiry, an incident's NIS2 clock — is in scenario
	// time like the offsets: at speed 60 a 10-minute ack_by falls due 10
	// real seconds after the alert. This is how nodes that exist for the
	// exercise play it (the demo, the tests).
	//
	// False: the nodes' clock is the real one, shared with real traffic
	// (a real node: `entraide exercise run`). Events fall at start +
	// offset / speed, and the workflows' deadlines stay real durations:
	// at speed 60 an ack_by of 10 minutes is 10 real minutes, 10 hours of
	// the scenario.
	ScenarioTime bool
	// SleepUntil returns when Clock reaches t (or ctx ends). nil: the
	// exercise.Clock's own SleepUntil when Clock is one, else
	// SleepFunc(Clock), which waits in real time; tests may pass Warp,
	// which moves a fake clock instead.
	SleepUntil func(ctx context.Context, t time.Time) error
	// Start is when offset +0 falls. Zero: the scenario's start, or the
	// clock's now when the scenario starts "now".
	Start time.Time
	// MaxWait bounds, in real time, each wait for an object to arrive from
	// another node (default one minute). Waiting for a delivery is waiting
	// on the network, not on the scenario's clock: a fake clock that does
	// not move must not make it wait forever.
	MaxWait time.Duration
	// PollEvery is how often a wait looks again (default 20 ms).
	PollEvery time.Duration
	// Progress, when set, is told of each event once played or skipped.
	Progress func(EventResult)
}

// Report is what a run did.
type Report struct {
	Exercise string    `json:"exercise"`
	Start    time.Time `json:"start"`
	Speed    float64   `json:"speed"`
	// ScenarioTime: the nodes' clock told the scenario's time
	// (Runner.ScenarioTime).
	ScenarioTime bool          `json:"scenario_time"`
	Nodes        []string      `json:"nodes"` // the nodes played here
	Events       []EventResult `json:"events"`
}

// EventResult is one event as played (or not) here.
type EventResult struct {
	Event
	Offset    string     `json:"offset"`    // on the scenario's clock, "+1h05m"
	Scheduled time.Time  `json:"scheduled"` // on the nodes' clock
	PlayedAt  *time.Time `json:"played_at,omitempty"`
	Case      string     `json:"case,omitempty"`   // the case's id
	Object    string     `json:"object,omitempty"` // the object written: the case, or the step
	// Skipped says why the event was not played here: another node plays it.
	Skipped string `json:"skipped,omitempty"`
	// Error says why the event failed; the run goes on with the others.
	Error string `json:"error,omitempty"`
}

// Failed lists the events that failed.
func (r *Report) Failed() []EventResult {
	var out []EventResult
	for _, e := range r.Events {
		if e.Error != "" {
			out = append(out, e)
		}
	}
	return out
}

// SleepFunc waits in real time until clk reaches t, checking the clock at
// least every second (so that a clock set forward is noticed).
func SleepFunc(clk clock.Clock) func(ctx context.Context, t time.Time) error {
	return func(ctx context.Context, t time.Time) error {
		for {
			d := t.Sub(clk.Now())
			if d <= 0 {
				return ctx.Err()
			}
			timer := time.NewTimer(min(d, time.Second))
			select {
			case <-ctx.Done():
				timer.Stop()
				return ctx.Err()
			case <-timer.C:
			}
		}
	}
}

// Warp moves a fake clock to t instead of waiting (never backwards): a
// scenario of hours plays in the time its deliveries take.
func Warp(f *clock.Fake) func(ctx context.Context, t time.Time) error {
	return func(ctx context.Context, t time.Time) error {
		if f.Now().Before(t) {
			f.Set(t)
		}
		return ctx.Err()
	}
}

// FormatOffset writes an offset as the scenario does ("+1h05m", "+0m").
func FormatOffset(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	var s string
	switch days := int(d / (24 * time.Hour)); {
	case days > 0:
		s = fmt.Sprintf("%dd%02dh%02dm", days, int(d.Hours())%24, int(d.Minutes())%60)
	case d >= time.Hour:
		s = fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	}
	if secs := int(d.Seconds()) % 60; secs != 0 {
		s += fmt.Sprintf("%02ds", secs)
	}
	if neg {
		return "-" + s
	}
	return "+" + s
}

type key [2]int // (inject, expect): -1 for the inject's case

type run struct {
	*Runner
	sc      *Scenario
	start   time.Time
	speed   float64
	settle  bool
	byID    map[string]*workflow.Engine // identity id → engine
	ids     map[key]string              // what was played here: case ids (expect -1) and step ids
	failed  map[key]string
	lastOpn map[string]time.Time // node + kind → the last case opened
	sleep   func(ctx context.Context, t time.Time) error
}

// Run plays the scenario: each event at start + offset / speed, in play
// order. An event that fails is reported and the run goes on (what
// depends on it fails too). The error is for a run that could not happen
// at all (no engine for any participant, a cancelled context).
func (r *Runner) Run(ctx context.Context) (*Report, error) {
	sc := r.Scenario
	if sc == nil || sc.labels == nil {
		return nil, errors.New("exercise: no validated scenario to play (exercise.Parse)")
	}
	if r.Clock == nil {
		return nil, errors.New("exercise: the runner needs a clock")
	}
	x := &run{Runner: r, sc: sc, speed: sc.SpeedFactor(), byID: map[string]*workflow.Engine{}, ids: map[key]string{},
		failed: map[key]string{}, lastOpn: map[string]time.Time{}, sleep: r.SleepUntil}
	scen, _ := r.Clock.(*Clock)
	if x.sleep == nil {
		if scen != nil {
			x.sleep = scen.SleepUntil
		} else {
			x.sleep = SleepFunc(r.Clock)
		}
	}
	if r.ScenarioTime {
		switch {
		case scen != nil:
			// The nodes' clock runs at the scenario's speed while it
			// plays, and back at real pace after (people keep using the
			// nodes).
			if err := scen.SetRate(x.speed); err != nil {
				return nil, err
			}
			defer scen.SetRate(1)
		case r.SleepUntil == nil && x.speed != 1:
			return nil, fmt.Errorf("exercise %s: the nodes' clock cannot run at speed %g: give the runner an exercise.Clock, or a SleepUntil that moves a fake clock (Warp)", sc.Name, x.speed)
		}
		x.speed = 1 // offsets are on the nodes' clock as they are
	}
	rep := &Report{Exercise: sc.Name, Speed: sc.SpeedFactor(), ScenarioTime: r.ScenarioTime, Nodes: []string{}, Events: []EventResult{}}
	x.settle = true
	for _, p := range sc.Participants {
		e := r.Engines[p]
		if e == nil {
			x.settle = false
			continue
		}
		rep.Nodes = append(rep.Nodes, p)
		x.byID[e.Self()] = e
	}
	if len(rep.Nodes) == 0 {
		return nil, fmt.Errorf("exercise %s: none of its participants (%s) is played here", sc.Name, strings.Join(sc.Participants, ", "))
	}
	switch st, ok := sc.StartTime(); {
	case !r.Start.IsZero():
		x.start = r.Start.UTC()
	case ok:
		x.start = st
	default:
		x.start = r.Clock.Now()
	}
	rep.Start = x.start
	for _, ev := range sc.events {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		res := EventResult{Event: ev, Offset: FormatOffset(ev.At), Scheduled: x.at(ev.At)}
		if r.Engines[ev.Node] == nil {
			res.Skipped = "played by " + ev.Node
		} else {
			x.play(ctx, &res)
			if res.Error != "" && ctx.Err() != nil {
				rep.Events = append(rep.Events, res)
				return rep, ctx.Err()
			}
		}
		rep.Events = append(rep.Events, res)
		if r.Progress != nil {
			r.Progress(res)
		}
	}
	return rep, nil
}

// at is when an offset falls on the nodes' clock.
func (x *run) at(d time.Duration) time.Time {
	return x.start.Add(time.Duration(float64(d) / x.speed))
}

func (x *run) maxWait() time.Duration {
	if x.MaxWait > 0 {
		return x.MaxWait
	}
	return time.Minute
}

func (x *run) pollEvery() time.Duration {
	if x.PollEvery > 0 {
		return x.PollEvery
	}
	return 20 * time.Millisecond
}

// errNotYet makes await look again.
var errNotYet = errors.New("not yet")

// await calls f until it succeeds, fails with something other than
// errNotYet, or MaxWait passes (real time: see Runner.MaxWait).
func (x *run) await(ctx context.Context, what string, f func() error) error {
	deadline := time.Now().Add(x.maxWait())
	for {
		err := f()
		if !errors.Is(err, errNotYet) {
			return err
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("gave up after %s waiting for %s", x.maxWait(), what)
			if err != errNotYet {
				msg += " (" + strings.TrimPrefix(err.Error(), errNotYet.Error()+": ") + ")"
			}
			return errors.New(msg)
		}
		t := time.NewTimer(x.pollEvery())
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func notYet(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errNotYet, fmt.Sprintf(format, a...))
}

func (x *run) play(ctx context.Context, res *EventResult) {
	k := key{res.Inject, res.Expect}
	in := &x.sc.Injects[res.Inject]
	fail := func(err error) {
		x.failed[k] = err.Error()
		res.Error = strings.TrimPrefix(err.Error(), workflow.ErrInput.Error()+": ")
	}
	// What it depends on and failed here makes it fail.
	deps := refsIn(in.Input)
	if res.Expect >= 0 {
		deps = refsIn(in.Expect[res.Expect].Auto.Input)
		if why, bad := x.failed[key{res.Inject, -1}]; bad {
			fail(fmt.Errorf("not played: its inject failed (%s)", why))
			return
		}
	} else if in.Chain != "" {
		deps = append(deps, in.Chain)
	}
	for _, d := range deps {
		if t, ok := x.sc.labels[strings.TrimPrefix(d, "@")]; ok {
			if why, bad := x.failed[key{t.inject, t.expect}]; bad {
				fail(fmt.Errorf("not played: %s failed (%s)", d, why))
				return
			}
		}
	}
	if err := x.sleep(ctx, res.Scheduled); err != nil {
		fail(err)
		return
	}
	e := x.Engines[res.Node]
	var err error
	if res.Expect < 0 {
		err = x.open(ctx, e, res)
	} else {
		err = x.act(ctx, e, res)
	}
	now := e.Now()
	res.PlayedAt = &now
	if err != nil {
		fail(err)
	}
}

// labelOr is the inject's label, or a name for it in messages.
func labelOr(in *Inject) string {
	if in.Label != "" {
		return in.Label
	}
	return "(unlabelled inject)"
}

// refsIn lists the "@label" strings of an input.
func refsIn(in json.RawMessage) []string {
	var out []string
	if len(in) == 0 {
		return nil
	}
	_, _ = walkStrings(in, func(_, s string) (string, bool) {
		if refRE.MatchString(s) {
			out = append(out, s)
		}
		return s, true
	})
	return out
}

// resolve replaces the "@label" references of an input by the ids they
// name, as node e knows them.
func (x *run) resolve(ctx context.Context, e *workflow.Engine, node string, in json.RawMessage) (map[string]any, error) {
	if len(in) == 0 {
		in = json.RawMessage("{}")
	}
	var refErr error
	out, err := walkStrings(in, func(_, s string) (string, bool) {
		if strings.HasPrefix(s, "@@") {
			return s[1:], true
		}
		if !refRE.MatchString(s) || refErr != nil {
			return s, true
		}
		id, err := x.idOf(ctx, e, node, s[1:])
		if err != nil {
			refErr = fmt.Errorf("%s: %w", s, err)
			return s, false
		}
		return id, true
	})
	if err != nil {
		return nil, err
	}
	if refErr != nil {
		return nil, refErr
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("the input is not a JSON object")
	}
	return m, nil
}

// idOf is the id of what a label names, as node e (playing node) knows
// it: a case (waiting for nothing when its id is known here) or a step
// (waiting until it has reached e).
func (x *run) idOf(ctx context.Context, e *workflow.Engine, node, label string) (string, error) {
	t, ok := x.sc.labels[label]
	if !ok {
		return "", fmt.Errorf("no such label")
	}
	if t.expect < 0 {
		return x.caseOf(ctx, e, t.inject)
	}
	caseID, err := x.caseOf(ctx, e, t.inject)
	if err != nil {
		return "", err
	}
	if id, ok := x.ids[key{t.inject, t.expect}]; ok {
		if x.Engines[x.sc.Injects[t.inject].Expect[t.expect].Node] == e {
			return id, nil
		}
		err := x.await(ctx, "@"+label+" to reach "+node, func() error {
			v, err := e.Get(ctx, caseID)
			if err != nil {
				return notYet("%v", err)
			}
			for _, ev := range v.Timeline {
				if ev.ID == id {
					return nil
				}
			}
			return errNotYet
		})
		return id, err
	}
	var id string
	err = x.await(ctx, "@"+label+" to reach "+node, func() error {
		var err error
		id, err = x.matchStep(ctx, e, caseID, t.inject, t.expect)
		return err
	})
	return id, err
}

// caseOf is the id of an inject's case: known when played here, else
// found in e's store (waiting for it to arrive).
func (x *run) caseOf(ctx context.Context, e *workflow.Engine, inject int) (string, error) {
	if id, ok := x.ids[key{inject, -1}]; ok {
		return id, nil
	}
	in := &x.sc.Injects[inject]
	var id string
	err := x.await(ctx, fmt.Sprintf("the %s %s opens (@%s)", in.Kind, in.From, labelOr(in)), func() error {
		var err error
		id, err = x.matchCase(ctx, e, inject)
		return err
	})
	if err == nil {
		x.ids[key{inject, -1}] = id
	}
	return id, err
}

// ordinal is how many events before ev (in play order) are of the same
// sort, as node viewer sees them: injects of the same node and kind that
// viewer receives (all of them when a community makes that unknown), or
// automated responses of the same node and action on the same inject.
func (sc *Scenario) ordinal(inject, expect int, viewer string) int {
	n := 0
	in := &sc.Injects[inject]
	for _, ev := range sc.events {
		if ev.Inject == inject && ev.Expect == expect {
			return n
		}
		if expect < 0 {
			if ev.Expect < 0 && ev.Node == in.From && ev.Kind == in.Kind {
				if parties, known := partiesOf(&sc.Injects[ev.Inject]); !known || slices.Contains(parties, viewer) {
					n++
				}
			}
			continue
		}
		ex := &in.Expect[expect]
		if ev.Inject == inject && ev.Expect >= 0 && ev.Node == ex.Node && ev.Action == ex.Action {
			n++
		}
	}
	return n
}

// matchCase finds an inject's case in e's store: the exercise's cases of
// the inject's kind opened by its node since the start, oldest first; the
// inject's ordinal picks one. errNotYet until it has arrived.
func (x *run) matchCase(ctx context.Context, e *workflow.Engine, inject int) (string, error) {
	cases, err := exerciseCases(ctx, e, x.sc.Name, x.sc.Injects[inject].Kind, x.start, matchLimit)
	if err != nil {
		return "", err
	}
	return pickCase(ctx, e, x.sc, cases, inject)
}

// pickCase finds an inject's case among the exercise's cases e holds.
func pickCase(ctx context.Context, e *workflow.Engine, sc *Scenario, cases []workflow.Summary, inject int) (string, error) {
	in := &sc.Injects[inject]
	origin, err := e.ResolveNode(ctx, in.From)
	if err != nil {
		return "", err
	}
	var mine []workflow.Summary
	for _, c := range cases {
		if c.Origin.ID == origin && c.Kind == in.Kind {
			mine = append(mine, c)
		}
	}
	n := sc.ordinal(inject, -1, e.NodeName(e.Self()))
	if n >= len(mine) {
		return "", notYet("%s holds %d of them", e.NodeName(e.Self()), len(mine))
	}
	return mine[n].ID, nil
}

// matchLimit is how many of a kind's newest cases the runner looks
// through for the exercise's, each time it looks for a partner's: an
// exercise's cases are among the newest.
const matchLimit = 5000

// exerciseCases lists the exercise's cases of a kind ("" for all) that e
// holds, opened at or after start, oldest first, among the limit newest.
func exerciseCases(ctx context.Context, e *workflow.Engine, name, kind string, start time.Time, limit int) ([]workflow.Summary, error) {
	list, err := e.List(ctx, kind, false, limit)
	if err != nil {
		return nil, err
	}
	from := start.Truncate(time.Millisecond)
	var out []workflow.Summary
	for _, c := range list {
		if c.Exercise == name && !c.Opened.Before(from) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Opened.Equal(out[j].Opened) {
			return out[i].Opened.Before(out[j].Opened)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// matchStep finds an automated response's step on a case in e's store.
func (x *run) matchStep(ctx context.Context, e *workflow.Engine, caseID string, inject, expect int) (string, error) {
	ex := &x.sc.Injects[inject].Expect[expect]
	nodeID, err := e.ResolveNode(ctx, ex.Node)
	if err != nil {
		return "", err
	}
	_, steps, err := e.Load(ctx, caseID)
	if errors.Is(err, store.ErrNotFound) {
		return "", errNotYet
	}
	if err != nil {
		return "", err
	}
	var mine []string
	for _, s := range steps {
		if s.Node == nodeID && s.Action == ex.Action {
			mine = append(mine, s.ID)
		}
	}
	n := x.sc.ordinal(inject, expect, e.NodeName(e.Self()))
	if n >= len(mine) {
		return "", errNotYet
	}
	return mine[n], nil
}

func (x *run) open(ctx context.Context, e *workflow.Engine, res *EventResult) error {
	in := &x.sc.Injects[res.Inject]
	m, err := x.resolve(ctx, e, in.From, in.Input)
	if err != nil {
		return err
	}
	if in.Chain != "" {
		if m, err = x.chain(ctx, e, in, m); err != nil {
			return err
		}
	}
	m["exercise"] = x.sc.Name
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	// Nodes tell one node's cases of a kind apart by their creation time
	// (milliseconds): never two in the same one.
	lk := in.From + "\x00" + in.Kind
	if last, ok := x.lastOpn[lk]; ok && !e.Now().Truncate(time.Millisecond).After(last) {
		if err := x.sleep(ctx, last.Add(time.Millisecond)); err != nil {
			return err
		}
	}
	actor := in.Actor
	if actor == "" {
		actor = ControlActor
	}
	r, err := e.Open(ctx, in.Kind, actor, body)
	if err != nil {
		return err
	}
	x.lastOpn[lk] = e.Now().Truncate(time.Millisecond)
	x.ids[key{res.Inject, -1}] = r.ID
	res.Case, res.Object = r.ID, r.Object
	var problems []string
	for _, f := range r.Refused {
		problems = append(problems, fmt.Sprintf("not sent to %s: %s", f.Name, f.Reason))
	}
	if x.settle {
		if err := x.settleCase(ctx, e, r); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// chain prefills a chained preservation request from the Art. 30
// disclosure its earlier request received, under the inject's own fields.
func (x *run) chain(ctx context.Context, e *workflow.Engine, in *Inject, m map[string]any) (map[string]any, error) {
	country, _ := m["target_country"].(string)
	if country == "" {
		return nil, errors.New("chain: the input's target_country says which country's disclosure to chain from")
	}
	from, err := x.caseOf(ctx, e, x.sc.labels[strings.TrimPrefix(in.Chain, "@")].inject)
	if err != nil {
		return nil, err
	}
	var pre preservation.Input
	err = x.await(ctx, fmt.Sprintf("the Art. 30 disclosure of a provider in %s on %s", strings.ToUpper(country), in.Chain), func() error {
		c, steps, err := e.Load(ctx, from)
		if errors.Is(err, store.ErrNotFound) {
			return errNotYet
		}
		if err != nil {
			return err
		}
		p, err := preservation.Chain(c, steps, c.ID, country)
		if err != nil {
			return notYet("%v", strings.TrimPrefix(err.Error(), workflow.ErrInput.Error()+": "))
		}
		pre = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(pre)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	for k, v := range out {
		if v == "" || v == nil {
			delete(out, k)
		}
	}
	for k, v := range m {
		out[k] = v
	}
	return out, nil
}

func (x *run) act(ctx context.Context, e *workflow.Engine, res *EventResult) error {
	in := &x.sc.Injects[res.Inject]
	ex := &in.Expect[res.Expect]
	caseID, err := x.caseOf(ctx, e, res.Inject)
	if err != nil {
		return err
	}
	res.Case = caseID
	if err := x.await(ctx, fmt.Sprintf("@%s to reach %s", labelOr(in), ex.Node), func() error {
		if _, err := e.Get(ctx, caseID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errNotYet
			}
			return err
		}
		return nil
	}); err != nil {
		return err
	}
	m, err := x.resolve(ctx, e, ex.Node, ex.Auto.Input)
	if err != nil {
		return err
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	actor := ex.Auto.Actor
	if actor == "" {
		actor = PlayerActor
	}
	r, err := e.Act(ctx, caseID, ex.Action, actor, body)
	if err != nil {
		return err
	}
	x.ids[key{res.Inject, res.Expect}] = r.Object
	res.Object = r.Object
	var problems []string
	for _, f := range r.Refused {
		problems = append(problems, fmt.Sprintf("not sent to %s: %s", f.Name, f.Reason))
	}
	if x.settle {
		if err := x.settleStep(ctx, e, caseID, r.Object); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// settleCase waits until the case is delivered to every recipient the
// policy allowed and folded on each engine of the run.
func (x *run) settleCase(ctx context.Context, e *workflow.Engine, r *workflow.Result) error {
	refused := map[string]bool{}
	for _, f := range r.Refused {
		refused[f.Node] = true
	}
	return x.await(ctx, "the delivery of "+r.ID, func() error {
		v, err := e.Get(ctx, r.ID)
		if err != nil {
			return err
		}
		for _, p := range v.Parties {
			if p.ID == e.Self() || refused[p.ID] {
				continue
			}
			if p.DeliveredAt == nil {
				return notYet("%s has not received it", p.Name)
			}
			if o := x.byID[p.ID]; o != nil {
				if _, err := o.Get(ctx, r.ID); err != nil {
					return notYet("%s has not folded it", p.Name)
				}
			}
		}
		return nil
	})
}

// settleStep waits until a step has reached the engines of the run it
// goes to: every other party when the case's opener acts, the opener
// otherwise.
func (x *run) settleStep(ctx context.Context, e *workflow.Engine, caseID, stepID string) error {
	v, err := e.Get(ctx, caseID)
	if err != nil {
		return err
	}
	var to []string
	if v.Origin.ID == e.Self() {
		for _, p := range v.Parties {
			if p.ID != e.Self() {
				to = append(to, p.ID)
			}
		}
	} else {
		to = []string{v.Origin.ID}
	}
	return x.await(ctx, "the delivery of "+stepID, func() error {
		for _, id := range to {
			o := x.byID[id]
			if o == nil {
				continue
			}
			ov, err := o.Get(ctx, caseID)
			if err != nil {
				return notYet("%s does not hold the case", o.NodeName(id))
			}
			if !slices.ContainsFunc(ov.Timeline, func(ev workflow.EventView) bool { return ev.ID == stepID }) {
				return notYet("%s has not received it", o.NodeName(id))
			}
		}
		return nil
	})
}
