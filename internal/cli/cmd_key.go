package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/entraide/entraide/internal/federation"
)

func runKey(ctx context.Context, env Env, args []string) error {
	return subcommands(ctx, env, args, `Usage: entraide key rotate [flags]

  rotate  replace the node's signing key; 'serve' announces the new key, signed by the old one, to the peers

Run 'entraide key SUBCOMMAND --help' for flags.
`, map[string]func(context.Context, Env, []string) error{"rotate": keyRotate})
}

// announceEvery is how often a running 'serve' announces rotations that
// peers have not confirmed: its cosign round, which serve does not configure.
var announceEvery = fmt.Sprintf("%d minutes", federation.DefaultCosignInterval/time.Minute)

func keyRotate(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "key rotate", "key rotate --data DIR", `
Replace the node's Ed25519 signing key by a new one. The old key is kept
under DIR/keys/ (objects signed with it stay verifiable), and a rotation
statement signed by both keys is written to DIR/keys/rotation-N.json. The
node's identity does not change, and peers accept the new key without
pinning the node again.

'serve' with a federation listener (--fed-listen) tells the peers: when it
starts, and then every `+announceEvery+`, it announces the node's rotations to
each pinned peer that has not confirmed them yet. A 'serve' already running
when the key is rotated does not see the rotation: it goes on signing with
the old key, and none of its rounds announces the rotation until it is
restarted. Stop 'serve' before rotating and start it again after (or
restart it right after rotating).

A peer that cannot be reached over the federation takes the statement by
hand ('entraide peer rotate NODE FILE' on its side), or a new card
('entraide card export'), which carries every rotation.`)
	data := dataFlag(fs)
	dbFlag(fs)
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
	_, path, err := n.RotateKey()
	if err != nil {
		return fmt.Errorf("rotating the signing key: %w", err)
	}
	w := env.Stdout
	fmt.Fprintf(w, "Rotated the signing key of %s (key %d of its life)\n", n.Identity.Name, len(n.Keys))
	fmt.Fprintf(w, "  new key:    %s\n", keyText(n.Keys[len(n.Keys)-1]))
	fmt.Fprintf(w, "  statement:  %s\n", path)
	fmt.Fprintf(w, "Restart 'serve' if it is running: until then it signs with the old key and does not announce this rotation.\n")
	fmt.Fprintf(w, "Once started, 'serve --fed-listen' announces it to every pinned peer, and again every %s to those that have not confirmed it.\n", announceEvery)
	fmt.Fprintf(w, "A peer the federation cannot reach takes it by hand: entraide peer rotate --data THEIR-DIR %s %s\n", n.Identity.Name, path)
	return nil
}
