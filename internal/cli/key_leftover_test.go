package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/federation/fedtest"
	"github.com/entraide/entraide/internal/node"
)

// TestKeyRotateWhileServing checks what `entraide key rotate` tells its
// user: FR rotates its key while its node serves; the running node's next
// round does not announce the rotation, as the output says; restarted, the
// node announces it when it starts, and EE pins the new key.
func TestKeyRotateWhileServing(t *testing.T) {
	cfg := federation.Config{CosignInterval: time.Hour} // a round at start, the next ones run by hand
	fed := fedtest.Start(t, fedtest.Options{Federation: cfg}, "fr", "ee")
	ctx := context.Background()
	fr := fed.Node("fr")
	pinned := func() int {
		t.Helper()
		p, err := fed.Node("ee").Fed.Registry().Get(ctx, "cert-fr")
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Keys)
	}

	r := mustRun(t, "", "key", "rotate", "--data", fr.Dir)
	statement := filepath.Join(fr.Dir, "keys", "rotation-1.json")
	for _, want := range []string{
		"Restart 'serve' if it is running: until then it signs with the old key and does not announce this rotation.",
		"every 10 minutes to those that have not confirmed it",
		"entraide peer rotate --data THEIR-DIR cert-fr " + statement,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("key rotate does not say %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "Send the statement to every peer") {
		t.Errorf("key rotate still asks to send the statement by hand to every peer:\n%s", r.stdout)
	}

	// The node that was running: its next round announces nothing.
	if err := fr.Fed.CosignOnce(ctx); err != nil {
		t.Fatalf("FR's round: %v", err)
	}
	if n := pinned(); n != 1 {
		t.Fatalf("EE pinned %d keys of FR after a round of the node running since before the rotation, want 1", n)
	}

	// Restarted as `serve` is: the rotation is announced at start.
	fed.Stop("fr")
	n, err := node.Open(ctx, fr.Dir, func(string) string { return "" }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if fr.Fed, err = federation.New(ctx, n, cfg); err != nil {
		t.Fatal(err)
	}
	fr.Node = n
	fed.Start("fr")
	fed.WaitFor("EE to pin FR's new key", 10*time.Second, func() bool { return pinned() == 2 })
}
