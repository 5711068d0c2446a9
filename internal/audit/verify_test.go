package audit_test

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/entraide/entraide/internal/audit"
)

// TestVerifyDetectsTampering alters a log of 300 entries (checkpoints at 100
// and 300) behind the store's back, one way per case, and checks that Verify
// fails and says where: the problems it must report, each as the entry (-1
// for none in particular) and words of its message, and no others.
func TestVerifyDetectsTampering(t *testing.T) {
	type want struct {
		seq  int64
		says string
	}
	forged := tlog.RecordHash([]byte("forged"))
	cases := []struct {
		name   string
		tamper func(n *node)
		want   []want
	}{
		{"edited reason", func(n *node) {
			n.exec(`UPDATE audit_entries SET reason = 'nothing to see' WHERE seq = 137`)
		}, []want{{137, "entry was altered"}}},
		{"edited reason of a paired entry's left half", func(n *node) {
			n.exec(`UPDATE audit_entries SET reason = 'nothing to see' WHERE seq = 42`)
		}, []want{{42, "entry was altered"}}},
		{"edited actor of the first entry", func(n *node) {
			n.exec(`UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 0`)
		}, []want{{0, "entry was altered"}}},
		{"edited time", func(n *node) {
			n.exec(`UPDATE audit_entries SET time = time + 1 WHERE seq = 250`)
		}, []want{{250, "entry was altered"}}},
		{"edited kind", func(n *node) {
			n.exec(`UPDATE audit_entries SET kind = 'receive' WHERE seq = 6`)
		}, []want{{6, "entry was altered"}}},
		{"detail no longer JSON", func(n *node) {
			n.exec(`UPDATE audit_entries SET detail = '{' WHERE seq = 99`)
		}, []want{{99, "entry was altered"}}},
		{"detail removed", func(n *node) {
			n.exec(`UPDATE audit_entries SET detail = '' WHERE seq = 100`)
		}, []want{{100, "entry was altered"}}},
		{"two entries edited", func(n *node) {
			n.exec(`UPDATE audit_entries SET reason = 'x' WHERE seq IN (10, 11, 200)`)
		}, []want{{10, "entry was altered"}, {11, "entry was altered"}, {200, "entry was altered"}}},
		{"deleted row", func(n *node) {
			n.exec(`DELETE FROM audit_entries WHERE seq = 77`)
		}, []want{{77, "missing"}}},
		{"deleted last rows", func(n *node) {
			n.exec(`DELETE FROM audit_entries WHERE seq >= 298`)
		}, []want{{298, "missing"}, {299, "missing"}}},
		{"edited stored leaf hash", func(n *node) {
			n.exec(`UPDATE audit_hashes SET hash = $1 WHERE idx = $2`, forged[:], tlog.StoredHashIndex(0, 200))
		}, []want{{200, "stored hash was altered"}}},
		{"edited stored hash above entries", func(n *node) {
			n.exec(`UPDATE audit_hashes SET hash = $1 WHERE idx = $2`, forged[:], tlog.StoredHashIndex(2, 10))
		}, []want{{40, "entries 40–43 (level 2) was altered"}}},
		{"stored hash of another length", func(n *node) {
			n.exec(`UPDATE audit_hashes SET hash = $1 WHERE idx = $2`, []byte("short"), tlog.StoredHashIndex(0, 3))
		}, []want{{3, "stored hash was altered"}}},
		{"deleted stored hash", func(n *node) {
			n.exec(`DELETE FROM audit_hashes WHERE idx = $1`, tlog.StoredHashIndex(1, 60))
		}, []want{{120, "entries 120–121 (level 1) is missing"}}},
		{"truncated log", func(n *node) {
			n.exec(`DELETE FROM audit_entries WHERE seq >= 250`)
			n.exec(`DELETE FROM audit_hashes WHERE idx >= $1`, tlog.StoredHashCount(250))
			n.exec(`UPDATE counters SET value = 250 WHERE name = 'audit_size'`)
		}, []want{{-1, "checkpoint of size 300"}}},
		{"truncated rows and counter, hashes left", func(n *node) {
			n.exec(`DELETE FROM audit_entries WHERE seq >= 250`)
			n.exec(`UPDATE counters SET value = 250 WHERE name = 'audit_size'`)
		}, []want{{-1, "checkpoint of size 300"}, {-1, "stored hashes beyond the log's size 250"}}},
		{"inserted row beyond the end", func(n *node) {
			n.exec(`INSERT INTO audit_entries (seq, time, kind, actor, peer, object_id, object_version, community, tlp, reason, detail)
				VALUES (300, 0, 'send', 'x', '', '', '', '', '', '', '')`)
		}, []want{{300, "beyond the log's size"}}},
		{"history rewritten: entry and all hashes", func(n *node) {
			n.exec(`UPDATE audit_entries SET reason = 'nothing to see' WHERE seq = 137`)
			n.rewriteHashes()
		}, []want{{-1, "entries do not give the root of the checkpoint of size 300"},
			{-1, "stored hashes do not give the root of the checkpoint of size 300"}}},
		{"edited checkpoint", func(n *node) {
			n.exec(`UPDATE audit_checkpoints SET size = 99 WHERE size = 100`)
		}, []want{{-1, "checkpoint of size 99: its signed text says size 100"}}},
		{"forged checkpoint signature", func(n *node) {
			n.exec(`UPDATE audit_checkpoints SET note = $1 WHERE size = 100`, []byte("entraide/audit/v1/cert-fr\n100\nAAAA\n\n— cert-fr AAAA\n"))
		}, []want{{-1, "checkpoint of size 100"}}},
	}
	forEngines(t, func(t *testing.T, e engine) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				n := newNode(t, e, "cert-fr")
				n.fill(100, 37)
				n.checkpoint()
				n.fill(200, 37)
				n.checkpoint()
				if rep, err := n.log.Verify(n.ctx); err != nil {
					t.Fatalf("before tampering: %v\n%s", err, rep.String())
				}
				c.tamper(n)
				rep, err := n.log.Verify(n.ctx)
				if !errors.Is(err, audit.ErrTampered) {
					t.Fatalf("Verify: %v, want ErrTampered\n%s", err, rep.String())
				}
				if rep.OK() || !strings.Contains(rep.String(), "TAMPERED") {
					t.Errorf("report does not say so:\n%s", rep.String())
				}
				if len(rep.Problems) != len(c.want) {
					t.Errorf("%d problems, want %d:\n%s", len(rep.Problems), len(c.want), rep.String())
				}
				for i, w := range c.want {
					if i >= len(rep.Problems) {
						break
					}
					p := rep.Problems[i]
					if p.Seq != w.seq || !strings.Contains(p.Msg, w.says) {
						t.Errorf("problem %d: %s\nwant entry %d, saying %q", i, p, w.seq, w.says)
					}
				}
			})
		}
	})
}

// TestCheckpointRefusesAFork checks that a node whose hashes were rewritten
// does not sign a checkpoint contradicting its own earlier one.
func TestCheckpointRefusesAFork(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		n := newNode(t, e, "cert-fr")
		n.fill(50, 50)
		n.checkpoint()
		n.exec(`UPDATE audit_entries SET reason = 'rewritten' WHERE seq = 7`)
		n.rewriteHashes()
		if _, err := n.log.Checkpoint(n.ctx); !errors.Is(err, audit.ErrTampered) {
			t.Errorf("checkpoint of a rewritten tree of the same size: %v, want ErrTampered", err)
		}
		n.fill(10, 10)
		if _, err := n.log.Checkpoint(n.ctx); !errors.Is(err, audit.ErrTampered) {
			t.Errorf("checkpoint of a larger rewritten tree: %v, want ErrTampered", err)
		}
	})
}
