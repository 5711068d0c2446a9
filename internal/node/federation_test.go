package node

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/card"
	"github.com/entraide/entraide/internal/clock"
)

var testContact = card.Contact{Role: "csirt-24x7", Name: "Duty desk", Email: "cert@ria.example", Phone: "+372 600 0000"}

func fedInit(t *testing.T, clk clock.Clock) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "n")
	o := initOpts(dir, clk)
	o.FedEndpoint = "https://fed.cert.example:9444/"
	o.Hosts = []string{"node.cert.example", "192.0.2.7"}
	o.Contacts = []card.Contact{testContact}
	if _, err := Init(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return dir
}

func open(t *testing.T, dir string, clk clock.Clock) *Node {
	t.Helper()
	n, err := Open(context.Background(), dir, func(string) string { return "" }, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func TestFederationIdentityAndCard(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	dir := fedInit(t, clk)
	fi, err := os.Stat(filepath.Join(dir, FedTLSKey))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v", FedTLSKey, err)
	}
	n := open(t, dir, clk)
	cert, err := n.FedTLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) || !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		t.Errorf("extended key usages %v: want server and client auth", leaf.ExtKeyUsage)
	}
	for _, h := range []string{"localhost", "fed.cert.example", "node.cert.example"} {
		if !slices.Contains(leaf.DNSNames, h) {
			t.Errorf("DNS names %v lack %s", leaf.DNSNames, h)
		}
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	for _, ip := range []string{"127.0.0.1", "::1", "192.0.2.7"} {
		if !slices.Contains(ips, ip) {
			t.Errorf("IP addresses %v lack %s", ips, ip)
		}
	}
	if leaf.NotAfter.Sub(clk.Now()) < 5*365*24*time.Hour {
		t.Errorf("federation certificate valid until %v: want a long life", leaf.NotAfter)
	}
	b, err := n.Card()
	if err != nil {
		t.Fatal(err)
	}
	c, err := card.Parse(b)
	if err != nil {
		t.Fatalf("the node's card does not parse: %v", err)
	}
	if c.IdentityID != n.Identity.IdentityID || c.Name != "cert-ee" || c.Country != "EE" || c.Organisation != "CERT-EE" ||
		c.FederationEndpoint != "https://fed.cert.example:9444/" || c.TLSSPKISHA256 != card.SPKIHash(leaf) ||
		!reflect.DeepEqual(c.PointsOfContact, []card.Contact{testContact}) || !c.SigningKey.Equal(n.Signer.Public().(ed25519.PublicKey)) ||
		!c.Issued.Equal(clk.Now()) {
		t.Errorf("card: %+v", c)
	}
	// The user listener keeps its own certificate.
	if user, _ := n.TLSConfig(); user == nil || card.SPKIHash(leaf) == spkiOf(t, user.Certificates[0].Certificate[0]) {
		t.Error("the federation and user listeners share a key")
	}
	// Expired, the federation certificate is refused for use (not for the card).
	clk.Advance(fedTLSValidity + time.Hour)
	if _, err := n.FedTLSCertificate(); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired federation certificate: %v", err)
	}
}

func spkiOf(t *testing.T, der []byte) string {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return card.SPKIHash(c)
}

func TestCardNeedsAContact(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "n")
	if _, err := Init(context.Background(), initOpts(dir, clock.System{})); err != nil {
		t.Fatal(err)
	}
	n := open(t, dir, clock.System{})
	if n.Identity.FedEndpoint != DefaultFedEndpoint {
		t.Errorf("default endpoint %q", n.Identity.FedEndpoint)
	}
	if _, err := n.Card(); err == nil || !strings.Contains(err.Error(), "--poc") {
		t.Fatalf("card without a contact: %v", err)
	}
	if err := n.SetContacts([]card.Contact{{Role: "liaison", Name: "X"}}); err == nil {
		t.Error("a contact without email or phone was kept")
	}
	if err := n.SetContacts([]card.Contact{testContact}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Card(); err != nil {
		t.Fatal(err)
	}
	if id, _ := ReadIdentity(dir); len(id.Contacts) != 1 {
		t.Error("the contacts were not kept in node.json")
	}
}

func TestInitRefusesBadFederationFields(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		contact  card.Contact
		want     string
	}{
		{"http://x.example:8444/", testContact, "--fed-endpoint"},
		{"https://x.example/", testContact, "--fed-endpoint"},
		{"", card.Contact{Role: "CSIRT", Name: "x", Email: "a@b.example"}, "--poc [0]"},
		{"", card.Contact{Role: "csirt", Name: "x", Email: "not an address"}, "--poc [0]"},
	} {
		dir := filepath.Join(t.TempDir(), "n")
		o := initOpts(dir, clock.System{})
		o.FedEndpoint, o.Contacts = tc.endpoint, []card.Contact{tc.contact}
		_, err := Init(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %+v: %v, want %q", tc.endpoint, tc.contact, err, tc.want)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("a refused init left %s", dir)
		}
	}
}

// TestOlderNodeGetsFederationKey opens a node made before the federation
// (no federation key, no endpoint in node.json).
func TestOlderNodeGetsFederationKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "n")
	o := initOpts(dir, clock.System{})
	o.Hosts = []string{"old.example"}
	if _, err := Init(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, FedTLSKey))
	os.Remove(filepath.Join(dir, FedTLSCert))
	b, _ := os.ReadFile(filepath.Join(dir, IdentityFile))
	var m map[string]any
	json.Unmarshal(b, &m)
	delete(m, "federation_endpoint")
	b, _ = json.Marshal(m)
	os.WriteFile(filepath.Join(dir, IdentityFile), b, 0o644)

	n := open(t, dir, clock.System{})
	cert, err := n.FedTLSCertificate()
	if err != nil {
		t.Fatalf("no federation certificate made on Open: %v", err)
	}
	if !slices.Contains(cert.Leaf.DNSNames, "old.example") {
		t.Errorf("the new federation certificate lacks the user certificate's names: %v", cert.Leaf.DNSNames)
	}
	if n.Identity.FedEndpoint != DefaultFedEndpoint {
		t.Errorf("endpoint %q", n.Identity.FedEndpoint)
	}
}

func TestRotateKey(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	dir := fedInit(t, clk)
	n := open(t, dir, clk)
	first := n.Signer.Public().(ed25519.PublicKey)
	id := n.Identity.IdentityID
	clk.Advance(time.Hour)
	rot, path, err := n.RotateKey()
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, RotationFile(1)) {
		t.Errorf("rotation file %s", path)
	}
	if onDisk, _ := os.ReadFile(path); string(onDisk) != string(rot) {
		t.Error("the rotation file is not the statement")
	}
	r, err := card.ParseRotation(rot, first)
	if err != nil || !r.NewKey.Equal(n.Signer.Public().(ed25519.PublicKey)) || r.IdentityID != id {
		t.Fatalf("the rotation does not verify against the first key: %v", err)
	}
	if n.Identity.IdentityID != id || len(n.Keys) != 2 {
		t.Errorf("after rotating: identity %s, %d keys", n.Identity.IdentityID, len(n.Keys))
	}
	clk.Advance(time.Hour)
	if _, _, err := n.RotateKey(); err != nil {
		t.Fatal(err)
	}
	b, err := n.Card()
	if err != nil {
		t.Fatal(err)
	}
	c, err := card.Parse(b)
	if err != nil || len(c.Rotations) != 2 || c.IdentityID != id || len(c.Keys()) != 3 || !c.Keys()[0].Equal(first) {
		t.Fatalf("card after two rotations: %v", err)
	}
	// Reopened, the node signs with the newest key and knows the chain.
	n.Close()
	n2 := open(t, dir, clk)
	if !n2.Signer.Equal(n.Signer) || len(n2.Keys) != 3 || len(n2.Rotations) != 2 {
		t.Fatalf("reopened: %d keys, %d rotations", len(n2.Keys), len(n2.Rotations))
	}
	for k := 1; k <= 2; k++ {
		if fi, err := os.Stat(filepath.Join(dir, RetiredKey(k))); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("retired key %d: %v", k, err)
		}
	}
	if s := n2.Self(); s.IdentityID != id || len(s.Keys) != 3 {
		t.Errorf("Self: %+v", s)
	}
}

// TestInterruptedRotation: node.json records the rotation but the new key
// was not yet moved into place; Open finishes the rotation.
func TestInterruptedRotation(t *testing.T) {
	dir := fedInit(t, clock.System{})
	n := open(t, dir, clock.System{})
	if _, _, err := n.RotateKey(); err != nil {
		t.Fatal(err)
	}
	n.Close()
	// Put the state back to "renamed not yet": new key at .next, old key at signing.key.
	cur := filepath.Join(dir, SigningKey)
	if err := os.Rename(cur, filepath.Join(dir, nextSigningKey)); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(filepath.Join(dir, RetiredKey(1)))
	os.WriteFile(cur, old, 0o600)
	n2 := open(t, dir, clock.System{})
	if !n2.Signer.Equal(n.Signer) {
		t.Fatal("Open did not finish the interrupted rotation")
	}
	if _, err := os.Stat(filepath.Join(dir, nextSigningKey)); !os.IsNotExist(err) {
		t.Error("the next key file is still there")
	}
	// A signing key that matches nothing is refused.
	n2.Close()
	os.WriteFile(cur, old, 0o600)
	if _, err := Open(context.Background(), dir, func(string) string { return "" }, nil, clock.System{}); err == nil {
		t.Error("a signing key that is not the chain's last was accepted")
	}
}

func TestParseContact(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want card.Contact
		err  string
	}{
		{"role=csirt-24x7,name=Duty desk,email=cert@ssi.example,phone=+33 1 23 45 67 89",
			card.Contact{Role: "csirt-24x7", Name: "Duty desk", Email: "cert@ssi.example", Phone: "+33 1 23 45 67 89"}, ""},
		{"role=liaison, name=Duty desk, CERT-FR, phone=+33 1 23 45 67 89",
			card.Contact{Role: "liaison", Name: "Duty desk, CERT-FR", Phone: "+33 1 23 45 67 89"}, ""},
		{"name=X,role=r,email=a@b.example", card.Contact{Role: "r", Name: "X", Email: "a@b.example"}, ""},
		{"role=r,name=X", card.Contact{}, "email or a phone"},
		{"email=a@b.example", card.Contact{}, "role and name"},
		{"hello", card.Contact{}, "want role="},
		{"role=a,role=b,name=x,email=a@b.example", card.Contact{}, "twice"},
	} {
		got, err := ParseContact(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want an error with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}
