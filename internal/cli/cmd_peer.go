package cli

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/peer"
)

func runPeer(ctx context.Context, env Env, args []string) error {
	return subcommands(ctx, env, args, `Usage: entraide peer add|list|show|remove|rotate [flags]

  add     pin a partner node from its card, after confirming its fingerprint
  list    list the pinned peers
  show    show one peer: keys, contacts, communities, delivery queue
  remove  unpin a peer: its connections are refused from then on
  rotate  accept a peer's key rotation statement

NODE is a peer's name or identity id. Peering is mutual: traffic flows only
when both nodes have added each other.

Run 'entraide peer SUBCOMMAND --help' for flags.
`, map[string]func(context.Context, Env, []string) error{
		"add": peerAdd, "list": peerList, "show": peerShow, "remove": peerRemove, "rotate": peerRotate,
	})
}

func peerAdd(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "peer add", "peer add --data DIR CARD [--name NAME] [--yes]", `
Pin a partner node from its card (a file from 'entraide card export' on their
side). The card's organisation, country, endpoint and FINGERPRINT are shown,
and you are asked whether the fingerprint matches what the partner read to
you out of band (answer y, or type the fingerprint). --yes skips the question,
for scripts that checked the fingerprint another way.

Adding the card of a pinned peer again updates it: a newer card signed by its
pinned key, or carrying a rotation chain from it. A card of a pinned identity
signed by any other key is refused.`)
	data := dataFlag(fs)
	dbFlag(fs)
	name := fs.String("name", "", "local name of the peer (default: the name on its card)")
	yes := fs.Bool("yes", false, "do not ask for the fingerprint confirmation")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one CARD file")
	}
	b, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	reg := n.Registry()
	c, err := reg.Check(ctx, b, *name)
	if err != nil {
		return err
	}
	w := env.Stdout
	existing, _ := n.Store.Peer(ctx, c.IdentityID)
	if existing.IdentityID != "" {
		fmt.Fprintf(w, "New card of the pinned peer %s\n", existing.Name)
	} else {
		fmt.Fprintf(w, "Card of %s\n", c.Name)
	}
	printCard(w, c)
	if !*yes && !confirm(env, fmt.Sprintf("Does the fingerprint match what %s read to you?", c.Organisation), c.MatchFingerprint) {
		return fmt.Errorf("%s was NOT pinned: the fingerprint was not confirmed. Call %s (%s) and compare it; nothing was changed",
			c.Name, c.Organisation, contactsText(c.PointsOfContact))
	}
	p, err := reg.AddAs(ctx, b, *name, env.Clock.Now())
	if err != nil {
		return err
	}
	if existing.IdentityID != "" {
		fmt.Fprintf(w, "Updated peer %s (%s), %d signing key(s)\n", p.Name, p.IdentityID, len(p.Keys))
		return nil
	}
	fmt.Fprintf(w, "Pinned peer %s (%s)\n", p.Name, p.IdentityID)
	fmt.Fprintf(w, "Traffic flows once %s has added this node's card too (entraide card export --data %s).\n", p.Name, *data)
	return nil
}

func contactsText(cs []card.Contact) string {
	var out []string
	for _, c := range cs {
		out = append(out, contactText(c))
	}
	return strings.Join(out, "; ")
}

type peerKeyOut struct {
	Key   string `json:"key"`
	Added string `json:"added"`
}

type peerOut struct {
	Name            string         `json:"name"`
	IdentityID      string         `json:"identity_id"`
	Organisation    string         `json:"organisation"`
	Country         string         `json:"country"`
	Endpoint        string         `json:"federation_endpoint"`
	Fingerprint     string         `json:"fingerprint"`
	TLSSPKI         string         `json:"tls_spki_sha256"`
	Keys            []peerKeyOut   `json:"keys"`
	PointsOfContact []card.Contact `json:"points_of_contact"`
	Added           string         `json:"added"`
	LastContact     string         `json:"last_contact"`
	LastError       string         `json:"last_error"`
	LastErrorAt     string         `json:"last_error_at"`
	Communities     []string       `json:"communities,omitempty"`
	Queue           *queueOut      `json:"queue,omitempty"`
}

type queueOut struct {
	Pending       int    `json:"pending"`
	OldestPending string `json:"oldest_pending"`
	Delivered     int    `json:"delivered"`
	Failed        int    `json:"failed"`
	LastDelivered string `json:"last_delivered"`
}

func peerJSON(p peer.Peer) peerOut {
	o := peerOut{Name: p.Name, IdentityID: p.IdentityID, Organisation: p.Organisation, Country: p.Country, Endpoint: p.Endpoint,
		Fingerprint: p.Fingerprint(), TLSSPKI: p.TLSSPKI, Keys: []peerKeyOut{}, PointsOfContact: []card.Contact{},
		Added: timeText(p.Added), LastContact: timeText(p.LastContact), LastError: p.LastError, LastErrorAt: timeText(p.LastErrorAt)}
	for _, k := range p.Keys {
		o.Keys = append(o.Keys, peerKeyOut{keyText(k.Key), timeText(k.Added)})
	}
	if p.Card != nil {
		o.PointsOfContact = p.Card.PointsOfContact
	}
	return o
}

func peerList(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "peer list", "peer list --data DIR [--json]", "List the pinned peers.")
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
	ps, err := n.Registry().List(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		rows := []peerOut{}
		for _, p := range ps {
			rows = append(rows, peerJSON(p))
		}
		return writeJSON(env.Stdout, rows)
	}
	t := newTable(env.Stdout, "NAME", "COUNTRY", "ORGANISATION", "ENDPOINT", "FINGERPRINT", "LAST CONTACT")
	for _, p := range ps {
		last := timeText(p.LastContact)
		if last == "" {
			last = "never"
		}
		if p.LastError != "" {
			last += " (error: " + p.LastError + ")"
		}
		t.row(p.Name, p.Country, p.Organisation, p.Endpoint, p.Fingerprint(), last)
	}
	return t.flush()
}

func peerShow(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "peer show", "peer show --data DIR NODE [--json]", `
Show one peer (by name or identity id): its card, every signing key it ever
had, its points of contact, the communities it belongs to and the state of
its delivery queue.`)
	data := dataFlag(fs)
	dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one NODE (a peer's name or identity id)")
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	p, err := n.Registry().Get(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	o := peerJSON(p)
	cs, err := n.Store.Communities(ctx)
	if err != nil {
		return err
	}
	o.Communities = []string{}
	for _, c := range cs {
		if slices.Contains(c.Members, p.IdentityID) {
			o.Communities = append(o.Communities, c.Name)
		}
	}
	stats, err := n.Store.OutboxStats(ctx)
	if err != nil {
		return err
	}
	q := stats[p.IdentityID]
	o.Queue = &queueOut{q.Pending, timeText(q.OldestPending), q.Delivered, q.Failed, timeText(q.LastDelivered)}
	if *asJSON {
		return writeJSON(env.Stdout, o)
	}
	w := env.Stdout
	fmt.Fprintf(w, "Peer %s\n", o.Name)
	fmt.Fprintf(w, "  organisation: %s\n  country:      %s\n  identity:     %s\n  endpoint:     %s\n  fingerprint:  %s\n  TLS key:      %s\n",
		o.Organisation, o.Country, o.IdentityID, o.Endpoint, o.Fingerprint, o.TLSSPKI)
	for i, k := range o.Keys {
		label := "old"
		if i == len(o.Keys)-1 {
			label = "current"
		}
		fmt.Fprintf(w, "  signing key:  %s (%s, pinned %s)\n", k.Key, label, k.Added)
	}
	for _, c := range o.PointsOfContact {
		fmt.Fprintf(w, "  contact:      %s\n", contactText(c))
	}
	fmt.Fprintf(w, "  added:        %s\n", o.Added)
	fmt.Fprintf(w, "  last contact: %s\n", orText(o.LastContact, "never"))
	if o.LastError != "" {
		fmt.Fprintf(w, "  last error:   %s (%s)\n", o.LastError, o.LastErrorAt)
	}
	fmt.Fprintf(w, "  communities:  %s\n", orText(strings.Join(o.Communities, ", "), "none"))
	fmt.Fprintf(w, "  queue:        %d pending, %d delivered, %d failed\n", q.Pending, q.Delivered, q.Failed)
	return nil
}

func orText(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

func peerRemove(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "peer remove", "peer remove --data DIR NODE [--yes]", `
Unpin a peer: its connections are refused from then on and what is queued
for it is not delivered. Its community memberships stay, and take effect again
if it is added again. Asks for confirmation unless --yes.`)
	data := dataFlag(fs)
	dbFlag(fs)
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one NODE (a peer's name or identity id)")
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	reg := n.Registry()
	p, err := reg.Get(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if !*yes && !confirm(env, fmt.Sprintf("Remove peer %s (%s, %s)? Its connections will be refused.", p.Name, p.Organisation, p.Country), nil) {
		return fmt.Errorf("peer %s was not removed", p.Name)
	}
	if _, err := reg.Remove(ctx, p.IdentityID); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Removed peer %s (%s)\n", p.Name, p.IdentityID)
	return nil
}

func peerRotate(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "peer rotate", "peer rotate --data DIR NODE FILE", `
Accept a peer's key rotation statement (from 'entraide key rotate' on their
side): it must start from the key pinned for the peer and be signed by both
keys. The new key is pinned; the old ones stay valid for objects signed
before. Applying a statement twice changes nothing.`)
	data := dataFlag(fs)
	dbFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("give a NODE (a peer's name or identity id) and a rotation FILE")
	}
	b, err := os.ReadFile(fs.Arg(1))
	if err != nil {
		return err
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	p, err := n.Registry().ApplyRotation(ctx, fs.Arg(0), b)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Peer %s signs with key %s (%d keys pinned; the old ones still verify older objects)\n",
		p.Name, keyText(p.CurrentKey()), len(p.Keys))
	return nil
}

// nodeRef resolves a NODE argument: "self", this node's name or identity id,
// or a pinned peer's name or identity id. It returns the identity id.
func nodeRef(ctx context.Context, n *node.Node, reg *peer.Registry, arg string) (string, error) {
	if arg == "self" || arg == n.Identity.Name || arg == n.Identity.IdentityID {
		return n.Identity.IdentityID, nil
	}
	p, err := reg.Get(ctx, arg)
	if err != nil {
		return "", err
	}
	return p.IdentityID, nil
}

// nodeNames maps identity ids to the names people know: peers' names and
// "NAME (self)".
func nodeNames(ctx context.Context, n *node.Node) (map[string]string, error) {
	ps, err := n.Store.Peers(ctx)
	if err != nil {
		return nil, err
	}
	m := map[string]string{n.Identity.IdentityID: n.Identity.Name + " (self)"}
	for _, p := range ps {
		m[p.IdentityID] = p.Name
	}
	return m, nil
}
