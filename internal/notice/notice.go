// Package notice is the due-diligence workflow: a state notifies the state
// from whose territory malicious ICT activity comes — addresses, prefixes,
// domain names, URLs, AS numbers, with references to the evidence — and
// asks it to act, as the UN norm of responsible state behaviour expects
// (GGE 2015 report, norm 13(c): a state should not knowingly allow its
// territory to be used for internationally wrongful acts using ICTs; norm
// 13(h): it should respond to appropriate requests for assistance). The
// notified node answers: action taken (what was done), investigating, or
// no action (why). The sender sees, per recipient, when the notice was
// delivered, how long the first response and the final answer took, and
// whether the response deadline was met.
//
// Objects: the case is an x-entraide-notice (declared by Extension), sent
// to one or more nodes; its steps are x-entraide-step with transition
// "respond" (by a recipient: answer, action_taken, reason, comment),
// "remind" (by the sender: comment, and a new respond_by for those who have
// not responded) or "close" (by the sender: outcome). A recipient may
// respond several times (investigating, then action-taken): the latest
// answer counts, the first response is what meets the deadline. Answers
// go to the sender only: a recipient does not learn what another state
// answered.
package notice

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/vocab"
	"github.com/entraide/entraide/internal/workflow"
)

// Type is the STIX type of a notice.
const Type = "x-entraide-notice"

// The actions of the workflow.
const (
	ActionRespond = "respond" // a recipient answers
	ActionRemind  = "remind"  // the sender reminds those who have not answered
	ActionClose   = "close"   // the sender closes the notice
)

// Answers a recipient gives.
const (
	AnswerActionTaken   = "action-taken"  // with action_taken: what was done
	AnswerInvestigating = "investigating" // not final
	AnswerNoAction      = "no-action"     // with reason: why not
)

// Answers lists the answers, in the order help texts give them.
var Answers = []string{AnswerActionTaken, AnswerInvestigating, AnswerNoAction}

// Final reports whether an answer settles the notice for its recipient.
func Final(answer string) bool { return answer == AnswerActionTaken || answer == AnswerNoAction }

// DefaultRespondWithin is the response deadline when none is given: three
// days, the usual expectation between national CSIRTs for a request to act
// on infrastructure.
const DefaultRespondWithin = 72 * time.Hour

// EvidenceTypes are the STIX types an evidence reference may name.
var EvidenceTypes = []string{"indicator", "observed-data", "sighting", "report", "grouping", "note",
	"infrastructure", "malware", "malware-analysis", "incident"}

// Limits of the texts and lists of a notice.
const (
	maxTitle       = 300
	maxDescription = 20000
	maxText        = 5000
	maxEvidence    = 500
	maxActivity    = 20
)

//go:embed notice-v1.json
var schema []byte

// Extension declares x-entraide-notice.
var Extension = workflow.Extension{
	ID:   workflow.ExtensionID("https://entraide.example/schemas/notice-v1.json"),
	Name: "entraide-notice",
	Description: "A due-diligence notice (UN GGE 2015 norm 13(c)): a state notifies the state from whose territory malicious " +
		"ICT activity comes and asks it to act. Name, description, RSIT activity types, network indicators (addresses, " +
		"prefixes, domain names, URLs, AS numbers), evidence references, the action requested, the response deadline, " +
		"optional common severity and first/last seen times.",
	SchemaURL: "https://entraide.example/schemas/notice-v1.json",
	Version:   "1.0",
	Type:      "new-sdo",
	Schema:    schema,
}

// Kind is the due-diligence notice workflow.
var Kind = &workflow.Kind{
	Name:      "notice",
	CaseType:  Type,
	Extension: Extension,
	Actions:   []string{ActionRespond, ActionRemind, ActionClose},
	Open:      open,
	Act:       act,
	Allowed:   allowed,
	Fold:      fold,
}

// Input is what sending a notice takes (besides to, communities, tlp).
type Input struct {
	Title            string   `json:"title"`
	Description      string   `json:"description,omitempty"`
	Activity         []string `json:"activity"`   // RSIT class:type ids (availability:ddos)
	Indicators       []string `json:"indicators"` // ParseIndicator forms
	Evidence         []string `json:"evidence,omitempty"`
	RequestedAction  string   `json:"requested_action"`
	RespondBy        string   `json:"respond_by,omitempty"`        // a duration (72h, 3d) or a time; default 72h
	Severity         string   `json:"severity,omitempty"`          // 0–5 or a name
	NationalSeverity string   `json:"national_severity,omitempty"` // a level of the node's national scale
	FirstSeen        string   `json:"first_seen,omitempty"`        // RFC 3339
	LastSeen         string   `json:"last_seen,omitempty"`         // RFC 3339
}

func open(env *workflow.Env, in json.RawMessage) (workflow.Draft, error) {
	var i Input
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	title, err := workflow.Text("title", i.Title, true, maxTitle)
	if err != nil {
		return workflow.Draft{}, err
	}
	desc, err := workflow.Text("description", i.Description, false, maxDescription)
	if err != nil {
		return workflow.Draft{}, err
	}
	activity, err := Activity(i.Activity)
	if err != nil {
		return workflow.Draft{}, err
	}
	if len(i.Indicators) == 0 {
		return workflow.Draft{}, workflow.Inputf("indicators are required: the addresses, prefixes, domain names, URLs or AS numbers the activity comes from")
	}
	inds, err := ParseIndicators(i.Indicators)
	if err != nil {
		return workflow.Draft{}, workflow.Inputf("%v", err)
	}
	if len(i.Evidence) > maxEvidence {
		return workflow.Draft{}, workflow.Inputf("%d evidence references; at most %d: group them in a report and reference the report", len(i.Evidence), maxEvidence)
	}
	evidence, err := workflow.Refs(i.Evidence, EvidenceTypes...)
	if err != nil {
		return workflow.Draft{}, err
	}
	req, err := required("requested_action", i.RequestedAction, "say what you ask the notified state to do: take down, block, investigate, preserve logs, …")
	if err != nil {
		return workflow.Draft{}, err
	}
	props, _, err := env.Severity(i.Severity, i.NationalSeverity, false)
	if err != nil {
		return workflow.Draft{}, err
	}
	first, err := seen(env, "first_seen", i.FirstSeen)
	if err != nil {
		return workflow.Draft{}, err
	}
	last, err := seen(env, "last_seen", i.LastSeen)
	if err != nil {
		return workflow.Draft{}, err
	}
	if !first.IsZero() && !last.IsZero() && last.Before(first) {
		return workflow.Draft{}, workflow.Inputf("last_seen %s is before first_seen %s", workflow.Timestamp(last), workflow.Timestamp(first))
	}
	respondBy, err := env.Deadline("respond_by", i.RespondBy, DefaultRespondWithin)
	if err != nil {
		return workflow.Draft{}, err
	}
	props["name"] = title
	if desc != "" {
		props["description"] = desc
	}
	props["activity_types"] = activity
	props["indicators"] = inds
	if len(evidence) > 0 {
		props["evidence_refs"] = evidence
	}
	props["requested_action"] = req
	props["respond_by"] = workflow.Timestamp(respondBy)
	if !first.IsZero() {
		props["first_seen"] = workflow.Timestamp(first)
	}
	if !last.IsZero() {
		props["last_seen"] = workflow.Timestamp(last)
	}
	return workflow.Draft{Props: props}, nil
}

// Activity checks RSIT incident types (class:type, vocab.RSIT): at least
// one, repeats dropped.
func Activity(ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, workflow.Inputf("activity is required: at least one RSIT type such as availability:ddos, malicious-code:c2-server, fraud:phishing (see 'entraide vocab rsit')")
	}
	out := []string{}
	for _, id := range ids {
		if _, ok := vocab.RSITClass(id); !ok {
			if _, cat := vocab.RSITCategory(id); cat {
				return nil, workflow.Inputf("activity %q is an RSIT class: give one of its types (%s:…, see 'entraide vocab rsit')", id, id)
			}
			return nil, fmt.Errorf("%w: activity: %v", workflow.ErrInput, vocab.UnknownRSIT(id))
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > maxActivity {
		return nil, workflow.Inputf("%d activity types; at most %d", len(out), maxActivity)
	}
	return out, nil
}

// seen reads first_seen or last_seen: an RFC 3339 time, not in the future.
func seen(env *workflow.Env, field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, workflow.Inputf("%s: %q is not an RFC 3339 time (2026-03-01T06:00:00Z)", field, s)
	}
	if t.After(env.Now) {
		return time.Time{}, workflow.Inputf("%s: %s is in the future (now is %s)", field, t.UTC().Format(time.RFC3339), env.Now.UTC().Format(time.RFC3339))
	}
	return t.UTC(), nil
}

// RespondInput is what responding takes: the answer, what was done
// (action-taken: required), why not (no-action: required), a comment.
type RespondInput struct {
	Answer      string `json:"answer"`
	ActionTaken string `json:"action_taken,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Comment     string `json:"comment,omitempty"`
}

// RemindInput is what reminding takes: a comment, and a new deadline for
// the recipients who have not responded yet.
type RemindInput struct {
	Comment   string `json:"comment,omitempty"`
	RespondBy string `json:"respond_by,omitempty"`
}

// CloseInput is what closing takes: the outcome, in a few words.
type CloseInput struct {
	Outcome string `json:"outcome"`
}

func act(env *workflow.Env, c *workflow.Case, st *workflow.State, action string, in json.RawMessage) (workflow.Draft, error) {
	if !st.Open {
		return workflow.Draft{}, workflow.Inputf("the notice is %s", st.Status)
	}
	v, known := st.View.(View)
	props := map[string]any{}
	switch action {
	case ActionRespond:
		var i RespondInput
		if err := workflow.DecodeStrict(in, &i); err != nil {
			return workflow.Draft{}, err
		}
		if !slices.Contains(Answers, i.Answer) {
			return workflow.Draft{}, workflow.Inputf("answer %q: want action-taken, investigating or no-action", i.Answer)
		}
		did, err := workflow.Text("action_taken", i.ActionTaken, false, maxText)
		if err != nil {
			return workflow.Draft{}, err
		}
		if did == "" && i.Answer == AnswerActionTaken {
			return workflow.Draft{}, workflow.Inputf("action_taken is required with answer action-taken: say what was done (taken down, blocked, owner notified, …)")
		}
		reason, err := workflow.Text("reason", i.Reason, false, maxText)
		if err != nil {
			return workflow.Draft{}, err
		}
		if reason == "" && i.Answer == AnswerNoAction {
			return workflow.Draft{}, workflow.Inputf("reason is required with answer no-action: say why (not in our jurisdiction, insufficient evidence, not malicious, …)")
		}
		if did != "" && i.Answer != AnswerActionTaken {
			return workflow.Draft{}, workflow.Inputf("action_taken goes with answer action-taken, not %s: use comment", i.Answer)
		}
		if reason != "" && i.Answer != AnswerNoAction {
			return workflow.Draft{}, workflow.Inputf("reason goes with answer no-action, not %s: use comment", i.Answer)
		}
		comment, err := workflow.Text("comment", i.Comment, false, maxText)
		if err != nil {
			return workflow.Draft{}, err
		}
		props["answer"] = i.Answer
		set(props, "action_taken", did)
		set(props, "reason", reason)
		set(props, "comment", comment)
	case ActionRemind:
		var i RemindInput
		if err := workflow.DecodeStrict(in, &i); err != nil {
			return workflow.Draft{}, err
		}
		comment, err := workflow.Text("comment", i.Comment, false, maxText)
		if err != nil {
			return workflow.Draft{}, err
		}
		if known && v.Answered == len(v.Recipients) {
			return workflow.Draft{}, workflow.Inputf("every recipient has given a final answer: nobody to remind (close the notice when you are done)")
		}
		by, err := env.Deadline("respond_by", i.RespondBy, 0)
		if err != nil {
			return workflow.Draft{}, err
		}
		set(props, "comment", comment)
		if !by.IsZero() {
			props["respond_by"] = workflow.Timestamp(by)
		}
	case ActionClose:
		var i CloseInput
		if err := workflow.DecodeStrict(in, &i); err != nil {
			return workflow.Draft{}, err
		}
		outcome, err := required("outcome", i.Outcome, "say how the notice ends: activity stopped, infrastructure taken down, no answer, …")
		if err != nil {
			return workflow.Draft{}, err
		}
		props["outcome"] = outcome
	}
	return workflow.Draft{Props: props}, nil
}

// required is workflow.Text for a required text, with a hint of what to
// write when it is missing.
func required(field, s, hint string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", workflow.Inputf("%s is required: %s", field, hint)
	}
	return workflow.Text(field, s, true, maxText)
}

func set(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func allowed(c *workflow.Case, node, action string) error {
	switch action {
	case ActionRespond:
		if node == c.Origin {
			return fmt.Errorf("the sender of a notice does not respond to it")
		}
	case ActionRemind, ActionClose:
		if node != c.Origin {
			return fmt.Errorf("only the sender of a notice may %s it", action)
		}
	}
	return nil
}

// View is the notice's state as show and the API present it.
type View struct {
	Activity         []string        `json:"activity_types"`
	Indicators       []Indicator     `json:"indicators"`
	Evidence         []string        `json:"evidence_refs"`
	RequestedAction  string          `json:"requested_action"`
	Severity         int             `json:"severity"` // -1: none given
	NationalSeverity json.RawMessage `json:"national_severity,omitempty"`
	FirstSeen        *time.Time      `json:"first_seen,omitempty"`
	LastSeen         *time.Time      `json:"last_seen,omitempty"`
	RespondBy        time.Time       `json:"respond_by"` // as sent
	Recipients       []Recipient     `json:"recipients"`
	Responded        int             `json:"responded"` // recipients that responded at least once
	Answered         int             `json:"answered"`  // recipients whose latest answer is final
	Reminders        []Reminder      `json:"reminders"`
	ClosedAt         *time.Time      `json:"closed_at,omitempty"`
	ClosedBy         string          `json:"closed_by,omitempty"`
	Outcome          string          `json:"outcome,omitempty"`
}

// Recipient is one notified node's response and its delays, measured from
// the notice's creation.
type Recipient struct {
	Node      string    `json:"node"`
	RespondBy time.Time `json:"respond_by"` // the deadline in force: the notice's, or a reminder's
	// FirstResponseAt is the first response, whatever its answer: what
	// meets the deadline. Late says it came after RespondBy.
	FirstResponseAt *time.Time `json:"first_response_at,omitempty"`
	FirstDelay      *int64     `json:"first_response_delay_seconds,omitempty"`
	Late            bool       `json:"late"`
	// FinalAt is when the recipient reached the final answer it holds now
	// (action-taken or no-action, not withdrawn since by investigating);
	// nil while its latest answer is investigating or it has not responded.
	FinalAt     *time.Time `json:"final_answer_at,omitempty"`
	FinalDelay  *int64     `json:"final_answer_delay_seconds,omitempty"`
	Answer      string     `json:"answer,omitempty"` // the latest answer
	ActionTaken string     `json:"action_taken,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	Comment     string     `json:"comment,omitempty"`
	Actor       string     `json:"actor,omitempty"`
	AnsweredAt  *time.Time `json:"answered_at,omitempty"` // the latest response
	Responses   int        `json:"responses"`
	Reminded    int        `json:"reminded"` // reminders sent while it had no final answer
	// History is every response of the recipient, oldest first.
	History []Response `json:"history"`
}

// Response is one response of a recipient.
type Response struct {
	At          time.Time `json:"at"`
	Actor       string    `json:"actor"`
	Answer      string    `json:"answer"`
	ActionTaken string    `json:"action_taken,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Comment     string    `json:"comment,omitempty"`
}

// Reminder is one reminder the sender sent.
type Reminder struct {
	At        time.Time  `json:"at"`
	Actor     string     `json:"actor"`
	Comment   string     `json:"comment,omitempty"`
	RespondBy *time.Time `json:"respond_by,omitempty"`
}

// fold computes the state. It sorts the steps by (created, id) and counts
// a step id once itself, so that its result depends on the set of steps
// only, however they are handed to it.
func fold(c *workflow.Case, in []workflow.Step) workflow.State {
	steps := slices.Clone(in)
	sort.SliceStable(steps, func(i, j int) bool {
		if !steps[i].At.Equal(steps[j].At) {
			return steps[i].At.Before(steps[j].At)
		}
		return steps[i].ID < steps[j].ID
	})
	steps = slices.CompactFunc(steps, func(a, b workflow.Step) bool { return a.ID == b.ID })

	v := View{Severity: -1, Activity: []string{}, Indicators: []Indicator{}, Evidence: []string{},
		Recipients: []Recipient{}, Reminders: []Reminder{}}
	var title string
	c.Get("name", &title)
	c.Get("activity_types", &v.Activity)
	c.Get("indicators", &v.Indicators)
	c.Get("evidence_refs", &v.Evidence)
	c.Get("requested_action", &v.RequestedAction)
	c.Get("common_severity", &v.Severity)
	c.Get("national_severity", &v.NationalSeverity)
	v.RespondBy = timeProp(c.Props, "respond_by")
	if t := timeProp(c.Props, "first_seen"); !t.IsZero() {
		v.FirstSeen = &t
	}
	if t := timeProp(c.Props, "last_seen"); !t.IsZero() {
		v.LastSeen = &t
	}
	idx := map[string]int{}
	for _, r := range c.Recipients {
		if _, dup := idx[r]; dup || r == c.Origin {
			continue
		}
		idx[r] = len(v.Recipients)
		v.Recipients = append(v.Recipients, Recipient{Node: r, RespondBy: v.RespondBy, History: []Response{}})
	}
	delay := func(t time.Time) *int64 {
		d := int64(t.Sub(c.Created).Round(time.Second) / time.Second)
		return &d
	}
	for _, s := range steps {
		at := s.At
		switch s.Action {
		case ActionRespond:
			i, ok := idx[s.Node]
			if !ok {
				continue // not a recipient: the engine's fold has said why
			}
			r := &v.Recipients[i]
			var answer string
			s.Get("answer", &answer)
			if !slices.Contains(Answers, answer) {
				continue
			}
			if r.FirstResponseAt == nil {
				r.FirstResponseAt, r.FirstDelay = &at, delay(at)
				r.Late = at.After(r.RespondBy)
			}
			switch {
			case !Final(answer):
				r.FinalAt, r.FinalDelay = nil, nil
			case r.FinalAt == nil:
				r.FinalAt, r.FinalDelay = &at, delay(at)
			}
			resp := Response{At: at, Actor: s.Actor, Answer: answer}
			s.Get("action_taken", &resp.ActionTaken)
			s.Get("reason", &resp.Reason)
			s.Get("comment", &resp.Comment)
			r.History = append(r.History, resp)
			r.Responses++
			r.Answer, r.Actor, r.AnsweredAt = answer, s.Actor, &at
			r.ActionTaken, r.Reason, r.Comment = resp.ActionTaken, resp.Reason, resp.Comment
		case ActionRemind:
			if s.Node != c.Origin {
				continue
			}
			rm := Reminder{At: at, Actor: s.Actor}
			s.Get("comment", &rm.Comment)
			if t := timeProp(s.Props, "respond_by"); !t.IsZero() {
				rm.RespondBy = &t
			}
			for i := range v.Recipients {
				r := &v.Recipients[i]
				if r.FinalAt != nil {
					continue
				}
				r.Reminded++
				if rm.RespondBy != nil && r.FirstResponseAt == nil {
					r.RespondBy = *rm.RespondBy
				}
			}
			v.Reminders = append(v.Reminders, rm)
		case ActionClose:
			if s.Node != c.Origin || v.ClosedAt != nil {
				continue
			}
			v.ClosedAt, v.ClosedBy = &at, s.Actor
			s.Get("outcome", &v.Outcome)
		}
	}
	st := workflow.State{Title: title, Severity: v.Severity, Deadlines: []workflow.Deadline{}}
	for _, r := range v.Recipients {
		if r.FirstResponseAt != nil {
			v.Responded++
		}
		if r.FinalAt != nil {
			v.Answered++
		}
		st.Deadlines = append(st.Deadlines, workflow.Deadline{What: "respond", Party: r.Node, Due: r.RespondBy, DoneAt: r.FirstResponseAt})
	}
	n := len(v.Recipients)
	switch {
	case v.ClosedAt != nil:
		st.Status, st.Open = "closed", false
	case v.Answered == n:
		st.Status, st.Open = "answered", true
	case v.Responded == n:
		st.Status, st.Open = fmt.Sprintf("investigating (%d of %d answered)", v.Answered, n), true
	default:
		st.Status, st.Open = fmt.Sprintf("awaiting %d of %d responses", n-v.Responded, n), true
	}
	st.View = v
	return st
}

func timeProp(m map[string]json.RawMessage, name string) time.Time {
	var s string
	if raw, ok := m[name]; !ok || json.Unmarshal(raw, &s) != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
