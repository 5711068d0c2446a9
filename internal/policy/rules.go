package policy

import "github.com/entraide/entraide/internal/stix"

// Rule is the stable machine code of a decision: audit records, metrics and
// tests key on it, so a code is never renamed or reused. Each code always
// comes with the same verdict (see Allows).
type Rule string

// Malformed requests: refused whatever the object.
const (
	RulePathUnknown            Rule = "path-unknown"             // deny: not one of Paths
	RuleTLPInvalid             Rule = "tlp-invalid"              // deny: Object.TLP is neither 0 nor a level
	RuleRecipientInvalid       Rule = "recipient-invalid"        // deny: no node, a send to ourselves, a peer on a local path, no local user
	RuleCommunityNotApplicable Rule = "community-not-applicable" // deny: a community named on export or a local path
)

// A community's bounds, checked on every send made for a community.
const (
	RuleCommunityUnknown   Rule = "community-unknown"             // deny
	RuleSenderNotMember    Rule = "sender-not-member"             // deny: this node is not in the community
	RuleRecipientNotMember Rule = "recipient-not-member"          // deny
	RuleCommunityMaxTLP    Rule = "community-max-tlp"             // deny: the object is stricter than the community's max TLP
	RuleCommunityType      Rule = "community-type"                // deny: the community does not carry the object's type
	RuleCommunityNotChosen Rule = "community-not-in-distribution" // deny: own object above CLEAR, community not in its distribution
)

// Remote paths (push, pull, relay).
const (
	RuleReturnToOrigin Rule = "return-to-origin" // allow: the origin created the object
	RuleClear          Rule = "tlp-clear"        // allow

	RuleGreenNamedNode        Rule = "tlp-green-named-node"          // allow: own, recipient named in the distribution
	RuleGreenMember           Rule = "tlp-green-distribution-member" // allow: own, direct send to a member of a chosen community
	RuleGreenCommunity        Rule = "tlp-green-community"           // allow: own, sent through a chosen community
	RuleGreenNotChosen        Rule = "tlp-green-not-in-distribution" // deny
	RuleGreenWithinCommunity  Rule = "tlp-green-within-community"    // allow: received via C, passed on through C
	RuleGreenOutsideCommunity Rule = "tlp-green-outside-community"   // deny: received via C, sent elsewhere
	RuleGreenReceivedDirect   Rule = "tlp-green-received-direct"     // deny: received outside any community

	RuleAmberNamedNode Rule = "tlp-amber-named-node"
	RuleAmberMember    Rule = "tlp-amber-distribution-member"
	RuleAmberCommunity Rule = "tlp-amber-community"
	RuleAmberNotChosen Rule = "tlp-amber-not-in-distribution"
	RuleAmberNoForward Rule = "tlp-amber-no-forward"

	RuleAmberStrictNamedNode Rule = "tlp-amber-strict-named-node"
	RuleAmberStrictMember    Rule = "tlp-amber-strict-distribution-member"
	RuleAmberStrictCommunity Rule = "tlp-amber-strict-community"
	RuleAmberStrictNotChosen Rule = "tlp-amber-strict-not-in-distribution"
	RuleAmberStrictNoForward Rule = "tlp-amber-strict-no-forward"

	RuleRedNamedNode Rule = "tlp-red-named-node" // allow: own, the node has a named recipient
	RuleRedNotNamed  Rule = "tlp-red-not-named"  // deny
	RuleRedNoForward Rule = "tlp-red-no-forward" // deny
	RuleUnmarkedRed  Rule = "unmarked-red"       // deny: own unmarked object read as RED by default
)

// Export and the local paths.
const (
	RuleExport         Rule = "export"               // allow: everything but RED
	RuleRedNoExport    Rule = "tlp-red-no-export"    // deny
	RuleLocalRead      Rule = "local-read"           // allow: everything but RED
	RuleRedNamedUser   Rule = "tlp-red-named-user"   // allow
	RuleRedUnnamedUser Rule = "tlp-red-unnamed-user" // deny
)

// Rules lists every code, in the order of the rule table in the package
// documentation.
var Rules = []Rule{
	RulePathUnknown, RuleTLPInvalid, RuleRecipientInvalid, RuleCommunityNotApplicable,
	RuleRedNoExport, RuleExport, RuleLocalRead, RuleRedNamedUser, RuleRedUnnamedUser,
	RuleCommunityUnknown, RuleSenderNotMember, RuleRecipientNotMember, RuleCommunityMaxTLP, RuleCommunityType,
	RuleReturnToOrigin, RuleClear, RuleCommunityNotChosen,
	RuleUnmarkedRed, RuleRedNamedNode, RuleRedNotNamed,
	RuleGreenCommunity, RuleGreenNamedNode, RuleGreenMember, RuleGreenNotChosen,
	RuleAmberCommunity, RuleAmberNamedNode, RuleAmberMember, RuleAmberNotChosen,
	RuleAmberStrictCommunity, RuleAmberStrictNamedNode, RuleAmberStrictMember, RuleAmberStrictNotChosen,
	RuleGreenReceivedDirect, RuleGreenOutsideCommunity, RuleGreenWithinCommunity,
	RuleAmberNoForward, RuleAmberStrictNoForward, RuleRedNoForward,
}

var allowing = map[Rule]bool{
	RuleReturnToOrigin: true, RuleClear: true,
	RuleGreenNamedNode: true, RuleGreenMember: true, RuleGreenCommunity: true, RuleGreenWithinCommunity: true,
	RuleAmberNamedNode: true, RuleAmberMember: true, RuleAmberCommunity: true,
	RuleAmberStrictNamedNode: true, RuleAmberStrictMember: true, RuleAmberStrictCommunity: true,
	RuleRedNamedNode: true, RuleExport: true, RuleLocalRead: true, RuleRedNamedUser: true,
}

// Allows reports the verdict that always comes with r.
func (r Rule) Allows() bool { return allowing[r] }

// ownRules are the codes for this node's own objects, by level, for the
// levels that share one shape of rule (GREEN, AMBER, AMBER+STRICT).
var ownRules = [stix.TLPRed + 1]struct{ community, named, member, notChosen Rule }{
	stix.TLPGreen:       {RuleGreenCommunity, RuleGreenNamedNode, RuleGreenMember, RuleGreenNotChosen},
	stix.TLPAmber:       {RuleAmberCommunity, RuleAmberNamedNode, RuleAmberMember, RuleAmberNotChosen},
	stix.TLPAmberStrict: {RuleAmberStrictCommunity, RuleAmberStrictNamedNode, RuleAmberStrictMember, RuleAmberStrictNotChosen},
}
