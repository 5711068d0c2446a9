package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
	"github.com/entraide/entraide/internal/user"
)

func runUser(ctx context.Context, env Env, args []string) error {
	return subcommands(ctx, env, args, `Usage: entraide user add|list|set-role|token|grant|revoke-token [flags]

  add           add a user, with a password, a console role and collection permissions
  list          list users, their roles and permissions
  set-role      change a user's console role (admin, analyst, liaison, viewer)
  token         mint a bearer token for a user (printed once)
  grant         change a user's permissions on collections
  revoke-token  revoke a token by its id

Run 'entraide user SUBCOMMAND --help' for flags.
`, map[string]func(context.Context, Env, []string) error{
		"add": userAdd, "list": userList, "set-role": userSetRole, "token": userToken, "grant": userGrant, "revoke-token": userRevokeToken,
	})
}

// permFlags declares --read and --write (collection ids or aliases).
func permFlags(fs *flag.FlagSet) (*stringList, *stringList) {
	var r, w stringList
	fs.Var(&r, "read", "collection id or alias the user may read (repeatable)")
	fs.Var(&w, "write", "collection id or alias the user may write (repeatable)")
	return &r, &w
}

func applyPerms(ctx context.Context, st store.Store, u *store.User, read, write []string) error {
	if u.Permissions == nil {
		u.Permissions = map[string]store.Permission{}
	}
	for _, c := range read {
		col, err := resolveCollection(ctx, st, c)
		if err != nil {
			return err
		}
		p := u.Permissions[col.ID]
		p.Read = true
		u.Permissions[col.ID] = p
	}
	for _, c := range write {
		col, err := resolveCollection(ctx, st, c)
		if err != nil {
			return err
		}
		p := u.Permissions[col.ID]
		p.Write = true
		u.Permissions[col.ID] = p
	}
	return nil
}

func userAdd(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "user add", "user add --data DIR NAME [--role ROLE | --admin] [--read C]… [--write C]… [--password-stdin]", `
Add a local user. The password is read from standard input with
--password-stdin (first line), else generated and printed once. Passwords
are kept as argon2id hashes.

Every user has a role in the web console (docs/console.md):
  admin    everything: peers, communities, audit, sharing report, users;
           may read and write every collection (--admin is --role admin)
  analyst  reads everything shared with the node, acts on every workflow
  liaison  alerts, points of contact and pings, legal requests (24/7 desks)
  viewer   reads, never acts
--role analyst or liaison also lets the user read and write the default
collection (where the workflows are kept, so that the JSON API agrees with
the console), --role viewer read it. Without --role the role follows the
permissions given: --admin admin, any --write analyst, else viewer; the
user then gets exactly the --read and --write permissions given.`)
	data := dataFlag(fs)
	dbFlag(fs)
	admin := fs.Bool("admin", false, "administrator (the same as --role admin)")
	roleFlag := fs.String("role", "", "console role: admin, analyst, liaison or viewer (default: from the permissions)")
	read, write := permFlags(fs)
	stdinPW := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one user NAME")
	}
	name := fs.Arg(0)
	if !validUserName(name) {
		return usagef("user name %q: use 1–64 letters, digits, '.', '_', '-' or '@'", name)
	}
	role := *roleFlag
	switch {
	case role != "" && !store.ValidRole(role):
		return usagef("--role %q: want one of %s", role, strings.Join(store.AllRoles, ", "))
	case *admin && role != "" && role != store.RoleAdmin:
		return usagef("--admin is --role admin; it cannot be combined with --role %s", role)
	case *admin:
		role = store.RoleAdmin
	}
	explicitRole := role != ""
	if role == "" {
		role = store.RoleViewer
		if len(*write) > 0 {
			role = store.RoleAnalyst
		}
	}
	pw, generated := "", false
	if *stdinPW {
		line, err := bufio.NewReader(env.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the password from standard input: %v", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	} else {
		var err error
		if pw, err = user.NewPassword(); err != nil {
			return err
		}
		generated = true
	}
	hash, err := user.HashPassword(pw)
	if err != nil {
		return err
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	if _, err := n.Store.User(ctx, name); err == nil {
		return fmt.Errorf("user %q exists; use 'entraide user grant' to change permissions", name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	roles, err := store.Roles(n.Store)
	if err != nil {
		return err
	}
	u := store.User{Name: name, PasswordHash: hash, Admin: role == store.RoleAdmin, Created: n.Clock.Now()}
	if err := applyPerms(ctx, n.Store, &u, *read, *write); err != nil {
		return err
	}
	if explicitRole {
		if err := roleDefaultPerms(ctx, n.Store, &u, role); err != nil {
			return err
		}
	}
	if err := n.Store.PutUser(ctx, u); err != nil {
		return err
	}
	if err := roles.SetUserRole(ctx, name, role); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "added user %s, role %s\n", name, role)
	if generated {
		fmt.Fprintf(env.Stdout, "  password: %s\n  (shown once: give it to the user through a safe channel)\n", pw)
	}
	return nil
}

func validUserName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)) {
			return false
		}
	}
	return true
}

func userList(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "user list", "user list --data DIR [--json]", "List users and their collection permissions.")
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
	users, err := n.Store.Users(ctx)
	if err != nil {
		return err
	}
	type perm struct {
		Collection string `json:"collection"`
		Read       bool   `json:"read"`
		Write      bool   `json:"write"`
	}
	roles, err := store.Roles(n.Store)
	if err != nil {
		return err
	}
	stored, err := roles.UserRoles(ctx)
	if err != nil {
		return err
	}
	type row struct {
		Name        string `json:"name"`
		Role        string `json:"role"`
		Admin       bool   `json:"admin"`
		Disabled    bool   `json:"disabled"`
		Created     string `json:"created"`
		Permissions []perm `json:"permissions"`
	}
	rows := []row{}
	for _, u := range users {
		r := row{Name: u.Name, Role: store.EffectiveRole(u, stored[u.Name]), Admin: u.Admin, Disabled: u.Disabled, Created: stix.FormatTimestamp(u.Created), Permissions: []perm{}}
		for _, c := range sortedKeys(u.Permissions) {
			p := u.Permissions[c]
			r.Permissions = append(r.Permissions, perm{c, p.Read, p.Write})
		}
		rows = append(rows, r)
	}
	if *asJSON {
		return writeJSON(env.Stdout, rows)
	}
	t := newTable(env.Stdout, "NAME", "ROLE", "PERMISSIONS")
	for _, r := range rows {
		role := r.Role
		if r.Disabled {
			role += " (disabled)"
		}
		var ps []string
		for _, p := range r.Permissions {
			rw := ""
			if p.Read {
				rw += "r"
			}
			if p.Write {
				rw += "w"
			}
			ps = append(ps, p.Collection+":"+rw)
		}
		if r.Admin {
			ps = []string{"all collections"}
		}
		t.row(r.Name, role, strings.Join(ps, " "))
	}
	return t.flush()
}

// roleDefaultPerms gives a user the permissions its role implies on the
// default collection, where the workflow objects are kept: analysts and
// liaison officers read and write it (they act on workflows through the
// console and the JSON API alike), viewers only read it (a viewer never
// acts, on any path). An admin's flag grants everything already.
func roleDefaultPerms(ctx context.Context, st store.Store, u *store.User, role string) error {
	if role == store.RoleAdmin {
		return nil
	}
	def, err := resolveCollection(ctx, st, node.DefaultCollectionAlias)
	if err != nil {
		return err
	}
	if u.Permissions == nil {
		u.Permissions = map[string]store.Permission{}
	}
	u.Permissions[def.ID] = store.Permission{Read: true, Write: role != store.RoleViewer}
	return nil
}

func userSetRole(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "user set-role", "user set-role --data DIR NAME ROLE", `
Change a user's role in the web console: admin, analyst, liaison or viewer
(see 'entraide user add --help'). The user's open console sessions end
at once: they log in again and work with the new role.

admin sets the administrator flag (every collection, the node's
management); any other role clears it. analyst and liaison also get read
and write permission on the default collection, where the workflows are
kept; viewer gets read permission on it and loses write, so that a viewer
acts on no path. Permissions on other collections are left as they are
('entraide user grant' changes them).`)
	data := dataFlag(fs)
	dbFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("give a user NAME and a ROLE (%s)", strings.Join(store.AllRoles, ", "))
	}
	name, role := fs.Arg(0), fs.Arg(1)
	if !store.ValidRole(role) {
		return usagef("role %q: want one of %s", role, strings.Join(store.AllRoles, ", "))
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	roles, err := store.Roles(n.Store)
	if err != nil {
		return err
	}
	u, err := n.Store.User(ctx, name)
	if err != nil {
		return fmt.Errorf("user %q: %w (see 'entraide user list')", name, err)
	}
	stored, err := roles.UserRole(ctx, name)
	if err != nil {
		return err
	}
	was := store.EffectiveRole(u, stored)
	if u.Admin && role != store.RoleAdmin && !u.Disabled {
		// Someone must still be able to manage the node.
		users, err := n.Store.Users(ctx)
		if err != nil {
			return err
		}
		others := 0
		for _, o := range users {
			if o.Admin && !o.Disabled && o.Name != u.Name {
				others++
			}
		}
		if others == 0 {
			return fmt.Errorf("user %s is the node's only administrator: make another user admin first (entraide user set-role OTHER admin)", name)
		}
	}
	u.Admin = role == store.RoleAdmin
	if err := roleDefaultPerms(ctx, n.Store, &u, role); err != nil {
		return err
	}
	if err := n.Store.PutUser(ctx, u); err != nil {
		return err
	}
	if err := roles.SetUserRole(ctx, name, role); err != nil {
		return err
	}
	// The console would also notice the change at the user's next request;
	// ending the sessions here leaves no row that still names the old role.
	ended, err := n.Store.DeleteUserSessions(ctx, name)
	if err != nil {
		return fmt.Errorf("role changed, but ending %s's console sessions failed: %w (they end at the next request)", name, err)
	}
	fmt.Fprintf(env.Stdout, "user %s: role %s (was %s)", name, role, was)
	if ended > 0 {
		fmt.Fprintf(env.Stdout, "; %d console session(s) ended", ended)
	}
	fmt.Fprintln(env.Stdout)
	return nil
}

func userGrant(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "user grant", "user grant --data DIR NAME [--read C]… [--write C]… [--revoke C]…", `
Add read or write permissions on collections to a user, or remove all of a
user's permissions on a collection with --revoke.`)
	data := dataFlag(fs)
	dbFlag(fs)
	read, write := permFlags(fs)
	var revoke stringList
	fs.Var(&revoke, "revoke", "collection id or alias to remove every permission on (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one user NAME")
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	u, err := n.Store.User(ctx, fs.Arg(0))
	if err != nil {
		return fmt.Errorf("user %q: %w", fs.Arg(0), err)
	}
	if err := applyPerms(ctx, n.Store, &u, *read, *write); err != nil {
		return err
	}
	for _, c := range revoke {
		col, err := resolveCollection(ctx, n.Store, c)
		if err != nil {
			return err
		}
		delete(u.Permissions, col.ID)
	}
	if err := n.Store.PutUser(ctx, u); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "updated permissions of %s\n", u.Name)
	return nil
}

func userToken(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "user token", "user token --data DIR NAME [--label TEXT] [--expires DURATION]", `
Mint a bearer token for a user, for scripts and TAXII clients
(Authorization: Bearer TOKEN). The token is printed once; the node keeps only
its SHA-256. --expires takes a duration such as 90d, 12h or 0 (no expiry).`)
	data := dataFlag(fs)
	dbFlag(fs)
	label := fs.String("label", "", "what the token is for")
	expires := fs.String("expires", "90d", "lifetime: e.g. 30d, 12h, or 0 for none")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one user NAME")
	}
	life, err := parseLifetime(*expires)
	if err != nil {
		return usagef("--expires: %v", err)
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	if _, err := n.Store.User(ctx, fs.Arg(0)); err != nil {
		return fmt.Errorf("user %q: %w", fs.Arg(0), err)
	}
	secret, hash, err := user.NewToken()
	if err != nil {
		return err
	}
	now := n.Clock.Now()
	t := store.Token{ID: stix.NewUUID(), User: fs.Arg(0), Hash: hash, Label: *label, Created: now}
	if life > 0 {
		t.Expires = now.Add(life)
	}
	if err := n.Store.AddToken(ctx, t); err != nil {
		return err
	}
	if *asJSON {
		exp := ""
		if !t.Expires.IsZero() {
			exp = stix.FormatTimestamp(t.Expires)
		}
		return writeJSON(env.Stdout, map[string]string{"id": t.ID, "user": t.User, "token": secret, "expires": exp})
	}
	fmt.Fprintf(env.Stdout, "%s\n", secret)
	exp := "never"
	if !t.Expires.IsZero() {
		exp = t.Expires.Format(time.RFC3339)
	}
	fmt.Fprintf(env.Stderr, "token %s for %s, expires %s (shown once)\n", t.ID, t.User, exp)
	return nil
}

func userRevokeToken(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "user revoke-token", "user revoke-token --data DIR TOKEN-ID", "Revoke a bearer token by its id (as printed by 'user token').")
	data := dataFlag(fs)
	dbFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one TOKEN-ID")
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	if err := n.Store.RevokeToken(ctx, fs.Arg(0)); err != nil {
		return fmt.Errorf("token %s: %w", fs.Arg(0), err)
	}
	fmt.Fprintf(env.Stdout, "revoked token %s\n", fs.Arg(0))
	return nil
}

// parseLifetime accepts Go durations and a "d" suffix for days.
func parseLifetime(s string) (time.Duration, error) {
	if s == "0" || s == "" {
		return 0, nil
	}
	if strings.HasSuffix(s, "d") {
		d, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || d <= 0 || d > 3650 {
			return 0, fmt.Errorf("%q: want a number of days between 1 and 3650", s)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want e.g. 90d, 12h or 0", s)
	}
	return d, nil
}
