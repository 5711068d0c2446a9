package policy

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/entraide/entraide/internal/stix"
)

// Path is a way out of a node. Every place that lets an object leave the
// node's store — towards a peer, a file or a local user — names its path when
// it asks the engine.
type Path string

const (
	// PathPush is a delivery worker sending one of the node's objects to a
	// peer's TAXII inbox.
	PathPush Path = "push"
	// PathPull is a peer reading a collection of this node over the
	// federation API (TAXII GET). It is decided exactly like a push to that
	// peer: a peer never obtains by pulling what it would not have been sent.
	PathPull Path = "pull"
	// PathRelay is a delivery worker re-sharing an object the node received.
	// It is decided exactly like a push: the engine reads the provenance from
	// Object.Origin, not from the label, so a mislabelled send gains nothing.
	PathRelay Path = "relay"
	// PathExport is a bulk export (entraide export, a feed file) made by a
	// local user.
	PathExport Path = "export"
	// PathSearch is a local user's search.
	PathSearch Path = "search"
	// PathAPI is the user API (TAXII 2.1 and JSON) answering a local user.
	PathAPI Path = "api"
	// PathConsole is the web console showing an object to a local user.
	PathConsole Path = "console"
)

// Paths lists every path, in a fixed order, for tests and documentation.
var Paths = []Path{PathPush, PathPull, PathRelay, PathExport, PathSearch, PathAPI, PathConsole}

// remote reports whether p sends to another node.
func (p Path) remote() bool { return p == PathPush || p == PathPull || p == PathRelay }

// local reports whether p shows an object to a local user inside the node.
func (p Path) local() bool { return p == PathSearch || p == PathAPI || p == PathConsole }

// Community is a named trust group as this node knows it. MaxTLP is the
// strictest level it carries; Types, when not empty, are the only STIX types
// it carries. Members are node ids and include this node when it belongs.
type Community struct {
	Name    string
	MaxTLP  stix.TLP
	Types   []string
	Members []string
}

// Distribution is who the originator of an object chose to share it with:
// whole communities and individually named nodes.
type Distribution struct {
	Communities []string
	Nodes       []string
}

// Person is a named individual at a node: the recipients of TLP:RED.
type Person struct {
	Node string
	User string
}

// Object is what the engine needs to know about one stored object, as this
// node sees it. The store fills it in; the engine trusts it, so Origin must
// come from the verified signature, never from what a sender claimed.
type Object struct {
	ID   string
	Type string
	// TLP is the strictest TLP marking of the object (stix.Object.TLP), or 0
	// when it carries none. 0 is read as the engine's default level.
	TLP stix.TLP
	// Origin is the node that created and signed the object; it equals the
	// engine's Self for the node's own objects. "" means the origin is
	// unknown (an import, say): such an object is handled as one received
	// directly from an unknown node, never as one of ours.
	Origin string
	// ReceivedFrom is the peer that delivered the object to this node, ""
	// for our own objects.
	ReceivedFrom string
	// ReceivedVia is the community the object was delivered through, "" if
	// it was sent to this node directly.
	ReceivedVia string
	// RedRecipients are the people a TLP:RED object is for, as fixed by its
	// originator. They are read on every node, for RED objects only.
	RedRecipients []Person
	// Distribution is the originator's choice of recipients. Only the
	// originating node reads it; on a received object it is ignored.
	Distribution Distribution
}

// Recipient is who an object would go to: a peer node on the remote paths
// (push, pull, relay), or a local user (Node = the engine's Self, User set)
// on export, search, api and console. User is ignored on the remote paths:
// a node, not a person, receives a push, and the receiving node enforces
// RED's named users itself.
type Recipient struct {
	Node string
	User string
}

// Request is one question to the engine: may this object go to this
// recipient by this path? Community is the community the send is made for
// (the collection a peer pulls from, the community a push fans out to), ""
// for a direct send and for the local paths.
type Request struct {
	Object    Object
	To        Recipient
	Path      Path
	Community string
}

// Decision is the engine's answer. Rule is a stable machine code (the Rule
// constants; each code always comes with the same Allow). Reason is one
// sentence for audit logs and the command line; it names nodes, users and
// communities but not the object, which the caller logs beside it.
// Audit is set when the object is TLP:RED: every access to it, allowed or
// not and on any path, must reach the audit log.
type Decision struct {
	Allow  bool
	Rule   Rule
	Reason string
	Audit  bool
}

// String formats a decision as "allow tlp-clear: reason".
func (d Decision) String() string {
	verdict := "deny"
	if d.Allow {
		verdict = "allow"
	}
	return verdict + " " + string(d.Rule) + ": " + d.Reason
}

// Config is what an engine is built from.
type Config struct {
	// Self is this node's id.
	Self string
	// Communities are the communities this node knows.
	Communities []Community
	// DefaultTLP is the level of objects that carry no TLP marking. Zero
	// means TLP:AMBER, the conservative reading: an unmarked object is not
	// shared beyond the recipients its originator named.
	DefaultTLP stix.TLP
}

// Engine decides. It is immutable once built and safe for concurrent use;
// a configuration change builds a new engine and swaps it in.
type Engine struct {
	self             string
	defaultTLP       stix.TLP
	communities      map[string]*community
	labels           [stix.TLPRed + 1]string // labels[0] is for our unmarked objects
	receivedUnmarked string
}

type community struct {
	Community
	members map[string]struct{}
	types   map[string]struct{} // nil: every type
	quoted  string              // the name, quoted, for reasons
}

func (c *community) has(node string) bool { _, ok := c.members[node]; return ok }

func (c *community) carriesType(t string) bool {
	if c.types == nil {
		return true
	}
	_, ok := c.types[t]
	return ok
}

// New checks cfg and builds an engine. Every community needs a name, a
// valid MaxTLP and non-empty member ids; names, members and types may not
// repeat. DefaultTLP must be 0 or a valid level.
func New(cfg Config) (*Engine, error) {
	if cfg.Self == "" {
		return nil, fmt.Errorf("policy: Self is empty")
	}
	e := &Engine{self: cfg.Self, defaultTLP: cfg.DefaultTLP, communities: make(map[string]*community, len(cfg.Communities))}
	if e.defaultTLP == 0 {
		e.defaultTLP = stix.TLPAmber
	}
	if !e.defaultTLP.Valid() {
		return nil, fmt.Errorf("policy: default TLP %v is not a level", cfg.DefaultTLP)
	}
	for _, c := range cfg.Communities {
		if c.Name == "" {
			return nil, fmt.Errorf("policy: a community has no name")
		}
		if _, dup := e.communities[c.Name]; dup {
			return nil, fmt.Errorf("policy: community %q is defined twice", c.Name)
		}
		if !c.MaxTLP.Valid() {
			return nil, fmt.Errorf("policy: community %q: max TLP %v is not a level", c.Name, c.MaxTLP)
		}
		ic := &community{members: make(map[string]struct{}, len(c.Members)), quoted: strconv.Quote(c.Name)}
		for _, m := range c.Members {
			if m == "" {
				return nil, fmt.Errorf("policy: community %q: empty member id", c.Name)
			}
			if ic.has(m) {
				return nil, fmt.Errorf("policy: community %q: member %q listed twice", c.Name, m)
			}
			ic.members[m] = struct{}{}
		}
		if len(c.Types) > 0 {
			ic.types = make(map[string]struct{}, len(c.Types))
			for _, t := range c.Types {
				if _, dup := ic.types[t]; dup || t == "" {
					return nil, fmt.Errorf("policy: community %q: type %q empty or listed twice", c.Name, t)
				}
				ic.types[t] = struct{}{}
			}
		}
		// Keep a private, sorted copy: the caller's slices may change, and
		// Recipients walks members in a deterministic order.
		ic.Community = Community{Name: c.Name, MaxTLP: c.MaxTLP, Types: slices.Clone(c.Types), Members: slices.Sorted(slices.Values(c.Members))}
		e.communities[c.Name] = ic
	}
	for t := stix.TLPClear; t <= stix.TLPRed; t++ {
		e.labels[t] = t.String()
	}
	e.labels[0] = "unmarked object (" + e.defaultTLP.String() + " by default)"
	e.receivedUnmarked = "unmarked object (read as " + max(e.defaultTLP, stix.TLPAmberStrict).String() + ")"
	return e, nil
}

// Self is this node's id.
func (e *Engine) Self() string { return e.self }

// Community returns a copy of the named community, as the engine knows it.
func (e *Engine) Community(name string) (Community, bool) {
	c, ok := e.communities[name]
	if !ok {
		return Community{}, false
	}
	cc := c.Community
	cc.Types, cc.Members = slices.Clone(cc.Types), slices.Clone(cc.Members)
	return cc, true
}

// Level is the level the engine applies to o: its marking when it has one;
// for an unmarked object of ours, the configured default; for an unmarked
// object received from elsewhere, the default but never below
// TLP:AMBER+STRICT. The originator's default is not known here, and
// AMBER+STRICT is the strictest it can have been: a node whose default is
// RED does not send unmarked objects (RuleUnmarkedRed). Level is 0 when
// o.TLP is not a level: every path then refuses the object. The store
// encrypts at rest the objects whose Level is TLP:RED.
func (e *Engine) Level(o Object) stix.TLP { return e.level(&o) }

func (e *Engine) level(o *Object) stix.TLP {
	switch {
	case o.TLP.Valid():
		return o.TLP
	case o.TLP != 0:
		return 0
	case o.Origin != e.self:
		return max(e.defaultTLP, stix.TLPAmberStrict)
	}
	return e.defaultTLP
}

// Decide answers one request. It is a pure function of the engine and the
// request: the same question always gets the same answer and reason.
// Requests that are malformed (unknown path, a peer on a local path, no
// recipient, an invalid TLP) are refused, never guessed at.
func (e *Engine) Decide(r Request) Decision {
	o := &r.Object
	if !r.Path.remote() && !r.Path.local() && r.Path != PathExport {
		return deny(RulePathUnknown, "unknown path "+strconv.Quote(string(r.Path)), false)
	}
	level := e.level(o)
	if level == 0 {
		return deny(RuleTLPInvalid, "the object's TLP value "+o.TLP.String()+" is not a level", false)
	}
	lbl := e.labels[o.TLP] // o.TLP is 0 or valid here
	if o.TLP == 0 && o.Origin != e.self {
		lbl = e.receivedUnmarked
	}
	red := level == stix.TLPRed
	if r.Path.remote() {
		return e.decideRemote(&r, level, lbl, red)
	}

	// Export and the local paths serve a user of this node.
	switch {
	case r.To.Node != e.self:
		return deny(RuleRecipientInvalid, string(r.Path)+" serves local users of "+e.self+", not node "+strconv.Quote(r.To.Node), red)
	case r.To.User == "":
		return deny(RuleRecipientInvalid, string(r.Path)+" needs a local user", red)
	case r.Community != "":
		return deny(RuleCommunityNotApplicable, string(r.Path)+" is not a send to community "+e.quote(r.Community), red)
	}
	if r.Path == PathExport {
		if red {
			return deny(RuleRedNoExport, lbl+" is never exported in bulk", true)
		}
		return allow(RuleExport, lbl+" may be exported by "+r.To.User+": an export stays within "+e.self, false)
	}
	if !red {
		return allow(RuleLocalRead, lbl+" shown to local user "+r.To.User, false)
	}
	for _, p := range o.RedRecipients {
		if p.Node == e.self && p.User == r.To.User {
			return allow(RuleRedNamedUser, lbl+" shown to "+r.To.User+", a named recipient", true)
		}
	}
	return deny(RuleRedUnnamedUser, lbl+" is not shown to "+r.To.User+", who is not a named recipient at "+e.self, true)
}

func (e *Engine) decideRemote(r *Request, level stix.TLP, lbl string, red bool) Decision {
	o, to := &r.Object, r.To.Node
	switch to {
	case "":
		return deny(RuleRecipientInvalid, string(r.Path)+" needs a recipient node", red)
	case e.self:
		return deny(RuleRecipientInvalid, string(r.Path)+" goes to a peer, not to "+e.self+" itself", red)
	}

	// A community's bounds hold for every send made in its name, whatever
	// the object and whoever made it.
	if r.Community != "" {
		c, ok := e.communities[r.Community]
		q := e.quote(r.Community)
		switch {
		case !ok:
			return deny(RuleCommunityUnknown, "community "+q+" is not configured on "+e.self, red)
		case !c.has(e.self):
			return deny(RuleSenderNotMember, e.self+" is not a member of community "+q, red)
		case !c.has(to):
			return deny(RuleRecipientNotMember, to+" is not a member of community "+q, red)
		case level > c.MaxTLP:
			return deny(RuleCommunityMaxTLP, "community "+q+" carries at most "+c.MaxTLP.String()+", not "+lbl, red)
		case !c.carriesType(o.Type):
			return deny(RuleCommunityType, "community "+q+" does not carry "+strconv.Quote(o.Type)+" objects", red)
		}
	}

	own := o.Origin == e.self
	if !own && o.Origin != "" && to == o.Origin {
		return allow(RuleReturnToOrigin, lbl+" goes back to "+to+", which created it", red)
	}
	if level == stix.TLPClear {
		return allow(RuleClear, lbl+": disclosure is not limited", false)
	}
	if own {
		return e.decideOwn(r, level, lbl)
	}

	from := o.ReceivedFrom
	if from == "" {
		from = "an unknown source"
	}
	switch level {
	case stix.TLPGreen:
		switch {
		case o.ReceivedVia == "":
			return deny(RuleGreenReceivedDirect, lbl+" received directly from "+from+" may not be forwarded to "+to, false)
		case r.Community != o.ReceivedVia:
			return deny(RuleGreenOutsideCommunity, lbl+" received through community "+e.quote(o.ReceivedVia)+" from "+from+" may be passed on only within it, not to "+to+e.via(r.Community), false)
		}
		return allow(RuleGreenWithinCommunity, lbl+" received through community "+e.quote(o.ReceivedVia)+" from "+from+" passed on within it to "+to, false)
	case stix.TLPAmber:
		return deny(RuleAmberNoForward, lbl+" received from "+from+" may not be forwarded to "+to, false)
	case stix.TLPAmberStrict:
		return deny(RuleAmberStrictNoForward, lbl+" received from "+from+" may not be forwarded to "+to, false)
	}
	return deny(RuleRedNoForward, lbl+" received from "+from+" may not be forwarded to "+to, true)
}

// decideOwn decides for one of this node's objects, above TLP:CLEAR, once
// the community's bounds have been checked.
func (e *Engine) decideOwn(r *Request, level stix.TLP, lbl string) Decision {
	o, to := &r.Object, r.To.Node
	red := level == stix.TLPRed
	if r.Community != "" && !slices.Contains(o.Distribution.Communities, r.Community) {
		return deny(RuleCommunityNotChosen, lbl+" was not shared to community "+e.quote(r.Community), red)
	}
	if red {
		if o.TLP == 0 {
			return deny(RuleUnmarkedRed, lbl+" cannot be sent: its recipients would not read it as TLP:RED; mark it", true)
		}
		for _, p := range o.RedRecipients {
			if p.Node == to {
				return allow(RuleRedNamedNode, lbl+" goes to "+to+", which has a named recipient", true)
			}
		}
		return deny(RuleRedNotNamed, lbl+" has no named recipient at "+to, true)
	}
	rs := &ownRules[level]
	if r.Community != "" {
		return allow(rs.community, lbl+" goes to "+to+" through community "+e.quote(r.Community)+", which it was shared to", false)
	}
	if slices.Contains(o.Distribution.Nodes, to) {
		return allow(rs.named, lbl+" goes to "+to+", named in its distribution", false)
	}
	// A direct send to a member of a chosen community stands for a send
	// through that community, so the community's bounds apply to it too.
	for _, name := range o.Distribution.Communities {
		c, ok := e.communities[name]
		if ok && c.has(e.self) && c.has(to) && level <= c.MaxTLP && c.carriesType(o.Type) {
			return allow(rs.member, lbl+" goes to "+to+", a member of community "+e.quote(name)+" it was shared to", false)
		}
	}
	return deny(rs.notChosen, lbl+" was not shared to "+to+": neither named nor a member of a community of its distribution that carries it", false)
}

// via describes the channel of a send, for reasons.
func (e *Engine) via(community string) string {
	if community == "" {
		return " (a direct send)"
	}
	return " through community " + e.quote(community)
}

// quote quotes a community name for a reason, without allocating for the
// communities the engine knows.
func (e *Engine) quote(name string) string {
	if c, ok := e.communities[name]; ok {
		return c.quoted
	}
	return strconv.Quote(name)
}

func allow(rule Rule, reason string, audit bool) Decision {
	return Decision{Allow: true, Rule: rule, Reason: reason, Audit: audit}
}

func deny(rule Rule, reason string, audit bool) Decision {
	return Decision{Rule: rule, Reason: reason, Audit: audit}
}
