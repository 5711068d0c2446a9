package cli

import (
	"bufio"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/node"
)

// subcommands dispatches args to one of subs; usage is the text of --help.
func subcommands(ctx context.Context, env Env, args []string, usage string, subs map[string]func(context.Context, Env, []string) error) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(helpWriter(env, args), usage)
		if len(args) == 0 {
			return usagef("missing subcommand: want %s", strings.Join(sortedKeys(subs), ", "))
		}
		return nil
	}
	if f, ok := subs[args[0]]; ok {
		return f(ctx, env, args[1:])
	}
	return usagef("unknown subcommand %q: want %s", args[0], strings.Join(sortedKeys(subs), ", "))
}

// contactList is the repeatable --poc flag: one point of contact per flag
// (commas separate its fields, not contacts).
type contactList []card.Contact

func (c *contactList) String() string { return "" }
func (c *contactList) Set(v string) error {
	ct, err := node.ParseContact(v)
	if err != nil {
		return err
	}
	*c = append(*c, ct)
	return nil
}

func pocFlag(fs *flag.FlagSet) *contactList {
	var c contactList
	fs.Var(&c, "poc", "point of contact, role=…,name=…,email=…,phone=… (email or phone or both; repeatable)")
	return &c
}

// timeText formats a time for people and --json; "" for none.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func keyText(k []byte) string { return base64.RawURLEncoding.EncodeToString(k) }

func runCard(ctx context.Context, env Env, args []string) error {
	return subcommands(ctx, env, args, `Usage: entraide card export|verify [flags]

  export  write this node's signed card, to give to a partner out of band
  verify  check a card and print who it is for and its fingerprint

Run 'entraide card SUBCOMMAND --help' for flags.
`, map[string]func(context.Context, Env, []string) error{"export": cardExport, "verify": cardVerify})
}

func cardExport(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "card export", "card export --data DIR [--out FILE] [--poc CONTACT]…", `
Write this node's card: its identity, organisation, country, federation
endpoint, signing key (with the chain of its rotations), the key of its
federation TLS certificate and its points of contact, signed by the node.

Give the card to a partner out of band (e-mail, USB stick), then read them its
FINGERPRINT over the phone: they add the card with 'entraide peer add' only if
it matches. --poc replaces the node's points of contact (a card needs at
least one); they are kept for later exports.

A card is given by hand once, to a new partner. After that, the running node
('entraide serve --fed-listen') announces each change of its card (points of
contact, certificate) to its pinned peers by itself; key changes travel as
rotations ('entraide key rotate').`)
	data := dataFlag(fs)
	dbFlag(fs)
	out := fs.String("out", "", "write the card to FILE instead of standard output")
	pocs := pocFlag(fs)
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
	if len(*pocs) > 0 {
		if err := n.SetContacts(*pocs); err != nil {
			return err
		}
	}
	b, err := n.Card()
	if err != nil {
		return err
	}
	c, err := card.Parse(b)
	if err != nil {
		return err
	}
	if *out == "" {
		if _, err := env.Stdout.Write(b); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "fingerprint: %s\n", c.Fingerprint())
		return nil
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Wrote the card of %s to %s\n", c.Name, *out)
	fmt.Fprintf(env.Stdout, "  identity:     %s\n", c.IdentityID)
	fmt.Fprintf(env.Stdout, "  endpoint:     %s\n", c.FederationEndpoint)
	fmt.Fprintf(env.Stdout, "  fingerprint:  %s\n", c.Fingerprint())
	fmt.Fprintln(env.Stdout, "Send the file to your partner, then read them the fingerprint by phone.")
	return nil
}

func cardVerify(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "card verify", "card verify FILE [--json]", `
Check a node card (signature, identity, rotation chain, every field) and print
who it is for, its endpoint and its fingerprint. Exits 1 with the precise
error when the card is not valid. FILE may be - for standard input.`)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one card FILE")
	}
	b, err := readInput(env, fs.Arg(0))
	if err != nil {
		return err
	}
	c, err := card.Parse(b)
	if err != nil {
		return fmt.Errorf("%s is not a valid card: %w", fs.Arg(0), err)
	}
	if *asJSON {
		return writeJSON(env.Stdout, cardJSON(c))
	}
	w := env.Stdout
	fmt.Fprintf(w, "Valid card of %s\n", c.Name)
	printCard(w, c)
	return nil
}

func readInput(env Env, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(env.Stdin, card.MaxSize+1))
	}
	return os.ReadFile(name)
}

func printCard(w io.Writer, c *card.Card) {
	fmt.Fprintf(w, "  organisation: %s\n", c.Organisation)
	fmt.Fprintf(w, "  country:      %s\n", c.Country)
	fmt.Fprintf(w, "  identity:     %s\n", c.IdentityID)
	fmt.Fprintf(w, "  endpoint:     %s\n", c.FederationEndpoint)
	fmt.Fprintf(w, "  issued:       %s\n", timeText(c.Issued))
	if len(c.Rotations) > 0 {
		fmt.Fprintf(w, "  key rotations: %d\n", len(c.Rotations))
	}
	for _, p := range c.PointsOfContact {
		fmt.Fprintf(w, "  contact:      %s\n", contactText(p))
	}
	fmt.Fprintf(w, "  FINGERPRINT:  %s\n", c.Fingerprint())
}

func contactText(p card.Contact) string {
	parts := []string{p.Role + ": " + p.Name}
	if p.Email != "" {
		parts = append(parts, p.Email)
	}
	if p.Phone != "" {
		parts = append(parts, p.Phone)
	}
	return strings.Join(parts, ", ")
}

type cardOut struct {
	Name            string         `json:"name"`
	Organisation    string         `json:"organisation"`
	Country         string         `json:"country"`
	IdentityID      string         `json:"identity_id"`
	Endpoint        string         `json:"federation_endpoint"`
	Fingerprint     string         `json:"fingerprint"`
	SigningKey      string         `json:"signing_key"`
	Keys            []string       `json:"keys"`
	TLSSPKI         string         `json:"tls_spki_sha256"`
	PointsOfContact []card.Contact `json:"points_of_contact"`
	Issued          string         `json:"issued"`
}

func cardJSON(c *card.Card) cardOut {
	o := cardOut{Name: c.Name, Organisation: c.Organisation, Country: c.Country, IdentityID: c.IdentityID,
		Endpoint: c.FederationEndpoint, Fingerprint: c.Fingerprint(), SigningKey: keyText(c.SigningKey),
		TLSSPKI: c.TLSSPKISHA256, PointsOfContact: c.PointsOfContact, Issued: timeText(c.Issued)}
	for _, k := range c.Keys() {
		o.Keys = append(o.Keys, keyText(k))
	}
	return o
}

// confirm asks a yes/no question on standard input; only y or yes is yes.
// accept, when set, also takes other answers as yes (a typed fingerprint).
func confirm(env Env, question string, accept func(string) bool) bool {
	fmt.Fprintf(env.Stdout, "%s [y/N] ", question)
	line, _ := bufio.NewReader(env.Stdin).ReadString('\n')
	a := strings.TrimSpace(line)
	fmt.Fprintln(env.Stdout)
	switch strings.ToLower(a) {
	case "y", "yes":
		return true
	}
	return accept != nil && a != "" && accept(a)
}
