package preservation

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/workflow"
)

// The requested Party's answers.
const (
	AnswerExecuted = "executed"
	AnswerPartial  = "partial"
	AnswerRefused  = "refused"
)

// View is a preservation request's state as show, list, the report and
// the API present it.
type View struct {
	Target             string     `json:"target"`         // identity id of the requested Party's node
	TargetCountry      string     `json:"target_country"` // ISO 3166-1 alpha-2
	Offence            string     `json:"offence"`
	Opened             time.Time  `json:"opened"`
	AckBy              time.Time  `json:"ack_by"`
	RemindDays         int        `json:"remind_days"` // the expiry reminder falls due this many days before
	ChainedFromRef     string     `json:"chained_from_ref,omitempty"`
	ChainedFromCaseRef string     `json:"chained_from_case_ref,omitempty"`
	AcknowledgedAt     *time.Time `json:"acknowledged_at,omitempty"` // the requested Party's first step
	// Answer is executed, partial or refused; "" while none came.
	Answer         string             `json:"answer"`
	AnsweredAt     *time.Time         `json:"answered_at,omitempty"` // the first execute, partial or refuse
	Reference      string             `json:"reference,omitempty"`   // the requested Party's file reference
	PreservedUntil *time.Time         `json:"preserved_until,omitempty"`
	Preserved      string             `json:"preserved,omitempty"`     // partial execution: what was preserved
	NotPreserved   string             `json:"not_preserved,omitempty"` // and what was not
	Refusal        *Refusal           `json:"refusal,omitempty"`
	Disclosures    []DisclosureView   `json:"disclosures"`
	Extensions     []ExtensionRequest `json:"extensions"`
	MLA            *MLA               `json:"mla,omitempty"`
	Withdrawn      *Withdrawal        `json:"withdrawn,omitempty"`
	// Warnings are the steps the fold left out, and answers that break a
	// rule of the Convention (a preservation shorter than 60 days).
	Warnings []string `json:"warnings"`
}

// Refusal is the requested Party's refusal.
type Refusal struct {
	Step        string    `json:"step"`
	At          time.Time `json:"at"`
	Ground      string    `json:"ground"`
	Explanation string    `json:"explanation"`
}

// DisclosureView is an Art. 30 disclosure with the step that made it (the
// id a chained request names).
type DisclosureView struct {
	Disclosure
	Step string    `json:"step"`
	At   time.Time `json:"at"`
}

// ExtensionRequest is an extension the requester asked, and its decision.
type ExtensionRequest struct {
	Step        string     `json:"step"`
	At          time.Time  `json:"at"`
	Until       time.Time  `json:"until"`   // the date asked
	Expires     time.Time  `json:"expires"` // the preservation's expiry when it was asked
	Comment     string     `json:"comment,omitempty"`
	Decision    string     `json:"decision,omitempty"` // granted, declined; "" while pending
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
	Granted     *time.Time `json:"granted_until,omitempty"`
	Explanation string     `json:"explanation,omitempty"`
}

// MLA is the mutual assistance request that follows the preservation.
type MLA struct {
	Step      string    `json:"step"`
	At        time.Time `json:"at"` // when it was recorded
	Reference string    `json:"reference"`
	SentOn    time.Time `json:"sent_on"`
}

// Withdrawal is the requester's withdrawal.
type Withdrawal struct {
	Step    string    `json:"step"`
	At      time.Time `json:"at"`
	Comment string    `json:"comment,omitempty"`
}

// PendingExtension returns the extension waiting for a decision, or nil.
func (v *View) PendingExtension() *ExtensionRequest {
	for i := range v.Extensions {
		if v.Extensions[i].Decision == "" {
			return &v.Extensions[i]
		}
	}
	return nil
}

// expiry is one preservation period's reminder.
type expiry struct {
	until  time.Time
	doneAt *time.Time
}

func stepTime(s *workflow.Step, name string) (time.Time, bool) {
	var raw string
	if !s.Get(name, &raw) {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

func stepString(s *workflow.Step, name string) string {
	var v string
	s.Get(name, &v)
	return v
}

// Fold is the workflow's fold, for tools that hold a case and its steps
// outside an engine (the chained request, tests).
func Fold(c *workflow.Case, steps []workflow.Step) workflow.State { return fold(c, steps) }

// folder applies steps to a view.
type folder struct {
	c        *workflow.Case
	v        View
	target   string
	terr     error // the case does not name exactly one recipient
	expiries []expiry
}

// Steps are applied in causal order rather than strictly by their
// timestamps: each node stamps its steps with its own clock, and a reply
// may carry an earlier time than the request it answers (an extension
// granted "before" it was asked, when the clocks of the two nodes differ
// by a second). So the fold applies, again and again, the earliest step
// that applies to the state so far; the steps that never apply are left
// out, with why. The result depends on the set of steps only.
func fold(c *workflow.Case, steps []workflow.Step) workflow.State {
	f := &folder{c: c, v: View{Opened: c.Created, Disclosures: []DisclosureView{}, Extensions: []ExtensionRequest{}, Warnings: []string{}}}
	v := &f.v
	c.Get("target_country", &v.TargetCountry)
	c.Get("offence", &v.Offence)
	var ackBy string
	c.Get("ack_by", &ackBy)
	v.AckBy, _ = time.Parse(time.RFC3339Nano, ackBy)
	v.RemindDays = int(DefaultRemindBefore / (24 * time.Hour))
	c.Get("remind_days", &v.RemindDays)
	c.Get("chained_from_ref", &v.ChainedFromRef)
	c.Get("chained_from_case_ref", &v.ChainedFromCaseRef)
	var name string
	c.Get("name", &name)
	f.target, f.terr = target(c)
	if f.terr != nil {
		v.Warnings = append(v.Warnings, f.terr.Error())
	}
	v.Target = f.target

	pending := workflow.Ordered(steps)
	why := make([]string, len(pending))
	for {
		applied := false
		for i := range pending {
			if why[i] = f.apply(&pending[i]); why[i] == "" {
				pending = slices.Delete(pending, i, i+1)
				why = slices.Delete(why, i, i+1)
				applied = true
				break
			}
		}
		if !applied {
			break
		}
	}
	for i, s := range pending {
		v.Warnings = append(v.Warnings, fmt.Sprintf("%s %s (%s) left out: %s", s.Action, s.ID, stamp(s.At), why[i]))
	}

	st := workflow.State{Title: name, Severity: -1}
	if f.terr == nil {
		st.Deadlines = append(st.Deadlines, workflow.Deadline{What: "acknowledge", Party: f.target, Due: v.AckBy, DoneAt: v.AcknowledgedAt})
	}
	remind := time.Duration(v.RemindDays) * 24 * time.Hour
	for _, e := range f.expiries {
		st.Deadlines = append(st.Deadlines, workflow.Deadline{
			What:  "send the MLA request or ask an extension: preservation ends " + day(e.until),
			Party: c.Origin, Due: e.until.Add(-remind), DoneAt: e.doneAt})
	}
	for _, x := range v.Extensions {
		if f.terr == nil {
			st.Deadlines = append(st.Deadlines, workflow.Deadline{What: "decide on the extension to " + day(x.Until), Party: f.target, Due: x.Expires, DoneAt: x.DecidedAt})
		}
	}
	st.Status, st.Open = status(v)
	st.View = f.v
	return st
}

// pushExpiry starts the reminder of a new preservation period; an earlier
// period nobody acted on is superseded by it.
func (f *folder) pushExpiry(until time.Time) {
	if n := len(f.expiries); n > 0 && f.expiries[n-1].doneAt == nil {
		f.expiries = f.expiries[:n-1]
	}
	e := expiry{until: until}
	if f.v.MLA != nil {
		at := f.v.MLA.At
		e.doneAt = &at
	}
	f.expiries = append(f.expiries, e)
}

func (f *folder) closeExpiries(at time.Time) {
	for i := range f.expiries {
		if f.expiries[i].doneAt == nil {
			f.expiries[i].doneAt = &at
		}
	}
}

// apply applies one step, or says why it does not apply (now).
func (f *folder) apply(s *workflow.Step) string {
	v, c := &f.v, f.c
	at := s.At.UTC()
	byTarget := slices.Contains(TargetActions, s.Action)
	switch {
	case byTarget && (f.terr != nil || s.Node != f.target):
		return "not from the requested Party's node"
	case slices.Contains(RequesterActions, s.Action) && s.Node != c.Origin:
		return "not from the requesting Party's node"
	case !byTarget && !slices.Contains(RequesterActions, s.Action):
		return "not an action of the preservation workflow"
	case v.Withdrawn != nil:
		return "the request was withdrawn before"
	case v.Refusal != nil:
		return "the request was refused before"
	}
	switch s.Action {
	case ActionAcknowledge:
		if v.Reference == "" {
			v.Reference = stepString(s, "reference")
		}
	case ActionExecute, ActionPartial:
		if v.Answer == AnswerExecuted || (s.Action == ActionPartial && v.Answer == AnswerPartial) {
			return "the request was already " + v.Answer
		}
		until, ok := stepTime(s, "preserved_until")
		if !ok {
			return "no valid preserved_until"
		}
		if until.Before(at.Add(MinPreservation)) {
			v.Warnings = append(v.Warnings, fmt.Sprintf("%s %s preserves until %s, less than 60 days after %s (Art. 29(7))", s.Action, s.ID, stamp(until), stamp(at)))
		}
		if s.Action == ActionExecute {
			v.Answer = AnswerExecuted
			v.Preserved, v.NotPreserved = "", ""
		} else {
			v.Answer = AnswerPartial
			v.Preserved, v.NotPreserved = stepString(s, "preserved"), stepString(s, "not_preserved")
		}
		if v.AnsweredAt == nil || at.Before(*v.AnsweredAt) {
			v.AnsweredAt = &at
		}
		v.PreservedUntil = &until
		f.pushExpiry(until)
		if r := stepString(s, "reference"); r != "" {
			v.Reference = r
		}
		v.addDisclosures(s)
	case ActionRefuse:
		if v.Answer != "" {
			return "the request was already " + v.Answer
		}
		r := Refusal{Step: s.ID, At: at, Ground: stepString(s, "ground"), Explanation: stepString(s, "explanation")}
		if _, ok := LookupGround(r.Ground); !ok {
			v.Warnings = append(v.Warnings, fmt.Sprintf("refuse %s gives no ground of Art. 29(4)/(5) (%q)", s.ID, r.Ground))
		}
		v.Answer, v.AnsweredAt, v.Refusal = AnswerRefused, &at, &r
	case ActionDisclose:
		v.addDisclosures(s)
	case ActionExtend:
		until, ok := stepTime(s, "preserved_until")
		switch {
		case v.PreservedUntil == nil:
			return "nothing was preserved"
		case v.PendingExtension() != nil:
			return "an extension was already waiting for a decision"
		case !ok || !until.After(*v.PreservedUntil):
			return "the date asked is not after the expiry"
		}
		f.closeExpiries(at)
		v.Extensions = append(v.Extensions, ExtensionRequest{Step: s.ID, At: at, Until: until, Expires: *v.PreservedUntil, Comment: stepString(s, "comment")})
	case ActionExtendGranted:
		p := v.PendingExtension()
		if p == nil {
			return "no extension was waiting for a decision"
		}
		until, ok := stepTime(s, "preserved_until")
		if !ok {
			until = p.Until
		}
		if !until.After(*v.PreservedUntil) {
			return "the date granted is not after the expiry"
		}
		p.Decision, p.DecidedAt, p.Granted = "granted", &at, &until
		v.PreservedUntil = &until
		f.pushExpiry(until)
	case ActionExtendDeclined:
		p := v.PendingExtension()
		if p == nil {
			return "no extension was waiting for a decision"
		}
		p.Decision, p.DecidedAt, p.Explanation = "declined", &at, stepString(s, "explanation")
		f.pushExpiry(*v.PreservedUntil) // the reminder stands again
	case ActionMLASent:
		if v.MLA != nil {
			return "the MLA request was already recorded"
		}
		sent, _ := stepTime(s, "sent_on")
		v.MLA = &MLA{Step: s.ID, At: at, Reference: stepString(s, "mla_reference"), SentOn: sent}
		f.closeExpiries(at)
	case ActionWithdraw:
		v.Withdrawn = &Withdrawal{Step: s.ID, At: at, Comment: stepString(s, "comment")}
	}
	if byTarget && (v.AcknowledgedAt == nil || at.Before(*v.AcknowledgedAt)) {
		v.AcknowledgedAt = &at // any answer acknowledges the request
	}
	return ""
}

func (v *View) addDisclosures(s *workflow.Step) {
	var ds []Disclosure
	s.Get("disclosures", &ds)
	for _, d := range ds {
		v.Disclosures = append(v.Disclosures, DisclosureView{Disclosure: d, Step: s.ID, At: s.At.UTC()})
	}
}

func status(v *View) (string, bool) {
	switch {
	case v.Withdrawn != nil:
		return "withdrawn", false
	case v.Refusal != nil:
		return "refused (" + v.Refusal.Ground + ")", false
	}
	var parts []string
	switch {
	case v.Answer == AnswerExecuted:
		parts = append(parts, "preserved until "+day(*v.PreservedUntil))
	case v.Answer == AnswerPartial:
		parts = append(parts, "partially preserved until "+day(*v.PreservedUntil))
	case v.AcknowledgedAt != nil:
		parts = append(parts, "acknowledged, awaiting execution")
	default:
		parts = append(parts, "awaiting acknowledgement")
	}
	if p := v.PendingExtension(); p != nil {
		parts = append(parts, "extension to "+day(p.Until)+" asked")
	}
	if v.MLA != nil {
		parts = append(parts, "MLA request "+v.MLA.Reference+" sent")
	}
	return strings.Join(parts, ", "), true
}

// Decode reads a View from a case's detail (workflow.View.Detail,
// workflow.Summary.Detail).
func Decode(detail json.RawMessage) (View, error) {
	var v View
	if len(detail) == 0 {
		return v, fmt.Errorf("preservation: no detail")
	}
	err := json.Unmarshal(detail, &v)
	return v, err
}
