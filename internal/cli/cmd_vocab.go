package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/entraide/entraide/internal/severity"
	"github.com/entraide/entraide/internal/vocab"
)

func runVocab(ctx context.Context, env Env, args []string) error {
	return subcommands(ctx, env, args, `Usage: entraide vocab sectors|rsit|capabilities|severity [flags]

  sectors       the NIS2 sectors alerts, incidents and notices name (--sector)
  rsit          the RSIT incident classes (--rsit, --activity)
  capabilities  the mutual-assistance capability catalogue (--capability)
  severity      the common severity scale, and this node's national scale

The identifiers are what the commands take and what is sent to partners;
they never change. Run 'entraide vocab SUBCOMMAND --help' for flags.
`, map[string]func(context.Context, Env, []string) error{
		"sectors": func(ctx context.Context, env Env, args []string) error {
			return vocabList(env, args, "sectors", vocab.NIS2Sectors())
		},
		"rsit": func(ctx context.Context, env Env, args []string) error {
			return vocabList(env, args, "rsit", vocab.RSIT())
		},
		"capabilities": func(ctx context.Context, env Env, args []string) error {
			return vocabList(env, args, "capabilities", vocab.Capabilities())
		},
		"severity": vocabSeverity,
	})
}

func vocabList(env Env, args []string, name string, terms []vocab.Term) error {
	fs := newFlags(env, "vocab "+name, "vocab "+name+" [--json]", `
List the terms: identifier, label, description.`)
	asJSON := fs.Bool("json", false, "print a JSON array of {id, label, description}")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *asJSON {
		return writeJSON(env.Stdout, terms)
	}
	t := newTable(env.Stdout, "ID", "LABEL", "DESCRIPTION")
	for _, x := range terms {
		t.row(x.ID, x.Label, truncate(x.Description, 90))
	}
	return t.flush()
}

func vocabSeverity(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "vocab severity", "vocab severity [--data DIR] [--set FILE | --example] [--json]", `
Show the common severity scale every node shares, and with --data the
node's national scale and how each national level maps onto the common one.

A national scale is a JSON file DIR/severity-scale.json:
  {"name": "uk-ncsc-categories", "title": "UK NCSC incident categories",
   "levels": [{"level": "1", "label": "Category 1: national cyber emergency", "common": 5}, …]}
--set FILE checks FILE and installs it; --example prints the UK's categories
1–6 mapped onto the common scale, as a starting point. Objects then carry
both the common level and the national one (--national-severity).`)
	data := fs.String("data", "", "the node's data directory (to show or set its national scale)")
	set := fs.String("set", "", "install FILE as the node's national scale (needs --data)")
	example := fs.Bool("example", false, "print an example national scale (the UK's categories)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *example {
		return writeJSON(env.Stdout, severity.Example())
	}
	var scale *severity.Scale
	if *set != "" {
		if *data == "" {
			return usagef("--set needs --data: the node whose scale it is")
		}
		b, err := os.ReadFile(*set)
		if err != nil {
			return err
		}
		s, err := severity.ParseScale(b)
		if err != nil {
			return fmt.Errorf("%s: %w", *set, err)
		}
		if err := severity.SaveScale(*data, s); err != nil {
			return err
		}
		scale = s
	} else if *data != "" {
		s, err := severity.LoadScale(*data)
		if err != nil {
			return err
		}
		scale = s
	}
	type level struct {
		Level int    `json:"level"`
		Name  string `json:"name"`
		Color string `json:"color"`
	}
	var common []level
	for _, l := range severity.Levels() {
		common = append(common, level{int(l), l.String(), l.Color()})
	}
	if *asJSON {
		return writeJSON(env.Stdout, map[string]any{"common": common, "national": scale})
	}
	t := newTable(env.Stdout, "LEVEL", "NAME", "COLOUR")
	for _, l := range common {
		t.row(fmt.Sprint(l.Level), l.Name, l.Color)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if *data == "" {
		return nil
	}
	fmt.Fprintln(env.Stdout)
	if scale == nil {
		fmt.Fprintln(env.Stdout, "no national scale: this node speaks the common scale only (see --example and --set)")
		return nil
	}
	fmt.Fprintf(env.Stdout, "national scale %s (%s):\n", scale.Name, scale.Title)
	t = newTable(env.Stdout, "NATIONAL", "LABEL", "COMMON")
	for _, l := range scale.Levels {
		t.row(l.Level, l.Label, fmt.Sprintf("%d %s", int(l.Common), l.Common))
	}
	return t.flush()
}
