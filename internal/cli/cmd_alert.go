package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/entraide/entraide/internal/alert"
)

func runAlert(ctx context.Context, env Env, args []string) error {
	return subcommands(ctx, env, args, `Usage: entraide alert send|list|show|ack|close [flags]

  send   send an alert to peers or communities; prints its id
  list   list the alerts sent and received
  show   show one alert: each recipient's delivery, acknowledgement and answer
  ack    acknowledge a received alert: affected, not-affected or investigating
  close  close an alert this node sent

Run 'entraide alert SUBCOMMAND --help' for flags.
`, map[string]func(context.Context, Env, []string) error{
		"send": alertSend, "list": alertList, "show": alertShow, "ack": alertAck, "close": alertClose,
	})
}

func alertSend(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "alert send", "alert send --data DIR (--to NODE | --community C)… --severity 0-5 --tlp LEVEL --title T [flags]", `
Send an alert. It is one STIX object (x-entraide-alert) signed by this node,
marked with the TLP level, and queued for each recipient the sharing policy
allows, in one transaction; a running 'entraide serve --fed-listen' delivers
it. Each recipient's node records its receipt at once; a person there
acknowledges it ('entraide alert ack') with an answer that comes back here.
'entraide alert show ID' shows, per recipient, when it was delivered, when
it was acknowledged and the answer; overdue acknowledgements stand out
there and in 'entraide status'.

Severity is the common scale: 0 baseline (white), 1 low (green), 2 medium
(yellow), 3 high (orange), 4 severe (red), 5 emergency (black). With a
national scale declared (DIR/severity-scale.json), --national-severity gives
the national level; the common one follows from the mapping.

Sectors are NIS2 sectors (energy, transport, banking, health, …); countries
ISO 3166-1 codes. --ack-by is a duration (30m, 4h, 2d) or an RFC 3339 time;
default 24h. Prints the alert's id.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	var to, communities, sectors, countries, refs stringList
	fs.Var(&to, "to", "peer (name or identity id) to alert (repeatable)")
	fs.Var(&communities, "community", "community whose members to alert (repeatable)")
	sev := fs.String("severity", "", "common severity, 0-5 or its name")
	nat := fs.String("national-severity", "", "level of this node's national scale")
	tlp := fs.String("tlp", "", "TLP level: clear, green, amber, amber+strict (required)")
	title := fs.String("title", "", "title (required)")
	desc := fs.String("description", "", "description")
	fs.Var(&sectors, "sector", "affected NIS2 sector (repeatable)")
	fs.Var(&countries, "country", "affected country, ISO 3166-1 alpha-2 (repeatable)")
	fs.Var(&refs, "ref", "STIX id of a related indicator, report, incident… (repeatable)")
	ackBy := fs.String("ack-by", "", "acknowledgement deadline: duration or RFC 3339 time (default 24h)")
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
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	in := map[string]any{"to": to, "communities": communities, "tlp": *tlp, "title": *title, "description": *desc,
		"severity": *sev, "national_severity": *nat, "sectors": sectors, "countries": countries, "refs": refs, "ack_by": *ackBy}
	res, err := s.wf.Open(ctx, "alert", actorName(env, *as), mustJSONInput(in))
	if err != nil {
		return workflowErr(err)
	}
	return printCreated(env, s, res, *asJSON, res.ID)
}

func alertList(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "alert list", "alert list --data DIR [--open] [--json]", `
List the alerts this node sent and received, newest first, with the next
acknowledgement deadline and whom it waits on.`)
	data := dataFlag(fs)
	dbFlag(fs)
	open := fs.Bool("open", false, "only alerts not closed")
	limit := fs.Int("limit", 200, "at most this many")
	asJSON := fs.Bool("json", false, "print a JSON array (each alert with its id)")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	list, err := s.wf.List(ctx, "alert", *open, *limit)
	if err != nil {
		return err
	}
	return printSummaries(env, s, list, *asJSON, "alerts")
}

func alertShow(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "alert show", "alert show --data DIR ID [--json]", `
Show one alert: its content, and per recipient when it was delivered, when
it was acknowledged, the answer and the comment.`)
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
	v, err := showCase(ctx, s, "alert", id)
	if err != nil {
		return err
	}
	var d alert.View
	if err := json.Unmarshal(v.Detail, &d); err != nil {
		return err
	}
	return printView(env, s, v, *asJSON, func(w io.Writer) {
		var desc string
		_ = json.Unmarshal(mustField(v.Case, "description"), &desc)
		if desc != "" {
			fmt.Fprintf(w, "%s\n\n", desc)
		}
		if len(d.Sectors) > 0 {
			fmt.Fprintf(w, "  sectors    %s\n", strings.Join(d.Sectors, ", "))
		}
		if len(d.Countries) > 0 {
			fmt.Fprintf(w, "  countries  %s\n", strings.Join(d.Countries, ", "))
		}
		for _, r := range d.Refs {
			fmt.Fprintf(w, "  ref        %s\n", r)
		}
		sent := v.Origin.ID == s.wf.Self()
		if sent {
			fmt.Fprintf(w, "  ack by     %s (%d of %d acknowledged)\n\n", stamp(&d.AckBy), d.Acknowledged, len(d.Recipients))
		} else {
			ours := "not yet acknowledged by this node"
			for _, r := range d.Recipients {
				if r.Node == s.wf.Self() && r.AcknowledgedAt != nil {
					ours = "acknowledged by this node"
				}
			}
			fmt.Fprintf(w, "  ack by     %s (%s)\n\n", stamp(&d.AckBy), ours)
		}
		t := newTable(w, "RECIPIENT", "ACKNOWLEDGED", "ANSWER", "BY", "COMMENT")
		for _, r := range d.Recipients {
			ans := r.Answer
			switch {
			case !r.Known && !sent && r.Node != s.wf.Self():
				ans = "(not known here)"
			case ans == "":
				ans = "-"
			}
			t.row(s.wf.NodeName(r.Node), stamp(r.AcknowledgedAt), ans, r.Actor, truncate(r.Comment, 60))
		}
		t.flush()
		if d.Unknown > 0 && !sent {
			fmt.Fprintf(w, "\nAcknowledgements go to the sender (%s) alone: the other recipients' answers are known there.\n", v.Origin.Name)
		}
	})
}

// mustField returns one top-level member of a JSON object (nil if absent).
func mustField(obj json.RawMessage, name string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return nil
	}
	return m[name]
}

func alertAck(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "alert ack", "alert ack --data DIR ID --answer affected|not-affected|investigating [--comment C]", `
Acknowledge an alert received from a partner. The acknowledgement is one
signed object queued for the sender: your answer (affected, not-affected or
investigating) and comment. You may acknowledge again when the answer
changes; the first acknowledgement is what meets the deadline.`)
	data := dataFlag(fs)
	dbFlag(fs)
	as := actorFlag(fs)
	answer := fs.String("answer", "", "affected, not-affected or investigating (required)")
	comment := fs.String("comment", "", "comment for the sender")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := oneID(fs)
	if err != nil {
		return err
	}
	if *answer == "" {
		return usagef("--answer is required: affected, not-affected or investigating")
	}
	return workflowStep(ctx, env, fs, *data, "alert", id, alert.ActionAck, actorName(env, *as), map[string]any{"answer": *answer, "comment": *comment}, *asJSON)
}

func alertClose(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "alert close", "alert close --data DIR ID [--comment C]", `
Close an alert this node sent: its recipients see it closed, and no
acknowledgement is due any more.`)
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
	return workflowStep(ctx, env, fs, *data, "alert", id, alert.ActionClose, actorName(env, *as), map[string]any{"comment": *comment}, *asJSON)
}
