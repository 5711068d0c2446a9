package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/exercise"
	"github.com/entraide/entraide/internal/workflow"
)

// exercisesDir is where, in a node's data directory, `exercise run` keeps
// the scenarios it played (with their start), for `exercise score`.
const exercisesDir = "exercises"

func runExercise(ctx context.Context, env Env, args []string) error {
	return subcommands(ctx, env, args, `Usage: entraide exercise run|list|score|validate [flags]

Exercises rehearse cooperation: a scenario file of timed injects (alerts,
incidents, assistance and preservation requests, due-diligence notices,
pings) that nodes play at their offsets from a shared start, in real time or
accelerated, with simulated players answering where the scenario says so.
Every object an exercise creates carries the exercise's name
(x_entraide_exercise) and is shown as EXERCISE, never as real traffic. The
scoreboard gives each participant's times to receipt, acknowledgement,
answer and closure, and what it missed.

  validate  check a scenario file; print its timeline
  run       play this node's part of a scenario (every participating node runs the same file)
  score     the scoreboard of an exercise, from this node's store
  list      the exercises this node has seen, with their cases

The scenario format is described in docs/exercises.md; "builtin" names the
built-in scenario (ransomware-hospitals), which 'entraide demo' plays.

Run 'entraide exercise SUBCOMMAND --help' for flags.
`, map[string]func(context.Context, Env, []string) error{
		"run": exerciseRun, "list": exerciseList, "score": exerciseScore, "validate": exerciseValidate,
	})
}

// readScenario reads a scenario file ("-" for standard input, "builtin"
// for the built-in one) and validates it.
func readScenario(env Env, name string, now time.Time) (*exercise.Scenario, error) {
	if ok, err := exercise.IsBuiltin(name); ok {
		if err != nil {
			return nil, usagef("%v", err)
		}
		return exercise.Parse(exercise.BuiltinFile(), now)
	}
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(env.Stdin, exercise.MaxFileSize+1))
	} else {
		b, err = readLimited(name, exercise.MaxFileSize+1)
	}
	if err != nil {
		return nil, err
	}
	s, err := exercise.Parse(b, now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", displayName(name), err)
	}
	return s, nil
}

func readLimited(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}

func displayName(name string) string {
	if name == "-" {
		return "standard input"
	}
	return name
}

// ---- validate ----

func exerciseValidate(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "exercise validate", "exercise validate FILE [--json]", `
Check a scenario file without playing it: the JSON (one object, no field
twice), every field (unknown ones are refused, with a suggestion), each
inject's offset, node and kind, its input as the kind's workflow reads it
(required fields, vocabularies, deadlines), each "@label" reference (it must
name an inject or automated response played before, whose object the
referring node receives), each expected response (an action of the kind that
node may take). Every problem is listed with the inject and the field.

On success, print the timeline: every event in play order with its offset
and, at the scenario's speed, when it falls after the start. FILE "-" reads
standard input; "builtin" is the built-in scenario. Exit status 1 when the
scenario is invalid.

What only the nodes can check is checked when the scenario is played: that
the participants are peers of each other, the communities named, a national
severity against the node's scale, and the input of automated responses.`)
	asJSON := fs.Bool("json", false, "print the validated scenario (as the runner reads it) and its events as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one scenario file (or \"builtin\")")
	}
	s, err := readScenario(env, fs.Arg(0), env.Clock.Now())
	if err != nil {
		return err
	}
	events := s.Events()
	if *asJSON {
		type ev struct {
			exercise.Event
			Offset string `json:"offset"`
		}
		out := struct {
			Scenario *exercise.Scenario `json:"scenario"`
			Events   []ev               `json:"events"`
		}{s, []ev{}}
		for _, e := range events {
			out.Events = append(out.Events, ev{e, exercise.FormatOffset(e.At)})
		}
		return writeJSON(env.Stdout, out)
	}
	w := env.Stdout
	autos := 0
	for _, e := range events {
		if e.Expect >= 0 {
			autos++
		}
	}
	expects := 0
	for _, in := range s.Injects {
		expects += len(in.Expect)
	}
	fmt.Fprintf(w, "%s: valid\n", s.Name)
	if s.Title != "" {
		fmt.Fprintf(w, "  %s\n", s.Title)
	}
	fmt.Fprintf(w, "  %d participants: %s\n", len(s.Participants), strings.Join(s.Participants, ", "))
	fmt.Fprintf(w, "  %d injects, %d expected responses (%d played by simulated players)\n", len(s.Injects), expects, autos)
	start := "when the runner starts (\"now\"; give every node the same --start)"
	if st, ok := s.StartTime(); ok {
		start = st.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "  start %s, speed %s: lasts %s on the scenario's clock, %s in real time\n", start,
		strconv.FormatFloat(s.SpeedFactor(), 'f', -1, 64), strings.TrimPrefix(exercise.FormatOffset(s.End()), "+"),
		realDuration(s.End(), s.SpeedFactor()))
	fmt.Fprintln(w)
	t := newTable(w, "OFFSET", "REAL", "NODE", "DOES", "LABEL", "NOTE")
	for _, e := range events {
		in := s.Injects[e.Inject]
		does, note := "open "+e.Kind, in.Note
		if e.Expect >= 0 {
			does, note = e.Action+" @"+labelOf(in), in.Expect[e.Expect].Note
			if in.Label == "" {
				does = fmt.Sprintf("%s (injects[%d])", e.Action, e.Inject)
			}
		} else if in.Chain != "" {
			does += " chained from " + in.Chain
		}
		label := ""
		if e.Label != "" {
			label = "@" + e.Label
		}
		t.row(exercise.FormatOffset(e.At), "+"+realDuration(e.At, s.SpeedFactor()), e.Node, does, label, truncate(note, 60))
	}
	if err := t.flush(); err != nil {
		return err
	}
	var human []string
	for _, in := range s.Injects {
		for _, x := range in.Expect {
			if x.Auto == nil {
				what := fmt.Sprintf("%s %s @%s", x.Node, x.Action, labelOf(in))
				if x.Within != "" {
					what += " within " + x.Within
				}
				human = append(human, what)
			}
		}
	}
	if len(human) > 0 {
		fmt.Fprintf(w, "\nExpected of people (no simulated player):\n")
		for _, h := range human {
			fmt.Fprintf(w, "  %s\n", h)
		}
	}
	return nil
}

func labelOf(in exercise.Inject) string {
	if in.Label != "" {
		return in.Label
	}
	return "(unlabelled " + in.Kind + ")"
}

// realDuration is a scenario duration at speed, as a person reads it.
func realDuration(d time.Duration, speed float64) string {
	r := time.Duration(float64(d) / speed)
	switch {
	case r < time.Minute:
		return strconv.FormatFloat(r.Seconds(), 'f', 1, 64) + "s"
	case r < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(r.Minutes()), int(r.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(r.Hours()), int(r.Minutes())%60)
}

// ---- run ----

func exerciseRun(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "exercise run", "exercise run --data DIR FILE [--start TIME] [--speed X] [--wait DURATION] [--json]", `
Play this node's part of an exercise: the injects this node opens and the
automated responses its simulated players give, each at the scenario's
start plus its offset divided by the speed. Every participating node runs
the same file with the same start; each finds the cases and steps the
others play in its own store as they arrive (an automated answer to a
partner's inject waits for the inject, at most --wait). Every object played
carries the exercise's name.

The node's 'entraide serve --fed-listen' must be running: it delivers what
this command queues and receives what partners send. The scenario is kept
in DIR/exercises/NAME.json with its start, for 'entraide exercise score'.

Progress is printed as each event is played; the command ends after the
scenario's last event, with exit status 1 if any event failed (the others
are still played). A scenario that starts "now" needs --start, the same on
every node, unless this node is its only participant.

A real node keeps the real clock, whatever the speed: the deadlines the
workflows compute from the injects (an alert's ack_by, a ping's answer_by,
a preservation's expiry, an incident's NIS2 clock) are real durations,
speed times longer on the scenario's clock; the expected responses' within
and after are on the scenario's clock. Only nodes made for the exercise
('entraide demo') run on the scenario's clock.`)
	data := dataFlag(fs)
	dbFlag(fs)
	startF := fs.String("start", "", `when offset +0 falls: an RFC 3339 time (the same on every node), or "now" (default: the scenario's start)`)
	speedS := fs.String("speed", "", "play at this speed instead of the scenario's (1 real time, 60 a scenario minute per second)")
	wait := fs.Duration("wait", 5*time.Minute, "how long to wait for a partner's case or step before an event that needs it fails")
	asJSON := fs.Bool("json", false, "print the run's report as JSON at the end (progress goes to standard error)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one scenario file (or \"builtin\")")
	}
	if *wait <= 0 {
		return usagef("--wait %s: want a positive duration", *wait)
	}
	speed := 0.0
	if *speedS != "" {
		v, err := strconv.ParseFloat(*speedS, 64)
		if err != nil || v < 1 || v > exercise.MaxSpeed {
			return usagef("--speed %s: want a number from 1 to %d", *speedS, exercise.MaxSpeed)
		}
		speed = v
	}
	sc, err := readScenario(env, fs.Arg(0), env.Clock.Now())
	if err != nil {
		var se *exercise.Error
		if errors.As(err, &se) {
			return usagef("%v", err)
		}
		return err
	}
	var start time.Time
	switch *startF {
	case "":
		if st, ok := sc.StartTime(); ok {
			start = st
		} else if len(sc.Participants) > 1 {
			return usagef("%s starts \"now\": the participating nodes must share its start; give --start with the same RFC 3339 time on every node (e.g. --start %s), or --start now if this node plays alone",
				sc.Name, env.Clock.Now().Add(10*time.Minute).UTC().Truncate(time.Minute).Format(time.RFC3339))
		} else {
			start = env.Clock.Now()
		}
	case "now":
		start = env.Clock.Now()
	default:
		t, err := time.Parse(time.RFC3339Nano, *startF)
		if err != nil {
			return usagef("--start %q: want an RFC 3339 time (2026-11-18T09:00:00Z) or \"now\"", *startF)
		}
		start = t.UTC()
	}
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	self := s.n.Identity.Name
	if !contains(sc.Participants, self) {
		return usagef("this node (%s) is not a participant of %s (%s): the scenario names nodes as they name each other", self, sc.Name, strings.Join(sc.Participants, ", "))
	}
	for _, p := range sc.Participants {
		if p == self {
			continue
		}
		if _, err := s.wf.ResolveNode(ctx, p); err != nil {
			return usagef("participant %s is not a peer of this node: pin its card first ('entraide peer add CARD')", p)
		}
	}
	played, err := sc.WithStart(start, speed)
	if err != nil {
		return workflowErr(err)
	}
	// Cases of an earlier run of the same exercise stay out of this one's
	// scoreboard (it counts from the start); say so.
	if earlier, err := exercise.List(ctx, s.wf); err == nil {
		for _, e := range earlier {
			if e.Name == sc.Name && e.First.Before(start) {
				fmt.Fprintf(env.Stderr, "note: this node holds %d cases of %s from an earlier run (first opened %s): the scoreboard counts only those opened from %s\n",
					e.Cases, sc.Name, e.First.UTC().Format(time.RFC3339), start.UTC().Format(time.RFC3339))
			}
		}
	}
	if err := saveScenario(s.n.Dir, played); err != nil {
		return err
	}
	mine := 0
	for _, e := range played.Events() {
		if e.Node == self {
			mine++
		}
	}
	progress := env.Stdout
	if *asJSON {
		progress = env.Stderr
	}
	if sp := played.SpeedFactor(); sp != 1 {
		fmt.Fprintf(env.Stderr, "note: at speed %s this node's clock stays the real one: deadlines inside the injects (ack_by, answer_by, the NIS2 clock…) run in real time, %s times longer on the scenario's clock; expected responses (within) are on the scenario's clock\n",
			strconv.FormatFloat(sp, 'f', -1, 64), strconv.FormatFloat(sp, 'f', -1, 64))
	}
	fmt.Fprintf(progress, "*** EXERCISE %s — not real traffic ***\n", sc.Name)
	fmt.Fprintf(progress, "%s plays %d of the %d events, from %s at speed %s, for %s (%s in real time); the other participants play theirs\n",
		self, mine, len(played.Events()), start.UTC().Format(time.RFC3339Nano), strconv.FormatFloat(played.SpeedFactor(), 'f', -1, 64),
		strings.TrimPrefix(exercise.FormatOffset(played.End()), "+"), realDuration(played.End(), played.SpeedFactor()))
	r := &exercise.Runner{Scenario: played, Engines: map[string]*workflow.Engine{self: s.wf}, Clock: s.n.Clock, Start: start, MaxWait: *wait,
		PollEvery: 200 * time.Millisecond, Progress: func(e exercise.EventResult) {
			if e.Skipped != "" {
				return
			}
			what := "open " + e.Kind
			if e.Expect >= 0 {
				what = e.Action + " " + e.Kind
			}
			label := ""
			if e.Label != "" {
				label = "@" + e.Label
			}
			if e.Error != "" {
				fmt.Fprintf(env.Stderr, "%-8s %-22s %-18s FAILED: %s\n", e.Offset, what, label, e.Error)
				return
			}
			fmt.Fprintf(progress, "%-8s %-22s %-18s %s\n", e.Offset, what, label, e.Object)
		}}
	rep, err := r.Run(ctx)
	if err != nil {
		return err
	}
	failed := rep.Failed()
	if *asJSON {
		if err := writeJSON(env.Stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(env.Stdout, "\n%d events played here, %d failed. Scoreboard: entraide exercise score --data %s %s\n", mine, len(failed), *data, sc.Name)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of this node's %d events failed", len(failed), mine)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// saveScenario keeps the scenario a node played (with its start) in its
// data directory. Inputs may be TLP:AMBER: the file is the node's own.
func saveScenario(dir string, s *exercise.Scenario) error {
	b, err := s.Marshal()
	if err != nil {
		return err
	}
	d := filepath.Join(dir, exercisesDir)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(d, "."+s.Name+"-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(d, s.Name+".json"))
}

// savedScenario reads the scenario this node played as name; nil when it
// played none.
func savedScenario(dir, name string) (*exercise.Scenario, error) {
	path := filepath.Join(dir, exercisesDir, name+".json")
	b, err := readLimited(path, exercise.MaxFileSize+1)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := exercise.Parse(b, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ---- score ----

func exerciseScore(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "exercise score", "exercise score --data DIR NAME [--scenario FILE] [--json]", `
The scoreboard of an exercise, from the cases marked with its name in this
node's store. Per participant: the cases it opened, and on the cases it
received the time to receipt (the delivery), to acknowledgement (its first
step, whatever it is) and to answer (the step that answers: an alert's
affected or not-affected, an offer or no-offer, a preservation request
executed, partly executed or refused, a notice's final response, a ping's
answer, an incident update), the time to close the cases it opened, its
workflow deadlines overdue or met late; then each expected response of the
scenario: met, late, missed or pending. Times are on the scenario's clock
(what the nodes measured times the speed).

The scenario is the one 'exercise run' kept for NAME in DIR/exercises/, or
--scenario FILE (with its start: give the file 'exercise run' kept), or the
built-in one for its name; without one, only times are shown.

This node's store holds what this node saw: every party's times on the cases
it opened (their steps come back to it), its own on partners' cases. A
response this node cannot see is "unknown" here: ask its node's scoreboard.`)
	data := dataFlag(fs)
	dbFlag(fs)
	scenarioF := fs.String("scenario", "", "the scenario file to score against (default: the one 'exercise run' kept)")
	asJSON := fs.Bool("json", false, "print the scoreboard as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want the exercise's name (see 'entraide exercise list')")
	}
	name := fs.Arg(0)
	s, err := openWorkflow(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer s.Close()
	var sc *exercise.Scenario
	switch {
	case *scenarioF != "":
		if sc, err = readScenario(env, *scenarioF, s.n.Clock.Now()); err != nil {
			return err
		}
		if sc.Name != name {
			return usagef("%s is the scenario of %s, not of %s", *scenarioF, sc.Name, name)
		}
	default:
		if sc, err = savedScenario(s.n.Dir, name); err != nil {
			return err
		}
		if sc == nil && name == exercise.BuiltinName {
			sc = exercise.Builtin()
		}
	}
	b, err := exercise.Score(ctx, name, []*workflow.Engine{s.wf}, exercise.ScoreOptions{Scenario: sc})
	if err != nil {
		return err
	}
	if len(b.Cases) == 0 && sc == nil {
		return fmt.Errorf("no case of exercise %q on this node: see 'entraide exercise list'", name)
	}
	if *asJSON {
		return writeJSON(env.Stdout, b)
	}
	return b.WriteText(env.Stdout, exercise.TextOptions{Scenario: sc, Cases: true})
}

// ---- list ----

func exerciseList(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "exercise list", "exercise list --data DIR [--json]", `
The exercises this node has seen: every exercise name its cases carry, with
the number of cases (opened here or received), how many are open and
overdue, per kind, when the first was opened and the last updated.`)
	data := dataFlag(fs)
	dbFlag(fs)
	asJSON := fs.Bool("json", false, "print the list as JSON")
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
	list, err := exercise.List(ctx, s.wf)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(env.Stdout, "no exercise")
		return nil
	}
	t := newTable(env.Stdout, "EXERCISE", "CASES", "OPEN", "OVERDUE", "KINDS", "FIRST OPENED", "LAST UPDATE")
	for _, e := range list {
		var kinds []string
		for k, n := range e.Kinds {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
		sort.Strings(kinds)
		t.row(e.Name, strconv.Itoa(e.Cases), strconv.Itoa(e.Open), strconv.Itoa(e.Overdue), strings.Join(kinds, ", "),
			e.First.UTC().Format(time.RFC3339), e.Last.UTC().Format(time.RFC3339))
	}
	return t.flush()
}
