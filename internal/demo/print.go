package demo

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

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

// WriteScoreboard prints a played exercise's scoreboard as `entraide
// exercise score` does (exercise.Board.WriteText), with the steps played
// and those that failed.
func WriteScoreboard(w io.Writer, res *Result) error {
	how := "(the nodes' clocks ran that fast)"
	if res.Simulated {
		how = "on a simulated clock that jumped from event to event"
	}
	return res.Board.WriteText(w, exercise.TextOptions{Scenario: res.Scenario, Report: res.Report, Took: res.Took, Clock: how})
}
