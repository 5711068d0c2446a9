package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

func runCommunity(ctx context.Context, env Env, args []string) error {
	return subcommands(ctx, env, args, `Usage: entraide community create|list|show|add-member|remove-member [flags]

  create         create a community: its members, highest TLP and object types
  list           list the communities
  show           show one community and its members
  add-member     add nodes to a community
  remove-member  remove nodes from a community

NODE is a peer's name or identity id, or "self" for this node.

Run 'entraide community SUBCOMMAND --help' for flags.
`, map[string]func(context.Context, Env, []string) error{
		"create": communityCreate, "list": communityList, "show": communityShow,
		"add-member": communityAddMember, "remove-member": communityRemoveMember,
	})
}

func communityCreate(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "community create", "community create --data DIR NAME --max-tlp LEVEL [--types T1,T2] --member NODE… [--include-self=false]", `
Create a community: a named trust group of pinned peers (and this node), the
highest TLP level it carries (clear, green, amber, amber+strict or red) and
the STIX object types it carries (every type when --types is not given).
Its TAXII collection, alias NAME, is created with it: objects shared to the
community live there, and its members push and pull there.`)
	data := dataFlag(fs)
	dbFlag(fs)
	maxTLP := fs.String("max-tlp", "", "highest TLP level: clear, green, amber, amber+strict or red (required)")
	var types, members stringList
	fs.Var(&types, "types", "STIX object types the community carries, comma-separated (default: every type)")
	fs.Var(&members, "member", "a member NODE: peer name or identity id, or self (repeatable, comma-separated)")
	self := fs.Bool("include-self", true, "make this node a member")
	asJSON := fs.Bool("json", false, "print the new community as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one community NAME")
	}
	name := fs.Arg(0)
	if !validAlias(name) {
		return usagef("community name %q: use 1–63 lowercase letters, digits and hyphens (e.g. fr-ee)", name)
	}
	if *maxTLP == "" {
		return usagef("--max-tlp is required: the highest TLP level the community carries")
	}
	level, err := stix.ParseTLP(*maxTLP)
	if err != nil {
		return usagef("--max-tlp: %v", err)
	}
	if len(members) == 0 {
		return usagef("give at least one --member NODE")
	}
	for _, t := range types {
		if _, err := stix.ParseID(t + "--00000000-0000-4000-8000-000000000000"); err != nil {
			return usagef("--types: %q is not a STIX type", t)
		}
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	if _, err := n.Store.Community(ctx, name); err == nil {
		return fmt.Errorf("community %s exists; change its members with 'entraide community add-member' or 'remove-member'", name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	reg := n.Registry()
	var ids []string
	if *self {
		ids = append(ids, n.Identity.IdentityID)
	}
	for _, m := range members {
		id, err := nodeRef(ctx, n, reg, m)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	c, err := n.Store.PutCommunity(ctx, store.Community{Name: name, MaxTLP: level, Types: types, Members: ids})
	if err != nil {
		return err
	}
	if *asJSON {
		return printCommunity(ctx, env, n, c, true)
	}
	fmt.Fprintf(env.Stdout, "Created community %s (up to %s, %d members), collection %s\n", c.Name, c.MaxTLP, len(c.Members), c.Collection)
	return nil
}

type memberOut struct {
	IdentityID string `json:"identity_id"`
	Name       string `json:"name"` // "" for a node that is not (or no longer) a peer
	Self       bool   `json:"self,omitempty"`
}

type communityOut struct {
	Name       string      `json:"name"`
	MaxTLP     string      `json:"max_tlp"`
	Types      []string    `json:"types"`
	Collection string      `json:"collection"`
	Created    string      `json:"created"`
	Members    []memberOut `json:"members"`
}

func communityJSON(c store.Community, names map[string]string, selfID string) communityOut {
	o := communityOut{Name: c.Name, MaxTLP: strings.ToLower(strings.TrimPrefix(c.MaxTLP.String(), "TLP:")), Types: c.Types,
		Collection: c.Collection, Created: timeText(c.Created), Members: []memberOut{}}
	if o.Types == nil {
		o.Types = []string{}
	}
	for _, m := range c.Members {
		name := strings.TrimSuffix(names[m], " (self)")
		o.Members = append(o.Members, memberOut{IdentityID: m, Name: name, Self: m == selfID})
	}
	return o
}

func memberNames(c store.Community, names map[string]string) string {
	var out []string
	for _, m := range c.Members {
		if nm, ok := names[m]; ok {
			out = append(out, nm)
		} else {
			out = append(out, m+" (not a peer)")
		}
	}
	return strings.Join(out, ", ")
}

func printCommunity(ctx context.Context, env Env, n *node.Node, c store.Community, asJSON bool) error {
	names, err := nodeNames(ctx, n)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(env.Stdout, communityJSON(c, names, n.Identity.IdentityID))
	}
	w := env.Stdout
	fmt.Fprintf(w, "Community %s\n", c.Name)
	fmt.Fprintf(w, "  max TLP:     %s\n", c.MaxTLP)
	fmt.Fprintf(w, "  types:       %s\n", orText(strings.Join(c.Types, ", "), "every type"))
	fmt.Fprintf(w, "  collection:  %s (alias %s)\n", c.Collection, c.Name)
	fmt.Fprintf(w, "  created:     %s\n", timeText(c.Created))
	fmt.Fprintf(w, "  members:     %s\n", orText(memberNames(c, names), "none"))
	return nil
}

func communityList(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "community list", "community list --data DIR [--json]", "List the communities, their policy and members.")
	data := dataFlag(fs)
	dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	cs, err := n.Store.Communities(ctx)
	if err != nil {
		return err
	}
	names, err := nodeNames(ctx, n)
	if err != nil {
		return err
	}
	if *asJSON {
		rows := []communityOut{}
		for _, c := range cs {
			rows = append(rows, communityJSON(c, names, n.Identity.IdentityID))
		}
		return writeJSON(env.Stdout, rows)
	}
	t := newTable(env.Stdout, "NAME", "MAX TLP", "TYPES", "MEMBERS")
	for _, c := range cs {
		t.row(c.Name, c.MaxTLP.String(), orText(strings.Join(c.Types, ","), "all"), memberNames(c, names))
	}
	return t.flush()
}

func communityShow(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "community show", "community show --data DIR NAME [--json]", "Show one community: its policy, collection and members.")
	data := dataFlag(fs)
	dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one community NAME")
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	c, err := community(ctx, n, fs.Arg(0))
	if err != nil {
		return err
	}
	return printCommunity(ctx, env, n, c, *asJSON)
}

// community returns a community; the error of an unknown one lists those there are.
func community(ctx context.Context, n *node.Node, name string) (store.Community, error) {
	c, err := n.Store.Community(ctx, name)
	if !errors.Is(err, store.ErrNotFound) {
		return c, err
	}
	cs, lerr := n.Store.Communities(ctx)
	if lerr != nil || len(cs) == 0 {
		return c, fmt.Errorf("no community %q (there are none yet; create one with 'entraide community create')", name)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return c, fmt.Errorf("no community %q (communities: %s)", name, strings.Join(names, ", "))
}

func communityAddMember(ctx context.Context, env Env, args []string) error {
	return changeMembers(ctx, env, args, true)
}

func communityRemoveMember(ctx context.Context, env Env, args []string) error {
	return changeMembers(ctx, env, args, false)
}

func changeMembers(ctx context.Context, env Env, args []string, add bool) error {
	verb, desc := "add-member", "Add nodes (peers, or self) to a community."
	if !add {
		verb, desc = "remove-member", "Remove nodes from a community. A NODE may also be the identity id of a member that is no longer a peer."
	}
	fs := newFlags(env, "community "+verb, "community "+verb+" --data DIR NAME NODE…", desc)
	data := dataFlag(fs)
	dbFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return usagef("give a community NAME and at least one NODE")
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	c, err := community(ctx, n, fs.Arg(0))
	if err != nil {
		return err
	}
	reg := n.Registry()
	members := slices.Clone(c.Members)
	for _, arg := range fs.Args()[1:] {
		id, err := nodeRef(ctx, n, reg, arg)
		if err != nil && !add && slices.Contains(members, arg) {
			id, err = arg, nil // a former peer, by identity id
		}
		if err != nil {
			return err
		}
		has := slices.Contains(members, id)
		switch {
		case add && has:
			return fmt.Errorf("%s is already a member of %s", arg, c.Name)
		case !add && !has:
			return fmt.Errorf("%s is not a member of %s", arg, c.Name)
		case add:
			members = append(members, id)
		default:
			members = slices.DeleteFunc(members, func(m string) bool { return m == id })
		}
	}
	if err := n.Store.SetCommunityMembers(ctx, c.Name, members); err != nil {
		return err
	}
	c, err = n.Store.Community(ctx, c.Name)
	if err != nil {
		return err
	}
	names, err := nodeNames(ctx, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Community %s: %s\n", c.Name, orText(memberNames(c, names), "no members"))
	return nil
}
