package demo

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/entraide/entraide/internal/exercise"
)

// WriteNodes prints what a person needs to explore the federation: each
// node's console and logins.
func (f *Federation) WriteNodes(w io.Writer) error {
	nations := len(f.Nodes) - 1
	fmt.Fprintf(w, "Entraide demo federation: %d nations and the cross-border hub, each node with its own database in\n%s\n\n", nations, f.Dir)
	fmt.Fprintf(w, "Open a console and log in as %q (role analyst) or \"admin\" with that node's password.\n", ConsoleUser)
	fmt.Fprintln(w, "Each node has its own self-signed certificate: the browser asks once per node to trust it.")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tCOUNTRY\tCONSOLE\tANALYST PASSWORD\tADMIN PASSWORD")
	for _, n := range f.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.Name, n.Country, n.ConsoleURL, n.Password, n.AdminPassword)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	var cs []string
	for _, c := range f.Communities() {
		cs = append(cs, fmt.Sprintf("%s (%d members, up to %s)", c.Name, len(c.Members), c.MaxTLP))
	}
	fmt.Fprintf(w, "Communities: %s.\n", strings.Join(cs, ", "))
	_, err := fmt.Fprintln(w, "The same URLs serve TAXII 2.1 (/taxii2/) and the JSON API (/entraide/v1/) with these logins.")
	return err
}

// WriteScoreboard prints an exercise's scoreboard: each participant's
// times (on the scenario's clock: median and longest), the expected
// responses late or missed, and the steps that failed.
func WriteScoreboard(w io.Writer, res *Result) error {
	b, rep := res.Board, res.Report
	title := b.Exercise
	if res.Scenario != nil && res.Scenario.Title != "" {
		title += " — " + res.Scenario.Title
	}
	played, failed := 0, len(rep.Failed())
	for _, e := range rep.Events {
		if e.PlayedAt != nil {
			played++
		}
	}
	fmt.Fprintf(w, "Scoreboard of the exercise %s\n", title)
	fmt.Fprintf(w, "%d steps played, %d failed, in %s; times on the scenario's clock (speed %g): median / longest.\n\n",
		played, failed, res.Took.Round(100*time.Millisecond), b.Speed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tOPENED\tRECEIVED\tTO RECEIPT\tACKNOWLEDGED\tTO ACK\tANSWERED\tTO ANSWER\tEXPECTED MET\tLATE\tMISSED\tPENDING\tOVERDUE")
	for _, n := range b.Nodes {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%d\n", n.Node, n.Opened, n.Received, timing(n.Receipt),
			n.Acknowledged, timing(n.Ack), n.Answered, timing(n.Answer), n.Met, n.Late, n.Missed, n.Pending, n.Overdue)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notMet []exercise.Expectation
	for _, x := range b.Expected {
		if x.Status == exercise.Late || x.Status == exercise.Missed {
			notMet = append(notMet, x)
		}
	}
	if len(notMet) > 0 {
		fmt.Fprintf(w, "\nExpected responses late or missed (%d):\n", len(notMet))
		for _, x := range notMet {
			why := x.Why
			if why == "" {
				why = "no reason given"
			}
			who := "a person"
			if x.Auto {
				who = "a simulated player"
			}
			fmt.Fprintf(w, "  %-6s @%s: %s %s (%s): %s\n", x.Status, x.Label, x.Node, x.Action, who, why)
		}
	}
	if failed > 0 {
		fmt.Fprintf(w, "\nSteps that failed (%d):\n", failed)
		for _, e := range rep.Failed() {
			label := e.Label
			if label == "" && res.Scenario != nil {
				label = res.Scenario.Injects[e.Inject].Label
			}
			fmt.Fprintf(w, "  %s %s %s %s (@%s): %s\n", e.Offset, e.Node, e.Kind, e.Action, label, e.Error)
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

func timing(t exercise.Timing) string {
	if t.Samples == 0 {
		return "-"
	}
	return exercise.FormatSeconds(t.Median) + " / " + exercise.FormatSeconds(t.Max)
}
