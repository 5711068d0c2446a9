// Package node owns a node's data directory: what `entraide init` creates
// (identity, signing key, TLS certificate, database, default collection, admin
// user) and what every other command opens (configuration, store, keys).
//
// Layout of DIR:
//
//	node.json            the node's identity: name, organisation, country, STIX identity id
//	config.json          optional settings (see package config); mode 0600
//	keys/signing.key     Ed25519 private key (PKCS #8 PEM), mode 0600: signs what the node creates
//	tls/cert.pem         the user listener's certificate (self-signed unless replaced)
//	tls/key.pem          its private key, mode 0600
//	tls/fed-cert.pem     the federation certificate (server and client auth; peers pin its key)
//	tls/fed-key.pem      its private key, mode 0600
//	keys/signing-N.key   the node's N-th signing key, retired by a rotation (N = 1 is the identity's key)
//	keys/rotation-N.json the rotation statement from key N to key N+1, to send to peers
//	entraide.db          the embedded SQLite database (unless config.db points to PostgreSQL)
package node

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/config"
	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// Files inside the data directory.
const (
	IdentityFile = "node.json"
	SigningKey   = "keys/signing.key"
	TLSCert      = "tls/cert.pem"
	TLSKey       = "tls/key.pem"
	DBFile       = "entraide.db"
)

// DefaultCollectionAlias is the alias of the collection init creates.
const DefaultCollectionAlias = "default"

// identityNamespace is the UUIDv5 namespace from which a node's STIX identity
// id is derived from its Ed25519 public key, so that the id proves nothing by
// itself but can be recomputed by anyone holding the key.
var identityNamespace = [16]byte{0x6e, 0x74, 0x72, 0x61, 0x69, 0x64, 0x65, 0x2d, 0x6e, 0x6f, 0x64, 0x65, 0x2d, 0x69, 0x64, 0x31}

// Identity is what node.json holds.
type Identity struct {
	Name       string    `json:"name"`
	Org        string    `json:"organisation"`
	Country    string    `json:"country"`
	IdentityID string    `json:"identity_id"`
	Created    time.Time `json:"created"`
	// FedEndpoint is where peers reach the federation listener; nodes made
	// before it existed get DefaultFedEndpoint.
	FedEndpoint string         `json:"federation_endpoint,omitempty"`
	Contacts    []card.Contact `json:"points_of_contact,omitempty"`
	// Rotations are the node's key rotation statements, oldest first
	// (card.NewRotation); the identity stays that of the first key.
	Rotations []json.RawMessage `json:"rotations,omitempty"`
}

// Node is an opened data directory.
type Node struct {
	Dir      string
	Identity Identity
	Config   *config.Loaded
	Store    store.Store
	Signer   ed25519.PrivateKey // the current signing key
	Clock    clock.Clock

	// Keys are every signing key the node has had, oldest first (the last
	// is Signer's); Rotations the statements that link them.
	Keys      []ed25519.PublicKey
	Rotations []*card.Rotation
}

// Open opens the node in dir with its configuration (flags given as
// key → value, only those set) and its store.
func Open(ctx context.Context, dir string, getenv func(string) string, flags map[string]string, clk clock.Clock) (*Node, error) {
	id, err := ReadIdentity(dir)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(dir, getenv, flags)
	if err != nil {
		return nil, err
	}
	key, err := readSigningKey(filepath.Join(dir, SigningKey))
	if err != nil {
		return nil, err
	}
	key, keys, rots, err := loadKeys(dir, id, key)
	if err != nil {
		return nil, err
	}
	if clk == nil {
		clk = clock.System{}
	}
	if err := ensureFederation(dir, &id, clk.Now()); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, DBURL(dir, cfg.DB), clk)
	if err != nil {
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	return &Node{Dir: dir, Identity: id, Config: cfg, Store: st, Signer: key, Clock: clk, Keys: keys, Rotations: rots}, nil
}

// Close closes the node's store.
func (n *Node) Close() error { return n.Store.Close() }

// DBURL is the store URL for a node: the configured one, or the embedded file.
func DBURL(dir, configured string) string {
	if configured != "" {
		return configured
	}
	return filepath.Join(dir, DBFile)
}

// ReadIdentity reads DIR/node.json; its absence means dir is not a node.
func ReadIdentity(dir string) (Identity, error) {
	var id Identity
	b, err := os.ReadFile(filepath.Join(dir, IdentityFile))
	if errors.Is(err, os.ErrNotExist) {
		return id, fmt.Errorf("%s is not an Entraide node (no %s); create one with `entraide init --data %s …`", dir, IdentityFile, dir)
	}
	if err != nil {
		return id, err
	}
	if err := json.Unmarshal(b, &id); err != nil {
		return id, fmt.Errorf("%s: %v", filepath.Join(dir, IdentityFile), err)
	}
	return id, nil
}

// TLSConfig returns the user listener's TLS configuration: the node's
// certificate, TLS 1.2 at least (1.3 preferred by Go's defaults), and only
// AEAD cipher suites with forward secrecy for 1.2.
func (n *Node) TLSConfig() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(n.Dir, TLSCert), filepath.Join(n.Dir, TLSKey))
	if err != nil {
		return nil, fmt.Errorf("loading the TLS certificate: %w", err)
	}
	if leaf, err := x509.ParseCertificate(cert.Certificate[0]); err == nil {
		now := n.Clock.Now()
		if now.After(leaf.NotAfter) {
			return nil, fmt.Errorf("the TLS certificate %s expired on %s; replace it", filepath.Join(n.Dir, TLSCert), leaf.NotAfter.Format(time.DateOnly))
		}
	}
	return ServerTLS(cert), nil
}

// ServerTLS is the TLS policy of every listener of a node.
func ServerTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,
		},
	}
}

func readSigningKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return ek, nil
}

var (
	countryRE = regexp.MustCompile(`^[A-Z]{2}$`)
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

// ValidName checks a node name: lowercase letters, digits and hyphens, as it
// appears in URLs, peer lists and file names.
func ValidName(s string) error {
	if !nameRE.MatchString(s) {
		return fmt.Errorf("node name %q: use 1–63 lowercase letters, digits and hyphens, starting with a letter or digit (e.g. cert-fr)", s)
	}
	return nil
}

// ValidCountry checks an ISO 3166-1 alpha-2 code (upper case).
func ValidCountry(s string) error {
	if !countryRE.MatchString(s) {
		return fmt.Errorf("country %q: use the ISO 3166-1 alpha-2 code in capitals (e.g. FR, EE)", s)
	}
	return nil
}

// IdentityIDFor derives the STIX identity id of a node from its public key.
func IdentityIDFor(pub ed25519.PublicKey) string {
	return stix.DerivedID("identity", identityNamespace, pub)
}

func trimmed(s string) string { return strings.TrimSpace(s) }
