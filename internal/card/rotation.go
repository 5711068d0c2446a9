package card

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/entraide/entraide/internal/stix"
)

// maxRotationSize bounds a rotation statement (they are about 500 bytes).
const maxRotationSize = 4 << 10

// RotationVersion is the rotation format version, the value of entraide_rotation.
const RotationVersion = 1

// ErrNotPinned is wrapped by ParseRotation's error when the rotation starts
// from another key than the one pinned: a replay of an older rotation, or a
// rotation of another node.
var ErrNotPinned = errors.New("old_key is not the pinned key")

// Rotation is a node's statement that it replaces its signing key OldKey by
// NewKey from Effective on. Both keys sign it: the old one authorises the
// change, the new one proves that the node holds it. The node's identity does
// not change: it stays derived from the node's first key.
type Rotation struct {
	IdentityID string
	OldKey     ed25519.PublicKey
	NewKey     ed25519.PublicKey
	Effective  time.Time

	// Raw is the signed statement, as NewRotation wrote it or ParseRotation read it.
	Raw []byte
}

type wireRotation struct {
	Version    int    `json:"entraide_rotation"`
	IdentityID string `json:"identity_id"`
	OldKey     string `json:"old_key"`
	NewKey     string `json:"new_key"`
	Effective  string `json:"effective"`
	SigOld     string `json:"sig_old,omitempty"`
	SigNew     string `json:"sig_new,omitempty"`
}

var rotationFields = jsonNames(wireRotation{})

func rotationErr(field, format string, args ...any) error {
	return &Error{Doc: "rotation", Field: field, Err: fmt.Errorf(format, args...)}
}

// NewRotation returns the signed statement that the node identityID replaces
// old by new from effective on, as indented JSON. Peers accept it with
// ParseRotation against the key they pinned, and the node's next cards carry
// it in their rotations.
func NewRotation(old, new ed25519.PrivateKey, identityID string, effective time.Time) ([]byte, error) {
	if len(old) != ed25519.PrivateKeySize || len(new) != ed25519.PrivateKeySize {
		return nil, errors.New("rotation: not Ed25519 private keys")
	}
	oldPub, newPub := old.Public().(ed25519.PublicKey), new.Public().(ed25519.PublicKey)
	if oldPub.Equal(newPub) {
		return nil, errors.New("rotation: the new key is the old key")
	}
	if typ, err := stix.ParseID(identityID); err != nil || typ != "identity" {
		return nil, fmt.Errorf("rotation: %q is not a STIX identity id", identityID)
	}
	if effective.IsZero() {
		return nil, errors.New("rotation: no effective time")
	}
	w := &wireRotation{
		Version:    RotationVersion,
		IdentityID: identityID,
		OldKey:     b64.EncodeToString(oldPub),
		NewKey:     b64.EncodeToString(newPub),
		Effective:  formatTime(effective),
	}
	msg, err := canonicalWithout(encode(w, false), "sig_old", "sig_new")
	if err != nil {
		return nil, fmt.Errorf("rotation: %v", err)
	}
	w.SigOld = b64.EncodeToString(ed25519.Sign(old, msg))
	w.SigNew = b64.EncodeToString(ed25519.Sign(new, msg))
	return encode(w, true), nil
}

// ParseRotation reads a rotation statement and accepts it only if it starts
// from pinned, the key the reader holds for the node, and both signatures
// verify. A replayed older rotation (whose old_key the reader has already
// rotated away from) fails the pin and wraps ErrNotPinned; a bad signature
// wraps ErrBadSignature. The caller then pins NewKey for the node — keeping
// OldKey among its keys for objects signed before Effective, if its policy
// says so.
func ParseRotation(b []byte, pinned ed25519.PublicKey) (*Rotation, error) {
	if len(pinned) != ed25519.PublicKeySize {
		return nil, errors.New("rotation: no pinned key to check the rotation against")
	}
	return parseRotation(b, pinned)
}

// parseRotation is ParseRotation; a nil pinned skips the pin check (the first
// rotation of a card's chain, which the card checks against its identity).
func parseRotation(b []byte, pinned ed25519.PublicKey) (*Rotation, error) {
	if len(b) > maxRotationSize {
		return nil, rotationErr("", "%d bytes, more than the %d a rotation may have", len(b), maxRotationSize)
	}
	if _, err := strictObject(b, rotationFields); err != nil {
		return nil, &Error{Doc: "rotation", Err: err}
	}
	var w wireRotation
	if err := decodeStrict(b, &w); err != nil {
		return nil, &Error{Doc: "rotation", Err: err}
	}
	if w.Version != RotationVersion {
		return nil, rotationErr("entraide_rotation", "version %d, want %d", w.Version, RotationVersion)
	}
	r := &Rotation{IdentityID: w.IdentityID}
	if typ, err := stix.ParseID(w.IdentityID); err != nil || typ != "identity" {
		return nil, rotationErr("identity_id", "%q is not a STIX identity id", w.IdentityID)
	}
	var err error
	if r.OldKey, err = decodeKey(w.OldKey); err != nil {
		return nil, rotationErr("old_key", "%v", err)
	}
	if r.NewKey, err = decodeKey(w.NewKey); err != nil {
		return nil, rotationErr("new_key", "%v", err)
	}
	if r.OldKey.Equal(r.NewKey) {
		return nil, rotationErr("new_key", "the same key as old_key")
	}
	if w.Effective == "" {
		return nil, rotationErr("effective", "missing")
	}
	if r.Effective, err = stix.ParseTimestamp(w.Effective); err != nil {
		return nil, rotationErr("effective", "%v", err)
	}
	if pinned != nil && !r.OldKey.Equal(pinned) {
		return nil, &Error{Doc: "rotation", Field: "old_key", Err: fmt.Errorf("%w (%s): an older rotation replayed, or another node's", ErrNotPinned, w.OldKey)}
	}
	msg, err := canonicalWithout(b, "sig_old", "sig_new")
	if err != nil {
		return nil, &Error{Doc: "rotation", Err: err}
	}
	for _, s := range []struct {
		field, val string
		key        ed25519.PublicKey
		who        string
	}{{"sig_old", w.SigOld, r.OldKey, "old_key"}, {"sig_new", w.SigNew, r.NewKey, "new_key"}} {
		if s.val == "" {
			return nil, rotationErr(s.field, "missing: a rotation is signed by both keys")
		}
		sig, err := b64.DecodeString(s.val)
		if err != nil || len(sig) != ed25519.SignatureSize {
			return nil, rotationErr(s.field, "not a base64url Ed25519 signature")
		}
		if !ed25519.Verify(s.key, msg, sig) {
			return nil, &Error{Doc: "rotation", Field: s.field, Err: fmt.Errorf("%w: not a signature of %s over this rotation", ErrBadSignature, s.who)}
		}
	}
	r.Raw = bytes.Clone(b)
	return r, nil
}
