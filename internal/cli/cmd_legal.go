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

	"github.com/entraide/entraide/internal/preservation"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// The Budapest Convention's expedited preservation (Art. 29) and the
// chained requests of Art. 30, over the preservation workflow.

func runLegal(ctx context.Context, env Env, args []string) error {
	return subcommands(ctx, env, args, `Usage: entraide legal preserve|respond|extend|mla-sent|withdraw|list|show|report [flags]

Expedited preservation of stored computer data between the 24/7 points of
contact of the Budapest Convention on Cybercrime (Art. 29, Art. 35), and
the Art. 30 disclosure of a service provider in a third country.

  preserve  ask a partner to preserve stored data (Art. 29), or chain a
            request to a third country from an Art. 30 disclosure
            (--chain); prints the request's id
  respond   answer a request received: acknowledge, execute, partial,
            refuse, disclose, extend-granted, extend-declined
  extend    ask the requested Party to preserve the data longer
  mla-sent  record the mutual assistance request sent for the data
  withdraw  withdraw a request: the data need not be preserved any more
  list      list the requests sent and received, with the next deadline
  show      show one request: its Art. 29(2) items, the answer, the
            preservation period, disclosures, deadlines and history
  report    per requested country: requests, time to acknowledge and to
            answer, refusals by ground

A request holds the facts of a case: it goes to one node, the requested
Party's, and is marked TLP:AMBER+STRICT unless --tlp says otherwise.
Run 'entraide legal SUBCOMMAND --help' for flags.
`, map[string]func(context.Context, Env, []string) error{
		"preserve": legalPreserve, "respond": legalRespond, "extend": legalExtend, "mla-sent": legalMLASent,
		"withdraw": legalWithdraw, "list": legalList, "show": legalShow, "report": legalReport,
	})
}

// legalErr turns the workflow's errors into the CLI's, naming the flag of
// the field an input error is about.
func legalErr(err error, flags map[string]string) error {
	var fe *preservation.FieldError
	if errors.As(err, &fe) {
		if f, ok := flags[fe.Field]; ok {
			return usagef("%s — flag %s", strings.TrimPrefix(err.Error(), workflow.ErrInput.Error()+": "), f)
		}
	}
	return workflowErr(err)
}

// legalOpenFlags are the flags of the request's fields.
var legalOpenFlags = map[string]string{
	"requesting_authority": "--authority", "offence": "--offence", "facts": "--facts", "stored_data": "--stored-data",
	"relation": "--relation", "custodian": "--custodian or --location", "location": "--location", "reason": "--reason",
	"mla_intent": "--mla-intent", "ack_by": "--ack-by", "remind_before": "--remind-before", "refs": "--ref",
}

func legalPreserve(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "legal preserve", `legal preserve --data DIR --to NODE --authority A --offence O --facts F --stored-data D --relation R (--custodian C | --location L) --reason E --mla-intent true|TEXT [flags]
       entraide legal preserve --data DIR --to NODE --request FILE [flags]
       entraide legal preserve --data DIR --to NODE --chain STEP_OR_REQUEST_ID [flags]`, `
Ask the requested Party's 24/7 point of contact (--to: one node, that of
the country where the data is) to preserve stored computer data
expeditiously, pending a request for mutual assistance for its search,
seizure or disclosure (Budapest Convention, Art. 29). The request carries
the items of Art. 29(2), each required:

  (a) --authority    the authority seeking the preservation
  (b) --offence      the offence under investigation or prosecution
      --facts        a brief summary of the related facts
  (c) --stored-data  the stored computer data to be preserved
      --relation     its relationship to the offence
  (d) --custodian    the custodian of the data (e.g. the service provider)
      --location     or the location of the computer system, or both
  (e) --reason       why the preservation is necessary
  (f) --mla-intent   'true', or the mutual assistance request intended

--request FILE reads them from a JSON object instead, with the fields of
the API: requesting_authority, offence, facts, stored_data, relation,
custodian, location, reason, mla_intent, refs ('-' for standard input);
flags given too override its fields. The target country is the --to
node's, from its card.

The request is one STIX object (x-entraide-preservation-request) signed
by this node and queued for the --to node alone; a running 'entraide
serve --fed-listen' delivers it. Its marking is TLP:AMBER+STRICT by
default: the facts of a case stay within the requested Party's
organisation. --tlp amber lets it tell its own clients what they need to
know (the service provider that preserves the data); clear and green are
accepted, with a warning. Never TLP:RED.

The requested Party acknowledges by --ack-by (default 24h), then executes
(preserves the data until a date at least 60 days ahead, Art. 29(7)),
executes in part, or refuses with its ground. --remind-before (default
10d) sets how long before the preservation ends this node is reminded to
send the mutual assistance request ('entraide legal mla-sent') or ask an
extension ('entraide legal extend'); due and overdue deadlines show in
'entraide legal list' and 'entraide status'.

Art. 30: when an answer discloses a service provider in a third country,
--chain with the id of the step that disclosed it (or of the request)
and --to that country's node sends it a new request prefilled from the
original: the authority, offence, facts, stored data, reason and MLA
intent; the provider as custodian; the disclosure added to the relation.
The new request names the disclosure it comes from. Flags given override
the prefilled items.

--ack-by is a duration (4h, 2d) or an RFC 3339 time. Prints the
request's id.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	var to, refs stringList
	fs.Var(&to, "to", "the requested Party's node (peer name or identity id); exactly one (required)")
	tlp := fs.String("tlp", "amber+strict", "TLP level: amber+strict, amber, green or clear")
	// The request's items are read back in fs.Visit below, so that only
	// the flags given override --request or --chain.
	fs.String("authority", "", "(a) the authority seeking the preservation")
	fs.String("offence", "", "(b) the offence under investigation")
	fs.String("facts", "", "(b) a brief summary of the related facts")
	fs.String("stored-data", "", "(c) the stored computer data to be preserved")
	fs.String("relation", "", "(c) the relationship of the data to the offence")
	fs.String("custodian", "", "(d) the custodian of the data, e.g. the service provider")
	fs.String("location", "", "(d) the location of the computer system")
	fs.String("reason", "", "(e) why the preservation is necessary")
	fs.String("mla-intent", "", "(f) 'true', or the mutual assistance request intended")
	reqFile := fs.String("request", "", "read the request's items from a JSON file ('-': standard input)")
	chain := fs.String("chain", "", "Art. 30: chain from this step (or request), prefilling the request")
	fs.String("ack-by", "", "acknowledgement deadline: duration or RFC 3339 time (default 24h)")
	fs.String("remind-before", "", "remind this node this long before the preservation ends (default 10d)")
	fs.Var(&refs, "ref", "STIX id of a related object (repeatable)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if len(to) != 1 {
		return usagef("give exactly one --to: a preservation request goes to one node, the requested Party's 24/7 point of contact (send one request per country)")
	}
	if *chain != "" && *reqFile != "" {
		return usagef("give --chain or --request, not both")
	}
	level, err := stix.ParseTLP(*tlp)
	if err != nil {
		return usagef("--tlp: %v", err)
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	target, err := s.wf.ResolveNode(ctx, to[0])
	if err != nil {
		return workflowErr(err)
	}
	if target == s.wf.Self() {
		return usagef("--to %s is this node: send the request to the requested Party's node", to[0])
	}
	p, err := s.fed.Registry().Get(ctx, target)
	if err != nil {
		return err
	}
	var in preservation.Input
	switch {
	case *chain != "":
		if in, err = legalChainInput(ctx, s, *chain, p.Country); err != nil {
			return err
		}
	case *reqFile != "":
		if in, err = legalReadRequest(env, *reqFile); err != nil {
			return err
		}
		if in.TargetCountry != "" && !strings.EqualFold(in.TargetCountry, p.Country) {
			return usagef("%s gives target_country %s, but %s is in %s: send it to that country's node", *reqFile, in.TargetCountry, p.Name, p.Country)
		}
	}
	in.TargetCountry = p.Country
	fs.Visit(func(f *flag.Flag) {
		v := f.Value.String()
		switch f.Name {
		case "authority":
			in.RequestingAuthority = v
		case "offence":
			in.Offence = v
		case "facts":
			in.Facts = v
		case "stored-data":
			in.StoredData = v
		case "relation":
			in.Relation = v
		case "custodian":
			in.Custodian = v
		case "location":
			in.Location = v
		case "reason":
			in.Reason = v
		case "mla-intent":
			in.MLAIntent = legalIntent(v)
		case "ack-by":
			in.AckBy = v
		case "remind-before":
			in.RemindBefore = v
		case "ref":
			in.Refs = refs
		}
	})
	req := map[string]any{}
	if err := json.Unmarshal(mustJSONInput(in), &req); err != nil {
		return err
	}
	req["to"], req["tlp"] = []string{target}, *tlp
	res, err := s.wf.Open(ctx, preservation.KindName, actorName(env, *as), mustJSONInput(req))
	if err != nil {
		return legalErr(err, legalOpenFlags)
	}
	if level == stix.TLPClear || level == stix.TLPGreen {
		fmt.Fprintf(env.Stderr, "warning: %s lets %s share the facts of the case beyond its organisation; the usual marking is amber+strict\n", level, p.Name)
	}
	if in.ChainedFromRef != "" {
		fmt.Fprintf(env.Stderr, "chained from %s (Art. 30), in %s\n", in.ChainedFromRef, in.ChainedFromCase)
	}
	return printCreated(env, s, res, *asJSON, res.ID)
}

// legalIntent reads --mla-intent: true, false, or a text.
func legalIntent(v string) json.RawMessage {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes":
		return json.RawMessage("true")
	case "false", "no":
		return json.RawMessage("false")
	}
	return mustJSONInput(v)
}

// legalReadRequest reads a request's items from a JSON file.
func legalReadRequest(env Env, name string) (preservation.Input, error) {
	var in preservation.Input
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(env.Stdin, 1<<20))
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return in, err
	}
	if err := workflow.DecodeStrict(b, &in); err != nil {
		return in, usagef("%s: %s", name, strings.TrimPrefix(err.Error(), workflow.ErrInput.Error()+": "))
	}
	return in, nil
}

// legalChainInput prefills a request to country from an Art. 30
// disclosure: id is the step that made it, or the request it was made in.
func legalChainInput(ctx context.Context, s *workflowSession, id, country string) (preservation.Input, error) {
	if _, err := stix.ParseID(id); err != nil {
		return preservation.Input{}, usagef("--chain %q is not an identifier: %v", id, err)
	}
	ws, err := store.Workflows(s.n.Store)
	if err != nil {
		return preservation.Input{}, err
	}
	it, err := ws.WorkflowItem(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return preservation.Input{}, fmt.Errorf("--chain %s: no such request or step on this node: see 'entraide legal list'", id)
	}
	if err != nil {
		return preservation.Input{}, err
	}
	if it.Kind != preservation.KindName {
		return preservation.Input{}, fmt.Errorf("--chain %s belongs to a %s, not to a preservation request", id, it.Kind)
	}
	c, steps, err := s.wf.Load(ctx, it.Case)
	if err != nil {
		return preservation.Input{}, err
	}
	if c.Origin != s.wf.Self() {
		return preservation.Input{}, fmt.Errorf("--chain %s: the request came from %s; only the requesting node chains a request from a disclosure made to it", id, s.wf.NodeName(c.Origin))
	}
	in, err := preservation.Chain(c, steps, id, country)
	if err != nil {
		return in, workflowErr(err)
	}
	return in, nil
}

// legalCase loads a preservation request for show and the actions, with
// clear errors for an unknown id or a case of another kind.
func legalCase(ctx context.Context, s *workflowSession, id string) (*workflow.View, error) {
	if _, err := stix.ParseID(id); err != nil {
		return nil, usagef("%q is not an identifier: %v", id, err)
	}
	v, err := s.wf.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		if strings.HasPrefix(id, workflow.StepType+"--") {
			return nil, fmt.Errorf("%s is a step, not a request: give the request's id (see 'entraide legal list')", id)
		}
		return nil, fmt.Errorf("no preservation request %s on this node: see 'entraide legal list'", id)
	}
	if err != nil {
		return nil, err
	}
	if v.Kind != preservation.KindName {
		return nil, fmt.Errorf("%s is a %s, not a preservation request: see 'entraide %s show'", id, v.Kind, commandOfKind(v.Kind))
	}
	return v, nil
}

// legalStep takes an action on a request and prints the step's id.
func legalStep(ctx context.Context, env Env, fs *flag.FlagSet, data, id, action, actor string, in map[string]any, flags map[string]string, asJSON bool) error {
	if _, err := stix.ParseID(id); err != nil {
		return usagef("%q is not an identifier: %v", id, err)
	}
	s, err := openWorkflow(ctx, env, fs, data)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := legalCase(ctx, s, id); err != nil {
		return err
	}
	res, err := s.wf.Act(ctx, id, action, actor, mustJSONInput(in))
	if err != nil {
		return legalErr(err, flags)
	}
	return printCreated(env, s, res, asJSON, res.Object)
}

// legalRespondFlags maps respond's flags to the fields of the answer.
var legalRespondFlags = []struct{ flag, field string }{
	{"reference", "reference"}, {"until", "preserved_until"}, {"preserved", "preserved"}, {"not-preserved", "not_preserved"},
	{"ground", "ground"}, {"explanation", "explanation"}, {"provider-country", "disclosures"}, {"provider", "disclosures"},
	{"provider-note", "disclosures"}, {"comment", "comment"},
}

func legalGroundsHelp() string {
	var b strings.Builder
	for _, g := range preservation.Grounds {
		fmt.Fprintf(&b, "                     %-26s %s\n", g.ID, g.Article)
	}
	return strings.TrimRight(b.String(), "\n")
}

func legalRespond(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "legal respond", "legal respond --data DIR ACTION ID [flags]", `
Answer a preservation request received from a partner, as the requested
Party. Each answer is one signed object queued for the requesting node.
ACTION is one of:

  acknowledge      the request is received and being handled
                   [--reference]
  execute          the data is preserved: --until (at least 60 days
                   ahead, Art. 29(7)) and --reference (your file
                   reference, unless given when acknowledging)
  partial          part of the data is preserved: --preserved and
                   --not-preserved (what was not, and why), --until,
                   --reference
  refuse           --ground and --explanation; the grounds:
`+legalGroundsHelp()+`
  disclose         Art. 30: a service provider in another State took part
                   in the transmission: --provider-country, --provider,
                   --provider-note (the traffic data identifying it and
                   the path). execute and partial take these flags too.
                   The requesting node may then chain a request to that
                   State ('entraide legal preserve --chain').
  extend-granted   grant the extension the requesting Party asked
                   [--until: another date, after the current expiry]
  extend-declined  decline it: --explanation

Any answer acknowledges the request: executing at once needs no separate
acknowledgement; the time of the first one is what the requesting Party's
report counts. --until is a duration (90d, 13w), a date (2027-03-01: the
data is preserved through that day, UTC) or an RFC 3339 time. Prints the
answer's id; 'entraide legal show ID' shows the request and its history.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	reference := fs.String("reference", "", "your file reference for the request")
	until := fs.String("until", "", "the data is preserved until: duration, date or RFC 3339 time")
	preserved := fs.String("preserved", "", "partial: what was preserved")
	notPreserved := fs.String("not-preserved", "", "partial: what was not preserved, and why")
	ground := fs.String("ground", "", "refuse: "+strings.Join(preservation.GroundIDs(), ", "))
	explanation := fs.String("explanation", "", "refuse, extend-declined: why")
	pCountry := fs.String("provider-country", "", "Art. 30: the State of the service provider (ISO 3166-1 code)")
	provider := fs.String("provider", "", "Art. 30: the service provider's name")
	pNote := fs.String("provider-note", "", "Art. 30: the traffic data that identifies the provider and the path")
	comment := fs.String("comment", "", "a comment for the requesting Party")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("give ACTION and ID: one of %s, then the request's id", strings.Join(preservation.TargetActions, ", "))
	}
	action, id := fs.Arg(0), fs.Arg(1)
	if slices.Contains(preservation.TargetActions, id) && !slices.Contains(preservation.TargetActions, action) {
		action, id = id, action // ID ACTION
	}
	if !slices.Contains(preservation.TargetActions, action) {
		if slices.Contains(preservation.RequesterActions, action) {
			return usagef("%s is the requesting Party's: see 'entraide legal %s --help'", action, action)
		}
		return usagef("unknown action %q: want %s", action, strings.Join(preservation.TargetActions, ", "))
	}
	takes := preservation.Fields(action)
	in := map[string]any{}
	var bad []string
	fs.Visit(func(f *flag.Flag) {
		for _, m := range legalRespondFlags {
			if m.flag == f.Name && !slices.Contains(takes, m.field) {
				bad = append(bad, "--"+f.Name)
			}
		}
	})
	if len(bad) > 0 {
		return usagef("%s does not take %s", action, strings.Join(bad, ", "))
	}
	set := func(field, v string) {
		if v != "" {
			in[field] = v
		}
	}
	set("reference", *reference)
	set("preserved_until", *until)
	set("preserved", *preserved)
	set("not_preserved", *notPreserved)
	set("ground", *ground)
	set("explanation", *explanation)
	set("comment", *comment)
	if *pCountry != "" || *provider != "" || *pNote != "" {
		if *pCountry == "" || *provider == "" {
			return usagef("an Art. 30 disclosure needs --provider-country and --provider (and, best, --provider-note)")
		}
		in["disclosures"] = []preservation.Disclosure{{Country: *pCountry, Provider: *provider, Note: *pNote}}
	}
	flags := map[string]string{"reference": "--reference", "preserved_until": "--until", "preserved": "--preserved",
		"not_preserved": "--not-preserved", "ground": "--ground", "explanation": "--explanation", "comment": "--comment",
		"disclosures": "--provider-country, --provider, --provider-note"}
	return legalStep(ctx, env, fs, *data, id, action, actorName(env, *as), in, flags, *asJSON)
}

func legalExtend(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "legal extend", "legal extend --data DIR ID --until DATE [--comment C]", `
Ask the requested Party to preserve the data of a request this node sent
beyond the current expiry, e.g. while the mutual assistance request is
being prepared or translated. The requested Party grants it (possibly
with another date) or declines it; its decision is due by the current
expiry, and this node's expiry reminder is done meanwhile (it stands
again if the extension is declined).

--until is a duration from now (120d), a date (2027-06-30: through that
day, UTC) or an RFC 3339 time, after the current expiry. Prints the
step's id.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	until := fs.String("until", "", "the new date (required)")
	comment := fs.String("comment", "", "why, for the requested Party")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	if *until == "" {
		return usagef("--until is required: the date until which the data should be preserved")
	}
	in := map[string]any{"preserved_until": *until}
	if *comment != "" {
		in["comment"] = *comment
	}
	return legalStep(ctx, env, fs, *data, id, preservation.ActionExtend, actorName(env, *as), in,
		map[string]string{"preserved_until": "--until", "comment": "--comment"}, *asJSON)
}

func legalMLASent(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "legal mla-sent", "legal mla-sent --data DIR ID --reference REF [--sent-on DATE] [--comment C]", `
Record that the request for mutual assistance announced under Art.
29(2)(f) was sent for the preserved data: its reference and the day it
was sent (--sent-on, a date or an RFC 3339 time, not in the future;
default now). The requested Party sees it; the data stays preserved
pending the decision on that request (Art. 29(7)), and the expiry
reminders on this node are done. Prints the step's id.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	reference := fs.String("reference", "", "the mutual assistance request's reference (required)")
	sentOn := fs.String("sent-on", "", "when it was sent: date or RFC 3339 time (default now)")
	comment := fs.String("comment", "", "a comment for the requested Party")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	if *reference == "" {
		return usagef("--reference is required: the reference of the mutual assistance request")
	}
	in := map[string]any{"mla_reference": *reference}
	if *sentOn != "" {
		in["sent_on"] = *sentOn
	}
	if *comment != "" {
		in["comment"] = *comment
	}
	return legalStep(ctx, env, fs, *data, id, preservation.ActionMLASent, actorName(env, *as), in,
		map[string]string{"mla_reference": "--reference", "sent_on": "--sent-on", "comment": "--comment"}, *asJSON)
}

func legalWithdraw(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "legal withdraw", "legal withdraw --data DIR ID [--comment C]", `
Withdraw a request this node sent: the requested Party need not preserve
the data any more (the case was closed, the data was obtained otherwise).
The request is closed on both sides; answers made after it are left out.
Prints the step's id.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	comment := fs.String("comment", "", "why, for the requested Party")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	in := map[string]any{}
	if *comment != "" {
		in["comment"] = *comment
	}
	return legalStep(ctx, env, fs, *data, id, preservation.ActionWithdraw, actorName(env, *as), in,
		map[string]string{"comment": "--comment"}, *asJSON)
}

// legalRequest is a request in a list.
type legalRequest struct {
	workflow.Summary
	view preservation.View
}

// legalRequests lists the requests this node holds, filtered.
func legalRequests(ctx context.Context, s *workflowSession, openOnly, sent, received bool, country string, limit int) ([]legalRequest, error) {
	list, err := s.wf.List(ctx, preservation.KindName, openOnly, limit)
	if err != nil {
		return nil, err
	}
	out := []legalRequest{}
	for _, c := range list {
		v, err := preservation.Decode(c.Detail)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", c.ID, err)
		}
		mine := c.Origin.ID == s.wf.Self()
		if (sent && !mine) || (received && mine) || (country != "" && !strings.EqualFold(country, v.TargetCountry)) {
			continue
		}
		out = append(out, legalRequest{c, v})
	}
	return out, nil
}

func legalDirectionFlags(fs *flag.FlagSet) (sent, received *bool) {
	return fs.Bool("sent", false, "only the requests this node sent"), fs.Bool("received", false, "only the requests this node received")
}

func legalList(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "legal list", "legal list --data DIR [--open] [--sent | --received] [--country CC] [--json]", `
List the preservation requests this node sent and received, newest first:
the requested country and node, the status (awaiting acknowledgement,
preserved until a date, refused and why, …) and the next deadline with
whom it waits on — the requested Party's acknowledgement, or this node's
reminder to send the mutual assistance request before the preservation
ends.`)
	data := dataFlag(fs)
	dbFlag(fs)
	open := fs.Bool("open", false, "only requests not refused or withdrawn")
	sent, received := legalDirectionFlags(fs)
	country := fs.String("country", "", "only requests to this country (ISO 3166-1 code)")
	limit := fs.Int("limit", 200, "at most this many")
	asJSON := fs.Bool("json", false, "print a JSON array (each request with its id and state)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *sent && *received {
		return usagef("give --sent or --received, not both")
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	reqs, err := legalRequests(ctx, s, *open, *sent, *received, *country, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]workflow.Summary, len(reqs))
		for i, r := range reqs {
			out[i] = r.Summary
		}
		return writeJSON(env.Stdout, out)
	}
	if len(reqs) == 0 {
		fmt.Fprintln(env.Stdout, "no preservation requests")
		return nil
	}
	now := s.n.Clock.Now()
	t := newTable(env.Stdout, "ID", "FROM", "TO", "STATUS", "NEXT DEADLINE", "OFFENCE")
	for _, r := range reqs {
		t.row(r.ID, r.Origin.Name, r.view.TargetCountry+" "+s.wf.NodeName(r.view.Target), r.Status,
			dueText(r.NextDue, r.Overdue, r.WaitingOn, now), legalClip(r.view.Offence, 50))
	}
	return t.flush()
}

func legalShow(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "legal show", "legal show --data DIR ID [--json]", `
Show one preservation request: its Art. 29(2) items, the requested
Party's answer (its reference, until when the data is preserved, what was
not, or the ground of a refusal), the Art. 30 disclosures with the
command that chains a request from each, the extensions, the mutual
assistance request, the requests chained from this one, the deadlines and
the signed history. --json prints the case with its state.`)
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
	v, err := legalCase(ctx, s, id)
	if err != nil {
		return err
	}
	d, err := preservation.Decode(v.Detail)
	if err != nil {
		return err
	}
	var chained []legalRequest
	if v.Origin.ID == s.wf.Self() && !*asJSON {
		all, err := legalRequests(ctx, s, false, true, false, "", 0)
		if err != nil {
			return err
		}
		for _, r := range all {
			if r.view.ChainedFromCaseRef == id {
				chained = append(chained, r)
			}
		}
	}
	var peers map[string]string // country → a peer's name, for the chain hint
	if v.Origin.ID == s.wf.Self() && len(d.Disclosures) > 0 {
		peers = map[string]string{}
		if ps, err := s.fed.Registry().List(ctx); err == nil {
			for _, p := range ps {
				if _, ok := peers[p.Country]; !ok {
					peers[p.Country] = p.Name
				}
			}
		}
	}
	return printView(env, s, v, *asJSON, func(w io.Writer) {
		var props map[string]json.RawMessage
		_ = json.Unmarshal(v.Case, &props)
		str := func(name string) string {
			var x string
			_ = json.Unmarshal(props[name], &x)
			return x
		}
		legalField(w, "requested", d.TargetCountry+" ("+s.wf.NodeName(d.Target)+")")
		legalField(w, "(a) authority", str("requesting_authority"))
		legalField(w, "(b) offence", str("offence"))
		legalField(w, "(b) facts", str("facts"))
		legalField(w, "(c) data", str("stored_data"))
		legalField(w, "(c) relation", str("relation"))
		legalField(w, "(d) custodian", str("custodian"))
		legalField(w, "(d) location", str("location"))
		legalField(w, "(e) necessity", str("reason"))
		intent := str("mla_intent")
		if intent == "" && string(props["mla_intent"]) == "true" {
			intent = "yes"
		}
		legalField(w, "(f) MLA intent", intent)
		if d.ChainedFromRef != "" {
			legalField(w, "chained from", d.ChainedFromRef+" in "+d.ChainedFromCaseRef+" (Art. 30)")
		}
		fmt.Fprintln(w)
		switch {
		case d.Refusal != nil:
			g, _ := preservation.LookupGround(d.Refusal.Ground)
			legalField(w, "refused", fmt.Sprintf("%s, on %s (%s: %s)", stamp(&d.Refusal.At), d.Refusal.Ground, g.Article, g.Text))
			legalField(w, "explanation", d.Refusal.Explanation)
		case d.Answer != "":
			legalField(w, d.Answer, stamp(d.AnsweredAt))
			legalField(w, "until", stamp(d.PreservedUntil))
			legalField(w, "preserved", d.Preserved)
			legalField(w, "not preserved", d.NotPreserved)
		case d.AcknowledgedAt != nil:
			legalField(w, "acknowledged", stamp(d.AcknowledgedAt))
		default:
			legalField(w, "acknowledge by", stamp(&d.AckBy))
		}
		legalField(w, "reference", d.Reference)
		if d.MLA != nil {
			legalField(w, "MLA request", fmt.Sprintf("%s, sent %s", d.MLA.Reference, d.MLA.SentOn.UTC().Format(time.DateOnly)))
		}
		if d.Withdrawn != nil {
			legalField(w, "withdrawn", stamp(&d.Withdrawn.At)+" "+d.Withdrawn.Comment)
		}
		if len(d.Disclosures) > 0 {
			fmt.Fprintln(w, "\n  Art. 30 disclosures:")
			t := newTable(w, "  COUNTRY", "PROVIDER", "NOTE", "STEP")
			for _, x := range d.Disclosures {
				t.row("  "+x.Country, x.Provider, legalClip(x.Note, 50), x.Step)
			}
			t.flush()
			for _, x := range d.Disclosures {
				if to, ok := peers[x.Country]; ok {
					fmt.Fprintf(w, "  chain: entraide legal preserve --chain %s --to %s\n", x.Step, to)
				} else if peers != nil {
					fmt.Fprintf(w, "  chain: entraide legal preserve --chain %s --to NODE (no peer in %s yet)\n", x.Step, x.Country)
				}
			}
		}
		if len(d.Extensions) > 0 {
			fmt.Fprintln(w, "\n  Extensions:")
			t := newTable(w, "  ASKED", "UNTIL", "DECISION", "DECIDED", "GRANTED UNTIL")
			for _, x := range d.Extensions {
				dec := x.Decision
				if dec == "" {
					dec = "pending"
				} else if x.Explanation != "" {
					dec += ": " + legalClip(x.Explanation, 40)
				}
				t.row("  "+stamp(&x.At), stamp(&x.Until), dec, stamp(x.DecidedAt), stamp(x.Granted))
			}
			t.flush()
		}
		if len(chained) > 0 {
			fmt.Fprintln(w, "\n  Requests chained from this one:")
			t := newTable(w, "  ID", "TO", "STATUS")
			for _, r := range chained {
				t.row("  "+r.ID, r.view.TargetCountry+" "+s.wf.NodeName(r.view.Target), r.Status)
			}
			t.flush()
		}
		for _, warn := range d.Warnings {
			fmt.Fprintf(w, "  warning: %s\n", warn)
		}
	})
}

// legalField prints a labelled value, wrapped; nothing when empty.
func legalField(w io.Writer, label, value string) {
	value = strings.TrimSpace(value)
	if value == "" || value == "-" {
		return
	}
	lines := legalWrap(value, 64)
	fmt.Fprintf(w, "  %-15s %s\n", label, lines[0])
	for _, l := range lines[1:] {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("  %-15s %s", "", l), " "))
	}
}

// legalWrap breaks text into lines of at most width runes, at spaces,
// keeping its own line breaks.
func legalWrap(s string, width int) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			switch {
			case line == "":
				line = word
			case len([]rune(line))+1+len([]rune(word)) > width:
				out = append(out, line)
				line = word
			default:
				line += " " + word
			}
		}
		out = append(out, line)
	}
	return out
}

// legalClip shortens s to n runes.
func legalClip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func legalReport(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "legal report", "legal report --data DIR [--sent | --received] [--since D] [--json]", `
How long each requested country takes, from the times of the signed
answers: per country, the requests, how many are pending, executed (in
full or in part), refused or withdrawn, the median and longest time from
the request to the requested Party's first answer (acknowledgement) and
to its execution or refusal, and the refusals by ground. On a node that
sends requests it measures the partners; with --received, this node's
own answers.

--since keeps the requests opened in the last duration (90d) or since a
date or RFC 3339 time. --json gives the figures with times in seconds.`)
	data := dataFlag(fs)
	dbFlag(fs)
	sent, received := legalDirectionFlags(fs)
	since := fs.String("since", "", "only requests opened since: duration back (90d), date or RFC 3339 time")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *sent && *received {
		return usagef("give --sent or --received, not both")
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	var from time.Time
	if *since != "" {
		if from, err = legalSince(s.n.Clock.Now(), *since); err != nil {
			return err
		}
	}
	reqs, err := legalRequests(ctx, s, false, *sent, *received, "", 100000)
	if err != nil {
		return err
	}
	var views []preservation.View
	for _, r := range reqs {
		if !r.view.Opened.Before(from) {
			views = append(views, r.view)
		}
	}
	r := preservation.Build(views)
	if *asJSON {
		return writeJSON(env.Stdout, r)
	}
	if len(r.Countries) == 0 {
		fmt.Fprintln(env.Stdout, "no preservation requests")
		return nil
	}
	t := newTable(env.Stdout, "COUNTRY", "REQUESTS", "PENDING", "EXECUTED", "PARTIAL", "REFUSED", "WITHDRAWN", "ACK MEDIAN", "ACK MAX", "ANSWER MEDIAN", "ANSWER MAX")
	row := func(name string, c preservation.CountryStats) {
		t.row(name, fmt.Sprint(c.Requests), fmt.Sprint(c.Pending), fmt.Sprint(c.Executed), fmt.Sprint(c.Partial), fmt.Sprint(c.Refused),
			fmt.Sprint(c.Withdrawn), legalDur(c.Acknowledge.Median), legalDur(c.Acknowledge.Max), legalDur(c.Answer.Median), legalDur(c.Answer.Max))
	}
	for _, c := range r.Countries {
		row(c.Country, c)
	}
	if len(r.Countries) > 1 {
		row("all", r.Total)
	}
	t.flush()
	var refusals []string
	for _, c := range r.Countries {
		for _, g := range sortedKeys(c.RefusalsByGround) {
			refusals = append(refusals, fmt.Sprintf("  %s  %-26s %d", c.Country, g, c.RefusalsByGround[g]))
		}
	}
	if len(refusals) > 0 {
		fmt.Fprintln(env.Stdout, "\nRefusals by ground:")
		for _, l := range refusals {
			fmt.Fprintln(env.Stdout, l)
		}
	}
	return nil
}

func legalDur(d *time.Duration) string {
	if d == nil {
		return "-"
	}
	return roundDuration(*d)
}

// legalSince reads --since: a duration back from now, a date or a time.
func legalSince(now time.Time, s string) (time.Time, error) {
	if d, err := workflow.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, usagef("--since %q is neither a duration (90d), a date (2026-01-01) nor an RFC 3339 time", s)
}
