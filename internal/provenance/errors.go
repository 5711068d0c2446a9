package provenance

import (
	"errors"
	"fmt"
)

// reasonError is one of the reasons Verify refuses an object. The reasons are
// sentinels: callers test them with errors.Is and log Reason(err).
type reasonError struct{ code, msg string }

func (e *reasonError) Error() string { return "provenance: " + e.msg }

// The reasons an object is refused. Verify wraps one of them with the object's
// id and the detail: errors.Is(err, ErrBadSignature) holds for
// "provenance: bad signature: indicator--…: the signature does not match the content".
var (
	// ErrUnsigned: the object carries no Entraide signature extension.
	ErrUnsigned error = &reasonError{"unsigned", "not signed"}
	// ErrMalformedSignature: the extension is there but cannot be read (missing
	// or extra member, unknown alg, bad base64url, wrong sizes, bad timestamp),
	// or the object around it is not well-formed JSON.
	ErrMalformedSignature error = &reasonError{"malformed-signature", "malformed signature"}
	// ErrWrongAttribution: created_by_ref is missing or names another identity
	// than the signer.
	ErrWrongAttribution error = &reasonError{"wrong-attribution", "wrongly attributed"}
	// ErrUnknownSigner: the key resolver knows no keys for the signer.
	ErrUnknownSigner error = &reasonError{"unknown-signer", "unknown signer"}
	// ErrUnknownKey: the signer is known but the key named in the signature is
	// not one of its keys (never was, or was retired after a rotation).
	ErrUnknownKey error = &reasonError{"unknown-key", "key not held by the signer"}
	// ErrBadSignature: the signature does not verify: the content, the signer,
	// the key, the signing time or the signature itself was changed.
	ErrBadSignature error = &reasonError{"bad-signature", "bad signature"}
)

// Reason returns the short code of the reason err carries, for audit logs:
// "unsigned", "malformed-signature", "wrong-attribution", "unknown-signer",
// "unknown-key" or "bad-signature"; "" when err is none of them (a key
// resolver failure, for example, which says nothing about the object).
func Reason(err error) string {
	var r *reasonError
	if errors.As(err, &r) {
		return r.code
	}
	return ""
}

// refuse wraps a reason with the object's id and the detail.
func refuse(reason error, id string, format string, args ...any) error {
	if id == "" {
		id = "object"
	}
	return fmt.Errorf("%w: %s: %s", reason, id, fmt.Sprintf(format, args...))
}
