// Package card reads and writes node cards and key rotations: the signed
// documents two organisations exchange out of band (e-mail, USB stick) when
// they decide to peer. There is no certificate authority in the federation:
// a peer is whoever holds the keys on the card its partner confirmed, by
// reading the card's Fingerprint to each other over the phone.
//
// # Card (entraide_card 1)
//
//	{
//	  "entraide_card": 1,
//	  "name": "cert-fr",                         // node name: [a-z0-9][a-z0-9-]{0,62}
//	  "organisation": "ANSSI / CERT-FR",         // printable, ≤ 256 bytes
//	  "country": "FR",                           // ISO 3166-1 alpha-2 (or EU)
//	  "identity_id": "identity--…",              // IdentityIDFor(the node's first signing key)
//	  "federation_endpoint": "https://fr.example:8444/",  // https, host, explicit port; no user, query, fragment
//	  "signing_key": "<base64url, 43 chars>",    // current Ed25519 signing key
//	  "tls_spki_sha256": "<64 lowercase hex>",   // SPKIHash of the federation TLS certificate
//	  "tls_certificate": "<base64 DER>",         // optional; its key must match tls_spki_sha256
//	  "points_of_contact": [                     // 1 to 32; see Contact
//	    {"role": "csirt-24x7", "name": "…", "email": "…", "phone": "+33 …",  // email or phone or both
//	     "unit": "…", "languages": ["fr", "en"], "hours": "24/7",          // optional
//	     "channels": [{"type": "signal", "value": "+33 …"}]}               // optional
//	  ],
//	  "issued": "2026-11-23T10:00:00Z",          // RFC 3339, UTC, Z
//	  "next_signing_key": "<base64url>",         // optional: announces the next key
//	  "rotations": [ <rotation>, … ],            // optional: first key → signing_key, oldest first, ≤ 16
//	  "signature": "<base64url, 86 chars>"
//	}
//
// Rules:
//
//  1. signature is the Ed25519 signature by signing_key of the RFC 8785
//     canonical form of the card without its signature member. Member order,
//     white space and indentation do not matter (Sign indents for people).
//  2. Decoding is strict: at most MaxSize (64 KiB); I-JSON (no duplicate
//     names, valid UTF-8); member names spelt exactly, unknown members refused
//     (in points of contact too); no data after the object.
//  3. A card cannot claim another node's identity: identity_id must be
//     IdentityIDFor of the node's first key, which is signing_key when there
//     are no rotations, and the old_key of the first rotation otherwise. The
//     rotations must each be valid (both signatures), name identity_id, link
//     (each old_key is the previous new_key), move forward in time, never
//     return to an earlier key, and end at signing_key. So the identity stays
//     the one derived from the first key for the node's whole life, and a
//     newcomer can check it from the card alone.
//  4. A point of contact has a role (a token; the well-known ones are
//     Roles: csirt-24x7, le-24x7, diplomatic, technical, crisis-liaison —
//     other tokens verify, for the cards made before the directory), a name,
//     an email or a phone or both, and optionally an organisational unit,
//     languages (ISO 639-1 codes with an optional ISO 3166-1 region, "fr",
//     "pt-BR", at most 16), hours ("24/7" or a weekly schedule with its time
//     zone, see Hours) and further channels (type and value, at most 8; see
//     ChannelTypes). Every value must be in its canonical form, so that one
//     contact has one spelling: "fr", not "FR"; "Mon-Fri 08:00-18:00
//     Europe/Paris", not "mon-fri 8:00-18:00 Europe/Paris". The optional
//     members are absent, not empty, when unused: a card signed before they
//     existed verifies unchanged.
//  5. Cards do not expire; issued tells a newer card of a node from an older
//     one (the reader decides what to do with an older one). Keys() lists
//     all the node's keys, oldest first, for verifying its signed objects.
//     ContentDigest and Changed compare cards by what they say, issued and
//     signature aside: a node re-signs its card each time it announces it
//     to its peers, and they tell "nothing new" from a change that way.
//
// Base64url is RFC 4648 section 5 without padding, decoded strictly (one
// spelling per value); tls_certificate is standard padded base64 (section 4),
// as certificates usually are.
//
// # Rotation (entraide_rotation 1)
//
//	{
//	  "entraide_rotation": 1,
//	  "identity_id": "identity--…",
//	  "old_key": "<base64url>",
//	  "new_key": "<base64url>",
//	  "effective": "2026-12-01T00:00:00Z",
//	  "sig_old": "<base64url>",   // by old_key: the change is authorised
//	  "sig_new": "<base64url>"    // by new_key: the node holds the new key
//	}
//
// Both signatures are over the RFC 8785 canonical form of the rotation
// without sig_old and sig_new. A peer accepts a rotation only against the key
// it has pinned for the node (ParseRotation): a replayed older rotation starts
// from a key the peer has since rotated away from, and is refused. The
// discriminating first members ("entraide_card", "entraide_rotation") are part
// of the signed bytes, so a signature over one kind of document cannot be
// passed off as the other.
//
// # Fingerprint
//
// Fingerprint is the first 160 bits of SHA-256("entraide-card-fingerprint-v1"
// || 0x00 || signing_key || SHA-256(SPKI)) in Crockford's base32 (no I, L, O,
// U), as 8 groups of 4: "WK8Z-2SR8-R493-3RW3-NKZP-HKHT-W4ZY-3MQX". It covers
// the two keys a peer pins; MatchFingerprint accepts what a person types back,
// whatever the case, spaces and hyphens.
package card
