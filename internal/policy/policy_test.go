package policy

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/entraide/entraide/internal/stix"
)

var update = flag.Bool("update", false, "rewrite testdata/decisions.golden from the current decisions")

// The table's world, seen from cert-fr.
//
//	eu     max RED, every type:           cert-fr cert-de cert-it cert-ee
//	paris  max GREEN, indicator & report: cert-fr cert-de cert-us cert-jp
//
// cert-fr's own objects are shared to community eu and to cert-jp by name;
// their RED recipients are alice at cert-fr, anna at cert-de, kenji at cert-jp.
const self = "cert-fr"

func tableEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := New(Config{Self: self, Communities: []Community{
		{Name: "eu", MaxTLP: stix.TLPRed, Members: []string{"cert-fr", "cert-de", "cert-it", "cert-ee"}},
		{Name: "paris", MaxTLP: stix.TLPGreen, Types: []string{"indicator", "report"}, Members: []string{"cert-us", "cert-fr", "cert-de", "cert-jp"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var redRecipients = []Person{{"cert-fr", "alice"}, {"cert-de", "anna"}, {"cert-jp", "kenji"}}

func own(typ string) Object {
	return Object{ID: typ + "--1", Type: typ, Origin: self, RedRecipients: redRecipients,
		Distribution: Distribution{Communities: []string{"eu"}, Nodes: []string{"cert-jp"}}}
}

func received(origin, from, via string) Object {
	return Object{ID: "indicator--2", Type: "indicator", Origin: origin, ReceivedFrom: from, ReceivedVia: via, RedRecipients: redRecipients}
}

// Markings, as the store reads them from object_marking_refs: every TLP 2.0
// level, the TLP 1.0 ids (mapped through stix.TLPOf), a mix, and none.
var (
	tlp1White = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
	tlp1Green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
	tlp1Amber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
	tlp1Red   = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
	statement = "marking-definition--a1b2c3d4-0000-4000-8000-000000000001" // not a TLP marking
)

// Column of a want array: 0 is unmarked, then the levels.
const (
	unmarked = 0
	clear    = int(stix.TLPClear)
	green    = int(stix.TLPGreen)
	amber    = int(stix.TLPAmber)
	strict   = int(stix.TLPAmberStrict)
	red      = int(stix.TLPRed)
)

var markings = []struct {
	name string
	refs []string
	col  int // the column of want it must land in
}{
	{"unmarked", nil, unmarked},
	{"statement-only", []string{statement}, unmarked},
	{"TLP:CLEAR", []string{stix.TLPClear.MarkingID()}, clear},
	{"TLP:GREEN", []string{stix.TLPGreen.MarkingID()}, green},
	{"TLP:AMBER", []string{stix.TLPAmber.MarkingID()}, amber},
	{"TLP:AMBER+STRICT", []string{stix.TLPAmberStrict.MarkingID()}, strict},
	{"TLP:RED", []string{stix.TLPRed.MarkingID()}, red},
	{"TLP1:WHITE", []string{tlp1White}, clear},
	{"TLP1:GREEN", []string{tlp1Green}, green},
	{"TLP1:AMBER", []string{tlp1Amber}, amber},
	{"TLP1:RED", []string{tlp1Red}, red},
	{"TLP1:GREEN+TLP2:AMBER", []string{tlp1Green, stix.TLPAmber.MarkingID()}, amber},
}

// same fills the six columns with one rule.
func same(r Rule) [6]Rule { return [6]Rule{r, r, r, r, r, r} }

// levels is the usual shape of a want array: CLEAR allowed, the others by level.
func levels(clearRule, greenRule, amberRule, strictRule, redRule Rule) [6]Rule {
	return [6]Rule{unmarked: amberRule, clear: clearRule, green: greenRule, amber: amberRule, strict: strictRule, red: redRule}
}

// recvLevels is levels for someone else's object: unmarked reads as
// AMBER+STRICT (Engine.Level).
func recvLevels(clearRule, greenRule, amberRule, strictRule, redRule Rule) [6]Rule {
	w := levels(clearRule, greenRule, amberRule, strictRule, redRule)
	w[unmarked] = strictRule
	return w
}

// A relationship is who holds the object (its provenance as cert-fr sees it)
// and who asks for it. Remote relationships ask with a peer on every path,
// local ones with a local user: the local paths with a peer, and the remote
// paths with ourselves, are the misuse cells of the table.
type relationship struct {
	name      string
	obj       Object
	to        Recipient
	community string
	remote    [6]Rule // push, pull and relay
	export    [6]Rule
	local     [6]Rule // search, api and console
}

var (
	invalid     = same(RuleRecipientInvalid)
	exportRules = [6]Rule{RuleExport, RuleExport, RuleExport, RuleExport, RuleExport, RuleRedNoExport}
)

func remoteRel(name string, o Object, to, community string, want [6]Rule) relationship {
	return relationship{name: name, obj: o, to: Recipient{Node: to}, community: community, remote: want, export: invalid, local: invalid}
}

func localRel(name string, o Object, user, community string, export, local [6]Rule) relationship {
	return relationship{name: name, obj: o, to: Recipient{Node: self, User: user}, community: community, remote: invalid, export: export, local: local}
}

var relationships = []relationship{
	remoteRel("own → node named in distribution", own("indicator"), "cert-jp", "",
		levels(RuleClear, RuleGreenNamedNode, RuleAmberNamedNode, RuleAmberStrictNamedNode, RuleRedNamedNode)),
	remoteRel("own → member through chosen community", own("indicator"), "cert-de", "eu",
		levels(RuleClear, RuleGreenCommunity, RuleAmberCommunity, RuleAmberStrictCommunity, RuleRedNamedNode)),
	remoteRel("own → member of chosen community, direct", own("indicator"), "cert-it", "",
		levels(RuleClear, RuleGreenMember, RuleAmberMember, RuleAmberStrictMember, RuleRedNotNamed)),
	remoteRel("own → non-member, direct", own("indicator"), "cert-us", "",
		levels(RuleClear, RuleGreenNotChosen, RuleAmberNotChosen, RuleAmberStrictNotChosen, RuleRedNotNamed)),
	remoteRel("own → member through unchosen community", own("indicator"), "cert-us", "paris",
		levels(RuleClear, RuleCommunityNotChosen, RuleCommunityMaxTLP, RuleCommunityMaxTLP, RuleCommunityMaxTLP)),
	remoteRel("own → named node through unchosen community", own("indicator"), "cert-jp", "paris",
		levels(RuleClear, RuleCommunityNotChosen, RuleCommunityMaxTLP, RuleCommunityMaxTLP, RuleCommunityMaxTLP)),
	remoteRel("own type not carried → member", own("malware"), "cert-de", "paris",
		levels(RuleCommunityType, RuleCommunityType, RuleCommunityMaxTLP, RuleCommunityMaxTLP, RuleCommunityMaxTLP)),
	remoteRel("own → non-member through community", own("indicator"), "cert-us", "eu", same(RuleRecipientNotMember)),
	remoteRel("own → unknown community", own("indicator"), "cert-de", "nato", same(RuleCommunityUnknown)),
	remoteRel("own → no node", own("indicator"), "", "", invalid),
	remoteRel("received direct → forwarded", received("cert-ee", "cert-ee", ""), "cert-de", "",
		recvLevels(RuleClear, RuleGreenReceivedDirect, RuleAmberNoForward, RuleAmberStrictNoForward, RuleRedNoForward)),
	remoteRel("received direct → forwarded to a RED-named node", received("cert-ee", "cert-ee", ""), "cert-jp", "",
		recvLevels(RuleClear, RuleGreenReceivedDirect, RuleAmberNoForward, RuleAmberStrictNoForward, RuleRedNoForward)),
	remoteRel("received via eu → member through eu", received("cert-ee", "cert-ee", "eu"), "cert-de", "eu",
		recvLevels(RuleClear, RuleGreenWithinCommunity, RuleAmberNoForward, RuleAmberStrictNoForward, RuleRedNoForward)),
	remoteRel("received via eu → member of eu, direct", received("cert-ee", "cert-ee", "eu"), "cert-it", "",
		recvLevels(RuleClear, RuleGreenOutsideCommunity, RuleAmberNoForward, RuleAmberStrictNoForward, RuleRedNoForward)),
	remoteRel("received via eu → outside eu, direct", received("cert-ee", "cert-ee", "eu"), "cert-us", "",
		recvLevels(RuleClear, RuleGreenOutsideCommunity, RuleAmberNoForward, RuleAmberStrictNoForward, RuleRedNoForward)),
	remoteRel("received via eu → outside eu, through paris", received("cert-ee", "cert-ee", "eu"), "cert-us", "paris",
		recvLevels(RuleClear, RuleGreenOutsideCommunity, RuleCommunityMaxTLP, RuleCommunityMaxTLP, RuleCommunityMaxTLP)),
	remoteRel("received via eu → non-member through eu", received("cert-ee", "cert-ee", "eu"), "cert-us", "eu", same(RuleRecipientNotMember)),
	remoteRel("relayed to us via eu → next member through eu", received("cert-ee", "cert-it", "eu"), "cert-de", "eu",
		recvLevels(RuleClear, RuleGreenWithinCommunity, RuleAmberNoForward, RuleAmberStrictNoForward, RuleRedNoForward)),
	remoteRel("relayed to us via eu → back to origin", received("cert-ee", "cert-it", "eu"), "cert-ee", "",
		same(RuleReturnToOrigin)),
	remoteRel("received direct → back to origin through eu", received("cert-ee", "cert-ee", ""), "cert-ee", "eu",
		same(RuleReturnToOrigin)),
	remoteRel("received → back to origin through paris", received("cert-jp", "cert-jp", ""), "cert-jp", "paris",
		recvLevels(RuleReturnToOrigin, RuleReturnToOrigin, RuleCommunityMaxTLP, RuleCommunityMaxTLP, RuleCommunityMaxTLP)),
	remoteRel("unknown origin → anyone", received("", "", ""), "cert-de", "",
		recvLevels(RuleClear, RuleGreenReceivedDirect, RuleAmberNoForward, RuleAmberStrictNoForward, RuleRedNoForward)),

	localRel("own, RED-named local user", own("indicator"), "alice", "", exportRules,
		[6]Rule{RuleLocalRead, RuleLocalRead, RuleLocalRead, RuleLocalRead, RuleLocalRead, RuleRedNamedUser}),
	localRel("own, other local user", own("indicator"), "bob", "", exportRules,
		[6]Rule{RuleLocalRead, RuleLocalRead, RuleLocalRead, RuleLocalRead, RuleLocalRead, RuleRedUnnamedUser}),
	localRel("own, user named at another node", own("indicator"), "anna", "", exportRules,
		[6]Rule{RuleLocalRead, RuleLocalRead, RuleLocalRead, RuleLocalRead, RuleLocalRead, RuleRedUnnamedUser}),
	localRel("received via eu, RED-named local user", received("cert-ee", "cert-ee", "eu"), "alice", "", exportRules,
		[6]Rule{RuleLocalRead, RuleLocalRead, RuleLocalRead, RuleLocalRead, RuleLocalRead, RuleRedNamedUser}),
	localRel("received direct, other local user", received("cert-ee", "cert-ee", ""), "bob", "", exportRules,
		[6]Rule{RuleLocalRead, RuleLocalRead, RuleLocalRead, RuleLocalRead, RuleLocalRead, RuleRedUnnamedUser}),
	localRel("local user, community named", own("indicator"), "alice", "eu",
		same(RuleCommunityNotApplicable), same(RuleCommunityNotApplicable)),
	localRel("local path, no user", own("indicator"), "", "", invalid, invalid),
}

// TestDecideTable is every marking × relationship × path. Each cell names
// the rule it must end in; the verdict follows from the rule (a rule has one
// verdict, checked here too), and every reason is frozen in
// testdata/decisions.golden.
func TestDecideTable(t *testing.T) {
	e := tableEngine(t)
	var golden bytes.Buffer
	used := map[Rule]bool{}
	cells := 0
	for _, rel := range relationships {
		for _, m := range markings {
			o := rel.obj
			o.TLP, _ = (&stix.Object{ObjectMarkingRefs: m.refs}).TLP()
			for _, p := range Paths {
				var want Rule
				switch {
				case p.remote():
					want = rel.remote[m.col]
				case p == PathExport:
					want = rel.export[m.col]
				default:
					want = rel.local[m.col]
				}
				r := Request{Object: o, To: rel.to, Path: p, Community: rel.community}
				got := e.Decide(r)
				cells++
				used[got.Rule] = true
				if got.Rule != want || got.Allow != want.Allows() {
					t.Errorf("%s | %s | %s: got %v, want rule %s (allow=%v)", rel.name, m.name, p, got, want, want.Allows())
				}
				if wantAudit := m.col == red; got.Audit != wantAudit {
					t.Errorf("%s | %s | %s: Audit = %v, want %v", rel.name, m.name, p, got.Audit, wantAudit)
				}
				if got.Reason == "" {
					t.Errorf("%s | %s | %s: empty reason", rel.name, m.name, p)
				}
				if again := e.Decide(r); again != got {
					t.Errorf("%s | %s | %s: not deterministic: %v then %v", rel.name, m.name, p, got, again)
				}
				fmt.Fprintf(&golden, "%s | %s | %s\n\t%v\n", rel.name, m.name, p, got)
			}
		}
	}
	t.Logf("%d cells", cells)
	checkGolden(t, "decisions.golden", golden.Bytes())

	// The table reaches every rule but those its one engine cannot (the
	// other tests in this file reach them).
	for _, r := range Rules {
		if !used[r] && r != RulePathUnknown && r != RuleTLPInvalid && r != RuleSenderNotMember && r != RuleUnmarkedRed {
			t.Errorf("rule %s is reached by no cell of the table", r)
		}
	}
}

// TestPushPullRelayAgree: a peer obtains by pulling exactly what it would be
// pushed, and labelling a send relay or push changes nothing.
func TestPushPullRelayAgree(t *testing.T) {
	e := tableEngine(t)
	for _, rel := range relationships {
		for _, m := range markings {
			r := Request{Object: rel.obj, To: rel.to, Community: rel.community}
			r.Object.TLP, _ = (&stix.Object{ObjectMarkingRefs: m.refs}).TLP()
			r.Path = PathPush
			push := e.Decide(r)
			for _, p := range []Path{PathPull, PathRelay} {
				r.Path = p
				if got := e.Decide(r); got.Allow != push.Allow || got.Rule != push.Rule {
					t.Errorf("%s | %s: %s gives %v, push gives %v", rel.name, m.name, p, got, push)
				}
			}
		}
	}
}

// TestConsoleDecidedAsAPI: the web console is one more way for a local
// user to read what the user API serves, and never a looser one. Every
// relationship and marking of the table, for every kind of recipient and
// community (well-formed or not), gets on path console exactly the
// verdict, rule and audit flag it gets on path api; the reasons differ
// only by the path's name.
func TestConsoleDecidedAsAPI(t *testing.T) {
	e := tableEngine(t)
	check := func(where string, e *Engine, r Request) {
		t.Helper()
		r.Path = PathAPI
		api := e.Decide(r)
		r.Path = PathConsole
		con := e.Decide(r)
		if con.Allow != api.Allow || con.Rule != api.Rule || con.Audit != api.Audit ||
			strings.ReplaceAll(con.Reason, string(PathConsole), string(PathAPI)) != api.Reason {
			t.Errorf("%s: console gives %v (audit %v), api gives %v (audit %v)", where, con, con.Audit, api, api.Audit)
		}
	}
	users := []Recipient{{Node: self, User: "alice"}, {Node: self, User: "bob"}, {Node: self}, {Node: "cert-de", User: "anna"}, {}}
	for _, rel := range relationships {
		for _, m := range markings {
			for _, to := range append([]Recipient{rel.to}, users...) {
				for _, community := range []string{"", rel.community, "eu"} {
					r := Request{Object: rel.obj, To: to, Community: community}
					r.Object.TLP, _ = (&stix.Object{ObjectMarkingRefs: m.refs}).TLP()
					check(rel.name+" | "+m.name+" | "+to.Node+"/"+to.User+" | "+community, e, r)
				}
			}
		}
	}
	// Levels no marking gives: unmarked (the default level), invalid.
	for _, tlp := range []stix.TLP{0, -1, 9} {
		for _, origin := range []string{self, "cert-ee", ""} {
			check(fmt.Sprintf("TLP %d from %q", tlp, origin), e, Request{Object: Object{Type: "indicator", Origin: origin, TLP: tlp}, To: users[1]})
		}
	}
}

func TestDecideMalformed(t *testing.T) {
	e := tableEngine(t)
	o := own("indicator")
	o.TLP = stix.TLPGreen
	tests := []struct {
		name string
		r    Request
		want Rule
	}{
		{"unknown path", Request{Object: o, To: Recipient{Node: "cert-jp"}, Path: "email"}, RulePathUnknown},
		{"empty path", Request{Object: o, To: Recipient{Node: "cert-jp"}}, RulePathUnknown},
		{"TLP out of range", Request{Object: Object{Type: "indicator", Origin: self, TLP: 9}, To: Recipient{Node: "cert-jp"}, Path: PathPush}, RuleTLPInvalid},
		{"negative TLP", Request{Object: Object{Type: "indicator", Origin: self, TLP: -1}, To: Recipient{Node: self, User: "alice"}, Path: PathConsole}, RuleTLPInvalid},
		{"push to ourselves", Request{Object: o, To: Recipient{Node: self}, Path: PathPush}, RuleRecipientInvalid},
		{"peer on the console", Request{Object: o, To: Recipient{Node: "cert-de", User: "anna"}, Path: PathConsole}, RuleRecipientInvalid},
		{"export with no node", Request{Object: o, To: Recipient{User: "alice"}, Path: PathExport}, RuleRecipientInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := e.Decide(tc.r)
			if got.Allow || got.Rule != tc.want {
				t.Errorf("got %v, want deny %s", got, tc.want)
			}
		})
	}
}

// TestSenderNotMember: a node does not speak for a community it is not in,
// even for TLP:CLEAR, and does not count on it for a direct send either.
func TestSenderNotMember(t *testing.T) {
	e, err := New(Config{Self: self, Communities: []Community{
		{Name: "others", MaxTLP: stix.TLPRed, Members: []string{"cert-de", "cert-it"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	o := Object{Type: "indicator", Origin: self, TLP: stix.TLPClear, Distribution: Distribution{Communities: []string{"others"}}}
	if got := e.Decide(Request{Object: o, To: Recipient{Node: "cert-de"}, Path: PathPush, Community: "others"}); got.Allow || got.Rule != RuleSenderNotMember {
		t.Errorf("through others: %v", got)
	}
	o.TLP = stix.TLPGreen
	if got := e.Decide(Request{Object: o, To: Recipient{Node: "cert-de"}, Path: PathPush}); got.Allow || got.Rule != RuleGreenNotChosen {
		t.Errorf("direct to a member of others: %v", got)
	}
}

// TestDefaultTLP: a node may read unmarked objects as another level; the
// default never changes how marked objects are read.
func TestDefaultTLP(t *testing.T) {
	for _, tc := range []struct {
		def      stix.TLP
		unmarked Rule // own unmarked object → member of eu, direct
		amber    Rule
	}{
		{0, RuleAmberMember, RuleAmberMember},
		{stix.TLPClear, RuleClear, RuleAmberMember},
		{stix.TLPGreen, RuleGreenMember, RuleAmberMember},
		{stix.TLPAmberStrict, RuleAmberStrictMember, RuleAmberMember},
		{stix.TLPRed, RuleUnmarkedRed, RuleAmberMember},
	} {
		e, err := New(Config{Self: self, DefaultTLP: tc.def, Communities: []Community{
			{Name: "eu", MaxTLP: stix.TLPRed, Members: []string{"cert-fr", "cert-it"}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		o := own("indicator")
		r := Request{Object: o, To: Recipient{Node: "cert-it"}, Path: PathPush}
		if got := e.Decide(r); got.Rule != tc.unmarked || got.Allow != tc.unmarked.Allows() {
			t.Errorf("default %v, unmarked: %v, want %s", tc.def, got, tc.unmarked)
		} else if !strings.Contains(got.Reason, "unmarked") {
			t.Errorf("default %v: reason %q does not say the object is unmarked", tc.def, got.Reason)
		}
		r.Object.TLP = stix.TLPAmber
		if got := e.Decide(r); got.Rule != tc.amber {
			t.Errorf("default %v, AMBER: %v, want %s", tc.def, got, tc.amber)
		}
		if want := e.Level(o) == stix.TLPRed; e.Decide(Request{Object: o, To: Recipient{Node: self, User: "bob"}, Path: PathSearch}).Allow == want {
			t.Errorf("default %v: search by an unnamed user allowed=%v", tc.def, !want)
		}

		// Someone else's unmarked object is never passed on, whatever our
		// default: we cannot know the originator's.
		in := received("cert-ee", "cert-ee", "eu")
		if got, want := e.Level(in), max(e.Level(o), stix.TLPAmberStrict); got != want {
			t.Errorf("default %v: received unmarked object read as %v, want %v", tc.def, got, want)
		}
		if got := e.Decide(Request{Object: in, To: Recipient{Node: "cert-it"}, Path: PathRelay, Community: "eu"}); got.Allow {
			t.Errorf("default %v: received unmarked object relayed: %v", tc.def, got)
		}
	}
}

func TestNewRejects(t *testing.T) {
	ok := Community{Name: "eu", MaxTLP: stix.TLPRed, Members: []string{"a"}}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no self", Config{Communities: []Community{ok}}},
		{"bad default", Config{Self: "a", DefaultTLP: 6}},
		{"no name", Config{Self: "a", Communities: []Community{{MaxTLP: stix.TLPRed}}}},
		{"twice", Config{Self: "a", Communities: []Community{ok, ok}}},
		{"zero max", Config{Self: "a", Communities: []Community{{Name: "x", Members: []string{"a"}}}}},
		{"empty member", Config{Self: "a", Communities: []Community{{Name: "x", MaxTLP: stix.TLPRed, Members: []string{""}}}}},
		{"member twice", Config{Self: "a", Communities: []Community{{Name: "x", MaxTLP: stix.TLPRed, Members: []string{"b", "b"}}}}},
		{"type twice", Config{Self: "a", Communities: []Community{{Name: "x", MaxTLP: stix.TLPRed, Types: []string{"indicator", "indicator"}}}}},
	}
	for _, tc := range tests {
		if _, err := New(tc.cfg); err == nil {
			t.Errorf("%s: New accepted %+v", tc.name, tc.cfg)
		}
	}
}

// TestEngineOwnsItsConfig: changing the caller's slices after New changes
// nothing, and Community hands out copies.
func TestEngineOwnsItsConfig(t *testing.T) {
	members := []string{"cert-fr", "cert-de"}
	e, err := New(Config{Self: self, Communities: []Community{{Name: "eu", MaxTLP: stix.TLPRed, Members: members}}})
	if err != nil {
		t.Fatal(err)
	}
	members[1] = "cert-us"
	c, _ := e.Community("eu")
	c.Members[0] = "cert-us"
	o := Object{Type: "indicator", Origin: self, TLP: stix.TLPGreen, Distribution: Distribution{Communities: []string{"eu"}}}
	if got := e.Decide(Request{Object: o, To: Recipient{Node: "cert-us"}, Path: PathPush, Community: "eu"}); got.Allow {
		t.Errorf("cert-us got in: %v", got)
	}
	if got := e.Decide(Request{Object: o, To: Recipient{Node: "cert-de"}, Path: PathPush, Community: "eu"}); !got.Allow {
		t.Errorf("cert-de was dropped: %v", got)
	}
}

// TestDocTableListsEveryRule keeps the rule table of doc.go complete: every
// code appears in it, with its verdict.
func TestDocTableListsEveryRule(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules {
		code := string(r)
		for _, x := range []string{"tlp-green-", "tlp-amber-strict-", "tlp-amber-"} {
			if rest, ok := strings.CutPrefix(code, x); ok && slices.Contains([]string{"community", "named-node", "distribution-member", "not-in-distribution"}, rest) {
				code = "tlp-X-" + rest
				break
			}
		}
		verdict := "deny"
		if r.Allows() {
			verdict = "allow"
		}
		if !bytes.Contains(doc, []byte(verdict+"     "+code+"\n")) && !bytes.Contains(doc, []byte(verdict+"    "+code+"\n")) {
			t.Errorf("doc.go's rule table has no line ending %q", verdict+" "+code)
		}
	}
}

func TestRulesHaveOneVerdict(t *testing.T) {
	seen := map[Rule]bool{}
	for _, r := range Rules {
		if seen[r] {
			t.Errorf("rule %s listed twice", r)
		}
		seen[r] = true
	}
	for r := range allowing {
		if !seen[r] {
			t.Errorf("allowing rule %s missing from Rules", r)
		}
	}
}

func TestRecipients(t *testing.T) {
	e := tableEngine(t)
	type target struct {
		node, community string
		rule            Rule
	}
	flatten := func(ts []Target) []target {
		var out []target
		for _, t := range ts {
			out = append(out, target{t.Node, t.Community, t.Decision.Rule})
		}
		return out
	}
	withTLP := func(o Object, l stix.TLP) Object { o.TLP = l; return o }
	tests := []struct {
		name            string
		o               Object
		d               Distribution
		allowed, denied []target
	}{
		{
			name: "own GREEN to eu and cert-jp: community routes first, cert-de once",
			o:    withTLP(own("indicator"), stix.TLPGreen),
			d:    Distribution{Communities: []string{"eu"}, Nodes: []string{"cert-jp", "cert-de", "cert-fr"}},
			allowed: []target{
				{"cert-de", "eu", RuleGreenCommunity}, {"cert-ee", "eu", RuleGreenCommunity},
				{"cert-it", "eu", RuleGreenCommunity}, {"cert-jp", "", RuleGreenNamedNode},
			},
		},
		{
			name: "own AMBER to paris: refused by its max TLP, named nodes still reached",
			o:    withTLP(own("indicator"), stix.TLPAmber),
			d:    Distribution{Communities: []string{"paris"}, Nodes: []string{"cert-jp"}},
			allowed: []target{
				{"cert-jp", "", RuleAmberNamedNode},
			},
			denied: []target{
				{"cert-de", "paris", RuleCommunityMaxTLP}, {"cert-us", "paris", RuleCommunityMaxTLP},
			},
		},
		{
			name: "own RED: only nodes with a named recipient",
			o:    withTLP(own("indicator"), stix.TLPRed),
			d:    Distribution{Communities: []string{"eu", "nato"}, Nodes: []string{"cert-jp", "cert-us"}},
			allowed: []target{
				{"cert-de", "eu", RuleRedNamedNode}, {"cert-jp", "", RuleRedNamedNode},
			},
			denied: []target{
				{"cert-ee", "eu", RuleRedNotNamed}, {"cert-it", "eu", RuleRedNotNamed},
				{"", "nato", RuleCommunityUnknown}, {"cert-us", "", RuleRedNotNamed},
			},
		},
		{
			name: "received GREEN via eu, relayed to eu and paris",
			o:    withTLP(received("cert-ee", "cert-ee", "eu"), stix.TLPGreen),
			d:    Distribution{Communities: []string{"paris", "eu"}},
			allowed: []target{
				{"cert-de", "eu", RuleGreenWithinCommunity}, {"cert-ee", "eu", RuleReturnToOrigin}, {"cert-it", "eu", RuleGreenWithinCommunity},
			},
			denied: []target{
				{"cert-jp", "paris", RuleGreenOutsideCommunity}, {"cert-us", "paris", RuleGreenOutsideCommunity},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			allowed, denied := e.Recipients(tc.o, tc.d)
			if got := flatten(allowed); !slices.Equal(got, tc.allowed) {
				t.Errorf("allowed:\n got %v\nwant %v", got, tc.allowed)
			}
			if got := flatten(denied); !slices.Equal(got, tc.denied) {
				t.Errorf("denied:\n got %v\nwant %v", got, tc.denied)
			}
			for _, a := range allowed {
				if !a.Decision.Allow {
					t.Errorf("allowed target %s carries %v", a.Node, a.Decision)
				}
			}
		})
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got %s\nwant %s\n(run go test -update if the change is intended)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: %d lines, want %d (run go test -update if the change is intended)", path, len(gl), len(wl))
	}
}
