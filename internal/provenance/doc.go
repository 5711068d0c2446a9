// Package provenance proves where a STIX object comes from. Every object a
// node creates is signed with the node's Ed25519 key, and the signature
// travels inside the object, so that a recipient can prove its origin even
// when it arrived through a third node or a plain TAXII pull, and can keep
// proving it later from the stored bytes alone.
//
// Sign is called on the share path, after validation and before the object is
// stored; Verify on the receive path, before the object is parsed and stored.
// Both work on bytes (house style: sign bytes, not structs).
//
// # Wire contract (version 1.0)
//
// The signature is a STIX property extension declared by the
// extension-definition object ExtensionDefinition (id ExtensionID, created by
// the project identity ProjectIdentity, schema Schema at SchemaURL). A signed
// object carries, in its extensions dictionary:
//
//	"extensions": {
//	  "extension-definition--835b6450-6ed3-5e03-83a5-63b0bc60a450": {
//	    "extension_type": "property-extension",
//	    "signer": "identity--…",        // the signing node's STIX identity id
//	    "key": "<43 characters>",       // its Ed25519 public key, base64url, no padding
//	    "alg": "Ed25519",
//	    "signed": "2026-11-23T10:00:00.000000Z",  // STIX timestamp, UTC
//	    "signature": "<86 characters>"  // Ed25519 signature, base64url, no padding
//	  }
//	}
//
// The rules:
//
//  1. The extension has exactly these six members, all strings. alg is
//     "Ed25519" (RFC 8032, pure Ed25519); another value is refused, not
//     ignored. key and signature are base64url without padding (RFC 4648
//     section 5) in their only spelling: unused bits zero, no escapes in the
//     signature string.
//  2. The signed message is the RFC 8785 (JCS) canonical form of the whole
//     object with only the signature member of this extension removed. So
//     signer, key, alg and the signing time are covered, as are every other
//     property, custom properties and other extensions; the order of members
//     and insignificant white space, and the spelling of numbers and string
//     escapes, are not (they do not survive canonicalisation). Changing any
//     value invalidates the signature.
//  3. The object's created_by_ref equals signer. An object attributed to one
//     identity and signed by another is wrongly attributed and refused, even
//     when the signature is good. Objects that cannot carry created_by_ref
//     (cyber-observables) and extension-definitions (which cannot carry
//     extensions) are not signed; they are vouched for by the signed objects
//     that reference them, or shipped with the software.
//  4. The key must be one of the signer's keys as the verifier knows them
//     (KeyResolver): a node that rotated its key keeps its identity id (derived
//     from its first key) and signs with the new key; the verifier accepts
//     whichever of the keys it lists is named in the object.
//  5. The JSON must be I-JSON (RFC 7493): no duplicate member names, valid
//     UTF-8, finite numbers. An object two parsers could read two ways is
//     refused.
//  6. signed is the signer's statement of when it signed; it is covered by the
//     signature but not judged by Verify (which has no clock).
//
// Keeping bytes: Sign keeps the object's own bytes as they were (white space
// removed), appends created_by_ref when it was absent and appends the
// extension as the last member of extensions. Recipients store the bytes they
// verified; a node never re-serialises a signed object.
//
// # Reasons
//
// Verify refuses with exactly one reason, an error that wraps one of
// ErrUnsigned, ErrMalformedSignature, ErrWrongAttribution, ErrUnknownSigner,
// ErrUnknownKey and ErrBadSignature, and whose Reason is a short code for the
// audit log. A failure of the key resolver itself carries no reason: it says
// nothing about the object.
//
// # Speed
//
// Verify canonicalises with its own one-pass canonicaliser (canonical.go),
// proven byte-equal to stix.Canonicalize over the shared STIX corpus and by
// FuzzCanonical; BenchmarkVerifyRatio shows Verify keeping well above 70% of
// the bare Ed25519 verification rate on a typical indicator.
package provenance
