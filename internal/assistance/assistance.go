// Package assistance is the mutual assistance workflow: the cybersecurity
// reserve of the Cyber Solidarity Act and CERT-to-CERT aid. A node that
// handles an incident it cannot cope with alone asks partners for help: the
// request names the incident, the capabilities it needs (from the catalogue
// of internal/vocab: incident response team, digital forensics, malware
// analysis, …), how urgent it is, the common severity, how critical the
// affected entity is under NIS2, and what has already been done to contain
// the incident — a partner lends people only to a requester that has done
// its part, so the mitigation is required. Each recipient answers by a
// deadline: one offer per capability it can lend (team size, availability)
// or a "no-offer" when it cannot help. The requester accepts or declines
// each offer; an offerer may withdraw its offer; the requester closes the
// request with a short report.
//
// Every answer goes to every party the answering node is peered with, not
// only to the requester, so that partners see what is already covered and
// do not offer it twice; the requester's decisions carry the offer they
// decide on (offerer, capability, team size), so a party that never saw an
// offer still sees what was accepted.
//
// Concurrent requests are handled in one order (Order): open requests
// first, by common severity (highest first), then the affected entity's
// criticality (essential, important, other), then urgency (immediate, 24h,
// 72h, planned), then age (the longest waiting first).
//
// Each node declares the capabilities it can lend in DIR/capabilities.json
// (LoadCapabilities, SaveCapabilities).
//
// Objects: the case is an x-entraide-assistance-request (declared by
// Extension); its steps are x-entraide-step with transition offer,
// no-offer, withdraw (by a recipient), accept, decline, close (by the
// requester). The step properties are described in assistance-v1.json.
package assistance

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/vocab"
	"github.com/entraide/entraide/internal/workflow"
)

// Type is the STIX type of an assistance request.
const Type = "x-entraide-assistance-request"

// KindName is the workflow's name (and its CLI command).
const KindName = "assist"

// The actions of the workflow.
const (
	ActionOffer    = "offer"    // a recipient offers a team for one capability
	ActionNoOffer  = "no-offer" // a recipient says it cannot help
	ActionWithdraw = "withdraw" // the offerer withdraws one of its offers
	ActionAccept   = "accept"   // the requester accepts an offer
	ActionDecline  = "decline"  // the requester declines an offer, with a reason
	ActionClose    = "close"    // the requester closes the request with a report
)

// Limits on what a person types.
const (
	MaxTitle       = 300
	MaxDescription = 20000
	MaxMitigation  = 10000
	MaxNote        = 5000
	MaxReport      = 20000
	MaxTeamSize    = 500
)

// Urgency is how soon help must be on the job. It sets the default answer
// deadline and how long the requester should take to decide on an offer
// (a partner keeps a team on hold meanwhile).
type Urgency struct {
	ID           string
	Label        string
	Description  string
	RespondIn    time.Duration // default respond_by, from the request
	DecideWithin time.Duration // the requester's decision deadline, from each offer
}

// Urgencies, most urgent first (the order of Order).
var Urgencies = []Urgency{
	{"immediate", "Immediate", "help is needed now: an ongoing incident is disrupting services", 2 * time.Hour, time.Hour},
	{"24h", "Within 24 hours", "help must start within 24 hours", 8 * time.Hour, 4 * time.Hour},
	{"72h", "Within 72 hours", "help must start within 72 hours", 24 * time.Hour, 12 * time.Hour},
	{"planned", "Planned", "scheduled support: recovery, post-incident hunting, a review", 72 * time.Hour, 48 * time.Hour},
}

// Criticality is how critical the affected entity is, in the terms of the
// NIS2 directive (2022/2555, Article 3).
type Criticality struct {
	ID          string
	Label       string
	Description string
}

// Criticalities, most critical first (the order of Order).
var Criticalities = []Criticality{
	{"essential", "Essential entity", "an essential entity under NIS2 Art. 3(1): a large entity of an Annex I sector, a qualified trust service provider, a TLD registry or DNS provider, a central government body, or an entity the state designates as essential"},
	{"important", "Important entity", "an important entity under NIS2 Art. 3(2): another entity of an Annex I or Annex II sector within the directive's scope"},
	{"other", "Other", "outside NIS2's scope: a smaller company, a local body, an association, citizens"},
}

// UrgencyByID returns an urgency and its rank (0 most urgent).
func UrgencyByID(id string) (Urgency, int, bool) {
	for i, u := range Urgencies {
		if u.ID == id {
			return u, i, true
		}
	}
	return Urgency{}, len(Urgencies), false
}

// CriticalityByID returns a criticality and its rank (0 most critical).
func CriticalityByID(id string) (Criticality, int, bool) {
	for i, c := range Criticalities {
		if c.ID == id {
			return c, i, true
		}
	}
	return Criticality{}, len(Criticalities), false
}

func urgencyIDs() string {
	var ids []string
	for _, u := range Urgencies {
		ids = append(ids, u.ID)
	}
	return strings.Join(ids, ", ")
}

func criticalityIDs() string {
	var ids []string
	for _, c := range Criticalities {
		ids = append(ids, c.ID)
	}
	return strings.Join(ids, ", ")
}

//go:embed assistance-v1.json
var schema []byte

// SchemaURL is where the schema of the request and its steps is published.
const SchemaURL = "https://entraide.example/schemas/assistance-v1.json"

// Extension declares x-entraide-assistance-request.
var Extension = workflow.Extension{
	ID:   workflow.ExtensionID(SchemaURL),
	Name: "entraide-assistance-request",
	Description: "A mutual assistance request between national CSIRTs (cybersecurity reserve, CERT-to-CERT aid): " +
		"the incident, the capabilities needed, urgency, common severity, the affected entity's NIS2 criticality, " +
		"the mitigation already taken, the answer deadline; offers, decisions and closure are x-entraide-step objects.",
	SchemaURL: SchemaURL,
	Version:   "1.0",
	Type:      "new-sdo",
	Schema:    schema,
}

// Kind is the mutual assistance workflow.
var Kind = &workflow.Kind{
	Name:      KindName,
	CaseType:  Type,
	Extension: Extension,
	Actions:   []string{ActionOffer, ActionNoOffer, ActionWithdraw, ActionAccept, ActionDecline, ActionClose},
	Open:      open,
	Act:       act,
	Allowed:   allowed,
	Fold:      fold,
	// 1: a partner that answered "no offer" says so in its status.
	FoldVersion: 1,
}

// Input is what opening a request takes (besides to, communities, tlp).
type Input struct {
	Title            string   `json:"title,omitempty"` // default: the capabilities asked for
	Description      string   `json:"description,omitempty"`
	IncidentRef      string   `json:"incident_ref"`                // the incident's STIX id (incident--…)
	Capabilities     []string `json:"capabilities"`                // catalogue ids (vocab.Capabilities)
	Urgency          string   `json:"urgency"`                     // immediate, 24h, 72h, planned
	Severity         string   `json:"severity,omitempty"`          // common level 0–5 or its name
	NationalSeverity string   `json:"national_severity,omitempty"` // a level of the node's national scale
	Criticality      string   `json:"entity_criticality"`          // essential, important, other
	Mitigation       string   `json:"mitigation"`                  // what was already done (required)
	RespondBy        string   `json:"respond_by,omitempty"`        // duration or RFC 3339; default from urgency
	Sectors          []string `json:"sectors,omitempty"`
	Countries        []string `json:"countries,omitempty"`
}

// Capabilities checks capability ids against the catalogue, without
// duplicates; an unknown one is an ErrInput error that suggests the
// nearest id.
func Capabilities(ids []string) ([]string, error) {
	out := []string{}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if _, ok := vocab.Capability(id); !ok {
			return nil, fmt.Errorf("%w: %w", workflow.ErrInput, vocab.UnknownCapability(id))
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func capabilityLabel(id string) string {
	if t, ok := vocab.Capability(id); ok {
		return t.Label
	}
	return id
}

func open(env *workflow.Env, in json.RawMessage) (workflow.Draft, error) {
	var i Input
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	if strings.TrimSpace(i.IncidentRef) == "" {
		return workflow.Draft{}, workflow.Inputf("incident_ref is required: the STIX id of the incident the help is for (incident--…)")
	}
	refs, err := workflow.Refs([]string{i.IncidentRef}, "incident")
	if err != nil {
		return workflow.Draft{}, err
	}
	if len(i.Capabilities) == 0 {
		return workflow.Draft{}, workflow.Inputf("capabilities: name at least one capability needed (see 'entraide assist capabilities' for the catalogue)")
	}
	caps, err := Capabilities(i.Capabilities)
	if err != nil {
		return workflow.Draft{}, err
	}
	if i.Urgency == "" {
		return workflow.Draft{}, workflow.Inputf("urgency is required: %s", urgencyIDs())
	}
	u, _, ok := UrgencyByID(i.Urgency)
	if !ok {
		return workflow.Draft{}, workflow.Inputf("urgency %q: want %s", i.Urgency, urgencyIDs())
	}
	if i.Criticality == "" {
		return workflow.Draft{}, workflow.Inputf("entity_criticality is required: %s (the affected entity under NIS2)", criticalityIDs())
	}
	if _, _, ok := CriticalityByID(i.Criticality); !ok {
		return workflow.Draft{}, workflow.Inputf("entity_criticality %q: want %s (the affected entity under NIS2)", i.Criticality, criticalityIDs())
	}
	if strings.TrimSpace(i.Mitigation) == "" {
		return workflow.Draft{}, workflow.Inputf("mitigation is required: say what has already been done to contain the incident (isolation, blocking, resets, backups…) before asking partners for help")
	}
	mitigation, err := workflow.Text("mitigation", i.Mitigation, true, MaxMitigation)
	if err != nil {
		return workflow.Draft{}, err
	}
	props, _, err := env.Severity(i.Severity, i.NationalSeverity, true)
	if err != nil {
		return workflow.Draft{}, err
	}
	title, err := workflow.Text("title", i.Title, false, MaxTitle)
	if err != nil {
		return workflow.Draft{}, err
	}
	if title == "" {
		var labels []string
		for _, c := range caps {
			labels = append(labels, capabilityLabel(c))
		}
		title = "Assistance requested: " + strings.Join(labels, ", ")
		if r := []rune(title); len(r) > MaxTitle {
			title = string(r[:MaxTitle-1]) + "…"
		}
	}
	desc, err := workflow.Text("description", i.Description, false, MaxDescription)
	if err != nil {
		return workflow.Draft{}, err
	}
	respondBy, err := env.Deadline("respond_by", i.RespondBy, u.RespondIn)
	if err != nil {
		return workflow.Draft{}, err
	}
	sectors, err := workflow.Sectors(i.Sectors)
	if err != nil {
		return workflow.Draft{}, err
	}
	countries, err := workflow.Countries(i.Countries)
	if err != nil {
		return workflow.Draft{}, err
	}
	props["name"] = title
	if desc != "" {
		props["description"] = desc
	}
	props["incident_ref"] = refs[0]
	props["capabilities"] = caps
	props["urgency"] = u.ID
	props["entity_criticality"] = i.Criticality
	props["mitigation"] = mitigation
	props["respond_by"] = workflow.Timestamp(respondBy)
	// STIX lists are never empty: an absent list means none.
	if len(sectors) > 0 {
		props["sectors"] = sectors
	}
	if len(countries) > 0 {
		props["countries"] = countries
	}
	return workflow.Draft{Props: props}, nil
}

// OfferInput is what an offer takes.
type OfferInput struct {
	Capability     string `json:"capability"`                // one of the capabilities requested
	TeamSize       int    `json:"team_size"`                 // people lent, 1–500
	AvailableFrom  string `json:"available_from,omitempty"`  // "now" (default), a duration from now, or RFC 3339
	AvailableUntil string `json:"available_until,omitempty"` // a duration from now or RFC 3339; optional
	Note           string `json:"note,omitempty"`
}

// NoOfferInput is what saying "we cannot help" takes.
type NoOfferInput struct {
	Reason string `json:"reason,omitempty"`
}

// WithdrawInput is what withdrawing an offer takes.
type WithdrawInput struct {
	OfferRef string `json:"offer_ref"` // the offer's step id
	Reason   string `json:"reason,omitempty"`
}

// AcceptInput is what accepting an offer takes.
type AcceptInput struct {
	OfferRef string `json:"offer_ref"`
	Note     string `json:"note,omitempty"`
}

// DeclineInput is what declining an offer takes: the reason is required
// (the partner held a team for this).
type DeclineInput struct {
	OfferRef string `json:"offer_ref"`
	Reason   string `json:"reason"`
}

// CloseInput is what closing a request takes.
type CloseInput struct {
	Report string `json:"report"`
}

func act(env *workflow.Env, c *workflow.Case, st *workflow.State, action string, in json.RawMessage) (workflow.Draft, error) {
	var v *View
	switch x := st.View.(type) {
	case View:
		v = &x
	case *View:
		v = x
	default:
		return workflow.Draft{}, fmt.Errorf("assistance: the state of %s has no assistance view", c.ID)
	}
	if !st.Open {
		return workflow.Draft{}, workflow.Inputf("the request is closed (%s): nothing more can be done on it", stamp(v.ClosedAt))
	}
	switch action {
	case ActionOffer:
		return actOffer(env, c, v, in)
	case ActionNoOffer:
		return actNoOffer(env, c, v, in)
	case ActionWithdraw:
		return actWithdraw(env, c, v, in)
	case ActionAccept, ActionDecline:
		return actDecide(env, v, action, in)
	case ActionClose:
		var i CloseInput
		if err := workflow.DecodeStrict(in, &i); err != nil {
			return workflow.Draft{}, err
		}
		if strings.TrimSpace(i.Report) == "" {
			return workflow.Draft{}, workflow.Inputf("report is required: a short account of the help received and the outcome, for the partners and the record")
		}
		report, err := workflow.Text("report", i.Report, true, MaxReport)
		if err != nil {
			return workflow.Draft{}, err
		}
		return workflow.Draft{Props: map[string]any{"report": report}}, nil
	}
	return workflow.Draft{}, workflow.Inputf("%q is not an action of the assistance workflow", action)
}

// otherParties are the nodes an answer also goes to: every recipient of
// the request but this node, among those it is peered with.
func otherParties(env *workflow.Env, c *workflow.Case) []string {
	var out []string
	for _, r := range c.Recipients {
		if r != env.Self && r != c.Origin && (env.Known == nil || env.Known(r)) {
			out = append(out, r)
		}
	}
	return out
}

func actOffer(env *workflow.Env, c *workflow.Case, v *View, in json.RawMessage) (workflow.Draft, error) {
	var i OfferInput
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	if i.Capability == "" {
		return workflow.Draft{}, workflow.Inputf("capability is required: one of those requested (%s)", strings.Join(requested(v), ", "))
	}
	capID := strings.TrimSpace(i.Capability)
	if _, err := Capabilities([]string{capID}); err != nil {
		return workflow.Draft{}, err
	}
	if !slices.Contains(requested(v), capID) {
		return workflow.Draft{}, workflow.Inputf("capability %s was not requested: the request asks for %s (say more in a note)", capID, strings.Join(requested(v), ", "))
	}
	for _, o := range v.Offers {
		if o.Node == env.Self && o.Capability == capID && (o.Status == StatusPending || o.Status == StatusAccepted) {
			return workflow.Draft{}, workflow.Inputf("this node already has a %s offer of %s (%s): withdraw it first to change it", o.Status, capID, o.ID)
		}
	}
	if i.TeamSize < 1 || i.TeamSize > MaxTeamSize {
		if i.TeamSize == 0 {
			return workflow.Draft{}, workflow.Inputf("team_size is required: how many people you lend (1–%d)", MaxTeamSize)
		}
		return workflow.Draft{}, workflow.Inputf("team_size %d: want 1 to %d people", i.TeamSize, MaxTeamSize)
	}
	from, err := availability(env, "available_from", i.AvailableFrom, true)
	if err != nil {
		return workflow.Draft{}, err
	}
	props := map[string]any{"capability": capID, "team_size": i.TeamSize, "available_from": workflow.Timestamp(from)}
	if i.AvailableUntil != "" {
		until, err := availability(env, "available_until", i.AvailableUntil, false)
		if err != nil {
			return workflow.Draft{}, err
		}
		if !until.After(from) {
			return workflow.Draft{}, workflow.Inputf("available_until (%s) must be after available_from (%s)", until.Format(time.RFC3339), from.Format(time.RFC3339))
		}
		props["available_until"] = workflow.Timestamp(until)
	}
	note, err := workflow.Text("note", i.Note, false, MaxNote)
	if err != nil {
		return workflow.Draft{}, err
	}
	if note != "" {
		props["note"] = note
	}
	return workflow.Draft{Props: props, Recipients: otherParties(env, c)}, nil
}

// availability reads an instant of an offer: "now" (or empty, when
// allowed), a duration from now, or an RFC 3339 time not in the past.
func availability(env *workflow.Env, field, s string, emptyIsNow bool) (time.Time, error) {
	now := env.Now.UTC()
	if s == "now" || s == "" && emptyIsNow {
		return now, nil
	}
	if d, err := workflow.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, workflow.Inputf("%s: %q is in the past", field, s)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, workflow.Inputf("%s: %q is neither now, a duration (4h, 2d) nor an RFC 3339 time", field, s)
	}
	if t.Before(now.Add(-time.Minute)) {
		return time.Time{}, workflow.Inputf("%s: %s is in the past (now is %s)", field, t.UTC().Format(time.RFC3339), now.Format(time.RFC3339))
	}
	if t.Before(now) {
		t = now
	}
	return t.UTC(), nil
}

func actNoOffer(env *workflow.Env, c *workflow.Case, v *View, in json.RawMessage) (workflow.Draft, error) {
	var i NoOfferInput
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	reason, err := workflow.Text("reason", i.Reason, false, MaxNote)
	if err != nil {
		return workflow.Draft{}, err
	}
	var active []string
	for _, o := range v.Offers {
		if o.Node == env.Self && (o.Status == StatusPending || o.Status == StatusAccepted) {
			active = append(active, o.ID)
		}
	}
	if len(active) > 0 {
		return workflow.Draft{}, workflow.Inputf("this node has offers in force (%s): withdraw them instead of answering no-offer", strings.Join(active, ", "))
	}
	if r := v.recipient(env.Self); r != nil && r.Answer == AnswerNoOffer {
		return workflow.Draft{}, workflow.Inputf("this node already answered no-offer (%s)", stamp(r.LastAt))
	}
	props := map[string]any{}
	if reason != "" {
		props["reason"] = reason
	}
	return workflow.Draft{Props: props, Recipients: otherParties(env, c)}, nil
}

func actWithdraw(env *workflow.Env, c *workflow.Case, v *View, in json.RawMessage) (workflow.Draft, error) {
	var i WithdrawInput
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	o, err := v.offerFor(i.OfferRef)
	if err != nil {
		return workflow.Draft{}, err
	}
	if o.Node != env.Self {
		return workflow.Draft{}, workflow.Inputf("offer %s is another node's: only the node that made an offer withdraws it", o.ID)
	}
	if o.WithdrawnAt != nil {
		return workflow.Draft{}, workflow.Inputf("offer %s was already withdrawn (%s)", o.ID, stamp(o.WithdrawnAt))
	}
	if o.Decision == StatusDeclined {
		return workflow.Draft{}, workflow.Inputf("offer %s was declined (%s): there is nothing to withdraw", o.ID, stamp(o.DecidedAt))
	}
	reason, err := workflow.Text("reason", i.Reason, false, MaxNote)
	if err != nil {
		return workflow.Draft{}, err
	}
	props := map[string]any{"offer_ref": o.ID, "capability": o.Capability}
	if reason != "" {
		props["reason"] = reason
	}
	return workflow.Draft{Props: props, Recipients: otherParties(env, c)}, nil
}

func actDecide(env *workflow.Env, v *View, action string, in json.RawMessage) (workflow.Draft, error) {
	var ref, text string
	if action == ActionAccept {
		var i AcceptInput
		if err := workflow.DecodeStrict(in, &i); err != nil {
			return workflow.Draft{}, err
		}
		ref, text = i.OfferRef, i.Note
	} else {
		var i DeclineInput
		if err := workflow.DecodeStrict(in, &i); err != nil {
			return workflow.Draft{}, err
		}
		ref, text = i.OfferRef, i.Reason
		if strings.TrimSpace(text) == "" {
			return workflow.Draft{}, workflow.Inputf("reason is required: tell the partner why its offer is declined (it held a team for it)")
		}
	}
	o, err := v.offerFor(ref)
	if err != nil {
		return workflow.Draft{}, err
	}
	switch {
	case o.WithdrawnAt != nil:
		return workflow.Draft{}, workflow.Inputf("offer %s was withdrawn (%s)", o.ID, stamp(o.WithdrawnAt))
	case o.Decision != "":
		return workflow.Draft{}, workflow.Inputf("offer %s was already %s (%s)", o.ID, o.Decision, stamp(o.DecidedAt))
	}
	field := "note"
	if action == ActionDecline {
		field = "reason"
	}
	text, err = workflow.Text(field, text, action == ActionDecline, MaxNote)
	if err != nil {
		return workflow.Draft{}, err
	}
	props := map[string]any{"offer_ref": o.ID, "offerer_ref": o.Node, "capability": o.Capability, "team_size": o.TeamSize}
	if text != "" {
		props[field] = text
	}
	return workflow.Draft{Props: props}, nil
}

// offerFor finds the offer a step names, with errors that say what the id
// is when it is not an offer.
func (v *View) offerFor(ref string) (*Offer, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, workflow.Inputf("offer_ref is required: the id of the offer (x-entraide-step--…, see 'entraide assist show')")
	}
	if _, err := stix.ParseID(ref); err != nil {
		return nil, workflow.Inputf("offer_ref %q: %v", ref, err)
	}
	for i := range v.Offers {
		if v.Offers[i].ID == ref {
			if !v.Offers[i].Known {
				return nil, workflow.Inputf("offer %s has not reached this node (only a decision on it has)", ref)
			}
			return &v.Offers[i], nil
		}
	}
	if a, ok := v.actions[ref]; ok {
		return nil, workflow.Inputf("%s is a %s step of this request, not an offer", ref, a)
	}
	return nil, workflow.Inputf("no offer %s in this request (see 'entraide assist show')", ref)
}

func requested(v *View) []string {
	var ids []string
	for _, c := range v.Capabilities {
		ids = append(ids, c.ID)
	}
	return ids
}

func allowed(c *workflow.Case, node, action string) error {
	switch action {
	case ActionOffer, ActionNoOffer, ActionWithdraw:
		if node == c.Origin {
			return fmt.Errorf("the requesting node does not answer its own assistance request (%s is for the partners asked)", action)
		}
	case ActionAccept, ActionDecline:
		if node != c.Origin {
			return fmt.Errorf("only the requesting node accepts or declines offers")
		}
	case ActionClose:
		if node != c.Origin {
			return fmt.Errorf("only the requesting node closes an assistance request")
		}
	default:
		return fmt.Errorf("%q is not an action of the assistance workflow", action)
	}
	return nil
}

// Statuses of an offer.
const (
	StatusPending    = "pending"    // waiting for the requester's decision
	StatusAccepted   = "accepted"   // accepted (and not withdrawn)
	StatusDeclined   = "declined"   // declined by the requester
	StatusWithdrawn  = "withdrawn"  // withdrawn by the offerer
	StatusUnanswered = "unanswered" // still pending when the request was closed
)

// Answers of a recipient.
const (
	AnswerOffered   = "offered"   // at least one offer in force
	AnswerNoOffer   = "no-offer"  // cannot help
	AnswerWithdrawn = "withdrawn" // made offers, withdrew them all
)

// View is the request's state as show and the API present it.
type View struct {
	IncidentRef      string             `json:"incident_ref"`
	Capabilities     []CapabilityStatus `json:"capabilities"`
	Urgency          string             `json:"urgency"`
	Severity         int                `json:"severity"`
	NationalSeverity json.RawMessage    `json:"national_severity,omitempty"`
	Criticality      string             `json:"entity_criticality"`
	Mitigation       string             `json:"mitigation"`
	RespondBy        time.Time          `json:"respond_by"`
	Sectors          []string           `json:"sectors"`
	Countries        []string           `json:"countries"`
	Recipients       []Recipient        `json:"recipients"`
	Offers           []Offer            `json:"offers"`
	Answered         int                `json:"answered"` // recipients that offered or said no-offer
	ClosedAt         *time.Time         `json:"closed_at,omitempty"`
	ClosedBy         string             `json:"closed_by,omitempty"`
	Report           string             `json:"report,omitempty"`
	// Ignored lists steps the workflow left out, with why (a decision on
	// an offer already decided, a step after closure, …).
	Ignored []IgnoredStep `json:"ignored,omitempty"`

	actions map[string]string // step id → action, for Act's errors
}

// CapabilityStatus is one capability asked for and how it is covered.
type CapabilityStatus struct {
	ID       string `json:"id"`
	Label    string `json:"label"`
	Offered  int    `json:"offered"`  // offers in force (pending or accepted)
	Accepted int    `json:"accepted"` // accepted offers not withdrawn
	People   int    `json:"people"`   // people in those accepted offers
}

// Recipient is one recipient's answer.
type Recipient struct {
	Node   string `json:"node"`
	Answer string `json:"answer,omitempty"` // offered, no-offer, withdrawn; "" before any answer (or while unknown here)
	// Known is whether this node learns this recipient's answers: always
	// on the requester (answers go to it) and for the recipient itself;
	// for another partner, only as far as its answers reach this node
	// (they go to the parties it peers with) or a decision of the
	// requester names its offer (Inferred). The answer deadline of a
	// recipient is this node's business only where Known.
	Known bool `json:"known"`
	// Inferred: the answer is known from the requester's decision on an
	// offer of this recipient that never reached this node.
	Inferred   bool       `json:"inferred,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"` // the first answer: what meets respond_by
	LastAt     *time.Time `json:"last_at,omitempty"`
	Actor      string     `json:"actor,omitempty"`
	Reason     string     `json:"reason,omitempty"` // of the latest no-offer
}

// Offer is one offer and what became of it.
type Offer struct {
	ID     string `json:"id"` // the offer step's id
	Node   string `json:"node"`
	Status string `json:"status"`
	// Known is false when this node holds only a decision on the offer
	// (the offer itself went to the requester alone): then only the
	// node, capability and team size are known.
	Known          bool       `json:"known"`
	Actor          string     `json:"actor,omitempty"`
	At             *time.Time `json:"at,omitempty"`
	Capability     string     `json:"capability"`
	TeamSize       int        `json:"team_size"`
	AvailableFrom  *time.Time `json:"available_from,omitempty"`
	AvailableUntil *time.Time `json:"available_until,omitempty"`
	Note           string     `json:"note,omitempty"`
	Decision       string     `json:"decision,omitempty"` // accepted, declined
	DecidedAt      *time.Time `json:"decided_at,omitempty"`
	DecidedBy      string     `json:"decided_by,omitempty"`
	DecisionText   string     `json:"decision_text,omitempty"` // the acceptance note or the reason for declining
	WithdrawnAt    *time.Time `json:"withdrawn_at,omitempty"`
	WithdrawReason string     `json:"withdraw_reason,omitempty"`
}

// IgnoredStep is a step the fold left out.
type IgnoredStep struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

func (v *View) recipient(node string) *Recipient {
	for i := range v.Recipients {
		if v.Recipients[i].Node == node {
			return &v.Recipients[i]
		}
	}
	return nil
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func timeProp(s *workflow.Step, name string) *time.Time {
	var v string
	if !s.Get(name, &v) {
		return nil
	}
	t, err := stix.ParseTimestamp(v)
	if err != nil {
		return nil
	}
	return &t
}

func fold(c *workflow.Case, in []workflow.Step) workflow.State {
	steps := workflow.Ordered(in)
	v := View{Severity: -1, Sectors: []string{}, Countries: []string{}, Recipients: []Recipient{}, Offers: []Offer{},
		Capabilities: []CapabilityStatus{}, actions: map[string]string{}}
	c.Get("incident_ref", &v.IncidentRef)
	var caps []string
	c.Get("capabilities", &caps)
	for _, id := range caps {
		v.Capabilities = append(v.Capabilities, CapabilityStatus{ID: id, Label: capabilityLabel(id)})
	}
	c.Get("urgency", &v.Urgency)
	c.Get("common_severity", &v.Severity)
	c.Get("national_severity", &v.NationalSeverity)
	c.Get("entity_criticality", &v.Criticality)
	c.Get("mitigation", &v.Mitigation)
	c.Get("sectors", &v.Sectors)
	c.Get("countries", &v.Countries)
	var respondBy, title string
	c.Get("respond_by", &respondBy)
	v.RespondBy, _ = stix.ParseTimestamp(respondBy)
	c.Get("name", &title)
	viewer := c.ViewedBy()
	requester := viewer == c.Origin
	for _, r := range c.Recipients {
		if r != c.Origin && v.recipient(r) == nil {
			v.Recipients = append(v.Recipients, Recipient{Node: r, Known: requester || r == viewer})
		}
	}
	ignore := func(s workflow.Step, why string) { v.Ignored = append(v.Ignored, IgnoredStep{ID: s.ID, Reason: why}) }

	// The first close counts; nothing made after it does. (The engine
	// has left out the steps of non-parties and the actions a node may
	// not take; the fold checks the latter again so that it stands alone.)
	closeID := ""
	for _, s := range steps {
		v.actions[s.ID] = s.Action
		if s.Action == ActionClose && s.Node == c.Origin && closeID == "" {
			at := s.At
			closeID, v.ClosedAt, v.ClosedBy = s.ID, &at, s.Actor
			s.Get("report", &v.Report)
		}
	}
	var live []workflow.Step
	for _, s := range steps {
		switch {
		case allowed(c, s.Node, s.Action) != nil:
			ignore(s, allowed(c, s.Node, s.Action).Error())
		case s.Action == ActionClose:
			if s.ID != closeID {
				ignore(s, "the request was already closed")
			}
		case v.ClosedAt != nil && s.At.After(*v.ClosedAt):
			ignore(s, "made after the request was closed")
		default:
			live = append(live, s)
		}
	}

	// Offers first, then what refers to them, so that a decision stamped
	// (by a clock behind the offerer's) before its offer still applies.
	idx := map[string]int{}
	for _, s := range live {
		if s.Action != ActionOffer || s.Node == c.Origin {
			continue
		}
		at := s.At
		o := Offer{ID: s.ID, Node: s.Node, Known: true, Actor: s.Actor, At: &at}
		s.Get("capability", &o.Capability)
		s.Get("team_size", &o.TeamSize)
		s.Get("note", &o.Note)
		o.AvailableFrom, o.AvailableUntil = timeProp(&s, "available_from"), timeProp(&s, "available_until")
		idx[s.ID] = len(v.Offers)
		v.Offers = append(v.Offers, o)
	}
	for _, s := range live {
		switch s.Action {
		case ActionAccept, ActionDecline:
			var ref string
			s.Get("offer_ref", &ref)
			i, ok := idx[ref]
			if !ok {
				// The offer went to the requester only (or is on its way):
				// the decision says what it was.
				if _, isStep := v.actions[ref]; isStep {
					ignore(s, fmt.Sprintf("%s names %s, a %s step, not an offer", s.Action, ref, v.actions[ref]))
					continue
				}
				o := Offer{ID: ref}
				s.Get("offerer_ref", &o.Node)
				s.Get("capability", &o.Capability)
				s.Get("team_size", &o.TeamSize)
				if ref == "" || o.Node == "" {
					ignore(s, s.Action+" names no offer")
					continue
				}
				i = len(v.Offers)
				idx[ref] = i
				v.Offers = append(v.Offers, o)
			}
			o := &v.Offers[i]
			if o.Decision != "" {
				ignore(s, fmt.Sprintf("offer %s was already %s", ref, o.Decision))
				continue
			}
			at := s.At
			o.DecidedAt, o.DecidedBy = &at, s.Actor
			if s.Action == ActionAccept {
				o.Decision = StatusAccepted
				s.Get("note", &o.DecisionText)
			} else {
				o.Decision = StatusDeclined
				s.Get("reason", &o.DecisionText)
			}
		case ActionWithdraw:
			var ref string
			s.Get("offer_ref", &ref)
			i, ok := idx[ref]
			switch {
			case !ok:
				// Withdrawals go to every party the offerer is peered with,
				// the offer too: without it, there is nothing to withdraw.
				ignore(s, fmt.Sprintf("withdraws %s, an offer this node does not hold", ref))
			case v.Offers[i].Node != s.Node:
				ignore(s, fmt.Sprintf("withdraws %s, another node's offer", ref))
			case v.Offers[i].WithdrawnAt != nil:
				ignore(s, fmt.Sprintf("offer %s was already withdrawn", ref))
			default:
				at := s.At
				v.Offers[i].WithdrawnAt = &at
				s.Get("reason", &v.Offers[i].WithdrawReason)
			}
		}
	}

	// Each recipient's answer: the first meets the deadline; the answer
	// is what holds now.
	for _, s := range live {
		if s.Action != ActionOffer && s.Action != ActionNoOffer {
			continue
		}
		r := v.recipient(s.Node)
		if r == nil {
			continue // a party the requester did not ask: its offer stands, it owes no answer
		}
		at := s.At
		if r.AnsweredAt == nil {
			r.AnsweredAt = &at
			v.Answered++
		}
		r.LastAt, r.Actor = &at, s.Actor
	}
	for i := range v.Recipients {
		r := &v.Recipients[i]
		if r.AnsweredAt == nil {
			// A partner's offer this node holds only through the
			// requester's decision on it: that partner did answer, when
			// is not known here.
			for _, o := range v.Offers {
				if o.Node == r.Node && !o.Known && o.WithdrawnAt == nil {
					r.Answer, r.Inferred, r.Known = AnswerOffered, true, true
				}
			}
			continue
		}
		r.Known = true
		inForce, made := 0, 0
		for _, o := range v.Offers {
			if o.Node == r.Node && o.Known {
				made++
				if o.WithdrawnAt == nil {
					inForce++
				}
			}
		}
		var lastNoOffer *workflow.Step
		for j := range live {
			if live[j].Action == ActionNoOffer && live[j].Node == r.Node {
				lastNoOffer = &live[j]
			}
		}
		switch {
		case inForce > 0:
			r.Answer = AnswerOffered
		case lastNoOffer != nil:
			r.Answer = AnswerNoOffer
			lastNoOffer.Get("reason", &r.Reason)
		case made > 0:
			r.Answer = AnswerWithdrawn
		}
	}

	// Offer statuses and coverage.
	pending, accepted := 0, 0
	for i := range v.Offers {
		o := &v.Offers[i]
		switch {
		case o.WithdrawnAt != nil:
			o.Status = StatusWithdrawn
		case o.Decision != "":
			o.Status = o.Decision
		case v.ClosedAt != nil:
			o.Status = StatusUnanswered
		default:
			o.Status = StatusPending
		}
		for j := range v.Capabilities {
			cs := &v.Capabilities[j]
			if cs.ID != o.Capability {
				continue
			}
			switch o.Status {
			case StatusPending:
				cs.Offered++
			case StatusAccepted:
				cs.Offered++
				cs.Accepted++
				cs.People += o.TeamSize
			}
		}
		switch o.Status {
		case StatusPending:
			pending++
		case StatusAccepted:
			accepted++
		}
	}

	// What is due on whom, as this node can know it. The requester
	// receives every answer and every offer: it tracks each recipient's
	// answer and its own decisions. A partner receives the requester's
	// decisions but not always the other partners' answers: it tracks its
	// own answer and the decisions on its own offers — the other
	// partners' deadlines are theirs and the requester's, and would stay
	// open here for want of news.
	st := workflow.State{Title: title, Severity: v.Severity, Open: v.ClosedAt == nil}
	for _, r := range v.Recipients {
		if requester || r.Node == viewer {
			st.Deadlines = append(st.Deadlines, workflow.Deadline{What: "answer (offer or no-offer)", Party: r.Node, Due: v.RespondBy, DoneAt: r.AnsweredAt})
		}
	}
	u, _, _ := UrgencyByID(v.Urgency)
	if u.DecideWithin == 0 {
		u = Urgencies[0]
	}
	for _, o := range v.Offers {
		if !o.Known || !requester && o.Node != viewer {
			continue
		}
		done := o.DecidedAt
		if o.WithdrawnAt != nil && (done == nil || o.WithdrawnAt.Before(*done)) {
			done = o.WithdrawnAt
		}
		st.Deadlines = append(st.Deadlines, workflow.Deadline{
			What:  fmt.Sprintf("decide on the %s offer (team of %d)", o.Capability, o.TeamSize),
			Party: c.Origin, Due: o.At.Add(u.DecideWithin), DoneAt: done,
		})
	}
	if v.ClosedAt != nil {
		st.Status = "closed"
	} else {
		var parts []string
		if accepted > 0 {
			parts = append(parts, fmt.Sprintf("%d accepted", accepted))
		}
		if pending > 0 {
			parts = append(parts, fmt.Sprintf("%d offer%s to decide", pending, plural(pending)))
		}
		if requester {
			if n := len(v.Recipients) - v.Answered; n > 0 {
				parts = append(parts, fmt.Sprintf("awaiting %d of %d answers", n, len(v.Recipients)))
			}
		} else if r := v.recipient(viewer); r != nil && r.AnsweredAt == nil {
			parts = append(parts, "awaiting this node's answer")
		}
		switch {
		case len(parts) > 0:
		case !requester:
			// A partner knows its own answer and offers, not the others':
			// "no partner can help" would be a guess.
			switch r := v.recipient(viewer); {
			case r == nil:
				parts = append(parts, "open (this node is not a partner asked)")
			case r.Answer == AnswerNoOffer:
				parts = append(parts, "this node answered: no offer")
			case r.Answer == AnswerWithdrawn:
				parts = append(parts, "this node withdrew its offer")
			default:
				parts = append(parts, "this node's offer is not in force")
			}
		case len(v.Offers) == 0:
			parts = append(parts, "no partner can help")
		default:
			parts = append(parts, "no offer in force")
		}
		st.Status = strings.Join(parts, ", ")
	}
	st.View = v
	return st
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
