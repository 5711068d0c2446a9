package cli

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/audit"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

func runAudit(ctx context.Context, env Env, args []string) error {
	return subcommands(ctx, env, args, `Usage: entraide audit verify|log [flags]

  verify   prove the audit log consistent: every entry against the Merkle tree and the signed checkpoints
  log      list the audit log

Run 'entraide audit SUBCOMMAND --help' for flags.
`, map[string]func(context.Context, Env, []string) error{"verify": auditVerify, "log": auditLog})
}

func auditVerify(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "audit verify", "audit verify --data DIR [--checkpoint] [--json]", `
Recompute every entry of the node's audit log into its Merkle tree (tlog),
check it against the stored tree hashes and every signed checkpoint, and
report the first entry that no longer matches. Exit status 1 when anything
was altered. A checkpoint signed before a key rotation ('entraide key
rotate') verifies with the key the node had then; one signed by a key the
node never had is reported. With --checkpoint, sign a new checkpoint of the
verified log, with the current key.`)
	data := dataFlag(fs)
	dbFlag(fs)
	cp := fs.Bool("checkpoint", false, "sign a new checkpoint after a successful verification")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	al, err := nodeAudit(n)
	if err != nil {
		return err
	}
	rep, verr := al.Verify(ctx)
	if *asJSON {
		probs := []map[string]any{}
		for _, p := range rep.Problems {
			probs = append(probs, map[string]any{"seq": p.Seq, "problem": p.String()})
		}
		writeJSON(env.Stdout, map[string]any{"ok": verr == nil && rep.OK(), "size": rep.Size, "entries": rep.Entries,
			"root": base64.StdEncoding.EncodeToString(rep.Root[:]), "checkpoints": rep.Checkpoints, "cosignatures": rep.Cosignatures,
			"cosigners": rep.Cosigners, "problems": probs})
	} else {
		fmt.Fprintln(env.Stdout, rep.String())
	}
	if verr != nil {
		return fmt.Errorf("the audit log does not verify: %w", verr)
	}
	if *cp {
		signed, err := al.Checkpoint(ctx)
		if err != nil {
			return err
		}
		if !*asJSON {
			fmt.Fprintf(env.Stdout, "signed checkpoint:\n%s", signed)
		}
	}
	return nil
}

// nodeAudit opens the node's audit log for `audit verify`: new checkpoints
// are signed with the current key, and those signed before a key rotation
// verify with the key that signed them (the node keeps every key it had).
func nodeAudit(n *node.Node) (*audit.Log, error) {
	as, err := store.AuditStorage(n.Store)
	if err != nil {
		return nil, err
	}
	return audit.New(audit.Config{Name: n.Identity.Name, Key: n.Signer, PastKeys: n.Keys, Storage: as, Clock: n.Clock})
}

func auditLog(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "audit log", "audit log --data DIR [--since TS] [--from SEQ] [--limit N] [--json]", `
List the audit log: every send, receipt, refusal (with its reason), policy
denial, peer change and TLP:RED access, in order.`)
	data := dataFlag(fs)
	dbFlag(fs)
	since := fs.String("since", "", "entries from this time on (e.g. 2026-11-01T00:00:00Z, or a duration such as 24h)")
	from := fs.Int64("from", 0, "the first entry (sequence number)")
	limit := fs.Int("limit", 1000, "at most this many entries (up to 10000)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	q := audit.Query{From: *from, Limit: *limit}
	if *since != "" {
		if q.Since, err = parseSince(*since, n.Clock.Now()); err != nil {
			return usagef("--since: %v", err)
		}
	}
	fed, err := federation.New(ctx, n, federation.Config{})
	if err != nil {
		return err
	}
	es, err := fed.Audit().Entries(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		if es == nil {
			es = []audit.Entry{}
		}
		return writeJSON(env.Stdout, es)
	}
	t := newTable(env.Stdout, "SEQ", "TIME", "KIND", "PEER", "OBJECT", "TLP", "REASON")
	for _, e := range es {
		peerName := e.Peer
		if p, ok := fed.Registry().ByIdentity(e.Peer); ok {
			peerName = p.Name
		}
		t.row(fmt.Sprint(e.Seq), e.Time.Format(time.RFC3339), string(e.Kind), peerName, e.ObjectID, e.TLP, truncate(e.Reason, 80))
	}
	return t.flush()
}

// parseSince reads a timestamp or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := parseLifetime(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return stix.ParseTimestamp(s)
}

func runReport(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] != "sharing" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(env.Stdout, "Usage: entraide report sharing --data DIR [--since TS] [--peer NODE] [--json]")
			return nil
		}
		return usagef("report what? The only report is: sharing")
	}
	fs := newFlags(env, "report sharing", "report sharing --data DIR [--since TS] [--peer NODE] [--json]", `
The transparency report: what this node shared with whom, under which
marking, whether it was delivered — and what each peer sent us. It answers
an oversight body's question without trusting anyone's word: every line
comes from the outbox and the audit log.`)
	data := dataFlag(fs)
	dbFlag(fs)
	since := fs.String("since", "30d", "from this time on (timestamp or duration)")
	peerFlag := fs.String("peer", "", "only this peer (name or identity id)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	n, err := openNode(ctx, env, fs, *data)
	if err != nil {
		return err
	}
	defer n.Close()
	from, err := parseSince(*since, n.Clock.Now())
	if err != nil {
		return usagef("--since: %v", err)
	}
	fed, err := federation.New(ctx, n, federation.Config{})
	if err != nil {
		return err
	}
	peerID := ""
	if *peerFlag != "" {
		p, err := fed.Registry().Get(ctx, *peerFlag)
		if err != nil {
			return err
		}
		peerID = p.IdentityID
	}
	sent, err := n.Store.SharingLog(ctx, from, peerID, 10000)
	if err != nil {
		return err
	}
	es, err := fed.Audit().Entries(ctx, audit.Query{Since: from, Limit: 10000})
	if err != nil {
		return err
	}
	type line struct {
		Direction string `json:"direction"`
		Peer      string `json:"peer"`
		Object    string `json:"object"`
		Version   string `json:"version"`
		Type      string `json:"type,omitempty"`
		TLP       string `json:"tlp"`
		Community string `json:"community,omitempty"`
		When      string `json:"when"`
		State     string `json:"state"`
	}
	name := func(id string) string {
		if p, ok := fed.Registry().ByIdentity(id); ok {
			return p.Name
		}
		return id
	}
	var lines []line
	for _, r := range sent {
		state := "queued"
		switch {
		case !r.DeliveredAt.IsZero():
			state = "delivered " + stix.FormatTimestamp(r.DeliveredAt)
		case r.Failed:
			state = "refused: " + r.LastError
		case r.Attempts > 0:
			state = fmt.Sprintf("retrying (%d attempts): %s", r.Attempts, r.LastError)
		}
		lines = append(lines, line{"sent", name(r.Peer), r.ObjectID, r.Version, r.Type, tlpName(r.TLP), r.Community, stix.FormatTimestamp(r.Created), state})
	}
	for _, e := range es {
		if e.Kind != audit.KindReceive && e.Kind != audit.KindRefuse || e.Peer == "" || peerID != "" && e.Peer != peerID {
			continue
		}
		state := "stored"
		if e.Kind == audit.KindRefuse {
			state = "refused: " + e.Reason
		}
		lines = append(lines, line{"received", name(e.Peer), e.ObjectID, e.ObjectVersion, "", e.TLP, e.Community, stix.FormatTimestamp(e.Time), state})
	}
	if *asJSON {
		if lines == nil {
			lines = []line{}
		}
		return writeJSON(env.Stdout, lines)
	}
	fmt.Fprintf(env.Stdout, "Sharing report of %s since %s\n\n", n.Identity.Name, from.Format(time.RFC3339))
	t := newTable(env.Stdout, "DIRECTION", "PEER", "OBJECT", "TLP", "COMMUNITY", "WHEN", "STATE")
	for _, l := range lines {
		t.row(l.Direction, l.Peer, l.Object, strings.ToUpper(l.TLP), l.Community, l.When, truncate(l.State, 70))
	}
	return t.flush()
}

func tlpName(t stix.TLP) string {
	if !t.Valid() {
		return "none"
	}
	return t.String()
}
