package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/notice"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/vocab"
	"github.com/entraide/entraide/internal/workflow"
)

func runNotice(ctx context.Context, env Env, args []string) error {
	return subcommands(ctx, env, args, `Usage: entraide notice send|respond|remind|close|list|show [flags]

  send     notify a state that malicious activity comes from its territory
           (addresses, prefixes, domains, URLs, AS numbers, evidence) and
           ask it to act; prints the notice's id
  respond  answer a notice received: action-taken, investigating or no-action
  remind   remind the recipients that have not answered, optionally with a
           new deadline (sender only)
  close    close a notice this node sent, with its outcome
  list     list the notices sent and received, with each recipient's answer
           and how long it took
  show     show one notice: indicators, evidence, and per recipient the
           answer, the response delays and the deadline

Due-diligence notices follow the UN norm of responsible state behaviour
(GGE 2015, norm 13(c)): a state should not knowingly allow its territory
to be used for internationally wrongful acts using ICTs, and should answer
a victim state's request. Run 'entraide notice SUBCOMMAND --help' for flags.
`, map[string]func(context.Context, Env, []string) error{
		"send": noticeSend, "respond": noticeRespond, "remind": noticeRemind, "close": noticeClose,
		"list": noticeList, "show": noticeShow,
	})
}

func noticeSend(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "notice send", "notice send --data DIR --to NODE… --tlp LEVEL --title T --activity RSIT… (--indicator I… | --indicators-file FILE) --request TEXT [flags]", `
Send a due-diligence notice: tell the state of each --to node that
malicious activity comes from infrastructure on its territory, and ask it
to act. The notice is one STIX object (x-entraide-notice) signed by this
node, marked with the TLP level and queued for each recipient in one
transaction; a running 'entraide serve --fed-listen' delivers it. Each
recipient answers ('entraide notice respond'): action-taken (saying what
was done), investigating, or no-action (saying why). Answers come back to
this node only: recipients do not see each other's. 'entraide notice show
ID' gives, per recipient, the answer, the time to the first response and
to the final answer, and whether the deadline was met.

--activity takes RSIT types (class:type): availability:ddos,
malicious-code:c2-server, fraud:phishing, intrusions:system-compromise, …
('entraide vocab rsit' lists them).

--indicator takes one indicator per flag (repeat it; a URL may hold
commas): IPv4 and IPv6 addresses (198.51.100.7, 2001:db8::7), prefixes
(203.0.113.0/24), domain names (c2.example.net), http and https URLs, AS
numbers (AS64500). Defanged forms (hxxp://c2[.]example[.]net) are read as
the real value. Private, loopback, link-local, multicast and reserved
addresses, special-use names (.local, .internal) and private AS numbers
are refused: they name nothing the notified state can act on.
--indicators-file reads one indicator a line ('-' for standard input); #
starts a comment. At most 2000 indicators: share longer lists as a STIX
bundle and cite it with --evidence.

--evidence cites STIX objects by id (indicator, observed-data, sighting,
report, grouping, note, infrastructure, malware, malware-analysis,
incident); share them with the recipients too ('entraide share'), under a
stricter marking if need be. A notice is never TLP:RED.

--respond-by is a duration (72h, 3d) or an RFC 3339 time; default 72h.
--first-seen and --last-seen are RFC 3339 times. --severity (0-5 or its
name) is optional. Prints the notice's id.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	var to, activity, evidence stringList
	var indicators wholeList
	fs.Var(&to, "to", "node (peer name or identity id) of the state to notify (repeatable, required)")
	tlp := fs.String("tlp", "", "TLP level: clear, green, amber, amber+strict (required)")
	title := fs.String("title", "", "title (required)")
	desc := fs.String("description", "", "what is happening, seen from here")
	fs.Var(&activity, "activity", "RSIT type of the activity, class:type (repeatable, required)")
	fs.Var(&indicators, "indicator", "address, prefix, domain, URL or AS number the activity comes from (repeatable, one per flag)")
	file := fs.String("indicators-file", "", "file of indicators, one a line ('-': standard input)")
	fs.Var(&evidence, "evidence", "STIX id of an object that shows the activity (repeatable)")
	request := fs.String("request", "", "what you ask the notified state to do (required)")
	respondBy := fs.String("respond-by", "", "response deadline: duration or RFC 3339 time (default 72h)")
	sev := fs.String("severity", "", "common severity, 0-5 or its name")
	nat := fs.String("national-severity", "", "level of this node's national scale")
	firstSeen := fs.String("first-seen", "", "when the activity was first seen (RFC 3339)")
	lastSeen := fs.String("last-seen", "", "when the activity was last seen (RFC 3339)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case len(to) == 0:
		return usagef("give at least one --to: the node of the state the activity comes from")
	case strings.TrimSpace(*title) == "":
		return usagef("--title is required")
	case len(activity) == 0:
		return usagef("give at least one --activity: an RSIT type such as availability:ddos or malicious-code:c2-server (see 'entraide vocab rsit')")
	case len(indicators) == 0 && *file == "":
		return usagef("give the infrastructure the activity comes from: --indicator (repeatable) or --indicators-file")
	case strings.TrimSpace(*request) == "":
		return usagef("--request is required: what you ask the notified state to do (take down, block, investigate, preserve logs, …)")
	}
	if *file != "" {
		list, err := readIndicatorsFile(env, *file)
		if err != nil {
			return err
		}
		for _, i := range list {
			indicators = append(indicators, i.String())
		}
		if len(indicators) == 0 {
			return usagef("--indicators-file %s holds no indicator", *file)
		}
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	in := map[string]any{"to": to, "tlp": *tlp, "title": *title, "description": *desc, "activity": activity,
		"indicators": indicators, "evidence": evidence, "requested_action": *request, "respond_by": *respondBy,
		"severity": *sev, "national_severity": *nat, "first_seen": *firstSeen, "last_seen": *lastSeen}
	res, err := s.wf.Open(ctx, "notice", actorName(env, *as), mustJSONInput(in))
	if err != nil {
		return workflowErr(err)
	}
	if err := printCreated(env, s, res, *asJSON, res.ID); err != nil {
		return err
	}
	warnMissingEvidence(ctx, env, s, evidence)
	return nil
}

// wholeList is a repeatable flag whose values are taken whole: a URL may
// hold commas.
type wholeList []string

func (l *wholeList) String() string { return strings.Join(*l, " ") }
func (l *wholeList) Set(v string) error {
	if v = strings.TrimSpace(v); v != "" {
		*l = append(*l, v)
	}
	return nil
}

// readIndicatorsFile reads --indicators-file: errors name the file and line.
func readIndicatorsFile(env Env, path string) ([]notice.Indicator, error) {
	var r io.Reader = env.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, usagef("--indicators-file: %v", err)
		}
		defer f.Close()
		r = f
	}
	list, err := notice.ReadIndicators(r)
	if err != nil {
		if path == "-" {
			path = "standard input"
		}
		return nil, usagef("--indicators-file %s: %v", path, err)
	}
	return list, nil
}

// warnMissingEvidence says which cited objects this node does not hold:
// the recipients cannot read evidence nobody shares with them.
func warnMissingEvidence(ctx context.Context, env Env, s *workflowSession, refs []string) {
	if len(refs) == 0 {
		return
	}
	colls, err := s.n.Store.Collections(ctx)
	if err != nil {
		return
	}
	held := map[string]bool{}
	for _, c := range colls {
		p, err := s.n.Store.ListObjects(ctx, c.ID, store.Query{IDs: refs, Limit: len(refs)}, false)
		if err != nil {
			continue
		}
		for _, e := range p.Entries {
			held[e.ID] = true
		}
	}
	for _, r := range refs {
		if !held[strings.TrimSpace(r)] {
			fmt.Fprintf(env.Stderr, "warning: evidence %s is not on this node: make sure the recipients receive it ('entraide share')\n", r)
		}
	}
}

func noticeRespond(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "notice respond", "notice respond --data DIR ID --answer action-taken|investigating|no-action [--action-taken T | --reason R] [--comment C]", `
Answer a notice received from a partner. The answer is one signed object
queued for the sender (and for no other recipient):

  action-taken   what was done, in --action-taken (required): servers taken
                 down, addresses null-routed, owner notified, logs preserved
  investigating  the notice is being looked at; answer again when done
  no-action      why nothing will be done, in --reason (required): not in
                 our jurisdiction, insufficient evidence, not malicious

You may respond several times (investigating, then action-taken): the
latest answer counts, the first response is what meets the deadline. The
sender sees how long the first response and the final answer took.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	answer := fs.String("answer", "", "action-taken, investigating or no-action (required)")
	did := fs.String("action-taken", "", "with action-taken: what was done")
	reason := fs.String("reason", "", "with no-action: why not")
	comment := fs.String("comment", "", "comment for the sender")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	switch {
	case !slices.Contains(notice.Answers, *answer):
		return usagef("--answer is required: action-taken, investigating or no-action")
	case *answer == notice.AnswerActionTaken && strings.TrimSpace(*did) == "":
		return usagef("--answer action-taken needs --action-taken: say what was done")
	case *answer == notice.AnswerNoAction && strings.TrimSpace(*reason) == "":
		return usagef("--answer no-action needs --reason: say why nothing will be done")
	case *did != "" && *answer != notice.AnswerActionTaken:
		return usagef("--action-taken goes with --answer action-taken; use --comment")
	case *reason != "" && *answer != notice.AnswerNoAction:
		return usagef("--reason goes with --answer no-action; use --comment")
	}
	in := map[string]any{"answer": *answer, "action_taken": *did, "reason": *reason, "comment": *comment}
	return workflowStep(ctx, env, fs, *data, "notice", id, notice.ActionRespond, actorName(env, *as), in, *asJSON)
}

func noticeRemind(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "notice remind", "notice remind --data DIR ID [--comment C] [--respond-by D]", `
Remind the recipients of a notice this node sent that have no final answer
yet (none, or investigating). --respond-by gives those that have not
responded at all a new deadline (a duration such as 24h, or an RFC 3339
time); the deadline of a recipient that has responded does not move. The
reminders, and whom each reached, show in 'entraide notice show'.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	comment := fs.String("comment", "", "message for the recipients")
	respondBy := fs.String("respond-by", "", "new deadline for those that have not responded")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	in := map[string]any{"comment": *comment, "respond_by": *respondBy}
	return workflowStep(ctx, env, fs, *data, "notice", id, notice.ActionRemind, actorName(env, *as), in, *asJSON)
}

func noticeClose(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "notice close", "notice close --data DIR ID --outcome TEXT", `
Close a notice this node sent, with its outcome: the recipients see it
closed, no response is due any more, and the answers and delays stay on
record.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	outcome := fs.String("outcome", "", "how the notice ends: activity stopped, infrastructure taken down, no answer, … (required)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*outcome) == "" {
		return usagef("--outcome is required: how the notice ends")
	}
	return workflowStep(ctx, env, fs, *data, "notice", id, notice.ActionClose, actorName(env, *as), map[string]any{"outcome": *outcome}, *asJSON)
}

func noticeList(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "notice list", "notice list --data DIR [--sent | --received] [--open] [--json]", `
List the notices this node sent and received, newest first: one line per
recipient with its latest answer, how long after the notice its first
response came (or when it is due) and how long the final answer took
(action-taken or no-action). On a notice received, only this node's own
answer is known here.`)
	data := dataFlag(fs)
	dbFlag(fs)
	sent := fs.Bool("sent", false, "only notices this node sent")
	received := fs.Bool("received", false, "only notices this node received")
	open := fs.Bool("open", false, "only notices not closed")
	limit := fs.Int("limit", 200, "at most this many")
	asJSON := fs.Bool("json", false, "print a JSON array (each notice with its id, and its recipients' answers and delays in detail)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *sent && *received {
		return usagef("--sent and --received exclude each other")
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	all, err := s.wf.List(ctx, "notice", *open, *limit)
	if err != nil {
		return err
	}
	self := s.wf.Self()
	list := []workflow.Summary{}
	for _, c := range all {
		if *sent && c.Origin.ID != self || *received && c.Origin.ID == self {
			continue
		}
		list = append(list, c)
	}
	if *asJSON {
		return writeJSON(env.Stdout, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(env.Stdout, "no notices")
		return nil
	}
	now := s.n.Clock.Now()
	t := newTable(env.Stdout, "ID", "FROM", "TO", "STATUS", "ANSWER", "FIRST RESPONSE", "FINAL ANSWER", "TITLE")
	for _, c := range list {
		var d notice.View
		if err := json.Unmarshal(c.Detail, &d); err != nil {
			return fmt.Errorf("notice %s: %v", c.ID, err)
		}
		first := true
		for _, r := range d.Recipients {
			if c.Origin.ID != self && r.Node != self {
				continue // its answer went to the sender alone
			}
			id, from, status, title := "", "", "", ""
			if first {
				id, from, status, title = c.ID, c.Origin.Name, c.Status, truncate(c.Title, 50)
				first = false
			}
			t.row(id, from, s.wf.NodeName(r.Node), status, orDash(r.Answer), firstResponseText(r, c.Open, now), finalText(r), title)
		}
		if first { // no recipient row this node may see: the notice still shows
			t.row(c.ID, c.Origin.Name, "-", c.Status, "-", "-", "-", truncate(c.Title, 50))
		}
	}
	return t.flush()
}

func noticeShow(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "notice show", "notice show --data DIR ID [--json]", `
Show one notice: what it says (activity, indicators, evidence, the request),
and per recipient the latest answer with what was done or why not, when the
first response came and how long after the notice, whether it met the
deadline, when the final answer came, and the reminders it got. On a notice
received, only this node's own answer is known here.`)
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
	v, err := showCase(ctx, s, "notice", id)
	if err != nil {
		return err
	}
	var d notice.View
	if err := json.Unmarshal(v.Detail, &d); err != nil {
		return err
	}
	self := s.wf.Self()
	now := s.n.Clock.Now()
	return printView(env, s, v, *asJSON, func(w io.Writer) {
		var desc string
		_ = json.Unmarshal(mustField(v.Case, "description"), &desc)
		if desc != "" {
			fmt.Fprintf(w, "%s\n\n", desc)
		}
		for _, a := range d.Activity {
			label := ""
			if t, ok := vocab.RSITClass(a); ok {
				label = "  (" + t.Label + ")"
			}
			fmt.Fprintf(w, "  activity    %s%s\n", a, label)
		}
		switch {
		case d.FirstSeen != nil && d.LastSeen != nil:
			fmt.Fprintf(w, "  seen        from %s to %s\n", stamp(d.FirstSeen), stamp(d.LastSeen))
		case d.FirstSeen != nil:
			fmt.Fprintf(w, "  seen        since %s\n", stamp(d.FirstSeen))
		case d.LastSeen != nil:
			fmt.Fprintf(w, "  seen        until %s\n", stamp(d.LastSeen))
		}
		fmt.Fprintf(w, "  request     %s\n", d.RequestedAction)
		fmt.Fprintf(w, "  respond by  %s\n", stamp(&d.RespondBy))
		for _, e := range d.Evidence {
			fmt.Fprintf(w, "  evidence    %s\n", e)
		}
		if d.ClosedAt != nil {
			fmt.Fprintf(w, "  closed      %s by %s: %s\n", stamp(d.ClosedAt), d.ClosedBy, d.Outcome)
		}
		fmt.Fprintf(w, "\n  %d indicator(s)\n", len(d.Indicators))
		t := newTable(w, "  TYPE", "INDICATOR")
		for _, i := range d.Indicators {
			t.row("  "+i.Type, i.String())
		}
		t.flush()

		fmt.Fprintln(w)
		if v.Origin.ID == self {
			fmt.Fprintf(w, "%d of %d recipient(s) responded, %d with a final answer\n", d.Responded, len(d.Recipients), d.Answered)
		} else {
			fmt.Fprintln(w, "Answers go to the sender alone: this node knows its own.")
		}
		t = newTable(w, "RECIPIENT", "ANSWER", "FIRST RESPONSE", "FINAL ANSWER", "DUE", "REMINDED")
		type response struct {
			recipient string
			notice.Response
		}
		var history []response
		for _, r := range d.Recipients {
			if v.Origin.ID != self && r.Node != self {
				continue
			}
			name := s.wf.NodeName(r.Node)
			t.row(name, orDash(r.Answer), firstResponseText(r, v.Open, now), finalText(r), stamp(&r.RespondBy), fmt.Sprint(r.Reminded))
			for _, h := range r.History {
				history = append(history, response{name, h})
			}
		}
		t.flush()
		slices.SortStableFunc(history, func(a, b response) int { return a.At.Compare(b.At) })
		if len(history) > 0 {
			fmt.Fprintln(w)
			t = newTable(w, "RESPONDED", "RECIPIENT", "BY", "ANSWER", "SAYS")
			for _, h := range history {
				var says []string
				for _, x := range []string{h.ActionTaken, h.Reason, h.Comment} {
					if x != "" {
						says = append(says, x)
					}
				}
				t.row(stamp(&h.At), h.recipient, h.Actor, h.Answer, orDash(strings.Join(says, " — ")))
			}
			t.flush()
		}
		if len(d.Reminders) > 0 {
			fmt.Fprintln(w)
		}
		for _, rm := range d.Reminders {
			line := fmt.Sprintf("  reminder %s by %s", stamp(&rm.At), rm.Actor)
			if rm.RespondBy != nil {
				line += ", new deadline " + stamp(rm.RespondBy)
			}
			if rm.Comment != "" {
				line += ": " + rm.Comment
			}
			fmt.Fprintln(w, line)
		}
	})
}

// firstResponseText is when a recipient first responded, as a delay from
// the notice ("after 2h05m", "late"), or, before it does, when it is due.
func firstResponseText(r notice.Recipient, open bool, now time.Time) string {
	if r.FirstDelay != nil {
		s := "after " + delayText(*r.FirstDelay)
		if r.Late {
			s += " (late)"
		}
		return s
	}
	if !open {
		return "none"
	}
	if d := r.RespondBy.Sub(now); d > 0 {
		return "due in " + delayText(int64(d/time.Second))
	} else {
		return "OVERDUE " + delayText(int64(-d/time.Second))
	}
}

func finalText(r notice.Recipient) string {
	if r.FinalDelay == nil {
		return "-"
	}
	return "after " + delayText(*r.FinalDelay)
}

// delayText prints a delay in seconds as people read response times:
// 45s, 12m, 5h07m, 3d 4h.
func delayText(sec int64) string {
	d := time.Duration(sec) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", sec)
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
