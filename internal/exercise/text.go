package exercise

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// TextOptions say what WriteText shows besides the board itself.
type TextOptions struct {
	// Scenario is the scenario scored against: its title heads the
	// scoreboard, its labels name failed steps. nil says the board has
	// times only, no expectations.
	Scenario *Scenario
	// Report is the run the scoreboard follows, when it follows one (the
	// demo, a one-process run): the steps played, and those that failed
	// with their errors.
	Report *Report
	// Took is how long the run took in real time (0: not said).
	Took time.Duration
	// Clock says how the nodes' clock ran, after the speed ("on a
	// simulated clock that jumps from event to event"); "" adds nothing.
	Clock string
	// Cases lists every case with each party's times and its deadlines
	// overdue or met late.
	Cases bool
}

// WriteText writes the scoreboard for people: who read it and when, each
// participant's counts and times (median / longest, on the scenario's
// clock), the expected responses missed or late with why, the steps that
// failed, and with opt.Cases every case. `entraide exercise score` and
// `entraide demo` both print it; --json prints the Board itself.
func (b *Board) WriteText(w io.Writer, opt TextOptions) error {
	ew := &errWriter{w: w}
	from := "every node's store"
	switch len(b.Seen) {
	case 0:
	case 1:
		from = b.Seen[0] + "'s store"
	default:
		from = fmt.Sprintf("the stores of its %d nodes", len(b.Seen))
	}
	ew.printf("*** EXERCISE %s — scoreboard from %s at %s ***\n", b.Exercise, from, b.At.UTC().Format(time.RFC3339))
	if opt.Scenario != nil && opt.Scenario.Title != "" {
		ew.printf("%s\n", opt.Scenario.Title)
	}
	speed := "at speed " + strconv.FormatFloat(b.Speed, 'f', -1, 64)
	if opt.Clock != "" {
		speed += " " + opt.Clock
	}
	switch {
	case b.Start == nil:
		ew.printf("no start known (no scenario): every case of the exercise counts\n")
	case b.Over:
		ew.printf("started %s %s; over\n", b.Start.UTC().Format(time.RFC3339), speed)
	default:
		ew.printf("started %s %s; in progress\n", b.Start.UTC().Format(time.RFC3339), speed)
	}
	if rep := opt.Report; rep != nil {
		played := 0
		for _, e := range rep.Events {
			if e.PlayedAt != nil {
				played++
			}
		}
		took := ""
		if opt.Took > 0 {
			took = fmt.Sprintf(", in %s of real time", opt.Took.Round(100*time.Millisecond))
		}
		ew.printf("%d steps played, %d failed%s\n", played, len(rep.Failed()), took)
	}
	if opt.Scenario == nil {
		ew.printf("no scenario: times only, no expectations (give --scenario FILE)\n")
	}
	ew.printf("times: count  median / longest, on the scenario's clock\n\n")

	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	row := func(cells ...string) {
		for i, c := range cells {
			cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	row("NODE", "OPENED", "RECEIVED", "ACKNOWLEDGED", "ANSWERED", "CLOSED", "MET", "LATE", "MISSED", "PENDING", "OVERDUE")
	for _, n := range b.Nodes {
		row(n.Node, strconv.Itoa(n.Opened), countTiming(n.Received, n.Receipt), countTiming(n.Acknowledged, n.Ack),
			countTiming(n.Answered, n.Answer), countTiming(n.Closed, n.Closure), strconv.Itoa(n.Met), strconv.Itoa(n.Late),
			strconv.Itoa(n.Missed), strconv.Itoa(n.Pending), strconv.Itoa(n.Overdue))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	var bad []Expectation
	unknown := 0
	for _, x := range b.Expected {
		switch x.Status {
		case Missed, Late:
			bad = append(bad, x)
		case Unknown:
			unknown++
		}
	}
	if len(bad) > 0 {
		// Missed first, then late; each in the scenario's order.
		sort.SliceStable(bad, func(i, j int) bool { return bad[i].Status == Missed && bad[j].Status != Missed })
		ew.printf("\nExpected responses missed or late (%d):\n", len(bad))
		for _, x := range bad {
			who := "a person"
			if x.Auto {
				who = "a simulated player"
			}
			why := x.Why
			if why == "" {
				why = "no reason given"
			}
			ew.printf("  %-7s %s %s on %s (%s): %s\n", strings.ToUpper(x.Status), x.Node, x.Action, injectName(x.Label, x.Inject), who, why)
		}
	}
	if unknown > 0 {
		what := "1 expected response"
		if unknown > 1 {
			what = fmt.Sprintf("%d expected responses", unknown)
		}
		ew.printf("\n%s cannot be judged from %s (another party's steps on a partner's case): see the scoreboard of the node that opened the case.\n", what, from)
	}
	if rep := opt.Report; rep != nil {
		if failed := rep.Failed(); len(failed) > 0 {
			ew.printf("\nSteps that failed (%d):\n", len(failed))
			for _, e := range failed {
				// The inject's label: an automated response's own label
				// names its step, not the case it acts on.
				label := ""
				if opt.Scenario != nil && e.Inject >= 0 && e.Inject < len(opt.Scenario.Injects) {
					label = opt.Scenario.Injects[e.Inject].Label
				} else if e.Expect < 0 {
					label = e.Label
				}
				ew.printf("  %s %s: %s %s on %s: %s\n", e.Offset, e.Node, e.Action, e.Kind, injectName(label, e.Inject), e.Error)
			}
		}
	}
	if opt.Cases {
		if len(b.Cases) == 0 {
			ew.printf("\nNo case of the exercise in %s yet.\n", from)
		} else {
			ew.printf("\nCases:\n")
		}
		for _, c := range b.Cases {
			label := "(not in the scenario)"
			if c.Inject >= 0 {
				label = injectName(c.Label, c.Inject)
			}
			state := c.Status
			if c.ClosedIn != nil {
				state = "closed after " + FormatSeconds(c.ClosedIn)
			}
			ew.printf("  %s  %s from %s: %s — %s\n", label, c.Kind, c.Origin, shorten(c.Title, 70), state)
			for _, p := range c.Parties {
				line := fmt.Sprintf("    %-10s received %s, acknowledged %s, answered %s", p.Node, FormatSeconds(p.Received),
					FormatSeconds(p.Acknowledged), FormatSeconds(p.Answered))
				if len(p.Overdue) > 0 {
					line += "; OVERDUE " + strings.Join(p.Overdue, "; ")
				}
				if len(p.Late) > 0 {
					line += "; late " + strings.Join(p.Late, "; ")
				}
				ew.printf("%s\n", line)
			}
		}
	}
	return ew.err
}

// injectName names an inject as the scenario does: "@label", or its
// place in the file.
func injectName(label string, inject int) string {
	if label != "" {
		return "@" + label
	}
	return fmt.Sprintf("injects[%d]", inject)
}

// countTiming is a count with its median and longest time, "-" for none.
func countTiming(n int, t Timing) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%d  %s / %s", n, FormatSeconds(t.Median), FormatSeconds(t.Max))
}

// shorten cuts s to at most n characters, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// errWriter keeps the first write error, so that a long text is written
// without checking each line.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, a ...any) { fmt.Fprintf(e, format, a...) }
