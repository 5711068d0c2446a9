package cli

import (
	"context"
	"fmt"
	"github.com/entraide/entraide/internal/severity"

	"github.com/entraide/entraide/internal/config"
	"github.com/entraide/entraide/internal/node"
)

func runCheckConfig(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "check-config", "check-config --data DIR [--json]", `
Validate the node's configuration without starting anything: the data
directory's config.json (unknown keys are errors), the ENTRAIDE_* environment
variables and defaults, in that order of precedence. Prints each setting with
where its value came from; secret values are never printed.`)
	data := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usagef("--data is required")
	}
	if _, err := node.ReadIdentity(*data); err != nil {
		return err
	}
	l, err := config.Load(*data, env.Getenv, nil)
	if err != nil {
		return err
	}
	// The national severity scale is configuration too: a broken file
	// would make every --national-severity fail.
	scale, err := severity.LoadScale(*data)
	if err != nil {
		return err
	}
	type row struct {
		Key    string `json:"key"`
		Value  string `json:"value"`
		Source string `json:"source"`
		Env    string `json:"env"`
	}
	var rows []row
	for _, f := range config.Fields {
		rows = append(rows, row{f.Key, l.Value(f), string(l.Sources[f.Key]), f.Env})
	}
	if *asJSON {
		return writeJSON(env.Stdout, rows)
	}
	for _, r := range rows {
		v := r.Value
		if v == "" {
			v = `""`
		}
		fmt.Fprintf(env.Stdout, "%-20s %-40s (%s; env %s)\n", r.Key, v, r.Source, r.Env)
	}
	if scale != nil {
		fmt.Fprintf(env.Stdout, "national severity scale %s: %d levels mapped onto the common scale\n", scale.Name, len(scale.Levels))
	}
	fmt.Fprintln(env.Stdout, "configuration OK")
	return nil
}
