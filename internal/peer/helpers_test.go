package peer_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/clock"
	"github.com/entraide/entraide/internal/peer"
	"github.com/entraide/entraide/internal/store"
)

var start = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// testNode is a node as its partners see it: keys, federation certificate
// and card; and, for tests that serve, its own store and registry.
type testNode struct {
	name, country string
	keys          []ed25519.PrivateKey // oldest first; the last signs
	rotations     []*card.Rotation
	cert          tls.Certificate
	clk           *clock.Fake
	st            store.Store
	reg           *peer.Registry
}

func newNode(t *testing.T, name, country string) *testNode {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n := &testNode{name: name, country: country, keys: []ed25519.PrivateKey{k}, clk: clock.NewFake(start)}
	n.cert = newCert(t, name, start.Add(-time.Hour), start.Add(365*24*time.Hour))
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "entraide.db"), n.clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n.st = st
	n.reg = peer.NewRegistry(st, n.self(), n.clk)
	return n
}

func (n *testNode) id() string { return card.IdentityIDFor(n.keys[0].Public().(ed25519.PublicKey)) }

func (n *testNode) self() peer.Self {
	s := peer.Self{IdentityID: n.id()}
	for _, k := range n.keys {
		s.Keys = append(s.Keys, k.Public().(ed25519.PublicKey))
	}
	return s
}

// rotate gives the node a new signing key, effective at.
func (n *testNode) rotate(t *testing.T, at time.Time) []byte {
	t.Helper()
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	b, err := card.NewRotation(n.keys[len(n.keys)-1], k, n.id(), at)
	if err != nil {
		t.Fatal(err)
	}
	r, err := card.ParseRotation(b, n.keys[len(n.keys)-1].Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	n.keys = append(n.keys, k)
	n.rotations = append(n.rotations, r)
	n.reg.SetSelf(n.self())
	return b
}

func (n *testNode) spki() string { return card.SPKIHash(n.cert.Leaf) }

// card returns the node's signed card, issued at.
func (n *testNode) card(t *testing.T, issued time.Time) []byte {
	t.Helper()
	c := &card.Card{
		Name: n.name, Organisation: "CSIRT " + n.country, Country: n.country, FederationEndpoint: "https://" + n.name + ".example:8444/",
		TLSSPKISHA256: n.spki(), TLSCertificate: n.cert.Leaf.Raw,
		PointsOfContact: []card.Contact{{Role: "csirt-24x7", Name: "Duty desk", Email: "duty@" + n.name + ".example"}},
		Issued:          issued, Rotations: n.rotations,
	}
	b, err := c.Sign(n.keys[len(n.keys)-1])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pin makes n pin other.
func (n *testNode) pin(t *testing.T, other *testNode) peer.Peer {
	t.Helper()
	p, err := n.reg.Add(t.Context(), other.card(t, start), start)
	if err != nil {
		t.Fatalf("%s pins %s: %v", n.name, other.name, err)
	}
	return p
}

// newCert makes a self-signed ECDSA P-256 certificate for both server and
// client authentication, valid from notBefore to notAfter.
func newCert(t *testing.T, name string, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}
