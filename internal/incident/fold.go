package incident

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/severity"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/vocab"
	"github.com/entraide/entraide/internal/workflow"
)

// National is a node's national severity level, as the node that set the
// severity declared it.
type National = severity.National

// View is the incident's state as show and the API present it (the
// state's "view").
type View struct {
	Status           string    `json:"status"` // the handling phase (closed or not: see Closed)
	Severity         int       `json:"severity"`
	NationalSeverity *National `json:"national_severity,omitempty"`
	RSIT             string    `json:"rsit,omitempty"`
	Impact           string    `json:"impact,omitempty"`
	Outlook          string    `json:"outlook,omitempty"`
	RootCause        string    `json:"root_cause,omitempty"`
	Sectors          []string  `json:"sectors"`
	Countries        []string  `json:"countries"`
	Refs             []string  `json:"refs"`
	Detected         time.Time `json:"detected"` // when the opener became aware: the NIS2 clock's start
	NIS2             NIS2      `json:"nis2"`
	// Participants are the opener (first) and the nodes it invited.
	Participants []Participant `json:"participants"`
	Tasks        []Task        `json:"tasks"`
	// Timeline is every step this node holds, oldest first, with what it
	// changed.
	Timeline []Entry `json:"timeline"`
	// Changed says, for each field, when and by which node and object its
	// current value was set.
	Changed map[string]Change `json:"changed"`
	Closed  *Closure          `json:"closed,omitempty"`
}

// Change is where a field's current value comes from.
type Change struct {
	At     time.Time `json:"at"`
	Node   string    `json:"node"`   // identity id
	Object string    `json:"object"` // the incident or the step that set it
}

// Participant is a node taking part in the incident.
type Participant struct {
	Node      string    `json:"node"` // identity id
	Opener    bool      `json:"opener,omitempty"`
	InvitedAt time.Time `json:"invited_at"`
	// Invitation is the opener's join step that invited it ("" for the
	// nodes the incident was opened with).
	Invitation string     `json:"invitation,omitempty"`
	JoinedAt   *time.Time `json:"joined_at,omitempty"` // when it confirmed (the opener: when it opened)
}

// Task is a piece of work one participant owns.
type Task struct {
	ID       string     `json:"id"` // the task-add step's id
	Title    string     `json:"title"`
	Owner    string     `json:"owner"` // identity id
	Due      *time.Time `json:"due,omitempty"`
	Note     string     `json:"note,omitempty"`
	AddedAt  time.Time  `json:"added_at"`
	AddedBy  string     `json:"added_by"` // identity id
	DoneAt   *time.Time `json:"done_at,omitempty"`
	DoneBy   string     `json:"done_by,omitempty"`
	DoneNote string     `json:"done_note,omitempty"`
	DoneStep string     `json:"done_step,omitempty"` // the task-done step
}

// NIS2 is the opener's reporting clock.
type NIS2 struct {
	Applies bool     `json:"applies"` // false: not a significant incident, no clock
	Reports []Report `json:"reports"` // the three due reports, and the others once recorded
}

// Report is one NIS2 report: when it is due, and when it was sent.
type Report struct {
	Report     string     `json:"report"`
	Due        *time.Time `json:"due,omitempty"` // nil: no fixed deadline (yet)
	Rule       string     `json:"rule"`          // how the deadline is counted
	SentAt     *time.Time `json:"sent_at,omitempty"`
	SentTo     string     `json:"sent_to,omitempty"`
	Note       string     `json:"note,omitempty"`
	RecordedAt *time.Time `json:"recorded_at,omitempty"`
	Step       string     `json:"step,omitempty"` // the nis2-sent step
}

// Entry is one step of the timeline.
type Entry struct {
	ID      string     `json:"id"`
	At      time.Time  `json:"at"`
	Node    string     `json:"node"`
	Actor   string     `json:"actor"`
	Action  string     `json:"action"`
	Changes []string   `json:"changes,omitempty"` // update: what it set
	Invited []string   `json:"invited,omitempty"` // join by the opener
	Task    string     `json:"task,omitempty"`    // task-add, task-done: the task's id
	Report  string     `json:"report,omitempty"`  // nis2-sent
	SentAt  *time.Time `json:"sent_at,omitempty"` // nis2-sent
	SentTo  string     `json:"sent_to,omitempty"` // nis2-sent
	Note    string     `json:"note,omitempty"`
	// Ignored says why the step changes nothing (the engine has already
	// left out steps from non-parties).
	Ignored string `json:"ignored,omitempty"`
}

// Closure is when and by whom the incident was closed.
type Closure struct {
	At    time.Time `json:"at"`
	Node  string    `json:"node"`
	Actor string    `json:"actor"`
	Note  string    `json:"note,omitempty"`
}

// fields are the incident's registers, in the order they are shown.
var fields = []string{"status", "severity", "rsit", "impact", "outlook", "root_cause", "sectors", "countries", "detected", "nis2_reporting"}

// openerOnly are the fields only the opener sets: its NIS2 clock runs from them.
var openerOnly = map[string]bool{"detected": true, "nis2_reporting": true}

// register is a last-writer-wins value: the write with the latest (at, by)
// counts, whatever the order writes are offered in.
type register struct {
	set   bool
	value json.RawMessage
	at    time.Time
	by    string // the object that wrote it
	node  string
}

func (r *register) offer(value json.RawMessage, at time.Time, by, node string) {
	if r.set && (at.Before(r.at) || at.Equal(r.at) && by <= r.by) {
		return
	}
	*r = register{set: true, value: value, at: at, by: by, node: node}
}

type taskDef struct {
	Task
	fromStep bool
}

type doneRec struct {
	at               time.Time
	step, node, note string
}

type invitation struct {
	at   time.Time
	step string
}

type reportRec struct {
	sentAt, recordedAt time.Time
	sentTo, note, step string
}

type folder struct {
	c         *workflow.Case
	regs      map[string]*register
	refs      []string
	parts     map[string]*Participant
	invites   map[string]invitation
	tasks     map[string]*taskDef
	done      map[string]*doneRec
	reports   map[string]*reportRec
	closed    *Closure
	closedBy  string
	timeline  []Entry
	pendDones []int // timeline indexes of task-done steps, applied once every task is known
	doneSteps map[int]workflow.Step
}

// fold computes the incident's state. It sorts and deduplicates the steps
// itself, so that its result depends on the set of steps only.
func fold(c *workflow.Case, steps []workflow.Step) workflow.State {
	steps = workflow.Ordered(steps)
	f := &folder{c: c, regs: map[string]*register{}, parts: map[string]*Participant{}, invites: map[string]invitation{}, tasks: map[string]*taskDef{},
		done: map[string]*doneRec{}, reports: map[string]*reportRec{}, doneSteps: map[int]workflow.Step{}}
	for _, name := range fields {
		f.regs[name] = &register{}
	}
	f.fromCase()
	// Invitations first: a participant's step stamped at the same instant
	// as its invitation, or before it by a clock running behind the
	// opener's, still counts (the engine admits it on the same ground).
	for _, s := range steps {
		if s.Action != ActionJoin || s.Node != c.Origin {
			continue
		}
		var inv, add []string
		s.Get("invited_refs", &inv)
		s.Get("party_refs_added", &add)
		for _, a := range append(inv, add...) {
			if isIdentity(a) {
				f.invited(a, s.At, s.ID)
			}
		}
	}
	for _, s := range steps {
		f.apply(s)
	}
	f.applyDones()
	return f.state()
}

func (f *folder) fromCase() {
	c := f.c
	for _, name := range fields {
		if v, ok := fieldFrom(name, c.Props); ok {
			f.regs[name].offer(v, c.Created, c.ID, c.Origin)
		}
	}
	if !f.regs["detected"].set {
		f.regs["detected"].offer(mustJSON(workflow.Timestamp(c.Created)), c.Created, c.ID, c.Origin)
	}
	if !f.regs["nis2_reporting"].set {
		f.regs["nis2_reporting"].offer(json.RawMessage("true"), c.Created, c.ID, c.Origin)
	}
	var refs []string
	c.Get("object_refs", &refs)
	f.addRefs(refs)
	at := c.Created
	f.parts[c.Origin] = &Participant{Node: c.Origin, Opener: true, InvitedAt: at, JoinedAt: &at}
	for _, r := range c.Recipients {
		f.invite(r, c.Created)
	}
}

func (f *folder) invite(node string, at time.Time) {
	if !isIdentity(node) {
		return
	}
	if p, ok := f.parts[node]; ok {
		if at.Before(p.InvitedAt) {
			p.InvitedAt = at
		}
		return
	}
	f.parts[node] = &Participant{Node: node, InvitedAt: at}
}

// invited records the opener's invitation of a node (the earliest counts).
func (f *folder) invited(node string, at time.Time, step string) {
	if !isIdentity(node) {
		return
	}
	f.invite(node, at)
	if cur, ok := f.invites[node]; ok && (cur.at.Before(at) || cur.at.Equal(at) && cur.step <= step) {
		return
	}
	f.invites[node] = invitation{at: at, step: step}
}

func (f *folder) joined(node string, at time.Time) {
	p, ok := f.parts[node]
	if !ok {
		return
	}
	if p.JoinedAt == nil || at.Before(*p.JoinedAt) {
		p.JoinedAt = &at
	}
}

func (f *folder) addRefs(refs []string) []string {
	var added []string
	for _, r := range refs {
		if _, err := stix.ParseID(r); err != nil || slices.Contains(f.refs, r) {
			continue
		}
		f.refs = append(f.refs, r)
		added = append(added, r)
	}
	return added
}

func (f *folder) apply(s workflow.Step) {
	origin := s.Node == f.c.Origin
	e := Entry{ID: s.ID, At: s.At, Node: s.Node, Actor: s.Actor, Action: s.Action, Note: text(s.Props, "note", maxNote)}
	switch s.Action {
	case ActionUpdate:
		var skipped []string
		for _, name := range fields {
			v, ok := fieldFrom(name, s.Props)
			if !ok {
				continue
			}
			if openerOnly[name] && !origin {
				skipped = append(skipped, name)
				continue
			}
			f.regs[name].offer(v, s.At, s.ID, s.Node)
			e.Changes = append(e.Changes, describe(name, v))
		}
		var refs []string
		s.Get("object_refs", &refs)
		if added := f.addRefs(refs); len(added) > 0 {
			e.Changes = append(e.Changes, "references + "+strings.Join(added, ", "))
		}
		if len(skipped) > 0 {
			e.Ignored = "only the opener sets " + strings.Join(skipped, ", ")
		}
	case ActionTaskAdd:
		t, ok := taskFrom(s)
		if !ok {
			e.Ignored = "malformed task (title, owner_ref or due)"
			break
		}
		f.tasks[s.ID] = &taskDef{Task: t, fromStep: true}
		e.Task = s.ID
	case ActionTaskDone:
		var ref string
		s.Get("task_ref", &ref)
		e.Task = ref
		f.doneSteps[len(f.timeline)] = s
		f.pendDones = append(f.pendDones, len(f.timeline))
	case ActionNIS2Sent:
		var rep, sent string
		s.Get("report", &rep)
		s.Get("sent_at", &sent)
		at, err := stix.ParseTimestamp(sent)
		switch {
		case !origin:
			e.Ignored = "only the opener records NIS2 reports"
		case !slices.Contains(Reports, rep) || err != nil:
			e.Ignored = "malformed report (report or sent_at)"
		default:
			e.Report, e.SentAt, e.SentTo = rep, &at, text(s.Props, "sent_to", maxShort)
			f.offerReport(rep, &reportRec{sentAt: at, recordedAt: s.At, step: s.ID, sentTo: e.SentTo, note: e.Note})
		}
	case ActionJoin:
		if !origin {
			f.joined(s.Node, s.At)
			break
		}
		// invited_refs: nodes Invite added to the incident's new
		// version; party_refs_added: nodes the engine adds as parties.
		var inv, add []string
		s.Get("invited_refs", &inv)
		s.Get("party_refs_added", &add)
		for _, a := range append(inv, add...) {
			if isIdentity(a) && !slices.Contains(e.Invited, a) {
				f.invited(a, s.At, s.ID)
				e.Invited = append(e.Invited, a)
			}
		}
		var snap snapshot
		if s.Get("snapshot", &snap) {
			f.merge(&snap)
		}
	case ActionClose:
		if !origin {
			e.Ignored = "only the opener closes the incident"
			break
		}
		if f.closed == nil || s.At.Before(f.closed.At) || s.At.Equal(f.closed.At) && s.ID < f.closedBy {
			f.closed = &Closure{At: s.At, Node: s.Node, Actor: s.Actor, Note: e.Note}
			f.closedBy = s.ID
		}
	}
	f.timeline = append(f.timeline, e)
}

func (f *folder) offerReport(rep string, r *reportRec) {
	cur := f.reports[rep]
	if cur != nil && (r.recordedAt.Before(cur.recordedAt) || r.recordedAt.Equal(cur.recordedAt) && r.step <= cur.step) {
		return
	}
	f.reports[rep] = r
}

func (f *folder) offerDone(ref string, d *doneRec) {
	cur := f.done[ref]
	if cur != nil && (d.at.After(cur.at) || d.at.Equal(cur.at) && d.step >= cur.step) {
		return
	}
	f.done[ref] = d
}

// applyDones applies the task-done steps once every task is known, so that
// a task-done does not depend on arriving after its task.
func (f *folder) applyDones() {
	for _, i := range f.pendDones {
		s := f.doneSteps[i]
		e := &f.timeline[i]
		t := f.tasks[e.Task]
		switch {
		case t == nil:
			e.Ignored = "no such task on this node"
		case s.Node != t.Owner && s.Node != t.AddedBy && s.Node != f.c.Origin:
			e.Ignored = "only the task's owner, the node that added it or the opener marks it done"
		default:
			f.offerDone(e.Task, &doneRec{at: s.At, step: s.ID, node: s.Node, note: e.Note})
		}
	}
}

func taskFrom(s workflow.Step) (Task, bool) {
	var owner, due string
	title := text(s.Props, "title", maxTitle)
	s.Get("owner_ref", &owner)
	t := Task{ID: s.ID, Title: title, Owner: owner, Note: text(s.Props, "note", maxNote), AddedAt: s.At, AddedBy: s.Node}
	if s.Get("due", &due) {
		d, err := stix.ParseTimestamp(due)
		if err != nil {
			return Task{}, false
		}
		t.Due = &d
	}
	return t, title != "" && isIdentity(owner)
}

// merge takes in the snapshot an opener's join step carries.
func (f *folder) merge(s *snapshot) {
	for _, sf := range s.Fields {
		if !slices.Contains(fields, sf.Field) {
			continue
		}
		v, ok := normField(sf.Field, sf.Value)
		at, err := stix.ParseTimestamp(sf.SetAt)
		if !ok || err != nil || sf.SetByRef == "" || !isIdentity(sf.NodeRef) {
			continue
		}
		f.regs[sf.Field].offer(v, at, sf.SetByRef, sf.NodeRef)
	}
	for _, st := range s.Tasks {
		added, err := stix.ParseTimestamp(st.AddedAt)
		title := strings.TrimSpace(st.Title)
		if err != nil || title == "" || utf8.RuneCountInString(title) > maxTitle || !isIdentity(st.OwnerRef) || !isIdentity(st.AddedByRef) || !isStep(st.TaskRef) {
			continue
		}
		t := Task{ID: st.TaskRef, Title: title, Owner: st.OwnerRef, AddedAt: added, AddedBy: st.AddedByRef, Note: clip(st.Note, maxNote)}
		if st.Due != "" {
			d, err := stix.ParseTimestamp(st.Due)
			if err != nil {
				continue
			}
			t.Due = &d
		}
		if _, ok := f.tasks[t.ID]; !ok {
			f.tasks[t.ID] = &taskDef{Task: t}
		}
		if st.DoneAt != "" {
			d, err := stix.ParseTimestamp(st.DoneAt)
			if err == nil && isIdentity(st.DoneByRef) && isStep(st.DoneStepRef) {
				f.offerDone(t.ID, &doneRec{at: d, step: st.DoneStepRef, node: st.DoneByRef, note: clip(st.DoneNote, maxNote)})
			}
		}
	}
	for _, sr := range s.Reports {
		sent, err1 := stix.ParseTimestamp(sr.SentAt)
		rec, err2 := stix.ParseTimestamp(sr.RecordedAt)
		if err1 != nil || err2 != nil || !slices.Contains(Reports, sr.Report) || !isStep(sr.StepRef) {
			continue
		}
		f.offerReport(sr.Report, &reportRec{sentAt: sent, recordedAt: rec, step: sr.StepRef, sentTo: clip(sr.SentTo, maxShort), note: clip(sr.Note, maxNote)})
	}
	for _, sp := range s.Participants {
		inv, err := stix.ParseTimestamp(sp.InvitedAt)
		if err != nil || !isIdentity(sp.NodeRef) {
			continue
		}
		if isStep(sp.InvitationRef) {
			f.invited(sp.NodeRef, inv, sp.InvitationRef)
		} else {
			f.invite(sp.NodeRef, inv)
		}
		if j, err := stix.ParseTimestamp(sp.JoinedAt); err == nil {
			f.joined(sp.NodeRef, j)
		}
	}
	f.addRefs(s.ObjectRefs)
}

func (f *folder) state() workflow.State {
	v := View{Severity: -1, Sectors: []string{}, Countries: []string{}, Refs: []string{}, Participants: []Participant{},
		Tasks: []Task{}, Timeline: f.timeline, Changed: map[string]Change{}}
	if v.Timeline == nil {
		v.Timeline = []Entry{}
	}
	if f.refs != nil {
		v.Refs = f.refs
	}
	for _, name := range fields {
		r := f.regs[name]
		if !r.set {
			continue
		}
		v.Changed[name] = Change{At: r.at, Node: r.node, Object: r.by}
		v.setField(name, r.value)
	}
	for _, p := range f.parts {
		part := *p
		if inv, ok := f.invites[p.Node]; ok && !p.Opener {
			part.InvitedAt, part.Invitation = inv.at, inv.step
		}
		v.Participants = append(v.Participants, part)
	}
	sort.Slice(v.Participants, func(i, j int) bool {
		a, b := v.Participants[i], v.Participants[j]
		if a.Opener != b.Opener {
			return a.Opener
		}
		if !a.InvitedAt.Equal(b.InvitedAt) {
			return a.InvitedAt.Before(b.InvitedAt)
		}
		return a.Node < b.Node
	})
	for id, t := range f.tasks {
		task := t.Task
		if d := f.done[id]; d != nil {
			at := d.at
			task.DoneAt, task.DoneBy, task.DoneNote, task.DoneStep = &at, d.node, d.note, d.step
		}
		v.Tasks = append(v.Tasks, task)
	}
	sort.Slice(v.Tasks, func(i, j int) bool {
		a, b := v.Tasks[i], v.Tasks[j]
		if !a.AddedAt.Equal(b.AddedAt) {
			return a.AddedAt.Before(b.AddedAt)
		}
		return a.ID < b.ID
	})
	v.Closed = f.closed
	var deadlines []workflow.Deadline
	v.NIS2, deadlines = nis2Clock(f.c.Origin, v.NIS2.Applies, v.Detected, f.reports, f.closed)
	pending := false
	for _, d := range deadlines {
		if d.DoneAt == nil {
			pending = true
		}
	}
	var tasks []workflow.Deadline
	for _, t := range v.Tasks {
		if t.Due == nil || f.closed != nil && t.DoneAt == nil {
			continue
		}
		tasks = append(tasks, workflow.Deadline{What: "task: " + t.Title, Party: t.Owner, Due: *t.Due, DoneAt: t.DoneAt})
	}
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].Due.Before(tasks[j].Due) })
	var title string
	_ = json.Unmarshal(f.c.Top["name"], &title)
	st := workflow.State{Title: title, Severity: v.Severity, Status: v.Status, Open: true, Deadlines: append(deadlines, tasks...), View: v}
	if f.closed != nil {
		st.Status, st.Open = "closed", false
		if pending {
			st.Status, st.Open = "closed, NIS2 reports pending", true
		}
	}
	return st
}

// setField sets a field of the view from its register's value (already
// normalised by normField).
func (v *View) setField(name string, raw json.RawMessage) {
	switch name {
	case "status":
		_ = json.Unmarshal(raw, &v.Status)
	case "severity":
		var s sevValue
		_ = json.Unmarshal(raw, &s)
		v.Severity, v.NationalSeverity = *s.Common, s.National
	case "rsit":
		_ = json.Unmarshal(raw, &v.RSIT)
	case "impact":
		_ = json.Unmarshal(raw, &v.Impact)
	case "outlook":
		_ = json.Unmarshal(raw, &v.Outlook)
	case "root_cause":
		_ = json.Unmarshal(raw, &v.RootCause)
	case "sectors":
		_ = json.Unmarshal(raw, &v.Sectors)
	case "countries":
		_ = json.Unmarshal(raw, &v.Countries)
	case "detected":
		var s string
		_ = json.Unmarshal(raw, &s)
		v.Detected, _ = stix.ParseTimestamp(s)
	case "nis2_reporting":
		_ = json.Unmarshal(raw, &v.NIS2.Applies)
	}
}

// fieldJSON is a field's current value as its register holds it.
func (v *View) fieldJSON(name string) json.RawMessage {
	switch name {
	case "status":
		return mustJSON(v.Status)
	case "severity":
		return mustJSON(sevValue{Common: &v.Severity, National: v.NationalSeverity})
	case "rsit":
		return mustJSON(v.RSIT)
	case "impact":
		return mustJSON(v.Impact)
	case "outlook":
		return mustJSON(v.Outlook)
	case "root_cause":
		return mustJSON(v.RootCause)
	case "sectors":
		return mustJSON(v.Sectors)
	case "countries":
		return mustJSON(v.Countries)
	case "detected":
		return mustJSON(workflow.Timestamp(v.Detected))
	case "nis2_reporting":
		return mustJSON(v.NIS2.Applies)
	}
	return nil
}

// sevValue is the severity register: the common level and, when the
// node that set it gave one, its national level.
type sevValue struct {
	Common   *int      `json:"common_severity"`
	National *National `json:"national_severity,omitempty"`
}

// fieldFrom reads a field from a case's or an update's properties;
// false when absent or malformed (a partner's malformed value is left out
// everywhere the same way).
func fieldFrom(name string, props map[string]json.RawMessage) (json.RawMessage, bool) {
	if name == "severity" {
		c, ok := props["common_severity"]
		if !ok {
			return nil, false
		}
		m := map[string]json.RawMessage{"common_severity": c}
		if n, ok := props["national_severity"]; ok {
			m["national_severity"] = n
		}
		return normField(name, mustJSON(m))
	}
	raw, ok := props[name]
	if !ok {
		return nil, false
	}
	return normField(name, raw)
}

// normField checks a field's value and returns its normal JSON form.
func normField(name string, raw json.RawMessage) (json.RawMessage, bool) {
	var s string
	str := func() bool { return json.Unmarshal(raw, &s) == nil }
	switch name {
	case "status":
		if !str() || !slices.Contains(Statuses, s) {
			return nil, false
		}
		return mustJSON(s), true
	case "severity":
		var v sevValue
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if dec.Decode(&v) != nil || v.Common == nil || !severity.Level(*v.Common).Valid() {
			return nil, false
		}
		if n := v.National; n != nil && (n.Scale == "" || n.Level == "" || len(n.Scale) > 64 || len(n.Level) > 64 || len(n.Label) > 256 ||
			!utf8.ValidString(n.Label) || !utf8.ValidString(n.Level)) {
			return nil, false
		}
		return mustJSON(v), true
	case "rsit":
		if !str() {
			return nil, false
		}
		if _, err := CheckRSIT(s); err != nil || strings.TrimSpace(s) != s {
			return nil, false
		}
		return mustJSON(s), true
	case "impact":
		if !str() || s == "" || utf8.RuneCountInString(s) > maxText {
			return nil, false
		}
		return mustJSON(s), true
	case "outlook", "root_cause":
		values := Outlooks
		if name == "root_cause" {
			values = RootCauses
		}
		if !str() || !slices.Contains(values, s) {
			return nil, false
		}
		return mustJSON(s), true
	case "sectors", "countries":
		var l []string
		if json.Unmarshal(raw, &l) != nil || len(l) > 300 {
			return nil, false
		}
		out := []string{}
		for _, x := range l {
			ok := card.ValidCountry(x)
			if name == "sectors" {
				_, ok = vocab.Sector(x)
			}
			if !ok {
				return nil, false
			}
			if !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
		return mustJSON(out), true
	case "detected":
		if !str() {
			return nil, false
		}
		t, err := stix.ParseTimestamp(s)
		if err != nil {
			return nil, false
		}
		return mustJSON(workflow.Timestamp(t)), true
	case "nis2_reporting":
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return nil, false
		}
		return mustJSON(b), true
	}
	return nil, false
}

// describe says in a few words what an update set.
func describe(name string, raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	switch name {
	case "severity":
		var v sevValue
		_ = json.Unmarshal(raw, &v)
		d := fmt.Sprintf("severity %d %s", *v.Common, severity.Level(*v.Common))
		if n := v.National; n != nil {
			d += fmt.Sprintf(" (national %s %s", n.Scale, n.Level)
			if n.Label != "" {
				d += ": " + n.Label
			}
			d += ")"
		}
		return d
	case "rsit":
		return "RSIT " + s
	case "impact":
		return "impact: " + s
	case "root_cause":
		return "root cause " + s
	case "sectors", "countries":
		var l []string
		_ = json.Unmarshal(raw, &l)
		return name + " " + listOrNone(l)
	case "nis2_reporting":
		if string(raw) == "true" {
			return "NIS2 reporting applies"
		}
		return "NIS2 reporting does not apply"
	}
	return name + " " + s
}

func text(props map[string]json.RawMessage, name string, max int) string {
	var s string
	if raw, ok := props[name]; ok && json.Unmarshal(raw, &s) == nil {
		return clip(strings.TrimSpace(s), max)
	}
	return ""
}

// clip cuts s to at most max characters.
func clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max])
}

func isIdentity(id string) bool {
	typ, err := stix.ParseID(id)
	return err == nil && typ == "identity"
}

func isStep(id string) bool {
	typ, err := stix.ParseID(id)
	return err == nil && typ == workflow.StepType
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // strings, numbers, slices and maps of them
	}
	return b
}

// ---- the view, for act ----

func (v *View) participant(node string) *Participant {
	for i := range v.Participants {
		if v.Participants[i].Node == node {
			return &v.Participants[i]
		}
	}
	return nil
}

func (v *View) isParticipant(node string) bool { return v.participant(node) != nil }

// FindTask finds a task by its id or a unique prefix (4 characters or
// more) of its UUID.
func (v *View) FindTask(ref string) (*Task, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, workflow.Inputf("say which task: its id, or the first characters of its UUID, as 'entraide incident show' lists them")
	}
	var found []*Task
	for i := range v.Tasks {
		t := &v.Tasks[i]
		uuid := strings.TrimPrefix(t.ID, workflow.StepType+"--")
		if t.ID == ref || uuid == ref {
			return t, nil
		}
		if len(ref) >= 4 && strings.HasPrefix(uuid, ref) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		if len(ref) < 4 && !strings.Contains(ref, "--") {
			return nil, workflow.Inputf("task %q: give at least 4 characters of its id", ref)
		}
		return nil, workflow.Inputf("no task %q in this incident: see 'entraide incident show'", ref)
	case 1:
		return found[0], nil
	}
	return nil, workflow.Inputf("task %q is ambiguous (%d tasks start with it): give more of its id", ref, len(found))
}

func (n *NIS2) report(name string) *Report {
	for i := range n.Reports {
		if n.Reports[i].Report == name {
			return &n.Reports[i]
		}
	}
	return nil
}

// ---- the snapshot a join carries ----

// snapshot is the current picture the opener sends with an invitation:
// each field with the time, node and object of its value, the tasks, the
// NIS2 reports recorded, the participants and the references.
type snapshot struct {
	Fields       []snapField       `json:"fields"`
	Tasks        []snapTask        `json:"tasks"`
	Reports      []snapReport      `json:"reports"`
	Participants []snapParticipant `json:"participants"`
	ObjectRefs   []string          `json:"object_refs,omitempty"`
}

type snapField struct {
	Field    string          `json:"field"`
	Value    json.RawMessage `json:"value"`
	SetAt    string          `json:"set_at"`
	SetByRef string          `json:"set_by_ref"`
	NodeRef  string          `json:"node_ref"`
}

type snapTask struct {
	TaskRef     string `json:"task_ref"`
	Title       string `json:"title"`
	OwnerRef    string `json:"owner_ref"`
	Due         string `json:"due,omitempty"`
	Note        string `json:"note,omitempty"`
	AddedAt     string `json:"added_at"`
	AddedByRef  string `json:"added_by_ref"`
	DoneAt      string `json:"done_at,omitempty"`
	DoneByRef   string `json:"done_by_ref,omitempty"`
	DoneNote    string `json:"done_note,omitempty"`
	DoneStepRef string `json:"done_step_ref,omitempty"`
}

type snapReport struct {
	Report     string `json:"report"`
	SentAt     string `json:"sent_at"`
	SentTo     string `json:"sent_to,omitempty"`
	Note       string `json:"note,omitempty"`
	RecordedAt string `json:"recorded_at"`
	StepRef    string `json:"step_ref"`
}

type snapParticipant struct {
	NodeRef       string `json:"node_ref"`
	InvitedAt     string `json:"invited_at"`
	InvitationRef string `json:"invitation_ref,omitempty"`
	JoinedAt      string `json:"joined_at,omitempty"`
}

func (v *View) snapshot() snapshot {
	s := snapshot{Fields: []snapField{}, Tasks: []snapTask{}, Reports: []snapReport{}, Participants: []snapParticipant{}, ObjectRefs: v.Refs}
	for _, name := range fields {
		ch, ok := v.Changed[name]
		if !ok {
			continue
		}
		s.Fields = append(s.Fields, snapField{Field: name, Value: v.fieldJSON(name), SetAt: workflow.Timestamp(ch.At), SetByRef: ch.Object, NodeRef: ch.Node})
	}
	for _, t := range v.Tasks {
		st := snapTask{TaskRef: t.ID, Title: t.Title, OwnerRef: t.Owner, Note: t.Note, AddedAt: workflow.Timestamp(t.AddedAt), AddedByRef: t.AddedBy}
		if t.Due != nil {
			st.Due = workflow.Timestamp(*t.Due)
		}
		if t.DoneAt != nil {
			st.DoneAt, st.DoneByRef, st.DoneNote, st.DoneStepRef = workflow.Timestamp(*t.DoneAt), t.DoneBy, t.DoneNote, t.DoneStep
		}
		s.Tasks = append(s.Tasks, st)
	}
	for _, r := range v.NIS2.Reports {
		if r.SentAt == nil || r.RecordedAt == nil {
			continue
		}
		s.Reports = append(s.Reports, snapReport{Report: r.Report, SentAt: workflow.Timestamp(*r.SentAt), SentTo: r.SentTo, Note: r.Note,
			RecordedAt: workflow.Timestamp(*r.RecordedAt), StepRef: r.Step})
	}
	for _, p := range v.Participants {
		sp := snapParticipant{NodeRef: p.Node, InvitedAt: workflow.Timestamp(p.InvitedAt), InvitationRef: p.Invitation}
		if p.JoinedAt != nil {
			sp.JoinedAt = workflow.Timestamp(*p.JoinedAt)
		}
		s.Participants = append(s.Participants, sp)
	}
	return s
}
