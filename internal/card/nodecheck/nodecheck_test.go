// Package nodecheck_test proves that package card's copy of the node's
// identity rules agrees with package node, which card does not import (see
// card/identity.go).
package nodecheck_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/node"
)

func TestIdentityIDFor(t *testing.T) {
	for i := range 64 {
		seed := sha256.Sum256([]byte{byte(i)})
		pub := ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
		if got, want := card.IdentityIDFor(pub), node.IdentityIDFor(pub); got != want {
			t.Fatalf("card.IdentityIDFor = %s, node.IdentityIDFor = %s", got, want)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, s := range []string{"cert-fr", "cert-ee", "a", "0", "x-", "-x", "CERT-FR", "cert_fr", "cert fr", "", "é",
		"a123456789012345678901234567890123456789012345678901234567890123", "a12345678901234567890123456789012345678901234567890123456789012"} {
		if (card.ValidName(s) == nil) != (node.ValidName(s) == nil) {
			t.Errorf("%q: card says %v, node says %v", s, card.ValidName(s), node.ValidName(s))
		}
	}
}
