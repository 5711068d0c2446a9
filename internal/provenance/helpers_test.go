package provenance_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/entraide/entraide/internal/stix"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// signedAt is the fixed signing time of the golden files.
var signedAt = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// key reads a fixed test key from testdata/NAME.seed (hex Ed25519 seed).
func key(t testing.TB, name string) ed25519.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".seed"))
	if err != nil {
		t.Fatal(err)
	}
	seed, err := hex.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf("testdata/%s.seed: not a hex Ed25519 seed", name)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// identity is the node identity of a key, as node.IdentityIDFor derives it
// (its namespace is copied here: provenance does not care how signer ids are
// made, and its tests should not need the node package and its store).
func identity(k ed25519.PrivateKey) string {
	ns := [16]byte{0x6e, 0x74, 0x72, 0x61, 0x69, 0x64, 0x65, 0x2d, 0x6e, 0x6f, 0x64, 0x65, 0x2d, 0x69, 0x64, 0x31}
	return stix.DerivedID("identity", ns, pub(k))
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden compares got with testdata/name, or rewrites it under -update.
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
		t.Errorf("%s changed: the wire format is frozen.\ngot:  %s\nwant: %s", name, got, want)
	}
}
