package cli

import (
	"context"
	"fmt"
)

func runKey(ctx context.Context, env Env, args []string) error {
	return subcommands(ctx, env, args, `Usage: entraide key rotate [flags]

  rotate  replace the node's signing key, announcing the new key signed by the old one

Run 'entraide key SUBCOMMAND --help' for flags.
`, map[string]func(context.Context, Env, []string) error{"rotate": keyRotate})
}

func keyRotate(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "key rotate", "key rotate --data DIR", `
Replace the node's Ed25519 signing key by a new one. The old key is kept
under DIR/keys/ (objects signed with it stay verifiable), and a rotation
statement signed by both keys is written to DIR/keys/rotation-N.json.

Peers accept the new key without pinning the node again: send them the
statement ('entraide peer rotate NODE FILE' on their side), or a new card
('entraide card export'), which carries every rotation. The node's identity
does not change. Stop 'serve' before rotating, and start it again after.`)
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
	fmt.Fprintf(w, "Send the statement to every peer: entraide peer rotate --data THEIR-DIR %s FILE\n", n.Identity.Name)
	return nil
}
