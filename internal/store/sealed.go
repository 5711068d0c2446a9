package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/entraide/entraide/internal/stix"
)

// Sealer encrypts TLP:RED objects at rest. The store calls Seal when it
// writes a RED version (AddOptions.Sealer) and never calls Open: reads hand
// back the sealed bytes (Entry.Ciphertext, OutboxRow.Ciphertext), and only
// the caller that decided to show or send the object opens them, with
// OpenEntry or OpenOutboxRow. A database, a dump or a replica therefore
// holds no RED plaintext, and no listing can leak one by forgetting a check.
//
// aad binds the sealed bytes to their row (SealAAD): sealed bytes copied to
// another object or version do not open. Implementations must be safe for
// concurrent use; NewSealer is the one the node uses.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// SealAAD is the additional data of the sealed bytes of one object version:
// its id and its version as stored, which a listing returns beside them.
func SealAAD(id, version string) []byte {
	b := make([]byte, 0, len("entraide-red-v1\x00")+len(id)+1+len(version))
	b = append(b, "entraide-red-v1\x00"...)
	b = append(b, id...)
	b = append(b, 0)
	return append(b, version...)
}

// DataKeySize is the size of a data key: AES-256.
const DataKeySize = 32

type gcmSealer struct {
	aead   cipher.AEAD
	random io.Reader
}

// NewSealer returns AES-256-GCM under key (DataKeySize bytes): sealed bytes
// are a random 96-bit nonce followed by the ciphertext and its tag. random
// is the source of nonces (nil: crypto/rand). A random nonce per row keeps
// the probability of a repeat negligible below 2³² rows per key.
func NewSealer(key []byte, random io.Reader) (Sealer, error) {
	if len(key) != DataKeySize {
		return nil, fmt.Errorf("store: a data key has %d bytes, not %d", DataKeySize, len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	if random == nil {
		random = rand.Reader
	}
	return &gcmSealer{aead: aead, random: random}, nil
}

func (g *gcmSealer) Seal(plaintext, aad []byte) ([]byte, error) {
	ns := g.aead.NonceSize()
	out := make([]byte, ns, ns+len(plaintext)+g.aead.Overhead())
	if _, err := io.ReadFull(g.random, out); err != nil {
		return nil, fmt.Errorf("store: sealing: nonce: %w", err)
	}
	return g.aead.Seal(out, out[:ns], plaintext, aad), nil
}

// ErrUnseal says sealed bytes did not open: the wrong key, or bytes that
// were altered or moved to another row.
var ErrUnseal = errors.New("store: sealed object does not open with this key")

func (g *gcmSealer) Open(sealed, aad []byte) ([]byte, error) {
	ns := g.aead.NonceSize()
	if len(sealed) < ns+g.aead.Overhead() {
		return nil, ErrUnseal
	}
	pt, err := g.aead.Open(nil, sealed[:ns], sealed[ns:], aad)
	if err != nil {
		return nil, ErrUnseal
	}
	return pt, nil
}

// sealRaw is what insertObjects writes for a new version: its exact bytes,
// or, with a sealer and a TLP:RED marking, its sealed bytes.
func sealRaw(s Sealer, o *stix.Object, version string) (raw []byte, sealed bool, err error) {
	if s == nil {
		return o.Raw, false, nil
	}
	if t, ok := o.TLP(); !ok || t != stix.TLPRed {
		return o.Raw, false, nil
	}
	b, err := s.Seal(o.Raw, SealAAD(o.ID, version))
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// OpenEntry returns the object of an entry listed with bodies: Raw, or
// Ciphertext opened with s. It is the one way to read a sealed object; call
// it only once the policy has allowed the object to the reader.
func OpenEntry(s Sealer, e Entry) ([]byte, error) {
	if !e.Sealed {
		return e.Raw, nil
	}
	return openSealed(s, e.ID, e.Version, e.Ciphertext)
}

// OpenOutboxRow is OpenEntry for a row of the outbox.
func OpenOutboxRow(s Sealer, r OutboxRow) ([]byte, error) {
	if !r.Sealed {
		return r.Raw, nil
	}
	return openSealed(s, r.ID, r.Version, r.Ciphertext)
}

func openSealed(s Sealer, id, version string, ct []byte) ([]byte, error) {
	switch {
	case s == nil:
		return nil, fmt.Errorf("%s: %w: sealed at rest and no data key given", id, ErrUnseal)
	case ct == nil:
		return nil, fmt.Errorf("%s: sealed bytes not listed (list with bodies)", id)
	}
	pt, err := s.Open(ct, SealAAD(id, version))
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", id, version, err)
	}
	return pt, nil
}

// WithSealer returns st with s as the default sealer of its writes:
// AddObjects, and AddObjectsWith when opt.Sealer is nil, seal TLP:RED
// versions. Give it to the components that write what users or peers send
// (the TAXII server, import) so that RED never reaches the disk in clear.
// Reads are unchanged: they never decrypt.
func WithSealer(st Store, s Sealer) Store {
	if s == nil {
		return st
	}
	return sealingStore{st, s}
}

type sealingStore struct {
	Store
	s Sealer
}

func (w sealingStore) AddObjects(ctx context.Context, collection string, objs []*stix.Object) ([]AddResult, error) {
	return w.Store.AddObjectsWith(ctx, collection, objs, AddOptions{Sealer: w.s})
}

func (w sealingStore) AddObjectsWith(ctx context.Context, collection string, objs []*stix.Object, opt AddOptions) ([]AddResult, error) {
	if opt.Sealer == nil {
		opt.Sealer = w.s
	}
	return w.Store.AddObjectsWith(ctx, collection, objs, opt)
}
