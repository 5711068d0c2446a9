package exercise

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/entraide/entraide/internal/alert"
	"github.com/entraide/entraide/internal/assistance"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/contact"
	"github.com/entraide/entraide/internal/incident"
	"github.com/entraide/entraide/internal/notice"
	"github.com/entraide/entraide/internal/preservation"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// Board is an exercise's scoreboard, read from the workflow cases that
// carry its marker in the stores of one or more nodes. Times are on the
// scenario's clock: what the nodes' clocks measured, as it is when they ran
// on the scenario's clock (ScenarioTime), else times the speed.
type Board struct {
	Exercise string    `json:"exercise"`
	At       time.Time `json:"at"` // when it was computed, on the nodes' clock
	// Start is when the exercise started: cases opened before belong to an
	// earlier run and are left out (nil: every case counts).
	Start *time.Time `json:"start,omitempty"`
	Speed float64    `json:"speed"`
	// ScenarioTime says the nodes' clock told the scenario's time (a
	// one-process run: see Runner.ScenarioTime): what they measured is
	// scenario time as it is. Otherwise their clock was real time and
	// the scoreboard multiplies what they measured by the speed.
	ScenarioTime bool `json:"scenario_time"`
	// Over says the last event of the scenario is past (unknown without
	// the scenario: false).
	Over  bool        `json:"over"`
	Seen  []string    `json:"seen_from"` // the nodes whose stores were read
	Nodes []NodeScore `json:"nodes"`
	Cases []CaseScore `json:"cases"`
	// Expected are the scenario's expected responses and what became of
	// each (none without the scenario).
	Expected []Expectation `json:"expected"`
}

// NodeScore is one participant's times and misses.
type NodeScore struct {
	Node   string `json:"node"`
	Opened int    `json:"opened"` // cases it opened
	// Received counts the cases it is a recipient of whose receipt is
	// known; Receipt is the time from opening to delivery.
	Received int    `json:"received"`
	Receipt  Timing `json:"time_to_receipt"`
	// Acknowledged counts the cases it responded to at all (its first
	// step); Answered those it answered (Answers says what counts).
	Acknowledged int    `json:"acknowledged"`
	Ack          Timing `json:"time_to_acknowledge"`
	Answered     int    `json:"answered"`
	Answer       Timing `json:"time_to_answer"`
	// Closed counts the cases it opened that are closed.
	Closed  int    `json:"closed"`
	Closure Timing `json:"time_to_close"`
	// The scenario's expectations of it.
	Met     int `json:"expected_met"`
	Late    int `json:"expected_late"`
	Missed  int `json:"expected_missed"`
	Pending int `json:"expected_pending"`
	// Its workflow deadlines: overdue now, and met late.
	Overdue      int `json:"deadlines_overdue"`
	DeadlineLate int `json:"deadlines_late"`
}

// Timing summarises durations (scenario seconds).
type Timing struct {
	Samples int      `json:"samples"`
	Median  *float64 `json:"median_seconds,omitempty"`
	Max     *float64 `json:"max_seconds,omitempty"`
	values  []float64
}

func (t *Timing) add(v float64) { t.values = append(t.values, v); t.Samples++ }

func (t *Timing) done() {
	if len(t.values) == 0 {
		return
	}
	v := slices.Clone(t.values)
	sort.Float64s(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	mx := v[len(v)-1]
	t.Median, t.Max = &med, &mx
}

// CaseScore is one case of the exercise.
type CaseScore struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Title  string `json:"title"`
	Origin string `json:"origin"`
	// Inject is the scenario's inject the case is (-1: none — opened by
	// hand during the exercise, or without the scenario), Label its label.
	Inject   int       `json:"inject"`
	Label    string    `json:"label,omitempty"`
	Opened   time.Time `json:"opened"`
	Status   string    `json:"status"`
	Open     bool      `json:"open"`
	ClosedIn *float64  `json:"closed_after_seconds,omitempty"`
	// From is the node whose store the case was read from (its opener's
	// when available: it holds every party's steps and deliveries).
	From    string       `json:"seen_from"`
	Parties []PartyScore `json:"parties"`
}

// PartyScore is one recipient's times on a case (seconds after opening,
// on the scenario's clock) and its deadlines missed.
type PartyScore struct {
	Node         string   `json:"node"`
	Received     *float64 `json:"received_after_seconds,omitempty"`
	Acknowledged *float64 `json:"acknowledged_after_seconds,omitempty"`
	Answered     *float64 `json:"answered_after_seconds,omitempty"`
	Overdue      []string `json:"overdue"` // deadlines not met and past
	Late         []string `json:"late"`    // deadlines met after they fell due
}

// Expectation is one expected response and what became of it.
type Expectation struct {
	Inject int    `json:"inject"`
	Label  string `json:"label,omitempty"`
	Case   string `json:"case,omitempty"`
	Node   string `json:"node"`
	Action string `json:"action"`
	Within string `json:"within,omitempty"`
	Auto   bool   `json:"auto"` // played by a simulated player
	// Status: met, late, missed, pending (not due yet), or unknown (the
	// nodes read cannot see that node's steps on the case).
	Status string   `json:"status"`
	After  *float64 `json:"after_seconds,omitempty"` // when it came, after the case was opened
	Why    string   `json:"why,omitempty"`
}

// Statuses of an expectation.
const (
	Met     = "met"
	Late    = "late"
	Missed  = "missed"
	Pending = "pending"
	Unknown = "unknown"
)

// answered says whether a step is a party's answer to a case of its kind
// (its acknowledgement is its first step, whatever the action).
func answered(kind string, ev workflow.EventView) bool {
	var p struct {
		Answer string `json:"answer"`
	}
	_ = json.Unmarshal(ev.Object, &p)
	switch kind {
	case alert.Kind.Name:
		return ev.Action == alert.ActionAck && (p.Answer == "affected" || p.Answer == "not-affected")
	case incident.Kind.Name:
		return ev.Action == incident.ActionUpdate || ev.Action == incident.ActionTaskAdd || ev.Action == incident.ActionTaskDone
	case assistance.Kind.Name:
		return ev.Action == assistance.ActionOffer || ev.Action == assistance.ActionNoOffer
	case preservation.KindName:
		return ev.Action == preservation.ActionExecute || ev.Action == preservation.ActionPartial || ev.Action == preservation.ActionRefuse
	case notice.Kind.Name:
		return ev.Action == notice.ActionRespond && notice.Final(p.Answer)
	case contact.Kind.Name:
		return ev.Action == contact.ActionAnswer
	}
	return true
}

// ScoreOptions say what to score against.
type ScoreOptions struct {
	// Scenario gives the expectations and the speed (nil: times only, at
	// speed 1).
	Scenario *Scenario
	// Start leaves out cases opened before (an earlier run of the same
	// exercise). Zero: the scenario's start when it has one, else none.
	Start time.Time
	// Clock is "now" for what is overdue or missed (nil: the first
	// engine's clock).
	Clock clock.Clock
	// ScenarioTime says the nodes ran on the scenario's clock (the run's
	// Runner.ScenarioTime, Report.ScenarioTime).
	ScenarioTime bool
}

type held struct {
	sum     workflow.Summary
	engines []*workflow.Engine
}

// Score computes the scoreboard of the exercise name from the cases the
// engines hold (one node's, or every node's in one process: each case is
// read from its opener's store when available).
func Score(ctx context.Context, name string, engines []*workflow.Engine, opt ScoreOptions) (*Board, error) {
	if len(engines) == 0 {
		return nil, errors.New("exercise: no node to read the scoreboard from")
	}
	sc := opt.Scenario
	b := &Board{Exercise: name, Speed: 1, ScenarioTime: opt.ScenarioTime, Seen: []string{}, Nodes: []NodeScore{}, Cases: []CaseScore{}, Expected: []Expectation{}}
	start := opt.Start
	if sc != nil {
		b.Speed = sc.SpeedFactor()
		if st, ok := sc.StartTime(); ok && start.IsZero() {
			start = st
		}
	}
	now := engines[0].Now()
	if opt.Clock != nil {
		now = opt.Clock.Now()
	}
	b.At = now
	bySelf := map[string]*workflow.Engine{}
	cases := map[string]*held{}
	lists := map[*workflow.Engine][]workflow.Summary{}
	for _, e := range engines {
		b.Seen = append(b.Seen, e.NodeName(e.Self()))
		bySelf[e.Self()] = e
		list, err := exerciseCases(ctx, e, name, "", start, 100000)
		if err != nil {
			return nil, err
		}
		lists[e] = list
		for _, s := range list {
			h := cases[s.ID]
			if h == nil {
				h = &held{sum: s}
				cases[s.ID] = h
			}
			h.engines = append(h.engines, e)
		}
	}
	var all []workflow.Summary
	for _, h := range cases {
		all = append(all, h.sum)
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].Opened.Equal(all[j].Opened) {
			return all[i].Opened.Before(all[j].Opened)
		}
		return all[i].ID < all[j].ID
	})
	if start.IsZero() && sc != nil && len(all) > 0 {
		// A scenario that started "now", scored without its start: the
		// first case tells when the first inject was played.
		start = all[0].Opened.Add(-b.onNodes(sc.events[0].At))
	}
	if !start.IsZero() {
		s := start.UTC()
		b.Start = &s
		if sc != nil {
			b.Over = !now.Before(start.Add(b.onNodes(sc.End())))
		}
	}

	// Which inject each case is: each node counts the cases it holds, its
	// opener's first.
	injectOf := map[string]int{}
	caseOf := map[int]string{}
	if sc != nil {
		for i := range sc.Injects {
			order := slices.Clone(engines)
			sort.SliceStable(order, func(a, b int) bool {
				return order[a].NodeName(order[a].Self()) == sc.Injects[i].From && order[b].NodeName(order[b].Self()) != sc.Injects[i].From
			})
			for _, e := range order {
				id, err := pickCase(ctx, e, sc, lists[e], i)
				if err == nil {
					injectOf[id], caseOf[i] = i, id
					break
				}
				if !errors.Is(err, errNotYet) && !errors.Is(err, workflow.ErrInput) {
					return nil, err
				}
			}
		}
	}

	nodes := map[string]*NodeScore{}
	node := func(n string) *NodeScore {
		if nodes[n] == nil {
			nodes[n] = &NodeScore{Node: n}
		}
		return nodes[n]
	}
	if sc != nil {
		for _, p := range sc.Participants {
			node(p)
		}
	}
	views := map[string]*workflow.View{}
	viewer := map[string]*workflow.Engine{}
	for _, s := range all {
		h := cases[s.ID]
		e := h.engines[0]
		if o := bySelf[s.Origin.ID]; o != nil && slices.Contains(h.engines, o) {
			e = o
		}
		v, err := e.Get(ctx, s.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		views[s.ID], viewer[s.ID] = v, e
		cs := CaseScore{ID: v.ID, Kind: v.Kind, Title: v.Title, Origin: v.Origin.Name, Inject: -1, Opened: v.Opened, Status: v.Status,
			Open: v.Open, From: e.NodeName(e.Self()), Parties: []PartyScore{}}
		if i, ok := injectOf[v.ID]; ok {
			cs.Inject, cs.Label = i, sc.Injects[i].Label
		}
		fromOrigin := v.Origin.ID == e.Self()
		on := node(v.Origin.Name)
		on.Opened++
		if !v.Open {
			var last time.Time
			for _, ev := range v.Timeline {
				if ev.Ignored == "" && ev.At.After(last) {
					last = ev.At
				}
			}
			if !last.IsZero() {
				d := b.secs(last.Sub(v.Opened))
				cs.ClosedIn = &d
				on.Closed++
				on.Closure.add(d)
			}
		}
		for _, p := range v.Parties {
			if p.ID == v.Origin.ID {
				continue
			}
			// A recipient's store knows only its own receipt and steps,
			// and the opener's.
			if !fromOrigin && p.ID != e.Self() {
				continue
			}
			ps := PartyScore{Node: p.Name, Overdue: []string{}, Late: []string{}}
			ns := node(p.Name)
			switch {
			case fromOrigin && p.DeliveredAt != nil:
				d := b.secs(p.DeliveredAt.Sub(v.Opened))
				ps.Received = &d
			case !fromOrigin && v.ReceivedAt != nil:
				d := b.secs(v.ReceivedAt.Sub(v.Opened))
				ps.Received = &d
			}
			if ps.Received != nil {
				ns.Received++
				ns.Receipt.add(*ps.Received)
			}
			for _, ev := range v.Timeline {
				if ev.Ignored != "" || ev.Node.ID != p.ID {
					continue
				}
				d := b.secs(ev.At.Sub(v.Opened))
				if ps.Acknowledged == nil {
					ps.Acknowledged = &d
					ns.Acknowledged++
					ns.Ack.add(d)
				}
				if ps.Answered == nil && answered(v.Kind, ev) {
					ps.Answered = &d
					ns.Answered++
					ns.Answer.add(d)
				}
			}
			cs.Parties = append(cs.Parties, ps)
		}
		// Deadlines, whoever must meet them (the opener's NIS2 reports too).
		for _, d := range v.Deadlines {
			if !fromOrigin && d.Party != e.Self() && d.Party != v.Origin.ID {
				continue
			}
			what := fmt.Sprintf("%s, due %s", d.What, d.Due.UTC().Format(time.RFC3339))
			ps := cs.party(d.PartyName)
			switch {
			case d.Overdue:
				node(d.PartyName).Overdue++
				if ps != nil {
					ps.Overdue = append(ps.Overdue, what)
				}
			case d.DoneAt != nil && d.DoneAt.After(d.Due):
				node(d.PartyName).DeadlineLate++
				if ps != nil {
					ps.Late = append(ps.Late, what)
				}
			}
		}
		b.Cases = append(b.Cases, cs)
	}

	if sc != nil {
		b.Expected = b.expectations(ctx, sc, start, now, caseOf, views, viewer, bySelf, node)
	}
	var order []string
	if sc != nil {
		order = slices.Clone(sc.Participants)
	}
	var others []string
	for n := range nodes {
		if !slices.Contains(order, n) {
			others = append(others, n)
		}
	}
	sort.Strings(others)
	for _, n := range append(order, others...) {
		ns := nodes[n]
		for _, t := range []*Timing{&ns.Receipt, &ns.Ack, &ns.Answer, &ns.Closure} {
			t.done()
		}
		b.Nodes = append(b.Nodes, *ns)
	}
	return b, nil
}

func (cs *CaseScore) party(name string) *PartyScore {
	for i := range cs.Parties {
		if cs.Parties[i].Node == name {
			return &cs.Parties[i]
		}
	}
	return nil
}

// rate is how many scenario seconds pass per second of the nodes' clock:
// 1 when the nodes ran on the scenario's clock, else the speed.
func (b *Board) rate() float64 {
	if b.ScenarioTime || b.Speed <= 0 {
		return 1
	}
	return b.Speed
}

// secs is a duration the nodes measured, on the scenario's clock.
func (b *Board) secs(d time.Duration) float64 {
	return math.Round(d.Seconds()*b.rate()*1000) / 1000
}

// onNodes is a scenario duration on the nodes' clock.
func (b *Board) onNodes(d time.Duration) time.Duration {
	if r := b.rate(); r != 1 {
		return time.Duration(float64(d) / r)
	}
	return d
}

func (b *Board) expectations(ctx context.Context, sc *Scenario, start, now time.Time, caseOf map[int]string, views map[string]*workflow.View,
	viewer map[string]*workflow.Engine, bySelf map[string]*workflow.Engine, node func(string) *NodeScore) []Expectation {
	out := []Expectation{}
	seen := func(n string) *workflow.Engine {
		for _, e := range bySelf {
			if e.NodeName(e.Self()) == n {
				return e
			}
		}
		return nil
	}
	end := start.Add(b.onNodes(sc.End()))
	for i := range sc.Injects {
		in := &sc.Injects[i]
		parties, known := partiesOf(in)
		// The k-th expectation of a node and action pairs with the k-th
		// such step.
		count := map[[2]string]int{}
		for j := range in.Expect {
			ex := &in.Expect[j]
			x := Expectation{Inject: i, Label: in.Label, Node: ex.Node, Action: ex.Action, Within: ex.Within, Auto: ex.Auto != nil}
			k := [2]string{ex.Node, ex.Action}
			nth := count[k]
			count[k]++
			due := end
			id, ok := caseOf[i]
			v := views[id]
			switch {
			case !ok || v == nil:
				if start.IsZero() || now.Before(start.Add(b.onNodes(in.offset))) {
					x.Status, x.Why = Pending, "the inject is not played yet"
				} else if seen(in.From) != nil {
					x.Status, x.Why = Missed, in.From+" never opened the "+in.Kind
				} else if known && slices.ContainsFunc(parties, func(p string) bool { return seen(p) != nil }) {
					x.Status, x.Why = Missed, "the "+in.Kind+" never reached the nodes read"
				} else {
					x.Status, x.Why = Unknown, "the nodes read are not parties to the "+in.Kind
				}
			default:
				x.Case = id
				e := viewer[id]
				if ex.within > 0 {
					due = v.Opened.Add(b.onNodes(ex.within))
				}
				self := e.NodeName(e.Self())
				if v.Origin.ID != e.Self() && ex.Node != self && ex.Node != v.Origin.Name {
					x.Status, x.Why = Unknown, "only "+v.Origin.Name+"'s store holds "+ex.Node+"'s steps on this case"
					break
				}
				var at *time.Time
				n := 0
				for _, ev := range v.Timeline {
					if ev.Ignored == "" && ev.Node.Name == ex.Node && ev.Action == ex.Action {
						if n == nth {
							t := ev.At
							at = &t
							break
						}
						n++
					}
				}
				switch {
				case at != nil:
					d := b.secs(at.Sub(v.Opened))
					x.After = &d
					x.Status = Met
					if ex.within > 0 && at.After(due) {
						x.Status, x.Why = Late, fmt.Sprintf("%s after the %s was opened; expected within %s", fmtSecs(d), in.Kind, ex.Within)
					}
				case start.IsZero() && ex.within == 0:
					x.Status = Pending
				case now.After(due):
					x.Status = Missed
					if ex.within > 0 {
						x.Why = fmt.Sprintf("no %s by %s within %s of the %s", ex.Action, ex.Node, ex.Within, in.Kind)
					} else {
						x.Why = fmt.Sprintf("no %s by %s by the end of the exercise", ex.Action, ex.Node)
					}
				default:
					x.Status = Pending
				}
			}
			ns := node(ex.Node)
			switch x.Status {
			case Met:
				ns.Met++
			case Late:
				ns.Late++
			case Missed:
				ns.Missed++
			case Pending:
				ns.Pending++
			}
			out = append(out, x)
		}
	}
	return out
}

// fmtSecs writes scenario seconds as a person reads them ("12m", "1h05m").
func fmtSecs(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		if sec := int(d.Seconds()) % 60; sec != 0 {
			return fmt.Sprintf("%dm%02ds", int(d.Minutes()), sec)
		}
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// FormatSeconds writes scenario seconds as the scoreboard shows them.
func FormatSeconds(s *float64) string {
	if s == nil {
		return "-"
	}
	return fmtSecs(*s)
}

// Summary is one exercise a node has seen.
type Summary struct {
	Name    string         `json:"name"`
	Cases   int            `json:"cases"`
	Open    int            `json:"open"`
	Overdue int            `json:"overdue"`
	Kinds   map[string]int `json:"kinds"`
	Origins map[string]int `json:"origins"` // cases per opening node
	First   time.Time      `json:"first_opened"`
	Last    time.Time      `json:"last_update"`
}

// List lists the exercises whose cases the engines hold, the most recent
// first.
func List(ctx context.Context, engines ...*workflow.Engine) ([]Summary, error) {
	byName := map[string]*Summary{}
	seen := map[string]bool{}
	for _, e := range engines {
		list, err := e.List(ctx, "", false, 100000)
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			if c.Exercise == "" || seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			s := byName[c.Exercise]
			if s == nil {
				s = &Summary{Name: c.Exercise, Kinds: map[string]int{}, Origins: map[string]int{}, First: c.Opened}
				byName[c.Exercise] = s
			}
			s.Cases++
			s.Kinds[c.Kind]++
			s.Origins[c.Origin.Name]++
			if c.Open {
				s.Open++
			}
			if c.Overdue {
				s.Overdue++
			}
			if c.Opened.Before(s.First) {
				s.First = c.Opened
			}
			if c.Updated.After(s.Last) {
				s.Last = c.Updated
			}
		}
	}
	out := make([]Summary, 0, len(byName))
	for _, s := range byName {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Last.Equal(out[j].Last) {
			return out[i].Last.After(out[j].Last)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}
