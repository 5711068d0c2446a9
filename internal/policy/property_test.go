package policy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/entraide/entraide/internal/stix"
)

// The property: in a federation where every node lets an object out only
// when its own engine says so, no sequence of shares, re-shares, pulls,
// exports and local reads puts an object where its originator's choice,
// read through TLP 2.0, excludes it.
//
// Each run builds a random federation (nodes, communities with random
// members, bounds and defaults), lets originators share random objects,
// then makes random hops — any holder, any path, any recipient, any
// community — and applies those its engine allows. After every applied hop
// the invariants are checked against the originator's intent at share time:
//
//   - CLEAR: anyone may hold it.
//   - GREEN: only the originator, the nodes it named and the members of the
//     communities it chose (that carry the object's level and type); a node
//     that did not get it from the originator got it through one of those
//     communities.
//   - AMBER, AMBER+STRICT: the same holders, each of whom got it from the
//     originator itself.
//   - RED: only the originator and the nodes of its named recipients, each
//     from the originator; only named people read it; nobody exports it.
//   - A send made for a community goes between two of its members, and the
//     community carries the object's level and type.
//
// The engines are all built from the same community definitions: agreeing
// on who is in a community is the federation's job (signed community
// definitions), not the engine's, and the guarantee assumes it.

// decider is what the simulation asks; *Engine is one, and the mutants of
// TestPropertyCatchesMutants are others.
type decider interface{ Decide(Request) Decision }

type simObject struct {
	obj       Object   // the originator's view
	level     stix.TLP // as the originator reads it
	permitted map[string]bool
	readers   map[Person]bool // RED only: who may read it
}

type holding struct{ from, via string }

type hop struct {
	obj  int
	from string
	req  Request
	dec  Decision
}

func (h hop) String() string {
	to := h.req.To.Node
	if h.req.To.User != "" {
		to += "/" + h.req.To.User
	}
	c := h.req.Community
	if c == "" {
		c = "-"
	}
	return fmt.Sprintf("obj%d %s→%s %s community=%s (%v, as %s sees it: from=%q via=%q) %s",
		h.obj, h.from, to, h.req.Path, c, h.req.Object.TLP, h.from, h.req.Object.ReceivedFrom, h.req.Object.ReceivedVia, h.dec.Rule)
}

var simTypes = []string{"indicator", "malware", "report"}

const (
	simNodes   = 8
	simObjects = 6
	simHops    = 300
)

// simulate runs one federation from seed and returns a description of the
// first violation, or "". wrap, when not nil, replaces each node's engine.
func simulate(seed uint64, wrap func(*Engine) decider) string {
	r := rand.New(rand.NewPCG(seed, 0x656e747261696465))
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }

	nodes := make([]string, simNodes)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("n%d", i)
	}
	users := []string{"u0", "u1"}

	var comms []Community
	for i := range 2 + r.IntN(3) {
		c := Community{Name: fmt.Sprintf("c%d", i), MaxTLP: stix.TLP(1 + r.IntN(5))}
		for _, n := range nodes {
			if r.IntN(2) == 0 {
				c.Members = append(c.Members, n)
			}
		}
		for len(c.Members) < 2 {
			if n := pick(nodes); !slices.Contains(c.Members, n) {
				c.Members = append(c.Members, n)
			}
		}
		if r.IntN(2) == 0 {
			for _, t := range simTypes {
				if r.IntN(2) == 0 {
					c.Types = append(c.Types, t)
				}
			}
			if len(c.Types) == 0 {
				c.Types = []string{pick(simTypes)}
			}
		}
		comms = append(comms, c)
	}
	commNames := []string{""}
	byName := map[string]Community{}
	for _, c := range comms {
		commNames = append(commNames, c.Name)
		byName[c.Name] = c
	}
	commNames = append(commNames, "unknown")

	engines := map[string]*Engine{}
	deciders := map[string]decider{}
	for _, n := range nodes {
		e, err := New(Config{Self: n, Communities: comms, DefaultTLP: stix.TLP(r.IntN(6))})
		if err != nil {
			panic(err)
		}
		engines[n], deciders[n] = e, e
		if wrap != nil {
			deciders[n] = wrap(e)
		}
	}

	// Shares: the originator's choice, and what it permits.
	objs := make([]simObject, simObjects)
	holders := make([]map[string]holding, simObjects)
	for i := range objs {
		origin := pick(nodes)
		o := Object{ID: fmt.Sprintf("indicator--%d", i), Type: pick(simTypes), TLP: stix.TLP(r.IntN(6)), Origin: origin}
		for _, c := range comms {
			if r.IntN(3) == 0 {
				o.Distribution.Communities = append(o.Distribution.Communities, c.Name)
			}
		}
		for _, n := range nodes {
			if n != origin && r.IntN(5) == 0 {
				o.Distribution.Nodes = append(o.Distribution.Nodes, n)
			}
			for _, u := range users {
				if r.IntN(4) == 0 {
					o.RedRecipients = append(o.RedRecipients, Person{n, u})
				}
			}
		}
		so := simObject{obj: o, level: engines[origin].Level(o), permitted: map[string]bool{origin: true}, readers: map[Person]bool{}}
		switch so.level {
		case stix.TLPClear:
			for _, n := range nodes {
				so.permitted[n] = true
			}
		case stix.TLPRed:
			for _, p := range o.RedRecipients {
				so.permitted[p.Node] = true
				so.readers[p] = true
			}
		default:
			for _, n := range o.Distribution.Nodes {
				so.permitted[n] = true
			}
			for _, name := range o.Distribution.Communities {
				c := byName[name]
				if so.level <= c.MaxTLP && (len(c.Types) == 0 || slices.Contains(c.Types, o.Type)) {
					for _, m := range c.Members {
						so.permitted[m] = true
					}
				}
			}
		}
		objs[i] = so
		holders[i] = map[string]holding{origin: {}}
	}

	var log []hop
	fail := func(format string, args ...any) string {
		var b strings.Builder
		fmt.Fprintf(&b, "seed %d: ", seed)
		fmt.Fprintf(&b, format, args...)
		b.WriteString("\ncommunities:")
		for _, c := range comms {
			fmt.Fprintf(&b, "\n  %s max=%v types=%v members=%v", c.Name, c.MaxTLP, c.Types, c.Members)
		}
		for i, so := range objs {
			fmt.Fprintf(&b, "\nobj%d origin=%s type=%s TLP=%v level=%v distribution=%+v red=%v", i, so.obj.Origin, so.obj.Type, so.obj.TLP, so.level, so.obj.Distribution, so.obj.RedRecipients)
		}
		b.WriteString("\nhops:")
		for _, h := range log {
			b.WriteString("\n  " + h.String())
		}
		return b.String()
	}

	for range simHops {
		i := r.IntN(simObjects)
		so := &objs[i]
		var held []string
		for n := range holders[i] {
			held = append(held, n)
		}
		slices.Sort(held) // map order must not make runs differ
		from := pick(held)
		h := holders[i][from]

		// The holder's own view of the object.
		o := so.obj
		o.ReceivedFrom, o.ReceivedVia = h.from, h.via

		req := Request{Object: o, Path: Paths[r.IntN(len(Paths))]}
		switch {
		case req.Path.remote() || r.IntN(4) == 0:
			req.To = Recipient{Node: pick(nodes), User: pick(users)}
		default:
			req.To = Recipient{Node: from, User: pick(users)}
		}
		switch k := r.IntN(10); {
		case k < 4 && len(o.Distribution.Communities) > 0:
			req.Community = pick(o.Distribution.Communities)
		case k < 6 && h.via != "":
			req.Community = h.via
		case k < 8 || !req.Path.remote():
			req.Community = ""
		default:
			req.Community = pick(commNames)
		}

		dec := deciders[from].Decide(req)
		if !dec.Allow {
			continue
		}
		log = append(log, hop{i, from, req, dec})

		to := req.To.Node
		switch {
		case req.Path == PathExport:
			if so.level == stix.TLPRed {
				return fail("obj%d (RED) exported by %s/%s", i, from, req.To.User)
			}
			if to == from {
				continue
			}
		case req.Path.local() && to == from:
			if so.level == stix.TLPRed && !so.readers[Person{to, req.To.User}] {
				return fail("obj%d (RED) shown to %s/%s, not a named recipient", i, to, req.To.User)
			}
			continue
		}
		if to == from {
			continue // a node sending to itself moves nothing
		}

		// The object reaches another node, by whatever path.
		if c := req.Community; c != "" && req.Path.remote() {
			cd, ok := byName[c]
			switch {
			case !ok:
				return fail("obj%d sent through unknown community %q", i, c)
			case !slices.Contains(cd.Members, from) || !slices.Contains(cd.Members, to):
				return fail("obj%d sent through %s between %s and %s, not both members", i, c, from, to)
			case so.level > cd.MaxTLP:
				return fail("obj%d (%v) sent through %s, which carries at most %v", i, so.level, c, cd.MaxTLP)
			case len(cd.Types) > 0 && !slices.Contains(cd.Types, so.obj.Type):
				return fail("obj%d (%s) sent through %s, which carries %v", i, so.obj.Type, c, cd.Types)
			}
		}
		if !so.permitted[to] {
			return fail("obj%d (%v) reached %s, which its originator did not share it with", i, so.level, to)
		}
		if to == so.obj.Origin {
			continue // the origin keeps its own view
		}
		via := req.Community
		if !req.Path.remote() {
			via = ""
		}
		switch so.level {
		case stix.TLPAmber, stix.TLPAmberStrict, stix.TLPRed:
			if from != so.obj.Origin {
				return fail("obj%d (%v) forwarded by %s to %s", i, so.level, from, to)
			}
		case stix.TLPGreen:
			if from != so.obj.Origin && !slices.Contains(so.obj.Distribution.Communities, via) {
				return fail("obj%d (GREEN) passed on by %s to %s outside the communities it was shared to", i, from, to)
			}
		}
		// A node that already holds the object keeps its first view or takes
		// the new one: stores may do either, and both must be safe.
		if _, had := holders[i][to]; !had || r.IntN(2) == 0 {
			holders[i][to] = holding{from: from, via: via}
		}
	}
	return ""
}

// propertySeeds is how many federations each property run simulates.
func propertySeeds() uint64 {
	if testing.Short() {
		return 100
	}
	return 1000
}

func TestPropertyNoLeak(t *testing.T) {
	for seed := range propertySeeds() {
		if v := simulate(seed, nil); v != "" {
			t.Fatal(v)
		}
	}
}

// TestPropertySimulationMoves guards the property test against vacuity: the
// simulation must actually move objects, through communities and further.
func TestPropertySimulationMoves(t *testing.T) {
	rules := map[Rule]int{}
	wrap := func(e *Engine) decider {
		return decideFunc(func(r Request) Decision {
			d := e.Decide(r)
			rules[d.Rule]++
			return d
		})
	}
	for seed := range uint64(100) {
		if v := simulate(seed, wrap); v != "" {
			t.Fatal(v)
		}
	}
	for _, r := range Rules {
		if r == RulePathUnknown || r == RuleTLPInvalid {
			continue // the simulation makes no malformed requests
		}
		if rules[r] == 0 {
			t.Errorf("rule %s never decided a hop of the simulation", r)
		}
	}
	t.Logf("decisions by rule: %v", rules)
}

type decideFunc func(Request) Decision

func (f decideFunc) Decide(r Request) Decision { return f(r) }

// TestPropertyCatchesMutants proves the property test can fail: each mutant
// is the engine with one rule broken, and the simulation, on the same seeds,
// must find a leak for every one of them.
func TestPropertyCatchesMutants(t *testing.T) {
	flip := func(rules ...Rule) func(Request, Decision) bool {
		return func(_ Request, d Decision) bool { return slices.Contains(rules, d.Rule) }
	}
	mutants := []struct {
		name string
		// allow turns a denial into an allow when it says so.
		allow func(Request, Decision) bool
		// rewrite changes the request before the engine sees it.
		rewrite func(*Request, *Engine)
	}{
		{name: "AMBER forwarded", allow: flip(RuleAmberNoForward)},
		{name: "AMBER+STRICT forwarded", allow: flip(RuleAmberStrictNoForward)},
		{name: "RED forwarded", allow: flip(RuleRedNoForward)},
		{name: "GREEN received directly forwarded", allow: flip(RuleGreenReceivedDirect)},
		{name: "GREEN passed on outside its community", allow: flip(RuleGreenOutsideCommunity)},
		{name: "GREEN to anyone", allow: flip(RuleGreenNotChosen)},
		{name: "AMBER to anyone", allow: flip(RuleAmberNotChosen)},
		{name: "AMBER+STRICT to anyone", allow: flip(RuleAmberStrictNotChosen)},
		{name: "RED to unnamed nodes", allow: flip(RuleRedNotNamed)},
		{name: "RED exported", allow: flip(RuleRedNoExport)},
		{name: "RED shown to unnamed users", allow: flip(RuleRedUnnamedUser)},
		{name: "unmarked RED sent", allow: flip(RuleUnmarkedRed)},
		{name: "community membership ignored", allow: flip(RuleRecipientNotMember)},
		{name: "community max TLP ignored", allow: flip(RuleCommunityMaxTLP)},
		{name: "community types ignored", allow: flip(RuleCommunityType)},
		{name: "any community for own objects", allow: flip(RuleCommunityNotChosen)},
		{name: "unknown community accepted", allow: flip(RuleCommunityUnknown)},
		{name: "local paths serve peers", allow: flip(RuleRecipientInvalid)},
		{name: "pull bypasses the rules", allow: func(r Request, _ Decision) bool { return r.Path == PathPull }},
		{name: "export bypasses the rules", allow: func(r Request, _ Decision) bool { return r.Path == PathExport }},
		{name: "console bypasses the rules", allow: func(r Request, _ Decision) bool { return r.Path == PathConsole }},
		{name: "pull decides received objects as own", rewrite: func(r *Request, e *Engine) {
			if r.Path == PathPull {
				r.Object.Origin = e.Self()
			}
		}},
		{name: "received objects taken for own", rewrite: func(r *Request, e *Engine) { r.Object.Origin = e.Self() }},
		{name: "GREEN relayed in the send's community", rewrite: func(r *Request, _ *Engine) { r.Object.ReceivedVia = r.Community }},
		{name: "RED recipients read as nodes", rewrite: func(r *Request, _ *Engine) {
			for i := range r.Object.RedRecipients {
				r.Object.RedRecipients[i].User = r.To.User
			}
		}},
	}
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			wrap := func(e *Engine) decider {
				return decideFunc(func(r Request) Decision {
					if m.rewrite != nil {
						r.Object.RedRecipients = slices.Clone(r.Object.RedRecipients)
						m.rewrite(&r, e)
					}
					d := e.Decide(r)
					if !d.Allow && m.allow != nil && m.allow(r, d) {
						d = Decision{Allow: true, Rule: "mutant"}
					}
					return d
				})
			}
			for seed := range propertySeeds() {
				if v := simulate(seed, wrap); v != "" {
					t.Logf("caught at %s", strings.SplitN(v, "\n", 2)[0])
					return
				}
			}
			t.Errorf("no seed caught the mutant %q", m.name)
		})
	}
}
