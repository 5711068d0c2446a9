package provenance

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/entraide/entraide/internal/stix"
)

// b64 is base64url without padding, strict: a string has exactly one spelling,
// so neither a key nor a signature can be re-spelt without changing the bytes
// of the object.
var b64 = base64.RawURLEncoding.Strict()

// Sign signs one STIX object as signer, the STIX identity id of the node that
// owns key (node.IdentityIDFor of its first key), at time now, and returns the
// signed object.
//
// raw must be a valid STIX 2.1 object (stix.Parse) that can carry
// created_by_ref and extensions: an SDO, an SRO, a marking-definition, a
// language-content or a custom object; not a cyber-observable, whose identity is
// its content and which is signed through the object that reports it, and not
// an extension-definition, which STIX forbids to carry extensions.
//
// Its created_by_ref must be signer, or absent: Sign then sets it to signer. An
// object that already carries an Entraide signature is re-signed when that
// signature names the same signer (its old signature is removed first), and
// refused otherwise: a node does not sign what another node created.
//
// The result is raw with white space removed (as stix.Object.Raw keeps it),
// created_by_ref appended when it was absent, and the signature appended as the
// last member of extensions (extensions appended when absent). Every other byte
// — property order, custom properties, other extensions, number spellings and
// string escapes — is kept as it was. The result passes stix.Parse and Verify.
func Sign(raw []byte, key ed25519.PrivateKey, signer string, now time.Time) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("provenance: sign: not an Ed25519 private key")
	}
	if typ, err := stix.ParseID(signer); err != nil || typ != "identity" {
		return nil, fmt.Errorf("provenance: sign: signer %q is not an identity id", signer)
	}
	o, err := stix.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("provenance: sign: %w", err)
	}
	if stix.KindOf(o.Type) == stix.KindSCO {
		return nil, fmt.Errorf("provenance: sign: %s: a cyber-observable carries no created_by_ref; sign the object that reports it (observed-data, indicator, …)", o.ID)
	}
	if o.Type == "extension-definition" {
		return nil, fmt.Errorf("provenance: sign: %s: an extension-definition may not carry extensions", o.ID)
	}
	if o.CreatedByRef != "" && o.CreatedByRef != signer {
		return nil, fmt.Errorf("%w: %s: created by %s, not by the signer %s; a node signs only what it creates", ErrWrongAttribution, o.ID, o.CreatedByRef, signer)
	}
	b := o.Raw // compact, order kept
	top, end, err := objectMembers(b, 0, make([]member, 0, 24))
	if err != nil || end != len(b) {
		return nil, fmt.Errorf("provenance: sign: %s: cannot read the object's members", o.ID)
	}
	pub := key.Public().(ed25519.PublicKey)
	entry := make([]byte, 0, 256)
	entry = append(entry, `"`+ExtensionID+`":{"extension_type":"property-extension","signer":"`...)
	entry = append(entry, signer...)
	entry = append(entry, `","key":"`...)
	entry = b64.AppendEncode(entry, pub)
	entry = append(entry, `","alg":"`+Alg+`","signed":"`...)
	entry = append(entry, stix.FormatTimestamp(now)...)
	entry = append(entry, `"}`...)

	out := make([]byte, 0, len(b)+len(entry)+len(signer)+160)
	var sigAt int // where `,"signature":"…"` goes: before the entry's '}'
	if x := find(top, "extensions"); x >= 0 {
		ext := top[x]
		exts, _, err := objectMembers(b, ext.vstart, nil)
		if err != nil {
			return nil, fmt.Errorf("provenance: sign: %s: cannot read extensions", o.ID)
		}
		rest := b[ext.vstart : ext.vend-1] // the extensions object without its '}'
		if k := find(exts, ExtensionID); k >= 0 {
			old, err := readSignature(b, exts[k])
			if err != nil {
				return nil, fmt.Errorf("provenance: sign: %s: the object carries an unreadable signature: %w", o.ID, err)
			}
			if old.signer != signer {
				return nil, fmt.Errorf("%w: %s: already signed by %s", ErrWrongAttribution, o.ID, old.signer)
			}
			from, to := cut(b, exts, k)
			rest = append(append(make([]byte, 0, len(rest)), b[ext.vstart:from]...), b[to:ext.vend-1]...)
			exts = exts[:len(exts)-1]
		}
		out = append(out, b[:ext.vstart]...)
		out = append(out, rest...)
		if len(exts) > 0 {
			out = append(out, ',')
		}
		out = append(out, entry...)
		sigAt = len(out) - 1
		out = append(out, '}')
		out = append(out, b[ext.vend:len(b)-1]...)
		if o.CreatedByRef == "" {
			out = appendCreatedBy(out, signer)
		}
	} else {
		out = append(out, b[:len(b)-1]...)
		if o.CreatedByRef == "" {
			out = appendCreatedBy(out, signer)
		}
		out = append(out, `,"extensions":{`...)
		out = append(out, entry...)
		sigAt = len(out) - 1
		out = append(out, '}')
	}
	out = append(out, '}')

	canon, err := canonicalForm(out)
	if err != nil {
		return nil, fmt.Errorf("provenance: sign: %s: %v", o.ID, err)
	}
	sig := ed25519.Sign(key, canon)
	tail := `,"signature":"` + b64.EncodeToString(sig) + `"`
	signed := make([]byte, 0, len(out)+len(tail))
	signed = append(signed, out[:sigAt]...)
	signed = append(signed, tail...)
	signed = append(signed, out[sigAt:]...)
	if _, err := stix.Parse(signed); err != nil {
		return nil, fmt.Errorf("provenance: sign: the signed object is not valid STIX: %w", err)
	}
	return signed, nil
}

func appendCreatedBy(b []byte, signer string) []byte {
	b = append(b, `,"created_by_ref":"`...)
	b = append(b, signer...)
	return append(b, '"')
}
