package provenance

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/entraide/entraide/internal/stix"
)

// KeyResolver tells Verify which keys a signer signs with.
//
// SigningKeys returns every Ed25519 public key that signer (a STIX identity
// id) is trusted to sign with: after a key rotation, both the old key and the
// new one, until the operator retires the old key (objects signed before the
// rotation keep verifying as long as it stays listed). Verify uses the key
// named in the signature, and only if it is in this list; it never tries the
// keys one by one.
//
// A signer the resolver does not know yields no keys and a nil error, or an
// error that wraps ErrUnknownSigner. Any other error (a store that cannot be
// read) says nothing about the object: Verify returns it wrapped, without a
// reason, and the caller should retry rather than refuse the object.
//
// SigningKeys is called once per Verify, on the receive path: it must be fast
// and safe for concurrent use.
type KeyResolver interface {
	SigningKeys(signer string) ([]ed25519.PublicKey, error)
}

// Keys is a KeyResolver from a map of identity id to keys.
type Keys map[string][]ed25519.PublicKey

// SigningKeys implements KeyResolver.
func (k Keys) SigningKeys(signer string) ([]ed25519.PublicKey, error) { return k[signer], nil }

// Result is what a verified signature proves.
type Result struct {
	Signer string            // the STIX identity id that signed (= created_by_ref)
	Key    ed25519.PublicKey // the key that verified
	Signed time.Time         // the signing time the signer stated (covered by the signature)
}

// Verify checks the Entraide signature of one STIX object, given as the exact
// bytes received, and returns who signed it with which key.
//
// Verify checks only the signature (see the wire contract in the package
// documentation): it does not validate the object as STIX. Callers verify and
// then stix.Parse the same bytes, and store those bytes. A refusal wraps
// exactly one of ErrUnsigned, ErrMalformedSignature, ErrWrongAttribution,
// ErrUnknownSigner, ErrUnknownKey or ErrBadSignature. Verify does not judge the
// signing time (a clock-free check); Result.Signed is there for the caller's
// policy.
func Verify(raw []byte, keys KeyResolver) (Result, error) {
	var tops [24]member
	i := skipSpace(raw, 0)
	top, end, err := objectMembers(raw, i, tops[:0])
	if err != nil {
		return Result{}, refuse(ErrMalformedSignature, "", "the object is not well-formed JSON")
	}
	id := ""
	if k := find(top, "id"); k >= 0 {
		id, _ = stringValue(raw, top[k])
	}
	if skipSpace(raw, end) != len(raw) {
		return Result{}, refuse(ErrMalformedSignature, id, "data after the object")
	}
	x := find(top, "extensions")
	if x < 0 {
		return Result{}, refuse(ErrUnsigned, id, "no extensions")
	}
	var extScratch [4]member
	exts, _, err := objectMembers(raw, top[x].vstart, extScratch[:0])
	if err != nil {
		return Result{}, refuse(ErrMalformedSignature, id, "extensions is not an object")
	}
	k := find(exts, ExtensionID)
	if k < 0 {
		return Result{}, refuse(ErrUnsigned, id, "no %s extension", ExtensionID)
	}
	s, err := readSignature(raw, exts[k])
	if err != nil {
		return Result{}, refuse(ErrMalformedSignature, id, "%v", err)
	}
	c := find(top, "created_by_ref")
	if c < 0 {
		return Result{}, refuse(ErrWrongAttribution, id, "no created_by_ref, signed by %s", s.signer)
	}
	if by, ok := stringValue(raw, top[c]); !ok || by != s.signer {
		return Result{}, refuse(ErrWrongAttribution, id, "created_by_ref %s, signed by %s", raw[top[c].vstart:top[c].vend], s.signer)
	}
	pubs, err := keys.SigningKeys(s.signer)
	if err != nil {
		if errors.Is(err, ErrUnknownSigner) {
			return Result{}, refuse(ErrUnknownSigner, id, "%s: %v", s.signer, err)
		}
		return Result{}, fmt.Errorf("provenance: %s: resolving the keys of %s: %w", id, s.signer, err)
	}
	if len(pubs) == 0 {
		return Result{}, refuse(ErrUnknownSigner, id, "no keys known for %s", s.signer)
	}
	var pub ed25519.PublicKey
	for _, p := range pubs {
		if p.Equal(s.key) {
			pub = p
			break
		}
	}
	if pub == nil {
		return Result{}, refuse(ErrUnknownKey, id, "%s does not sign with key %s", s.signer, b64.EncodeToString(s.key))
	}
	// The signed bytes: the object without the signature member.
	from, to := cut(raw, s.members, s.sigIndex)
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.unsigned = append(append(sc.unsigned[:0], raw[:from]...), raw[to:]...)
	canon, err := sc.c.canonical(sc.unsigned, sc.canon[:0])
	if err != nil {
		return Result{}, refuse(ErrMalformedSignature, id, "%v", err)
	}
	sc.canon = canon
	if !ed25519.Verify(pub, canon, s.sig) {
		return Result{}, refuse(ErrBadSignature, id, "the signature of %s does not match the content", s.signer)
	}
	return Result{Signer: s.signer, Key: pub, Signed: s.signed}, nil
}

// signature is the content of the extension, decoded.
type signature struct {
	signer   string
	key      ed25519.PublicKey
	signed   time.Time
	sig      []byte
	members  []member // the extension's members
	sigIndex int      // the signature member among them
}

// extensionMembers are the members of version 1.0, in the order Sign writes
// them. The extension has exactly these.
var extensionMembers = [...]string{"extension_type", "signer", "key", "alg", "signed", "signature"}

// readSignature decodes our extension, m being its member in extensions.
func readSignature(b []byte, m member) (*signature, error) {
	ms, _, err := objectMembers(b, m.vstart, make([]member, 0, len(extensionMembers)))
	if err != nil {
		return nil, errors.New("the extension is not an object")
	}
	var vals [len(extensionMembers)]string
	var seen [len(extensionMembers)]bool
	s := &signature{members: ms, sigIndex: -1}
	for i, mm := range ms {
		j := 0
		for j < len(extensionMembers) && extensionMembers[j] != mm.name {
			j++
		}
		if j == len(extensionMembers) {
			return nil, fmt.Errorf("unknown member %q in the extension", mm.name)
		}
		if seen[j] {
			return nil, fmt.Errorf("duplicate member %q in the extension", mm.name)
		}
		seen[j] = true
		v, ok := stringValue(b, mm)
		if !ok {
			return nil, fmt.Errorf("%s must be a string", mm.name)
		}
		vals[j] = v
		if j == 5 {
			s.sigIndex = i
			// The signature is not covered by itself: it has one spelling,
			// or copies of one object could differ in their stored bytes.
			if hasEscape(b[mm.vstart:mm.vend]) {
				return nil, errors.New("signature must be plain base64url, without escapes")
			}
		}
	}
	for j, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("%s is missing from the extension", extensionMembers[j])
		}
	}
	if vals[0] != "property-extension" {
		return nil, fmt.Errorf("extension_type %q, want property-extension", vals[0])
	}
	if typ, err := stix.ParseID(vals[1]); err != nil || typ != "identity" {
		return nil, fmt.Errorf("signer %q is not an identity id", vals[1])
	}
	s.signer = vals[1]
	key, err := b64.DecodeString(vals[2])
	if err != nil || len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("key %q is not a base64url Ed25519 public key", vals[2])
	}
	s.key = key
	if vals[3] != Alg {
		return nil, fmt.Errorf("alg %q is not supported (want %s)", vals[3], Alg)
	}
	if s.signed, err = stix.ParseTimestamp(vals[4]); err != nil {
		return nil, fmt.Errorf("signed: %v", err)
	}
	sig, err := b64.DecodeString(vals[5])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, errors.New("signature is not a base64url Ed25519 signature")
	}
	s.sig = sig
	return s, nil
}
