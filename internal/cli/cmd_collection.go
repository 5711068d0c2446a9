package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

func runCollection(ctx context.Context, env Env, args []string) error {
	return subcommands(ctx, env, args, `Usage: entraide collection list|add [flags]

  list   list the node's TAXII collections
  add    add a collection

Run 'entraide collection SUBCOMMAND --help' for flags.
`, map[string]func(context.Context, Env, []string) error{"list": collectionList, "add": collectionAdd})
}

func collectionList(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "collection list", "collection list --data DIR [--json]", "List the node's TAXII collections.")
	data := dataFlag(fs)
	dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	cols, err := n.Store.Collections(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		type row struct {
			ID          string   `json:"id"`
			Alias       string   `json:"alias,omitempty"`
			Title       string   `json:"title"`
			Description string   `json:"description,omitempty"`
			MediaTypes  []string `json:"media_types"`
			Created     string   `json:"created"`
		}
		rows := []row{}
		for _, c := range cols {
			rows = append(rows, row{c.ID, c.Alias, c.Title, c.Description, c.MediaTypes, stix.FormatTimestamp(c.Created)})
		}
		return writeJSON(env.Stdout, rows)
	}
	tw := newTable(env.Stdout, "ID", "ALIAS", "TITLE")
	for _, c := range cols {
		tw.row(c.ID, c.Alias, c.Title)
	}
	return tw.flush()
}

func collectionAdd(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "collection add", "collection add --data DIR --title TITLE [--alias ALIAS] [--description TEXT]", `
Add a TAXII collection. It gets a new UUID; the alias, if given, is a short
name usable wherever a collection id is (lowercase letters, digits, hyphens).`)
	data := dataFlag(fs)
	dbFlag(fs)
	title := fs.String("title", "", "title (required)")
	alias := fs.String("alias", "", "short unique name")
	desc := fs.String("description", "", "description")
	asJSON := fs.Bool("json", false, "print the new collection as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*title) == "" {
		return usagef("--title is required")
	}
	if *alias != "" && !validAlias(*alias) {
		return usagef("--alias %q: use 1–63 lowercase letters, digits and hyphens", *alias)
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	c := store.Collection{ID: stix.NewUUID(), Title: strings.TrimSpace(*title), Alias: *alias, Description: *desc,
		MediaTypes: []string{"application/stix+json;version=2.1"}, Created: n.Clock.Now()}
	if err := n.Store.CreateCollection(ctx, c); err != nil {
		return fmt.Errorf("adding collection: %w", err)
	}
	if *asJSON {
		return writeJSON(env.Stdout, map[string]string{"id": c.ID, "alias": c.Alias, "title": c.Title})
	}
	fmt.Fprintf(env.Stdout, "added collection %s%s: %s\n", c.ID, aliasSuffix(c.Alias), c.Title)
	return nil
}

func validAlias(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
