package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/cooperation"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/severity"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/workflow"
)

// The plumbing every workflow command shares (alert, incident, assist,
// legal, notice, poc): opening the engine, turning its errors into exit
// codes, printing ids, lists and cases the same way everywhere.

// workflowSession is an opened node with its workflow engine.
type workflowSession struct {
	n   *node.Node
	fed *federation.Federation
	wf  *workflow.Engine
}

func (s *workflowSession) Close() { s.n.Close() }

// openWorkflow opens the node named by --data and its workflow engine.
func openWorkflow(ctx context.Context, env Env, fs *flag.FlagSet, data string) (*workflowSession, error) {
	n, err := openNode(ctx, env, fs, data)
	if err != nil {
		return nil, err
	}
	fed, wf, err := cooperation.Open(ctx, n, federation.Config{})
	if err != nil {
		n.Close()
		return nil, err
	}
	return &workflowSession{n: n, fed: fed, wf: wf}, nil
}

// actorFlag declares --as, the person acting (recorded in the signed step).
func actorFlag(fs *flag.FlagSet) *string {
	return fs.String("as", "", "who is acting, as recorded in the signed object (default: $USER)")
}

func actorName(env Env, as string) string {
	if as != "" {
		return as
	}
	if u := env.Getenv("USER"); u != "" {
		return u
	}
	return "cli"
}

// workflowErr turns the engine's errors into the CLI's: a mistake in the
// input is a usage error (exit 2), the rest failures (exit 1).
func workflowErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, workflow.ErrInput) {
		return usagef("%s", strings.TrimPrefix(err.Error(), workflow.ErrInput.Error()+": "))
	}
	return err
}

// mustJSONInput marshals a request built from flags.
func mustJSONInput(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of strings and slices
	}
	return b
}

// printCreated prints what opening a case or taking an action did: the id
// alone on standard output (scripts read it), refusals on standard error.
func printCreated(env Env, s *workflowSession, res *workflow.Result, asJSON bool, id string) error {
	if asJSON {
		return writeJSON(env.Stdout, res)
	}
	fmt.Fprintln(env.Stdout, id)
	for _, r := range res.Refused {
		fmt.Fprintf(env.Stderr, "not sent to %s: %s\n", r.Name, r.Reason)
	}
	return nil
}

// printSummaries prints a list of cases.
func printSummaries(env Env, s *workflowSession, list []workflow.Summary, asJSON bool, what string) error {
	if asJSON {
		if list == nil {
			list = []workflow.Summary{}
		}
		return writeJSON(env.Stdout, list)
	}
	if len(list) == 0 {
		fmt.Fprintf(env.Stdout, "no %s\n", what)
		return nil
	}
	now := s.n.Clock.Now()
	t := newTable(env.Stdout, "ID", "FROM", "SEVERITY", "STATUS", "NEXT DEADLINE", "TITLE")
	for _, c := range list {
		title := truncate(c.Title, 60)
		if c.Exercise != "" {
			title = "[EXERCISE] " + title
		}
		t.row(c.ID, c.Origin.Name, severityText(c.Severity), c.Status, dueText(c.NextDue, c.Overdue, c.WaitingOn, now), title)
	}
	return t.flush()
}

func severityText(l int) string {
	if l < 0 {
		return "-"
	}
	return fmt.Sprintf("%d %s", l, severity.Level(l))
}

func dueText(due *time.Time, overdue bool, waiting []workflow.PartyView, now time.Time) string {
	if due == nil {
		return "-"
	}
	var who []string
	for _, w := range waiting {
		who = append(who, w.Name)
	}
	d := due.Sub(now)
	s := "in " + roundDuration(d)
	if overdue {
		s = "OVERDUE " + roundDuration(-d)
	}
	if len(who) > 0 {
		s += " (" + strings.Join(who, ", ") + ")"
	}
	return s
}

func roundDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	default:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// printView prints one case: header, parties with their delivery,
// deadlines, timeline; detail prints the kind's own section (may be nil).
func printView(env Env, s *workflowSession, v *workflow.View, asJSON bool, detail func(w io.Writer)) error {
	if asJSON {
		return writeJSON(env.Stdout, v)
	}
	now := s.n.Clock.Now()
	w := env.Stdout
	if v.Exercise != "" {
		fmt.Fprintf(w, "*** EXERCISE %s — not real traffic ***\n", v.Exercise)
	}
	fmt.Fprintf(w, "%s  %s\n", v.ID, v.Title)
	fmt.Fprintf(w, "  from      %s, opened %s\n", v.Origin.Name, stamp(&v.Opened))
	if v.ReceivedAt != nil {
		fmt.Fprintf(w, "  received  %s\n", stamp(v.ReceivedAt))
	}
	fmt.Fprintf(w, "  status    %s\n", v.Status)
	if v.Severity >= 0 {
		fmt.Fprintf(w, "  severity  %s\n", severityText(v.Severity))
	}
	if v.TLP != "" {
		fmt.Fprintf(w, "  marking   TLP:%s\n", strings.ToUpper(v.TLP))
	}
	if v.NextDue != nil {
		fmt.Fprintf(w, "  next      %s\n", dueText(v.NextDue, v.Overdue, v.WaitingOn, now))
	}
	if detail != nil {
		fmt.Fprintln(w)
		detail(w)
	}
	if v.Origin.ID == s.wf.Self() && len(v.Parties) > 1 {
		fmt.Fprintln(w)
		t := newTable(w, "PARTY", "DELIVERED", "ATTEMPTS", "LAST ERROR")
		for _, p := range v.Parties {
			if p.ID == s.wf.Self() {
				continue
			}
			lastErr := p.LastError
			if p.DeliveredAt != nil {
				lastErr = "" // an earlier attempt's error, overtaken by the delivery
			}
			t.row(p.Name, stamp(p.DeliveredAt), fmt.Sprint(p.Attempts), truncate(lastErr, 50))
		}
		t.flush()
	}
	if len(v.Deadlines) > 0 {
		fmt.Fprintln(w)
		t := newTable(w, "DEADLINE", "PARTY", "DUE", "DONE")
		for _, d := range v.Deadlines {
			due := stamp(&d.Due)
			if d.Overdue {
				due += "  OVERDUE"
			}
			t.row(d.What, d.PartyName, due, stamp(d.DoneAt))
		}
		t.flush()
	}
	if len(v.Timeline) > 0 {
		fmt.Fprintln(w)
		ignored := false
		for _, e := range v.Timeline {
			ignored = ignored || e.Ignored != ""
		}
		cols := []string{"WHEN", "NODE", "WHO", "ACTION"}
		if ignored {
			cols = append(cols, "IGNORED")
		}
		t := newTable(w, cols...)
		for _, e := range v.Timeline {
			cells := []string{stamp(&e.At), e.Node.Name, e.Actor, e.Action}
			if ignored {
				cells = append(cells, e.Ignored)
			}
			t.row(cells...)
		}
		t.flush()
	}
	return nil
}

// showCase loads a case of a kind for show commands, with a clear error
// for an unknown id or a case of another kind.
func showCase(ctx context.Context, s *workflowSession, kind, id string) (*workflow.View, error) {
	if _, err := stix.ParseID(id); err != nil {
		return nil, usagef("%q is not an identifier: %v", id, err)
	}
	v, err := s.wf.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no %s %s on this node", kind, id)
	}
	if err != nil {
		return nil, err
	}
	if v.Kind != kind {
		return nil, fmt.Errorf("%s is a %s, not a %s: see 'entraide %s show'", id, v.Kind, kind, commandOfKind(v.Kind))
	}
	return v, nil
}

// oneID takes the single ID argument of show and action commands.
func oneID(fs *flag.FlagSet) (string, error) {
	if fs.NArg() != 1 {
		return "", usagef("give exactly one ID")
	}
	return fs.Arg(0), nil
}

// workflowStep takes an action on a case of a kind and prints the step's id.
func workflowStep(ctx context.Context, env Env, fs *flag.FlagSet, data, kind, id, action, actor string, in map[string]any, asJSON bool) error {
	if _, err := stix.ParseID(id); err != nil {
		return usagef("%q is not an identifier: %v", id, err)
	}
	s, err := openWorkflow(ctx, env, fs, data)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := showCase(ctx, s, kind, id); err != nil {
		return err
	}
	res, err := s.wf.Act(ctx, id, action, actor, mustJSONInput(in))
	if err != nil {
		return workflowErr(err)
	}
	return printCreated(env, s, res, asJSON, res.Object)
}

// commandOfKind is the command that runs a workflow kind.
func commandOfKind(kind string) string {
	switch kind {
	case "preservation":
		return "legal"
	case "ping":
		return "poc"
	}
	return kind
}
