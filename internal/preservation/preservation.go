// Package preservation is the expedited preservation workflow of the
// Budapest Convention on Cybercrime between 24/7 points of contact
// (Art. 35):
//
//   - Art. 29: a requesting Party asks the Party where stored computer data
//     sits to preserve it expeditiously, pending a mutual legal assistance
//     (MLA) request for its search, seizure or disclosure. The request
//     carries the six items of Art. 29(2) — (a) the requesting authority,
//     (b) the offence and a summary of the facts, (c) the stored data and
//     its relation to the offence, (d) the custodian of the data or the
//     location of the computer system, (e) why preservation is necessary,
//     (f) the intent to submit an MLA request — and goes to one node, the
//     requested country's 24/7 point of contact.
//   - The requested Party acknowledges (due within 24 hours by default: the
//     24/7 network exists for speed), then executes (the data is preserved
//     until a date at least 60 days ahead, Art. 29(7)), executes in part
//     (what was and was not preserved), or refuses on one of the grounds of
//     Art. 29(5) (or of Art. 29(4), for a Party with that reservation).
//   - The requester asks for extensions, which the requested Party grants
//     or declines; it records the MLA request's reference once sent (the
//     data then stays preserved pending the decision on it, Art. 29(7));
//     it may withdraw. Before the preservation expires, a reminder falls
//     due on the requester: send the MLA request or ask for an extension.
//   - Art. 30: executing the request may reveal that a service provider in
//     another State took part in the transmission; the requested Party
//     discloses it (country, provider, what identifies the path), and the
//     requester chains a new request to that State from the disclosure
//     (Chain), linked by chained_from_ref.
//
// Every step is a signed object with its creation time, so the report
// (Report) tells how long each country takes to acknowledge and to answer.
//
// Objects: the case is an x-entraide-preservation-request (declared by
// Extension); its steps are x-entraide-step objects whose transitions are
// the Action* constants.
package preservation

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/workflow"
)

// Type is the STIX type of a preservation request.
const Type = "x-entraide-preservation-request"

// KindName is the workflow's name.
const KindName = "preservation"

// The actions of the requested Party (the target country's node).
const (
	ActionAcknowledge    = "acknowledge"     // received, being handled
	ActionExecute        = "execute"         // preserved until a date ≥ 60 days ahead
	ActionPartial        = "partial"         // part of the data preserved
	ActionRefuse         = "refuse"          // refused on a ground of Art. 29(4)/(5)
	ActionDisclose       = "disclose"        // Art. 30: a provider in another State
	ActionExtendGranted  = "extend-granted"  // the extension asked is granted
	ActionExtendDeclined = "extend-declined" // the extension asked is declined
)

// The actions of the requesting Party (the node that opened the request).
const (
	ActionExtend   = "extend"   // ask to preserve longer
	ActionMLASent  = "mla-sent" // the MLA request was sent: its reference
	ActionWithdraw = "withdraw" // the data need not be preserved any more
)

// TargetActions are the requested Party's actions, RequesterActions the
// requesting Party's.
var (
	TargetActions    = []string{ActionAcknowledge, ActionExecute, ActionPartial, ActionRefuse, ActionDisclose, ActionExtendGranted, ActionExtendDeclined}
	RequesterActions = []string{ActionExtend, ActionMLASent, ActionWithdraw}
)

// MinPreservation is the shortest preservation Art. 29(7) allows.
const MinPreservation = 60 * 24 * time.Hour

// DefaultAckWithin is the acknowledgement deadline when none is given: the
// 24/7 network answers within a day.
const DefaultAckWithin = 24 * time.Hour

// DefaultRemindBefore is how long before the preservation expires the
// requester is reminded to send the MLA request or ask for an extension.
const DefaultRemindBefore = 10 * 24 * time.Hour

// Ground is a ground for refusing a preservation request.
type Ground struct {
	ID      string `json:"id"`
	Article string `json:"article"`
	Text    string `json:"text"`
}

// Grounds are the grounds on which a Party may refuse (Art. 29(4) and (5);
// Art. 30(2) for a disclosure).
var Grounds = []Ground{
	{"political-offence", "Art. 29(5)(a)", "the offence is a political offence or one connected with a political offence"},
	{"sovereignty", "Art. 29(5)(b)", "execution is likely to prejudice the requested Party's sovereignty"},
	{"security", "Art. 29(5)(b)", "execution is likely to prejudice the requested Party's security"},
	{"ordre-public", "Art. 29(5)(b)", "execution is likely to prejudice the requested Party's ordre public"},
	{"other-essential-interests", "Art. 29(5)(b)", "execution is likely to prejudice other essential interests of the requested Party"},
	{"dual-criminality", "Art. 29(4)", "dual criminality will not be fulfilled at disclosure (only a Party that made the Art. 29(4) reservation, and not for offences under Articles 2 to 11)"},
}

// GroundIDs lists the grounds' identifiers.
func GroundIDs() []string {
	out := make([]string, len(Grounds))
	for i, g := range Grounds {
		out[i] = g.ID
	}
	return out
}

// LookupGround returns a ground by identifier.
func LookupGround(id string) (Ground, bool) {
	for _, g := range Grounds {
		if g.ID == id {
			return g, true
		}
	}
	return Ground{}, false
}

//go:embed preservation-v1.json
var schema []byte

// Extension declares x-entraide-preservation-request.
var Extension = workflow.Extension{
	ID:   workflow.ExtensionID("https://entraide.example/schemas/preservation-v1.json"),
	Name: "entraide-preservation-request",
	Description: "A request for the expedited preservation of stored computer data under Article 29 of the Budapest Convention " +
		"on Cybercrime, sent to the requested Party's 24/7 point of contact: requesting authority, offence and facts, stored data " +
		"and its relation to the offence, custodian or location, necessity, intent to submit a mutual assistance request, " +
		"target country, and the Art. 30 disclosure it was chained from, if any.",
	SchemaURL: "https://entraide.example/schemas/preservation-v1.json",
	Version:   "1.0",
	Type:      "new-sdo",
	Schema:    schema,
}

// Kind is the preservation workflow.
var Kind = &workflow.Kind{
	Name:      KindName,
	CaseType:  Type,
	Extension: Extension,
	Actions:   append(slices.Clone(TargetActions), RequesterActions...),
	Open:      open,
	Act:       act,
	Allowed:   allowed,
	Fold:      fold,
	// One recipient: the engine refuses any other number on every path.
	MinRecipients:  bounds.MinRecipients,
	MaxRecipients:  bounds.MaxRecipients,
	RecipientsRule: bounds.RecipientsRule,
	// The facts of a criminal case stay within the requested Party's
	// organisation unless the requester says otherwise.
	DefaultTLP: stix.TLPAmberStrict,
}

// bounds are the kind's recipient bounds, apart so that the fold (through
// target) can read them without an initialisation cycle through Kind.
var bounds = &workflow.Kind{Name: KindName, MinRecipients: 1, MaxRecipients: 1,
	RecipientsRule: "a preservation request goes to one node, the requested Party's 24/7 point of contact: send one request per country"}

// Input is what opening a preservation request takes (besides the
// engine's to, communities and tlp: one recipient, the target country's
// node). Fields (a)–(f) are those of Art. 29(2).
type Input struct {
	RequestingAuthority string          `json:"requesting_authority"`            // (a)
	Offence             string          `json:"offence"`                         // (b)
	Facts               string          `json:"facts"`                           // (b)
	StoredData          string          `json:"stored_data"`                     // (c)
	Relation            string          `json:"relation"`                        // (c)
	Custodian           string          `json:"custodian,omitempty"`             // (d), or location
	Location            string          `json:"location,omitempty"`              // (d), or custodian
	Reason              string          `json:"reason"`                          // (e)
	MLAIntent           json.RawMessage `json:"mla_intent,omitempty"`            // (f): true, or the intended request
	TargetCountry       string          `json:"target_country"`                  // ISO 3166-1 alpha-2
	AckBy               string          `json:"ack_by,omitempty"`                // duration or time; default 24h
	RemindBefore        string          `json:"remind_before,omitempty"`         // e.g. 14d; default 10d
	Refs                []string        `json:"refs,omitempty"`                  // related STIX objects
	ChainedFromRef      string          `json:"chained_from_ref,omitempty"`      // the Art. 30 disclosure (a step) or request
	ChainedFromCase     string          `json:"chained_from_case_ref,omitempty"` // the request it was disclosed in
}

// art29 are the free-text items of Art. 29(2), in the order of the article.
var art29 = []struct {
	para, prop, label, hint string
	max                     int
}{
	{"a", "requesting_authority", "requesting authority", "the authority seeking the preservation", 300},
	{"b", "offence", "offence", "the offence that is the subject of the criminal investigation or proceedings", 500},
	{"b", "facts", "summary of facts", "a brief summary of the related facts", 20000},
	{"c", "stored_data", "stored data", "the stored computer data to be preserved", 10000},
	{"c", "relation", "relation to the offence", "how the stored data relates to the offence", 10000},
	{"d", "custodian", "custodian", "", 1000},
	{"d", "location", "location", "", 1000},
	{"e", "reason", "necessity of preservation", "why the data must be preserved now, e.g. the risk that it is deleted", 5000},
}

func (i *Input) text(prop string) string {
	switch prop {
	case "requesting_authority":
		return i.RequestingAuthority
	case "offence":
		return i.Offence
	case "facts":
		return i.Facts
	case "stored_data":
		return i.StoredData
	case "relation":
		return i.Relation
	case "custodian":
		return i.Custodian
	case "location":
		return i.Location
	case "reason":
		return i.Reason
	}
	return ""
}

func open(env *workflow.Env, in json.RawMessage) (workflow.Draft, error) {
	var i Input
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	props := map[string]any{}
	for _, f := range art29 {
		s := strings.TrimSpace(i.text(f.prop))
		if s == "" {
			if f.para == "d" {
				continue
			}
			return workflow.Draft{}, onField(f.prop, workflow.Inputf("Art. 29(2)(%s) %s: required (%s)", f.para, f.label, f.hint))
		}
		if n := len([]rune(s)); n > f.max {
			return workflow.Draft{}, onField(f.prop, workflow.Inputf("Art. 29(2)(%s) %s: %d characters long; at most %d", f.para, f.label, n, f.max))
		}
		props[f.prop] = s
	}
	if props["custodian"] == nil && props["location"] == nil {
		return workflow.Draft{}, onField("custodian", workflow.Inputf("Art. 29(2)(d) custodian or location: required (any available information identifying the custodian of the stored data, such as the service provider, or the location of the computer system)"))
	}
	intent, err := mlaIntent(i.MLAIntent)
	if err != nil {
		return workflow.Draft{}, onField("mla_intent", err)
	}
	props["mla_intent"] = intent
	if strings.TrimSpace(i.TargetCountry) == "" {
		return workflow.Draft{}, onField("target_country", workflow.Inputf("target_country: required (the ISO 3166-1 code of the requested Party, e.g. EE)"))
	}
	cc, err := workflow.Countries([]string{i.TargetCountry})
	if err != nil {
		return workflow.Draft{}, onField("target_country", err)
	}
	props["target_country"] = cc[0]
	ackBy, err := env.Deadline("ack_by", i.AckBy, DefaultAckWithin)
	if err != nil {
		return workflow.Draft{}, onField("ack_by", err)
	}
	props["ack_by"] = workflow.Timestamp(ackBy)
	remind := DefaultRemindBefore
	if i.RemindBefore != "" {
		d, err := workflow.ParseDuration(i.RemindBefore)
		if err != nil || d < 24*time.Hour || d >= MinPreservation {
			return workflow.Draft{}, onField("remind_before", workflow.Inputf("remind_before %q: want a number of days from 1d to 59d (the preservation lasts at least 60 days)", i.RemindBefore))
		}
		remind = d
	}
	props["remind_days"] = int(remind / (24 * time.Hour))
	refs, err := workflow.Refs(i.Refs)
	if err != nil {
		return workflow.Draft{}, onField("refs", err)
	}
	if len(refs) > 0 {
		props["object_refs"] = refs
	}
	if i.ChainedFromRef != "" || i.ChainedFromCase != "" {
		if i.ChainedFromRef == "" || i.ChainedFromCase == "" {
			return workflow.Draft{}, workflow.Inputf("chained_from_ref and chained_from_case_ref go together: the Art. 30 disclosure and the request it was made in")
		}
		from, err := workflow.Refs([]string{i.ChainedFromRef}, workflow.StepType, Type)
		if err != nil {
			return workflow.Draft{}, fmt.Errorf("chained_from_ref: %w", err)
		}
		in, err := workflow.Refs([]string{i.ChainedFromCase}, Type)
		if err != nil {
			return workflow.Draft{}, fmt.Errorf("chained_from_case_ref: %w", err)
		}
		props["chained_from_ref"], props["chained_from_case_ref"] = from[0], in[0]
	}
	props["name"] = title(cc[0], props["offence"].(string))
	return workflow.Draft{Props: props}, nil
}

func title(country, offence string) string {
	t := "Preservation request to " + country + ": " + offence
	if r := []rune(t); len(r) > 300 {
		t = string(r[:299]) + "…"
	}
	return t
}

// mlaIntent reads Art. 29(2)(f): true, or a text describing the intended
// mutual assistance request.
func mlaIntent(raw json.RawMessage) (any, error) {
	const what = "Art. 29(2)(f) intent to submit a mutual assistance request"
	if len(raw) == 0 || string(raw) == "null" {
		return nil, workflow.Inputf("%s: required (true, or the intended request: search, seizure or disclosure of the preserved data)", what)
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		if !b {
			return nil, workflow.Inputf("%s: false — Art. 29 preservation serves a forthcoming mutual assistance request; without that intent, ask through another channel", what)
		}
		return true, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		s, err := workflow.Text(what, s, true, 2000)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, workflow.Inputf("%s: want true or a text describing the intended request, not %s", what, truncate(string(raw), 40))
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// FieldError is an input error about one field of the input (its JSON
// name), so that a front end can point at its own flag or form field. It
// wraps a workflow.ErrInput error.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// onField ties an input error to a field (nil stays nil).
func onField(field string, err error) error {
	if err == nil {
		return nil
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return err
	}
	return &FieldError{Field: field, Err: err}
}

// Disclosure is one Art. 30 disclosure: a service provider in another
// State that took part in the transmission of the communication.
type Disclosure struct {
	Country  string `json:"country"`        // ISO 3166-1 alpha-2
	Provider string `json:"provider"`       // the provider's name
	Note     string `json:"note,omitempty"` // traffic data identifying the provider and the path
}

// StepInput is what the actions take; each action takes some of the
// fields (actionFields) and refuses the others.
type StepInput struct {
	Comment        string       `json:"comment,omitempty"`
	Reference      string       `json:"reference,omitempty"`       // the requested Party's file reference
	PreservedUntil string       `json:"preserved_until,omitempty"` // duration (90d), date (2027-03-01: the end of that day, UTC) or RFC 3339 time
	Preserved      string       `json:"preserved,omitempty"`       // partial: what was preserved
	NotPreserved   string       `json:"not_preserved,omitempty"`   // partial: what was not, and why
	Ground         string       `json:"ground,omitempty"`          // refuse
	Explanation    string       `json:"explanation,omitempty"`     // refuse, extend-declined
	Disclosures    []Disclosure `json:"disclosures,omitempty"`     // execute, partial, disclose
	MLAReference   string       `json:"mla_reference,omitempty"`   // mla-sent
	SentOn         string       `json:"sent_on,omitempty"`         // mla-sent: date or time, default now
}

// actionFields are the input fields each action takes.
var actionFields = map[string][]string{
	ActionAcknowledge:    {"reference", "comment"},
	ActionExecute:        {"preserved_until", "reference", "disclosures", "comment"},
	ActionPartial:        {"preserved", "not_preserved", "preserved_until", "reference", "disclosures", "comment"},
	ActionRefuse:         {"ground", "explanation"},
	ActionDisclose:       {"disclosures", "comment"},
	ActionExtendGranted:  {"preserved_until", "comment"},
	ActionExtendDeclined: {"explanation"},
	ActionExtend:         {"preserved_until", "comment"},
	ActionMLASent:        {"mla_reference", "sent_on", "comment"},
	ActionWithdraw:       {"comment"},
}

// Fields lists the input fields an action takes.
func Fields(action string) []string { return slices.Clone(actionFields[action]) }

func act(env *workflow.Env, c *workflow.Case, st *workflow.State, action string, in json.RawMessage) (workflow.Draft, error) {
	fields, ok := actionFields[action]
	if !ok {
		return workflow.Draft{}, workflow.Inputf("%q is not an action of the preservation workflow", action)
	}
	var keys map[string]json.RawMessage
	if len(in) > 0 {
		if err := json.Unmarshal(in, &keys); err != nil {
			return workflow.Draft{}, workflow.Inputf("the input is not a JSON object: %v", err)
		}
	}
	for k, v := range keys {
		if !slices.Contains(fields, k) && !isEmptyJSON(v) {
			return workflow.Draft{}, workflow.Inputf("%s takes no %s (it takes %s)", action, k, strings.Join(fields, ", "))
		}
	}
	var i StepInput
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	v := viewOf(st)
	if v.Withdrawn != nil {
		return workflow.Draft{}, workflow.Inputf("the request was withdrawn on %s", day(v.Withdrawn.At))
	}
	if v.Refusal != nil {
		return workflow.Draft{}, workflow.Inputf("the request was refused on %s (%s)", day(v.Refusal.At), v.Refusal.Ground)
	}
	props := map[string]any{}
	comment, err := workflow.Text("comment", i.Comment, false, 5000)
	if err != nil {
		return workflow.Draft{}, onField("comment", err)
	}
	if comment != "" {
		props["comment"] = comment
	}
	reference := func(required bool) error {
		ref, err := workflow.Text("reference", i.Reference, false, 200)
		if err != nil {
			return onField("reference", err)
		}
		if ref == "" && required && v.Reference == "" {
			return onField("reference", workflow.Inputf("%s: reference required (your file reference, which the requesting Party cites in its mutual assistance request)", action))
		}
		if ref != "" {
			props["reference"] = ref
		}
		return nil
	}
	disclosures := func(required bool) error {
		ds, err := checkDisclosures(i.Disclosures, v.TargetCountry)
		if err != nil {
			return onField("disclosures", err)
		}
		if len(ds) == 0 && required {
			return onField("disclosures", workflow.Inputf("disclose: at least one disclosure required (country, provider, note: the service provider in another State involved in the transmission, Art. 30)"))
		}
		if len(ds) > 0 {
			props["disclosures"] = ds
		}
		return nil
	}
	switch action {
	case ActionAcknowledge:
		if v.AcknowledgedAt != nil {
			return workflow.Draft{}, workflow.Inputf("already acknowledged on %s", stamp(*v.AcknowledgedAt))
		}
		if err := reference(false); err != nil {
			return workflow.Draft{}, err
		}
	case ActionExecute, ActionPartial:
		if v.Answer == AnswerExecuted || (action == ActionPartial && v.Answer == AnswerPartial) {
			return workflow.Draft{}, workflow.Inputf("already %s on %s, preserved until %s: to preserve longer, the requesting Party asks for an extension", v.Answer, stamp(*v.AnsweredAt), stampPtr(v.PreservedUntil))
		}
		until, err := Until(env.Now, i.PreservedUntil)
		if err != nil {
			return workflow.Draft{}, onField("preserved_until", err)
		}
		if until.IsZero() {
			return workflow.Draft{}, onField("preserved_until", workflow.Inputf("%s: preserved_until required: a date at least 60 days ahead (Art. 29(7)), e.g. 90d or %s", action, env.Now.Add(90*24*time.Hour).UTC().Format(time.DateOnly)))
		}
		if earliest := env.Now.Add(MinPreservation); until.Before(earliest) {
			return workflow.Draft{}, onField("preserved_until", workflow.Inputf("preserved_until %s is less than 60 days ahead: Art. 29(7) requires preservation for at least 60 days, until %s or later", stamp(until), stamp(earliest)))
		}
		props["preserved_until"] = workflow.Timestamp(until)
		if action == ActionPartial {
			p, err := required("preserved", "partial: preserved", i.Preserved, 5000, "what was preserved")
			if err != nil {
				return workflow.Draft{}, err
			}
			np, err := required("not_preserved", "partial: not_preserved", i.NotPreserved, 5000, "what was not preserved, and why (if all was, use execute)")
			if err != nil {
				return workflow.Draft{}, err
			}
			props["preserved"], props["not_preserved"] = p, np
		}
		if err := reference(true); err != nil {
			return workflow.Draft{}, err
		}
		if err := disclosures(false); err != nil {
			return workflow.Draft{}, err
		}
	case ActionRefuse:
		if v.Answer != "" {
			return workflow.Draft{}, workflow.Inputf("the request was already %s on %s: it cannot be refused now", v.Answer, stamp(*v.AnsweredAt))
		}
		if strings.TrimSpace(i.Ground) == "" {
			return workflow.Draft{}, onField("ground", workflow.Inputf("refuse: ground required: %s", groundList()))
		}
		if _, ok := LookupGround(i.Ground); !ok {
			return workflow.Draft{}, onField("ground", workflow.Inputf("refuse: unknown ground %q: %s", i.Ground, groundList()))
		}
		ex, err := required("explanation", "refuse: explanation", i.Explanation, 5000, "say why the ground applies, so that the requesting Party can answer it")
		if err != nil {
			return workflow.Draft{}, err
		}
		props["ground"], props["explanation"] = i.Ground, ex
	case ActionDisclose:
		if err := disclosures(true); err != nil {
			return workflow.Draft{}, err
		}
	case ActionExtend:
		if v.PreservedUntil == nil {
			return workflow.Draft{}, workflow.Inputf("nothing to extend: the request has not been executed yet")
		}
		if p := v.PendingExtension(); p != nil {
			return workflow.Draft{}, workflow.Inputf("an extension to %s was asked on %s and is not decided yet", stamp(p.Until), stamp(p.At))
		}
		until, err := Until(env.Now, i.PreservedUntil)
		if err != nil {
			return workflow.Draft{}, onField("preserved_until", err)
		}
		if until.IsZero() {
			return workflow.Draft{}, onField("preserved_until", workflow.Inputf("extend: preserved_until required: the new date, after the current expiry (%s)", stamp(*v.PreservedUntil)))
		}
		if !until.After(*v.PreservedUntil) {
			return workflow.Draft{}, onField("preserved_until", workflow.Inputf("extend: %s is not after the current expiry (%s)", stamp(until), stamp(*v.PreservedUntil)))
		}
		props["preserved_until"] = workflow.Timestamp(until)
	case ActionExtendGranted:
		p := v.PendingExtension()
		if p == nil {
			return workflow.Draft{}, workflow.Inputf("no extension is waiting for a decision")
		}
		until := p.Until
		if i.PreservedUntil != "" {
			if until, err = Until(env.Now, i.PreservedUntil); err != nil {
				return workflow.Draft{}, onField("preserved_until", err)
			}
		}
		if v.PreservedUntil != nil && !until.After(*v.PreservedUntil) {
			return workflow.Draft{}, onField("preserved_until", workflow.Inputf("extend-granted: %s is not after the current expiry (%s)", stamp(until), stamp(*v.PreservedUntil)))
		}
		props["preserved_until"] = workflow.Timestamp(until)
	case ActionExtendDeclined:
		if v.PendingExtension() == nil {
			return workflow.Draft{}, workflow.Inputf("no extension is waiting for a decision")
		}
		ex, err := required("explanation", "extend-declined: explanation", i.Explanation, 5000, "say why the extension is declined")
		if err != nil {
			return workflow.Draft{}, err
		}
		props["explanation"] = ex
	case ActionMLASent:
		if v.MLA != nil {
			return workflow.Draft{}, workflow.Inputf("the mutual assistance request %s was already recorded on %s", v.MLA.Reference, stamp(v.MLA.At))
		}
		ref, err := required("mla_reference", "mla-sent: mla_reference", i.MLAReference, 200, "the reference of the mutual assistance request sent")
		if err != nil {
			return workflow.Draft{}, err
		}
		sent, err := SentOn(env.Now, i.SentOn)
		if err != nil {
			return workflow.Draft{}, onField("sent_on", err)
		}
		props["mla_reference"], props["sent_on"] = ref, workflow.Timestamp(sent)
	case ActionWithdraw:
	}
	return workflow.Draft{Props: props}, nil
}

// required checks a required free-text field, saying what it is for.
func required(prop, label, s string, max int, what string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", onField(prop, workflow.Inputf("%s required: %s", label, what))
	}
	t, err := workflow.Text(label, s, true, max)
	return t, onField(prop, err)
}

func groundList() string {
	var b strings.Builder
	for i, g := range Grounds {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", g.ID, g.Article)
	}
	return b.String()
}

func isEmptyJSON(v json.RawMessage) bool {
	switch strings.TrimSpace(string(v)) {
	case `""`, "null", "[]", "{}", "false":
		return true
	}
	return false
}

func checkDisclosures(in []Disclosure, target string) ([]Disclosure, error) {
	out := []Disclosure{}
	for n, d := range in {
		cc := strings.ToUpper(strings.TrimSpace(d.Country))
		if cc == "" {
			return nil, workflow.Inputf("disclosure %d: country required (the State of the service provider, ISO 3166-1 code)", n+1)
		}
		if !card.ValidCountry(cc) {
			return nil, workflow.Inputf("disclosure %d: unknown country code %q: give ISO 3166-1 alpha-2 codes such as LV", n+1, d.Country)
		}
		if cc == target {
			return nil, workflow.Inputf("disclosure %d: the provider is in %s, the requested Party itself: Art. 30 discloses providers in another State", n+1, cc)
		}
		p, err := workflow.Text(fmt.Sprintf("disclosure %d: provider", n+1), d.Provider, true, 300)
		if err != nil {
			return nil, err
		}
		note, err := workflow.Text(fmt.Sprintf("disclosure %d: note", n+1), d.Note, false, 5000)
		if err != nil {
			return nil, err
		}
		out = append(out, Disclosure{Country: cc, Provider: p, Note: note})
	}
	return out, nil
}

// Until reads a preservation date: a duration from now (90d, 12w, 2000h),
// a date (2027-03-01: preserved through that day, until its end in UTC) or
// an RFC 3339 time. "" is the zero time. It must be in the future.
func Until(now time.Time, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := workflow.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, workflow.Inputf("preserved_until %q is not in the future", s)
		}
		return now.Add(d).UTC(), nil
	}
	t, err := parseDateOrTime(s, true)
	if err != nil {
		return time.Time{}, workflow.Inputf("preserved_until %q is neither a duration (90d), a date (2027-03-01) nor an RFC 3339 time", s)
	}
	if !t.After(now) {
		return time.Time{}, workflow.Inputf("preserved_until %s is in the past (now is %s)", stamp(t), stamp(now))
	}
	return t, nil
}

// SentOn reads when the MLA request was sent: a date or an RFC 3339 time,
// not in the future; "" is now.
func SentOn(now time.Time, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return now.UTC(), nil
	}
	t, err := parseDateOrTime(s, false)
	if err != nil {
		return time.Time{}, workflow.Inputf("sent_on %q is neither a date (2027-01-15) nor an RFC 3339 time", s)
	}
	if t.After(now) {
		return time.Time{}, workflow.Inputf("sent_on %s is in the future (now is %s): record the MLA request once it is sent", stamp(t), stamp(now))
	}
	return t, nil
}

// parseDateOrTime reads an RFC 3339 time or a date; a date is its end
// (endOfDay) or its start, in UTC.
func parseDateOrTime(s string, endOfDay bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, err
	}
	if endOfDay {
		d = d.Add(24*time.Hour - time.Second)
	}
	return d, nil
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04Z") }

func stampPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return stamp(*t)
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// target is the requested Party's node: the case's one recipient (the
// engine holds a case to the kind's bounds, MinRecipients and
// MaxRecipients, when it is opened and when it is folded).
func target(c *workflow.Case) (string, error) {
	if err := bounds.CheckRecipients(len(c.Recipients)); err != nil {
		return "", errors.New(strings.TrimPrefix(err.Error(), workflow.ErrInput.Error()+": "))
	}
	return c.Recipients[0], nil
}

func allowed(c *workflow.Case, node, action string) error {
	switch {
	case slices.Contains(TargetActions, action):
		t, err := target(c)
		if err != nil {
			return err
		}
		if node != t {
			return fmt.Errorf("only the requested Party's node answers a preservation request (%s)", action)
		}
	case slices.Contains(RequesterActions, action):
		if node != c.Origin {
			return fmt.Errorf("only the requesting Party's node may %s", action)
		}
	default:
		return fmt.Errorf("%q is not an action of the preservation workflow", action)
	}
	return nil
}

// viewOf reads the kind's view out of a folded state.
func viewOf(st *workflow.State) View {
	switch v := st.View.(type) {
	case View:
		return v
	case *View:
		return *v
	}
	var v View
	if b, err := json.Marshal(st.View); err == nil {
		_ = json.Unmarshal(b, &v)
	}
	return v
}
