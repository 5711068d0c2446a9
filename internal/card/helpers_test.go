package card_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/card"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	issued    = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	effective = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
)

func key(t testing.TB, name string) ed25519.PrivateKey {
	t.Helper()
	seed, err := hex.DecodeString(string(bytes.TrimSpace(readFile(t, name+".seed"))))
	if err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf("testdata/%s.seed: not a hex Ed25519 seed", name)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func identity(k ed25519.PrivateKey) string { return card.IdentityIDFor(pub(k)) }

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(readFile(t, name+"-tls.pem"))
	if blk == nil {
		t.Fatalf("testdata/%s-tls.pem: no PEM block", name)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// frCard is CERT-FR's card before signing.
func frCard(t testing.TB) *card.Card {
	c := cert(t, "fr")
	return &card.Card{
		Name:               "cert-fr",
		Organisation:       "ANSSI / CERT-FR",
		Country:            "FR",
		FederationEndpoint: "https://fr.example:8444/",
		TLSSPKISHA256:      card.SPKIHash(c),
		TLSCertificate:     c.Raw,
		PointsOfContact: []card.Contact{
			{Role: "csirt-24x7", Name: "CERT-FR duty officer", Email: "cert-fr@fr.example", Phone: "+33 1 71 75 84 68"},
			{Role: "budapest-24x7", Name: "OFAC 24/7 point of contact", Email: "ofac-24x7@fr.example"},
		},
		Issued: issued,
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed: the wire format is frozen.\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}
