package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/workflow"
)

func runShare(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "share", "share --data DIR (--community C | --to NODE | --red-to USER@NODE)… --tlp LEVEL FILE", `
Share objects with partners. Each object in FILE (a bundle, a JSON array or
one object per line; "-" for standard input) is marked with the TLP level,
signed by this node as its own, stored, and queued for every recipient the
sharing policy allows — in one transaction. Recipients the policy refuses
are listed with the reason (and audited). A running 'entraide serve
--fed-listen' delivers the queue, retrying peers that are down.

TLP levels: clear, green, amber, amber+strict, red.

TLP:RED is for named people: give each with --red-to USER@NODE (NODE a peer
name or identity id, or self for this node's own users; at least one). The
names are signed into each object, which goes only to their nodes, is stored
encrypted, and is shown only to them (each access audited); it is never
forwarded and never exported in bulk. Name yourself too if you want to read
it here.`)
	data := dataFlag(fs)
	dbFlag(fs)
	var communities, nodes stringList
	fs.Var(&communities, "community", "community to share with (repeatable)")
	fs.Var(&nodes, "to", "peer (name or identity id) to share with (repeatable)")
	var redTo stringList
	fs.Var(&redTo, "red-to", "with --tlp red: a person who may read the objects, USER@NODE (repeatable)")
	tlpFlag := fs.String("tlp", "", "TLP level to mark the objects with (required)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one FILE (or - for standard input)")
	}
	if *tlpFlag == "" {
		return usagef("--tlp is required: the marking decides who may receive the objects")
	}
	tlp, err := stix.ParseTLP(*tlpFlag)
	if err != nil {
		return usagef("--tlp: %v", err)
	}
	switch {
	case tlp == stix.TLPRed && len(redTo) == 0:
		return usagef("--tlp red needs at least one --red-to USER@NODE: TLP:RED is for named people")
	case tlp != stix.TLPRed && len(redTo) > 0:
		return usagef("--red-to is for --tlp red only")
	case len(communities) == 0 && len(nodes) == 0 && len(redTo) == 0:
		return usagef("give at least one --community or --to")
	}
	for _, r := range redTo {
		if _, _, err := federation.ParseRedRecipient(r); err != nil {
			return usagef("--red-to: %v", err)
		}
	}
	var in io.Reader = env.Stdin
	if p := fs.Arg(0); p != "-" {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	var objs [][]byte
	rd := stix.NewReader(in)
	for {
		raw, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		objs = append(objs, raw)
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	fed, err := federation.New(ctx, n, federation.Config{})
	if err != nil {
		return err
	}
	res, err := fed.Share(ctx, federation.ShareRequest{Objects: objs, TLP: tlp, Communities: communities, Nodes: nodes, RedTo: redTo, Actor: "cli"})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, res)
	}
	for _, o := range res.Objects {
		fmt.Fprintf(env.Stdout, "%s (%s): %s, queued for %d recipient(s)\n", o.ID, o.Version, o.Outcome, len(o.To))
		if o.Message != "" {
			fmt.Fprintf(env.Stdout, "  %s\n", o.Message)
		}
		for _, r := range o.Refused {
			who := r.Node
			if p, ok := fed.Registry().ByIdentity(r.Node); ok {
				who = p.Name
			}
			fmt.Fprintf(env.Stdout, "  not to %s: %s\n", who, r.Decision.Reason)
		}
	}
	fmt.Fprintf(env.Stdout, "%d object(s) shared, %d deliveries queued\n", len(res.Objects), res.Queued)
	return nil
}

func runStatus(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "status", "status --data DIR [--json]", `
Show the federation's health from this node: per peer, whether it is
reachable, the last contact, the length of its delivery queue and the age
of its oldest undelivered object — and AUDIT LOG FORKED when the peer
presented an audit checkpoint contradicting one this node cosigned (its log
was rewritten: see 'entraide audit log'). Then what is due in the cooperation
workflows (alerts, incidents, requests, notices, pings): overdue first,
then by deadline, with whom each waits on.`)
	data := dataFlag(fs)
	dbFlag(fs)
	limit := fs.Int("due", 50, "list at most this many due items (the counts cover all)")
	asJSON := fs.Bool("json", false, "print JSON: {peers: [...], due: [the first --due items], due_count: N, overdue: N}")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	ps, err := s.fed.Status(ctx)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("--due: want a number ≥ 0")
	}
	dueCount, overdue, err := s.wf.DueCounts(ctx)
	if err != nil {
		return err
	}
	due := []workflow.Summary{}
	if *limit > 0 {
		if due, err = s.wf.Due(ctx, *limit); err != nil {
			return err
		}
	}
	now := s.n.Clock.Now()
	if *asJSON {
		type row struct {
			Name          string  `json:"name"`
			IdentityID    string  `json:"identity_id"`
			Endpoint      string  `json:"endpoint"`
			Reachable     bool    `json:"reachable"`
			LastContact   string  `json:"last_contact,omitempty"`
			LastError     string  `json:"last_error,omitempty"`
			Queue         int     `json:"queue"`
			OldestSeconds float64 `json:"oldest_undelivered_seconds,omitempty"`
			Delivered     int     `json:"delivered"`
			Failed        int     `json:"failed"`
			Forks         int     `json:"audit_forks_detected"`
			LastFork      string  `json:"last_fork,omitempty"`
		}
		rows := []row{}
		for _, p := range ps {
			r := row{Name: p.Name, IdentityID: p.IdentityID, Endpoint: p.Endpoint, Reachable: p.Reachable, LastError: p.LastError,
				Queue: p.Queue.Pending, Delivered: p.Queue.Delivered, Failed: p.Queue.Failed, Forks: p.Forks}
			if !p.LastFork.IsZero() {
				r.LastFork = stix.FormatTimestamp(p.LastFork)
			}
			if !p.LastContact.IsZero() {
				r.LastContact = stix.FormatTimestamp(p.LastContact)
			}
			if !p.Queue.OldestPending.IsZero() {
				r.OldestSeconds = now.Sub(p.Queue.OldestPending).Seconds()
			}
			rows = append(rows, r)
		}
		return writeJSON(env.Stdout, map[string]any{"peers": rows, "due": due, "due_count": dueCount, "overdue": overdue})
	}
	if len(ps) == 0 {
		fmt.Fprintln(env.Stdout, "no peers yet: exchange cards and 'entraide peer add' them")
	} else {
		t := newTable(env.Stdout, "PEER", "STATE", "LAST CONTACT", "QUEUE", "OLDEST", "DELIVERED", "FAILED", "LAST ERROR")
		for _, p := range ps {
			state := "unreachable"
			if p.Reachable {
				state = "up"
			} else if p.LastContact.IsZero() && p.LastError == "" {
				state = "never contacted"
			}
			last, oldest := "never", "-"
			if !p.LastContact.IsZero() {
				last = ago(now.Sub(p.LastContact))
			}
			if !p.Queue.OldestPending.IsZero() {
				oldest = ago(now.Sub(p.Queue.OldestPending))
			}
			if p.Forks > 0 {
				// The peer presented an audit checkpoint contradicting one
				// this node cosigned: its log was rewritten.
				state = fmt.Sprintf("AUDIT LOG FORKED (%d, last %s)", p.Forks, ago(now.Sub(p.LastFork)))
			}
			t.row(p.Name, state, last, fmt.Sprint(p.Queue.Pending), oldest, fmt.Sprint(p.Queue.Delivered), fmt.Sprint(p.Queue.Failed), truncate(p.LastError, 60))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(env.Stdout)
	if dueCount == 0 {
		fmt.Fprintln(env.Stdout, "nothing due in the cooperation workflows")
		return nil
	}
	fmt.Fprintf(env.Stdout, "%d item(s) due, %d overdue:\n", dueCount, overdue)
	t := newTable(env.Stdout, "DUE", "KIND", "ID", "STATUS", "TITLE")
	for _, d := range due {
		t.row(dueText(d.NextDue, d.Overdue, d.WaitingOn, now), d.Kind, d.ID, truncate(d.Status, 40), truncate(d.Title, 50))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if dueCount > len(due) {
		fmt.Fprintf(env.Stdout, "… and %d more (--due N)\n", dueCount-len(due))
	}
	return nil
}

func ago(d interface{ Seconds() float64 }) string {
	s := d.Seconds()
	switch {
	case s < 60:
		return fmt.Sprintf("%.0fs ago", s)
	case s < 3600:
		return fmt.Sprintf("%.0fm ago", s/60)
	case s < 86400:
		return fmt.Sprintf("%.1fh ago", s/3600)
	}
	return fmt.Sprintf("%.1fd ago", s/86400)
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
