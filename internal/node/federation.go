package node

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/peer"
)

// Files of the federation inside the data directory.
const (
	FedTLSCert = "tls/fed-cert.pem" // the federation listener's and client's certificate (self-signed; pinned by peers)
	FedTLSKey  = "tls/fed-key.pem"  // its private key, mode 0600
	// nextSigningKey is the new key during a rotation, renamed over
	// SigningKey once node.json records the rotation.
	nextSigningKey = "keys/signing.key.next"
)

// DefaultFedEndpoint is the federation endpoint of a node created without
// --fed-endpoint.
const DefaultFedEndpoint = "https://127.0.0.1:8444/"

// fedTLSValidity is how long the federation certificate lasts. Peers pin its
// key, not the certificate, so a long life costs nothing and a renewal
// (same key) needs no new cards.
const fedTLSValidity = 10 * 365 * 24 * time.Hour

// RetiredKey is the file of the node's n-th signing key (1 is its first)
// once a rotation replaced it; kept to prove the node held it.
func RetiredKey(n int) string { return fmt.Sprintf("keys/signing-%d.key", n) }

// RotationFile is the file of the node's n-th rotation statement (from key
// n to key n+1), to send to peers.
func RotationFile(n int) string { return fmt.Sprintf("keys/rotation-%d.json", n) }

// ParseContact reads a point of contact as the --poc flag gives it:
// "role=csirt-24x7,name=Duty desk,email=cert@example.org,phone=+33 1 23 45 67 89".
// A comma not followed by one of the keys belongs to the value before it
// ("name=Duty desk, CERT-FR"). The card's rules (card.Parse) are checked
// when the node's card is built.
func ParseContact(s string) (card.Contact, error) {
	var c card.Contact
	fields := map[string]*string{"role": &c.Role, "name": &c.Name, "email": &c.Email, "phone": &c.Phone}
	var cur *string
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if dst, known := fields[strings.TrimSpace(k)]; ok && known {
			k = strings.TrimSpace(k)
			if seen[k] {
				return c, fmt.Errorf("point of contact %q: %s given twice", s, k)
			}
			seen[k] = true
			cur = dst
			*cur = strings.TrimSpace(v)
			continue
		}
		if cur == nil {
			return c, fmt.Errorf("point of contact %q: want role=…,name=…,email=…,phone=… (keys role, name, email, phone)", s)
		}
		*cur += "," + strings.TrimRight(part, " ")
	}
	if c.Role == "" || c.Name == "" {
		return c, fmt.Errorf("point of contact %q: role and name are required (e.g. role=csirt-24x7,name=Duty desk,email=cert@example.org)", s)
	}
	if c.Email == "" && c.Phone == "" {
		return c, fmt.Errorf("point of contact %q: give an email or a phone, or both", s)
	}
	return c, nil
}

// checkCardFields checks that a card can be made of the node's identity,
// endpoint and contacts (the card's own rules), with a throwaway key.
func checkCardFields(id Identity, spki string) error {
	c := &card.Card{
		Name: id.Name, Organisation: id.Org, Country: id.Country, FederationEndpoint: id.FedEndpoint,
		TLSSPKISHA256: spki, PointsOfContact: id.Contacts, Issued: time.Unix(0, 0),
	}
	if len(c.PointsOfContact) == 0 { // allowed until a card is exported
		c.PointsOfContact = []card.Contact{{Role: "check", Name: "check", Email: "check@example.org"}}
	}
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	if _, err := c.Sign(k); err != nil {
		var ce *card.Error
		if errors.As(err, &ce) {
			switch {
			case ce.Field == "federation_endpoint":
				return fmt.Errorf("--fed-endpoint: %v", ce.Err)
			case strings.HasPrefix(ce.Field, "points_of_contact["):
				return fmt.Errorf("--poc %s: %v", strings.TrimPrefix(ce.Field, "points_of_contact"), ce.Err)
			}
		}
		return err
	}
	return nil
}

// writeFedTLS creates the federation key and its self-signed certificate,
// for server and client authentication, valid for localhost, 127.0.0.1, ::1,
// the endpoint's host and hosts. It returns the certificate's SPKI hash.
func writeFedTLS(dir, name, org, country, endpoint string, hosts []string, now time.Time) (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name + " federation", Organization: []string{org}, Country: []string{country}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(fedTLSValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if u, err := url.Parse(endpoint); err == nil && u.Hostname() != "" {
		hosts = append([]string{u.Hostname()}, hosts...)
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(tmpl.IPAddresses, ip.Equal) {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if h != "" && !slices.Contains(tmpl.DNSNames, h) {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	if err := writeFile(filepath.Join(dir, FedTLSKey), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return "", err
	}
	if err := writeFile(filepath.Join(dir, FedTLSCert), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		os.Remove(filepath.Join(dir, FedTLSKey))
		return "", err
	}
	leaf, _ := x509.ParseCertificate(der)
	return card.SPKIHash(leaf), nil
}

// ensureFederation brings a node created before the federation existed up
// to date: a federation key and certificate (for the host names of the user
// listener's certificate), and the default endpoint.
func ensureFederation(dir string, id *Identity, now time.Time) error {
	if id.FedEndpoint == "" {
		id.FedEndpoint = DefaultFedEndpoint
	}
	if _, err := os.Stat(filepath.Join(dir, FedTLSKey)); err == nil {
		return nil
	}
	var hosts []string
	if b, err := os.ReadFile(filepath.Join(dir, TLSCert)); err == nil {
		if blk, _ := pem.Decode(b); blk != nil {
			if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
				hosts = append(hosts, c.DNSNames...)
				for _, ip := range c.IPAddresses {
					hosts = append(hosts, ip.String())
				}
			}
		}
	}
	os.Remove(filepath.Join(dir, FedTLSCert)) // a certificate without its key is useless
	_, err := writeFedTLS(dir, id.Name, id.Org, id.Country, id.FedEndpoint, hosts, now)
	if err != nil {
		return fmt.Errorf("creating the federation TLS key: %w", err)
	}
	return nil
}

// loadKeys reads the rotation chain of node.json and checks it against the
// keys on disk: the node's first key (its identity's), then each rotation's
// new key, the last being the current signing key. It finishes a rotation
// that was interrupted after node.json recorded it.
func loadKeys(dir string, id Identity, current ed25519.PrivateKey) (ed25519.PrivateKey, []ed25519.PublicKey, []*card.Rotation, error) {
	if len(id.Rotations) == 0 {
		pub := current.Public().(ed25519.PublicKey)
		if IdentityIDFor(pub) != id.IdentityID {
			return nil, nil, nil, fmt.Errorf("%s: the signing key is not the key of identity %s (node.json records no rotation)",
				filepath.Join(dir, SigningKey), id.IdentityID)
		}
		return current, []ed25519.PublicKey{pub}, nil, nil
	}
	first, err := readSigningKey(filepath.Join(dir, RetiredKey(1)))
	if err != nil {
		return nil, nil, nil, err
	}
	pinned := first.Public().(ed25519.PublicKey)
	if IdentityIDFor(pinned) != id.IdentityID {
		return nil, nil, nil, fmt.Errorf("%s is not the first key of identity %s", RetiredKey(1), id.IdentityID)
	}
	keys := []ed25519.PublicKey{pinned}
	var rots []*card.Rotation
	for i, raw := range id.Rotations {
		r, err := card.ParseRotation(raw, pinned)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("node.json: rotation %d: %w", i+1, err)
		}
		rots = append(rots, r)
		pinned = r.NewKey
		keys = append(keys, pinned)
	}
	if !current.Public().(ed25519.PublicKey).Equal(pinned) {
		next, err := readSigningKey(filepath.Join(dir, nextSigningKey))
		if err != nil || !next.Public().(ed25519.PublicKey).Equal(pinned) {
			return nil, nil, nil, fmt.Errorf("%s is not the key node.json's last rotation leads to", filepath.Join(dir, SigningKey))
		}
		if err := os.Rename(filepath.Join(dir, nextSigningKey), filepath.Join(dir, SigningKey)); err != nil {
			return nil, nil, nil, fmt.Errorf("finishing an interrupted key rotation: %w", err)
		}
		current = next
	}
	return current, keys, rots, nil
}

// writeIdentity replaces node.json atomically.
func writeIdentity(dir string, id Identity) error {
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, IdentityFile+".tmp")
	os.Remove(tmp)
	if err := writeFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, IdentityFile))
}

// loadFedCert reads the federation certificate and key.
func (n *Node) loadFedCert() (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(n.Dir, FedTLSCert), filepath.Join(n.Dir, FedTLSKey))
	if err != nil {
		return cert, fmt.Errorf("loading the federation TLS certificate: %w", err)
	}
	return cert, nil // Leaf is set by LoadX509KeyPair
}

// FedTLSCertificate returns the federation certificate, for the federation
// listener (peer.ServerTLS) and for connections to peers (peer.ClientTLS).
// An expired certificate is an error: renew it with the same key.
func (n *Node) FedTLSCertificate() (tls.Certificate, error) {
	cert, err := n.loadFedCert()
	if err != nil {
		return cert, err
	}
	if now := n.Clock.Now(); now.After(cert.Leaf.NotAfter) {
		return cert, fmt.Errorf("the federation certificate %s expired on %s; renew it with the same key",
			filepath.Join(n.Dir, FedTLSCert), cert.Leaf.NotAfter.Format(time.DateOnly))
	}
	return cert, nil
}

// Card builds and signs the node's card (package card): identity,
// organisation, country, federation endpoint, current signing key and the
// rotation chain that leads to it from the first, the federation
// certificate and its SPKI hash, and the points of contact; issued now.
func (n *Node) Card() ([]byte, error) {
	if len(n.Identity.Contacts) == 0 {
		return nil, errors.New("the node has no point of contact, and a card needs one: give " +
			"--poc role=csirt-24x7,name=…,email=…,phone=… (the node keeps it)")
	}
	cert, err := n.loadFedCert()
	if err != nil {
		return nil, err
	}
	c := &card.Card{
		Name: n.Identity.Name, Organisation: n.Identity.Org, Country: n.Identity.Country, IdentityID: n.Identity.IdentityID,
		FederationEndpoint: n.Identity.FedEndpoint, TLSSPKISHA256: card.SPKIHash(cert.Leaf), TLSCertificate: cert.Leaf.Raw,
		PointsOfContact: n.Identity.Contacts, Issued: n.Clock.Now().UTC().Truncate(time.Second), Rotations: n.Rotations,
	}
	return c.Sign(n.Signer)
}

// SetContacts replaces the node's points of contact (in node.json); they
// must satisfy the card's rules.
func (n *Node) SetContacts(contacts []card.Contact) error {
	id := n.Identity
	id.Contacts = slices.Clone(contacts)
	cert, err := n.loadFedCert()
	if err != nil {
		return err
	}
	if err := checkCardFields(id, card.SPKIHash(cert.Leaf)); err != nil {
		return err
	}
	if err := writeIdentity(n.Dir, id); err != nil {
		return err
	}
	n.Identity = id
	return nil
}

// Self is the node as its peer registry knows it.
func (n *Node) Self() peer.Self {
	return peer.Self{IdentityID: n.Identity.IdentityID, Keys: slices.Clone(n.Keys)}
}

// Registry returns a registry of the node's peers over its store.
func (n *Node) Registry() *peer.Registry {
	return peer.NewRegistry(n.Store, n.Self(), n.Clock)
}

// RotateKey replaces the node's signing key by a new one, effective now: the
// old key is kept as RetiredKey(k) (its k-th key), the rotation statement,
// signed by both keys, is written to RotationFile(k) and recorded in
// node.json, and the node signs with the new key from then on. Its identity
// does not change; its card carries the rotation chain. It returns the
// statement and the path of its file, to send to every peer (`entraide peer
// rotate`), or over the federation.
func (n *Node) RotateKey() (rotation []byte, path string, err error) {
	k := len(n.Rotations) + 1
	_, next, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", err
	}
	now := n.Clock.Now().UTC()
	rot, err := card.NewRotation(n.Signer, next, n.Identity.IdentityID, now)
	if err != nil {
		return nil, "", err
	}
	parsed, err := card.ParseRotation(rot, n.Signer.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, "", err
	}
	retired := filepath.Join(n.Dir, RetiredKey(k))
	if err := writeKey(retired, n.Signer); err != nil {
		if !errors.Is(err, os.ErrExist) {
			return nil, "", err
		}
		// Left by an interrupted rotation: it must be this very key.
		if old, rerr := readSigningKey(retired); rerr != nil || !old.Equal(n.Signer) {
			return nil, "", fmt.Errorf("%s exists and is not the current key: the key directory is inconsistent", retired)
		}
	}
	nextPath := filepath.Join(n.Dir, nextSigningKey)
	os.Remove(nextPath)
	if err := writeKey(nextPath, next); err != nil {
		return nil, "", err
	}
	path = filepath.Join(n.Dir, RotationFile(k))
	os.Remove(path)
	if err := writeFile(path, rot, 0o644); err != nil {
		return nil, "", err
	}
	id := n.Identity
	id.Rotations = append(slices.Clone(id.Rotations), json.RawMessage(compact(rot)))
	if err := writeIdentity(n.Dir, id); err != nil {
		return nil, "", err
	}
	// From here on the rotation is recorded; Open finishes it if this rename fails.
	if err := os.Rename(nextPath, filepath.Join(n.Dir, SigningKey)); err != nil {
		return nil, "", err
	}
	n.Identity, n.Signer = id, next
	n.Keys = append(slices.Clone(n.Keys), next.Public().(ed25519.PublicKey))
	n.Rotations = append(slices.Clone(n.Rotations), parsed)
	return rot, path, nil
}

func compact(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return b
	}
	return out.Bytes()
}

// writeKey writes an Ed25519 private key as PKCS #8 PEM, mode 0600, never
// replacing a file.
func writeKey(path string, key ed25519.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}
