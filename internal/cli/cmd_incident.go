package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/incident"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/vocab"
	"github.com/entraide/entraide/internal/workflow"
)

// The incident commands. Helpers here are prefixed with incident: package
// cli holds one file per command, written side by side.

func runIncident(ctx context.Context, env Env, args []string) error {
	return subcommands(ctx, env, args, `Usage: entraide incident open|list|show|update|join|task-add|task-done|nis2-sent|close [flags]

Coordinate an incident with partner nodes: one shared record of its common
severity, status, RSIT classification, impact, affected NIS2 sectors and
countries, participants, tasks and timeline, and the opener's NIS2
reporting clock (early warning 24 h and notification 72 h after detection,
final report one month after the notification). Every change is one
signed object that reaches every participant, so all sides see the same
history.

  open       open an incident with peers or communities; prints its id
  list       list the incidents opened here and received, with the next deadline
  show       show one incident: the NIS2 clock, participants, tasks, timeline
  update     change status, severity, classification, impact, sectors,
             countries or references, or add a note to the timeline
  join       the opener invites nodes (--node); a participant confirms it takes part
  task-add   give a participant a task, with an optional due date; prints its id
  task-done  mark a task done (its owner, the node that added it, or the opener)
  nis2-sent  record that a NIS2 report was sent, and when (the opener)
  close      close the incident (the opener)

Run 'entraide incident SUBCOMMAND --help' for flags.
`, map[string]func(context.Context, Env, []string) error{
		"open": incidentOpen, "list": incidentList, "show": incidentShow, "update": incidentUpdate, "join": incidentJoin,
		"task-add": incidentTaskAdd, "task-done": incidentTaskDone, "nis2-sent": incidentNIS2Sent, "close": incidentClose,
	})
}

const incidentVocabHelp = `Severity is the common scale: 0 baseline (white), 1 low (green), 2 medium
(yellow), 3 high (orange), 4 severe (red), 5 emergency (black). With a
national scale declared (DIR/severity-scale.json), --national-severity gives
the national level; the common one follows from the mapping.

Status is the handling phase: analysis, containment, eradication, recovery,
post-incident. --rsit is an RSIT incident type (malicious-code:infected-system,
availability:ddos, intrusions:system-compromise, …) or, while the type is not
known, its class (intrusions); 'entraide vocab rsit' lists them. Sectors are
NIS2 sectors ('entraide vocab sectors'); countries ISO 3166-1 codes.
--outlook is improving, stable or worsening; --root-cause one of
system-failures, natural-phenomena, human-errors, malicious-actions,
third-party-failures (the MISP NIS2 taxonomy).`

func incidentOpen(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "incident open", "incident open --data DIR (--to NODE | --community C)… --tlp LEVEL --title T --severity 0-5 [flags]", `
Open an incident with partner nodes. It is one STIX incident signed by this
node, carrying the Entraide incident extension, marked with the TLP level
and queued for each recipient the sharing policy allows, in one
transaction; a running 'entraide serve --fed-listen' delivers it. The
recipients are the participants; 'entraide incident join' invites more.

The NIS2 clock is this node's and runs from --detected, the time this
node's constituent became aware of the incident (an RFC 3339 time, or a
duration ago: "5h ago"; default now): the early warning is due 24 hours
after it, the notification 72 hours after it, the final report one
calendar month after the notification was sent (Directive (EU) 2022/2555,
art. 23(4)). 'entraide incident show' shows what is due and when;
'entraide incident nis2-sent' records each report. --nis2 no opens an
incident that is not significant under NIS2: no reporting clock.

`+incidentVocabHelp+`

A workflow object is never TLP:RED: share sensitive details as a separate
TLP:RED object ('entraide share') and cite it with --ref. Prints the
incident's id.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	var to, communities, sectors, countries, refs stringList
	fs.Var(&to, "to", "peer (name or identity id) taking part (repeatable)")
	fs.Var(&communities, "community", "community whose members take part (repeatable)")
	tlp := fs.String("tlp", "", "TLP level: clear, green, amber, amber+strict (required)")
	title := fs.String("title", "", "title (required)")
	desc := fs.String("description", "", "description")
	sev := fs.String("severity", "", "common severity, 0-5 or its name (required, or --national-severity)")
	nat := fs.String("national-severity", "", "level of this node's national scale")
	status := fs.String("status", "", "handling phase (default analysis)")
	rsit := fs.String("rsit", "", "RSIT classification: class:type, or a class")
	impact := fs.String("impact", "", "what is affected: services, users, data, cross-border effects")
	outlook := fs.String("outlook", "", "improving, stable or worsening")
	rootCause := fs.String("root-cause", "", "root cause category")
	fs.Var(&sectors, "sector", "affected NIS2 sector (repeatable)")
	fs.Var(&countries, "country", "affected country, ISO 3166-1 alpha-2 (repeatable)")
	fs.Var(&refs, "ref", "STIX id of a related indicator, report, alert… (repeatable)")
	detected := fs.String("detected", "", `when the incident was detected: RFC 3339 time or "5h ago" (default now)`)
	nis2 := fs.String("nis2", "yes", "yes: significant under NIS2, the reporting clock runs; no: no clock")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if len(to) == 0 && len(communities) == 0 {
		return usagef("give at least one --to or --community")
	}
	if *sev == "" && *nat == "" {
		return usagef("--severity is required (0-5)")
	}
	applies, err := incidentYesNo("--nis2", *nis2)
	if err != nil {
		return err
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	in := map[string]any{"to": to, "communities": communities, "tlp": *tlp, "title": *title, "description": *desc,
		"severity": *sev, "national_severity": *nat, "status": *status, "rsit": *rsit, "impact": *impact, "outlook": *outlook,
		"root_cause": *rootCause, "sectors": sectors, "countries": countries, "refs": refs, "detected": *detected, "nis2": applies}
	res, err := s.wf.Open(ctx, "incident", actorName(env, *as), mustJSONInput(in))
	if err != nil {
		return workflowErr(err)
	}
	return printCreated(env, s, res, *asJSON, res.ID)
}

func incidentYesNo(flag, s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes", "true", "y":
		return true, nil
	case "no", "false", "n":
		return false, nil
	}
	return false, usagef("%s %q: want yes or no", flag, s)
}

func incidentList(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "incident list", "incident list --data DIR [--open] [--json]", `
List the incidents this node opened and those it takes part in, newest
first, with the next deadline (the opener's NIS2 reports, tasks) and whom
it waits on. An incident closed with NIS2 reports still due stays open
until they are recorded.`)
	data := dataFlag(fs)
	dbFlag(fs)
	open := fs.Bool("open", false, "only incidents not closed")
	limit := fs.Int("limit", 200, "at most this many")
	asJSON := fs.Bool("json", false, "print a JSON array (each incident with its id)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	list, err := s.wf.List(ctx, "incident", *open, *limit)
	if err != nil {
		return err
	}
	if *asJSON || len(list) == 0 {
		return printSummaries(env, s, list, *asJSON, "incidents")
	}
	now := s.n.Clock.Now()
	t := newTable(env.Stdout, "ID", "FROM", "SEVERITY", "STATUS", "RSIT", "NEXT DEADLINE", "TITLE")
	for _, c := range list {
		var d incident.View
		_ = json.Unmarshal(c.Detail, &d)
		t.row(c.ID, c.Origin.Name, severityText(c.Severity), c.Status, incidentDash(d.RSIT), dueText(c.NextDue, c.Overdue, c.WaitingOn, now), truncate(c.Title, 60))
	}
	return t.flush()
}

func incidentDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func incidentShow(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "incident show", "incident show --data DIR ID [--json]", `
Show one incident: its fields (and who set each), the opener's NIS2 clock
(each report's deadline, when it was sent, what is overdue), the
participants (when each was invited and joined; on the opener's node,
when the incident reached each), the tasks with their owners and due
dates, and the timeline of every change this node holds.`)
	data := dataFlag(fs)
	dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	v, err := showCase(ctx, s, "incident", id)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, v)
	}
	var d incident.View
	if err := json.Unmarshal(v.Detail, &d); err != nil {
		return err
	}
	incidentPrint(env.Stdout, s, v, &d)
	return nil
}

func incidentPrint(w io.Writer, s *workflowSession, v *workflow.View, d *incident.View) {
	now := s.n.Clock.Now()
	name := s.wf.NodeName
	setBy := func(field string) string {
		ch, ok := d.Changed[field]
		if !ok || ch.Object == v.ID {
			return ""
		}
		return fmt.Sprintf("   (%s, %s)", name(ch.Node), stamp(&ch.At))
	}
	fmt.Fprintf(w, "%s  %s\n", v.ID, v.Title)
	fmt.Fprintf(w, "  from        %s, opened %s\n", v.Origin.Name, stamp(&v.Opened))
	if v.ReceivedAt != nil {
		fmt.Fprintf(w, "  received    %s\n", stamp(v.ReceivedAt))
	}
	if d.Closed != nil {
		fmt.Fprintf(w, "  closed      %s by %s (%s)", stamp(&d.Closed.At), name(d.Closed.Node), d.Closed.Actor)
		if d.Closed.Note != "" {
			fmt.Fprintf(w, ": %s", d.Closed.Note)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  status      %s%s\n", d.Status, setBy("status"))
	if d.Severity >= 0 {
		sev := severityText(d.Severity)
		if n := d.NationalSeverity; n != nil {
			sev += fmt.Sprintf("; national %s %s", n.Scale, n.Level)
			if n.Label != "" {
				sev += " (" + n.Label + ")"
			}
		}
		fmt.Fprintf(w, "  severity    %s%s\n", sev, setBy("severity"))
	}
	if d.RSIT != "" {
		label := ""
		if t, ok := vocab.RSITClass(d.RSIT); ok {
			label = " (" + t.Label + ")"
		} else if t, ok := vocab.RSITCategory(d.RSIT); ok {
			label = " (" + t.Label + ")"
		}
		fmt.Fprintf(w, "  RSIT        %s%s%s\n", d.RSIT, label, setBy("rsit"))
	}
	if v.TLP != "" {
		fmt.Fprintf(w, "  marking     TLP:%s\n", strings.ToUpper(v.TLP))
	}
	fmt.Fprintf(w, "  detected    %s%s\n", stamp(&d.Detected), setBy("detected"))
	fmt.Fprintf(w, "  sectors     %s%s\n", incidentDash(strings.Join(d.Sectors, ", ")), setBy("sectors"))
	fmt.Fprintf(w, "  countries   %s%s\n", incidentDash(strings.Join(d.Countries, ", ")), setBy("countries"))
	if d.Outlook != "" {
		fmt.Fprintf(w, "  outlook     %s%s\n", d.Outlook, setBy("outlook"))
	}
	if d.RootCause != "" {
		fmt.Fprintf(w, "  root cause  %s%s\n", d.RootCause, setBy("root_cause"))
	}
	if d.Impact != "" {
		fmt.Fprintf(w, "  impact      %s%s\n", d.Impact, setBy("impact"))
	}
	for _, r := range d.Refs {
		fmt.Fprintf(w, "  ref         %s\n", r)
	}
	if v.NextDue != nil {
		fmt.Fprintf(w, "  next        %s\n", dueText(v.NextDue, v.Overdue, v.WaitingOn, now))
	}
	var desc string
	_ = json.Unmarshal(mustField(v.Case, "description"), &desc)
	if desc != "" {
		fmt.Fprintf(w, "\n%s\n", desc)
	}

	fmt.Fprintln(w)
	if !d.NIS2.Applies {
		fmt.Fprintf(w, "NIS2: not a significant incident for %s: no reporting clock.\n", v.Origin.Name)
	} else {
		fmt.Fprintf(w, "NIS2 clock of %s, from detection at %s:\n", v.Origin.Name, stamp(&d.Detected))
	}
	if len(d.NIS2.Reports) > 0 {
		t := newTable(w, "REPORT", "DUE", "SENT", "STATE", "SENT TO")
		for _, r := range d.NIS2.Reports {
			t.row(r.Report, stamp(r.Due), stamp(r.SentAt), incidentReportState(r, d.Closed == nil, now), incidentDash(r.SentTo))
		}
		t.flush()
		if d.NIS2.Applies {
			if r := incidentReport(d, incident.FinalReport); r != nil {
				fmt.Fprintf(w, "Early warning 24 hours and notification 72 hours after detection; final report %s.\n", r.Rule)
			}
		}
	}

	fmt.Fprintln(w)
	t := newTable(w, "PARTICIPANT", "ROLE", "INVITED", "JOINED", "DELIVERED")
	delivered := map[string]workflow.PartyView{}
	for _, p := range v.Parties {
		delivered[p.ID] = p
	}
	for _, p := range d.Participants {
		role, del := "participant", "-"
		if p.Opener {
			role = "opener"
		} else if pv, ok := delivered[p.Node]; ok && v.Origin.ID == s.wf.Self() {
			del = stamp(pv.DeliveredAt)
			if pv.DeliveredAt == nil && pv.LastError != "" {
				del = "pending: " + truncate(pv.LastError, 40)
			}
		}
		t.row(name(p.Node), role, stamp(&p.InvitedAt), stamp(p.JoinedAt), del)
	}
	t.flush()

	if len(d.Tasks) > 0 {
		fmt.Fprintln(w)
		t := newTable(w, "TASK", "TITLE", "OWNER", "DUE", "DONE")
		for _, k := range d.Tasks {
			due := stamp(k.Due)
			if k.Due != nil && k.DoneAt == nil && d.Closed == nil && k.Due.Before(now) {
				due += "  OVERDUE"
			}
			done := "-"
			if k.DoneAt != nil {
				done = stamp(k.DoneAt) + " by " + name(k.DoneBy)
			}
			t.row(incidentShortID(k.ID), truncate(k.Title, 50), name(k.Owner), due, done)
		}
		t.flush()
	}

	if len(v.Timeline) > 0 {
		fmt.Fprintln(w)
		entries := map[string]incident.Entry{}
		for _, e := range d.Timeline {
			entries[e.ID] = e
		}
		t := newTable(w, "WHEN", "NODE", "WHO", "ACTION", "WHAT")
		for _, ev := range v.Timeline {
			what := ""
			if e, ok := entries[ev.ID]; ok {
				what = incidentWhat(e, d, name)
			}
			if ev.Ignored != "" {
				what = "ignored: " + ev.Ignored
			}
			t.row(stamp(&ev.At), ev.Node.Name, ev.Actor, ev.Action, truncate(what, 120))
		}
		t.flush()
	}
}

func incidentReport(d *incident.View, name string) *incident.Report {
	for i := range d.NIS2.Reports {
		if d.NIS2.Reports[i].Report == name {
			return &d.NIS2.Reports[i]
		}
	}
	return nil
}

// incidentReportState says where a NIS2 report stands.
func incidentReportState(r incident.Report, open bool, now time.Time) string {
	switch {
	case r.SentAt != nil && r.Due != nil && r.SentAt.After(*r.Due):
		return "sent " + roundDuration(r.SentAt.Sub(*r.Due)) + " late"
	case r.SentAt != nil:
		return "sent"
	case r.Due == nil && r.Report == incident.FinalReport:
		return "due one month after the incident is closed"
	case r.Due == nil:
		return "-"
	case r.Due.Before(now):
		return "OVERDUE " + roundDuration(now.Sub(*r.Due))
	}
	return "due in " + roundDuration(r.Due.Sub(now))
}

// incidentShortID is the first 8 characters of a task's UUID: enough for
// task-done to find it.
func incidentShortID(id string) string {
	_, u, _ := strings.Cut(id, "--")
	if len(u) > 8 {
		return u[:8]
	}
	return u
}

// incidentWhat says what a step did, for the timeline.
func incidentWhat(e incident.Entry, d *incident.View, name func(string) string) string {
	var parts []string
	task := func() string {
		for _, k := range d.Tasks {
			if k.ID == e.Task {
				return fmt.Sprintf("%s %q", incidentShortID(k.ID), k.Title)
			}
		}
		return incidentShortID(e.Task)
	}
	switch e.Action {
	case incident.ActionUpdate:
		parts = append(parts, e.Changes...)
	case incident.ActionTaskAdd:
		for _, k := range d.Tasks {
			if k.ID == e.Task {
				s := fmt.Sprintf("task %s %q for %s", incidentShortID(k.ID), k.Title, name(k.Owner))
				if k.Due != nil {
					s += ", due " + stamp(k.Due)
				}
				parts = append(parts, s)
			}
		}
	case incident.ActionTaskDone:
		parts = append(parts, "task "+task()+" done")
	case incident.ActionNIS2Sent:
		if e.Report != "" {
			s := e.Report + " sent " + stamp(e.SentAt)
			if e.SentTo != "" {
				s += " to " + e.SentTo
			}
			parts = append(parts, s)
		}
	case incident.ActionJoin:
		if len(e.Invited) > 0 {
			var ns []string
			for _, n := range e.Invited {
				ns = append(ns, name(n))
			}
			parts = append(parts, "invited "+strings.Join(ns, ", "))
		} else {
			parts = append(parts, "joined")
		}
	case incident.ActionClose:
		parts = append(parts, "closed")
	}
	if e.Note != "" {
		parts = append(parts, fmt.Sprintf("note: %s", e.Note))
	}
	if e.Ignored != "" {
		parts = append(parts, "ignored: "+e.Ignored)
	}
	return strings.Join(parts, "; ")
}

// incidentAct takes an action on an incident: build turns the flags into
// the action's input once the node is open (to resolve node names).
func incidentAct(ctx context.Context, env Env, fs *flag.FlagSet, data, id, action, actor string, asJSON bool,
	build func(s *workflowSession) (map[string]any, error)) error {
	if _, err := stix.ParseID(id); err != nil {
		return usagef("%q is not an identifier: %v", id, err)
	}
	s, err := openWorkflow(ctx, env, fs, data)
	if err != nil {
		return err
	}
	defer s.Close()
	v, err := showCase(ctx, s, "incident", id)
	if err != nil {
		return err
	}
	in, err := build(s)
	if err != nil {
		return workflowErr(err)
	}
	res, err := s.wf.Act(ctx, id, action, actor, mustJSONInput(in))
	if err != nil {
		return workflowErr(err)
	}
	if err := printCreated(env, s, res, asJSON, res.Object); err != nil {
		return err
	}
	incidentUnreachable(env, s, v)
	return nil
}

// incidentUnreachable warns about participants this node does not peer
// with: a change made here reaches them only when it is the opener's.
func incidentUnreachable(env Env, s *workflowSession, v *workflow.View) {
	if v.Origin.ID == s.wf.Self() {
		return
	}
	var d incident.View
	if json.Unmarshal(v.Detail, &d) != nil {
		return
	}
	for _, p := range d.Participants {
		if p.Node == s.wf.Self() || p.Opener {
			continue
		}
		if _, ok := s.fed.Registry().ByIdentity(p.Node); !ok {
			fmt.Fprintf(env.Stderr, "note: %s takes part but is not a peer of this node: it does not receive this change\n", p.Node)
		}
	}
}

func incidentUpdate(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "incident update", "incident update --data DIR ID [--status S] [--severity 0-5] [--rsit R] [--note N] [flags]", `
Change an incident's fields, or add a note to its timeline; any
participant may. The update is one signed step queued for every
participant this node peers with. Each field keeps the latest value set by
anyone (by the time of the step): give only what changes. The severity is
set as a whole: --severity alone clears a national level set before.
Sectors and countries are added and removed one by one; --ref adds
references. --detected (which moves the NIS2 deadlines) and --nis2 are the
opener's.

`+incidentVocabHelp+`

Prints the step's id.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	status := fs.String("status", "", "handling phase")
	sev := fs.String("severity", "", "common severity, 0-5 or its name")
	nat := fs.String("national-severity", "", "level of this node's national scale")
	rsit := fs.String("rsit", "", "RSIT classification: class:type, or a class")
	impact := fs.String("impact", "", "what is affected (replaces the impact)")
	outlook := fs.String("outlook", "", "improving, stable or worsening")
	rootCause := fs.String("root-cause", "", "root cause category")
	var addSectors, removeSectors, addCountries, removeCountries, refs stringList
	fs.Var(&addSectors, "add-sector", "NIS2 sector to add (repeatable)")
	fs.Var(&removeSectors, "remove-sector", "NIS2 sector to remove (repeatable)")
	fs.Var(&addCountries, "add-country", "country to add, ISO 3166-1 alpha-2 (repeatable)")
	fs.Var(&removeCountries, "remove-country", "country to remove (repeatable)")
	fs.Var(&refs, "ref", "STIX id of a related object to add (repeatable)")
	detected := fs.String("detected", "", `correct the detection time: RFC 3339 time or "5h ago" (opener)`)
	nis2 := fs.String("nis2", "", "yes or no: whether NIS2 reporting applies (opener)")
	note := fs.String("note", "", "a note for the timeline")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	in := map[string]any{"status": *status, "severity": *sev, "national_severity": *nat, "rsit": *rsit, "impact": *impact,
		"outlook": *outlook, "root_cause": *rootCause, "add_sectors": addSectors, "remove_sectors": removeSectors,
		"add_countries": addCountries, "remove_countries": removeCountries, "refs": refs, "detected": *detected, "note": *note}
	if *nis2 != "" {
		applies, err := incidentYesNo("--nis2", *nis2)
		if err != nil {
			return err
		}
		in["nis2"] = applies
	}
	return incidentAct(ctx, env, fs, *data, id, incident.ActionUpdate, actorName(env, *as), *asJSON,
		func(*workflowSession) (map[string]any, error) { return in, nil })
}

func incidentJoin(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "incident join", "incident join --data DIR ID [--node NODE]… [--note N]", `
On the node that opened the incident, --node invites peers (names or
identity ids) to take part: a join step makes them participants (it goes
to every participant, so that each accepts their changes) and records the
invitation in the timeline with a snapshot of the incident as it stands.
The new participants then receive the incident and every earlier step:
this node relays the others' steps as they signed them where the sharing
policy allows it (TLP:CLEAR; GREEN within its community), and each
participant sends its own (TLP:AMBER steps are not passed on by another
node). Refused relays are listed and audited.

On a participant's node, without --node, it confirms that this node takes
part (the participants see when it joined); the opener asks, participants
confirm. A participant cannot invite: ask the opener.

A participant sends its changes to the opener and to the other
participants it peers with; one it does not peer with does not receive
them. The opener's changes reach every participant. Prints the step's id.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	var nodes stringList
	fs.Var(&nodes, "node", "peer to invite (opener; repeatable)")
	note := fs.String("note", "", "a note for the timeline: why, who to contact")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	actor := actorName(env, *as)
	if len(nodes) == 0 {
		return incidentAct(ctx, env, fs, *data, id, incident.ActionJoin, actor, *asJSON,
			func(*workflowSession) (map[string]any, error) { return map[string]any{"note": *note}, nil })
	}
	if _, err := stix.ParseID(id); err != nil {
		return usagef("%q is not an identifier: %v", id, err)
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := showCase(ctx, s, "incident", id); err != nil {
		return err
	}
	res, err := incident.Invite(ctx, s.wf, id, actor, nodes, *note)
	if err != nil {
		return workflowErr(err)
	}
	return printCreated(env, s, res, *asJSON, res.Object)
}

func incidentTaskAdd(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "incident task-add", "incident task-add --data DIR ID --title T [--owner NODE] [--due WHEN] [--note N]", `
Give a participant a task: --owner is a participant (a peer's name or
identity id, or self; default self). --due is a duration (4h, 2d) or an
RFC 3339 time; a task not done by then is overdue on its owner, in
'entraide incident show', 'entraide incident list' and 'entraide status'.
Any participant may add a task. Prints the task's id (the step's); 'show'
lists tasks by the first 8 characters of it, which task-done accepts.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	title := fs.String("title", "", "what is to be done (required)")
	owner := fs.String("owner", "self", "participant who does it: peer name, identity id or self")
	due := fs.String("due", "", "deadline: duration or RFC 3339 time (default none)")
	note := fs.String("note", "", "details")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	if *title == "" {
		return usagef("--title is required: what is to be done")
	}
	return incidentAct(ctx, env, fs, *data, id, incident.ActionTaskAdd, actorName(env, *as), *asJSON,
		func(s *workflowSession) (map[string]any, error) {
			o, err := s.wf.ResolveNode(ctx, *owner)
			if err != nil {
				return nil, err
			}
			return map[string]any{"title": *title, "owner": o, "due": *due, "note": *note}, nil
		})
}

func incidentTaskDone(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "incident task-done", "incident task-done --data DIR ID --task TASK [--note N]", `
Mark a task done: the task's owner, the node that added it or the opener
may. --task is the task's id or the first characters of it (at least 4)
as 'entraide incident show' lists them. Prints the step's id.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	task := fs.String("task", "", "the task: its id or the first characters of it (required)")
	note := fs.String("note", "", "what was done, where the result is")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	if *task == "" {
		return usagef("--task is required: see 'entraide incident show %s'", id)
	}
	return incidentAct(ctx, env, fs, *data, id, incident.ActionTaskDone, actorName(env, *as), *asJSON,
		func(*workflowSession) (map[string]any, error) {
			return map[string]any{"task": *task, "note": *note}, nil
		})
}

func incidentNIS2Sent(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "incident nis2-sent", "incident nis2-sent --data DIR ID --report REPORT [--at WHEN] [--sent-to WHO] [--note N]", `
Record that a NIS2 report on this incident was sent (Directive (EU)
2022/2555, art. 23(4)); only the node that opened the incident records its
reports. --report is one of:

  early-warning        due 24 hours after detection
  notification         due 72 hours after detection
  intermediate-report  on request of the CSIRT or competent authority
  progress-report      when the incident is still ongoing at the final
                       report's deadline: the final report is then due
                       one month after the incident is closed
  final-report         due one month after the notification was sent

--at is when it was sent: an RFC 3339 time or a duration ago ("30m ago");
default now. It may not be in the future nor before the detection.
Recording a report again corrects the earlier record. The deadline of a
report is met when it is recorded; 'entraide incident show' gives how late
it was. Prints the step's id.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	report := fs.String("report", "", "early-warning, notification, intermediate-report, progress-report or final-report (required)")
	at := fs.String("at", "", `when it was sent: RFC 3339 time or "30m ago" (default now)`)
	sentTo := fs.String("sent-to", "", "the CSIRT or competent authority it was sent to")
	note := fs.String("note", "", "reference number, remarks")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	if *report == "" {
		return usagef("--report is required: %s", strings.Join(incident.Reports, ", "))
	}
	return incidentAct(ctx, env, fs, *data, id, incident.ActionNIS2Sent, actorName(env, *as), *asJSON,
		func(*workflowSession) (map[string]any, error) {
			return map[string]any{"report": *report, "at": *at, "sent_to": *sentTo, "note": *note}, nil
		})
}

func incidentClose(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "incident close", "incident close --data DIR ID [--note N]", `
Close an incident this node opened: participants see it closed, and no
more changes are taken, except the NIS2 reports this node still records.
While a NIS2 report is due the incident stays on the due lists; closing
after a progress report starts the final report's month.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	note := fs.String("note", "", "how it ended")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	return incidentAct(ctx, env, fs, *data, id, incident.ActionClose, actorName(env, *as), *asJSON,
		func(*workflowSession) (map[string]any, error) { return map[string]any{"note": *note}, nil })
}
