package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/assistance"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/vocab"
	"github.com/entraide/entraide/internal/workflow"
)

// The mutual assistance commands. Helpers here are prefixed with assist:
// package cli holds one file per command, written side by side.

func runAssist(ctx context.Context, env Env, args []string) error {
	return subcommands(ctx, env, args, `Usage: entraide assist request|offer|accept|decline|withdraw|close|list|show|capabilities [flags]

Mutual assistance between national CSIRTs (the cybersecurity reserve,
CERT-to-CERT aid): a node asks partners for capabilities it lacks on an
incident; partners offer teams or say they cannot help; the requester
accepts or declines each offer and closes the request with a report.

  request       ask partners for help on an incident; prints the request's id
  offer         offer a team for one capability of a request received; prints the offer's id
  accept        accept an offer made on a request this node sent
  decline       decline an offer (requester), or a request this node cannot help with (recipient)
  withdraw      withdraw an offer this node made
  close         close a request this node sent, with a short report
  list          list requests sent and received, the most pressing first
  show          show a request: what is covered, the offers, each partner's answer, deadlines
  capabilities  list the capability catalogue and what this node can lend; 'capabilities set' to change it

Run 'entraide assist SUBCOMMAND --help' for flags.
`, map[string]func(context.Context, Env, []string) error{
		"request": assistFlagNames(assistRequest), "offer": assistFlagNames(assistOffer), "accept": assistFlagNames(assistAccept),
		"decline": assistFlagNames(assistDecline), "withdraw": assistFlagNames(assistWithdraw), "close": assistFlagNames(assistClose),
		"list": assistList, "show": assistShow, "capabilities": assistCapabilities,
	})
}

// assistFields names, in the workflow's input errors, the flags a person
// typed rather than the JSON fields the API takes.
var assistFields = strings.NewReplacer(
	"incident_ref", "--incident", "entity_criticality", "--criticality", "respond_by", "--respond-by",
	"team_size", "--team-size", "available_from", "--from", "available_until", "--until",
)

func assistFlagNames(f func(context.Context, Env, []string) error) func(context.Context, Env, []string) error {
	return func(ctx context.Context, env Env, args []string) error {
		err := f(ctx, env, args)
		var ue *usageError
		if errors.As(err, &ue) {
			return usagef("%s", assistFields.Replace(ue.msg))
		}
		return err
	}
}

// assistText returns the text of a flag, or of the file the -file flag
// names ("-" for standard input), not both.
func assistText(env Env, name, text, file string, max int) (string, error) {
	if file == "" {
		return text, nil
	}
	if text != "" {
		return "", usagef("give --%s or --%s-file, not both", name, name)
	}
	var r io.Reader = env.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", usagef("--%s-file: %v", name, err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(4*max)+1))
	if err != nil {
		return "", fmt.Errorf("--%s-file: %v", name, err)
	}
	if len(b) > 4*max {
		return "", usagef("--%s-file: longer than %d characters", name, max)
	}
	return string(b), nil
}

func assistRequest(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "assist request", "assist request --data DIR (--to NODE | --community C)… --tlp LEVEL --incident ID --capability ID… --urgency U --severity 0-5 --criticality C (--mitigation TEXT | --mitigation-file FILE) [flags]", `
Ask partners for help on an incident. The request is one STIX object
(x-entraide-assistance-request) signed by this node, marked with the TLP
level and queued for each recipient the sharing policy allows; a running
'entraide serve --fed-listen' delivers it. Each recipient answers by the
deadline (--respond-by) with offers — a team for one capability — or with
'entraide assist decline' when it cannot help. Answers go to every party,
so partners see what is already covered. You then accept or decline each
offer ('entraide assist accept|decline OFFER-ID') and close the request
with a report. Prints the request's id.

--incident is the STIX id of the incident (incident--…): share it with the
recipients or describe it in --description, or they see its id only.

--capability, repeatable, takes ids of the catalogue ('entraide assist
capabilities' lists it): incident-response-team, digital-forensics,
malware-analysis, threat-hunting, crisis-communication, legal-support,
vulnerability-assessment, network-monitoring, reverse-engineering,
recovery-support.

--mitigation is required: what this node has already done to contain the
incident (isolation, blocking, password resets, backups taken offline…).
Partners lend people to a requester that has done its part.

--urgency is how soon help must be on the job; it sets the default answer
deadline and the time you should take to decide on each offer (a partner
holds a team meanwhile):
  immediate  help needed now            answers in 2h, decide within 1h
  24h        help within 24 hours       answers in 8h, decide within 4h
  72h        help within 72 hours       answers in 24h, decide within 12h
  planned    recovery, hunting, review  answers in 72h, decide within 48h

--criticality is the affected entity under NIS2 (Art. 3): essential,
important, or other (outside the directive's scope).

Severity is the common scale: 0 baseline, 1 low, 2 medium, 3 high, 4 severe,
5 emergency; --national-severity gives the level of this node's national
scale instead (DIR/severity-scale.json). Partners handle concurrent
requests by severity, then criticality, then urgency, then age
('entraide assist list').`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	var to, communities, caps, sectors, countries stringList
	fs.Var(&to, "to", "peer (name or identity id) to ask (repeatable)")
	fs.Var(&communities, "community", "community whose members to ask (repeatable)")
	tlp := fs.String("tlp", "", "TLP level: clear, green, amber, amber+strict (required)")
	incident := fs.String("incident", "", "STIX id of the incident the help is for, incident--… (required)")
	fs.Var(&caps, "capability", "capability needed, an id of the catalogue (repeatable; at least one)")
	urgency := fs.String("urgency", "", "immediate, 24h, 72h or planned (required)")
	sev := fs.String("severity", "", "common severity, 0-5 or its name")
	nat := fs.String("national-severity", "", "level of this node's national scale")
	crit := fs.String("criticality", "", "the affected entity under NIS2: essential, important or other (required)")
	mitigation := fs.String("mitigation", "", "what has already been done to contain the incident (required)")
	mitigationFile := fs.String("mitigation-file", "", "read the mitigation from FILE ('-': standard input)")
	title := fs.String("title", "", "title (default: the capabilities asked for)")
	desc := fs.String("description", "", "what happened, what the help is for")
	respondBy := fs.String("respond-by", "", "answer deadline: duration (4h, 2d) or RFC 3339 time (default: from --urgency)")
	fs.Var(&sectors, "sector", "affected NIS2 sector (repeatable)")
	fs.Var(&countries, "country", "affected country, ISO 3166-1 alpha-2 (repeatable)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	mit, err := assistText(env, "mitigation", *mitigation, *mitigationFile, assistance.MaxMitigation)
	if err != nil {
		return err
	}
	switch {
	case len(to) == 0 && len(communities) == 0:
		return usagef("give at least one --to or --community: the partners to ask")
	case *incident == "":
		return usagef("--incident is required: the STIX id of the incident the help is for (incident--…)")
	case len(caps) == 0:
		return usagef("give at least one --capability (see 'entraide assist capabilities')")
	case *urgency == "":
		return usagef("--urgency is required: immediate, 24h, 72h or planned")
	case *sev == "" && *nat == "":
		return usagef("--severity is required (0-5)")
	case *crit == "":
		return usagef("--criticality is required: essential, important or other (the affected entity under NIS2)")
	case strings.TrimSpace(mit) == "":
		return usagef("--mitigation is required: say what has already been done to contain the incident before asking partners for help")
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	in := map[string]any{"to": to, "communities": communities, "tlp": *tlp, "title": *title, "description": *desc,
		"incident_ref": *incident, "capabilities": caps, "urgency": *urgency, "severity": *sev, "national_severity": *nat,
		"entity_criticality": *crit, "mitigation": mit, "respond_by": *respondBy, "sectors": sectors, "countries": countries}
	res, err := s.wf.Open(ctx, assistance.KindName, actorName(env, *as), mustJSONInput(in))
	if err != nil {
		return workflowErr(err)
	}
	if err := printCreated(env, s, res, *asJSON, res.ID); err != nil {
		return err
	}
	if _, held := assistIncident(ctx, s, *incident); !held && !*asJSON {
		fmt.Fprintf(env.Stderr, "note: this node holds no object %s: recipients see its id only; share the incident with them, or describe it in the request\n", *incident)
	}
	return nil
}

// assistIncident returns the name of an incident this node holds (as a
// workflow case or as a stored object) and whether it holds it.
func assistIncident(ctx context.Context, s *workflowSession, id string) (string, bool) {
	if v, err := s.wf.Get(ctx, id); err == nil {
		return v.Title, true
	}
	cols, err := s.n.Store.Collections(ctx)
	if err != nil {
		return "", false
	}
	for _, c := range cols {
		p, err := s.n.Store.ListObjects(ctx, c.ID, store.Query{IDs: []string{id}, Limit: 1}, true)
		if err != nil || len(p.Entries) == 0 {
			continue
		}
		var o struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(p.Entries[0].Raw, &o) // a sealed (TLP:RED) body stays unread
		return o.Name, true
	}
	return "", false
}

func assistOffer(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "assist offer", "assist offer --data DIR REQUEST-ID --capability ID --team-size N [--from WHEN] [--until WHEN] [--note TEXT]", `
Offer a team for one of the capabilities a partner's request asks for. The
offer is one signed object queued for the requester and for the other
partners asked (so that they see what is covered). It is pending until the
requester accepts or declines it; until then, and after, you may withdraw
it ('entraide assist withdraw OFFER-ID'). Make one offer per capability.
Prints the offer's id.

--from and --until say when the team is available: now (the default for
--from), a duration from now (2h, 3d) or an RFC 3339 time.

If you cannot help at all, answer 'entraide assist decline REQUEST-ID'
instead: the requester is waiting for every partner's answer.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	capID := fs.String("capability", "", "the capability offered: one of those the request asks for (required)")
	team := fs.Int("team-size", 0, "how many people you lend, 1-500 (required)")
	from := fs.String("from", "", "available from: now, a duration from now, or an RFC 3339 time (default now)")
	until := fs.String("until", "", "available until: a duration from now or an RFC 3339 time")
	note := fs.String("note", "", "what the team is, where and how it works, whom to call")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	if err := assistIsRequest(id, "offer"); err != nil {
		return err
	}
	if *capID == "" {
		return usagef("--capability is required: one of those the request asks for (see 'entraide assist show %s')", id)
	}
	if *team == 0 {
		return usagef("--team-size is required: how many people you lend")
	}
	in := map[string]any{"capability": *capID, "team_size": *team, "available_from": *from, "available_until": *until, "note": *note}
	if err := workflowStep(ctx, env, fs, *data, assistance.KindName, id, assistance.ActionOffer, actorName(env, *as), in, *asJSON); err != nil {
		return err
	}
	if d, err := assistance.LoadCapabilities(*data); err == nil && !slices.Contains(d.Capabilities, *capID) && !*asJSON {
		fmt.Fprintf(env.Stderr, "note: %s is not among the capabilities this node declares ('entraide assist capabilities')\n", *capID)
	}
	return nil
}

// assistIsRequest refuses, with a usage error that says which id to give,
// an id that is not an assistance request's.
func assistIsRequest(id, verb string) error {
	typ, err := stix.ParseID(id)
	if err != nil {
		return usagef("%q is not an identifier: %v", id, err)
	}
	if typ == workflow.StepType {
		return usagef("%s is an offer or another step: %s takes the request's id (%s--…)", id, verb, assistance.Type)
	}
	if typ != assistance.Type {
		return usagef("%s is a %s, not an assistance request (%s--…)", id, typ, assistance.Type)
	}
	return nil
}

// assistOfferStep takes an action that names an offer (accept, decline,
// withdraw): it finds the request that holds the offer and acts on it.
func assistOfferStep(ctx context.Context, env Env, fs *flag.FlagSet, data, offerID, action, actor string, in map[string]any, asJSON bool) error {
	typ, err := stix.ParseID(offerID)
	if err != nil {
		return usagef("%q is not an identifier: %v", offerID, err)
	}
	if typ != workflow.StepType {
		return usagef("%s is not an offer: give the offer's id (x-entraide-step--…), as 'entraide assist show REQUEST-ID' lists it under OFFER", offerID)
	}
	s, err := openWorkflow(ctx, env, fs, data)
	if err != nil {
		return err
	}
	defer s.Close()
	list, err := s.wf.List(ctx, assistance.KindName, false, 0)
	if err != nil {
		return err
	}
	caseID, ok := assistance.FindOffer(list, offerID)
	if !ok {
		return fmt.Errorf("no offer %s on this node: 'entraide assist show REQUEST-ID' lists a request's offers", offerID)
	}
	in["offer_ref"] = offerID
	res, err := s.wf.Act(ctx, caseID, action, actor, mustJSONInput(in))
	if err != nil {
		return workflowErr(err)
	}
	return printCreated(env, s, res, asJSON, res.Object)
}

func assistAccept(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "assist accept", "assist accept --data DIR OFFER-ID [--note TEXT]", `
Accept an offer made on a request this node sent. The acceptance is one
signed object queued for every partner asked: the offerer learns its team
is wanted, the others that the capability is covered. An offer is decided
once: accepted or declined. OFFER-ID is the offer's id, as 'entraide assist
show REQUEST-ID' lists it under OFFER.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	note := fs.String("note", "", "for the offering team: where to report, whom to call")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	return assistOfferStep(ctx, env, fs, *data, id, assistance.ActionAccept, actorName(env, *as), map[string]any{"note": *note}, *asJSON)
}

func assistDecline(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "assist decline", "assist decline --data DIR (OFFER-ID --reason TEXT | REQUEST-ID [--reason TEXT])", `
Decline, in one of two roles:

  OFFER-ID    as the requester, turn down an offer made on your request;
              --reason is required (the partner held a team for it).
  REQUEST-ID  as a partner asked for help, say that you cannot help
              ("no-offer"): it answers the request by its deadline, so the
              requester stops waiting on you. To stop an offer you made,
              use 'entraide assist withdraw OFFER-ID'.

Either is one signed object queued for the other parties.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	reason := fs.String("reason", "", "why (required to decline an offer)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	typ, err := stix.ParseID(id)
	if err != nil {
		return usagef("%q is not an identifier: %v", id, err)
	}
	switch typ {
	case assistance.Type:
		return workflowStep(ctx, env, fs, *data, assistance.KindName, id, assistance.ActionNoOffer, actorName(env, *as), map[string]any{"reason": *reason}, *asJSON)
	case workflow.StepType:
		if strings.TrimSpace(*reason) == "" {
			return usagef("--reason is required to decline an offer: tell the partner why (it held a team for it)")
		}
		return assistOfferStep(ctx, env, fs, *data, id, assistance.ActionDecline, actorName(env, *as), map[string]any{"reason": *reason}, *asJSON)
	}
	return usagef("%s is a %s: decline takes an offer's id (x-entraide-step--…) or a request's (%s--…)", id, typ, assistance.Type)
}

func assistWithdraw(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "assist withdraw", "assist withdraw --data DIR OFFER-ID [--reason TEXT]", `
Withdraw an offer this node made, pending or accepted (the team is needed
elsewhere, it fell ill…). The withdrawal is one signed object queued for
the requester and the other partners; the requester sees the capability
uncovered again.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	reason := fs.String("reason", "", "why, for the requester")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	return assistOfferStep(ctx, env, fs, *data, id, assistance.ActionWithdraw, actorName(env, *as), map[string]any{"reason": *reason}, *asJSON)
}

func assistClose(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "assist close", "assist close --data DIR REQUEST-ID (--report TEXT | --report-file FILE)", `
Close a request this node sent. The report — the help received, what it
achieved, what is left — goes to every partner asked and stays in the
record; offers still pending are left unanswered, and no deadline runs any
more. Nothing more can be done on a closed request.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	report := fs.String("report", "", "the closing report (required)")
	reportFile := fs.String("report-file", "", "read the report from FILE ('-': standard input)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	if err := assistIsRequest(id, "close"); err != nil {
		return err
	}
	text, err := assistText(env, "report", *report, *reportFile, assistance.MaxReport)
	if err != nil {
		return err
	}
	if strings.TrimSpace(text) == "" {
		return usagef("--report is required: a short account of the help received and the outcome")
	}
	return workflowStep(ctx, env, fs, *data, assistance.KindName, id, assistance.ActionClose, actorName(env, *as), map[string]any{"report": text}, *asJSON)
}

func assistList(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "assist list", "assist list --data DIR [--open] [--limit N] [--json]", `
List the assistance requests this node sent and received, the most
pressing first: open requests by common severity (highest first), then the
affected entity's criticality (essential, important, other), then urgency
(immediate, 24h, 72h, planned), then age (the longest waiting first);
closed requests after them, the latest first. NEEDS are the capabilities
asked for (* when an accepted offer covers one); NEXT DEADLINE is the
earliest answer or decision due, and whom it waits on.`)
	data := dataFlag(fs)
	dbFlag(fs)
	open := fs.Bool("open", false, "only requests not closed")
	limit := fs.Int("limit", 1000, "at most this many (the newest), then ordered")
	asJSON := fs.Bool("json", false, "print a JSON array, in the same order (each request with its id and detail)")
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
	list, err := s.wf.List(ctx, assistance.KindName, *open, *limit)
	if err != nil {
		return err
	}
	list = assistance.Order(list)
	if *asJSON {
		if list == nil {
			list = []workflow.Summary{}
		}
		return writeJSON(env.Stdout, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(env.Stdout, "no assistance requests")
		return nil
	}
	now := s.n.Clock.Now()
	t := newTable(env.Stdout, "ID", "FROM", "SEVERITY", "ENTITY", "URGENCY", "NEEDS", "STATUS", "NEXT DEADLINE", "TITLE")
	for _, c := range list {
		var d assistance.View
		_ = json.Unmarshal(c.Detail, &d)
		var needs []string
		for _, cs := range d.Capabilities {
			n := cs.ID
			if cs.Accepted > 0 {
				n += "*"
			}
			needs = append(needs, n)
		}
		t.row(c.ID, c.Origin.Name, severityText(c.Severity), d.Criticality, d.Urgency, assistClip(strings.Join(needs, ","), 50),
			assistClip(c.Status, 40), dueText(c.NextDue, c.Overdue, c.WaitingOn, now), assistClip(c.Title, 50))
	}
	return t.flush()
}

// assistClip shortens s to n characters (not bytes).
func assistClip(s string, n int) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func assistShow(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "assist show", "assist show --data DIR REQUEST-ID [--json]", `
Show one assistance request: the incident, the capabilities asked for and
how each is covered, the mitigation already taken, each partner's answer,
every offer with its id (what accept, decline and withdraw take) and its
status, the deadlines, the closing report and the signed history. On a
request received, it also says which of the capabilities asked for this
node declares ('entraide assist capabilities').`)
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
	if err := assistIsRequest(id, "show"); err != nil {
		return err
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	v, err := showCase(ctx, s, assistance.KindName, id)
	if err != nil {
		return err
	}
	var d assistance.View
	if err := json.Unmarshal(v.Detail, &d); err != nil {
		return err
	}
	self := s.wf.Self()
	declared, derr := assistance.LoadCapabilities(s.n.Dir)
	return printView(env, s, v, *asJSON, func(w io.Writer) {
		var desc string
		_ = json.Unmarshal(mustField(v.Case, "description"), &desc)
		if desc != "" {
			fmt.Fprintf(w, "%s\n\n", desc)
		}
		incident := d.IncidentRef
		if name, held := assistIncident(ctx, s, d.IncidentRef); held && name != "" {
			incident += "  " + name
		} else if !held {
			incident += "  (not held on this node)"
		}
		fmt.Fprintf(w, "  incident     %s\n", incident)
		if u, _, ok := assistance.UrgencyByID(d.Urgency); ok {
			fmt.Fprintf(w, "  urgency      %s: %s\n", u.ID, u.Description)
		} else {
			fmt.Fprintf(w, "  urgency      %s\n", d.Urgency)
		}
		if c, _, ok := assistance.CriticalityByID(d.Criticality); ok {
			fmt.Fprintf(w, "  entity       %s (NIS2)\n", strings.ToLower(c.Label))
		} else {
			fmt.Fprintf(w, "  entity       %s\n", d.Criticality)
		}
		var nat struct{ Scale, Level, Label string }
		if json.Unmarshal(d.NationalSeverity, &nat) == nil && nat.Level != "" {
			fmt.Fprintf(w, "  national     %s %s %s\n", nat.Scale, nat.Level, nat.Label)
		}
		if len(d.Sectors) > 0 {
			fmt.Fprintf(w, "  sectors      %s\n", strings.Join(d.Sectors, ", "))
		}
		if len(d.Countries) > 0 {
			fmt.Fprintf(w, "  countries    %s\n", strings.Join(d.Countries, ", "))
		}
		fmt.Fprintf(w, "  respond by   %s (%d of %d answered)\n", stamp(&d.RespondBy), d.Answered, len(d.Recipients))
		if d.ClosedAt != nil {
			fmt.Fprintf(w, "  closed       %s by %s\n", stamp(d.ClosedAt), d.ClosedBy)
		}
		fmt.Fprintf(w, "\nMitigation already taken:\n%s\n", assistIndent(d.Mitigation))
		if d.Report != "" {
			fmt.Fprintf(w, "\nClosing report:\n%s\n", assistIndent(d.Report))
		}

		fmt.Fprintln(w)
		mine := v.Origin.ID != self
		heads := []string{"CAPABILITY", "OFFERED", "ACCEPTED", "PEOPLE"}
		if mine {
			heads = append(heads, "THIS NODE DECLARES")
		}
		t := newTable(w, heads...)
		for _, c := range d.Capabilities {
			row := []string{c.ID, fmt.Sprint(c.Offered), fmt.Sprint(c.Accepted), fmt.Sprint(c.People)}
			if mine {
				switch {
				case derr != nil:
					row = append(row, "? ("+derr.Error()+")")
				case slices.Contains(declared.Capabilities, c.ID):
					row = append(row, "yes")
				default:
					row = append(row, "no")
				}
			}
			t.row(row...)
		}
		t.flush()

		fmt.Fprintln(w)
		t = newTable(w, "PARTNER", "ANSWER", "FIRST ANSWER", "BY", "REASON")
		for _, r := range d.Recipients {
			ans := r.Answer
			if ans == "" {
				ans = "-"
			}
			t.row(s.wf.NodeName(r.Node), ans, stamp(r.AnsweredAt), r.Actor, assistClip(r.Reason, 60))
		}
		t.flush()

		if len(d.Offers) > 0 {
			fmt.Fprintln(w)
			t = newTable(w, "OFFER", "FROM", "CAPABILITY", "TEAM", "AVAILABLE", "STATUS", "NOTE")
			for _, o := range d.Offers {
				avail := "-"
				if o.AvailableFrom != nil {
					avail = "from " + stamp(o.AvailableFrom)
					if o.AvailableUntil != nil {
						avail += " until " + stamp(o.AvailableUntil)
					}
				}
				status := o.Status
				switch {
				case o.WithdrawnAt != nil && o.WithdrawReason != "":
					status += ": " + o.WithdrawReason
				case o.Decision != "" && o.DecisionText != "":
					status += ": " + o.DecisionText
				}
				note := o.Note
				if !o.Known {
					note = "(the offer itself was not sent to this node)"
				}
				t.row(o.ID, s.wf.NodeName(o.Node), o.Capability, fmt.Sprint(o.TeamSize), avail, assistClip(status, 60), assistClip(note, 60))
			}
			t.flush()
		}
		if len(d.Ignored) > 0 {
			fmt.Fprintln(w)
			t = newTable(w, "IGNORED STEP", "WHY")
			for _, i := range d.Ignored {
				t.row(i.ID, i.Reason)
			}
			t.flush()
		}
		if hint := assistHint(v, d, self); hint != "" {
			fmt.Fprintf(w, "\n%s\n", hint)
		}
	})
}

// assistHint says what this node can do next on the request, if anything.
func assistHint(v *workflow.View, d assistance.View, self string) string {
	if !v.Open {
		return ""
	}
	if v.Origin.ID == self {
		for _, o := range d.Offers {
			if o.Status == assistance.StatusPending {
				return "Decide on each pending offer: 'entraide assist accept OFFER-ID' or 'entraide assist decline OFFER-ID --reason …'; close with 'entraide assist close " + v.ID + " --report …'."
			}
		}
		return "Close the request when done: 'entraide assist close " + v.ID + " --report …'."
	}
	for _, r := range d.Recipients {
		if r.Node == self && r.AnsweredAt == nil {
			return "Answer by " + stamp(&d.RespondBy) + ": 'entraide assist offer " + v.ID + " --capability ID --team-size N', or 'entraide assist decline " + v.ID + "' if you cannot help."
		}
	}
	return ""
}

func assistIndent(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}

func assistCapabilities(ctx context.Context, env Env, args []string) error {
	if len(args) > 0 && args[0] == "set" {
		return assistCapabilitiesSet(ctx, env, args[1:])
	}
	fs := newFlags(env, "assist capabilities", "assist capabilities [set ID…|--none] --data DIR [--json]", `
List the mutual assistance capability catalogue — the ids requests and
offers use — and mark those this node declares it can lend. The
declaration is kept in DIR/capabilities.json and changed with

  entraide assist capabilities set --data DIR ID…   (replaces the list)
  entraide assist capabilities set --data DIR --none

'entraide assist show' marks, on a request received, which of the
capabilities asked for this node declares, and 'entraide assist offer'
warns when offering one it does not. The declaration stays on this node:
partners learn what you can lend from your offers.`)
	data := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON: the declaration and the catalogue")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (to change the declaration: 'entraide assist capabilities set ID…')", fs.Arg(0))
	}
	if *data == "" {
		return usagef("--data is required: the node's data directory")
	}
	if err := assistIsNode(*data); err != nil {
		return err
	}
	d, err := assistance.LoadCapabilities(*data)
	if err != nil {
		return err
	}
	return assistPrintCapabilities(env, d, *asJSON)
}

// assistIsNode checks that dir is a node's data directory without opening
// its database (the declaration is a file of its own).
func assistIsNode(dir string) error {
	_, err := node.ReadIdentity(dir)
	return err
}

func assistPrintCapabilities(env Env, d assistance.Declaration, asJSON bool) error {
	type entry struct {
		vocab.Term
		Declared bool `json:"declared"`
	}
	var cat []entry
	for _, t := range vocab.Capabilities() {
		cat = append(cat, entry{Term: t, Declared: slices.Contains(d.Capabilities, t.ID)})
	}
	if asJSON {
		out := struct {
			Declared  []string   `json:"declared"`
			Updated   *time.Time `json:"updated,omitempty"`
			Catalogue []entry    `json:"catalogue"`
		}{Declared: d.Capabilities, Catalogue: cat}
		if out.Declared == nil {
			out.Declared = []string{}
		}
		if !d.Updated.IsZero() {
			out.Updated = &d.Updated
		}
		return writeJSON(env.Stdout, out)
	}
	switch {
	case d.Updated.IsZero() && len(d.Capabilities) == 0:
		fmt.Fprintln(env.Stdout, "This node declares no capability yet ('entraide assist capabilities set ID…').")
	default:
		fmt.Fprintf(env.Stdout, "This node declares %d of %d capabilities (set %s).\n", len(d.Capabilities), len(cat), stamp(&d.Updated))
	}
	fmt.Fprintln(env.Stdout)
	t := newTable(env.Stdout, "DECLARED", "ID", "LABEL")
	for _, e := range cat {
		mark := "-"
		if e.Declared {
			mark = "yes"
		}
		t.row(mark, e.ID, e.Label)
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "\nWhat each covers: 'entraide vocab capabilities'.")
	return nil
}

func assistCapabilitiesSet(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "assist capabilities set", "assist capabilities set --data DIR (ID… | --none)", `
Replace the capabilities this node declares it can lend with the ids given
(see 'entraide assist capabilities' for the catalogue). The file
DIR/capabilities.json is replaced atomically; an unknown id changes
nothing. --none declares none.`)
	data := dataFlag(fs)
	none := fs.Bool("none", false, "declare no capability")
	asJSON := fs.Bool("json", false, "print the new declaration as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	var ids stringList
	for _, a := range fs.Args() {
		ids.Set(a)
	}
	switch {
	case *data == "":
		return usagef("--data is required: the node's data directory")
	case *none && len(ids) > 0:
		return usagef("give capability ids or --none, not both")
	case !*none && len(ids) == 0:
		return usagef("give the capability ids this node can lend (see 'entraide assist capabilities'), or --none")
	}
	if err := assistIsNode(*data); err != nil {
		return err
	}
	d, err := assistance.SaveCapabilities(*data, ids, env.Clock.Now())
	if err != nil {
		return workflowErr(err)
	}
	return assistPrintCapabilities(env, d, *asJSON)
}
