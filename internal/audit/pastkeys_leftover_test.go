package audit_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/entraide/entraide/internal/audit"
)

// TestVerifyAfterKeyRotation: cert-fr checkpoints its log twice, rotates its
// signing key (as `entraide key rotate` does) and checkpoints again. Given
// its past keys, as the node keeps them, Verify accepts every checkpoint;
// without them it reports the old ones as it did before; and a checkpoint
// signed with a key the node never had is still reported, alone.
func TestVerifyAfterKeyRotation(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		n := newNode(t, e, "cert-fr")
		first := keyOf(n).Public().(ed25519.PublicKey)
		n.fill(10, 5)
		n.checkpoint()
		n.fill(7, 7)
		n.checkpoint()

		as, err := storeOf(n)
		if err != nil {
			t.Fatal(err)
		}
		open := func(key ed25519.PrivateKey, past ...ed25519.PublicKey) *audit.Log {
			t.Helper()
			l, err := audit.New(audit.Config{Name: "cert-fr", Key: key, PastKeys: past, Storage: as, Clock: n.clk})
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		second := testKey("cert-fr, second key")
		// node.Node.Keys lists every key, the current one last.
		rotated := open(second, first, second.Public().(ed25519.PublicKey))
		if _, err := rotated.Append(n.ctx, entries(3, "after the rotation")); err != nil {
			t.Fatal(err)
		}
		if _, err := rotated.Checkpoint(n.ctx); err != nil {
			t.Fatal(err)
		}
		rep, err := rotated.Verify(n.ctx)
		if err != nil || !rep.OK() || rep.Checkpoints != 3 || rep.Latest.Size != 20 {
			t.Fatalf("Verify after the rotation, with the past key: %v\n%s", err, rep.String())
		}

		// Without the past key, the checkpoints it signed do not verify.
		rep, err = open(second).Verify(n.ctx)
		if !errors.Is(err, audit.ErrTampered) {
			t.Fatalf("Verify without the past key: %v, want ErrTampered", err)
		}
		if !problemsAbout(rep, "checkpoint of size 10:", "checkpoint of size 17:") {
			t.Errorf("Verify without the past key:\n%s", rep.String())
		}

		// A checkpoint signed by a key cert-fr never had.
		if _, err := rotated.Append(n.ctx, entries(2, "before the forgery")); err != nil {
			t.Fatal(err)
		}
		if _, err := open(testKey("not cert-fr's")).Checkpoint(n.ctx); err != nil {
			t.Fatal(err)
		}
		rep, err = rotated.Verify(n.ctx)
		if !errors.Is(err, audit.ErrTampered) {
			t.Fatalf("Verify with a stranger's checkpoint: %v, want ErrTampered", err)
		}
		if !problemsAbout(rep, "checkpoint of size 22:") {
			t.Errorf("Verify with a stranger's checkpoint:\n%s", rep.String())
		}
	})
}

// TestPastKeysChecked: a past key that is not an Ed25519 public key is refused.
func TestPastKeysChecked(t *testing.T) {
	_, err := audit.New(audit.Config{Name: "cert-fr", Key: testKey("cert-fr"), PastKeys: []ed25519.PublicKey{make([]byte, 31)},
		Storage: nopStorage{}})
	if !errors.Is(err, audit.ErrInvalid) {
		t.Fatalf("a past key of 31 bytes: %v, want ErrInvalid", err)
	}
}

// nopStorage stands for a storage where none is used.
type nopStorage struct{ audit.Storage }

func testKey(seed string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte(seed))
	return ed25519.NewKeyFromSeed(s[:])
}

// problemsAbout reports whether rep's problems are exactly one per prefix,
// in order, each about a checkpoint's signature.
func problemsAbout(rep audit.Report, prefixes ...string) bool {
	if len(rep.Problems) != len(prefixes) {
		return false
	}
	for i, p := range rep.Problems {
		if p.Seq != -1 || !strings.HasPrefix(p.Msg, prefixes[i]) || !strings.Contains(p.Msg, "signed by cert-fr") {
			return false
		}
	}
	return true
}
