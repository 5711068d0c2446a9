// Package policy is the one decision that guards every way out of a node:
// may this object go to this recipient by this path? The delivery workers
// ask it before each push and relay, the federation API before each object a
// peer pulls, the export command before each object it writes, and the user
// API, search and the web console before each object they show. It answers
// allow or deny with a stable rule code and a sentence for the audit log.
//
// The package is pure: no I/O, no clock, no randomness. The store says what
// it knows of an object (Object: level, provenance, the originator's choice
// of recipients); the caller says who asks and how (Request); an Engine,
// built from this node's id and its communities, decides. Because there is
// one function, a rule that limits sharing cannot be bypassed by taking
// another path: push, pull and relay are one decision, and export and the
// local paths only ever serve this node's own users.
//
// # TLP 2.0, as FIRST defines it
//
// CLEAR may go anywhere. GREEN stays in the community it was shared to: a
// recipient passes it on within that community only. AMBER goes to the
// recipient organisation (and its constituents) and AMBER+STRICT to the
// organisation only; neither is forwarded by a recipient node. RED is for
// named people at named nodes: sent only by its originator, only to the
// nodes of its named recipients, never exported in bulk, shown only to the
// named users, every access audited (Decision.Audit), stored encrypted
// (Level tells the store). TLP 1.0 markings are read as their 2.0 successors
// by stix.TLPOf before they reach the engine.
//
// # The rules
//
// Decide applies the first rule that matches, in this order. "Own" objects
// are those whose Origin is this node; every other object is "received"
// (an object of unknown origin included).
//
//	 #  applies to                          condition                                      verdict  rule
//	 1  any request                         path not one of Paths                          deny     path-unknown
//	 2  any request                         Object.TLP neither 0 nor a level               deny     tlp-invalid
//	    export, search, api, console:
//	 3                                      To.Node is not this node, or To.User is ""     deny     recipient-invalid
//	 4                                      a Community is named                           deny     community-not-applicable
//	 5  export                              RED                                            deny     tlp-red-no-export
//	 6  export                              anything else                                  allow    export
//	 7  search, api, console                not RED                                        allow    local-read
//	 8  search, api, console                RED, (this node, To.User) in RedRecipients    allow    tlp-red-named-user
//	 9  search, api, console                RED, anyone else                               deny     tlp-red-unnamed-user
//	    push, pull, relay (one decision; the label does not matter):
//	10                                      To.Node is "" or this node                     deny     recipient-invalid
//	11  a send for community C              C not configured here                          deny     community-unknown
//	12                                      this node not a member of C                    deny     sender-not-member
//	13                                      To.Node not a member of C                      deny     recipient-not-member
//	14                                      level above C's max TLP                        deny     community-max-tlp
//	15                                      type not among C's types (if C lists any)      deny     community-type
//	16  received                            To.Node is the object's Origin                 allow    return-to-origin
//	17  any                                 CLEAR                                          allow    tlp-clear
//	18  own, above CLEAR, for C             C not in the distribution's communities        deny     community-not-in-distribution
//	19  own RED                             unmarked (read as RED by default)              deny     unmarked-red
//	20  own RED                             To.Node has a person in RedRecipients          allow    tlp-red-named-node
//	21  own RED                             otherwise                                      deny     tlp-red-not-named
//	22  own GREEN/AMBER/AMBER+STRICT, for C (C is in the distribution, rule 18)            allow    tlp-X-community
//	23  … direct send                       To.Node named in the distribution              allow    tlp-X-named-node
//	24  … direct send                       To.Node a member of a distribution community   allow    tlp-X-distribution-member
//	                                        that this node is in and that carries the
//	                                        object's level and type
//	25  … otherwise                                                                        deny     tlp-X-not-in-distribution
//	26  received GREEN                      received directly (ReceivedVia "")             deny     tlp-green-received-direct
//	27  received GREEN                      sent other than for community ReceivedVia      deny     tlp-green-outside-community
//	28  received GREEN                      sent for community ReceivedVia                 allow    tlp-green-within-community
//	29  received AMBER                                                                     deny     tlp-amber-no-forward
//	30  received AMBER+STRICT                                                              deny     tlp-amber-strict-no-forward
//	31  received RED                                                                       deny     tlp-red-no-forward
//
// where tlp-X is tlp-green, tlp-amber or tlp-amber-strict. A rule code
// always comes with the same verdict (Rule.Allows).
//
// # Choices where the issue left room
//
//   - Unmarked objects. An object of ours with no TLP marking is read as the
//     node's configured default, TLP:AMBER unless configured otherwise: the
//     conservative reading, nothing goes beyond the recipients the
//     originator named. Someone else's unmarked object is read as the
//     default but never below AMBER+STRICT, since we cannot know the
//     originator's default; AMBER+STRICT is the strictest it can have been,
//     because a node whose default is RED may not send unmarked objects at
//     all (rule 19: its recipients would not know to treat them as RED).
//     Nodes should mark objects at creation, before signing; this is the
//     safety net. A marking-definition that is not TLP does not count.
//   - Path labels. Push, pull and relay are one decision: the engine reads
//     provenance from Object.Origin, not from the label, so a delivery worker
//     that calls a re-share a push, or a peer that pulls instead of waiting
//     for a push, obtains nothing more. Object.Origin must come from the
//     verified signature.
//   - Community bounds come first. A community's max TLP and type list hold
//     for every send made in its name, whoever made it and for whatever
//     object, return-to-origin and CLEAR included: they describe the channel
//     (what its members agreed it carries), not the object. A direct send to
//     a member counts as a send for the community when membership is what
//     allows it (rule 24), so the bounds cannot be sidestepped by sending
//     directly.
//   - A send through a community is for objects the originator shared to that
//     community (rule 18, CLEAR excepted), and a received GREEN object is
//     passed on only by a send made for the community it came through (rules
//     26-28), never directly, even to a member of that community: the
//     recipient records the community it came through, and that record is
//     what lets it pass the object on in turn. GREEN sent to a node by name
//     (or directly to a member) is therefore not passed on: there is no
//     community to pass it on within. Recipients prefers community routes
//     for that reason.
//   - Return to origin. Sending an object back to the node that created it
//     discloses nothing it does not hold, so rule 16 allows it after the
//     community bounds, at any level. It is an answer to "may", not a reason
//     to send: the outbox does not need to echo.
//   - Export (bulk) is an act of the exporting organisation, for itself:
//     everything but RED may be exported, AMBER+STRICT and received objects
//     included, since the organisation is the recipient those levels name.
//     The exported objects keep their markings; what the organisation does
//     with the file is then governed by TLP itself, not by the node.
//   - RED on the wire. A node, not a person, receives a push: a RED object
//     goes to every node where one of its named people sits, and the
//     receiving node shows it to those people only (rules 8-9).
//     RedRecipients travel with the object; the originator's own users must
//     be named too, or they will not see it either.
//   - Malformed requests are refused, never guessed at: an unknown path, a
//     TLP value that is not a level, a peer on a local path, a local path
//     without a user, a send to ourselves, a community named on a local path.
//   - Membership is read from this node's view of its communities. The
//     guarantee that no chain of re-shares escapes a community assumes the
//     nodes agree on who is in it; keeping their views equal (signed
//     community definitions) is the job of the community layer.
package policy
