// Package incident is the incident workflow: a node opens an incident with
// partners (national CSIRTs, competent authorities, cyber hubs) and the
// parties coordinate it — common severity and each node's national level,
// status, RSIT classification, impact, affected NIS2 sectors and
// countries, participants, tasks with an owner node and a due date, and a
// timeline of every change with its note. The opener keeps its NIS2
// reporting clock on the case: from detection, the early warning is due at
// 24 hours, the incident notification at 72 hours, and the final report one
// calendar month after the notification (Directive (EU) 2022/2555, art.
// 23(4)); the node shows what is due and when, and records when each
// report was sent.
//
// Objects: the case is a standard STIX incident (name, description at the
// top level) carrying the incident-v1 property extension (Extension); every
// change is an x-entraide-step with transition update, task-add, task-done,
// nis2-sent, join or close. Participants' steps go to every participant
// this node peers with, so that all sides hold the same signed history.
//
// The state is a pure fold of the case and its steps, whatever their order
// of arrival: each field (status, severity, classification, …) is a
// last-writer-wins register keyed by (time, object id), tasks and references
// only grow, a task is done from its first valid task-done, a report's
// latest record counts. When the opener invites a node, the join step
// carries a snapshot of the current picture with the time and origin of
// each value, so that the new participant sees what the others see without
// the steps it never received, and a late-arriving older step still loses to
// newer values everywhere.
package incident

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/vocab"
	"github.com/entraide/entraide/internal/workflow"
)

// Type is the STIX type of an incident case: the standard SDO.
const Type = "incident"

// The actions of the workflow.
const (
	ActionUpdate   = "update"    // any party: fields, and a timeline note
	ActionTaskAdd  = "task-add"  // any party: a task with an owner node
	ActionTaskDone = "task-done" // the task's owner, its creator or the opener
	ActionNIS2Sent = "nis2-sent" // the opener: a NIS2 report was sent
	ActionJoin     = "join"      // the opener invites nodes (see Invite); a participant confirms it takes part
	ActionClose    = "close"     // the opener
)

// Actions lists the actions in the order help texts show them.
var Actions = []string{ActionUpdate, ActionTaskAdd, ActionTaskDone, ActionNIS2Sent, ActionJoin, ActionClose}

// Statuses are the handling phases of an incident (NIST SP 800-61); the
// close action, not a status, ends it.
var Statuses = []string{"analysis", "containment", "eradication", "recovery", "post-incident"}

// DefaultStatus is the status of a new incident.
const DefaultStatus = "analysis"

// Outlooks are the values of the MISP NIS2 taxonomy's impact-outlook.
var Outlooks = []string{"improving", "stable", "worsening"}

// RootCauses are the values of the MISP NIS2 taxonomy's nature-root-cause.
var RootCauses = []string{"system-failures", "natural-phenomena", "human-errors", "malicious-actions", "third-party-failures"}

// The NIS2 reports (Directive (EU) 2022/2555, art. 23(4)).
const (
	EarlyWarning       = "early-warning"       // (a) within 24 hours of becoming aware
	Notification       = "notification"        // (b) within 72 hours of becoming aware
	IntermediateReport = "intermediate-report" // (c) upon request of the CSIRT or authority
	ProgressReport     = "progress-report"     // (e) when the incident is ongoing at the final report's deadline
	FinalReport        = "final-report"        // (d) one month after the notification; (e) one month after handling ends
)

// Reports lists the NIS2 reports in their legal order.
var Reports = []string{EarlyWarning, Notification, IntermediateReport, ProgressReport, FinalReport}

// The NIS2 deadlines counted from detection.
const (
	EarlyWarningWithin = 24 * time.Hour
	NotificationWithin = 72 * time.Hour
)

// Text limits.
const (
	maxTitle = 300
	maxText  = 20000
	maxNote  = 5000
	maxShort = 300
)

//go:embed incident-v1.json
var schema []byte

// SchemaURL is where the extension's JSON schema is published.
const SchemaURL = "https://entraide.example/schemas/incident-v1.json"

// Extension declares the incident property extension.
var Extension = workflow.Extension{
	ID:   workflow.ExtensionID(SchemaURL),
	Name: "entraide-incident",
	Description: "An incident coordinated between Entraide nodes: common severity (0–5) and the opener's national level, " +
		"status, RSIT classification, impact, outlook, root cause, NIS2 sectors, countries, detection time and whether the " +
		"NIS2 reporting clock applies, related objects and the participating nodes. Its changes are x-entraide-step objects " +
		"(update, task-add, task-done, nis2-sent, join, close).",
	SchemaURL: SchemaURL,
	Version:   "1.0",
	Type:      "property-extension",
	Schema:    schema,
}

// Kind is the incident workflow.
var Kind = &workflow.Kind{
	Name:              "incident",
	CaseType:          Type,
	Extension:         Extension,
	PropertyExtension: true,
	Actions:           Actions,
	Open:              open,
	Act:               act,
	Allowed:           allowed,
	Fold:              fold,
}

// OpenInput is what opening an incident takes (besides to, communities
// and tlp, which the engine reads).
type OpenInput struct {
	Title            string   `json:"title"`
	Description      string   `json:"description,omitempty"`
	Severity         string   `json:"severity,omitempty"`          // 0–5 or a name
	NationalSeverity string   `json:"national_severity,omitempty"` // a level of the node's national scale
	Status           string   `json:"status,omitempty"`            // default analysis
	RSIT             string   `json:"rsit,omitempty"`              // class:type or class
	Impact           string   `json:"impact,omitempty"`
	Outlook          string   `json:"outlook,omitempty"`
	RootCause        string   `json:"root_cause,omitempty"`
	Sectors          []string `json:"sectors,omitempty"`
	Countries        []string `json:"countries,omitempty"`
	Refs             []string `json:"refs,omitempty"`
	Detected         string   `json:"detected,omitempty"` // ParseWhen; default now
	NIS2             *bool    `json:"nis2,omitempty"`     // default true
}

// UpdateInput is what an update takes: the fields to change, and a note.
type UpdateInput struct {
	Status           string   `json:"status,omitempty"`
	Severity         string   `json:"severity,omitempty"`
	NationalSeverity string   `json:"national_severity,omitempty"`
	RSIT             string   `json:"rsit,omitempty"`
	Impact           string   `json:"impact,omitempty"`
	Outlook          string   `json:"outlook,omitempty"`
	RootCause        string   `json:"root_cause,omitempty"`
	AddSectors       []string `json:"add_sectors,omitempty"`
	RemoveSectors    []string `json:"remove_sectors,omitempty"`
	AddCountries     []string `json:"add_countries,omitempty"`
	RemoveCountries  []string `json:"remove_countries,omitempty"`
	Refs             []string `json:"refs,omitempty"`     // references to add
	Detected         string   `json:"detected,omitempty"` // the opener only
	NIS2             *bool    `json:"nis2,omitempty"`     // the opener only
	Note             string   `json:"note,omitempty"`
}

// TaskAddInput adds a task. Owner is a participant's identity id, or
// "self" (the default).
type TaskAddInput struct {
	Title string `json:"title"`
	Owner string `json:"owner,omitempty"`
	Due   string `json:"due,omitempty"` // a duration (4h, 2d) or an RFC 3339 time
	Note  string `json:"note,omitempty"`
}

// TaskDoneInput marks a task done: its id (the task-add step's id) or a
// unique prefix of its UUID of at least 4 characters.
type TaskDoneInput struct {
	Task string `json:"task"`
	Note string `json:"note,omitempty"`
}

// NIS2SentInput records that a NIS2 report was sent.
type NIS2SentInput struct {
	Report string `json:"report"`
	At     string `json:"at,omitempty"`      // ParseWhen; default now
	SentTo string `json:"sent_to,omitempty"` // the CSIRT or authority, as people name it
	Note   string `json:"note,omitempty"`
}

// JoinInput: from the opener, the nodes (identity ids) it invites, which
// the step makes parties (the engine sends them the incident and its
// history); from another participant, nothing but an optional note (it
// confirms it takes part).
type JoinInput struct {
	Nodes []string `json:"nodes,omitempty"`
	Note  string   `json:"note,omitempty"`
}

// CloseInput closes the incident.
type CloseInput struct {
	Note string `json:"note,omitempty"`
}

func open(env *workflow.Env, in json.RawMessage) (workflow.Draft, error) {
	var i OpenInput
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	title, err := workflow.Text("title", i.Title, true, maxTitle)
	if err != nil {
		return workflow.Draft{}, err
	}
	desc, err := workflow.Text("description", i.Description, false, maxText)
	if err != nil {
		return workflow.Draft{}, err
	}
	props, _, err := env.Severity(i.Severity, i.NationalSeverity, true)
	if err != nil {
		return workflow.Draft{}, err
	}
	status := DefaultStatus
	if i.Status != "" {
		if status, err = checkStatus(i.Status); err != nil {
			return workflow.Draft{}, err
		}
	}
	props["status"] = status
	if i.RSIT != "" {
		r, err := CheckRSIT(i.RSIT)
		if err != nil {
			return workflow.Draft{}, err
		}
		props["rsit"] = r
	}
	impact, err := workflow.Text("impact", i.Impact, false, maxText)
	if err != nil {
		return workflow.Draft{}, err
	}
	if impact != "" {
		props["impact"] = impact
	}
	if i.Outlook != "" {
		if props["outlook"], err = checkEnum("outlook", i.Outlook, Outlooks); err != nil {
			return workflow.Draft{}, err
		}
	}
	if i.RootCause != "" {
		if props["root_cause"], err = checkEnum("root cause", i.RootCause, RootCauses); err != nil {
			return workflow.Draft{}, err
		}
	}
	if props["sectors"], err = workflow.Sectors(i.Sectors); err != nil {
		return workflow.Draft{}, err
	}
	if props["countries"], err = workflow.Countries(i.Countries); err != nil {
		return workflow.Draft{}, err
	}
	refs, err := workflow.Refs(i.Refs)
	if err != nil {
		return workflow.Draft{}, err
	}
	if len(refs) > 0 {
		props["object_refs"] = refs
	}
	detected := env.Now.UTC()
	if i.Detected != "" {
		if detected, err = pastTime("detected", i.Detected, env.Now); err != nil {
			return workflow.Draft{}, err
		}
	}
	props["detected"] = workflow.Timestamp(detected)
	props["nis2_reporting"] = i.NIS2 == nil || *i.NIS2
	top := map[string]any{"name": title}
	if desc != "" {
		top["description"] = desc
	}
	return workflow.Draft{Props: props, Top: top}, nil
}

func act(env *workflow.Env, c *workflow.Case, st *workflow.State, action string, in json.RawMessage) (workflow.Draft, error) {
	v, err := viewOf(st)
	if err != nil {
		return workflow.Draft{}, err
	}
	if v.Closed != nil && action != ActionNIS2Sent {
		return workflow.Draft{}, workflow.Inputf("the incident was closed at %s: only the opener's NIS2 reports can still be recorded", v.Closed.At.UTC().Format(time.RFC3339))
	}
	var d workflow.Draft
	switch action {
	case ActionUpdate:
		d, err = actUpdate(env, c, v, in)
	case ActionTaskAdd:
		d, err = actTaskAdd(env, v, in)
	case ActionTaskDone:
		d, err = actTaskDone(env, c, v, in)
	case ActionNIS2Sent:
		d, err = actNIS2Sent(env, v, in)
	case ActionJoin:
		d, err = actJoin(env, c, v, in)
	case ActionClose:
		var i CloseInput
		if err := workflow.DecodeStrict(in, &i); err != nil {
			return workflow.Draft{}, err
		}
		d.Props = map[string]any{}
		err = setNote(d.Props, i.Note)
	default:
		err = workflow.Inputf("%q is not an action of the incident workflow (%s)", action, strings.Join(Actions, ", "))
	}
	if err != nil {
		return workflow.Draft{}, err
	}
	if env.Self != c.Origin {
		// The engine sends a participant's step to the opener; the
		// other participants this node peers with get it too, so that
		// every side holds the same history.
		d.Recipients = otherParticipants(env, c, v)
	}
	return d, nil
}

// otherParticipants are the participants besides this node and the opener
// that this node can reach.
func otherParticipants(env *workflow.Env, c *workflow.Case, v *View) []string {
	var out []string
	for _, p := range v.Participants {
		if p.Node != env.Self && p.Node != c.Origin && (env.Known == nil || env.Known(p.Node)) {
			out = append(out, p.Node)
		}
	}
	return out
}

func actUpdate(env *workflow.Env, c *workflow.Case, v *View, in json.RawMessage) (workflow.Draft, error) {
	var i UpdateInput
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	props := map[string]any{}
	asked := false
	if i.Status != "" {
		asked = true
		s, err := checkStatus(i.Status)
		if err != nil {
			return workflow.Draft{}, err
		}
		if s != v.Status {
			props["status"] = s
		}
	}
	if i.Severity != "" || i.NationalSeverity != "" {
		asked = true
		sp, level, err := env.Severity(i.Severity, i.NationalSeverity, true)
		if err != nil {
			return workflow.Draft{}, err
		}
		same := level == v.Severity && sameNational(sp["national_severity"], v.NationalSeverity)
		if !same {
			for k, x := range sp {
				props[k] = x
			}
		}
	}
	if i.RSIT != "" {
		asked = true
		r, err := CheckRSIT(i.RSIT)
		if err != nil {
			return workflow.Draft{}, err
		}
		if r != v.RSIT {
			props["rsit"] = r
		}
	}
	if i.Impact != "" {
		asked = true
		s, err := workflow.Text("impact", i.Impact, false, maxText)
		if err != nil {
			return workflow.Draft{}, err
		}
		if s != v.Impact {
			props["impact"] = s
		}
	}
	for _, f := range []struct {
		name, field, in, cur string
		values               []string
	}{{"outlook", "outlook", i.Outlook, v.Outlook, Outlooks}, {"root cause", "root_cause", i.RootCause, v.RootCause, RootCauses}} {
		if f.in == "" {
			continue
		}
		asked = true
		s, err := checkEnum(f.name, f.in, f.values)
		if err != nil {
			return workflow.Draft{}, err
		}
		if s != f.cur {
			props[f.field] = s
		}
	}
	if len(i.AddSectors)+len(i.RemoveSectors) > 0 {
		asked = true
		add, err := workflow.Sectors(i.AddSectors)
		if err != nil {
			return workflow.Draft{}, err
		}
		remove, err := workflow.Sectors(i.RemoveSectors)
		if err != nil {
			return workflow.Draft{}, err
		}
		next, err := edit("sector", v.Sectors, add, remove)
		if err != nil {
			return workflow.Draft{}, err
		}
		if !slices.Equal(next, v.Sectors) {
			props["sectors"] = next
		}
	}
	if len(i.AddCountries)+len(i.RemoveCountries) > 0 {
		asked = true
		add, err := workflow.Countries(i.AddCountries)
		if err != nil {
			return workflow.Draft{}, err
		}
		remove, err := workflow.Countries(i.RemoveCountries)
		if err != nil {
			return workflow.Draft{}, err
		}
		next, err := edit("country", v.Countries, add, remove)
		if err != nil {
			return workflow.Draft{}, err
		}
		if !slices.Equal(next, v.Countries) {
			props["countries"] = next
		}
	}
	if len(i.Refs) > 0 {
		asked = true
		refs, err := workflow.Refs(i.Refs)
		if err != nil {
			return workflow.Draft{}, err
		}
		var fresh []string
		for _, r := range refs {
			if !slices.Contains(v.Refs, r) {
				fresh = append(fresh, r)
			}
		}
		if len(fresh) > 0 {
			props["object_refs"] = fresh
		}
	}
	if i.Detected != "" || i.NIS2 != nil {
		asked = true
		if env.Self != c.Origin {
			return workflow.Draft{}, fmt.Errorf("%w: the detection time and whether NIS2 reporting applies are the opener's: its reporting clock runs from them", workflow.ErrNotParty)
		}
	}
	if i.Detected != "" {
		t, err := pastTime("detected", i.Detected, env.Now)
		if err != nil {
			return workflow.Draft{}, err
		}
		if !t.Equal(v.Detected) {
			props["detected"] = workflow.Timestamp(t)
		}
	}
	if i.NIS2 != nil && *i.NIS2 != v.NIS2.Applies {
		props["nis2_reporting"] = *i.NIS2
	}
	if err := setNote(props, i.Note); err != nil {
		return workflow.Draft{}, err
	}
	if len(props) == 0 {
		if asked {
			return workflow.Draft{}, workflow.Inputf("nothing changes: the incident already has these values (add --note to record a timeline entry)")
		}
		return workflow.Draft{}, workflow.Inputf("nothing to update: give a field to change (status, severity, rsit, impact, outlook, root cause, sectors, countries, refs) or a note")
	}
	return workflow.Draft{Props: props}, nil
}

// sameNational compares a national level as env.Severity returns it with
// the incident's current one.
func sameNational(x any, cur *National) bool {
	if x == nil {
		return cur == nil
	}
	b, err := json.Marshal(x)
	if err != nil || cur == nil {
		return false
	}
	var n National
	return json.Unmarshal(b, &n) == nil && n == *cur
}

// edit adds and removes items of a list, keeping its order.
func edit(what string, cur, add, remove []string) ([]string, error) {
	next := slices.Clone(cur)
	for _, r := range remove {
		i := slices.Index(next, r)
		if i < 0 {
			return nil, workflow.Inputf("%s %s is not listed (listed: %s)", what, r, listOrNone(cur))
		}
		next = slices.Delete(next, i, i+1)
	}
	for _, a := range add {
		if !slices.Contains(next, a) {
			next = append(next, a)
		}
	}
	if next == nil {
		next = []string{}
	}
	return next, nil
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

func actTaskAdd(env *workflow.Env, v *View, in json.RawMessage) (workflow.Draft, error) {
	var i TaskAddInput
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	title, err := workflow.Text("title", i.Title, true, maxTitle)
	if err != nil {
		return workflow.Draft{}, err
	}
	owner := strings.TrimSpace(i.Owner)
	if owner == "" || owner == "self" {
		owner = env.Self
	}
	if !v.isParticipant(owner) {
		return workflow.Draft{}, workflow.Inputf("owner %s is not a participant in the incident: the opener invites a node with 'entraide incident join ID --node NODE'", owner)
	}
	due, err := env.Deadline("due", i.Due, 0)
	if err != nil {
		return workflow.Draft{}, err
	}
	props := map[string]any{"title": title, "owner_ref": owner}
	if !due.IsZero() {
		props["due"] = workflow.Timestamp(due)
	}
	if err := setNote(props, i.Note); err != nil {
		return workflow.Draft{}, err
	}
	return workflow.Draft{Props: props}, nil
}

func actTaskDone(env *workflow.Env, c *workflow.Case, v *View, in json.RawMessage) (workflow.Draft, error) {
	var i TaskDoneInput
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	t, err := v.FindTask(i.Task)
	if err != nil {
		return workflow.Draft{}, err
	}
	if t.DoneAt != nil {
		return workflow.Draft{}, workflow.Inputf("task %q was done at %s", t.Title, t.DoneAt.UTC().Format(time.RFC3339))
	}
	if env.Self != t.Owner && env.Self != t.AddedBy && env.Self != c.Origin {
		return workflow.Draft{}, fmt.Errorf("%w: task %q is owned by another node: its owner, the node that added it or the opener marks it done", workflow.ErrNotParty, t.Title)
	}
	props := map[string]any{"task_ref": t.ID}
	if err := setNote(props, i.Note); err != nil {
		return workflow.Draft{}, err
	}
	return workflow.Draft{Props: props}, nil
}

func actNIS2Sent(env *workflow.Env, v *View, in json.RawMessage) (workflow.Draft, error) {
	var i NIS2SentInput
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	if !slices.Contains(Reports, i.Report) {
		return workflow.Draft{}, workflow.Inputf("report %q: want one of %s", i.Report, strings.Join(Reports, ", "))
	}
	if !v.NIS2.Applies {
		return workflow.Draft{}, workflow.Inputf("NIS2 reporting does not apply to this incident: set it with 'entraide incident update ID --nis2 yes' first")
	}
	at := env.Now.UTC()
	if i.At != "" {
		var err error
		if at, err = pastTime("sent at", i.At, env.Now); err != nil {
			return workflow.Draft{}, err
		}
	}
	if at.Before(v.Detected) {
		return workflow.Draft{}, workflow.Inputf("sent at %s is before the detection (%s): correct the detection time first with 'entraide incident update ID --detected TIME'",
			at.Format(time.RFC3339), v.Detected.UTC().Format(time.RFC3339))
	}
	sentTo, err := workflow.Text("sent to", i.SentTo, false, maxShort)
	if err != nil {
		return workflow.Draft{}, err
	}
	if r := v.NIS2.report(i.Report); r != nil && r.SentAt != nil && r.SentAt.Equal(at) && r.SentTo == sentTo {
		return workflow.Draft{}, workflow.Inputf("the %s is already recorded as sent at %s", i.Report, at.Format(time.RFC3339))
	}
	props := map[string]any{"report": i.Report, "sent_at": workflow.Timestamp(at)}
	if sentTo != "" {
		props["sent_to"] = sentTo
	}
	if err := setNote(props, i.Note); err != nil {
		return workflow.Draft{}, err
	}
	return workflow.Draft{Props: props}, nil
}

func actJoin(env *workflow.Env, c *workflow.Case, v *View, in json.RawMessage) (workflow.Draft, error) {
	var i JoinInput
	if err := workflow.DecodeStrict(in, &i); err != nil {
		return workflow.Draft{}, err
	}
	props := map[string]any{}
	if err := setNote(props, i.Note); err != nil {
		return workflow.Draft{}, err
	}
	if env.Self != c.Origin {
		if len(i.Nodes) > 0 {
			return workflow.Draft{}, fmt.Errorf("%w: only the node that opened the incident invites others; ask it to run 'entraide incident join ID --node NODE'", workflow.ErrNotParty)
		}
		if p := v.participant(env.Self); p != nil && p.JoinedAt != nil {
			return workflow.Draft{}, workflow.Inputf("this node already joined at %s", p.JoinedAt.UTC().Format(time.RFC3339))
		}
		return workflow.Draft{Props: props}, nil
	}
	if len(i.Nodes) == 0 {
		return workflow.Draft{}, workflow.Inputf("say whom to invite: at least one node")
	}
	var invited []string
	for _, n := range i.Nodes {
		n = strings.TrimSpace(n)
		if !isIdentity(n) {
			return workflow.Draft{}, workflow.Inputf("node %q: want a node's identity id", n)
		}
		p := v.participant(n)
		switch {
		case n == env.Self:
			return workflow.Draft{}, workflow.Inputf("this node opened the incident: invite other nodes")
		case p != nil && p.Invitation != "":
			return workflow.Draft{}, workflow.Inputf("node %s was already invited (%s)", n, p.Invitation)
		case p != nil && c.Party(n):
			// Listed when the incident was opened (or in a new version,
			// as older nodes invited): the invitation records it.
		case p != nil:
			return workflow.Draft{}, workflow.Inputf("node %s is already a participant", n)
		case env.Known != nil && !env.Known(n):
			return workflow.Draft{}, workflow.Inputf("node %s is not a pinned peer: see 'entraide peer list'", n)
		}
		if !slices.Contains(invited, n) {
			invited = append(invited, n)
		}
	}
	props["invited_refs"] = invited
	props["snapshot"] = v.snapshot()
	var add []string
	for _, n := range invited {
		if !c.Party(n) {
			add = append(add, n)
		}
	}
	return workflow.Draft{Props: props, AddParties: add}, nil
}

func allowed(c *workflow.Case, node, action string) error {
	switch action {
	case ActionNIS2Sent:
		if node != c.Origin {
			return errors.New("only the node that opened the incident records its NIS2 reports")
		}
	case ActionClose:
		if node != c.Origin {
			return errors.New("only the node that opened the incident closes it")
		}
	}
	return nil
}

// viewOf is the incident's view in a state the engine folded.
func viewOf(st *workflow.State) (*View, error) {
	switch v := st.View.(type) {
	case View:
		return &v, nil
	case *View:
		return v, nil
	}
	b, err := json.Marshal(st.View)
	if err != nil {
		return nil, err
	}
	var v View
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("incident: state: %v", err)
	}
	return &v, nil
}

func setNote(props map[string]any, note string) error {
	n, err := workflow.Text("note", note, false, maxNote)
	if err != nil {
		return err
	}
	if n != "" {
		props["note"] = n
	}
	return nil
}

func checkStatus(s string) (string, error) {
	return checkEnum("status", s, Statuses)
}

func checkEnum(what, s string, values []string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if slices.Contains(values, s) {
		return s, nil
	}
	if what == "status" && s == "closed" {
		return "", workflow.Inputf("status closed: close the incident with 'entraide incident close' (the opener does)")
	}
	return "", workflow.Inputf("%s %q: want one of %s", what, s, strings.Join(values, ", "))
}

// CheckRSIT checks an RSIT classification: an incident type
// ("intrusions:system-compromise") or, when the type is not known yet, a
// class ("intrusions"); see 'entraide vocab rsit'.
func CheckRSIT(s string) (string, error) {
	s = strings.TrimSpace(s)
	if _, ok := vocab.RSITClass(s); ok {
		return s, nil
	}
	if _, ok := vocab.RSITCategory(s); ok {
		return s, nil
	}
	return "", fmt.Errorf("%w: %v", workflow.ErrInput, vocab.UnknownRSIT(s))
}

// pastTime reads a time that must not be in the future.
func pastTime(what, s string, now time.Time) (time.Time, error) {
	t, err := ParseWhen(s, now)
	if err != nil {
		return time.Time{}, workflow.Inputf("%s: %v", what, err)
	}
	if t.After(now) {
		return time.Time{}, workflow.Inputf("%s: %s is in the future (now is %s)", what, t.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	// STIX timestamps here keep microseconds.
	return t.Truncate(time.Microsecond), nil
}
