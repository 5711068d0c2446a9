package cli

import (
	"context"
	"fmt"

	"github.com/entraide/entraide/internal/node"
)

func runInit(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "init", "init --data DIR --name NAME --org ORG --country CC [--host NAME]… [--fed-endpoint URL] [--poc CONTACT]… [--db URL]", `
Create a new node in DIR: its Ed25519 signing key (the node's STIX identity
derives from it), a TLS certificate for the user listener and a federation
TLS key and certificate for mutual TLS with peers (both valid for localhost,
127.0.0.1, ::1 and every --host), the database with a default collection
(alias "default"), and an "admin" user. The federation endpoint and the
points of contact go on the node's card ('entraide card export').

The admin password is read from $ENTRAIDE_ADMIN_PASSWORD; when it is unset, a
password is generated and printed once — store it safely.

init refuses a directory that is not empty: it never overwrites a node's keys.`)
	data := dataFlag(fs)
	name := fs.String("name", "", "node name: lowercase letters, digits, hyphens (e.g. cert-fr) (required)")
	org := fs.String("org", "", "organisation running the node (required)")
	country := fs.String("country", "", "ISO 3166-1 alpha-2 country code, e.g. FR (required)")
	var hosts stringList
	fs.Var(&hosts, "host", "extra DNS name or IP address for the TLS certificate (repeatable)")
	fedEndpoint := fs.String("fed-endpoint", node.DefaultFedEndpoint, "the federation endpoint peers reach, https://host:port/")
	pocs := pocFlag(fs)
	db := dbFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	for _, f := range []struct{ name, v string }{{"data", *data}, {"name", *name}, {"org", *org}, {"country", *country}} {
		if f.v == "" {
			return usagef("--%s is required", f.name)
		}
	}
	res, err := node.Init(ctx, node.InitOptions{
		Dir: *data, Name: *name, Org: *org, Country: *country, Hosts: hosts, DB: *db, FedEndpoint: *fedEndpoint, Contacts: *pocs,
		AdminPassword: env.Getenv("ENTRAIDE_ADMIN_PASSWORD"), Clock: env.Clock,
	})
	if err != nil {
		return err
	}
	w := env.Stdout
	fmt.Fprintf(w, "Created node %s (%s, %s) in %s\n", res.Identity.Name, res.Identity.Org, res.Identity.Country, *data)
	fmt.Fprintf(w, "  STIX identity:       %s\n", res.Identity.IdentityID)
	fmt.Fprintf(w, "  default collection:  %s (alias %q)\n", res.DefaultCollection.ID, res.DefaultCollection.Alias)
	fmt.Fprintf(w, "  TLS certificate:     SHA-256 %s\n", res.CertFingerprint)
	fmt.Fprintf(w, "  federation endpoint: %s (TLS key %s)\n", res.Identity.FedEndpoint, res.FedSPKI)
	if res.AdminPassword != "" {
		fmt.Fprintf(w, "  admin password:      %s\n", res.AdminPassword)
		fmt.Fprintln(w, "                       (shown once: store it now; set ENTRAIDE_ADMIN_PASSWORD to choose it)")
	} else {
		fmt.Fprintln(w, "  admin password:      from $ENTRAIDE_ADMIN_PASSWORD")
	}
	fmt.Fprintf(w, "Next: entraide serve --data %s\n", *data)
	return nil
}
