// Package user holds what the node knows about its local people: password
// hashing (argon2id, PHC string format), bearer-token minting, and the check
// of a user's right on a collection. Users themselves are kept by the store.
package user

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/entraide/entraide/internal/store"
)

// Argon2id parameters: OWASP's recommended minimum (m=19 MiB, t=2, p=1) raised
// to 64 MiB, which a node's login rate can afford and which makes offline
// guessing of a stolen hash costlier.
const (
	argonTime    = 2
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
)

// ErrBadPassword is returned when a password does not match its hash.
var ErrBadPassword = errors.New("wrong user name or password")

// HashPassword returns the argon2id hash of pw in PHC string format:
// $argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>.
func HashPassword(pw string) (string, error) {
	if len(pw) < 12 {
		return "", fmt.Errorf("password too short: at least 12 characters")
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPassword checks pw against a PHC-format argon2id hash, in constant
// time with respect to the key. It returns ErrBadPassword on mismatch and
// another error for a malformed hash.
func VerifyPassword(hash, pw string) error {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return errors.New("password hash is not in argon2id PHC format")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return errors.New("unsupported argon2 version")
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 4*1024*1024 || t > 100 {
		return errors.New("bad argon2id parameters")
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return errors.New("bad argon2id salt")
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return errors.New("bad argon2id key")
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrBadPassword
	}
	return nil
}

// tokenPrefix marks Entraide tokens so that secret scanners recognise them.
const tokenPrefix = "etd_"

// NewToken mints a bearer token: the secret to give the user once, and the
// SHA-256 the store keeps. 32 random bytes make hashing without a salt safe.
func NewToken() (secret string, hash [32]byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", hash, err
	}
	secret = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashToken(secret), nil
}

// HashToken is the store key of a presented token.
func HashToken(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// NewPassword generates a random password for a user who was given none.
func NewPassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// CanRead reports whether u may read collection id.
func CanRead(u store.User, id string) bool {
	if u.Disabled {
		return false
	}
	return u.Admin || u.Permissions[id].Read
}

// CanWrite reports whether u may add objects to, or delete them from, collection id.
func CanWrite(u store.User, id string) bool {
	if u.Disabled {
		return false
	}
	return u.Admin || u.Permissions[id].Write
}
