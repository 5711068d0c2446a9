package card

import (
	"crypto/ed25519"
	"fmt"
	"regexp"

	"github.com/entraide/entraide/internal/stix"
)

// The node's identity rules, as package node states them. They are repeated
// here rather than imported: node pulls in the store and its SQLite engine,
// which a card reader has no use for (and which makes fuzzing this package
// crawl, since the fuzzer instruments everything linked). The nodecheck test
// proves both copies agree; the day node's rules move to a leaf package, card
// should import them from there.

// identityNamespace is node's UUIDv5 namespace for identity ids.
var identityNamespace = [16]byte{0x6e, 0x74, 0x72, 0x61, 0x69, 0x64, 0x65, 0x2d, 0x6e, 0x6f, 0x64, 0x65, 0x2d, 0x69, 0x64, 0x31}

// IdentityIDFor is node.IdentityIDFor: the STIX identity id of the node
// whose first signing key is pub.
func IdentityIDFor(pub ed25519.PublicKey) string {
	return stix.DerivedID("identity", identityNamespace, pub)
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidName checks a node name as node.ValidName does: lowercase letters,
// digits and hyphens, as it appears in URLs, peer lists and file names.
func ValidName(s string) error {
	if !nameRE.MatchString(s) {
		return fmt.Errorf("node name %q: use 1–63 lowercase letters, digits and hyphens, starting with a letter or digit (e.g. cert-fr)", s)
	}
	return nil
}
