package stix

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
)

// NewID returns a fresh identifier "typ--UUIDv4" for an object the node creates.
func NewID(typ string) string { return typ + "--" + newUUIDv4() }

// NewUUID returns a random (version 4) UUID, as TAXII wants for collection and
// status ids.
func NewUUID() string { return newUUIDv4() }

func newUUIDv4() string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic("stix: no randomness: " + err.Error())
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

// DerivedID returns "typ--UUIDv5(namespace, name)": the same inputs always give
// the same id, which is how a node's identity is derived from its public key
// and how STIX derives cyber-observable ids from their contents.
func DerivedID(typ string, namespace [16]byte, name []byte) string {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write(name)
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return typ + "--" + formatUUID(u)
}

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
