package policy

import (
	"strconv"

	"github.com/entraide/entraide/internal/stix"
)

// Target is one node a distribution reaches, the community the send is
// made for ("" for a direct send), and the decision for it.
type Target struct {
	Node      string
	Community string
	Decision  Decision
}

// Recipients expands a distribution into per-node decisions for the push
// path (PathRelay when o is not this node's own object, which decides the
// same): what the outbox should hold. Routes are tried in order — each
// community of d in d's order, its members sorted, then d's nodes in d's
// order, directly — and each node appears once: in allowed with its first
// allowed route, or, when no route allows it, in denied with its first
// refusal. A community route comes before a direct one on purpose: a node
// that gets a GREEN object through a community may pass it on within it.
//
// This node is never a target. A community of d that the engine does not
// know gives one denied Target with Node "" and that Community. For RED,
// the caller puts the nodes of o.RedRecipients in d.Nodes; Recipients adds
// nobody on its own.
func (e *Engine) Recipients(o Object, d Distribution) (allowed, denied []Target) {
	path := PathPush
	if o.Origin != e.self {
		path = PathRelay
	}
	var done map[string]bool // node → allowed already
	if n := len(d.Nodes) + len(d.Communities)*8; n > 0 {
		allowed = make([]Target, 0, n)
	}
	try := func(node, comm string) {
		if node == e.self || done[node] {
			return
		}
		dec := e.Decide(Request{Object: o, To: Recipient{Node: node}, Path: path, Community: comm})
		t := Target{Node: node, Community: comm, Decision: dec}
		if dec.Allow {
			if done == nil {
				done = make(map[string]bool)
			}
			done[node] = true
			allowed = append(allowed, t)
			return
		}
		denied = append(denied, t)
	}
	for _, name := range d.Communities {
		c, ok := e.communities[name]
		if !ok {
			denied = append(denied, Target{Community: name, Decision: deny(RuleCommunityUnknown,
				"community "+strconv.Quote(name)+" is not configured on "+e.self, e.level(&o) == stix.TLPRed)})
			continue
		}
		for _, m := range c.Members {
			try(m, name)
		}
	}
	for _, n := range d.Nodes {
		try(n, "")
	}

	// Keep one refusal per node, and none for a node a later route reached.
	kept, seen := denied[:0], make(map[string]bool, len(denied))
	for _, t := range denied {
		if t.Node != "" && (done[t.Node] || seen[t.Node]) {
			continue
		}
		seen[t.Node] = true
		kept = append(kept, t)
	}
	return allowed, kept
}
