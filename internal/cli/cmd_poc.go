package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/contact"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/workflow"
)

// pingStatsLimit is how many of the latest pings the directory's
// statistics cover.
const pingStatsLimit = 10000

func runPoc(ctx context.Context, env Env, args []string) error {
	return subcommands(ctx, env, args, `Usage: entraide poc list|set|remove|ping|pings|show|answer|close [flags]

Points of contact: who answers for each role, published on the node card,
and pings that check a partner's contact answers, as the UN directory's
ping tests do.

  list    the directory: this node's and every peer's contacts by role, with ping statistics
  set     set this node's point of contact for a role (the running node announces it to peers)
  remove  remove a point of contact of this node
  ping    ask a partner's contact for a role to answer by a deadline; prints the ping's id
  pings   list the pings sent and received: who answered, how fast, what is overdue
  show    show one ping: its message, its challenge code, each answer
  answer  answer a ping received, typing back its challenge code
  close   close a ping this node sent: no answer is expected any more

Roles: csirt-24x7 (CSIRT 24/7), le-24x7 (law enforcement 24/7, Budapest
Convention Art. 35), diplomatic (UN and OSCE confidence-building measures),
technical, crisis-liaison.

Run 'entraide poc SUBCOMMAND --help' for flags.
`, map[string]func(context.Context, Env, []string) error{
		"list": pocList, "set": pocSet, "remove": pocRemove, "ping": pocPing, "pings": pocPings,
		"show": pocShow, "answer": pocAnswer, "close": pocClose,
	})
}

// ---- the directory ----

func pocList(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "poc list", "poc list --data DIR [--peer NODE]… [--role ROLE] [--json]", `
The points-of-contact directory: for this node (as its next card will carry
them) and for every pinned peer (as its pinned card gives them), each role's
contacts — name, unit, email, phone, further channels, languages, hours and
whether the hours cover now — then what the pings showed: for a peer, the
pings this node sent to that role; for this node, the pings its partners
sent it. Per role: how many pings, answered on time, missed (the deadline
passed before an answer), the answer rate (on time over decided), the median
response time, and the last ping with who answered and how fast. The
well-known roles a node lists no contact for are shown as missing.

A peer's contacts are those of the card pinned here. A partner's running node
announces its new card when its contacts change, and this node pins it (same
key, newer card); a partner whose node runs an older version sends its new
card by hand ('entraide peer add CARD').`)
	data := dataFlag(fs)
	dbFlag(fs)
	var peers stringList
	fs.Var(&peers, "peer", "only this peer (name or identity id; repeatable); \"self\" for this node")
	roleF := fs.String("role", "", "only this role")
	asJSON := fs.Bool("json", false, "print the directory as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	role := ""
	if *roleF != "" {
		r, err := contact.RoleInput(*roleF)
		if err != nil {
			if !isRoleToken(*roleF) {
				return workflowErr(err)
			}
			role = *roleF // a role token of an older card
		} else {
			role = r.ID
		}
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	var only []string
	for _, p := range peers {
		id, err := s.wf.ResolveNode(ctx, p)
		if err != nil {
			return workflowErr(err)
		}
		only = append(only, id)
	}
	nodes, err := contact.Nodes(ctx, s.n, s.fed.Registry())
	if err != nil {
		return err
	}
	pings, err := contact.Pings(ctx, s.wf, pingStatsLimit)
	if err != nil {
		return err
	}
	d := contact.Build(nodes, pings, s.n.Clock.Now())
	d.Nodes = slices.DeleteFunc(d.Nodes, func(n contact.NodeEntry) bool { return len(only) > 0 && !slices.Contains(only, n.ID) })
	if role != "" {
		for i := range d.Nodes {
			d.Nodes[i].Roles = slices.DeleteFunc(d.Nodes[i].Roles, func(r contact.RoleEntry) bool { return r.Role != role })
			d.Nodes[i].MissingRoles = slices.DeleteFunc(d.Nodes[i].MissingRoles, func(r string) bool { return r != role })
		}
	}
	if *asJSON {
		return writeJSON(env.Stdout, d)
	}
	printDirectory(env.Stdout, d)
	return nil
}

func isRoleToken(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return s != ""
}

func printDirectory(w io.Writer, d *contact.Directory) {
	for i, n := range d.Nodes {
		if i > 0 {
			fmt.Fprintln(w)
		}
		head := fmt.Sprintf("%s  %s (%s)", n.Name, n.Organisation, n.Country)
		if n.Self {
			head += ", this node"
		}
		if n.CardIssued != nil {
			head += ", card issued " + n.CardIssued.UTC().Format(time.DateOnly)
		}
		fmt.Fprintln(w, head)
		for _, r := range n.Roles {
			switch {
			case !r.Known:
				fmt.Fprintf(w, "  %s  (a role of an older card)\n", r.Role)
			case r.Label != r.Role:
				fmt.Fprintf(w, "  %s  %s\n", r.Role, r.Label)
			default:
				fmt.Fprintf(w, "  %s\n", r.Role)
			}
			if len(r.Contacts) == 0 {
				fmt.Fprintln(w, "    no contact on the card")
			}
			for _, c := range r.Contacts {
				name := c.Name
				if c.Unit != "" {
					name += ", " + c.Unit
				}
				fmt.Fprintf(w, "    %s\n", name)
				var reach []string
				if c.Email != "" {
					reach = append(reach, "email "+c.Email)
				}
				if c.Phone != "" {
					reach = append(reach, "phone "+c.Phone)
				}
				for _, ch := range c.Channels {
					reach = append(reach, ch.Type+" "+ch.Value)
				}
				fmt.Fprintf(w, "      %s\n", strings.Join(reach, "; "))
				var when []string
				if len(c.Languages) > 0 {
					when = append(when, "languages "+strings.Join(c.Languages, ", "))
				}
				if c.Hours != "" {
					h := "hours " + c.Hours
					if c.OnDuty != nil && *c.OnDuty {
						h += " (on duty now)"
					} else if c.OnDuty != nil {
						h += " (off duty now)"
					}
					when = append(when, h)
				}
				if len(when) > 0 {
					fmt.Fprintf(w, "      %s\n", strings.Join(when, "; "))
				}
			}
			if line := statsText(r.Pings, n.Self); line != "" {
				fmt.Fprintf(w, "    pings: %s\n", line)
			}
			if l := r.Pings.Last; l != nil {
				fmt.Fprintf(w, "    last:  %s\n", lastText(l, d.At))
			}
		}
		if len(n.MissingRoles) > 0 {
			fmt.Fprintf(w, "  no contact for %s\n", strings.Join(n.MissingRoles, ", "))
		}
	}
	if len(d.Nodes) == 0 {
		fmt.Fprintln(w, "no node matches")
	}
}

func statsText(s contact.Stats, self bool) string {
	if s.Pings == 0 {
		return ""
	}
	verb := "sent"
	if self {
		verb = "received"
	}
	parts := []string{fmt.Sprintf("%d %s", s.Pings, verb), fmt.Sprintf("%d answered on time", s.OnTime)}
	if late := s.Answered - s.OnTime; late > 0 {
		parts = append(parts, fmt.Sprintf("%d late", late))
	}
	if unanswered := s.Missed - (s.Answered - s.OnTime); unanswered > 0 {
		parts = append(parts, fmt.Sprintf("%d unanswered", unanswered))
	}
	if s.Pending > 0 {
		parts = append(parts, fmt.Sprintf("%d awaiting", s.Pending))
	}
	if s.AnswerRate != nil {
		parts = append(parts, fmt.Sprintf("answer rate %.0f%%", *s.AnswerRate*100))
	}
	if s.MedianResponseSeconds != nil {
		parts = append(parts, "median response "+contact.ShortDuration(time.Duration(*s.MedianResponseSeconds)*time.Second))
	}
	return strings.Join(parts, ", ")
}

func lastText(l *contact.Last, now time.Time) string {
	s := stamp(&l.Sent) + "  " + l.Status
	switch l.Status {
	case "answered", "answered late":
		s += " by " + l.AnsweredBy
		if l.ResponseSeconds != nil {
			s += " in " + contact.ShortDuration(time.Duration(*l.ResponseSeconds)*time.Second)
		}
	case "awaiting":
		s += ", due in " + roundDuration(l.AnswerBy.Sub(now))
	case "expired":
		s += " " + roundDuration(now.Sub(l.AnswerBy)) + " ago, no answer"
	}
	return s + "  (" + l.ID + ")"
}

// ---- this node's contacts ----

func pocSet(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "poc set", "poc set --data DIR --role ROLE --name NAME --email E and/or --phone P [--unit U] [--language L]… [--hours H] [--channel TYPE=VALUE]… [--add]", `
Set this node's point of contact for a role. Without --add, it replaces the
role's contacts; with --add, it is added to them (a backup desk, a desk for
other languages), or replaces the role's contact of the same --name.

Roles: csirt-24x7, le-24x7 (budapest-24x7, the name of older cards, is the
same role), diplomatic, technical, crisis-liaison.
--language: ISO 639-1 codes, with a region if it matters (fr, en, pt-BR);
  most preferred first; repeatable or comma-separated.
--hours: 24/7, or a weekly schedule with its IANA time zone:
  "Mon-Fri 08:00-18:00 Europe/Paris", "Mon-Fri 07:00-19:00, Sat 09:00-13:00 UTC";
  a night shift is two spans ("Mon-Fri 18:00-24:00, Tue-Sat 00:00-08:00 UTC").
--channel: further ways to reach the contact, TYPE=VALUE, most preferred
  first: email, phone, sms, fax, signal (number or username), matrix
  (@user:server), xmpp, web (https URL), pgp (the OpenPGP fingerprint for
  encrypted e-mail).

The contacts are kept in the node's settings and signed into its card. The
running node ('entraide serve --fed-listen') announces the new card to every
pinned peer within 10 minutes (at once when it starts), and each peer pins
it; a peer that cannot be reached gets it at a later round. A partner whose
node runs an older version needs the card by hand: 'entraide card export',
then 'entraide peer add CARD' on their side.`)
	data := dataFlag(fs)
	dbFlag(fs)
	var spec contact.Spec
	var langs stringList
	fs.StringVar(&spec.Role, "role", "", "the role (required)")
	fs.StringVar(&spec.Name, "name", "", "the person or the desk who answers (required)")
	fs.StringVar(&spec.Unit, "unit", "", "the organisational unit")
	fs.StringVar(&spec.Email, "email", "", "e-mail address")
	fs.StringVar(&spec.Phone, "phone", "", "phone number in international form, +33 1 23 45 67 89")
	fs.Var(&langs, "language", "language the contact works in, ISO 639-1 (repeatable)")
	fs.StringVar(&spec.Hours, "hours", "", "when the contact answers: 24/7 or a weekly schedule with its time zone")
	channelFlag := &channelList{}
	fs.Var(channelFlag, "channel", "further channel, TYPE=VALUE (repeatable)")
	add := fs.Bool("add", false, "add to the role's contacts instead of replacing them")
	asJSON := fs.Bool("json", false, "print this node's contacts as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	spec.Languages, spec.Channels = langs, *channelFlag
	c, err := spec.Contact()
	if err != nil {
		return workflowErr(err)
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	if err := n.SetContacts(contact.Set(n.Identity.Contacts, c, *add)); err != nil {
		return err
	}
	return printOwnContacts(env, n, c.Role, *asJSON, *data)
}

// channelList is the repeatable --channel flag: one channel per flag (a
// value may hold commas).
type channelList []string

func (c *channelList) String() string     { return strings.Join(*c, " ") }
func (c *channelList) Set(v string) error { *c = append(*c, v); return nil }

func pocRemove(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "poc remove", "poc remove --data DIR --role ROLE [--name NAME] [--json]", `
Remove this node's points of contact for a role, or only the one named
--name. ROLE may also be a role of an older card (liaison, …), to clean it
up. A card needs at least one point of contact: set another before removing
the last. As with 'poc set', the running node announces the new card to its
peers within 10 minutes (at once when it starts).`)
	data := dataFlag(fs)
	dbFlag(fs)
	role := fs.String("role", "", "the role (required)")
	name := fs.String("name", "", "only the contact of this name")
	asJSON := fs.Bool("json", false, "print this node's contacts as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *role == "" {
		return usagef("--role is required")
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	rest, removed := contact.Remove(n.Identity.Contacts, *role, *name)
	if removed == 0 {
		what := "no " + *role + " contact"
		if *name != "" {
			what = fmt.Sprintf("no %s contact named %q", *role, *name)
		}
		return usagef("%s on this node: see 'entraide poc list --data %s --peer self'", what, *data)
	}
	if len(rest) == 0 {
		return usagef("that would remove the node's last point of contact, and a card needs one: set another first ('entraide poc set')")
	}
	if err := n.SetContacts(rest); err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(env.Stdout, "Removed %d %s contact(s) of %s.\n", removed, card.CanonicalRole(*role), n.Identity.Name)
	}
	return printOwnContacts(env, n, "", *asJSON, *data)
}

// printOwnContacts prints this node's contacts after a change (those of
// role only, when given), and how the change reaches peers.
func printOwnContacts(env Env, n *node.Node, role string, asJSON bool, data string) error {
	if asJSON {
		cs := n.Identity.Contacts
		if cs == nil {
			cs = []card.Contact{}
		}
		return writeJSON(env.Stdout, cs)
	}
	w := env.Stdout
	if role != "" {
		fmt.Fprintf(w, "The %s contacts of %s:\n", role, n.Identity.Name)
	} else {
		fmt.Fprintf(w, "The contacts of %s:\n", n.Identity.Name)
	}
	for _, c := range n.Identity.Contacts {
		if role == "" || card.CanonicalRole(c.Role) == role {
			fmt.Fprintf(w, "  %s\n", contactLine(c))
		}
	}
	fmt.Fprintln(w, "The running node (entraide serve --fed-listen) announces the new card to every peer within 10 minutes,")
	fmt.Fprintf(w, "or at once when it starts; on a peer, 'entraide poc list --peer %s' shows it once pinned there.\n", n.Identity.Name)
	return nil
}

func contactLine(c card.Contact) string {
	parts := []string{c.Role + ": " + c.Name}
	if c.Unit != "" {
		parts[0] += " (" + c.Unit + ")"
	}
	for _, p := range []string{c.Email, c.Phone} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	for _, ch := range c.Channels {
		parts = append(parts, ch.Type+" "+ch.Value)
	}
	if len(c.Languages) > 0 {
		parts = append(parts, strings.Join(c.Languages, "/"))
	}
	if c.Hours != "" {
		parts = append(parts, c.Hours)
	}
	return strings.Join(parts, ", ")
}

// ---- pings ----

func pocPing(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "poc ping", "poc ping --data DIR (--to NODE | --community C)… --role ROLE [--message M] [--answer-by D] [--challenge CODE | --no-challenge] [flags]", `
Ping a partner's point of contact for a role: a person there must answer by
the deadline. The ping is one signed STIX object (x-entraide-ping) queued for
each pinged node; a running 'entraide serve --fed-listen' delivers it. On
the pinged node it shows in 'entraide status' and 'entraide poc pings' until
someone answers ('entraide poc answer'); the answer, with the name of the
person, comes back here, and 'entraide poc list' keeps the statistics: who
answered, how fast, the answer rate.

A challenge code is drawn at random unless you give one (--challenge) or
none (--no-challenge): the person answering types it back, which shows a
person read the ping. It is printed on standard error here, and shown to
the pinged node in 'entraide poc show'.

--answer-by is a duration (30m, 2h, 3d) or an RFC 3339 time, at most 30 days
away. By default: 2h for csirt-24x7 and le-24x7, 24h for crisis-liaison, 3d
for diplomatic and technical. The marking is TLP:AMBER unless --tlp says
otherwise (never RED). Prints the ping's id.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	var to, communities stringList
	fs.Var(&to, "to", "peer (name or identity id) to ping (repeatable)")
	fs.Var(&communities, "community", "community whose members to ping (repeatable)")
	roleF := fs.String("role", "", "the role to ping (required)")
	message := fs.String("message", "", "message to the person answering")
	answerBy := fs.String("answer-by", "", "deadline: duration or RFC 3339 time (default by role)")
	challenge := fs.String("challenge", "", "the code to type back (default: drawn at random)")
	noChallenge := fs.Bool("no-challenge", false, "ask for no code")
	tlp := fs.String("tlp", "amber", "TLP level: clear, green, amber, amber+strict")
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
	role, err := contact.RoleInput(*roleF)
	if err != nil {
		return workflowErr(err)
	}
	if *noChallenge && *challenge != "" {
		return usagef("give --challenge or --no-challenge, not both")
	}
	code := *challenge
	if code == "" && !*noChallenge {
		if code, err = contact.NewChallenge(nil); err != nil {
			return err
		}
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	for _, name := range to {
		id, err := s.wf.ResolveNode(ctx, name)
		if err != nil {
			return workflowErr(err)
		}
		if p, ok := s.fed.Registry().ByIdentity(id); ok && p.Card != nil &&
			!slices.ContainsFunc(p.Card.PointsOfContact, func(c card.Contact) bool { return card.CanonicalRole(c.Role) == role.ID }) {
			fmt.Fprintf(env.Stderr, "note: the card pinned for %s lists no %s contact; the ping reaches its node all the same\n", p.Name, role.ID)
		}
	}
	in := map[string]any{"to": to, "communities": communities, "tlp": *tlp, "role": role.ID, "message": *message,
		"answer_by": *answerBy, "challenge": code}
	res, err := s.wf.Open(ctx, contact.Kind.Name, actorName(env, *as), mustJSONInput(in))
	if err != nil {
		return workflowErr(err)
	}
	if err := printCreated(env, s, res, *asJSON, res.ID); err != nil {
		return err
	}
	if code != "" && !*asJSON {
		fmt.Fprintf(env.Stderr, "challenge: %s (the person answering types it back)\n", strings.ToUpper(strings.TrimSpace(code)))
	}
	return nil
}

// pingRow is one ping in 'poc pings --json'.
type pingRow struct {
	ID         string             `json:"id"`
	Direction  string             `json:"direction"` // sent, received
	Origin     workflow.PartyView `json:"origin"`
	Role       string             `json:"role"`
	RoleLabel  string             `json:"role_label"`
	Message    string             `json:"message,omitempty"`
	Challenge  string             `json:"challenge,omitempty"`
	Sent       time.Time          `json:"sent"`
	AnswerBy   time.Time          `json:"answer_by"`
	Status     string             `json:"status"`
	Open       bool               `json:"open"`
	ClosedAt   *time.Time         `json:"closed_at,omitempty"`
	Recipients []pingRecipientRow `json:"recipients"`
}

type pingRecipientRow struct {
	contact.Recipient
	Name    string `json:"name"`
	Outcome string `json:"outcome"` // answered, answered late, awaiting, expired, closed
	Overdue bool   `json:"overdue"`
}

func pingRows(s *workflowSession, pings []contact.Ping, now time.Time) []pingRow {
	rows := []pingRow{}
	for _, p := range pings {
		r := pingRow{ID: p.ID, Direction: "received", Origin: workflow.PartyView{ID: p.Origin, Name: s.wf.NodeName(p.Origin)},
			Role: p.View.Role, RoleLabel: p.View.RoleLabel, Message: p.View.Message, Challenge: p.View.Challenge,
			Sent: p.View.Sent, AnswerBy: p.View.AnswerBy, Status: p.Status, Open: p.Open, ClosedAt: p.View.ClosedAt,
			Recipients: []pingRecipientRow{}}
		if p.Origin == s.wf.Self() {
			r.Direction = "sent"
		}
		for _, rc := range p.View.Recipients {
			out := contact.Outcome(p.View, rc, now)
			r.Recipients = append(r.Recipients, pingRecipientRow{Recipient: rc, Name: s.wf.NodeName(rc.Node), Outcome: out, Overdue: out == "expired"})
		}
		rows = append(rows, r)
	}
	return rows
}

func pocPings(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "poc pings", "poc pings --data DIR [--sent | --received] [--open] [--role ROLE] [--json]", `
List the pings this node sent and received, newest first: the role, when it
was sent and is due, and per pinged node whether it was answered, by whom
and how fast, is still awaited, or expired (the deadline passed without an
answer). Pings received and still awaiting this node's answer also show in
'entraide status'; answer them with 'entraide poc answer'.`)
	data := dataFlag(fs)
	dbFlag(fs)
	sent := fs.Bool("sent", false, "only the pings this node sent")
	received := fs.Bool("received", false, "only the pings this node received")
	open := fs.Bool("open", false, "only the pings still awaiting an answer")
	roleF := fs.String("role", "", "only pings of this role")
	limit := fs.Int("limit", 200, "at most this many")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *sent && *received {
		return usagef("give --sent or --received, not both")
	}
	role := ""
	if *roleF != "" {
		r, err := contact.RoleInput(*roleF)
		if err != nil {
			return workflowErr(err)
		}
		role = r.ID
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	pings, err := contact.Pings(ctx, s.wf, 0)
	if err != nil {
		return err
	}
	now := s.n.Clock.Now()
	var rows []pingRow
	for _, r := range pingRows(s, pings, now) {
		if *sent && r.Direction != "sent" || *received && r.Direction != "received" || *open && !r.Open || role != "" && r.Role != role {
			continue
		}
		if len(rows) < *limit {
			rows = append(rows, r)
		}
	}
	if *asJSON {
		if rows == nil {
			rows = []pingRow{}
		}
		return writeJSON(env.Stdout, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(env.Stdout, "no pings")
		return nil
	}
	t := newTable(env.Stdout, "ID", "NODE", "ROLE", "SENT", "STATUS")
	for _, r := range rows {
		node := "from " + r.Origin.Name
		var names, states []string
		for _, rc := range r.Recipients {
			if r.Direction == "received" && rc.Node != s.wf.Self() {
				continue
			}
			names = append(names, rc.Name)
			states = append(states, recipientText(rc, r, now, len(r.Recipients) > 1 && r.Direction == "sent"))
		}
		if r.Direction == "sent" {
			node = "to " + strings.Join(names, ", ")
		}
		t.row(r.ID, node, r.Role, stamp(&r.Sent), strings.Join(states, "; "))
	}
	return t.flush()
}

// recipientText says what became of one pinged node, for people.
func recipientText(rc pingRecipientRow, r pingRow, now time.Time, named bool) string {
	var s string
	switch rc.Outcome {
	case "answered", "answered late":
		s = rc.Outcome + " by " + rc.AnsweredBy + " in " + contact.ShortDuration(rc.ResponseTime())
	case "awaiting":
		s = "awaiting, due in " + roundDuration(r.AnswerBy.Sub(now))
	case "expired":
		s = "EXPIRED " + roundDuration(now.Sub(r.AnswerBy)) + " ago, no answer"
	case "closed":
		s = "closed, no answer"
	}
	if rc.WrongChallenge > 0 {
		s += fmt.Sprintf(" (%d answer(s) with a wrong code)", rc.WrongChallenge)
	}
	if named {
		s = rc.Name + ": " + s
	}
	return s
}

func pocShow(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "poc show", "poc show --data DIR ID [--json]", `
Show one ping: the role, the message, the challenge code and the deadline,
and per pinged node whether and when it was answered, by whom, how fast, and
the comment. On a pinged node, it says how to answer.`)
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
	v, err := showCase(ctx, s, contact.Kind.Name, id)
	if err != nil {
		return err
	}
	var d contact.View
	if err := json.Unmarshal(v.Detail, &d); err != nil {
		return err
	}
	now := s.n.Clock.Now()
	return printView(env, s, v, *asJSON, func(w io.Writer) {
		fmt.Fprintf(w, "  role       %s (%s)\n", d.Role, d.RoleLabel)
		if d.Message != "" {
			fmt.Fprintf(w, "  message    %s\n", d.Message)
		}
		if d.Challenge != "" {
			fmt.Fprintf(w, "  challenge  %s\n", d.Challenge)
		}
		fmt.Fprintf(w, "  answer by  %s (%d of %d answered)\n", stamp(&d.AnswerBy), d.Answered, len(d.Recipients))
		if d.ClosedAt != nil {
			note := ""
			if d.CloseNote != "" {
				note = ": " + d.CloseNote
			}
			fmt.Fprintf(w, "  closed     %s%s\n", stamp(d.ClosedAt), note)
		}
		fmt.Fprintln(w)
		t := newTable(w, "NODE", "OUTCOME", "ANSWERED", "BY", "RESPONSE", "COMMENT")
		for _, rc := range d.Recipients {
			resp := "-"
			if rc.AnsweredAt != nil {
				resp = contact.ShortDuration(rc.ResponseTime())
			}
			out := contact.Outcome(d, rc, now)
			if rc.WrongChallenge > 0 {
				out += fmt.Sprintf(" (%d wrong code)", rc.WrongChallenge)
			}
			by := rc.AnsweredBy
			if by == "" {
				by = "-"
			}
			t.row(s.wf.NodeName(rc.Node), out, stamp(rc.AnsweredAt), by, resp, truncate(rc.Comment, 60))
		}
		t.flush()
		for _, rc := range d.Recipients {
			if rc.Node == s.wf.Self() && rc.AnsweredAt == nil && d.ClosedAt == nil {
				code := ""
				if d.Challenge != "" {
					code = " --challenge CODE" // typed by the person, not pasted by a script
				}
				fmt.Fprintf(w, "\nTo answer: entraide poc answer --data %s %s%s --as \"YOUR NAME\"\n", *data, v.ID, code)
			}
		}
	})
}

func pocAnswer(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "poc answer", "poc answer --data DIR ID [--challenge CODE] [--comment C] [--as NAME]", `
Answer a ping received from a partner: one signed object, queued for the
node that sent it, with your name (--as, default $USER: give the name the
partner should see) and, when the ping has one, its challenge code as you
read it ('entraide poc show ID'): case, spaces and hyphens do not matter. A
node answers a ping once; an answer after the deadline counts as late.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	code := fs.String("challenge", "", "the ping's challenge code, typed back")
	comment := fs.String("comment", "", "comment for the sender")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	in := map[string]any{"challenge": *code, "comment": *comment}
	return workflowStep(ctx, env, fs, *data, contact.Kind.Name, id, contact.ActionAnswer, actorName(env, *as), in, *asJSON)
}

func pocClose(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "poc close", "poc close --data DIR ID [--comment C]", `
Close a ping this node sent: the pinged nodes see it closed and no answer is
due any more. A ping closed before its deadline without an answer does not
count in the answer rate; closing an expired one keeps it counted as missed.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	comment := fs.String("comment", "", "why it is closed")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	return workflowStep(ctx, env, fs, *data, contact.Kind.Name, id, contact.ActionClose, actorName(env, *as), map[string]any{"comment": *comment}, *asJSON)
}
